"""A tiny layer library and an MNIST model built from it.

Every layer has forward(x) and backward(grad_out); Dense keeps its gradients in
dW/db (accumulated, as in the big frameworks, so they must be zeroed before
each batch) and updates itself in step(lr).

    python dense_layers.py [path/to/mnist.csv.gz]
"""
import sys
from pathlib import Path

import numpy as np

rng = np.random.default_rng(2024)


class Dense:
    def __init__(self, n_in, n_out):
        self.W = rng.standard_normal((n_in, n_out)) / np.sqrt(n_in)
        self.b = np.zeros((1, n_out))
        self.dW = np.zeros_like(self.W)
        self.db = np.zeros_like(self.b)

    def forward(self, x):
        self.x = x
        return x @ self.W + self.b

    def backward(self, grad_out):
        self.dW += self.x.T @ grad_out  # BUG: stale-accumulator
        self.db += grad_out.sum(axis=0, keepdims=True)  # BUG: stale-accumulator
        return grad_out @ self.W.T

    def zero_grad(self):
        self.dW[...] = 0.0
        self.db[...] = 0.0

    def step(self, lr):
        self.W -= lr * self.dW
        self.b -= lr * self.db


class Tanh:
    def forward(self, x):
        self.y = np.tanh(x)
        return self.y

    def backward(self, grad_out):
        return grad_out * (1.0 - self.y ** 2)


class SoftmaxCrossEntropy:
    def forward(self, logits, labels):
        shifted = logits - logits.max(axis=1, keepdims=True)
        self.p = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
        self.labels = labels
        return -np.mean(np.log(self.p[np.arange(len(labels)), labels]))

    def backward(self):
        g = self.p.copy()
        g[np.arange(len(self.labels)), self.labels] -= 1.0
        return g / len(self.labels)


class Model:
    def __init__(self, layers):
        self.layers = layers
        self.criterion = SoftmaxCrossEntropy()

    def __call__(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def train_batch(self, x, labels, lr):  # BUG: stale-accumulator
        loss = self.criterion.forward(self(x), labels)
        grad = self.criterion.backward()
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
        for layer in self.layers:
            if isinstance(layer, Dense):
                layer.step(lr)
        return loss


def load(path, n):
    table = np.loadtxt(path, delimiter=",", max_rows=n)
    return table[:, 1:].astype(np.float32) / 255.0, table[:, 0].astype(np.int64)


if __name__ == "__main__":
    path = sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "netdoctor/data/mnist_sample.csv.gz"
    images, labels = load(path, 2000)
    x_train, y_train, x_val, y_val = images[:1500], labels[:1500], images[1500:], labels[1500:]

    model = Model([Dense(784, 48), Tanh(), Dense(48, 10)])
    lr, batch_size = 0.3, 50
    for epoch in range(3):
        perm = rng.permutation(len(x_train))
        total = 0.0
        for i in range(0, len(perm), batch_size):
            idx = perm[i:i + batch_size]
            total += model.train_batch(x_train[idx], y_train[idx], lr) * len(idx)
        val_acc = np.mean(model(x_val).argmax(axis=1) == y_val)
        print(f"[epoch {epoch}] train loss {total / len(x_train):.3f} | val acc {val_acc:.2%}")
