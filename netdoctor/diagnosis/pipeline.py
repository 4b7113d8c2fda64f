"""Diagnose a network that does not learn: run every check, return one ranked Report.

:func:`diagnose` runs, in order and each only as far as it is cheap:

1. a gradient check on a small batch (:mod:`netdoctor.gradients`);
2. a static scan for shared buffers (:mod:`netdoctor.buffers.aliasing`);
3. a dynamic probe of a few real updates on a copy (:mod:`netdoctor.buffers.probe`):
   summed gradients, stale accumulators, frozen parameters;
4. a short training run of a copy of the model with a
   :class:`~netdoctor.monitor.callback.TrainingMonitor` watching;
5. the rules (:mod:`netdoctor.diagnosis.rules`) on what the monitor saw;
6. confirming experiments (:mod:`netdoctor.diagnosis.experiments`): overfitting 16
   examples, per-example independence, and for the reference MLP, re-running
   with each prescribed fix to show before/after accuracy.

The user's model is never modified: training and experiments run on deep
copies (or, for models that cannot be copied, on the model itself with every
array restored bit for bit afterwards). Ctrl-C returns the partial report.
The callbacks added beside the monitor live in :mod:`netdoctor.diagnosis.callbacks`.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from netdoctor.buffers.reach import scratch_copy

# MIN_PROBES is re-exported: tests and docs read it from here.
from netdoctor.diagnosis.callbacks import MIN_PROBES, _ProbeFloor, _TestAccuracy  # noqa: F401
from netdoctor.diagnosis.evidence import Evidence
from netdoctor.diagnosis.rules import apply_rules, collect_evidence, link_causes
from netdoctor.diagnosis.sections import BaselineSection, HistoryRow, LayerRow
from netdoctor.errors import InvalidArgument
from netdoctor.findings import Finding, Report
from netdoctor.monitor.callback import TrainingMonitor
from netdoctor.nn.threads import blas_threads, threads_for_model
from netdoctor.nn.training import History
from netdoctor.protocol import TrainableModel

__all__ = ["diagnose"]

PROBE_ROWS = 64
"""Rows in the monitor's probe batch: enough for stable shares, cheap enough for the 5% budget."""
EVAL_ROWS = 2000
"""Training rows predicted at each epoch end when no test data is given."""
GRADCHECK_ROWS = 8


def _validate(X, y, X_test, y_test, epochs, lr, batch_size) -> tuple[np.ndarray, np.ndarray]:
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim != 2 or len(X) == 0:
        raise InvalidArgument(f"X has shape {X.shape}; expected (n_samples, n_features) with at least one row.")
    if y.ndim != 1 or len(y) != len(X):
        raise InvalidArgument(f"y has shape {y.shape}; expected ({len(X)},) integer labels, one per row of X.")
    if (X_test is None) != (y_test is None):
        raise InvalidArgument("pass X_test and y_test together (or neither).")
    if X_test is not None and (np.ndim(X_test) != 2 or len(X_test) != len(y_test) or np.shape(X_test)[1] != X.shape[1]):
        raise InvalidArgument(f"X_test {np.shape(X_test)} and y_test {np.shape(y_test)} must be (M, {X.shape[1]}) and (M,).")
    if epochs < 1 or batch_size < 1 or not (lr > 0 and math.isfinite(lr)):
        raise InvalidArgument(f"epochs={epochs}, batch_size={batch_size}, lr={lr}: need epochs >= 1, batch_size >= 1, 0 < lr < inf.")
    return X, y.astype(np.intp, copy=False)


def _guarded(name: str, notes: list[str], fn: Callable[[], Any]) -> Any:
    """Run an optional check; a missing module or a protocol gap becomes a note, not a crash."""
    try:
        return fn()
    except ImportError as exc:
        notes.append(f"{name} skipped: {exc}")
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # noqa: BLE001 - one failing check must not hide the others
        notes.append(f"{name} skipped: {type(exc).__name__}: {exc}")
    return None


def _layers_section(monitor: TrainingMonitor) -> list[LayerRow]:
    if not monitor.probes:
        return []
    last = monitor.probes[-1]
    updates: dict[str, float] = next((p["update_ratios"] for p in reversed(monitor.probes) if p["update_ratios"]), {})
    by_layer: dict[int, list[str]] = {}
    for name, l in last["layer_of"].items():
        by_layer.setdefault(l, []).append(name)
    rows: list[LayerRow] = []
    for layer in last["layers"]:
        names = by_layer.get(layer["layer"], [])
        w = [n for n in names if "b" != n[:1].lower() and "bias" not in n.lower()] or names
        rows.append({
            "layer": f"{layer['layer']} {layer['role']}",
            "activation": layer["activation"],
            "units": layer["units"],
            "saturation": layer["saturation"],
            "dead": layer["dead"],
            "act_mean": layer["act_mean"],
            "act_std": layer["act_std"],
            "tensors": names,
            "grad_norm": last.get("grad_norms", {}).get(w[0]) if w else None,
            "update_ratio": updates.get(w[0]) if w else None,
            "hist": layer["hist"],
            "hist_range": layer["hist_range"],
        })
    return rows


def diagnose(
    model: TrainableModel, X: Any, y: Any, *, X_test: Any = None, y_test: Any = None, epochs: int = 3, lr: float = 0.1,
    batch_size: int = 32, seed: int = 0, gradcheck: bool = True, probe: bool = True, experiments: bool = True,
    baseline: Callable[[], Any] | None = None, progress: Any = None, monitor_every: int | None = None,
    data: Any = None, label_noun: str | None = None,
) -> Report:
    """Find out why ``model`` does not learn on ``(X, y)``.

    Args:
        model: a protocol model (``params``, ``loss``, ``train_step``; ``predict``
            and ``activations`` make the report richer).
        X, y: training inputs (N, D) scaled to [0, 1] and integer labels (N,).
        X_test, y_test: held-out data; accuracy, confusion matrix and
            class-collapse are judged on it (else on up to 2,000 training rows).
        epochs, lr, batch_size, seed: the training run to watch.
        gradcheck, probe, experiments: switch the slower parts off.
        baseline: a factory for a reference model trained the same way for
            comparison: its accuracy goes into ``sections["baseline"]`` and a
            ``reference-comparison`` finding compares it with the model's
            (:mod:`netdoctor.diagnosis.reference`).
        progress: an extra training callback (the CLI's progress display).
        monitor_every: probe every k steps (default: adaptive, <= 1% of training time besides the start and end probes).
        data: a data summary to show in the report (``sections["data"]``).
        label_noun: how messages name a label's rows; default "images of
            digit" for 784-feature, 10-class data, else "rows labelled".

    Returns:
        the :class:`~netdoctor.findings.Report`, root causes first;
        ``partial=True`` when Ctrl-C cut it short.
    """
    from netdoctor.nn.training import train

    X, y = _validate(X, y, X_test, y_test, epochs, lr, batch_size)
    rng = np.random.default_rng(seed)
    n_classes = getattr(model, "n_classes", None) or int(max(y.max(), -1 if y_test is None else np.max(y_test)) + 1)
    if label_noun is None:
        label_noun = "images of digit" if X.shape[1] == 784 and n_classes == 10 else "rows labelled"
    notes: list[str] = []
    report = Report(context={
        "model": repr(model), "data": f"{len(X)} x {X.shape[1]} training rows" + (f", {len(X_test)} test rows" if X_test is not None else ""),
        "training": f"{epochs} epoch{'' if epochs == 1 else 's'}, lr {lr}, batch {batch_size}, seed {seed}",
        "seed": seed, "n_classes": n_classes, "notes": notes,
    }, title="netdoctor diagnosis")
    if data is not None:
        report.sections["data"] = data
    findings: list[Finding] = []
    # User models may draw from NumPy's global generator (dropout, shuffles): leave its state as found.
    global_state = np.random.get_state()
    # Small networks' products are faster on one BLAS thread, above all on a busy machine
    # (netdoctor.nn.threads); the caller's thread counts come back in the finally below.
    threads = contextlib.ExitStack()
    threads.enter_context(blas_threads(threads_for_model(model, batch_size)))
    try:
        small = rng.choice(len(X), size=min(GRADCHECK_ROWS, len(X)), replace=False)
        if gradcheck:
            from_gc = _guarded("gradient check", notes, lambda: _gradcheck(model, X[small], y[small], seed))
            if from_gc is not None:
                findings += list(from_gc.findings)
                report.sections["gradcheck"] = from_gc.to_dict()
        found = _guarded("aliasing scan", notes, lambda: _aliasing(model))
        findings += found or []
        if probe:
            rows = rng.choice(len(X), size=min(len(X), 8 * batch_size), replace=False)
            res = _guarded("training probe", notes, lambda: _probe(model, X[rows], y[rows], lr, batch_size, seed))
            if res is not None:
                seen = {(g.code, g.where) for g in findings}  # the static scan may have named the same sharing
                findings += [f for f in res.findings if (f.code, f.where) not in seen]
                report.sections["probe"] = {k: v for k, v in res.evidence.items() if not isinstance(v, (list, dict))}

        probe_idx = rng.choice(len(X), size=min(PROBE_ROWS, len(X)), replace=False)
        if X_test is not None:
            X_eval, y_eval, eval_name = np.asarray(X_test), np.asarray(y_test, dtype=np.intp), "test data"
        else:
            ev_idx = rng.choice(len(X), size=min(EVAL_ROWS, len(X)), replace=False)
            X_eval, y_eval, eval_name = X[ev_idx], y[ev_idx], "training data (no test set given)"
        monitor = TrainingMonitor(X[probe_idx], y[probe_idx], X_eval=X_eval, y_eval=y_eval, eval_name=eval_name,
                                  every=monitor_every, n_classes=n_classes)
        callbacks = [monitor, _TestAccuracy(monitor)] + ([progress] if progress is not None else [])
        if monitor_every is None:
            callbacks.insert(1, _ProbeFloor(monitor, epochs * math.ceil(len(X) / batch_size)))
        with scratch_copy(model) as work, np.errstate(all="ignore"):
            history = train(work, X, y, epochs=epochs, lr=lr, batch_size=batch_size, seed=seed, callbacks=callbacks)
        if history.interrupted and monitor.stopped is None:
            report.partial = True
        ev = collect_evidence(monitor, history, X=X, model=model, label_noun=label_noun)
        findings += apply_rules(ev)
        _fill_sections(report, monitor, history, ev)
        report.context["monitor_overhead"] = round(monitor.overhead, 4) if math.isfinite(monitor.overhead) else None
        if experiments and not report.partial:
            from netdoctor.diagnosis.experiments import run_experiments

            findings = run_experiments(model, X, y, findings, X_test=X_test, y_test=y_test, lr=lr, batch_size=batch_size,
                                       seed=seed, report=report, notes=notes)
        if baseline is not None and not report.partial:
            ref = _guarded("baseline", notes, lambda: _baseline(baseline, X, y, X_eval, y_eval, epochs, lr, batch_size, seed))
            report.sections["baseline"] = ref
            user_acc = monitor.epochs[-1]["eval_accuracy"] if monitor.epochs else None
            if ref is not None:
                from netdoctor.diagnosis.reference import reference_comparison

                found = reference_comparison(user_acc, ref, y_eval, present={f.code for f in findings},
                                             epochs=epochs, lr=lr, batch_size=batch_size, on=eval_name)
                findings += [found] if found is not None else []
    except KeyboardInterrupt:
        report.partial = True
    finally:
        np.random.set_state(global_state)
        threads.close()
    report.add(link_causes(findings))
    return report


def _gradcheck(model, X, y, seed):
    from netdoctor.gradients.check import check_gradients

    return check_gradients(model, X, y, seed=seed)


def _aliasing(model):
    from netdoctor.buffers.aliasing import find_aliasing

    return find_aliasing(model)


def _probe(model, X, y, lr, batch_size, seed):
    from netdoctor.buffers.probe import probe_training

    return probe_training(model, X, y, lr=lr, batch_size=batch_size, seed=seed)


def _baseline(factory: Callable[[], Any], X: np.ndarray, y: np.ndarray, X_eval: np.ndarray, y_eval: np.ndarray, epochs: int,
              lr: float, batch_size: int, seed: int) -> BaselineSection:
    from netdoctor.nn.training import accuracy, train

    ref = factory()
    with np.errstate(all="ignore"):
        h = train(ref, X, y, epochs=epochs, lr=lr, batch_size=batch_size, seed=seed)
    return {"model": repr(ref), "accuracy": accuracy(ref, X_eval, y_eval), "final_loss": h.loss[-1] if h.loss else None,
            "epochs": epochs, "lr": lr, "batch_size": batch_size, "seed": seed}


def _fill_sections(report: Report, monitor: TrainingMonitor, history: History, ev: Evidence) -> None:
    hist: list[HistoryRow] = []
    for e in ev["epochs"]:
        row: HistoryRow = {"epoch": e.get("epoch"), "loss": e.get("loss"), "train_accuracy": e.get("train_accuracy")}
        if monitor.eval_name == "test data":
            row["test_accuracy"] = e.get("eval_accuracy")
        else:
            row["eval_accuracy"] = e.get("eval_accuracy")
        hist.append(row)
    report.sections["history"] = hist
    report.sections["layers"] = _layers_section(monitor)
    # Every probe, compacted, for the plots over training (plots.py imports matplotlib only when drawing).
    from netdoctor.report.plots import compact_probes

    report.sections["probes"] = compact_probes(monitor.probes)
    if monitor.epochs:
        last = monitor.epochs[-1]
        labels = list(range(len(last["confusion"])))
        report.sections["confusion"] = {"labels": labels, "matrix": last["confusion"], "on": monitor.eval_name, "epoch": last["epoch"]}
        report.sections["predictions"] = {"labels": labels, "counts": last["pred_counts"], "on": monitor.eval_name}
    if monitor.nonfinite:
        report.sections["non_finite"] = monitor.nonfinite
    report.context["steps"] = history.steps
