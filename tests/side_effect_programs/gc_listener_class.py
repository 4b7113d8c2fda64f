"""The collector's callback as a bound method of the program's own class, which calls a helper of the program, and a
class with ``__del__`` whose objects die in cycles: the interpreter calls both on a schedule of its own, wherever an
allocation starts a collection. Only a yes/no of what they saw is printed (how many collections run depends on every
allocation in the process). Healthy: a class, mini-batches of 25, a sigmoid layer and a softmax.
"""
import gc


def tally(counts, key):
    counts[key] = counts.get(key, 0) + 1


class Listener:
    def __init__(self):
        self.counts = {}

    def __call__(self, phase, info):
        tally(self.counts, phase)


listener = Listener()
gc.callbacks.append(listener.__call__)  # listening from the start, before NumPy is imported

import numpy as np  # noqa: E402


class Node:
    dropped = 0

    def __init__(self):
        self.me = self

    def __del__(self):
        Node.dropped += 1


class Model:
    def __init__(self, sizes, seed):
        rng = np.random.default_rng(seed)
        self.W = [rng.normal(0, 1, (a, b)) / np.sqrt(a) for a, b in zip(sizes[:-1], sizes[1:])]
        self.b = [np.zeros(b) for b in sizes[1:]]

    def forward(self, x):
        h = 1.0 / (1.0 + np.exp(-(x @ self.W[0] + self.b[0])))
        z = h @ self.W[1] + self.b[1]
        p = np.exp(z - z.max(axis=1, keepdims=True))
        return h, p / p.sum(axis=1, keepdims=True)

    def train_step(self, x, labels, lr):
        Node()  # a cycle with a finalizer, freed by the collector
        h, p = self.forward(x)
        e = p.copy()
        e[np.arange(len(labels)), labels] -= 1.0
        e /= len(labels)
        dh = (e @ self.W[1].T) * h * (1.0 - h)
        grads = [x.T @ dh, h.T @ e], [dh.sum(axis=0), e.sum(axis=0)]
        for i in range(2):
            self.W[i] -= lr * grads[0][i]
            self.b[i] -= lr * grads[1][i]


rng = np.random.default_rng(8)
centers = rng.normal(0, 1.5, (4, 10))
y = rng.integers(0, 4, 1200)
X = centers[y] + rng.normal(0, 0.8, (1200, 10))
model = Model([10, 16, 4], 1)
for epoch in range(5):
    order = rng.permutation(1000)
    for i in range(0, 1000, 25):
        rows = order[i:i + 25]
        model.train_step(X[rows], y[rows], 0.5)
        garbage = [{"k": [j]} for j in range(30)]
    print(f"epoch {epoch}: accuracy {np.mean(np.argmax(model.forward(X[1000:])[1], axis=1) == y[1000:]):.3f}")
gc.collect()
print("collections seen:", listener.counts.get("start", 0) > 0, "cycles freed:", Node.dropped > 0)
