"""A module-level loop over mini-batches of rows, the parameters in a dict, the output width counted from the labels
(``int(y.max()) + 1``), a sigmoid hidden layer, squared error against ``np.eye(n_out)[labels]``, made from the
batch's integer labels inside the function that returns the gradients; the loop applies them.

Synthetic blobs in a table whose first column is the label (the pixels in 0..255), a blank first pixel.
"""
import numpy as np

rng = np.random.default_rng(7)
C, D, N = 3, 16, 700
centers = rng.uniform(40, 215, (C, D))
kinds = rng.integers(0, C, N)
pixels = np.clip(centers[kinds] + rng.normal(0, 60, (N, D)), 0, 255)
pixels[:, 0] = 0.0  # a blank border pixel
table = np.column_stack([kinds, pixels])
X, y = table[:600, 1:] / 255.0, table[:600, 0].astype(int)
n_out = int(y.max()) + 1
params = {"W1": rng.normal(0, 1 / np.sqrt(D), (D, 10)), "b1": np.zeros(10),
          "W2": rng.normal(0, 1 / np.sqrt(10), (10, n_out)), "b2": np.zeros(n_out)}


def forward(p, X):
    h = 1.0 / (1.0 + np.exp(-(X @ p["W1"] + p["b1"])))
    return h, h @ p["W2"] + p["b2"]


def gradients(p, X, labels):
    h, out = forward(p, X)
    d = 2.0 * (out - np.eye(out.shape[1])[labels]) / len(X)
    dh = (d @ p["W2"].T) * h * (1.0 - h)
    return {"W1": X.T @ dh, "b1": dh.sum(axis=0), "W2": h.T @ d, "b2": d.sum(axis=0)}


for epoch in range(8):
    order = rng.permutation(len(X))
    for s in range(0, len(X), 20):
        idx = order[s:s + 20]
        grads = gradients(params, X[idx], y[idx])
        for k in params:
            params[k] -= 0.5 * grads[k]
X_test, y_test = table[600:, 1:] / 255.0, table[600:, 0]
print(f"held-out accuracy {np.mean(np.argmax(forward(params, X_test)[1], axis=1) == y_test):.3f}")
