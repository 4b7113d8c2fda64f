"""Light counters on every training step: what the network predicted against the labels it was trained on.

The statistics of :class:`~netdoctor.observe.torch.losses.LossWatch` are
taken on sampled steps only; whether the run learns at all needs more rows
than those give a short run (96 optimizer steps sample 12 of them). So the
classification losses with class targets, called with gradients on, add their
batches to a confusion matrix (labels x predictions, one ``index_add_`` on the
tensor's device, no host read) until it holds :data:`SEGMENT_ROWS` rows, and
the labels of *every* row to a label count; both are read and restarted at
each sampled step, where the watch reads its other numbers: :class:`StepCounts`
keeps one :class:`Segment` per stretch of steps between two sampled ones. The
rules read the training-batch accuracy of any stretch of the run from the
confusion matrices (the end of the run against the share of its most common
label: ``no-learning``) and how the labels are spread from the label counts
(``unshuffled-data``, ``constant-targets``): rows sorted by label and fed in
order put only the classes of the first batches after a sampled step into a
confusion matrix, so its labels are no sample of the run's.

Class targets are class indices, or rows of class probabilities (one-hot,
smoothed, a teacher's soft targets: what ``cross_entropy`` takes as
probabilities) counted as their most likely class: the class the row weighs
most is the one its gradient pulls the output towards, and is the label for a
one-hot or smoothed row. A row with no single most likely class (a uniform
row, a mixup of two classes at one half each) has no label and is not counted.

Cost: an argmax, an add, a comparison, a ``where`` and an ``index_add_`` per
counted loss call for at most :data:`SEGMENT_ROWS` rows per segment (one or
two steps in 16 at batch 128); past that, class indices are kept as they are
(a list append, no op of ours) and counted together with one ``cat`` and one
``bincount`` when the segment closes; probability rows take a ``topk``, a
comparison, a ``where`` and an ``index_add_`` per call. A kept label tensor
that the program changes in place before it is counted (its version counter
moved) is not counted, and that segment's label count is not said to be exact.
"""

from __future__ import annotations

import operator
from typing import Any

from netdoctor._lazy import dataclass

__all__ = ["Segment", "StepCounts", "class_targets", "StepLosses", "SEGMENTS", "SEGMENT_ROWS", "PENDING", "version_of"]

version_of = operator.attrgetter("_version")
"""A tensor's version counter, which each in-place change of it moves (PyTorch gives it no public name)."""

SEGMENT_ROWS = 256
"""Rows counted per segment at most: the later steps of a long stretch are not counted (their cost is saved; a
judgement over the end of the run needs a few hundred rows, and every segment adds up to this many)."""
PENDING = 256
"""Label tensors kept past the cap before they are counted (one ``cat`` and ``bincount`` for all of them)."""
SEGMENTS = 64
"""Segments kept; beyond it, neighbours are merged pairwise (the first one stays alone: the start of the run)."""


@dataclass
class Segment:
    """The training batches of optimizer steps ``first`` to ``last``: labels x predictions."""

    first: int
    last: int
    confusion: list[list[int]]
    """``confusion[label][predicted]``: rows of that label predicted as that class (at most :data:`SEGMENT_ROWS`)."""
    label_counts: list[int] | None = None
    """Rows per label over every counted row of the stretch (the confusion matrix's and those after its cap); None:
    the confusion matrix's rows only."""

    @property
    def rows(self) -> int:
        return sum(map(sum, self.confusion))

    @property
    def correct(self) -> int:
        return sum(row[k] for k, row in enumerate(self.confusion))

    def labels(self) -> list[int]:
        """Rows per label of the confusion matrix (the rows whose predictions were counted too)."""
        return [sum(row) for row in self.confusion]

    def all_labels(self) -> list[int]:
        """Rows per label over every counted row of the stretch."""
        return list(self.label_counts) if self.label_counts is not None else self.labels()

    @property
    def label_rows(self) -> int:
        """Rows whose labels were counted (every counted row of the stretch)."""
        return sum(self.all_labels())

    def predicted(self) -> list[int]:
        return [sum(col) for col in zip(*self.confusion)]

    def merged(self, other: Segment) -> Segment:
        return Segment(min(self.first, other.first), max(self.last, other.last),
                       [[a + b for a, b in zip(r, s)] for r, s in zip(self.confusion, other.confusion)],
                       [a + b for a, b in zip(self.all_labels(), other.all_labels())])


def class_targets(torch: Any, x: Any, t: Any) -> Any:
    """The class index (N,) of each row of targets ``t`` for scores ``x`` (N, C), C >= 2: ``t`` itself when it holds
    class indices, the most likely class of each row of class probabilities (-1 where the two largest tie: no label);
    None when ``t`` is neither, or does not match ``x``."""
    if not issubclass(type(t), torch.Tensor) or x.dim() != 2:
        return None
    n, C = int(x.shape[0]), int(x.shape[1])
    if t.dim() == 2 and t.dtype.is_floating_point and t.shape == x.shape and C >= 2:
        top = t.detach().topk(2, dim=1)
        # The most likely class, or -1 (not counted) where the two largest probabilities tie.
        t = torch.where(top.values[:, 0] > top.values[:, 1], top.indices[:, 0], -1)
    if t.dim() != 1 or t.dtype != torch.long or t.device != x.device or n != int(t.shape[0]) or C < 2:
        return None
    return t


class StepCounts:
    """Counts of every training loss call's predictions against its labels (see the module docstring)."""

    def __init__(self, torch: Any) -> None:
        self.torch = torch
        self.classes = 0
        """Classes of the loss counted (the first classification loss seen; another width is not counted)."""
        self._acc: Any = None
        """Flat ``classes * classes`` counts since the last segment closed (a tensor on the loss's device)."""
        self._labels: Any = None
        """Rows per label since the last segment closed, of the rows beyond the confusion matrix's cap (``classes + 1``
        slots, the last one for ignored rows; a tensor on the loss's device)."""
        self._first: int | None = None
        self._rows = 0
        self._ones: Any = None
        self._label_type: Any = None
        """The class of the label tensors counted so far (the fast path past the cap takes only the same class)."""
        self._pending: list[tuple[Any, int]] = []
        """Label tensors past the cap not yet counted, with their version counters (see :meth:`_count_pending`)."""
        self._changed = False
        """A pending label tensor was changed in place before it was counted: the segment's label count is not exact."""
        self.segments: list[Segment] = []

    def add(self, x: Any, t: Any, step: int) -> None:
        """One loss call: ``x`` the scores (N, C), ``t`` the class indices (N,) or class probabilities (N, C) (see the
        module docstring); ``step`` the optimizer step it is for."""
        torch = self.torch
        if (self._rows >= SEGMENT_ROWS and t.__class__ is self._label_type and t.dtype is torch.long and t.dim() == 1
                and x.dim() == 2 and x.shape[1] == self.classes):
            # Past the cap, class indices: the tensor is kept (no op of ours per call) and counted with the others in
            # one bincount when the segment closes, or when PENDING of them wait.
            self._pending.append((t, version_of(t)))
            if len(self._pending) >= PENDING:
                self._count_pending()
            return
        t = class_targets(torch, x, t)
        if t is None:
            return
        n, C = int(x.shape[0]), int(x.shape[1])
        if self.classes != C:
            if self.classes:
                return  # a second head: the first one is the one counted
            self.classes = C
        if self._acc is None or self._acc.device != x.device:
            self._acc = torch.zeros(C * C + 1, dtype=torch.long, device=x.device)
            self._labels = torch.zeros(C + 1, dtype=torch.long, device=x.device)
        if self._ones is None or self._ones.device != x.device or self._ones.shape[0] < n:
            self._ones = torch.ones(max(n, 256), dtype=torch.long, device=x.device)
        if self._first is None:
            self._first = step
        counted = t.ge(0)
        if self._rows >= SEGMENT_ROWS:
            # Past the cap: the labels alone (ignored rows, negative, go to the spare last slot; no host read).
            self._labels.index_add_(0, torch.where(counted, t, C), self._ones[:n])
            return
        self._label_type = t.__class__
        self._rows += n
        idx = x.detach().argmax(1).add_(t, alpha=C)  # label * C + predicted
        self._acc.index_add_(0, torch.where(counted, idx, C * C), self._ones[:n])

    def _count_pending(self) -> None:
        """Add the kept label tensors to the label count: one ``cat`` and one ``bincount`` (ignored rows, negative, in
        the spare last slot). A tensor changed in place since its loss call (its version counter moved: a label buffer
        the program refills) no longer holds the labels trained on: not counted, and the segment's label count is then
        not said to be exact (the confusion matrix's rows stand for it)."""
        pending, self._pending = self._pending, []
        kept = [t for t, version in pending if version_of(t) == version]
        if len(kept) < len(pending):
            self._changed = True
        if not kept:
            return
        C = self.classes
        dev = self._labels.device
        flat = self.torch.cat([t.to(dev) for t in kept])
        self._labels += self.torch.bincount(flat.masked_fill(flat < 0, C), minlength=C + 1)[: C + 1]

    def close(self, step: int) -> None:
        """End the current segment at optimizer step ``step`` (one host read)."""
        if self._acc is None or self._first is None:
            return
        if self._pending:
            self._count_pending()
        C = self.classes
        flat = self._acc[: C * C].tolist()
        more = self._labels[:C].tolist()
        self._acc.zero_()
        self._labels.zero_()
        changed, self._changed = self._changed, False
        first, self._first, self._rows = self._first, None, 0
        if not any(flat):
            return
        confusion = [flat[r * C:(r + 1) * C] for r in range(C)]
        labels = None if changed else [sum(row) + k for row, k in zip(confusion, more)]
        self.segments.append(Segment(first, max(step, first), confusion, labels))
        if len(self.segments) > SEGMENTS:
            head, rest = self.segments[0], self.segments[1:]
            self.segments = [head] + [rest[k].merged(rest[k + 1]) if k + 1 < len(rest) else rest[k] for k in range(0, len(rest), 2)]

    def since(self, step: int) -> list[Segment]:
        """The segments that begin at optimizer step ``step`` or later."""
        return [s for s in self.segments if s.first >= step]


class StepLosses:
    """The loss of every training step: the mean of the scalar losses computed with gradients on for optimizer step
    ``s`` (one for a plain loop; every closure evaluation of an L-BFGS step; every micro-batch of accumulated gradients).

    The values cost no host read of their own: :class:`~netdoctor.observe.torch.losses.LossWatch` reads every loss
    once anyway, to see whether it is finite. The sampled steps alone would judge the end of a run from a handful of
    steps (a closure step that happened to overshoot and recovered at the next step read as divergence), so the rules
    read the loss at the start and the end of the judged model's training from here. At most :data:`LIMIT` steps are
    kept: beyond, the middle is thinned (every second entry), the first and the last :data:`KEEP` steps stay whole.
    """

    LIMIT = 2048
    KEEP = 256

    def __init__(self) -> None:
        self.steps: list[int] = []
        self.values: list[float] = []
        self._step: int | None = None
        self._sum = 0.0
        self._n = 0

    @property
    def current_step(self) -> int | None:
        """The step whose losses are being summed (the latest one a loss was added for), None before any."""
        return self._step

    def add(self, step: int, value: float) -> None:
        """One finite scalar loss computed for optimizer step ``step``."""
        if step != self._step:
            self._flush()
            self._step = step
        self._sum += value
        self._n += 1

    def _flush(self) -> None:
        if self._step is None or not self._n:
            return
        self.steps.append(self._step)
        self.values.append(self._sum / self._n)
        self._step, self._sum, self._n = None, 0.0, 0
        if len(self.steps) > self.LIMIT:
            keep = self.KEEP
            self.steps[keep:-keep] = self.steps[keep:-keep:2]
            self.values[keep:-keep] = self.values[keep:-keep:2]

    def points(self, first: int, last: int | None = None) -> list[tuple[int, float]]:
        """(step, loss) of the steps ``first`` to ``last`` (None: to the end), in step order."""
        rows = list(zip(self.steps, self.values))
        if self._step is not None and self._n:
            rows.append((self._step, self._sum / self._n))  # the step still open
        return [(s, v) for s, v in rows if s >= first and (last is None or s <= last)]

    def between(self, first: int, last: int | None = None) -> list[float]:
        """The losses of the steps ``first`` to ``last`` (None: to the end), in step order."""
        return [v for _, v in self.points(first, last)]
