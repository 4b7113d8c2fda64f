"""Layer objects in a list, each with forward(x) and backward(grad, lr) that updates itself; per-sample
column vectors, tanh, mean squared error, a train() function as in the tutorials of this style. usage: layer_objects.py [VARIANT]

VARIANT: "" (healthy), input-grad-after-step (a Dense layer computes the gradient it passes back after
its own weight step), clip-value (the weight gradient clipped by value), clip-norm (the gradient of the
output scaled down to norm 1 when larger).
"""
import sys

import numpy as np

VARIANT = sys.argv[1] if len(sys.argv) > 1 else ""
rng = np.random.default_rng(2)
X = rng.normal(size=(200, 16, 1))
Y = np.eye(4)[(X[:, :, 0] @ rng.normal(size=(16, 4))).argmax(axis=1)].reshape(200, 4, 1) * 2 - 1


class Dense:
    def __init__(self, n_in, n_out):
        self.weights = rng.normal(size=(n_out, n_in)) / np.sqrt(n_in)
        self.bias = np.zeros((n_out, 1))

    def forward(self, x):
        self.input = x
        return self.weights @ x + self.bias

    def backward(self, grad, lr):
        weights_gradient = grad @ self.input.T
        if VARIANT == "clip-value":
            weights_gradient = np.clip(weights_gradient, -0.02, 0.02)
        if VARIANT == "input-grad-after-step":
            self.weights -= lr * weights_gradient
            self.bias -= lr * grad
            return self.weights.T @ grad  # BUG: gradient-mismatch
        input_gradient = self.weights.T @ grad
        self.weights -= lr * weights_gradient
        self.bias -= lr * grad
        return input_gradient


class Tanh:
    def forward(self, x):
        self.input = x
        return np.tanh(x)

    def backward(self, grad, lr):
        return grad * (1 - np.tanh(self.input) ** 2)


def mse(y_true, y_pred):
    return np.mean((y_true - y_pred) ** 2)


def mse_prime(y_true, y_pred):
    return 2 * (y_pred - y_true) / np.size(y_true)


def predict(network, x):
    for layer in network:
        x = layer.forward(x)
    return x


def train(network, X, Y, epochs, lr):
    for epoch in range(epochs):
        error = 0.0
        for x, y in zip(X, Y):
            output = predict(network, x)
            error += mse(y, output)
            grad = mse_prime(y, output)
            if VARIANT == "clip-norm" and np.linalg.norm(grad) > 1.0:
                grad = grad / np.linalg.norm(grad)
            for layer in reversed(network):
                grad = layer.backward(grad, lr)
        hits = np.mean([np.argmax(predict(network, x)) == np.argmax(y) for x, y in zip(X, Y)])
        print(f"epoch {epoch}: error {error / len(X):.4f}, accuracy {hits:.3f}")


train([Dense(16, 12), Tanh(), Dense(12, 4), Tanh()], X, Y, epochs=5, lr=0.05)
