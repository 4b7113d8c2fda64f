"""
nielsen_sgd.py
~~~~~~~~~~~~~~

A feedforward network trained by mini-batch stochastic gradient descent,
written after the textbook recipe: sigmoid neurons, quadratic cost,
backpropagation one training example at a time, and SGD(training_data,
epochs, mini_batch_size, eta, test_data).

Training and test data are lists of (x, y) tuples: x is a (784, 1) column of
pixel intensities in [0, 1]; y is the (10, 1) unit vector of the digit for
training data and the digit itself for test data.
"""

#### Libraries
# Standard library
import gzip
import random
import sys
from pathlib import Path

# Third-party libraries
import numpy as np


class Network(object):

    def __init__(self, sizes):
        """``sizes`` lists the number of neurons per layer, e.g. [784, 30, 10].
        Weights are drawn from a Gaussian with mean 0 and standard deviation
        1/sqrt(n_in), biases from a standard Gaussian; the input layer has no
        biases."""
        self.num_layers = len(sizes)
        self.sizes = sizes
        self.biases = [np.random.randn(y, 1) for y in sizes[1:]]
        self.weights = [np.random.randn(y, x) / np.sqrt(x)
                        for x, y in zip(sizes[:-1], sizes[1:])]

    def feedforward(self, a):
        """Return the output of the network for the input ``a``."""
        for b, w in zip(self.biases, self.weights):
            a = sigmoid(np.dot(w, a) + b)
        return a

    def SGD(self, training_data, epochs, mini_batch_size, eta, test_data=None):
        """Train with mini-batch stochastic gradient descent. With
        ``test_data``, the network is evaluated after each epoch and the
        progress printed (useful, but slow)."""
        n = len(training_data)
        for j in range(epochs):
            random.shuffle(training_data)
            mini_batches = [training_data[k:k + mini_batch_size]
                            for k in range(0, n, mini_batch_size)]
            for mini_batch in mini_batches:
                self.update_mini_batch(mini_batch, eta)
            if test_data:
                print("Epoch {0}: {1} / {2}".format(j, self.evaluate(test_data), len(test_data)))
            else:
                print("Epoch {0} complete".format(j))

    def update_mini_batch(self, mini_batch, eta):
        """Apply one gradient-descent step computed by backpropagation over
        ``mini_batch``, a list of (x, y) tuples, with learning rate ``eta``."""
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        for x, y in mini_batch:
            delta_nabla_b, delta_nabla_w = self.backprop(x, y)
            nabla_b = [nb + dnb for nb, dnb in zip(nabla_b, delta_nabla_b)]
            nabla_w = [nw + dnw for nw, dnw in zip(nabla_w, delta_nabla_w)]
        self.weights = [w - (eta / len(mini_batch)) * nw
                        for w, nw in zip(self.weights, nabla_w)]
        self.biases = [b - (eta / len(mini_batch)) * nb
                       for b, nb in zip(self.biases, nabla_b)]

    def backprop(self, x, y):
        """Return a tuple (nabla_b, nabla_w), the gradient of the cost for one
        example, layer by layer like self.biases and self.weights."""
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        # feedforward
        activation = x
        activations = [x]
        zs = []
        for b, w in zip(self.biases, self.weights):
            z = np.dot(w, activation) + b
            zs.append(z)
            activation = sigmoid(z)
            activations.append(activation)
        # backward pass
        delta = self.cost_derivative(activations[-1], y) * sigmoid_prime(zs[-1])
        nabla_b[-1] = delta
        nabla_w[-1] = np.dot(delta, activations[-2].transpose())
        for l in range(2, self.num_layers):
            z = zs[-l]
            sp = sigmoid_prime(z)
            delta = np.dot(self.weights[-l + 1].transpose(), delta) * sp
            nabla_b[-l] = delta
            nabla_w[-l] = np.dot(delta, activations[-l - 1].transpose())
        return (nabla_b, nabla_w)

    def evaluate(self, test_data):
        """Number of test inputs for which the network's most active output
        neuron is the right digit."""
        test_results = [(np.argmax(self.feedforward(x)), y) for (x, y) in test_data]
        return sum(int(x == y) for (x, y) in test_results)

    def cost_derivative(self, output_activations, y):
        """Vector of partial derivatives dC_x/da of the quadratic cost."""
        return output_activations - y


#### Miscellaneous functions
def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_prime(z):
    """Derivative of the sigmoid function."""
    return sigmoid(z) * (1 - sigmoid(z))


def vectorized_result(j):
    """A (10, 1) unit vector with 1.0 in position j."""
    e = np.zeros((10, 1))
    e[j] = 1.0
    return e


def load_data(path, n_train=1000, n_test=500):
    with gzip.open(path, "rt") as f:
        rows = [list(map(int, line.split(","))) for _, line in zip(range(n_train + n_test), f)]
    data = np.array(rows, dtype=float)
    train_rows = data[:n_train] / 255.0  # BUG: constant-targets
    training_data = [(np.reshape(r[1:], (784, 1)), vectorized_result(int(r[0]))) for r in train_rows]  # BUG: constant-targets
    test_data = [(np.reshape(r[1:] / 255.0, (784, 1)), int(r[0])) for r in data[n_train:]]
    return training_data, test_data


if __name__ == "__main__":
    path = sys.argv[1] if len(sys.argv) > 1 else str(Path(__file__).resolve().parents[2] / "netdoctor/data/mnist_sample.csv.gz")
    random.seed(12345)
    np.random.seed(12345)
    training_data, test_data = load_data(path)
    net = Network([784, 30, 10])
    net.SGD(training_data, 3, 10, 3.0, test_data=test_data)
