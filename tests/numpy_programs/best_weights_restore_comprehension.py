"""Keeps the best weights by held-out accuracy and puts them back at the end by a dict comprehension of copies
(params = {k: best[k].copy() for k in params}). Mini-batches of 25, a tanh hidden layer, softmax output; synthetic
blobs."""
import numpy as np

rng = np.random.default_rng(21)
C, D, N = 4, 16, 1100
centers = rng.normal(0, 1, (C, D)) * 0.5
y = rng.integers(0, C, N)
X = centers[y] + rng.normal(0, 1, (N, D))
params = {"W1": rng.normal(0, 1, (D, 20)) / np.sqrt(D), "b1": np.zeros(20),
          "W2": rng.normal(0, 1, (20, C)) / np.sqrt(20), "b2": np.zeros(C)}


def forward(p, x):
    h = np.tanh(x @ p["W1"] + p["b1"])
    z = h @ p["W2"] + p["b2"]
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return h, e / e.sum(axis=1, keepdims=True)


def grads(p, x, t):
    h, q = forward(p, x)
    d = q.copy()
    d[np.arange(len(t)), t] -= 1
    d /= len(t)
    dh = d @ p["W2"].T * (1 - h ** 2)
    return {"W1": x.T @ dh, "b1": dh.sum(axis=0), "W2": h.T @ d, "b2": d.sum(axis=0)}


best, best_acc = None, -1.0
for epoch in range(10):
    order = rng.permutation(1000)
    for s in range(0, 1000, 25):
        rows = order[s:s + 25]
        g = grads(params, X[rows], y[rows])
        for k in params:
            params[k] -= 0.3 * g[k]
    acc = float(np.mean(forward(params, X[1000:])[1].argmax(axis=1) == y[1000:]))
    if acc > best_acc:
        best, best_acc = {k: v.copy() for k, v in params.items()}, acc
    print(f"epoch {epoch}: held-out accuracy {acc:.3f}")
params = {k: best[k].copy() for k in params}
print(f"restored the best: {np.mean(forward(params, X[1000:])[1].argmax(axis=1) == y[1000:]):.3f}")
