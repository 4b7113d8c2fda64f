"""The order the training rows come in: classes per block of consecutive rows, for ``unshuffled-data``.

Rows sorted by label and fed in that order (an export sorted by digit, never
shuffled) make every batch hold one or two classes: each step pulls the whole
network toward them, and by the end of an epoch it answers the classes it saw
last. A batch drawn at random from labels spread as ``p_k`` holds
``sum_k 1 - (1 - p_k)^n`` classes on average (:func:`~netdoctor.rules.batches.expected_classes`);
sorted rows hold far fewer.

A NumPy program's batch is whatever its updates apply: one sample (per-sample
SGD), a mini-batch, or the whole data set. :class:`BlockClasses` groups the
targets read at consecutive updates into blocks of at least
:data:`BLOCK_ROWS` rows (whole updates: one mini-batch of 32 or more, four
mini-batches of 8, 32 samples of per-sample SGD) and keeps each block's rows
and classes. Targets are read in sampled update windows only, so a block
never spans a gap: an update not read (or a count that goes back, a new run)
drops the block begun. Rows and classes only; the labels are never kept,
but the classes that filled a block alone are: sorted rows fill blocks
with one class after another, while targets that are nearly all one class
(a target table written into, labels scaled away) fill every block with
that same class, which is no order of the rows.
"""

from __future__ import annotations

import numpy as np

__all__ = ["BLOCK_ROWS", "BlockClasses"]

BLOCK_ROWS = 32
"""Rows of consecutive whole updates a block holds at least: a random block of 32 rows over 10 balanced classes holds
9.7 of them, sorted rows one or two."""
MAX_BLOCKS = 4096
"""Blocks kept at most (the first ones: a run that feeds sorted rows does so from its first epoch)."""


class BlockClasses:
    """Rows and classes per block of consecutive training rows (see the module docstring)."""

    __slots__ = ("blocks", "alone", "_rows", "_classes", "_last")

    def __init__(self) -> None:
        self.blocks: list[tuple[int, int]] = []
        """(rows, classes) of each block closed."""
        self.alone: set[int] = set()
        """The classes that filled a block alone: rows sorted by label fill blocks with each of them in turn, while
        targets that are nearly all one class (a target table written into) fill them with that one only."""
        self._rows = 0
        self._classes: set[int] = set()
        self._last: int | None = None

    def add(self, update: int, classes: tuple[int, ...] | list[int], rows: int) -> None:
        """``rows`` targets of ``classes`` read ``update`` updates into the run."""
        last = self._last
        if last is not None and update != last:
            if update != last + 1:  # an update not read between (or a new count): the block begun is no block
                self._rows, self._classes = 0, set()
            elif self._rows >= BLOCK_ROWS:
                if len(self.blocks) < MAX_BLOCKS:
                    self.blocks.append((self._rows, len(self._classes)))
                    if len(self._classes) == 1:
                        self.alone |= self._classes
                self._rows, self._classes = 0, set()
        self._last = update
        self._rows += rows
        self._classes.update(classes)

    def add_labels(self, update: int, counts: np.ndarray, rows: int) -> None:
        """A batch of integer labels by its counts per class (``np.bincount``)."""
        self.add(update, counts.nonzero()[0].tolist(), rows)

    def add_rows(self, update: int, rows: np.ndarray) -> None:
        """A batch of code rows (N, C): each of the class of its largest entry."""
        # the classes present, in order: counted, not sorted (np.unique sorted 4,000 of them: 0.6 ms a full batch)
        self.add(update, np.flatnonzero(np.bincount(rows.argmax(axis=1), minlength=rows.shape[1])).tolist(), len(rows))
