"""Column vectors, per-sample SGD that updates the weights in place and never exposes a gradient
(adapter, "inplace": the gradient is implied by a trial step).

``bug="frozen-bias"``: the bias update is applied to a copy.
"""

import numpy as np


class InPlaceNet:
    def __init__(self, sizes=(12, 8, 4), seed=5, bug=None, lr=0.01, batch_size=1):
        rng = np.random.default_rng(seed)
        self.bug = bug
        self.lr, self.batch_size = lr, batch_size  # per-sample SGD
        self.W = [rng.normal(0, 1 / np.sqrt(i), (o, i)) for i, o in zip(sizes[:-1], sizes[1:])]
        self.b = [np.zeros((o, 1)) for o in sizes[1:]]

    def forward(self, x):
        for w, b in zip(self.W, self.b):
            x = np.tanh(w @ x + b)
        return x

    def train(self, x, target, lr):
        acts = [x]
        for w, b in zip(self.W, self.b):
            acts.append(np.tanh(w @ acts[-1] + b))
        delta = (acts[-1] - target) * (1 - acts[-1] ** 2)
        for l in range(len(self.W) - 1, -1, -1):
            grad_w = delta @ acts[l].T
            if l:
                next_delta = (self.W[l].T @ delta) * (1 - acts[l] ** 2)
            self.W[l] -= lr * grad_w
            if self.bug == "frozen-bias":
                bias = self.b[l].copy()
                bias -= lr * delta
            else:
                self.b[l] -= lr * delta
            if l:
                delta = next_delta


def build(bug=None, **kw):
    from netdoctor.adapters.handwritten import adapt

    return adapt(InPlaceNet(bug=bug, **kw), weights="W", biases="b", style="inplace", step="train",
                 loss="mse", targets="pm1")


MNIST = {"sizes": (784, 24, 10), "lr": 0.01, "batch_size": 1}


def mnist(bug=None, seed=None):
    seed = _seed(5) if seed is None else seed
    return build(bug, seed=seed, **MNIST)


def _seed(default):
    import os

    return int(os.environ.get("USER_NET_SEED", default))


def mnist_frozen_bias():
    return mnist("frozen-bias")
