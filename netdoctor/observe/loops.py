"""How many updates a program makes, read from the loops around them while it runs.

netdoctor cannot know a program's update count in advance, but the loops
around its updates say it. At an update, every frame of the program on the
stack sits inside some ``for`` loops; for each loop this module reads, from
the frame's locals and without running any code of the program's:

* how long it is: the length of what it iterates (``range(epochs)``,
  ``range(0, len(X), batch_size)``, an array's rows, a list, ``zip`` and
  ``enumerate`` of those), evaluated on the frame's values with a few safe
  operations only (names, attributes of plain objects, ``len``, integer
  arithmetic: never a call of the program's functions or a property);
* how far it has come: the loop variable's position in what the loop
  iterates (the value of a ``range``, the row of the array the variable is a
  view of, the position of the item in a list or of the index in a
  permutation).

Outer loop first, the loops give the fraction of their work done when the
update was seen (:func:`fraction`). Between two updates the updates counted
over the fraction of the loops' work done is the program's own update count
(:meth:`LoopProgress.estimate`): one update every 100 of 5,000 rows in one
epoch is 50, whatever the update, the batching or the names. Decided from
what the program does: a loop inside the update (over the layers) or one
that restarts at every update (over a batch's samples) only adds a fraction
below one update, and a loop that cannot be read (a ``while``, a generator)
ends the chain there. Where the loops around the updates cannot be read, no
estimate is made and :attr:`LoopProgress.unknown` says why.
"""

from __future__ import annotations

import ast
import math
import types
from collections.abc import Callable
from types import CodeType, FrameType
from typing import Any

import numpy as np

from netdoctor._lazy import dataclass
from netdoctor.observe.source import enclosing_loops, short_path, statements_before
from netdoctor.observe.stack import stack_values
from netdoctor.observe.tracer import EXPRESSION_SCOPES, sampled, sampled_ahead

__all__ = ["Coverage", "Estimate", "LoopPlace", "LoopProgress", "fraction", "in_loops", "loops_at"]

MAX_SEARCH = 1_000_000
"""Items of a list or array searched for the loop variable's position (a capture is rare; a list this long is not)."""
CAPTURES = 48
"""Captures kept at most (the first ones, then a sampled few per doubling of the update count)."""


class _Unknown(Exception):
    """An expression this module does not evaluate (it could run the program's code, or it is not a loop's size)."""


@dataclass(frozen=True)
class LoopPlace:
    """One ``for`` loop around an update, as seen at one moment."""

    key: tuple[str, int]
    """The loop's file and the line of its ``for``."""
    length: int | None
    """Items the loop iterates in all (None: not readable)."""
    index: int | None
    """Items it has started (0-based position of the current item; None: not readable)."""
    text: str
    """The loop's header as written (``for start in range(0, len(X), batch_size)``)."""
    rebound: str = ""
    """The loop variable the loop's body binds again (``row = list(row / 255)``): its item is gone, so is its place."""
    why: str = ""
    """Why its length or position is not read, where that is known (``it runs until a `break```)."""

    def __str__(self) -> str:
        return f"{short_path(self.key[0])}:{self.key[1]}"


@dataclass(frozen=True)
class Estimate:
    """The program's own update count, read from its loops."""

    updates: int
    loops: tuple[LoopPlace, ...]
    """The loops it was read from, outer first (as seen at the last capture used)."""
    per_iteration: float
    """Updates per iteration of the innermost of those loops (1/100: an update every 100 samples)."""

    def text(self) -> str:
        """``range(1, epochs + 1) at train.py:27 (1), file at network.py:49 (5,000), one update every 100``."""
        parts = [f"{p.text} at {p} ({p.length:,})" for p in self.loops]
        rate = self.per_iteration
        if rate > 0 and abs(1 / rate - round(1 / rate)) < 0.05 and rate < 0.95:
            parts.append(f"one update every {round(1 / rate):,} iterations")
        elif abs(rate - 1) >= 0.05:
            parts.append(f"{rate:.3g} updates per iteration")
        return ", ".join(parts)


def fraction(places: list[LoopPlace] | tuple[LoopPlace, ...]) -> tuple[float, int]:
    """The fraction of the loops' work done (outer loop first) and how many loops it reads.

    ``(epoch 2 of 4, batch 10 of 20)`` is ``(2 + 10/20) / 4 = 0.625``. It stops at the first loop whose length or
    position cannot be read: what lies inside it is a fraction of one of its iterations.
    """
    total, scale, depth = 0.0, 1.0, 0
    for p in places:
        if not p.length or p.index is None or not 0 <= p.index <= p.length:
            break
        scale /= p.length
        total += p.index * scale
        depth += 1
    return total, depth


def loops_at(frame: FrameType, user_code: Callable[[CodeType], bool]) -> tuple[LoopPlace, ...]:
    """The loops of the program around where ``frame`` runs, outer first, through every caller of the program's (a
    library's frames between them, a thread's ``run()``, are passed over); a loop over a generator of the program's is
    read as the loops of the generator's own code that yield its items."""
    frames = []
    f: FrameType | None = frame
    while f is not None:
        code = f.f_code
        if code.co_name not in EXPRESSION_SCOPES and user_code(code):
            frames.append(f)
        f = f.f_back
    out: list[LoopPlace] = []
    for f in reversed(frames):
        out += _frame_places(f, user_code, 0)
    return tuple(out)


_NOT_STARTED = object()
"""Stands for the iterator of a loop whose iterable is still being computed (at its header, before it starts)."""
GENERATOR_DEPTH = 4
"""Generators of the program followed into at most (a generator looping over another one's items, ...)."""


def _frame_places(f: FrameType, user_code: Callable[[CodeType], bool], depth: int) -> list[LoopPlace]:
    line = f.f_lineno
    if line is None:  # between two lines of its code: no loop can be told
        return []
    nodes = enclosing_loops(f.f_code, line)
    if not nodes:
        return []
    fors = [n for n in nodes if isinstance(n, ast.For)]
    iterators = iter(_loop_iterators(f, fors, line) or [None] * len(fors))
    out: list[LoopPlace] = []
    for node in nodes:
        if isinstance(node, ast.While):
            out.append(_while_place(node, f, line))
            continue
        it = next(iterators)
        inner = _generator_frame(it, user_code) if depth < GENERATOR_DEPTH else None
        if inner is not None:
            places = _frame_places(inner, user_code, depth + 1)
            out += places or [LoopPlace((f.f_code.co_filename, node.lineno), None, None,
                                        _header(node, f.f_code.co_filename),
                                        why="it iterates a generator with no loop of its own around its yield")]
            continue
        out.append(_place(node, f, line, it))
    return out


def _is_iterator(v: Any) -> bool:
    return any("__next__" in vars(k) for k in type(v).__mro__)


def _loop_iterators(frame: FrameType, fors: list[ast.For], line: int) -> list[Any] | None:
    """The iterators of the ``for`` loops ``fors`` of ``frame`` (outer first), from its value stack (see
    :mod:`netdoctor.observe.stack`); None when they cannot be told apart from the other values there."""
    values = stack_values(frame)
    if values is None:
        return None
    found = [v for v in values if _is_iterator(v)]
    if len(found) == len(fors):
        return found
    if len(found) == len(fors) - 1 and fors[-1].lineno == line:
        return [*found, _NOT_STARTED]  # the innermost loop's iterable is being computed: it has not started
    return None


def _generator_frame(it: Any, user_code: Callable[[CodeType], bool]) -> FrameType | None:
    """The suspended frame of a generator of the program's that a loop iterates (None for anything else)."""
    if not issubclass(type(it), types.GeneratorType) or not user_code(it.gi_code):
        return None
    frame = it.gi_frame
    return frame if frame is not None and not it.gi_running else None


_SEQUENCE_ITERATORS: tuple[type, ...] = (type(iter(range(1))), type(iter([])), type(iter(())), type(iter(np.zeros(1))))
"""A range's, a list's, a tuple's iterator, and the one of any sequence (an array's rows)."""


def _iterated(it: Any) -> tuple[int | None, int | None, str]:
    """``(length, items handed out, why)`` of a loop's iterator: a range's, a list's, a tuple's or an array's
    (``rng.permutation(n)``, ``np.array_split(...)``), and ``enumerate`` and ``zip`` of those; read from the iterator's
    own state (``__reduce__`` of the builtin types: no code of the program's runs), None where it does not tell."""
    kind = type(it)
    if kind in _SEQUENCE_ITERATORS:
        state = it.__reduce__()
        if len(state) < 3 or not state[1]:
            return None, None, "its iterator has ended"
        seq, given = state[1][0], state[2]
        if type(seq) in (range, list, tuple):
            return len(seq), int(given), ""
        if issubclass(type(seq), np.ndarray) and seq.ndim >= 1:
            return int(seq.shape[0]), int(given), ""
        return None, int(given), f"it iterates a {type(seq).__name__} object, whose length is not read"
    if kind is enumerate:
        return _iterated(it.__reduce__()[1][0])
    if kind is zip:
        parts = [_iterated(p) for p in it.__reduce__()[1]]
        lengths = [p[0] for p in parts]
        given = next((p[1] for p in parts if p[1] is not None), None)
        why = next((p[2] for p in parts if p[2]), "")
        return (None if not lengths or None in lengths else min(lengths)), given, why  # type: ignore[type-var]
    if issubclass(type(it), types.GeneratorType):
        return None, None, "it iterates a generator of a library, or one that has ended"
    return None, None, f"it iterates a {kind.__name__} object, whose state is not read without running its code"


def _place(node: ast.For, frame: FrameType, line: int, it: Any = None) -> LoopPlace:
    key = (frame.f_code.co_filename, node.lineno)
    text = _header(node, frame.f_code.co_filename)
    scope = _Scope(frame)
    try:
        length: int | None = scope.length(node.iter)
    except _Unknown:
        length = None
    except Exception:  # noqa: BLE001 - a value of the program's that does not behave: the loop is not read
        length = None
    at_head = line == node.lineno
    why = ""
    if it is _NOT_STARTED:
        # at its header, its iterable being computed: the loop starts now
        return LoopPlace(key, length, 0 if length else None, text)
    if it is not None:
        n, given, why = _iterated(it)
        if n is not None:
            length = n
        if given is not None and length is not None:
            # in the body the current item is the last handed out; at the header the next one starts
            index: int | None = given if at_head else given - 1
            if index is not None and not 0 <= index < length:
                index = None
            return LoopPlace(key, length, index, text, why=why)
    try:
        index = scope.position(node.iter, node.target)
    except _Unknown:
        index = None
    except Exception:  # noqa: BLE001 - as above
        index = None
    if at_head and length is not None:
        # at the loop's head: the variable still holds the item before (or nothing at the first iteration); the
        # iteration starting is the next. Past the end it is the loop ending, or a stale variable of the loop's last
        # run starting again: not told apart, so not read
        index = 0 if index is None and not scope.bound(node.target) else (None if index is None else index + 1)
        if index is not None and index >= length:
            index = None
    return LoopPlace(key, length, index, text, _rebound(node, frame.f_code.co_filename) if index is None else "", why)


_COUNTERS: dict[tuple[str, int, int], tuple[str, int, int, bool, int] | str] = {}


def _counter(node: ast.While, filename: str) -> tuple[str, int, int, bool, int] | str:
    """``(name, start, step, inclusive, line of the step)`` of a ``while`` loop that counts a variable up to a bound
    (``i = 0`` before it, ``while i < n:``, ``i += 1`` in its body), or why it is not one."""
    where = (filename, node.lineno, node.col_offset)
    found = _COUNTERS.get(where)
    if found is not None:
        return found
    found = "its test is not a counter compared with a bound (`i < n`, with `i += 1` in its body)"
    test = node.test
    if isinstance(test, ast.Constant) and test.value:
        found = "it runs until a `break`"
    elif (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], (ast.Lt, ast.LtE))
          and isinstance(test.left, ast.Name)):
        name = test.left.id
        steps = [st for st in node.body if isinstance(st, ast.AugAssign) and isinstance(st.target, ast.Name)
                 and st.target.id == name and isinstance(st.op, ast.Add) and isinstance(st.value, ast.Constant)
                 and type(st.value.value) is int and st.value.value > 0]
        stores = [n for st in node.body for n in ast.walk(st) if isinstance(n, ast.Name) and n.id == name
                  and isinstance(n.ctx, ast.Store)]
        start = next((st for st in statements_before(filename, node.lineno) if isinstance(st, ast.Assign)
                      and any(isinstance(t, ast.Name) and t.id == name for t in st.targets)), None)
        if len(steps) == 1 and len(stores) == 1 and start is not None:
            value = start.value
            if len(start.targets) == 1 and isinstance(value, ast.Constant) and type(value.value) is int:
                step = steps[0]
                size = int(step.value.value) if isinstance(step.value, ast.Constant) else 1  # type: ignore[arg-type]
                found = (name, value.value, size, isinstance(test.ops[0], ast.LtE), step.end_lineno or step.lineno)
            else:
                found = f"`{name}` does not start at a number written before it"
    _COUNTERS[where] = found
    return found


def _while_place(node: ast.While, frame: FrameType, line: int) -> LoopPlace:
    """A ``while`` loop read as the ``for`` loop over ``range(start, bound, step)`` it counts."""
    filename = frame.f_code.co_filename
    key, text = (filename, node.lineno), _header(node, filename)
    counter = _counter(node, filename)
    if isinstance(counter, str):
        return LoopPlace(key, None, None, text, why=counter)
    name, start, step, inclusive, step_line = counter
    try:
        bound = _Scope(frame).value(node.test.comparators[0])  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - _Unknown, or a value of the program's that does not behave
        return LoopPlace(key, None, None, text, why="its bound is not read")
    value = frame.f_locals.get(name)
    if not (_number(bound) and value is not None and issubclass(type(value), (int, np.integer)) and not issubclass(type(value), bool)):
        return LoopPlace(key, None, None, text, why="its bound or its counter is not a number")
    length = max(0, math.floor((bound - start) / step) + 1 if inclusive else math.ceil((bound - start) / step))
    done, rest = divmod(int(value) - start, step)
    if rest:
        return LoopPlace(key, length, None, text, why=f"`{name}` is not at one of its steps")
    # the iteration under way: the counter still holds its start until the body's step has run
    index: int | None = done if line == node.lineno or line <= step_line else done - 1
    if index is not None and not 0 <= index < length:
        index = None
    return LoopPlace(key, length, index, text)


_REBOUND: dict[tuple[str, int, int], str] = {}


def _rebound(node: ast.For, filename: str) -> str:
    """The first of the loop's variables that its body assigns again ("" when none does)."""
    where = (filename, node.lineno, node.col_offset)
    found = _REBOUND.get(where)
    if found is None:
        names = {n.id for n in ast.walk(node.target) if isinstance(n, ast.Name)}
        stores = (n.id for st in node.body for n in ast.walk(st) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store))
        found = _REBOUND[where] = next((n for n in stores if n in names), "")
    return found


_HEADERS: dict[tuple[str, int, int], str] = {}


def _header(node: ast.For | ast.While, filename: str) -> str:
    """``for x, y in zip(X, Y)``, ``while epoch < 6``: the loop's header as written (once per loop: the parsed trees
    are kept, see :func:`netdoctor.observe.source.enclosing_loops`)."""
    where = (filename, node.lineno, node.col_offset)
    text = _HEADERS.get(where)
    if text is None:
        if isinstance(node, ast.While):
            text = "while " + ast.unparse(node.test)
        else:
            target = ast.unparse(node.target)
            if isinstance(node.target, ast.Tuple) and target.startswith("("):
                target = target[1:-1]
            text = f"for {target} in {ast.unparse(node.iter)}"
        text = _HEADERS[where] = text
    return text


_SAFE_BUILTINS = {"range": range, "len": len, "zip": zip, "enumerate": enumerate, "reversed": reversed,
                  "min": min, "max": max, "int": int, "abs": abs, "list": list, "tuple": tuple, "sorted": sorted}
_SEQUENCES = (list, tuple, range, str, bytes, dict)
_SCALARS = (int, float, complex, bool, str, bytes, np.generic, type(None))


class _Scope:
    """Evaluates the few expressions a loop's header is made of, on one frame's values, without running the
    program's code (see the module docstring)."""

    def __init__(self, frame: FrameType) -> None:
        self.locals = frame.f_locals
        self.globals = frame.f_globals

    # -- values ----------------------------------------------------------------------------
    def bound(self, target: ast.expr) -> bool:
        name = target.elts[0] if isinstance(target, ast.Tuple) and target.elts else target
        return isinstance(name, ast.Name) and name.id in self.locals

    def value(self, node: ast.expr) -> Any:
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return node.value
        if isinstance(node, ast.Name):
            for space in (self.locals, self.globals):
                if node.id in space:
                    return space[node.id]
            if node.id in _SAFE_BUILTINS:
                return _SAFE_BUILTINS[node.id]
            raise _Unknown(node.id)
        if isinstance(node, ast.Attribute):
            return self._attribute(self.value(node.value), node.attr)
        if isinstance(node, ast.Subscript):
            base = self.value(node.value)
            if not (type(base) in _SEQUENCES or issubclass(type(base), np.ndarray)):
                raise _Unknown("subscript")
            return base[self._index(node.slice)]
        if isinstance(node, ast.BinOp):
            a, b = self.value(node.left), self.value(node.right)
            if not (_number(a) and _number(b)):
                raise _Unknown("arithmetic")
            return _ARITHMETIC[type(node.op)](a, b)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            v = self.value(node.operand)
            if not _number(v):
                raise _Unknown("negation")
            return -v
        if isinstance(node, ast.Call) and not node.keywords:
            fn = self.value(node.func)
            if fn is len:
                (arg,) = node.args
                return self.length(arg)
            if fn in (min, max, int, abs):
                args = [self.value(a) for a in node.args]
                if not args or not all(_number(a) for a in args):
                    raise _Unknown("call")
                return fn(*args)
        raise _Unknown(type(node).__name__)

    def _index(self, node: ast.expr) -> Any:
        if isinstance(node, ast.Slice):
            parts = [None if p is None else self.value(p) for p in (node.lower, node.upper, node.step)]
            if not all(p is None or issubclass(type(p), (int, np.integer)) for p in parts):
                raise _Unknown("slice")
            return slice(*parts)
        if isinstance(node, ast.Tuple):
            return tuple(self._index(e) for e in node.elts)
        v = self.value(node)
        if not issubclass(type(v), (int, np.integer)) or issubclass(type(v), bool):
            raise _Unknown("index")
        return v

    @staticmethod
    def _attribute(base: Any, attr: str) -> Any:
        if issubclass(type(base), types.ModuleType):
            space = vars(base)
        elif issubclass(type(base), np.ndarray):
            if attr not in ("shape", "size", "ndim", "T"):
                raise _Unknown(attr)
            return getattr(base, attr)
        else:
            try:
                space = object.__getattribute__(base, "__dict__")
            except AttributeError:
                raise _Unknown(attr) from None
            if not isinstance(space, dict):
                raise _Unknown(attr)
        if attr not in space:
            raise _Unknown(attr)
        return space[attr]

    # -- lengths and positions --------------------------------------------------------------
    def _progress_bar(self, node: ast.expr) -> tuple[str, ast.Call] | None:
        """``("range", call)`` for ``trange(n)``, ``("items", call)`` for ``tqdm(batches, desc=...)``: a progress bar
        (tqdm's, told by the module that defines the callee) yields the items of what it is given, or of the range."""
        if not (isinstance(node, ast.Call) and node.args):
            return None
        fn = self._callee(node.func)
        module = getattr(fn, "__module__", None) or ""
        if not (module == "tqdm" or module.startswith("tqdm.")):
            return None
        return ("range" if str(getattr(fn, "__name__", "")).endswith("range") else "items"), node

    def length(self, node: ast.expr) -> int:
        """Items the iterable ``node`` yields."""
        bar = self._progress_bar(node)
        if bar is not None:
            return len(self._range(bar[1])) if bar[0] == "range" else self.length(bar[1].args[0])
        if isinstance(node, ast.Call) and _plain_call(node):
            fn = self._callee(node.func)
            if fn is range or fn is np.arange:
                return len(self._range(node))
            if fn is zip:
                return min(self.length(a) for a in node.args)
            if fn in (enumerate, reversed, list, tuple, sorted, np.array, np.asarray):
                return self.length(node.args[0])
            raise _Unknown("call")
        v = self.value(node)
        if type(v) in _SEQUENCES:
            return len(v)
        if issubclass(type(v), np.ndarray) and v.ndim >= 1:
            return int(v.shape[0])
        raise _Unknown("iterable")

    def _callee(self, node: ast.expr) -> Any:
        try:
            return self.value(node)
        except _Unknown:
            return None

    def _range(self, node: ast.Call) -> range:
        args = [self.value(a) for a in node.args]
        if not args or not all(issubclass(type(a), (int, np.integer)) and not issubclass(type(a), bool) for a in args):
            raise _Unknown("range")
        return range(*(int(a) for a in args))

    def position(self, it: ast.expr, target: ast.expr) -> int:
        """The position of the loop variable ``target``'s current item in the iterable ``it``."""
        bar = self._progress_bar(it)
        if bar is not None and bar[0] == "items":
            return self.position(bar[1].args[0], target)
        if isinstance(it, ast.Call) and (bar is not None or _plain_call(it)):
            fn = range if bar is not None else self._callee(it.func)
            if fn is range or fn is np.arange:
                v = self._target_value(target)
                r = self._range(it)
                if not issubclass(type(v), (int, np.integer)) or int(v) not in r:
                    raise _Unknown("range item")
                return r.index(int(v))
            if fn is enumerate and isinstance(target, ast.Tuple) and len(target.elts) == 2:
                start = self.value(it.args[1]) if len(it.args) > 1 else (
                    self.value(it.keywords[0].value) if it.keywords else 0)
                v = self._target_value(target.elts[0])
                if issubclass(type(v), (int, np.integer)) and issubclass(type(start), int):
                    return int(v) - start
                return self.position(it.args[0], target.elts[1])
            if fn is zip and isinstance(target, ast.Tuple) and len(target.elts) == len(it.args):
                for arg, elt in zip(it.args, target.elts):
                    try:
                        return self.position(arg, elt)
                    except _Unknown:
                        continue
            raise _Unknown("call")
        return _item_position(self.value(it), self._target_value(target), isinstance(target, ast.Tuple))

    def _target_value(self, target: ast.expr) -> Any:
        if isinstance(target, ast.Tuple) and target.elts:
            target = target.elts[0]  # unpacked items: found by their first part
        if not isinstance(target, ast.Name) or target.id not in self.locals:
            raise _Unknown("target")
        return self.locals[target.id]


def _item_position(seq: Any, item: Any, unpacked: bool) -> int:
    """Where ``item`` (or, ``unpacked``, the first part of an item) sits in ``seq``: the row an array view starts at,
    the one place an equal scalar or the same object is."""
    if issubclass(type(seq), np.ndarray) and seq.ndim >= 1 and len(seq) <= MAX_SEARCH:
        if unpacked:
            raise _Unknown("unpacked rows")
        if issubclass(type(item), np.ndarray) and item.shape == seq.shape[1:] and seq.ndim >= 2 and seq.strides[0]:
            offset = item.__array_interface__["data"][0] - seq.__array_interface__["data"][0]
            i, rest = divmod(offset, seq.strides[0])
            if not rest and 0 <= i < len(seq) and np.shares_memory(item, seq[i]):
                return int(i)
            raise _Unknown("a row of another array")
        if seq.ndim == 1 and issubclass(type(item), (int, float, np.integer, np.floating)):
            found = np.flatnonzero(seq == item)
            if len(found) == 1:
                return int(found[0])
        raise _Unknown("array item")
    if type(seq) in (list, tuple) and len(seq) <= MAX_SEARCH:
        if unpacked:
            hits = [k for k, v in enumerate(seq) if type(v) in (list, tuple) and v and v[0] is item]
            if len(hits) == 1 or (hits and not issubclass(type(item), _SCALARS)):
                return hits[0]
        elif issubclass(type(item), _SCALARS):
            hits = [k for k, v in enumerate(seq) if type(v) is type(item) and v == item]
            if len(hits) == 1:
                return hits[0]
        else:
            for k, v in enumerate(seq):
                if v is item:
                    return k
    raise _Unknown("item")


def _plain_call(node: ast.Call) -> bool:
    """A call without keywords, or ``enumerate(x, start=1)``: the only keyword a loop's size does not depend on."""
    return not node.keywords or (len(node.keywords) == 1 and node.keywords[0].arg == "start"
                                 and isinstance(node.func, ast.Name) and node.func.id == "enumerate")


def _number(v: Any) -> bool:
    return issubclass(type(v), (int, float, np.integer, np.floating)) and not issubclass(type(v), bool)


_ARITHMETIC: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
    ast.FloorDiv: lambda a, b: a // b, ast.Mod: lambda a, b: a % b, ast.Div: lambda a, b: a / b,
}


class _Capture:
    __slots__ = ("updates", "places")

    def __init__(self, updates: int, places: tuple[LoopPlace, ...]) -> None:
        self.updates = updates
        self.places = places


@dataclass(frozen=True)
class Coverage:
    """What the header says of the program's update count (see :meth:`LoopProgress.coverage`)."""

    expected: int | None
    """The program's update count, when the observation can be held against it (the header's "N of M")."""
    loops: str
    """The loops it was read from (or why it was not: ``not read: ...``), for the header's ``loops`` row."""
    note: str = ""
    """Said when fewer than half of the updates were observed."""
    before: int = 0
    """Updates made before watching began that were not counted then, from where the loops were (at most
    :data:`UNSEEN_BEFORE`; the header counts them and says so)."""


UNSEEN_BEFORE = 2
"""Updates at most that the loops' position when the network was found may add to the count: the first update or two,
made before the network's arrays were known (more would be a guess about a start the observer did not follow)."""


class LoopProgress:
    """The loops around a program's updates, read at a few updates and gradient computations.

    :meth:`estimate` is the program's update count; :meth:`coverage` holds the updates observed against it.

    Args:
        user_code: whether a code object is the program's (the tracer's answer).
    """

    def __init__(self, user_code: Callable[[CodeType], bool]) -> None:
        self.user_code = user_code
        self.captures: list[_Capture] = []
        self.last: _Capture | None = None
        """The latest capture, at an update or a gradient computation: how far the loops got while observed."""
        self.asked = 0
        self.computations = 0
        self._total: int | None = None
        self._unsteady: float | None = None
        """Updates per iteration of the loops read, when the last estimate found no steady rate (one per k iterations)."""
        self.start: _Capture | None = None
        """The loops when the network was found, and the updates counted until then."""
        """The estimate at the latest capture: near its end the loops are read more often (the last updates tell
        whether the loops ran to their end)."""

    def at_update(self, frame: FrameType | None, updates: int) -> None:
        """An update was seen (``updates``: the count with it) at ``frame``: its loops are read at a schedule in
        update counts (all of the first, then a few per doubling)."""
        self.asked += 1
        near = self._total is not None and updates >= 0.85 * self._total and self.asked % max(1, self._total // 200) == 0
        if frame is None or not (near or sampled(self.asked, first=16, per_doubling=8, stride=8)):
            return
        places = _read(frame, self.user_code)
        if not places:
            return
        if len(self.captures) >= CAPTURES:
            self.captures.pop(len(self.captures) // 2)  # keep the first and the latest ones
        self.last = capture = _Capture(updates, places)
        self.captures.append(capture)
        if len(self.captures) % 4 == 0:  # the estimate is asked again now and then, not at every capture
            est = self.estimate()
            self._total = est.updates if est is not None else None

    def quiet_ahead(self, updates: int, cap: int) -> int:
        """How many of the next updates (the count now: ``updates``) :meth:`at_update` would not read the loops at
        (up to ``cap``): the updates the compiled tracer may count alone before this schedule wants a frame."""
        total = self._total
        every = max(1, total // 200) if total is not None else 0
        k = sampled_ahead(self.asked, cap, first=16, per_doubling=8, stride=8)
        if every:
            j = (-self.asked) % every or every  # the next ask at a multiple of `every`
            while j <= k and updates + j < 0.85 * total:  # type: ignore[operator]
                j += every
            k = min(k, j - 1)
        return k

    def skip(self, n: int) -> None:
        """``n`` updates went by at which :meth:`at_update` would not have read the loops (:meth:`quiet_ahead`)."""
        self.asked += n

    def at_start(self, frame: FrameType, updates: int) -> None:
        """Watching begins at ``frame``, with ``updates`` counted until then (see :meth:`made_before`)."""
        places = _read(frame, self.user_code)
        if places:
            self.start = _Capture(updates, places)

    def made_before(self, est: Estimate) -> int | None:
        """Updates the program had made when watching began: where its loops were then, at the rate ``est`` measured
        since (rounded down: an update under way then is not one yet). None when the loops then were not those."""
        s = self.start
        depth = len(est.loops)
        if s is None or _common(s.places, est.loops) < depth:
            return None
        done, read = fraction(s.places[:depth])
        if read < depth:
            return None
        return math.floor(done * est.updates + 1e-9)

    def at_gradient(self, frame: FrameType, updates: int) -> None:
        """A gradient computation starts at ``frame``: where the loops are (read at a schedule in computations), so
        that loops that went on while no update was counted are seen to have."""
        self.computations += 1
        if sampled(self.computations, first=4, per_doubling=4, stride=8):
            places = _read(frame, self.user_code)
            if places:
                self.last = _Capture(updates, places)

    def outside_loops(self, frame: FrameType | None) -> bool:
        """Whether ``frame`` runs outside every loop of the program (None: the program has ended), while the updates
        read so far all ran inside loops: what happens there is not a training step (early stopping's restore).
        Asked whenever counting in C may start (at a loop head, most often inside loops): the frames and the source
        alone tell it (:func:`in_loops`), not the places :func:`loops_at` reads (0.25 ms a time in a per-sample
        program)."""
        if not self.captures:
            return False
        if frame is None:
            return True
        try:
            return not in_loops(frame, self.user_code)
        except Exception:  # noqa: BLE001 - as _read: a file changed under the run, an AST this module does not know
            return True

    def outside_update_loops(self, frame: FrameType | None) -> bool:
        """Whether ``frame`` runs outside every loop the updates read so far ran in (None: the program has ended), while
        they all ran inside loops: a state of the weights seen again there is saved weights put back, also when the
        restore is a loop of its own over the tensors (``for k in params: params[k][...] = best[k]``); inside the
        training loops it is a step (np1278's output bias). From the frames and the parsed source (as :func:`in_loops`):
        the loops' keys, not their places."""
        if not self.captures:
            return False
        if frame is None:
            return True
        around = {p.key for c in self.captures for p in c.places}
        f: FrameType | None = frame
        try:
            while f is not None:
                code = f.f_code
                if code.co_name not in EXPRESSION_SCOPES and self.user_code(code) and f.f_lineno is not None:
                    if any((code.co_filename, node.lineno) in around for node in enclosing_loops(code, f.f_lineno)):
                        return False
                f = f.f_back
        except Exception:  # noqa: BLE001 - as outside_loops: a file changed under the run, an AST this module does not know
            return False
        return True

    @property
    def unknown(self) -> str:
        """Why no estimate was made ("" when one was)."""
        if self.estimate() is not None:
            return ""
        if self._unsteady is not None:
            return (f"the updates seen came at {self._unsteady:.3g} per iteration of the loops around them, no steady "
                    "rate (one every k iterations): updates were missed, or the loops do not hold them as they seem to")
        if not self.captures:
            return ("no update was seen (the loops are read at the updates)" if not self.asked else
                    "no loop of the program's was seen around its updates")
        # the latest reading with a loop that does not tell (the last update may be seen after its loops ended)
        unread = next((p for c in reversed(self.captures) for p in c.places if not p.length or p.index is None), None)
        if unread is not None:
            what = "its length" if not unread.length else "how far it has come"
            why = f" (its body binds `{unread.rebound}` again)" if unread.length and unread.rebound else (
                f" ({unread.why})" if unread.why else "")
            return f"the loop around the updates at {unread} ({unread.text}) does not tell {what}{why}"
        return "the loops around the updates did not advance between the updates seen"

    def estimate(self) -> Estimate | None:
        """The program's update count: the updates between two captures over the fraction of the loops' work done
        between them, the median over pairs of captures half the captures apart (None when the loops do not tell).

        The loops read must hold the updates: at most one update per iteration of the innermost one read (an
        epoch loop read around an unreadable loop over the samples says nothing of the updates in an epoch)."""
        self._unsteady = None
        caps = self.captures
        if len(caps) < 2:
            return None
        half = max(1, len(caps) // 2)
        pairs = list(zip(caps, caps[half:]))
        found: list[tuple[float, int, _Capture]] = []
        for a, b in pairs:
            depth = min(_common(a.places, b.places), fraction(a.places)[1], fraction(b.places)[1])
            fa, fb = fraction(a.places[:depth])[0], fraction(b.places[:depth])[0]
            if depth == 0 or b.updates <= a.updates or fb <= fa:
                continue
            found.append(((b.updates - a.updates) / (fb - fa), depth, b))
        if not found or 2 * len(found) < len(pairs):
            return None
        found.sort(key=lambda t: t[0])
        m, depth, b = found[len(found) // 2]
        if not math.isfinite(m) or m < 1:
            return None
        places = b.places[:depth]
        iterations = math.prod(p.length or 1 for p in places)
        if m > 1.05 * iterations:
            return None
        # a program updates at a steady rate of its loops: one update per iteration, or every k-th (an update every
        # 100 samples); a measured rate near one of these is that rate (updates the observer missed, a short last
        # batch, lower it a little)
        k = round(iterations / m)
        if not (k >= 1 and abs(m * k / iterations - 1) <= 0.1):
            # no steady rate: updates missed at random (steps that changed no sampled entry), or loops that do not
            # hold the updates the way they seem to; the count is not claimed
            self._unsteady = m / iterations
            return None
        m = iterations / k
        return Estimate(updates=round(m), loops=places, per_iteration=m / iterations)

    def coverage(self, observed: int, *, cut: bool) -> Coverage:
        """The updates ``observed`` against the program's own count.

        Args:
            observed: the updates counted.
            cut: the observation ended before the program did (a limit stopped it, the observer failed or stood
                down): the loops did not run to their end while observed.

        The count is held against the loops' total when the loops were seen to their end, when the observation was
        cut, or when the loops went on well past the updates counted (updates the program made that were not
        counted). Loops last seen where the count says (a program that leaves its loop early, ``break`` on a
        target accuracy, looks the same as one not followed after its last update seen) are described, not held
        against it.
        """
        est = self.estimate()
        if est is None:
            why = self.unknown
            if observed and not self.asked:
                why = (f"the {observed:,} updates counted were all seen while the network was being found, where its "
                       "loops are not read")
            return Coverage(None, f"not read: {why}")
        loops = est.text()
        made = self.made_before(est)
        before = made - self.start.updates if made is not None and self.start is not None else 0
        before = before if 0 < before <= UNSEEN_BEFORE else 0
        observed += before
        # the furthest the loops were seen (a capture after an inner loop ended reads only the loops outside it)
        seen = [*self.captures, *([self.last] if self.last is not None else [])]
        reached = max((fraction(c.places[:_common(c.places, est.loops)])[0] * est.updates for c in seen), default=0.0)
        if cut or reached >= 0.9 * est.updates or reached > 1.5 * observed + 2:
            note = (f"only {observed:,} of the {est.updates:,} updates the program's loops make were observed (see "
                    "loops): the rest were not followed" if 2 * observed < est.updates else "")
            return Coverage(est.updates, loops, note, before)
        note = (f"{observed:,} updates observed; the program's loops allow {est.updates:,} (see loops), and were last "
                f"seen at about update {round(reached):,}: the program left them early, or was not followed after that"
                if 2 * observed < est.updates else "")
        return Coverage(None, loops + f"; last seen at about update {round(reached):,}", note, before)


def in_loops(frame: FrameType, user_code: Callable[[CodeType], bool]) -> bool:
    """Whether :func:`loops_at` finds a loop around ``frame``: some frame of the program's on its stack runs inside a
    loop of its own code. Without reading the loops' places (their iterators and lengths): the frames and the parsed
    source alone, as :func:`loops_at` starts (each loop it finds gives at least one place)."""
    f: FrameType | None = frame
    while f is not None:
        code = f.f_code
        if code.co_name not in EXPRESSION_SCOPES and user_code(code):
            line = f.f_lineno
            if line is not None and enclosing_loops(code, line):
                return True
        f = f.f_back
    return False


def _read(frame: FrameType, user_code: Callable[[CodeType], bool]) -> tuple[LoopPlace, ...]:
    """:func:`loops_at`, or nothing when the program's source or values do not let the loops be read (the count is
    a description of the run: it never stops the observation)."""
    try:
        return loops_at(frame, user_code)
    except Exception:  # noqa: BLE001 - a file changed under the run, an AST this module does not know
        return ()


def _common(a: tuple[LoopPlace, ...], b: tuple[LoopPlace, ...]) -> int:
    """Loops the two captures share, from the outer one (the same ``for`` of the same length)."""
    n = 0
    for p, q in zip(a, b):
        if p.key != q.key or p.length != q.length:
            break
        n += 1
    return n
