"""Monitoring a training run: activations, gradients, outputs and evaluation.

:class:`TrainingMonitor` is the training callback; ``layer_stats`` measures
saturation and dead units, ``nonfinite`` finds where a NaN first appeared and
``evaluation`` predicts the evaluation data.
"""

from typing import TYPE_CHECKING

from netdoctor._lazy import lazy_face

if TYPE_CHECKING:
    from netdoctor.monitor.callback import TrainingMonitor

_EXPORTS = {
    "TrainingMonitor": "callback",
}
__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy_face(__name__, _EXPORTS)
