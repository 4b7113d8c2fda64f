"""lookup_rows.py with the output error computed in place on the table's row: `t = self.codes[k]` is a view, so
`t -= p` writes each prediction into the code table, and every later sample of that class trains toward a target
that drifts further (a function classified as nothing in particular returns the row: only its returns show it).
"""
import numpy as np

rng = np.random.default_rng(11)
C, D, H, N = 4, 10, 8, 480
centers = rng.normal(0, 1.5, (C, D))
labels = rng.integers(0, C, N)
X = centers[labels] + rng.normal(0, 1.0, (N, D))
Xt, yt, X, y = X[400:], labels[400:], X[:400], labels[:400]


class Encoder:
    def __init__(self, classes):
        self.codes = np.full((classes, classes), 0.1 / classes) + 0.9 * np.eye(classes)

    def error(self, k, p):
        """The output error of a softmax under cross-entropy, against row k of the code table."""
        t = self.codes[k]  # BUG: mutated-constant
        t -= p  # BUG: mutated-constant (the write into the row)
        return t


def descend(p, g, rate):
    p -= rate * g


class Trainer:
    def __init__(self):
        self.W1 = rng.normal(0, 1, (D, H)) / np.sqrt(D)
        self.b1 = np.zeros(H)
        self.W2 = rng.normal(0, 1, (H, C)) / np.sqrt(H)
        self.b2 = np.zeros(C)

    def step(self, x, k, enc):
        h = np.tanh(x @ self.W1 + self.b1)
        z = h @ self.W2 + self.b2
        p = np.exp(z - z.max())
        p /= p.sum()
        err = -enc.error(k, p)
        dh = (self.W2 @ err) * (1 - h ** 2)
        for p, g in ((self.W2, np.outer(h, err)), (self.b2, err), (self.W1, np.outer(x, dh)), (self.b1, dh)):
            descend(p, g, 0.05)

    def predict(self, x):
        h = np.tanh(x @ self.W1 + self.b1)
        return h @ self.W2 + self.b2

net = Trainer()
enc = Encoder(C)
for epoch in range(3):
    for i in rng.permutation(len(X)):
        net.step(X[i], y[i], enc)
    print(f"epoch {epoch}: accuracy {np.mean(np.argmax(net.predict(Xt), axis=1) == yt):.3f}")
