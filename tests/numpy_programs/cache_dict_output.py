"""A model class whose ``forward(X)`` returns None and keeps every activation in ``self.cache`` (``self.cache['out']``
the softmax output), read back by ``predict`` and ``backward``; ``train_step(X, Y, lr)`` calls both and applies the
step. Sigmoid hidden layer, mini-batches of 50, 3 classes, one-hot targets built once.
"""
import numpy as np

rng = np.random.default_rng(19)
C, D, N = 3, 12, 1300
mu = rng.normal(0, 1.0, (C, D))
y = rng.integers(0, C, N)
X = mu[y] + rng.normal(0, 1.0, (N, D))
Y = np.eye(C)[y]


class Model:
    def __init__(self, d, h, c):
        self.W1 = rng.normal(0, 1, (d, h)) / np.sqrt(d)
        self.b1 = np.zeros(h)
        self.W2 = rng.normal(0, 1, (h, c)) / np.sqrt(h)
        self.b2 = np.zeros(c)
        self.cache = {}

    def forward(self, X):
        self.cache["X"] = X
        self.cache["H"] = 1 / (1 + np.exp(-(X @ self.W1 + self.b1)))
        Z = self.cache["H"] @ self.W2 + self.b2
        E = np.exp(Z - Z.max(axis=1, keepdims=True))
        self.cache["out"] = E / E.sum(axis=1, keepdims=True)

    def predict(self, X):
        self.forward(X)
        return np.argmax(self.cache["out"], axis=1)

    def backward(self, Y):
        H, out = self.cache["H"], self.cache["out"]
        dZ = (out - Y) / len(Y)
        dH = dZ @ self.W2.T * H * (1 - H)
        return H.T @ dZ, dZ.sum(axis=0), self.cache["X"].T @ dH, dH.sum(axis=0)

    def train_step(self, X, Y, lr):
        self.forward(X)
        dW2, db2, dW1, db1 = self.backward(Y)
        self.W2 -= lr * dW2
        self.b2 -= lr * db2
        self.W1 -= lr * dW1
        self.b1 -= lr * db1


model = Model(D, 20, C)
for epoch in range(8):
    order = rng.permutation(1000)
    for s in range(0, 1000, 50):
        idx = order[s:s + 50]
        model.train_step(X[idx], Y[idx], 1.0)

print("held-out accuracy", float(np.mean(model.predict(X[1000:]) == y[1000:])))
