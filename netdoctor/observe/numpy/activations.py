"""The hidden layers' activations: among the arrays a running frame can see, each layer's output is the one that is
what the layer computes from an input batch seen nearby (ordered like its pre-activation); sampled rows kept in rings.

Functions of ``self: NumpyBackend``, bound in :class:`~netdoctor.observe.numpy.backend.NumpyBackend` under their own
names (not a mixin: mypy checks their bodies against the class, whose state is declared there).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from functools import lru_cache
from types import FrameType, ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

from netdoctor.buffers.peek import holds_numbers, is_array
from netdoctor.nn.stats import median
from netdoctor.nn.threads import one_blas_thread
from netdoctor.observe.numpy.arrays import Path, array_role, own_dict, path_text, resolve, walk_arrays
from netdoctor.observe.numpy.arrays import head as leading_entries
from netdoctor.observe.numpy.roles import rises_with
from netdoctor.observe.tracer import sampled

if TYPE_CHECKING:
    from netdoctor.observe.numpy.backend import NumpyBackend
    from netdoctor.rules.evidence import LayerFlow

RING = 512
"""Rows kept per layer for activation statistics (the latest ones)."""

FIRST_ROWS = 64
"""Rows kept per layer from the first looks that found its output (the activations at the start)."""


PRE_RING = 128
"""Rows kept per layer beside their pre-activations (the latest ones): the function is named from them."""


MOVED_SIGNS = 0.05
"""Share of the entries with a positive pre-activation that a layer's output may have below 0 when the weights moved
since the forward pass (entries near 0 cross it; a delta has about half)."""


STALE_PRE_ACTIVATION = 0.05
"""Mean distance from the pre-activation (over its spread) below which an array that follows it only up to noise is
taken for the pre-activation itself, cached by the forward before the weights moved (a tanh in its linear range is
as near: not saturated either way)."""


CHECKED_ENTRIES = 1024
"""Entries of a candidate activation compared with the layer's pre-activation at most (whole samples, at least 8): the
product and the sort cost the same for any batch (a batch of 256 through a 784-128 layer is 32x this)."""


@lru_cache(maxsize=4096)
def _kept_name(name: str) -> bool:
    """Whether a variable or attribute called ``name`` may hold a layer's output: not a gradient by its name (a
    buffer's, ``dH``, ``delta``, or ``grad...``). Cached: a look reads the same few names again and again, and
    :func:`~netdoctor.observe.numpy.arrays.array_role` runs regular expressions (about 20 us a name)."""
    return array_role(name) != "buffer" and not name.startswith("grad")


def layer_product(W: np.ndarray, x: np.ndarray, cols: bool, out_in: bool) -> np.ndarray:
    """A layer's pre-activation without its bias, as the batch's layout asks: ``W @ x`` for a batch of columns
    (``cols``) and weights kept ``(out, in)`` (``out_in``), ``W.T @ x`` for columns and ``(in, out)`` weights,
    ``x @ W`` for rows and ``(in, out)`` weights, ``x @ W.T`` for rows and ``(out, in)`` weights. How the weights are
    stored and which axis of the batch holds the samples are two facts: the result has the batch's layout."""
    if cols:
        return W @ x if out_in else W.T @ x
    return x @ W.T if out_in else x @ W


def _leading_samples(x: np.ndarray, a: np.ndarray, W: np.ndarray, cols: bool,
                     out_in: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The first samples of an input batch ``x`` and of the candidate output ``a`` (which :func:`_chains_to` found the
    product's size), so that at most :data:`CHECKED_ENTRIES` entries are computed and compared: ``a`` as the product's
    shape reads it, cut to the same samples (the batch along axis 0 of rows, axis 1 of columns; ``out_in``: the
    weights kept ``(out, in)``, by default as the batch is laid out)."""
    out_in = cols if out_in is None else out_in
    n, width = (x.shape[1] if cols else x.shape[0]), (W.shape[0] if out_in else W.shape[1])
    k = max(8, -(-CHECKED_ENTRIES // max(width, 1)))
    if n <= k or a.size != n * width:
        return x, a
    if cols:
        return x[:, :k], a.reshape(width, n)[:, :k]
    return x[:k], a.reshape(n, width)[:k]


def _mask(a: np.ndarray) -> bool:
    """Whether ``a`` holds exact 0s and one positive value and nothing else: a relu's derivative (0/1) or a dropout
    mask (0 and 1/keep: an inverted dropout's 1.25), ordered like the pre-activation but no layer's output (a sigmoid
    is never exactly 0; a relu layer's entries that fire differ; a dead relu layer is all 0s)."""
    zero = a == 0
    if not zero.any() or zero.all():
        return False
    top = a.max()
    at_top = a == top
    # (two or more entries at one positive value: a relu output whose only firing unit is its largest is no mask)
    return bool(top > 0 and (zero | at_top).all() and (top == 1 or at_top.sum() >= 2))


SCREEN_ENTRIES = 256
"""Leading entries of a candidate read first by :func:`_output_like`: most arrays a look meets (a pre-activation, a
delta, a layer's output that is not a mask) are told from them without a pass over the whole batch."""


def _output_like(a: np.ndarray) -> bool:
    """Whether a float array ``a`` may be a layer's output by its values: :func:`~netdoctor.observe.numpy.roles.bounded`
    (finite, and within [-1, 1] or non-negative) and not :func:`_mask`, the same answers from fewer passes over it.

    The leading :data:`SCREEN_ENTRIES` entries (C order) decide first whenever they can: an entry that is not finite,
    or a negative entry beside one outside [-1, 1], makes ``a`` unbounded whatever the others hold. Else one ``min``
    and one ``max`` over ``a`` decide ``bounded`` (NaN propagates through both, and an infinity is one of them: both
    finite means every entry is). A mask holds 0 and one positive value only, so its minimum is 0 and its maximum that
    value: a bounded array with another minimum, or whose leading entries hold another nonzero value, is none; the
    rest is :func:`_mask`'s own test. A look meets a 4,000-column batch's pre-activation, output and delta several
    times (one call each per layer and layout before): about 80 us each for ``bounded``'s four passes and 45 us for
    ``_mask``'s, at every deep step."""
    s = leading_entries(a, SCREEN_ENTRIES)
    lo, hi = float(s.min()), float(s.max())
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo < 0 and (lo < -1 or hi > 1):
        return False
    nonzero = s[s != 0]
    screened_mask = nonzero.size == 0 or bool((nonzero == nonzero[0]).all())
    if s.size < a.size:
        lo, hi = float(a.min()), float(a.max())
        if not (math.isfinite(lo) and math.isfinite(hi)):
            return False
    if not ((lo >= -1.0 and hi <= 1.0) or lo >= 0.0):
        return False  # not bounded
    return not (lo == 0 and hi > 0 and screened_mask and _mask(a))


def _same_view(x: np.ndarray, y: np.ndarray) -> bool:
    """Whether ``x`` and ``y`` show the same entries (one array, or two views of the same memory, shape and strides):
    a sample sliced from the data set (``X[j:j + 1]``) shares its base with the data set but is another input."""
    return x is y or (x.shape == y.shape and x.strides == y.strides
                      and x.__array_interface__["data"][0] == y.__array_interface__["data"][0])


def _activations(self: NumpyBackend, frame: FrameType, value: Any) -> None:
    """Record the hidden layers' outputs the running frame can see, each checked against the layer's input.

    Asked at returns of the forward and of the gradient's function, and (:meth:`_on_tick`) at loop iterations of
    followed frames, where a forward written inline keeps its outputs among the locals. Candidates are the frame's
    locals, what it returns, the caches discovery saw the forward write and the arrays the network's layer objects
    keep; for each hidden layer, the candidate of its width that is what the layer computes from an input batch
    seen nearby (:meth:`_output_among`) is its activation. A backpropagated delta or a gradient of the layer's
    width is bounded too, but is not ordered like the pre-activation.
    """
    self._act_calls += 1
    if sampled(self._act_calls) and self._record_activations(frame, value):  # bounded in counts, not time
        self._act_by_calls = True


def _record_activations(self: NumpyBackend, frame: FrameType, value: Any) -> bool:
    """:meth:`_activations`, every time asked; whether a layer's output was found."""
    if not self.layout or len(self.layout[1]) < 3:
        return False
    n = self._act_calls + self._act_ticks
    skip = {id(a) for a in self._arrays()}
    root = self.root.obj
    skip |= {id(resolve(root, p.buffer)) for p in self.params if p.buffer is not None}
    # the caches discovery saw the forward pass write (``params['A1']``, ``self.hidden``) first, then the arrays
    # layers keep on themselves (`self.H = sigmoid(...)`, a Tanh layer's `self.y`), what the frame returns, and
    # its locals last (a backward's locals hold deltas of the layer's width)
    values = [resolve(root, p) for p in self.cache_paths]
    if self._cache_paths is None or n % 256 == 1:  # the arrays layers keep, re-walked now and then
        self._cache_paths = self._kept_paths()
    values += (held := [resolve(base, p) for base, p in self._cache_paths])
    values.append(value)
    # gradients (dH, delta, grad_out) are bounded too: only names that are not gradient-like
    values += [v for k, v in frame.f_locals.items() if _kept_name(k)]
    kept = self._kept_by_objects(frame)
    values += kept
    candidates = _layer_candidates(values, self.layout[1][1:-1], skip)
    if not any(candidates.values()):
        return False
    # (the model's layer objects keep each layer's input: ``layers[0].x`` is the batch)
    seen, told = self._inputs_near(frame, kept + [a for a in held if self.holder is not None and is_array(a)])
    # which axis of the batches holds the samples: the layout a batch in the frame's arguments shows; else the one a
    # layer's output was found from before; else both, the weights' layout first: the one whose batches compute a
    # layer's output is the program's (of the two, those with batches first: without one, a layer's first candidate
    # is taken as it is)
    learned = self.samples_as_columns
    default = self.layout[0] == "columns"
    layouts = [told] if told is not None else [learned] if learned is not None else [default, not default]
    laid = {cols: _laid_out(seen, self.layout[1][0], cols) for cols in layouts}
    layouts.sort(key=lambda cols: not laid[cols])
    found: dict[int, tuple[np.ndarray, dict]] = {}
    cols = layouts[0]
    for cols in layouts:
        found = self._layers_found(candidates, laid[cols], cols, seen)
        if found:
            if laid[cols] and (told is not None or learned is None):
                self.samples_as_columns = cols  # a layer's output computed from batches so laid out
            break
    for layer, (a, pres) in found.items():
        _keep_rows(self, layer, a.reshape(1, -1) if a.ndim == 1 else (a.T if cols else a), pres, cols, n)
    return bool(found)


def _keep_rows(self: NumpyBackend, layer: int, rows: np.ndarray, pres: Any, cols: bool, n: int) -> None:
    """Keep a look's ``rows`` (samples first) of ``layer``'s output: with their pre-activations in the pair ring (the
    first :data:`PRE_RING` rows, then every 64th look), among the first :data:`FIRST_ROWS` rows, and in the ring of the
    last :data:`RING` rows; ``n`` counts the looks."""
    kept_pairs = self.pre_rows.setdefault(layer, [])
    paired = sum(len(r[0]) for r in kept_pairs)
    # the function does not change over a run: the first PRE_RING rows name it, a pair now and then keeps it current
    if n % 64 == 0 or paired < PRE_RING:
        pair = _with_pre_activation(rows, pres, cols)
        # a pair whose pre-activations all have one sign does not tell the functions apart (a relu layer dead at
        # every unit and a sigmoid far below 0 both give exact 0s): it never pushes out one that does
        if pair is not None and (_crosses_zero(pair[1]) or not any(_crosses_zero(r[1]) for r in kept_pairs)):
            kept_pairs.append(pair)
            paired += len(pair[0])
            while paired > PRE_RING:
                paired -= len(kept_pairs.pop(0)[0])
    first = self.first_rows.setdefault(layer, [])
    if sum(len(r) for r in first) < FIRST_ROWS:
        first.append(np.array(rows[:FIRST_ROWS], dtype=float))
    ring = self.rows.setdefault(layer, [])
    ring.append(np.array(rows[:64], dtype=float))
    in_ring = self._rows_held[layer] = self._rows_held.get(layer, 0) + len(ring[-1])
    while in_ring > RING:
        in_ring = self._rows_held[layer] = in_ring - len(ring.pop(0))


def _layer_candidates(values: list[Any], widths: list[int], skip: set[int]) -> dict[tuple[int, bool], list[np.ndarray]]:
    """The bounded float arrays among ``values`` (or in their short lists and tuples) that may be hidden layer
    ``layer``'s output for batches holding a sample per column (``(layer, True)``: ``widths[layer - 1]`` rows) or per
    row (``(layer, False)``), at most 8 each; a relu's 0/1 derivative and a dropout mask left out, and the arrays of
    ``skip`` (by id)."""
    candidates: dict[tuple[int, bool], list[np.ndarray]] = {}
    # an array met again (a layer object's ``self.a`` is also the frame's local and what it returns) can add nothing:
    # it was added, or refused by its values or by a full list, the first time; ``skip`` grows with the arrays met
    # (by id: the arrays are held by ``values`` meanwhile)
    skip = set(skip)
    for v in values:
        seq = v if issubclass(type(v), (list, tuple)) and len(v) <= 16 else (v,)
        for a in seq:
            if id(a) in skip or not issubclass(type(a), np.ndarray) or a.dtype.kind != "f" or a.ndim > 2 or a.size == 0:
                continue
            skip.add(id(a))
            ok: bool | None = None
            for layer, w in enumerate(widths, start=1):
                if w not in a.shape:
                    continue
                for cols in (True, False):
                    if (a.ndim == 1 or _batch_axis_ok(a, w, cols)) and len(candidates.setdefault((layer, cols), [])) < 8:
                        if ok is None:
                            ok = _output_like(a)  # one test of its values per look
                        if ok:
                            candidates[(layer, cols)].append(a)
    return candidates


def _layers_found(self: NumpyBackend, candidates: dict[tuple[int, bool], list[np.ndarray]], inputs: list[np.ndarray],
                  cols: bool, seen: Sequence[np.ndarray] = ()) -> dict[int, tuple[np.ndarray, dict]]:
    """Each hidden layer's output among ``candidates`` (by layer and layout) computed from ``inputs`` or from the
    previous layer's output found, with the pre-activations computed on the way (see :meth:`_output_among`), for
    batches holding a sample per column (``cols``) or per row. A layer after one not found has nothing to be compared
    with, and its first candidate is taken as it is: never one sharing memory with a batch of the inputs ``seen``
    nearby, in either layout (784 pixels x 32 samples is as wide as a layer of 32 units laid out as rows)."""
    found: dict[int, tuple[np.ndarray, dict]] = {}
    for layer in sorted({k[0] for k, v in candidates.items() if v and k[1] == cols}):
        prev = inputs if layer == 1 else [found[layer - 1][0]] if layer - 1 in found else []
        pres: dict[int, tuple[np.ndarray, np.ndarray] | None] = {}
        among = candidates[(layer, cols)]
        if not prev and layer > 1:
            among = [c for c in among if not any(np.may_share_memory(c, x) for x in seen)]
        a = self._output_among(layer, among, prev, pres, cols)
        if a is not None:
            found[layer] = (a, pres)
    return found


def _output_among(self: NumpyBackend, layer: int, candidates: list[np.ndarray], prev: list[np.ndarray],
                  pres: dict[int, tuple[np.ndarray, np.ndarray] | None] | None = None,
                  cols: bool | None = None) -> np.ndarray | None:
    """The first candidate that is exactly layer ``layer``'s output; else, of those that follow its pre-activation
    up to noise (the weights moved since), the farthest from the pre-activation (a stale cached pre-activation
    is nearest), when it is farther than :data:`STALE_PRE_ACTIVATION`; else None.

    The products run on one BLAS thread: the observer's work never takes a core the program did not ask for
    (with two threads on a busy machine it also waits a scheduler slice for the second). The count is set once for
    all the candidates: setting a BLAS's threads back costs about as much as a product of a 784-64 layer.
    ``pres`` (filled when given) keeps each input's pre-activation, by the input's id; ``cols``: the batches hold a
    sample per column (by default as the weights' layout reads them)."""
    best, best_far = None, STALE_PRE_ACTIVATION
    if pres is None:
        pres = {}  # one product and one sort per input, not per candidate
    with one_blas_thread():
        for c in candidates:
            far = self._computes_layer(layer, c, prev, pres, cols)
            if far == math.inf:
                return c
            if far is not None and far > best_far:
                best, best_far = c, far
    return best


def _crosses_zero(pre: np.ndarray) -> bool:
    """Whether pre-activations ``pre`` take both signs (where relu, sigmoid and identity differ)."""
    return bool((pre > 0).any() and (pre < 0).any())


def _with_pre_activation(rows: np.ndarray, pres: dict[int, tuple[np.ndarray, np.ndarray] | None],
                         cols: bool) -> tuple[np.ndarray, np.ndarray] | None:
    """The leading samples of a layer's output ``rows`` (N, units) beside their pre-activation, copied (at most 16
    samples): the pre-activation computed from an input while the output was recognised covers its first samples
    (:func:`_leading_samples`). Of several inputs' pre-activations, the one the output follows most closely (the
    highest correlation: the output rises with its own pre-activation). None when none of that width was computed."""
    best, best_r = None, -2.0
    for known in pres.values():
        if known is None:
            continue
        pre = known[0]
        pre_rows = pre.T if cols and pre.ndim == 2 else pre.reshape(1, -1) if pre.ndim == 1 else pre
        k = min(len(pre_rows), len(rows), 16)
        if not k or pre_rows.shape[1:] != rows.shape[1:]:
            continue
        a, z = np.asarray(rows[:k], dtype=float), np.asarray(pre_rows[:k], dtype=float)
        if len(pres) == 1:
            return a.copy(), z.copy()
        with np.errstate(all="ignore"):
            r = float(np.corrcoef(a.reshape(-1), z.reshape(-1))[0, 1]) if a.size > 1 else 0.0
        r = r if math.isfinite(r) else 0.0  # outputs all equal (a layer saturated at one end): no order to follow
        if r > best_r:
            best, best_r = (a.copy(), z.copy()), r
    return best


def activation_name(b: NumpyBackend, layer: int, a: np.ndarray) -> str:
    """Hidden layer ``layer``'s function: named from what it computes on the pre-activations recorded beside its
    outputs (:func:`~netdoctor.monitor.layer_stats.name_activation`), else guessed from the values ``a`` alone."""
    from netdoctor.monitor.layer_stats import guessed, infer_kind, name_activation

    pairs = b.pre_rows.get(layer)
    if pairs:
        named = name_activation(np.concatenate([p[0] for p in pairs]), np.concatenate([p[1] for p in pairs]))
        if named is not None:
            return named
    return guessed(infer_kind(a))


_NOT_KEEPERS = frozenset({int, float, bool, str, bytes, complex, type(None), np.ndarray, np.float64, np.float32, np.int64})
"""Classes whose objects have no ``__dict__`` (:func:`_kept_by_objects` skips them before asking for one)."""


def _kept_by_objects(self: NumpyBackend, frame: FrameType) -> list[np.ndarray]:
    """Arrays kept on the program's own objects that the frame and up to three of its callers hold, themselves or
    in a small dict, list or tuple (a layer's ``self.x``, a ``Tanh`` object's ``self.y``, the layers of
    ``net = {"fc1": ..., "act1": ...}``): a layer object's input and output that no walk from the network's root
    reaches (the root found may be an optimizer's list of parameters). Names that read as gradients are left
    out, as for the frame's locals."""
    out: list[np.ndarray] = []
    seen: set[int] = set()
    f: FrameType | None = frame
    depth = 0
    while f is not None and depth < 4:
        for v in list(f.f_locals.values())[:128]:
            if issubclass(type(v), (dict, list, tuple)):
                if len(v) > 16:
                    continue
                objs = list(v.values()) if issubclass(type(v), dict) else list(v)
            else:
                objs = [v]
            for o in objs:
                kind = type(o)
                if kind in _NOT_KEEPERS:
                    continue  # (most values: told by one lookup, not by failing to read a dictionary they do not have)
                attrs = own_dict(o)
                if (not isinstance(attrs, dict) or id(o) in seen or issubclass(kind, (type, ModuleType))
                        or not self._users_class(kind)):
                    continue
                seen.add(id(o))
                out += [x for k, x in list(attrs.items())[:32] if issubclass(type(x), np.ndarray) and _kept_name(k)]
        f, depth = f.f_back, depth + 1
    return out


def _users_class(self: NumpyBackend, cls: type) -> bool:
    """Whether ``cls`` is defined in one of the program's own files (cached per class)."""
    known = self._user_classes.get(cls)
    if known is None:
        filename = getattr(sys.modules.get(cls.__module__), "__file__", None)
        known = self._user_classes[cls] = isinstance(filename, str) and self.options.is_user(filename)
    return known


def _kept_paths(self: NumpyBackend) -> list[tuple[Any, Path]]:
    """The arrays the network's objects keep beside their parameters (``layers[0].a``, a Tanh layer's ``self.y``,
    ``net.hidden``), each as the object it is found from and its path there: the root walked a few levels, or, for a
    module's globals, the objects holding the parameters and the lists of layer objects they sit in; and the model
    the parameters are named from (:attr:`Network.holder`) when the root is an optimizer's lists. Not the velocities
    and moving averages discovery saw decaying (a bias's velocity is a vector of a layer's width)."""
    root = self.root

    def kept(p: Path, prefix: str) -> bool:
        text = path_text(p, prefix)
        return array_role(text) != "buffer" and not str(p[-1][1]).startswith("grad") and text not in self.decaying

    lent = self.holder
    holder = [(lent.obj, p) for p, _ in walk_arrays(lent.obj, globals_root=lent.globals_root, max_depth=3, max_items=16)
              if kept(p, lent.prefix)] if lent is not None else []
    if not root.globals_root:
        return [(root.obj, p) for p, _ in walk_arrays(root.obj, max_depth=3, max_items=16) if kept(p, root.prefix)] + holder
    heads: dict[Path, None] = {}
    for prm in self.params:
        for cut in (1, 2):  # the layer object, and the list of layer objects it is an item of
            if len(prm.path) > cut:
                heads.setdefault(prm.path[:-cut])
    out: dict[Path, None] = {}
    for head in heads:
        obj = resolve(root.obj, head)
        if obj is None or issubclass(type(obj), np.ndarray):
            continue
        for p, _ in walk_arrays(obj, max_depth=2, max_items=16):
            if kept((*head, *p), root.prefix):
                out.setdefault((*head, *p))
    return [(root.obj, p) for p in out] + holder


def _inputs_near(self: NumpyBackend, frame: FrameType,
                 kept: list[np.ndarray] = []) -> tuple[list[np.ndarray], bool | None]:  # noqa: B006 - read only
    """Samples and batches of the network's input (:meth:`_as_input`) that the running frame and up to three of its
    callers hold (its arguments first), then those among ``kept`` (arrays the program's objects keep: a layer
    object's ``self.x``): a layer's backward is called by a function that holds the batch, an update helper by the
    step that computed the gradients. With the layout a batch among the frame's arguments shows (True: a sample per
    column), when its input width is along one axis only: a ``(20, 784)`` batch handed to a forward holds rows,
    whatever the weights' layout (``x @ W.T`` with weights kept ``(out, in)``). Not the callers': the module's data
    set ``X`` (rows) is beside the ``X[i:i + 1].T`` column the layers are handed."""
    seen: list[np.ndarray] = []
    converted: dict[int, tuple[Any, np.ndarray | None]] = {}
    first = _input_of(self, frame, converted)
    if first is not None:
        seen.append(first)
    f: FrameType | None = frame
    depth = 0
    while f is not None and depth < 4 and len(seen) < 16:
        for v in list(f.f_locals.values())[:128]:
            x = _as_input_once(self, v, converted)
            if x is not None and all(not _same_view(x, y) for y in seen):
                seen.append(x)
        f, depth = f.f_back, depth + 1
    for v in kept:
        x = _as_input_once(self, v, converted)
        if x is not None and len(seen) < 16 and all(not _same_view(x, y) for y in seen):
            seen.append(x)
    n_in = self.layout[1][0] if self.layout is not None else -1
    told = None
    if first is not None and first.ndim == 2 and (first.shape[0] == n_in) != (first.shape[1] == n_in):
        told = first.shape[0] == n_in
    return seen, told


def _laid_out(seen: list[np.ndarray], n_in: int, cols: bool) -> list[np.ndarray]:
    """The batches among ``seen`` that hold a sample per column (``cols``) or per row, ``n_in`` wide, and the single
    samples as such a batch of one (at most 8)."""
    out: list[np.ndarray] = []
    for x in seen:
        if x.ndim == 1:
            x = x.reshape(-1, 1) if cols else x.reshape(1, -1)
        if _batch_axis_ok(x, n_in, cols) and len(out) < 8:
            out.append(x)
    return out


def _as_input(self: NumpyBackend, v: Any) -> np.ndarray | None:
    """``v`` as one sample (1-D) or a batch (2-D) of the network's inputs, the input width along either axis, or None."""
    if self.layout is None:
        return None
    n_in = self.layout[1][0]
    if issubclass(type(v), list) and len(v) == n_in and holds_numbers(v):
        try:
            v = np.asarray(v, dtype=float)
        except (TypeError, ValueError):
            return None
    if issubclass(type(v), np.ndarray) and v.ndim <= 2 and v.dtype.kind in "fiu" and n_in in v.shape:
        return v.reshape(-1) if v.size == n_in else v
    return None


def _as_input_once(self: NumpyBackend, v: Any, converted: dict[int, tuple[Any, np.ndarray | None]]) -> np.ndarray | None:
    """:meth:`_as_input` of ``v``, a list converted once per look (``converted``: by id, with the list kept alive): a
    sample kept as a list of pixels is held by the step, the forward and the loop that built it (the forum's 784 lists
    of one value, 0.1 ms a conversion). A list seen again comes back as a copy of its first conversion, as
    ``np.asarray`` made a new array of it each time (other memory: another input to :func:`_same_view`)."""
    if not issubclass(type(v), list):
        return self._as_input(v)
    known = converted.get(id(v))
    if known is not None and known[0] is v:
        return None if known[1] is None else known[1].copy()
    x = self._as_input(v)
    converted[id(v)] = (v, x)
    return x


def _input_of(self: NumpyBackend, frame: FrameType,
              converted: dict[int, tuple[Any, np.ndarray | None]] | None = None) -> np.ndarray | None:
    """The input sample(s) among the frame's arguments (see :meth:`_as_input`), or None (``converted``: see
    :func:`_as_input_once`)."""
    code = frame.f_code
    for name in code.co_varnames[: code.co_argcount]:
        v = frame.f_locals.get(name)
        x = self._as_input(v) if converted is None else _as_input_once(self, v, converted)
        if x is not None:
            return x
    return None


def _pre_activation(W: np.ndarray, x: np.ndarray, b: Any, cols: bool, out_in: bool) -> tuple[np.ndarray, np.ndarray] | None:
    """``W·x + b`` (:func:`layer_product`; ``b`` added along the samples' axis when it is an array) and the stable
    order of its entries, or None when the shapes do not chain (``x`` is not this layer's input)."""
    try:
        with np.errstate(all="ignore"):
            pre = layer_product(W, x, cols, out_in)
            if is_array(b):
                pre = pre + (b.reshape(-1, 1) if cols else b.reshape(1, -1))
        return pre, np.argsort(pre.reshape(-1), kind="stable")
    except ValueError:
        return None


def _computes_layer(self: NumpyBackend, layer: int, a: np.ndarray, prev: list[np.ndarray],
                    pres: dict[int, tuple[np.ndarray, np.ndarray] | None] | None = None,
                    cols: bool | None = None) -> float | None:
    """How well ``a`` is what layer ``layer`` computes from one of the input batches ``prev``: an elementwise
    non-decreasing function of ``W·prev + b`` (tanh, sigmoid, relu all are).

    A backpropagated delta has the layer's shape and is bounded too, but is not ordered like the pre-activation;
    a gradient of the layer's weights has another number of rows than the batch. The weights may have moved
    since the forward pass that computed ``a`` (an update applied inline before ``a`` is looked at: a module-level
    loop, an update inside backward or in a helper the step calls per tensor); in a saturated layer even a small
    step reorders the entries that sit within float noise of ±1, and where the pre-activation is near 0 it may
    flip their sign. Such an output still rises with the pre-activation up to that noise
    (:func:`~netdoctor.observe.numpy.roles.rises_with`).

    ``pres`` keeps each input's pre-activation and its order for the next candidate (by the input's id: the
    inputs are held by ``prev`` meanwhile). ``cols``: the batches hold a sample per column (by default as the weights'
    layout reads them); the product is :func:`layer_product`'s.

    Returns:
        None when ``a`` is not this layer's output; ``math.inf`` when it is exactly (ordered like the
        pre-activation of the weights as they are now), or when there is nothing to compare with (no input
        seen, the layer's weights not resolved); else, for an output ordered only up to noise, its mean distance
        from the pre-activation over the pre-activation's spread: the pre-activation itself, cached by the
        forward and now stale, is the nearest such array.
    """
    if not prev or self.layout is None:
        return _without_input(self, layer, a)
    weights = [prm for prm in self.params if len(prm.shape) == 2 and not prm.bias]
    if layer > len(weights):
        return math.inf
    root = self.root.obj
    W = resolve(root, weights[layer - 1].path)
    width = self.layout[1][layer]
    b = _layer_bias(self, layer, len(weights), width)
    if not issubclass(type(W), np.ndarray):
        return math.inf
    out_in = self.layout[0] == "columns"  # (how the weights are kept; ``cols``: how the batches are)
    cols, loose = out_in if cols is None else cols, None
    for x in prev:
        key, out = id(x), a
        if x.ndim == 2 and W.ndim == 2:
            if not self._chains_to(W, x, b, cols, a.size, out_in):
                continue  # shapes that do not chain, or another batch: told from the shapes, without the product
            x, out = _leading_samples(x, a, W, cols, out_in)
        known: tuple[np.ndarray, np.ndarray] | None
        if pres is not None and key in pres:
            known = pres[key]
        else:
            known = _pre_activation(W, x, b, cols, out_in)
            if pres is not None:
                pres[key] = known
        if known is None:
            continue
        pre, order = known
        if pre.size != out.size:
            continue  # another batch
        p, v = pre.reshape(-1), out.reshape(pre.shape).reshape(-1)
        if not (np.isfinite(p).all() and np.isfinite(v).all()) or p.size < 4:
            return math.inf
        if (np.abs(v - p) <= 1e-12 + 1e-6 * np.abs(p)).all():  # np.allclose(v, p, rtol=1e-6, atol=1e-12) of finite arrays
            continue  # the pre-activation itself (a layer object's cached z, small enough to look bounded)
        tol = 1e-9 * float(np.abs(v).max())  # relative to the array's own scale: a vanishing delta is still unordered
        # shares as counts over sizes (``np.mean`` of a boolean array: the same float, without its ~5 us of Python)
        pos = p > 0
        n_pos = int(np.count_nonzero(pos))
        v_pos = v[pos] if n_pos else v[:0]
        wrong = np.count_nonzero(v_pos < -tol) / n_pos if n_pos else 0.0
        if wrong > MOVED_SIGNS or (n_pos and np.count_nonzero(v_pos <= tol) / n_pos > 0.5):
            # tanh, sigmoid, relu and their kin are > 0 where the pre-activation is (dropout zeroes a share of
            # them): neither a relu-gated delta (either sign there) nor a buffer of zeros is such an output
            continue
        if n_pos and _one_value_across_signs(p, v, positive=True):
            continue
        steps = np.diff(v[order])
        if not wrong and np.count_nonzero(steps < -tol) / steps.size <= 0.1:  # dropout masks break a few units' order
            return math.inf
        if rises_with(p, v, order=order):
            spread = float(p.std())
            far = float(np.abs(v - p).mean()) / spread if spread > 0 else 0.0
            loose = far if loose is None else max(loose, far)
    return loose


def _one_value_across_signs(p: np.ndarray, v: np.ndarray, *, positive: bool | None = None) -> bool:
    """``v`` is one value where the pre-activation ``p`` takes both signs: no activation's output (tanh, sigmoid and
    relu are lower below 0 than above it); a constant array (a one-unit softmax's column of ones) sorts only trivially.
    ``positive``: whether ``p`` has an entry above 0, when the caller knows it."""
    positive = bool((p > 0).any()) if positive is None else positive
    return bool(positive and (p < 0).any() and (v == v[0]).all())


def _without_input(self: NumpyBackend, layer: int, a: np.ndarray) -> float | None:
    """:func:`_computes_layer` with nothing to compare with: ``math.inf`` (taken as it is), but for a layer after the
    first, an array of zeros (every buffer's and velocity's first value) or one shaped like a parameter (a gradient,
    a momentum's velocity: they have the layer's width too) is no evidence of a layer's output (None)."""
    shaped = any(a.shape == tuple(prm.shape) for prm in self.params)
    return math.inf if layer == 1 or np.any(a) and not shaped else None


def _layer_bias(self: NumpyBackend, layer: int, n_weights: int, width: int) -> Any:
    """Layer ``layer``'s bias now: the one in its weights' place among the biases when it has the width (layers of
    equal width have biases of equal width, and the first of that width would be another layer's), else the first
    bias of that width; None when there is none."""
    biases = [prm for prm in self.params if prm.bias]
    own = biases[layer - 1] if len(biases) == n_weights and math.prod(biases[layer - 1].shape) == width else None
    root = self.root.obj
    return resolve(root, own.path) if own is not None else next(
        (resolve(root, prm.path) for prm in biases if math.prod(prm.shape) == width), None)


def _chains_to(W: np.ndarray, x: np.ndarray, b: Any, cols: bool, size: int, out_in: bool | None = None) -> bool:
    """Whether :func:`layer_product` (``W @ x`` for columns and ``x @ W`` for rows by default; ``out_in``: the weights
    kept ``(out, in)``), plus the bias, is defined and has ``size`` entries, from the shapes alone: an input seen
    nearby may be the whole data set (a module's ``X``, 5000x784), whose product with the first layer's weights costs
    more than the step being watched."""
    out_in = cols if out_in is None else out_in
    n_in, n_out = (W.shape[1], W.shape[0]) if out_in else (W.shape[0], W.shape[1])
    if x.shape[0 if cols else 1] != n_in:
        return False
    shape: tuple[int, ...] = (n_out, x.shape[1]) if cols else (x.shape[0], n_out)
    if issubclass(type(b), np.ndarray):
        # (``np.broadcast_shapes`` of the two 2-D shapes, spelled out: it costs more than the rest of the check)
        dims = []
        for s, t in zip(shape, (b.size, 1) if cols else (1, b.size)):
            if s != t and s != 1 and t != 1:
                return False
            dims.append(t if s == 1 else s)
        shape = (dims[0], dims[1])
    return math.prod(shape) == size


def _batch_axis_ok(a: np.ndarray, w: int, cols: bool) -> bool:
    """Whether ``a`` has ``w`` units along the axis that is not the batch's (rows of a batch of columns, columns of a
    batch of rows)."""
    return a.shape[0 if cols else 1] == w


def layer_flow(b: NumpyBackend, layer: int) -> LayerFlow | None:
    """How fast the weights feeding hidden layer ``layer`` (1-based) move beside the next layer's weights: the median
    over the watched updates of ``|ΔW| / |W|`` (sampled entries, ``W`` before the update) of each, and their ratio
    (see :class:`~netdoctor.rules.evidence.LayerFlow`). The latest half of the updates watched: a saturation that set
    in late stops the gradient late. None without two weight matrices around the layer or updates that moved both."""
    from netdoctor.rules.evidence import LayerFlow

    weights = [(i, p) for i, p in enumerate(b.params) if len(p.shape) == 2 and not p.bias]
    if len(weights) <= layer:
        return None
    offsets = np.cumsum([0] + [len(p.idx) for p in b.params])
    (i_in, w_in), (i_out, w_out) = weights[layer - 1], weights[layer]
    windows = list(b.windows) or list(b.early)
    moved: list[tuple[float, float]] = []
    for w in windows[len(windows) // 2:]:
        delta, now = w.get("delta"), w.get("w")
        if delta is None or now is None:
            continue
        pair = []
        for i in (i_in, i_out):
            sl = slice(offsets[i], offsets[i + 1])
            with np.errstate(all="ignore"):  # weights gone non-finite: the program's stderr stays its own
                size = float(np.linalg.norm(now[sl] - delta[sl]))
                step = float(np.linalg.norm(delta[sl]))
            pair.append(step / size if size > 0 and math.isfinite(size) and math.isfinite(step) else math.nan)
        if all(math.isfinite(x) for x in pair):
            moved.append((pair[0], pair[1]))
    if not moved:
        return None
    m_in, m_out = float(median([m[0] for m in moved])), float(median([m[1] for m in moved]))
    if not m_out > 0:
        return None  # the next layer stands still too: nothing to compare with
    return LayerFlow(w_in.text, w_out.text, m_in / m_out, len(moved))
