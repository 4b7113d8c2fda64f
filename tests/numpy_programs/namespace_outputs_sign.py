"""A float32 network on a types.SimpleNamespace whose forward keeps its outputs there and returns nothing.

Two ReLU hidden layers, a linear output, squared error on one-hot targets, mini-batches of 16; everything in float32
(the replay of its forward in float64 differs from the program's own output by float32's rounding: ~1e-5 of outputs
that have grown to ~100). Synthetic blobs in [0, 1].
"""
import types

import numpy as np

rng = np.random.default_rng(3)
C, D, N = 6, 256, 700
centers = rng.uniform(0, 1, (C, D))
y = rng.integers(0, C, N)
X = np.clip(centers[y] + rng.normal(0, 0.35, (N, D)), 0, 1).astype(np.float32)
X_train, y_train, X_test, y_test = X[:600], y[:600], X[600:], y[600:]
T_train = np.eye(C, dtype=np.float32)[y_train]

net = types.SimpleNamespace()
net.W1 = (rng.normal(0, 1, (D, 64)) * np.sqrt(2.0 / D)).astype(np.float32)
net.b1 = np.zeros(64, dtype=np.float32)
net.W2 = (rng.normal(0, 1, (64, 16)) * np.sqrt(2.0 / 64)).astype(np.float32)
net.b2 = np.zeros(16, dtype=np.float32)
net.W3 = (rng.normal(0, 1, (16, C)) * np.sqrt(1.0 / 16)).astype(np.float32)
net.b3 = np.zeros(C, dtype=np.float32)
lr = 0.05


def forward(x):
    net.z1 = x @ net.W1 + net.b1
    net.h1 = np.maximum(net.z1, 0)
    net.z2 = net.h1 @ net.W2 + net.b2
    net.h2 = np.maximum(net.z2, 0)
    net.out = net.h2 @ net.W3 + net.b3


def backward(x, t):
    d3 = (t - net.out) / len(x)  # BUG: gradient-mismatch
    dW3, db3 = net.h2.T @ d3, d3.sum(axis=0)
    dz2 = d3 @ net.W3.T * (net.z2 > 0)
    dW2, db2 = net.h1.T @ dz2, dz2.sum(axis=0)
    dz1 = dz2 @ net.W2.T * (net.z1 > 0)
    dW1, db1 = x.T @ dz1, dz1.sum(axis=0)
    return dW1, db1, dW2, db2, dW3, db3


def accuracy(X, labels):
    forward(X)
    return float(np.mean(np.argmax(net.out, axis=1) == labels))


for epoch in range(6):
    order = rng.permutation(len(X_train))
    for start in range(0, len(order), 16):
        xb, tb = X_train[order[start:start + 16]], T_train[order[start:start + 16]]
        forward(xb)
        grads = backward(xb, tb)
        net.W1 -= lr * grads[0]
        net.b1 -= lr * grads[1]
        net.W2 -= lr * grads[2]
        net.b2 -= lr * grads[3]
        net.W3 -= lr * grads[4]
        net.b3 -= lr * grads[5]
    print(f"epoch {epoch + 1}: test accuracy {accuracy(X_test, y_test):.3f}")
