"""Textbook style: train(inputs_list, targets_list) updates the weights in place and returns nothing; query() answers.

One sample at a time, sigmoid everywhere (a lambda), targets 0.01/0.99, no biases; synthetic blobs.
"""
import numpy

rng = numpy.random.default_rng(3)
C, D, N = 5, 24, 1200
centers = rng.normal(0, 1, (C, D)) * 0.6
labels = rng.integers(0, C, N)
data = centers[labels] + rng.normal(0, 1, (N, D))


class neuralNetwork:
    def __init__(self, inputnodes, hiddennodes, outputnodes, learningrate):
        self.inodes, self.hnodes, self.onodes = inputnodes, hiddennodes, outputnodes
        self.wih = rng.normal(0.0, pow(self.inodes, -0.5), (self.hnodes, self.inodes))
        self.who = rng.normal(0.0, pow(self.hnodes, -0.5), (self.onodes, self.hnodes))
        self.lr = learningrate
        self.activation_function = lambda x: 1 / (1 + numpy.exp(-x))

    def train(self, inputs_list, targets_list):
        inputs = numpy.array(inputs_list, ndmin=2).T
        targets = numpy.array(targets_list, ndmin=2).T
        hidden_outputs = self.activation_function(numpy.dot(self.wih, inputs))
        final_outputs = self.activation_function(numpy.dot(self.who, hidden_outputs))
        output_errors = targets - final_outputs
        hidden_errors = numpy.dot(self.who.T, output_errors)
        self.who += self.lr * numpy.dot(output_errors * final_outputs * (1.0 - final_outputs), hidden_outputs.T)
        self.wih += self.lr * numpy.dot(hidden_errors * hidden_outputs * (1.0 - hidden_outputs), inputs.T)

    def query(self, inputs_list):
        inputs = numpy.array(inputs_list, ndmin=2).T
        hidden_outputs = self.activation_function(numpy.dot(self.wih, inputs))
        return self.activation_function(numpy.dot(self.who, hidden_outputs))


n = neuralNetwork(D, 16, C, 0.1)
for epoch in range(3):
    for i in range(1000):
        targets = numpy.zeros(C) + 0.01
        targets[labels[i] // 4] = 0.99  # BUG: constant-targets
        n.train(list(data[i]), targets)
scorecard = []
for i in range(1000, N):
    outputs = n.query(list(data[i]))
    scorecard.append(1 if numpy.argmax(outputs) == labels[i] else 0)
print("performance =", sum(scorecard) / len(scorecard))
