"""Per-layer statistics of activations: saturation, dead units, value summary.

The :class:`~netdoctor.monitor.callback.TrainingMonitor` measures each layer on its
probe batch with :func:`layer_stats`; :func:`infer_kind` guesses the
activation from the values when the model does not name it, and
:func:`layer_of` maps parameter tensors to the layer they feed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from netdoctor.monitor.records import LayerStats
from netdoctor.nn.stats import median

__all__ = ["as_rows", "infer_kind", "guessed", "GuessedKind", "activation_label", "name_activation", "layer_stats",
           "layer_of", "ACTIVATION_BOUNDS"]

ACTIVATION_BOUNDS = {"tanh": (-1.0, 1.0), "sigmoid": (0.0, 1.0), "softmax": (0.0, 1.0)}
"""Value range of the bounded activations: the histogram range of their layers."""


def as_rows(a: Any, n: int) -> np.ndarray:
    """An activation as (N, units): flattens trailing dims, transposes column-convention (units, N)."""
    a = np.asarray(a)
    if a.ndim == 1:
        return a.reshape(-1, 1)
    if a.shape[0] != n and a.shape[-1] == n:
        a = np.moveaxis(a, -1, 0)
    return a.reshape(a.shape[0], -1)


def infer_kind(a: np.ndarray, *, output: bool = False) -> str:
    """Guess an activation from its values when the model does not say (``"unknown"`` if unsure)."""
    if a.size == 0 or not np.isfinite(a).all():
        return "unknown"
    lo, hi = float(a.min()), float(a.max())
    if output and lo >= 0 and hi <= 1 and a.shape[1] > 1 and np.allclose(a.sum(axis=1), 1.0, atol=1e-6):
        return "softmax"
    if lo >= 0 and hi == 1.0 and np.mean(a == 1.0) > 0.01:
        return "sigmoid"  # exactly 1 is a sigmoid saturated high (exp(-z) underflows); its exact zeros are not relu's
    if lo >= 0 and np.mean(a == 0) > 0.05:
        return "relu"
    if lo < 0 and np.mean(a == 0) > 0.05:
        # exact zeros beside negative values: a delta gated by relu's derivative (``g * (z > 0)``), no activation's
        # output (tanh and sigmoid are exactly 0 nowhere else than at a pre-activation of exactly 0 and -inf)
        return "unknown"
    if lo >= -1 and hi <= 1 and lo < 0:
        return "tanh"
    if lo >= 0 and hi <= 1:
        return "sigmoid"
    return "unknown"


class GuessedKind(str):
    """An activation's name guessed from the range of its values alone (:func:`infer_kind`), with no pre-activation to
    compare them with (:func:`name_activation`): the name, for whatever reads it, and a mark for the report that it is
    a guess. A leaky relu whose outputs stay under 1 has the range of a tanh."""

    __slots__ = ()


def guessed(kind: str) -> str:
    """``kind`` (from :func:`infer_kind`) marked as a guess from the values; ``"unknown"`` stays as it is."""
    return kind if kind == "unknown" else GuessedKind(kind)


def activation_label(row: Any) -> str:
    """A layer's activation as a report shows it: its name, ``"tanh?"`` when the name is only a guess from the range of
    the values (:class:`GuessedKind`, ``row["guessed"]``), ``"?"`` when there is none."""
    name = str(row.get("activation") or "?")
    return f"{name}?" if row.get("guessed") and name != "?" else name


GUESSED_NOTE = "An activation ending in ? is a guess from the range of the layer's values: its pre-activations were not seen."
"""What a report says under a layers table that holds a guessed name (:func:`activation_label`)."""


NAMED_WITHIN = 1e-3
"""Largest mean distance between a layer's outputs and a function of its pre-activations, over the outputs' spread,
for the function to name the layer: float32 rounding and a step of the weights taken between the forward and the
comparison stay far below it; tanh and sigmoid of one pre-activation differ by ~0.3 of it."""


def _sigmoid(z: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-z))


def _leaky_relu(z: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Leaky relu with the slope the negative entries show (0.01 when none does)."""
    neg = z < 0
    slope = float(median(a[neg] / z[neg])) if neg.any() else 0.01
    return np.where(z > 0, z, (slope if 0 < slope < 1 else 0.01) * z)


ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {"tanh": np.tanh, "sigmoid": _sigmoid, "relu": lambda z: np.maximum(z, 0.0), "identity": lambda z: z}
"""The functions a hidden layer's output is compared with, by the name the report gives them (leaky relu besides)."""


def name_activation(a: np.ndarray, pre: np.ndarray) -> str | None:
    """The function ``f`` with ``a = f(pre)`` entry by entry, among :data:`ACTIVATIONS` and leaky relu; None if none is.

    ``a`` and ``pre`` are a layer's outputs and the pre-activations ``W x + b`` of the same samples (same shape). The
    name comes from what the layer computes, not from its values alone: a tanh saturated at +1 and a sigmoid
    saturated at +1 hold the same numbers, but ``tanh(z)`` is ``sigmoid(2 z) * 2 - 1``, never ``sigmoid(z)``.
    ``f`` fits when the mean of ``|a - f(pre)|`` is within :data:`NAMED_WITHIN` of the spread of ``a``.
    """
    a = np.asarray(a, dtype=np.float64)
    z = np.asarray(pre, dtype=np.float64)
    if a.shape != z.shape or a.size < 4 or not (np.isfinite(a).all() and np.isfinite(z).all()):
        return None
    scale = float(np.ptp(a)) or float(np.abs(a).max()) or 1.0
    best, best_err = None, NAMED_WITHIN
    with np.errstate(all="ignore"):
        fits = {name: f(z) for name, f in ACTIVATIONS.items()}
        fits["leaky_relu"] = _leaky_relu(z, a)
        for name, fa in fits.items():
            err = float(np.mean(np.abs(a - fa))) / scale
            if err < best_err:
                best, best_err = name, err
    return best


def layer_stats(a: np.ndarray, kind: str, *, tanh_limit: float = 0.99, sigmoid_band: tuple[float, float] = (0.01, 0.99), bins: int = 10) -> LayerStats:
    """Saturation, dead units and value summary of one layer's activations ``a`` (N, units).

    Saturation is the share of entries in the flat ends of the activation
    (tanh ``|a| > tanh_limit``; sigmoid outside ``sigmoid_band``); ``None``
    for activations without flat ends. A unit is dead when it is 0 for every
    row (relu family) or does not vary over the rows at all (any activation):
    such a unit passes no gradient or no information.
    """
    n, units = a.shape
    finite = np.isfinite(a).all()
    sat = None
    if finite and kind == "tanh":
        sat = float(np.mean(np.abs(a) > tanh_limit))
    elif finite and kind == "sigmoid":
        sat = float(np.mean((a < sigmoid_band[0]) | (a > sigmoid_band[1])))
    dead = 0.0
    if finite and n > 1:
        scale = np.maximum(1.0, np.abs(a).max(axis=0))
        constant = np.ptp(a, axis=0) <= 1e-9 * scale
        if kind in ("relu", "leaky_relu"):
            constant |= np.all(a <= 0, axis=0)
        dead = float(np.mean(constant))
    lo: float | None
    hi: float | None
    lo, hi = ACTIVATION_BOUNDS.get(kind, (None, None))
    if finite and lo is None and a.size:
        lo, hi = float(a.min()), float(a.max())
    hist: list[int] = []
    if finite and a.size and lo is not None and hi is not None:
        hist = np.histogram(a, bins=bins, range=(lo, hi if hi > lo else lo + 1))[0].tolist()
    return {
        "activation": kind,
        "units": units,
        "saturation": sat,
        "dead": dead,
        "act_mean": float(a.mean()) if finite else math.nan,
        "act_std": float(a.std()) if finite else math.nan,
        "hist": hist,
        "hist_range": [lo, hi],
        "finite": bool(finite),
        "guessed": isinstance(kind, GuessedKind),
    }


def layer_of(names: Sequence[str], n_layers: int) -> dict[str, int]:
    """Map tensor names to 1-based layers: by the number in the name (``W1``, ``layers.0.weight``), else in pairs."""
    nums = {k: int(m.group(1)) for k in names if (m := re.search(r"(\d+)(?!.*\d)", k))}
    if len(nums) == len(names) and nums:
        shift = 1 if min(nums.values()) == 0 else 0
        if max(nums.values()) + shift <= n_layers:
            return {k: v + shift for k, v in nums.items()}
    if len(names) == 2 * n_layers:
        return {k: i // 2 + 1 for i, k in enumerate(names)}
    return {}
