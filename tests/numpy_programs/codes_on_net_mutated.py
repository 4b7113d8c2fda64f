"""codes_on_net.py with the code softened in place: `t = CODES[k]` is a view of the table, so every use of a class
moves its row further towards the mean (the targets fade to one value for every class).
"""
import numpy as np

rng = np.random.default_rng(21)
C, D, N = 4, 20, 1000
centers = rng.normal(0, 1, (C, D))
y = rng.integers(0, C, N)
X = centers[y] + rng.normal(0, 0.8, (N, D))
CODES = 2.0 * np.eye(C) - 1.0


def code(k):
    t = CODES[k]
    t -= 0.2 * (t - t.mean())  # BUG: mutated-constant
    return t


class Net:
    def __init__(self):
        self.W1 = rng.normal(0, 1, (D, 12)) / np.sqrt(D)
        self.b1 = np.zeros(12)
        self.W2 = rng.normal(0, 1, (12, C)) / np.sqrt(12)
        self.b2 = np.zeros(C)
        self.grads = [np.zeros_like(self.W1), np.zeros(12), np.zeros_like(self.W2), np.zeros(C)]

    def forward(self, x):
        h = np.tanh(x @ self.W1 + self.b1)
        return h, np.tanh(h @ self.W2 + self.b2)

    def accumulate(self, x, targets):
        h, out = self.forward(x)
        d2 = (out - targets) * (1 - out ** 2) / len(x)
        d1 = (d2 @ self.W2.T) * (1 - h ** 2)
        self.grads[2] += h.T @ d2
        self.grads[3] += d2.sum(axis=0)
        self.grads[0] += x.T @ d1
        self.grads[1] += d1.sum(axis=0)

    def step(self, lr):
        for p, g in zip((self.W1, self.b1, self.W2, self.b2), self.grads):
            p -= lr * g
            g[...] = 0.0


net = Net()
for epoch in range(5):
    order = rng.permutation(800)
    for i in range(0, 800, 20):
        rows = order[i:i + 20]
        net.accumulate(X[rows], np.array([code(k) for k in y[rows]]))
        net.step(0.5)
    predicted = np.argmax(net.forward(X[800:])[1], axis=1)
    print(f"epoch {epoch}: accuracy {np.mean(predicted == y[800:]):.3f}")
