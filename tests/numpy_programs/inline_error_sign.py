"""A module-level loop, one (1, D) row per step: forward() returns the hidden layer and the softmax probabilities, the
output error of the cross-entropy (probs - onehot) is computed inline and handed to backward() with the row (the
targets themselves are handed to no function), and the step is applied inline. Tanh hidden layer; synthetic blobs.
"""
import numpy as np


def forward(x):
    h = np.tanh(x @ W1 + b1)
    z = h @ W2 + b2
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return h, e / e.sum(axis=-1, keepdims=True)


def backward(x, h, err):
    dh = (err @ W2.T) * (1 - h ** 2)
    return x.T @ dh, dh.sum(axis=0), h.T @ err, err.sum(axis=0)


rng = np.random.default_rng(42)
C, D, N = 4, 14, 700
centers = rng.normal(0, 1, (C, D)) * 0.8
labels = rng.integers(0, C, N)
X = centers[labels] + rng.normal(0, 1, (N, D))
onehot = np.eye(C)
W1 = rng.normal(0, 1, (D, 12)) / np.sqrt(D)
b1 = np.zeros(12)
W2 = rng.normal(0, 1, (12, C)) / np.sqrt(12)
b2 = np.zeros(C)
lr = 0.05
for epoch in range(4):
    for i in rng.permutation(600):
        x = X[i:i + 1]
        h, probs = forward(x)
        err = onehot[labels[i]] - probs  # BUG: gradient-mismatch (the sign flipped)
        dW1, db1, dW2, db2 = backward(x, h, err)
        W1 -= lr * dW1
        b1 -= lr * db1
        W2 -= lr * dW2
        b2 -= lr * db2
    print(f"epoch {epoch}: accuracy {np.mean(forward(X[600:])[1].argmax(axis=1) == labels[600:]):.3f}")
