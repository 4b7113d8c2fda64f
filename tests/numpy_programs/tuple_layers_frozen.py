"""Layers as (weights, bias) tuples in a module-level list; the backward returns the gradients as a list of pairs and
the step builds the new pairs, assigned back over the list's items. Mini-batches of 25 rows, relu hidden layer, linear
output with a squared error on one-hot targets. Synthetic blobs.
"""
import numpy as np

rng = np.random.default_rng(11)
C, D = 3, 16
centers = rng.normal(0, 1, (C, D))
y = rng.integers(0, C, 900)
X = centers[y] + rng.normal(0, 0.8, (900, D))
layers = [(rng.normal(0, 1, (D, 10)) * np.sqrt(2 / D), np.zeros(10)), (rng.normal(0, 1, (10, C)) / np.sqrt(10), np.zeros(C))]


def predict(x):
    h = np.maximum(x @ layers[0][0] + layers[0][1], 0.0)
    return h, h @ layers[1][0] + layers[1][1]


def gradients(x, t):
    h, out = predict(x)
    e = (out - t) / len(x)
    dh = (e @ layers[1][0].T) * (h > 0)
    return [(x.T @ dh, dh.sum(axis=0)), (h.T @ e, e.sum(axis=0))]


def step(grads, rate):
    fresh = [(W - rate * dW, b - rate * db) for (W, b), (dW, db) in zip(layers, grads)]  # BUG: frozen-parameters
    updated = fresh  # BUG: frozen-parameters


for epoch in range(5):
    order = rng.permutation(800)
    for i in range(0, 800, 25):
        rows = order[i:i + 25]
        step(gradients(X[rows], np.eye(C)[y[rows]]), 0.1)
    print(f"epoch {epoch}: accuracy {np.mean(np.argmax(predict(X[800:])[1], axis=1) == y[800:]):.3f}")
