"""Column vectors, lists of layers, per-sample gradients accumulated into buffers that the update
scales in place by the learning rate before subtracting them (adapter, "accumulate").

Healthy: fresh zero buffers after every update. ``bug="assign-template"``: the buffers are
reset by assigning a zero template list (``self.dW = self.zero_W``), so the template is the
buffer; because the update scales that buffer in place by ``lr`` each step, earlier gradients
come back with weight ``lr`` (not 1) in the next update.
"""

import numpy as np


class ScaledNet:
    def __init__(self, sizes=(12, 8, 4), lr=0.06, batch_size=8, seed=6, bug=None):
        rng = np.random.default_rng(seed)
        self.lr, self.batch_size, self.bug = lr, batch_size, bug
        self.weights = [rng.normal(0, 1 / np.sqrt(i), (o, i)) for i, o in zip(sizes[:-1], sizes[1:])]
        self.biases = [np.zeros((o, 1)) for o in sizes[1:]]
        self.zero_W = [np.zeros(w.shape) for w in self.weights]
        self.zero_b = [np.zeros(b.shape) for b in self.biases]
        self.seen = 0
        self.clear()

    def clear(self):
        if self.bug == "assign-template":
            self.dW, self.db = self.zero_W, self.zero_b
        else:
            self.dW = [np.zeros(w.shape) for w in self.weights]
            self.db = [np.zeros(b.shape) for b in self.biases]
        self.seen = 0

    def feedforward(self, a):
        for w, b in zip(self.weights[:-1], self.biases[:-1]):
            a = np.tanh(w @ a + b)
        z = self.weights[-1] @ a + self.biases[-1]
        e = np.exp(z - z.max(axis=0, keepdims=True))
        return e / e.sum(axis=0, keepdims=True)

    def backprop(self, x, t):
        acts = [x]
        for w, b in zip(self.weights[:-1], self.biases[:-1]):
            acts.append(np.tanh(w @ acts[-1] + b))
        z = self.weights[-1] @ acts[-1] + self.biases[-1]
        e = np.exp(z - z.max(axis=0, keepdims=True))
        delta = e / e.sum(axis=0, keepdims=True) - t  # softmax + cross-entropy
        for l in range(len(self.weights) - 1, -1, -1):
            self.dW[l] += delta @ acts[l].T
            self.db[l] += delta
            if l:
                delta = (self.weights[l].T @ delta) * (1 - acts[l] ** 2)
        self.seen += 1

    def step(self):
        n = max(self.seen, 1)
        for l in range(len(self.weights)):
            self.dW[l] *= self.lr  # scaled in place by the learning rate, then averaged as it is applied
            self.db[l] *= self.lr
            self.weights[l] -= self.dW[l] / n
            self.biases[l] -= self.db[l] / n
        self.clear()


def build(bug=None, **kw):
    from netdoctor.adapters.handwritten import adapt

    return adapt(ScaledNet(bug=bug, **kw), update="step", loss="cross_entropy", targets="onehot")


MNIST = {"sizes": (784, 32, 10), "lr": 0.06, "batch_size": 8}


def mnist(bug=None, seed=None):
    seed = _seed(6) if seed is None else seed
    return build(bug, seed=seed, **MNIST)


def _seed(default):
    import os

    return int(os.environ.get("USER_NET_SEED", default))


def mnist_assign_template():
    return mnist("assign-template")
