"""momentum_rows_columns.py at a learning rate 3,000x too small: even at the effective rate lr / (1 - mu) each step
moves the weights by under 1e-4 of their size, and six epochs of 400 rows leave the network where it started."""
import threading

import numpy as np

wd = 0.0005
lr, mu, epochs = 3e-06, 0.9, 6  # BUG: learning-rate-too-low
rng = np.random.default_rng(17)
C, D, N = 4, 24, 500
centers = rng.normal(0.0, 1.0, (C, D))
labels = rng.integers(0, C, N)
X = (centers[labels] + rng.normal(0.0, 0.8, (N, D))).T.astype(np.float32)  # (D, N): one column per row
T = np.eye(C, dtype=np.float32)[:, labels]
params = {"W1": (rng.normal(0.0, 1.0, (16, D)) / np.sqrt(D)).astype(np.float32), "b1": np.zeros((16, 1), np.float32),
          "W2": (rng.normal(0.0, 1.0, (C, 16)) / 4.0).astype(np.float32), "b2": np.zeros((C, 1), np.float32)}
vel = {k: np.zeros_like(v) for k, v in params.items()}


def forward(x):
    h = np.tanh(params["W1"] @ x + params["b1"])
    return h, params["W2"] @ h + params["b2"]


def backward(x, t, h, out, rate):
    d2 = out - t
    dW2 = d2 @ h.T + wd * params["W2"]
    d1 = (params["W2"].T @ d2) * (1.0 - h ** 2)
    dW1 = d1 @ x.T + wd * params["W1"]
    vel["W2"] = mu * vel["W2"] - rate * dW2
    params["W2"] += vel["W2"]
    vel["b2"] = mu * vel["b2"] - rate * d2
    params["b2"] += vel["b2"]
    vel["W1"] = mu * vel["W1"] - rate * dW1
    params["W1"] += vel["W1"]
    vel["b1"] = mu * vel["b1"] - rate * d1
    params["b1"] += vel["b1"]


def train():
    for epoch in range(epochs):
        rate = lr / (1.0 + 0.2 * epoch)
        for i in rng.permutation(400):
            h, out = forward(X[:, i:i + 1])
            backward(X[:, i:i + 1], T[:, i:i + 1], h, out, rate)
        acc = np.mean(forward(X[:, 400:])[1].argmax(axis=0) == labels[400:])
        print(f"epoch {epoch + 1}: held-out accuracy {acc:.3f}")


worker = threading.Thread(target=train)
worker.start()
worker.join()
