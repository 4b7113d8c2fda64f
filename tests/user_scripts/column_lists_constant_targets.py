"""Digit recogniser: a tanh network trained one sample at a time.

Weights and biases are kept in lists, one matrix per layer, and every image is
a column vector (784 x 1). Gradients of single samples are added up in
gradW/gradB and applied every BATCH samples.

    python column_lists.py [mnist.csv.gz]
"""
import sys
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "netdoctor/data/mnist_sample.csv.gz"
LEARNING_RATE = 0.05
BATCH = 5
EPOCHS = 2


class NeuralNet:
    def __init__(self, sizes):
        self.sizes = sizes
        self.W = [np.random.randn(n, m) * np.sqrt(1.0 / m) for m, n in zip(sizes[:-1], sizes[1:])]
        self.b = [np.zeros((n, 1)) for n in sizes[1:]]
        self.gradW = [np.zeros_like(w) for w in self.W]
        self.gradB = [np.zeros_like(b) for b in self.b]

    def forward(self, x):
        outs = [x]
        for W, b in zip(self.W, self.b):
            outs.append(np.tanh(W @ outs[-1] + b))
        return outs

    def backward(self, x, target):
        outs = self.forward(x)
        err = (outs[-1] - target) * (1 - outs[-1] ** 2)
        for l in reversed(range(len(self.W))):
            self.gradW[l] += err @ outs[l].T
            self.gradB[l] += err
            if l > 0:
                err = (self.W[l].T @ err) * (1 - outs[l] ** 2)

    def step(self, lr, n):
        for l in range(len(self.W)):
            self.W[l] -= lr * self.gradW[l] / n
            self.b[l] -= lr * self.gradB[l] / n
        self.gradW = [np.zeros_like(w) for w in self.W]
        self.gradB = [np.zeros_like(b) for b in self.b]

    def predict(self, x):
        return int(np.argmax(self.forward(x)[-1]))


def one_hot_pm1(label):
    t = -np.ones((10, 1))
    t[label] = 1
    return t


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else DATA
    data = np.loadtxt(path, delimiter=",")
    train, test = data[:1000], data[1500:]
    np.random.seed(1)
    net = NeuralNet([784, 32, 10])

    for epoch in range(EPOCHS):
        np.random.shuffle(train)
        count = 0
        for row in train:
            row = row / 255.0  # BUG: constant-targets
            label = int(row[0])
            x = row[1:].reshape(784, 1)
            net.backward(x, one_hot_pm1(label))
            count += 1
            if count == BATCH:
                net.step(LEARNING_RATE, count)
                count = 0
        hits = sum(net.predict(r[1:].reshape(784, 1) / 255.0) == int(r[0]) for r in test)
        print(f"epoch {epoch + 1}: test accuracy {100.0 * hits / len(test):.1f}%")


if __name__ == "__main__":
    main()
