"""A call of the program's own function, run again on copies: its forward pass with parameters we may perturb.

At a call event the frame holds the function's arguments. :class:`Replay`
keeps a copy of them (and of the closure cells), in which every parameter
array is replaced by a float64 working copy that the caller owns (a memo that
maps the parameter's id to its copy). The module's globals are copied when
the replayed code first reads each one (:class:`_CopiedGlobals`), and the
module's own functions are rebuilt on those copies, so a forward that keeps
its caches on a global object (``state.out = z2``) writes into a copy.
Calling the replay runs the same code object on those copies, inside
:func:`netdoctor.observe.isolation.quietly`: the program's arrays are never
written, its random generators never drawn from (the global NumPy and
``random`` states are put back; generators kept in objects are copied), its
prints and log records are dropped, and a write to a file or another change
outside the copies stops the replay before it happens. An object that cannot
be copied is given a stand-in (an open file: a sink; a generator: one that
refuses to be read), so a replay never writes the program's files nor takes
its next batch.

The copies are made by :func:`clone`, not ``copy.deepcopy``: deepcopy looks
``__deepcopy__``, ``__reduce_ex__`` and ``__setstate__`` up on each instance,
which runs a program's own ``__getattr__`` (a side effect the program would
see). :func:`clone` copies arrays and plain containers, and instances of
classes written in Python through their ``__dict__`` and slots, without
asking the instance anything.

A replay runs inside a trace callback, where Python does not trace, so the
observer never sees its own calls.
"""

from __future__ import annotations

import copy
import enum
import types
from inspect import CO_VARARGS, CO_VARKEYWORDS
from types import CodeType, FrameType
from typing import Any

import numpy as np

from netdoctor._lazy import dataclass
from netdoctor.buffers.peek import own_dict
from netdoctor.observe.isolation import kept, namespaces_of, quietly, shared, stand_in
from netdoctor.observe.numpy.arrays import clone_rows

__all__ = ["CallSite", "Replay", "Chain", "Pick", "picked", "quietly", "arg_values", "clone", "Path", "float_arrays",
           "read_path", "BIG", "BIG_CONTAINER"]

BIG = 100_000
"""Arrays with more entries than this that are not parameters (a data set on ``self``) are shared
read-only instead of copied: a forward that wrote into one fails, and the check says it could not run."""
BIG_CONTAINER = 10_000
"""Lists, tuples and dicts longer than this (samples kept one array each) are shared, not copied."""

Path = tuple[tuple[str, Any], ...]
"""Where a value sits, from a call's point of view: ``(("arg", "self"), ("attr", "out"))``,
``(("global", "params"), ("key", "A2"))``, ``(("global", "layers"), ("item", 1), ("attr", "a"))``,
``(("free", "state"), ("attr", "out"))`` (a closure's cell)."""

Pick = int | None | Path
"""Where a call's output is: the value returned (None), its element ``i`` (a tuple), or a path where the call stored
it (:data:`Path`)."""

def _readonly(a: np.ndarray) -> np.ndarray:
    v = a.view()
    v.flags.writeable = False
    return v


_ATOMIC = (type(None), bool, int, float, complex, str, bytes, range, slice, type(Ellipsis), types.CodeType,
           types.BuiltinFunctionType, types.ModuleType, type, np.dtype, np.generic, enum.Enum, frozenset)
"""Values that are never copied: immutable, or a module, a class, a builtin (an enum member keeps its identity)."""
_HEAP = 1 << 9  # Py_TPFLAGS_HEAPTYPE: a class written in Python (not one of C's)


def _plain_class(t: type) -> bool:
    """Whether instances of ``t`` are copied attribute by attribute: every class of its MRO but ``object``
    is written in Python (a subclass of ``list`` or of a C type is copied by ``copy.deepcopy``), or ``t`` is
    ``types.SimpleNamespace``, a C type whose attributes are a plain ``__dict__`` (a network kept on one)."""
    return t is types.SimpleNamespace or t.__mro__[-1] is object and all(c.__flags__ & _HEAP for c in t.__mro__[:-1])


def _slots(t: type) -> list[str]:
    out: list[str] = []
    for c in t.__mro__[:-1]:
        s = vars(c).get("__slots__", ())
        out += [s] if isinstance(s, str) else [n for n in s if n not in ("__dict__", "__weakref__")]
    return out


def clone(x: Any, memo: dict[int, Any], globals_: dict[str, Any] | None = None, copied: Any = None) -> Any:
    """A copy of ``x`` for a replay, reusing ``memo`` (id -> copy: parameters mapped to working copies).

    Arrays are copied (over :data:`BIG` entries and not in ``memo``: shared read-only); lists, tuples,
    dicts and sets element by element (over :data:`BIG_CONTAINER` items: shared); instances of classes
    written in Python by ``object.__new__`` and their ``__dict__`` and slots, never asking the instance
    (its ``__getattr__`` is never run); functions of the module whose globals are ``globals_`` rebuilt
    on ``copied`` (the replay's globals), with their closure cells copied; bound methods on a copy of
    their object; loggers shared (silenced while replaying). Anything else is given to ``copy.deepcopy``
    (``random.Random``, a NumPy ``Generator``), and replaced by :func:`~netdoctor.observe.isolation.stand_in`
    when that fails (a file: a sink; a generator: refuses to be read; a lock: shared).
    """
    i = id(x)
    if i in memo:
        return memo[i]
    if issubclass(type(x), _ATOMIC):
        return x
    memo.setdefault(id(memo), []).append(x)  # the original stays alive while the memo lives: its id is not reused
    t = type(x)
    if t is np.ndarray:
        return _clone_array(x, memo, globals_, copied)
    if t in (list, tuple, dict, set):
        return _clone_container(x, memo, globals_, copied)
    if t in (types.FunctionType, types.MethodType, types.CellType):
        return _clone_callable(x, memo, globals_, copied)
    if t.__mro__[-2] in (dict, list) and all(c.__flags__ & _HEAP for c in t.__mro__[:-2]):
        return _clone_subclassed(x, memo, globals_, copied)
    if _plain_class(t):
        if shared(x):  # a logger: silenced while replaying, never copied
            memo[i] = x
            return x
        return _clone_instance(x, memo, globals_, copied)
    try:
        y = copy.deepcopy(x)
    except Exception:  # noqa: BLE001 - not copyable: a file becomes a sink, a generator refuses to be read, anything
        y = stand_in(x)  # else (a lock) is shared; the caller checks that the forward computes with the working copies
    memo[i] = y
    return y


def _clone_array(x: np.ndarray, memo: dict[int, Any], globals_: dict[str, Any] | None, copied: Any) -> np.ndarray:
    if x.size > BIG:
        y = x.view()
        y.flags.writeable = False
    elif x.dtype.kind == "O":
        y = np.empty_like(x)
        memo[id(x)] = y
        flat = y.reshape(-1)
        for k, v in enumerate(x.reshape(-1)):
            flat[k] = clone(v, memo, globals_, copied)
    else:
        y = x.copy()
    memo[id(x)] = y
    return y


def _clone_container(x: Any, memo: dict[int, Any], globals_: dict[str, Any] | None, copied: Any) -> Any:
    i = id(x)
    if len(x) > BIG_CONTAINER:
        # a data set kept as a list of samples: its items shared, never copied (a forward only reads them); the
        # container itself copied at C speed, so an append (losses.append(loss)) lands in the copy
        y = x if type(x) is tuple else type(x)(x)
        memo[i] = y
        return y
    t = type(x)
    if t is tuple:
        return memo.setdefault(i, tuple(clone(v, memo, globals_, copied) for v in x))
    if t is dict:
        d: dict[Any, Any] = {}
        memo[i] = d
        for k, v in x.items():
            d[k] = clone(v, memo, globals_, copied)
        return d
    if t is list:
        lst: list[Any] = []
        memo[i] = lst
        atoms = all(type(v) in (float, int, bool, str) for v in x)  # a row of numbers: copied at C speed
        if atoms:
            lst.extend(x)
            return lst
        # rows of numbers (the forum program's sample: 784 one-value lists of NumPy floats) copied in one call of C, as
        # the loop below copies them
        rows = None if clone_rows is None else clone_rows(x, memo, memo.setdefault(id(memo), []), np.generic)
        lst.extend(rows if rows is not None else (clone(v, memo, globals_, copied) for v in x))
        return lst
    st: set[Any] = set()
    memo[i] = st
    st.update(clone(v, memo, globals_, copied) for v in x)
    return st


def _clone_subclassed(x: Any, memo: dict[int, Any], globals_: dict[str, Any] | None, copied: Any) -> Any:
    """A dict or list of a class written in Python (``class AttrDict(dict)`` with ``__getattr__``): made by the
    base's ``__new__``, its items and its ``__dict__`` copied as a plain container's and a plain instance's are,
    through the base's own methods. ``copy.deepcopy`` asked the instance for ``__deepcopy__`` (the program's
    ``__getattr__`` ran) and copied the parameters past the memo (the forward then computed with no working copy)."""
    base = dict if issubclass(type(x), dict) else list
    y = base.__new__(type(x))
    memo[id(x)] = y
    if base is dict:
        dict.update(y, [(k, clone(v, memo, globals_, copied)) for k, v in dict.items(x)])
    else:
        list.extend(y, [clone(v, memo, globals_, copied) for v in list.__iter__(x)])
    d = own_dict(x)
    if d:
        object.__getattribute__(y, "__dict__").update({k: clone(v, memo, globals_, copied) for k, v in d.items()})
    return y


def _clone_callable(x: Any, memo: dict[int, Any], globals_: dict[str, Any] | None, copied: Any) -> Any:
    if type(x) is types.FunctionType:
        return _clone_function(x, memo, globals_, copied)
    if type(x) is types.MethodType:
        y: Any = types.MethodType(clone(x.__func__, memo, globals_, copied), clone(x.__self__, memo, globals_, copied))
        memo[id(x)] = y
        return y
    y = types.CellType()
    memo[id(x)] = y
    try:
        y.cell_contents = clone(x.cell_contents, memo, globals_, copied)
    except ValueError:  # an empty cell
        pass
    return y


def _clone_instance(x: Any, memo: dict[int, Any], globals_: dict[str, Any] | None, copied: Any) -> Any:
    t = type(x)
    y = t() if t is types.SimpleNamespace else object.__new__(t)  # (object.__new__ refuses that C type)
    memo[id(x)] = y
    try:
        d = object.__getattribute__(x, "__dict__")
    except AttributeError:
        d = None
    if d is not None:
        object.__getattribute__(y, "__dict__").update({k: clone(v, memo, globals_, copied) for k, v in d.items()})
    for name in _slots(t):
        try:
            object.__setattr__(y, name, clone(object.__getattribute__(x, name), memo, globals_, copied))
        except AttributeError:
            pass  # a slot never set
    return y


def _clone_function(f: types.FunctionType, memo: dict[int, Any], globals_: dict[str, Any] | None,
                    copied: Any) -> types.FunctionType:
    """A function of the replayed module (its globals are ``globals_``), or a closure, on the copies."""
    ours = globals_ is not None and f.__globals__ is globals_
    if not ours and not f.__closure__:
        return f  # a library's function: shared
    cells = tuple(clone(c, memo, globals_, copied) for c in f.__closure__) if f.__closure__ else None
    # defaults copied too: a stream kept as one (def note(msg, out=sys.stdout)) becomes a sink, a list one a copy
    defaults = clone(f.__defaults__, memo, globals_, copied) if f.__defaults__ else None
    y = types.FunctionType(f.__code__, copied if ours else f.__globals__, f.__name__, defaults, cells)
    y.__kwdefaults__ = clone(f.__kwdefaults__, memo, globals_, copied) if f.__kwdefaults__ else None
    y.__dict__.update(f.__dict__)
    memo[id(f)] = y
    return y


class _CopiedGlobals(dict[str, Any]):
    """A module's globals for a replay: each name copied (:func:`clone`) the first time the code reads it.

    Python reads the globals of a function through ``__getitem__`` when they are not exactly a ``dict``;
    a name missing here and in the module falls through to the builtins. Writes (``global x; x = ...``)
    land here, never in the module.
    """

    def __init__(self, module: dict[str, Any], memo: dict[int, Any]) -> None:
        super().__init__()
        self.module = module
        self.memo = memo
        for k in ("__name__", "__builtins__", "__file__", "__spec__", "__package__"):
            if k in module:
                dict.__setitem__(self, k, module[k])

    def __getitem__(self, key: str) -> Any:
        try:
            return dict.__getitem__(self, key)
        except KeyError:
            pass
        v = self.module[key]  # KeyError: not a global of the module; Python then looks in the builtins
        y = clone(v, self.memo, self.module, self)
        dict.__setitem__(self, key, y)
        return y

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key: object) -> bool:
        return dict.__contains__(self, key) or key in self.module


def _children(v: Any) -> list[tuple[tuple[str, Any], Any]]:
    """The (step, value) pairs one level below ``v`` (a short dict or sequence, an instance's attributes)."""
    t = type(v)
    if t is dict and len(v) <= 64:
        return [(("key", k), x) for k, x in v.items() if type(k) in (str, int)]
    if t in (list, tuple) and len(v) <= 64:
        return [(("item", i), x) for i, x in enumerate(v)]
    if issubclass(type(v), _ATOMIC) or issubclass(type(v), (types.FunctionType, types.MethodType)) or not _plain_class(t):
        return []
    try:
        d = object.__getattribute__(v, "__dict__")
    except AttributeError:
        return []
    return [(("attr", k), x) for k, x in list(d.items())[:64]]


def float_arrays(roots: dict[tuple[str, str], Any], depth: int = 3, limit: int = 4096) -> dict[Path, np.ndarray]:
    """Every float array within ``depth`` steps of ``roots`` (dict and list items, attributes of instances of
    classes written in Python: never asking an object anything), by path; each array once, at its first path."""
    out: dict[Path, np.ndarray] = {}
    seen: set[int] = set()
    stack: list[tuple[Path, Any, int]] = [((root,), v, 0) for root, v in reversed(roots.items())]
    while stack and len(out) < limit:
        path, v, d = stack.pop()
        if id(v) in seen:
            continue
        seen.add(id(v))
        if type(v) is np.ndarray:
            if v.dtype.kind == "f":
                out[path] = v
            continue
        if d < depth:
            stack.extend((path + (step,), x, d + 1) for step, x in reversed(_children(v)))
    return out


def _code_like(v: Any) -> bool:
    """A module, a class or a function: not data a forward stores its output in."""
    return issubclass(type(v), (type, types.ModuleType, types.FunctionType))


def read_path(root: Any, steps: Path) -> Any:
    """The value at ``steps`` below ``root`` (raises LookupError or AttributeError when it is not there)."""
    v = root
    for kind, key in steps:
        v = object.__getattribute__(v, key) if kind == "attr" else v[key]
    return v


@dataclass(frozen=True)
class CallSite:
    """A call as the program made it: code, globals, bound arguments and closure values (references, no copies)."""

    code: CodeType
    globals: dict[str, Any]
    args: dict[str, Any]
    free: dict[str, Any]

    def roots(self) -> dict[tuple[str, str], Any]:
        """Its arguments, its closure's values and its module's data globals (not modules, classes or functions),
        as path roots."""
        out: dict[tuple[str, str], Any] = {("arg", k): v for k, v in self.args.items()}
        out.update({("free", k): v for k, v in self.free.items() if not _code_like(v)})
        out.update({("global", k): v for k, v in list(self.globals.items())[:1024]
                    if not k.startswith("__") and not _code_like(v)})
        return out

    @classmethod
    def of(cls, frame: FrameType) -> CallSite:
        """The call in ``frame`` at its call event (only the arguments are bound then)."""
        code = frame.f_code
        loc = frame.f_locals
        return cls(code, frame.f_globals, {k: loc[k] for k in _arg_names(code) if k in loc},
                   {k: loc[k] for k in code.co_freevars if k in loc})


_ARG_NAMES: dict[int, tuple[CodeType, tuple[str, ...]]] = {}


def _arg_names(code: CodeType) -> tuple[str, ...]:
    """The names of ``code``'s parameters, ``*args`` and ``**kwargs`` included (cached per code object: the
    observer asks at every call of the program's functions while an update check may open). Keyed by id, the code
    object kept beside its names so that the id is never reused: a module's code object hashes its nested code
    objects at every lookup (8-12 us in CPython 3.11)."""
    known = _ARG_NAMES.get(id(code))
    if known is not None:
        return known[1]
    n = code.co_argcount + code.co_kwonlyargcount
    found = list(code.co_varnames[:n])
    if code.co_flags & CO_VARARGS:
        found.append(code.co_varnames[n])
        n += 1
    if code.co_flags & CO_VARKEYWORDS:
        found.append(code.co_varnames[n])
    if len(_ARG_NAMES) >= 65536:
        _ARG_NAMES.clear()
    names = tuple(found)
    _ARG_NAMES[id(code)] = (code, names)
    return names


class Replay:
    """A call of the program's (a :class:`CallSite`), ready to run again on copies.

    Args:
        site: the call as the program made it.
        work: id of a parameter array -> the working copy to compute with instead.
        replace: argument name -> another value (copied too), e.g. the batch a step trained on.

    The copies keep the originals alive (:func:`clone`'s memo is by id), so a replay may be kept
    while the program runs on.

    Raises:
        RecursionError: an argument nested too deeply to copy (the caller takes that as "this call
            cannot be replayed").
    """

    def __init__(self, site: CallSite, work: dict[int, np.ndarray], replace: dict[str, Any] | None = None) -> None:
        code = site.code
        self.code: CodeType = code
        self.where = f"{code.co_filename}:{code.co_firstlineno}"
        self.name = code.co_name
        memo: dict[int, Any] = dict(work)
        self.memo = memo
        self.globals = _CopiedGlobals(site.globals, memo)
        bound = {**site.args, **(replace or {})}
        self.args: dict[str, Any] = {k: clone(v, memo, site.globals, self.globals) for k, v in bound.items()}
        cells = tuple(types.CellType(clone(site.free[k], memo, site.globals, self.globals)) if k in site.free
                      else types.CellType() for k in code.co_freevars)
        self.cells: dict[str, types.CellType] = dict(zip(code.co_freevars, cells))
        self.fn = types.FunctionType(code, self.globals, code.co_name, None, cells or None)
        self.positional = code.co_argcount
        n = code.co_argcount + code.co_kwonlyargcount
        self.names = list(code.co_varnames[:n])
        self.star = code.co_varnames[n] if code.co_flags & CO_VARARGS else None
        n += 1 if self.star else 0
        self.starstar = code.co_varnames[n] if code.co_flags & CO_VARKEYWORDS else None
        # the program's classes and other modules, which are not copied: names they rebind are put back
        self.namespaces = namespaces_of(site.globals, [*bound.values(), *site.free.values()])

    def warm(self) -> None:
        """Copy now the module globals the function's own code names (``net`` in ``net.W1 @ x``), instead of at
        their first read: a replay made at a call and run after the program's step then computes with what
        the call saw, also in arrays no one told it were parameters (they moved with the step)."""
        for name in self.code.co_names:
            v = dict.get(self.globals.module, name)
            if v is not None and not _code_like(v) and not issubclass(type(v), types.BuiltinFunctionType):
                self.globals[name]

    def roots(self) -> dict[tuple[str, str], Any]:
        """The copies' path roots: the copied arguments and the globals copied so far (see :meth:`CallSite.roots`)."""
        out: dict[tuple[str, str], Any] = {("arg", k): v for k, v in self.args.items()}
        for k, cell in self.cells.items():
            try:
                v = cell.cell_contents
            except ValueError:  # an empty cell
                continue
            if not _code_like(v):
                out[("free", k)] = v
        out.update({("global", k): v for k, v in dict.items(self.globals)
                    if not k.startswith("__") and not _code_like(v)})
        return out

    def read(self, path: Path) -> Any:
        """The value at ``path`` among the copies (after :meth:`call`: where the forward stored its output)."""
        (kind, name), steps = path[0], path[1:]
        root = (self.args[name] if kind == "arg" else self.cells[name].cell_contents if kind == "free"
                else self.globals[name])
        return read_path(root, steps)

    def call(self, replace: dict[str, Any] | None = None) -> Any:
        """Run the function on its copied arguments (``replace``: argument name -> another value)."""
        args = self.args if not replace else {**self.args, **replace}
        pos = [args[k] for k in self.names[: self.positional]]
        kw = {k: args[k] for k in self.names[self.positional:] if k in args}
        if self.star:
            pos += list(args.get(self.star, ()))
        if self.starstar:
            kw.update(args.get(self.starstar, {}))
        with quietly(), kept(self.namespaces):
            return self.fn(*pos, **kw)


def arg_values(frame: FrameType) -> dict[str, Any]:
    """The arguments bound in ``frame`` at its call event, by name."""
    loc = frame.f_locals
    return {k: loc[k] for k in _arg_names(frame.f_code) if k in loc}


def picked(replay: Replay | Chain, value: Any, pick: Pick) -> Any:
    """The output of a replayed call: what it returned, an element of it, or what it stored at a path (as it is)."""
    if pick is None:
        return value
    if isinstance(pick, int):
        return value[pick]
    return replay.read(pick)


class Chain:
    """Calls of the program's run one after the other, each handed what the one before it gave: a forward that no
    single function computes (``for layer in layers: x = layer.forward(x)`` written in the training loop itself).

    Args:
        links: the first call (run on its own copied arguments), then ``(replay, argument, pick)``: a call whose
            ``argument`` is replaced by the previous call's output at ``pick``.

    Each link is a :class:`Replay` made when the program made that call, all on the same working copies of the
    parameters; :meth:`read` reads where the last call stored its output.
    """

    def __init__(self, first: Replay, links: list[tuple[Replay, str, Pick]]) -> None:
        self.first = first
        self.links = links
        last = links[-1][0] if links else first
        self.last = last
        self.code = last.code
        self.name = last.name
        self.where = last.where

    def __len__(self) -> int:
        return 1 + len(self.links)

    def call(self, replace: dict[str, Any] | None = None) -> Any:
        """Run the calls in turn (``replace`` goes to the first) and return what the last returned."""
        value = self.first.call(replace)
        prev: Replay = self.first
        with quietly():
            for replay, arg, pick in self.links:
                value = replay.call({arg: picked(prev, value, pick)})
                prev = replay
        return value

    def read(self, path: Path) -> Any:
        """The value at ``path`` among the last call's copies (where it stored its output)."""
        return self.last.read(path)
