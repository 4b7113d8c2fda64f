"""A script without functions for the step: global arrays, a forward function, the backward pass and the
updates written inline in a module-level loop over mini-batches (rows, sigmoid, squared error).
usage: module_loop.py [VARIANT]

VARIANT: "" (healthy), stale-weights (the output weights are updated before the hidden delta uses them),
summed (the batch's gradient summed on purpose, with a learning rate divided by the batch size).
"""
import sys

import numpy as np

VARIANT = sys.argv[1] if len(sys.argv) > 1 else ""
rng = np.random.default_rng(3)
data = rng.normal(size=(400, 16))
targets = np.eye(4)[(data @ rng.normal(size=(16, 4))).argmax(axis=1)]

W1 = rng.normal(size=(16, 12)) * 0.4
b1 = np.zeros(12)
W2 = rng.normal(size=(12, 4)) * 0.4
b2 = np.zeros(4)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def forward(x):
    h = sigmoid(x @ W1 + b1)
    return h, sigmoid(h @ W2 + b2)


def squared_error(out, t):
    return 0.5 * np.sum((out - t) ** 2) / len(t)


batch = 20
lr = 2.0 / batch if VARIANT == "summed" else 2.0
for epoch in range(5):
    for start in range(0, len(data), batch):
        x, t = data[start:start + batch], targets[start:start + batch]
        h, out = forward(x)
        loss = squared_error(out, t)
        d2 = (out - t) * out * (1 - out)
        if VARIANT != "summed":
            d2 = d2 / len(x)
        if VARIANT == "stale-weights":
            W2 -= lr * h.T @ d2  # BUG: gradient-mismatch (W2 changes before d1 reads it)
            b2 -= lr * d2.sum(axis=0)
            d1 = (d2 @ W2.T) * h * (1 - h)
        else:
            d1 = (d2 @ W2.T) * h * (1 - h)
            W2 -= lr * h.T @ d2
            b2 -= lr * d2.sum(axis=0)
        W1 -= lr * x.T @ d1
        b1 -= lr * d1.sum(axis=0)
    accuracy = np.mean(forward(data)[1].argmax(axis=1) == targets.argmax(axis=1))
    print(f"epoch {epoch}: loss {loss:.4f}, accuracy {accuracy:.3f}")
