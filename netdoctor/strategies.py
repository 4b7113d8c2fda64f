"""Hypothesis strategies for property-testing neural-network code.

Build random (small) architectures, reference MLPs, batches matched to a
model, weight arrays and parameter perturbations, then let hypothesis search
for the network on which your gradients, updates or invariants break::

    from hypothesis import given
    from netdoctor import strategies as nds

    @given(data=st.data(), model=nds.mlps(allow_kinks=False))
    def test_gradients(data, model):
        X, y = data.draw(nds.batches(model))
        assert_model_gradients(model, X, y)

Conventions follow ``hypothesis.extra.numpy``: every strategy takes keyword
arguments that bound sizes, validates them when called (raising
:class:`InvalidArgument`, which is both netdoctor's and hypothesis's error),
and shrinks toward the smallest case: one input, one hidden layer with one
hidden unit, two classes, one sample, zero weights, seed 0, ``tanh`` and
``cross_entropy`` (the first names listed).

This module imports hypothesis; ``import netdoctor`` does not import it.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
from hypothesis import errors as _hyp_errors
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from . import errors as _nd_errors
from .activations import ACTIVATIONS
from .losses import LOSSES
from .mlp import INITS, MLP

__all__ = [
    "InvalidArgument",
    "layer_sizes",
    "architectures",
    "activation_names",
    "loss_names",
    "mlps",
    "batches",
    "weight_arrays",
    "perturbations",
]


class InvalidArgument(_nd_errors.InvalidArgument, _hyp_errors.InvalidArgument):
    """A strategy was called with bad arguments.

    Both :class:`netdoctor.errors.InvalidArgument` and
    :class:`hypothesis.errors.InvalidArgument`, so either ``except`` catches it.
    """


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


def _fixed_or_range(name: str, value: int | None, low: int, max_name: str, max_value: int):
    """A strategy for a width that is either fixed (``value``) or drawn from ``low..max_value``."""
    if value is not None:
        return st.just(_check_int(name, value, low))
    _check_order(f"minimum {name}", low, max_name, _check_int(max_name, max_value, low))
    return st.integers(low, max_value)


# -- architectures ------------------------------------------------------------
def layer_sizes(*, min_layers: int = 1, max_layers: int = 2, min_width: int = 1, max_width: int = 8):
    """Hidden-layer widths: a tuple of ``min_layers..max_layers`` ints in ``min_width..max_width``.

    Shrinks toward ``min_layers`` layers of ``min_width`` units, i.e. ``(1,)``
    by default.

    Raises:
        InvalidArgument: for negative or inverted bounds.
    """
    min_layers = _check_int("min_layers", min_layers, 0)
    max_layers = _check_int("max_layers", max_layers, 0)
    _check_order("min_layers", min_layers, "max_layers", max_layers)
    min_width = _check_int("min_width", min_width, 1)
    max_width = _check_int("max_width", max_width, 1)
    _check_order("min_width", min_width, "max_width", max_width)
    widths = st.integers(min_width, max_width)
    return st.lists(widths, min_size=min_layers, max_size=max_layers).map(tuple)


def architectures(
    *,
    min_layers: int = 1,
    max_layers: int = 2,
    min_width: int = 1,
    max_width: int = 8,
    n_inputs: int | None = None,
    max_inputs: int = 6,
    n_classes: int | None = None,
    max_classes: int = 4,
):
    """Full layer-size tuples ``(n_inputs, *hidden, n_classes)`` for :class:`~netdoctor.MLP`.

    Args:
        min_layers, max_layers: bounds on the number of hidden layers (0 allowed:
            a linear classifier).
        min_width, max_width: bounds on each hidden width.
        n_inputs: fix the input width (e.g. 784); otherwise drawn from 1..``max_inputs``.
        n_classes: fix the number of classes; otherwise drawn from 2..``max_classes``.

    Shrinks toward ``(1, 1, 2)``: one input, one hidden unit, two classes.
    """
    hidden = layer_sizes(min_layers=min_layers, max_layers=max_layers, min_width=min_width, max_width=max_width)
    inputs = _fixed_or_range("n_inputs", n_inputs, 1, "max_inputs", max_inputs)
    classes = _fixed_or_range("n_classes", n_classes, 2 if n_classes is None else 1, "max_classes", max_classes)
    return st.tuples(inputs, hidden, classes).map(lambda t: (t[0], *t[1], t[2]))


def activation_names(*, allow_kinks: bool = True, exclude: Sequence[str] = ()):
    """Names of hidden activations netdoctor knows, ``tanh`` first (the shrink target).

    Args:
        allow_kinks: include ``relu`` and ``leaky_relu``, whose derivative
            jumps at 0 (finite differences straddling the kink disagree with
            any analytic gradient; exclude them for plain gradient checks).
        exclude: names to leave out.
    """
    exclude = tuple(exclude)
    unknown = [n for n in exclude if n not in ACTIVATIONS]
    if unknown:
        raise InvalidArgument(f"exclude={unknown} names unknown activations; known: {', '.join(ACTIVATIONS)}.")
    names = [n for n, a in ACTIVATIONS.items() if (allow_kinks or not a.has_kink) and n not in exclude]
    if not names:
        raise InvalidArgument("no activation is left after exclude= and allow_kinks=False; allow at least one.")
    return st.sampled_from(names)


def loss_names():
    """Names of the losses of the reference MLP, ``cross_entropy`` first."""
    return st.sampled_from(LOSSES)


def _as_strategy(name: str, value: Any, default, choices: Sequence[str] | None = None):
    if value is None:
        return default
    if isinstance(value, st.SearchStrategy):
        return value
    if choices is not None and value not in choices:
        raise InvalidArgument(f"{name}={value!r} is not known; use one of {', '.join(choices)} (or a strategy).")
    return st.just(value)


def mlps(
    *,
    sizes: Sequence[int] | st.SearchStrategy | None = None,
    activation: str | st.SearchStrategy | None = None,
    loss: str | st.SearchStrategy | None = None,
    output_activation: str | st.SearchStrategy | None = None,
    init: str | st.SearchStrategy | None = None,
    dtype: Any = "float64",
    allow_kinks: bool = True,
    **architecture: int,
):
    """Reference :class:`~netdoctor.MLP` networks with valid hyper-parameter combinations.

    Each choice is a fixed value, a strategy, or None for "draw any valid one".
    Cross-entropy nets get softmax outputs; MSE nets get the hidden activation
    or, when ``output_activation`` is given or drawn, any known activation.
    The initialisation seed is drawn too, so weights vary between examples.

    Args:
        sizes: a layer-size tuple or strategy; default :func:`architectures`
            called with ``**architecture`` (``min_layers``, ``max_width``,
            ``n_inputs``, ``n_classes``, ...).
        activation: hidden activation (default: :func:`activation_names`).
        loss: ``"cross_entropy"`` or ``"mse"`` (default: either).
        output_activation: MSE output activation (default: same as hidden).
        init: ``"xavier"``, ``"he"`` or ``"normal"`` (default: xavier; pass a
            strategy such as ``st.sampled_from(INITS)`` to vary it).
        dtype: ``"float64"`` or ``"float32"``.
        allow_kinks: when False, relu-family activations are never drawn.

    Shrinks toward ``MLP((1, 1, 2), activation="tanh", loss="cross_entropy", seed=0)``.
    """
    if sizes is None:
        sizes_st = architectures(**architecture)
    else:
        if architecture:
            raise InvalidArgument(f"pass either sizes= or architecture bounds {sorted(architecture)}, not both.")
        sizes_st = sizes if isinstance(sizes, st.SearchStrategy) else st.just(tuple(sizes))
        if not isinstance(sizes, st.SearchStrategy):
            s = tuple(sizes)
            if len(s) < 2 or not all(isinstance(v, (int, np.integer)) and v >= 1 for v in s):
                raise InvalidArgument(f"sizes={s} needs at least two positive integer widths, e.g. (4, 3, 2).")
    act_names = [n for n, a in ACTIVATIONS.items() if allow_kinks or not a.has_kink]
    act_st = _as_strategy("activation", activation, activation_names(allow_kinks=allow_kinks), act_names)
    loss_st = _as_strategy("loss", loss, loss_names(), LOSSES)
    out_st = _as_strategy("output_activation", output_activation, None, act_names + ["softmax"])
    init_st = _as_strategy("init", init, st.just("xavier"), INITS)
    dtype_name = np.dtype(dtype).name
    if dtype_name not in ("float64", "float32"):
        raise InvalidArgument(f"dtype={dtype_name!r} is not supported; use float64 or float32.")

    @st.composite
    def _mlps(draw):
        s = draw(sizes_st)
        act = draw(act_st)
        loss_name = draw(loss_st)
        if loss_name == "cross_entropy":
            out = "softmax"
        else:
            out = act if out_st is None else draw(out_st)
            if out == "softmax":
                # MSE on softmax outputs is not a combination the reference MLP offers.
                out = act
        init_name = draw(init_st)
        seed = draw(st.integers(0, 2**32 - 1))
        return MLP(s, activation=act, output_activation=out, loss=loss_name, init=init_name,
                   dtype=dtype_name, seed=seed)

    return _mlps()


# -- data -------------------------------------------------------------------
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
    dt = np.dtype(dtype)
    if dt.kind != "f":
        raise InvalidArgument(f"dtype={dt.name!r} is not a float dtype; use float64 or float32.")
    # Subnormal inputs only test the FPU, not the network.
    elements = st.floats(0.0, 1.0, width=dt.itemsize * 8, allow_subnormal=False)

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
    dt = np.dtype(dtype)
    if dt.kind != "f":
        raise InvalidArgument(f"dtype={dt.name!r} is not a float dtype; use float64 or float32.")
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
    elements = st.floats(-bound, bound, width=dt.itemsize * 8, allow_subnormal=False)
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
