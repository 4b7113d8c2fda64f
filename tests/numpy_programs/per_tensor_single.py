"""A class trained one sample at a time whose update is applied tensor by tensor (``self.apply("W1")``, ...).

The gradients are accumulated into buffers on the object and emptied once applied (the healthy twin of
per_tensor_single_stale). Tanh hidden layer, softmax output, cross-entropy; synthetic blobs, 2 epochs of 500 samples.
"""
import numpy as np

rng = np.random.default_rng(7)
C, D, N = 4, 20, 700
centers = rng.normal(0, 1, (C, D)) * 0.8
y = rng.integers(0, C, N)
X = centers[y] + rng.normal(0, 1, (N, D))


class Net:
    def __init__(self):
        self.W1 = rng.normal(0, 1, (D, 12)) / np.sqrt(D)
        self.b1 = np.zeros(12)
        self.W2 = rng.normal(0, 1, (12, C)) / np.sqrt(12)
        self.b2 = np.zeros(C)
        self.acc = {name: np.zeros_like(getattr(self, name)) for name in ("W1", "b1", "W2", "b2")}

    def predict(self, x):
        h = np.tanh(x @ self.W1 + self.b1)
        z = h @ self.W2 + self.b2
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        return h, e / e.sum(axis=-1, keepdims=True)

    def learn(self, x, label):
        h, p = self.predict(x)
        dz = p.copy()
        dz[label] -= 1.0
        dh = (self.W2 @ dz) * (1 - h ** 2)
        self.acc["W2"] += np.outer(h, dz)
        self.acc["b2"] += dz
        self.acc["W1"] += np.outer(x, dh)
        self.acc["b1"] += dh

    def apply(self, name, rate):
        value = getattr(self, name)
        value -= rate * self.acc[name]
        self.acc[name][...] = 0.0


net = Net()
for epoch in range(2):
    for i in rng.permutation(500):
        net.learn(X[i], y[i])
        for name in ("W1", "b1", "W2", "b2"):
            net.apply(name, 0.01)
    guesses = np.argmax(net.predict(X[500:])[1], axis=1)
    print(f"epoch {epoch}: accuracy {np.mean(guesses == y[500:]):.3f}")
