"""A module-level dict of parameters for columns of samples (``x`` is ``(D, N)``, ``W1 @ x``), float32, one relu hidden
layer and a linear output trained on squared error against one-hot targets smoothed toward the class prior; the
forward keeps its caches in the same dict (``params["Z1"]``, ``params["A1"]``); a ``while`` loop over shuffled
batches of 25; synthetic "pixel" blobs in [0, 1].
"""
import numpy as np

lr = 0.6
rng = np.random.default_rng(1867)
C, D, H, N = 6, 100, 48, 1100
templates = rng.uniform(0, 1, (C, D)) * (rng.uniform(0, 1, (C, D)) < 0.3)
labels = rng.integers(0, C, N)
X = np.clip(templates[labels] + rng.normal(0, 0.15, (N, D)), 0, 1).astype(np.float32).T
PRIOR = np.bincount(labels[:1000], minlength=C) / 1000
EYE = np.eye(C, dtype=np.float32)

params = {
    "W1": (rng.uniform(-1.0, 1.0, (H, D)) * np.sqrt(6.0 / D)).astype(np.float32),
    "b1": np.zeros((H, 1), dtype=np.float32),
    "W2": (rng.uniform(-1.0, 1.0, (C, H)) * np.sqrt(6.0 / H)).astype(np.float32),
    "b2": np.zeros((C, 1), dtype=np.float32),
}


def forward(x):
    z1 = params["W1"] @ x + params["b1"]
    h = np.maximum(z1, 0.0)
    out = params["W2"] @ h + params["b2"]
    params["Z1"] = z1
    params["A1"] = h
    return out


def backward(x, t, out, scale):
    d2 = (out - t) / x.shape[1]
    dW2 = d2 @ params["A1"].T
    db2 = d2.sum(axis=1, keepdims=True)
    dz1 = (params["W2"].T @ d2) * (params["Z1"] > 0)
    dW1 = dz1 @ x.T
    db1 = dz1.sum(axis=1, keepdims=True)
    params["W1"] -= scale * dW1
    params["b1"] -= scale * db1
    params["W2"] -= scale * dW2
    params["b2"] -= scale * db2


for epoch in range(5):
    order = rng.permutation(1000)
    start = 0
    while start < 1000:
        idx = order[start:start + 25]
        x = X[:, idx]
        t = (EYE[labels[idx]] * 0.9 + 0.1 * PRIOR).T
        out = forward(x)
        backward(x, t, out, lr)
        start += 25
    acc = float(np.mean(forward(X[:, 1000:]).argmax(axis=0) == labels[1000:]))
    print(f"epoch {epoch + 1}: test accuracy {acc:.3f}")
