"""A per-sample class program: column vectors, sigmoid, one update per sample (784-30-10), 3 epochs of 4,000 rows."""

import numpy as np
from _data import mnist


class Network:
    def __init__(self, sizes):
        rng = np.random.default_rng(0)
        self.weights = [rng.normal(0, 1 / np.sqrt(n_in), (n_out, n_in)) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
        self.biases = [np.zeros((n_out, 1)) for n_out in sizes[1:]]

    def sigmoid(self, z):
        return 1 / (1 + np.exp(-z))

    def forward(self, x):
        activations = [x]
        for W, b in zip(self.weights, self.biases):
            x = self.sigmoid(W @ x + b)
            activations.append(x)
        return activations

    def backprop(self, x, target):
        acts = self.forward(x)
        delta = (acts[-1] - target) * acts[-1] * (1 - acts[-1])
        grads_w, grads_b = [], []
        for i in range(len(self.weights) - 1, -1, -1):
            grads_w.insert(0, delta @ acts[i].T)
            grads_b.insert(0, delta)
            if i:
                delta = (self.weights[i].T @ delta) * acts[i] * (1 - acts[i])
        return grads_w, grads_b

    def train(self, X, Y, lr):
        updates = 0
        for x, y in zip(X, Y):
            target = np.zeros((10, 1))
            target[y] = 1
            gw, gb = self.backprop(x.reshape(-1, 1), target)
            for i in range(len(self.weights)):
                self.weights[i] -= lr * gw[i]
                self.biases[i] -= lr * gb[i]
            updates += 1
        return updates

    def accuracy(self, X, Y):
        return np.mean([np.argmax(self.forward(x.reshape(-1, 1))[-1]) == y for x, y in zip(X, Y)])


X, Y = mnist(5000)
net = Network([784, 30, 10])
n = 0
for _epoch in range(3):
    n += net.train(X[:4000], Y[:4000], 0.5)
print(f"accuracy {net.accuracy(X[4000:], Y[4000:]):.3f}")
print(f"updates: {n}")
