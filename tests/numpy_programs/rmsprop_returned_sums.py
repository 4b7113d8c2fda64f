"""A network class with RMSProp by hand: ``grads(x, t)`` runs one sample forward and returns its four gradients (the
one-hot target built inside from the integer class), ``train()`` sums them over a mini-batch in a local list and steps
each parameter through its mean square ``self.sq[k]`` (``sq *= rho; sq += (1 - rho) * g * g``, never emptied).
The mean squares start at zero and grow in place in the step loop like sums of gradients. ReLU hidden layer, 4
classes, batches of 10.
"""
import numpy as np

rng = np.random.default_rng(41)
C, D, N = 4, 16, 1100
centres = rng.normal(0, 1.0, (C, D))
y = rng.integers(0, C, N)
X = centres[y] + rng.normal(0, 1.0, (N, D))
labels = [int(v) for v in y]


class Net:
    def __init__(self):
        self.p = {"W1": rng.normal(0, np.sqrt(2 / D), (D, 24)), "b1": np.zeros(24),
                  "W2": rng.normal(0, np.sqrt(1 / 24), (24, C)), "b2": np.zeros(C)}
        self.sq = {k: np.zeros_like(v) for k, v in self.p.items()}

    def scores(self, x):
        h = np.maximum(x @ self.p["W1"] + self.p["b1"], 0)
        z = h @ self.p["W2"] + self.p["b2"]
        e = np.exp(z - z.max())
        return h, e / e.sum()

    def grads(self, x, t):
        h, p = self.scores(x)
        d2 = p - np.eye(C)[t]
        d1 = (self.p["W2"] @ d2) * (h > 0)
        return np.outer(x, d1), d1, np.outer(h, d2), d2

    def train(self, epochs, lr, rho=0.9):
        for epoch in range(epochs):
            order = rng.permutation(900)
            for s in range(0, 900, 10):
                total = None
                for i in order[s:s + 10]:
                    g = self.grads(X[i], labels[i])
                    total = list(g) if total is None else [a + b for a, b in zip(total, g)]
                for k, g in zip(("W1", "b1", "W2", "b2"), total):
                    g = g / 10
                    self.sq[k] *= rho
                    self.sq[k] += (1 - rho) * g * g
                    self.p[k] -= lr * g / (np.sqrt(self.sq[k]) + 1e-8)


net = Net()
net.train(3, 0.002)
hits = sum(int(np.argmax(net.scores(X[i])[1]) == y[i]) for i in range(900, N))
print(f"held-out accuracy {hits / (N - 900):.3f}")
