"""What a loaded data set looks like: size, label counts and shares, pixel scaling.

:class:`DataSummary` is plain data (``to_dict``, ``lines``); it displays as a
table in the terminal and in notebooks through
:class:`~netdoctor.display.Renderable` (the renderers are installed there; this
module imports none of them).
:func:`netdoctor.data.load` attaches one to every :class:`~netdoctor.data.Dataset`;
it is imported from :mod:`netdoctor.data`, its public home.
"""

from __future__ import annotations

import os
from typing import ClassVar

import numpy as np

from netdoctor._lazy import dataclass
from netdoctor.data.oddities import OddPlaces
from netdoctor.display import Renderable

__all__ = ["DataSummary", "summarise"]


@dataclass(frozen=True)
class DataSummary(Renderable):
    """What a loaded data set looks like, for reports and the CLI."""

    render_kind: ClassVar[str] = "data"

    rows: int
    """Number of images N."""
    features: int
    """Pixels per image D."""
    label_counts: dict[int, int]
    """Images per digit 0..9 (all ten keys, zero for absent digits)."""
    pixel_min: float
    """Smallest pixel value in the file, before scaling."""
    pixel_max: float
    """Largest pixel value in the file, before scaling."""
    already_scaled: bool
    """True if the file's values were used as they are (already in [0, 1], or otherwise small)."""
    source: str = ""
    """Where the data came from (the path given to ``load``)."""
    scaling: str = ""
    """How the values were scaled: ``none``, ``divide-255``, ``min-max`` or ``standardise``
    (:mod:`netdoctor.data.scaling`); empty when not known."""
    scaling_note: str = ""
    """The scale found and what was done, in one line (``values 280.4..331.9: standardised per feature ...``)."""
    kind: str = "images"
    """``images`` (pixels) or ``rows`` (other features): how the summary names rows and labels."""
    notes: tuple[str, ...] = ()
    """Values unlike all the others, one line each with its place ``file:line:column`` and what was done
    (:mod:`netdoctor.data.oddities`): a pixel of -7 among 0..255, a label 12 among 0..9."""
    oddities: OddPlaces | None = None
    """The same values as data: places, values, what was done (the evidence of the ``odd-values`` finding)."""

    @property
    def label_shares(self) -> dict[int, float]:
        """Fraction of images per digit; a constant predictor of digit k scores ``shares[k]``."""
        return {k: (v / self.rows if self.rows else 0.0) for k, v in self.label_counts.items()}

    def to_dict(self) -> dict:
        """Plain JSON-ready dict of every field plus ``label_shares``."""
        return {"rows": self.rows, "features": self.features,
                "label_counts": {str(k): v for k, v in self.label_counts.items()},
                "label_shares": {str(k): v for k, v in self.label_shares.items()},
                "pixel_min": self.pixel_min, "pixel_max": self.pixel_max,
                "already_scaled": self.already_scaled, "source": self.source,
                "scaling": self.scaling or ("none" if self.already_scaled else "divide-255"),
                "scaling_text": self.scaling_text(), "notes": list(self.notes)}

    def scaling_text(self) -> str:
        """How the values were scaled, e.g. ``pixels 0..255: divided by 255 to [0, 1]``."""
        if self.scaling_note:
            return self.scaling_note
        if self.already_scaled:
            return (f"pixels {self.pixel_min:g}..{self.pixel_max:g}: already in [0, 1], "
                    "used as they are")
        return f"pixels {self.pixel_min:g}..{self.pixel_max:g}: divided by 255 to [0, 1]"

    def lines(self) -> list[str]:
        """The summary as plain text lines (no markup)."""
        name = os.path.basename(self.source) or "data"
        counts = "  ".join(f"{k}: {v} ({100 * s:.1f}%)"
                           for (k, v), s in zip(self.label_counts.items(), self.label_shares.values()))
        return [f"{name}: {self.size_text()}", self.scaling_text(), f"labels  {counts}",
                *(f"note: {n}" for n in self.notes)]

    def size_text(self) -> str:
        """``2,000 images x 784 pixels``, or ``400 rows x 4 features`` for data that are not images."""
        if self.kind == "images":
            return f"{self.rows:,} images x {self.features:,} pixels"
        return f"{self.rows:,} rows x {self.features:,} features"

    @property
    def nouns(self) -> tuple[str, str]:
        """How a table names a label and its rows: ``("digit", "images")`` or ``("label", "rows")``."""
        return ("digit", "images") if self.kind == "images" else ("label", "rows")


def summarise(X, y, pmin, pmax, already_scaled, source, *, scaling: str = "", scaling_note: str = "",
              kind: str = "images", notes: tuple[str, ...] = (), oddities: OddPlaces | None = None) -> DataSummary:
    """The summary of checked data: ``X`` ``(N, D)``, ``y`` ``(N,)`` labels, raw value range.

    ``label_counts`` has a key for every digit 0..9 for images (more if a
    label exceeds 9), for other data for every label 0..max; zero for absent ones.
    """
    counts = np.bincount(y, minlength=10 if kind == "images" else 2)
    return DataSummary(rows=int(X.shape[0]), features=int(X.shape[1]),
                       label_counts={k: int(counts[k]) for k in range(counts.size)},
                       pixel_min=float(pmin), pixel_max=float(pmax),
                       already_scaled=bool(already_scaled), source=source, scaling=scaling,
                       scaling_note=scaling_note, kind=kind, notes=tuple(notes), oddities=oddities)
