"""Class counts taken in batches (``observe/numpy/tallies.py``) against counting each batch on arrival."""

from __future__ import annotations

from collections import Counter

import numpy as np
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
