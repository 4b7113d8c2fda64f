"""Functions over a parameter dict, the gradients a dict returned by grads(); L2 weight decay added into the gradients of
the weight matrices before the step (g += wd * W; W -= lr * g). Mini-batches of 25 rows, relu hidden layer, softmax
output, mean cross-entropy; synthetic blobs.
"""
import numpy as np


def forward(params, x):
    h = np.maximum(0.0, x @ params["W1"] + params["b1"])
    return h, h @ params["W2"] + params["b2"]


def grads(params, x, t):
    h, z = forward(params, x)
    q = np.exp(z - z.max(axis=1, keepdims=True))
    q /= q.sum(axis=1, keepdims=True)
    dz = q - t  # BUG: summed-gradient
    dh = (dz @ params["W2"].T) * (h > 0)
    return {"W1": x.T @ dh, "b1": dh.sum(axis=0), "W2": h.T @ dz, "b2": dz.sum(axis=0)}


rng = np.random.default_rng(31)
C, D, N = 4, 18, 1100
centers = rng.normal(0, 1, (C, D)) * 0.8
y = rng.integers(0, C, N)
X = centers[y] + rng.normal(0, 1, (N, D))
T = np.eye(C)[y]
params = {"W1": rng.normal(0, 1, (D, 16)) * np.sqrt(2 / D), "b1": np.zeros(16),
          "W2": rng.normal(0, 1, (16, C)) / 4, "b2": np.zeros(C)}
lr, wd = 0.1, 5e-4
for epoch in range(6):
    for i in range(0, 1000, 25):
        g = grads(params, X[i:i + 25], T[i:i + 25])
        for k in ("W1", "W2"):
            g[k] += wd * params[k]
        for k in params:
            params[k] -= lr * g[k]
    _, z = forward(params, X[1000:])
    print(f"epoch {epoch}: accuracy {np.mean(z.argmax(axis=1) == y[1000:]):.3f}")
