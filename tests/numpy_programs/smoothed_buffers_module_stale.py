"""A module-level loop, one sample at a time (``x = X[j:j+1]``, a global), targets smoothed toward the class prior,
gradients summed into buffers and applied every 16 samples. Synthetic blobs.

The stale twin never empties the buffers: every step adds all the past gradients again."""
import numpy as np

rng = np.random.default_rng(3)
C, D, N = 4, 20, 1600
centers = rng.normal(0, 1, (C, D)) * 2
labels = rng.integers(0, C, N + 400)
data = centers[labels] + rng.normal(0, 1.5, (N + 400, D))
X, y = data[:N], labels[:N]
prior = np.bincount(y, minlength=C) / N
T = 0.9 * np.eye(C)[y] + 0.1 * prior

W1 = rng.normal(0, 1 / np.sqrt(D), (D, 16))
b1 = np.zeros(16)
W2 = rng.normal(0, 1 / np.sqrt(16), (16, C))
b2 = np.zeros(C)
gW1, gb1, gW2, gb2 = np.zeros_like(W1), np.zeros_like(b1), np.zeros_like(W2), np.zeros_like(b2)
lr, every = 0.1, 16


def forward(x):
    h = np.tanh(x @ W1 + b1)
    z = h @ W2 + b2
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return h, e / e.sum(axis=1, keepdims=True)


def backward(x, h, p, t):
    d = p - t
    dh = (d @ W2.T) * (1 - h ** 2)
    return x.T @ dh, dh.sum(axis=0), h.T @ d, d.sum(axis=0)


for epoch in range(3):
    for i, j in enumerate(rng.permutation(N)):
        x = X[j:j + 1]
        t = T[j:j + 1]
        h, p = forward(x)
        dW1, db1, dW2, db2 = backward(x, h, p, t)
        gW1 += dW1  # BUG: stale-accumulator
        gb1 += db1  # BUG: stale-accumulator
        gW2 += dW2  # BUG: stale-accumulator
        gb2 += db2  # BUG: stale-accumulator
        if (i + 1) % every == 0:
            W1 -= lr * gW1 / every
            b1 -= lr * gb1 / every
            W2 -= lr * gW2 / every
            b2 -= lr * gb2 / every
    _, p = forward(X)
    print(f"epoch {epoch}: training accuracy {np.mean(p.argmax(axis=1) == y):.3f}")

_, p = forward(data[N:])
print(f"held-out accuracy {np.mean(p.argmax(axis=1) == labels[N:]):.3f}")
