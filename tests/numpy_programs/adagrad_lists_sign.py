"""AdaGrad by hand: the sums of squared gradients in a list beside the parameter list (cache += g * g; p -= lr * g /
(sqrt(cache) + eps)), the gradients returned by a function as a list. Mini-batches of 30 rows, relu hidden layer,
softmax output, mean cross-entropy; synthetic blobs.
"""
import numpy as np


def scores(params, x):
    W1, b1, W2, b2 = params
    return np.maximum(0.0, x @ W1 + b1) @ W2 + b2


def gradient(params, x, t):
    W1, b1, W2, b2 = params
    h = np.maximum(0.0, x @ W1 + b1)
    z = h @ W2 + b2
    q = np.exp(z - z.max(axis=1, keepdims=True))
    q /= q.sum(axis=1, keepdims=True)
    dz = (t - q) / len(x)  # BUG: gradient-mismatch (the sign flipped)
    dh = (dz @ W2.T) * (h > 0)
    return [x.T @ dh, dh.sum(axis=0), h.T @ dz, dz.sum(axis=0)]


rng = np.random.default_rng(35)
C, D, N = 4, 16, 1000
centers = rng.normal(0, 1, (C, D)) * 0.7
y = rng.integers(0, C, N)
X = centers[y] + rng.normal(0, 1, (N, D))
T = np.eye(C)[y]
params = [rng.normal(0, 1, (D, 14)) * np.sqrt(2 / D), np.zeros(14), rng.normal(0, 1, (14, C)) / 4, np.zeros(C)]
cache = [np.zeros_like(p) for p in params]
for epoch in range(6):
    for i in range(0, 900, 30):
        for p, c, g in zip(params, cache, gradient(params, X[i:i + 30], T[i:i + 30])):
            c += g * g
            p -= 0.05 * g / (np.sqrt(c) + 1e-8)
    print(f"epoch {epoch}: accuracy {np.mean(scores(params, X[900:]).argmax(axis=1) == y[900:]):.3f}")
