"""Named layers in a dict, the activation a layer object of its own (`Tanh` after `Linear`), batches of rows; each
layer keeps its gradients on itself and an optimizer object steps over (parameter, gradient) pairs it collected once.
Softmax cross-entropy; synthetic blobs with features in [0, 1].
"""
import numpy as np

rng = np.random.default_rng(12)
C, D, H, N = 8, 160, 40, 1240
centers = rng.random((C, D))
labels = rng.integers(0, C, N)
X = np.clip(centers[labels] + rng.normal(0, 0.9, (N, D)), 0.0, 1.0)


class Linear:
    def __init__(self, n_in, n_out, scale):
        self.W = rng.normal(0, scale, (n_in, n_out))
        self.b = np.zeros(n_out)
        self.gW = np.zeros_like(self.W)
        self.gb = np.zeros_like(self.b)

    def __call__(self, x):
        self.x = x
        return x @ self.W + self.b

    def back(self, g):
        self.gW[...] = self.x.T @ g
        self.gb[...] = g.sum(axis=0)
        return g @ self.W.T


class Tanh:
    def __call__(self, z):
        self.y = np.tanh(z)
        return self.y

    def back(self, g):
        return g * (1.0 - self.y ** 2)


class Optimizer:
    def __init__(self, pairs, lr):
        self.pairs, self.lr = pairs, lr

    def step(self):
        for p, g in self.pairs:
            p -= self.lr * g


net = {"fc1": Linear(D, H, 1 / np.sqrt(D)), "act1": Tanh(), "fc2": Linear(H, C, 1 / np.sqrt(H))}
opt = Optimizer([(m.W, m.gW) for m in net.values() if isinstance(m, Linear)]
                + [(m.b, m.gb) for m in net.values() if isinstance(m, Linear)], 0.2)
for epoch in range(4):
    order = rng.permutation(1000)
    for s in range(0, 1000, 20):
        idx = order[s:s + 20]
        a = X[idx]
        for m in net.values():
            a = m(a)
        e = np.exp(a - a.max(axis=1, keepdims=True))
        g = e / e.sum(axis=1, keepdims=True)
        g[np.arange(len(idx)), labels[idx]] -= 1.0
        g /= len(idx)
        for m in reversed(list(net.values())):
            g = m.back(g)
        opt.step()
    a = X[1000:]
    for m in net.values():
        a = m(a)
    print(f"epoch {epoch}: accuracy {np.mean(np.argmax(a, axis=1) == labels[1000:]):.3f}")
