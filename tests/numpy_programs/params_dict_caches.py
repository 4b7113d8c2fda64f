"""Notebook style: one dict holds the parameters and the forward pass's caches (params['Z1'], params['A1'], ...).

One sample at a time (batch size 1: the caches have the biases' shapes), relu hidden layer, softmax output.
"""
import numpy as np

rng = np.random.default_rng(2)
C, D, N = 5, 24, 1200
centers = rng.normal(0, 1, (C, D)) * 0.6
y = rng.integers(0, C, N)
X = centers[y] + rng.normal(0, 1, (N, D))

params = {
    "W1": rng.normal(0, 1, (16, D)) * np.sqrt(2 / D),
    "b1": np.zeros((16, 1)),
    "W2": rng.normal(0, 1, (C, 16)) * np.sqrt(1 / 16),
    "b2": np.zeros((C, 1)),
}


def forward_pass(x):
    params["A0"] = x
    params["Z1"] = params["W1"] @ x + params["b1"]
    params["A1"] = np.maximum(params["Z1"], 0)
    params["Z2"] = params["W2"] @ params["A1"] + params["b2"]
    e = np.exp(params["Z2"] - params["Z2"].max())
    params["A2"] = e / e.sum()
    return params["A2"]


def backward_pass(target):
    dZ2 = params["A2"] - target
    dW2 = dZ2 @ params["A1"].T
    dZ1 = (params["W2"].T @ dZ2) * (params["Z1"] > 0)
    dW1 = dZ1 @ params["A0"].T
    return {"W1": dW1, "b1": dZ1, "W2": dW2, "b2": dZ2}


def update(grads, lr):
    for k in ("W1", "b1", "W2", "b2"):
        params[k] -= lr * grads[k]


def accuracy(X, y):
    return np.mean([np.argmax(forward_pass(x.reshape(-1, 1))) == t for x, t in zip(X, y)])


for epoch in range(3):
    for i in rng.permutation(1000):
        forward_pass(X[i].reshape(-1, 1))
        target = np.zeros((C, 1))
        target[y[i]] = 1
        update(backward_pass(target), 0.02)
    print(f"epoch {epoch}: accuracy {accuracy(X[1000:], y[1000:]):.3f}")
