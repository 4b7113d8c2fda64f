"""A module-level loop over the rows of a table (label in column 0), everything inline: the forward, the error and
the update are written in the loop body, no function of the program computes gradients; the target is a +-1 code
built by a helper (`code_for(label)`) for a tanh output. Synthetic blobs, one sample per step.
"""
import numpy as np

rng = np.random.default_rng(3)
C, D, H, N = 4, 20, 12, 1100
centers = rng.normal(0, 1, (C, D))
labels = rng.integers(0, C, N)
table = np.column_stack([labels, centers[labels] + rng.normal(0, 0.7, (N, D))])  # (N, 1 + D): label, features
features = table[:, 1:] / np.abs(table[:, 1:]).max()


def code_for(label):
    t = -np.ones(C)
    t[label] = 1.0
    return t


W1 = rng.normal(0, 1, (D, H)) / np.sqrt(D)
b1 = np.zeros(H)
W2 = rng.normal(0, 1, (H, C)) / np.sqrt(H)
b2 = np.zeros(C)
lr = 0.02
for epoch in range(3):
    for i in rng.permutation(1000):
        x = features[i]
        label = int(table[i, 0])
        t = code_for(label)
        h = np.tanh(x @ W1 + b1)
        y = np.tanh(h @ W2 + b2)
        dy = (y - t) * (1 - y ** 2)
        dh = (W2 @ dy) * (1 - h ** 2)
        W2 -= lr * np.outer(h, dy)
        b2 -= lr * dy
        W1 -= lr * np.outer(x, dh)
        b1 -= lr * dh
    out = np.tanh(np.tanh(features[1000:] @ W1 + b1) @ W2 + b2)
    print(f"epoch {epoch}: accuracy {np.mean(np.argmax(out, axis=1) == labels[1000:]):.3f}")
