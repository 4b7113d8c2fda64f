"""Opening an update check's window: a call handed the batch (or an object holding it) while the recorder wants a
window; the frame that handed the batch down owns the window, and the parameters and buffers are copied.

Functions of :class:`~netdoctor.observe.numpy.update_recorder.UpdateCheckRecorder` (its state is declared there), bound
in it as its methods; when a window may open at all is decided from update counts (:data:`GIVE_UP_AFTER`,
:data:`MAX_ATTEMPTS`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from types import FrameType
from typing import TYPE_CHECKING, Any

import numpy as np

from netdoctor.buffers.peek import is_array
from netdoctor.observe.numpy.arrays import path_text, resolve, walk_arrays
from netdoctor.observe.numpy.replay import arg_values
from netdoctor.observe.numpy.update_window import (
    TrackedArray,
    Window,
    arraylike,
    attrs_of,
    holds_width,
    is_label,
    shape_of,
    targetish,
    targets_among,
)
from netdoctor.usercode import short_path

if TYPE_CHECKING:
    from netdoctor.observe.numpy.update_recorder import UpdateCheckRecorder


MAX_ATTEMPTS = 24
"""Windows opened in all (one that saw nothing applied, e.g. an evaluation, is retried at the next call)."""


GIVE_UP_AFTER = 8
"""Chances in a row that compared nothing (a window closed unchecked, an update passed while a window was wanted and
none opened) after which the update check stops looking for good (see :meth:`UpdateCheckRecorder.offer`)."""


def _holds(v: Any, ids: set[int], shapes: set[tuple[int, ...]]) -> bool:
    """Whether ``v`` is a list or tuple with one of the arrays ``ids`` among its first 64 items (or among theirs: a list
    of ``[W, b]`` pairs), or whose first item is an array of one of ``shapes`` (a sample of a batch is never shaped
    like a weight matrix)."""
    if not issubclass(type(v), (list, tuple)) or not v:
        return False
    if any(issubclass(type(x), (list, tuple)) and any(id(y) in ids for y in x[:8]) for x in v[:64]):
        return True  # the network's [W, b] pairs (``forward(layers, x)``)
    return any(id(x) in ids for x in v[:64]) or (issubclass(type(v[0]), np.ndarray) and v[0].shape in shapes)


def _under_way(frame: FrameType) -> bool:
    """Whether a frame that was handed the batch has computed arrays of its own already (a float array among its
    locals that is none of its arguments): a step under way when the update check began looking (the observer found
    the network in the middle of it). A window opened there would miss what the step computed before (its forward
    among it) and pair the gradient with an inner call's output (a pre-activation): it opens at the next step."""
    args = {id(v) for v in arg_values(frame).values()}
    return any(issubclass(type(v), np.ndarray) and v.dtype.kind == "f" and id(v) not in args
               for v in list(frame.f_locals.values())[:256])


def _held_targets(obj: Any, batch: dict[int, Any], shapes: set[tuple[int, ...]]) -> list[tuple[str, np.ndarray]]:
    """Target-like arrays the object that holds the batch holds beside it (``net.targets``), by attribute."""
    return [(name, v) for name, v in list(attrs_of(obj).items())[:64]
            if issubclass(type(v), np.ndarray) and id(v) not in batch and v.shape not in shapes and targetish(v)][:8]


def _shaped_arrays(root: Any, objects: list[Any], paths: dict[str, Callable[[], Any]] | None = None
                   ) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Float arrays reachable from ``root`` (three levels) with a parameter's shape that are not parameters, copied;
    ``paths`` (when given) gets how to read each of them again by its path (a velocity rebound at every step,
    ``v = mu * v - lr * g``, is another array there when the window closes)."""
    if root is None:
        return []
    shapes = {a.shape for a in objects}
    ids = {id(a) for a in objects}
    out: list[tuple[str, np.ndarray, np.ndarray]] = []
    for path, a in walk_arrays(root, globals_root=issubclass(type(root), dict) and "__name__" in root, max_depth=3):
        if a.shape in shapes and id(a) not in ids and len(out) < 32:
            out.append((path_text(path), a, a.copy()))
            if paths is not None:
                paths[out[-1][0]] = partial(resolve, root, path)
    return out


def _new_chance(self: UpdateCheckRecorder, updates: int) -> None:
    """The update count moved while a window was wanted: a deep update window (windows open only there) during which
    none opened compared nothing. After :data:`GIVE_UP_AFTER` such chances in a row (windows closed unchecked counted
    too), the check stops looking: what it compared stays. Never while a step waits for the program's forward
    (``pending``) or a sign watch is open: the check would still compare there. Decided from counts, never time."""
    if self._chance_at >= 0 and not self._opened:
        self._fruitless += 1
    self._chance_at, self._opened = updates, False
    if self._fruitless >= GIVE_UP_AFTER and self.window is None and not self.pending and self.watch is None:
        self.done = (f"stopped looking at update {updates:,}: the last {self._fruitless} chances in a row (windows "
                     "closed unchecked, updates during which no window could open) compared nothing")


def _offer(self: UpdateCheckRecorder, frame: FrameType, tracked: Callable[[], list[TrackedArray]], input_width: int, where: str,
           root: Any) -> None:
    if _owner_declines(self, frame.f_back):
        return  # told from the caller alone, before any argument is read (a per-sample step offers at every call)
    given = [v for v in arg_values(frame).values() if arraylike(v)]
    batch = {id(v): v for v in given if holds_width(v, input_width)}
    held: tuple[Any, str] | None = None
    if not batch:  # the batch set on an object the call is handed (``net.inputs = X[idx]; net.forward()``)?
        found = self._held_batch(frame, input_width, tracked)
        if found is None:
            return
        held, batch = (found[0], found[1]), {id(found[2]): found[2]}
    arrays = [x for p in tracked() for x in (p.read(), p.buffer() if p.buffer is not None else None)]
    network = {id(x) for x in arrays}
    shapes = {x.shape for x in arrays if is_array(x)}
    if any(id(v) in network for v in given):
        # a call handed a parameter either applies the update (``sgd(W1, dW1, lr)``, ``step(p, g)``: what it is
        # handed with the input width in its shape is that parameter or its gradient) or computes the gradients
        # from the batch handed beside it (``gradients(W1, b1, W2, b2, x, t)``): only an array of no parameter's
        # shape is a batch there
        batch = {i: v for i, v in batch.items() if id(v) not in network and shape_of(v) not in shapes}
    # the list that holds the weights (``forward(weights, biases, x)``) or arrays of their shapes (gradients,
    # zeros to reset them with) has their shape, not a batch's
    batch = {i: v for i, v in batch.items() if not _holds(v, network, shapes)}
    if not batch:
        return
    # a class index handed with one sample (``accumulate(x, label)``) is a target too
    others = [v for v in given if id(v) not in batch and id(v) not in network] + [
        v for v in arg_values(frame).values() if is_label(v)]
    # the window belongs to the frame that handed the batch down: climb while the caller was handed it too
    handed = [frame]
    owner = frame.f_back
    while (owner is not None and len(handed) < 4 and any(id(v) in batch for v in arg_values(owner).values())
           and not _holds_network(owner, network)):
        given = [v for v in arg_values(owner).values() if arraylike(v)]
        batch.update({id(v): v for v in given if holds_width(v, input_width) and not _holds(v, network, shapes)})
        others += [v for v in given if id(v) not in batch]
        handed.append(owner)
        owner = owner.f_back
    if owner is None or any(_under_way(f) for f in handed[1:]):
        return
    self._open(owner, handed, batch, others, held, shapes, tracked, where, input_width, root)


def _holds_network(frame: FrameType, network: set[int]) -> bool:
    """Whether ``frame`` keeps the network's parameters in locals of its own (not handed to it), or in a dict or list
    of its own: the frame that made the network and runs its training loop (``W1, b1 = init(); for i in range(n):
    ... = backward(W1, ..., X, Y)``). It owns the windows even when it was handed the batch too (a full-batch
    ``gradient_descent(X, Y, lr, n)``): the frame above it runs the whole training as one call."""
    args = {id(v) for v in arg_values(frame).values()}
    for v in list(frame.f_locals.values())[:256]:
        if id(v) in args:
            continue
        # the arrays themselves, or the dict or list that holds them (``parameters['W1']``, ``weights[0]``)
        items = list(v.values())[:64] if type(v) is dict else v[:64] if type(v) in (list, tuple) else (v,)
        if any(id(x) in network for x in items):
            return True
    return False


def _owner_declines(self: UpdateCheckRecorder, owner: FrameType | None) -> bool:
    """Whether a window that ``owner`` (the caller of a call offered) would own cannot open now: two of its windows
    saw nothing applied (an evaluation loop)."""
    if owner is None or not self._quiet:
        return False  # (asked first: a lookup hashes the code object, 8-12 us for a module's)
    return self._quiet.get(owner.f_code, 0) >= 2


def _open(self: UpdateCheckRecorder, owner: FrameType, handed: list[FrameType], batch: dict[int, Any], others: list[Any],
          held: tuple[Any, str] | None, shapes: set[tuple[int, ...]], tracked: Callable[[], list[TrackedArray]],
          where: str, input_width: int, root: Any) -> None:
    """Open a window at ``owner``, the frame that handed the batch down (``handed``: it and the calls below it)."""
    t0 = self._clock_in()
    try:
        params = tracked()
        objects = [p.read() for p in params]
        if not params or not all(issubclass(type(a), np.ndarray) and a.dtype.kind == "f" for a in objects):
            return
        if not self._watch_return(owner) or self._quiet.get(owner.f_code, 0) >= 2:
            return
        buffer_objects = [p.buffer() if p.buffer is not None else None for p in params]
        w = Window(
            owner=owner, params=params, objects=objects, before=[np.array(a, copy=True) for a in objects],
            buffers_before=[np.array(b, copy=True) if issubclass(type(b), np.ndarray) else None for b in buffer_objects],
            buffer_objects=buffer_objects, work={p.name: np.array(a, dtype=np.float64) for p, a in zip(params, objects)},
            where=where, batch=batch, width=input_width, opened_at=self.updates() if self.updates else 0,
            opener=handed[0].f_code,
            computed_in=f"{owner.f_code.co_name}() at {short_path(owner.f_code.co_filename)}:{owner.f_code.co_firstlineno}",
        )
        w.target_candidates = others + list(batch.values())
        if held is not None:
            w.held = held
            w.held_targets = _held_targets(held[0], batch, shapes)
            w.target_candidates += [v for _, v in w.held_targets]
        w.owner_targets = targets_among(owner)  # this step's t, before the loop computes the next one
        w.shaped = _shaped_arrays(root, objects, w.shaped_paths)
        self.window = w
        self._opened = True
        for f in handed:
            self._candidate(w, f)
    finally:
        self._clock_out(t0)


def _held_batch(self: UpdateCheckRecorder, frame: FrameType, width: int, tracked: Callable[[], list[TrackedArray]]
                ) -> tuple[Any, str, np.ndarray] | None:
    """An array with the input width in its shape that an object the call is handed holds (``net.inputs =
    X[idx]; net.forward()``), whose entries changed since this call site was last offered: the batch, set on the
    object by the loop. A data set kept there does not change; parameters and arrays of their shapes (gradients)
    are never a batch."""
    objects = [v for v in arg_values(frame).values() if attrs_of(v)]
    if not objects:
        return None
    arrays = [x for p in tracked() for x in (p.read(), p.buffer() if p.buffer is not None else None)]
    ids = {id(x) for x in arrays}
    shapes = {x.shape for x in arrays if is_array(x)}
    if len(self._held) > 4096:
        self._held.clear()
    found: tuple[Any, str, np.ndarray] | None = None
    for obj in objects[:4]:
        for name, v in list(attrs_of(obj).items())[:64]:
            if (not issubclass(type(v), np.ndarray) or v.dtype.kind != "f" or width not in v.shape or id(v) in ids
                    or v.shape in shapes or v.size > 1_000_000):
                continue
            key = (id(obj), name)
            mark = (v.shape, v.reshape(-1)[:: max(1, v.size // 64)][:64].tobytes())
            last, self._held[key] = self._held.get(key), mark
            if found is None and last is not None and last != mark:
                found = (obj, name, v)
    return found


def _watch_return(self: UpdateCheckRecorder, frame: FrameType) -> bool:
    """Have the return of a running frame reach :meth:`on_return` (the observer may not watch it)."""
    if frame.f_trace is not None:
        return True  # the observer's tracer watches it and passes its return on
    if frame.f_code.co_name == "<module>":
        return True  # a script's module frame: its next batch or the end of the program closes the window

    def local(f: FrameType, event: str, arg: Any) -> Any:
        if event == "return" and self.window is not None and self.window.owner is f:
            try:
                self.on_return(f, arg)
            except Exception as exc:  # noqa: BLE001 - our error must never become the program's
                self.window = None
                self.skipped.append(f"the check failed ({type(exc).__name__}: {exc})")
        return local

    frame.f_trace = local
    return True
