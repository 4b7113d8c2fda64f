"""Heavy-ball momentum with velocity buffers (rows, dict params, relu, softmax cross-entropy).

Healthy: ``v = mu v - lr g; w += v``. ``bug``: ``"no-decay"`` (``v += g``,
the velocity is a plain running sum: a stale accumulator), ``"velocity-is-params"``
(``self.velocity = self.params``: the buffer is the weights).
"""

import numpy as np


class MomentumNet:
    def __init__(self, sizes=(12, 10, 4), mu=0.9, seed=2, bug=None, alpha=0.02, batch_size=64):
        rng = np.random.default_rng(seed)
        self.mu, self.bug = mu, bug
        self.alpha, self.batch_size = alpha, batch_size
        self.params = {"W1": rng.normal(0, np.sqrt(2 / sizes[0]), sizes[:2]), "b1": np.full(sizes[1], 0.1),
                       "W2": rng.normal(0, np.sqrt(1 / sizes[1]), sizes[1:]), "b2": np.zeros(sizes[2])}
        if bug == "velocity-is-params":
            self.velocity = self.params
        else:
            self.velocity = {k: np.zeros_like(v) for k, v in self.params.items()}

    def _forward(self, X):
        p = self.params
        z1 = X @ p["W1"] + p["b1"]
        h = np.maximum(z1, 0)
        z = h @ p["W2"] + p["b2"]
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return z1, h, e / e.sum(axis=1, keepdims=True)

    def loss(self, X, y):
        n = len(X)
        z1, h, prob = self._forward(X)
        dz = prob.copy()
        dz[np.arange(n), y] -= 1
        dz /= n
        dh = (dz @ self.params["W2"].T) * (z1 > 0)
        value = -np.mean(np.log(prob[np.arange(n), y]))
        return float(value), {"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ dz, "b2": dz.sum(0)}

    def predict(self, X):
        return np.argmax(self._forward(X)[2], axis=1)

    def train_step(self, X, y, lr):
        value, g = self.loss(X, y)
        for k, p in self.params.items():
            v = self.velocity[k]
            if self.bug == "no-decay":
                v += g[k]
                p -= lr * v
            else:
                v *= self.mu
                v -= lr * g[k]
                p += v
        return value


def build(bug=None, **kw):
    return MomentumNet(bug=bug, **kw)


MNIST = {"sizes": (784, 48, 10), "alpha": 0.02, "batch_size": 64}


def mnist(bug=None, seed=None):
    seed = _seed(2) if seed is None else seed
    return build(bug, seed=seed, **MNIST)


def _seed(default):
    import os

    return int(os.environ.get("USER_NET_SEED", default))


def mnist_no_decay():
    return mnist("no-decay")


def mnist_velocity_is_params():
    return mnist("velocity-is-params")
