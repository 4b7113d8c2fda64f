"""Parameters as attributes of a small class; the gradient returned as a dict by name; the step written with
``np.subtract(p, lr * g, out=p)`` in the loop of a function.

Mini-batches of 50 rows, relu hidden layer, softmax output, mean cross-entropy; synthetic blobs.
"""
import numpy as np

rng = np.random.default_rng(5)
C, D, N = 5, 24, 1200
centers = rng.normal(0, 1, (C, D)) * 0.8
y = rng.integers(0, C, N)
X = centers[y] + rng.normal(0, 1, (N, D))
LR = 0.3


class Params:
    def __init__(self):
        self.W1 = rng.normal(0, 1, (D, 32)) * np.sqrt(2 / D)
        self.b1 = np.zeros(32)
        self.W2 = rng.normal(0, 1, (32, C)) / np.sqrt(32)
        self.b2 = np.zeros(C)


def probabilities(net, x):
    h = np.maximum(x @ net.W1 + net.b1, 0)
    z = h @ net.W2 + net.b2
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return h, e / e.sum(axis=1, keepdims=True)


def gradients(net, x, labels):
    h, p = probabilities(net, x)
    dz = (p - np.eye(C)[labels]) / len(x)
    dh = (dz @ net.W2.T) * (h > 0)
    return {"W1": x.T @ dh, "b1": dh.sum(axis=0), "W2": h.T @ dz, "b2": dz.sum(axis=0)}


def run(net, epochs):
    for epoch in range(epochs):
        order = rng.permutation(1000)
        for i in range(0, 1000, 50):
            rows = order[i:i + 50]
            for name, g in gradients(net, X[rows], y[rows]).items():
                p = getattr(net, name)
                np.subtract(p, LR * g, out=p)
        acc = np.mean(np.argmax(probabilities(net, X[1000:])[1], axis=1) == y[1000:])
        print(f"epoch {epoch}: accuracy {acc:.3f}")


run(Params(), 5)
