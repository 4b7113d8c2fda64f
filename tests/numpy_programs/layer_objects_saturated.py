"""Layer objects in a list, trained by a module-level loop, the first Dense layer initialised N(0, 1): its tanh saturates.

Each layer's backward(output_gradient, learning_rate) updates its own weights and returns the input gradient
(one sample at a time, column vectors, tanh layers, mean squared error); synthetic blobs.
"""
import numpy as np

rng = np.random.default_rng(5)
C, D, N = 5, 24, 1200
centers = rng.normal(0, 1, (C, D)) * 0.6
labels = rng.integers(0, C, N)
X = (centers[labels] + rng.normal(0, 1, (N, D))).reshape(N, D, 1)
Y = np.eye(C)[labels].reshape(N, C, 1)


class Dense:
    def __init__(self, input_size, output_size):
        self.weights = rng.normal(0, 1, (output_size, input_size)) * (1.0 if input_size == D else 1 / np.sqrt(input_size))  # BUG: saturated-activations
        self.bias = np.zeros((output_size, 1))

    def forward(self, input):
        self.input = input
        return self.weights @ self.input + self.bias

    def backward(self, output_gradient, learning_rate):
        weights_gradient = output_gradient @ self.input.T
        input_gradient = self.weights.T @ output_gradient
        self.weights -= learning_rate * weights_gradient
        self.bias -= learning_rate * output_gradient
        return input_gradient


class Tanh:
    def forward(self, input):
        self.input = input
        return np.tanh(input)

    def backward(self, output_gradient, learning_rate):
        return output_gradient * (1 - np.tanh(self.input) ** 2)


def mse_prime(y_true, y_pred):
    return 2 * (y_pred - y_true) / np.size(y_true)


network = [Dense(D, 16), Tanh(), Dense(16, C), Tanh()]
for epoch in range(3):
    for x, y in zip(X[:1000], Y[:1000]):
        output = x
        for layer in network:
            output = layer.forward(output)
        grad = mse_prime(y, output)
        for layer in reversed(network):
            grad = layer.backward(grad, 0.1)
    hits = 0
    for x, label in zip(X[1000:], labels[1000:]):
        output = x
        for layer in network:
            output = layer.forward(output)
        hits += int(np.argmax(output) == label)
    print(f"epoch {epoch}: accuracy {hits / (N - 1000):.3f}")
