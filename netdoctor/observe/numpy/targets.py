"""The targets the NumPy observer's network trains on: read from the calls handed them, from the calls handed the
forward's output, from the names a loop binds, or from what a target builder returns; counted by class, with the
labels of the data sets and the output error of the batch.

Functions of ``self: NumpyBackend``, bound in :class:`~netdoctor.observe.numpy.backend.NumpyBackend` under their own
names (not a mixin: mypy checks their bodies against the class, whose state is declared there).
"""

from __future__ import annotations

import math
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import field
from functools import partial
from types import CodeType, FrameType
from typing import TYPE_CHECKING, Any

import numpy as np

from netdoctor._lazy import dataclass
from netdoctor.buffers.peek import is_array
from netdoctor.monitor.layer_stats import infer_kind
from netdoctor.nn.threads import dot_one_thread, norm_one_thread
from netdoctor.observe.numpy.arrays import head as leading_entries
from netdoctor.observe.numpy.arrays import own_dict, weak
from netdoctor.observe.numpy.roles import (
    class_rows,
    code_like,
    flat_arrays,
    label_vector,
    multi_hot,
    one_hot,
    one_top,
    probability_rows,
    soft_targets,
)
from netdoctor.observe.numpy.tallies import ClassTally
from netdoctor.observe.source import function_loop_names, loop_names
from netdoctor.observe.tracer import caller_of

if TYPE_CHECKING:
    from netdoctor.observe.numpy.backend import NumpyBackend

@dataclass
class BuiltTargets:
    """The class codes the program's target builder returned (a function given a label that returns a one-hot or
    softened code row: ``target_for(label)``), tallied apart from the targets handed to the training step: they
    stand for the targets trained on when no call of the step was seen handed any (the step's function only applies
    the update, ``sgd(W, dW, lr)``; the loss is computed inline)."""

    counts: Counter = field(default_factory=Counter)
    """Rows per class (the code's largest entry)."""
    values: dict[bytes, int] = field(default_factory=dict)
    """Distinct code rows (at most 64), with how often each was seen."""
    samples: int = 0
    args: list[float] = field(default_factory=list)
    """The labels the builder was given (its scalar argument), at most 512."""
    calls: list[tuple[str, int, str]] = field(default_factory=list)
    """Where the builder was called from: (file, line, function), at most 4."""
    codes: dict[bytes, int] = field(default_factory=dict)
    """One returned vector's bytes (dtype, shape, values) -> its class, or -1 when it encodes none (decoded once)."""


INLINE_TRIES = 64
"""Loop heads after an update at which a loop's names are looked at for targets before the look stops (a loop keeping
its targets under no name of its own: ``T[idx]`` written into the expression)."""
BESIDE_TRIES = 64
"""Looks for probability rows beside the targets (:func:`_probabilities_beside`) that found none, with none ever found,
after which the look stops: a network whose output is no distribution (sigmoid units, a linear output) has none to find,
and each look tested every array of the step's locals at every deep return of the gradient's function (0.2 ms each on
mini-batches of 10: a fifth of the observer's time)."""


def _encodes_classes(rows: np.ndarray, *, several: bool = True) -> bool:
    """Whether target rows (from :func:`class_rows`) hold a code per row (one-hot, +-1, 0.01/0.99) or integer
    labels, or (``several``) 0/1 rows marking several classes (:func:`multi_hot`): a gradient has many values, or no
    single top entry per row. A code row holds two values (:func:`code_like`: its class's, and one for every other
    class): a single output error ``p - t`` of three classes holds three values at most too, its largest at a class
    that is not the sample's. Rows of many values that name a class (a label smoothing toward the class prior, a
    teacher's soft targets) are read by :class:`SoftRows`, which needs them to come back.

    ``several=False`` where the output is compared with its targets (:func:`_compared`): a 0/1 array handed beside
    the output there may be a mask of it."""
    if not (rows.ndim == 2 and rows.dtype.kind == "f"):
        return True
    return code_like(rows) or several and multi_hot(rows)


SOFT_ROWS = 64
"""Distinct rows a :class:`SoftRows` table keeps per argument (a label smoothing has one per class)."""
SOFT_NAMES = 8
"""Arguments (names) whose rows a :class:`SoftRows` keeps tables for."""


@dataclass
class SoftRows:
    """Target rows of many values, each naming a class by its largest entry: a label smoothing toward the class prior
    (``0.9 * one_hot + 0.1 * prior``: as many distinct values as classes), a fixed teacher's soft targets per class.

    Their form alone (non-negative, summing to 1, one largest entry: :func:`soft_targets`) is an output's too, so they
    are read only once they came back: every row of a batch was seen before, at an earlier update, under the same
    name. A target row is the same whatever the weights are; an output row is not, not even a collapsed network's (its
    rows are all alike within a batch, and move with the output layer at every update). The forward's last output is
    excluded before (by identity and by value: :func:`_is_output`), which keeps a frozen collapsed output out too.
    """

    tables: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=dict)
    """Per name: the distinct rows seen (M, C), the update each was first seen at (M,), whether each came back at a
    later update (M,)."""

    def confirmed(self, name: str, rows: np.ndarray) -> bool:
        """Whether every row of ``rows`` (N, C) is one that came back under ``name`` already (nothing recorded): the
        cheap test of a batch of targets read before."""
        t = self.tables.get(name)
        if t is None or rows.ndim != 2 or t[0].shape[1] != rows.shape[1] or not t[2].any():
            return False
        seen = t[0][t[2]]
        return bool((rows[:, None, :] == seen[None, :, :]).all(axis=2).any(axis=1).all())

    def known(self, name: str, rows: np.ndarray, update: int) -> bool:
        """Whether every row of ``rows`` (N, C) came back: seen under ``name`` at an update before ``update`` (the
        rows are recorded as seen now either way)."""
        t = self.tables.get(name)
        if t is None or t[0].shape[1] != rows.shape[1]:
            if t is None and len(self.tables) >= SOFT_NAMES:
                return False
            first = np.unique(rows, axis=0)[:SOFT_ROWS]
            self.tables[name] = (first, np.full(len(first), update), np.zeros(len(first), bool))
            return False
        seen, at, back = t
        eq = (rows[:, None, :] == seen[None, :, :]).all(axis=2)  # (N, M): N x M x C compares, M <= 64
        hit = eq.any(axis=1)
        idx = eq.argmax(axis=1)[hit]
        back[idx] |= at[idx] < update
        if hit.all():
            return bool(back[idx].all())
        new = np.unique(rows[~hit], axis=0)
        need = len(seen) + len(new) - SOFT_ROWS
        if need > 0:  # full: the oldest rows seen once at an earlier update (an output's) make room
            once = np.flatnonzero(~back & (at < update))[:need]
            keep = np.ones(len(seen), bool)
            keep[once] = False
            seen, at, back = seen[keep], at[keep], back[keep]
        new = new[:max(SOFT_ROWS - len(seen), 0)]
        self.tables[name] = (np.concatenate([seen, new]), np.concatenate([at, np.full(len(new), update)]),
                             np.concatenate([back, np.zeros(len(new), bool)]))
        return False


class TargetRead:
    """What one array of target rows' values decide, each read once while the array comes back unchanged: a value of
    :class:`~netdoctor.observe.numpy.arrays.ArrayMemo` (a full-batch program hands its one target array to its
    gradient's function at every step: whether its 4,000 rows are class codes and name one class each, its one-hot
    rows and the program's copy of them, and its count per class were worked out again at every deep step, 0.3 ms).

    It keeps only what it derived (copies, counts), never the program's array or a view of it: the memo keeps that
    array weakly, and its refcounts stay the program's. Each reading takes the rows it is about (the memo hands this
    object back only while the array equals, entry for entry, the copy it made, so the rows are those it read first).
    Its arrays are handed to the window's readers, which only read them.
    """

    __slots__ = ("_codes", "_top", "_counts", "_asked", "_T", "_raw")

    def __init__(self) -> None:
        self._codes: bool | None = None
        self._top: bool | None = None
        self._counts: np.ndarray | None = None
        self._asked = False
        self._T: np.ndarray | None = None
        self._raw: np.ndarray | None = None

    def codes(self, rows: np.ndarray) -> bool:
        """:func:`_encodes_classes` of ``rows``."""
        if self._codes is None:
            self._codes = _encodes_classes(rows)
        return self._codes

    def one_top(self, rows: np.ndarray) -> bool:
        """:func:`~netdoctor.observe.numpy.roles.one_top` of ``rows``."""
        if self._top is None:
            self._top = one_top(rows)
        return self._top

    def counts(self, rows: np.ndarray) -> np.ndarray | None:
        """The rows' count per class (float code rows (N, C), all finite: each counts for the class of its largest entry,
        the counts :class:`~netdoctor.observe.numpy.tallies.ClassTally` would take), from the second time asked; None
        the first time (an array seen once is counted by the tallies as it comes: a small batch waits there to be
        counted with others, cheaper than counting it alone), and for rows that are not finite float code rows."""
        if not self._asked:
            self._asked = True
            return None
        if self._counts is None and rows.ndim == 2 and len(rows) > 1 and rows.dtype.kind == "f" and bool(
                np.isfinite(rows).all()):
            self._counts = np.bincount(np.argmax(rows, axis=1), minlength=rows.shape[1])
        return self._counts

    def one_hot(self, rows: np.ndarray, n: int) -> np.ndarray:
        """:func:`~netdoctor.observe.numpy.roles.one_hot` of ``rows``."""
        if self._T is None:
            self._T = one_hot(rows, n)
        return self._T

    def raw(self, rows: np.ndarray) -> np.ndarray:
        """``rows`` as float, as the program wrote them (beside their one-hot rows)."""
        if self._raw is None:
            self._raw = rows.astype(float)
        return self._raw


def _by_rows(self: NumpyBackend) -> bool:
    """Whether the network keeps a sample per row (a square batch of targets is then read as it stands)."""
    return self.layout is not None and self.layout[0] == "rows"


def _is_output(self: NumpyBackend, v: np.ndarray, rows: np.ndarray) -> bool:
    """Whether ``v`` (rows ``rows``) is the forward's last output: the same array, or a first row equal to the output's
    first row or to its softmax (a copy of it, or probabilities computed from its logits outside the forward; a
    collapsed network's rows are all that one row)."""
    if self._last_out is None:
        return False
    ref, r = self._last_out
    if v is ref():
        return True
    if r.shape != rows[0].shape:
        return False
    with np.errstate(all="ignore"):
        e = np.exp(r - r.max())
        return bool(np.array_equal(rows[0], r) or np.abs(rows[0] - e / e.sum()).max() <= 1e-12)


def _soft_read(self: NumpyBackend, name: str, v: np.ndarray, rows: np.ndarray) -> bool:
    """Whether rows of many values (N, C) handed or bound as ``name`` are soft targets that came back (see
    :class:`SoftRows`); rows of that form are recorded as seen."""
    return self.soft_rows.confirmed(name, rows) or (rows.ndim == 2 and not self._is_output(v, rows) and soft_targets(
        rows) and self.soft_rows.known(name, rows, self.updates))  # (the output itself is told by identity, at once)


def _tally_rows(rows: np.ndarray, counts: Counter, values: dict[bytes, int]) -> None:
    """Count target rows by class (integer labels, or code rows by their largest entry) and keep a few distinct rows."""
    if rows.ndim == 1:  # integer labels
        counts.update(rows.astype(int).tolist())
        for r in np.unique(rows)[:8]:
            if len(values) < 64:
                values.setdefault(np.asarray(r).tobytes(), 0)
        return
    if len(rows) == 1:
        counts[int(np.argmax(rows[0]))] += 1
    else:
        counts.update(np.argmax(rows, axis=1).tolist())
    for r in rows[:4]:
        key = r.tobytes()
        if key in values:
            values[key] += 1
        elif len(values) < 64:
            values[key] = 1


def _linear_error(loc: dict[str, Any], targets: np.ndarray | None) -> np.ndarray | None:
    """``output - targets`` of a linear output among a function's locals: the local ``O`` (the targets' shape) for
    which another local is an exact multiple of ``O - targets`` (the output error a squared error backpropagates,
    ``d = (out - t) / n`` or ``d = out - t``); None when no such pair is there."""
    if targets is None:
        return None
    if targets.shape[0] != targets.shape[1]:  # a column layout keeps the targets as (classes, rows)
        for t in (targets, targets.T):
            E = _linear_error_as(loc, t)
            if E is not None:
                return E if t is targets else E.T
        return None
    return _linear_error_as(loc, targets)


def _linear_error_as(loc: dict[str, Any], targets: np.ndarray) -> np.ndarray | None:
    same = [v for v in list(loc.values())[:64] if issubclass(type(v), np.ndarray) and v.shape == targets.shape
            and v.dtype.kind == "f" and v is not targets and np.isfinite(v).all()]
    # the sums of products over the entries in one pass each on flat views, on the observer's own thread (``einsum``
    # sums in its own loop: ``np.dot`` and ``np.linalg.norm`` hand 40,000 entries to BLAS, whose threads the
    # program's environment sets: 11-14 ms a call instead of 0.5 ms with two threads on a busy machine), and no
    # temporary per product (a full batch's (10, 4000) error is looked at in every deep window)
    flat: dict[int, np.ndarray] = {}  # (a local's flat view: a copy when it is not contiguous, made once and only when read)
    squares: dict[int, float] = {}  # (a local's sum of squares, read by _apart_at_head: once per local, not per error)
    for o in same:
        with np.errstate(all="ignore"):
            E = o - targets
            e = E.reshape(-1)
            ee = dot_one_thread(e, e)
            if ee == 0 or not math.isfinite(ee):
                continue
            for d in same:
                if d is o:
                    continue
                dd = squares.get(id(d))
                if dd is None:
                    dd = squares[id(d)] = _squares(d)
                if _apart_at_head(d, e, dd):
                    continue
                f = flat.get(id(d))
                if f is None:
                    f = flat[id(d)] = d.reshape(-1)
                k = dot_one_thread(f, e) / ee
                if k != 0:
                    r = e * k
                    np.subtract(f, r, out=r)
                    if norm_one_thread(r) <= 1e-9 * max(norm_one_thread(f), 1e-300):
                        return E
    return None


HEAD_ENTRIES = 256
"""Leading entries of a local that :func:`_apart_at_head` compares with a candidate output error first."""

APART = 1e-6
"""Residual of the leading entries, over the whole local's norm, beyond which :func:`_linear_error_as`'s test (a
residual within 1e-9 of the local's norm) cannot pass: a margin of 1,000 over that test's limit, far beyond rounding."""


def _squares(d: np.ndarray) -> float:
    """``sum(d * d)`` on any layout, without a copy."""
    axes = "ijklmn"[:d.ndim]
    return float(np.einsum(f"{axes},{axes}->", d, d))


def _apart_at_head(d: np.ndarray, e: np.ndarray, dd: float) -> bool:
    """Whether local ``d`` (``dd``: :func:`_squares` of it) is surely no multiple of the flat error ``e`` (``d``'s
    shape, C order), from its first :data:`HEAD_ENTRIES` entries: for every ``k``, ``|d - k e|`` is at least the
    residual of the head's own best fit ``|d_h - k_h e_h|``, so a head residual above :data:`APART` of ``|d|`` fails the
    whole test whatever ``k`` it reads. A full batch's targets beside its output error (40,000 entries, the targets a
    transposed view) are told apart without a copy of them and three passes over them."""
    dh, eh = leading_entries(d, HEAD_ENTRIES), e[:HEAD_ENTRIES]
    ss = dot_one_thread(eh, eh)
    r = dh - (dot_one_thread(dh, eh) / ss) * eh if ss > 0 else dh
    return math.isfinite(dd) and dot_one_thread(r, r) > (APART * APART) * dd


LABEL_TRIALS, LABEL_AGREE = 8, 6
"""Calls of the gradient's function handed an integer below the output's width that are checked before that argument
is read as the sample's class (:class:`ScalarLabels`), and how many of them must show its output error."""


@dataclass
class ScalarLabels:
    """A sample's class handed to the gradient's function as one integer (``gradients(params, x, t)`` with ``t`` a
    Python or NumPy int, ``train_step(x, label)``), told from an epoch or a layer index handed the same way by what the
    function computes with it: an output error that is negative at that class and nowhere else (``p - onehot(t)`` of a
    softmax, ``(o - onehot(t)) * o * (1 - o)`` of sigmoids, ``(y - code(t)) * (1 - y**2)`` of a tanh under +-1 codes),
    left among its locals when it returns. :data:`LABEL_AGREE` of :data:`LABEL_TRIALS` calls must show it; the labels
    of the calls tried are counted once the argument is read."""

    name: str = ""
    """The argument read as the class, once confirmed."""
    pending: tuple[str, int] | None = None
    """The argument and its value handed to the call under trial (checked at its return)."""
    trials: dict[str, list[int]] = field(default_factory=dict)
    """Per argument: the values of the calls tried, and (``agree``) how many showed the error."""
    agree: Counter = field(default_factory=Counter)
    rejected: set[str] = field(default_factory=set)
    beside: str = ""
    """A local of the gradient function's caller read as the class, once confirmed (:func:`_label_beside`)."""

    def tried(self, key: str, label: int, shows_error: bool) -> list[int] | None:
        """One call's trial of ``key`` handed ``label``: the labels of every call tried once :data:`LABEL_AGREE` of
        them showed the output error of their class (``key`` is then the class's), else None; ``key`` is rejected
        once more than :data:`LABEL_TRIALS` - :data:`LABEL_AGREE` did not."""
        tried = self.trials.setdefault(key, [])
        tried.append(label)
        self.agree[key] += shows_error
        if self.agree[key] >= LABEL_AGREE:
            return tried
        if len(tried) - self.agree[key] > LABEL_TRIALS - LABEL_AGREE:
            self.rejected.add(key)
        return None


def _scalar_label(v: Any, n_out: int) -> int | None:
    """``v`` as a class index below ``n_out``: a Python or NumPy integer (never a bool), else None."""
    t = type(v)
    if t is int or issubclass(t, np.integer):
        k = int(v)
        return k if 0 <= k < n_out else None
    return None


def _error_at(loc: dict[str, Any], value: Any, label: int, n_out: int) -> bool:
    """Whether a vector of ``n_out`` entries among a function's locals or in what it returned is an output error of
    class ``label``: negative at that entry, non-negative at every other (what every loss that pulls the output toward
    its class leaves, before the layers below)."""
    arrays = [v for v in list(loc.values())[:64] if issubclass(type(v), np.ndarray)] + flat_arrays(value)
    for v in arrays:
        if v.size == n_out and v.ndim <= 2 and v.dtype.kind == "f":
            e = v.reshape(-1)
            if e[label] < 0 and int((e < 0).sum()) == 1:
                return True
    return False


def _scalar_label_return(self: NumpyBackend, frame: FrameType, value: Any) -> None:
    """At the return of a call of the gradient's function whose integer argument is under trial: did it leave the
    output error of that class? Confirmed, the argument is the targets' from now on (the calls tried counted)."""
    labels = self.scalar_labels
    name, label = labels.pending  # type: ignore[misc]
    labels.pending = None
    sizes = self.layout[1] if self.layout else None
    if not sizes or name in labels.rejected or labels.name:
        return
    tried = labels.tried(name, label, _error_at(frame.f_locals, value, label, sizes[-1]))
    if tried is not None:
        labels.name = self.target_arg = name
        for k in tried:
            self._count_one_target(k, self._label_row(k, sizes[-1]))


def _count_told_label(self: NumpyBackend, loc: dict[str, Any], name: str, n_out: int) -> bool:
    """The sample's class under ``name``, told before (:class:`ScalarLabels`), counted as its one-hot row; False when
    ``name`` holds no integer below ``n_out`` at this call."""
    k = _scalar_label(loc.get(name), n_out)
    if k is None:
        return False
    self._count_one_target(k, self._label_row(k, n_out))
    return True


def _scalar_label_call(self: NumpyBackend, code: CodeType, loc: dict[str, Any], n_out: int) -> bool:
    """A call of the gradient's function handed no array of targets: its integer argument read as the sample's class
    once told (counted: True), else the first integer below the output's width not yet rejected put on trial (see
    :class:`ScalarLabels`)."""
    labels = self.scalar_labels
    if labels.name:
        return _count_told_label(self, loc, labels.name, n_out)
    for name in code.co_varnames[: code.co_argcount]:
        k = _scalar_label(loc.get(name), n_out)
        if k is not None and name not in labels.rejected:
            labels.pending = (name, k)
            break
    return False


def _label_row(self: NumpyBackend, label: int, n_out: int) -> np.ndarray:
    """The one-hot row of class ``label`` (made once per class): what a class handed as an integer stands for."""
    row = self._label_rows.get(label)
    if row is None:
        row = self._label_rows[label] = one_hot(np.array([label]), n_out)[0]
    return row


def _handed_vector(self: NumpyBackend, name: str, v: np.ndarray, n_out: int, n_in: int) -> int:
    """The class of one target vector handed to the gradient's function as ``name`` (a per-sample program), decoded
    once per distinct vector; -1 when it is none, or not yet known to be one: a target vector comes back (one per
    class), while an output error ``p - t`` of two classes, ``[-a, a]``, has a code's form too but moves with the
    weights, so none is read before the name handed one that came back."""
    key = f"{v.dtype.str}{v.shape}".encode() + v.tobytes()
    top = self._target_codes.get(key)
    back = top is not None
    if top is None:
        rows = class_rows(v, n_out, n_in, rows=_by_rows(self))
        top = -1 if rows is None else int(np.argmax(rows[0])) if _encodes_classes(rows) else _soft_class(
            self, name, v, rows)
        if top != -2 and len(self._target_codes) < 4096:  # (-2: soft, not come back yet: asked again)
            self._target_codes[key] = top
    if top < 0:
        return -1
    if name not in self._codes_back:
        if not back:
            return -1
        self._codes_back.add(name)
    return top


def _soft_class(self: NumpyBackend, name: str, v: np.ndarray, rows: np.ndarray) -> int:
    """The class of one target vector's ``rows`` (1, C) that encode none by their few values: its largest entry's
    when they are soft targets that came back (:func:`_soft_read`), -2 when they are soft targets not yet seen back,
    else -1. :func:`_soft_read`'s tests in another order (``soft_targets`` before the look at the forward's output):
    the same answer, and an output error handed at every sample (``layer.backward(d)``, a new vector each time) is
    told from its form once instead of twice, without the softmax of the last output."""
    soft = soft_targets(rows)
    if self.soft_rows.confirmed(name, rows) or soft and rows.ndim == 2 and not self._is_output(v, rows) and (
            self.soft_rows.known(name, rows, self.updates)):
        return int(np.argmax(rows[0]))
    return -2 if soft else -1


def _targets_from(self: NumpyBackend, frame: FrameType) -> None:
    sizes = self.layout[1] if self.layout else None
    if not sizes:
        return
    n_out, n_in = sizes[-1], sizes[0]
    code = frame.f_code
    loc = frame.f_locals
    if n_out == 1:
        _single_output_targets(self, frame, n_in)
        return
    if self.scalar_labels.name and _scalar_label_call(self, code, loc, n_out):
        return  # a class handed as an integer, read before: counted, nothing else looked at
    if self.contrib_calls % 4 == 1:
        for name in code.co_varnames[: code.co_argcount]:
            v = loc.get(name)
            if is_array(v) and v.base is not None:
                self._served_view(name, v, frame)
    if self.made_labels and _labels_made_one_hot(self, loc, n_out):
        return
    for name in code.co_varnames[: code.co_argcount]:
        v = loc.get(name)
        if is_array(v) and v.size and v.dtype.kind in "fiub":
            if v.size == n_out and v.ndim <= 2 and n_out != n_in:
                top = _handed_vector(self, name, v, n_out, n_in)
                if top < 0:
                    continue
                self.target_arg = name
                self._count_one_target(top, v)
            elif v.ndim == 1 and v.dtype.kind in "iu" and n_out != n_in and n_out >= 2:
                # a batch of integer labels: bincount both counts them and checks them (0 <= label < n_out)
                try:
                    counts = np.bincount(v.astype(np.intp, copy=False), minlength=n_out)
                except ValueError:
                    continue  # a negative label
                if len(counts) != n_out:
                    continue
                self.target_arg = name
                self._count_labels(v, counts)
                if len(v) > 1 and self._deep:  # the output error is recorded for deep windows only
                    self._pending_T = one_hot(v, n_out)
                    self._pending_raw = None
            else:
                by_rows = _by_rows(self)
                rows = class_rows(v, n_out, n_in, rows=by_rows)
                if rows is None:
                    continue
                # what the rows' values alone say is read once per array handed again unchanged (a full batch's
                # targets, at every step): one comparison with the memo's copy for all of it
                read = self.target_memo.decided(v, ("read", n_out, n_in, by_rows), TargetRead)
                if not (self.soft_rows.confirmed(name, rows) or read.codes(rows) or self._soft_read(name, v, rows)):
                    continue
                self.target_arg = name
                self._count_targets(rows, v, counts=read.counts(rows))
                if len(rows) > 1 and self._deep and (rows.ndim == 1 or read.one_top(rows)):  # deep windows only
                    self._pending_T = read.one_hot(rows, n_out)
                    self._pending_raw = read.raw(rows) if rows.ndim == 2 else None
            _built_by_helper(self, v)
            return
    if not self.target_arg and n_out != n_in and n_out >= 2:
        _scalar_label_call(self, code, loc, n_out)


def label_values(v: Any, n_out: int) -> np.ndarray | None:
    """Class labels below ``n_out`` however the program holds them, as an integer vector (N,): a list or tuple of
    integers, integer labels in a column (N, 1) or a row (1, N), or floats of integer value (labels read from a CSV
    file without ``astype(int)``); None for anything else."""
    kind = type(v)
    if issubclass(kind, (list, tuple)):
        if not 1 <= len(v) <= 1 << 16 or not all(issubclass(type(x), (int, np.integer)) for x in v[:64]):
            return None
        v = np.asarray(v)
    elif not issubclass(kind, np.ndarray):
        return None
    if v.size == 0 or v.dtype.kind not in "iuf" or v.ndim > 2 or (v.ndim == 2 and min(v.shape) != 1):
        return None
    flat = v.reshape(-1)
    with np.errstate(all="ignore"):
        if flat.dtype.kind == "f" and not bool((flat == np.round(flat)).all()):
            return None
        if flat.min() < 0 or flat.max() >= n_out:
            return None
    return flat.astype(np.intp)


def _labels_made_one_hot(self: NumpyBackend, loc: dict[str, Any], n_out: int) -> bool:
    """The labels of the argument the gradient's function makes one-hot itself (:func:`labels_made_inside`), counted
    as integer labels handed over; False when it holds none this call."""
    labels = label_values(loc.get(self.made_labels), n_out)
    if labels is None:
        return False
    self.target_arg = self.made_labels
    self._count_labels(labels, np.bincount(labels, minlength=n_out))
    if len(labels) > 1 and self._deep:  # the output error is recorded for deep windows only
        self._pending_T = one_hot(labels, n_out)
        self._pending_raw = None
    return True


MADE_TRIES = 8
"""Returns of the gradient's function looked at for labels it makes one-hot itself (:func:`labels_made_inside`)."""


def labels_made_inside(self: NumpyBackend, frame: FrameType) -> None:
    """At the return of the gradient's function that no call, caller or loop gave targets: an argument whose labels
    (:func:`label_values`: a list, a column, floats) are the classes of a one-hot array among its locals, two rows or
    more (``onehot[np.arange(n), yb] = 1``, ``np.eye(C)[yb.astype(int)]``), is its targets, counted at its calls from
    then on. The one-hot made of them says what they are, not their name or their form."""
    sizes = self.layout[1] if self.layout else None
    if not sizes or sizes[-1] < 2 or sizes[-1] == sizes[0] or self.made_labels:
        return
    self.made_tries += 1
    n_out, code, loc = sizes[-1], frame.f_code, frame.f_locals
    handed = [(name, labels) for name in code.co_varnames[: code.co_argcount]
              if (labels := label_values(loc.get(name), n_out)) is not None and len(labels) >= 2]
    if not handed:
        return
    for v in list(loc.values())[:64]:
        if not (is_array(v) and v.ndim == 2 and n_out in v.shape and v.dtype.kind in "fiub"):
            continue
        for rows in (v, v.T) if v.shape[0] != v.shape[1] else (v,):
            if rows.shape[1] != n_out or not _one_hot_rows(rows):
                continue
            classes = rows.argmax(axis=1)
            for name, labels in handed:
                if len(labels) == len(classes) and bool((labels == classes).all()):
                    self.made_labels = name
                    return


def _one_hot_rows(rows: np.ndarray) -> bool:
    """Rows of zeros with a single one each."""
    with np.errstate(all="ignore"):
        return bool(((rows == 0) | (rows == 1)).all()) and bool((rows.sum(axis=1) == 1).all())


SINGLE_VALUES = 16
"""Distinct target values of a one-unit output kept at most (more: the targets vary, a regression's)."""


def _single_output_targets(self: NumpyBackend, frame: FrameType, n_in: int) -> None:
    """The targets handed to the gradient's function of a network with one output unit: a column of one value per
    sample (``(B, 1)``, or ``(1,)`` for one sample), or a vector of one integer per row of the batch (``(B,)`` beside
    an output ``(B, 1)`` or inputs ``(B, n_in)``: the labels, made one-hot inside), never the inputs nor the forward's last output. Tallied by
    value (a one-hot of one class is a column of ones: with labels of several classes in the data, every target is
    one class; class 0 of a one-unit output, ``np.eye(1)[0]``, is the label 0 and the target 1). First its caller's
    labels (:func:`_single_labels_beside`): a layer's ``backward(delta)`` is handed the output's delta, a column of
    as many values as rows, which its caller made from them."""
    code, loc = frame.f_code, frame.f_locals
    out = self._last_out[0]() if self._last_out is not None else None
    args = [loc.get(name) for name in code.co_varnames[: code.co_argcount]]
    # the rows of the batch: one-unit outputs among what the call is handed or the last output (where the forward was
    # found), or the inputs handed beside them (n_in along one axis)
    columns = _unit_columns([*args, out])
    columns |= {a.shape[1 - a.shape.index(n_in)] for a in args if is_array(a) and a.ndim == 2 and n_in in a.shape
                and a.dtype.kind == "f"}
    back = caller_of(frame)
    if back is not None and _single_labels_beside(self, back.f_locals, columns):
        return  # (first: a layer's ``backward(delta)`` is handed the output's delta, (B, 1), no column of targets)
    for name, v in zip(code.co_varnames, args):
        if not (is_array(v) and v.ndim in (1, 2) and v.size and v.dtype.kind in "fiub" and n_in != 1 and v is not out
                and v.shape != (n_in, 1)):
            continue  # (one sample's input, a column (784, 1), is no column of targets)
        if v.shape[-1] != 1 and not (v.ndim == 1 and v.dtype.kind in "iu" and v.size > 1 and v.size in columns):
            continue
        _tally_single(self, name, v)
        return


def _unit_columns(arrays: list[Any]) -> set[int]:
    """The batch sizes that the one-unit float arrays among ``arrays`` (``(1, B)`` or ``(B, 1)``) say."""
    return {a.size for a in arrays if is_array(a) and a.ndim == 2 and 1 in a.shape and a.dtype.kind == "f"}


def _tally_single(self: NumpyBackend, name: str, v: np.ndarray) -> None:
    """Tally the values of ``v``, the targets of a one-unit output (at most :data:`SINGLE_VALUES` distinct ones)."""
    tally = self.single_output_targets
    values, counts = np.unique(np.asarray(v, dtype=np.float64), return_counts=True)
    for x, n in zip(values.tolist(), counts.tolist()):
        key = np.float64(x).tobytes()
        if key in tally or len(tally) < SINGLE_VALUES:
            tally[key] = tally.get(key, 0) + int(n)
    self.target_arg = name


def _single_labels_beside(self: NumpyBackend, loc: dict[str, Any], columns: set[int]) -> bool:
    """The labels of a one-unit output among the locals of the gradient's function's caller (``backward(t)`` making
    them one-hot, ``np.eye(n_out)[t]``, and handing each layer's ``backward(d)`` the delta): a vector that reads as
    labels (:func:`~netdoctor.observe.numpy.roles.label_vector`) as long as a one-unit float array there or among the
    call's arguments (the output ``(1, B)``, its delta) says the batch is. Read once
    per update: a ``backward`` per layer hands the same labels again. Whether such labels are there (counted now or
    before, at this update)."""
    items = list(loc.items())[:64]
    columns = columns | _unit_columns([v for _, v in items])
    for name, v in items:
        if not label_vector(v, columns):
            continue
        last = self.single_beside
        if last is None or last[0]() is not v or last[1] != self.updates:
            self.single_beside = (weak(v), self.updates)
            _tally_single(self, name, v)
        return True
    return False


def _probabilities_beside(self: NumpyBackend, loc: dict[str, Any], n_rows: int, update: int) -> None:
    """The network's output rows beside targets read at ``update``, where no forward function was found (a forward
    split over layer objects called one by one: ``dense2.forward(activation1.output)``, then
    ``loss.forward(dense2.output, y)``, each keeping its result on ``self.output``): probability rows (entries in
    [0, 1], each row summing to 1), as many as the targets, among ``loc``'s arrays, or on the objects of the program's
    classes, the lists and the tuples among them, three levels deep (``net.layers[-1].probs``). Only probabilities: the
    other arrays of that shape a step leaves behind (a delta ``(p - t) / n``, the logits before a softmax) are no
    prediction, and no output is taken rather than one of them."""
    if not self.layout or self._beside_misses >= BESIDE_TRIES:
        return
    n_out, n_in = self.layout[1][-1], self.layout[1][0]
    # counted as a miss unless rows are found (then never again: a look that finds them stays a look that may)
    self._beside_misses += not self._beside_found
    level: list[Any] = list(loc.values())[:64]
    for _ in range(4):
        deeper: list[Any] = []
        for v in level:
            kind = type(v)
            if issubclass(kind, np.ndarray):
                if v.dtype.kind != "f" or v.ndim != 2 or n_rows not in v.shape:
                    continue
                rows = class_rows(v, n_out, n_in, outputs=True)
                if rows is None or len(rows) != n_rows:
                    continue
                with np.errstate(all="ignore"):
                    if (rows.max() <= 1 and probability_rows(rows) and not code_like(rows)
                            and not self.learning.is_truth(rows)):
                        truth = self.learning.truth(update)
                        if (self._deep and self._D_sum is None and truth is not None and len(rows) > 1
                                and truth.max(initial=0) < n_out):
                            # the batch's output error, as a gradient's function handed the targets gives it (the
                            # output bias's gradient is read against it: summed over the rows, it is N times it),
                            # where no other reading of the window recorded it
                            add_output_error(self, rows, one_hot(truth.astype(np.intp), n_out))
                        self.learning.output(rows, update)
                        self._beside_found = True
                        return
            elif issubclass(kind, (list, tuple)):
                deeper.extend(v[:16])
            elif not issubclass(kind, (dict, int, float, str, bytes, type)) and (d := own_dict(v)) is not None:
                deeper.extend(list(d.values())[:32])
        level = deeper[:256]


def _targets_beside(self: NumpyBackend, frame: FrameType) -> None:
    """The targets of an output that waits for them, among the locals of ``frame`` (the caller of the gradient's
    function), where no call was handed them and no loop head bound them: a step that computes its output error inline
    and hands the layers' ``backward`` only deltas (``for x, t in zip(xs, ts): z = self.forward(x); delta =
    softmax(z) - t; layer.backward(delta)``). Class codes (:func:`code_like`) with as many rows as the output, never
    the output itself; the first name found is the only one read from then on. Read once per output (pairing it
    consumes the output), so a ``backward`` called once per layer counts a sample once, and never one that a call
    comparing the output with its targets read first (``output_error(out, t)``). Once found, no loop head is looked at
    for targets again (they would be the same targets, read twice)."""
    sizes = self.layout[1] if self.layout else None
    n_rows = self.learning.pending(self.updates)
    if not sizes or not n_rows or sizes[-1] < 2 or sizes[-1] == sizes[0]:
        return
    n_out, n_in = sizes[-1], sizes[0]
    loc = frame.f_locals
    if n_rows == 1 and not self._beside_name and _label_beside(self, loc, n_out):
        return
    names = (self._beside_name,) if self._beside_name else tuple(loc)[:64]
    for name in names:
        v = loc.get(name)
        if not (is_array(v) and v.dtype.kind == "f" and v.size and v.ndim <= 2) or self._is_output(v, v.reshape(-1, v.shape[-1])):
            continue
        rows = class_rows(v, n_out, n_in, rows=_by_rows(self))
        if rows is None or rows.ndim != 2 or len(rows) != n_rows or not code_like(rows):
            continue
        self._beside_name, self.beside_targets = name, (name, frame.f_code)
        _error_beside(self, rows, n_out)
        self._count_targets(rows, v)
        return


def error_of_output_before(self: NumpyBackend) -> None:
    """At the call of the gradient's function handed the targets (``_pending_T``): when the output they were paired
    with came before them (``forward(xb); backward(xb, yb)``, the forward keeping its probabilities in a dict or on
    ``self``), the batch's output error is that output less them, recorded now (the backward's locals may hold only
    the error, ``err = net['probs'] - yb``, summed or not, which its return cannot read as probabilities). Probability
    rows only: ``P - T`` is the error of a softmax (or sigmoid) fitted by cross-entropy; any other output is left to the
    return's reading of the locals."""
    T = self._pending_T
    out = self.learning.met(self.updates) if T is not None else None
    if T is None or out is None or out.shape != T.shape or not np.isfinite(out).all():
        return
    with np.errstate(all="ignore"):
        if not probability_rows(out) or (self._pending_raw is not None and np.array_equal(out, self._pending_raw)):
            return
    self._pending_T = self._pending_raw = None  # (read here: the return reads no second error of this batch)
    add_output_error(self, out, T)


def _error_beside(self: NumpyBackend, rows: np.ndarray, n_out: int) -> None:
    """The batch's output error, from the output rows that wait for the one-hot targets ``rows`` just read beside the
    gradient's function (a forward run before the backward is handed its targets: ``forward(xb); backward(xb, yb)``),
    where no other reading of the deep window recorded it: the output bias's gradient is read against it (summed over
    the rows, it is N times it). Targets read this way reach no call whose locals hold the error. Probability rows
    only, as :func:`error_of_output_before` reads them: ``P - T`` is the error of a softmax fitted by cross-entropy."""
    if not self._deep or self._D_sum is not None or len(rows) < 2:
        return
    out = self.learning.waiting_rows(self.updates)
    if out is None or out.shape != rows.shape or out.shape[1] != n_out or not np.isfinite(out).all():
        return
    with np.errstate(all="ignore"):
        if _one_hot_rows(rows) and probability_rows(out):
            add_output_error(self, out, rows.astype(float))


BESIDE = "beside:"
"""The key of a caller's local under trial as the sample's class (:func:`_label_beside`), apart from the gradient
function's own arguments of the same name."""


def _label_beside(self: NumpyBackend, loc: dict[str, Any], n_out: int) -> bool:
    """One sample's class as an integer among the locals of the gradient function's caller, beside the output error
    that the caller built and hands the layers (``train(im, label)``: ``gradient = np.zeros(10); gradient[label] = -1 /
    out[label]; softmax.backprop(gradient, lr)``). Told from a loop counter or an epoch the same way as an argument of
    the gradient's function (:class:`ScalarLabels`): an output error among those locals negative at that class and
    nowhere else, in :data:`LABEL_AGREE` of :data:`LABEL_TRIALS` calls. Counted (True) once told."""
    labels = self.scalar_labels
    if labels.beside:
        return _count_told_label(self, loc, labels.beside, n_out)
    for name, v in list(loc.items())[:64]:
        k = _scalar_label(v, n_out)
        key = BESIDE + name
        if k is None or key in labels.rejected:
            continue
        tried = labels.tried(key, k, _error_at(loc, None, k, n_out))
        if tried is not None:
            labels.beside = name
            for j in tried:
                self._count_one_target(j, self._label_row(j, n_out))
            return True
    return False


def _built_by_helper(self: NumpyBackend, v: np.ndarray) -> None:
    """Targets ``v`` read where a target builder returned them: the label it was given and where it was called."""
    helper = self._helper_last.pop(id(v), None)
    if helper is not None and helper[0]() is v:  # the helper's own return, not an array at its old address
        _, arg, fname, line, func = helper
        if arg is not None and len(self.helper_args) < 512:
            self.helper_args.append(arg)
        if len(self.helper_calls) < 4 and (fname, line, func) not in self.helper_calls:
            self.helper_calls.append((fname, line, func))


def _targets_by_comparison(self: NumpyBackend) -> bool:
    """Whether targets are read from the calls handed the forward's output: the gradient's function was never
    handed any (its argument is a backpropagated delta; the program compares output and targets elsewhere)."""
    return self.contrib_calls >= 8 and (not self.target_arg or self._targets_compared)


def _compared(self: NumpyBackend, frame: FrameType) -> None:
    """A call handed the forward's last output (``backward(layers, t, out)``, ``loss(out, t)``): its other
    arguments that encode a class per row are the targets the output is compared with."""
    code = frame.f_code
    loc = frame.f_locals
    names = code.co_varnames[: code.co_argcount]
    ref, self._out = self._out, None  # one comparison per output
    out = ref() if ref is not None else None
    if out is None:  # freed before any call was handed it: compared inline, if at all
        self._compare_misses += 1
        return
    if not any(loc.get(n) is out for n in names):
        self._compare_left -= 1
        if self._compare_left > 0:
            self._out = ref
        else:
            self._compare_misses += 1
        return
    sizes = self.layout[1] if self.layout else None
    if not sizes:
        return
    memo = self.target_memo
    for name in names:
        v = loc.get(name)
        if not (is_array(v) and v.size and v.dtype.kind in "fiub") or v is out:
            continue
        seen = (sizes[-1], sizes[0], _by_rows(self))
        rows = class_rows(v, *seen[:2], rows=seen[2])
        # (what the rows' values alone say is decided once per target vector or array: see ArrayMemo)
        if rows is None or not memo.decided(v, ("codes alone", *seen), partial(_encodes_classes, rows, several=False)) and not (
                memo.decided(v, ("soft", *seen), partial(soft_targets, rows)) and not _same_values(
                    rows, self._output_rows(out))):
            continue  # (smoothed targets, compared with the output, are targets too: not the output's own copy)
        self.target_arg, self._targets_compared, self.comparer = name, True, code
        self._count_targets(rows, v)
        out_rows = self._output_rows(out) if self._deep else None
        if out_rows is None or not len(out_rows) == len(rows) > 1:
            return
        if (rows.ndim == 1 or memo.decided(v, ("one top", *seen), partial(one_top, rows))) and (
                "exp" in code.co_names or infer_kind(out_rows, output=True) in ("softmax", "sigmoid")):
            # the output and its targets, compared by a call of their own (``loss(out, y)``): the batch's output
            # error, as a gradient's function handed the targets gives it (the output bias's step is read against it).
            # Only for probabilities, or logits the call itself exponentiates (a softmax or sigmoid cross-entropy):
            # the error of a squared loss on a linear output is no softmax's
            add_output_error(self, out_rows, rows.astype(float) if rows.ndim == 2 and memo.decided(
                v, ("soft", *seen), partial(soft_targets, rows)) else one_hot(rows, sizes[-1]))
        else:
            # any other output (raw scores fitted by a squared error): its error against the targets as written,
            # recorded once the gradient's function is handed a multiple of it (:func:`error_handed`)
            with np.errstate(all="ignore"):
                self._error_wait = out_rows.astype(float) - (rows.astype(float) if rows.ndim == 2
                                                             else one_hot(rows, sizes[-1]))


ERROR_TOL = 1e-9
"""Residual of an array handed to the gradient's function, over its norm, below which it is a multiple of the output
error ``out - t`` (a float32 program's: its own rounding, 64 units of its last place, when larger)."""


def error_handed(self: NumpyBackend, frame: FrameType) -> None:
    """The gradient's function is called after a call compared the forward's output with its targets: when one of its
    arguments is ``c (out - t)`` (``c != 0``: ``2 (out - t) / n`` of a mean squared error, ``out - t`` of a sum), that
    error is what the backward propagates, and it is the window's output error (the output bias's gradient is read
    against it). Decided from the values, never from the output's kind: ``d = c e`` holds when
    ``|d - (<d, e> / <e, e>) e| <= tol |d|``."""
    E, self._error_wait = self._error_wait, None
    if E is None or not self._deep:
        return
    e = E.reshape(-1)
    ee = dot_one_thread(e, e)
    if not (ee > 0 and math.isfinite(ee)):
        return
    code = frame.f_code
    loc = frame.f_locals
    for name in code.co_varnames[: code.co_argcount]:
        d = loc.get(name)
        if not (isinstance(d, np.ndarray) and d.dtype.kind == "f" and d.size == E.size
                and d.shape in (E.shape, E.T.shape)):
            continue
        f = (d.T if d.shape != E.shape else d).astype(float).reshape(-1)
        k = dot_one_thread(f, e) / ee
        tol = max(ERROR_TOL, 64 * float(np.finfo(d.dtype).eps))
        if k != 0 and math.isfinite(k) and norm_one_thread(f - k * e) <= tol * norm_one_thread(f):
            with np.errstate(all="ignore"):
                self._D_sum = E.sum(axis=0) + (0 if self._D_sum is None else self._D_sum)
            self._D_rows += len(E)
            return


def _same_values(a: np.ndarray, b: np.ndarray | None) -> bool:
    return b is not None and np.array_equal(a, b)


def add_output_error(self: NumpyBackend, rows: np.ndarray, T: np.ndarray) -> None:
    """Add one batch's output error to the window's sum: the output rows (N, C) as probabilities (a softmax of them
    when they are logits, as a cross-entropy applies it) less their one-hot targets ``T`` (N, C)."""
    P = rows.astype(float)
    if infer_kind(P, output=True) not in ("softmax", "sigmoid", "tanh"):
        with np.errstate(all="ignore"):  # logits: the softmax a cross-entropy applies to them
            e = np.exp(P - P.max(axis=1, keepdims=True))
            P = e / e.sum(axis=1, keepdims=True)
    with np.errstate(all="ignore"):
        self._D_sum = (P - T).sum(axis=0) + (0 if self._D_sum is None else self._D_sum)
    self._D_rows += len(rows)


def _inline_targets(self: NumpyBackend, frame: FrameType) -> None:
    """At a loop head after an update, when no call was ever handed the targets (the loop computes the output
    error inline: ``t = np.zeros(C); t[y[i]] = 1``, ``for x, y in batches(...)``): the targets among the names the
    loop binds. A class code per row (two values a row: one-hot, +-1, 0.01/0.99) or integer labels below the
    output's width; never an output or an error (their rows have as many values as entries)."""
    sizes = self.layout[1] if self.layout else None
    if (not sizes or sizes[-1] < 2 or (not self._inline_name and self._inline_tries >= INLINE_TRIES)
            or self._beside_name or self._error_source):
        return
    code = frame.f_code
    names = self._inline_names.get(code)
    if names is None:
        names = self._inline_names[code] = (loop_names(code.co_filename) if code.co_name == "<module>" else
                                            function_loop_names(code.co_filename, code.co_firstlineno))
    loc = frame.f_locals
    n_out, n_in = sizes[-1], sizes[0]
    self._inline_tries += not self._inline_name
    for name in (self._inline_name,) if self._inline_name in names else sorted(names):
        v = loc.get(name)
        if not (is_array(v) and v.size and v.dtype.kind in "fiub") or n_out == n_in:
            continue
        if v.size == n_out and v.ndim <= 2 and v.dtype.kind == "f":
            # one target vector (a per-sample loop): decoded once per distinct vector, as a handed one is
            key = f"{v.dtype.str}{v.shape}".encode() + v.tobytes()
            top = self._target_codes.get(key)
            if top is None:
                lo, hi = float(v.min()), float(v.max())
                two = hi > lo and bool(((v == lo) | (v == hi)).all()) and int((v == hi).sum()) == 1
                top = int(np.argmax(v)) if two or self._soft_read(name, v, v.reshape(1, -1)) else -1
                if top >= 0 and len(self._target_codes) < 4096:  # codes only: an output never comes back
                    self._target_codes[key] = top
            if top >= 0:
                self._inline_name = name
                self._count_one_target(top, v, at=self.updates - 1)
                return
            continue
        if v.ndim == 1 and v.dtype.kind in "iu" and v.size != n_out:
            counts = np.bincount(v.astype(np.intp, copy=False), minlength=n_out) if v.min() >= 0 else None
            if counts is not None and len(counts) == n_out:
                self._inline_name = name
                self._count_labels(v, counts, at=self.updates - 1)
                if not self.forward:
                    _probabilities_beside(self, loc, len(v), self.updates - 1)
                return
            continue
        rows = class_rows(v, n_out, n_in, rows=_by_rows(self))
        if rows is None or rows.dtype.kind != "f" or rows.ndim != 2:
            continue
        low, high = rows.min(axis=1), rows.max(axis=1)
        two = ((rows == low[:, None]) | (rows == high[:, None])).all() and bool((high > low).all())
        if two and one_top(rows) or multi_hot(rows) or self._soft_read(name, v, rows):
            self._inline_name = name
            self._count_targets(rows, v, at=self.updates - 1)
            if not self.forward:
                _probabilities_beside(self, loc, len(rows), self.updates - 1)
            return


def _count_labels(self: NumpyBackend, labels: np.ndarray, counts: np.ndarray, *, at: int | None = None) -> None:
    """A batch of integer labels (``counts``: their ``np.bincount``). ``at``: the updates applied before the step they
    belong to (read at a loop head after its update: one fewer than counted now)."""
    n, update = len(labels), self.updates if at is None else at
    self.learning.targets(labels, update)
    self.block_classes.add_labels(update, counts, n)
    self._window_rows += n
    self.target_samples += n
    self._targets.add_counts(counts, n)
    if len(self.target_values) >= 64 or len(self._labels_valued) >= len(counts):
        return  # every value a label can take (0 <= label < len(counts)) was seen already
    present = counts.nonzero()[0][:8]  # the distinct values, as the labels' own dtype writes them
    if not self._labels_valued.issuperset(present.tolist()):
        for r in present.tolist():
            self._labels_valued.add(r)
            if len(self.target_values) < 64:
                self.target_values.setdefault(np.asarray(labels.dtype.type(r)).tobytes(), 0)


def _count_one_target(self: NumpyBackend, top: int, v: np.ndarray, *, at: int | None = None) -> None:
    """One target vector of class ``top`` (:meth:`_count_targets` of a single row, without its array work)."""
    update = self.updates if at is None else at
    self.learning.targets(top, update, v)
    self.block_classes.add(update, (top,), 1)
    self._window_rows += 1
    self.target_samples += 1
    self._targets.add_one(top)
    key = v.tobytes()  # one row: the bytes of the row itself, whichever way the vector stands
    if key in self.target_values:
        self.target_values[key] += 1
    elif len(self.target_values) < 64:
        self.target_values[key] = 1


def _count_targets(self: NumpyBackend, rows: np.ndarray, v: np.ndarray, *, at: int | None = None,
                   counts: np.ndarray | None = None) -> None:
    """Count a batch of targets (code rows (N, C), or integer labels (N,)) read ``at`` updates into the run (by default
    now). ``counts``: the code rows' count per class (:meth:`TargetRead.counts`: an array handed again unchanged, its
    rows all finite), which the class tallies then take instead of an ``argmax`` of each."""
    n_out = self.layout[1][-1] if self.layout else 0
    if rows.ndim == 1:  # integer labels
        self._count_labels(rows, np.bincount(rows.astype(np.intp, copy=False), minlength=n_out), at=at)
        return
    update = self.updates if at is None else at
    self.learning.targets(rows, update)
    top = int(np.argmax(rows[0])) if len(rows) == 1 else -1
    if top >= 0:
        self.block_classes.add(update, (top,), 1)  # (one row: the class of its largest entry, without a bincount)
    elif counts is not None:
        self.block_classes.add_labels(update, counts, len(rows))  # (the classes present: those counted)
    else:
        self.block_classes.add_rows(update, rows)
    self._window_rows += len(rows)
    self.target_samples += len(rows)
    if top >= 0:
        self._targets.add_one(top)
    elif counts is not None:
        self._targets.add_counts(counts, len(rows))
    else:
        self._targets.add_rows(rows)  # counted with the other batches, when read
    for r in rows[:4]:
        key = r.tobytes()
        if key in self.target_values:
            self.target_values[key] += 1
        elif len(self.target_values) < 64:
            self.target_values[key] = 1


@dataclass(frozen=True)
class TargetsSeen:
    """The targets counted up to a moment (the weights going non-finite): what the rules judge when what was read
    after it is not the training's (no update is counted after that, so soft targets never come back: only the
    classes of the first few samples would be counted on)."""

    counts: Counter
    rows: int
    distinct: int


def _targets_seen(self: NumpyBackend) -> TargetsSeen:
    """The targets counted so far, per class (a copy)."""
    return TargetsSeen(self._targets.counter(), self.target_samples, len(self.target_values))


def _built_target(self: NumpyBackend, value: Any) -> None:
    """Tally a code row the target builder returned, while the training step has not been seen handed targets."""
    if self.target_samples or not issubclass(type(value), np.ndarray) or not self.layout or value.dtype.kind != "f":
        return
    n_out, n_in = self.layout[1][-1], self.layout[1][0]
    built = self.built_targets
    if value.size == n_out and value.ndim <= 2:
        # one target vector (a per-sample program): decoded once per distinct vector
        key = f"{value.dtype.str}{value.shape}".encode() + value.tobytes()
        top = built.codes.get(key)
        if top is None:
            rows = class_rows(value, n_out, n_in, rows=_by_rows(self))
            top = -1 if rows is None or rows.ndim != 2 else int(np.argmax(rows[0])) if code_like(rows) or (
                self._soft_read("", value, rows)) else -1 if not soft_targets(rows) else -2
            if top != -2 and len(built.codes) < 4096:  # (-2: soft, not come back yet: asked again)
                built.codes[key] = top
        if top < 0:
            return
        built.samples += 1
        built.counts[top] += 1
        vec = value.tobytes()
        if vec in built.values or len(built.values) < 64:
            built.values[vec] = built.values.get(vec, 0) + 1
    else:
        rows = class_rows(value, n_out, n_in, rows=_by_rows(self))
        if rows is None or rows.ndim != 2 or not (code_like(rows) or self._soft_read("", value, rows)):
            return
        built.samples += len(rows)
        _tally_rows(rows, built.counts, built.values)
    if self._helper_pending is not None and len(built.args) < 512:
        built.args.append(self._helper_pending)
    if len(built.calls) < 4 and self._helper_site not in built.calls and self._helper_site[0]:
        built.calls.append(self._helper_site)


def _adopt_built_targets(self: NumpyBackend) -> None:
    """At the end: when no call of the training step was handed targets, those the target builder returned are
    the targets trained on (the step applies the update only; the output error is computed inline)."""
    built = self.built_targets
    if self.target_samples or not built.samples:
        return
    self._targets = ClassTally()
    self._targets.one.update(built.counts)
    self._targets.rows = sum(built.counts.values())
    self.target_values, self.target_samples = built.values, built.samples
    self.target_arg = ""
    self.helper_args, self.helper_calls = list(built.args), list(built.calls)


def _labels_from(self: NumpyBackend, frame: FrameType, caller: CodeType) -> None:
    """A labelled data array (a label column of small integers) in the caller's locals: its label counts."""
    key = id(caller)
    if key in self.label_sets or not self.layout:
        return
    # the caller's locals first, then its callers' (a fit(X, y) method called by the module that read the data)
    scopes: list[tuple[str, dict[str, Any]]] = []
    f: FrameType | None = frame
    for _ in range(4):
        if f is None or f.f_code.co_filename not in self.user_files:
            break
        scopes.append((f.f_code.co_name, f.f_locals))
        f = f.f_back
    self.label_sets[key] = _label_set(scopes, self.layout[1][-1], self.layout[1][0])


def _label_set(scopes: list[tuple[str, dict[str, Any]]], n_out: int, n_in: int) -> dict[str, Any]:
    """The first labelled data array among ``scopes`` (function name, its names), nearest first: its name, the
    function that holds it, its label counts and rows (``{}`` when there is none)."""
    # (labels as they are anywhere first; then a column of k / 255: labels scaled with the pixels; then, for an output
    # of one unit, any vector of small integer labels: the held-out ones, where the training labels are all 0)
    for factor, loose in ((1.0, False), (255.0, False), (1.0, n_out == 1)):
        for function, names in scopes:
            found = _label_column(names, n_out, n_in, factor, loose)
            if found is not None:
                name, counts, rows = found
                out: dict[str, Any] = {"name": name, "function": function, "counts": counts, "rows": rows,
                                       **({"scaled": factor} if factor != 1.0 else {})}
                if not loose:  # the other label columns there (a test set's beside the training set's), by their rows
                    out["others"] = {r: (n, c) for n, c, r in _label_columns(names, n_out, n_in, factor) if n != name}
                return out
    return {}


def _labels_at_end(self: NumpyBackend) -> None:
    """At the end, for a network of one output unit whose targets were all one value while no callers' locals of its
    gradient's function held labels (a training function run in a thread: its frames end at the thread's start): the
    label columns among the module globals of the program's files (``y_test = data[n:, 0]`` read at the top)."""
    if self.layout and self.layout[1][-1] == 1 and not self.single_output_targets:
        _discovery_labels(self)
    if not self.layout or self.layout[1][-1] != 1 or len(self.single_output_targets) != 1:
        return
    key = self.train_labels_key if self.train_labels_key is not None else 0
    if self.label_sets.get(key):
        return
    main = sys.modules.get("__main__")
    modules = [main, *(m for m in list(sys.modules.values()) if m is not main
                       and getattr(m, "__file__", None) in self.user_files)]
    scopes = [("<module>", vars(m)) for m in modules if m is not None][:8]
    self.label_sets[key] = _label_set(scopes, 1, self.layout[1][0])
    self.train_labels_key = key


def _discovery_labels(self: NumpyBackend) -> None:
    """A network of one output unit whose targets were never read after it was found (a run that ended while it was
    being found, its gradient computations all made then): the labels its gradient's function was handed at those
    computations (:func:`~netdoctor.observe.numpy.discovery.count_labels`), when one of its arguments held them,
    tallied as its targets are (the label 0 of a one-unit output is the target 1: a one-hot of one class)."""
    code = self.contributor
    func = self._funcs.get(code) if code is not None else None
    if code is None or func is None or len(func.labels) != 1:
        return
    ((name, counts),) = func.labels.items()
    for value, n in enumerate(counts.tolist()):
        if n:
            self.single_output_targets[np.float64(value).tobytes()] = int(n)
    self.target_arg = name
    self.notes.append(f"targets: the {int(counts.sum()):,} read were handed to {code.co_name}() ({name}) at "
                      "the gradient computations made while the network was being found")


def _label_column(loc: dict[str, Any], n_out: int, n_in: int, factor: float, loose: bool = False
                  ) -> tuple[str, list[int], int] | None:
    """A labelled data array among ``loc``: a table of ``n_in + 1`` columns whose first column times ``factor`` holds
    small integer labels, or (``factor`` 1) a vector of integer labels; of at least two classes, each below ``n_out``.
    A network whose output layer was sized from labels it did not see whole (one unit: ``int(y.max()) + 1`` of labels
    all 0) takes any small integer labels of a table, and (``loose``) of a vector whose labels repeat. Returns (name,
    counts per label, rows), or None."""
    if loose:
        return _repeated_labels(loc)
    return next(_label_columns(loc, n_out, n_in, factor), None)


def _label_columns(loc: dict[str, Any], n_out: int, n_in: int, factor: float) -> Iterator[tuple[str, list[int], int]]:
    """Every labelled data array among ``loc`` (see :func:`_label_column`), in the order of ``loc``."""
    for name, v in list(loc.items()):
        if issubclass(type(v), np.ndarray) and v.ndim == 2 and v.shape[0] >= 50 and v.shape[1] == n_in + 1 and v.dtype.kind in "fiu":
            k = v[:, 0] * factor if factor != 1.0 else v[:, 0]
            with np.errstate(all="ignore"):
                whole = bool(np.all(np.abs(k - np.round(k)) <= 1e-6 * factor))
            if whole and k.min() >= 0 and k.max() > k.min() and (k.max() < n_out or n_out == 1 and k.max() < 1000):
                yield name, np.bincount(np.round(k).astype(int), minlength=n_out).tolist(), int(v.shape[0])
        if (factor == 1.0 and issubclass(type(v), np.ndarray) and v.ndim == 1 and v.shape[0] >= 50 and v.dtype.kind in "iu"
                and v.max(initial=0) < n_out and v.min(initial=0) >= 0 and v.max() > v.min()):
            yield name, np.bincount(v.astype(int), minlength=n_out).tolist(), int(v.shape[0])


def _repeated_labels(loc: dict[str, Any]) -> tuple[str, list[int], int] | None:
    """A vector of at least 50 small integer labels among ``loc`` (below 1000) of two classes or more, each class on
    four rows on average or more (an index or a permutation of the rows, every value once, is no label column):
    (name, counts per label, rows), or None."""
    for name, v in list(loc.items()):
        if (issubclass(type(v), np.ndarray) and v.ndim == 1 and v.shape[0] >= 50 and v.dtype.kind in "iu"
                and v.min(initial=0) >= 0 and v.max(initial=0) < 1000):
            classes = int(np.count_nonzero(np.bincount(v.astype(int))))  # the distinct labels (all >= 0 here)
            if 1 < classes and 4 * classes <= len(v):
                return name, np.bincount(v.astype(int)).tolist(), int(v.shape[0])
    return None


def _errors_from_locals(self: NumpyBackend, frame: FrameType) -> None:
    """Output error of the batch from the contributor's own forward pass: its probabilities or log-probabilities."""
    T = self._pending_T
    self._pending_T = None
    if T is None:
        return  # no targets seen since the last batch
    n, c = T.shape
    raw = self._pending_raw
    columns = n != c and not _by_rows(self)  # (a sample per column: the output (C, N), its rows are its transpose)
    for v in frame.f_locals.values():
        if columns and issubclass(type(v), np.ndarray) and v.shape == (c, n):
            v = v.T
        if not (issubclass(type(v), np.ndarray) and v.shape == (n, c) and v.dtype.kind == "f" and np.isfinite(v).all()):
            continue
        if raw is not None and np.array_equal(v, raw) or np.array_equal(v, T):
            continue  # the targets themselves (0.005/0.955 codes sum to 1 like probabilities)
        with np.errstate(all="ignore"):
            if probability_rows(v):
                P = v
            elif v.max() <= 0 and np.allclose(np.exp(v).sum(axis=1), 1.0, atol=1e-6):
                P = np.exp(v)
            else:
                continue
        self._D_sum = (P - T).sum(axis=0) + (0 if self._D_sum is None else self._D_sum)
        self._D_rows += n
        return
    E = _linear_error(frame.f_locals, self._pending_raw)
    self._pending_raw = None
    if E is not None:
        self._D_sum = E.sum(axis=0) + (0 if self._D_sum is None else self._D_sum)
        self._D_rows += n
