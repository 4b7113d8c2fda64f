"""Parameters and their gradient buffers in two module-level dicts under the same keys; backward() overwrites each
buffer in place (``grads['W1'][...] = ...``) and step() reads them. Sigmoid hidden layer, softmax cross-entropy,
batches of 25 rows; synthetic blobs with features in [0, 1].
"""
import numpy as np

rng = np.random.default_rng(7)
C, D, H, N = 5, 30, 24, 1100
centers = rng.random((C, D))
labels = rng.integers(0, C, N)
X = np.clip(centers[labels] + rng.normal(0, 0.5, (N, D)), 0.0, 1.0)
Y = np.eye(C)[labels]

params = {"W1": rng.normal(0, 1 / np.sqrt(D), (D, H)), "b1": np.zeros(H),
          "W2": rng.normal(0, 1 / np.sqrt(H), (H, C)), "b2": np.zeros(C)}
grads = {k: np.zeros_like(v) for k, v in params.items()}


def forward(x):
    h = 1.0 / (1.0 + np.exp(-(x @ params["W1"] + params["b1"])))
    z = h @ params["W2"] + params["b2"]
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return h, e / e.sum(axis=1, keepdims=True)


def backward(x, y):
    h, p = forward(x)
    d2 = (p - y) / len(x)
    grads["W2"][...] = h.T @ d2
    grads["b2"][...] = d2.sum(axis=0)
    d1 = (d2 @ params["W2"].T) * h * (1.0 - h)
    grads["W1"][...] = x.T @ d1
    grads["b1"][...] = d1.sum(axis=0)


def step(lr):
    for k in params:
        params[k] -= lr * grads[k]


for epoch in range(5):
    order = rng.permutation(1000)
    for s in range(0, 1000, 25):
        idx = order[s:s + 25]
        backward(X[idx], Y[idx])
        step(0.5)
    _, p = forward(X[1000:])
    print(f"epoch {epoch}: accuracy {np.mean(np.argmax(p, axis=1) == labels[1000:]):.3f}")
