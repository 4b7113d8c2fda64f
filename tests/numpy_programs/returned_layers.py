"""Layers as [W, b] pairs in a list on an object; the gradient returned as the same nested lists; the step written back
into each array (``p[...] = p - lr * g``) by the loop of a function.

Mini-batches of 25 rows, sigmoid hidden layer, linear output, mean squared error; synthetic blobs.
"""
import numpy as np

rng = np.random.default_rng(7)
C, D, N = 4, 20, 1100
centers = rng.normal(0, 1, (C, D)) * 0.7
y = rng.integers(0, C, N)
X = centers[y] + rng.normal(0, 1, (N, D))
T = np.eye(C)[y]


class Net:
    def __init__(self):
        self.layers = [[rng.normal(0, 1, (D, 12)) / np.sqrt(D), np.zeros(12)],
                       [rng.normal(0, 1, (12, C)) / np.sqrt(12), np.zeros(C)]]

    def predict(self, x):
        (W1, b1), (W2, b2) = self.layers
        h = 1 / (1 + np.exp(-(x @ W1 + b1)))
        return h, h @ W2 + b2

    def gradients(self, x, t):
        (W1, b1), (W2, b2) = self.layers
        h, out = self.predict(x)
        err = (out - t) / len(x)
        dh = err @ W2.T * h * (1 - h)
        return [[x.T @ dh, dh.sum(axis=0)], [h.T @ err, err.sum(axis=0)]]


def fit(net, epochs, lr, batch=25):
    for epoch in range(epochs):
        order = rng.permutation(1000)
        for i in range(0, 1000, batch):
            rows = order[i:i + batch]
            grads = net.gradients(X[rows], T[rows])
            for layer, layer_grads in zip(net.layers, grads):
                for p, g in zip(layer, layer_grads):
                    p[...] = p - lr * g
        acc = np.mean(np.argmax(net.predict(X[1000:])[1], axis=1) == y[1000:])
        print(f"epoch {epoch}: accuracy {acc:.3f}")


fit(Net(), 8, 0.5)
