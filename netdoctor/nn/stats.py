"""``np.median``'s value without importing ``numpy.ma``.

NumPy's median checks its result for NaN through ``np.ma.isMaskedArray``, and
NumPy loads ``numpy.ma`` on that first touch: 7-14 ms of CPU, once per
process, which ``netdoctor run`` paid on every program (the observer and the
rules take medians at ~35 places) while a program that never calls
``np.median`` does not. :func:`median` does what ``np.median(values)`` does
for a whole array (``axis=None``): the same partition, the same ``np.mean`` of
the middle one or two values (so the same rounding and result type), NaN when
any value is NaN.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["median", "unique"]


def median(values: Any) -> Any:
    """``np.median(values)``, bit for bit, for the whole (flattened) array.

    Args:
        values: an array or anything ``np.asanyarray`` takes (a list of numbers).

    Returns:
        what ``np.median(values)`` returns: a NumPy scalar (float64 for integers, the input's float type for floats);
        NaN when a value is NaN (the NaN found, as NumPy returns it); NaN with NumPy's warnings for no values.
    """
    a = np.asanyarray(values)
    if a.size == 0 or a.ndim == 0 or type(a) is not np.ndarray:
        return np.median(a)  # no values, one 0-d value, or a subclass (a masked array): NumPy's own path
    flat = a.reshape(-1)
    n = flat.size
    half = n // 2
    nans = flat.dtype.kind in "fcmM"
    kth = [half - 1, half] if n % 2 == 0 else [half]
    if nans:
        kth.append(-1)  # the largest value last: NaN sorts last, so one read tells whether there is any
    part = np.partition(flat, kth)
    middle = part[half - 1:half + 1] if n % 2 == 0 else part[half:half + 1]
    result = np.mean(middle, axis=0)
    if nans and np.isnan(part[-1]):
        return part[-1]
    return result


def unique(values: Any) -> np.ndarray:
    """``np.unique(values)`` (the sorted distinct values, NaN once) without importing ``numpy.ma``.

    NumPy's plain ``np.unique`` asks ``np.ma.is_masked`` before its hash table; asked for the counts it skips that
    question and sorts instead (the same distinct values, in the same order), and the counts are dropped here.
    Sorting costs more than hashing on large arrays: for the small ones (a head of 256 entries, a report's lists).
    """
    return np.unique(values, return_counts=True)[0]
