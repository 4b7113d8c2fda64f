"""Knobs of the gradient checks, validated once at the public edge.

Default tolerances by dtype and method (``rtol``, ``atol``):

================  ============  ============  ============
dtype             central       complex       directional
================  ============  ============  ============
float64           1e-5, 1e-8    1e-6, 1e-8    1e-5, 1e-8
float32 (*)       1e-2, 1e-4    --            1e-2, 1e-4
================  ============  ============  ============

(*) only when float32 parameters cannot be copied to float64 for the check;
then the default step is 1e-3 (``~ eps32^(1/3)``, where truncation ``h^2`` and
roundoff ``eps/h`` balance).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from numbers import Integral, Real
from typing import Any, Literal, get_args

import numpy as np

from netdoctor._lazy import dataclass
from netdoctor.errors import InvalidArgument

__all__ = ["GradcheckMethod", "METHODS", "DEFAULT_H", "DEFAULT_MAX_COORDS", "Options", "validate", "tolerances"]

GradcheckMethod = Literal["auto", "central", "complex", "directional"]
"""How a gradient is checked; ``"auto"`` chooses per call (see ``gradcheck`` and ``check_gradients``)."""
METHODS: tuple[GradcheckMethod, ...] = get_args(GradcheckMethod)
DEFAULT_H = 1e-5
FLOAT32_H = 1e-3
DEFAULT_MAX_COORDS = 200
H_RANGE = (1e-8, 1e-2)

_TOL = {
    "float64": {"central": (1e-5, 1e-8), "complex": (1e-6, 1e-8), "directional": (1e-5, 1e-8)},
    "float32": {"central": (1e-2, 1e-4), "complex": (1e-2, 1e-4), "directional": (1e-2, 1e-4)},
}


@dataclass(frozen=True)
class Options:
    method: GradcheckMethod
    h: float | None
    rtol: float | Mapping[str, float] | None
    atol: float | None
    max_coords: int | None
    seed: int | np.random.Generator
    n_directions: int


def _is_number(v: Any) -> bool:
    return isinstance(v, Real) and not isinstance(v, bool) and math.isfinite(float(v))


def validate(
    *, method: Any, h: Any, rtol: Any, atol: Any, max_coords: Any, seed: Any, n_directions: Any
) -> Options:
    """Check every knob and return them normalised.

    Raises:
        InvalidArgument: naming the knob, the value passed and what is expected.
    """
    if method not in METHODS:
        raise InvalidArgument(f"method={method!r} is not known; use one of {', '.join(METHODS)}.")
    if h is not None:
        if not _is_number(h):
            raise InvalidArgument(f"h={h!r} is not a number; use 1e-8 to 1e-2 (default 1e-5).")
        if h > H_RANGE[1]:
            raise InvalidArgument(f"h={h!r} is too large for a finite-difference step; use 1e-8 to 1e-2 (default 1e-5).")
        if h < H_RANGE[0]:
            raise InvalidArgument(
                f"h={h!r} is too small for a finite-difference step (roundoff dominates); use 1e-8 to 1e-2 "
                "(default 1e-5)."
            )
        h = float(h)
    if rtol is not None:
        items = rtol.items() if isinstance(rtol, Mapping) else [("rtol", rtol)]
        for key, value in items:
            label = "rtol" if key == "rtol" else f"rtol[{key!r}]"
            if not isinstance(key, str):
                raise InvalidArgument(f"rtol key {key!r} must be a tensor name or a dtype name such as 'float32'.")
            if not _is_number(value) or not 0 < value < 1:
                raise InvalidArgument(
                    f"{label}={value!r} must be a number in (0, 1), e.g. 1e-5 for float64; pass a number or a "
                    "dict of per-tensor / per-dtype values."
                )
        rtol = dict(rtol) if isinstance(rtol, Mapping) else float(rtol)
    if atol is not None:
        if not _is_number(atol) or atol < 0:
            raise InvalidArgument(f"atol={atol!r} must be a number >= 0 (default 1e-8 for float64).")
        atol = float(atol)
    if max_coords is not None:
        if not isinstance(max_coords, Integral) or isinstance(max_coords, bool) or int(max_coords) < 1:
            raise InvalidArgument(
                f"max_coords={max_coords!r} must be a positive integer (entries sampled per tensor), or None for all."
            )
        max_coords = int(max_coords)
    if not isinstance(seed, np.random.Generator):
        if not isinstance(seed, Integral) or isinstance(seed, bool) or seed < 0:
            raise InvalidArgument(f"seed={seed!r} must be a non-negative integer or a numpy Generator.")
    if not isinstance(n_directions, Integral) or isinstance(n_directions, bool) or not 1 <= int(n_directions) <= 1000:
        raise InvalidArgument(f"n_directions={n_directions!r} must be an integer from 1 to 1000 (default 3).")
    chosen: GradcheckMethod = method
    return Options(chosen, h, rtol, atol, max_coords, seed, int(n_directions))


def tolerances(opts: Options, *, name: str, dtype: str, method: str) -> tuple[float, float]:
    """``(rtol, atol)`` for one tensor: explicit per-tensor value, then per-dtype, then the defaults."""
    d_rtol, d_atol = _TOL.get(dtype, _TOL["float32"])[method]
    rtol: float = d_rtol
    if isinstance(opts.rtol, Mapping):
        rtol = opts.rtol.get(name, opts.rtol.get(dtype, d_rtol))
    elif opts.rtol is not None:
        rtol = opts.rtol
    atol = d_atol if opts.atol is None else opts.atol
    return float(rtol), float(atol)


def rng_from(seed: int | np.random.Generator) -> np.random.Generator:
    """A private generator: the global NumPy random state is never touched."""
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
