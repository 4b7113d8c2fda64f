"""split_update.py with the output shifts moved up their gradient (``+=``): the step climbs the loss for them."""
import numpy as np

rng = np.random.default_rng(77)
C, D, N = 5, 18, 1200
centers = rng.normal(0, 1.2, (C, D))
y = rng.integers(0, C, N)
X = centers[y] + rng.normal(0, 0.9, (N, D))


def descend(p, g, lr):
    p -= lr * g


class Classifier:
    def __init__(self, hidden):
        self.k1 = rng.normal(0, 1, (D, hidden)) * np.sqrt(2.0 / D)
        self.s1 = np.zeros(hidden)
        self.k2 = rng.normal(0, 1, (hidden, C)) / np.sqrt(hidden)
        self.s2 = np.zeros(C)

    def scores(self, x):
        h = np.maximum(x @ self.k1 + self.s1, 0.0)
        z = h @ self.k2 + self.s2
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return h, e / e.sum(axis=1, keepdims=True)

    def fit_batch(self, x, labels, lr):
        h, p = self.scores(x)
        dz = p.copy()
        dz[np.arange(len(labels)), labels] -= 1.0
        dz /= len(labels)
        dh = (dz @ self.k2.T) * (h > 0)
        descend(self.k2, h.T @ dz, lr)
        descend(self.k1, x.T @ dh, lr)
        self.s2 += lr * dz.sum(axis=0)  # BUG: gradient-mismatch
        self.s1 -= lr * dh.sum(axis=0)


model = Classifier(24)
for epoch in range(5):
    order = rng.permutation(1000)
    for start in range(0, 1000, 20):
        rows = order[start:start + 20]
        model.fit_batch(X[rows], y[rows], 0.2)
    print(f"epoch {epoch}: accuracy {np.mean(np.argmax(model.scores(X[1000:])[1], axis=1) == y[1000:]):.3f}")
