"""Weights in a list of [W, b] pairs on a small model object; a function returns the gradients as local arrays of
its own and the loop applies them with a literal step size: `W -= 0.5 * dW` (no variable holds the learning rate)."""
import numpy as np


def grads(model, x, t):
    (W1, b1), (W2, b2) = model.layers
    h = np.tanh(x @ W1 + b1)
    z = h @ W2 + b2
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    dz = (p - t) / len(x)
    dW2 = h.T @ dz
    db2 = dz.sum(axis=0)
    dh = (dz @ W2.T) * (1 - h ** 2)
    dW1 = x.T @ dh
    db1 = dh.sum(axis=0)
    return [(dW1, db1), (dW2, db2)]


class Model:
    def __init__(self, rng, sizes):
        self.layers = [[rng.normal(0, 1, (a, b)) / np.sqrt(a), np.zeros(b)] for a, b in zip(sizes, sizes[1:])]

    def scores(self, x):
        (W1, b1), (W2, b2) = self.layers
        return np.tanh(x @ W1 + b1) @ W2 + b2


rng = np.random.default_rng(8)
C, D, N = 5, 24, 1200
centers = rng.normal(0, 1, (C, D)) * 0.6
y = rng.integers(0, C, N)
X = centers[y] + rng.normal(0, 1, (N, D))
eye = np.eye(C)
model = Model(rng, (D, 16, C))
for epoch in range(8):
    order = rng.permutation(1000)
    for i in range(0, 1000, 20):
        rows = order[i:i + 20]
        for (W, b), (dW, db) in zip(model.layers, grads(model, X[rows], eye[y[rows]])):
            W -= 0.5 * dW
            b -= 0.5 * db
    print(f"epoch {epoch}: accuracy {np.mean(np.argmax(model.scores(X[1000:]), axis=1) == y[1000:]):.3f}")
