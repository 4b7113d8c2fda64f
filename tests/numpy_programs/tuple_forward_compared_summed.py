"""A forward returning all its arrays, ``(Z1, A1, Z2, A2)``: the logits ``Z2`` and the probabilities ``A2`` both have
the output's shape, and the output is the last one.

The output error is computed by a helper handed the output and the targets (``output_error(A2, t)``); the gradient
function is handed that error, never the targets. Mini-batches of 30 rows, tanh hidden layer, softmax output,
cross-entropy; synthetic blobs.
"""
import numpy as np

rng = np.random.default_rng(3)
n, d, h, c = 600, 12, 9, 3
centres = rng.normal(0, 2, (c, d))
y = rng.integers(0, c, n)
X = centres[y] + rng.normal(0, 1, (n, d))
T = np.eye(c)[y]
W1 = rng.normal(0, 0.3, (d, h))
b1 = np.zeros(h)
W2 = rng.normal(0, 0.3, (h, c))
b2 = np.zeros(c)
lr = 0.02


def forward(x):
    Z1 = x @ W1 + b1
    A1 = np.tanh(Z1)
    Z2 = A1 @ W2 + b2
    e = np.exp(Z2 - Z2.max(axis=1, keepdims=True))
    A2 = e / e.sum(axis=1, keepdims=True)
    return Z1, A1, Z2, A2


def output_error(out, t):
    return out - t  # BUG: summed-gradient


def backward(x, A1, dZ2):
    dW2 = A1.T @ dZ2
    db2 = dZ2.sum(axis=0)
    dZ1 = dZ2 @ W2.T * (1 - A1 ** 2)
    return x.T @ dZ1, dZ1.sum(axis=0), dW2, db2


for epoch in range(10):
    for i in range(0, n, 30):
        x, t = X[i:i + 30], T[i:i + 30]
        Z1, A1, Z2, A2 = forward(x)
        dZ2 = output_error(A2, t)
        dW1, db1, dW2, db2 = backward(x, A1, dZ2)
        W1 -= lr * dW1
        b1 -= lr * db1
        W2 -= lr * dW2
        b2 -= lr * db2
print("training accuracy", np.mean(forward(X)[3].argmax(axis=1) == y))
