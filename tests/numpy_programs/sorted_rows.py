"""Mini-batches sliced in order from rows that come sorted by label (as some exports are), shuffled at every epoch
before slicing; a module-level loop, integer labels, softmax cross-entropy; synthetic blobs.
"""
import numpy as np

rng = np.random.default_rng(11)
C, D, N = 5, 20, 1000
centers = rng.normal(0, 0.5, (C, D))
labels = np.sort(rng.integers(0, C, N))
X = centers[labels] + rng.normal(0, 1, (N, D))
y = labels

W1 = rng.normal(0, np.sqrt(2 / D), (D, 16))
b1 = np.zeros(16)
W2 = rng.normal(0, np.sqrt(2 / 16), (16, C))
b2 = np.zeros(C)


def forward(x):
    h = np.maximum(0, x @ W1 + b1)
    z = h @ W2 + b2
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return h, e / e.sum(axis=1, keepdims=True)


lr, batch = 0.3, 25
for epoch in range(4):
    order = rng.permutation(N)
    for i in range(0, N, batch):
        idx = order[i:i + batch]
        xb, yb = X[idx], y[idx]
        h, p = forward(xb)
        d = p.copy()
        d[np.arange(len(yb)), yb] -= 1
        d /= len(yb)
        dh = d @ W2.T * (h > 0)
        W2 -= lr * h.T @ d
        b2 -= lr * d.sum(axis=0)
        W1 -= lr * xb.T @ dh
        b1 -= lr * dh.sum(axis=0)
    print("epoch", epoch, "accuracy", np.mean(forward(X)[1].argmax(1) == y))
