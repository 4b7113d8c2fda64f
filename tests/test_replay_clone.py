"""The replay's copies of lists of rows (:func:`~netdoctor.observe.numpy.replay.clone`).

A per-sample program hands its forward a sample kept as a list of one-value lists (the forum program: 784 cells of
a CSV row, each ``[item / 255]``, a NumPy float). Those are copied in one call of C
(:data:`~netdoctor.observe.numpy.arrays.clone_rows`); the oracle is the same :func:`clone` with that call taken away
(every item copied in Python), compared by what a copy is made of: which objects are the originals' atoms, which
lists are new, and which copies are one object (a list reached twice is copied once).
"""

from __future__ import annotations

import os
import random
import sys
from typing import Any

import numpy as np
import pytest

from netdoctor.observe.numpy import replay as replay_module
from netdoctor.observe.numpy.arrays import clone_rows
from netdoctor.observe.numpy.replay import CallSite, Replay, clone

needs_c = pytest.mark.skipif(clone_rows is None, reason="the compiled part is not built here")


def test_the_compiled_copy_is_there_where_it_is_required():
    if os.environ.get("NETDOCTOR_REQUIRE_CTRACE", "") not in ("", "0"):
        assert clone_rows is not None


def _shape(y: Any, originals: set[int], seen: dict[int, int]) -> Any:
    """What ``y`` is made of: a container as (its kind, its number in order of first sight, whether it is an original,
    its items), one seen before as ("again", its number); an array as ("array", its number, whether it is an original);
    anything else as ("atom", its id): the originals' atoms are kept, so their ids are the same in both copies."""
    if type(y) in (list, tuple, dict, np.ndarray):
        if id(y) in seen:
            return ("again", seen[id(y)])
        seen[id(y)] = len(seen)
        if type(y) is np.ndarray:
            return ("array", seen[id(y)], id(y) in originals, y.tolist())
        items = y.items() if type(y) is dict else enumerate(y)
        return (type(y).__name__, seen[id(y)], id(y) in originals, [(k, _shape(v, originals, seen)) for k, v in items])
    return ("atom", id(y))


def _originals(x: Any, out: set[int]) -> set[int]:
    if type(x) in (list, tuple, dict, np.ndarray) and id(x) not in out:
        out.add(id(x))
        for v in (x.values() if type(x) is dict else [] if type(x) is np.ndarray else x):
            _originals(v, out)
    return out


def _both(x: Any, memo_in: dict[int, Any] | None = None) -> tuple[Any, Any]:
    """The shapes of ``clone(x)`` with the compiled copy and without it (each from a fresh copy of ``memo_in``), and
    the lists each memo holds copies of, by the originals' ids."""
    originals = _originals(x, set())
    out = []
    for compiled in (True, False):
        memo = dict(memo_in or {})
        saved = replay_module.clone_rows
        replay_module.clone_rows = saved if compiled else None
        try:
            y = clone(x, memo)
        finally:
            replay_module.clone_rows = saved
        keep = {id(v) for v in memo.get(id(memo), [])}
        held = {k: v for k, v in memo.items() if k != id(memo)}
        seen: dict[int, int] = {}
        shape = _shape(y, originals, seen)
        # the memo's copies, named as in the shape (a copy made here) or by id (one handed in)
        copies = {k: seen.get(id(v), ("in", id(v))) for k, v in held.items()}
        out.append((shape, copies, keep))
    return out[0], out[1]


def _sample(seed: int) -> list[Any]:
    """A row of a CSV as the forum program keeps it, with the kinds of items a list of rows may also hold."""
    rng = random.Random(seed)
    row = np.arange(12, dtype=np.float64) * seed
    x: list[Any] = [[item / 255] for item in row]  # NumPy floats, one per list
    shared = [1.5, 2]
    for _ in range(rng.randint(0, 4)):
        x.insert(rng.randrange(len(x) + 1), rng.choice([shared, [3, "s", True], [], 7, 2.5, "t", np.int32(4),
                                                        [np.float32(1.0), 1.0]]))
    return x


@needs_c
@pytest.mark.parametrize("seed", range(12))
def test_rows_copied_in_c_are_what_python_copies(seed):
    x = _sample(seed)
    with_c, without = _both(x)
    assert with_c == without
    y = clone(x, {})
    assert all(a is not b for a, b in zip(y, x) if type(a) is list)  # every row a new list
    k = next(k for k, v in enumerate(x) if type(v) is list and len(v) == 1)
    y[k][0] = 9.0
    assert x[k][0] != 9.0  # ... that the copy's writes never reach


@needs_c
@pytest.mark.parametrize("case", ["row reached twice", "row already copied", "list holds itself", "a dict among rows",
                                  "a tuple row", "a list of lists of lists", "a row of arrays", "atoms only"])
def test_aliasing_and_what_c_leaves_to_python(case):
    row = [np.float64(0.5)]
    memo_in: dict[int, Any] = {}
    if case == "row reached twice":
        x: list[Any] = [row, [1.0], row, row]
    elif case == "row already copied":
        x = [[2.0], row]
        memo_in = {id(row): ["a copy made before"]}
    elif case == "list holds itself":
        x = [row, [3.0]]
        x.append(x)
    elif case == "a dict among rows":
        x = [row, {"k": row}, row]
    elif case == "a tuple row":
        x = [row, (1.0, 2.0), row]
    elif case == "a list of lists of lists":
        x = [row, [row], [[1.0]]]
    elif case == "a row of arrays":
        x = [row, [np.zeros(2)]]
    else:
        x = [np.float64(1.0), 2, "s"]
    with_c, without = _both(x, memo_in)
    assert with_c == without


@needs_c
def test_the_memo_holds_each_row_once_and_keeps_its_original_alive():
    row = [np.float64(0.25)]
    x = [row, [1.0], row]
    memo: dict[int, Any] = {}
    keep: list[Any] = []
    y = clone_rows(x, memo, keep, np.generic)
    assert y is not None and y[0] is y[2] and y[0] is memo[id(row)] and y[0] == row and y[0] is not row
    assert sorted(map(id, keep)) == sorted([id(row), id(x[1])])
    assert y[1] is memo[id(x[1])]
    assert clone_rows([row, {"k": 1}], {}, [], np.generic) is None  # a dict: copied in Python


def _forward(self, input):  # noqa: A002 - the forum program's name
    input[0][0] = -1.0  # a forward that writes into its sample's rows: the replay must write into its copies
    return sum(v[0] for v in input)


class _Net:
    pass


def test_a_replay_never_writes_into_the_programs_rows():
    net = _Net()
    data = [[np.float64(i) / 255] for i in range(1, 785)]
    before = [list(v) for v in data]
    sites = []

    def tracer(frame, event, arg):
        if event == "call" and frame.f_code is _forward.__code__:
            sites.append(CallSite.of(frame))

    sys.settrace(tracer)
    try:
        _forward(net, [list(v) for v in data])  # the program's own call, on another list
    finally:
        sys.settrace(None)
    site = sites[0]
    site = CallSite(site.code, site.globals, {**site.args, "input": data}, site.free)
    out = Replay(site, {}).call()
    assert data == before  # the program's rows as they were
    assert np.isclose(out, -1.0 + sum(i / 255 for i in range(2, 785)))  # the replay computed with its copy's write
