"""counted_width_batches.py reading each training label from the scaled row (``sample[0]`` of ``v / 255``): every
training label is 0, so the output width counted from them is one unit and every one-hot target is 1.

The output width counted from the training labels (``n_out = max(labels) + 1``), the labels read from rows of
numbers kept as lists (each pixel scaled by 1 / 255 as it is read), the held-out labels in their own integer vectors.
Module functions over a list of per-layer dicts, weights ``(out, in)`` applied as ``x @ W.T``; each batch's integer
labels are handed to the backward, which makes them one-hot (``np.eye(out.shape[1])[t]``) and updates in place.
Leaky ReLU hidden layer, linear output, squared error; batches of 20 taken by a ``while`` loop. Synthetic blobs in a
table whose first column is the label (the pixels in 0..255).
"""
import numpy as np

rng = np.random.default_rng(41)
C, D, H, N = 4, 20, 16, 1000
centers = rng.uniform(40, 215, (C, D))
kinds = rng.integers(0, C, N)
rows = np.column_stack([kinds, np.clip(centers[kinds] + rng.normal(0, 80, (N, D)), 0, 255)]).tolist()
train_set = []
for row in rows[:800]:
    sample = [v / 255.0 for v in row]
    train_set.append((sample[1:], int(sample[0])))  # BUG: constant-targets
X_test = np.array([[v / 255.0 for v in row[1:]] for row in rows[800:]])
y_test = np.array([int(row[0]) for row in rows[800:]])
n_out = max(label for _, label in train_set) + 1
layers = [{"W": rng.normal(0, np.sqrt(2 / D), (H, D)), "b": np.zeros(H)},
          {"W": rng.normal(0, np.sqrt(1 / H), (n_out, H)), "b": np.zeros(n_out)}]


def forward(x):
    z1 = x @ layers[0]["W"].T + layers[0]["b"]
    h = np.where(z1 > 0, z1, 0.01 * z1)
    return z1, h, h @ layers[1]["W"].T + layers[1]["b"]


def backward(x, t, z1, h, out, lr):
    d2 = (out - np.eye(out.shape[1])[t]) / len(x)
    dz1 = (d2 @ layers[1]["W"]) * np.where(z1 > 0, 1.0, 0.01)
    layers[1]["W"] -= lr * d2.T @ h
    layers[1]["b"] -= lr * d2.sum(axis=0)
    layers[0]["W"] -= lr * dz1.T @ x
    layers[0]["b"] -= lr * dz1.sum(axis=0)


for epoch in range(5):
    order = rng.permutation(len(train_set))
    start = 0
    while start < len(train_set):
        batch = [train_set[k] for k in order[start:start + 20]]
        x = np.array([xs for xs, _ in batch])
        t = np.array([label for _, label in batch])
        z1, h, out = forward(x)
        backward(x, t, z1, h, out, 0.05)
        start += 20
    print(f"epoch {epoch}: test accuracy {np.mean(np.argmax(forward(X_test)[2], axis=1) == y_test):.3f}")
