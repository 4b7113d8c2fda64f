"""find_aliasing: planted shared buffers are found, sharing by construction and healthy nets are not."""

import numpy as np
import pytest
from user_nets import STYLES, load

from netdoctor import MLP, Severity
from netdoctor.buffers.aliasing import Reach, StateSnapshot, find_aliasing, path_role


class Bag:
    """A bare object to hang attributes on."""


def net(**attrs):
    b = Bag()
    for k, v in attrs.items():
        setattr(b, k, v)
    return b


def codes(findings):
    return [(f.code, f.severity.value) for f in findings]


HEALTHY = [(s, None) for s in STYLES]


@pytest.mark.parametrize("style,bug", HEALTHY, ids=[s for s, _ in HEALTHY])
def test_healthy_user_nets_are_quiet(style, bug):
    assert find_aliasing(load(style, bug)) == []


@pytest.mark.parametrize("kw", [dict(), dict(momentum=0.9), dict(reduce="sum", loss="mse")])
def test_reference_mlp_is_quiet(kw):
    assert find_aliasing(MLP((6, 5, 3), **kw)) == []


@pytest.mark.parametrize("style,bug,where", [
    ("column_lists", "assign-template", "weight_templates = weight_updates"),
    ("column_lists", "repeat", "bias_updates[0] = bias_updates[1] = bias_updates[2]"),
    ("momentum", "velocity-is-params", "params = velocity"),
    ("row_dict", "grad-view", "grads['W1'] ~ W1"),
])
def test_planted_aliasing_in_user_nets_is_found(style, bug, where):
    found = find_aliasing(load(style, bug))
    assert where in [f.where for f in found]
    assert all(f.code == "aliased-buffers" and f.severity is Severity.ERROR for f in found)


def test_template_assignment_names_both_lists_with_numbers_and_fix():
    w = [np.ones((3, 2)), np.ones((2, 3))]
    templates = [np.zeros_like(a) for a in w]
    (f,) = find_aliasing(net(weights=w, weight_templates=templates, weight_updates=templates))
    assert f.where == "weight_templates = weight_updates"
    assert f.evidence["paths"] == ["weight_templates", "weight_updates"]
    assert f.evidence["shapes"] == [[3, 2], [2, 3]]
    # Same structure, other objects: the finding must not change (no id() in it).
    w2 = [a.copy() for a in w]
    t2 = [np.zeros_like(a) for a in w]
    (again,) = find_aliasing(net(weights=w2, weight_templates=t2, weight_updates=t2))
    assert again.to_dict() == f.to_dict()
    assert "np.zeros_like(w) for w in self.weights" in f.fix
    assert "sums of all earlier batches" in f.explanation


def test_the_canonical_example_is_found_and_its_fix_is_clean():
    import importlib.util
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "examples"
    found = {}
    for name in ("handwritten_mnist", "handwritten_mnist_fixed"):
        spec = importlib.util.spec_from_file_location(name, root / f"{name}.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        found[name] = find_aliasing(mod.build())
    assert sorted(f.where for f in found["handwritten_mnist"]) == [
        "bias_templates = bias_updates", "weight_templates = weight_updates"]
    assert found["handwritten_mnist_fixed"] == []


def test_repeated_array_in_list():
    (f,) = find_aliasing(net(biases=[np.zeros(4)] * 3))
    assert f.where == "biases[0] = biases[1] = biases[2]" and f.severity is Severity.ERROR
    assert "[np.zeros(n) for _ in range(3)]" in f.fix


@pytest.mark.parametrize("make_view", [
    lambda W: W[:], lambda W: W.reshape(-1), lambda W: W.T, lambda W: W[1:, :],
], ids=["slice-all", "reshape", "transpose", "partial-slice"])
def test_gradient_view_of_weights(make_view):
    W = np.arange(12.0).reshape(3, 4)
    (f,) = find_aliasing(net(W1=W, dW1=make_view(W)))
    assert f.severity is Severity.ERROR and set(f.evidence["paths"]) == {"W1", "dW1"}


def test_disjoint_views_of_one_flat_vector_are_fine():
    flat = np.zeros(20)
    grad_flat = np.zeros(20)
    m = net(flat=flat, params={"W1": flat[:12].reshape(3, 4), "b1": flat[12:16], "W2": flat[16:]},
            grads={"W1": grad_flat[:12].reshape(3, 4), "b1": grad_flat[12:16], "W2": grad_flat[16:]})
    assert find_aliasing(m) == []


def test_params_dict_and_attribute_handles_are_not_reported():
    W = np.ones((2, 2))
    data = np.ones((5, 2))
    data.flags.writeable = False
    m = net(W1=W, params={"W1": W}, layers=[{"W": W}], X=data, X_train_view=data[:3], grad_buffer=data)
    assert find_aliasing(m) == []


def test_ambiguous_sharing_is_a_warning():
    a = np.zeros(3)
    (f,) = find_aliasing(net(update_buffer=a, scratch=a))
    assert f.severity is Severity.WARNING


def test_cycles_depth_and_slots_are_handled():
    class Slotted:
        __slots__ = ("grad", "weights")

    s = Slotted()
    s.weights = [np.ones(3)]
    s.grad = s.weights[0]
    outer = net(inner=s)
    outer.me = outer
    outer.deep = net(a=net(b=net(c=net(d=net(grads=[np.zeros(2)] * 2)))))
    found = find_aliasing(outer)
    assert [set(f.evidence["paths"]) for f in found] == [{"inner.weights[0]", "inner.grad"}]  # deep one: too deep
    assert len(find_aliasing(outer, max_depth=8)) == 2


def test_path_roles():
    assert path_role("weight_updates") == "buffer"
    assert path_role("optimizer.velocity['W1']") == "buffer"
    assert path_role("dW1") == "buffer"
    assert path_role("params['W1']") == "param"
    assert path_role("layers[0].W") == "param"
    assert path_role("X_train") == "other"


def test_state_snapshot_restores_bindings_and_bytes():
    rng = np.random.default_rng(0)
    m = net(weights=[np.ones(3)], d={"a": np.zeros(2)}, rng=rng, count=1)
    first = m.weights[0]
    snap = StateSnapshot(m)
    before = rng.bit_generator.state
    m.weights[0] += 1
    m.weights = [np.zeros(3)]
    m.d["b"] = 1
    m.count = 5
    rng.normal()
    snap.restore()
    assert m.weights[0] is first and np.array_equal(first, np.ones(3))
    assert list(m.d) == ["a"] and m.count == 1 and rng.bit_generator.state == before


def test_root_array_is_where_every_view_of_one_array_leads():
    from netdoctor.buffers.reach import root_array

    X = np.arange(60.0).reshape(6, 10).copy()  # owns its memory (a reshape is a view of the arange)
    views = [X[1:], X[::2][1:], X.T, X.reshape(60)[5:], X[2].view(np.int64)]
    for v in views:
        root = root_array(v)
        assert root.base is None and np.shares_memory(root, v)
        assert root is root_array(X) is X
    assert root_array(X.copy()) is not X
    windows = np.lib.stride_tricks.sliding_window_view(X, 3, axis=1)  # stride tricks keep a base that is no array
    assert root_array(windows) is windows
    raw = bytearray(80)
    flat = np.frombuffer(raw)  # the root is the array that views the foreign buffer, not the buffer
    assert root_array(flat[2:][::2]) is flat and flat.base is not None


def test_reach_samples_long_lists():
    m = net(samples=[np.zeros(2) for _ in range(1000)])
    r = Reach(m)
    assert r.truncated and len(r.arrays()) == 256


# -- properties: fresh buffers never reported, a planted share always is --------
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

PARAM_NAMES = ["weights", "biases", "W1", "params"]
BUFFER_NAMES = ["grads", "weight_updates", "velocity", "nabla_b"]


@st.composite
def fresh_models(draw):
    names = draw(st.lists(st.sampled_from(PARAM_NAMES + BUFFER_NAMES + ["X", "history"]), min_size=2,
                          max_size=6, unique=True))
    attrs = {}
    for name in names:
        shapes = draw(st.lists(st.tuples(st.integers(1, 4), st.integers(1, 4)), min_size=1, max_size=3))
        kind = draw(st.sampled_from(["array", "list", "dict"]))
        arrays = [np.zeros(s) for s in shapes]
        attrs[name] = arrays[0] if kind == "array" else arrays if kind == "list" else {
            f"k{i}": a for i, a in enumerate(arrays)}
    return attrs


@settings(max_examples=60, deadline=None)
@given(fresh_models())
def test_fresh_buffers_are_never_reported(attrs):
    assert find_aliasing(net(**attrs)) == []


@settings(max_examples=60, deadline=None)
@given(fresh_models(), st.sampled_from(BUFFER_NAMES), st.sampled_from(["same", "view", "repeat"]))
def test_planted_share_is_always_found(attrs, buffer, how):
    target = next((k for k in attrs if k != buffer), None)
    src = attrs[target]
    first = src if isinstance(src, np.ndarray) else (src[0] if isinstance(src, list) else next(iter(src.values())))
    if how == "same":
        attrs[buffer] = src
    elif how == "view":
        attrs[buffer] = first[:]
    else:
        attrs[buffer] = [np.zeros(3)] * 2
    found = find_aliasing(net(**attrs))
    assert found and all(f.code == "aliased-buffers" for f in found)
    if how == "repeat":
        assert any(f.where == f"{buffer}[0] = {buffer}[1]" and f.severity is Severity.ERROR for f in found)
    else:
        paths = {p.split("[")[0] for f in found for p in f.evidence["paths"]}
        assert {buffer, target} <= paths
        # buffer on a parameter or another buffer is an error; on data it is a warning
        expected = Severity.WARNING if path_role(target) == "other" else Severity.ERROR
        assert any(f.severity is expected for f in found)


def test_aliased_template_text_states_the_measured_weight_not_full_reapplication():
    """The template buffer is scaled in place by lr=0.06 before it is applied: the probe measures earlier
    gradients coming back with weight 0.06, and the aliased-buffers text says that, not 'every earlier gradient'."""
    from netdoctor.diagnosis.pipeline import diagnose

    rng = np.random.default_rng(0)
    y = np.arange(400) % 4
    X = rng.normal(0, 0.5, (400, 12)) + np.eye(4, 12)[y] * 2
    report = diagnose(load("scaled_template", "assign-template"), X, y, epochs=1, experiments=False)
    (f,) = [f for f in report.findings if f.code == "aliased-buffers" and "zero_W" in f.where]
    weight = report.sections["probe"]["history_weight"]
    assert 0.03 < weight < 0.1
    assert "every update re-applies every earlier gradient" not in f.explanation
    assert f"{weight:.2f}" in f.explanation and f.evidence["history_weight"] == weight


# -- the walk against its definition ------------------------------------------
def _is_table(obj):
    """A data set kept as lists, by definition: more than 8 items, the first and the last a number or (three levels
    down) a list or tuple whose first and last items are."""
    def numbers(v, depth):
        if isinstance(v, (str, bytes, int, float, complex, bool, type(None), np.generic, range, slice, np.dtype)):
            return True
        return depth > 0 and type(v) in (list, tuple) and len(v) > 0 and numbers(v[0], depth - 1) and numbers(v[-1], depth - 1)
    return type(obj) in (list, tuple) and len(obj) > 8 and numbers(obj[0], 3) and numbers(obj[-1], 3)


def _reach_by_definition(root, max_depth=6, max_items=256, tables=True):
    """Reach written as its docstring says, one object at a time through ``_children`` (the walk before its list
    fast path): breadth first, each object expanded at its first encounter, every further encounter an extra edge;
    without ``tables``, a data set kept as lists is a node whose items are not walked (the walk is truncated there)."""
    from netdoctor.buffers.reach import _children, _join

    nodes, first, edges, truncated = {id(root): root}, {id(root): ""}, {id(root): []}, False
    frontier = [(root, 0)]
    while frontier:
        nxt = []
        for obj, depth in frontier:
            if depth >= max_depth:
                truncated = truncated or bool(list(_children(obj, 1)))
                continue
            if not tables and _is_table(obj):
                truncated = True
                continue
            for label, child in _children(obj, max_items):
                if label is None:
                    truncated = True
                    continue
                if id(child) in edges:
                    edges[id(child)].append((id(obj), label))
                    continue
                edges[id(child)] = [(id(obj), label)]
                nodes[id(child)] = child
                first[id(child)] = _join(first[id(obj)], label)
                nxt.append((child, depth + 1))
        frontier = nxt
    return nodes, first, edges, truncated


class _Slotted:
    __slots__ = ("w", "g")

    def __init__(self, w, g):
        self.w, self.g = w, g


class _MyList(list):
    pass


def _graphs(draw):
    """A random object graph of lists, tuples, dicts, list subclasses, slotted and plain objects, arrays and numbers,
    with objects shared between places (repeats in one list, one object under two names)."""
    pool = [np.zeros(2), [1.0], [[0.5]], np.ones((2, 2))]
    def value(level):
        kind = draw(st.sampled_from(["num", "array", "shared", "list", "tuple", "dict", "mylist", "obj", "slots", "long", "table"]
                                    if level < 3 else ["num", "array", "shared"]))
        if kind == "num":
            return draw(st.sampled_from([1, 2.5, "s", None, True, np.float64(3.0)]))
        if kind == "array":
            a = np.zeros(draw(st.integers(1, 3)))
            pool.append(a)
            return a
        if kind == "shared":
            return draw(st.sampled_from(pool))
        if kind == "long":  # longer than the items looked at
            return [[float(i)] for i in range(draw(st.integers(3, 7)))]
        if kind == "table":  # a data set kept as lists: rows of numbers, or (column, label) samples, some repeated
            made = [[float(i), 1.0] for i in range(draw(st.integers(7, 11)))] if draw(st.booleans()) else [
                ([[float(i)], [2.0]], i) for i in range(draw(st.integers(7, 11)))]
            made += made[:draw(st.integers(0, 2))]
            pool.append(made)
            return made
        items = [value(level + 1) for _ in range(draw(st.integers(0, 3)))]
        if kind in ("list", "mylist", "tuple"):
            made = tuple(items) if kind == "tuple" else _MyList(items) if kind == "mylist" else items
        elif kind == "dict":
            made = {f"k{i}": v for i, v in enumerate(items)}
        elif kind == "slots":
            made = _Slotted(items[0] if items else 1, items)
        else:
            made = net(**{f"a{i}": v for i, v in enumerate(items)})
        if not isinstance(made, tuple):
            pool.append(made)
        return made
    return net(**{f"top{i}": value(0) for i in range(draw(st.integers(1, 4)))})


@given(st.data(), st.integers(1, 6), st.integers(1, 5), st.booleans())
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_reach_is_the_walk_its_definition_gives(data, max_depth, max_items, tables):
    root = _graphs(data.draw)
    r = Reach(root, max_depth=max_depth, max_items=max_items, tables=tables)
    nodes, first, edges, truncated = _reach_by_definition(root, max_depth, max_items, tables)
    assert list(r.nodes) == list(nodes) and r.first == first and r.edges == edges and r.truncated == truncated


def test_reach_of_a_data_set_kept_as_lists_is_the_walk_its_definition_gives():
    rows = [[float(v) for v in range(300)] for _ in range(40)]
    train = [([[v] for v in row[1:]], int(row[0])) for row in rows[:30]]
    train.append(train[0])  # a sample twice: one object, two edges
    root = net(rows=rows, train=train, W=np.zeros((3, 4)))
    r = Reach(root)
    nodes, first, edges, truncated = _reach_by_definition(root)
    assert list(r.nodes) == list(nodes) and r.first == first and r.edges == edges and r.truncated == truncated
    assert len(r.edges[id(train[0])]) == 2 and r.truncated


def test_a_data_set_kept_as_lists_is_a_node_not_walked_without_tables():
    rows = [[float(v) for v in range(300)] for _ in range(40)]
    train = [([[v] for v in row[1:]], int(row[0])) for row in rows[:30]]
    root = net(rows=rows, again=rows, train=train, W=np.zeros((3, 4)), dW=np.zeros((3, 4)), grads=[np.zeros(4)] * 2)
    r = Reach(root, tables=False)
    assert id(rows) in r.nodes and id(train) in r.nodes and r.truncated
    assert id(rows[0]) not in r.nodes and id(train[0]) not in r.nodes and len(r.nodes) == 7  # root, rows, train, W, dW, grads, its array
    assert len(r.edges[id(rows)]) == 2  # one table under two names still shows
    # the buffers beside it are judged as with the table walked: the repeated gradient buffer, the table's second name
    assert [f.where for f in find_aliasing(root, tables=False)] == [f.where for f in find_aliasing(root)]
    assert len(Reach(root).nodes) > 7_000  # with the table walked: 30 samples of 256 lists

SHALLOW = '''
import copy
zero = {"W": None}
a = dict(zero)
b = zero.copy()
c = copy.copy(zero)
d = zero_list[:]
e = {**zero}
f = list(zero_list)
g = zero["W"].copy()
h = {k: v.copy() for k, v in zero.items()}
i = copy.deepcopy(zero)
j = zero_list[1:]


def train():
    for step in range(3):
        grads = dict(zero)
        fresh = {k: 0 * v for k, v in zero.items()}
'''


def test_shallow_copies_of_a_container_are_told_from_the_source(tmp_path):
    """``dict(z)``, ``z.copy()``, ``copy.copy(z)``, ``z[:]``, ``{**z}``, ``list(z)`` copy the container, not what it holds;
    a comprehension of copies, a deep copy and a slice of part of a list share nothing with the other name
    (``g = zero['W'].copy()`` is read as a copy too: an array's copy never gives two names to one object, which the
    observer asks before it looks at a copy)."""
    import ast

    from netdoctor.observe.source import copied_names, shallow_copy_source

    path = tmp_path / "shallow.py"
    path.write_text(SHALLOW, encoding="utf-8")
    assert copied_names(str(path)) == frozenset("abcdefg")
    assert copied_names(str(path), SHALLOW.splitlines().index("def train():") + 1) == {"grads"}
    assert shallow_copy_source(ast.parse("x = np.zeros_like(z)").body[0]) is None


def test_a_local_shallow_copy_names_the_arrays_of_a_container_kept_elsewhere():
    """The copy is a local of the training function (``grads = dict(zero_grads)``), the source a module global: one
    name in each scope, reported through the copy's name; a local naming the buffer itself is not."""
    from netdoctor.buffers.aliasing import second_names

    zero = {"W": np.ones((2, 3)), "b": np.ones(3)}
    local = {"grads": dict(zero), "x": np.ones(3)}
    targets = {id(zero["W"]): "zero['W']", id(zero["b"]): "zero['b']"}
    assert second_names(local, targets, copies={"grads"}) == {id(zero["W"]): ["grads['W']"], id(zero["b"]): ["grads['b']"]}
    assert second_names(local, targets) == {}  # reached once: the buffer under a local name of its own
    assert second_names({"g": zero["W"]}, targets, copies={"grads"}) == {}
