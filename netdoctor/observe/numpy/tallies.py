"""Counts per class of the rows a program hands around (its outputs, its targets), counted in batches.

A training step hands the observer one small batch at a time: a forward's
output (N, C) or a vector of integer labels (N,). Counting each on arrival
costs a few NumPy calls (``argmax``, ``bincount``, an add: 6 us for 30 rows,
more than the step of a tiny net). :class:`ClassTally` keeps a copy of each
batch instead (0.6 us) and counts the copies together, with one ``argmax``
and one ``bincount`` over all of them, when they are read or when
:data:`PENDING` entries wait. A tally that is dropped before anyone reads
it (an evaluation segment pushed out of the observer's ring) is never
counted at all. The counts are those of counting each batch on arrival,
exactly: only when the counting happens changes.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

__all__ = ["ClassTally", "PENDING"]

PENDING = 1 << 15
"""Entries (rows x classes) waiting to be counted at most (256 KB of float64): past it they are counted at once."""


class ClassTally:
    """Counts per class: single rows of a known class, batches of output or code rows (their argmax per row), and
    batches of integer labels (their ``np.bincount``), the batches counted together when read (see the module)."""

    __slots__ = ("one", "many", "rows", "_pending", "_entries", "_finite")

    def __init__(self) -> None:
        self.one: dict[int, int] = {}
        """Rows of a class known on arrival (one target vector of a per-sample program), per class (a plain dict: a
        tally is made per update window, and a Counter costs a microsecond to make)."""
        self.many: np.ndarray | None = None
        """Counts per class of the batches counted so far."""
        self.rows = 0
        """Rows added (counted or waiting): a light counter, exact at any time."""
        self._pending: list[np.ndarray] = []
        self._entries = 0
        self._finite = True
        """Whether every row counted so far was finite (the rows waiting are looked at by :meth:`finite`)."""

    def add_one(self, top: int) -> None:
        """One row of class ``top``."""
        self.one[top] = self.one.get(top, 0) + 1
        self.rows += 1

    def add_rows(self, rows: np.ndarray) -> None:
        """A batch of rows (N, C): each counts for the class of its largest entry. Copied: the program may write into
        its array after handing it over (``probs[range(n), y] -= 1``), unless it is counted at once: a batch that fills
        the waiting room (a full batch of 4,000 rows, at every step) is counted as it comes, from the program's own
        array, which nothing then keeps (the rows of a (10, 4000) output are a transposed view: a copy of them is
        another 320 KB written per batch)."""
        self.rows += len(rows)
        if self._entries + rows.size > PENDING:
            self.count()  # (what waited first: the counts are sums, in any order)
            self._pending.append(rows if rows.dtype.kind == "f" else rows.astype(float))  # (argmax as of the copy's)
            self._entries = rows.size
            self.count()
            return
        self._pending.append(rows.astype(float))
        self._entries += rows.size

    def add_counts(self, counts: np.ndarray, n: int) -> None:
        """A batch of ``n`` labels by its counts per class (their ``np.bincount``, taken by the caller: it validated them)."""
        self._pending.append(counts)
        self.rows += n
        self._entries += counts.size
        if self._entries > PENDING:
            self.count()

    def _joined(self) -> list[np.ndarray]:
        """The rows waiting, one (N, C) array per width C (joined in place: they are not joined twice)."""
        widths: dict[int, list[np.ndarray]] = {}
        counts = []
        for p in self._pending:
            if p.ndim == 2:
                widths.setdefault(p.shape[1], []).append(p)
            else:
                counts.append(p)
        joined = [ps[0] if len(ps) == 1 else np.concatenate(ps) for ps in widths.values()]
        if any(len(ps) > 1 for ps in widths.values()):
            self._pending = counts + joined
        return joined

    def count(self) -> None:
        """Count what waits (one ``argmax`` over the rows of each width, one sum over the counts of each)."""
        if not self._pending:
            return
        parts = [p for p in self._pending if p.ndim == 1]
        for rows in self._joined():
            if self._finite and not np.isfinite(rows).all():
                self._finite = False
            parts.append(np.bincount(np.argmax(rows, axis=1), minlength=rows.shape[1]))
        self._pending, self._entries = [], 0
        width = max((len(p) for p in parts), default=0)
        if not width:
            return
        if self.many is None or len(self.many) < width:
            old, self.many = self.many, np.zeros(width, dtype=np.int64)
            if old is not None:
                self.many[: len(old)] += old
        by_width: dict[int, list[np.ndarray]] = {}
        for p in parts:
            by_width.setdefault(len(p), []).append(p)
        for w, ps in by_width.items():
            self.many[:w] += ps[0] if len(ps) == 1 else np.add.reduce(np.stack(ps), axis=0)

    def finite(self) -> bool:
        """Whether every row added (counted or waiting) is finite: no NaN or Inf in any entry."""
        if not self._finite:
            return False
        # (``isfinite`` warns of nothing; a sum would be one reduction less, but warns when it overflows or meets
        # inf - inf, in the program's own warnings)
        pending = self._pending
        if len(pending) == 1 and pending[0].ndim == 2:  # one batch per window: the usual training step
            return bool(np.isfinite(pending[0]).all())
        return all(bool(np.isfinite(rows).all()) for rows in self._joined())

    def __bool__(self) -> bool:
        return self.rows > 0

    def counter(self) -> Counter[int]:
        """Every class counted, with its count (classes never seen are absent)."""
        self.count()
        out = Counter(self.one)
        if self.many is not None:
            present = np.flatnonzero(self.many)
            out.update(dict(zip(present.tolist(), self.many[present].tolist())))
        return out
