"""A call of the program's own function, run again on copies: its forward pass with parameters we may perturb.

At a call event the frame holds the function's arguments. :class:`Replay`
keeps a deep copy of them (and of the closure cells and of the module
globals that lead to a parameter), in which every parameter array is
replaced by a float64 working copy that the caller owns (``copy.deepcopy``
with a memo that maps the parameter's id to its copy). Calling the replay
runs the same code object on those copies: the program's arrays are never
written, its random generators never drawn from (the global NumPy and
``random`` states are saved and put back; generators kept in objects are
copied), and whatever the function prints is swallowed.

A replay runs inside a trace callback, where Python does not trace, so the
observer never sees its own calls.
"""

from __future__ import annotations

import contextlib
import copy
import io
import random
import types
from collections.abc import Iterator
from dataclasses import dataclass
from inspect import CO_VARARGS, CO_VARKEYWORDS
from types import CodeType, FrameType
from typing import Any

import numpy as np

__all__ = ["CallSite", "Replay", "quietly", "arg_values", "BIG", "BIG_CONTAINER"]

BIG = 100_000
"""Arrays with more entries than this that are not parameters (a data set on ``self``) are shared
read-only instead of copied: a forward that wrote into one fails, and the check says it could not run."""
BIG_CONTAINER = 10_000
"""Lists, tuples and dicts longer than this (samples kept one array each) are shared, not copied."""


_QUIET = [0]  # nesting depth of quietly(): the states are saved once, around a whole check


@contextlib.contextmanager
def quietly() -> Iterator[None]:
    """Run the program's code with its prints swallowed and the global random states put back afterwards.

    Re-entrant: inside an outer ``quietly()`` it costs nothing (saving the states takes ~0.5 ms, more
    than a small forward pass).
    """
    if _QUIET[0]:
        yield
        return
    np_state = np.random.get_state()
    py_state = random.getstate()
    _QUIET[0] += 1
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), \
                np.errstate(all="ignore"):
            yield
    finally:
        _QUIET[0] -= 1
        np.random.set_state(np_state)
        random.setstate(py_state)


def _readonly(a: np.ndarray) -> np.ndarray:
    v = a.view()
    v.flags.writeable = False
    return v


def _reach(obj: Any, params: set[int], depth: int = 0, seen: set[int] | None = None) -> bool:
    """Whether a parameter is reachable from ``obj`` (containers and instance attributes, a few levels)."""
    seen = set() if seen is None else seen
    if id(obj) in params:
        return True
    if depth > 3 or id(obj) in seen or isinstance(obj, (str, bytes, int, float, complex, bool, type, types.ModuleType)):
        return False
    seen.add(id(obj))
    if isinstance(obj, dict):
        items: list[Any] = list(obj.values())[:256]
    elif isinstance(obj, (list, tuple)):
        items = list(obj[:256])
    elif hasattr(obj, "__dict__") and not callable(obj):
        items = list(vars(obj).values())[:256]
    else:
        return False
    return any(_reach(v, params, depth + 1, seen) for v in items)


def _share_big(obj: Any, memo: dict[int, Any], params: set[int], depth: int = 0) -> None:
    """Put large non-parameter arrays reachable from ``obj`` into ``memo`` as read-only views (not copied)."""
    if depth > 3:
        return
    if isinstance(obj, (list, tuple, dict)) and len(obj) > BIG_CONTAINER and id(obj) not in memo:
        memo[id(obj)] = obj  # a data set kept as a list of samples: shared, never copied (a forward only reads it)
        return
    if isinstance(obj, np.ndarray):
        if obj.size > BIG and id(obj) not in params and id(obj) not in memo:
            memo[id(obj)] = _readonly(obj)
        return
    if isinstance(obj, dict):
        values: list[Any] = list(obj.values())[:256]
    elif isinstance(obj, (list, tuple)):
        values = list(obj[:256])
    elif hasattr(obj, "__dict__") and not isinstance(obj, (type, types.ModuleType)) and not callable(obj):
        values = list(vars(obj).values())[:256]
    else:
        return
    for v in values:
        _share_big(v, memo, params, depth + 1)


@dataclass(frozen=True)
class CallSite:
    """A call as the program made it: code, globals, bound arguments and closure values (references, no copies)."""

    code: CodeType
    globals: dict[str, Any]
    args: dict[str, Any]
    free: dict[str, Any]

    @classmethod
    def of(cls, frame: FrameType) -> CallSite:
        """The call in ``frame`` at its call event (only the arguments are bound then)."""
        code = frame.f_code
        loc = frame.f_locals
        return cls(code, frame.f_globals, {k: loc[k] for k in _arg_names(code) if k in loc},
                   {k: loc[k] for k in code.co_freevars if k in loc})


def _arg_names(code: CodeType) -> list[str]:
    n = code.co_argcount + code.co_kwonlyargcount
    names = list(code.co_varnames[:n])
    if code.co_flags & CO_VARARGS:
        names.append(code.co_varnames[n])
        n += 1
    if code.co_flags & CO_VARKEYWORDS:
        names.append(code.co_varnames[n])
    return names


class Replay:
    """A call of the program's (a :class:`CallSite`), ready to run again on copies.

    Args:
        site: the call as the program made it.
        work: id of a parameter array -> the working copy to compute with instead.
        replace: argument name -> another value (copied too), e.g. the batch a step trained on.

    Raises:
        Exception: anything ``copy.deepcopy`` raises on an argument it cannot copy (the caller
            takes that as "this call cannot be replayed").
    """

    def __init__(self, site: CallSite, work: dict[int, np.ndarray], replace: dict[str, Any] | None = None) -> None:
        code = site.code
        self.code: CodeType = code
        self.where = f"{code.co_filename}:{code.co_firstlineno}"
        self.name = code.co_name
        params = set(work)
        memo: dict[int, Any] = dict(work)
        bound = {**site.args, **(replace or {})}
        _share_big((bound, site.free), memo, params)
        self.args: dict[str, Any] = copy.deepcopy(bound, memo)
        cells = tuple(types.CellType(copy.deepcopy(site.free[k], memo)) if k in site.free else types.CellType()
                      for k in code.co_freevars)
        g = site.globals
        new_g = dict(g)
        for k, v in g.items():
            if isinstance(v, types.FunctionType) and v.__globals__ is g:
                continue
            if not k.startswith("__") and not isinstance(v, (types.ModuleType, type)) and _reach(v, params):
                try:
                    new_g[k] = copy.deepcopy(v, memo)
                except Exception:  # noqa: BLE001 - not copyable (holds a module, a file): shared; the caller
                    pass  # checks that the forward still computes with the working copies
        for k, v in g.items():  # helpers of the same module read the copied globals too
            if isinstance(v, types.FunctionType) and v.__globals__ is g:
                new_g[k] = types.FunctionType(v.__code__, new_g, v.__name__, v.__defaults__, v.__closure__)
                new_g[k].__kwdefaults__ = v.__kwdefaults__
        self.fn = types.FunctionType(code, new_g, code.co_name, None, cells or None)
        self.positional = code.co_argcount
        n = code.co_argcount + code.co_kwonlyargcount
        self.names = list(code.co_varnames[:n])
        self.star = code.co_varnames[n] if code.co_flags & CO_VARARGS else None
        n += 1 if self.star else 0
        self.starstar = code.co_varnames[n] if code.co_flags & CO_VARKEYWORDS else None

    def call(self, replace: dict[str, Any] | None = None) -> Any:
        """Run the function on its copied arguments (``replace``: argument name -> another value)."""
        args = self.args if not replace else {**self.args, **replace}
        pos = [args[k] for k in self.names[: self.positional]]
        kw = {k: args[k] for k in self.names[self.positional:] if k in args}
        if self.star:
            pos += list(args.get(self.star, ()))
        if self.starstar:
            kw.update(args.get(self.starstar, {}))
        with quietly():
            return self.fn(*pos, **kw)


def arg_values(frame: FrameType) -> dict[str, Any]:
    """The arguments bound in ``frame`` at its call event, by name."""
    loc = frame.f_locals
    return {k: loc[k] for k in _arg_names(frame.f_code) if k in loc}
