"""Randomness drawn inside the gradient function: inverted dropout whose masks come from the legacy global
``np.random`` (seeded once) and from a ``default_rng`` kept on the network, and Python's ``random`` for a jitter
of the inputs. The last draws of each generator are printed: a replay that drew from them would change them.
Healthy: a sigmoid layer and a softmax, mini-batches of 20.
"""
import random

import numpy as np

np.random.seed(4)
random.seed(4)
rng = np.random.default_rng(13)
C, D = 3, 12
centers = rng.normal(0, 1, (C, D))
y = rng.integers(0, C, 900)
X = centers[y] + rng.normal(0, 0.8, (900, D))


class Net:
    def __init__(self, hidden):
        self.W1 = rng.normal(0, 1, (D, hidden)) / np.sqrt(D)
        self.b1 = np.zeros(hidden)
        self.W2 = rng.normal(0, 1, (hidden, C)) / np.sqrt(hidden)
        self.b2 = np.zeros(C)
        self.masks = np.random.default_rng(99)

    def forward(self, x, keep=1.0):
        h = 1 / (1 + np.exp(-(x @ self.W1 + self.b1)))
        if keep < 1.0:
            h = h * (np.random.rand(*h.shape) < keep) * (self.masks.random(h.shape) < keep) / keep ** 2
        z = h @ self.W2 + self.b2
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return h, e / e.sum(axis=1, keepdims=True)

    def gradients(self, x, labels):
        x = x + random.gauss(0, 0.01)
        h, p = self.forward(x, keep=0.9)
        e = p.copy()
        e[np.arange(len(labels)), labels] -= 1.0
        e /= len(labels)
        dh = (e @ self.W2.T) * h * (1 - h)
        return [(self.W1, x.T @ dh), (self.b1, dh.sum(axis=0)), (self.W2, h.T @ e), (self.b2, e.sum(axis=0))]


net = Net(20)
for epoch in range(5):
    order = rng.permutation(750)
    for i in range(0, 750, 20):
        for w, g in net.gradients(X[order[i:i + 20]], y[order[i:i + 20]]):
            w -= 1.0 * g
    print(f"epoch {epoch}: accuracy {np.mean(np.argmax(net.forward(X[750:])[1], axis=1) == y[750:]):.3f}")
print("draws", np.random.rand(), net.masks.random(), random.random(), rng.random())
