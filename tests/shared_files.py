"""Where the shared real data and the forum program are: ``shared/`` beside the checkout.

The repository's parents are searched (git worktrees live deeper than the
main checkout); tests that need these files skip cleanly when they are absent.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SHARED = next((d / "shared" for d in ROOT.parents if (d / "shared" / "data").is_dir()), ROOT.parent / "shared")
DATA = SHARED / "data"
MNIST_5K = DATA / "mnist_5k.csv.gz"
MNIST_TEST = DATA / "mnist_test.csv.gz"
SEED = SHARED / "seed"
"""The forum program (``train.py``, ``network.py``, ``network_fixed.py``), run from where it lies."""


def have_real_data() -> bool:
    return MNIST_5K.exists() and MNIST_TEST.exists()


def shuffled_train_csv(folder: Path, rows: int | None = None, seed: int = 0) -> Path:
    """``mnist_5k.csv.gz`` (sorted by label) shuffled into ``folder/train.csv``: the forum program's input.

    ``rows`` keeps the first rows after shuffling (all 5,000 by default).
    """
    data = np.loadtxt(MNIST_5K, delimiter=",")
    np.random.default_rng(seed).shuffle(data)
    path = folder / "train.csv"
    np.savetxt(path, data[:rows], delimiter=",", fmt="%d")
    return path
