"""Finding the network of a NumPy program from what the program does with its arrays (the events' side).

The NumPy observer (:mod:`netdoctor.observe.numpy.backend`) hands every
call, return and loop-head tick of the user's code to :class:`Discovery`
until it returns a :class:`Network`.

*Where the arrays live.* Roots are taken from the frames that run: the
``self`` of the user's classes, the module globals of the user's modules (and
the class attributes of the classes those modules define: ``Net.W1 -= ...``), the
containers (dicts, lists, tuples, objects of the user's classes) a function is
given or reaches through its closure cells (the cell itself once the program
binds a new container to it: ``nonlocal params; params = [...]``), and the
arrays bound directly to the local names of a long-running function (a
``main()`` or ``train()`` whose loop the tracer follows), or in a tuple or
list of arrays bound to one (``params = step(params, grads, lr)``). Loop variables and
per-step temporaries (names bound only inside a loop) are never roots.

*What each array is, from behaviour.* At each event the float arrays of the
roots are fingerprinted (identity and five sampled entries) and each change
is attributed to the function running. The full walk of a root's containers
(which arrays exist, and under which path) is redone during the root's first
scans, whenever one of its containers gains an item (the first forward writing
``params['A1']``) and otherwise at a bounded rate; in between only the known
paths are looked at, so one event costs a few microseconds per array however
large the program's other data is. Then:

* a *step* is a change proportional to another array the step could read
  (``p -= lr * g``: the gradient, a buffer, a velocity; in the roots, in the
  running function's locals, or returned last), and not to the array's own
  old values (``W *= 30``, a reset); adding a temporary as it is
  (``g += dW``) is accumulating, not a step; nor is the change of a row of a
  data set (a path through a list longer than the walk reads, rebound by a
  shuffle). All arrays of one shape are sampled at the same entries, so that a
  step and what it read compare entry by entry;
* a *cache* is rewritten by the forward pass: a non-decreasing function of
  ``W·a + b`` (elementwise, or sample by sample like a softmax) for a weight
  ``W`` the program keeps and ``a`` the input (or an earlier cache), or the
  input itself stored again (a copy or a reshape of it too); never a
  parameter, and its rewrites (an evaluation pass included) are no updates;
* a *parameter* persists and is moved by steps of the update rule, whatever
  its name; without steps to go by: least often of the arrays that change, by
  the function whose writes change it least relative to its size; a vector as
  wide as a layer, moved in place as often as the layers (by whatever
  function) and read by no step, is that layer's bias; an all-zero array that
  never moves beside moving parameters of its shape is a template;
* a *buffer* is what the update reads (an array another array's steps are
  proportional to) or what is reset to zero after it, whatever its name; else
  written more often than the parameters (accumulated into), or where
  gradients are computed;
* *frozen* parameters never move, while the program keeps computing arrays
  of their shapes (gradients returned, accumulated into buffers, or held in
  the locals of the function that computes them) for them.

Names only break ties (a parameter dict named ``grads`` is a buffer when
both readings fit the behaviour): ``grads['b1']`` beside ``params['b1']`` is
a buffer because the step of ``params['b1']`` reads it, not because of its
name.
"""

from __future__ import annotations

import gc
import math
import sys
from collections.abc import Iterator
from types import CodeType, FrameType, FunctionType
from typing import Any

import numpy as np

from netdoctor.buffers.peek import is_array
from netdoctor.observe.numpy.arrays import (
    Cell,
    FrameLocals,
    Path,
    array_role,
    changed_roots,
    entries,
    fingerprint,
    in_data_set,
    own_dict,
    path_text,
    resolve,
    sample_index,
    scan_signature,
    walk_arrays,
    weak,
)
from netdoctor.observe.numpy.classify import Classifier, mark_caches
from netdoctor.observe.numpy.network import ARG_SHAPES, CACHE_TRIES, FuncStats, Network, PathStats, Root, param_like
from netdoctor.observe.numpy.roles import LABEL_VALUES, flat_arrays, label_vector
from netdoctor.observe.numpy.steps import Steps, moved_like_a_parameter
from netdoctor.observe.options import ObserveOptions
from netdoctor.observe.source import function_loop_names, loop_names
from netdoctor.observe.tracer import CallTracer, caller_of
from netdoctor.rules.policy import working_scale

__all__ = ["Discovery", "FROZEN_CALLS", "count_gradients", "step_values", "weights_moved"]

DISCOVERY_UPDATES = 2
"""Parameter updates seen before the network is taken as found."""
FROZEN_CALLS = 150
"""Gradient computations without any parameter change after which discovery takes the parameters as frozen
(a per-sample program with mini-batches of up to 100 or more has applied its first update well before; a run too
short for this is judged when it ends, :meth:`Discovery.at_end`)."""
DISCOVERY_EVENTS = 20_000
"""Events scanned in full before discovery scans only every 16th event."""
WALK_EVERY = 32
"""Scans between two full walks of a root's containers (the first :data:`WALK_FIRST` scans all walk)."""
WALK_FIRST = 64
ZERO_START_EVENTS = 2_000
"""Events (after the first change of a parameter-like array) after which parameters that all started at zero (logistic regression) are taken as they are."""
FINGERPRINT = 16
"""Entries of an array's fingerprint drawn from the observer's generator (the draws every later sample follows)."""
FINGERPRINT_MORE = 64
"""Entries added to a fingerprint from a generator of its own (:func:`fingerprint_index`), so the observer's other
samples are drawn as before. A gradient of one sample lights only the columns of the features it has: a first layer's
change after a few per-sample updates on sparse inputs (5 of 240 features a sample; a digit lights a fifth of its
pixels) covers a tenth of its entries or less, and 16 entries missed every change of it at about one scan in six,
leaving the layer out of the network (npx1953); 80 miss it at 0.9^80 = 0.02%."""
MAX_HOLDERS = 64
"""Containers of a root looked at for a new item at every scan (see :meth:`Discovery._arrays_of`)."""
MAX_ROOTS = 64
"""Roots kept at most (containers handed around are roots; a program passing new lists every step makes many)."""
SELF_ROOTS_PER_CLASS = 16
"""Objects of one class taken as roots for running a method (``self``) at most: a class with more of them is one
whose objects are made during every step (an autograd tape's tensors, one per operation), each a root would hold its
step's arrays and fill :data:`MAX_ROOTS`; its long-lived objects are reached from the roots that hold them."""


def fingerprint_index(size: int, rng: np.random.Generator, more: np.random.Generator) -> np.ndarray:
    """The sorted flat places an array's fingerprint reads: :data:`FINGERPRINT` of them drawn from ``rng`` (as every
    fingerprint was before, so what ``rng`` draws after is unchanged) and :data:`FINGERPRINT_MORE` from ``more``."""
    first = sample_index(size, FINGERPRINT, rng)
    if size <= FINGERPRINT:
        return first
    both = np.sort(np.concatenate((first, sample_index(size, FINGERPRINT_MORE, more))))
    return both[np.concatenate(([True], both[1:] != both[:-1]))]  # (np.union1d would import numpy.ma into the run)


def step_values(st: PathStats, a: np.ndarray, idx: np.ndarray, code: CodeType | None) -> np.ndarray:
    """The sampled values of a changed array now; the size of its first changes relative to the array's is kept."""
    now_values = entries(a, idx).astype(float)
    if len(st.ratios) < 8 and st.values is not None:
        with np.errstate(all="ignore"):
            n0 = float(np.linalg.norm(st.values))
            step = float(np.linalg.norm(now_values - st.values))
            st.ratios.append((code, step / n0 if n0 > 0 else float("nan")))
            working = max(n0, working_scale(st.shape, fan="larger") * math.sqrt(len(st.values))) if len(st.shape) >= 2 else n0
            st.working_ratios.append((code, step / working if working > 0 else float("nan")))
    return now_values


def gradient_tables(paths: dict[tuple[int | str, Path], PathStats], roots: dict[int | str, Root]) -> tuple[set[tuple[int, ...]], set[int]]:
    """What :func:`count_gradients` compares a function's arrays with: the shapes of the persistent arrays (never
    changed, no cache), and the ids of the roots' own arrays (as their last scans saw them)."""
    persistent = {tuple(st.shape) for st in paths.values() if not st.changes and not st.cache}
    return persistent, {fp[0] for root in roots.values() for fp in root.scan.values()}


def count_gradients(func: FuncStats, frame: FrameType, value: Any, written: list[tuple[PathStats, np.ndarray, bool]],
                    paths: dict[tuple[int | str, Path], PathStats], roots: dict[int | str, Root],
                    tables: tuple[set[tuple[int, ...]], set[int]] | None = None) -> None:
    """Count a return at which ``func`` had computed arrays shaped like at least two persistent arrays, one of
    them a matrix: returned, written into the roots (buffers) or held in its locals (applied inline). ``tables``:
    :func:`gradient_tables` of ``paths`` and ``roots`` as they are now, when the caller kept them."""
    persistent, kept = gradient_tables(paths, roots) if tables is None else tables  # (kept: the roots' own arrays)
    if not persistent or not any(len(s) == 2 for s in persistent):
        return
    computed = flat_arrays(value) + [a for _, a, _ in written]
    if frame.f_code.co_name != "<module>":
        computed += [v for v in list(frame.f_locals.values()) if issubclass(type(v), np.ndarray) and v.dtype.kind == "f"]
    shapes = {tuple(a.shape) for a in computed if id(a) not in kept} & persistent
    # the roots' own arrays it added into in place (``grads['W1'] += x.T @ d1``: buffers, whatever their scan says)
    shapes |= {tuple(a.shape) for st, a, rebound in written if not rebound and not st.cache} & persistent
    if len(shapes) >= 2 and any(len(s) == 2 and min(s) > 1 for s in shapes):
        func.grad_calls += 1
        func.grad_shapes |= shapes
        if frame.f_code.co_name != "<module>":
            count_labels(func, frame)


def count_labels(func: FuncStats, frame: FrameType) -> None:
    """Count the values of the labels ``func`` was handed at a gradient computation: its arguments that read as labels
    (:func:`~netdoctor.observe.numpy.roles.label_vector`), as long as one axis of a float matrix among its locals (the batch's
    inputs ``(B, D)``, its output, the output's delta). No layout is known yet, so which argument the targets are is decided
    when the network is (the network's one-unit output, see ``targets._discovery_labels``)."""
    code = frame.f_code
    loc = frame.f_locals
    args = [(name, loc.get(name)) for name in code.co_varnames[: code.co_argcount]]
    # (``is_array``, by ``type(v)``: ``isinstance`` asks an object of the program's classes for its ``__class__``)
    arrays = [a for a in list(loc.values())[:64] if is_array(a)]
    sizes = {n for a in arrays if a.ndim == 2 and a.dtype.kind == "f" for n in a.shape}
    for name, v in args:
        if not label_vector(v, sizes):
            continue
        counts = np.bincount(v, minlength=LABEL_VALUES)
        func.labels[name] = func.labels[name] + counts if name in func.labels else counts


def weights_moved(stats: list[PathStats]) -> bool:
    """Whether the arrays that changed so far can tell parameters from buffers.

    An array must have changed at two updates (its second step is measured relative to its size: a gradient
    replaced at each step changes by all of it, a parameter by a step). A matrix that started at zero and changes is a
    gradient buffer accumulating (or a zero-initialised layer): while one does, the weights may not have moved yet (a
    per-sample program updates once per mini-batch), so discovery waits until a matrix that did not start at zero has
    changed at two updates (or for :data:`ZERO_START_EVENTS` events: a network whose weights all start at zero).
    """
    def matrix(st: PathStats) -> bool:
        return len(st.shape) == 2 and min(st.shape) > 1 and not st.cache

    if not any(st.changes >= DISCOVERY_UPDATES and param_like(st) for st in stats):
        return False  # no array seen at two updates: no step to compare a replaced gradient with
    if not any(st.changes and param_like(st) and (matrix(st) or not st.started_zero) for st in stats):
        # only vectors that started at zero changed (an output bias and the sum it is stepped by, in a network whose
        # other layers pass no gradient): which of them is summed into and which is stepped shows only at an update
        # (the step reads the sum); wait for one, or for a matrix to move
        return False
    if any(st.undecided and st.changes - st.undecided < DISCOVERY_UPDATES and st.changes <= DISCOVERY_UPDATES
           and not st.cache for st in stats):
        return False  # a change the numbers could not judge (arrays that started at zero): one more update judges it
    accumulating = {tuple(st.shape) for st in stats if st.changes and st.started_zero and matrix(st)}
    # zeros of a shape whose every changing zero matrix a step already read: the buffers of the arrays that read them
    read = accumulating - {tuple(st.shape) for st in stats if st.changes and st.started_zero and matrix(st)
                           and not st.read_by_update}
    # a layer of such a shape that has not moved at two updates yet: it may be the parameter, the zeros its buffer;
    # unless it never moved and its shape's zeros are read by another's steps (a per-step temporary, the batch
    # ``h`` of a layer as wide as the input: its shape's parameter is known)
    return not any(tuple(st.shape) in accumulating and not st.started_zero and matrix(st) and st.changes < DISCOVERY_UPDATES
                   and not (st.changes == 0 and tuple(st.shape) in read) for st in stats)


def _counts(st: PathStats) -> tuple[int, int, int, int, int]:
    """What the changes of ``st`` were judged so far: steps, decays, resets, accumulations, undecided."""
    return st.steps, st.decays, st.resets, st.accumulations, st.undecided


def stepped_via_unexplained(moved: list[tuple[PathStats, np.ndarray, np.ndarray]],
                            before: list[tuple[tuple[int, int, int, int, int], tuple[float, str] | None]],
                            steps: Steps) -> bool:
    """Whether the changes just judged (``moved``; ``before``: each one's :func:`_counts` and ``steps.via`` before)
    hold a step by a multiple of another array that changed too (``p += f * v``) while that array's own change fitted
    nothing (no step, decay, reset, accumulation nor undecided) and it was never seen decaying: a velocity whose
    intake is gone when the change is seen (``for p, v, g in zip(params, vels, (x.T @ d, ...)): v *= mu; v -= lr * g;
    p += v``: at the function's return the gradients computed in zip's arguments exist no more). Seen at its loop's
    heads, that velocity's decay fits with the loop's variable ``g``."""
    changed = {st.text: (st, counts) for (st, _, _), (counts, _) in zip(moved, before)}
    for (st, _, _), (counts, via) in zip(moved, before):
        now = steps.via.get(st.text)
        if now is None or now is via or st.steps == counts[0] or now[1] == st.text:
            continue
        read = changed.get(now[1])
        if read is not None and _counts(read[0]) == read[1] and now[1] not in steps.decays:
            return True
    return False


def _to_judge(moved: list[tuple[PathStats, np.ndarray, np.ndarray]], st: PathStats, a: np.ndarray, now_values: np.ndarray,
              row: bool) -> None:
    """Hand a change to the step judge (:meth:`Steps.judge`), unless it is a row of a data set (``row``, see
    :func:`~netdoctor.observe.numpy.arrays.in_data_set`), shuffled or rewritten: no step, only its values are kept.
    (Judging each row against every other sampled row of its shape cost 0.5 ms a row at every shuffle.)"""
    if row:
        st.values = now_values
    else:
        moved.append((st, a, now_values))


def _held(obj: Any) -> Any:
    """A root's container now (what its closure cell holds, for a :class:`Cell`)."""
    return obj.contents if type(obj) is Cell else obj


def _container_kind(obj: Any) -> str:
    """``dict``, ``seq`` (a list or tuple) or ``obj`` (an object of the program's classes): see
    :meth:`Discovery._name_root`."""
    kind = type(obj)
    return "dict" if issubclass(kind, dict) else "seq" if issubclass(kind, (list, tuple)) else "obj"


def _cell_of(frame: FrameType, name: str) -> Any:
    """The closure cell through which the function running in ``frame`` reads ``name`` (None when not found).

    A frame does not hold its function: the function objects of its code are looked up among the code's referrers
    (once per name: a scan of the objects the collector tracks), the one whose cell holds what the frame sees.
    """
    code = frame.f_code
    if name not in code.co_freevars:
        return None
    i = code.co_freevars.index(name)
    value = frame.f_locals.get(name)
    for f in gc.get_referrers(code):
        if type(f) is FunctionType and f.__code__ is code and f.__closure__ is not None and i < len(f.__closure__):
            cell = f.__closure__[i]
            try:
                if cell.cell_contents is value:
                    return cell
            except ValueError:  # an empty cell
                continue
    return None


def _items(obj: Any) -> int:
    """How many items (a dict, list or tuple) or attributes (an object) the container itself holds; -1 for a
    function's locals (read only by a walk)."""
    obj = _held(obj)
    if issubclass(type(obj), (dict, list, tuple)):
        return len(obj)
    if type(obj) is FrameLocals:
        return -1
    d = own_dict(obj)
    return len(d) if isinstance(d, dict) else -1


def _resized(sizes: list[tuple[Any, int]]) -> bool:
    """Whether a container of a root holds another number of items than at its last walk (:func:`_items`, with a
    plain dict, list or tuple counted inline: discovery asks at every scan of every root)."""
    for c, n in sizes:
        kind = type(c)
        if (len(c) if kind is dict or kind is list or kind is tuple else _items(c)) != n:
            return True
    return False


def root_arrays(root: Root, walk: bool) -> list[tuple[Path, np.ndarray]]:
    """The arrays of a root of :class:`Discovery`: walked in full during its first :data:`WALK_FIRST` scans (a root
    found late, such as a closure's dict first handed over when training starts, is no different from one found at
    the start), when one of its containers gained or lost an item, or at the periodic walk; else the known paths."""
    if walk or root.paths is None or root.walks < WALK_FIRST or _resized(root.sizes):
        walked: list[Any] = []
        found = list(walk_arrays(root.obj, globals_root=root.globals_root, skip=root.skip, containers=walked))
        root.paths = [p for p, _ in found]
        root.walks += 1
        # the containers that hold arrays first (``params`` gaining ``params['A1']``), then the others (an empty
        # ``self.cache = {}`` the first forward fills)
        holders = {id(root.obj): root.obj}
        for c in [resolve(root.obj, p[:-1]) for p, _ in found[:MAX_HOLDERS]] + walked:
            if len(holders) >= MAX_HOLDERS:
                break
            holders.setdefault(id(c), c)
        root.sizes = [(c, n) for c, n in ((c, _items(c)) for c in holders.values()) if n >= 0]
        return found
    out = []
    for p in root.paths:
        a = resolve(root.obj, p)
        if issubclass(type(a), np.ndarray) and a.dtype.kind == "f" and a.size:
            out.append((p, a))
    return out


_SPECIAL = (Cell, FrameLocals)
"""The roots' objects :data:`~netdoctor.observe.numpy.arrays.changed_roots` leaves to :func:`_items` (a cell's
container) or reads from their frame (a function's locals)."""


def _unchanged(root: Root, walk: bool) -> bool:
    """Whether every array of ``root`` is the object, with the sampled entries, that its last scan saw, read at once in
    C (:data:`~netdoctor.observe.numpy.arrays.scan_signature`, ~0.1 us an array against ~0.4 us in Python): then
    :meth:`Discovery._scan`'s loop would find each fingerprint equal to the last and change nothing. Only where
    :func:`root_arrays` would read the known paths (no walk due, no container resized) and C can read every one of
    them (exact dicts, lists and tuples, instance attributes, a function's plain local variables; float arrays whose
    sampled positions are in range); anything else is scanned in Python."""
    signed = root.signed
    if (signed is None or root.signature is None or walk or signed[0] is not root.paths or root.walks < WALK_FIRST
            or _resized(root.sizes) or scan_signature is None):
        return False
    return scan_signature(_c_root(root.obj), signed[1], signed[2]) == root.signature


def _walked_unchanged(root: Root, before: list[Path] | None) -> bool:
    """After a walk of ``root`` (:func:`root_arrays` bound a new list of paths): whether it found the paths of the last
    scan (``before``), each still the object with the sampled entries that scan saw, read at once in C as
    :func:`_unchanged` reads them. Then :meth:`Discovery._scan`'s loop would find every fingerprint equal to the last
    and change nothing, and :func:`_scanned` would keep the same signature: only the new list is kept. Discovery walks
    every root at each of its first :data:`WALK_FIRST` scans; a data set kept as a list of samples is 128 arrays a
    walk (mini-batches of 10: 19,000 fingerprints read in Python before the network was found, 0.1 s)."""
    signed = root.signed
    if (scan_signature is None or signed is None or root.signature is None or before is None
            or signed[0] is not before or root.paths is before or root.paths != before):
        return False
    if scan_signature(_c_root(root.obj), signed[1], signed[2]) != root.signature:
        return False
    root.signed = (root.paths, signed[1], signed[2])  # (the steps and positions of the same paths)
    return True


def _c_root(obj: Any) -> Any:
    """Where :data:`~netdoctor.observe.numpy.arrays.scan_signature` starts reading a root: the frame of a function's
    locals (its paths start with a step of kind 2, a local variable read by name from the frame), else the root."""
    return obj.frame if type(obj) is FrameLocals else obj


def _scanned(root: Root, now: dict[Path, tuple[int, bytes]]) -> None:
    """``root``'s Python scan saw ``now`` (its fingerprints by path): kept, with the signature :func:`_unchanged`
    compares with (None where C cannot read the root)."""
    root.scan = now
    root.signature = None
    if scan_signature is None or root.paths is None or any(p not in root.idx for p in root.paths):
        root.signed = None
        return
    if root.signed is None or root.signed[0] is not root.paths:  # (paths change at walks only)
        first = 2 if type(root.obj) is FrameLocals else 0  # (a function's local, read from its frame)
        steps = [tuple((1 if kind == "attr" else first if i == 0 else 0, key) for i, (kind, key) in enumerate(p))
                 for p in root.paths]
        root.signed = (root.paths, steps, [])
    root.signed[2][:] = [root.idx[p] for p in root.paths]  # (a path's positions are drawn again when it shrinks)
    root.signature = scan_signature(_c_root(root.obj), root.signed[1], root.signed[2])


SETTLED_CHANGES = 24
"""Changes of every changed array after which one rate of change is taken as the updates' when the matrices moved like
weights (see :func:`persistent_steps`), instead of after 300."""
SMALL_STEP = 0.5
"""The largest change of a weight matrix, relative to its norm, that :func:`persistent_steps` takes for a step (a tanh
net at lr 0.5: 0.33 at its first step, then 0.07-0.25; a buffer overwritten with the next sample's gradient moves by
about its own norm, ``sqrt(2)`` of it for independent gradients)."""


def persistent_steps(changed: list[PathStats]) -> bool:
    """Whether the changed matrices are layers (two of them at least, one's output width the other's input width) and
    all moved like weights stepped inline: changed in place at every change, never zero at first, each of their first
    changes under :data:`SMALL_STEP` of the matrix's norm. A buffer summing per-sample gradients starts at zero (or is
    emptied) and its first sums move it by all it holds; one rebuilt at every step is rebound; neither is taken for
    weights by this (they wait for the two rates to show). Nor is a lone table written in place before any weight has
    moved (a code table whose rows a target builder scales, ``t = EYE[y]; t *= 0.9``, at every sample)."""
    matrices = [st for st in changed if len(st.shape) == 2 and min(st.shape) > 1]
    chained = any(a is not b and a.shape[1] == b.shape[0] for a in matrices for b in matrices)
    return chained and all(
        st.inplace == st.changes and not st.started_zero and len(st.ratios) >= 4
        and all(math.isfinite(r) and r < SMALL_STEP for _, r in st.ratios) for st in matrices)


def unnamed_ready(stats: list[PathStats]) -> bool:
    """Without parameter names: parameters change least often (buffers change at every contribution)."""
    if any(array_role(st.text) == "param" for st in stats):
        return False  # named parameters: wait for them to change
    changed = [st for st in stats if st.changes and param_like(st)]
    if not changed:
        return False
    counts = [st.changes for st in changed]
    lo, hi = min(counts), max(counts)
    # two rates (parameters, buffers), or one rate for long enough (one function does everything): 300 changes, or
    # SETTLED_CHANGES when the matrices moved by small steps in place (weights stepped inline: ``self.W -= lr * dW``
    # in the method that computes dW, under names that say nothing; waiting longer read no target of those updates)
    return lo >= 3 and (hi >= 3 * lo or lo >= 300 or lo >= SETTLED_CHANGES and persistent_steps(changed))


class Discovery:
    """Roots, array paths and functions seen while looking for the network (see the module docstring).

    Long because every event updates the same three tables (roots, path statistics, functions) and the
    classification reads all three at once: split, each part would carry all three. It ends with :meth:`finish`, and
    the observer keeps only the :class:`Network` it returns.
    """

    def __init__(self, options: ObserveOptions, tracer: CallTracer, rng: np.random.Generator) -> None:
        self.options = options
        self.tracer = tracer
        self.rng = rng
        self._more_places = np.random.default_rng(FINGERPRINT_MORE)
        self.events = 0
        self.scans = 0
        self._kind_events: dict[tuple[int, bool], int] = {}
        """Events per kind (see :meth:`_scan`), by code id (a module's code object hashes all it defines: 8-12 us)."""
        self.roots: dict[int | str, Root] = {}
        self.paths: dict[tuple[int | str, Path], PathStats] = {}
        self.functions: dict[CodeType, FuncStats] = {}
        self.param_events = 0
        """Updates seen: runs of scans at which parameter-like arrays changed (see :meth:`_count_param_event`)."""
        self._update_moved: set[int] = set()
        """The arrays (ids of their statistics) moved since the update counted last began."""
        self._done_moved: set[int] = set()
        """The arrays the last whole update moved: discovery ends once the update after it moved them all again."""
        self.explicit_root: Any = None
        self.found: Network | None = None
        self._classes: dict[type, bool] = {}
        self._self_roots: dict[type, set[int]] = {}
        """The objects of each class taken as roots for running a method (see :meth:`_few_of_its_class`)."""
        self._many: set[type] = set()
        """Classes with more such objects than :data:`SELF_ROOTS_PER_CLASS`: their objects are no roots."""
        self._first_param_event = 0
        self.steps = Steps(rng)
        """Tells the steps of an update rule among the arrays' changes (see :mod:`netdoctor.observe.numpy.steps`)."""
        self._frozen = True
        self._frozen_at = -16
        self._no_cell: set[str] = set()
        """Closed-over names whose closure cell was looked for and not found (looked for once)."""
        self._found_nothing = False
        """The last classification (:meth:`finish` without ``force``) found no network, and no root and no array's
        statistics changed since: asked again, it would read the same tables and find nothing again (see
        :meth:`_tables_changed`)."""
        self._version = 0
        """Counts the changes of the tables :func:`gradient_tables` reads (:meth:`_tables_changed`, a root scanned in
        Python, a classification)."""
        self._tables: tuple[int, tuple[set[tuple[int, ...]], set[int]]] | None = None
        """:func:`gradient_tables` as of :attr:`_version` (the forum program: 6,400 gradient counts while discovering,
        a few hundred changes of the tables)."""
        self._steppers: set[int] = set()
        """Functions (code ids) whose return scan saw a step through a velocity whose own change fitted nothing
        (:func:`stepped_via_unexplained`): their later calls are followed at their loop
        heads while discovering, each tick a scan (:meth:`on_tick`), so that a velocity updated in a loop over the
        parameters (``for p, v, g in zip(params, vels, (x.T @ d, ...)): v *= mu; v -= lr * g; p += v``) is seen
        decaying while that iteration's gradient is still the loop's variable (at the function's return the gradients
        computed inline are gone, and the velocity's change is no multiple of anything left)."""
        self._step_frames: dict[int, FrameType] = {}
        """Frames of :attr:`_steppers` followed until they return or the network is found (their ticks only scan)."""

    # -- events ------------------------------------------------------------------------
    def on_call(self, frame: FrameType) -> Network | None:
        self.events += 1
        code = frame.f_code
        func = self.functions.get(code)
        if func is None:
            func = self.functions[code] = FuncStats(code)
        func.calls += 1
        if (id(code) in self._steppers and self.found is None and not self.tracer.long_entry(code)
                and self.tracer.follow(frame)):
            self._step_frames[id(frame)] = frame
        loc = frame.f_locals
        n_args = code.co_argcount + code.co_kwonlyargcount
        func.args = [v for v in (loc.get(n) for n in code.co_varnames[: code.co_argcount]) if issubclass(type(v), (np.ndarray, list))]
        if len(func.kinds) < ARG_SHAPES:
            for v in func.args:
                if type(v) is np.ndarray:
                    func.kinds.setdefault(v.shape, v)
        if self.options.net is not None:
            if not self._explicit(frame):
                return None
        else:
            me = loc.get("self")
            if (me is not None and code.co_argcount and code.co_varnames[0] == "self" and self.user_class(me)
                    and self._few_of_its_class(me)):
                self._add_root(me, "self")
            g = frame.f_globals
            if g.get("__name__") == "__main__" or self.tracer.user_code(code):
                self._add_root(g, "", globals_root=True)
            # containers the function is given or reaches through its closure: parameter dicts, lists of
            # arrays, layer objects (``train(weights, biases)``, ``def forward(x): ... params["W1"]``)
            for name in code.co_varnames[:n_args]:
                v = loc.get(name)
                if name != "self" and self._holds_arrays(v) and self._name_root(name, v):
                    self._caller_root(caller_of(frame), v)
            self._closure_roots(frame)
        self._scan(caller_of(frame), call=True)  # changes made in a comprehension are its function's
        return self.found

    def _few_of_its_class(self, obj: Any) -> bool:
        """Whether ``obj`` may be a root as a method's ``self``: at most :data:`SELF_ROOTS_PER_CLASS` objects of its
        class are. When one more comes, the class makes temporaries: its roots are dropped with what they saw."""
        kind = type(obj)
        if kind in self._many:
            return False
        seen = self._self_roots.setdefault(kind, set())
        if id(obj) in seen or len(seen) < SELF_ROOTS_PER_CLASS:
            seen.add(id(obj))
            return True
        self._many.add(kind)
        gone = {k for k in seen if type(getattr(self.roots.get(k), "obj", None)) is kind}
        for k in gone:
            del self.roots[k]
        for path_key in [pk for pk in self.paths if pk[0] in gone]:
            del self.paths[path_key]
        self._tables_changed()
        return False

    def _closure_roots(self, frame: FrameType) -> None:
        """The containers a function reaches through its closure cells, as roots named like the cells; at its call,
        and again at its return: a function that binds a new container to a cell (``nonlocal params``) has its change
        seen at its own return, attributed to it."""
        if not frame.f_code.co_freevars:
            return
        loc = frame.f_locals
        for name in frame.f_code.co_freevars:
            v = loc.get(name)
            if self._holds_arrays(v):
                self._name_root(name, v, frame)

    def on_return(self, frame: FrameType, value: Any) -> Network | None:
        self.events += 1
        if self.options.net is None and self.found is None:
            self._closure_roots(frame)
        func = self.functions.get(frame.f_code)
        if func is not None and value is not None:
            arrays = flat_arrays(value)
            if arrays:
                self.steps.returned(arrays)
                func.grad_returns += 1
                func.step_returns += self.param_events > 0
                func.shapes = tuple(a.shape for a in arrays)
                func.returned = tuple(weak(a) for a in arrays)
        self._step_frames.pop(id(frame), None)
        written = self._scan(frame, call=False, returning=True)
        if self.found is None and func is not None and self._still_frozen():
            count_gradients(func, frame, value, written, self.paths, self.roots, self._gradient_tables())
            if func.grad_calls >= FROZEN_CALLS:
                self.finish(force=True)  # gradients keep coming, the parameters never move
        return self.found

    def on_tick(self, frame: FrameType) -> Network | None:
        """A followed frame starts a loop iteration: its locals become a root (a ``main()`` training inline)."""
        self.events += 1
        if id(frame) in self._step_frames:  # a loop of the function that steps the parameters: a scan only
            self._scan(frame, call=False)
            return self.found
        if self.options.net is not None:
            if not self._explicit(frame):
                return None
        elif frame.f_code.co_name != "<module>":
            self._locals_root(frame)
        written = self._scan(frame, call=False)
        func = self.functions.get(frame.f_code) if frame.f_code.co_name != "<module>" else None  # (never hash a module's code)
        if self.found is None and func is not None and self._still_frozen():
            # a loop computing gradients inline (``dW1 = x.T @ dh`` in a ``main()``): one computation per iteration
            count_gradients(func, frame, None, written, self.paths, self.roots, self._gradient_tables())
            if func.grad_calls >= FROZEN_CALLS:
                self.finish(force=True)
        return self.found

    def _locals_root(self, frame: FrameType) -> None:
        """The locals of the function running in ``frame`` as a root: one root per function, the latest of its frames
        (a function followed at every call does not add a root per call)."""
        code = frame.f_code
        key = f"{code.co_filename}:{code.co_firstlineno}"
        root = self.roots.get(key)
        if root is None:
            skip = function_loop_names(code.co_filename, code.co_firstlineno)
            self._add_root(FrameLocals(frame), "", skip=skip, key=key)
        elif type(root.obj) is FrameLocals and root.obj.frame is not frame:
            root.obj = FrameLocals(frame)
            self._tables_changed()

    def _caller_root(self, caller: FrameType | None, obj: Any) -> None:
        """A container handed to a function anew at a call (its name's root rebound, see :meth:`_name_root`) that the
        calling function holds in a local variable of its own: that function's locals are a root, from now on.

        ``layers = [(W - lr * dW, b - lr * db) for ...]`` in ``train(layers, ...)``, handed to ``loss_and_grads(layers,
        x, t)`` at every step, is a new list each time, which no root that holds one list can follow; the caller's
        locals hold each new one under its name. A caller is followed at its loop heads only after
        :data:`~netdoctor.observe.tracer.FOLLOW_CALLS` calls (two epochs of 16 steps), when its locals become a root
        anyway (:meth:`on_tick`): the root is the one found then, found at the second step."""
        if caller is None or caller.f_code.co_name == "<module>" or not self.tracer.user_code(caller.f_code):
            return
        if any(v is obj for v in list(caller.f_locals.values())[:128]):
            self._locals_root(caller)

    def at_end(self) -> Network | None:
        """The program ended while discovering: parameters that never moved while gradients were computed for them
        (a run too short for :data:`FROZEN_CALLS`)."""
        if (self.found is None and max((f.grad_calls for f in self.functions.values()), default=0) >= 10
                and self._still_frozen(now=True)):
            self.finish(force=True)
        return self.found

    def _still_frozen(self, now: bool = False) -> bool:
        """Whether no array has moved like a parameter yet: no change at all, or changes only of caches, of what
        the update reads or empties and of containers rebuilt at every step (a gradient accumulated into a buffer and
        reset while the weights never move is a frozen network's training, not its update). Looked at again every 16
        events (or ``now``)."""
        if not self.param_events:
            return True
        if now or self.events - self._frozen_at >= 16:
            self._frozen_at = self.events
            # (not in a container the program builds anew at every step, ``grads = {...}`` handed to the step: its
            # arrays change at every step under a parameter's name, but such a root is never the network)
            self._frozen = not any(moved_like_a_parameter(st) and not self._rebuilt(rid) for (rid, _), st in self.paths.items())
        return self._frozen

    def _rebuilt(self, rid: int | str) -> bool:
        """Whether the name root ``rid`` stands for was bound to a new container (see :attr:`Root.replaced`)."""
        root = self.roots.get(rid)
        return root is not None and root.replaced > 0

    # -- roots -------------------------------------------------------------------------
    def _name_root(self, name: str, obj: Any, frame: FrameType | None = None) -> bool:
        """A container under a name the program's functions receive or close over: one root per name (and kind of
        container), whose object is the latest one seen (a gradient dict built anew at every step is the same root,
        rebound).

        A name a function closes over (``frame`` given) that is bound to a new container is followed through its
        closure cell from then on (``nonlocal params; params = [p - lr * g ...]``): the root is the cell, not one of
        the lists it held, so it can be followed once discovery ends.

        Returns:
            Whether the name's root was bound to a new container (not a closure cell) now.
        """
        # one root per name and kind of container: ``grads`` may name the persistent dict of buffers backward() is
        # handed and the list an optimizer's step(grads) is given anew at every step, ``params`` the parameter
        # dict and the list handed to SGD(params): the list rebuilt at every step must not make the dict a
        # rebound root too (its buffers were never followed)
        key = f"{name}/{_container_kind(obj)}"
        root = self.roots.get(key)
        if root is None:
            self._add_root(obj, name, key=key)
        elif _held(root.obj) is not obj and not any(_held(r.obj) is obj for r in self.roots.values()):
            cell = _cell_of(frame, name) if frame is not None and name not in self._no_cell else None
            self._tables_changed()
            if cell is not None:
                root.obj = Cell(cell)
                return False
            self._no_cell.add(name)
            root.obj = obj
            root.replaced += 1
            return True
        return False

    def _add_root(self, obj: Any, prefix: str, globals_root: bool = False, skip: frozenset[str] = frozenset(),
                  key: int | str | None = None) -> None:
        key = id(obj) if key is None else key
        if key in self.roots or len(self.roots) >= MAX_ROOTS:
            return
        if globals_root and issubclass(type(obj.get("__file__")), str):
            skip = loop_names(obj["__file__"])
        self.roots[key] = Root(obj, prefix, globals_root, skip)
        self._tables_changed()

    def user_class(self, obj: Any) -> bool:
        """An object of a class the program defines (with methods, or an empty ``class Net: pass``)."""
        kind = type(obj)
        known = self._classes.get(kind)
        if known is None:
            known = self._classes[kind] = self._defined_by_user(kind)
        return known

    def _defined_by_user(self, kind: type) -> bool:
        for klass in kind.__mro__[:-1]:
            for v in vars(klass).values():
                # Python functions only: a compiled extension's methods carry relative file names ("numpy/random/...")
                if type(v) is FunctionType and self.tracer.user_code(v.__code__):
                    return True
        module = sys.modules.get(getattr(kind, "__module__", "") or "")
        where = getattr(module, "__file__", None)
        return isinstance(where, str) and self.options.is_user(where)

    def _holds_arrays(self, v: Any) -> bool:
        """A dict, list or tuple with a float array among its first items (or in their items: a list of layers,
        a tuple of dicts), or an object of the user's classes: a place a network can live."""
        if issubclass(type(v), dict):
            items = list(v.values())[:32]
        elif issubclass(type(v), (list, tuple)):
            items = list(v[:32])
        elif v is not None and not issubclass(type(v), (np.ndarray, type)) and hasattr(type(v), "__dict__") and self.user_class(v):
            return True
        else:
            return False
        for x in items:
            kind = type(x)
            if kind is list or kind is tuple:
                # (the same test as below, without building the list: a sample kept as a list of 784 one-value lists,
                # the forum program's, is handed to most of its calls: 37 us a call, now about a third)
                for y in x[:8]:
                    if issubclass(type(y), np.ndarray) and y.dtype.kind == "f":
                        return True
                continue
            if issubclass(kind, np.ndarray) and x.dtype.kind == "f":
                return True
            inner = list(x.values())[:8] if issubclass(type(x), dict) else list(x[:8]) if issubclass(type(x), (list, tuple)) else (
                list(own_dict(x).values())[:16] if own_dict(x) is not None and not issubclass(type(x), type) and self.user_class(x) else [])
            if any(issubclass(type(y), np.ndarray) and y.dtype.kind == "f" for y in inner):
                return True
        return False

    def _explicit(self, frame: FrameType) -> bool:
        """``--net``: the one root, once its name is seen."""
        if self.explicit_root is None:
            found = self.options.net_root(frame)
            if found is None:
                return False
            self.explicit_root, prefix, globals_root = found
            self._add_root(self.explicit_root, prefix, globals_root)
        return True

    # -- scanning ----------------------------------------------------------------------
    def _count_kind(self, frame: FrameType | None, call: bool) -> int:
        """This event's number among the events of its kind (the code it happens in, call or not).

        The periods of :meth:`_scan` are counted per kind, not over all events: a period over all events lands on
        whichever event the program's cycle puts there, and one event more anywhere before (a launcher script's
        frame, an extra call) moves it onto another function.
        """
        kind = (id(frame.f_code) if frame is not None else 0, call)
        n = self._kind_events[kind] = self._kind_events.get(kind, 0) + 1
        return n

    def _sample_places(self, st: PathStats, a: np.ndarray) -> bool:
        """Read ``a`` at the sampled places of its shape when it has none yet or its shape changed (a cache of the
        training batch, then of a test set), and its scale as drawn while nothing has stepped; whether it was read."""
        resampled = a.size >= 2 and (st.values is None or st.idx is not self.steps.index(a.shape))
        if resampled:
            st.idx = self.steps.index(a.shape)
            st.values = entries(a, st.idx).astype(float)
            if st.drawn is None and not self.param_events and not st.changes:  # as drawn: nothing stepped yet
                st.drawn = float(np.sqrt(np.mean(st.values * st.values)))
        elif a.size < 2:  # one entry has no sampled places: the places of its larger shape before are not its own
            st.idx = st.values = None
        return resampled

    def _scan(self, frame: FrameType | None, *, call: bool, returning: bool = False) -> list[tuple[PathStats, np.ndarray, bool]]:
        """Fingerprint every array of every root; attribute changes to the code running in ``frame`` (``returning``:
        at its return, where it may be found to step through a velocity whose change fits nothing, see
        :func:`stepped_via_unexplained`).

        Returns what the running function wrote: ``(stats, array, rebound)`` for each changed or new array.
        """
        n = self._count_kind(frame, call)
        if self.found is not None or (self.events > DISCOVERY_EVENTS and n % 16):
            return []
        self.scans += 1
        walk = self.scans <= WALK_FIRST or self.scans % WALK_EVERY == 0
        code = frame.f_code if frame is not None else None
        written: list[tuple[PathStats, np.ndarray, bool]] = []
        moved: list[tuple[PathStats, np.ndarray, np.ndarray]] = []
        for rid, root, arrays in self._roots_to_scan(walk):
            now: dict[Path, tuple[int, bytes]] = {}
            for path, a in arrays:
                idx = root.idx.get(path)
                if idx is None or idx[-1] >= a.size:
                    idx = root.idx[path] = fingerprint_index(a.size, self.rng, self._more_places)
                fp = now[path] = fingerprint(a, idx)
                old = root.scan.get(path)
                if old == fp:
                    continue  # the same object with the same entries: its statistics were brought up to date when seen
                self._tables_changed()
                st = self.paths.get((rid, path))
                if st is None:
                    st = self.paths[rid, path] = PathStats(a.shape, path_text(path, root.prefix), started_zero=not np.any(entries(a, idx)))
                st.shape = a.shape
                if old is None and not call and root.scan and st.cache_tries < CACHE_TRIES:
                    written.append((st, a, True))  # a new array the returning function left behind: perhaps a cache
                resampled = self._sample_places(st, a)
                st.obj = fp[0]
                if old is not None and old != fp:
                    if old[1] == fp[1]:
                        # re-bound to an equal array: no change in value, but rewritten (the forward rebuilding the
                        # all-zero output of a dead layer is writing a cache)
                        if not call and st.cache_tries < CACHE_TRIES:
                            st.rewrites += 1
                            st.rewritten_in[code] += 1
                            written.append((st, a, True))
                        continue
                    if st.idx is not None and st.values is not None and not resampled:
                        _to_judge(moved, st, a, step_values(st, a, st.idx, code), in_data_set(root.obj, path))
                    st.changes += 1
                    if old[0] == fp[0]:
                        st.inplace += 1
                    else:
                        st.rebound += 1
                    st.where[code] += 1
                    written.append((st, a, old[0] != fp[0]))
            _scanned(root, now)
            self._version += 1  # (the root's fingerprints: gradient_tables reads their ids)
        if written and frame is not None:
            mark_caches(self.roots, self.paths, frame, written)
        self._judged(moved, frame, returning)
        self._count_param_event(written)
        # not in the middle of an update (Adam's helper called per parameter: the last layer's bias and its two moments,
        # each moved once from zero, cannot be told apart before the bias's second step), unless one more began
        whole = self._update_moved >= self._done_moved or self.param_events > DISCOVERY_UPDATES
        if (n % 32 == 0 and unnamed_ready(list(self.paths.values()))) or (self.param_events >= DISCOVERY_UPDATES and whole and (
                self.events - self._first_param_event > ZERO_START_EVENTS or weights_moved(list(self.paths.values())))):
            self.finish()
        return written

    def _judged(self, moved: list[tuple[PathStats, np.ndarray, np.ndarray]], frame: FrameType | None,
                returning: bool) -> None:
        """Judge the changes of one scan (:meth:`Steps.judge`); at a function's return, mark it a stepper when it
        stepped through a velocity whose change fits nothing (:func:`stepped_via_unexplained`)."""
        if not moved:
            return
        before = [(_counts(st), self.steps.via.get(st.text)) for st, _, _ in moved] if returning else None
        self.steps.judge(moved, self.paths.values(), frame)
        code = frame.f_code if frame is not None else None
        if before is not None and code is not None and code.co_name != "<module>" and stepped_via_unexplained(
                moved, before, self.steps):
            self._steppers.add(id(code))

    def _roots_to_scan(self, walk: bool) -> Iterator[tuple[int | str, Root, list[tuple[Path, np.ndarray]]]]:
        """The roots whose arrays may have changed since the last scan, each with its arrays (walked when due): not those
        read unchanged at once in C, between walks (:func:`_unchanged`, asked of every root first, in one call of
        :data:`~netdoctor.observe.numpy.arrays.changed_roots` where it is built) or after a walk
        (:func:`_walked_unchanged`)."""
        if walk or changed_roots is None:
            todo = [(rid, root) for rid, root in self.roots.items() if not _unchanged(root, walk)]
        else:
            # (the forum program: six roots, 14,000 scans before its second update, nearly all of them unchanged)
            items = list(self.roots.items())
            todo = [items[i] for i in changed_roots([root for _, root in items], WALK_FIRST, _SPECIAL, _items)]
        for rid, root in todo:
            before, arrays = root.paths, root_arrays(root, walk)  # (the paths of the last scan, then the walk's)
            if not _walked_unchanged(root, before):
                yield rid, root, arrays

    def _count_param_event(self, written: list[tuple[PathStats, Any, bool]]) -> None:
        """Count an update when arrays moved like parameters. One update moves the layers one by one when the updater
        loops over them (``for l in range(L): parameters['W' + str(l + 1)] = ...``): its loop's ticks are one update,
        and another begins only when an array already moved in this one moves again."""
        stepped = {id(st) for st, _, _ in written if moved_like_a_parameter(st)}
        if not stepped:
            return
        if not self._update_moved or stepped & self._update_moved:
            self.param_events += 1
            self._done_moved, self._update_moved = self._update_moved, set()
        self._update_moved |= stepped
        if self.param_events == 1:
            self._first_param_event = self.events

    # -- frozen parameters: gradients computed for arrays that never move ------------------
    # -- the network -------------------------------------------------------------------

    def _tables_changed(self) -> None:
        """A root was added or re-bound, or an array's fingerprint changed (its statistics are updated next): what
        :meth:`finish` classifies is no longer what its last classification read."""
        self._found_nothing = False
        self._version += 1

    def _gradient_tables(self) -> tuple[set[tuple[int, ...]], set[int]]:
        """:func:`gradient_tables` of the tables now, computed again only after they changed (:attr:`_version`)."""
        if self._tables is None or self._tables[0] != self._version:
            self._tables = (self._version, gradient_tables(self.paths, self.roots))
        return self._tables[1]

    def finish(self, force: bool = False) -> Network | None:
        """Classify what was seen (:class:`~netdoctor.observe.numpy.classify.Classifier`); sets and returns
        :attr:`found` when a network was found.

        Without ``force``, a classification that found nothing is not repeated until the roots or the arrays'
        statistics change (:meth:`_tables_changed`): it reads only those (and the classes of the roots' objects), so
        it would find nothing again. Once its trigger holds, :meth:`_scan` asks at every scan; a program whose
        arrays stay still between its steps (best_dict_frozen: 1,041 classifications, 0.13 s) was classified again
        at each of them.

        Args:
            force: the parameters never moved: take the persistent arrays that gradients are computed for.
        """
        if self.found is None and (force or not self._found_nothing):
            self._version += 1  # (whatever a classification may mark on the arrays' statistics)
            self.found = Classifier(self.roots, self.paths, self.functions, self.rng, self.user_class).network(force)
            self._found_nothing = self.found is None and not force
            if self.found is not None:
                for f in self._step_frames.values():
                    self.tracer.unfollow(f)  # watching has its own looks
                self._step_frames.clear()
        return self.found
