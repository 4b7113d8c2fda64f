"""Data that is almost right: a few cells or labels unlike all the others, found and named by place.

An MNIST file with one pixel of -7 or 300 among 1.5 million whole numbers
0..255 is pixels with a typo, not real-valued features: scaling it as
features (standardised or min-max per column, :mod:`netdoctor.data.scaling`)
because of one cell would change every input the network sees. One row
labelled 12 among labels 0..9 adds classes 10, 11 and 12 to the output layer.
:func:`find_oddities` finds such values and :class:`Oddities` says where they
are (``mnist.csv:17:301``), what every other value is, and what was done:
the cells are scaled with the rest (by the scaling the other cells call for),
the labels kept as classes of their own.

What counts as odd:

* **cells**: when at least 99.9% of the cells, in all but at most 1% of the
  rows, follow one pattern, whole numbers 0..255 (pixels) or numbers in
  [0, 1] (pixels already scaled), the cells that do not are odd. More than
  that is a different kind of data, scaled as such without a note.
* **labels**: labels above every well-populated class (a class is
  well-populated with at least 5% of the median class's rows), held by at
  most 1% of the rows (a class of a single row is never well-populated). A rare class in the middle (class 5 with 3 rows) is
  imbalance, not a typo, and is left to the class-balance findings.

Everything is vectorised, block by block over rows (a 60,000 x 784 float
table is never copied whole); a file of uint8 pixels needs no cell pass.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import field

import numpy as np

from netdoctor._lazy import dataclass
from netdoctor.nn.stats import median

__all__ = ["Oddities", "OddPlaces", "find_oddities", "CELL_SHARE", "ROW_SHARE", "CLASS_SHARE", "PLACES_KEPT"]

CELL_SHARE = 1e-3
"""Largest share of cells that may break the pattern of the others and still be called odd (0.1%)."""
ROW_SHARE = 0.01
"""Largest share of rows that may hold odd cells, or odd labels (1%)."""
CLASS_SHARE = 0.05
"""A class with fewer rows than this share of the median class's rows is not well-populated."""
SHOWN = 3
"""Places listed in a note; the others are counted."""
PLACES_KEPT = 10
"""Places kept, with their values, in :class:`OddPlaces` (the evidence of the ``odd-values`` finding)."""
_ROWS_PER_BLOCK = 1024

PATTERNS = {
    "pixels": "a whole number 0..255",
    "unit": "a number in [0, 1]",
}
"""The patterns the bulk of the cells may follow, in words."""


@dataclass(frozen=True)
class OddPlaces:
    """What a report says of a file's :class:`Oddities`: places named (``mnist.csv:17:301``), values, what was done.

    Attributes:
        source: the file.
        pattern: what every other cell is, in words (``a whole number 0..255``); ``""`` without odd cells.
        cells: ``(place, value, value after scaling)`` of the first :data:`PLACES_KEPT` odd cells, in file order.
        cell_count, cell_rows: odd cells in all, and the rows holding them.
        cells_total: every cell of the file.
        largest_scaled: the largest ``|value after scaling|`` over every odd cell (what the network sees).
        scaled: what was done to the odd cells (``divided by 255 like every other cell``).
        labels: ``(place, label)`` of the first :data:`PLACES_KEPT` odd labels.
        label_count: odd labels in all.
        main_labels: every other row's label is 0..this.
        class_rows: rows of each well-populated class: (fewest, most).
        rows: rows of the file.
    """

    source: str
    pattern: str = ""
    cells: tuple[tuple[str, float, float], ...] = ()
    cell_count: int = 0
    cell_rows: int = 0
    cells_total: int = 0
    largest_scaled: float = 0.0
    scaled: str = ""
    labels: tuple[tuple[str, int], ...] = ()
    label_count: int = 0
    main_labels: int = -1
    class_rows: tuple[int, int] = (0, 0)
    rows: int = 0


@dataclass(frozen=True)
class Oddities:
    """Cells and labels unlike all the others, with the pattern the others follow.

    Attributes:
        pattern: the pattern of the other cells (a key of :data:`PATTERNS`), or
            ``""`` when no cell is odd.
        cells: ``(row, column)`` of every odd cell, in file order (0-based, pixel columns).
        values: the odd cells' values, in the same order.
        label_rows: rows whose label is odd, in file order.
        labels: their labels.
        main_labels: the well-populated labels' largest value (the others are 0..this).
    """

    pattern: str = ""
    cells: list[tuple[int, int]] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    label_rows: list[int] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    main_labels: int = -1

    def __bool__(self) -> bool:
        return bool(self.cells or self.label_rows)

    def bulk_mask(self, pixels: np.ndarray) -> np.ndarray | None:
        """The table with every odd cell set to 0 (a copy), for choosing the scaling the other cells call for."""
        if not self.cells:
            return None
        bulk = np.array(pixels, copy=True)
        r, c = np.asarray(self.cells).T
        bulk[r, c] = 0
        return bulk

    def places(self, source: str, pixel_at: Callable[[int, int], str], label_at: Callable[[int], str], *,
               labels: np.ndarray, shape: tuple[int, int], scaled_values: np.ndarray, scaled: str) -> OddPlaces:
        """The :class:`OddPlaces` of a file: ``scaled_values`` are the odd cells after scaling, in :attr:`cells` order."""
        y = np.asarray(labels).astype(np.int64)
        counts = np.bincount(y[y <= self.main_labels]) if self.label_rows and self.main_labels >= 0 else np.zeros(0, int)
        present = counts[counts > 0]
        return OddPlaces(
            source=source, pattern=PATTERNS.get(self.pattern, ""),
            cells=tuple((pixel_at(r, c), v, float(x)) for (r, c), v, x in
                        zip(self.cells[:PLACES_KEPT], self.values[:PLACES_KEPT], scaled_values[:PLACES_KEPT])),
            cell_count=len(self.cells), cell_rows=len({r for r, _ in self.cells}), cells_total=int(shape[0] * shape[1]),
            largest_scaled=float(np.max(np.abs(scaled_values))) if len(scaled_values) else 0.0, scaled=scaled,
            labels=tuple((label_at(r), lab) for r, lab in zip(self.label_rows[:PLACES_KEPT], self.labels[:PLACES_KEPT])),
            label_count=len(self.label_rows), main_labels=self.main_labels,
            class_rows=(int(present.min()), int(present.max())) if present.size else (0, 0), rows=int(shape[0]))

    def notes(self, pixel_at: Callable[[int, int], str], label_at: Callable[[int], str], *,
              scaled: str = "") -> list[str]:
        """One line per kind of oddity: where (``file:line:column``), the value, what the others are, what was done.

        Args:
            pixel_at, label_at: the places of a cell and of a row's label (the readers' functions).
            scaled: what was done to the odd cells (``divided by 255 like every other cell``).
        """
        out = []
        if self.cells:
            n = len(self.cells)
            shown = [f"{pixel_at(r, c)} holds {v:g}" for (r, c), v in zip(self.cells[:SHOWN], self.values[:SHOWN])]
            more = f" and {n - SHOWN} more cell{'s' * (n - SHOWN != 1)}" if n > SHOWN else ""
            what = "it" if n == 1 else "they"
            out.append(f"{'; '.join(shown)}{more}, but every other cell is {PATTERNS[self.pattern]}: "
                       f"{what} {'was' if n == 1 else 'were'} {scaled or 'scaled like the others'}; "
                       f"check {'that cell' if n == 1 else 'those cells'}")
        if self.label_rows:
            n = len(self.label_rows)
            shown = [f"{label_at(r)} has label {lab}" for r, lab in zip(self.label_rows[:SHOWN], self.labels[:SHOWN])]
            more = f" and {n - SHOWN} more row{'s' * (n - SHOWN != 1)}" if n > SHOWN else ""
            top = max(self.labels)
            empty = [k for k in range(self.main_labels + 1, top) if k not in set(self.labels)]
            added = (f"class {top} is" if top == self.main_labels + 1 else
                     f"classes {self.main_labels + 1}..{top} are")
            names = ", ".join(map(str, empty[:-1])) + (" and " if len(empty) > 1 else "") + (str(empty[-1]) if empty else "")
            gap = f" ({names} with no rows)" if empty else ""
            out.append(f"{'; '.join(shown)}{more}, but every other row's label is 0..{self.main_labels}: "
                       f"{added} added for {'it' if n == 1 else 'them'}{gap}; correct or drop "
                       f"{'that row' if n == 1 else 'those rows'} if the label is a typo")
        return out


def _cell_pattern(pixels: np.ndarray) -> tuple[str, np.ndarray, np.ndarray] | None:
    """The pattern nearly every cell follows and the odd cells' rows and columns, or None.

    One pass counts, per block of rows, the cells that break each pattern; a
    second looks for the odd cells' places only in the blocks that hold some.
    """
    n, d = pixels.shape
    if pixels.dtype == np.uint8 or n == 0 or d == 0:
        return None  # whole numbers 0..255 by type
    starts = range(0, n, _ROWS_PER_BLOCK)
    odd: dict[str, list[int]] = {"pixels": [], "unit": []}
    for start in starts:
        p = pixels[start:start + _ROWS_PER_BLOCK]
        inside = (p >= 0) & (p <= 255)
        odd["pixels"].append(p.size - int(np.count_nonzero(inside & (p == np.rint(p)))))
        odd["unit"].append(p.size - int(np.count_nonzero(inside & (p <= 1))))
    pattern = min(odd, key=lambda k: sum(odd[k]))
    total = sum(odd[pattern])
    if total == 0 or total > CELL_SHARE * n * d:
        return None
    rows, cols = [], []
    for start, k in zip(starts, odd[pattern]):
        if not k:
            continue
        p = pixels[start:start + _ROWS_PER_BLOCK]
        bad = (p < 0) | (p > (255 if pattern == "pixels" else 1))
        if pattern == "pixels":
            bad |= p != np.rint(p)
        r, c = np.nonzero(bad)  # row-major: file order
        rows.append(r + start)
        cols.append(c)
    r, c = np.concatenate(rows), np.concatenate(cols)
    if np.unique(r).size > max(1, ROW_SHARE * n):
        return None
    return pattern, r, c


def _label_oddities(labels: np.ndarray) -> tuple[np.ndarray, int] | None:
    """Rows whose label lies above every well-populated class, and the largest well-populated label; or None."""
    y = np.asarray(labels).astype(np.int64)
    if y.size == 0:
        return None
    counts = np.bincount(y)
    present = counts[counts > 0]
    if present.size < 2:
        return None
    # A single row is never a class of its own here (a 120-row file has 12 rows a class, 5% of which is 0.6).
    well = np.flatnonzero(counts >= max(2.0, CLASS_SHARE * float(median(present))))
    if well.size == 0:
        return None
    main = int(well.max())
    rows = np.flatnonzero(y > main)
    if rows.size == 0 or rows.size > max(1, ROW_SHARE * y.size):
        return None
    return rows, main


def find_oddities(pixels: np.ndarray, labels: np.ndarray) -> Oddities:
    """The odd cells and labels of a raw table ``pixels`` ``(N, D)``, ``labels`` ``(N,)`` (see the module docstring).

    Returns:
        an :class:`Oddities`, false when nothing is odd.
    """
    found = Oddities()
    cells = _cell_pattern(pixels)
    if cells is not None:
        pattern, r, c = cells
        found = Oddities(pattern, list(zip(r.tolist(), c.tolist())), pixels[r, c].astype(float).tolist())
    odd_labels = _label_oddities(labels)
    if odd_labels is not None:
        rows, main = odd_labels
        found = Oddities(found.pattern, found.cells, found.values, rows.tolist(),
                         np.asarray(labels)[rows].astype(np.int64).tolist(), main)
    return found
