"""Trains a small tanh/softmax net with a step-decay learning-rate schedule.

The schedule has one entry fewer than there are epochs, so the third epoch
stops with an IndexError after two epochs of real training (a crash in the
middle of training, for the tests of `netdoctor run`).
"""
import sys
from pathlib import Path

import numpy as np

SCHEDULE = [0.5, 0.25]
EPOCHS = 3


def learning_rate(epoch):
    return SCHEDULE[epoch]  # RAISES: IndexError


def train_epoch(W1, b1, W2, b2, X, y, lr, rng, batch=40):
    for idx in np.array_split(rng.permutation(len(X)), len(X) // batch):
        x, t = X[idx], y[idx]
        h = np.tanh(x @ W1 + b1)
        z = h @ W2 + b2
        p = np.exp(z - z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        p[np.arange(len(t)), t] -= 1
        p /= len(t)
        dh = (p @ W2.T) * (1 - h * h)
        W2 -= lr * h.T @ p
        b2 -= lr * p.sum(0)
        W1 -= lr * x.T @ dh
        b1 -= lr * dh.sum(0)


def main(path):
    rows = np.loadtxt(path, delimiter=",", max_rows=1400)
    X, y = rows[:, 1:] / 255, rows[:, 0].astype(int)
    rng = np.random.default_rng(5)
    W1, b1 = rng.normal(0, 784 ** -0.5, (784, 32)), np.zeros(32)
    W2, b2 = rng.normal(0, 32 ** -0.5, (32, 10)), np.zeros(10)
    for epoch in range(EPOCHS):
        train_epoch(W1, b1, W2, b2, X[:1000], y[:1000], learning_rate(epoch), rng)
        pred = np.argmax(np.tanh(X[1000:] @ W1 + b1) @ W2 + b2, axis=1)
        print(f"epoch {epoch + 1}: lr {learning_rate(epoch)}, test accuracy {np.mean(pred == y[1000:]):.3f}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "netdoctor/data/mnist_sample.csv.gz")
