"""Sigmoid hidden layer, softmax output, cross-entropy, SGD with momentum.

The optimiser is its own object (like torch.optim): it holds a velocity per
parameter and updates the parameters in place.
"""
import gzip
import os
import sys

import numpy as np


def load_csv(path, limit):
    with gzip.open(path, "rt") as fh:
        lines = [next(fh) for _ in range(limit)]
    arr = np.array([ln.strip().split(",") for ln in lines], dtype=np.float64)
    return arr[:, 1:] / 255.0, arr[:, 0].astype(int)


class Classifier:
    def __init__(self, n_in, n_hidden, n_out, seed=0):
        r = np.random.RandomState(seed)
        self.W1 = r.normal(0.0, 1.0, (n_in, n_hidden))  # BUG: saturated-activations
        self.b1 = np.zeros(n_hidden)
        self.W2 = r.normal(0.0, 1.0 / np.sqrt(n_hidden), (n_hidden, n_out))
        self.b2 = np.zeros(n_out)

    def parameters(self):
        return [self.W1, self.b1, self.W2, self.b2]

    def probabilities(self, X):
        self.H = 1.0 / (1.0 + np.exp(-(X @ self.W1 + self.b1)))
        scores = np.exp(self.H @ self.W2 + self.b2)
        return scores / scores.sum(axis=1, keepdims=True)

    def gradients(self, X, Y):
        """Gradients of the mean cross-entropy for one-hot targets Y, in parameters() order."""
        m = X.shape[0]
        P = self.probabilities(X)
        delta = (P - Y) / m
        dW2 = self.H.T @ delta
        db2 = delta.sum(axis=0)
        dH = delta @ self.W2.T * self.H * (1.0 - self.H)
        dW1 = X.T @ dH
        db1 = dH.sum(axis=0)
        loss = -np.sum(Y * np.log(P + 1e-9)) / m
        return loss, [dW1, db1, dW2, db2]


class Momentum:
    def __init__(self, params, lr=0.5, beta=0.9):
        self.params = params
        self.lr = lr
        self.beta = beta
        self.velocity = [np.zeros_like(p) for p in params]

    def step(self, grads):
        for p, v, g in zip(self.params, self.velocity, grads):
            v *= self.beta
            v -= self.lr * g
            p += v


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "../../netdoctor/data/mnist_sample.csv.gz")
    X, y = load_csv(path, 1600)
    Xtr, ytr, Xte, yte = X[:1200], y[:1200], X[1200:], y[1200:]
    Ytr = np.eye(10)[ytr]

    net = Classifier(784, 50, 10)
    opt = Momentum(net.parameters(), lr=0.5, beta=0.9)
    batch = 64
    shuffler = np.random.RandomState(99)
    for epoch in range(4):
        idx = shuffler.permutation(len(Xtr))
        for k in range(0, len(idx), batch):
            b = idx[k:k + batch]
            loss, grads = net.gradients(Xtr[b], Ytr[b])
            opt.step(grads)
        acc = (net.probabilities(Xte).argmax(axis=1) == yte).mean()
        print("Epoch %d  loss=%.4f  test_accuracy=%.3f" % (epoch + 1, loss, acc))


main()
