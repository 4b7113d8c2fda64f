"""Does the run learn: the accuracy (and, for probability outputs, the cross-entropy) of the network's own outputs on
the training batches the program hands it, early in the run and late.

The observer already sees, per training step, the forward's output rows and the targets the program compares them
with (handed to the gradient's function, to a loss, or bound by an inline loop). :class:`TrainingAccuracy` pairs the
two when they belong to the same step (read between the same two updates, with as many rows) and keeps copies of the
pairs in two bounded windows: the first :data:`EARLY_ROWS` rows paired, and the last :data:`LATE_ROWS`. Nothing is
counted on arrival (a copy of each batch, as :class:`~netdoctor.observe.numpy.tallies.ClassTally` does): the argmax,
the comparison and the loss are computed once, over each window, when the rules read them.

An output with no targets of its step (an evaluation, a forward whose targets are never seen) is never paired: a
pending output or target is dropped once an update separates it from its partner. Where the forward runs untraced
between the tracer's windows (a held step), only the windows' rows are paired: each window names the updates it read
(:attr:`~netdoctor.rules.evidence.TrainingCurve.late_read`), and its accuracy is exactly that of those updates' rows.
"""

from __future__ import annotations

import math
from collections import deque
from typing import TYPE_CHECKING

import numpy as np

from netdoctor.observe.numpy.roles import probability_rows

if TYPE_CHECKING:
    from netdoctor.rules.evidence import TrainingCurve

__all__ = ["TrainingAccuracy", "EARLY_ROWS", "LATE_ROWS", "MIN_CURVE_ROWS"]

EARLY_ROWS = 256
"""Training rows (outputs paired with their targets) of the early window: the first ones seen."""
LATE_ROWS = 512
"""Training rows of the late window: the last ones seen."""
MIN_CURVE_ROWS = 32
"""Rows each window needs before an accuracy is read from it."""

Truth = int | np.ndarray
"""The targets of a step: one class (a per-sample program's target vector, decoded), integer labels (N,), or code
rows (N, C) whose largest entry is the class."""


def _rows(t: Truth) -> int:
    return 1 if isinstance(t, int) else len(t)


def _classes(t: Truth) -> np.ndarray:
    if isinstance(t, int):
        return np.array([t])
    return t if t.ndim == 1 else t.argmax(axis=1)


class TrainingAccuracy:
    """Pairs of the forward's output rows and their step's targets, in an early and a late window (see the module)."""

    __slots__ = ("_out", "_out_at", "_out_calls", "_truth", "_truth_at", "early", "early_rows", "late", "late_rows", "pairs",
                 "_curve", "windows", "_read_at", "_raw", "_met")

    def __init__(self) -> None:
        self._out: np.ndarray | None = None
        self._out_at = -1
        self._out_calls = -1
        self._truth: Truth | None = None
        self._truth_at = -1
        self.early: list[tuple[int, np.ndarray, Truth]] = []
        """(update, output rows (N, C), targets) of the early window, in order."""
        self.early_rows = 0
        self.late: deque[tuple[int, np.ndarray, Truth]] = deque()
        self.late_rows = 0
        self.pairs = 0
        """Rows paired over the run."""
        self._curve: tuple[int, str, TrainingCurve | None] | None = None
        """The last curve read, with the pairs and the name it was read at (the rules read it several times)."""
        self._raw: np.ndarray | None = None
        """The waiting targets as the program wrote them, when they were decoded to one class (a smoothed row)."""
        self.windows = 0
        """Update windows in which targets were read (each counted once, however many batches it held)."""
        self._read_at = -1
        self._met: tuple[int, np.ndarray] | None = None
        """The output rows the last targets read were paired with when the output came first, and the update."""

    def output(self, rows: np.ndarray, update: int, gradient_calls: int = -1) -> None:
        """The forward returned (or stored) output rows (N, C), ``update`` updates into the run, after
        ``gradient_calls`` calls of the gradient's function (-1: not counted; see :meth:`counted_late`). Copied: the
        program may write into its output after (``probs[range(n), y] -= 1``)."""
        t = self._truth
        if t is not None and self._truth_at == update and _rows(t) == len(rows):
            self._truth = None
            self._keep(update, rows.astype(float), t)
            return
        self._out, self._out_at, self._out_calls = rows.astype(float), update, gradient_calls

    def targets(self, truth: Truth, update: int, raw: np.ndarray | None = None) -> None:
        """The targets of a step (see :data:`Truth`; arrays are copied), read ``update`` updates into the run (``raw``:
        the target vector a class was decoded from, kept while it waits, so that it is never taken for its output)."""
        if update != self._read_at:
            self.windows += 1
            self._read_at = update
        out = self._out
        if out is not None and self._out_at == update and len(out) == _rows(truth):
            self._out = None
            self._met = (update, out)
            self._keep(update, out, truth if isinstance(truth, int) else np.array(truth))
            return
        self._met = None
        self._truth, self._truth_at = (truth if isinstance(truth, int) else np.array(truth)), update
        self._raw = raw if isinstance(truth, int) and raw is not None else None

    def counted_late(self, update: int, gradient_calls: int) -> None:
        """An update was counted at the call of the gradient's function, ``update`` updates into the run, after
        ``gradient_calls`` calls of it. Where the step before ran unwatched (a held loop head), its update is first seen
        there, after the forward of the step that call belongs to returned: a forward never steps the weights, so an
        output waiting from the update before is this step's, and waits for the targets this call hands over, not for
        those of the step after (np2963: each batch's output paired with the next batch's targets, read as 28% -> 24%
        while it trained at 99%). Only at the step's first gradient call (none since the output was read): a step that
        calls it once per layer (``layer.backward(delta, lr)`` stepping that layer) counts its own update at the second
        call, and its output stays with the targets read at the first."""
        if self._out is not None and self._out_at == update - 1 and self._out_calls == gradient_calls:
            self._out_at = update

    def pending(self, update: int) -> int:
        """How many output rows read at ``update`` wait for their targets (0: none)."""
        out = self._out
        return len(out) if out is not None and self._out_at == update else 0

    def waiting_rows(self, update: int) -> np.ndarray | None:
        """The output rows (N, C) read at ``update`` that wait for their targets, or None."""
        return self._out if self._out is not None and self._out_at == update else None

    def met(self, update: int) -> np.ndarray | None:
        """The output rows (N, C), read before them, that the targets read last at ``update`` were paired with (a
        forward run before the backward is handed the targets), or None."""
        met = self._met
        return met[1] if met is not None and met[0] == update else None

    def waiting(self, update: int) -> int:
        """How many rows of targets read at ``update`` wait for their output rows (0: none)."""
        t = self._truth
        return _rows(t) if t is not None and self._truth_at == update else 0

    def truth(self, update: int) -> np.ndarray | None:
        """The classes (N,) of the targets read at ``update`` that wait for their output rows, or None."""
        t = self._truth
        return _classes(t) if t is not None and self._truth_at == update else None

    def is_truth(self, rows: np.ndarray) -> bool:
        """Whether ``rows`` hold the values of the targets waiting for their output rows (smoothed one-hot targets
        are probability rows too)."""
        t = self._truth
        if isinstance(t, int):  # one class decoded from a target vector: that vector, as the program wrote it
            raw = self._raw
            return raw is not None and raw.size == rows.size and bool(np.array_equal(raw.reshape(rows.shape), rows))
        return isinstance(t, np.ndarray) and t.shape == rows.shape and bool(np.array_equal(t, rows))

    def _keep(self, update: int, out: np.ndarray, truth: Truth) -> None:
        n = len(out)
        self.pairs += n
        if self.early_rows < EARLY_ROWS:
            self.early.append((update, out, truth))
            self.early_rows += n
            return
        self.late.append((update, out, truth))
        self.late_rows += n
        while self.late_rows - len(self.late[0][1]) >= LATE_ROWS:
            self.late_rows -= len(self.late.popleft()[1])

    def curve(self, where: str) -> TrainingCurve | None:
        """The two windows' accuracies (and cross-entropies, when every output row is a probability distribution), or
        None when either window holds fewer than :data:`MIN_CURVE_ROWS` rows. ``where``: the forward, as the report
        names it."""
        if self._curve is not None and self._curve[:2] == (self.pairs, where):
            return self._curve[2]
        c = self._read(where)
        self._curve = (self.pairs, where, c)
        return c

    def _read(self, where: str) -> TrainingCurve | None:
        from netdoctor.rules.evidence import TrainingCurve  # read when the program ended: not imported while it runs

        late = list(self.late) if self.late_rows >= MIN_CURVE_ROWS else []
        if not late and self.early_rows >= 2 * MIN_CURVE_ROWS:
            # a short run: its first half early, its second half late
            half = len(self.early) // 2
            early, late = self.early[:half], self.early[half:]
        else:
            early = self.early
        if sum(len(c[1]) for c in early) < MIN_CURVE_ROWS or sum(len(c[1]) for c in late) < MIN_CURVE_ROWS:
            return None
        acc0, loss0, _, n0 = _window(early)
        acc1, loss1, truth1, n1 = _window(late)
        kind = ("cross-entropy" if loss0 is not None and loss1 is not None and (math.isfinite(loss0) or math.isfinite(loss1))
                else "")
        chance = float(np.bincount(truth1).max()) / len(truth1)
        return TrainingCurve(
            where=where, early=acc0, early_rows=n0, early_updates=(early[0][0], early[-1][0]),
            late=acc1, late_rows=n1, late_updates=(late[0][0], late[-1][0]), chance=chance,
            loss_early=loss0 if kind else None, loss_late=loss1 if kind else None, loss=kind,
            classes=int(early[0][1].shape[1]), early_read=_runs(early), late_read=_runs(late))


def _runs(chunks: list[tuple[int, np.ndarray, Truth]]) -> tuple[tuple[int, int], ...]:
    """The updates a window's pairs were read at, as runs of consecutive updates ``(first, last)``, in order: where the
    forward ran untraced between traced windows (a held step) the window holds those windows' rows only, and its
    accuracy is theirs, not that of every step between its first update and its last."""
    runs: list[tuple[int, int]] = []
    for update, _, _ in chunks:
        if runs and update <= runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], max(update, runs[-1][1]))
        else:
            runs.append((update, update))
    return tuple(runs)


def _window(chunks: list[tuple[int, np.ndarray, Truth]]) -> tuple[float, float | None, np.ndarray, int]:
    """(accuracy, mean cross-entropy or None, the target classes, rows) over a window's pairs."""
    out = np.concatenate([c[1] for c in chunks])
    truth = np.concatenate([_classes(c[2]) for c in chunks]).astype(np.intp, copy=False)
    with np.errstate(all="ignore"):
        right = out.argmax(axis=1) == truth
        loss = None
        finite = bool(np.isfinite(out).all())
        if finite and out.shape[1] > 1 and probability_rows(out):
            p = out[np.arange(len(out)), np.minimum(truth, out.shape[1] - 1)]
            loss = float(-np.log(np.maximum(p, 1e-300)).mean())
        elif not finite:
            loss = float("nan")  # outputs that went NaN or Inf: no loss to fall (the rules read nan as not falling)
    return float(right.mean()), loss, truth, len(out)
