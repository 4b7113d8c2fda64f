"""Shared buffers: one object reached under two names, or arrays sharing memory.

A hand-written network keeps its weights, gradient buffers and "zero"
templates in attributes. When two of those names are bound to one object
(``self.weight_updates = self.weight_templates``), or one array sits in a list
several times (``[np.zeros(n)] * L``), or a gradient buffer is a view of the
weights (``grad = W[:]``), a write through one name silently changes the
other. :func:`find_aliasing` walks the attributes of a model and reports such
groups; :class:`Reach` (the walk) and :class:`StateSnapshot` (bit-for-bit
save/restore of everything reachable) are shared with the training probe and
the adapter.

Sharing by construction is not reported: a ``params`` dict holding the very
arrays that ``self.W1`` names, read-only data, immutable tuples.
"""

from __future__ import annotations

import functools
import io
import re
import types
from typing import Any

import numpy as np

from .findings import Finding, Severity

__all__ = ["find_aliasing", "Reach", "StateSnapshot", "path_role"]

_ATOMS = (str, bytes, int, float, complex, bool, type(None), np.generic, range, slice, np.dtype)
_OPAQUE = (
    types.ModuleType, type, types.FunctionType, types.BuiltinFunctionType, types.MethodType,
    functools.partial, io.IOBase, types.GeneratorType, types.CodeType, types.FrameType,
)
MAX_ITEMS = 256
"""Items looked at per list/dict: datasets kept as lists of samples are sampled, not walked whole."""

# Name tokens that mark gradient/update buffers and templates, parameters, constants.
_BUFFER = re.compile(r"grad|nabla|update|delta|accum|buffer|veloc|momentum|templat|zero|sums?$|^sum", re.I)
_DNAME = re.compile(r"^d(?:[A-Z]|_|[wb]\d*$|[wb]_)")
_PARAM = re.compile(r"^(weights?|biases?|params?|parameters|kernels?|[Ww]\d*|[bB]\d*|layers?|coefs?_?|intercepts?_?)$")
_TOKEN = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")


def path_role(path: str) -> str:
    """``"buffer"``, ``"param"`` or ``"other"`` for an attribute path like ``grads['W1']``.

    A buffer name anywhere in the path wins (``optimizer.velocity['W1']`` is a
    buffer); otherwise any parameter-like name makes it a parameter.
    """
    tokens = _TOKEN.findall(path)
    if any(_BUFFER.search(t) or _DNAME.match(t) for t in tokens):
        return "buffer"
    if any(_PARAM.match(t) for t in tokens):
        return "param"
    return "other"


def _is_template(path: str) -> bool:
    return bool(re.search(r"templat|zero", path, re.I))


class Reach:
    """Every object reachable from ``root`` through attributes, lists, tuples and dicts.

    Each object is expanded once (at its first, shortest-depth-first path);
    every further encounter is kept as an extra edge, which is how shared
    objects show up.

    Attributes:
        nodes: id -> object (references are held, so ids stay unique).
        first: id -> the path of the first encounter (``""`` for the root).
        edges: id -> list of ``(parent_id, label)`` for every encounter.
        truncated: True when a long container was sampled or depth ran out.
    """

    def __init__(self, root: Any, *, max_depth: int = 6, max_items: int = MAX_ITEMS) -> None:
        self.root_id = id(root)
        self.nodes: dict[int, Any] = {id(root): root}
        self.first: dict[int, str] = {id(root): ""}
        self.edges: dict[int, list[tuple[int, str]]] = {id(root): []}
        self.truncated = False
        frontier = [(root, 0)]
        while frontier:  # breadth first: the first path is a shortest one
            nxt = []
            for obj, depth in frontier:
                if depth >= max_depth:
                    self.truncated = self.truncated or bool(list(_children(obj, 1)))
                    continue
                for label, child in _children(obj, max_items):
                    if label is None:
                        self.truncated = True
                        continue
                    cid = id(child)
                    self.edges.setdefault(cid, []).append((id(obj), label))
                    if cid not in self.nodes:
                        self.nodes[cid] = child
                        self.first[cid] = _join(self.first[id(obj)], label)
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
            if isinstance(o, np.ndarray) and o.dtype != object and o.size > 0
        }


def _join(parent: str, label: str) -> str:
    if label.startswith("["):
        return parent + label
    return f"{parent}.{label}" if parent else label


def _children(obj: Any, max_items: int):
    """``(label, child)`` pairs of an object's non-atomic contents; ``(None, None)`` marks truncation."""
    if isinstance(obj, (np.ndarray, *_ATOMS, *_OPAQUE)) or isinstance(obj, (set, frozenset)):
        return
    if isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            if i >= max_items:
                yield None, None
                return
            if not isinstance(v, _ATOMS):
                yield f"[{i}]", v
        return
    if isinstance(obj, dict):
        for i, (k, v) in enumerate(obj.items()):
            if i >= max_items:
                yield None, None
                return
            if not isinstance(v, _ATOMS):
                yield f"[{k!r}]", v
        return
    d = getattr(obj, "__dict__", None)
    if isinstance(d, dict):
        for k, v in d.items():
            if not k.startswith("__") and not isinstance(v, _ATOMS):
                yield k, v
    for cls in type(obj).__mro__:
        for k in cls.__dict__.get("__slots__", ()) if isinstance(cls.__dict__.get("__slots__", ()), (tuple, list)) else ():
            if k in ("__dict__", "__weakref__") or not hasattr(obj, k):
                continue
            v = getattr(obj, k)
            if not isinstance(v, _ATOMS):
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
            elif not isinstance(obj, (tuple, *_OPAQUE)):
                d = getattr(obj, "__dict__", None)
                if isinstance(d, dict):
                    self._items.append(("obj", obj, dict(d)))
                slots = {k: getattr(obj, k) for c in type(obj).__mro__
                         for k in (c.__dict__.get("__slots__", ()) if isinstance(c.__dict__.get("__slots__", ()), (tuple, list)) else ())
                         if k not in ("__dict__", "__weakref__") and hasattr(obj, k)}
                if slots:
                    self._items.append(("slots", obj, slots))

    def restore(self) -> None:
        """Put every saved binding and array content back."""
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


# -- the scan ----------------------------------------------------------------
def find_aliasing(obj: Any, *, max_depth: int = 6) -> list[Finding]:
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

    Returns:
        findings, possibly empty; ``where`` lists the attribute paths.
    """
    root = getattr(obj, "__netdoctor_wrapped__", None)
    root = obj if root is None else root
    reach = Reach(root, max_depth=max_depth)
    findings: list[Finding] = []
    for oid, edges in reach.edges.items():
        target = reach.nodes[oid]
        if oid == reach.root_id or len(edges) < 2 or not _mutable(target):
            continue
        by_parent: dict[int, list[str]] = {}
        for parent, label in edges:
            by_parent.setdefault(parent, []).append(label)
        for parent, labels in by_parent.items():
            if len(labels) > 1 and isinstance(reach.nodes[parent], (list, tuple)):
                findings.append(_repeated(reach, parent, labels, target))
        if isinstance(target, (list, dict, np.ndarray)):
            # one path per list: repeats inside one list are reported above
            paths = list(dict.fromkeys(
                reach.path(p, l) for p, ls in by_parent.items()
                for l in (ls[:1] if isinstance(reach.nodes[p], (list, tuple)) else ls)))
            if len(paths) > 1:
                f = _same_object(paths, target)
                if f is not None:
                    findings.append(f)
    findings.extend(_overlapping(reach))
    return findings


def _mutable(o: Any) -> bool:
    if isinstance(o, np.ndarray):
        return o.flags.writeable and o.size > 0
    return not isinstance(o, (tuple, *_OPAQUE))


def _describe(o: Any) -> dict[str, Any]:
    # No id(): evidence must be identical across runs with the same seed.
    d: dict[str, Any] = {"type": type(o).__name__}
    if isinstance(o, np.ndarray):
        d["shape"] = list(o.shape)
    elif isinstance(o, (list, tuple, dict)):
        d["length"] = len(o)
        vals = o.values() if isinstance(o, dict) else o
        d["shapes"] = [list(v.shape) if isinstance(v, np.ndarray) else type(v).__name__ for v in list(vals)[:8]]
    return d


def _fresh(path: str, o: Any) -> str:
    name = path.split("[")[0]
    if isinstance(o, list):
        src = "biases" if "bias" in name.lower() else "weights"
        return f"`self.{name} = [np.zeros_like(w) for w in self.{src}]`"
    if isinstance(o, dict):
        return f"`self.{name} = {{k: np.zeros_like(v) for k, v in self.params.items()}}`"
    return f"`self.{path} = <source>.copy()` (or `np.zeros_like(...)`)"


def _same_object(paths: list[str], o: Any) -> Finding | None:
    roles = {p: path_role(p) for p in paths}
    buffers = [p for p in paths if roles[p] == "buffer"]
    params = [p for p in paths if roles[p] == "param"]
    if not buffers:
        return None  # params dict vs self.W1, data references: sharing by construction
    kind = type(o).__name__
    names = " and ".join(f"`{p}`" for p in paths)
    evidence = {"paths": paths, "roles": roles, **_describe(o)}
    if params:
        b, p = buffers[0], params[0]
        return Finding(
            "aliased-buffers", Severity.ERROR, " = ".join(paths),
            f"the buffer `{b}` is the parameter `{p}` itself (one {kind}).",
            evidence,
            fix=f"give the buffer its own memory: {_fresh(b, o)}.",
            explanation=(
                f"Writing a gradient or update into `{b}` overwrites the weights in `{p}`, and every "
                f"weight update changes the stored gradient: the step applied is not the gradient of the loss."
            ),
        )
    if len(buffers) >= 2 and not any(_is_template(p) for p in buffers):
        a, b = buffers[:2]
        return Finding(
            "aliased-buffers", Severity.ERROR, " = ".join(paths),
            f"{names} are one {kind} object: whatever is written into one lands in the other.",
            evidence,
            fix=f"give each its own arrays: {_fresh(b, o)}.",
            explanation=(
                f"`{a}` and `{b}` name the same {kind}: gradients or updates meant for "
                f"one are added into the other, so both hold the mixed sum and every update applies it."
            ),
        )
    if len(buffers) >= 2:
        tpl = next(p for p in buffers if _is_template(p))
        upd = next(p for p in buffers if p != tpl)
        return Finding(
            "aliased-buffers", Severity.ERROR, " = ".join(paths),
            f"{names} are one {kind} object: resetting `{upd}` by assignment gives no fresh zeros.",
            evidence,
            fix=f"create fresh buffers at every reset: {_fresh(upd, o)}, or copy the template "
                f"(`[t.copy() for t in self.{tpl.split('[')[0]}]`).",
            explanation=(
                f"`{upd}` and `{tpl}` name the same {kind}. Accumulating into "
                f"`{upd}` in place writes into `{tpl}` too, and resetting by assignment "
                f"(`self.{upd} = self.{tpl}`) re-binds `{upd}` to that same {kind}, which then "
                f"holds the sums of all earlier batches: every update re-applies every earlier "
                f"gradient, the weights grow each step until the units saturate and learning stops."
            ),
        )
    return Finding(
        "aliased-buffers", Severity.WARNING, " = ".join(paths),
        f"{names} are one {kind} object; if `{buffers[0]}` is written in place, the other name sees it.",
        evidence,
        fix=f"if they are meant to be separate, give `{buffers[0]}` its own copy: {_fresh(buffers[0], o)}.",
        explanation="A gradient or update buffer shares its object with another attribute; in-place "
                    "writes through one name change what the other name holds.",
    )


def _repeated(reach: Reach, parent: int, labels: list[str], o: Any) -> Finding:
    container = reach.first[parent] or "<root>"
    paths = [reach.path(parent, l) for l in labels]
    role = path_role(container)
    sev = Severity.ERROR if role in ("buffer", "param") else Severity.WARNING
    n = len(reach.nodes[parent])
    return Finding(
        "aliased-buffers", sev, " = ".join(paths),
        f"`{container}` holds the same {type(o).__name__} {len(labels)} times ({', '.join(labels)}).",
        {"paths": paths, "container": container, "container_length": n, **_describe(o)},
        fix=f"build one object per entry: `[np.zeros(n) for _ in range({n})]` instead of `[np.zeros(n)] * {n}`.",
        explanation=(
            f"`[x] * {n}` repeats one object, it does not copy it: a write into `{paths[0]}` "
            f"changes {', '.join(f'`{p}`' for p in paths[1:])} as well, so every layer reads "
            f"and writes one shared buffer."
        ),
    )


def _root_base(a: np.ndarray) -> Any:
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a.base if a.base is not None else a


def _bounds(a: np.ndarray) -> tuple[int, int]:
    try:
        from numpy.lib.array_utils import byte_bounds
    except ImportError:  # numpy < 2
        byte_bounds = np.byte_bounds
    return byte_bounds(a)


def _pair_severity(a: str, b: str) -> Severity | None:
    """How bad two overlapping arrays are, by role: a buffer on a parameter or buffer is an error."""
    roles = sorted((path_role(a), path_role(b)))
    if roles in (["buffer", "param"], ["buffer", "buffer"]):
        return Severity.ERROR
    if roles in (["buffer", "other"], ["param", "param"]):
        return Severity.WARNING
    return None  # data views, a flat vector behind its parameter views: sharing by construction


def _overlapping(reach: Reach) -> list[Finding]:
    """Distinct arrays whose bytes overlap, grouped; a sweep over byte bounds per base."""
    groups: dict[int, list[int]] = {}
    arrays = {i: a for i, a in reach.arrays().items() if a.flags.writeable}
    for i, a in arrays.items():
        groups.setdefault(id(_root_base(a)), []).append(i)
    parent = {}

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
                    shared = np.shares_memory(arrays[i], arrays[j], max_work=10_000)
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
        roles = {p: path_role(p) for p in paths}
        sevs = {_pair_severity(a, b) for a in paths for b in paths if a < b} - {None}
        sev = Severity.ERROR if Severity.ERROR in sevs else Severity.WARNING
        buf = next((p for p in paths if roles[p] == "buffer"), paths[0])
        other = [p for p in paths if p != buf]
        out.append(Finding(
            "aliased-buffers", sev, " ~ ".join(paths),
            f"`{buf}` shares memory with {', '.join(f'`{p}`' for p in other)} (a view or slice, not a copy).",
            {"paths": paths, "roles": roles, "ids": [hex(i) for i in ids],
             "shapes": [list(arrays[i].shape) for i in ids]},
            fix=f"copy instead of slicing: `{buf.split('[')[0]} = <array>.copy()` (or `np.zeros_like(<array>)`); "
                "`a[:]` and reshape give views.",
            explanation=(
                f"`{buf}` is a view into the same bytes as {', '.join(f'`{p}`' for p in other)}: writing a gradient "
                "or update into one overwrites the other, so parameters or stored gradients change behind the code's back."
            ),
        ))
    return out
