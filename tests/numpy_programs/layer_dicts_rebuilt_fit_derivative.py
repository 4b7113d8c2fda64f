"""The twin of layer_dicts_rebuilt_fit.py whose backward forgets the tanh's derivative.
A trainer object's ``fit(layers, ...)`` that rebinds its argument at every step to the new list of per-layer dicts
an update function returns (``layers = sgd_step(layers, grads, lr)``: ``{"W": W - lr * dW, "b": b - lr * db}``);
samples as rows, weights (in, out); the gradients come from ``gradients(layers, x, t)``; tanh hidden layer;
mini-batches of 20; synthetic blobs.
"""
import numpy as np

rng = np.random.default_rng(71)
C, D, H, N = 3, 16, 12, 600
centers = rng.normal(0, 1, (C, D))
labels = rng.integers(0, C, N)
X = centers[labels] + rng.normal(0, 1, (N, D))


def forward(layers, x):
    h = np.tanh(x @ layers[0]["W"] + layers[0]["b"])
    z = h @ layers[1]["W"] + layers[1]["b"]
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return h, e / e.sum(axis=1, keepdims=True)


def gradients(layers, x, t):
    h, out = forward(layers, x)
    d2 = (out - np.eye(C)[t]) / len(x)
    d1 = d2 @ layers[1]["W"].T  # BUG: gradient-mismatch
    return [{"W": x.T @ d1, "b": d1.sum(axis=0)}, {"W": h.T @ d2, "b": d2.sum(axis=0)}]


def sgd_step(layers, grads, lr):
    return [{"W": layer["W"] - lr * g["W"], "b": layer["b"] - lr * g["b"]} for layer, g in zip(layers, grads)]


class Trainer:
    def __init__(self, lr, epochs):
        self.lr, self.epochs = lr, epochs

    def fit(self, layers, X, y):
        for epoch in range(self.epochs):
            order = rng.permutation(len(X))
            for start in range(0, len(X), 20):
                idx = order[start:start + 20]
                x, t = X[idx], y[idx]
                grads = gradients(layers, x, t)
                layers = sgd_step(layers, grads, self.lr)
            print(f"epoch {epoch}: accuracy {np.mean(forward(layers, X)[1].argmax(axis=1) == y):.3f}")
        return layers


start = [{"W": rng.normal(0, 1, (D, H)) / np.sqrt(D), "b": np.zeros(H)},
         {"W": rng.normal(0, 1, (H, C)) / np.sqrt(H), "b": np.zeros(C)}]
Trainer(0.3, 6).fit(start, X, labels)
