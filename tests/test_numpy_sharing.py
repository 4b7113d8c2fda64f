"""netdoctor.observe.numpy.sharing: the rows of a data set as a set (a shuffle keeps it, a write changes it)."""

from __future__ import annotations

import numpy as np
import pytest

from netdoctor.observe.numpy.sharing import row_set, same_rows


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64, np.uint8])
def test_row_set_is_the_sorted_row_sums_and_sums_of_squares(dtype):
    rng = np.random.default_rng(3)
    a = (rng.random((200, 13)) * 200).astype(dtype)
    sums, squares = row_set(a)
    rows = [[float(x) for x in r] for r in a]  # the oracle: one row at a time, in Python floats
    assert np.allclose(sums, sorted(sum(r) for r in rows), rtol=1e-12)
    assert np.allclose(squares, sorted(sum(x * x for x in r) for r in rows), rtol=1e-12)


def test_a_shuffle_keeps_the_rows_and_a_write_into_one_row_does_not():
    rng = np.random.default_rng(4)
    a = rng.random((500, 784))
    before = row_set(a)
    shuffled = a[rng.permutation(len(a))]
    assert same_rows(before, row_set(shuffled))
    shuffled[17] *= 0.95
    assert not same_rows(before, row_set(shuffled))
    assert row_set(a[:, 0]) is None  # a vector has no rows
