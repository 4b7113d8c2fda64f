"""Shared by the bench programs: MNIST rows from ``DIR/X.npy`` and ``DIR/y.npy`` (written by the bench), or synthetic digits.

Each program takes the data folder as its first argument (``-`` for synthetic
data) and prints ``updates: N`` (how many parameter updates it made) last.
"""

import sys

import numpy as np


def mnist(n: int):
    """``n`` rows of pixels in 0..1, shape (n, 784), and their labels (n,)."""
    folder = sys.argv[1] if len(sys.argv) > 1 else "-"
    if folder != "-":
        X, y = np.load(f"{folder}/X.npy")[:n], np.load(f"{folder}/y.npy")[:n]
        return X.astype(np.float64) / 255.0, y.astype(np.int64)
    rng = np.random.default_rng(1)
    centres = rng.random((10, 784))
    y = rng.integers(0, 10, n)
    return np.clip(centres[y] + 0.3 * rng.standard_normal((n, 784)), 0, 1), y
