"""The helper-method classifier of helper_forward.py with weights drawn at one scale and rescaled once before training.

A one-time rescale (`net.W1 *= 0.05`) is not an update: it must not be judged as a step of the learning rate.
"""
import numpy as np

rng = np.random.default_rng(0)
C, D, N = 5, 24, 1200
centers = rng.normal(0, 1, (C, D)) * 0.6
y = rng.integers(0, C, N)
X = centers[y] + rng.normal(0, 1, (N, D))
X_train, y_train, X_test, y_test = X[:1000], y[:1000], X[1000:], y[1000:]


class Classifier:
    def __init__(self, n_in, n_hidden, n_out, scale=1.0):
        self.W1 = rng.normal(0, 1, (n_in, n_hidden)) * scale
        self.b1 = np.zeros(n_hidden)
        self.W2 = rng.normal(0, 1, (n_hidden, n_out)) / np.sqrt(n_hidden)
        self.b2 = np.zeros(n_out)

    def sigmoid(self, z):
        return 1 / (1 + np.exp(-z))

    def softmax(self, z):
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def forward(self, x):
        self.h = self.sigmoid(x @ self.W1 + self.b1)
        return self.softmax(self.h @ self.W2 + self.b2)

    def train_step(self, x, labels, lr):
        p = self.forward(x)
        t = np.eye(p.shape[1])[labels]
        dz2 = (p - t) / len(x)
        dW2, db2 = self.h.T @ dz2, dz2.sum(axis=0)
        dz1 = dz2 @ self.W2.T * self.h * (1 - self.h)
        dW1, db1 = x.T @ dz1, dz1.sum(axis=0)
        self.W1 -= lr * dW1
        self.b1 -= lr * db1
        self.W2 -= lr * dW2
        self.b2 -= lr * db2


net = Classifier(D, 16, C, scale=1.0)
net.W1 *= 1 / np.sqrt(D)
net.W2 *= 0.5
for epoch in range(8):
    order = rng.permutation(len(X_train))
    for i in range(0, len(order), 20):
        batch = order[i:i + 20]
        net.train_step(X_train[batch], y_train[batch], 0.5)
    acc = np.mean(np.argmax(net.forward(X_test), axis=1) == y_test)
    print(f"epoch {epoch}: accuracy {acc:.3f}")
