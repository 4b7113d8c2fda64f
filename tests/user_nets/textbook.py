"""The textbook network: sigmoid, column vectors, backprop returns (nabla_b, nabla_w),
update_mini_batch re-binds ``self.weights = [w - ...]``. The factory returns the raw
network: netdoctor adapts it automatically.

``bug="frozen"``: the weight update is applied to the loop variable (a copy).
"""

import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


class Network:
    def __init__(self, sizes=(12, 10, 4), seed=4, bug=None, scaled_init=False):
        rng = np.random.default_rng(seed)
        self.num_layers = len(sizes)
        self.sizes = sizes
        self.bug = bug
        self.biases = [rng.standard_normal((y, 1)) for y in sizes[1:]]
        # the book's improved initialiser divides by sqrt(fan_in); the first chapter's does not
        self.weights = [rng.standard_normal((y, x)) / (np.sqrt(x) if scaled_init else 1.0)
                        for x, y in zip(sizes[:-1], sizes[1:])]

    def feedforward(self, a):
        for b, w in zip(self.biases, self.weights):
            a = sigmoid(np.dot(w, a) + b)
        return a

    def update_mini_batch(self, mini_batch, eta):
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        for x, y in mini_batch:
            delta_nabla_b, delta_nabla_w = self.backprop(x, y)
            nabla_b = [nb + dnb for nb, dnb in zip(nabla_b, delta_nabla_b)]
            nabla_w = [nw + dnw for nw, dnw in zip(nabla_w, delta_nabla_w)]
        if self.bug == "frozen":
            for w, nw in zip(self.weights, nabla_w):
                w = w - (eta / len(mini_batch)) * nw
        else:
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
        delta = (activations[-1] - y) * sigmoid(zs[-1]) * (1 - sigmoid(zs[-1]))
        nabla_b[-1] = delta
        nabla_w[-1] = np.dot(delta, activations[-2].transpose())
        for l in range(2, self.num_layers):
            sp = sigmoid(zs[-l]) * (1 - sigmoid(zs[-l]))
            delta = np.dot(self.weights[-l + 1].transpose(), delta) * sp
            nabla_b[-l] = delta
            nabla_w[-l] = np.dot(delta, activations[-l - 1].transpose())
        return (nabla_b, nabla_w)


def build(bug=None, **kw):
    return Network(bug=bug, **kw)


def mnist(bug=None, seed=None):
    """The book's SGD(training_data, epochs, mini_batch_size=10, eta=3.0) settings, kept on the net."""
    seed = _seed(4) if seed is None else seed
    net = Network((784, 30, 10), seed=seed, bug=bug, scaled_init=True)
    net.eta, net.mini_batch_size = 3.0, 10
    return net


def _seed(default):
    import os

    return int(os.environ.get("USER_NET_SEED", default))


def mnist_frozen():
    return mnist("frozen")
