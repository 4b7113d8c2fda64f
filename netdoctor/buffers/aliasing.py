"""Shared buffers: one object reached under two names, or arrays sharing memory.

A hand-written network keeps its weights, gradient buffers and "zero"
templates in attributes. When two of those names are bound to one object
(``self.weight_updates = self.weight_templates``), or one array sits in a list
several times (``[np.zeros(n)] * L``), or a gradient buffer is a view of the
weights (``grad = W[:]``), a write through one name silently changes the
other. :func:`find_aliasing` walks the attributes of a model
(:class:`netdoctor.buffers.reach.Reach`) and reports such groups, judging each by
what its names say (:func:`netdoctor.buffers.roles.path_role`).

Sharing by construction is not reported: a ``params`` dict holding the very
arrays that ``self.W1`` names, read-only data, immutable tuples.

While a program runs, :func:`second_names` answers the question by identity
alone: which of the objects a network keeps as its gradient buffers is reached
under a second name within one scope the program keeps (the network's object,
a module's globals, the locals of a function that stays on the stack), as
``grad_w[0] = zero_w[0]`` or ``self.gradW = self.zeroW`` leave them.

``Reach``, ``StateSnapshot`` and ``path_role`` are re-exported here, where
they used to live.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from netdoctor._lazy import dataclass
from netdoctor.buffers.reach import ATOMS, OPAQUE, Reach, StateSnapshot, root_array, unwrap
from netdoctor.buffers.roles import is_template, path_role
from netdoctor.findings import Finding, Severity
from netdoctor.rules.sharing import aliased_buffers, pair_severity

if TYPE_CHECKING:
    from netdoctor.rules.evidence import SharedMemory

__all__ = ["find_aliasing", "second_names", "SecondName", "Reach", "StateSnapshot", "path_role"]


# -- the scan ----------------------------------------------------------------
def find_aliasing(obj: Any, *, max_depth: int = 6, tables: bool = True) -> list[Finding]:
    """Report buffers that share an object or memory where training needs separate ones.

    Three kinds of sharing are found, each group becoming one ``aliased-buffers``
    finding (error when a gradient/update buffer or template is involved,
    warning when the roles are ambiguous):

    1. one list, dict or array bound to two names, one of them a buffer
       (``weight_updates`` is ``weight_templates``; ``grads['W1']`` is ``W1``);
    2. one object repeated inside a list (``[np.zeros(n)] * L``);
    3. distinct arrays whose memory overlaps (``grad = W[:]``, slices, reshapes).

    Args:
        obj: the model (a network object, a protocol model or an adapted net:
            adapters are unwrapped through ``__netdoctor_wrapped__``).
        max_depth: how many attribute/item levels to follow.
        tables: walk into data sets kept as lists of numbers (see :class:`~netdoctor.buffers.reach.Reach`).

    Returns:
        findings, possibly empty; ``where`` lists the attribute paths.
    """
    reach = Reach(unwrap(obj), max_depth=max_depth, tables=tables)
    findings: list[Finding] = []
    for oid, edges in reach.edges.items():
        target = reach.nodes[oid]
        if oid == reach.root_id or len(edges) < 2 or not _mutable(target):
            continue
        by_parent: dict[int, list[str]] = {}
        for parent, label in edges:
            by_parent.setdefault(parent, []).append(label)
        for parent, labels in by_parent.items():
            if len(labels) > 1 and issubclass(type(reach.nodes[parent]), (list, tuple)):
                rep = _repeated(reach, parent, labels, target)
                if rep is not None:
                    findings.append(rep)
        if issubclass(type(target), (list, dict, np.ndarray)):
            # one path per list: repeats inside one list are reported above
            paths = list(dict.fromkeys(
                reach.path(p, l) for p, ls in by_parent.items()
                for l in (ls[:1] if issubclass(type(reach.nodes[p]), (list, tuple)) else ls)))
            if len(paths) > 1:
                f = _same_object(paths, target)
                if f is not None:
                    findings.append(f)
    findings.extend(_overlapping(reach))
    return findings


def _mutable(o: Any) -> bool:
    if issubclass(type(o), np.ndarray):
        return o.flags.writeable and o.size > 0
    return not issubclass(type(o), (tuple, *OPAQUE))


def _describe(o: Any) -> dict[str, Any]:
    # No id(): evidence must be identical across runs with the same seed.
    d: dict[str, Any] = {"type": type(o).__name__}
    if issubclass(type(o), np.ndarray):
        d["shape"] = list(o.shape)
    elif issubclass(type(o), (list, tuple, dict)):
        d["length"] = len(o)
        vals = o.values() if issubclass(type(o), dict) else o
        d["shapes"] = [list(v.shape) if issubclass(type(v), np.ndarray) else type(v).__name__ for v in list(vals)[:8]]
    return d


def _shared_memory(**fields: Any) -> SharedMemory:
    """The record of names sharing memory, its module imported here: the observer of ``netdoctor run`` imports this
    module while the program runs, and the records (27 frozen dataclasses, about 20 ms) are read after it ends."""
    from netdoctor.rules.evidence import SharedMemory

    return SharedMemory(**fields)


def _same_object(paths: list[str], o: Any) -> Finding | None:
    return aliased_buffers(_shared_memory(
        kind="same", paths=tuple(paths), roles=tuple((p, path_role(p)) for p in paths), object_type=type(o).__name__,
        templates=tuple(p for p in paths if path_role(p) == "buffer" and is_template(p)), details=_describe(o)))


def _repeated(reach: Reach, parent: int, labels: list[str], o: Any) -> Finding | None:
    container = reach.first[parent] or "<root>"
    paths = [reach.path(parent, l) for l in labels]
    return aliased_buffers(_shared_memory(
        kind="repeated", paths=tuple(paths), roles=(), object_type=type(o).__name__, container=container,
        container_role=path_role(container), container_length=len(reach.nodes[parent]), labels=tuple(labels),
        details=_describe(o)))


def _root_base(a: np.ndarray) -> Any:
    """The object that owns ``a``'s memory: its root array, or the buffer that array views (``np.frombuffer``)."""
    a = root_array(a)
    return a.base if a.base is not None else a


def _bounds(a: np.ndarray) -> tuple[int, int]:
    try:
        from numpy.lib.array_utils import byte_bounds
    except ImportError:  # numpy < 2; the stubs type-checked here are numpy 2's, without np.byte_bounds
        byte_bounds = np.byte_bounds  # type: ignore[attr-defined]
    return byte_bounds(a)


def _pair_severity(a: str, b: str) -> Severity | None:
    return pair_severity(path_role(a), path_role(b))


def _overlapping(reach: Reach) -> list[Finding]:
    """Distinct arrays whose bytes overlap, grouped; a sweep over byte bounds per base."""
    groups: dict[int, list[int]] = {}
    arrays = {i: a for i, a in reach.arrays().items() if a.flags.writeable}
    for i, a in arrays.items():
        groups.setdefault(id(_root_base(a)), []).append(i)
    parent: dict[int, int] = {}

    def find(i):
        while parent.get(i, i) != i:
            i = parent[i]
        return i

    for ids in groups.values():
        if len(ids) < 2:
            continue
        spans = sorted((_bounds(arrays[i]) + (i,)) for i in ids)
        open_: list[tuple[int, int]] = []
        for lo, hi, i in spans:
            open_ = [(h, j) for h, j in open_ if h > lo]
            for _, j in open_:
                try:
                    shared = np.shares_memory(arrays[i], arrays[j], max_work=10_000)  # type: ignore[arg-type]  # stubs allow only -1/0; numpy documents any bound
                except np.exceptions.TooHardError:
                    shared = True
                if shared and _pair_severity(reach.first[i], reach.first[j]) is not None:
                    parent[find(i)] = find(j)
            open_.append((hi, i))
    comps: dict[int, list[int]] = {}
    for i in parent:
        comps.setdefault(find(i), []).append(i)
    for r in list(comps):
        if r not in comps[r]:
            comps[r].append(r)
    out = []
    for ids in comps.values():
        ids = sorted(ids, key=lambda i: (path_role(reach.first[i]) != "buffer", reach.first[i]))
        paths = [reach.first[i] for i in ids]
        found = aliased_buffers(_shared_memory(
            kind="overlap", paths=tuple(paths), roles=tuple((p, path_role(p)) for p in paths), object_type="ndarray",
            details={"ids": [hex(i) for i in ids], "shapes": [list(arrays[i].shape) for i in ids]}))
        if found is not None:
            out.append(found)
    return out


# -- second names of live objects, by identity ----------------------------------------------
@dataclass(frozen=True)
class SecondName:
    """One object a network keeps (a gradient buffer, or the list or dict holding them) reached under a second name."""

    path: str
    """The object as the network names it (``grad_w[0]``, ``self.weight_updates``)."""
    other: str
    """The second name, as its scope names it (``zero_w[0]``, ``self.weight_templates``, ``noWeightChange``)."""
    scope: str
    """Where both names live: ``module globals``, ``the locals of train()``, the network's own name."""
    object_type: str
    """``ndarray``, ``list``, ``dict``."""


def second_names(scope: Any, targets: Mapping[int, str], *, prefix: str = "", skip: Collection[str] = (),
                 copies: Collection[str] = (), max_depth: int = 3, max_items: int = 64) -> dict[int, list[str]]:
    """The paths from ``scope`` that reach each target object, for the targets reached by two paths or more.

    A breadth-first walk through dicts, lists, tuples and objects' own attributes (never through an array, a
    module, a function or a class, and never by running the program's ``__getattr__``); each object is entered
    once, and every further edge into a target is kept: an object reached under two names of one scope is one
    object with two names, whatever the names say.

    Args:
        scope: a mapping of names (a module's globals, a function's locals) or an object (paths start with
            ``prefix``).
        targets: ``id(object) -> name`` of the objects asked about (the objects must be alive: ids are compared).
        prefix: the name of an object scope (``net``, ``self``).
        skip: top-level names of a mapping left out (loop variables and per-step temporaries).
        copies: top-level names bound to a shallow copy of another container (``grads = dict(zero_grads)``): a
            target reached through one of them is reported though it is reached once (the other name may live in
            another scope: a function's local copy of a module's dict).
        max_depth: levels followed below the scope.
        max_items: items looked at per list or dict (a data set kept as a list is sampled, not walked).

    Returns:
        ``id -> [path, path, ...]`` (first found first) for every target reached at least twice.
    """
    found: dict[int, list[str]] = {}
    seen: set[int] = {id(scope)}
    if issubclass(type(scope), Mapping):
        top = [(str(k), v) for k, v in list(scope.items())
               if issubclass(type(k), str) and not k.startswith("__") and k not in skip]
    else:
        top = [(f"{prefix}.{k}" if prefix else k, v) for k, v in _attributes(scope)]
    frontier = top
    for _ in range(max_depth + 1):
        nxt: list[tuple[str, Any]] = []
        for path, obj in frontier:
            oid = id(obj)
            if oid in targets:
                found.setdefault(oid, []).append(path)
            if oid in seen or _leaf(obj):
                continue
            seen.add(oid)
            nxt.extend(_named_children(path, obj, max_items))
        frontier = nxt
    return {oid: paths for oid, paths in found.items()
            if len(paths) > 1 or copies and any(re.split(r"[.\[]", p, maxsplit=1)[0] in copies for p in paths)}


def _leaf(obj: Any) -> bool:
    return issubclass(type(obj), (np.ndarray, np.random.Generator, np.random.RandomState, *ATOMS, *OPAQUE, set, frozenset))


def _attributes(obj: Any) -> list[tuple[str, Any]]:
    """An object's own attributes, read from its ``__dict__`` without running the program's attribute hooks."""
    try:
        d = object.__getattribute__(obj, "__dict__")
    except (AttributeError, TypeError):
        return []
    return [(k, v) for k, v in list(d.items()) if issubclass(type(k), str) and not k.startswith("__")] if isinstance(d, dict) else []


def _named_children(path: str, obj: Any, max_items: int) -> list[tuple[str, Any]]:
    if issubclass(type(obj), (list, tuple)):
        if len(obj) > 8 and issubclass(type(obj[0]), ATOMS) and issubclass(type(obj[-1]), ATOMS):
            return []  # a row of numbers (a data set kept as lists): nothing a buffer could be
        return [(f"{path}[{i}]", v) for i, v in enumerate(obj[:max_items])]
    if issubclass(type(obj), dict):
        return [(f"{path}[{k!r}]", v) for k, v in list(obj.items())[:max_items]]
    return [(f"{path}.{k}", v) for k, v in _attributes(obj)]
