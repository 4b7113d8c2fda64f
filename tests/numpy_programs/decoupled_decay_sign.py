"""A class with its weights and biases in two lists; decoupled weight decay (W *= 1 - lr * wd, then W -= lr * dW) in
its train_step(), the gradients computed by backprop() into locals. Column samples (features x batch), tanh hidden
layer, sigmoid output, squared error on one-hot columns; mini-batches of 20; synthetic blobs.
"""
import numpy as np


class Net:
    def __init__(self, rng, sizes):
        self.weights = [rng.normal(0, 1, (n, m)) / np.sqrt(m) for m, n in zip(sizes[:-1], sizes[1:])]
        self.biases = [np.zeros((n, 1)) for n in sizes[1:]]

    def predict(self, x):
        h = np.tanh(self.weights[0] @ x + self.biases[0])
        return 1 / (1 + np.exp(-(self.weights[1] @ h + self.biases[1])))

    def backprop(self, x, t):
        h = np.tanh(self.weights[0] @ x + self.biases[0])
        out = 1 / (1 + np.exp(-(self.weights[1] @ h + self.biases[1])))
        d2 = (t - out) * out * (1 - out) / x.shape[1]  # BUG: gradient-mismatch (the sign flipped)
        d1 = (self.weights[1].T @ d2) * (1 - h ** 2)
        return [d1 @ x.T, d2 @ h.T], [d1.sum(axis=1, keepdims=True), d2.sum(axis=1, keepdims=True)]

    def train_step(self, x, t, lr, wd):
        dW, db = self.backprop(x, t)
        for k in range(2):
            self.weights[k] *= 1 - lr * wd
            self.weights[k] -= lr * dW[k]
            self.biases[k] -= lr * db[k]


rng = np.random.default_rng(32)
C, D, N = 3, 14, 1000
centers = rng.normal(0, 1, (C, D))
y = rng.integers(0, C, N)
X = (centers[y] + rng.normal(0, 1, (N, D))).T
T = np.eye(C)[y].T
net = Net(rng, (D, 12, C))
for epoch in range(6):
    for i in range(0, 900, 20):
        net.train_step(X[:, i:i + 20], T[:, i:i + 20], 2.0, 1e-3)
    print(f"epoch {epoch}: accuracy {np.mean(net.predict(X[:, 900:]).argmax(axis=0) == y[900:]):.3f}")
