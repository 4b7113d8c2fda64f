"""Training monitors: evidence about activations, gradients and outputs, collected cheaply.

:class:`TrainingMonitor` is a callback for :func:`netdoctor.nn.training.train`.
It looks at the network through a fixed *probe batch* (a few hundred rows)
every few steps and records, per layer, the share of saturated units
(``|a| > 0.99`` for tanh, outside ``[0.01, 0.99]`` for sigmoid), dead units
(relu-family units that are zero for every probe row, and any unit whose
value does not vary over the probe batch), activation mean, std and a
histogram; per parameter tensor, the gradient norm on the probe batch, the
weight norm and the update/weight ratio ``||W_after - W_before|| / ||W_before||``
of one real step. At every epoch end it predicts the evaluation data once and
keeps the confusion matrix. It stops training cleanly at the first step whose
loss (or parameters) are NaN/Inf and records where they first appear.

Cost is bounded by counting, not by a clock: with ``every=None`` the monitor
probes every :meth:`TrainingMonitor.spacing` steps, the count at which its
probes cost about ``budget`` (default 1%) of the training time, from what a
probe costs in training steps (:data:`PROBE_STEPS`, or more when the probe
batch is many training batches). The same run probes at the same steps
whatever else the machine is doing, so its records, and the findings made
from them, do not depend on the load. The probes at the start, after the first
step and at the end always run.
The monitor leaves the model as it found it (locating a NaN swaps saved weights in
for one forward pass and restores them bit for bit); it reads ``model.params`` afresh at every
probe because some user models rebind their arrays at each update.

The measurements themselves live beside it and are re-exported here:
:mod:`netdoctor.monitor.layer_stats` (per-layer statistics), :mod:`netdoctor.params`
(named parameters, norms, update ratios), :mod:`netdoctor.monitor.evaluation`
(predictions and the confusion matrix) and :mod:`netdoctor.monitor.nonfinite`
(locating the first NaN/Inf).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from netdoctor.errors import InvalidArgument

# predict_labels, confusion_matrix and named_params are re-exported: callers import them from here.
from netdoctor.monitor.evaluation import confusion_matrix, evaluate, predict_labels
from netdoctor.monitor.layer_stats import as_rows, guessed, infer_kind, layer_of, layer_stats
from netdoctor.monitor.nonfinite import locate_nonfinite
from netdoctor.monitor.records import EvalRecord, InitialRecord, LayerRecord, NonFiniteRecord, ProbeRecord
from netdoctor.nn.training import StopTraining  # noqa: F401 - raised here, defined with the loop that catches it
from netdoctor.params import copy_params, named_params, norms, update_ratios
from netdoctor.protocol import Model

__all__ = ["TrainingMonitor", "StopTraining", "layer_stats", "named_params", "predict_labels", "confusion_matrix",
           "PROBE_STEPS", "PROBE_ROW_COST"]

PROBE_STEPS = 10
"""Training steps one probe costs at least, for the count schedule of ``every=None``.

Measured in CPU time, one BLAS thread, probe against step: 8-16-3 at batch 4
and 32, 8x-12x; 784-64-10 at batch 1, 32 and 128, 1.3x-7.8x; 784-100-100-100-10
at batch 16, 5.5x; 784-512-512-10 at batch 128, 1.0x (a 64-row probe). Small
networks are all call overhead (a probe makes ~10x a step's NumPy calls), so
the figure is a floor: the monitor errs towards probing less."""
PROBE_ROW_COST = 1.25
"""Training steps a probe costs per training batch's worth of probe rows (a
forward pass for the activations beside the forward and backward of the
gradient): 784-512-512-10 with 256 probe rows at batch 32 measured 8.8 steps."""




def _expected_loss(model: Any, n_classes: int) -> float | None:
    """The untrained loss for the model's loss and output activation, when the model says what they are."""
    from netdoctor.nn.losses import expected_initial_loss

    loss = getattr(model, "loss_name", None)
    out = getattr(model, "output_activation", None)
    if out is None and hasattr(model, "layer_activations"):
        names = list(model.layer_activations())
        out = names[-1] if names else None
    if loss == "cross_entropy":
        return expected_initial_loss(loss, n_classes, "softmax")
    if loss == "mse" and out is not None:
        # The MSE expectation depends on the target encoding, which follows the output activation.
        return expected_initial_loss(loss, n_classes, out)
    return None


class TrainingMonitor:
    """Callback that records the evidence :mod:`netdoctor.diagnosis.rules` turns into findings.

    Args:
        X_probe, y_probe: the fixed probe batch (e.g. 256 training rows).
        X_eval, y_eval: data predicted at every epoch end for the confusion
            matrix and accuracy (e.g. the test set); defaults to the probe batch.
        eval_name: what ``X_eval`` is, for messages ("test data").
        every: probe every ``every`` steps; ``None``: every :meth:`spacing`
            steps, from ``budget``.
        budget: with ``every=None``, the share of training time the probes
            may take (0.01 = 1%), reckoned in steps (see :meth:`spacing`).
        layer_activations: activation name per layer (hidden then output);
            default ``model.layer_activations()`` or guessed from the values.
        n_classes: number of classes; default from the model or the labels.
        expected_loss: the loss an untrained model should show (see
            :func:`netdoctor.nn.losses.expected_initial_loss`); default from the model.
        tanh_limit, sigmoid_band: saturation thresholds.
    """

    def __init__(
        self, X_probe: np.ndarray, y_probe: np.ndarray, *, X_eval: np.ndarray | None = None, y_eval: np.ndarray | None = None,
        eval_name: str = "probe batch", every: int | None = None, budget: float = 0.01, layer_activations: Sequence[str] | None = None,
        n_classes: int | None = None, expected_loss: float | None = None, tanh_limit: float = 0.99,
        sigmoid_band: tuple[float, float] = (0.01, 0.99),
    ) -> None:
        if every is not None and every < 1:
            raise InvalidArgument(f"every={every} must be a positive number of steps (or None to adapt to the budget).")
        if not 0 < budget < 1:
            raise InvalidArgument(f"budget={budget} is a share of training time; use e.g. 0.03.")
        self.X_probe, self.y_probe = np.asarray(X_probe), np.asarray(y_probe, dtype=np.intp)
        self.X_eval = self.X_probe if X_eval is None else np.asarray(X_eval)
        self.y_eval = self.y_probe if y_eval is None else np.asarray(y_eval, dtype=np.intp)
        self.eval_name = eval_name if X_eval is not None else "probe batch"
        self.every, self.budget = every, budget
        self.layer_activations = list(layer_activations) if layer_activations else None
        self.n_classes, self.expected_loss = n_classes, expected_loss
        self.tanh_limit, self.sigmoid_band = tanh_limit, sigmoid_band
        self.probes: list[ProbeRecord] = []
        self.epochs: list[EvalRecord] = []
        self.initial: InitialRecord = {"loss": None, "expected": None, "output_spread": None}
        self.nonfinite: NonFiniteRecord | None = None
        self.stopped: str | None = None
        self.monitor_seconds = 0.0
        self.eval_seconds = 0.0
        self.probe_seconds = 0.0
        self.wall_seconds = 0.0
        self._t0 = 0.0
        self._snapshot: dict[str, np.ndarray] | None = None
        self._epoch = 0
        self._ema: float | None = None
        self._ema_min = math.inf
        self._guard: dict[str, np.ndarray] | None = None
        self._last_finite: float | None = None
        self._batch_rows: int | None = None

    def spacing(self, batch_rows: int) -> int:
        """Steps between probes with ``every=None``: a probe's cost in steps over ``budget``.

        A probe costs ``max(PROBE_STEPS, PROBE_ROW_COST * probe rows / batch_rows)``
        training steps; ``ceil(cost / budget)`` steps apart, the probes take
        about ``budget`` of the training time (1,000 steps for the default
        1% and a probe batch up to 8 training batches). Counts only: the
        schedule is the same on a busy machine as on an idle one.
        """
        if self.every is not None:
            return self.every
        cost = max(PROBE_STEPS, PROBE_ROW_COST * len(self.X_probe) / max(1, batch_rows))
        return max(1, math.ceil(cost / self.budget - 1e-9))

    # -- measurements --------------------------------------------------------
    def _kinds(self, model: Model, acts: list[np.ndarray]) -> list[str]:
        names = self.layer_activations
        if names is None and hasattr(model, "layer_activations"):
            names = list(model.layer_activations()) or None  # [] when the model cannot name them
            if names and getattr(model, "loss_name", None) == "cross_entropy":
                names[-1] = "softmax"
        if names is None or len(names) != len(acts):
            names = [guessed(infer_kind(a, output=i == len(acts) - 1)) for i, a in enumerate(acts)]
        return names

    def probe(self, model: Model, step: int, *, update: dict[str, float] | None = None) -> ProbeRecord:
        """Measure layers, gradients and weights on the probe batch now; returns the record."""
        t0 = time.perf_counter()
        try:
            return self._probe(model, step, update)
        finally:
            self.probe_seconds += time.perf_counter() - t0

    def _probe(self, model: Model, step: int, update: dict[str, float] | None) -> ProbeRecord:
        n = len(self.X_probe)
        params = named_params(model.params)
        layers: list[LayerRecord] = []
        record: ProbeRecord = {"step": step, "epoch": self._epoch, "layers": layers, "update_ratios": update or {},
                               "weight_norms": norms(params), "layer_of": {}}
        if hasattr(model, "activations"):
            acts = [as_rows(a, n) for a in model.activations(self.X_probe)]
            kinds = self._kinds(model, acts)
            for l, (a, kind) in enumerate(zip(acts, kinds), start=1):
                stats = layer_stats(a, kind, tanh_limit=self.tanh_limit, sigmoid_band=self.sigmoid_band)
                layers.append({**stats, "layer": l, "role": "output" if l == len(acts) else "hidden"})
            out = acts[-1]
            if np.isfinite(out).all():
                record["output_spread"] = float(out.std(axis=0).mean())
                record["output_scale"] = float(np.abs(out).mean())
                record["pred_counts"] = np.bincount(np.argmax(out, axis=1), minlength=out.shape[1]).tolist()
                # Rows whose largest output is shared by several units: argmax then returns the first.
                record["tied_argmax"] = float(np.mean((out == out.max(axis=1, keepdims=True)).sum(axis=1) > 1))
        if hasattr(model, "loss"):
            value, grads = model.loss(self.X_probe, self.y_probe)
            record["loss"] = float(value)
            record["grad_norms"] = norms(named_params(grads))
        record["layer_of"] = layer_of(list(params), len(layers)) if layers else {}
        self.probes.append(record)
        return record

    def _evaluate(self, model: Any) -> EvalRecord:
        return evaluate(model, self.X_eval, self.y_eval, n_classes=self.n_classes, epoch=self._epoch)

    def _locate_nonfinite(self, model: Model, step: int, loss: float, Xb: np.ndarray | None = None) -> None:
        """Record where the first non-finite value appeared (see :func:`netdoctor.monitor.nonfinite.locate_nonfinite`)."""
        self.nonfinite = locate_nonfinite(model, self.X_probe, Xb, step=step, loss=loss, guard=self._guard,
                                          last_finite=self._last_finite)

    def _watch_loss(self, model: Model, loss: float) -> None:
        """Keep a copy of the weights after each step while the smoothed loss climbs (cheap otherwise)."""
        if not math.isfinite(loss):
            return
        self._last_finite = loss
        self._ema = loss if self._ema is None else 0.8 * self._ema + 0.2 * loss
        self._ema_min = min(self._ema_min, self._ema)
        if self._ema > 2.0 * self._ema_min + 1e-12:
            self._guard = copy_params(model.params)
        else:
            self._guard = None

    # -- callback hooks ---------------------------------------------------------
    # Each hook times itself (for the overhead it reports) and silences numpy's overflow
    # warnings: a diverging network is what we are here to record, not to crash on.
    def on_start(self, model: Model, run: Mapping[str, Any]) -> None:
        t = self._t0 = time.perf_counter()
        with np.errstate(all="ignore"):
            if self.n_classes is None:
                self.n_classes = getattr(model, "n_classes", None)
            if self.expected_loss is None and self.n_classes:
                self.expected_loss = _expected_loss(model, self.n_classes)
            first = self.probe(model, 0)
            self.initial = {"loss": first.get("loss"), "expected": self.expected_loss, "output_spread": first.get("output_spread")}
            self._snapshot = copy_params(model.params)
        self.monitor_seconds += time.perf_counter() - t

    def _due(self, step: int) -> bool:
        if self.every is not None:
            return step % self.every == 0
        return self._batch_rows is not None and step % self.spacing(self._batch_rows) == 0

    def _params_finite(self, model: Any) -> bool:
        return all(np.isfinite(v).all() for v in named_params(model.params).values())

    def _stop(self, model: Model, step: int, loss: float, Xb: np.ndarray | None = None) -> None:
        self._locate_nonfinite(model, step, loss, Xb)
        self.stopped = "non-finite"
        raise StopTraining(f"non-finite values at step {step}")

    def on_step(self, model: Model, run: Mapping[str, Any], step: int, Xb: np.ndarray, yb: np.ndarray, loss: float) -> None:
        t = time.perf_counter()
        try:
            if self._batch_rows is None:
                self._batch_rows = len(Xb)
            # The common case (nothing due) must cost microseconds: no errstate, no numpy.
            if math.isfinite(loss):
                self._watch_loss(model, loss)
                if self._snapshot is None and not self._due(step + 1):
                    return
            with np.errstate(all="ignore"):
                self._on_step(model, step, loss, Xb)
        finally:
            self.monitor_seconds += time.perf_counter() - t

    def _on_step(self, model: Model, step: int, loss: float, Xb: np.ndarray) -> None:
        # NaN alone may mean train_step returned nothing; then the parameters decide.
        if math.isinf(loss) or (math.isnan(loss) and not self._params_finite(model)):
            self._stop(model, step, loss, Xb)
        if self._snapshot is not None:
            # The snapshot was taken after the previous step: this is one real update.
            # Tensors that are exactly zero (biases at init) have no meaningful ratio.
            update = update_ratios(self._snapshot, named_params(model.params))
            self._snapshot = None
            self.probe(model, step, update=update)
        elif self._due(step + 1):
            self._snapshot = copy_params(model.params)

    def on_epoch(self, model: Model, run: Mapping[str, Any], record: Mapping[str, Any]) -> None:
        t = time.perf_counter()
        try:
            with np.errstate(all="ignore"):
                self._epoch = int(record.get("epoch", self._epoch + 1))
                if not self._params_finite(model):
                    self._stop(model, run["history"].steps, math.nan)
                if hasattr(model, "predict") or hasattr(model, "activations"):
                    te = time.perf_counter()
                    self.epochs.append(self._evaluate(model))
                    self.eval_seconds += time.perf_counter() - te
                steps = run["history"].steps
                if self._due(steps) and not (self.probes and self.probes[-1]["step"] == steps):
                    self.probe(model, steps)
        finally:
            self.monitor_seconds += time.perf_counter() - t

    def on_end(self, model: Model, run: Mapping[str, Any]) -> None:
        t = time.perf_counter()
        steps = run["history"].steps
        # The final state is always probed: the rules judge where training ended.
        if self.stopped is None and (not self.probes or self.probes[-1]["step"] != steps):
            with np.errstate(all="ignore"):
                self.probe(model, steps)
        end = time.perf_counter()
        self.monitor_seconds += end - t
        self.wall_seconds = end - self._t0

    @property
    def overhead(self) -> float:
        """Probe time over the training time (0.03 = 3%).

        The epoch-end predictions of ``X_eval`` are not counted: they replace the
        test evaluation that ``train(X_test=...)`` would otherwise do itself.
        """
        rest = self.wall_seconds - self.monitor_seconds
        return (self.monitor_seconds - self.eval_seconds) / rest if rest > 0 else math.nan
