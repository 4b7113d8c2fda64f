"""float32_all.py with the first layer drawn N(0, 3) for 64 inputs: nearly every sigmoid starts in a flat end.

Everything in float32 (data, weights, learning rate), sigmoid hidden units and a squared error on a linear
output; the weights are class attributes of a namespace-like class, the training a function over the data's batches.
"""
import numpy as np

rng = np.random.default_rng(27)
C, D, N = 4, 64, 1500
centers = rng.normal(0, 0.5, (C, D)).astype(np.float32)
labels = rng.integers(0, C, N)
X = (centers[labels] + rng.normal(0, 1.0, (N, D))).astype(np.float32)
T = np.eye(C, dtype=np.float32)[labels]


class Net:
    W1 = (rng.standard_normal((D, 32)) * 3).astype(np.float32)  # BUG: saturated-activations
    b1 = np.zeros(32, np.float32)
    W2 = (rng.standard_normal((32, C)) / np.sqrt(32)).astype(np.float32)
    b2 = np.zeros(C, np.float32)


def sigmoid(a):
    return np.float32(1) / (np.float32(1) + np.exp(-a))


LR = np.float32(0.3)


def train_batch(x, t, lr=LR):
    h = sigmoid(x @ Net.W1 + Net.b1)
    out = h @ Net.W2 + Net.b2
    d = (out - t) / np.float32(len(x))
    dh = (d @ Net.W2.T) * h * (np.float32(1) - h)
    Net.W2 -= lr * (h.T @ d)
    Net.b2 -= lr * d.sum(axis=0)
    Net.W1 -= lr * (x.T @ dh)
    Net.b1 -= lr * dh.sum(axis=0)


def evaluate(x):
    return (sigmoid(x @ Net.W1 + Net.b1) @ Net.W2 + Net.b2).argmax(axis=1)


for epoch in range(8):
    for s in range(0, 1400, 20):
        train_batch(X[s:s + 20], T[s:s + 20])
    print(f"epoch {epoch}: accuracy {np.mean(evaluate(X[1400:]) == labels[1400:]):.3f}")
