"""netdoctor.nn.stats.median: ``np.median``'s value, bit for bit, without importing ``numpy.ma``.

The oracle is ``np.median`` itself, on seeded random arrays of every size from 1 to 40 and every kind the rules pass
(lists of floats and ints, float64/float32/float16, integers, booleans, 2-D), and on the edges: NaN anywhere,
infinities, signed zeros, ties, one value, no values.
"""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest

from netdoctor.nn.stats import median, unique


def _same(got, want) -> None:
    """Equal as NumPy returns it: the same type, the same bits (NaN equal to NaN, -0.0 apart from 0.0)."""
    assert type(got) is type(want), (got, want)
    assert np.asarray(got).tobytes() == np.asarray(want).tobytes(), (got, want)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16, np.int64, np.int32, np.uint8, np.bool_])
def test_median_is_numpys_on_random_arrays_of_every_size(dtype):
    rng = np.random.default_rng(7)
    for n in range(1, 41):
        for _ in range(5):
            if np.dtype(dtype).kind == "f":
                a = (rng.standard_normal(n) * 10.0 ** rng.integers(-3, 4)).astype(dtype)
            elif dtype is np.bool_:
                a = rng.integers(0, 2, n).astype(bool)
            else:
                a = rng.integers(0, 200, n).astype(dtype)
            _same(median(a), np.median(a))


def test_median_is_numpys_on_lists_ties_and_shapes():
    rng = np.random.default_rng(3)
    cases = [
        [0.1, 0.2], [3, 1, 2], [1, 2, 3, 4], [2.5] * 6, [1, 1, 2, 2], [0.1 + 0.2, 0.3],
        [1e308, 1e308], [-1e308, -1e308, 5.0], [2 ** 53 + 1, 2 ** 53 + 3], [True, False, True],
        [0.0, -0.0], [-0.0, -0.0], [-0.0], [np.inf, 1.0], [np.inf, -np.inf], [-np.inf, 2.0, 3.0],
        [float(x) for x in rng.standard_normal(101)], [int(x) for x in rng.integers(-5, 5, 64)],
        rng.standard_normal((7, 4)), rng.standard_normal((2, 3, 4)).astype(np.float32), np.float64(2.5), 7,
    ]
    with np.errstate(over="ignore", invalid="ignore"):  # 1e308 + 1e308 and inf - inf, in both
        for values in cases:
            _same(median(values), np.median(values))


@pytest.mark.parametrize("n", [1, 2, 3, 10, 11])
def test_a_nan_anywhere_gives_numpys_nan(n):
    rng = np.random.default_rng(n)
    for at in range(n):
        for dtype in (np.float64, np.float32):
            a = rng.standard_normal(n).astype(dtype)
            a[at] = np.nan
            _same(median(a), np.median(a))
            a[:] = np.nan
            _same(median(a), np.median(a))
    _same(median([1.0, float("nan"), np.inf]), np.median([1.0, float("nan"), np.inf]))


def test_no_values_warn_as_numpy_warns():
    with warnings.catch_warnings(record=True) as ours:
        warnings.simplefilter("always")
        got = median([])
    with warnings.catch_warnings(record=True) as numpys:
        warnings.simplefilter("always")
        want = np.median([])
    _same(got, want)
    assert [str(w.message) for w in ours] == [str(w.message) for w in numpys]


def test_the_input_is_left_as_it_was():
    a = np.array([3.0, 1.0, 2.0, 0.5])
    median(a)
    assert a.tolist() == [3.0, 1.0, 2.0, 0.5]


def test_unique_is_numpys():
    rng = np.random.default_rng(11)
    cases = [rng.integers(0, 5, n) for n in (1, 2, 7, 256)] + [rng.standard_normal(40).round(1), [3.0, np.nan, 1.0, np.nan],
             [np.nan] * 3, [np.inf, -np.inf, 0.0], np.eye(4), [True, False], rng.integers(0, 3, (6, 5)).astype(np.float32)]
    for values in cases:
        got, want = unique(values), np.unique(values)
        assert got.dtype == want.dtype and got.shape == want.shape
        assert np.array_equal(got, want, equal_nan=True)


def test_median_and_unique_do_not_import_numpy_ma():
    code = ("import sys, numpy as np; from netdoctor.nn.stats import median, unique; "
            "median(np.array([1.0, 2.0, np.nan])); median([3, 1, 2]); median(np.ones(4, np.float32)); unique([2.0, 1.0]); "
            "print('numpy.ma' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
