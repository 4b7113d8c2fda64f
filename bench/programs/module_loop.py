"""Training written at module level: globals W1, b1, W2, b2, a per-sample loop, inline updates (20-16-3), 80,000 updates."""

import numpy as np

rng = np.random.default_rng(0)
centres = rng.normal(0, 2, (3, 20))
labels = rng.integers(0, 3, 2000)
X = centres[labels] + rng.normal(0, 1, (2000, 20))
T = np.eye(3)[labels]

W1 = rng.normal(0, 0.2, (20, 16))
b1 = np.zeros(16)
W2 = rng.normal(0, 0.2, (16, 3))
b2 = np.zeros(3)
lr = 0.05
updates = 0
for _epoch in range(40):
    for x, t in zip(X, T):
        h = np.tanh(x @ W1 + b1)
        out = h @ W2 + b2
        d_out = out - t
        d_h = (W2 @ d_out) * (1 - h ** 2)
        W2 -= lr * np.outer(h, d_out)
        b2 -= lr * d_out
        W1 -= lr * np.outer(x, d_h)
        b1 -= lr * d_h
        updates += 1
pred = (np.tanh(X @ W1 + b1) @ W2 + b2).argmax(1)
print(f"accuracy {np.mean(pred == labels):.3f}")
print(f"updates: {updates}")
