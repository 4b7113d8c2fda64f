"""The gradient function reads a generator of the program: each sample's gradient, accumulated into buffers the
step zeroes, is taken at an input shifted by the next item of a generator kept on the trainer (an augmentation
stream), and the step takes its batch from another generator. What is left of both is printed at the end: a
replay that took an item would shift every item after it. Healthy: a tanh layer and a softmax, batches of 16.
"""
import numpy as np

rng = np.random.default_rng(14)
C, D = 3, 10
centers = rng.normal(0, 1, (C, D))
y = rng.integers(0, C, 800)
X = centers[y] + rng.normal(0, 0.8, (800, D))


def batches(n, size):
    while True:
        order = rng.permutation(n)
        for i in range(0, n - size + 1, size):
            yield X[order[i:i + size]], y[order[i:i + size]]


def shifts(scale):
    noise = np.random.default_rng(3)
    while True:
        yield noise.normal(0, scale, D)


class Trainer:
    def __init__(self, hidden):
        self.W1 = rng.normal(0, 1, (D, hidden)) / np.sqrt(D)
        self.b1 = np.zeros(hidden)
        self.W2 = rng.normal(0, 1, (hidden, C)) / np.sqrt(hidden)
        self.b2 = np.zeros(C)
        self.grads = {k: np.zeros_like(getattr(self, k)) for k in ("W1", "b1", "W2", "b2")}
        self.stream = batches(640, 16)
        self.shift = shifts(0.05)

    def forward(self, x):
        h = np.tanh(x @ self.W1 + self.b1)
        z = h @ self.W2 + self.b2
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        return h, e / e.sum(axis=-1, keepdims=True)

    def accumulate(self, x, label):
        x = x + next(self.shift)
        h, p = self.forward(x)
        e = p.copy()
        e[label] -= 1.0
        dh = (self.W2 @ e) * (1.0 - h ** 2)
        self.grads["W1"] += np.outer(x, dh)
        self.grads["b1"] += dh
        self.grads["W2"] += np.outer(h, e)
        self.grads["b2"] += e

    def step(self, rate):
        for g in self.grads.values():
            g[...] = 0.0
        xb, yb = next(self.stream)
        for x, label in zip(xb, yb):
            self.accumulate(x, label)
        for k, g in self.grads.items():
            getattr(self, k)[...] -= rate * g / len(xb)


t = Trainer(16)
for epoch in range(5):
    for _ in range(40):
        t.step(0.5)
    print(f"epoch {epoch}: accuracy {np.mean(np.argmax(t.forward(X[640:])[1], axis=1) == y[640:]):.3f}")
x_next, y_next = next(t.stream)
print("next batch", y_next.tolist(), float(x_next.sum()), "next shift", next(t.shift).round(6).tolist())
