"""Per-sample column vectors in a class: sigmoid MLP, squared error, gradients returned per sample
and summed over a mini-batch. usage: column_class.py [VARIANT]

VARIANT: "" (healthy), no-output-sigma (the output delta lacks sigma'), hidden-skips-output-sigma
(the hidden error skips the output sigma'), summed (the batch's gradients summed on purpose, lr scaled).
"""
import sys

import numpy as np

VARIANT = sys.argv[1] if len(sys.argv) > 1 else ""
rng = np.random.default_rng(0)
X = rng.normal(size=(300, 16))
labels = (X @ rng.normal(size=(16, 4))).argmax(axis=1)


class Network:
    def __init__(self, sizes):
        self.weights = [rng.normal(size=(n_out, n_in)) / np.sqrt(n_in) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
        self.biases = [np.zeros((n_out, 1)) for n_out in sizes[1:]]

    def sigmoid(self, z):
        return 1.0 / (1.0 + np.exp(-z))

    def feedforward(self, a):
        for W, b in zip(self.weights, self.biases):
            a = self.sigmoid(W @ a + b)
        return a

    def cost(self, output, target):
        return 0.5 * float(np.sum((output - target) ** 2))

    def backprop(self, x, t):
        h = self.sigmoid(self.weights[0] @ x + self.biases[0])
        out = self.sigmoid(self.weights[1] @ h + self.biases[1])
        if VARIANT == "no-output-sigma":
            delta = out - t  # BUG: gradient-mismatch
        else:
            delta = (out - t) * out * (1 - out)
        if VARIANT == "hidden-skips-output-sigma":
            hidden = (self.weights[1].T @ (out - t)) * h * (1 - h)  # BUG: gradient-mismatch
        else:
            hidden = (self.weights[1].T @ delta) * h * (1 - h)
        return [hidden @ x.T, delta @ h.T], [hidden, delta]

    def train(self, epochs, lr, batch):
        for epoch in range(epochs):
            total = 0.0
            for start in range(0, len(X), batch):
                gw = [np.zeros_like(W) for W in self.weights]
                gb = [np.zeros_like(b) for b in self.biases]
                for i in range(start, start + batch):
                    x, t = X[i].reshape(-1, 1), np.eye(4)[labels[i]].reshape(-1, 1)
                    total += self.cost(self.feedforward(x), t)
                    nw, nb = self.backprop(x, t)
                    gw = [g + n for g, n in zip(gw, nw)]
                    gb = [g + n for g, n in zip(gb, nb)]
                step = lr if VARIANT == "summed" else lr / batch
                self.weights = [W - step * g for W, g in zip(self.weights, gw)]
                self.biases = [b - step * g for b, g in zip(self.biases, gb)]
            hits = sum(int(np.argmax(self.feedforward(X[i].reshape(-1, 1))) == labels[i]) for i in range(len(X)))
            print(f"epoch {epoch}: loss {total / len(X):.4f}, accuracy {hits / len(X):.3f}")


Network([16, 12, 4]).train(4, 0.05 if VARIANT == "summed" else 0.5, 10)
