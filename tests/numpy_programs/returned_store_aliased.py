"""returned_store.py with the batch's sums started from the kept list: `total = self.store` makes the local sums the
network's own list, so every batch adds onto the sums of all earlier batches.
"""
import numpy as np

rng = np.random.default_rng(31)
C, D, N = 3, 15, 900
centers = rng.normal(0, 1.5, (C, D))
y = rng.integers(0, C, N)
X = centers[y] + rng.normal(0, 1.0, (N, D))


class Net:
    def __init__(self):
        self.W = [rng.normal(0, 1, (D, 10)) / np.sqrt(D), rng.normal(0, 1, (10, C)) / np.sqrt(10)]
        self.store = [np.zeros_like(w) for w in self.W]

    def predict(self, x):
        h = 1.0 / (1.0 + np.exp(-(x @ self.W[0])))
        return h, h @ self.W[1]

    def backprop(self, x, t):
        h, out = self.predict(x)
        d = out - t
        dh = (self.W[1] @ d) * h * (1 - h)
        return [np.outer(x, dh), np.outer(h, d)]

    def train_batch(self, rows, lr):
        total = self.store  # BUG: aliased-buffers
        for j in rows:
            for t, g in zip(total, self.backprop(X[j], np.eye(C)[y[j]])):
                t += g
        self.W = [w - lr * t / len(rows) for w, t in zip(self.W, total)]


net = Net()
for epoch in range(4):
    order = rng.permutation(750)
    for start in range(0, 750, 12):
        net.train_batch(order[start:start + 12], 0.3)
    print(f"epoch {epoch}: accuracy {np.mean(np.argmax(net.predict(X[750:])[1], axis=1) == y[750:]):.3f}")
