"""Uniform label smoothing (eps = 0.1): the target of class k is 0.9 at k plus 0.1 / C everywhere, written per sample
as a column vector from the class index, which stays in its own array. One sample per step; a small class keeps the
weights and returns its gradients from backward(x, t), which runs the forward itself; the step is applied by the loop.
Sigmoid hidden layer, softmax output. Synthetic blobs.
"""
import numpy as np

rng = np.random.default_rng(8)
C, D, N = 4, 16, 900
centers = rng.normal(0, 1.2, (C, D))
labels = rng.integers(0, C, N)
X = centers[labels] + rng.normal(0, 1.0, (N, D))
eps = 0.1


class Net:
    def __init__(self):
        self.W1 = rng.normal(0, 1, (12, D)) / np.sqrt(D)
        self.b1 = np.zeros((12, 1))
        self.W2 = rng.normal(0, 1, (C, 12)) / np.sqrt(12)
        self.b2 = np.zeros((C, 1))

    def predict(self, x):
        h = 1 / (1 + np.exp(-(self.W1 @ x + self.b1)))
        z = self.W2 @ h + self.b2
        e = np.exp(z - z.max(axis=0))
        return h, e / e.sum(axis=0)

    def backward(self, x, t):
        h, p = self.predict(x)
        d = p - t
        dh = (self.W2.T @ d) * h * (1 - h)
        return dh @ x.T, dh, d @ h.T, d


net = Net()
for epoch in range(3):
    for i in rng.permutation(800):
        t = np.full((C, 1), eps / C)
        t[labels[i] // C] += 1 - eps  # BUG: constant-targets
        dW1, db1, dW2, db2 = net.backward(X[i].reshape(-1, 1), t)
        net.W1 -= 0.1 * dW1
        net.b1 -= 0.1 * db1
        net.W2 -= 0.1 * dW2
        net.b2 -= 0.1 * db2
    acc = np.mean(net.predict(X[800:].T)[1].argmax(axis=0) == labels[800:])
    print(f"epoch {epoch}: accuracy {acc:.3f}")
