"""How raw feature values become network inputs: chosen from the values found, and said in words.

Networks train well on inputs of order 1. :func:`choose_scaling` looks at the
raw table and picks, in order:

* ``"none"``: every value already within [-``SMALL``, ``SMALL``] (pixels in
  [0, 1], standardised features): used as they are;
* ``"divide-255"``: whole numbers in 0..255 (image pixels): ``x / 255``;
* ``"min-max"``: non-negative features that each start at 0 (counts,
  intensities): ``x_d / max_d``, so zero stays zero and the range is [0, 1];
* ``"standardise"``: anything else (real-valued measurements around an
  offset, features of different units): ``(x_d - mean_d) / std_d``.

A :class:`Scaling` is ``X = (raw - offset) / scale`` per feature; the one
chosen for the training file is applied unchanged to its test file, so both
are on one scale.
"""

from __future__ import annotations

import numpy as np

from netdoctor._lazy import dataclass

__all__ = ["Scaling", "choose_scaling", "SMALL", "KINDS"]

SMALL = 10.0
"""Largest |x| used as it is; the same limit as the ``unscaled-inputs`` rule."""
KINDS = ("none", "divide-255", "min-max", "standardise")


@dataclass(frozen=True, eq=False)
class Scaling:
    """``X = (raw - offset) / scale``, per feature.

    Attributes:
        kind: one of :data:`KINDS`.
        offset, scale: float32 ``(D,)`` (``scale`` never 0); for ``"none"`` and
            ``"divide-255"`` scalars 0 and 1 or 255.
        raw_min, raw_max: the range found in the file the scaling was chosen on.
    """

    kind: str
    offset: np.ndarray
    scale: np.ndarray
    raw_min: float
    raw_max: float

    def apply(self, raw: np.ndarray) -> np.ndarray:
        """float32 ``(raw - offset) / scale``; pixels divided by 255 exactly as before (bit-identical)."""
        X = np.empty(raw.shape, dtype=np.float32)
        X[...] = raw
        if self.kind == "divide-255":
            X /= np.float32(255)
        elif self.kind != "none":
            X -= self.offset
            X /= self.scale
        return X

    def undo(self, X: np.ndarray) -> np.ndarray:
        """The raw values back (float32): what a model that scales its own input expects."""
        if self.kind == "none":
            return X
        if self.kind == "divide-255":
            return X * np.float32(255)
        return X * self.scale + self.offset

    def describe(self, noun: str = "values") -> str:
        """One line: the range found and what was done, e.g. ``values 280.4..331.9: standardised per feature``."""
        found = f"{noun} {self.raw_min:g}..{self.raw_max:g}"
        return {
            "none": f"{found}: already on a small scale, used as they are" if self.raw_min < 0 or self.raw_max > 1
            else f"{found}: already in [0, 1], used as they are",
            "divide-255": f"{found}: divided by 255 to [0, 1]",
            "min-max": f"{found}: min-max scaled per feature (each divided by its maximum) to [0, 1]",
            "standardise": f"{found}: standardised per feature (mean 0, std 1)",
        }[self.kind]


def choose_scaling(raw: np.ndarray) -> Scaling:
    """The scaling the values need (see the module docstring); ``raw`` is ``(N, D)``, finite."""
    n = raw.shape[0]
    lo = float(raw.min()) if n else 0.0
    hi = float(raw.max()) if n else 0.0
    one = np.float32(1)
    if max(abs(lo), abs(hi)) <= SMALL and not (lo >= 0 and hi > 1 and _whole(raw)):
        return Scaling("none", np.float32(0), one, lo, hi)
    if lo >= 0 and hi <= 255 and _whole(raw):
        return Scaling("divide-255", np.float32(0), np.float32(255), lo, hi)
    R = raw.astype(np.float64)
    if lo >= 0 and np.all(R.min(axis=0) == 0):
        top = R.max(axis=0)
        return Scaling("min-max", np.zeros(R.shape[1], np.float32), np.where(top > 0, top, 1).astype(np.float32), lo, hi)
    sd = R.std(axis=0)
    return Scaling("standardise", R.mean(axis=0).astype(np.float32), np.where(sd > 0, sd, 1).astype(np.float32), lo, hi)


def _whole(raw: np.ndarray) -> bool:
    return raw.dtype.kind in "iu" or bool(np.all(raw == np.rint(raw)))
