"""Column vectors, lists of layers, per-sample backprop accumulated into buffers (adapter, "accumulate").

Healthy: fresh zero buffers after every update, gradient averaged.
``bug``: ``"assign-template"`` (``self.weight_updates = self.weight_templates``),
``"repeat"`` (``[np.zeros((6, 1))] * 3``: one bias buffer for all layers),
``"summed"`` (the batch sum is applied, not the mean).
"""

import numpy as np


class ColumnNet:
    def __init__(self, sizes=(12, 6, 6, 6), lr=0.1, seed=3, bug=None, batch_size=25):
        rng = np.random.default_rng(seed)
        self.bug, self.lr, self.batch_size = bug, lr, batch_size
        self.weights = [rng.normal(0, 1 / np.sqrt(i), (o, i)) for i, o in zip(sizes[:-1], sizes[1:])]
        self.biases = [rng.normal(0, 0.1, (o, 1)) for o in sizes[1:]]
        self.weight_templates = [np.zeros(w.shape) for w in self.weights]
        self.bias_templates = [np.zeros(b.shape) for b in self.biases]
        self.count = 0
        self.reset()

    def reset(self):
        if self.bug == "assign-template":
            self.weight_updates = self.weight_templates
            self.bias_updates = self.bias_templates
        elif self.bug == "repeat":
            self.weight_updates = [np.zeros(w.shape) for w in self.weights]
            self.bias_updates = [np.zeros(self.biases[0].shape)] * len(self.biases)
        else:
            self.weight_updates = [np.zeros_like(w) for w in self.weights]
            self.bias_updates = [np.zeros_like(b) for b in self.biases]
        self.count = 0

    def feedforward(self, a):
        for w, b in zip(self.weights, self.biases):
            a = np.tanh(w @ a + b)
        return a

    def backprop(self, x, t):
        acts = [x]
        for w, b in zip(self.weights, self.biases):
            acts.append(np.tanh(w @ acts[-1] + b))
        delta = (acts[-1] - t) * (1 - acts[-1] ** 2)
        for l in range(len(self.weights) - 1, -1, -1):
            self.weight_updates[l] += delta @ acts[l].T
            self.bias_updates[l] += delta
            if l:
                delta = (self.weights[l].T @ delta) * (1 - acts[l] ** 2)
        self.count += 1

    def apply_updates(self):
        scale = self.lr if self.bug == "summed" else self.lr / max(self.count, 1)
        for l in range(len(self.weights)):
            self.weights[l] -= scale * self.weight_updates[l]
            self.biases[l] -= scale * self.bias_updates[l]
        self.reset()


def build(bug=None, **kw):
    from netdoctor.adapters.handwritten import adapt

    return adapt(ColumnNet(bug=bug, **kw), update="apply_updates", loss="mse", targets="pm1")


MNIST = {"sizes": (784, 24, 24, 10), "lr": 0.1, "batch_size": 25}


def mnist(bug=None, seed=None):
    seed = _seed(3) if seed is None else seed
    return build(bug, seed=seed, **MNIST)


def _seed(default):
    import os

    return int(os.environ.get("USER_NET_SEED", default))


def mnist_assign_template():
    return mnist("assign-template")


def mnist_summed():
    return mnist("summed")
