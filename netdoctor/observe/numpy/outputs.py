"""The forward's outputs (class counts per evaluation segment, the output error, NaN in the output) and the probing of
functions first seen after discovery: a few calls tell a forward, a target helper or a table's row from the rest.

Functions of ``self: NumpyBackend``, bound in :class:`~netdoctor.observe.numpy.backend.NumpyBackend` under their own
names (not a mixin: mypy checks their bodies against the class, whose state is declared there).
"""

from __future__ import annotations

from argparse import Namespace
from collections.abc import Callable
from inspect import CO_GENERATOR
from types import CodeType, FrameType, FunctionType, ModuleType, SimpleNamespace
from typing import TYPE_CHECKING, Any

import numpy as np

from netdoctor.buffers.peek import is_array
from netdoctor.observe.numpy.activations import RING
from netdoctor.observe.numpy.arrays import own_dict, weak
from netdoctor.observe.numpy.roles import Role, class_rows, code_like, scalar_of
from netdoctor.observe.numpy.tallies import ClassTally
from netdoctor.observe.numpy.targets import add_output_error
from netdoctor.observe.tracer import caller_of

NAMESPACES = (SimpleNamespace, Namespace)
"""Attribute bags of the standard library a program keeps its network on (``net = SimpleNamespace(W1=...)``,
``args``): holders of a forward's output like an object of the program's own class."""

if TYPE_CHECKING:
    from netdoctor.observe.numpy.backend import NumpyBackend

# plain ints in the handlers: an IntFlag's ``&`` and ``|`` run Python code of the enum module (about 1 us each, several
# per event)
_FORWARD, _HELPER, _EVALUATOR, _PROBE, _TABLE = (
    int(Role.FORWARD), int(Role.HELPER), int(Role.EVALUATOR), int(Role.PROBE), int(Role.TABLE))


def output_of(layout: tuple[str, list[int]] | None, value: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """The output in a returned value and its rows (N, n_out): the array itself, or the last array of a tuple or list
    (of at most 8 items) that reads as output rows; None when there is none (or no layout yet).

    The array is the one the rows are read from: a forward returning ``(Z1, A1, Z2, A2)`` has two arrays of the
    output's size, the logits ``Z2`` and the probabilities ``A2``, and the output is ``A2`` (the last one) for
    both what is counted and what the calls handed the output are compared with."""
    if not layout:
        return None
    seq = [value] if issubclass(type(value), np.ndarray) else list(value)[::-1] if issubclass(type(value), (tuple, list)) and len(value) <= 8 else []
    for v in seq:
        if issubclass(type(v), np.ndarray) and v.dtype.kind == "f":
            rows = class_rows(v, layout[1][-1], layout[1][0], outputs=True, rows=layout[0] == "rows")
            if rows is not None and rows.size:
                return v, rows
    return None


def _output_rows(self: NumpyBackend, value: Any) -> np.ndarray | None:
    """The output rows (N, n_out) in a returned value (see :func:`output_of`)."""
    found = output_of(self.layout, value)
    return found[1] if found is not None else None


def _forward_return(self: NumpyBackend, frame: FrameType, value: Any) -> None:
    found = output_of(self.layout, value)
    if found is None:
        return
    out, rows = found
    if self._compare_misses < 64:
        self._out = weak(out)
        self._compare_left = 8
    self._last_out = (weak(out), rows[0].astype(float))
    T = self._pending_T
    if T is not None and len(T) == len(rows) and len(rows) > 1 and self._deep:  # kept for deep windows only
        self._pending_T = None
        add_output_error(self, rows, T)
    self._forward_returns += 1
    self.learning.output(rows, self.updates, self.contrib_calls)
    if len(self.out_rows) < RING // 8 or self._forward_returns % 4 == 0:
        kept = rows[:64].astype(float)
        self.out_rows.append(kept)
        self._out_rows_n += len(kept)
        if self._out_rows_n > RING:
            self._out_rows_n -= len(self.out_rows.pop(0))
    back = caller_of(frame)  # an evaluation written as a comprehension is the function around it
    caller = back.f_code if back is not None else None
    if caller is not None:
        key = id(caller)
        open_ = self._eval_open.get(key)
        if open_ is None:
            open_ = self._eval_open[key] = (caller, ClassTally(), self.updates, frame.f_code.co_name)
        # counted when read, and checked for NaN when the segment closes (:meth:`_close_segments`): a segment pushed
        # out of the ring is never counted (a copy, 0.6 us, against 6 us for argmax, bincount and an add)
        open_[1].add_rows(rows)
        if key not in self._evaluators:
            self._evaluators.add(key)
            self._roles[caller] = self._roles.get(caller, 0) | _EVALUATOR
            self.tracer.heed(caller)  # its returns (an accuracy) are wanted now
        if back is not None:
            self._labels_from(back, caller)
    elif self.nonfinite is None and not np.isfinite(rows).all():
        self._output_nonfinite(self.updates, frame.f_code.co_name)
    self._activations(frame, value)


def _output_nonfinite(self: NumpyBackend, update: int, forward: str) -> None:
    """The forward's output held NaN or Inf (``update``: the updates counted when it was returned)."""
    self.nonfinite = {"update": update, "arrays": ["the output"], "where": f"{forward}()", "targets": self._targets_seen()}


def _evaluator_returned(self: NumpyBackend, code: CodeType) -> None:
    """An evaluator (the caller of the forward) returned: its segment closes, unless it held one row. Then the
    evaluator is a wrapper called once per sample (``forward(image, label)`` around ``softmax.forward``, called by
    the program's test loop): its calls are one evaluation, whose segment closes at the next update or at the end."""
    key = id(code)
    open_ = self._eval_open.get(key)
    if key in self._per_sample_evaluators or (open_ is not None and open_[1].rows == 1):
        self._per_sample_evaluators.add(key)
        return
    self._close_segments(code)


def _close_segments(self: NumpyBackend, only: CodeType | None = None) -> None:
    for key in list(self._eval_open) if only is None else [id(only)]:
        open_ = self._eval_open.pop(key, None)
        if open_ is None:
            continue
        caller, counts, opened, forward = open_
        if counts:  # its Counter is made when the rules read it (_settle)
            if self.nonfinite is None and not counts.finite():
                self._output_nonfinite(opened, forward)
            self.eval_segments.append({"code": caller, "tally": counts, "update": self.updates})
            if len(self.eval_segments) > 32:
                self.eval_segments.pop(0)


def _probe_call(self: NumpyBackend, frame: FrameType) -> None:
    self._helper_call(frame)
    code = frame.f_code
    n_in = self.layout[1][0] if self.layout else -1
    # an input sample: an array with the input's width, or a list of that length (pixels, or one-element rows)
    given = self._probe_inputs[id(frame)] = any(
        (is_array(v) and (n_in in v.shape or _one_sample_of(v, n_in)))
        or (v is not None and issubclass(type(v), list) and len(v) == n_in)
        for v in (frame.f_locals.get(n) for n in code.co_varnames[: code.co_argcount]))
    me = frame.f_locals.get("self")
    if not given and not code.co_argcount - 1 and isinstance(own_dict(me), dict):
        # a method handed nothing (``net.forward()``): the batch the loop set on the object (``net.xb = X[idx]``),
        # an array with the input width of no parameter's shape, stands for the argument
        given = self._probe_inputs[id(frame)] = self._holds_batch(me, n_in)
    if given:
        self.update_checks.probe_call(frame)  # (steps waiting for the program's forward: this may be it)
    if given:
        # a forward may keep its output on the object instead of returning it (``self.output``, or ``state.out`` on
        # an object of the program's classes held in a global it names): what it rebinds tells
        attrs = {(name, k): weak(v) for name, obj in _output_holders(frame) for k, v in _items_of(obj).items()
                 if issubclass(type(v), np.ndarray)}
        if attrs:
            self._probe_attrs[id(frame)] = attrs


def _items_of(obj: Any) -> dict:
    """What a holder of :func:`_output_holders` keeps by name: a dict's items, an object's attributes."""
    if issubclass(type(obj), dict):
        return obj
    return own_dict(obj) or {}


def _one_sample_of(v: np.ndarray, n_in: int) -> bool:
    """Whether ``v`` is one sample of ``n_in`` entries kept in a shape of two or more axes, none of them ``n_in`` wide,
    which the layer flattens itself: a ``(28, 28)`` image handed to a network of 784 inputs, the ``(13, 13, 8)`` maps
    of a pooling layer handed to a dense softmax layer of 1,352 inputs."""
    return v.ndim >= 2 and v.size == n_in and min(v.shape) > 1 and v.dtype.kind == "f"


def _output_holders(frame: FrameType) -> list[tuple[str, Any]]:
    """Where a forward called in ``frame`` could keep its output: ``("", self)``, ``("." + attr, d)`` for each dict
    among ``self``'s first 16 attributes (``self.params['A2']``), ``("=" + arg, d)`` for each dict the function is
    handed (``forward(params, X)`` keeping ``params['A2']``), then ``(name, obj)`` for each global the function names
    (the first 16) and ``("~" + name, obj)`` for each variable it closes over that holds an object of a class its
    module defines (``net.out`` on the ``net`` of a ``make_model()`` closure) or of :data:`NAMESPACES`, or a dict of at most 256 items
    (``cache['A2']``, or the parameters' own dict: ``params['A2'] = out`` beside ``params['W2']``)."""
    out: list[tuple[str, Any]] = []
    me = frame.f_locals.get("self")
    if me is not None and isinstance(own_dict(me), dict):
        out.append(("", me))
        out += [("." + k, v) for k, v in list(own_dict(me).items())[:16] if issubclass(type(v), dict)]
    code = frame.f_code
    out += [("=" + name, v) for name, v in ((n, frame.f_locals.get(n)) for n in code.co_varnames[: code.co_argcount])
            if issubclass(type(v), dict)]
    module = frame.f_globals.get("__name__")
    named = [(name, frame.f_globals.get(name)) for name in code.co_names[:16]]
    named += [("~" + name, frame.f_locals.get(name)) for name in code.co_freevars[:16]]
    for name, obj in named:
        if obj is not None and obj is not me and (issubclass(type(obj), dict) and len(obj) <= 256 or (getattr(
                type(obj), "__module__", None) == module and not issubclass(type(obj), (type, ModuleType, FunctionType))
                or issubclass(type(obj), NAMESPACES)) and isinstance(own_dict(obj), dict)):
            out.append((name, obj))
    return out


def stored_output(frame: FrameType, where: tuple[str, str]) -> Any:
    """The array a forward kept at ``where`` (see :func:`_stored_output`) as its frame sees it now, or None."""
    holder, attr = where
    if holder[:1] == ".":
        obj = (own_dict(frame.f_locals.get("self")) or {}).get(holder[1:])
    else:
        obj = (frame.f_locals.get("self") if not holder else frame.f_locals.get(holder[1:]) if holder[0] in "~="
               else frame.f_globals.get(holder))
    return _items_of(obj).get(attr)


def _holds_batch(self: NumpyBackend, obj: Any, width: int) -> bool:
    """Whether ``obj`` keeps among its first 64 attributes a float array with ``width`` in its shape that is no
    parameter and has no parameter's shape (a batch set on it)."""
    arrays = [t.read() for t in self._tracked()]
    ids = {id(a) for a in arrays}
    shapes = {a.shape for a in arrays if issubclass(type(a), np.ndarray)}
    return any(issubclass(type(v), np.ndarray) and v.dtype.kind == "f" and width in v.shape and id(v) not in ids
               and v.shape not in shapes for v in list(own_dict(obj).values())[:64])


def _probe_return(self: NumpyBackend, frame: FrameType, value: Any) -> None:
    """Classify a function by what it returns: the output (forward), a target vector (helper), or nothing of interest."""
    code = frame.f_code
    given_input = self._probe_inputs.pop(id(frame), False)  # per frame: a nested call must not answer for its caller
    before = self._probe_attrs.pop(id(frame), None)
    if value is None and before is not None:
        where = self._stored_output(frame, before)
        if where is not None:
            self.output_attr[code] = where
            value = stored_output(frame, where)
    left = self._probe_left.get(code, 8) - 1
    self._probe_left[code] = left
    role = self._roles.get(code, 0)
    if self.layout:
        rows = self._output_rows(value)
        if rows is not None and rows.size:
            if self._helper_pending is not None and not given_input and code_like(rows):
                self._roles[code] = (role & ~_PROBE) | _HELPER
                self.target_helper = code
                self._helper_last[id(value)] = (weak(value), self._helper_pending, *self._helper_site)
                self._built_target(value)
                return
            if given_input and not code.co_flags & CO_GENERATOR and not self._returns_gradients(value):
                # (a generator handed the data set yields batches of it, the targets last: never the output)
                self._roles[code] = (role & ~_PROBE) | _FORWARD
                self.forward.add(code)
                self.update_checks.probed_forward(frame)
                self._forward_return(frame, value)
                return
    if issubclass(type(value), np.ndarray) and self._table_row(value):
        # a row of a code table (a target helper whose row fits no layout: (10,) against (10, 1) outputs): kept
        # watched, so that a row written in place is seen when it comes back (mutated-constant)
        self._roles[code] = role | _TABLE
    if left <= 0:
        self._roles[code] = self._roles[code] & ~_PROBE  # 0: ignored from now on


def _returns_gradients(self: NumpyBackend, value: Any) -> bool:
    """Whether ``value`` is a tuple or list holding arrays of the shapes of two or more of the network's weight
    matrices (both sides > 1): gradients, one per parameter (``return dW1, db1, dW2, db2``), whose last vector has the
    output's width without being the output. A forward's caches have the batch's rows, not a layer's inputs."""
    if not issubclass(type(value), (tuple, list)) or len(value) < 2:
        return False
    weights = [t.read() for t in self._tracked()]
    shapes = {a.shape for a in weights if issubclass(type(a), np.ndarray) and a.ndim == 2 and min(a.shape) > 1}
    return bool(shapes) and sum(1 for v in list(value)[:8] if issubclass(type(v), np.ndarray)
                                and v.shape in shapes) >= min(2, len(shapes))


def _stored_output(self: NumpyBackend, frame: FrameType,
                   before: dict[tuple[str, str], Callable[[], Any]]) -> tuple[str, str] | None:
    """Where a forward that returned nothing rebound an attribute to an array of output rows: ``("", "output")`` for
    ``self.output``, ``("state", "out")`` for ``state.out`` on a global object, ``("~net", "out")`` on a closed-over
    one; None when it did not."""
    found = None
    for name, obj in _output_holders(frame):
        for k, v in _items_of(obj).items():
            if issubclass(type(v), np.ndarray) and ((name, k) not in before or before[name, k]() is not v) and (
                    self._output_rows(v) is not None):
                found = (name, k)  # the last one written in the object's order: layers' outputs come before the network's
        if found is not None:
            return found  # (``self`` first)
    return found


def _helper_call(self: NumpyBackend, frame: FrameType) -> None:
    code = frame.f_code
    arg = None
    for name in code.co_varnames[: code.co_argcount]:
        v = scalar_of(frame.f_locals.get(name))
        if v is not None:
            arg = v
            break
    self._helper_pending = arg
    back = caller_of(frame)
    self._helper_site = (back.f_code.co_filename, back.f_lineno, back.f_code.co_name) if back is not None else ("", 0, "")
