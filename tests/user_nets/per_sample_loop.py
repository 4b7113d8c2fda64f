"""A protocol model whose train_step loops over the samples of the batch.

Rows, dict params, tanh everywhere, MSE against +-1 targets. Per-sample
gradients are accumulated and averaged. ``bug``: ``"stale"`` (the accumulator
lives on the object and is never emptied), ``"summed"`` (not divided by N).
"""

import numpy as np


class LoopNet:
    def __init__(self, sizes=(12, 8, 4), seed=1, bug=None, learning_rate=0.1, batch_size=20):
        rng = np.random.default_rng(seed)
        self.bug = bug
        self.learning_rate, self.batch_size = learning_rate, batch_size
        self.n_out = sizes[-1]
        self.params = {"W1": rng.normal(0, 1 / np.sqrt(sizes[0]), sizes[:2]), "b1": np.zeros(sizes[1]),
                       "W2": rng.normal(0, 1 / np.sqrt(sizes[1]), sizes[1:]), "b2": np.zeros(sizes[2])}
        self.grad_sum = {k: np.zeros_like(v) for k, v in self.params.items()}

    def _targets(self, y):
        t = -np.ones((len(y), self.n_out))
        t[np.arange(len(y)), y] = 1.0
        return t

    def _sample_grad(self, x, t):
        p = self.params
        h = np.tanh(x @ p["W1"] + p["b1"])
        a = np.tanh(h @ p["W2"] + p["b2"])
        d2 = (a - t) * (1 - a ** 2)
        d1 = (p["W2"] @ d2) * (1 - h ** 2)
        return {"W1": np.outer(x, d1), "b1": d1, "W2": np.outer(h, d2), "b2": d2}

    def loss(self, X, y):
        p, T, n = self.params, self._targets(y), len(X)
        h = np.tanh(X @ p["W1"] + p["b1"])
        a = np.tanh(h @ p["W2"] + p["b2"])
        d2 = (a - T) * (1 - a ** 2) / n
        d1 = d2 @ p["W2"].T * (1 - h ** 2)
        value = 0.5 * np.sum((a - T) ** 2) / n
        return float(value), {"W1": X.T @ d1, "b1": d1.sum(0), "W2": h.T @ d2, "b2": d2.sum(0)}

    def predict(self, X):
        p = self.params
        return np.argmax(np.tanh(np.tanh(X @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"]), axis=1)

    def train_step(self, X, y, lr):
        if self.bug == "stale":
            acc = self.grad_sum                 # never emptied
        else:
            acc = {k: np.zeros_like(v) for k, v in self.params.items()}
        for x, t in zip(X, self._targets(y)):
            for k, g in self._sample_grad(x, t).items():
                acc[k] += g
        scale = lr if self.bug == "summed" else lr / len(X)
        for k, p in self.params.items():
            p -= scale * acc[k]


def build(bug=None, **kw):
    return LoopNet(bug=bug, **kw)


MNIST = {"sizes": (784, 32, 10), "learning_rate": 0.1, "batch_size": 20}


def mnist(bug=None, seed=None):
    seed = _seed(1) if seed is None else seed
    return build(bug, seed=seed, **MNIST)


def _seed(default):
    import os

    return int(os.environ.get("USER_NET_SEED", default))


def mnist_stale():
    return mnist("stale")


def mnist_summed():
    return mnist("summed")
