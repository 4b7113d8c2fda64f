"""Hypothesis strategies for what flows through a model: batches, weights, perturbations.

* :func:`batches` draws mini-batches ``(X, y)`` matched to a model's input
  width ``D`` and class count ``C``;
* :func:`weight_arrays` draws bounded finite float arrays of a given shape;
* :func:`perturbations` draws one delta per parameter, shaped like
  ``model.params``, for directional-derivative and undo checks.

All shrink toward zeros (and one sample with label 0). Re-exported by
:mod:`netdoctor.strategies`, the documented home. This module imports
hypothesis; ``import netdoctor`` does not import it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from netdoctor.strategies.args import (
    InvalidArgument,
    _check_float_dtype,
    _check_int,
    _check_order,
    _check_positive_float,
    _float_width,
)

__all__ = ["batches", "weight_arrays", "perturbations"]


def _model_widths(model: Any, n_inputs: int | None, n_classes: int | None) -> tuple[int, int]:
    sizes = getattr(model, "sizes", None)
    if n_inputs is None:
        n_inputs = sizes[0] if sizes is not None else getattr(model, "n_inputs", None)
    if n_classes is None:
        n_classes = sizes[-1] if sizes is not None else getattr(model, "n_classes", None)
    if n_inputs is None or n_classes is None:
        raise InvalidArgument(
            f"cannot tell the input width and class count of {type(model).__name__}; give the model "
            "`sizes` (or `n_inputs` and `n_classes` attributes), or pass n_inputs= and n_classes=."
        )
    return _check_int("n_inputs", n_inputs, 1), _check_int("n_classes", n_classes, 1)


def batches(
    model: Any = None,
    *,
    min_samples: int = 1,
    max_samples: int = 8,
    n_inputs: int | None = None,
    n_classes: int | None = None,
    dtype: Any = "float64",
):
    """Mini-batches ``(X, y)`` matched to a model.

    ``X`` is ``(N, D)`` with entries in ``[0, 1]`` (the protocol's input
    scaling), ``y`` is ``(N,)`` integer labels in ``0..C-1``. ``D`` and ``C``
    come from ``model.sizes`` (the reference MLP), from ``model.n_inputs`` /
    ``model.n_classes``, or from the keyword arguments.

    Shrinks toward one sample of zeros with label 0.
    """
    d, c = _model_widths(model, n_inputs, n_classes)
    min_samples = _check_int("min_samples", min_samples, 1)
    max_samples = _check_int("max_samples", max_samples, 1)
    _check_order("min_samples", min_samples, "max_samples", max_samples)
    dt = _check_float_dtype(dtype)
    # Subnormal inputs only test the FPU, not the network.
    elements = st.floats(0.0, 1.0, width=_float_width(dt), allow_subnormal=False)

    @st.composite
    def _batches(draw):
        n = draw(st.integers(min_samples, max_samples))
        X = draw(hnp.arrays(dt, (n, d), elements=elements))
        y = draw(hnp.arrays(np.intp, (n,), elements=st.integers(0, c - 1)))
        return X, y

    return _batches()


def weight_arrays(shape, *, dtype: Any = "float64", max_magnitude: float = 2.0):
    """Finite float arrays of ``shape`` with entries in ``[-max_magnitude, max_magnitude]``.

    Args:
        shape: an int, a tuple of ints, or a strategy for either
            (e.g. ``hypothesis.extra.numpy.array_shapes()``).
        dtype: a float dtype.
        max_magnitude: bound on every entry's absolute value.

    Shrinks toward all zeros.
    """
    dt = _check_float_dtype(dtype)
    bound = _check_positive_float("max_magnitude", max_magnitude)
    if not isinstance(shape, st.SearchStrategy):
        dims = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
        for v in dims:
            _check_int("shape entry", v, 0, f" (got shape={shape!r})")
    # The bound must be exactly representable in dt; round it toward zero.
    b = dt.type(bound)
    if float(b) > bound:
        b = np.nextafter(b, dt.type(0))
    bound = float(b)
    elements = st.floats(-bound, bound, width=_float_width(dt), allow_subnormal=False)
    return hnp.arrays(dt, shape, elements=elements)


def perturbations(model: Any, *, max_magnitude: float = 1.0, names: Sequence[str] | None = None):
    """Perturbations of a model's parameters: dicts ``name -> delta`` shaped like ``model.params``.

    Use them as directions (``loss(p + eps * d)`` against ``<grad, d>``) or
    as small changes a method must undo. Parameters are read when this
    function is called; the model is never modified.

    Args:
        model: anything with a ``params`` dict of arrays (the model protocol).
        max_magnitude: bound on every entry of a delta.
        names: perturb only these parameters (default: all).

    Shrinks toward all-zero deltas.
    """
    params = getattr(model, "params", None)
    if not isinstance(params, Mapping) or not params:
        raise InvalidArgument(
            f"{type(model).__name__} has no `params` dict of arrays; the model protocol needs one."
        )
    keys = list(params) if names is None else list(names)
    missing = [k for k in keys if k not in params]
    if missing:
        raise InvalidArgument(f"names={missing} are not parameters of the model; it has {', '.join(params)}.")
    if not keys:
        raise InvalidArgument("names=[] perturbs nothing; leave names=None to perturb every parameter.")
    _check_positive_float("max_magnitude", max_magnitude)
    parts = {}
    for k in keys:
        p = np.asarray(params[k])
        dt = p.dtype if p.dtype.kind == "f" else np.dtype(np.float64)
        parts[k] = weight_arrays(p.shape, dtype=dt, max_magnitude=max_magnitude)
    return st.fixed_dictionaries(parts)
