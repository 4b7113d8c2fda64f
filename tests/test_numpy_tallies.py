"""Class counts taken in batches (``observe/numpy/tallies.py``) against counting each batch on arrival."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netdoctor.observe.numpy.tallies import PENDING, ClassTally

BATCH = st.one_of(
    st.tuples(st.just("rows"), st.integers(1, 40), st.integers(2, 12)),
    st.tuples(st.just("labels"), st.integers(1, 40), st.integers(2, 12)),
    st.tuples(st.just("one"), st.integers(0, 11), st.just(0)),
)


def _oracle(batches: list[tuple[str, np.ndarray | int]]) -> Counter:
    """Each row's class counted on its own, in a Python loop (the argmax of a row, a label's value)."""
    out: Counter = Counter()
    for kind, b in batches:
        if kind == "one":
            out[int(b)] += 1
        elif kind == "rows":
            for row in np.asarray(b):
                out[int(np.argmax(row))] += 1
        else:
            for label in np.asarray(b).tolist():
                out[label] += 1
    return out


@settings(max_examples=60, deadline=None)
@given(st.lists(BATCH, max_size=30), st.integers(0, 2**32 - 1))
def test_counts_equal_counting_each_row_on_arrival(plan, seed):
    rng = np.random.default_rng(seed)
    tally, seen = ClassTally(), []
    for kind, n, c in plan:
        if kind == "one":
            tally.add_one(n)
            seen.append(("one", n))
        elif kind == "rows":
            rows = rng.normal(size=(n, c))
            tally.add_rows(rows)
            seen.append(("rows", rows.copy()))
            rows[:] = 0.0  # the program writes into its array after handing it over: the tally kept a copy
        else:
            labels = rng.integers(0, c, n)
            tally.add_counts(np.bincount(labels, minlength=c), n)
            seen.append(("labels", labels))
    assert tally.counter() == _oracle(seen)
    assert tally.rows == sum(_oracle(seen).values())
    assert bool(tally) == bool(seen)


def test_many_batches_are_counted_before_too_many_wait():
    rng = np.random.default_rng(0)
    tally, seen = ClassTally(), []
    for _ in range(3 * PENDING // (30 * 10)):
        rows = rng.normal(size=(30, 10))
        tally.add_rows(rows)
        seen.append(("rows", rows))
        assert tally._entries <= PENDING
    assert tally.counter() == _oracle(seen)


def test_a_nan_or_inf_anywhere_is_not_finite_counted_or_waiting():
    tally = ClassTally()
    tally.add_rows(np.ones((4, 3)))
    assert tally.finite()
    bad = np.ones((4, 3))
    bad[2, 1] = np.nan
    tally.add_rows(bad)
    assert not tally.finite()
    tally.counter()  # counted: what waited is gone, the answer stays
    assert not tally.finite()
    inf = ClassTally()
    inf.add_rows(np.array([[1.0, -np.inf]]))
    assert not inf.finite()
    # a finite sum that overflows is not taken for an infinite entry
    big = ClassTally()
    big.add_rows(np.full((3, 2), 1e308))
    assert big.finite()


@pytest.mark.parametrize("layout", ["rows", "columns", "integers", "nan"])
def test_a_batch_that_fills_the_waiting_room_is_counted_as_it_comes(layout):
    # a full batch (more entries than PENDING) is counted at once from the program's own array (no copy): counts and
    # finiteness are those of counting every row on arrival, whatever waited before it, and whatever the program
    # writes into its array afterwards
    rng = np.random.default_rng(1)
    tally, seen = ClassTally(), []
    small = rng.normal(size=(30, 10))
    tally.add_rows(small)
    seen.append(("rows", small.copy()))
    n = PENDING // 10 + 7
    if layout == "columns":  # a (10, N) output whose rows are its transpose, as a column-layout program's
        big = rng.normal(size=(10, n)).T
    elif layout == "integers":  # one-hot codes as integers, ties nowhere
        big = np.eye(10, dtype=np.int64)[rng.integers(0, 10, n)]
    else:
        big = rng.normal(size=(n, 10))
    if layout == "nan":
        big[5, 3] = np.nan
    tally.add_rows(big)
    seen.append(("rows", np.array(big, dtype=float)))
    assert tally._entries == 0  # counted: nothing of the program's is kept
    big[...] = 0  # the program's next step writes into its array
    assert tally.counter() == _oracle(seen)
    assert tally.rows == 30 + n
    assert tally.finite() == (layout != "nan")
