"""The input as wide as the second hidden layer (12 -> 20 -> 12 -> 3), dense layer objects holding their weights
(out, in) and applied to batches of rows as ``x @ W.T``, with batches of 20 rows: a batch (20, 12) has the first
layer's weights' shape; each layer's backward returns the delta for the layer below and steps itself; tanh hidden
layers, softmax output, mean cross-entropy; a ``fit`` function over the list of layers."""
import numpy as np

rng = np.random.default_rng(12)
C, D, N = 3, 12, 800
centers = rng.normal(0, 0.8, (C, D))
labels = rng.integers(0, C, N)
X = centers[labels] + rng.normal(0, 1.0, (N, D))


class Dense:
    def __init__(self, n_in, n_out, last=False):
        self.W = rng.normal(0, 1, (n_out, n_in)) / np.sqrt(n_in)
        self.b = np.zeros(n_out)
        self.last = last

    def forward(self, x):
        self.x = x
        z = x @ self.W.T + self.b
        if self.last:
            e = np.exp(z - z.max(axis=1, keepdims=True))
            self.out = e / e.sum(axis=1, keepdims=True)
        else:
            self.out = np.tanh(z)
        return self.out

    def backward(self, d, lr):
        if not self.last:
            d = d * (1.0 - self.out ** 2)
        below = d @ self.W
        self.W -= lr * d.T @ self.x
        self.b -= lr * d.sum(axis=0)
        return below


def fit(layers, X, y, lr, epochs):
    for epoch in range(epochs):
        order = rng.permutation(len(X))
        for s in range(0, len(X), 20):
            idx = order[s:s + 20]
            a = X[idx]
            for layer in layers:
                a = layer.forward(a)
            d = (a - np.eye(C)[y[idx] // C]) / len(idx)  # BUG: constant-targets
            for layer in reversed(layers):
                d = layer.backward(d, lr)
        a = X
        for layer in layers:
            a = layer.forward(a)
        print(f"epoch {epoch}: accuracy {np.mean(a.argmax(axis=1) == y):.3f}")


fit([Dense(D, 20), Dense(20, 12), Dense(12, C, last=True)], X, labels, 0.2, 8)
