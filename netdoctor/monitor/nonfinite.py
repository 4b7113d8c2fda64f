"""Locating where a NaN or Inf first appeared in a diverging network.

By the time a training hook sees a non-finite loss, the step that produced it
has already spread the NaN through every layer. :func:`locate_nonfinite`
therefore replays one forward pass with the weights from *before* that step
(a guard copy the monitor keeps while the loss climbs), swapped into the
model's own arrays and restored bit for bit afterwards.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from netdoctor.monitor.records import NonFiniteRecord
from netdoctor.params import named_params

__all__ = ["first_nonfinite_layer", "locate_nonfinite"]


def first_nonfinite_layer(model: Any, X: np.ndarray) -> int | None:
    """The 1-based layer whose activations on ``X`` first hold a NaN/Inf (None: all finite, or no ``activations``)."""
    if not hasattr(model, "activations"):
        return None
    for l, a in enumerate(model.activations(X), start=1):
        if not np.isfinite(np.asarray(a)).all():
            return l
    return None


def locate_nonfinite(model: Any, X_probe: np.ndarray, Xb: np.ndarray | None, *, step: int, loss: float,
                     guard: Mapping[str, np.ndarray] | None, last_finite: float | None) -> NonFiniteRecord:
    """Where the first non-finite value appeared: a record for ``TrainingMonitor.nonfinite``.

    The loss of step ``s`` is computed before its update, with the weights
    left by step ``s - 1``; by the time the hook runs, step ``s`` has already
    spread the NaN through every layer. When the guard copy of those weights
    exists (kept while the loss climbs), they are put back into the model's
    arrays for one forward pass of the step's batch, then the current values
    are restored bit for bit, so the layer is exact. Otherwise the layer is
    located in the current state (approximate).

    Args:
        model: the protocol model, in its current (non-finite) state.
        X_probe: rows to run when the step's batch ``Xb`` is not known.
        Xb: the batch of the failing step, or None.
        step, loss: the failing step and its loss.
        guard: name -> weights before the step, or None.
        last_finite: the last finite loss seen.

    Returns:
        ``step``, ``loss``, ``tensors`` (non-finite now), ``exact``, ``layer``,
        ``where`` (for messages), ``last_finite_loss``; with a guard also
        ``tensors_before_step``, for a non-finite batch ``inputs_nonfinite``.
    """
    params = named_params(model.params)
    bad_now = [k for k, v in params.items() if not np.isfinite(v).all()]
    X = X_probe if Xb is None else np.asarray(Xb)
    if Xb is not None and np.issubdtype(X.dtype, np.number) and not np.isfinite(X).all():
        return {"step": step, "loss": loss, "tensors": bad_now, "exact": True, "layer": 0, "where": "the input batch",
                "inputs_nonfinite": True, "last_finite_loss": last_finite}
    if guard is not None and all(k in params and params[k].shape == v.shape for k, v in guard.items()):
        now = {k: params[k].copy() for k in guard}
        try:
            for k, v in guard.items():
                np.copyto(params[k], v)
            layer = first_nonfinite_layer(model, X)
            before = [k for k, v in guard.items() if not np.isfinite(v).all()]
        finally:
            for k, v in now.items():
                np.copyto(params[k], v)
        return {"step": step, "loss": loss, "tensors": bad_now, "exact": True, "layer": layer, "tensors_before_step": before,
                "where": _where(layer, bad_now), "last_finite_loss": last_finite}
    layer = first_nonfinite_layer(model, X)
    return {"step": step, "loss": loss, "tensors": bad_now, "exact": False, "layer": layer, "where": _where(layer, bad_now),
            "last_finite_loss": last_finite}


def _where(layer: int | None, bad_now: list[str]) -> str:
    return f"layer {layer}" if layer else (bad_now[0] if bad_now else "the loss")
