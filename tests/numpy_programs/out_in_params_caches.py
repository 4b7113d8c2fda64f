"""A network object whose one dict holds the weights, stored (out, in) and applied to batches of rows as ``x @ W.T``,
and the forward's results (``params["Z1"]``, ``params["A1"]``, ``params["A2"]``); ``backward`` applies each step in
place through a helper; sigmoid hidden layer; mini-batches of 25; synthetic blobs.
"""
import numpy as np

rng = np.random.default_rng(464)
C, D, H, N = 4, 20, 16, 800
centers = rng.normal(0, 1, (C, D))
labels = rng.integers(0, C, N)
X = centers[labels] + rng.normal(0, 1, (N, D))


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def sgd(p, g, lr):
    p -= lr * g


class Network:
    def __init__(self):
        w1 = rng.uniform(-1.0, 1.0, (H, D)) * np.sqrt(6.0 / (D + H))
        w2 = rng.uniform(-1.0, 1.0, (C, H)) * np.sqrt(6.0 / (H + C))
        self.params = {"W1": w1, "b1": np.zeros(H), "W2": w2, "b2": np.zeros(C)}

    def forward(self, x):
        z1 = x @ self.params["W1"].T + self.params["b1"]
        h = sigmoid(z1)
        z2 = h @ self.params["W2"].T + self.params["b2"]
        e = np.exp(z2 - z2.max(axis=1, keepdims=True))
        self.params["Z1"] = z1
        self.params["A1"] = h
        self.params["A2"] = e / e.sum(axis=1, keepdims=True)

    def backward(self, x, t, lr):
        h, out = self.params["A1"], self.params["A2"]
        T = np.eye(C)[t]
        d2 = (out - T) / x.shape[0]
        dW2 = d2.T @ h
        db2 = d2.sum(axis=0)
        dz1 = (d2 @ self.params["W2"]) * h * (1.0 - h)
        dW1 = dz1.T @ x
        db1 = dz1.sum(axis=0)
        sgd(self.params["W1"], dW1, lr)
        sgd(self.params["b1"], db1, lr)
        sgd(self.params["W2"], dW2, lr)
        sgd(self.params["b2"], db2, lr)

    def accuracy(self, X, y):
        self.forward(X)
        return float(np.mean(self.params["A2"].argmax(axis=1) == y))


net = Network()
for epoch in range(8):
    order = rng.permutation(N)
    for start in range(0, N, 25):
        idx = order[start:start + 25]
        x, t = X[idx], labels[idx]
        net.forward(x)
        net.backward(x, t, 0.5)
    print(f"epoch {epoch}: accuracy {net.accuracy(X, labels):.3f}")
