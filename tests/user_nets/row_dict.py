"""Row convention, dict params, tanh hidden layer, softmax cross-entropy: a protocol model.

``bug`` plants one mistake: ``"grad-view"`` (gradient buffers are views of the
weights), ``"frozen"`` (update applied to a copy), ``"template"`` (a zero
template is used as scratch space and gets written).
"""

import numpy as np


class RowNet:
    def __init__(self, sizes=(12, 8, 4), seed=0, bug=None, lr=0.2, batch_size=16):
        rng = np.random.default_rng(seed)
        self.bug = bug
        self.lr, self.batch_size = lr, batch_size  # the author's own settings
        self.params = {}
        for l, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
            self.params[f"W{l}"] = rng.normal(0.0, 1.0 / np.sqrt(n_in), (n_in, n_out))
            self.params[f"b{l}"] = np.zeros(n_out)
        self.W1 = self.params["W1"]  # a handle on the same array: sharing by construction, harmless
        self.zero_grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        if bug == "grad-view":
            self.grads = {k: v[:] for k, v in self.params.items()}  # views, not copies
        else:
            self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def _forward(self, X):
        p = self.params
        h = np.tanh(X @ p["W1"] + p["b1"])
        z = h @ p["W2"] + p["b2"]
        z = z - z.max(axis=1, keepdims=True)
        prob = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        return h, prob

    def loss(self, X, y):
        n = len(X)
        h, prob = self._forward(X)
        value = -np.mean(np.log(prob[np.arange(n), y]))
        dz = prob.copy()
        dz[np.arange(n), y] -= 1
        dz /= n
        dh = dz @ self.params["W2"].T * (1 - h ** 2)
        return float(value), {"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ dz, "b2": dz.sum(0)}

    def predict(self, X):
        return np.argmax(self._forward(X)[1], axis=1)

    def activations(self, X):
        return list(self._forward(X))

    def train_step(self, X, y, lr):
        value, g = self.loss(X, y)
        for k, p in self.params.items():
            if self.bug == "grad-view":
                self.grads[k][...] = g[k]       # writes the gradient over the weights
                p -= lr * self.grads[k]
            elif self.bug == "frozen":
                p = p - lr * g[k]               # re-binds the loop variable only
            elif self.bug == "template":
                scratch = self.zero_grads       # the template itself, not a copy
                scratch[k][...] = lr * g[k]
                p -= scratch[k]
            else:
                self.grads[k][...] = g[k]
                p -= lr * self.grads[k]
        return value


def build(bug=None, **kw):
    return RowNet(bug=bug, **kw)


MNIST = {"sizes": (784, 32, 10), "lr": 0.2, "batch_size": 16}
"""The author's MNIST configuration: its own learning rate and batch size."""


def mnist(bug=None, seed=None):
    seed = _seed(0) if seed is None else seed
    return build(bug, seed=seed, **MNIST)


def _seed(default):
    import os

    return int(os.environ.get("USER_NET_SEED", default))


def mnist_grad_view():
    return mnist("grad-view")


def mnist_frozen():
    return mnist("frozen")


def mnist_template():
    return mnist("template")
