"""What the arrays and functions of a program are, told from what they do (the NumPy observer's role tests).

Pure functions of arrays and values, no state: the observer (:mod:`netdoctor.observe.numpy.backend`) calls
them while it discovers the network (which arrays are forward caches, which function moves the
parameters) and while it watches (targets, outputs, activations).
"""

from __future__ import annotations

import enum
import math
from collections import Counter
from collections.abc import Iterator
from types import CodeType
from typing import Any, TypeGuard

import numpy as np

from netdoctor.buffers.peek import holds_numbers, is_array
from netdoctor.nn.stats import median, unique
from netdoctor.observe.numpy.arrays import head

__all__ = ["Role", "persistent_writer", "norm", "row_norms", "proportional_to", "is_reset", "float_2d", "ordered_like", "rises_with", "ordered_by_sample", "computed_by_layer", "layer_sums", "normalised_from", "scalar_of", "bounded",
           "one_hot", "code_like", "distinct_values", "one_top", "flat_arrays", "class_rows", "LABEL_VALUES",
           "label_vector"]


LABEL_VALUES = 16
"""Values a vector of class labels takes (0 to 15) for :func:`label_vector`; an index vector (``order[i:i + B]``) runs
past them."""


def label_vector(v: Any, batches: set[int]) -> TypeGuard[np.ndarray]:
    """Whether ``v`` reads as a batch's class labels: an integer vector of more than one entry, as long as one of
    ``batches`` (the batch sizes the arrays beside it say), each entry in ``[0, LABEL_VALUES)``."""
    return (is_array(v) and v.ndim == 1 and v.dtype.kind in "iu" and v.size > 1 and v.size in batches
            and v.min() >= 0 and v.max() < LABEL_VALUES)


BIN_FALL, BIN_SHARE = 0.05, 0.6
"""An output computed from weights that moved since rises with the pre-activation up to noise: the means over its
order's bins fall by at most ``BIN_FALL`` of their range, and explain at least ``BIN_SHARE`` of the variance (a relu
layer one step of lr 0.5 behind, its pre-activations moved by a third of their spread: 0.68; an unrelated array of 24
entries: under 0.6 in 1 of 5,000 draws, of 160 or more: never)."""


class Role(enum.IntFlag):
    """What a watched function of the program does (a function may do several)."""

    CONTRIB = 1
    """Computes gradients: accumulates into buffers, overwrites them, returns them, or applies them inline."""
    FORWARD = 2
    """Given an input sample, returns (or keeps on ``self``) the output rows."""
    HELPER = 4
    """Builds a target vector from a label."""
    UPDATER = 8
    """Moves the parameters."""
    EVALUATOR = 16
    """Calls the forward and reads its predictions."""
    PROBE = 32
    """Not known yet: a few calls tell what it is."""
    TABLE = 64
    """Returns rows (views) of a long-lived array that is not the network's: the same rows must come back unchanged."""


def persistent_writer(writers: Counter, stats: Any) -> CodeType | None:
    """The function that moves the parameters: of the functions writing parameter-like arrays about as often as the
    busiest, the one whose writes change the arrays least relative to their size (parameters persist across
    updates; gradients overwritten each step are new arrays every time)."""
    if not writers:
        return None
    top = writers.most_common(1)[0][1]
    candidates = [code for code, n in writers.items() if n * 2 >= top]
    if len(candidates) == 1:
        return candidates[0]

    def change(code: CodeType) -> float:
        rs = [r for st in stats if not st.cache for c, r in st.ratios if c == code and math.isfinite(r)]
        return float(median(rs)) if rs else math.inf

    best = min(candidates, key=change)
    return best if math.isfinite(change(best)) else writers.most_common(1)[0][0]


def norm(x: np.ndarray) -> float:
    """``float(np.linalg.norm(x))``, the same number: for a flat contiguous float64 array (the sampled entries the role
    tests compare) it is ``sqrt(x.dot(x))``, which is what ``np.linalg.norm`` computes for it after ~2 us of checks of
    its arguments (the step judge takes ~10 norms of a changed array; the forum program's discovery 10,000)."""
    if type(x) is np.ndarray and x.ndim == 1 and x.dtype == np.float64 and x.flags.c_contiguous:
        return float(np.sqrt(x.dot(x)))
    return float(np.linalg.norm(x))


def row_norms(M: np.ndarray) -> np.ndarray:
    """``np.linalg.norm(M, axis=1)``, the same numbers: for a real 2-D array it is ``sqrt(add.reduce(M * M, axis=1))``,
    which is what ``np.linalg.norm`` computes for it (without its ~4 us of checks)."""
    if type(M) is np.ndarray and M.ndim == 2 and M.dtype.kind == "f":
        return np.sqrt(np.add.reduce(M * M, axis=1))
    return np.linalg.norm(M, axis=1)


WEIGHT_DECAY = 0.005
"""The largest share of its own values a step of weight decay alone takes away (``lr * lambda``: 1e-4 to 1e-6 a step;
a rescale ``W *= 30`` or a reset takes 29 or 1)."""


def proportional_to(old: np.ndarray, new: np.ndarray, candidates: list[np.ndarray],
                    eps: float) -> tuple[int, float] | None:
    """Which candidate the change ``new - old`` is a multiple of, and the factor (``p -= lr * g``: the step reads
    ``g``, the factor is ``-lr``; ``g += dW`` accumulates: the factor is 1), or None.

    All arrays are the same sampled entries of arrays of one shape. A change that is a multiple of the array's own
    old values (``W *= 30``, a reset to zero) is no step of an update rule, and a candidate must have at least three
    nonzero entries (so that a proportion is a fact, not a coincidence of one or two numbers). The tolerance is the
    rounding of ``p - lr * g`` in the array's precision: ``eps`` of the values, ``1e-6`` of the step.
    """
    with np.errstate(all="ignore"):
        d = new - old
        nd = norm(d)
        if not math.isfinite(nd) or nd == 0.0 or np.count_nonzero(d) < 3:
            return None
        tol = (1e-6 + 8 * eps) * nd + 8 * eps * (norm(old) + norm(new))
        oo = float(np.dot(old, old))
        own = float(np.dot(d, old)) / oo if oo > 0 else 0.0
        if oo > 0 and norm(d - own * old) <= tol and not abs(own) < WEIGHT_DECAY:
            # rescaled or reset: a multiple of itself. (Not a share of at most WEIGHT_DECAY taken away, when an array
            # it could read is that multiple: a step of pure weight decay, ``p -= lr * (0 + wd * p)``, of a network
            # whose loss gradient is 0, one output unit under a softmax)
            return None
        if not candidates:
            return None
        near = range(len(candidates))
        if all(g.shape == d.shape for g in candidates):
            # every candidate's residual at once, with twice the tolerance (rounding apart, a fit is a fit both ways);
            # the few that pass are decided one by one, in order, as they always were
            G = np.stack(candidates)
            gg_all = np.einsum("ij,ij->i", G, G)
            near = np.flatnonzero(row_norms(d - ((G @ d) / gg_all)[:, None] * G) <= 2 * tol).tolist()
        for i in near:
            g = candidates[i]
            if np.count_nonzero(g) < 3:
                continue
            gg = float(np.dot(g, g))
            if not math.isfinite(gg) or gg == 0.0:
                continue
            c = float(np.dot(d, g)) / gg
            if c != 0.0 and norm(d - c * g) <= tol:
                return i, c
    return None


def is_reset(old: np.ndarray, new: np.ndarray) -> bool:
    """Set back to zero from nonzero values (at the sampled entries): what is emptied after an update."""
    return new.size >= 2 and not new.any() and bool(old.any())  # (the methods: ~1 us against ~3 for np.any)


def float_2d(v: Any) -> np.ndarray | None:
    """An argument as a float array of at most 2 dimensions (a list of numbers or of one-element rows too), or None."""
    if issubclass(type(v), list):
        if not holds_numbers(v) or len(v) > 100_000:
            return None
        try:
            v = np.asarray(v, dtype=float)
        except (TypeError, ValueError):
            return None
    if issubclass(type(v), np.ndarray) and v.dtype.kind in "fiu" and 1 <= v.ndim <= 2 and v.size:
        return v.astype(float, copy=False)
    return None


def ordered_like(pre: np.ndarray, a: np.ndarray, tolerance: float = 0.1) -> bool:
    """Whether ``a`` is an elementwise non-decreasing function of ``pre`` (same shape), up to a share of exceptions."""
    p, v = pre.reshape(-1), a.reshape(-1)
    if p.size != v.size or not (np.isfinite(p).all() and np.isfinite(v).all()):
        return False
    if float(np.ptp(p)) == 0.0:
        return False
    steps = np.diff(v[np.argsort(p, kind="stable")])
    tol = 1e-9 * float(np.abs(v).max())
    return float((steps < -tol).mean()) <= tolerance


def rises_with(pre: np.ndarray, a: np.ndarray, *, order: np.ndarray | None = None) -> bool:
    """Whether ``a`` rises with ``pre`` up to noise (both flat, same size, at least 16 entries): the means of ``a`` over
    equal-count bins of ``pre``'s order never fall by more than :data:`BIN_FALL` of their range and explain at least
    :data:`BIN_SHARE` of ``a``'s variance.

    An activation computed from weights that moved since ``pre`` was (an update applied between the forward pass and
    the look) does: its entries move a little against ``pre``, the bins' means barely, where :func:`ordered_like`
    fails on a saturated layer whose entries sit within float noise of ±1. A delta or gradient unrelated to ``pre``
    does not: its bins' means explain about ``bins / n`` of its variance. One sort (``order``: ``pre``'s, when the
    caller has it), one ``reduceat``.
    """
    n = pre.size
    bins = max(4, min(16, n // 6))
    if n < 16 or a.size != n:
        return False
    vs = a[np.argsort(pre, kind="stable") if order is None else order].astype(float)
    edges = (np.arange(bins) * n) // bins
    counts = np.diff(np.append(edges, n))
    means = np.add.reduceat(vs, edges) / counts
    span = float(means.max() - means.min())
    var = float(vs.var())
    if span <= 0 or var <= 0:
        return False
    explained = float(np.sum(counts * (means - vs.mean()) ** 2)) / (n * var)
    return bool(np.all(np.diff(means) >= -BIN_FALL * span)) and explained >= BIN_SHARE


def ordered_by_sample(pre: np.ndarray, a: np.ndarray) -> bool:
    """Whether ``a`` is, sample by sample, a non-decreasing function of ``pre`` (same 2-D shape): a softmax of the
    layer's output, in every row (batch first) or in every column (batch last), without exception. A backpropagated
    delta (``out - t``) breaks the order at the target's entry of nearly every sample."""
    if pre.ndim != 2 or pre.shape != a.shape or not (np.isfinite(pre).all() and np.isfinite(a).all()):
        return False
    tol = 1e-9 * float(np.abs(a).max(initial=0.0))
    for p, v in ((pre, a), (pre.T, a.T)):
        if p.shape[1] < 3 or not np.all(np.ptp(p, axis=1) > 0):
            continue
        order = np.argsort(p, axis=1, kind="stable")
        steps = np.diff(np.take_along_axis(v, order, axis=1), axis=1)
        if not np.any(steps < -tol) and np.any(steps > tol):
            return True
    return False


_PRODUCTS = {
    # side: (fits, rows of the product, columns of the product), of W (m, n) and a 2-D input a
    "W @ a": (lambda W, a: W.shape[1] == a.shape[0], lambda W, a: (W.shape[0], a.shape[1])),
    "a @ W": (lambda W, a: a.shape[1] == W.shape[0], lambda W, a: (a.shape[0], W.shape[1])),
    "a @ W.T": (lambda W, a: a.shape[1] == W.shape[1], lambda W, a: (a.shape[0], W.shape[0])),
    "W.T @ a": (lambda W, a: W.shape[0] == a.shape[0], lambda W, a: (W.shape[1], a.shape[1])),
}
_SIDES = {None: ("W @ a", "a @ W"), "columns": ("W @ a", "a @ W", "a @ W.T"), "rows": ("W @ a", "a @ W", "W.T @ a")}
"""The products a layer's output is looked for as, by how the weights are stored (:func:`~netdoctor.observe.numpy.
classify.weights_layout`): kept ``(out, in)`` ("columns"), a batch of rows is ``x @ W.T``; kept ``(in, out)`` ("rows"),
a batch of columns is ``W.T @ x``. Never the other transposed product: with weights kept ``(in, out)``, ``d @ W.T`` is
a backward's delta for the layer below (``dinputs = dvalues @ W.T``), and with ``(out, in)``, ``W.T @ d`` is."""


def layer_sums(weights: list[np.ndarray], inputs: list[np.ndarray], biases: list[np.ndarray], size: int,
               skip: np.ndarray | None = None, products: dict[tuple[int, int, str], np.ndarray] | None = None,
               layout: str | None = None) -> Iterator[tuple[np.ndarray, bool]]:
    """``W @ a`` and ``a @ W`` of ``size`` entries for every weight matrix and input that fit, and the transposed
    product the weights' ``layout`` allows (see :data:`_SIDES`), each followed by its sums with the biases that fit:
    ``(sum, with a bias)``. ``skip``: an array that is not one of the inputs (the one judged).

    A product is computed only when its shape gives ``size`` entries (over a whole batch of 4,000 columns, ``W1 @ x``
    costs as much as the program's forward), and once per ``products`` (a memo of the caller's, keyed by the arrays'
    ids and the side: for arrays that do not change while it is kept)."""
    sides = _SIDES[layout]
    for W in weights:
        for x in inputs:
            if x is skip:
                continue
            a = x
            if a.ndim == 1:
                a = a.reshape(-1, 1) if W.shape[1] == a.size else a.reshape(1, -1)
            flat = W.ndim == 2 and a.ndim == 2
            for side in sides:
                fits, shape = _PRODUCTS[side]
                if not fits(W, a) or flat and math.prod(shape(W, a)) != size:
                    continue
                key = (id(W), id(x), side)
                pre = products.get(key) if products is not None else None
                if pre is None:
                    pre = _product(side, W, a)
                    if products is not None:
                        products[key] = pre
                if pre.size != size:
                    continue
                yield pre, False
                for b in biases:
                    if b.size in pre.shape and b.size != pre.size or b.size == pre.size:
                        try:
                            with_b = pre + (b.reshape(-1, 1) if b.size == pre.shape[0] else b.reshape(1, -1))
                        except ValueError:
                            continue
                        if with_b.shape == pre.shape:
                            yield with_b, True


def _product(side: str, W: np.ndarray, a: np.ndarray) -> np.ndarray:
    if side == "W @ a":
        return W @ a
    if side == "a @ W":
        return a @ W
    return a @ W.T if side == "a @ W.T" else W.T @ a


def computed_by_layer(c: np.ndarray, weights: list[np.ndarray], biases: list[np.ndarray], inputs: list[np.ndarray],
                      products: dict[tuple[int, int, str], np.ndarray] | None = None, layout: str | None = None) -> bool:
    """Whether ``c`` is ``g(W @ a + b)`` or ``g(a @ W + b)`` (or the transposed product the weights' ``layout`` allows)
    for some ``W``, ``a``, optional ``b`` and non-decreasing ``g`` (applied elementwise, or sample by sample like a
    softmax). ``products``, ``layout``: see :func:`layer_sums`.

    Under :data:`ORDERED_SIZE` entries an ordering holds by chance (4 entries: 1 in 24 orders), so a small ``c`` (the
    output of a 4-class layer on one sample) must be ``g(W @ a + b)`` to rounding, for ``g`` the identity or a usual
    activation (:func:`activated_exactly`)."""
    small = c.size < ORDERED_SIZE
    with np.errstate(all="ignore"):
        for pre, _ in layer_sums(weights, inputs, biases, c.size, skip=c, products=products, layout=layout):
            shaped = c.reshape(pre.shape)
            if small and activated_exactly(pre, shaped):
                return True
            if not small and (ordered_like(pre, shaped) or ordered_by_sample(pre, shaped)):
                return True
    return False


ORDERED_SIZE = 5
"""Entries from which :func:`computed_by_layer` takes an ordering for a layer's output (below: exact values only)."""


def activated_exactly(pre: np.ndarray, c: np.ndarray) -> bool:
    """Whether ``c`` is ``pre``, ``max(pre, 0)``, ``tanh(pre)`` or ``1 / (1 + exp(-pre))`` to rounding (same shape, not
    constant): a layer's output, told from its sum by value, not by order."""
    if c.shape != pre.shape or c.dtype.kind != "f" or float(np.ptp(pre)) == 0.0:
        return False
    tol = 1e-6 if c.dtype == np.float64 else 1e-3
    with np.errstate(all="ignore"):
        return any(np.allclose(c, g, rtol=tol, atol=tol * 1e-3)
                   for g in (pre, np.maximum(pre, 0.0), np.tanh(pre), 1.0 / (1.0 + np.exp(-pre))))


def normalised_from(c: np.ndarray, z: np.ndarray) -> bool:
    """Whether ``c`` is the softmax or the log-softmax of ``z`` (same size, at least 2 classes) over one of its axes,
    to rounding: the output a forward keeps beside its last pre-activation (``self.out = softmax(z2)``), which is not
    ``g(W @ a + b)`` of the arrays written with it. Exact, not an ordering: a delta ``out - t`` is not one (its target
    entry is negative), however its entries are ordered."""
    if c is z or c.size != z.size or c.size < 2 or c.dtype.kind != "f" or z.dtype.kind != "f":
        return False
    z = z.reshape(c.shape) if z.shape != c.shape else z
    with np.errstate(all="ignore"):
        for axis in range(c.ndim):
            if c.shape[axis] < 2:
                continue
            shifted = z - z.max(axis=axis, keepdims=True)
            log_p = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
            tol = 1e-6 if c.dtype == np.float64 else 1e-3
            if np.allclose(c, np.exp(log_p), rtol=tol, atol=tol * 1e-3) or np.allclose(c, log_p, rtol=tol, atol=tol):
                return True
    return False


def scalar_of(v: Any) -> float | None:
    """A number given as itself, or wrapped once: ``[0.0039]``, ``np.array([[3.0]])`` (a label popped off a row of columns)."""
    if issubclass(type(v), (list, tuple)) and len(v) == 1:
        v = v[0]
    if issubclass(type(v), np.ndarray) and v.size == 1 and v.dtype.kind in "fiu":
        v = v.reshape(())[()]
    if issubclass(type(v), (int, float, np.number)) and not issubclass(type(v), (bool, np.bool_)):
        return float(v)
    return None


def bounded(a: np.ndarray) -> bool:
    """Values that look like an activation's output (bounded or non-negative), not a pre-activation."""
    if not np.isfinite(a).all():
        return False
    lo, hi = float(a.min()), float(a.max())
    return (lo >= -1.0 and hi <= 1.0) or lo >= 0.0


def one_hot(rows: np.ndarray, n: int) -> np.ndarray:
    """Targets as (N, n) float rows: integer labels become one-hot rows."""
    if rows.ndim == 1:
        out = np.zeros((len(rows), n))
        out[np.arange(len(rows)), rows.astype(int)] = 1.0
        return out
    return rows.astype(float)


def code_like(rows: np.ndarray) -> bool:
    """Rows that encode a class: one-hot, +-1, or softened codes (0.005/0.955, 0.01/0.99): a single largest entry
    per row and one value for all the others, at most three values in all.

    The distinct values are counted without sorting the rows (:func:`distinct_values`). With a single largest entry
    per row and more than one class, "one value for all the others" is "every other entry is the row's minimum" (the
    minimum is among the others: were it only at the largest entry, every entry would equal it)."""
    count = distinct_values(rows, 3)
    if count > 3 or count < 2:
        return False
    rows = _along_rows(rows)
    at_top = rows == rows.max(axis=1, keepdims=True)
    if not np.all(np.count_nonzero(at_top, axis=1) == 1):  # (one_top, with the maximum it needs kept)
        return False
    return bool(np.all(at_top | (rows == rows.min(axis=1, keepdims=True)))) if rows.shape[1] > 1 else True


def _along_rows(rows: np.ndarray) -> np.ndarray:
    """``rows`` (N, C), laid out for reductions along each row: column by column when the rows outnumber the
    classes. NumPy reduces a C-ordered (4000, 10) batch one row of 10 at a time (0.36 ms for a maximum per row);
    column-major, it runs down all the rows at once (0.05 ms, after a 0.05 ms copy). The same values either way."""
    return np.asfortranarray(rows) if rows.ndim == 2 and rows.shape[0] > rows.shape[1] else rows


def distinct_values(a: np.ndarray, most: int) -> int:
    """How many distinct values ``a`` holds, as ``len(np.unique(a))`` counts them (NaN once), when that is at most
    ``most``; some number above ``most`` otherwise.

    Bounded first: more than ``most`` values among the first 256 entries answer at once (a softmax output, a
    delta, a batch of pixels), at the cost of those 256. Else every entry is compared with those few values (no
    sort of the whole array: 4.6 ms for the 40,000 entries of a 4,000-row batch of probabilities), and only the
    entries outside them are counted on."""
    first = head(a, 256)
    if first.dtype.kind in "fiub" and not (first.dtype.kind == "f" and np.isnan(first).any()):
        # more than ``most`` values there (the usual answer: a delta, a softmax output) counted by a set of the entries
        # (4 us for 256, against 15 us for np.unique's sort; one output error of 10 classes per sample, 1 us against
        # 8): the same count where no entry is NaN (a set keeps each NaN apart, np.unique counts them once)
        count = len(set(first.tolist()))
        if count > most:
            return count
    few = unique(first)
    if len(few) > most:
        return len(few)
    rest = a[~np.isin(a, few)]
    return len(few) if rest.size == 0 else len(np.unique(np.concatenate([few, np.unique(rest)])))


def probability_rows(rows: np.ndarray) -> bool:
    """Rows (N, C) of non-negative entries each summing to 1 (to ``np.allclose``'s tolerance): a softmax's output,
    or anything shaped like one (smoothed targets too: callers that must not take the targets say so)."""
    return bool(rows.min() >= 0 and np.allclose(rows.sum(axis=1), 1.0, atol=1e-6))


def soft_targets(rows: np.ndarray) -> bool:
    """Rows of non-negative entries summing to 1, each with a single largest entry: smoothed or distilled targets
    (``0.9 * one_hot + 0.1 * prior``), as many distinct values as classes. An output of probabilities looks the same:
    only an array the output is compared with is read as targets by this."""
    if rows.ndim != 2 or rows.dtype.kind != "f" or rows.shape[1] < 2 or not np.isfinite(rows).all():
        return False
    return bool((rows >= 0).all() and np.abs(rows.sum(axis=1) - 1.0).max() <= 1e-6 and one_top(rows))


def multi_hot(rows: np.ndarray) -> bool:
    """Rows of 0s and 1s with at least one 1 each, some with several: a target written ``T[:, y] = 1`` (every row a 1
    at every class of its batch) or a multi-label target. Its argmax is the first class it marks; it names no single
    class when it marks several, and all-ones rows are one vector for every sample (constant targets)."""
    if rows.ndim != 2 or rows.dtype.kind != "f" or rows.shape[1] < 2:
        return False
    first = head(rows, 256)
    if not ((first == 1.0) | (first == 0.0)).all():  # (bounded: probabilities, a delta answer here)
        return False
    ones = rows == 1.0
    return bool((ones | (rows == 0.0)).all() and ones.any(axis=1).all() and (ones.sum(axis=1) > 1).any())


def one_top(rows: np.ndarray) -> bool:
    """Every row names one class: a single entry at the row's largest value (one-hot, +-1, 0.01/0.99 codes).

    A backpropagated delta of dead or saturated units (rows of zeros, or with the largest value shared) has the few
    distinct values of a code but names no class.
    """
    rows = _along_rows(rows)
    return bool(np.all(np.count_nonzero(rows == rows.max(axis=1, keepdims=True), axis=1) == 1))


def flat_arrays(value: Any, depth: int = 0) -> list[np.ndarray]:
    if issubclass(type(value), np.ndarray):
        return [value] if value.dtype.kind == "f" else []
    if depth >= 3:
        return []
    if issubclass(type(value), (list, tuple)):
        return [a for v in value[:32] for a in flat_arrays(v, depth + 1)]
    if issubclass(type(value), dict):
        return [a for v in list(value.values())[:32] for a in flat_arrays(v, depth + 1)]
    return []


def class_rows(v: np.ndarray, n_out: int, n_in: int, *, outputs: bool = False, rows: bool = False) -> np.ndarray | None:
    """Per-sample rows of a target/output array with ``n_out`` classes: (N, n_out), or (N,) integer labels.

    A square array (a batch of as many rows as classes) is read in the network's layout: as it stands when the
    network keeps a sample per row (``rows``), else transposed (a sample per column)."""
    if n_out == n_in or n_out < 2:
        return None
    if v.ndim == 2 and v.shape[1] == n_out and (v.shape[0] != n_out or rows):
        return v
    if v.ndim == 2 and v.shape[0] == n_out:
        return v.T
    if v.ndim == 1 and v.shape[0] == n_out:
        return v.reshape(1, -1)
    if not outputs and v.ndim == 1 and v.dtype.kind in "iu" and v.size and v.min() >= 0 and v.max() < n_out:
        return v
    return None
