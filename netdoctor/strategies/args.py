"""Argument checks shared by the hypothesis strategies, and their error type.

Every strategy validates its keyword arguments when it is called (not when
it is drawn from), as ``hypothesis.extra.numpy`` does, and raises
:class:`InvalidArgument` with the value passed and what is needed.

This module imports hypothesis (for its error class); ``import netdoctor``
does not import it.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from hypothesis import errors as _hyp_errors
from hypothesis import strategies as st

from netdoctor import errors as _nd_errors

__all__ = ["InvalidArgument"]


class InvalidArgument(_nd_errors.InvalidArgument, _hyp_errors.InvalidArgument):
    """A strategy was called with bad arguments.

    Both :class:`netdoctor.errors.InvalidArgument` and
    :class:`hypothesis.errors.InvalidArgument`, so either ``except`` catches it.
    """


# Users see the class as netdoctor.strategies.InvalidArgument (its documented home).
InvalidArgument.__module__ = "netdoctor.strategies"


def _check_int(name: str, value: Any, low: int, hint: str = "") -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InvalidArgument(f"{name}={value!r} must be an integer >= {low}{hint}.")
    if value < low:
        raise InvalidArgument(f"{name}={value} must be >= {low}{hint}.")
    return int(value)


def _check_order(lo_name: str, lo: int, hi_name: str, hi: int) -> None:
    if lo > hi:
        raise InvalidArgument(f"{lo_name}={lo} is greater than {hi_name}={hi}; pass {lo_name} <= {hi_name}.")


def _check_positive_float(name: str, value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise InvalidArgument(f"{name}={value!r} must be a positive finite number.") from None
    if not (np.isfinite(out) and out > 0):
        raise InvalidArgument(f"{name}={value!r} must be a positive finite number.")
    return out


def _check_float_dtype(dtype: Any) -> np.dtype:
    dt = np.dtype(dtype)
    if dt.kind != "f" or dt.itemsize not in _WIDTHS:
        raise InvalidArgument(f"dtype={dt.name!r} is not a float dtype; use float64 or float32.")
    return dt


_WIDTHS: dict[int, Literal[16, 32, 64]] = {2: 16, 4: 32, 8: 64}


def _float_width(dt: np.dtype) -> Literal[16, 32, 64]:
    """Bits of a float dtype checked by :func:`_check_float_dtype` (hypothesis's ``floats(width=)``)."""
    return _WIDTHS[dt.itemsize]


def _fixed_or_range(name: str, value: int | None, low: int, max_name: str, max_value: int):
    """A strategy for a width that is either fixed (``value``) or drawn from ``low..max_value``."""
    if value is not None:
        return st.just(_check_int(name, value, low))
    _check_order(f"minimum {name}", low, max_name, _check_int(max_name, max_value, low))
    return st.integers(low, max_value)
