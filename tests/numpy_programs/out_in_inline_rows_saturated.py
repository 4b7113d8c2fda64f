"""The twin of out_in_inline_rows.py whose hidden weights are drawn N(0, 16): the sigmoid saturates.
Everything inline at module level: [W, b] pairs in a list, each W stored (out, in) and applied to a batch of rows as
``xb @ W.T``, the forward and backward written in the loop over mini-batches of 20; a sigmoid hidden layer; synthetic
blobs.
"""
import numpy as np

rng = np.random.default_rng(1039)
C, D, H, N = 4, 20, 16, 800
centers = rng.normal(0, 1, (C, D))
labels = rng.integers(0, C, N)
X = centers[labels] + rng.normal(0, 1, (N, D))
T = np.eye(C)[labels]

layers = [[rng.normal(0, 1, (H, D)) * 4.0, np.zeros(H)],  # BUG: saturated-activations
          [rng.normal(0, 1, (C, H)) / np.sqrt(H), np.zeros(C)]]
lr = 0.5
for epoch in range(6):
    order = rng.permutation(N)
    for start in range(0, N, 20):
        idx = order[start:start + 20]
        xb, tb = X[idx], T[idx]
        hid = 1.0 / (1.0 + np.exp(-(xb @ layers[0][0].T + layers[0][1])))
        z = hid @ layers[1][0].T + layers[1][1]
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        d2 = (p - tb) / len(idx)
        d1 = (d2 @ layers[1][0]) * hid * (1.0 - hid)
        layers[1][0] -= lr * d2.T @ hid
        layers[1][1] -= lr * d2.sum(axis=0)
        layers[0][0] -= lr * d1.T @ xb
        layers[0][1] -= lr * d1.sum(axis=0)
    hid = 1.0 / (1.0 + np.exp(-(X @ layers[0][0].T + layers[0][1])))
    print(f"epoch {epoch}: accuracy {np.mean((hid @ layers[1][0].T).argmax(axis=1) == labels):.3f}")
