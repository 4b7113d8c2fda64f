"""The float arrays a program keeps, by path, and cheap ways to tell when they change.

A path is a tuple of steps from a root object: ``("attr", "weights"),
("item", 0)`` is ``self.weights[0]``; the root is an object (``self``), a
module's globals (a dict whose keys read as plain names) or a container the
program passes around (``params``). Paths are resolved again at every look,
so a program that rebinds its arrays (``self.weights = [w - ...]``,
``W1 = W1 - lr * dW1``) is followed through the new objects.

A *fingerprint* is the array's identity and a few of its values: reading
five entries costs well under a microsecond, and a training update changes
essentially every entry of a weight matrix, so an update is never missed by
more than the chance that all five sampled entries received an exactly zero
change.
"""

from __future__ import annotations

import abc
import dis
import re
import weakref
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

import numpy as np

from netdoctor._lazy import compiled_part
from netdoctor.buffers.peek import own_dict  # re-exported: the walk's reads of the program's objects
from netdoctor.buffers.reach import ATOMS, OPAQUE, number_table
from netdoctor.buffers.roles import path_role
from netdoctor.params import is_bias  # the one test of "is this a bias"; re-exported

__all__ = ["ALIKE_ROWS", "Cell", "Containers", "FrameLocals", "alias_path", "array_role", "is_bias", "Path", "WALK_ITEMS", "in_data_set", "rows_of_data", "walk_arrays", "resolve", "own_dict", "path_text", "path_reader", "fingerprint", "entries", "head", "sample_index", "ArrayMemo", "layer_chain", "LR_NAME", "weak"]

Path = tuple[tuple[str, Any], ...]

LR_NAME = re.compile(r"^(lr|eta|alpha|learn(ing)?_?rate|learnrate|step_?size|rate|l_rate|lrate)$", re.I)
"""Names under which programs pass their learning rate."""

_CACHE = re.compile(r"^(x|xs|inputs?|out|outs|outputs?|z|zs|a|as_|h|hs|y_?hat|cache|caches|activations?|acts|"
                    r"mask|pre|preact|logits|probs|p|scores|last_\w+|prev_\w+)$", re.I)
"""Last names of arrays a layer keeps from its forward pass: caches, not parameters."""


def array_role(text: str) -> str:
    """``"param"``, ``"buffer"`` or ``"other"`` for a path; the last name decides when it says something.

    ``layers[0].W`` is a parameter, ``layers[0].dW`` a buffer and ``layers[0].x``
    a cache ("other"), although all three sit under ``layers``; otherwise the
    roles of :func:`netdoctor.buffers.roles.path_role` apply. The answer depends on the text alone and is
    remembered (:data:`_roles`): discovery and the rules ask it of the same few paths thousands of times, and the
    regular expressions cost ~5 us a time (mini-batches of 10: 3,500 asks, 17 ms of discovery).
    """
    role = _roles.get(text)
    if role is None:
        if len(_roles) >= 4096:
            _roles.clear()
        role = _roles[text] = _array_role(text)
    return role


_roles: dict[str, str] = {}
"""Path text -> :func:`array_role`'s answer."""


def _array_role(text: str) -> str:
    names = re.findall(r"[A-Za-z_][A-Za-z_0-9]*", text)
    if names:
        last = names[-1]
        role = path_role(last)
        if role != "other":
            return role
        if _CACHE.match(last) and len(names) > 1:
            return "other"
    return path_role(text)


_SKIP_TYPES = (*OPAQUE, np.random.Generator, np.random.RandomState)
_NOT_WALKED = (*ATOMS, *_SKIP_TYPES)
_not_walked: dict[type, bool] = {}
"""Type -> whether it is a subclass of :data:`_NOT_WALKED` (see :func:`_skipped`)."""
_not_walked_token: list[object] = [None]


def _skipped(kind: type) -> bool:
    """``issubclass(kind, _NOT_WALKED)``, remembered per type: ``io.IOBase`` among them is an ABC, whose check runs
    Python's ``abc.__subclasscheck__`` for every value a walk meets (about a third of a walk of the forum program's
    network object). Forgotten whenever a class is registered with any ABC (:func:`_walk_started` compares
    ``abc.get_cache_token()``), and when it holds 4,096 types."""
    known = _not_walked.get(kind)
    if known is None:
        if len(_not_walked) >= 4096:
            _not_walked.clear()
        known = _not_walked[kind] = issubclass(kind, _NOT_WALKED)
    return known


def _walk_started() -> None:
    """Forget :func:`_skipped`'s answers if an ABC registered a class since they were given."""
    token = abc.get_cache_token()
    if token is not _not_walked_token[0]:
        _not_walked.clear()
        _not_walked_token[0] = token


class Containers(dict):
    """Several containers of one network under the names the program gives them (``weights``, ``biases``,
    ``grad_w``): a root whose paths start with the container's name, so ``weights[0]`` reads as the program writes it."""


class FrameLocals:
    """The local variables of a running function as a root: ``("item", name)`` steps, only the arrays bound
    directly to a name and the tuples, lists and dicts of nothing but arrays (or of per-layer tuples, lists or dicts of
    arrays) the function binds itself (``params = step(params, grads, lr)`` binds a new tuple at every step,
    ``params = {k: params[k] - lr * g[k] for k in params}`` a new dict, ``layers = [(W - lr * dW, b - lr * db) for
    ...]`` a new list of tuples: followed through the name); the containers it is handed and the others it holds are
    roots of their own, unless it binds the argument's name anew itself (what the name holds then is its own).

    Read through ``frame.f_locals`` at every look, so a function that rebinds its arrays (``W = W - lr * dW``)
    is followed through the new objects while it runs; after it returned, the last values it held.
    """

    __slots__ = ("frame",)

    def __init__(self, frame: FrameType) -> None:
        self.frame = frame

    def __getitem__(self, name: str) -> Any:
        return self.frame.f_locals[name]

    def arrays(self) -> list[tuple[str, Any]]:
        code = self.frame.f_code
        # containers handed in: roots of their own, except under the names the function binds again itself
        given = frozenset(code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]) - rebound_arguments(code)
        return [(k, v) for k, v in list(self.frame.f_locals.items()) if issubclass(type(v), np.ndarray) or (
            k not in given and _of_arrays(v, layers=True))]


def _of_arrays(v: Any, layers: bool = False) -> bool:
    """A tuple, list or dict of 1 to 64 items, each an array (or, ``layers``, each a tuple, list or dict of arrays: a
    network's layers as ``(W, b)`` pairs)."""
    t = type(v)
    if issubclass(t, (tuple, list)):
        items = v
    elif issubclass(t, dict):
        items = list(v.values())
    else:
        return False
    if not 0 < len(items) <= 64:
        return False
    return all(issubclass(type(a), np.ndarray) for a in items) or layers and all(_of_arrays(a) for a in items)


_REBOUND: dict[Any, frozenset[str]] = {}
"""Code object -> the names of its arguments that it binds again (see :func:`rebound_arguments`)."""


def rebound_arguments(code: Any) -> frozenset[str]:
    """The arguments a function binds anew in its own body (a plain store to the name: ``layers = [...]`` in
    ``def train(layers, ...)``), read once per code object from its bytecode."""
    known = _REBOUND.get(code)
    if known is None:
        args = set(code.co_varnames[: code.co_argcount + code.co_kwonlyargcount])
        known = frozenset(i.argval for i in dis.get_instructions(code) if i.opname == "STORE_FAST" and i.argval in args)
        if len(_REBOUND) < 4096:
            _REBOUND[code] = known
    return known


class Cell:
    """A closure cell as a root: the container in it now, whatever the program rebinds the name to
    (``nonlocal params; params = [p - lr * g for ...]`` puts a new list in the cell at every step). Paths are those of
    the container (``("item", 0)``); :func:`resolve` and :func:`walk_arrays` read through it."""

    __slots__ = ("cell",)

    def __init__(self, cell: Any) -> None:
        self.cell = cell

    @property
    def contents(self) -> Any:
        try:
            return self.cell.cell_contents
        except ValueError:  # an empty cell (the name deleted)
            return None

    def __getitem__(self, key: Any) -> Any:
        return self.contents[key]


WALK_ITEMS = 64
"""Items :func:`walk_arrays` looks at per list, tuple or dict by default: a longer list is a data set, sampled."""


def walk_arrays(root: Any, *, globals_root: bool = False, max_depth: int = 4, max_items: int = WALK_ITEMS,
                skip: frozenset[str] = frozenset(), containers: list[Any] | None = None) -> Iterator[tuple[Path, np.ndarray]]:
    """``(path, array)`` for every float array reachable from ``root`` (each array once, first path wins).

    Args:
        root: an object, list, tuple or dict.
        globals_root: ``root`` is a module's globals: dunder names, modules,
            functions and classes are skipped.
        max_depth: attribute/item levels followed.
        max_items: items looked at per list/dict (data sets kept as lists are sampled, not walked).
        skip: names of a globals root not walked into (the module's loop variables and per-step temporaries).
        containers: when given, the dicts and objects walked into are appended to it (in walk order; not the lists,
            which a program loading its data grows at every row).
    """
    if type(root) is Cell:
        root = root.contents
    _walk_started()
    seen: set[int] = {id(root)}
    frontier: list[tuple[Path, Any]] = [((), root)]
    for _ in range(max_depth):
        nxt = []
        for path, obj in frontier:
            try:
                children = list(_children(obj, max_items, globals_root and not path))
            except Exception:  # noqa: BLE001 - an object whose attribute lookups raise (NpzFile.f's bag raises on
                continue  # `__class__`) holds no network the walk could follow
            for step, child in children:
                if not path and step[1] in skip:
                    continue
                cid = id(child)
                if cid in seen:
                    continue
                seen.add(cid)
                p = (*path, step)
                if issubclass(type(child), np.ndarray):
                    if child.dtype.kind == "f" and child.ndim >= 1 and child.size >= 1:
                        yield p, child
                else:
                    nxt.append((p, child))
                    if containers is not None and not issubclass(type(child), (list, tuple, FrameLocals, *ATOMS)):
                        containers.append(child)
        frontier = nxt


_ATOM_TYPES = frozenset(t for t in ATOMS if isinstance(t, type))
"""The exact types of :data:`ATOMS`: a set lookup tells most items of a list before the subclass check does."""


def _children(obj: Any, max_items: int, top_globals: bool) -> Iterator[tuple[tuple[str, Any], Any]]:
    if type(obj) is Cell:
        obj = obj.contents
    if type(obj) is FrameLocals:
        for k, v in obj.arrays():
            yield ("item", k), v
        return
    if issubclass(type(obj), type):  # a class of the program's module, reached from its globals: its class attributes
        for k, v in list(vars(obj).items()):
            if not k.startswith("__") and not _skipped(type(v)):
                yield ("attr", k), v
        return
    if _skipped(type(obj)) or issubclass(type(obj), (set, frozenset)):
        return
    if issubclass(type(obj), (list, tuple)):
        if number_table(obj):
            # a data set kept as lists: no array to find, and walking it costs (64 x 64 items at every walk of a root)
            return
        for i, v in enumerate(obj[:max_items]):
            if type(v) not in _ATOM_TYPES and not issubclass(type(v), ATOMS):
                yield ("item", i), v
        return
    if issubclass(type(obj), dict):
        for i, (k, v) in enumerate(obj.items()):
            if i >= max_items and not top_globals:
                return
            if top_globals and (not issubclass(type(k), str) or k.startswith("__")):
                continue
            if top_globals and issubclass(type(v), type) and v.__module__ == obj.get("__name__"):
                yield ("item", k), v  # the module's own class: weights may be its class attributes (Net.W1 -= ...)
                continue
            if _skipped(type(v)):
                continue
            yield ("item", k), v
        return
    # Looked up on the type: the program's own __getattr__ must not run for a probe of ours (python never calls it here).
    if hasattr(type(obj), "__array__") or type(obj).__module__.split(".")[0] in ("torch", "pandas", "scipy"):
        return  # foreign array types are another backend's business
    d = own_dict(obj)
    if isinstance(d, dict):
        for k, v in list(d.items()):
            if not k.startswith("__") and not _skipped(type(v)):
                yield ("attr", k), v


ALIKE_ROWS = 4
"""Items alike, at least, that make a short list a batch of a data set's rows (see :func:`rows_of_data`)."""


def rows_of_data(obj: Any) -> bool:
    """Whether ``obj``, a list or tuple of at most :data:`WALK_ITEMS` items, is rows of a data set: at least
    :data:`ALIKE_ROWS` tuples or lists of arrays, all of the same shapes and dtypes (a mini-batch sliced from ``data =
    [(x, y), ...]``: ``batch = data[k:k + 10]``), none holding a square matrix.

    A network's layers kept as ``(W, b)`` pairs are never alike throughout but where every layer maps a width to
    itself: a layer's output is the next one's input, so identical matrices chain only when they are square (a deep
    net of equal widths). Such lists are left to be judged as layers, as is anything of another kind."""
    if not ALIKE_ROWS <= len(obj) <= WALK_ITEMS:
        return False
    first = obj[0]
    if not issubclass(type(first), (tuple, list)) or not first:
        return False
    sig = []
    for a in first:
        if type(a) is not np.ndarray or a.ndim == 2 and a.shape[0] == a.shape[1]:
            return False
        sig.append((a.shape, a.dtype))
    n = len(sig)
    for item in obj:
        if type(item) is not type(first) or len(item) != n:
            return False
        for a, (shape, dtype) in zip(item, sig):
            if type(a) is not np.ndarray or a.shape != shape or a.dtype != dtype:
                return False
    return True


def in_data_set(root: Any, path: Path) -> bool:
    """Whether ``path`` from ``root`` passes through a data set kept as rows: a list or tuple of more than
    :data:`WALK_ITEMS` items (``data = [(x, y), ...]``), which the walk samples, or a shorter one of rows alike
    (:func:`rows_of_data`: a mini-batch sliced from it). Its rows are the data's, never parameters."""
    obj = root
    for kind, key in path:
        if type(obj) is Cell:
            obj = obj.contents
        if kind == "item" and issubclass(type(obj), (list, tuple)) and (len(obj) > WALK_ITEMS or rows_of_data(obj)):
            return True
        try:
            obj = own_dict(obj)[key] if kind == "attr" else obj[key]
        except (AttributeError, LookupError, TypeError):
            return False
    return False


def resolve(root: Any, path: Path) -> Any:
    """The object at ``path`` from ``root`` now, or None when the path no longer exists.

    Attributes are read from the instance's ``__dict__`` (the paths come from
    there), so no code of the program runs for it.
    """
    obj = root
    try:
        for kind, key in path:
            if type(obj) is Cell:
                obj = obj.contents
            obj = own_dict(obj)[key] if kind == "attr" else obj[key]
    except (AttributeError, LookupError, TypeError):
        return None
    return obj


def path_reader(path: Path) -> Callable[[Any], Any]:
    """``resolve(root, path)`` as a function of ``root``: a one-step key of a plain dict (a parameter dict, a module's
    globals, a copy of a frame's locals) is read by ``dict.get`` (0.05 us against 0.35 us through :func:`resolve`; the
    observer reads every parameter at every loop head), a one-step attribute from the instance's ``__dict__`` as
    :func:`resolve` reads it, anything else through :func:`resolve`."""
    if len(path) != 1:
        return _steps_reader(path)
    kind, key = path[0]
    if kind == "item":

        def read(root: Any) -> Any:
            return root.get(key) if type(root) is dict else resolve(root, path)

        return read

    def read_attr(root: Any) -> Any:
        if type(root) is Cell:
            return resolve(root, path)
        try:
            return object.__getattribute__(root, "__dict__")[key]  # as own_dict: no code of the program runs
        except (AttributeError, LookupError, TypeError):
            return None

    return read_attr


def _steps_reader(path: Path) -> Callable[[Any], Any]:
    """:func:`resolve` of a path of several steps (``layers[0].dW``) as a function of ``root``: the same reads, the
    same None, with each step's kind decided once (the observer reads every buffer at every call of a per-sample
    gradient function)."""
    steps = [(kind == "attr", key) for kind, key in path]
    get_dict = object.__getattribute__

    def read_steps(root: Any) -> Any:
        obj = root
        try:
            for attr, key in steps:
                if type(obj) is Cell:
                    obj = obj.contents
                obj = get_dict(obj, "__dict__")[key] if attr else obj[key]  # (as own_dict: no code of the program runs)
        except (AttributeError, LookupError, TypeError):
            return None
        return obj

    return read_steps


def alias_path(root: Any, path: Path, prefer: Callable[[str], bool]) -> Path:
    """``path`` with its container reached under another name of the same parent when ``prefer`` likes that name.

    ``self.weight_templates[0]`` becomes ``self.weight_updates[0]`` once the
    program has bound both names to one list; only the step just above the
    array is looked at (the container's own name). ``path`` itself when no
    other name is preferred.
    """
    if len(path) < 2:
        return path
    parent, head = resolve(root, path[:-2]), resolve(root, path[:-1])
    if head is None or parent is None:
        return path
    items = parent.items() if issubclass(type(parent), dict) else (own_dict(parent) or {}).items()
    kind = "item" if issubclass(type(parent), dict) else "attr"
    for k, v in list(items):
        if v is head and issubclass(type(k), str):
            p = (*path[:-2], (kind, k), path[-1])
            if p != path and prefer(path_text(p)):
                return p
    return path


def path_text(path: Path, prefix: str = "") -> str:
    """``self.weights[0]``, ``params['W1']``, ``W1`` (a globals root has an empty prefix)."""
    out = prefix
    for i, (kind, key) in enumerate(path):
        if kind == "attr":
            out = f"{out}.{key}" if out else key
        elif i == 0 and not prefix and issubclass(type(key), str):
            out = key  # a global name
        else:
            out = f"{out}[{key!r}]"
    return out


def sample_index(size: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """``k`` distinct flat positions of an array of ``size`` entries (all of them when it is small), sorted."""
    if size <= k:
        return np.arange(size)
    return np.sort(rng.choice(size, size=k, replace=False))


def entries(a: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """The entries of ``a`` at flat (C-order) positions ``idx``, as ``np.take(a, idx)`` gives them, without a copy of ``a``.

    ``np.take`` without an axis ravels first, and ravelling a view that is not contiguous copies all of it
    (``X[:, 1:]`` of a 1000x785 data set: 6 MB and 1.4 ms per look, for 5 entries); the flat iterator reads
    only the entries asked for (0.3 us). A C-contiguous array is read through its flat view (``ravel`` copies
    nothing there), twice as fast as the flat iterator (1.0 against 2.3 us for 16 entries): the observer reads
    its parameters' entries at every update.
    """
    return a.ravel()[idx] if a.flags.c_contiguous else a.flat[idx]


def head(a: np.ndarray, n: int) -> np.ndarray:
    """The first ``n`` entries of ``a`` in C order, as ``a.reshape(-1)[:n]`` gives them, without a copy of ``a``.

    ``reshape(-1)`` of a view that is not contiguous copies all of it (the columns ``X = data.T`` of a 4,000-row
    batch: 25 MB and about 10 ms, to read 256 entries); the flat iterator copies only the ``n`` entries read.
    """
    return a.reshape(-1)[:n] if a.flags.c_contiguous else a.flat[:n]


class ArrayMemo:
    """What was decided about an array from its values alone, kept for the next time an array with the same values
    comes: a full-batch program hands its one target array to its gradient's function at every step (deciding whether
    4,000 rows are class codes costs more than comparing them with a copy), a per-sample one hands one of a few target
    vectors at every sample.

    A small array (at most ``small`` entries) is found by its bytes (dtype, shape and values): at most ``values`` of
    them are kept, the first ones met (a per-sample program's target vectors come early and again and again; its
    outputs, all different, would only fill the table). A large one is found by identity (a weak reference: a freed
    array's ``id`` is the address of the next one) and a decision is reused only while every entry equals the copy kept
    when it was made (about 25 us for 40,000 entries; ``equal_nan`` would cost 0.9 ms, so an array holding NaN is
    decided every time), so an array written in place is decided again. Nothing is sampled. The copy is made at an
    array's second coming (a new output at every step is never copied); at most ``slots`` arrays are kept, the least
    recently used dropped first. Arrays between ``small`` and ``least`` entries (deciding costs about what comparing
    does) or over ``most`` (the copy's memory) are decided every time.
    """

    def __init__(self, least: int = 1024, most: int = 1 << 20, slots: int = 4, small: int = 256,
                 values: int = 4096) -> None:
        self.least, self.most, self.slots, self.small, self.values = least, most, slots, small, values
        self._kept: dict[int, tuple[Callable[[], Any], np.ndarray, dict[Any, Any]]] = {}
        self._once: dict[int, Callable[[], Any]] = {}
        """The arrays seen once (by identity), at most ``slots``: their copy is made if they come back."""
        self._by_value: dict[tuple[Any, str, tuple[int, ...], bytes], Any] = {}

    def decided(self, a: np.ndarray, key: Any, decide: Callable[[], Any]) -> Any:
        """``decide()`` for array ``a`` under ``key`` (what else the decision depends on), or what it returned for an
        array with the same values (a small one) or for ``a`` itself with these values (a large one)."""
        if a.size <= self.small:
            found = (key, a.dtype.str, a.shape, a.tobytes())
            if found in self._by_value:
                return self._by_value[found]
            value = decide()
            if len(self._by_value) < self.values:
                self._by_value[found] = value
            return value
        if not self.least <= a.size <= self.most:
            return decide()
        kept = self._kept.pop(id(a), None)
        back = kept is not None and kept[0]() is a
        if kept is None or not (back and kept[1].shape == a.shape and kept[1].dtype == a.dtype
                                and bool((kept[1] == a).all())):
            once = self._once.pop(id(a), None)
            if not back and (once is None or once() is not a):
                _bounded(self._once, self.slots)[id(a)] = weak(a)
                return decide()
            kept = (weak(a), a.copy(order="K"), {})  # (its own layout: compared entry for entry in order)
        _bounded(self._kept, self.slots)[id(a)] = kept  # (put back last: the most recently used)
        decisions = kept[2]
        if key not in decisions:
            decisions[key] = decide()
        return decisions[key]


def _bounded(table: dict[int, Any], size: int) -> dict[int, Any]:
    """``table`` with its oldest entries dropped until one more fits within ``size``."""
    while len(table) >= size:
        del table[next(iter(table))]
    return table


def weak(obj: Any) -> Callable[[], Any]:
    """A reference to ``obj`` that is true to its identity: ``weak(obj)() is obj`` while it lives, and never another
    object once it is freed. An ``id()`` kept after the object died is the address of whatever is allocated there next
    (a temporary output's address is the next batch's), so state keyed by the id of a short-lived array answers for an
    array it never saw. Arrays and plain objects are referenced weakly (the program's refcounts, ``ndarray.resize``
    included, stay its own); what refuses a weak reference (a tuple, a list) is held."""
    try:
        return weakref.ref(obj)
    except TypeError:
        return lambda: obj


def _py_fingerprint(a: np.ndarray, idx: np.ndarray) -> tuple[int, bytes]:
    """Identity and the bytes of a few entries: equal fingerprints mean (almost surely) an unchanged array."""
    return id(a), (a.ravel()[idx] if a.flags.c_contiguous else a.flat[idx]).tobytes()


def _compiled_part() -> Any:
    """The compiled part (``_ctrace``) with its fingerprint's fallback set, or None where it is not built or the
    pure-Python tracer is asked for (``NETDOCTOR_PURE_TRACER``: the whole observer in Python, the compiled one's
    oracle)."""
    import os

    from netdoctor.observe.tracer import PURE_ENV, REQUIRE_ENV  # (its module loads the part and checks its stamp)

    if os.environ.get(PURE_ENV, "") not in ("", "0"):
        return None
    part = compiled_part("netdoctor.observe._ctrace", REQUIRE_ENV)
    if part is None or not hasattr(part, "fingerprint"):
        return None
    # arrays whose heads C checks against what NumPy says of them before reading any head itself
    probes = [np.zeros((3, 2)), np.arange(5)[::2], np.ones(4, dtype=np.float32).T]
    part.set_fingerprint(_py_fingerprint, np.ndarray, [(a, a.__array_interface__["data"][0], a.ndim, a.shape[0],
                                                        ord(a.dtype.kind), ord(a.dtype.char)) for a in probes])
    return part


_PART = _compiled_part()
fingerprint: Callable[[np.ndarray, np.ndarray], tuple[int, bytes]] = (
    _py_fingerprint if _PART is None else _PART.fingerprint)
""":func:`_py_fingerprint`, computed in C where the compiled part is built (``_ctrace.fingerprint``: the same tuple,
read through the buffer protocol; ~0.7 against ~1.5 us, and no audit event for ``id()``). Discovery fingerprints
every array of every root at every event it scans (the forum program: ~385,000 times)."""
scan_signature: Callable[[Any, list[Any], list[np.ndarray]], bytes | None] | None = getattr(_PART, "scan", None)
"""``scan_signature(root, steps, idxs)``: the ids and sampled entries of the float arrays at ``steps`` (paths with
0 for an item, 1 for an attribute, 2 for a plain local variable of the function whose frame is ``root``) from
``root`` in one bytes object, or None where C cannot read one of them
without running the program's code; None itself where the compiled part is not built (see
``Discovery._unchanged``)."""
changed_roots: Callable[[list[Any], int, tuple[type, type], Callable[[Any], int]], list[int]] | None = getattr(
    _PART, "changed_roots", None)
"""``changed_roots(roots, first, (Cell, FrameLocals), items)``: the positions of the discovery roots (``Root`` objects) that
``Discovery``'s ``_unchanged`` would not find unchanged between walks, asked of all of them in one call (their
signatures compared as :data:`scan_signature` reads them, their containers' sizes counted as ``_resized`` counts them,
``items`` for what is no exact dict, list or tuple); None where the compiled part is not built."""
quick_moved: Callable[[Any, list[Any], list[Any], list[np.ndarray], list[Any]], bool | None] | None = getattr(
    _PART, "quick_moved", None)
"""``quick_moved(root, paths, held, quick, seen)``: the NumPy observer's quick look at its parameters
(``updates._quick_moved``) in one call: True at the first parameter (its path's steps read from ``root`` as
:func:`path_reader` reads them) that is not the array ``held`` or whose float64 entries at ``quick`` differ from the
floats ``seen``, False when none; None where C does not read a path or an array that way (the caller reads them in
Python then); None itself where the compiled part is not built."""
sample_entries: Callable[[Any, list[Any], list[np.ndarray], np.ndarray], bool] | None = getattr(_PART, "sample_entries", None)
"""``sample_entries(root, paths, idxs, out)``: the NumPy observer's sampled buffer entries (``updates._sample_buffers``)
written into ``out`` in one call (float64 buffers at sorted positions; NaN for a path of None or an array too small);
False where C does not read a path or an array that way (sampled in Python then); None itself where the compiled part
is not built."""
look_entries: Callable[[Any, list[Any], list[np.ndarray], np.dtype, bytes], bytes | bool | None] | None = getattr(
    _PART, "look_entries", None)
"""``look_entries(root, paths, idxs, float64, prev)``: the buffers' sampled entries as ``BufferResets.look`` reads them
with :func:`fingerprint` (arrays of the dtype object ``float64`` only), in one bytes object: False when they equal
``prev``; None where C does not read a path or an array that way (read in Python then), or where the compiled part
is not built."""


added: Callable[[Any, Any, int, float, bool], tuple[int, float] | None] | None = getattr(_PART, "added", None)
"""``added(now, last, pivot, held, zeros)``: ``BufferResets._compare``'s first two tests (the entry at the pivot grew or
changed sign, or left zero where resets leave zeros; an entry changed to anything but zero) on two looks' float64
entries, contiguous buffers of equal length; when one says a gradient was added, the new pivot as :data:`largest` finds
it, else None (the compare goes on in Python). None itself where the compiled part is not built."""
largest: Callable[[Any], tuple[int, float]] | None = getattr(_PART, "largest", None)
"""``largest(now)``: the pivot of a look's float64 entries (a contiguous buffer of them) as ``BufferResets._set_last``
finds it with NumPy: the first position of the largest magnitude, a NaN counted as zero, and the entry there (0.0 when
it is a NaN or zero); None where the compiled part is not built."""
clone_rows: Callable[[list[Any], dict[int, Any], list[Any], type], list[Any] | None] | None = getattr(
    _PART, "clone_rows", None)
"""``clone_rows(x, memo, keep, np.generic)``: the copies of the items of the list ``x`` as the replay's ``clone`` makes
them one by one, in one call, where every item is an atom (an exact float, int, bool or str, or a NumPy scalar: itself)
or a list of atoms (a new list, put in ``memo`` under the original's id, the original appended to ``keep``); an item in
``memo`` is its copy there. None at an item of another kind (the lists copied so far are in ``memo``); None itself where
the compiled part is not built."""


def chain_beside_biases(shapes: list[tuple[int, ...]]) -> tuple[tuple[str, list[int]], set[int]] | None:
    """Layout and layer sizes of matrices in program order that chain once the rows and columns that are the biases
    of the matrix before them are set aside (``W2`` of (1, 48) is a one-unit layer, ``b2`` of (1, 1) beside it its
    bias), and the positions of those set aside; None when no layout chains with every matrix of both sides > 1 and a
    layer of width 1 kept. A bias of a ``(out, in)`` matrix (columns) is ``(out, 1)``; of an ``(in, out)`` one (rows)
    ``(1, out)``."""
    mats = [(i, s) for i, s in enumerate(shapes) if len(s) == 2]
    if len(mats) < 2:
        return None
    for cols in (True, False):
        kept: list[tuple[int, ...]] = [mats[0][1]]
        apart: set[int] = set()
        for i, m in mats[1:]:
            last = kept[-1]
            if m == ((last[0], 1) if cols else (1, last[1])):
                apart.add(i)  # the bias of the matrix before it
            elif (m[1] == last[0]) if cols else (m[0] == last[1]):
                kept.append(m)
            elif min(m) == 1:
                apart.add(i)
            else:
                break
        else:
            if len(kept) >= 2 and any(min(m) == 1 for m in kept):
                sizes = [kept[0][1], *[m[0] for m in kept]] if cols else [kept[0][0], *[m[1] for m in kept]]
                return ("columns" if cols else "rows", sizes), apart
    return None


def layer_chain(shapes: list[tuple[int, ...]]) -> tuple[str, list[int]] | None:
    """Layout and layer sizes of weight matrices in program order, or None when they do not chain.

    Column convention (``W_l`` is (out, in), ``a = W @ x``) chains when each
    matrix's second dimension is the previous one's first; row convention
    (``W_l`` is (in, out), ``a = x @ W``) when each first dimension is the previous second.

    Returns:
        ``("columns" | "rows", [n_in, n_hidden..., n_out])``.
    """
    mats = [s for s in shapes if len(s) == 2]
    if not mats:
        return None
    if len(mats) == 1:
        a, b = mats[0]
        return ("columns", [b, a]) if b >= a else ("rows", [a, b])
    cols = all(mats[i + 1][1] == mats[i][0] for i in range(len(mats) - 1))
    rows = all(mats[i + 1][0] == mats[i][1] for i in range(len(mats) - 1))
    if cols and not rows:
        return "columns", [mats[0][1], *[m[0] for m in mats]]
    if rows and not cols:
        return "rows", [mats[0][0], *[m[1] for m in mats]]
    if rows and cols:  # square layers: the first matrix's larger side is the input
        return ("columns", [mats[0][1], *[m[0] for m in mats]]) if mats[0][1] >= mats[0][0] else ("rows", [mats[0][0], *[m[1] for m in mats]])
    return None
