"""Targets read back from the output error a program hands its layers, where no call is handed the targets.

A layer object that steps itself inside ``backward(d, lr)`` is handed only the error: the trainer (or a
module-level loop) builds it from the labels in one expression and never binds the targets to a name
(``d = (a - np.eye(C)[y[idx]]) / len(idx)``; ``layer.backward(2 * (out - Y[idx]) / n)``; ``p - onehot(t)``). The
output it was built from is still among the caller's locals (``a``, ``out``, ``p``). For the loss gradients that
are linear in the targets (softmax with cross-entropy: ``(p - t) / n``; a linear output with a squared error:
``2 (o - t) / n``), the error is ``d = (O - T) / k`` for one scale ``k``, so ``T = O - k d``: where that is a class
code per row (one-hot, +-1, 0.01/0.99; :func:`~netdoctor.observe.numpy.roles.code_like`), it is the targets,
exactly. ``k`` is not known (1, the batch size, half of it): two entries of one target value give it,
``k = (O_i - O_j) / (d_i - d_j)``, so the pairs among the first entries are tried (a row of three or more classes holds
two entries of the same target value; a row of two, with the next row's).

Functions of ``self: NumpyBackend``, bound in :class:`~netdoctor.observe.numpy.backend.NumpyBackend` under their own
names (not a mixin: mypy checks their bodies against the class, whose state is declared there).
"""

from __future__ import annotations

import itertools
from types import FrameType
from typing import TYPE_CHECKING, Any

import numpy as np

from netdoctor.buffers.peek import is_array, own_dict
from netdoctor.observe.numpy.roles import class_rows, code_like

if TYPE_CHECKING:
    from netdoctor.observe.numpy.backend import NumpyBackend

__all__ = ["ERROR_AFTER", "ERROR_TRIES", "targets_from_error", "targets_in_error"]

ERROR_TRIES = 64
"""Calls of the gradient's function handed an array of the output's width that are looked at before the look stops,
when none showed targets."""

ERROR_AFTER = 16
"""Updates after which the output error is looked at, when no other source counted a target by then: the sources that
read a label beside the error confirm it over several calls (8), a comparison or a loop's name at the first updates;
read with them, a sample would be counted twice."""

CALLERS = 3
"""Callers of the gradient's function whose locals are looked at for the output (a model's ``backward`` between the
trainer that holds the output and the layer's)."""

PAIRS = 6
"""Leading entries whose pairs give the candidate scales ``k``."""


def targets_from_error(out: np.ndarray, d: np.ndarray) -> np.ndarray | None:
    """``T = out - k d`` for the scale ``k`` that makes it a class code per row (see the module docstring), or None.

    ``out`` and ``d`` have one shape, (N, C) or (C,): the output and the error built from it. The code must hold
    exactly (within float rounding of ``out``): a delta that is no linear function of the targets (a sigmoid's
    ``(o - t) o (1 - o)``) gives none."""
    o, e = out.reshape(-1).astype(float, copy=False), d.reshape(-1).astype(float, copy=False)
    if o.size < 4 or not (np.isfinite(o).all() and np.isfinite(e).all()) or not e.any():
        return None
    tol = 1e-7 * max(1.0, float(np.abs(o).max()))
    tried: list[float] = []
    for i, j in itertools.combinations(range(min(PAIRS, o.size)), 2):
        if e[i] == e[j]:
            continue
        k = float((o[i] - o[j]) / (e[i] - e[j]))
        if k == 0 or any(abs(k - t) <= 1e-9 * abs(k) for t in tried) or abs(k) * float(np.abs(e).max()) <= 100 * tol:
            # (a negative k: an error pointing from the output to the targets, a step that climbs. A k that moves no
            # entry beyond rounding reads the output itself: a saturated tanh's +-1 is a code already, whatever d is)
            continue
        tried.append(k)
        with np.errstate(all="ignore"):
            T = out - k * d
            snapped = np.where(np.abs(T - T.max()) <= tol, T.max(), np.where(np.abs(T - T.min()) <= tol, T.min(), T))
        if np.abs(snapped - T).max(initial=0) <= tol and snapped.max() > snapped.min():
            rows = snapped.reshape(1, -1) if snapped.ndim == 1 else snapped
            if code_like(rows):
                return snapped
    return None


def targets_in_error(self: NumpyBackend, frame: FrameType) -> None:
    """At a call of the gradient's function, where no targets were ever read: an argument of the output's width whose
    rows are ``(O - T) / k`` for an output ``O`` among the locals of the call's callers (or the attributes of the
    frame's ``self``) and class codes ``T`` (:func:`targets_from_error`): ``T`` is counted as the batch's targets, and
    ``O`` as its output where no forward was found. Where the output was found (which caller, which name) is the only
    place looked at from then on."""
    sizes = self.layout[1] if self.layout else None
    if not sizes or sizes[-1] < 2 or sizes[-1] == sizes[0] or (self._error_source is None and self._error_tries >= ERROR_TRIES):
        return
    n_out, n_in = sizes[-1], sizes[0]
    by_rows = self.samples_as_columns is not True
    code = frame.f_code
    loc = frame.f_locals
    for name in code.co_varnames[: code.co_argcount]:
        d = loc.get(name)
        if not (is_array(d) and d.dtype.kind == "f" and 0 < d.ndim <= 2 and d.size and n_out in d.shape[-2:]):
            continue
        if class_rows(d, n_out, n_in, outputs=True, rows=by_rows) is None:
            continue
        self._error_tries += self._error_source is None
        for place, key, out in _outputs_near(frame, d, self._error_source):
            T = targets_from_error(out, d)
            rows = class_rows(T, n_out, n_in, rows=by_rows) if T is not None else None
            if T is None or rows is None or rows.ndim != 2:
                continue
            self._error_source, self._error_code = (place, key), code
            self._count_targets(rows, T)
            self._error_rows += len(rows)
            o = class_rows(out, n_out, n_in, outputs=True, rows=by_rows)
            if not self.forward and o is not None and len(o) == len(rows):
                self.learning.output(np.asarray(o, dtype=float), self.updates)
            return
        return


def _outputs_near(frame: FrameType, d: np.ndarray,
                  source: tuple[int, str] | None) -> list[tuple[int, str, np.ndarray]]:
    """Arrays of ``d``'s shape (not ``d``) with where they are (0: an attribute of the frame's ``self``, a layer
    keeping its output as ``self.out``; 1 to :data:`CALLERS`: a local of that caller) and their name, nearest first;
    only at ``source`` when given."""
    out: list[tuple[int, str, np.ndarray]] = []
    me = frame.f_locals.get("self")
    attrs = own_dict(me) if me is not None else None  # (no code of the program runs: its lookups are its own)
    places: list[dict[str, Any]] = [attrs if isinstance(attrs, dict) else {}]
    f = frame.f_back
    for _ in range(CALLERS if source is None else source[0]):
        if f is None:
            break
        places.append(f.f_locals)
        f = f.f_back
    for place, values in enumerate(places):
        if source is not None and place != source[0]:
            continue
        items = [(source[1], values.get(source[1]))] if source is not None else list(values.items())[:64]
        for key, v in items:
            if is_array(v) and v is not d and v.shape == d.shape and v.dtype.kind == "f" and len(out) < 8:
                out.append((place, key, v))
    return out
