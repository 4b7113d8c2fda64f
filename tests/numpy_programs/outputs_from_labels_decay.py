"""The output layer's width taken from the labels (``n_out = labels.max() + 1``), a class with weights kept (out, in)
and samples as columns, a softmax output, mini-batches of 10 and L2 weight decay added to the returned gradients;
the labels are read from a table's first column. When every label read is 0, the network has one output unit: its
softmax is 1 for every input, the loss's gradient is 0, and only the decay moves the weights.
"""
import numpy as np

rng = np.random.default_rng(8)
K, D, N = 3, 16, 600
centers = rng.normal(0, 1.2, (K, D))
classes = rng.integers(0, K, N)
table = np.column_stack([classes, np.zeros(N), centers[classes] + rng.normal(0, 1.0, (N, D))])
labels = table[:, 0].astype(int)
X = table[:, 2:].T
n_out = labels.max() + 1


class Net:
    def __init__(self, sizes, wd):
        self.W = [rng.normal(0, 1 / np.sqrt(a), (b, a)) for a, b in zip(sizes[:-1], sizes[1:])]
        self.b = [np.zeros((b, 1)) for b in sizes[1:]]
        self.wd = wd

    def probs(self, x):
        self.h = np.maximum(self.W[0] @ x + self.b[0], 0)
        z = self.W[1] @ self.h + self.b[1]
        e = np.exp(z - z.max(axis=0, keepdims=True))
        return e / e.sum(axis=0, keepdims=True)

    def grads(self, x, t):
        p = self.probs(x)
        d2 = (p - np.eye(n_out)[t].T) / x.shape[1]
        d1 = (self.W[1].T @ d2) * (self.h > 0)
        return [d1 @ x.T + self.wd * self.W[0], d2 @ self.h.T + self.wd * self.W[1]], [d1.sum(axis=1, keepdims=True),
                                                                                      d2.sum(axis=1, keepdims=True)]

    def train(self, X, y, lr, epochs):
        for epoch in range(epochs):
            order = rng.permutation(X.shape[1])
            for s in range(0, X.shape[1], 10):
                idx = order[s:s + 10]
                gW, gb = self.grads(X[:, idx], y[idx])
                for W, g in zip(self.W, gW):
                    W -= lr * g
                for b, g in zip(self.b, gb):
                    b -= lr * g
            print(f"epoch {epoch}: accuracy {np.mean(self.probs(X).argmax(axis=0) == y):.3f}")


Net([D, 20, n_out], 1e-3).train(X[:, :500], labels[:500], 0.1, 4)
