"""+-0.9 targets for a tanh output trained with a squared error (a margin: the output is never asked to reach the
tanh's asymptotes): +0.9 at the class, -0.9 elsewhere. The data are rows of a table whose first column is the label;
mini-batches of 20 rows drawn by a generator, the model an object with step(xb, tb). Synthetic blobs, features 0..255.
"""
import numpy as np

rng = np.random.default_rng(21)
C, D, N = 3, 12, 1100
centers = rng.uniform(40, 215, (C, D))
y = rng.integers(0, C, N)
table = np.column_stack([y, np.clip(centers[y] + rng.normal(0, 35, (N, D)), 0, 255).round()])
CODES = np.where(np.eye(C) > 0, 0.9, -0.9)


class Model:
    def __init__(self):
        self.Wa = rng.normal(0, 1, (D, 10)) / np.sqrt(D)
        self.ba = np.zeros(10)
        self.Wb = rng.normal(0, 1, (10, C)) / np.sqrt(10)
        self.bb = np.zeros(C)

    def __call__(self, xb):
        self.h = np.tanh(xb @ self.Wa + self.ba)
        return np.tanh(self.h @ self.Wb + self.bb)

    def step(self, xb, tb, lr):
        out = self(xb)
        d = (out - tb) * (1 - out ** 2) / len(xb)
        dh = (d @ self.Wb.T) * (1 - self.h ** 2)
        self.Wb -= lr * self.h.T @ d
        self.bb -= lr * d.sum(axis=0)
        self.Wa -= lr * xb.T @ dh
        self.ba -= lr * dh.sum(axis=0)


def batches(data, size):
    order = rng.permutation(len(data))
    for s in range(0, len(data), size):
        chunk = data[order[s:s + size]]
        yield chunk[:, 1:] / 255.0, CODES[chunk[:, 0].astype(int)]


model = Model()
train, test = table[:900], table[900:]
for epoch in range(10):
    for xb, tb in batches(train, 20):
        model.step(xb, tb, 0.5)
    acc = np.mean(model(test[:, 1:] / 255.0).argmax(axis=1) == test[:, 0])
    print(f"epoch {epoch}: accuracy {acc:.3f}")
