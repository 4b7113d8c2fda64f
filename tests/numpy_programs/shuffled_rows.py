"""A table of rows (label first) shuffled in place at every epoch (`rng.shuffle(data)`) and trained in slices of it:
the same positions hold other rows from one epoch to the next, but no row is written into; softmax regression.
"""
import numpy as np

rng = np.random.default_rng(3)
C, D, N = 3, 12, 600
centers = rng.normal(0, 1.5, (C, D))
labels = rng.integers(0, C, N)
data = np.column_stack([labels, centers[labels] + rng.normal(0, 1.0, (N, D))])
test = data[500:].copy()
data = data[:500]

W = rng.normal(0, 1, (D, C)) / np.sqrt(D)
b = np.zeros(C)


def step(x, t, lr):
    global W, b
    z = x @ W + b
    e = np.exp(z - z.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    d = (p - np.eye(C)[t]) / len(x)
    W -= lr * x.T @ d
    b -= lr * d.sum(axis=0)


for epoch in range(6):
    rng.shuffle(data)
    for i in range(0, 500, 20):
        step(data[i:i + 20, 1:], data[i:i + 20, 0].astype(int), 0.5)
    print(f"epoch {epoch}: accuracy {np.mean(np.argmax(test[:, 1:] @ W + b, axis=1) == test[:, 0]):.3f}")
