"""Module-level training, the parameters module globals handed to every function as arguments:
``dW1, db1, dW2, db2 = gradients(W1, b1, W2, b2, x, t)`` returns the gradients, ``predict(W1, b1, W2, b2, x)`` the
probabilities, and the module-level loop applies the step in place (``W1 -= lr * dW1``). Mini-batches of 25 rows, tanh
hidden layer, softmax cross-entropy; synthetic blobs. The sign twin's gradient function flips the output error (every
gradient it returns is the ascent direction).
"""
import numpy as np

rng = np.random.default_rng(41)
C, D, N = 4, 14, 1100
centers = rng.normal(0, 1.4, (C, D))
labels = rng.integers(0, C, N)
X = centers[labels] + rng.normal(0, 1, (N, D))
T = np.eye(C)[labels]


def predict(W1, b1, W2, b2, x):
    h = np.tanh(x @ W1 + b1)
    z = h @ W2 + b2
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def gradients(W1, b1, W2, b2, x, t):
    h = np.tanh(x @ W1 + b1)
    p = predict(W1, b1, W2, b2, x)
    d = (p - t) / len(x)
    dW2 = h.T @ d
    db2 = d.sum(axis=0)
    dh = d @ W2.T * (1 - h ** 2)
    return x.T @ dh, dh.sum(axis=0), dW2, db2


W1 = rng.normal(0, 1, (D, 10)) / np.sqrt(D)
b1 = np.zeros(10)
W2 = rng.normal(0, 1, (10, C)) / np.sqrt(10)
b2 = np.zeros(C)
lr = 0.5
for epoch in range(8):
    order = rng.permutation(1000)
    for s in range(0, 1000, 25):
        idx = order[s:s + 25]
        dW1, db1, dW2, db2 = gradients(W1, b1, W2, b2, X[idx], T[idx])
        W1 -= lr * dW1
        b1 -= lr * db1
        W2 -= lr * dW2
        b2 -= lr * db2
    acc = np.mean(predict(W1, b1, W2, b2, X[1000:]).argmax(axis=1) == labels[1000:])
    print(f"epoch {epoch}: accuracy {acc:.3f}")
