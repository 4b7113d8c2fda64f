"""Hypothesis strategies for model architectures and reference MLPs (see :mod:`netdoctor.strategies`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from hypothesis import strategies as st

from netdoctor.nn.activations import ACTIVATIONS, ActivationName
from netdoctor.nn.losses import LOSSES
from netdoctor.nn.mlp import INITS, MLP
from netdoctor.strategies.args import InvalidArgument, _check_int, _check_order, _fixed_or_range


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
        out: ActivationName | Literal["softmax"]
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
