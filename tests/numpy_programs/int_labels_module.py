"""A module-level loop, one sample per step, the gradients computed by a function handed the parameters, the input
row and the sample's class as a plain Python int (``grads = gradients(params, x, t)``): the one-hot is built inside
the function. Synthetic blobs, a table whose first column is the label.
"""
import numpy as np

rng = np.random.default_rng(41)
C, D, H, N = 4, 16, 12, 1100
centers = rng.uniform(40, 215, (C, D))
labels = rng.integers(0, C, N)
table = np.column_stack([labels, np.clip(centers[labels] + rng.normal(0, 50, (N, D)), 0, 255)])


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def gradients(params, x, t):
    W1, b1, W2, b2 = params
    h = np.tanh(x @ W1 + b1)
    p = softmax(h @ W2 + b2)
    d2 = p.copy()
    d2[t] -= 1.0
    d1 = (W2 @ d2) * (1 - h ** 2)
    return np.outer(x, d1), d1, np.outer(h, d2), d2


params = [rng.normal(0, 1 / np.sqrt(D), (D, H)), np.zeros(H), rng.normal(0, 1 / np.sqrt(H), (H, C)), np.zeros(C)]
rows = table.copy()
rows[:, 1:] = rows[:, 1:] / 255.0
lr = 0.05
for epoch in range(3):
    for i in rng.permutation(1000):
        x = rows[i, 1:]
        t = int(rows[i, 0])
        grads = gradients(params, x, t)
        for p, g in zip(params, grads):
            p -= lr * g
    W1, b1, W2, b2 = params
    out = np.tanh(rows[1000:, 1:] @ W1 + b1) @ W2 + b2
    print(f"epoch {epoch}: accuracy {np.mean(out.argmax(axis=1) == labels[1000:]):.3f}")
