"""Two dicts in module globals: the parameters, and their gradients under the same keys, accumulated and never zeroed.

Mini-batches of 32 rows, tanh hidden layer, softmax output, mean cross-entropy; synthetic blobs.
"""
import numpy as np

rng = np.random.default_rng(4)
C, D, N = 5, 24, 1200
centers = rng.normal(0, 1, (C, D)) * 0.6
y = rng.integers(0, C, N)
X = centers[y] + rng.normal(0, 1, (N, D))

params = {"W1": rng.normal(0, 1, (D, 16)) / np.sqrt(D), "b1": np.zeros(16),
          "W2": rng.normal(0, 1, (16, C)) / 4.0, "b2": np.zeros(C)}
grads = {k: np.zeros_like(v) for k, v in params.items()}


def forward(x):
    h = np.tanh(x @ params["W1"] + params["b1"])
    z = h @ params["W2"] + params["b2"]
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return h, e / e.sum(axis=1, keepdims=True)


def backward(x, labels):
    h, p = forward(x)
    dz = (p - np.eye(C)[labels]) / len(x)
    dh = (dz @ params["W2"].T) * (1 - h ** 2)
    grads["W2"] += h.T @ dz  # BUG: stale-accumulator
    grads["b2"] += dz.sum(axis=0)  # BUG: stale-accumulator
    grads["W1"] += x.T @ dh  # BUG: stale-accumulator
    grads["b1"] += dh.sum(axis=0)  # BUG: stale-accumulator


def sgd(lr):
    for k in params:
        params[k] -= lr * grads[k]


def train(epochs, lr, batch=32):
    for epoch in range(epochs):
        order = rng.permutation(1000)
        for i in range(0, 1000, batch):
            rows = order[i:i + batch]
            backward(X[rows], y[rows])
            sgd(lr)
        print(f"epoch {epoch}: accuracy {np.mean(np.argmax(forward(X[1000:])[1], axis=1) == y[1000:]):.3f}")


train(6, 0.5)
