"""Trains a small logistic-regression digit classifier and writes a JSON
summary to the file named on the command line.

    python argv_writes_file.py OUTPUT.json [--epochs N] [--seed S] [--lr LR]

For the faithfulness tests of `netdoctor run`: the script reads its own argv,
draws random numbers from both `random` and `np.random`, prints to stdout and
stderr, and writes a file whose contents depend on all of that.
"""
import json
import random
import sys
from pathlib import Path

import numpy as np


def parse(argv):
    if len(argv) < 2 or argv[1].startswith("-"):
        sys.exit(f"usage: {argv[0]} OUTPUT.json [--epochs N] [--seed S] [--lr LR]")
    opts = {"--epochs": "2", "--seed": "0", "--lr": "0.5"}
    rest = argv[2:]
    for flag, value in zip(rest[::2], rest[1::2]):
        if flag not in opts:
            sys.exit(f"unknown option {flag}")
        opts[flag] = value
    return Path(argv[1]), int(opts["--epochs"]), int(opts["--seed"]), float(opts["--lr"])


def main():
    out, epochs, seed, lr = parse(sys.argv)
    random.seed(seed)
    np.random.seed(seed)
    data = np.loadtxt(Path(__file__).resolve().parents[2] / "netdoctor/data/mnist_sample.csv.gz", delimiter=",", max_rows=800)
    X, y = data[:, 1:] / 255.0, data[:, 0].astype(int)
    W = np.random.randn(784, 10) * 0.01
    b = np.zeros(10)
    history = []
    for epoch in range(epochs):
        order = list(range(600))
        random.shuffle(order)
        for k in range(0, 600, 20):
            idx = order[k:k + 20]
            z = X[idx] @ W + b
            p = np.exp(z - z.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            p[np.arange(len(idx)), y[idx]] -= 1
            W -= lr * X[idx].T @ p / len(idx)
            b -= lr * p.mean(axis=0)
        acc = float(np.mean(np.argmax(X[600:] @ W + b, axis=1) == y[600:]))
        history.append(acc)
        print(f"epoch {epoch + 1}: accuracy {acc:.3f}")
    print(f"writing {out}", file=sys.stderr)
    summary = {"argv": sys.argv[1:], "accuracy": history, "weights_sum": float(W.sum()),
               "after": [random.random(), float(np.random.rand())]}
    out.write_text(json.dumps(summary, indent=1) + "\n")


if __name__ == "__main__":
    main()
