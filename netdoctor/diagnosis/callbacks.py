"""Training callbacks that :func:`netdoctor.diagnosis.pipeline.diagnose` adds beside its monitor.

* :class:`_TestAccuracy` puts the monitor's test accuracy into each epoch
  record, so the monitor's one prediction pass replaces the test evaluation
  ``train(X_test=...)`` would do;
* :class:`_ProbeFloor` adds evenly spaced probes on short runs, where the
  monitor's 1% budget (a probe every 1,000 steps or more) allows only the first and last.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from netdoctor.monitor.callback import TrainingMonitor
from netdoctor.params import copy_params, named_params, update_ratios

__all__ = ["MIN_PROBES"]

MIN_PROBES = 16
"""Probes spread evenly over training at least (besides the monitor's own), so the plots over
training have columns to show on short runs, where the monitor's 1% budget allows two or three."""


class _TestAccuracy:
    """Puts the monitor's test accuracy into the epoch record, where ``train(X_test=...)`` would have.

    The test set is predicted once per epoch, by the monitor (accuracy and
    confusion matrix from one pass); callbacks after this one (the CLI's
    progress display) and the history see the number as usual.
    """

    def __init__(self, monitor: TrainingMonitor) -> None:
        self.monitor = monitor

    def on_epoch(self, model: Any, run: Any, record: dict[str, Any]) -> None:
        if self.monitor.eval_name == "test data" and record.get("test_accuracy") is None and self.monitor.epochs:
            record["test_accuracy"] = self.monitor.epochs[-1]["eval_accuracy"]


class _ProbeFloor:
    """Probes at evenly spaced steps when the monitor has not probed near them itself.

    The monitor's count schedule keeps its probes near 1% of training, which
    on a run of a few seconds means the start and the end only; a diagnosis can
    afford :data:`MIN_PROBES` more (~1 ms each), and the activation and
    gradient plots need them. The parameters are copied one step before each
    such probe, so it records that step's update/weight ratios
    ``||W_s - W_{s-1}|| / ||W_{s-1}||`` like the monitor's own probes. Runs
    after the monitor, so records stay in step order; does nothing once the
    loss is non-finite (the monitor stops training there).
    """

    def __init__(self, monitor: TrainingMonitor, total_steps: int) -> None:
        self.monitor = monitor
        self.spacing = max(1, total_steps // MIN_PROBES)
        self._before: dict[str, np.ndarray] | None = None

    def _free(self, step: int) -> bool:
        last = self.monitor.probes[-1]["step"] if self.monitor.probes else -self.spacing
        return step - last > self.spacing // 2

    def on_step(self, model: Any, run: Any, step: int, Xb: Any, yb: Any, loss: float) -> None:
        if self.monitor.stopped is not None or not math.isfinite(loss):
            self._before = None
            return
        if step % self.spacing == 0 and self._free(step):
            with np.errstate(all="ignore"):
                update = update_ratios(self._before or {}, named_params(model.params))
                self.monitor.probe(model, step, update=update)
        self._before = None
        if (step + 1) % self.spacing == 0 and self._free(step + 1):
            self._before = copy_params(model.params)
