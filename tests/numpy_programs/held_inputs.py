"""held_batch with the names a reader expects: the loop binds ``net.inputs`` and ``net.targets`` to a new batch at
every step. Binding a name to another array writes nothing into the one it held: a healthy program, no
``mutated-constant`` (names such as ``inputs``/``targets`` mark data, and data is only mutated by a write into it).
"""
import numpy as np

rng = np.random.default_rng(13)
C, D, N = 4, 16, 1000
centers = rng.normal(0, 1, (C, D)) * 0.8
labels = rng.integers(0, C, N)
X = centers[labels] + rng.normal(0, 1, (N, D))
prior = np.bincount(labels, minlength=C) / N
T = 0.9 * np.eye(C)[labels] + 0.1 * prior


class Source:
    out = None


class Layer:
    def __init__(self, prev, n_in, n_out, squash):
        self.prev = prev
        self.W = rng.normal(0, 1, (n_in, n_out)) / np.sqrt(n_in)
        self.b = np.zeros(n_out)
        self.squash = squash

    def forward(self):
        z = self.prev.out @ self.W + self.b
        self.out = 1 / (1 + np.exp(-z)) if self.squash else z

    def backward(self, delta):
        if self.squash:
            delta = delta * self.out * (1 - self.out)
        self.dW = self.prev.out.T @ delta
        self.db = delta.sum(axis=0)
        return delta @ self.W.T


class Net:
    def __init__(self):
        self.source = Source()
        hidden = Layer(self.source, D, 12, True)
        self.stack = [hidden, Layer(hidden, 12, C, False)]
        self.probs = None

    def forward(self):
        self.source.out = self.inputs
        for layer in self.stack:
            layer.forward()
        z = self.stack[-1].out
        e = np.exp(z - z.max(axis=1, keepdims=True))
        self.probs = e / e.sum(axis=1, keepdims=True)

    def backward(self):
        delta = (self.probs - self.targets) / len(self.inputs)
        for layer in self.stack[::-1]:
            delta = layer.backward(delta)

    def update(self, lr):
        for layer in self.stack:
            layer.W -= lr * layer.dW
            layer.b -= lr * layer.db


net = Net()
for epoch in range(5):
    order = rng.permutation(800)
    for start in range(0, 800, 20):
        idx = order[start:start + 20]
        net.inputs, net.targets = X[idx], T[idx]
        net.forward()
        net.backward()
        net.update(0.5)
    net.inputs = X[800:]
    net.forward()
    print(f"epoch {epoch}: accuracy {np.mean(np.argmax(net.probs, axis=1) == labels[800:]):.3f}")
