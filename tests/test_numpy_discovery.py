"""Parts of NumPy discovery told from behaviour (netdoctor/observe/numpy/discovery.py, classify.py, arrays.py).

The whole observer runs on the small programs of ``tests/numpy_programs/``; these tests pin the parts one by one:
a closure cell followed through rebinding, a copy of the input taken as a cache, a bias moved beside the weights.
"""

from __future__ import annotations

import sys
from collections import Counter
from functools import partial

import numpy as np
import pytest

from netdoctor.observe.numpy.arrays import (
    ALIKE_ROWS,
    WALK_ITEMS,
    Cell,
    FrameLocals,
    in_data_set,
    resolve,
    rows_of_data,
    walk_arrays,
)
from netdoctor.observe.numpy.classify import _apart_from_siblings, moved_beside, same_values
from netdoctor.observe.numpy.discovery import SETTLED_CHANGES, _cell_of, persistent_steps, step_values, unnamed_ready
from netdoctor.observe.numpy.network import PathStats


def _closure():
    params = [np.ones((3, 2)), np.zeros(2)]

    def step(lr):
        nonlocal params
        params = [p - lr for p in params]

    def reads():  # a function that closes over ``params`` and hands out its own frame
        return params, sys._getframe()

    return step, reads


def test_a_root_in_a_closure_cell_follows_the_list_the_program_binds_to_it():
    step, reads = _closure()
    root = Cell(step.__closure__[0])
    before = dict(walk_arrays(root))
    assert set(before) == {(("item", 0),), (("item", 1),)}
    step(0.5)
    after = resolve(root, (("item", 0),))
    assert after is not before[(("item", 0),)]  # the new list's array, not the one held when the root was made
    np.testing.assert_array_equal(after, np.full((3, 2), 0.5))
    assert dict(walk_arrays(root))[(("item", 1),)] is reads()[0][1]


def test_the_cell_of_a_running_closure_is_found_from_its_frame():
    step, reads = _closure()
    _, frame = reads()
    assert _cell_of(frame, "params") is reads.__closure__[0]
    assert _cell_of(frame, "nothing") is None


@pytest.mark.parametrize("make, cached", [
    (lambda x: x.copy(), True),
    (lambda x: x.reshape(1, -1), True),
    (lambda x: np.array(x.tolist()), True),
    (lambda x: x * 2.0, False),
    (lambda x: x[::-1].copy(), False),
])
def test_a_copy_or_reshape_of_the_input_holds_its_values(make, cached):
    x = np.random.default_rng(0).normal(0, 1, 12)
    assert same_values(make(x), x) is cached


def test_a_batch_of_rows_kept_as_columns_holds_the_input_s_values():
    x = np.random.default_rng(1).normal(0, 1, (4, 6))
    assert same_values(x.T.copy(), x)
    assert not same_values(x.reshape(6, 4) * -1.0, x)


def test_an_input_of_one_value_is_not_matched_by_every_constant_array():
    assert not same_values(np.zeros(6), np.zeros(6))


def _stats(shape, changes, **kw):
    st = PathStats(shape, "x")
    st.changes, st.where = changes, Counter()
    for k, v in kw.items():
        setattr(st, k, v)
    return st


def test_a_vector_moved_in_place_beside_the_layers_is_a_bias_and_a_buffer_is_not():
    layer = _stats((18, 24), 2, steps=2, inplace=2)
    assert moved_beside(_stats((24,), 2, inplace=2), [layer])  # once per update, in place, as wide as the layer
    assert moved_beside(_stats((1, 24), 1, inplace=1), [layer])
    assert not moved_beside(_stats((24,), 9, inplace=9), [layer])  # busier than the weights: accumulated into
    assert not moved_beside(_stats((24,), 2, inplace=2, resets=1), [layer])  # emptied after the update
    assert not moved_beside(_stats((24,), 2, rebound=2), [layer])  # rebound at every change (a forward's result)
    assert not moved_beside(_stats((7,), 2, inplace=2), [layer])  # no layer of its width
    assert not moved_beside(_stats((24,), 2, inplace=2), [])


def test_a_class_code_rewritten_in_place_for_each_sample_is_a_target_not_a_bias():
    layer = _stats((24, 10), 3, steps=3, inplace=3)
    one_hot = _stats((10,), 3, inplace=3, values=np.eye(10)[4])
    assert not moved_beside(one_hot, [layer])
    assert moved_beside(_stats((10,), 3, inplace=3, values=np.linspace(-0.1, 0.1, 10)), [layer])


class _Weights:  # a class used as a namespace: its weights are class attributes (``_Weights.W -= lr * dW``)
    W = np.ones((3, 2))
    b = np.zeros(2)
    rate = 0.1


def test_the_class_attributes_of_a_module_s_own_class_are_walked_from_its_globals():
    found = dict(walk_arrays(globals(), globals_root=True))
    assert found[(("item", "_Weights"), ("attr", "W"))] is _Weights.W
    assert found[(("item", "_Weights"), ("attr", "b"))] is _Weights.b
    # a class of another module (numpy's) is no network of the program's
    assert not any(path[0] == ("item", "Counter") for path in found)
    assert resolve(globals(), (("item", "_Weights"), ("attr", "W"))) is _Weights.W


def _pure_training(steps: int):
    params = (np.ones((3, 2)), np.zeros(2))
    listed, mixed = [np.ones(4)], (np.ones(4), 3)
    for _ in range(steps):
        params = tuple(p - 0.5 for p in params)  # a new tuple of new arrays at every step
        yield sys._getframe(), listed, mixed


def test_a_tuple_of_arrays_bound_to_a_local_name_is_followed_through_its_rebinding():
    run = _pure_training(3)
    frame, _, _ = next(run)
    root = FrameLocals(frame)
    paths = set(dict(walk_arrays(root)))
    assert {(("item", "params"), ("item", 0)), (("item", "params"), ("item", 1)), (("item", "listed"), ("item", 0))} <= paths
    assert not any(p[0] == ("item", "mixed") for p in paths)  # not only arrays: a root of its own, if any
    first = resolve(root, (("item", "params"), ("item", 0)))
    next(run)
    now = resolve(root, (("item", "params"), ("item", 0)))
    assert now is not first  # read through the name: the new tuple's array
    np.testing.assert_array_equal(now, np.zeros((3, 2)))


class _CountedList(list):
    """A list that counts how often its items are read in order (a walk that goes into it iterates it)."""

    reads = 0

    def __iter__(self):
        type(self).reads += 1
        return super().__iter__()

    def __getitem__(self, i):
        if isinstance(i, slice):
            type(self).reads += 1
        return super().__getitem__(i)


@pytest.mark.parametrize("row", [lambda i: [float(i)], lambda i: [float(i)] * 5, lambda i: (i, 0.5, 1.0)],
                         ids=["one-element rows", "rows of floats", "tuples of numbers"])
def test_a_data_set_kept_as_a_table_of_number_lists_is_not_walked_into(row):
    # a program reading its CSV as lists keeps ``[([[v] for v in pixels], label), ...]`` beside its weights: every walk
    # of its globals would visit 64 x 64 one-element lists; the arrays beside the table are found all the same
    table = _CountedList(row(i) for i in range(784))
    W = np.ones((3, 2))
    _CountedList.reads = 0
    found = dict(walk_arrays({"train_set": [(table, 3), (table, 4)], "params": {"W": W}}))
    assert found == {(("item", "params"), ("item", "W")): W}
    assert _CountedList.reads == 0  # (the table's first and last rows are read, none of its items iterated)
    # the list of samples itself, when long, is not walked either: its first and last samples are tables and labels
    samples = _CountedList((list(table), i % 10) for i in range(400))
    _CountedList.reads = 0
    found = dict(walk_arrays({"train_set": samples, "params": {"W": W}}))
    assert found == {(("item", "params"), ("item", "W")): W}
    assert _CountedList.reads == 0
    # a short list of small lists (``[[W1, b1], [W2, b2]]``-like containers of arrays) is walked as before
    nested = [[np.zeros(2)], [1.0], [2.0]]
    assert set(dict(walk_arrays(nested))) == {(("item", 0), ("item", 0))}


def _followed(start: np.ndarray, changes: list[np.ndarray], *, inplace: bool = True) -> PathStats:
    """The statistics discovery keeps of an array that went through ``changes`` (its successive values), its sampled
    entries read by :func:`step_values` as a scan reads them."""
    idx = np.arange(0, start.size, 3)
    st = PathStats(start.shape, "self.k", started_zero=not np.any(start.reshape(-1)[idx]))
    st.values, st.where = start.reshape(-1)[idx].astype(float), Counter()
    for now in changes:
        st.values = step_values(st, now.reshape(-1), idx, None)
        st.changes += 1
        st.inplace += inplace
        st.rebound += not inplace
    return st


def test_matrices_stepped_in_place_by_one_function_are_taken_after_a_few_updates():
    """One function computes the gradients and applies them inline (``self.Wa -= lr * xb.T @ dh``, names that say
    nothing): one rate of change. Weights moved by small steps in place are told after :data:`SETTLED_CHANGES`
    updates; a buffer summing per-sample gradients from zero, one overwritten by each sample's gradient, weights
    rebound at every step and a lone table written in place still wait for two rates (or 300 changes)."""
    rng = np.random.default_rng(8)
    n = SETTLED_CHANGES

    def walk(a, step):
        out = []
        for _ in range(n):
            a = step(a)
            out.append(a.copy())
        return out

    W = rng.normal(0, 0.3, (12, 10))
    stepped = _followed(W, walk(W, lambda a: a - 0.05 * rng.normal(0, 1, a.shape)))
    V = rng.normal(0, 0.3, (10, 4))
    stepped = [stepped, _followed(V, walk(V, lambda a: a - 0.05 * rng.normal(0, 1, a.shape)))]
    summed = _followed(np.zeros((12, 10)), walk(np.zeros((12, 10)), lambda a: a + rng.normal(0, 1, a.shape)))
    overwritten = _followed(rng.normal(0, 1, (12, 10)), walk(W, lambda a: rng.normal(0, 1, a.shape)))
    rebound = _followed(W, walk(W, lambda a: a - 0.05 * rng.normal(0, 1, a.shape)), inplace=False)
    assert persistent_steps(stepped) and unnamed_ready(stepped)
    for st in (summed, overwritten, rebound):
        assert not persistent_steps([*stepped, st]) and not unnamed_ready([*stepped, st])
    # a code table whose rows a target builder scales in place at every sample (t = EYE[y]; t *= 0.9), before any
    # weight moved: small changes in place, never zero at first, but one matrix, no layers
    eye = np.eye(10)
    table = _followed(eye, walk(eye, lambda a: a * np.where(np.arange(10)[:, None] == rng.integers(10), 0.9, 1.0)))
    assert not persistent_steps([table]) and not unnamed_ready([table])
    rebound.changes = 300
    assert unnamed_ready([rebound])  # one rate for long enough


# -- the compiled scan: a root read at once in C says "unchanged" exactly when the Python fingerprints do ----------

class _Holder:
    def __init__(self) -> None:
        self.weights = [np.ones((3, 4)), np.zeros((2, 3))]
        self.params = {"b": np.zeros(2)}


def _signature_and_fingerprints(root, paths, idxs):
    from netdoctor.observe.numpy.arrays import _py_fingerprint, scan_signature

    steps = [tuple((1 if kind == "attr" else 0, key) for kind, key in p) for p in paths]
    return scan_signature(root, steps, idxs), [_py_fingerprint(resolve(root, p), i) for p, i in zip(paths, idxs)]


def test_the_compiled_scan_changes_exactly_when_a_python_fingerprint_changes():
    from netdoctor.observe.numpy.arrays import scan_signature

    if scan_signature is None:
        pytest.skip("the compiled part is not built here")
    net = _Holder()
    paths = [p for p, _ in walk_arrays(net)]
    assert len(paths) == 3
    rng = np.random.default_rng(3)
    idxs = [np.sort(rng.choice(resolve(net, p).size, size=min(4, resolve(net, p).size), replace=False)) for p in paths]
    changes = [
        lambda: None,  # nothing: both unchanged
        lambda: net.weights[0].__setitem__((slice(None), slice(None)), 2.0),  # in place, every entry
        lambda: net.weights.__setitem__(1, net.weights[1].copy()),  # rebound to an equal copy: another object
        lambda: net.params["b"].__iadd__(1.0),
        lambda: None,
    ]
    sig, fps = _signature_and_fingerprints(net, paths, idxs)
    assert sig is not None
    for change in changes:
        change()
        sig_now, fps_now = _signature_and_fingerprints(net, paths, idxs)
        assert (sig_now == sig) == (fps_now == fps)  # the oracle: the Python fingerprints, one by one
        sig, fps = sig_now, fps_now


def test_the_compiled_scan_reads_a_running_functions_locals_from_its_frame_as_python_reads_them():
    from netdoctor.observe.numpy.arrays import _py_fingerprint, scan_signature
    from netdoctor.observe.numpy.discovery import _c_root

    if scan_signature is None:
        pytest.skip("the compiled part is not built here")
    seen: list[tuple[bytes | None, list]] = []

    def look(root: FrameLocals, paths: list) -> None:
        # the paths' first step is a local read from the frame (kind 2), as Discovery signs a function's locals
        steps = [tuple((2 if i == 0 else 0, key) for i, (_, key) in enumerate(p)) for p in paths]
        idxs = [np.array([0, 2], dtype=np.int64)] * len(paths)
        seen.append((scan_signature(_c_root(root), steps, idxs), [_py_fingerprint(resolve(root, p), i) for p, i in zip(paths, idxs)]))

    def train() -> None:  # a main() training inline: its locals are a root
        W = np.ones((3, 4))
        params = (np.zeros(5), np.ones(3))
        root = FrameLocals(sys._getframe())
        paths = [p for p, _ in walk_arrays(root)]
        assert sorted(paths) == [(("item", "W"),), (("item", "params"), ("item", 0)), (("item", "params"), ("item", 1))]
        look(root, paths)
        look(root, paths)  # nothing changed
        W -= 0.5  # in place
        look(root, paths)
        params = (params[0] + 1.0, params[1])  # rebound: another tuple, another array
        look(root, paths)
        W = W.copy()  # rebound to an equal copy: another object
        look(root, paths)
        del W
        look(root, paths[1:])

    train()
    assert all(sig is not None for sig, _ in seen)
    for (sig, fps), (sig_now, fps_now) in zip(seen[:-2], seen[1:-1]):
        assert (sig_now == sig) == (fps_now == fps)  # the oracle: the Python fingerprints, one by one
    assert [seen[i][0] == seen[i + 1][0] for i in range(4)] == [True, False, False, False]


def test_the_compiled_scan_leaves_a_local_read_through_a_cell_or_unbound_to_python():
    from netdoctor.observe.numpy.arrays import scan_signature

    if scan_signature is None:
        pytest.skip("the compiled part is not built here")
    idx = [np.array([0], dtype=np.int64)]

    def train() -> tuple:
        W = np.ones(3)  # a cell: the closure below reads it (f_locals reads it through the cell)
        V = np.ones(3)
        frame = sys._getframe()
        out = (scan_signature(frame, [((2, "W"),)], idx), scan_signature(frame, [((2, "V"),)], idx),
               scan_signature(frame, [((2, "U"),)], idx), scan_signature(frame, [((0, "V"),)], idx))
        del V
        return (*out, scan_signature(frame, [((2, "V"),)], idx), lambda: W)

    cell, plain, missing, not_a_frame_step, unbound, _ = train()
    assert plain is not None
    assert cell is None and missing is None and not_a_frame_step is None and unbound is None


@pytest.mark.parametrize("make", [
    lambda: (Cell(_closure()[0].__closure__[0]), [(("item", 0),)]),  # through a closure cell: Python's
    lambda: ({"W": np.ones(3, dtype=int)}, [(("item", "W"),)]),  # not floats: the Python scan drops it
    lambda: ({"W": np.ones(0)}, [(("item", "W"),)]),  # no entries
    lambda: ({"W": np.ones(2)}, [(("item", "V"),)]),  # no such key
    lambda: (type("D", (dict,), {})(W=np.ones(2)), [(("item", "W"),)]),  # a dict subclass (its __getitem__ may run code)
    lambda: ({"W": np.ones(2).view(np.recarray)}, [(("item", "W"),)]),  # an array subclass
])
def test_the_compiled_scan_leaves_to_python_what_it_cannot_read_as_python_does(make):
    from netdoctor.observe.numpy.arrays import scan_signature

    if scan_signature is None:
        pytest.skip("the compiled part is not built here")
    root, paths = make()
    steps = [tuple((1 if kind == "attr" else 0, key) for kind, key in p) for p in paths]
    assert scan_signature(root, steps, [np.arange(1)] * len(paths)) is None
    assert scan_signature({"W": np.ones(2)}, [((0, "W"),)], [np.array([2])]) is None  # a position out of range


def _keyed(container, key):
    return (("attr", container), ("item", key))


def test_a_moment_keyed_like_the_parameters_is_held_apart_with_its_dict():
    """Adam's ``self.m`` holds the weights' keys: an entry whose changes passed for steps (a 3-entry moment) is no
    parameter when the steps read its dict's other arrays and ``self.params`` holds an array of its shape."""
    shapes = {"W1": (16, 20), "b1": (16,), "W2": (3, 16), "b2": (3,)}
    params = [(_keyed("params", k), _stats(v, 2, steps=2)) for k, v in shapes.items()]
    moments = {k: _stats(v, 2, steps=1, decays=1) for k, v in shapes.items()}
    moments["b2"] = _stats((3,), 2, steps=2)  # its two changes both read as steps
    stats = dict(params) | {_keyed("m", k): st for k, st in moments.items()}
    buffers = [(_keyed("m", k), st) for k, st in moments.items() if k != "b2"]
    kept, apart = _apart_from_siblings(params + [(_keyed("m", "b2"), moments["b2"])], buffers, stats, force=False)
    assert [p for p, _ in kept] == [p for p, _ in params] and [p for p, _ in apart] == [_keyed("m", "b2")]
    # alone (no container of the weights beside it), a dict is the parameters, whatever else it holds
    assert _apart_from_siblings(params, [], dict(params), force=False) == (params, [])


def test_zeros_keyed_like_frozen_weights_are_held_apart_when_nothing_moved():
    """Nothing moved (force): a dict whose arrays all started at zero and never changed, beside one holding arrays of
    the same shapes that did not (the weights), is the rule's (moments, sums), however it is named."""
    shapes = {"W1": (16, 20), "b1": (16,), "W2": (1, 16), "b2": (1,)}
    weights = [(_keyed("w", k), _stats(v, 0, started_zero=k.startswith("b"))) for k, v in shapes.items()]
    zeros = [(_keyed("z", k), _stats(v, 0, started_zero=True)) for k, v in shapes.items()]
    stats = dict(weights) | dict(zeros)
    candidates = weights + [z for z in zeros if z[0][-1][1] != "W1"]  # (a zero matrix is never a frozen layer)
    kept, apart = _apart_from_siblings(candidates, [], stats, force=True)
    assert kept == weights and {p for p, _ in apart} == {p for p, _ in zeros} - {_keyed("z", "W1")}


def test_a_path_through_a_list_longer_than_the_walk_reads_is_a_data_set_row():
    rows = [(np.ones(3), np.zeros(2)) for _ in range(WALK_ITEMS + 1)]
    layers = [np.ones((3, 2)), np.ones(2)]
    root = {"data": rows, "layers": layers, "table": {i: np.ones(2) for i in range(WALK_ITEMS + 1)}}
    assert in_data_set(root, (("item", "data"), ("item", 5), ("item", 0)))
    assert in_data_set({"rows": [np.ones(3)] * (WALK_ITEMS + 1)}, (("item", "rows"), ("item", 0)))
    assert not in_data_set(root, (("item", "layers"), ("item", 0)))  # a short list: the network's, perhaps
    assert not in_data_set(root, (("item", "table"), ("item", 3)))  # a dict is walked by its keys, never a data set
    assert in_data_set({"data": rows[:WALK_ITEMS]}, (("item", "data"), ("item", 5), ("item", 0)))  # rows alike
    ragged = [(np.ones(3), np.zeros(2 + i % 2)) for i in range(WALK_ITEMS)]
    assert not in_data_set({"data": ragged}, (("item", "data"), ("item", 5), ("item", 0)))


def _rows(n, *shapes, dtype=float):
    return [tuple(np.full(shape, i, dtype=dtype) for shape in shapes) for i in range(n)]


@pytest.mark.parametrize(("rows", "alike"), [
    (_rows(10, (784, 1), (10, 1)), True),  # a mini-batch of (x, y) columns sliced from the data list
    (_rows(ALIKE_ROWS, (12,), (3,)), True),
    ([list(r) for r in _rows(8, (1, 784), (1, 10))], True),  # rows as lists
    (_rows(ALIKE_ROWS - 1, (12,), (3,)), False),  # too few to tell from a network's layers
    (_rows(WALK_ITEMS + 1, (12,), (3,)), False),  # longer ones are data sets by their length alone (in_data_set)
    ([(np.ones((30, 784)), np.ones((30, 1))), (np.ones((10, 30)), np.ones((10, 1)))] * 2, False),  # layers chain
    (_rows(6, (8, 8), (8,)), False),  # identical square layers do chain: a deep net of equal widths
    (_rows(6, (12,), (3,))[:5] + [(np.ones(12), np.ones(4))], False),  # one row of other shapes
    (_rows(6, (12,), (3,))[:5] + [(np.ones(12, dtype=np.float32), np.ones(3))], False),  # or dtype
    (_rows(6, (12,), (3,))[:5] + [[np.ones(12), np.ones(3)]], False),  # a list among tuples
    ([np.ones(12)] * 6, False),  # arrays, not rows of arrays
    ([(np.ones(12), 3)] * 6, False),  # a label that is no array
    ([()] * 6, False),
], ids=["batch-10", "least", "lists", "too-few", "long", "layers", "square", "shape", "dtype", "kind", "arrays",
        "labels", "empty"])
def test_rows_of_data_are_rows_alike_that_no_network_chains(rows, alike):
    assert rows_of_data(rows) is alike
    assert in_data_set({"batch": rows}, (("item", "batch"), ("item", 1), ("item", 0))) is (alike or len(rows) > WALK_ITEMS)


_SHUFFLED_ROWS = {
    # a function over a list of (x, y) column tuples, shuffled with random.shuffle at every epoch
    "tuples": """
        import random
        import numpy as np
        rng = np.random.default_rng(0)
        centres = rng.normal(0, 1, (3, 12))
        labels = rng.integers(0, 3, 300)
        data = [((centres[k] + 0.3 * rng.normal(0, 1, 12)).reshape(-1, 1), np.eye(3)[k].reshape(-1, 1)) for k in labels]
        W1, b1 = rng.normal(0, 0.3, (8, 12)), np.zeros((8, 1))
        W2, b2 = rng.normal(0, 0.3, (3, 8)), np.zeros((3, 1))
        def sgd(data, epochs, size, lr):
            global W1, b1, W2, b2
            for _ in range(epochs):
                random.shuffle(data)
                for k in range(0, len(data), size):
                    gW1, gb1, gW2, gb2 = np.zeros_like(W1), np.zeros_like(b1), np.zeros_like(W2), np.zeros_like(b2)
                    for x, y in data[k:k + size]:
                        h = np.tanh(W1 @ x + b1)
                        d2 = W2 @ h + b2 - y
                        d1 = (W2.T @ d2) * (1 - h ** 2)
                        gW1, gb1, gW2, gb2 = gW1 + d1 @ x.T, gb1 + d1, gW2 + d2 @ h.T, gb2 + d2
                    W1, b1 = W1 - lr / size * gW1, b1 - lr / size * gb1
                    W2, b2 = W2 - lr / size * gW2, b2 - lr / size * gb2
        random.seed(0)
        sgd(data, 3, 10, 0.1)
    """,
    # a class keeping its samples as dicts of 1-D rows, shuffled in place through the generator's shuffle
    "dicts": """
        import numpy as np
        class Net:
            def __init__(self, rng):
                self.params = {"W1": rng.normal(0, 0.3, (12, 8)), "b1": np.zeros(8),
                               "W2": rng.normal(0, 0.3, (8, 3)), "b2": np.zeros(3)}
            def step(self, batch, lr):
                p = self.params
                X = np.stack([s["x"] for s in batch])
                T = np.stack([s["t"] for s in batch])
                h = np.tanh(X @ p["W1"] + p["b1"])
                d2 = (h @ p["W2"] + p["b2"] - T) / len(batch)
                d1 = (d2 @ p["W2"].T) * (1 - h ** 2)
                p["W2"] -= lr * h.T @ d2
                p["b2"] -= lr * d2.sum(axis=0)
                p["W1"] -= lr * X.T @ d1
                p["b1"] -= lr * d1.sum(axis=0)
        rng = np.random.default_rng(1)
        centres = rng.normal(0, 1, (3, 12))
        samples = [{"x": centres[k] + 0.3 * rng.normal(0, 1, 12), "t": np.eye(3)[k]} for k in rng.integers(0, 3, 300)]
        net = Net(rng)
        for epoch in range(3):
            rng.shuffle(samples)
            for k in range(0, len(samples), 10):
                net.step(samples[k:k + 10], 0.1)
    """,
    # the textbook's network object: each mini-batch sliced from the shuffled list and handed to the method that sums
    # the per-sample gradients (a list of 10 rows alike: a data set's, though short)
    "handed": """
        import random
        import numpy as np
        class Network:
            def __init__(self, rng):
                self.weights = [rng.normal(0, 0.3, (8, 12)), rng.normal(0, 0.3, (3, 8))]
                self.biases = [np.zeros((8, 1)), np.zeros((3, 1))]
            def update_mini_batch(self, batch, lr):
                gW = [np.zeros_like(w) for w in self.weights]
                gb = [np.zeros_like(b) for b in self.biases]
                for x, y in batch:
                    h = np.tanh(self.weights[0] @ x + self.biases[0])
                    d2 = self.weights[1] @ h + self.biases[1] - y
                    d1 = (self.weights[1].T @ d2) * (1 - h ** 2)
                    gW = [gW[0] + d1 @ x.T, gW[1] + d2 @ h.T]
                    gb = [gb[0] + d1, gb[1] + d2]
                self.weights = [w - lr / len(batch) * g for w, g in zip(self.weights, gW)]
                self.biases = [b - lr / len(batch) * g for b, g in zip(self.biases, gb)]
        rng = np.random.default_rng(2)
        centres = rng.normal(0, 1, (3, 12))
        labels = rng.integers(0, 3, 300)
        data = [((centres[k] + 0.3 * rng.normal(0, 1, 12)).reshape(-1, 1), np.eye(3)[k].reshape(-1, 1)) for k in labels]
        net = Network(rng)
        random.seed(0)
        for epoch in range(3):
            random.shuffle(data)
            for k in range(0, len(data), 10):
                net.update_mini_batch(data[k:k + 10], 0.1)
    """,
}


@pytest.mark.parametrize("style", sorted(_SHUFFLED_ROWS))
def test_rows_of_a_shuffled_data_set_are_never_judged_as_steps(style, tmp_path, monkeypatch):
    # a shuffle rebinds every sampled row of the data list: each row is a change, but no step of an update rule;
    # judging each one against every other sampled row of its shape cost 0.5 ms a row at every shuffle
    import textwrap

    from netdoctor.observe import runner
    from netdoctor.observe.numpy.steps import Steps
    from netdoctor.observe.options import ObserveOptions

    judged: list[str] = []
    judge = Steps.judge

    def spy(self, moved, paths, frame):
        judged.extend(st.text for st, _, _ in moved)
        return judge(self, moved, paths, frame)

    monkeypatch.setattr(Steps, "judge", spy)
    path = tmp_path / f"{style}.py"
    path.write_text(textwrap.dedent(_SHUFFLED_ROWS[style]), encoding="utf-8")
    monkeypatch.setattr(sys, "argv", [str(path)])
    result = runner.run_script(str(path), [], ObserveOptions())
    assert result.status == "finished", result.traceback
    assert judged  # the parameters' steps were judged
    rows = {"tuples": ("data",), "dicts": ("samples",), "handed": ("data", "batch")}[style]
    assert not [t for t in judged if t.startswith(rows)]
    assert result.report.context["updates_observed"] == 90
    assert not [f.code for f in result.report.findings if f.severity.rank <= 1]


def test_a_classification_that_found_nothing_is_asked_again_only_after_the_tables_changed(monkeypatch):
    """best_dict_frozen's parameters never move (its step rebinds a local): once the trigger of a classification
    holds, every scan asked for one, and each found nothing (1,042 in a run). Between two classifications that found
    nothing, a root or an array's fingerprint must have changed (else the second read the same tables); and skipping
    the repeats leaves the report as it was (the private generator is drawn from only when a network is found)."""
    from pathlib import Path

    from netdoctor.observe import runner
    from netdoctor.observe.numpy.classify import Classifier
    from netdoctor.observe.numpy.discovery import Discovery
    from netdoctor.observe.options import ObserveOptions

    path = Path(__file__).resolve().parent / "numpy_programs" / "best_dict_frozen.py"
    events: list[str] = []
    network, changed = Classifier.network, Discovery._tables_changed

    def classify(self, force=False):
        found = network(self, force)
        events.append("found" if found is not None or force else "nothing")
        return found

    def change(self):
        events.append("changed")
        return changed(self)

    def report(monkeypatch) -> dict:
        monkeypatch.setattr(sys, "argv", [str(path)])
        result = runner.run_script(str(path), [], ObserveOptions())
        assert result.status == "finished", result.traceback
        out = result.report.to_dict()
        for key in ("seconds", "observer_seconds"):
            out["context"].pop(key, None)
        return out

    monkeypatch.setattr(Classifier, "network", classify)
    monkeypatch.setattr(Discovery, "_tables_changed", change)
    skipped = report(monkeypatch)
    nothing = [i for i, e in enumerate(events) if e == "nothing"]
    assert len(nothing) >= 2  # the case this is about: classifications that found nothing, more than one
    assert all("changed" in events[a:b] for a, b in zip(nothing, nothing[1:]))
    # every classification asked for (the flag never set): the same report
    monkeypatch.setattr(Discovery, "_found_nothing", property(lambda self: False, lambda self, value: None), raising=False)
    events.clear()
    assert report(monkeypatch) == skipped
    assert events.count("nothing") > len(nothing)


_SCALAR_AFTER_MATRIX = """
import numpy as np


class Tensor:  # a reverse-mode autograd over arrays, the way tutorials build one
    def __init__(self, data, parents=(), backward=None):
        self.data = np.asarray(data, dtype=float)
        self.grad = np.zeros_like(self.data)
        self.parents, self.backward_fn = parents, backward

    def __matmul__(self, other):
        out = Tensor(self.data @ other.data, (self, other))

        def backward():
            self.grad += out.grad @ other.data.T
            other.grad += self.data.T @ out.grad
        out.backward_fn = backward
        return out

    def mse(self, target):
        out = Tensor(((self.data - target) ** 2).mean(), (self,))

        def backward():
            self.grad += out.grad * 2 * (self.data - target) / self.data.size
        out.backward_fn = backward
        return out

    def backward(self):
        order, seen = [], set()

        def visit(t):
            if id(t) not in seen:
                seen.add(id(t))
                for p in t.parents:
                    visit(p)
                order.append(t)
        visit(self)
        self.grad = np.ones_like(self.data)
        for t in reversed(order):  # one loop variable over every tensor: the loss (one entry) first
            if t.backward_fn is not None:
                t.backward_fn()


rng = np.random.default_rng(0)
W = Tensor(rng.normal(0, 0.1, (8, 3)))
X = rng.normal(size=(64, 8))
T = np.eye(3)[rng.integers(0, 3, 64)]
for step in range(200):
    i = (step * 16) % 64
    W.grad = np.zeros_like(W.data)
    loss = (Tensor(X[i:i + 16]) @ W).mse(T[i:i + 16])
    loss.backward()
    W.data -= 0.1 * W.grad
"""


def test_an_attribute_rebound_from_a_matrix_to_one_entry_is_not_read_at_the_matrix_s_places(tmp_path, monkeypatch):
    # an autograd tape keeps each tensor's gradient under ``.grad``: the loss's is one entry, the layers' are
    # matrices; the places sampled in the matrix are out of bounds in the scalar (IndexError stopped the observer)
    from netdoctor.observe import runner
    from netdoctor.observe.options import ObserveOptions

    path = tmp_path / "tape_grad.py"
    path.write_text(_SCALAR_AFTER_MATRIX, encoding="utf-8")
    monkeypatch.setattr(sys, "argv", [str(path)])
    result = runner.run_script(str(path), [], ObserveOptions())
    assert result.status == "finished", result.traceback
    notes = result.report.context.get("notes", [])
    assert not [n for n in notes if "error of its own" in n], notes


# -- every root asked at once in C: the same answer as asking each root in Python ------------------------------------

class _Layers:
    def __init__(self) -> None:
        self.W = [np.ones((4, 3)), np.ones((2, 4))]
        self.b = {"b1": np.zeros(4)}


class _Slotted:
    __slots__ = ("W",)

    def __init__(self) -> None:
        self.W = np.ones((2, 2))


def _signed_root(obj, prefix: str = ""):
    """A root of Discovery walked as its first scans walk it, then scanned once (what ``_unchanged`` compares with)."""
    from netdoctor.observe.numpy.discovery import WALK_FIRST, root_arrays
    from netdoctor.observe.numpy.network import Root

    root = Root(obj, prefix)
    for _ in range(WALK_FIRST - 1):
        root_arrays(root, True)
    return _signed_again(root)


def _signed_again(root):
    """``root`` walked and scanned again, as Discovery's Python scan leaves a root it found changed."""
    from netdoctor.observe.numpy.arrays import fingerprint, sample_index
    from netdoctor.observe.numpy.discovery import _scanned, root_arrays

    arrays = root_arrays(root, True)
    for p, a in arrays:
        if p not in root.idx or root.idx[p][-1] >= a.size:
            root.idx[p] = sample_index(a.size, 16, np.random.default_rng(len(root.idx)))
    _scanned(root, {p: fingerprint(a, root.idx[p]) for p, a in arrays})
    return root


def test_the_roots_asked_at_once_in_c_are_those_python_finds_changed_one_by_one():
    from netdoctor.observe.numpy.arrays import changed_roots
    from netdoctor.observe.numpy.discovery import _SPECIAL, WALK_FIRST, _items, _unchanged

    if changed_roots is None:
        pytest.skip("the compiled part is not built here")
    step, _ = _closure()
    layers, table = _Layers(), np.arange(60.0).reshape(6, 10)
    data = {"X": table[:, 1:], "T": table.T, "net": layers, "slotted": _Slotted()}
    sub = type("D", (dict,), {})(W=np.ones(3))
    answers: list[tuple[list[int], list[int]]] = []

    roots = [_signed_root(data), _signed_root(layers, "net"), _signed_root(Cell(step.__closure__[0]), "params"),
             _signed_root(sub, "sub"), _signed_root(data["slotted"], "slotted")]

    def train(roots: list, layers: _Layers, table: np.ndarray) -> None:  # its locals are a root too (plain locals)
        W = np.ones((3, 4))
        roots.append(_signed_root(FrameLocals(sys._getframe())))
        # (calls bound now, no closures: a local a closure reads is a cell, which C leaves to Python)
        changes = [
            lambda: None,
            partial(layers.W[0].__isub__, 0.5),  # in place, every entry: the object root and the dict root
            partial(setattr, layers, "extra", 1),  # an attribute more: a walk is due (its size changed)
            partial(delattr, layers, "extra"),
            partial(layers.W.append, np.ones(2)),  # a list of the root's grows
            layers.W.pop,
            partial(table.__setitem__, (slice(None), 5), -1.0),  # a column of the slice and of the transpose: strided
            partial(step, 0.5),  # the cell's list rebound: its container is left to Python (_items)
            partial(roots[3].obj.__setitem__, "V", np.ones(2)),  # a dict subclass grows
            partial(roots[0].obj.__setitem__, "slotted", _Slotted()),  # rebound: another object
            partial(W.__isub__, 1.0),  # the function's own local, in place
            lambda: None,
        ]
        for change in changes:
            change()
            answers.append((changed_roots(roots, WALK_FIRST, _SPECIAL, _items),
                            [i for i, r in enumerate(roots) if not _unchanged(r, False)]))
            for r in roots:
                _signed_again(r)

    train(roots, layers, table)
    c_answers = [a for a, _ in answers]
    assert c_answers == [b for _, b in answers]  # the oracle: Python's _unchanged, root by root
    # (C reads neither a closure cell's container nor a dict subclass: those two roots are always Python's)
    assert c_answers[0] == c_answers[-1] == [2, 3]
    # (what changed where, as the changes say; not exact sets: a freed array's id may come back with an equal one)
    assert {0, 1} <= set(c_answers[1]) and {0, 1} <= set(c_answers[2]) and {0, 5} <= set(c_answers[6])
    assert {5} <= set(c_answers[-2])


@pytest.mark.parametrize("make", [
    lambda: np.arange(60.0).reshape(6, 10)[:, 1:],  # the columns of a data set after its labels
    lambda: np.arange(60.0).reshape(6, 10).T,
    lambda: np.arange(24.0).reshape(2, 3, 4)[:, ::2, 1:],
    lambda: np.lib.stride_tricks.as_strided(np.arange(12.0), (3, 1, 4), (32, 999, 8)),  # a dimension of one entry
    lambda: np.arange(30.0).reshape(3, 10),  # C order
    lambda: np.arange(30.0, dtype=np.float32).reshape(10, 3)[::-1],  # negative strides
])
def test_the_compiled_scan_reads_the_entries_numpy_reads_at_flat_positions(make):
    from netdoctor.observe.numpy.arrays import fingerprint, scan_signature

    if scan_signature is None:
        pytest.skip("the compiled part is not built here")
    a = make()
    idx = np.array(sorted({0, 1, a.size // 3, a.size // 2, a.size - 2, a.size - 1}), dtype=np.int64)
    want = np.array([a.flat[i] for i in idx], dtype=a.dtype).tobytes()  # the oracle: NumPy's flat iterator
    assert scan_signature({"a": a}, [((0, "a"),)], [idx]) == id(a).to_bytes(8, sys.byteorder) + want
    assert fingerprint(a, idx) == (id(a), want)


def _holds_arrays_oracle(d, v) -> bool:
    """``Discovery._holds_arrays`` as round 16 wrote it (every item's inner list built), the oracle of its loop now."""
    from netdoctor.buffers.peek import own_dict

    if issubclass(type(v), dict):
        items = list(v.values())[:32]
    elif issubclass(type(v), (list, tuple)):
        items = list(v[:32])
    elif v is not None and not issubclass(type(v), (np.ndarray, type)) and hasattr(type(v), "__dict__") and d.user_class(v):
        return True
    else:
        return False
    for x in items:
        if issubclass(type(x), np.ndarray) and x.dtype.kind == "f":
            return True
        inner = list(x.values())[:8] if issubclass(type(x), dict) else list(x[:8]) if issubclass(type(x), (list, tuple)) else (
            list(own_dict(x).values())[:16] if own_dict(x) is not None and not issubclass(type(x), type) and d.user_class(x) else [])
        if any(issubclass(type(y), np.ndarray) and y.dtype.kind == "f" for y in inner):
            return True
    return False


def test_holding_arrays_is_told_as_the_inner_lists_built_in_full_tell_it():
    from netdoctor.observe.numpy.discovery import Discovery

    d = Discovery.__new__(Discovery)
    d._classes = {}
    d.user_class = lambda obj: type(obj) in (_Layers, _Slotted)  # type: ignore[method-assign]
    f, i = np.zeros(3), np.arange(3)
    sub = type("L", (list,), {})
    values = [
        [[0.5]] * 784, [[0.5]] * 31 + [[f]], [[0.5]] * 32 + [[f]], [(1, 2, 3, 4, 5, 6, 7, f)], [(1, 2, 3, 4, 5, 6, 7, 8, f)],
        [[i]], [sub([f])], [sub([i])], [{"W": f}], [{"W": i}], ({"a": [f]},), [_Layers()], [_Slotted()], [f], [i],
        {"x": [[f]]}, {"x": [0.5] * 40}, [], (), {}, None, f, _Layers(), [1.0, "a", None], [np.float64(1.0)],
        [[np.zeros(0)]], [np.zeros(3, dtype=np.float32)], [[np.zeros(2, dtype=np.float32)]],
    ]
    answers = [d._holds_arrays(v) for v in values]
    assert answers == [_holds_arrays_oracle(d, v) for v in values]
    assert answers[:5] == [False, True, False, True, False] and sum(answers) >= 8


def _judged_update(*, gradient_seen: bool, through_velocity: bool = True) -> bool:
    """One update of a heavy ball ``v = 0.5 * v - 0.01 * g; p += v`` judged as discovery judges a function's return
    scan (both arrays changed), and :func:`stepped_via_unexplained` asked of it. ``gradient_seen``: ``g`` is what a
    function returned (a named gradient), else it is gone (computed in ``zip``'s arguments); ``through_velocity``
    False: a plain ``p -= 0.01 * g`` beside a velocity stepped by nothing."""
    from netdoctor.observe.numpy.discovery import _counts, stepped_via_unexplained
    from netdoctor.observe.numpy.steps import Steps

    rng = np.random.default_rng(5)
    steps = Steps(rng)
    p, v, g = rng.normal(size=(16, 12)), rng.normal(size=(16, 12)) * 0.01, rng.normal(size=(16, 12))
    idx = steps.index(p.shape)
    stats = []
    for a, text in ((p, "net.W1"), (v, "net.vW1")):
        st = PathStats(a.shape, text)
        st.idx, st.values, st.obj = idx, a.reshape(-1)[idx].astype(float), id(a)
        stats.append(st)
    if gradient_seen:
        steps.returned([g])
    v_new = 0.5 * v - 0.01 * g
    p_new = p + v_new if through_velocity else p - 0.01 * g
    moved = [(stats[0], p, p_new.reshape(-1)[idx].astype(float)), (stats[1], v, v_new.reshape(-1)[idx].astype(float))]
    before = [(_counts(st), steps.via.get(st.text)) for st, _, _ in moved]
    steps.judge(moved, stats, None)
    return stepped_via_unexplained(moved, before, steps)


def test_a_step_through_a_velocity_whose_gradient_is_gone_is_told_from_one_whose_decay_is_seen():
    """Oracle: the update itself, built from its three arrays. With the gradient gone at the scan, the parameter's step
    is ``+1 x`` the velocity's new values while the velocity's change fits nothing: the function is to be looked at
    within its loop. With the gradient returned, the velocity's decay is seen and nothing needs looking at; a step
    that reads no velocity is no such case either."""
    assert _judged_update(gradient_seen=False)
    assert not _judged_update(gradient_seen=True)
    assert not _judged_update(gradient_seen=False, through_velocity=False)


@pytest.mark.parametrize("size", [5, 16, 17, 64, 100, 25_088])
def test_a_fingerprint_reads_the_old_places_and_more_and_leaves_the_observer_s_draws_as_they_were(size):
    # the places drawn from the observer's generator are those a fingerprint read before (16), so every sample drawn
    # after them is drawn as before; the extra places come from a generator of their own
    from netdoctor.observe.numpy.arrays import sample_index
    from netdoctor.observe.numpy.discovery import FINGERPRINT, FINGERPRINT_MORE, fingerprint_index

    rng, old_rng = np.random.default_rng(3), np.random.default_rng(3)
    idx = fingerprint_index(size, rng, np.random.default_rng(11))
    old = sample_index(size, FINGERPRINT, old_rng)
    assert np.all(np.diff(idx) > 0) and idx[0] >= 0 and idx[-1] < size  # sorted, distinct, in range
    assert set(old.tolist()) <= set(idx.tolist())
    assert len(idx) == min(size, len(set(old.tolist()) | set(sample_index(size, FINGERPRINT_MORE, np.random.default_rng(11)).tolist())))
    assert rng.integers(1 << 62) == old_rng.integers(1 << 62)  # the observer's generator left where the old draw left it
