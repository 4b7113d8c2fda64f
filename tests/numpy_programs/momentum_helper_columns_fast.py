"""The twin of momentum_helper_columns.py at a rate 150 times as large: the weights blow up within six updates.
Module-level weights stored (out, in) and applied to batches kept as columns (``W1 @ x``, one sample per column);
``backward`` computes the gradients and hands each to a helper ``momentum(p, v, g, scale)`` that steps its parameter
with its velocity (``v *= mu; v -= scale * g; p += v``), the velocities globals beside the weights; float32; one relu
hidden layer, a linear output fitted to one-hot targets by squared error; mini-batches of 16; synthetic blobs.
"""
import numpy as np

rng = np.random.default_rng(2036)
C, D, H, N = 4, 24, 20, 640
centers = rng.normal(0, 0.8, (C, D))
labels = rng.integers(0, C, N)
X = (centers[labels] + rng.normal(0, 1, (N, D))).T.astype(np.float32)

lr, mu = 3.0, 0.9  # BUG: learning-rate-too-high
W1 = (rng.uniform(-1.0, 1.0, (H, D)) * np.sqrt(6.0 / (D + H))).astype(np.float32)
b1 = np.zeros((H, 1), dtype=np.float32)
W2 = (rng.uniform(-1.0, 1.0, (C, H)) * np.sqrt(6.0 / (H + C))).astype(np.float32)
b2 = np.zeros((C, 1), dtype=np.float32)
vW1 = np.zeros_like(W1)
vb1 = np.zeros_like(b1)
vW2 = np.zeros_like(W2)
vb2 = np.zeros_like(b2)


def momentum(p, v, g, scale):
    v *= mu
    v -= scale * g
    p += v


def forward(x):
    z1 = W1 @ x + b1
    h = np.maximum(z1, 0.0)
    out = W2 @ h + b2
    return z1, h, out


def backward(x, t, z1, h, out, scale):
    d2 = (out - np.eye(C, dtype=out.dtype)[t].T) / x.shape[1]
    dW2 = d2 @ h.T
    db2 = d2.sum(axis=1, keepdims=True)
    dz1 = (W2.T @ d2) * (z1 > 0)
    dW1 = dz1 @ x.T
    db1 = dz1.sum(axis=1, keepdims=True)
    momentum(W1, vW1, dW1, scale)
    momentum(b1, vb1, db1, scale)
    momentum(W2, vW2, dW2, scale)
    momentum(b2, vb2, db2, scale)


for epoch in range(6):
    order = rng.permutation(N)
    for s in range(0, N, 16):
        idx = order[s:s + 16]
        x, t = X[:, idx], labels[idx]
        z1, h, out = forward(x)
        backward(x, t, z1, h, out, lr)
    with np.errstate(all="ignore"):
        accuracy = np.mean(forward(X)[2].argmax(axis=0) == labels)
    print(f"epoch {epoch}: accuracy {accuracy:.3f}")
