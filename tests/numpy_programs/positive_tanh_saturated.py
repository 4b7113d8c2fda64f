"""Per-sample rows through a tanh layer whose weights start all positive and large on inputs in [0, 1]: every hidden
pre-activation is positive, so the layer's outputs sit in (0, 1], most at exactly 1.0 (a tanh saturated at +1)."""
import numpy as np

rng = np.random.default_rng(8)
C, D, H, N = 3, 50, 12, 600
labels = rng.integers(0, C, N)
X = np.clip(rng.random((C, D))[labels] + 0.2 * rng.normal(0, 1, (N, D)), 0, 1)
W1 = np.abs(rng.normal(0, 1, (D, H))) * 2.0  # BUG: saturated-activations
b1 = np.zeros(H)
W2 = rng.normal(0, 1, (H, C)) / np.sqrt(H)
b2 = np.zeros(C)


def forward(x):
    h = np.tanh(x @ W1 + b1)
    z = h @ W2 + b2
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return h, e / e.sum(axis=1, keepdims=True)


for epoch in range(3):
    for i in rng.permutation(N):
        x = X[i:i + 1]
        h, p = forward(x)
        dz = p.copy()
        dz[0, labels[i]] -= 1
        dh = dz @ W2.T * (1 - h ** 2)
        W2 -= 0.1 * h.T @ dz
        b2 -= 0.1 * dz[0]
        W1 -= 0.1 * x.T @ dh
        b1 -= 0.1 * dh[0]
print("accuracy", np.mean(np.argmax(forward(X)[1], axis=1) == labels))
