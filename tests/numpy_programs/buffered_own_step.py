"""A network class whose train() computes the gradient, applies it and empties its buffers itself, calling its own
predict() for the forward: the gradients accumulate into a dict of buffers (self.grad[k] += ...) emptied by fill(0)
after the step. Mini-batches of 20 rows, relu hidden layer, softmax output, mean cross-entropy; synthetic blobs.
8 epochs of 40 steps. The relu batch h (20 rows, 12 units) has the first layer's shape (20 inputs, 12 units) and never
changes between the scans: it was taken for a layer that might still move, and discovery waited 2,000 events (~update
395; with 8 epochs the network was not found at all).
"""
import numpy as np

rng = np.random.default_rng(11)
C, D, N = 4, 20, 900
centers = rng.normal(0, 1, (C, D)) * 0.7
labels = rng.integers(0, C, N)
data = centers[labels] + rng.normal(0, 1, (N, D))


class Net:
    def __init__(self, hidden, rate):
        self.w = {"W1": rng.normal(0, 1, (D, hidden)) * np.sqrt(2 / D), "b1": np.zeros(hidden),
                  "W2": rng.normal(0, 1, (hidden, C)) / np.sqrt(hidden), "b2": np.zeros(C)}
        self.grad = {k: np.zeros_like(v) for k, v in self.w.items()}
        self.rate = rate

    def predict(self, x):
        h = np.maximum(x @ self.w["W1"] + self.w["b1"], 0.0)
        z = h @ self.w["W2"] + self.w["b2"]
        z = np.exp(z - z.max(axis=1, keepdims=True))
        return h, z / z.sum(axis=1, keepdims=True)

    def train(self, x, t):
        h, p = self.predict(x)
        d = p.copy()
        d[np.arange(len(t)), t] -= 1.0
        d /= len(t)
        self.grad["W2"] += h.T @ d
        self.grad["b2"] += d.sum(axis=0)
        dh = (d @ self.w["W2"].T) * (h > 0)
        self.grad["W1"] += x.T @ dh
        self.grad["b1"] += dh.sum(axis=0)
        for k in self.w:
            self.w[k] -= self.rate * self.grad[k]
            self.grad[k].fill(0.0)


net = Net(12, 0.2)
for epoch in range(8):
    order = rng.permutation(800)
    for i in range(0, 800, 20):
        pick = order[i:i + 20]
        net.train(data[pick], labels[pick])
    right = np.mean(net.predict(data[800:])[1].argmax(axis=1) == labels[800:])
    print(f"epoch {epoch}: held-out accuracy {right:.3f}")
