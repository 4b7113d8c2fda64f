"""Training monitors: evidence about activations, gradients and outputs, collected cheaply.

:class:`TrainingMonitor` is a callback for :func:`netdoctor.training.train`.
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

Cost is bounded: with ``every=None`` the monitor times itself and only probes
while its own time stays under ``budget`` (default 1%) of the training time; the
probes at the start, after the first step and at the end always run.
The monitor leaves the model as it found it (locating a NaN swaps saved weights in
for one forward pass and restores them bit for bit); it reads ``model.params`` afresh at every
probe because some user models rebind their arrays at each update.
"""

from __future__ import annotations

import math
import re
import time
from typing import Any, Mapping, Sequence

import numpy as np

from .errors import InvalidArgument

__all__ = ["TrainingMonitor", "StopTraining", "layer_stats", "named_params", "predict_labels", "confusion_matrix"]

_BOUNDED = {"tanh": (-1.0, 1.0), "sigmoid": (0.0, 1.0), "softmax": (0.0, 1.0)}


class StopTraining(KeyboardInterrupt):
    """Raised by a monitor to end training cleanly (``train`` treats it like Ctrl-C).

    A ``KeyboardInterrupt`` subclass because :func:`netdoctor.training.train`
    already turns that into a clean, partial :class:`History`.
    """


def named_params(params: Any) -> dict[str, np.ndarray]:
    """``model.params`` as name -> array, for dicts or lists/tuples (named ``p0, p1, ...``)."""
    if isinstance(params, Mapping):
        items = params.items()
    elif isinstance(params, (list, tuple)):
        items = ((f"p{i}", p) for i, p in enumerate(params))
    else:
        raise InvalidArgument(f"model.params is a {type(params).__name__}; expected a dict (or list) of arrays.")
    return {str(k): v for k, v in items if isinstance(v, np.ndarray)}


def _rows(a: Any, n: int) -> np.ndarray:
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
    if lo >= 0 and np.mean(a == 0) > 0.05:
        return "relu"
    if lo >= -1 and hi <= 1 and lo < 0:
        return "tanh"
    if lo >= 0 and hi <= 1:
        return "sigmoid"
    return "unknown"


def layer_stats(a: np.ndarray, kind: str, *, tanh_limit: float = 0.99, sigmoid_band: tuple[float, float] = (0.01, 0.99), bins: int = 10) -> dict[str, Any]:
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
    lo, hi = _BOUNDED.get(kind, (None, None))
    if finite and lo is None and a.size:
        lo, hi = float(a.min()), float(a.max())
    hist = np.histogram(a, bins=bins, range=(lo, hi if hi > lo else lo + 1))[0].tolist() if finite and a.size else []
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
    }


def predict_labels(model: Any, X: np.ndarray, *, chunk: int = 8192) -> np.ndarray:
    """Labels (N,) from ``model.predict``, else the argmax of the last activation."""
    out = []
    for i in range(0, len(X), chunk):
        Xc = X[i : i + chunk]
        if hasattr(model, "predict"):
            out.append(np.asarray(model.predict(Xc)).reshape(-1))
        else:
            out.append(np.argmax(_rows(model.activations(Xc)[-1], len(Xc)), axis=1))
    return np.concatenate(out) if out else np.zeros(0, dtype=np.intp)


def confusion_matrix(y: np.ndarray, pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts (C, C): rows true labels, columns predicted labels (out-of-range predictions dropped)."""
    y = np.asarray(y, dtype=np.intp)
    pred = np.asarray(pred, dtype=np.intp)
    ok = (pred >= 0) & (pred < n_classes)
    return np.bincount(n_classes * y[ok] + pred[ok], minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def _layer_of(names: Sequence[str], n_layers: int) -> dict[str, int]:
    """Map tensor names to 1-based layers: by the number in the name (``W1``, ``layers.0.weight``), else in pairs."""
    nums = {k: int(m.group(1)) for k in names if (m := re.search(r"(\d+)(?!.*\d)", k))}
    if len(nums) == len(names) and nums:
        shift = 1 if min(nums.values()) == 0 else 0
        if max(nums.values()) + shift <= n_layers:
            return {k: v + shift for k, v in nums.items()}
    if len(names) == 2 * n_layers:
        return {k: i // 2 + 1 for i, k in enumerate(names)}
    return {}


def _expected_loss(model: Any, n_classes: int) -> float | None:
    """The untrained loss for the model's loss and output activation, when the model says what they are."""
    from .losses import expected_initial_loss

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


def _norms(arrays: Mapping[str, np.ndarray]) -> dict[str, float]:
    return {k: float(np.linalg.norm(np.asarray(v, dtype=float).ravel())) for k, v in arrays.items()}


class TrainingMonitor:
    """Callback that records the evidence :mod:`netdoctor.rules` turns into findings.

    Args:
        X_probe, y_probe: the fixed probe batch (e.g. 256 training rows).
        X_eval, y_eval: data predicted at every epoch end for the confusion
            matrix and accuracy (e.g. the test set); defaults to the probe batch.
        eval_name: what ``X_eval`` is, for messages ("test data").
        every: probe every ``every`` steps; ``None`` adapts to ``budget``.
        budget: with ``every=None``, the largest share of training time the
            monitor may spend (0.01 = 1%).
        layer_activations: activation name per layer (hidden then output);
            default ``model.layer_activations()`` or guessed from the values.
        n_classes: number of classes; default from the model or the labels.
        expected_loss: the loss an untrained model should show (see
            :func:`netdoctor.losses.expected_initial_loss`); default from the model.
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
        self.probes: list[dict[str, Any]] = []
        self.epochs: list[dict[str, Any]] = []
        self.initial: dict[str, Any] = {}
        self.nonfinite: dict[str, Any] | None = None
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

    # -- measurements --------------------------------------------------------
    def _kinds(self, model: Any, acts: list[np.ndarray]) -> list[str]:
        names = self.layer_activations
        if names is None and hasattr(model, "layer_activations"):
            names = list(model.layer_activations())
            if getattr(model, "loss_name", None) == "cross_entropy":
                names[-1] = "softmax"
        if names is None or len(names) != len(acts):
            names = [infer_kind(a, output=i == len(acts) - 1) for i, a in enumerate(acts)]
        return names

    def probe(self, model: Any, step: int, *, update: dict[str, float] | None = None) -> dict[str, Any]:
        """Measure layers, gradients and weights on the probe batch now; returns the record."""
        t0 = time.perf_counter()
        try:
            return self._probe(model, step, update)
        finally:
            self.probe_seconds += time.perf_counter() - t0

    def _probe(self, model: Any, step: int, update: dict[str, float] | None) -> dict[str, Any]:
        n = len(self.X_probe)
        record: dict[str, Any] = {"step": step, "epoch": self._epoch, "layers": [], "update_ratios": update or {}}
        params = named_params(model.params)
        record["weight_norms"] = _norms(params)
        if hasattr(model, "activations"):
            acts = [_rows(a, n) for a in model.activations(self.X_probe)]
            kinds = self._kinds(model, acts)
            for l, (a, kind) in enumerate(zip(acts, kinds), start=1):
                stats = layer_stats(a, kind, tanh_limit=self.tanh_limit, sigmoid_band=self.sigmoid_band)
                stats.update(layer=l, role="output" if l == len(acts) else "hidden")
                record["layers"].append(stats)
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
            record["grad_norms"] = _norms(named_params(grads))
        record["layer_of"] = _layer_of(list(params), len(record["layers"])) if record["layers"] else {}
        self.probes.append(record)
        return record

    def _evaluate(self, model: Any) -> dict[str, Any]:
        pred = predict_labels(model, self.X_eval)
        C = self.n_classes or int(max(self.y_eval.max(initial=0), pred.max(initial=0)) + 1)
        cm = confusion_matrix(self.y_eval, pred, C)
        return {
            "epoch": self._epoch,
            "eval_accuracy": float(np.trace(cm) / max(1, len(self.y_eval))),
            "confusion": cm.tolist(),
            "pred_counts": cm.sum(axis=0).tolist(),
            "label_counts": cm.sum(axis=1).tolist(),
        }

    def _first_nonfinite_layer(self, model: Any, X: np.ndarray) -> int | None:
        if not hasattr(model, "activations"):
            return None
        for l, a in enumerate(model.activations(X), start=1):
            if not np.isfinite(np.asarray(a)).all():
                return l
        return None

    def _locate_nonfinite(self, model: Any, step: int, loss: float, Xb: np.ndarray | None = None) -> None:
        """Record where the first non-finite value appeared.

        The loss of step ``s`` is computed before its update, with the weights
        left by step ``s - 1``; by the time the hook runs, step ``s`` has already
        spread the NaN through every layer. When the guard copy of those weights
        exists (kept while the loss climbs), they are put back into the model's
        arrays for one forward pass of the step's batch, then the current values
        are restored bit for bit, so the layer is exact. Otherwise the layer is
        located in the current state (approximate).
        """
        params = named_params(model.params)
        bad_now = [k for k, v in params.items() if not np.isfinite(v).all()]
        record: dict[str, Any] = {"step": step, "loss": loss, "tensors": bad_now, "exact": False}
        X = self.X_probe if Xb is None else np.asarray(Xb)
        if Xb is not None and np.issubdtype(X.dtype, np.number) and not np.isfinite(X).all():
            record.update(layer=0, where="the input batch", inputs_nonfinite=True, exact=True)
        elif self._guard is not None and all(k in params and params[k].shape == v.shape for k, v in self._guard.items()):
            now = {k: params[k].copy() for k in self._guard}
            try:
                for k, v in self._guard.items():
                    np.copyto(params[k], v)
                layer = self._first_nonfinite_layer(model, X)
                before = [k for k, v in self._guard.items() if not np.isfinite(v).all()]
            finally:
                for k, v in now.items():
                    np.copyto(params[k], v)
            record.update(layer=layer, exact=True, tensors_before_step=before)
        else:
            record["layer"] = self._first_nonfinite_layer(model, X)
        if "where" not in record:
            layer = record["layer"]
            record["where"] = f"layer {layer}" if layer else (bad_now[0] if bad_now else "the loss")
        record["last_finite_loss"] = self._last_finite
        self.nonfinite = record

    def _watch_loss(self, model: Any, loss: float) -> None:
        """Keep a copy of the weights after each step while the smoothed loss climbs (cheap otherwise)."""
        if not math.isfinite(loss):
            return
        self._last_finite = loss
        self._ema = loss if self._ema is None else 0.8 * self._ema + 0.2 * loss
        self._ema_min = min(self._ema_min, self._ema)
        if self._ema > 2.0 * self._ema_min + 1e-12:
            self._guard = {k: v.copy() for k, v in named_params(model.params).items()}
        else:
            self._guard = None

    # -- callback hooks ---------------------------------------------------------
    # Each hook times itself (the budget) and silences numpy's overflow
    # warnings: a diverging network is what we are here to record, not to crash on.
    def on_start(self, model: Any, run: Mapping[str, Any]) -> None:
        t = self._t0 = time.perf_counter()
        with np.errstate(all="ignore"):
            if self.n_classes is None:
                self.n_classes = getattr(model, "n_classes", None)
            if self.expected_loss is None and self.n_classes:
                self.expected_loss = _expected_loss(model, self.n_classes)
            first = self.probe(model, 0)
            self.initial = {"loss": first.get("loss"), "expected": self.expected_loss, "output_spread": first.get("output_spread")}
            self._snapshot = {k: v.copy() for k, v in named_params(model.params).items()}
        self.monitor_seconds += time.perf_counter() - t

    def _due(self, step: int) -> bool:
        if self.every is not None:
            return step % self.every == 0
        # probe_seconds is kept inside probe() itself, so it is current even mid-hook.
        spent = self.probe_seconds
        elapsed = time.perf_counter() - self._t0 - self.monitor_seconds
        per_probe = spent / max(1, len(self.probes))
        return spent + per_probe <= self.budget * max(elapsed, 1e-9)

    def _params_finite(self, model: Any) -> bool:
        return all(np.isfinite(v).all() for v in named_params(model.params).values())

    def _stop(self, model: Any, step: int, loss: float, Xb: np.ndarray | None = None) -> None:
        self._locate_nonfinite(model, step, loss, Xb)
        self.stopped = "non-finite"
        raise StopTraining(f"non-finite values at step {step}")

    def on_step(self, model: Any, run: Mapping[str, Any], step: int, Xb: np.ndarray, yb: np.ndarray, loss: float) -> None:
        t = time.perf_counter()
        try:
            # The common case (nothing due) must cost microseconds: no errstate, no numpy.
            if math.isfinite(loss):
                self._watch_loss(model, loss)
                if self._snapshot is None and not self._due(step + 1):
                    return
            with np.errstate(all="ignore"):
                self._on_step(model, step, loss, Xb)
        finally:
            self.monitor_seconds += time.perf_counter() - t

    def _on_step(self, model: Any, step: int, loss: float, Xb: np.ndarray) -> None:
        # NaN alone may mean train_step returned nothing; then the parameters decide.
        if math.isinf(loss) or (math.isnan(loss) and not self._params_finite(model)):
            self._stop(model, step, loss, Xb)
        if self._snapshot is not None:
            # The snapshot was taken after the previous step: this is one real update.
            now = named_params(model.params)
            # Tensors that are exactly zero (biases at init) have no meaningful ratio.
            update = {
                k: float(np.linalg.norm((now[k] - old).ravel()) / norm)
                for k, old in self._snapshot.items()
                if k in now and now[k].shape == old.shape and (norm := np.linalg.norm(old.ravel())) > 0
            }
            self._snapshot = None
            self.probe(model, step, update=update)
        elif self._due(step + 1):
            self._snapshot = {k: v.copy() for k, v in named_params(model.params).items()}

    def on_epoch(self, model: Any, run: Mapping[str, Any], record: Mapping[str, Any]) -> None:
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
                if self._due(run["history"].steps):
                    self.probe(model, run["history"].steps)
        finally:
            self.monitor_seconds += time.perf_counter() - t

    def on_end(self, model: Any, run: Mapping[str, Any]) -> None:
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
