#!/usr/bin/env python3
"""MNIST in the functional style: parameters are a tuple of arrays, every
function takes them and returns new values, gradients come back as a tuple,
and sgd() applies them in place.

usage: functional_tuples.py [DATA.csv.gz [EPOCHS]]
"""
import sys
from pathlib import Path

import numpy as np

ALPHA = 0.01          # leaky relu slope
LEARNING_RATE = 0.2
BATCH_SIZE = 25


def init(key, sizes):
    rng = np.random.default_rng(key)
    (n0, n1, n2) = sizes
    return (rng.normal(size=(n0, n1)) * np.sqrt(2 / n0), np.zeros(n1),
            rng.normal(size=(n1, n2)) * np.sqrt(1 / n1), np.zeros(n2))


def leaky_relu(z):
    return np.where(z > 0, z, ALPHA * z)


def predict(params, x):
    w1, c1, w2, c2 = params
    return leaky_relu(x @ w1 + c1) @ w2 + c2


def log_softmax(s):
    s = s - s.max(axis=-1, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=-1, keepdims=True))


def loss_grad(params, x, labels):
    w1, c1, w2, c2 = params
    n = len(x)
    z = x @ w1 + c1
    h = leaky_relu(z)
    logp = log_softmax(h @ w2 + c2)
    loss = -logp[np.arange(n), labels].mean()
    ds = np.exp(logp)
    ds[np.arange(n), labels] -= 1.0  # BUG: summed-gradient
    dh = (ds @ w2.T) * np.where(z > 0, 1.0, ALPHA)
    return loss, (x.T @ dh, dh.sum(0), h.T @ ds, ds.sum(0))


def sgd(params, grads, lr):
    for p, g in zip(params, grads):
        p -= lr * g


def accuracy(params, x, labels):
    return float(np.mean(predict(params, x).argmax(-1) == labels))


def batches(x, labels, size, rng):
    starts = np.arange(0, len(x), size)
    for s in rng.permutation(starts):
        yield x[s:s + size] / 255.0, labels[s:s + size]


if __name__ == "__main__":
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "netdoctor/data/mnist_sample.csv.gz"
    epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    table = np.loadtxt(path, delimiter=",")
    pixels, digits = table[:, 1:], table[:, 0].astype(int)
    train_x, train_y = pixels[:1000], digits[:1000]
    test_x, test_y = pixels[1000:1500] / 255.0, digits[1000:1500]

    params = init(7, (784, 100, 10))
    order = np.random.default_rng(8)
    for epoch in range(epochs):
        for xb, yb in batches(train_x, train_y, BATCH_SIZE, order):
            loss, grads = loss_grad(params, xb, yb)
            sgd(params, grads, LEARNING_RATE)
        print(f"epoch={epoch + 1} loss={loss:.3f} acc={accuracy(params, test_x, test_y):.3f}")
