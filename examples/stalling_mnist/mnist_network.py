"""My MNIST network: 784 -> 30 -> 10, tanh, squared error, trained with mini-batches.

Usage:
    python mnist_network.py [--train FILE] [--test FILE] [--epochs N] [--limit N]

The CSV files have the label in the first column and 784 pixel values (0-255)
after it. It prints the test accuracy after every epoch.

(netdoctor example: this is the stalling program of docs/diagnosis-examples.md,
written the way a first from-scratch network often is. It stays at 9.80% test
accuracy. The fixed version is mnist_network_fixed.py.)
"""

import argparse
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED_TRAIN = "/work/shared/data/mnist_5k.csv.gz"
SHARED_TEST = "/work/shared/data/mnist_test.csv.gz"
SAMPLE = os.path.join(HERE, "..", "..", "netdoctor", "data", "mnist_sample.csv.gz")


def desired_output_for(digit, numClasses=10):
    """Target vector for a digit: +1 for the right output neuron, -1 for all the others."""
    output = np.full((numClasses, 1), -1.0)
    output[int(digit)] = 1.0
    return output


class Network:
    def __init__(self, layerSizes):
        self.layerSizes = layerSizes
        self.numLayers = len(layerSizes)
        self.weights = []
        self.biases = []
        for i in range(1, self.numLayers):
            self.weights.append(np.random.randn(layerSizes[i], layerSizes[i - 1]))
            self.biases.append(np.random.randn(layerSizes[i], 1))

    def feedforward(self, input):
        activation = input
        for w, b in zip(self.weights, self.biases):
            activation = np.tanh(np.dot(w, activation) + b)
        return activation

    def backpropagation(self, input, desiredOutput):
        # forward pass, remembering every layer's output
        activations = [input]
        for w, b in zip(self.weights, self.biases):
            activations.append(np.tanh(np.dot(w, activations[-1]) + b))

        # error of the output layer for the cost 1/2 * ||output - desired||^2
        delta = (activations[-1] - desiredOutput) * (1 - activations[-1] ** 2)
        for layer in range(len(self.weights) - 1, -1, -1):
            self.bias_updates[layer] += delta
            self.weight_updates[layer] += np.dot(delta, activations[layer].T)
            delta = np.dot(self.weights[layer].T, delta) * (1 - activations[layer] ** 2)

    def train(self, path, learnRate, batchSize=100, limit=None):
        data = np.loadtxt(path, delimiter=",")
        np.random.shuffle(data)
        if limit:
            data = data[:limit]

        noWeightChange = [np.zeros(w.shape) for w in self.weights]
        noBiasChange = [np.zeros(b.shape) for b in self.biases]
        self.weight_updates = noWeightChange
        self.bias_updates = noBiasChange

        samples = 0
        for row in data:
            row = list(row / 255)                  # pixels from 0..255 to 0..1
            label = row.pop(0)
            input = np.array(row).reshape(len(row), 1)
            self.backpropagation(input, desired_output_for(label))
            samples += 1

            if samples % batchSize == 0:
                for i in range(len(self.weights)):
                    self.weights[i] -= learnRate * self.weight_updates[i]
                    self.biases[i] -= learnRate * self.bias_updates[i]
                # start the next batch from zero
                self.weight_updates = noWeightChange
                self.bias_updates = noBiasChange

    def evaluate(self, testData):
        correct = 0
        for row in testData:
            label = int(row[0])
            input = (row[1:] / 255).reshape(-1, 1)
            if np.argmax(self.feedforward(input)) == label:
                correct += 1
        return correct


def main():
    parser = argparse.ArgumentParser(description="train a 784-30-10 tanh network on MNIST")
    parser.add_argument("--train", default=SHARED_TRAIN if os.path.exists(SHARED_TRAIN) else SAMPLE)
    parser.add_argument("--test", default=SHARED_TEST if os.path.exists(SHARED_TEST) else SAMPLE)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--limit", type=int, default=None, help="train on the first N rows (after shuffling) only")
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    np.random.seed(args.seed)
    net = Network([784, 30, 10])
    testData = np.loadtxt(args.test, delimiter=",")
    print(f"training on {args.train}, testing on {args.test} ({len(testData)} images)")
    for epoch in range(1, args.epochs + 1):
        net.train(args.train, args.lr, limit=args.limit)
        correct = net.evaluate(testData)
        print(f"Epoch {epoch}: {correct} / {len(testData)} correct ({100 * correct / len(testData):.2f}%)")


if __name__ == "__main__":
    main()
