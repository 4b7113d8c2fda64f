"""MNIST digits for the PyTorch examples: the 2,000 real digits bundled with netdoctor.

Pass another CSV in the same layout (label, then 784 pixels 0-255 per row),
e.g. ../shared/data/mnist_5k.csv.gz, to train on more.
"""

import os

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLE = os.path.join(HERE, "..", "..", "netdoctor", "data", "mnist_sample.csv.gz")
_cache = {}


def load_rows(path=SAMPLE):
    """The CSV as one float32 array: column 0 the label, columns 1..784 the pixels 0-255."""
    if path not in _cache:
        _cache[path] = np.loadtxt(path, delimiter=",", dtype=np.float32)
    return _cache[path].copy()


def load(path=SAMPLE, n_train=1600):
    """(x_train, y_train, x_test, y_test): pixels scaled to [0, 1], integer labels."""
    rows = torch.from_numpy(load_rows(path))
    x, y = rows[:, 1:] / 255.0, rows[:, 0].long()
    return x[:n_train], y[:n_train], x[n_train:], y[n_train:]


def batches(x, y, batch_size, generator):
    """Shuffled mini-batches, drawn from the given torch.Generator."""
    order = torch.randperm(len(x), generator=generator)
    for i in range(0, len(x), batch_size):
        idx = order[i:i + batch_size]
        yield x[idx], y[idx]
