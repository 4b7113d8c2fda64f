"""Per-sample, column vectors, buffers in a list, applied every 20 samples (a quick development script of netdoctor run).

BUGS picks the planted bugs: "labels" (label scaled with the features), "alias" (reset by re-binding to a template),
"summed" (the batch's gradients summed, not averaged). Without BUGS it is healthy.
"""

import os
import sys

import numpy as np

BUGS = set(filter(None, os.environ.get("BUGS", sys.argv[1] if len(sys.argv) > 1 else "").split(",")))


CENTERS = np.random.default_rng(7).normal(0, 1, (5, 12))


def make_data(n, rng):
    y = rng.integers(0, 5, n)
    X = CENTERS[y] + 0.5 * rng.normal(0, 1, (n, 12))
    return np.column_stack([y, np.clip((X + 3) / 6, 0, 1) * 255])


def target_for(label):
    t = np.full((5, 1), -1.0)
    t[int(label)] = 1.0
    return t


class Net:
    def __init__(self, sizes, rng):
        self.weights = [rng.normal(0, 1 / np.sqrt(a), (b, a)) for a, b in zip(sizes[:-1], sizes[1:])]
        self.biases = [np.zeros((b, 1)) for b in sizes[1:]]

    def forward(self, x):
        for w, b in zip(self.weights, self.biases):
            x = np.tanh(w @ x + b)
        return x

    def backprop(self, x, t):
        acts = [x]
        for w, b in zip(self.weights, self.biases):
            acts.append(np.tanh(w @ acts[-1] + b))
        delta = (acts[-1] - t) * (1 - acts[-1] ** 2)
        for l in range(len(self.weights) - 1, -1, -1):
            self.gw[l] += delta @ acts[l].T
            self.gb[l] += delta
            delta = (self.weights[l].T @ delta) * (1 - acts[l] ** 2)

    def train(self, data, lr, batch=20):
        zw = [np.zeros(w.shape) for w in self.weights]
        zb = [np.zeros(b.shape) for b in self.biases]
        self.gw, self.gb = (zw, zb) if "alias" in BUGS else ([z.copy() for z in zw], [z.copy() for z in zb])
        for i, row in enumerate(data, start=1):
            row = row / 255 if "labels" in BUGS else np.concatenate([row[:1], row[1:] / 255])
            self.backprop(row[1:].reshape(-1, 1), target_for(row[0]))
            if i % batch == 0:
                scale = lr if "summed" in BUGS else lr / batch
                for l in range(len(self.weights)):
                    self.weights[l] -= scale * self.gw[l]
                    self.biases[l] -= scale * self.gb[l]
                if "alias" in BUGS:
                    self.gw, self.gb = zw, zb
                else:
                    self.gw = [np.zeros(w.shape) for w in self.weights]
                    self.gb = [np.zeros(b.shape) for b in self.biases]

    def accuracy(self, data):
        hits = 0
        for row in data:
            hits += int(np.argmax(self.forward(row[1:].reshape(-1, 1) / 255)) == int(row[0]))
        return hits / len(data)


def main():
    rng = np.random.default_rng(1)
    data, test = make_data(600, rng), make_data(200, rng)
    net = Net([12, 16, 5], rng)
    for epoch in range(3):
        net.train(data, 0.5)
        print(f"epoch {epoch + 1}: accuracy {net.accuracy(test):.3f}")


if __name__ == "__main__":
    main()
