"""A forward no function computes: train() chains the layer objects itself (``for layer in self.layers: h =
layer.forward(h)``), and so does the evaluation; each layer keeps ``self.input`` and ``self.output``, the backward
walks ``reversed(self.layers)`` leaving each gradient on its layer, then every layer steps itself in turn.

Mini-batches of 25 rows, sigmoid hidden layers, a linear output and squared error against one-hot rows; synthetic
blobs.
"""
import numpy as np

rng = np.random.default_rng(17)
C, D, N = 4, 18, 1100
centers = rng.normal(0, 1, (C, D)) * 0.7
labels = rng.integers(0, C, N)
X = centers[labels] + rng.normal(0, 1, (N, D))
Y = np.eye(C)[labels]


class Dense:
    def __init__(self, n_in, n_out):
        self.W = rng.normal(0, 1, (n_in, n_out)) / np.sqrt(n_in)
        self.c = np.zeros(n_out)

    def forward(self, h):
        self.input = h
        self.output = h @ self.W + self.c
        return self.output

    def backward(self, g):
        self.gW = self.input.T @ g
        self.gc = g.sum(axis=0)
        return g @ self.W.T

    def step(self, lr):
        self.W -= lr * self.gW
        self.c -= lr * self.gc


class Sigmoid:
    def forward(self, h):
        self.input = h
        self.output = 1.0 / (1.0 + np.exp(-h))
        return self.output

    def backward(self, g):
        return g * self.output * (1.0 - self.output)

    def step(self, lr):
        pass


class Model:
    def __init__(self):
        self.layers = [Dense(D, 14), Sigmoid(), Dense(14, 10), Sigmoid(), Dense(10, C)]

    def train(self, epochs, lr, size):
        for epoch in range(epochs):
            order = rng.permutation(900)
            for start in range(0, 900, size):
                cols = order[start:start + size]
                h, y = X[cols], Y[cols]
                for layer in self.layers:
                    h = layer.forward(h)
                g = (h - y) / len(cols)
                for layer in reversed(self.layers):
                    g = layer.backward(g)
                for layer in self.layers:
                    layer.step(lr)
            h = X[900:]
            for layer in self.layers:
                h = layer.forward(h)
            print(f"epoch {epoch}: accuracy {np.mean(np.argmax(h, axis=1) == labels[900:]):.3f}")


Model().train(6, 0.4, 25)
