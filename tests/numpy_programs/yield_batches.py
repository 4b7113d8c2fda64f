"""A generator function yields the mini-batches (rows scaled from 0-255 to 0-1 as they are handed out), a
default_rng shuffles the data in place each time
(the test rows are handed out by the same generator); relu hidden layer, cross-entropy, a parameter list.
"""
import numpy as np

rng = np.random.default_rng(28)
C, D, N = 4, 30, 1600
centers = rng.uniform(40, 215, (C, D))
labels = rng.integers(0, C, N)
pixels = np.clip(centers[labels] + rng.normal(0, 60, (N, D)), 0, 255)
train = np.column_stack([pixels[:1400], labels[:1400]])
test = np.column_stack([pixels[1400:], labels[1400:]])


def batches(data, size):
    rng.shuffle(data)
    for start in range(0, len(data), size):
        chunk = data[start:start + size]
        x = chunk[:, :-1] / 255.0
        yield x, chunk[:, -1].astype(int)


params = [rng.normal(0, np.sqrt(2 / D), (D, 40)), np.zeros(40), rng.normal(0, np.sqrt(2 / 40), (40, C)), np.zeros(C)]


def forward(x):
    a = x @ params[0] + params[1]
    h = np.maximum(a, 0)
    z = h @ params[2] + params[3]
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    return a, h, p / p.sum(axis=1, keepdims=True)


for epoch in range(8):
    for x, y in batches(train, 35):
        a, h, p = forward(x)
        p[np.arange(len(y)), y] -= 1
        dz = p / len(y)
        dh = dz @ params[2].T * (a > 0)
        for param, g in zip(params, (x.T @ dh, dh.sum(0), h.T @ dz, dz.sum(0))):
            param -= 0.1 * g
    right = sum(int(np.sum(forward(x)[2].argmax(1) == y)) for x, y in batches(test, 100))
    print(f"epoch {epoch}: accuracy {right / len(test):.3f}")
