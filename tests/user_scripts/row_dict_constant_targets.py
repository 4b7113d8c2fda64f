# Two-layer ReLU/softmax classifier for MNIST, vectorised over mini-batches.
# Rows are samples (X has shape (batch, 784)); the parameters live in one dict.
#
#   python row_dict.py [--data PATH] [--epochs 3] [--lr 0.1] [--batch-size 32]
import argparse
import csv
import gzip
import os

import numpy as np

DEFAULT_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "netdoctor", "data", "mnist_sample.csv.gz")


def read_mnist(path):
    with gzip.open(path, "rt") as f:
        rows = [[int(v) for v in line] for line in csv.reader(f)]
    return np.array(rows, dtype=np.float64)


def init_params(rng, n_in=784, n_hidden=64, n_out=10):
    return {
        "W1": rng.normal(0, np.sqrt(2.0 / n_in), size=(n_in, n_hidden)),
        "b1": np.zeros(n_hidden),
        "W2": rng.normal(0, np.sqrt(1.0 / n_hidden), size=(n_hidden, n_out)),
        "b2": np.zeros(n_out),
    }


def forward(params, X):
    Z1 = X @ params["W1"] + params["b1"]
    A1 = np.maximum(Z1, 0)
    logits = A1 @ params["W2"] + params["b2"]
    logits -= logits.max(axis=1, keepdims=True)
    P = np.exp(logits)
    P /= P.sum(axis=1, keepdims=True)
    return Z1, A1, P


def loss_and_grads(params, X, y):
    N = X.shape[0]
    Z1, A1, P = forward(params, X)
    loss = -np.log(P[np.arange(N), y] + 1e-12).mean()
    dlogits = P.copy()
    dlogits[np.arange(N), y] -= 1
    dlogits /= N
    grads = {"W2": A1.T @ dlogits, "b2": dlogits.sum(axis=0)}
    dA1 = dlogits @ params["W2"].T
    dZ1 = dA1 * (Z1 > 0)
    grads["W1"] = X.T @ dZ1
    grads["b1"] = dZ1.sum(axis=0)
    return loss, grads


def prepare(batch):
    batch = batch / 255.0  # BUG: constant-targets
    return batch[:, 1:], batch[:, 0].astype(int)


def accuracy(params, X, y):
    return np.mean(np.argmax(forward(params, X)[2], axis=1) == y)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--batch-size", type=int, default=32)
    args = ap.parse_args()

    data = read_mnist(args.data)
    train, test = data[:1200], data[1200:1700]
    X_test, y_test = test[:, 1:] / 255.0, test[:, 0].astype(int)

    rng = np.random.default_rng(42)
    params = init_params(rng)
    for epoch in range(1, args.epochs + 1):
        order = rng.permutation(len(train))
        losses = []
        for start in range(0, len(train), args.batch_size):
            X, y = prepare(train[order[start:start + args.batch_size]])
            loss, grads = loss_and_grads(params, X, y)
            for key in params:
                params[key] -= args.lr * grads[key]
            losses.append(loss)
        print(f"epoch {epoch}/{args.epochs} - loss {np.mean(losses):.4f} - test acc {accuracy(params, X_test, y_test):.4f}")


if __name__ == "__main__":
    main()
