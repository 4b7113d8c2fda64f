"""blank_reset.py with the sums emptied by binding them to the zero arrays (``self.sums[k] = self.blank[k]``): from
the first step on the sums are the blank arrays, so every later step adds to them and nothing empties them."""
import numpy as np

rng = np.random.default_rng(33)
C, D, N = 4, 12, 900
centers = rng.normal(0, 1.5, (C, D))
y = rng.integers(0, C, N)
X = centers[y] + rng.normal(0, 0.8, (N, D))


class Net:
    def __init__(self, hidden):
        self.p = {"W1": rng.normal(0, 1, (hidden, D)) / np.sqrt(D), "b1": np.zeros(hidden),
                  "W2": rng.normal(0, 1, (C, hidden)) / np.sqrt(hidden), "b2": np.zeros(C)}
        self.blank = {k: np.zeros_like(v) for k, v in self.p.items()}
        self.sums = {k: np.zeros_like(v) for k, v in self.p.items()}

    def run(self, x):
        h = 1.0 / (1.0 + np.exp(-(self.p["W1"] @ x + self.p["b1"])))
        return h, self.p["W2"] @ h + self.p["b2"]

    def add_gradient(self, x, label):
        h, out = self.run(x)
        err = out - np.eye(C)[label]
        dh = (self.p["W2"].T @ err) * h * (1.0 - h)
        self.sums["W2"] += np.outer(err, h)
        self.sums["b2"] += err
        self.sums["W1"] += np.outer(dh, x)
        self.sums["b1"] += dh

    def apply(self, lr, n):
        for k in self.p:
            self.p[k] -= lr * self.sums[k] / n
            self.sums[k] = self.blank[k]  # BUG: aliased-buffers


net = Net(16)
for epoch in range(4):
    order = rng.permutation(800)
    for start in range(0, 800, 8):
        for j in order[start:start + 8]:
            net.add_gradient(X[j], y[j])
        net.apply(0.1, 8)
    right = sum(np.argmax(net.run(X[j])[1]) == y[j] for j in range(800, N))
    print(f"epoch {epoch}: accuracy {right / (N - 800):.3f}")
