"""Reading the program's arrays by path (``netdoctor.observe.numpy.arrays``): the fast readers agree with ``resolve``."""

from __future__ import annotations

import types

import numpy as np
import pytest

from netdoctor.observe.numpy.arrays import ArrayMemo, Cell, path_reader, resolve


class _Net:
    def __init__(self) -> None:
        self.W = np.ones((2, 3))
        self.layers = [{"W": np.zeros(4)}]


class _Loud:
    """A class whose attribute access runs code: the readers must not run it (they read ``__dict__``)."""

    def __init__(self) -> None:
        self.W = np.ones(2)

    def __getattribute__(self, name):  # noqa: D105
        raise AssertionError(f"the program's __getattribute__ ran for {name!r}")


def _cell(value):
    def inner():
        return value

    return Cell(inner.__closure__[0])


ROOTS = {
    "dict": {"W1": np.ones(3), "b1": np.zeros(3), 0: np.arange(4.0)},
    "object": _Net(),
    "cell of a dict": _cell({"W1": np.ones(2)}),
    "cell of a list": _cell([np.ones(2), np.zeros(2)]),
    "cell of an object": _cell(_Net()),
    "list": [np.ones(2), {"W": np.zeros(2)}],
    "namespace": types.SimpleNamespace(W=np.ones(5)),
    "dict subclass": type("Params", (dict,), {})(W1=np.ones(2)),
    "none": None,
    "array": np.ones(3),
}

PATHS = [
    (("item", "W1"),), (("item", "b1"),), (("item", 0),), (("item", 1),), (("item", "missing"),),
    (("attr", "W"),), (("attr", "layers"),), (("attr", "missing"),),
    (("attr", "layers"), ("item", 0), ("item", "W")), (("item", 1), ("item", "W")), (("item", 0), ("attr", "W")),
    (("item", 1), ("attr", "W")), (("item", 0), ("item", 1)), (("item", "W1"), ("item", 0)),
    (("attr", "layers"), ("item", 0), ("attr", "W")), (("item", 1), ("item", "W"), ("item", 1)),
    (),
]


@pytest.mark.parametrize("root", list(ROOTS), ids=list(ROOTS))
def test_a_path_reader_reads_what_resolve_reads(root):
    """The oracle is :func:`resolve`: the same object (or None) for every path from every kind of root, and no code
    of the program runs."""
    obj = ROOTS[root]
    for path in PATHS:
        got, want = path_reader(path)(obj), resolve(obj, path)
        assert got is want or (isinstance(want, np.generic) and got == want), (root, path)  # an entry: a new scalar


def test_a_path_reader_runs_no_code_of_the_program():
    """An attribute is read from the instance's ``__dict__``: a class whose attribute access runs code is not asked."""
    loud = _Loud()
    assert path_reader((("attr", "W"),))(loud) is object.__getattribute__(loud, "__dict__")["W"]
    assert path_reader((("attr", "missing"),))(loud) is None
    holder = {"net": [loud]}
    assert path_reader((("item", "net"), ("item", 0), ("attr", "W")))(holder) is object.__getattribute__(loud, "__dict__")["W"]
    assert path_reader((("item", "net"), ("item", 0), ("attr", "missing")))(holder) is None


def test_a_path_reader_follows_rebinding():
    """A reader made once reads the object bound now, not the one bound when it was made."""
    params = {"W1": np.ones(2)}
    net = _Net()
    read_item, read_attr = path_reader((("item", "W1"),)), path_reader((("attr", "W"),))
    params["W1"] = new_item = params["W1"] - 1.0
    net.W = new_attr = net.W * 2.0
    assert read_item(params) is new_item
    assert read_attr(net) is new_attr
    del net.W
    assert read_attr(net) is None


# -- the fingerprint: the compiled one answers what NumPy's own indexing does -------------------------------------

def _views(a: np.ndarray) -> list[np.ndarray]:
    """The array and views of it that are not C-contiguous (transposed, strided, reversed)."""
    if a.ndim == 0:
        return [a]
    return [a, a.T, a[..., ::2], a[::-1]]


@pytest.mark.parametrize("dtype", ["f8", "f4", "f2", "i4", "u1", "c16", "?", ">f8", "<f4"])
def test_the_compiled_fingerprint_reads_the_entries_numpy_indexing_reads(dtype):
    from netdoctor.observe.numpy.arrays import _py_fingerprint, fingerprint

    if fingerprint is _py_fingerprint:
        pytest.skip("the compiled part is not built here")
    rng = np.random.default_rng(7)
    for shape in [(), (1,), (7,), (5, 3), (4, 3, 2), (30, 784)]:
        base = (rng.standard_normal(shape) * 10).astype(dtype)
        for a in _views(base):
            for k in (0, 1, 5, 16):
                idx = np.sort(rng.choice(a.size, size=min(k, a.size), replace=False))
                # the oracle: NumPy's own flat indexing of the array, as bytes
                assert fingerprint(a, idx) == (id(a), np.asarray(a).flat[idx].tobytes()), (dtype, shape, a.strides)
                assert fingerprint(a, idx) == _py_fingerprint(a, idx)


def test_the_compiled_fingerprint_leaves_what_it_does_not_read_to_numpy():
    from netdoctor.observe.numpy.arrays import _py_fingerprint, fingerprint

    objects = np.array(["a", None], dtype=object)
    assert fingerprint(objects, np.arange(2)) == _py_fingerprint(objects, np.arange(2))
    dates = np.arange(3).astype("M8[D]")  # no buffer export
    assert fingerprint(dates, np.arange(2)) == _py_fingerprint(dates, np.arange(2))
    with pytest.raises(IndexError):  # out of range: NumPy's error, as before
        fingerprint(np.zeros(3), np.array([5]))
    with pytest.warns(PendingDeprecationWarning), pytest.raises(IndexError):
        fingerprint(np.matrix([[1.0, 2.0]]), np.arange(2))  # an np.matrix ravels to one row: NumPy's error, as before
    zeros, narrow = np.zeros(4), np.array([0, 2], dtype=np.int32)  # an index of other than C longs
    assert fingerprint(zeros, narrow) == _py_fingerprint(zeros, narrow)


def test_the_compiled_fingerprint_reads_array_heads_only_once_checked_against_numpy():
    from netdoctor.observe.numpy import arrays

    if arrays._PART is None:
        pytest.skip("the compiled part is not built here")
    a = np.arange(12.0).reshape(3, 4).T
    idx = np.array([0, 5, 11])
    probe = np.zeros((3, 2))
    true_probe = (probe, probe.__array_interface__["data"][0], 2, 3, ord("f"), ord("d"))
    lying = (probe, probe.__array_interface__["data"][0] + 8, 2, 3, ord("f"), ord("d"))  # not where NumPy says
    try:
        assert arrays._PART.set_fingerprint(arrays._py_fingerprint, np.ndarray, [true_probe, lying]) is False
        assert arrays.fingerprint(a, idx) == (id(a), a.flat[idx].tobytes())  # (the buffer protocol's way)
        assert arrays.scan_signature is None or arrays.scan_signature({"W": a}, [((0, "W"),)], [idx]) is None
    finally:
        assert arrays._PART.set_fingerprint(arrays._py_fingerprint, np.ndarray, [true_probe]) is True
    assert arrays.fingerprint(a, idx) == (id(a), a.flat[idx].tobytes())  # (its own reading of the head)


# -- ArrayMemo: a decision per array, reused only while its values are those decided on ---------------------------
def _counting(decide):
    calls = []

    def counted(*args):
        calls.append(args)
        return decide(*args)

    return counted, calls


def test_an_array_memo_decides_again_whatever_changed_in_the_array():
    memo = ArrayMemo(least=16, slots=2, small=0)
    decide, calls = _counting(lambda a: float(a.sum()))
    targets = np.eye(10)[np.arange(40) % 10].T  # a batch of columns: a strided view, as a program hands it
    assert [memo.decided(targets, "sum", lambda: decide(targets)) for _ in range(4)] == [40.0] * 4
    assert len(calls) == 2  # once seen, then decided and copied at its second coming: reused after
    targets[3, 5] = 7.0  # written in place, one entry
    assert memo.decided(targets, "sum", lambda: decide(targets)) == 47.0
    assert memo.decided(targets, "sum", lambda: decide(targets)) == 47.0 and len(calls) == 3
    assert memo.decided(targets, "other", lambda: decide(targets)) == 47.0 and len(calls) == 4  # another question
    nan = targets.copy()
    nan[0, 0] = np.nan  # NaN equals nothing: decided every time, never wrongly reused
    for _ in range(3):
        memo.decided(nan, "sum", lambda: decide(nan))
    assert len(calls) == 7


def test_an_array_memo_never_answers_for_another_array_at_the_same_address():
    memo = ArrayMemo(least=16, small=0)
    seen = []
    for k in range(20):  # a new batch at every step: freed arrays' addresses come back
        a = np.full((8, 4), float(k))
        seen.append(memo.decided(a, "value", lambda a=a: float(a[0, 0])))
        memo.decided(a, "value", lambda a=a: float(a[0, 0]))
        del a
    assert seen == [float(k) for k in range(20)]


def test_an_array_memo_knows_small_arrays_by_their_values():
    memo = ArrayMemo(least=1024, small=16, values=3)
    decide, calls = _counting(lambda a: int(np.argmax(a)))
    for k in (2, 2, 5, 2, 5):  # a per-sample program's target vectors: new arrays, few values
        t = np.eye(8)[k].reshape(-1, 1)
        assert memo.decided(t, "class", lambda t=t: decide(t)) == k
    assert len(calls) == 2
    assert memo.decided(np.eye(8)[2].astype(np.float32), "class", lambda: decide(np.eye(8)[2])) == 2
    assert len(calls) == 3  # another dtype: other bytes, decided again
    for k in (1, 1, 1):  # the table is full (3 kept): decided every time, never dropped for another
        memo.decided(np.eye(8)[k], "class", lambda k=k: decide(np.eye(8)[k]))
    assert len(calls) == 6
    middle = np.zeros((10, 10))  # between small and least: decided every time
    for _ in range(3):
        memo.decided(middle, "class", lambda: decide(middle))
    assert len(calls) == 9


# -- the observer's looks read in one call of C (quick_moved, look_entries, sample_entries) ---------------------------
# Each against an oracle in Python written as the observer's Python reads are (path_reader, ndarray.item, the flat
# entries, np.full of NaN), over the paths and arrays C reads itself and those it must hand back (None / False).

class _Layers:
    def __init__(self) -> None:
        self.W = [np.arange(12.0).reshape(3, 4), np.arange(6.0).reshape(2, 3)]
        self.g = {"W1": np.zeros((3, 4)), "W2": np.ones((2, 3))}


class _DictProperty:
    """A class whose ``__dict__`` is a property: ``object.__getattribute__(obj, "__dict__")`` runs it."""

    @property  # type: ignore[misc]
    def __dict__(self):  # noqa: PLW3201
        return {"W": np.zeros(3)}


_STEPS = {"attr": 1, "item": 0}


def _steps(path: tuple) -> tuple:
    return tuple((_STEPS[kind], key) for kind, key in path)


def _quick_oracle(root, paths, held, quick, seen) -> bool:
    """updates._quick_moved's Python loop."""
    for path, h, q, s in zip(paths, held, quick, seen):
        a = path_reader(path)(root)
        if a is not h or (s is not None and tuple(a.item(int(i)) for i in q) != s):
            return True
    return False


def test_the_quick_look_in_c_answers_as_the_python_look_where_it_answers():
    from netdoctor.observe.numpy.arrays import quick_moved

    if quick_moved is None:
        pytest.skip("the compiled part is not built here")
    net = _Layers()
    paths = [(("attr", "W"), ("item", 0)), (("attr", "W"), ("item", 1)), (("attr", "g"), ("item", "W2"))]
    quick = [np.array([0, 5, 11]), np.array([1, 2, 5]), np.array([0, 3, 3])]

    def take() -> tuple[list, list]:
        held = [path_reader(p)(net) for p in paths]
        return held, [tuple(a.item(int(i)) for i in q) for a, q in zip(held, quick)]

    def ask(held: list, seen: list) -> tuple[bool | None, bool]:
        return quick_moved(net, [_steps(p) for p in paths], held, quick, seen), _quick_oracle(net, paths, held, quick, seen)

    held, seen = take()
    changes = [
        lambda: None,
        lambda: net.W[0].__setitem__((0, 1), -3.0),  # an entry the quick look does not read: not moved
        lambda: net.W[0].__setitem__((1, 1), -3.0),  # one it reads (flat position 5)
        lambda: net.W[1].__setitem__((1, 2), np.nan),  # NaN never equals itself: moved at every look
        lambda: net.g.__setitem__("W2", np.ones((2, 3))),  # rebound to equal values: another object
        lambda: net.W[0].__setitem__((0, 0), -0.0),  # 0.0 -> -0.0: equal as floats
    ]
    answers = []
    for change in changes:
        change()
        got, want = ask(held, seen)
        answers.append(got)
        assert got == want
        if got:
            held, seen = take()
    assert answers == [False, False, True, True, True, True]
    got, want = ask(held, seen)
    assert got == want is True  # (the NaN again)
    net.W[1][1, 2] = 5.0
    held, seen = take()
    assert ask(held, seen) == (False, False)
    assert ask(held, [None, None, None]) == (False, False)  # (nothing read at entries where none were taken)
    # what C hands back to Python: an array of another dtype, a path it does not follow, a missing name, a cell
    net.W[1] = net.W[1].astype(np.float32)
    held, seen = take()
    assert quick_moved(net, [_steps(p) for p in paths], held, quick, seen) is None
    assert quick_moved(net, [((1, "nothing"),), *[_steps(p) for p in paths[1:]]], held, quick, seen) is None
    assert quick_moved(net, [((0, -1),), *[_steps(p) for p in paths[1:]]], held, quick, seen) is None  # (index -1)
    assert quick_moved(Cell(_cell(net)), [_steps(p) for p in paths], held, quick, seen) is None
    assert quick_moved(_DictProperty(), [((1, "W"),)], [None], [np.array([0, 1, 2])], [None]) is None


def test_the_buffers_sampled_in_c_are_the_entries_python_samples():
    from netdoctor.observe.numpy.arrays import sample_entries

    if sample_entries is None:
        pytest.skip("the compiled part is not built here")
    table = np.arange(60.0).reshape(6, 10)
    net = _Layers()  # (an object of a class of the program's: a SimpleNamespace's __dict__ is read in Python)
    net.g, net.d = [table[:, 1:], table.T, np.ones(2), np.zeros((3, 4))], {"b": np.full(5, 2.5)}  # type: ignore[assignment]
    paths = [(("attr", "g"), ("item", 0)), (("attr", "g"), ("item", 1)), None, (("attr", "g"), ("item", 2)),
             (("attr", "d"), ("item", "b")), (("attr", "g"), ("item", 3))]
    idxs = [np.array([0, 7, 20, 53]), np.array([1, 5, 59]), np.array([0, 1]), np.array([0, 1, 3]),  # (too small: NaN)
            np.array([0, 4]), np.array([2, 11])]

    def oracle() -> np.ndarray:  # updates._sample_buffers' Python
        parts = []
        for path, idx in zip(paths, idxs):
            b = path_reader(path)(net) if path is not None else None
            parts.append(b.ravel()[idx] if isinstance(b, np.ndarray) and b.size > idx[-1] and b.flags.c_contiguous
                         else b.flat[idx] if isinstance(b, np.ndarray) and b.size > idx[-1] else np.full(len(idx), np.nan))
        return np.concatenate(parts)

    out = np.empty(sum(len(i) for i in idxs))
    assert sample_entries(net, [None if p is None else _steps(p) for p in paths], idxs, out)
    assert out.tobytes() == oracle().tobytes()  # (NaN's bits too)
    steps = [None if p is None else _steps(p) for p in paths]
    for other in (np.zeros(3, dtype=np.float32), None, [1.0, 2.0]):  # another dtype, a name bound to None, a list
        net.d["b"] = other
        assert sample_entries(net, steps, idxs, out) is False
    net.d["b"] = np.full(5, 2.5)
    assert sample_entries(net, steps, [*idxs[:-1], np.array([11, 2])], out) is False  # (positions out of order)
    assert sample_entries(net, steps, idxs, np.empty(len(out) + 1)) is False  # (not the length asked)
    assert sample_entries(types.SimpleNamespace(**vars(net)), steps, idxs, out) is False  # (its __dict__: a member)


_ROLE_PATHS = ["W1", "b2", "self.weights[0]", "layers[0].dW", "layers[0].x", "grads['W1']", "params['b1']", "nabla_w[1]",
               "self.velocity['W1']", "weight_templates[0]", "cache['A1']", "X_train", "net.h", "h", "optimizer.m[0]"]


def _role_by_names(text: str) -> str:
    """The oracle: :func:`array_role` as it read the names before its answers were remembered (round 17)."""
    import re

    from netdoctor.buffers.roles import path_role
    from netdoctor.observe.numpy.arrays import _CACHE

    names = re.findall(r"[A-Za-z_][A-Za-z_0-9]*", text)
    if names:
        role = path_role(names[-1])
        if role != "other":
            return role
        if _CACHE.match(names[-1]) and len(names) > 1:
            return "other"
    return path_role(text)


def test_array_role_remembers_the_answer_its_names_give_and_forgets_past_its_bound(monkeypatch):
    from netdoctor.observe.numpy import arrays

    monkeypatch.setattr(arrays, "_roles", {})
    for _ in range(2):  # asked, then answered from memory
        assert [arrays.array_role(p) for p in _ROLE_PATHS] == [_role_by_names(p) for p in _ROLE_PATHS]
    assert set(arrays._roles) == set(_ROLE_PATHS)
    monkeypatch.setattr(arrays, "_roles", {f"x{i}": "param" for i in range(4096)})  # full: forgotten, then kept
    assert arrays.array_role("dW1") == "buffer" and arrays._roles == {"dW1": "buffer"}
