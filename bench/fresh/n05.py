# Nielsen-style: lists of weights/biases, column vectors, per-sample SGD, sigmoid everywhere, quadratic cost
import random
import numpy as np

class Network(object):
    def __init__(self, sizes):
        self.num_layers = len(sizes)
        self.biases = [np.random.randn(y, 1) for y in sizes[1:]]
        self.weights = [np.random.randn(y, x) / np.sqrt(x) for x, y in zip(sizes[:-1], sizes[1:])]

    def feedforward(self, a):
        for b, w in zip(self.biases, self.weights):
            a = sigmoid(np.dot(w, a) + b)
        return a

    def SGD(self, training_data, epochs, eta, test_data):
        for j in range(epochs):
            random.shuffle(training_data)
            for x, y in training_data:
                nabla_b, nabla_w = self.backprop(x, y)
                self.weights = [w - eta * nw for w, nw in zip(self.weights, nabla_w)]
                self.biases = [b - eta * nb for b, nb in zip(self.biases, nabla_b)]
            print("Epoch {0}: {1} / {2}".format(j, self.evaluate(test_data), len(test_data)))

    def backprop(self, x, y):
        activation = x
        activations = [x]
        zs = []
        for b, w in zip(self.biases, self.weights):
            z = np.dot(w, activation) + b
            zs.append(z)
            activation = sigmoid(z)
            activations.append(activation)
        delta = (activations[-1] - y) * sigmoid_prime(zs[-1])
        nabla_b = [None, delta]
        nabla_w = [None, np.dot(delta, activations[-2].transpose())]
        delta = np.dot(self.weights[1].transpose(), delta) * sigmoid_prime(zs[0])
        nabla_b[0] = delta
        nabla_w[0] = np.dot(delta, activations[0].transpose())
        return nabla_b, nabla_w

    def evaluate(self, test_data):
        return sum(int(np.argmax(self.feedforward(x)) == y) for (x, y) in test_data)

def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))

def sigmoid_prime(z):
    return sigmoid(z) * (1 - sigmoid(z))

def vectorized_result(j, k=3):
    e = np.zeros((k, 1)); e[j] = 1.0
    return e

random.seed(3); np.random.seed(3)
C = np.random.randn(3, 10) * 1.2
ys = np.random.randint(0, 3, 900)
xs = C[ys] + np.random.randn(900, 10)
training_data = [(x.reshape(10, 1), vectorized_result(y)) for x, y in zip(xs[:700], ys[:700])]
test_data = [(x.reshape(10, 1), y) for x, y in zip(xs[700:], ys[700:])]
net = Network([10, 16, 3])
net.SGD(training_data, 10, 0.5, test_data)
print("test accuracy", net.evaluate(test_data) / len(test_data))
