"""What the arrays discovery saw are, from what they did: parameters, buffers, caches, and the functions that train.

:class:`Classifier` reads the tables :class:`~netdoctor.observe.numpy.discovery.Discovery` filled (roots, the
statistics of each array path, the functions seen) and returns the :class:`~netdoctor.observe.numpy.network.Network`:

* a *parameter* persists and is moved by the update: first by behaviour, moved by steps of an update rule
  (:attr:`~netdoctor.observe.numpy.network.PathStats.stepped`); otherwise, of the arrays of its shape that change,
  the least often (a buffer accumulates several times per update), by a step rather than by all of its size (a
  gradient overwritten at each update is new every time);
* a *buffer* is what the update reads: first by behaviour, what another array's steps read or what is reset after
  the update (:attr:`~netdoctor.observe.numpy.network.PathStats.read_by_update`); otherwise busier than the
  parameter of its shape, or written where the gradients are computed; the function writing most into them is the
  contributor;
* a *bias* moved beside the weights (:func:`moved_beside`): a vector as wide as a layer, moved in place as often
  as the layers and read by no step, whatever its name and whoever moves it;
* a *template* is an all-zero array that never moves beside parameters of its shape that do (``self.blank['W1']``
  copied into the gradient sums to empty them): neither a parameter nor a buffer;
* *frozen* parameters (``force``) never moved while the program kept computing arrays of their shapes;
* :func:`mark_caches` tells a forward pass's caches while discovery runs: an elementwise non-decreasing
  function of ``W·a + b``, or the input stored again.

Names only break ties (a container named like gradients is not the network when the behaviour cannot tell).
"""

from __future__ import annotations

import dis
import functools
import itertools
import math
import types
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from types import CodeType, FrameType
from typing import Any

import numpy as np

from netdoctor.buffers.peek import is_array
from netdoctor.buffers.roles import is_constant
from netdoctor.nn.stats import median
from netdoctor.nn.threads import one_blas_thread
from netdoctor.observe.numpy.arrays import (
    Containers,
    FrameLocals,
    Path,
    alias_path,
    array_role,
    chain_beside_biases,
    is_bias,
    layer_chain,
    path_text,
    resolve,
    sample_index,
)
from netdoctor.observe.numpy.naming import buffer_ids, layer_holder
from netdoctor.observe.numpy.network import (
    CACHE_TRIES,
    COORDS,
    FuncStats,
    Network,
    Param,
    PathStats,
    Root,
    param_like,
    unnamed_param,
)
from netdoctor.observe.numpy.roles import (
    code_like,
    computed_by_layer,
    distinct_values,
    float_2d,
    layer_sums,
    normalised_from,
    one_top,
    persistent_writer,
)
from netdoctor.observe.tracer import EXPRESSION_SCOPES

__all__ = ["Classifier", "global_reads", "mark_caches", "read_beside_weights", "weights_layout"]


def mark_caches(roots: dict[int | str, Root], paths: dict[tuple[int | str, Path], PathStats], frame: FrameType,
            written: list[tuple[PathStats, np.ndarray, bool]]) -> None:
    """Mark the arrays a returning function wrote that are what a layer computes from its input as caches.

    A cache is an elementwise non-decreasing function of ``W·a + b`` (``a·W + b``) for a weight matrix ``W``
    the program keeps, ``a`` the input the function was given or another array it wrote (the previous
    layer's cache). Parameters and gradient buffers are not ordered like that. With batch size 1 a cache
    has a bias's shape, and a parameter dict may hold caches (``params['A1']``): their names and shapes do
    not tell, their values do. Judged at the writer's return, before an update moves the weights.
    """
    # rewritten, not changed in place: what is added to in place (``g += dW``, ``b -= lr * db``) is summed or
    # stepped, and a delta of one sample is ordered like its layer's pre-activation often enough to pass for a cache
    tested = [(st, a, rebound) for st, a, rebound in written
              if rebound and not st.cache and st.cache_tries < CACHE_TRIES and 2 <= a.size and a.ndim <= 2]
    if not tested:
        return
    # the products (``W @ a`` of a whole batch) on one BLAS thread: the observer's work never takes a core the program
    # did not ask for (two threads on a busy machine wait a scheduler slice for the second at every product)
    with one_blas_thread():
        _mark_tested(roots, paths, frame, tested)


def _mark_tested(roots: dict[int | str, Root], paths: dict[tuple[int | str, Path], PathStats], frame: FrameType,
                 tested: Sequence[tuple[PathStats, np.ndarray, bool]]) -> None:
    """:func:`mark_caches` of the arrays worth testing."""
    code = frame.f_code
    weights, biases, stepped, caches = _layer_arrays(roots, paths, code)
    given = [frame.f_locals.get(n) for n in code.co_varnames[: code.co_argcount]]
    inputs = [x for x in map(float_2d, given) if x is not None]
    # one sample in three or more axes that the layer flattens (a CNN's pooled maps handed to its dense layer)
    inputs += [g.reshape(-1) for g in given if is_array(g) and g.ndim >= 3 and g.dtype.kind == "f" and g.size >= 5]
    for st, a, rebound in tested:
        st.cache_tries += 1
        if rebound and (any(a is g for g in given) or any(same_values(a, x) for x in inputs)):
            # the input the function was given, stored (``cache['A0'] = x``), or a copy or reshape of it
            # (``self.a_in = x.reshape(1, -1)``); an array the function was given and changed in place is being
            # updated (``sgd(p, g, lr)``), not cached
            st.cache = True
    # layer by layer from the input: a cache is computed from the input or from a cache found before it
    # a constant array first seen (``b1 = np.zeros(h)`` left by an initialiser) is ordered like anything: it is not
    # judged before the function that wrote it rewrites it (a layer all of whose units are dead is, at every pass)
    todo = [(st, a) for st, a, _ in tested if not st.cache and (st.changes or st.rewrites or np.ptp(a) > 0)]
    products: dict[tuple[int, int, str], np.ndarray] = {}  # each W @ a once: nothing changes while the program waits
    # how the weights are stored, from the matrices an update rule stepped (a forward's results kept beside the
    # weights, ``params['Z1']``, a gradient or a data set are no layer): it says which transposed product is a forward's.
    # Before any step (the first forward), or when nothing is ever stepped (frozen parameters whose dict also keeps the
    # caches), the matrices the program keeps say it: a data set among them chains, if at all, in the network's layout
    layout = weights_layout(stepped, inputs) if stepped else weights_layout(weights, inputs)
    while todo and inputs:
        found = [(st, a) for st, a in todo
                 if computed_by_layer(a, [w for w in weights if w is not a], [b for b in biases if b is not a], inputs,
                                      products, layout)]
        for st, a in found:
            st.cache = True
            inputs.append(a)
        todo = [(st, a) for st, a in todo if not st.cache]
        if not found:
            break
    # a cache kept under a second name (the next layer's ``self.x`` is the previous layer's output), and the output a
    # forward keeps after calls of its own (``self.out = softmax(z2)``, ``cache['out'] = softmax(dense(h))``): exactly
    # the softmax of a cache or of a layer's sum over one, never an ordering (a delta ``out - t`` is ordered like its
    # pre-activation whenever the target's entry is the smallest)
    caches.update((id(a), a) for st, a, _ in tested if st.cache)
    for st, a in todo:
        if id(a) in caches:
            st.cache = True
            continue
        with np.errstate(all="ignore"):
            sums = itertools.chain(((z, False) for z in caches.values() if z.size == a.size),
                                   layer_sums(weights, list(caches.values()), biases, a.size, skip=a,
                                              products=products, layout=layout))
            st.cache = any(normalised_from(a, z) for z, _ in sums)


def _layer_arrays(roots: dict[int | str, Root], paths: dict[tuple[int | str, Path], PathStats], code: CodeType
                  ) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray], dict[int, np.ndarray]]:
    """What the layers of a function (``code``) that returns may compute with: the weight matrices, the biases, the
    matrices among the weights an update rule stepped, and the caches found so far (by id)."""
    weights, biases, stepped = [], [], []
    caches: dict[int, np.ndarray] = {}
    seen: set[int] = set()
    for (rid, p), st in paths.items():
        if st.cache:
            a = resolve(roots[rid].obj, p) if rid in roots else None
            if is_array(a):
                caches[id(a)] = a
            continue
        if code in st.where and st.inplace:
            continue  # what the function itself accumulated into (gradients) is not a layer it computes with
        a = resolve(roots[rid].obj, p) if rid in roots else None
        if not is_array(a) or id(a) in seen:
            continue
        seen.add(id(a))
        if len(st.shape) == 2 and min(st.shape) > 1 and array_role(st.text) != "buffer":
            weights.append(a)
            if st.stepped:
                stepped.append(a)
        elif a.ndim == 1 or (a.ndim == 2 and min(a.shape) == 1):
            biases.append(a)
    return weights, biases, stepped, caches


def weights_layout(matrices: list[np.ndarray], inputs: list[np.ndarray]) -> str | None:
    """How the network's weight matrices are stored: ``"columns"`` (each ``(out, in)``: ``W @ x``, or ``x @ W.T`` for a
    batch of rows), ``"rows"`` (``(in, out)``: ``x @ W``, or ``W.T @ x``), or None when that cannot be told.

    Read from the chains the matrices form in the program's order (each shape once: a gradient of a weight's shape is
    no layer), starting from the width of an input the function was given: kept ``(out, in)``, each matrix's second
    side is the previous one's first (``W1 (24, 784)``, ``W2 (10, 24)`` from inputs 784 wide); kept ``(in, out)``, each
    first side is the previous one's second. The layout whose longest chain holds at least two matrices and is longer
    than the other's is the network's. A data set among the matrices (``X (550, 784)``) chains, if at all, in the
    network's layout (``X @ W1`` when kept ``(in, out)``). One matrix, or as long a chain either way (a layer's
    backward handed its output-wide delta chains back from the output as ``(out, in)``: ``dinputs = dvalues @ W.T``
    with weights kept ``(in, out)``), tells nothing."""
    shapes = list(dict.fromkeys(tuple(w.shape) for w in matrices if w.ndim == 2 and min(w.shape) > 1))
    widths = {d for x in inputs for d in x.shape}
    longest = {}
    for layout, (into, out_of) in (("columns", (1, 0)), ("rows", (0, 1))):
        # chain[i]: the longest chain in program order that starts at an input's width and ends at shapes[i]
        chain = [1 if s[into] in widths else 0 for s in shapes]
        for i, s in enumerate(shapes):
            for j in range(i):
                if chain[j] and shapes[j][out_of] == s[into]:
                    chain[i] = max(chain[i], chain[j] + 1)
        longest[layout] = max(chain, default=0)
    best = max(longest, key=lambda k: longest[k])
    other = "rows" if best == "columns" else "columns"
    return best if longest[best] >= 2 and longest[best] > longest[other] else None


def same_values(a: np.ndarray, x: np.ndarray) -> bool:
    """Whether ``a`` holds the values of ``x`` in the same order, whatever its shape (a copy or a reshape of it), or
    is its transpose."""
    if a.size != x.size or float(np.ptp(x)) == 0.0:
        return False  # (an input of one value everywhere is equal to any constant array of its size)
    with np.errstate(all="ignore"):
        # (or transposed: a batch of rows kept as columns, ``self.a_in = x.T``)
        return bool(np.array_equal(a.reshape(-1), x.reshape(-1)) or (x.ndim == 2 and a.shape == x.T.shape
                                                                     and np.array_equal(a, x.T)))


def chain_orders(shapes: list[tuple[int, ...]]) -> list[tuple[int, ...]]:
    """The orders (permutations of up to 6 matrices) in which the matrices chain as layers (:func:`layer_chain`)."""
    if len(shapes) > 6:
        return []
    return [order for order in itertools.permutations(range(len(shapes))) if layer_chain([shapes[k] for k in order])]


def _input_width(shapes: list[tuple[int, ...]], order: tuple[int, ...]) -> int:
    layout = layer_chain([shapes[k] for k in order])
    return layout[1][0] if layout is not None else -1


def input_widths(functions: Iterable[FuncStats], found: list[tuple[Path, PathStats]],
                 data_sets: Sequence[np.ndarray] = ()) -> set[int]:
    """The sizes of the arrays (or lists of numbers) the program's functions were last handed (a batch of inputs
    ``(N, D)`` or ``(D, N)``, one sample), leaving out those of the parameters' shapes (an update helper handed
    ``(p, g)``).

    A method shared by every layer (``Layer_Dense.forward(inputs)``) was last handed a hidden layer's activations,
    and a backward its output-wide deltas; the network's input reached it at the first layer's call only. So every
    array a function was handed (one per shape) is looked at too, and when some of them are rows of the program's
    data (``data_sets``: 2-D arrays of the module's globals; a batch ``X[idx]`` or a sample ``X[i]`` holds rows of
    one), their sizes are the widths, alone."""
    kept = {tuple(st.shape) for _, st in found}

    def keep(a: np.ndarray) -> bool:
        return a.shape not in kept and (a.size,) not in kept and not class_codes(a)  # (a.size: no copy of a view)

    calls = [f for f in functions if f.calls >= 2]
    # rows of the data in a weight matrix's shape too: a batch of 32 rows 24 wide is no (32, 24) weight matrix handed
    # over (an input as wide as a hidden layer: 24 -> 32 -> 24 -> 16 -> 4 was read from the output end); one sample in a
    # bias's shape is left out as before (a one-hot target column (10, 1) is a row of the targets' data set)
    every = [a for a in (float_2d(v) for f in calls for v in f.kinds.values())
             if a is not None and (keep(a) or min(a.shape) > 1 and not class_codes(a))]
    data = [a for a in every if rows_of(a, data_sets)]
    given = data or [a for a in (float_2d(v) for f in calls for v in f.args[:8]) if a is not None and keep(a)]
    return {d for a in given for d in a.shape}


def rows_of(a: np.ndarray, data_sets: Sequence[np.ndarray]) -> bool:
    """Whether the first row of ``a`` (or, for a batch kept as columns, its first column) is a row of one of
    ``data_sets`` holding more rows than ``a`` has samples (found through its largest entry's column first: one pass
    over a column, then the few candidates)."""
    if a.ndim != 2 or not data_sets:
        return False
    for first, n in ((a[0], a.shape[0]), (a[:, 0], a.shape[1])):
        j = int(np.argmax(np.abs(first)))
        for data in data_sets:
            # more rows than the batch: a batch bound at module level (``x = X[idx]``) is a global too
            if data.shape[1] != first.size or data.shape[0] <= n or not first[j]:
                continue
            with np.errstate(all="ignore"):
                rows = np.flatnonzero(data[:, j] == first[j])[:64]
                if rows.size and bool((data[rows] == first).all(axis=1).any()):
                    return True
    return False


def class_codes(a: np.ndarray) -> bool:
    """Whether a 2-D argument holds one class code per sample (one-hot, +-1, 0.01/0.99 rows, or columns): targets,
    whose width is the output's. Counted as an input width it would let the layers chain from the output end
    (``_backward(X, Y, cache)`` with weights kept (out, in): ``10 -> 64 -> 784``)."""
    if a.ndim != 2 or min(a.shape) < 2:
        return False
    # each layout's own samples: the first rows of a batch of columns are its first pixels (a blank border of zeros
    # has the few values of a code), not samples
    return any(distinct_values(codes, 3) <= 3 and one_top(codes) for codes in (a[:16], a[:, :16].T))


def weight_matrix(text: str, shape: tuple[int, ...]) -> bool:
    """A layer's weight matrix: two-dimensional with both sides > 1 whatever its name (a bias is a row or a column,
    so a (3, 12) array under the key ``"B"`` multiplies), or a row or column not named like a bias."""
    return len(shape) == 2 and (min(shape) > 1 or not is_bias(text))


def in_layer_order(found: list[tuple[Path, PathStats]], input_widths: set[int]) -> list[tuple[Path, PathStats]]:
    """The parameters with their weight matrices in the order the layers chain, each followed by its bias.

    The first layer's matrix multiplies the network's input: the program's order is kept when its matrices chain
    from a matrix as wide as the inputs handed to the program's functions (``input_widths``), or when nothing tells
    (``W1, b1, W2, b2``). Otherwise (``{"W2": ..., "W1": ...}`` chains too, read as columns, but from the output
    end) the matrices are put in the order in which they chain from that width, or in the one order that chains.
    """
    mats = [i for i, (_, st) in enumerate(found) if len(st.shape) == 2 and min(st.shape) > 1]
    shapes = [tuple(found[i][1].shape) for i in mats]
    if len(mats) < 2:
        return found
    orders = chain_orders(shapes)
    mine = tuple(range(len(mats)))
    # from a matrix as wide as the inputs handed to the program's functions, else any order that chains
    best = [order for order in orders if _input_width(shapes, order) in input_widths] or orders
    if mine in best or (len(best) != 1 and mine in orders):
        return found  # the program's order chains (from the input, as far as that was seen)
    if len(best) != 1:
        return found  # no chain, or several and nothing to tell them apart: the program's order stays
    order = best[0]
    chain = [mats[k] for k in order]
    out: list[tuple[Path, PathStats]] = []
    taken: set[int] = set()
    layout = layer_chain([shapes[k] for k in order])
    widths = layout[1][1:] if layout is not None else []
    for i, width in zip(chain, widths):
        out.append(found[i])
        taken.add(i)
        bias = next((j for j, (_, st) in enumerate(found) if j not in taken and j not in mats
                     and int(np.prod(st.shape)) == width), None)
        if bias is not None:
            out.append(found[bias])
            taken.add(bias)
    return out + [f for j, f in enumerate(found) if j not in taken]


def moves_with_the_weights(st: PathStats, updater: CodeType | None) -> bool:
    """A vector changed by the update function and by nothing else (``layer.bias``, ``self.c``) is a parameter,
    whatever it is called: buffers are also written where gradients are computed, caches by the forward."""
    vector = len(st.shape) == 1 or (len(st.shape) == 2 and min(st.shape) == 1)
    return vector and bool(st.changes) and updater is not None and set(st.where) == {updater} and not st.cache


def busier_than(st: PathStats, layers: list[PathStats]) -> bool:
    """Changed more than twice as often as every layer matrix that moved: a value the update function computes per
    sample (a module-level loop's ``p`` of ``h, p = forward(x)``), not a bias stepped with the weights."""
    most = max((m.changes for m in layers), default=0)
    return bool(most) and st.changes > 2 * most


def moved_beside(st: PathStats, layers: list[PathStats]) -> bool:
    """A vector as wide as a side of a layer matrix that moved, changed in place no more often than those matrices,
    that no step read, nothing reset and no forward rewrote: a bias moved beside the weights (``self.s1 -= lr *
    dh.sum(axis=0)`` inline, where a helper moves the matrices), whatever it is called and whoever moves it. A
    gradient buffer is read by the update or emptied after it, or written more often than the weights."""
    vector = len(st.shape) == 1 or (len(st.shape) == 2 and min(st.shape) == 1)
    if not vector or not st.changes or st.cache or st.read or st.resets or st.busy or not layers:
        return False
    width = int(np.prod(st.shape))
    if st.values is not None and st.values.size == width and code_like(st.values.reshape(1, -1)):
        return False  # a class code rewritten in place for each sample (``t[:] = 0; t[label] = 1``): a target
    if running_squares(st):
        return False
    # moved in place (``-=``): a vector rebound at every change is as often a forward's result not recognised as one
    return (any(width in m.shape for m in layers) and st.changes <= max(m.changes for m in layers)
            and st.rewrites == 0 and st.inplace >= st.changes)


SQUARES_ENTRIES = 8
"""Sampled entries a vector needs for :func:`running_squares` to judge it (a bias of 3 entries is all positive by
chance one time in 8)."""


def running_squares(st: PathStats) -> bool:
    """Whether a vector that started at zero holds a running sum (or mean) of squares: every sampled entry is >= 0 and
    at least 3 in 4 are > 0. Adagrad's memory ``mem += g * g`` and RMSProp's or Adam's mean square only ever hold
    squares; a bias started at zero and stepped by a gradient moves its entries both ways (a softmax layer's output
    error sums to zero over the classes). The update rule's state, not a parameter: it never enters the forward."""
    v = st.values
    if not st.started_zero or v is None or v.size < SQUARES_ENTRIES or not np.isfinite(v).all():
        return False
    return bool((v >= 0).all() and 4 * int((v > 0).sum()) >= 3 * v.size)


def gradient_shapes(functions: dict[CodeType, FuncStats], paths: dict[tuple[int | str, Path], PathStats]) -> Counter:
    """Shapes of the arrays the busiest gradient computation handled (returned, written, or in its locals)."""
    func = max(functions.values(), key=lambda f: f.grad_calls, default=None)
    out: Counter = Counter()
    if func is not None and func.grad_calls:
        out.update(tuple(s) for s in func.shapes)
        out.update(func.grad_shapes)
    out.update(tuple(st.shape) for st in paths.values() if st.changes and not st.cache)
    return out


@functools.lru_cache(maxsize=1024)
def _instructions(code: CodeType) -> tuple[tuple[str, Any], ...]:
    """``(opname, argval)`` of every instruction of ``code`` and of its comprehensions (Python 3.11 runs them as code
    of their own): what :func:`global_reads`, :func:`code_reads` and :func:`code_writes` read by name."""
    out = [(ins.opname, ins.argval) for ins in dis.get_instructions(code)]
    for c in code.co_consts:
        if isinstance(c, CodeType) and c.co_name in EXPRESSION_SCOPES:
            out += _instructions(c)
    return tuple(out)


@functools.lru_cache(maxsize=1024)
def global_reads(code: CodeType) -> frozenset[str]:
    """The global names ``code`` reads (its comprehensions' too)."""
    return frozenset(a for op, a in _instructions(code) if op in ("LOAD_GLOBAL", "LOAD_NAME") and isinstance(a, str))


def read_beside_weights(params: list[tuple[Path, PathStats]], functions: dict[CodeType, FuncStats],
                        space: dict[str, Any]) -> list[tuple[Path, PathStats]]:
    """Frozen candidates without the module globals that no function of the program reads beside the weights.

    A frozen network is found from arrays that never move and have the shapes of the gradients computed; a module
    constant of a bias's shape (``PRIOR``, the class frequencies a target helper mixes into the targets) fits that
    too. What tells it apart is what the program does with it: the functions that read a frozen layer's weights
    (the forward, the backward) read its bias, and no function that reads the constant reads a weight matrix.
    The weights of an object held in a global (``model.W1``, ``model.layers[0].W``) are read by its class's
    methods too (as ``self``). Module-level code reads every global, so it tells nothing; where only module-level
    code reads the weights (training written inline at module level), the candidates are kept as they are.

    Args:
        params: the candidates, paths from the module's globals ``space``.
        functions: the program's functions seen while discovering.
    """
    readers: dict[str, set[CodeType]] = {}
    for code in functions:
        if code.co_name != "<module>":
            for name in global_reads(code):
                readers.setdefault(name, set()).add(code)
    weights = {str(p[0][1]) for p, st in params if p and len(st.shape) == 2 and min(st.shape) > 1}
    beside = set().union(*(readers.get(w, set()) for w in weights))
    for w in weights:
        holder = space.get(w)
        if not issubclass(type(holder), (np.ndarray, dict, list, tuple, types.ModuleType, type)) and holder is not None:
            methods = {f.__code__ for cls in type(holder).__mro__[:-1] for f in vars(cls).values()
                       if issubclass(type(f), types.FunctionType)}
            beside |= methods & functions.keys()
    if not beside:
        return params

    def read_beside(p: Path) -> bool:
        # an array in a list, tuple or dict held in a global is read through that global's name (``params['W1']``);
        # copies kept in one that no function reads beside the weights (``best = [W1.copy(), ...]``, restored
        # by module-level code) are not the layers
        name = str(p[0][1])
        if len(p) != 1 and not issubclass(type(space.get(name)), (list, tuple, dict)):
            return True  # an object's arrays: read by its class's methods (as ``self``)
        return bool(readers.get(name, set()) & beside)

    return [(p, st) for p, st in params if read_beside(p)]


def _reader_of_steps(best: Root, best_score: tuple[int, int, int, int],
                     scored: list[tuple[Root, tuple[int, int, int, int], int]]) -> Root:
    """``best``, an object of the program's classes holding the weights (an optimizer's ``self.weights``), or an equal
    root (``scored``: root, score, arrays the steps read) that also holds what the steps read: gradient buffers kept
    beside the weights in the module's globals (npt1543). Only against such an object: a dict of the weights beside
    the module's globals stays the network when the globals hold its velocities too (momentum_sums_summed)."""
    reads = next(n for r, _, n in scored if r is best)
    rival = max((x for x in scored if x[1][:3] == best_score[:3] and x[2] > reads), key=lambda x: x[2], default=None)
    return best if rival is None else rival[0]


def _mark_busy(stats: dict[Path, PathStats], moving: set[int], force: bool) -> None:
    """Set each array's ``busy`` (a buffer, whatever its name: accumulated into more than 3x as often as the
    parameters change, or changed like a parameter but not among the ``moving`` ones) and ``unnamed_param`` (without
    parameter names, the least often changing arrays are the parameters)."""
    named = [st.changes for st in stats.values() if array_role(st.text) == "param" and st.changes]
    has_named = any(array_role(st.text) == "param" for st in stats.values())
    counts = [st.changes for st in stats.values() if unnamed_param(st)]
    lo = float(median(named)) if named else min(counts, default=0)
    for st in stats.values():
        st.busy = unnamed_param(st) and st.changes > 3 * lo and st.inplace >= st.rebound
        st.busy = st.busy or bool(not force and st.changes and param_like(st) and id(st) not in moving)
        st.unnamed_param = not has_named and unnamed_param(st) and not st.busy


def _layout_and_biases(params: list[Param]) -> tuple[str, list[int]] | None:
    """The layout and layer widths the weight matrices among ``params`` chain into (None when they do not), each parameter's
    ``bias`` set on the way: a vector, or a row or column left out of the chain (a one-unit last layer (1, 48) beside
    the biases (48, 1), (1, 1); ``self.c`` of shape (1, n) beside matrices that chain without it)."""
    mats: list[tuple[int, ...]] = [prm.shape for prm in params if weight_matrix(prm.text, prm.shape)]
    layout = layer_chain(mats)
    apart: set[int] | None = None
    if layout is None and (beside := chain_beside_biases(mats)) is not None:
        layout, apart = beside
    elif layout is None:
        layout = layer_chain([s for s in mats if min(s) > 1])
        rows_apart = layout is not None
    else:
        rows_apart = False
    matrices = [prm for prm in params if weight_matrix(prm.text, prm.shape)]
    for prm in params:
        prm.bias = not weight_matrix(prm.text, prm.shape) or (
            next(i for i, m in enumerate(matrices) if m is prm) in apart if apart is not None
            else rows_apart and min(prm.shape) == 1)
    return layout


class Classifier:
    """The network in the tables of one discovery (see the module docstring).

    Long because every method reads the same four tables (roots, paths, functions, buffer containers) to decide
    one role: split, each part would carry all four.
    """

    def __init__(self, roots: dict[int | str, Root], paths: dict[tuple[int | str, Path], PathStats],
                 functions: dict[CodeType, FuncStats], rng: np.random.Generator,
                 user_class: Callable[[Any], bool] = lambda obj: False) -> None:
        self.roots = roots
        self.paths = paths
        self.functions = functions
        self.rng = rng
        self.user_class = user_class
        """Whether an object is one of a class the program defines (an optimizer object, a network object)."""
        self.buffer_containers: set[str] = set()
        """Names of merged containers whose arrays are all buffers (see :meth:`_best_root`)."""

    def network(self, force: bool = False) -> Network | None:
        """The network, or None when no root holds arrays that behave like parameters.

        Args:
            force: the parameters never moved: take the persistent arrays that gradients are computed for.
        """
        best, stats = self._best_root(force)
        if best is None:
            return None
        params, buffers, updater = self._split(stats, force)
        if force:
            # the copies kept aside of a network that never moved (``best = [w.copy() for w in weights]`` beside the
            # closure's ``weights`` in ``train()``'s locals) are its arrays again, not more layers
            kept = {id(st) for st in _distinct([st for _, st in params])}
            params = [(p, st) for p, st in params if id(st) in kept]
            if best.globals_root:
                params = read_beside_weights(params, self.functions, best.obj)
            # only arrays a layer chain can be made of: a data set or a lookup table that never moves is not frozen
            mats = [tuple(st.shape) for _, st in params if weight_matrix(st.text, st.shape)]
            # (a row or a column beside the matrices is a bias when they chain without it: ``params[1]`` of (64, 1))
            if not any(layer_chain(m) is not None or chain_orders(m) for m in (mats, [s for s in mats if min(s) > 1])):
                return None
        if not params:
            return None
        return self._network(best, stats, params, buffers, updater, force)

    def _best_root(self, force: bool) -> tuple[Root | None, dict[Path, PathStats]]:
        """The root holding the most parameters, with the other containers its training writes into.

        Without ``force``: parameters are the arrays that change, least often of the arrays of their shape (a
        buffer of the same shape in another container is written at every contribution), and by a small part
        of their size (a gradient overwritten at every step changes by all of it). With ``force``: the arrays
        gradients are computed for. A network spread over several containers the program hands around
        (``train(weights, biases, grad_w, grad_b)``) is one root of all of them.
        """
        shapes = gradient_shapes(self.functions, self.paths) if force else Counter()
        moving = self._moving_params() if not force else set()
        best, best_score = None, (0, 0, 0, 0)
        scored: list[tuple[Root, tuple[int, int, int, int], int]] = []
        for rid, root in self.roots.items():
            if root.replaced:
                continue
            mine = [(k, st) for k, st in self.paths.items() if k[0] == rid]
            if force and issubclass(type(root.obj), FrameLocals) and getattr(self.functions.get(root.obj.frame.f_code), "calls", 0) > 1:
                continue  # the locals of a function called at every step are its temporaries, rebuilt per call
            if force:
                hits = _distinct([st for _, st in mine if self._frozen_like(st, shapes)])
            else:
                hits = [st for k, st in mine if k in moving]
            # matrices decide; between equals, a container named like gradients is not the network (a tie broken
            # by a name), then the most arrays, then a container over the module's globals
            score = (sum(len(st.shape) == 2 and min(st.shape) > 1 for st in hits), 0 if array_role(root.prefix) == "buffer" else 1,
                     len(hits), 0 if root.globals_root or issubclass(type(root.obj), FrameLocals) else 1)
            if hits:
                scored.append((root, score, sum(st.read_by_update and not st.cache for _, st in mine) if not force else 0))
            if hits and score > best_score:
                best, best_score = root, score
        if best is not None and self.user_class(best.obj):
            best = _reader_of_steps(best, best_score, scored)
        if best is None:
            return None, {}
        rid = next(k for k, r in self.roots.items() if r is best)
        stats = {p: st for (r, p), st in self.paths.items() if r == rid}
        if best.globals_root or issubclass(type(best.obj), FrameLocals) or not best.prefix:
            return best, stats
        # the containers beside it that training writes into (lists of biases, gradient dicts), by their names
        # (written by the same function as its parameters, or holding matrices of their shapes written in place:
        # gradient buffers; a data set shuffled in place holds vectors and rows, not matrices of a layer's shape)
        writers = {c for st in stats.values() if st.changes for c in st.where}
        matrices = {tuple(st.shape) for st in stats.values() if st.changes and not st.cache and len(st.shape) == 2 and min(st.shape) > 1}
        group = {best.prefix: best.obj}
        held = {fp[0] for fp in best.scan.values()}  # the arrays already in (a container reached twice is taken once)
        for r, root in self.roots.items():
            if (r == rid or root.globals_root or issubclass(type(root.obj), FrameLocals) or not root.prefix or root.prefix in group
                    or root.replaced):
                continue
            arrays = {fp[0] for fp in root.scan.values()}
            if arrays & held:
                continue
            if any(k[0] == r and st.changes and not st.cache and (writers & set(st.where) or (tuple(st.shape) in matrices and st.inplace))
                   for k, st in self.paths.items()):
                group[root.prefix] = root.obj
                held |= arrays
        if len(group) == 1:
            return best, stats
        merged = Root(Containers(group), "")
        ids = {r: root.prefix for r, root in self.roots.items() if root.prefix in group and root.obj is group[root.prefix]}
        stats = {(("item", ids[r]), *p): st for (r, p), st in self.paths.items() if r in ids}
        # a container beside the parameters that holds a matrix of a layer's shape which started at zero and changes
        # (``grad_w``, a momentum's ``velocity``) holds what the update reads: none of its arrays is a parameter
        for r, name in ids.items():
            if name != best.prefix and any(k[0] == r and st.changes and st.started_zero and tuple(st.shape) in matrices
                                           for k, st in self.paths.items()):
                self.buffer_containers.add(name)
        return merged, stats

    def _moving_params(self) -> set[tuple[int | str, Path]]:
        """Arrays that changed like parameters: not caches, and not busier than another array of their shape that
        changed (a buffer accumulates several times per update), nor changed by much more of their size than it
        (a gradient overwritten at each update is a new array every time; a parameter moves by a step)."""
        changed = {k: st for k, st in self.paths.items() if st.changes and param_like(st)}
        by_shape: dict[tuple, list[PathStats]] = {}
        for st in changed.values():
            by_shape.setdefault(tuple(st.shape), []).append(st)

        # each array's median relative change, once (every pair of arrays of one shape compares them)
        steps: dict[int, float] = {}
        for st in changed.values():
            rs = [r for _, r in st.ratios if math.isfinite(r)]
            steps[id(st)] = float(median(rs)) if rs else math.nan

        out = set()
        for k, st in changed.items():
            others = [o for o in by_shape[tuple(st.shape)] if o is not st]
            if any(o.changes * 2 < st.changes for o in others):
                continue  # written at least twice as often as an array of its shape: a buffer
            if st.started_zero and len(st.shape) == 2 and min(st.shape) > 1 and any(not o.started_zero for o in others):
                continue  # a matrix that started at zero beside one that did not: an accumulator, not a layer
            mine = steps[id(st)]
            if any(o.changes <= 2 * st.changes and not o.started_zero and math.isfinite(steps[id(o)]) and math.isfinite(mine)
                   and mine > 4 * steps[id(o)] for o in others):
                continue  # as often (or less), but each change replaces it, where one of its shape moves by a step
                # (not compared with an accumulator that starts at zero: its relative changes say nothing)
            out.add(k)
        return out

    def _frozen_like(self, st: PathStats, shapes: Counter) -> bool:
        if st.changes or st.cache or is_constant(st.text) or array_role(st.text) == "buffer":
            return False
        if st.started_zero and len(st.shape) == 2 and min(st.shape) > 1:
            return False  # a matrix of zeros that never moves is a gradient buffer or a template, not a layer
        return tuple(st.shape) in shapes or array_role(st.text) == "param"

    def _split(self, stats: dict[Path, PathStats], force: bool) -> tuple[list[tuple[Path, PathStats]], list[tuple[Path, PathStats]], CodeType | None]:
        """Parameters and buffers of the chosen root, and the function that moves the parameters."""
        moving = {id(self.paths[k]) for k in self._moving_params()} if not force else set()
        _mark_busy(stats, moving, force)
        writers: Counter[CodeType] = Counter()
        for st in stats.values():
            if st.changes and param_like(st) and not st.busy:
                writers.update(st.where)
        # frozen parameters: nothing moves them (what changed meanwhile is caches and buffers, written by the
        # forward and the gradient's functions, none of which is an update)
        updater = persistent_writer(writers, stats.values()) if not force else None
        # arrays named like parameters that never change where the parameters do, beside a parameter of their
        # shape that does (``grads['W1']`` next to ``params['W1']``), are what the update reads: buffers
        moved = Counter(tuple(st.shape) for st in stats.values() if updater in st.where and param_like(st) and not st.busy)
        shapes = gradient_shapes(self.functions, self.paths) if force else Counter()
        params: list[tuple[Path, PathStats]] = []
        buffers: list[tuple[Path, PathStats]] = []
        # shapes of the arrays that moved like parameters: an all-zero array of such a shape that never changed
        # (``self.blank['W1']`` copied into the sums to empty them) is a template, whatever its name
        # (one of them moved at two updates: a parameter of that update would have moved since)
        stepping = _template_shapes(stats, moving)
        # the matrices that moved like layers, for the vectors moved beside them (biases moved inline)
        layers = [st for st in stats.values() if st.changes and len(st.shape) == 2 and min(st.shape) > 1
                  and (st.stepped or id(st) in moving)]
        for p, st in stats.items():
            role = array_role(st.text)
            if st.cache or (not force and not st.changes and st.started_zero and tuple(st.shape) in stepping):
                continue
            if st.changes and not st.stepped and running_squares(st):
                continue  # an adaptive rule's memory of a bias (``mbh += dbh * dbh``): its state, no parameter
            # behaviour first: what a step read or what is reset is a buffer, what steps move is a parameter
            # (a name of data does not outweigh steps taken at most as often as its shape's other arrays change:
            # ``layer.W.data`` is a tensor's values, the autograd spelling, not a data set)
            if st.read_by_update or (st.stepped and not force and (not is_constant(st.text) or id(st) in moving)):
                (buffers if st.read_by_update else params).append((p, st))
                continue
            twin = role == "param" and st.changes and updater is not None and updater not in st.where and moved[tuple(st.shape)]
            held_apart = bool(p) and p[0][1] in self.buffer_containers
            beside = not force and moved_beside(st, layers)
            if role == "buffer" or st.busy or twin or held_apart or (
                    st.changes and updater not in st.where and role != "param" and not beside):
                buffers.append((p, st))
            elif role == "param" or st.unnamed_param or (moves_with_the_weights(st, updater) and not busier_than(st, layers)) or beside or (
                    force and self._frozen_like(st, shapes)):
                if is_constant(st.text):
                    continue
                params.append((p, st))
        if force:
            params = [(p, st) for p, st in params if not st.changes]
            # nothing moved, so what the program's functions do with the arrays tells them apart
            params = _computed_with(params, stats, self.functions)
        params, moments = _apart_from_siblings(params, buffers, stats, force)
        return _read_by_the_forward(params, self.paths.values(), self.functions), buffers + moments, updater

    def _data_sets(self) -> list[np.ndarray]:
        """The 2-D float or integer arrays of more than one row held by the module's globals (the first 256 names):
        where the program's data sets are (a batch handed to the forward holds rows of one)."""
        out = []
        for root in self.roots.values():
            if root.globals_root and isinstance(root.obj, dict):
                out += [v for v in list(root.obj.values())[:256] if issubclass(type(v), np.ndarray) and v.ndim == 2
                        and v.shape[0] > 1 and v.dtype.kind in "fiu"]
        return out[:16]

    def _network(self, best: Root, stats: dict[Path, PathStats], found: list[tuple[Path, PathStats]],
                 buffers: list[tuple[Path, PathStats]], updater: CodeType | None, force: bool) -> Network:
        # the updates seen while discovering count too: each parameter array changed once per update (by the updater)
        updates = max((st.where.get(updater, 0) if updater is not None else st.changes for _, st in found), default=0)
        if force:
            # frozen: no parameter moved, but each step still emptied the gradient buffers it applied (a step of zero
            # is a step the program made)
            updates = max((st.resets for _, st in buffers), default=0)
        found = in_layer_order(found, input_widths(self.functions.values(), found, self._data_sets()))
        params = []
        for p, st in found:
            idx = sample_index(int(np.prod(st.shape)), COORDS, self.rng)
            # 16 of the sampled entries tell an update: some entries never move (inputs that are always 0)
            fp = idx[np.linspace(0, len(idx) - 1, min(16, len(idx))).astype(int)]
            params.append(Param(p, st.text, tuple(st.shape), idx, fp, quick=tuple(int(i) for i in fp[:: max(1, len(fp) // 3)][:3]),
                                drawn=st.drawn))
        layout = _layout_and_biases(params)
        contributor, style = self._pair_buffers(best, params, buffers, updater)
        grad_map: list[int | None] = []
        if style != "accumulate" or _update_state(params, stats, contributor, updater):
            # gradients handed out by a function (``grads = backward(...)``) say more than the names they land in
            returner = self._gradient_returner(best, params, updater)
            if returner is not None:
                contributor, style, grad_map = returner
        if contributor is None and updater is not None and updater.co_name != "<module>":
            # gradients computed and applied inline (``train_step(x, y, lr)``): the updater is given the batch
            contributor = updater
        if force and (contributor is None or not getattr(self.functions.get(contributor), "grad_calls", 0)):
            # frozen: the function that computed gradients most often, rather than one that only wrote arrays of the
            # parameters' shapes (a forward keeping a hidden layer (1, 24) beside a one-unit layer's W2 (1, 24): no
            # gradient's function, and never handed the targets)
            busiest = _busiest(list(self.functions.values()))
            if busiest is not None:
                contributor = busiest.code
        kept = {prm.path for prm in params}  # the parameters found, not caches or buffers named like them
        # the steps of the update only: a one-time rescale before training (``W *= 30``) is not an update
        # (the weight matrices among the parameters found by their behaviour, whatever their names: P['w_in'] too)
        ratios = [rs for rs in ([r for c, r in st.working_ratios if c == updater] for p, st in stats.items()
                                if p in kept and len(st.shape) == 2 and min(st.shape) > 1) if rs]
        buffer_paths = {prm.buffer for prm in params if prm.buffer is not None}
        constants = [(p, st.text) for p, st in stats.items()
                     if is_constant(st.text) and array_role(st.text) != "param" and p not in buffer_paths]
        known = self.functions.get(contributor) if contributor is not None else None
        holder = layer_holder(best, self.roots, params, buffer_ids(best, params))  # (after the roles: it renames)
        return Network(
            root=best, params=params, layout=layout, updater=updater, contributor=contributor, style=style,
            grad_map=grad_map, cache_paths=[p for p, st in stats.items() if st.cache], discovery_ratios=ratios,
            updates=updates, discovery_calls=known.calls if known is not None else 0, constants=constants,
            functions=dict(self.functions), frozen=force, holder=holder,
            moved=frozenset(i for i, (_, st) in enumerate(found)
                            if (st.where.get(updater, 0) if updater is not None else st.changes) >= max(updates, 1)))

    def _pair_buffers(self, best: Root, params: list[Param], buffers: list[tuple[Path, PathStats]],
                      updater: CodeType | None) -> tuple[CodeType | None, str]:
        """Each gradient buffer goes to the parameter of its shape (in name order); the function writing
        most into them is the contributor, which accumulates (in place) or overwrites (rebinds)."""
        contrib: Counter[CodeType] = Counter()
        votes = 0  # buffers of more than one entry paired: one entry alone (a one-unit output (1, 1) kept by the
        # forward beside a one-unit layer's bias, while the velocities that decay are left out) says no one computes
        # gradients
        by_shape: dict[tuple, list[Param]] = {}
        for prm in params:
            by_shape.setdefault(prm.shape, []).append(prm)
        used: set[int] = set()
        # what the gradient's functions write first (accumulated into, overwritten): a velocity the update alone
        # writes (``v = mu * v - lr * g``) is read by the step too, but it is not where the gradients go
        forwards = cache_writers(self.paths.values())
        for p, st in sorted(buffers, key=lambda b: (set(b[1].where) <= {updater}, b[1].text)):
            if math.prod(st.shape) == 1 and forwards and set(st.where) - {None} <= forwards:
                continue  # one entry written only by the forward: its output (``net.out`` (1, 1)), paired by shape alone
            if st.decays > st.accumulations:
                continue  # a velocity or a moment (decays and takes in the gradient): the update rule's, not the gradient's
            if st.divisor or (st.numerator and not st.accumulations and not st.resets):
                # an adaptive step's running scale (it divides by its root), or what it reads over that scale and is
                # never handed a gradient as it is nor emptied (Adam's first moment, seen once before it decays)
                continue
            if is_constant(st.text):
                # a "template" accumulated into at every contribution is a buffer by what the program does
                # with it (``self.updates = self.templates``): followed under the name the code writes through
                if not (st.inplace and updater is not None and sum(n for c, n in st.where.items() if c != updater) >= 2):
                    continue
                p = alias_path(best.obj, p, lambda text: not is_constant(text))
            for prm in by_shape.get(tuple(st.shape), []):
                if id(prm) not in used and prm.buffer is None:
                    prm.buffer, prm.buffer_text = p, path_text(p, best.prefix)
                    used.add(id(prm))
                    # only the buffers of a parameter's shape say who computes the gradients: a lookup table written
                    # in place by the target helper (``t = EYE[k]; t *= 0.95``) is no gradient buffer
                    contrib.update({c: n for c, n in st.where.items() if c is not None})
                    votes += math.prod(st.shape) > 1
                    break
        contributor = contrib.most_common(1)[0][0] if contrib and used and votes else None
        style = ""
        if contributor is not None:
            inplace = sum(st.inplace for _, st in buffers if contributor in st.where)
            rebound = sum(st.rebound for _, st in buffers if contributor in st.where)
            style = "accumulate" if inplace >= rebound else "overwrite"
        return contributor, style

    def _gradient_returner(self, best: Root, params: list[Param],
                           updater: CodeType | None) -> tuple[CodeType, str, list[int | None]] | None:
        """The function returning arrays shaped like the parameters (``backprop`` returning ``(nabla_b, nabla_w)``)."""
        shapes = [p.shape for p in params]
        live = {id(resolve(best.obj, p.path)) for p in params}  # held by the program's objects: these ids are theirs
        found, best_n = None, 0
        # functions that returned twice first; then one that returned once, after the parameters had moved: a
        # full-batch backward, called once per update, when discovery ends at the second update
        candidates = [f for f in self.functions.values() if f.grad_returns >= 2]
        candidates += [f for f in self.functions.values() if f.grad_returns == 1 and f.step_returns]
        for f in candidates:
            if found is not None and f.grad_returns < 2:
                break
            if any(id(a) in live for a in (r() for r in f.returned) if a is not None):
                continue  # a function handing out the parameters themselves
            pool = list(f.shapes)
            n = matrices = 0
            for s in shapes:
                if s in pool:
                    pool.remove(s)
                    n += 1
                    matrices += len(s) == 2 and min(s) > 1
            # at least one weight matrix among them: a forward run on one sample at a time returns rows shaped like the
            # biases ((1, 18), (1, 4)), never a matrix of the weights' shape
            if n >= max(1, (len(shapes) + 1) // 2) and matrices and n > best_n and f.code != updater:
                found, best_n = f, n
        if found is None:
            return None
        # returned array k -> parameter of that shape, in order
        unmatched = {i: p.shape for i, p in enumerate(params)}
        grad_map: list[int | None] = []
        for s in found.shapes:
            hit = next((i for i, ps in unmatched.items() if ps == s), None)
            if hit is not None:
                del unmatched[hit]
            grad_map.append(hit)
        for i, prm in enumerate(params):
            prm.grad_key = (i,) if i in grad_map else None
        return found.code, "returns", grad_map


def _distinct(stats: list[PathStats]) -> list[PathStats]:
    """``stats`` without the arrays that hold the sampled values of one before them: a frozen network's copies kept
    aside (``best = [W1.copy(), ...]`` in ``train()``'s locals) are the same arrays again, and a root holding both the
    parameters (through a closure) and their copies is no bigger a network for it."""
    seen: set[tuple[tuple[int, ...], bytes]] = set()
    out = []
    for st in stats:
        key = (tuple(st.shape), st.values.tobytes() if st.values is not None else b"%d" % id(st))
        if key not in seen:
            seen.add(key)
            out.append(st)
    return out


def _update_state(params: list[Param], stats: dict[Path, PathStats], contributor: CodeType | None,
                  updater: CodeType | None) -> bool:
    """Whether the arrays paired with the parameters as their gradient buffers are the update rule's own state: written
    by the function that applies the step alone (the contributor found is the updater), and never emptied. RMSProp's
    mean squares ``sq *= rho; sq += (1 - rho) * g * g`` inside ``train()``'s step loop start at zero and grow in place
    like sums of gradients; a sum of gradients is emptied at every step. Then a function handing out the gradients (see
    ``Classifier._gradient_returner``) computes them, not the updater."""
    if contributor is None or contributor is not updater:
        return False
    paired = [stats.get(prm.buffer) for prm in params if prm.buffer is not None]
    return bool(paired) and all(st is not None and not st.resets and set(st.where) <= {updater} for st in paired)


@functools.lru_cache(maxsize=1024)
def code_reads(code: CodeType) -> frozenset[Any]:
    """What ``code`` reads by name: the globals, attributes and methods it loads and the constants it holds (dict keys
    and list indices, tuples of them flattened), its comprehensions' too."""
    out: set[Any] = set()
    for op, arg in _instructions(code):
        if op in ("LOAD_GLOBAL", "LOAD_NAME", "LOAD_ATTR", "LOAD_METHOD"):
            out.add(arg)
        elif op == "LOAD_CONST":
            todo = [arg]
            while todo:
                c = todo.pop()
                if isinstance(c, tuple):
                    todo += list(c)
                elif isinstance(c, (str, int)) and not isinstance(c, bool):
                    out.add(c)
    return frozenset(out)


@functools.lru_cache(maxsize=1024)
def code_writes(code: CodeType) -> frozenset[str]:
    """The attributes and globals ``code`` binds (``net.gb1 += db1``, ``net.out = out``), its comprehensions' too."""
    return frozenset(a for op, a in _instructions(code) if op in ("STORE_ATTR", "STORE_GLOBAL", "STORE_NAME")
                     and isinstance(a, str))


def _gradient_reach(functions: dict[CodeType, FuncStats], stats: dict[Path, PathStats]) -> list[CodeType]:
    """The functions that computed gradients (arrays of the persistent arrays' shapes) or changed arrays while nothing
    stepped (a forward keeping its caches), and those they call, one from the other (the forward a ``loss_and_grads``
    calls): what computes the outputs and the gradients, not the update that reads them (module-level code reads every
    global: left out)."""
    by_name: dict[str, list[CodeType]] = {}
    for code in functions:
        by_name.setdefault(code.co_name, []).append(code)
    changed = {c for st in stats.values() if st.changes for c in st.where}
    reach = [f.code for f in functions.values()
             if (f.grad_calls or f.code in changed) and f.code.co_name != "<module>"]
    seen = set(reach)
    for code in reach:  # (grows while it is walked)
        for name in code_reads(code):
            for callee in by_name.get(name, []) if isinstance(name, str) else []:
                if callee not in seen and callee.co_name != "<module>":
                    seen.add(callee)
                    reach.append(callee)
    return reach


def _computed_with(params: list[tuple[Path, PathStats]], stats: dict[Path, PathStats],
                   functions: dict[CodeType, FuncStats]) -> list[tuple[Path, PathStats]]:
    """A frozen network's candidates without what the outputs and gradients are not computed from.

    Nothing moved, so values do not tell a layer from the state beside it: Adam's never-written moments (``net.mb1``,
    ``net.vW2``) and the gradients' buffers of a zero gradient (``net.gb1``) are arrays of zeros of the layers' shapes,
    as a bias of zeros is. What tells them apart is what the program does with them. The functions that compute the
    gradients or change arrays while nothing steps (the forward keeping its caches), and those they call, read the
    layers (``net.b1``: loaded by their code or handed to them) and never bind them; the moments are read by the update
    alone, and the buffers are bound by them (``net.gb1 += db1``). An all-zero array none of them reads, or one they
    bind, beside one of its shape they read and never bind, is no layer. And an array rebound to equal values at the
    returns of such a function that computed no gradient itself (the forward: ``net.out``, a softmax over one unit,
    ones at every call) is that function's output, not a parameter (an update rebinding a parameter to itself,
    ``W = W - lr * 0``, changes nothing, so it is none of them)."""
    reach = _gradient_reach(functions, stats)
    reads: set[Any] = set()
    writes: set[str] = set()
    handed: set[int] = set()  # the arrays their latest calls were handed (``backward(X, Y, W1, b1, ...)`` from the module)
    for code in reach:
        reads |= code_reads(code)
        writes |= code_writes(code)
        for v in functions[code].args:
            handed.update(id(a) for a in (v if isinstance(v, list) else [v]) if is_array(a))

    def last(p: Path) -> str | None:
        keys = [k for _, k in p if isinstance(k, str)]  # the last name on its path: an attribute, a key, a global
        return keys[-1] if keys else None

    def read(p: Path, st: PathStats) -> bool | None:
        if st.obj in handed:
            return True
        return last(p) in reads if last(p) is not None and reach else None

    def written(p: Path) -> bool:
        return last(p) in writes  # bound by them: added into (a gradient's buffer ``net.gb1 += db1``) or kept

    # the shapes of the arrays they read and never bind: the layers
    read_shapes = {tuple(st.shape) for p, st in params if read(p, st) and not written(p)}
    # (what changes while nothing steps is computed from the batch: a cache, whether or not it was found to be one)
    forwards = {code for code in reach if not functions[code].grad_calls
                and any(st.changes and code in st.where for st in stats.values())}
    return [(p, st) for p, st in params if not (
        st.started_zero and (read(p, st) is False or written(p)) and tuple(st.shape) in read_shapes
        or any(code in forwards for code in st.rewritten_in))]


def _busiest(functions: list[FuncStats]) -> FuncStats | None:
    """The function that computed gradients most often (a frozen network's gradient's function); one called at every
    step before one called once whose loop held arrays of the parameters' shapes at most twice as often (``train()``
    looping over ``p, g, sq`` of every layer while ``backward(x, t)``, handed the targets, computes the gradients:
    counted per call, the gradient computations are backward's calls, not train's one)."""
    busiest = max(functions, key=lambda f: f.grad_calls, default=None)
    if busiest is None or not busiest.grad_calls:
        return None
    if busiest.calls == 1:
        called = max((f for f in functions if f.calls >= 2), key=lambda f: f.grad_calls, default=None)
        if called is not None and 2 * called.grad_calls >= busiest.grad_calls:
            return called
    return busiest


def cache_writers(every: Iterable[PathStats]) -> set[CodeType]:
    """The functions that write the layers' activations (the caches): the forward."""
    return {code for st in every if st.cache for code in st.where if code is not None}


def _read_by_the_forward(params: list[tuple[Path, PathStats]], every: Iterable[PathStats],
                         functions: dict[CodeType, FuncStats]) -> list[tuple[Path, PathStats]]:
    """The parameters without the arrays the forward never computes with, beside one of their shape that it does.

    A one-entry bias and its velocity (``b3`` and ``vb3`` (1, 1), both zero at first, both changed by every update)
    cannot be told apart by their numbers: any change of one number is a multiple of another, so no change is judged
    a step or a decay. What the program does with them can: the forward (the functions that write the layers'
    activations, the caches) computes with the bias and never with its velocity, which only the update reads. So an
    array that started at zero, none of whose changes was judged a step, which the forward neither loads by its name
    nor was handed, beside a parameter of its shape that it loads, is the update rule's state, no parameter.
    Nothing changes where no forward writing caches was seen, or where it reads the arrays under other names."""
    forwards = {code for code in cache_writers(every) if code in functions}
    if not forwards:
        return params
    reads = frozenset().union(*(code_reads(code) for code in forwards))
    handed = {id(a) for code in forwards for v in functions[code].args for a in (v if isinstance(v, list) else [v])
              if is_array(a)}

    def read(p: Path, st: PathStats) -> bool:
        keys = [k for _, k in p if isinstance(k, str)]  # the last name on its path: an attribute, a key, a global
        return st.obj in handed or bool(keys) and keys[-1] in reads

    read_shapes = {tuple(st.shape) for p, st in params if read(p, st)}
    return [(p, st) for p, st in params
            if not (st.started_zero and not st.steps and not read(p, st) and tuple(st.shape) in read_shapes)]


def _apart_from_siblings(params: list[tuple[Path, PathStats]], buffers: list[tuple[Path, PathStats]],
                         stats: dict[Path, PathStats], force: bool) -> tuple[list[tuple[Path, PathStats]], list[tuple[Path, PathStats]]]:
    """The parameters without those held in a container of the update rule's own arrays: Adam's ``self.m`` keyed like
    ``self.params``, whose other arrays the steps read (buffers), or, when nothing moved (``force``), whose arrays all
    started at zero and never changed, beside a container holding arrays of the same shapes that did not start at
    zero. A moment of a 3-entry bias whose two first changes both passed for steps is one of them (a moment never
    enters the forward: the check replaying it found the forward deaf to it); returned apart, as buffers."""
    def container(p: Path) -> Path:
        return p[:-1]

    held: dict[Path, list[PathStats]] = {}
    for p, st in stats.items():
        if p and not st.cache:
            held.setdefault(container(p), []).append(st)
    kept = {container(p) for p, _ in params}
    if len(kept) < 2:
        return params, []
    buffer_ids = {id(st) for _, st in buffers}

    def rule_own(c: Path) -> bool:
        arrays = held.get(c, [])
        if len(arrays) < 2:
            return False
        if force:
            return all(st.started_zero and not st.changes for st in arrays)
        return 2 * sum(id(st) in buffer_ids or st.read_by_update for st in arrays) > len(arrays)

    own = {c for c in kept if rule_own(c)}
    # the parameters' own containers: the others, holding an array of every shape the rule's containers hold
    others = [c for c in kept - own if not all(st.started_zero for st in held.get(c, []))]
    if not own or not others:
        return params, []
    shapes = {tuple(st.shape) for c in others for st in held[c]}
    apart = [(p, st) for p, st in params if container(p) in own and tuple(st.shape) in shapes]
    gone = {id(st) for _, st in apart}
    return [(p, st) for p, st in params if id(st) not in gone], apart


def _template_shapes(stats: dict[Path, PathStats], moving: set[int]) -> set[tuple[int, ...]]:
    """Shapes at which an all-zero array that never changed is a template (see ``Classifier._split``)."""
    stepping = {tuple(st.shape) for st in stats.values() if st.changes >= 2 and (st.stepped or id(st) in moving)}
    # ... and so is one beside an array of its shape that did not start at zero and did not move either (its
    # layer frozen: ``acc['W1']`` and ``zeros['W1']`` beside a dead layer's ``net['W1']``)
    stepping |= {tuple(st.shape) for st in stats.values() if not st.changes and not st.started_zero and not st.cache
                 and param_like(st)}
    return stepping
