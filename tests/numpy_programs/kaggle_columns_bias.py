"""kaggle_columns with the bias gradients summed over every axis (``np.sum(dZ)`` without ``axis=1``): one number
for every unit, as in the notebook this style comes from.

Full-batch gradient descent in the style of a popular notebook: samples are columns (X is (D, N)), the four
parameters travel through functions as positional arguments and come back rebound from ``update_params``, and the
training function is handed the whole data set (so the frame that loops is itself handed the batch); integer
labels made one-hot in the backward; synthetic blobs.
"""
import numpy as np

rng = np.random.default_rng(3)
C, D, N = 4, 20, 600
centers = rng.normal(0, 1, (C, D))
labels = rng.integers(0, C, N)
X = (centers[labels] + rng.normal(0, 1, (N, D))).T
Y = labels
m = N


def init_params():
    W1 = rng.random((12, D)) - 0.5
    b1 = rng.random((12, 1)) - 0.5
    W2 = rng.random((C, 12)) - 0.5
    b2 = rng.random((C, 1)) - 0.5
    return W1, b1, W2, b2


def relu(Z):
    return np.maximum(Z, 0)


def softmax(Z):
    E = np.exp(Z - Z.max(axis=0))
    return E / E.sum(axis=0)


def forward_prop(W1, b1, W2, b2, X):
    Z1 = W1.dot(X) + b1
    A1 = relu(Z1)
    Z2 = W2.dot(A1) + b2
    A2 = softmax(Z2)
    return Z1, A1, Z2, A2


def one_hot(Y):
    one_hot_Y = np.zeros((Y.size, C))
    one_hot_Y[np.arange(Y.size), Y] = 1
    return one_hot_Y.T


def backward_prop(Z1, A1, Z2, A2, W1, W2, X, Y):
    dZ2 = A2 - one_hot(Y)
    dW2 = 1 / m * dZ2.dot(A1.T)
    db2 = 1 / m * np.sum(dZ2)  # BUG: gradient-mismatch
    dZ1 = W2.T.dot(dZ2) * (Z1 > 0)
    dW1 = 1 / m * dZ1.dot(X.T)
    db1 = 1 / m * np.sum(dZ1)  # BUG: gradient-mismatch
    return dW1, db1, dW2, db2


def update_params(W1, b1, W2, b2, dW1, db1, dW2, db2, alpha):
    W1 = W1 - alpha * dW1
    b1 = b1 - alpha * db1
    W2 = W2 - alpha * dW2
    b2 = b2 - alpha * db2
    return W1, b1, W2, b2


def gradient_descent(X, Y, alpha, iterations):
    W1, b1, W2, b2 = init_params()
    for i in range(iterations):
        Z1, A1, Z2, A2 = forward_prop(W1, b1, W2, b2, X)
        dW1, db1, dW2, db2 = backward_prop(Z1, A1, Z2, A2, W1, W2, X, Y)
        W1, b1, W2, b2 = update_params(W1, b1, W2, b2, dW1, db1, dW2, db2, alpha)
        if i % 50 == 0:
            print("Iteration", i, "accuracy", np.mean(np.argmax(A2, 0) == Y))
    return W1, b1, W2, b2


W1, b1, W2, b2 = gradient_descent(X, Y, 0.3, 300)
print("final accuracy", np.mean(np.argmax(forward_prop(W1, b1, W2, b2, X)[3], 0) == Y))
