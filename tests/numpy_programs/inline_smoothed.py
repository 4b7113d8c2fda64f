"""Everything inline at module level, no function of the program: one-sample steps over rows, targets smoothed toward
the class prior (eps 0.2) and written into a fresh vector per sample from the class index; sigmoid hidden layer,
softmax output, cross-entropy. Synthetic blobs.
"""
import numpy as np

rng = np.random.default_rng(17)
C, D, N = 4, 14, 900
centers = rng.normal(0, 1.2, (C, D))
labels = rng.choice(C, N, p=[0.4, 0.3, 0.2, 0.1])
X = centers[labels] + rng.normal(0, 1.0, (N, D))
prior = np.bincount(labels[:800], minlength=C) / 800
W1 = rng.normal(0, 1, (D, 10)) / np.sqrt(D)
b1 = np.zeros(10)
W2 = rng.normal(0, 1, (10, C)) / np.sqrt(10)
b2 = np.zeros(C)
for epoch in range(3):
    for i in rng.permutation(800):
        target = 0.2 * prior
        target[labels[i]] += 0.8
        h = 1 / (1 + np.exp(-(X[i] @ W1 + b1)))
        z = h @ W2 + b2
        p = np.exp(z - z.max())
        p /= p.sum()
        d = p - target
        dh = (W2 @ d) * h * (1 - h)
        W2 -= 0.1 * np.outer(h, d)
        b2 -= 0.1 * d
        W1 -= 0.1 * np.outer(X[i], dh)
        b1 -= 0.1 * dh
    h = 1 / (1 + np.exp(-(X[800:] @ W1 + b1)))
    print(f"epoch {epoch}: accuracy {np.mean((h @ W2 + b2).argmax(axis=1) == labels[800:]):.3f}")
