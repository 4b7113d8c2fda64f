"""Everything reachable from a user's object, and a bit-for-bit snapshot of it.

A hand-written network keeps weights, gradient buffers, templates, random
generators and sometimes whole data sets in attributes, lists and dicts.
:class:`Reach` walks that graph once (breadth first, so the first path to an
object is a shortest one) and keeps every further encounter as an extra edge:
that is how two names bound to one object show up. :class:`StateSnapshot`
copies every binding, container and array byte it finds, so a probe can run
the user's code in place and put everything back afterwards.

Used by :mod:`netdoctor.buffers.aliasing` (the shared-buffer scan),
:mod:`netdoctor.buffers.probe` (the training probe) and :mod:`netdoctor.adapters.handwritten`.
"""

from __future__ import annotations

import copy
import functools
import io
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from netdoctor.buffers.peek import is_array, own_dict

__all__ = ["Reach", "StateSnapshot", "unwrap", "scratch_copy", "root_array", "number_table", "MAX_ITEMS", "OPAQUE"]

ATOMS = (str, bytes, int, float, complex, bool, type(None), np.generic, range, slice, np.dtype)
"""Values with nothing inside worth walking."""
OPAQUE = (
    types.ModuleType, type, types.FunctionType, types.BuiltinFunctionType, types.MethodType,
    functools.partial, io.IOBase, types.GeneratorType, types.CodeType, types.FrameType,
)
"""Objects that are neither walked nor restored: code, modules, files, generators."""
_ATOM_TYPES = frozenset(t for t in ATOMS if isinstance(t, type))
"""The exact types of :data:`ATOMS`: a set lookup tells most items of a list before the subclass check does."""
MAX_ITEMS = 256
"""Items looked at per list/dict: datasets kept as lists of samples are sampled, not walked whole."""


def _numbers(v: Any, depth: int) -> bool:
    """A number, or (``depth`` levels down) a list or tuple whose first and last items are."""
    if type(v) in _ATOM_TYPES or issubclass(type(v), ATOMS):
        return True
    return depth > 0 and type(v) in (list, tuple) and len(v) > 0 and _numbers(v[0], depth - 1) and _numbers(v[-1], depth - 1)


def number_table(obj: list[Any] | tuple[Any, ...]) -> bool:
    """Whether a list or tuple of more than 8 items is a row of numbers, a table of such rows, or a list of samples
    made of them (a data set kept as lists: ``[[v] for v in sample]``, pixel rows, ``(rows, label)`` pairs), judged
    by its first and last items, three levels down: it holds no array, and walking it costs (a data set of 500 rows
    of 785 numbers is 130,000 items)."""
    return len(obj) > 8 and _numbers(obj[0], 3) and _numbers(obj[-1], 3)


def unwrap(model: Any) -> Any:
    """The user's own network behind an adapted model (the model itself otherwise; an adapter's class says so, and
    a program's own object is not asked: its ``__getattr__`` would run)."""
    inner = getattr(model, "__netdoctor_wrapped__", None) if hasattr(type(model), "__netdoctor_wrapped__") else None
    return model if inner is None else inner


def root_array(a: np.ndarray) -> np.ndarray:
    """The array at the root of view ``a``: ``.base`` followed while it is an array (``a`` itself when it owns its
    memory, or views a buffer that is no array: ``np.frombuffer``, and the views stride tricks make).

    Every view of one array leads to the same root: the one walk over bases that the aliasing scan, the training
    probe and ``netdoctor run``'s watch of data tables group arrays by.
    """
    while is_array(a.base):
        a = a.base
    return a


class Reach:
    """Every object reachable from ``root`` through attributes, lists, tuples and dicts.

    Each object is expanded once (at its first, shortest-depth-first path);
    every further encounter is kept as an extra edge, which is how shared
    objects show up.

    Args:
        root: the object to walk from.
        max_depth: attribute/item levels followed.
        max_items: items looked at per list or dict.
        tables: walk into the items of a :func:`number_table` (a data set kept as lists); False: such a list is a
            node (two names bound to it still show) whose items are not walked.

    Attributes:
        nodes: id -> object (references are held, so ids stay unique).
        first: id -> the path of the first encounter (``""`` for the root).
        edges: id -> list of ``(parent_id, label)`` for every encounter.
        truncated: True when a long container was sampled or depth ran out.
    """

    def __init__(self, root: Any, *, max_depth: int = 6, max_items: int = MAX_ITEMS, tables: bool = True) -> None:
        self.root_id = id(root)
        self.nodes: dict[int, Any] = {id(root): root}
        self.first: dict[int, str] = {id(root): ""}
        self.edges: dict[int, list[tuple[int, str]]] = {id(root): []}
        self.truncated = False
        nodes, first, edges = self.nodes, self.first, self.edges
        labels = _index_labels(max_items)
        frontier = [(root, 0)]
        while frontier:  # breadth first: the first path is a shortest one
            nxt: list[tuple[Any, int]] = []
            for obj, depth in frontier:
                if depth >= max_depth:
                    self.truncated = self.truncated or bool(list(_children(obj, 1)))
                    continue
                # one id() per object: with an audit hook installed (a replay's isolation), every id() call runs it
                oid = id(obj)
                base = first[oid]
                kind = type(obj)
                # Lists, tuples and dicts of exactly those types (a data set kept as lists is 65,000 of them) are
                # walked here, without the generator of _children and with labels made only for the items that
                # are no atoms: the same pairs in the same order as _children yields them.
                if kind is list or kind is tuple:
                    if not tables and number_table(obj):
                        self.truncated = True  # a node (bound to two names, it is seen), its rows not walked
                        continue
                    if len(obj) > max_items:
                        self.truncated = True
                    at = depth + 1
                    i = -1
                    for child in obj if len(obj) <= max_items else obj[:max_items]:
                        i += 1
                        if type(child) in _ATOM_TYPES or issubclass(type(child), ATOMS):
                            continue
                        label = labels[i]
                        cid = id(child)
                        seen = edges.get(cid)
                        if seen is not None:
                            seen.append((oid, label))
                            continue
                        edges[cid] = [(oid, label)]
                        nodes[cid] = child
                        first[cid] = base + label
                        nxt.append((child, at))
                    continue
                for label, child in _children(obj, max_items):
                    if label is None:
                        self.truncated = True
                        continue
                    cid = id(child)
                    seen = edges.get(cid)
                    if seen is not None:
                        seen.append((oid, label))
                        continue
                    edges[cid] = [(oid, label)]
                    nodes[cid] = child
                    first[cid] = _join(base, label)
                    nxt.append((child, depth + 1))
            frontier = nxt

    def path(self, parent_id: int, label: str) -> str:
        """The path of one edge: the parent's first path plus the label."""
        return _join(self.first[parent_id], label)

    def paths(self, oid: int, *, limit: int = 8) -> list[str]:
        """All distinct paths that reach an object (at most ``limit``), first one first."""
        out: list[str] = []
        seen = {oid}

        def rec(node: int, suffix: str) -> None:
            if len(out) >= limit:
                return
            if node == self.root_id:
                p = suffix.lstrip(".")
                if p not in out:
                    out.append(p)
                return
            for parent, label in self.edges.get(node, ()):
                if parent in seen:
                    continue
                seen.add(parent)
                rec(parent, label + suffix if label.startswith("[") else "." + label + suffix)
                seen.discard(parent)

        rec(oid, "")
        first = self.first.get(oid)
        if first in out:
            out.remove(first)
            out.insert(0, first)
        return out

    def arrays(self) -> dict[int, np.ndarray]:
        """The numeric arrays among the nodes (object arrays are skipped)."""
        return {
            i: o for i, o in self.nodes.items()
            if issubclass(type(o), np.ndarray) and o.dtype != object and o.size > 0
        }


@functools.cache
def _index_labels(count: int) -> tuple[str, ...]:
    """The labels of the first ``count`` items of a list: ``"[0]"``, ``"[1]"``, ... (made once, not per item)."""
    return tuple(f"[{i}]" for i in range(count))


def _join(parent: str, label: str) -> str:
    if label.startswith("["):
        return parent + label
    return f"{parent}.{label}" if parent else label


def _has_slot(obj: Any, name: str) -> bool:
    """Whether the slot ``name`` of ``obj`` is set, read as ``object`` reads it (no ``__getattr__`` of the program runs)."""
    try:
        object.__getattribute__(obj, name)
    except AttributeError:
        return False
    return True


def _slot_names(obj: Any) -> Iterator[str]:
    """The ``__slots__`` attributes an object has set (a single-string ``__slots__`` is not followed)."""
    for cls in type(obj).__mro__:
        slots = cls.__dict__.get("__slots__", ())
        for k in slots if isinstance(slots, (tuple, list)) else ():
            if k not in ("__dict__", "__weakref__") and _has_slot(obj, k):
                yield k


def _children(obj: Any, max_items: int):
    """``(label, child)`` pairs of an object's non-atomic contents; ``(None, None)`` marks truncation."""
    if issubclass(type(obj), (np.ndarray, *ATOMS, *OPAQUE)) or issubclass(type(obj), (set, frozenset)):
        return
    if issubclass(type(obj), (list, tuple)):
        for i, v in enumerate(obj):
            if i >= max_items:
                yield None, None
                return
            if not issubclass(type(v), ATOMS):
                yield f"[{i}]", v
        return
    if issubclass(type(obj), dict):
        for i, (k, v) in enumerate(obj.items()):
            if i >= max_items:
                yield None, None
                return
            if not issubclass(type(v), ATOMS):
                yield f"[{k!r}]", v
        return
    d = own_dict(obj)
    if isinstance(d, dict):
        for k, v in d.items():
            if not k.startswith("__") and not issubclass(type(v), ATOMS):
                yield k, v
    for k in _slot_names(obj):
        v = object.__getattribute__(obj, k)
        if not issubclass(type(v), ATOMS):
            yield k, v


class StateSnapshot:
    """A bit-for-bit copy of everything reachable from ``root``, restorable in place.

    Saves attribute dicts, list and dict contents, array contents and random
    generator states; :meth:`restore` puts every binding and every byte back,
    so models that rebind attributes (``self.weights = [...]``) are restored too.
    """

    def __init__(self, root: Any, *, max_depth: int = 8, max_items: int = 1024) -> None:
        # Lists longer than max_items (data sets kept on the object) are restored as lists,
        # but the contents of their items beyond max_items are not copied each time.
        reach = Reach(root, max_depth=max_depth, max_items=max_items)
        self._items: list[tuple[str, Any, Any]] = []
        for obj in reach.nodes.values():
            if isinstance(obj, np.ndarray):
                if obj.dtype != object and obj.flags.writeable:
                    self._items.append(("array", obj, obj.copy()))
            elif isinstance(obj, list):
                self._items.append(("list", obj, list(obj)))
            elif isinstance(obj, dict):
                self._items.append(("dict", obj, dict(obj)))
            elif isinstance(obj, np.random.Generator):
                self._items.append(("rng", obj, obj.bit_generator.state))
            elif isinstance(obj, np.random.RandomState):
                self._items.append(("rs", obj, obj.get_state()))
            elif not isinstance(obj, (tuple, *OPAQUE)):
                d = getattr(obj, "__dict__", None)
                if isinstance(d, dict):
                    self._items.append(("obj", obj, dict(d)))
                slots = {k: getattr(obj, k) for k in _slot_names(obj)}
                if slots:
                    self._items.append(("slots", obj, slots))

    def restore(self) -> None:
        """Put every saved binding back, then every array's bytes (arrays may have been rebound)."""
        for kind, obj, saved in self._items:
            if kind == "list":
                obj[:] = saved
            elif kind == "dict":
                obj.clear()
                obj.update(saved)
            elif kind == "obj":
                obj.__dict__.clear()
                obj.__dict__.update(saved)
            elif kind == "slots":
                for k, v in saved.items():
                    setattr(obj, k, v)
            elif kind == "rng":
                obj.bit_generator.state = saved
            elif kind == "rs":
                obj.set_state(saved)
        for kind, obj, saved in self._items:
            if kind == "array":
                np.copyto(obj, saved)


@contextmanager
def scratch_copy(model: Any, *, in_place: bool = False) -> Iterator[Any]:
    """A model that may be trained or changed freely; the user's stays as it was.

    Yields a deep copy; when the model cannot be copied (open files, locks)
    or ``in_place`` is True (a copy would separate views that share memory and
    hide the sharing), yields the model itself and restores every reachable
    array and binding bit for bit on exit, also when the body raises.
    """
    if not in_place:
        try:
            work = copy.deepcopy(model)
        except Exception:  # noqa: BLE001 - any uncopyable user object: fall back to in place
            in_place = True
        else:
            yield work
            return
    snapshot = StateSnapshot(model)
    try:
        yield model
    finally:
        snapshot.restore()
