"""A module-level ``while`` loop walking a batch pointer; the step is applied inside ``step()`` where it is computed;
the forward keeps its output on a small cache object and returns nothing.

Mini-batches of 40 rows, tanh hidden layer, linear output, mean squared error (one-hot targets); synthetic blobs.
"""
import numpy as np

rng = np.random.default_rng(9)
C, D, N = 3, 16, 1000
centers = rng.normal(0, 1, (C, D)) * 0.9
y = rng.integers(0, C, N)
X = centers[y] + rng.normal(0, 1, (N, D))
T = np.eye(C)[y]
lr = 0.2

W1, c1 = rng.normal(0, 1, (D, 10)) / 4.0, np.zeros(10)
W2, c2 = rng.normal(0, 1, (10, C)) / 3.0, np.zeros(C)


class Cache:
    pass


cache = Cache()


def forward(x):
    cache.h = np.tanh(x @ W1 + c1)
    cache.out = cache.h @ W2 + c2


def step(x, t, lr):
    forward(x)
    h, out = cache.h, cache.out
    err = out - t  # BUG: summed-gradient
    dh = (err @ W2.T) * (1 - h ** 2)
    W2[...] -= lr * (h.T @ err)
    c2[...] -= lr * err.sum(axis=0)
    W1[...] -= lr * (x.T @ dh)
    c1[...] -= lr * dh.sum(axis=0)


epoch, i = 0, 0
while epoch < 6:
    step(X[i:i + 40], T[i:i + 40], lr)
    i += 40
    if i >= 800:
        forward(X[800:])
        print(f"epoch {epoch}: accuracy {np.mean(cache.out.argmax(axis=1) == y[800:]):.3f}")
        epoch, i = epoch + 1, 0
