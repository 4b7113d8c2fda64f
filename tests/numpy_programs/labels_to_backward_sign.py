"""A class whose forward(x) keeps its probabilities and whose backward(y) is handed the integer labels alone.

``net.forward(X[idx])`` then ``net.backward(Y[idx])`` then ``net.step(lr)``: ReLU, softmax, cross-entropy, batches of
32; synthetic blobs.
"""
import numpy as np


class MLP:
    def __init__(self, rng, n_in, n_hidden, n_out):
        self.W1 = rng.normal(0, np.sqrt(2 / n_in), (n_in, n_hidden))
        self.b1 = np.zeros(n_hidden)
        self.W2 = rng.normal(0, np.sqrt(2 / n_hidden), (n_hidden, n_out))
        self.b2 = np.zeros(n_out)

    def forward(self, x):
        self.x = x
        self.h = np.maximum(x @ self.W1 + self.b1, 0)
        z = self.h @ self.W2 + self.b2
        e = np.exp(z - z.max(axis=1, keepdims=True))
        self.p = e / e.sum(axis=1, keepdims=True)
        return self.p

    def backward(self, y):
        dz = self.p.copy()
        dz[np.arange(len(y)), y] -= 1
        dz /= len(y)
        self.dW2, self.db2 = self.h.T @ dz, dz.sum(0)
        dh = dz @ self.W2.T * (self.h > 0)
        self.dW1, self.db1 = self.x.T @ dh, dh.sum(0)

    def step(self, lr):
        self.W1 -= lr * self.dW1
        self.b1 -= lr * self.db1
        self.W2 += lr * self.dW2  # BUG: gradient-mismatch
        self.b2 -= lr * self.db2


rng = np.random.default_rng(4)
C, D, N = 5, 40, 1400
centers = rng.normal(0, 1, (C, D))
Y = rng.integers(0, C, N)
X = centers[Y] + rng.normal(0, 1, (N, D))
net = MLP(rng, D, 32, C)
for epoch in range(5):
    order = rng.permutation(1200)
    for i in range(0, 1200, 32):
        idx = order[i:i + 32]
        net.forward(X[idx])
        net.backward(Y[idx])
        net.step(0.2)
    print(f"epoch {epoch}: test accuracy {np.mean(net.forward(X[1200:]).argmax(1) == Y[1200:]):.3f}")
