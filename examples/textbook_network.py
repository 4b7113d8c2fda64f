"""The textbook network (sigmoid, quadratic cost, mini-batch SGD), written the classic way.

Column vectors, ``backprop(x, y)`` returns ``(nabla_b, nabla_w)`` for one
sample, ``update_mini_batch`` averages them and re-binds
``self.weights = [w - ...]``. It is healthy: netdoctor adapts it with no
extra lines (``build`` returns the raw network) and finds nothing wrong with
its buffers or updates::

    netdoctor check --model examples/textbook_network.py:build --lr 3.0 --batch-size 10

Run this file to train it for a few epochs on netdoctor's bundled sample.
"""

import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_prime(z):
    return sigmoid(z) * (1 - sigmoid(z))


class Network:
    def __init__(self, sizes=(784, 30, 10), seed=0):
        rng = np.random.default_rng(seed)
        self.num_layers = len(sizes)
        self.sizes = list(sizes)
        self.biases = [rng.standard_normal((y, 1)) for y in sizes[1:]]
        self.weights = [rng.standard_normal((y, x)) for x, y in zip(sizes[:-1], sizes[1:])]

    def feedforward(self, a):
        for b, w in zip(self.biases, self.weights):
            a = sigmoid(np.dot(w, a) + b)
        return a

    def SGD(self, training_data, epochs, mini_batch_size, eta, test_data=None, seed=0):
        rng = np.random.default_rng(seed)
        for j in range(epochs):
            order = rng.permutation(len(training_data))
            batches = [[training_data[i] for i in order[k:k + mini_batch_size]]
                       for k in range(0, len(training_data), mini_batch_size)]
            for mini_batch in batches:
                self.update_mini_batch(mini_batch, eta)
            if test_data:
                print(f"Epoch {j}: {self.evaluate(test_data)} / {len(test_data)}")

    def update_mini_batch(self, mini_batch, eta):
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        for x, y in mini_batch:
            delta_nabla_b, delta_nabla_w = self.backprop(x, y)
            nabla_b = [nb + dnb for nb, dnb in zip(nabla_b, delta_nabla_b)]
            nabla_w = [nw + dnw for nw, dnw in zip(nabla_w, delta_nabla_w)]
        self.weights = [w - (eta / len(mini_batch)) * nw for w, nw in zip(self.weights, nabla_w)]
        self.biases = [b - (eta / len(mini_batch)) * nb for b, nb in zip(self.biases, nabla_b)]

    def backprop(self, x, y):
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        activation = x
        activations = [x]
        zs = []
        for b, w in zip(self.biases, self.weights):
            z = np.dot(w, activation) + b
            zs.append(z)
            activation = sigmoid(z)
            activations.append(activation)
        delta = (activations[-1] - y) * sigmoid_prime(zs[-1])
        nabla_b[-1] = delta
        nabla_w[-1] = np.dot(delta, activations[-2].transpose())
        for l in range(2, self.num_layers):
            delta = np.dot(self.weights[-l + 1].transpose(), delta) * sigmoid_prime(zs[-l])
            nabla_b[-l] = delta
            nabla_w[-l] = np.dot(delta, activations[-l - 1].transpose())
        return (nabla_b, nabla_w)

    def evaluate(self, test_data):
        return sum(int(np.argmax(self.feedforward(x)) == y) for x, y in test_data)


def build():
    """The raw network: netdoctor sees weights/biases lists and adapts it automatically."""
    return Network()


def main(epochs=5):
    from netdoctor.data import load_sample

    data = load_sample()
    X, y = data.X.astype(np.float64), data.y

    def one_hot(label):
        e = np.zeros((10, 1))
        e[label] = 1.0
        return e

    train = [(x.reshape(-1, 1), one_hot(t)) for x, t in zip(X[:1500], y[:1500])]
    test = [(x.reshape(-1, 1), int(t)) for x, t in zip(X[1500:], y[1500:])]
    Network().SGD(train, epochs, 10, 3.0, test_data=test)


if __name__ == "__main__":
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout
    main()
