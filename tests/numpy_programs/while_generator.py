"""A while loop counting epochs, batches from a generator over a fresh permutation, a sigmoid network as attributes
of a class whose train_step() returns nothing."""
import numpy as np

rng = np.random.default_rng(43)
C, D, N = 3, 8, 600
centers = rng.normal(0, 1.2, (C, D))
labels = rng.integers(0, C, N)
X = centers[labels] + rng.normal(0, 0.7, (N, D))
T = np.eye(C)[labels]


def batches(X, T, size):
    order = rng.permutation(len(X))
    for start in range(0, len(X), size):
        idx = order[start:start + size]
        yield X[idx], T[idx]


class Net:
    def __init__(self):
        self.W1 = rng.normal(0, 1 / np.sqrt(D), (D, 10))
        self.b1 = np.zeros(10)
        self.W2 = rng.normal(0, 1 / np.sqrt(10), (10, C))
        self.b2 = np.zeros(C)

    def forward(self, x):
        self.h = 1 / (1 + np.exp(-(x @ self.W1 + self.b1)))
        z = self.h @ self.W2 + self.b2
        e = np.exp(z - z.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)

    def train_step(self, x, t, lr):
        p = self.forward(x)
        d = (p - t) / len(x)
        dh = d @ self.W2.T * self.h * (1 - self.h)
        self.W2 -= lr * self.h.T @ d
        self.b2 -= lr * d.sum(0)
        self.W1 -= lr * x.T @ dh
        self.b1 -= lr * dh.sum(0)


net = Net()
epoch, epochs = 0, 6
epoch = 0
while epoch < epochs:
    for xb, tb in batches(X, T, 25):
        net.train_step(xb, tb, 0.5)
    epoch += 1
print(f"accuracy {np.mean(net.forward(X).argmax(1) == labels):.3f}")
