"""Looks at the MNIST sample: class counts and mean ink per digit. Arrays,
but no network and no training."""
import sys
from pathlib import Path

import numpy as np

path = sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "netdoctor/data/mnist_sample.csv.gz"
data = np.loadtxt(path, delimiter=",", dtype=np.int64)
labels, pixels = data[:, 0], data[:, 1:]
print(f"{len(data)} images of {pixels.shape[1]} pixels")
for digit in range(10):
    mine = pixels[labels == digit]
    print(f"digit {digit}: {len(mine):4d} images, mean ink {mine.mean() / 255:.3f}")
