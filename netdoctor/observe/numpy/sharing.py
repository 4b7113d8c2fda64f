"""Gradient buffers that are one object with something else the program keeps, seen while it trains.

A "reset" that re-binds a buffer to a kept object (``grad_w[0] = zero_w[0]``,
``self.weight_updates = self.weight_templates``, ``dW1 = ZERO_W1``) leaves two
names on one object: the accumulation writes into the template, and the next
"reset" hands back the sums. What gives it away is behaviour, not names: at the
start of a window (the first gradient computation after an update) the
buffers still hold what they held, and the object behind a buffer, or behind
the list or dict holding the buffers, is reached under a second name of one
scope the program keeps.

The scopes looked at are the ones that hold the window: the network's own
root, the module globals of the program's frames on the stack, and the locals
of the program's functions that called the gradient computation (``train()``,
``main()``, a closure's ``train()``, ``update_mini_batch()`` whose local
``nabla_b`` is the buffer of the batch), each less its loop variables. A
helper's argument (``def sgd(p, g)``) is never among them: that frame is not on
the stack when a window starts. The gradient function's own locals are looked
at when it returns, and only in a window that started with its buffers full
(``total = self.store`` bound and summed into where the gradients are computed),
for the buffers it wrote into: an array it only reads (a forward's output kept
on ``self.out`` and read back, ``out = self.out``) is no sum of its gradients.
"""

from __future__ import annotations

from collections.abc import Callable
from types import CodeType, FrameType
from typing import Any

import numpy as np

from netdoctor.buffers.aliasing import SecondName, second_names
from netdoctor.observe.numpy.arrays import Cell, FrameLocals, Path, path_text, resolve, walk_arrays
from netdoctor.observe.numpy.network import Param, Root
from netdoctor.observe.source import copied_names, function_loop_names, loop_names

__all__ = ["SharedBuffers", "SCANS", "row_set", "same_rows"]

SCANS = 4
"""Looks at most (each walks a few scopes, ~1 ms): the first windows that start with a buffer still full."""
WINDOWS = 32
"""Window starts after an update at which the buffers are read for a look (each reads a few arrays)."""
EMPTY = 4
"""Window starts in a row that found every buffer empty, after which the step's functions need not be heard for the
look (:meth:`SharedBuffers.waits`). A reset that re-binds a buffer to a kept object shows at the second window start
after it: the first sums into that object, the next reset hands the sums back. Four empty starts in a row leave room
for a reset cycling through up to three kept objects, and for the first window's start, which may come before any
reset, and a buffer that is seen written in place between two starts (``self.zero_w`` summed into through a local)
needs two starts to be known."""
DEPTH = 12
"""Frames of the stack looked at, from the gradient function's caller up."""


class SharedBuffers:
    """Records which of the network's buffers are one object with a second name (see the module's docstring).

    The buffers are the arrays the observer paired with the parameters, and the arrays beside the parameters,
    shaped like one of them and not one of them, that the program writes in place between two window starts (a
    sum of returned gradients accumulated into ``self.zero_w`` through a local ``nabla_w``); never a forward cache,
    never the gradients a function returns (new arrays at every call, never written again).

    Args:
        user_code: whether a code object is the program's own (the tracer's test).
    """

    def __init__(self, user_code: Callable[[CodeType], bool]) -> None:
        self.user_code = user_code
        self.found: dict[str, SecondName] = {}
        """The buffer's (or its container's) path -> the second name found for it."""
        self.first_update: int | None = None
        """The update after which a second name was first found."""
        self.scans = 0
        self.windows = 0
        self.empty = 0
        """Window starts in a row, up to now, at which no buffer held anything (no look)."""
        self._stale: list[Path] = []
        """The buffers of a window that started with something in them, until the gradient function returns."""
        self._stale_objects: dict[int, Any] = {}
        """The objects those buffers were at the window's start (held: their ids must not be reused during the call); a
        buffer the call rebinds is a new array."""
        self._stale_bytes: dict[int, bytes] = {}
        """A few entries of each of those buffer arrays at the window's start: one the call did not write into is no
        sum of its gradients (a forward cache read back, ``out = self.out``)."""
        self._seen: dict[int, tuple[np.ndarray, bytes]] = {}
        """The arrays beside the parameters at the last window start, with a few of their entries (held, so that
        their ids stay theirs): one whose entries changed since was written in place."""
        self.loop_codes: set[CodeType] = set()
        """The program's functions on the stack when a window was looked at (the loops that run the training): a line
        of theirs runs while the program trains."""

    def pending(self, updates: int) -> bool:
        """Whether a window that starts now is worth reading: after an update, while looks are left and none found."""
        return updates >= 1 and self.scans < SCANS and self.windows < WINDOWS and not self.found

    def waits(self, updates: int) -> bool:
        """Whether the step's functions must still be heard for the look (a window only counted may not hold them):
        while a window start is worth reading and fewer than :data:`EMPTY` in a row found every buffer empty. A buffer
        emptied at every reset, by fresh zeros or in place, starts every window empty; after that many, later window
        starts are still read when they are heard (deep windows, and those whose step is not held)."""
        return self.pending(updates) and self.empty < EMPTY

    def at_window_start(self, frame: FrameType, root: Root, params: list[Param], caches: list[Path], updates: int) -> None:
        """At the first gradient computation of a window (``frame``): when a buffer still holds something (a reset that
        gave fresh zeros shares nothing worth a look), look for second names."""
        self.windows += 1
        paired = [p.buffer for p in params if p.buffer is not None]
        seen, self._seen = self._seen, {}
        written = []
        for path, a in _beside(root, params, caches, paired):
            now = _sampled(a)
            self._seen[id(a)] = (a, now)
            if id(a) in seen and seen[id(a)][1] != now:
                written.append(path)
        targets, arrays = _targets(root, paired + written)
        self.empty += 1
        if targets and any(np.any(a) for a in arrays):
            self.empty = 0
            self.look(frame, root, targets, updates)
            self._stale = paired + written  # looked at again when the gradient function returns (see at_return)
            self._stale_objects = {oid: obj for oid, (_, obj) in targets.items()}
            self._stale_bytes = {id(a): _sampled(a) for a in arrays}

    def at_return(self, frame: FrameType, root: Root, updates: int) -> None:
        """When the gradient function of a window that started full returns: its own locals too (the function that
        binds ``total = self.store`` and adds every sample's gradients into ``total`` is the gradient function)."""
        paths, self._stale = self._stale, []
        held, self._stale_objects = self._stale_objects, {}
        start, self._stale_bytes = self._stale_bytes, {}
        if paths and not self.found and self.scans < SCANS:
            # only buffers the call summed into, in place: the gradient function's own locals name what it reads too
            paths = [p for p in paths if issubclass(type(a := resolve(root.obj, p)), np.ndarray) and id(a) in start
                     and _sampled(a) != start[id(a)]]
            targets, _ = _targets(root, paths)
            # only buffers still the objects they were when the window started: one the call rebound to an array it
            # computed (``layer.db = e``) shares that array with the local that computed it, which dies with the call
            targets = {oid: t for oid, t in targets.items() if held.get(oid) is t[1]}
            self.look(frame, root, targets, updates, own=True)

    def look(self, frame: FrameType, root: Root, targets: dict[int, tuple[str, Any]], updates: int, *,
             own: bool = False) -> None:
        """Second names of ``targets`` (id -> (path, object)) in every scope that holds the window (``own``: the locals
        of ``frame`` itself too)."""
        self.scans += 1
        names = {oid: path for oid, (path, _) in targets.items()}
        stack = self._stack(frame if own else frame.f_back)
        self.loop_codes.update(f.f_code for f in stack)
        for name, scope, prefix, skip, copies in self._scopes(root, stack):
            aliases = _root_names(scope, root)
            for oid, paths in second_names(scope, names, prefix=prefix, skip=skip, copies=copies).items():
                path, obj = targets[oid]
                others = [p for p in paths if p != path and not _same_attribute(p, path, root.prefix, aliases)]
                if path not in self.found and others and _holds_something(obj):
                    self.found[path] = SecondName(path, others[0], name, type(obj).__name__)
                    self.first_update = self.first_update if self.first_update is not None else updates

    def _stack(self, frame: FrameType | None) -> list[FrameType]:
        out: list[FrameType] = []
        f = frame
        while f is not None and len(out) < DEPTH:
            if self.user_code(f.f_code):
                out.append(f)
            f = f.f_back
        return out

    def _scopes(self, root: Root, stack: list[FrameType]) -> list[tuple[str, Any, str, frozenset[str], frozenset[str]]]:
        """``(name, scope, prefix, skipped names, names bound to shallow copies)`` of every scope that outlives a
        step, each once."""
        out: list[tuple[str, Any, str, frozenset[str], frozenset[str]]] = []
        seen: set[int] = set()
        obj = root.obj
        if issubclass(type(obj), Cell):
            obj = obj.contents
        if issubclass(type(obj), FrameLocals):
            obj = dict(obj.frame.f_locals)
        name = "module globals" if root.globals_root else (f"`{root.prefix}`" if root.prefix else "the network's containers")
        out.append((name, obj, root.prefix, root.skip, frozenset()))
        seen.add(id(root.obj))
        for f in stack:
            g = f.f_globals
            # (less the names a loop binds to a shallow copy of a container: ``grads = dict(zero_grads)`` shares
            # every array of the other)
            if id(g) not in seen:
                seen.add(id(g))
                file = str(g.get("__file__", ""))
                copies = copied_names(file)
                out.append(("module globals", g, "", loop_names(file) - copies, copies))
            if f.f_code.co_name != "<module>":
                code = f.f_code
                copies = copied_names(code.co_filename, code.co_firstlineno)
                out.append((f"the locals of {code.co_name}()", dict(f.f_locals), "",
                            function_loop_names(code.co_filename, code.co_firstlineno) - copies, copies))
        return out


def _root_names(scope: Any, root: Root) -> list[str]:
    """The names a scope (a mapping of names) binds to the network's root itself (``opt`` in the loop of
    ``opt.step()``, whose methods call it ``self``)."""
    if not issubclass(type(scope), dict) or root.globals_root:
        return []
    obj = root.obj.contents if issubclass(type(root.obj), Cell) else root.obj
    return [k for k, v in list(scope.items()) if issubclass(type(k), str) and v is obj]


def _same_attribute(other: str, path: str, prefix: str, aliases: list[str]) -> bool:
    """Whether ``other`` is ``path`` itself reached through another name of the root (``opt.grads[0]`` for
    ``self.grads[0]``): one attribute of one object, not a second name."""
    if not prefix or not path.startswith(prefix):
        return False
    rest = path[len(prefix):]
    return any(other == name + rest for name in aliases)


def _sampled(a: np.ndarray) -> bytes:
    """Up to 16 entries of ``a``, evenly spaced: enough to tell an array written since."""
    return np.take(a, np.linspace(0, a.size - 1, min(16, a.size)).astype(int)).tobytes() if a.size else b""


def _holds_something(obj: Any) -> bool:
    """An array, or a list or dict of arrays, not all zeros: what a window starts from when the reset kept it."""
    if issubclass(type(obj), np.ndarray):
        return bool(np.any(obj))
    values = obj.values() if issubclass(type(obj), dict) else obj
    return any(issubclass(type(v), np.ndarray) and np.any(v) for v in list(values))


def _beside(root: Root, params: list[Param], caches: list[Path], paired: list[Path]) -> list[tuple[Path, np.ndarray]]:
    """The arrays of the network's root shaped like a parameter that are neither a parameter, a forward cache nor a
    paired buffer."""
    shapes = {p.shape for p in params}
    kept = {id(resolve(root.obj, p.path)) for p in params} | {id(resolve(root.obj, c)) for c in caches}
    return [(path, a) for path, a in walk_arrays(root.obj, globals_root=root.globals_root, max_depth=3, skip=root.skip)
            if a.shape in shapes and a.size and id(a) not in kept and path not in paired]


def _targets(root: Root, paths: list[Path]) -> tuple[dict[int, tuple[str, Any]], list[np.ndarray]]:
    """``id -> (path, object)`` of each buffer array and of the list or dict that holds it, and the buffer arrays."""
    out: dict[int, tuple[str, Any]] = {}
    arrays: list[np.ndarray] = []
    for path in paths:
        b = resolve(root.obj, path)
        if not issubclass(type(b), np.ndarray) or id(b) in out:
            continue
        arrays.append(b)
        out[id(b)] = (path_text(path, root.prefix), b)
        if len(path) > 1:
            head = resolve(root.obj, path[:-1])
            if issubclass(type(head), (list, dict)):
                out.setdefault(id(head), (path_text(path[:-1], root.prefix), head))
    return out, arrays


ROW_SET_LIMIT = 50_000_000
"""Entries of an array up to which its rows are summarised as a set (60,000 MNIST rows of 785: 47 million)."""


def row_set(a: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """An array's rows as a set, whatever their order: the sorted row sums and the sorted row sums of squares (None
    for a vector or a huge array). A shuffle keeps both; writing into a row (``/= 255``, ``*= 0.95``, a shrink towards
    the row's mean) changes at least one."""
    if a.ndim < 2 or a.size > ROW_SET_LIMIT or a.dtype.kind not in "fiu":
        return None
    # no copy of a float64 array and no temporary of its squares: einsum sums them row by row (a 5000x784 data set:
    # 5 ms of CPU against 17-30 ms, paid when the observer first meets a table and when a view of it changed)
    rows = a.reshape(len(a), -1).astype(np.float64, copy=False)
    with np.errstate(all="ignore"):
        return np.sort(rows.sum(axis=1)), np.sort(np.einsum("ij,ij->i", rows, rows))


def same_rows(a: tuple[np.ndarray, np.ndarray] | None, b: tuple[np.ndarray, np.ndarray] | None) -> bool:
    """Whether two :func:`row_set` summaries are one set of rows (to rounding)."""
    if a is None or b is None:
        return False
    return all(x.shape == y.shape and np.allclose(x, y, rtol=1e-9, atol=1e-12, equal_nan=True) for x, y in zip(a, b))
