"""A tiny batched net (20-32-4, batch 30) on synthetic clusters: functions, parameters in a dict, 30,000 updates."""

import numpy as np

rng = np.random.default_rng(0)
centres = rng.normal(0, 2, (4, 20))
labels = rng.integers(0, 4, 3000)
X = centres[labels] + rng.normal(0, 1, (3000, 20))


def init():
    return {"W1": rng.normal(0, 0.2, (20, 32)), "b1": np.zeros(32), "W2": rng.normal(0, 0.2, (32, 4)), "b2": np.zeros(4)}


def forward(params, x):
    h = np.tanh(x @ params["W1"] + params["b1"])
    z = h @ params["W2"] + params["b2"]
    p = np.exp(z - z.max(axis=1, keepdims=True))
    return h, p / p.sum(axis=1, keepdims=True)


def backward(params, x, y, h, p):
    dz = p.copy()
    dz[np.arange(len(y)), y] -= 1
    dz /= len(y)
    dh = dz @ params["W2"].T * (1 - h ** 2)
    return {"W1": x.T @ dh, "b1": dh.sum(0), "W2": h.T @ dz, "b2": dz.sum(0)}


def train(params, epochs, batch, lr):
    updates = 0
    for _ in range(epochs):
        for i in range(0, len(X), batch):
            x, y = X[i:i + batch], labels[i:i + batch]
            h, p = forward(params, x)
            grads = backward(params, x, y, h, p)
            for k in params:
                params[k] -= lr * grads[k]
            updates += 1
    return updates


params = init()
n = train(params, 300, 30, 0.1)
print(f"accuracy {np.mean(forward(params, X)[1].argmax(1) == labels):.3f}")
print(f"updates: {n}")
