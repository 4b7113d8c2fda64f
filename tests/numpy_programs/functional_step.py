"""A pure function takes the weights and a batch and returns new weights; a generator yields the batches.

The forward is written inline in the step and in the evaluation (no function of its own); sigmoid layers, squared
error on one-hot targets, batches of 20; synthetic blobs.
"""
import numpy as np

rng = np.random.default_rng(2)
C, D, H, N = 3, 16, 12, 900
centers = rng.normal(0, 1.2, (C, D))
labels = rng.integers(0, C, N)
X = centers[labels] + rng.normal(0, 1, (N, D))
onehot = np.zeros((N, C))
onehot[np.arange(N), labels] = 1


def batches(X, T, size):
    order = rng.permutation(len(X))
    for i in range(0, len(X), size):
        j = order[i:i + size]
        yield X[j], T[j]


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def step(W1, b1, W2, b2, x, t, lr):
    h = sigmoid(x @ W1 + b1)
    out = sigmoid(h @ W2 + b2)
    d2 = (out - t) * out * (1 - out)
    d1 = (d2 @ W2.T) * h * (1 - h)
    m = len(x)
    W2 = W2 - lr * h.T @ d2 / m
    b2 = b2 - lr * d2.mean(axis=0)
    W1 = W1 - lr * x.T @ d1 / m
    b1 = b1 - lr * d1.mean(axis=0)
    return W1, b1, W2, b2


W1 = rng.normal(0, 1, (D, H)) / 4
b1 = np.zeros(H)
W2 = rng.normal(0, 1, (H, C)) / np.sqrt(H)
b2 = np.zeros(C)
for epoch in range(30):
    for x, t in batches(X[:800], onehot[:800], 20):
        W1, b1, W2, b2 = step(W1, b1, W2, b2, x, t, 2.0)
    pred = sigmoid(sigmoid(X[800:] @ W1 + b1) @ W2 + b2).argmax(1)
    if epoch % 5 == 4:
        print(epoch, (pred == labels[800:]).mean())
