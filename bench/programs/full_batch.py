"""A notebook-style full-batch net: samples as columns, 784-32-10 (relu, softmax cross-entropy), weights passed to
functions and rebound from the update each step, 60 steps of gradient descent over the same 4,000 columns (or as many
as the second argument says)."""

import sys

import numpy as np
from _data import mnist


def init_params(rng):
    W1 = rng.normal(0, np.sqrt(2 / 784), (32, 784))
    b1 = np.zeros((32, 1))
    W2 = rng.normal(0, np.sqrt(2 / 32), (10, 32))
    b2 = np.zeros((10, 1))
    return W1, b1, W2, b2


def forward_prop(W1, b1, W2, b2, X):
    Z1 = W1.dot(X) + b1
    A1 = np.maximum(Z1, 0)
    Z2 = W2.dot(A1) + b2
    E = np.exp(Z2 - Z2.max(axis=0))
    A2 = E / E.sum(axis=0)
    return Z1, A1, Z2, A2


def backward_prop(Z1, A1, A2, W2, X, Y):
    m = X.shape[1]
    dZ2 = A2 - Y
    dW2 = dZ2.dot(A1.T) / m
    db2 = dZ2.sum(axis=1, keepdims=True) / m
    dZ1 = W2.T.dot(dZ2) * (Z1 > 0)
    dW1 = dZ1.dot(X.T) / m
    db1 = dZ1.sum(axis=1, keepdims=True) / m
    return dW1, db1, dW2, db2


def update_params(W1, b1, W2, b2, dW1, db1, dW2, db2, alpha):
    return W1 - alpha * dW1, b1 - alpha * db1, W2 - alpha * dW2, b2 - alpha * db2


def gradient_descent(X, Y, alpha, iterations):
    W1, b1, W2, b2 = init_params(np.random.default_rng(0))
    for i in range(iterations):
        Z1, A1, Z2, A2 = forward_prop(W1, b1, W2, b2, X)
        dW1, db1, dW2, db2 = backward_prop(Z1, A1, A2, W2, X, Y)
        W1, b1, W2, b2 = update_params(W1, b1, W2, b2, dW1, db1, dW2, db2, alpha)
        if i % 20 == 0:
            print(f"iteration {i}: accuracy {np.mean(A2.argmax(0) == Y.argmax(0)):.3f}")
    return W1, b1, W2, b2


ITERATIONS = int(sys.argv[2]) if len(sys.argv) > 2 else 60
data, labels = mnist(5000)
X, Y = data[:4000].T, np.eye(10)[labels[:4000]].T
W1, b1, W2, b2 = gradient_descent(X, Y, 0.5, ITERATIONS)
print(f"accuracy {np.mean(forward_prop(W1, b1, W2, b2, data[4000:].T)[3].argmax(0) == labels[4000:]):.3f}")
print(f"updates: {ITERATIONS}")
