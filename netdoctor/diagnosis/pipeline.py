"""Diagnose a network that does not learn: run every check, return one ranked Report.

:func:`diagnose` reads as its stages, run in order and each only as far as it is cheap:

1. ``_check_gradients``: a gradient check on a small batch (:mod:`netdoctor.gradients`);
2. ``_scan_for_sharing``: a static scan for shared buffers (:mod:`netdoctor.buffers.aliasing`);
3. ``_probe_updates``: a dynamic probe of a few real updates on a copy (:mod:`netdoctor.buffers.probe`):
   summed gradients, stale accumulators, frozen parameters;
4. ``_watch_training``: a short training run of a copy of the model with a
   :class:`~netdoctor.monitor.callback.TrainingMonitor` watching;
5. ``_apply_rules``: the rules (:mod:`netdoctor.diagnosis.rules`) on what the monitor saw;
6. ``_confirm_with_experiments``: confirming experiments (:mod:`netdoctor.diagnosis.experiments`):
   overfitting 16 examples, per-example independence, and for the reference MLP,
   re-running with each prescribed fix to show before/after accuracy;
7. ``_compare_with_reference``: with ``baseline=``, the reference MLP trained the same way
   (:mod:`netdoctor.diagnosis.reference`).

The stages share one ``_Run`` (data, settings, the row generator, the report
and the findings so far). The user's model is never modified: training and
experiments run on deep copies (or, for models that cannot be copied, on the
model itself with every array restored bit for bit afterwards). Ctrl-C
returns the partial report. The callbacks added beside the monitor live in
:mod:`netdoctor.diagnosis.callbacks`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import field
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from netdoctor._lazy import dataclass
from netdoctor.buffers.reach import scratch_copy

# MIN_PROBES is re-exported: tests and docs read it from here.
from netdoctor.diagnosis.callbacks import MIN_PROBES, _ProbeFloor, _TestAccuracy  # noqa: F401
from netdoctor.diagnosis.evidence import Evidence
from netdoctor.diagnosis.rules import apply_rules, collect_evidence, link_causes
from netdoctor.diagnosis.sections import BaselineSection, HistoryRow, LayerRow
from netdoctor.errors import InvalidArgument
from netdoctor.findings import Finding, Report
from netdoctor.monitor.callback import TrainingMonitor
from netdoctor.nn.threads import blas_threads
from netdoctor.nn.training import History
from netdoctor.protocol import TrainableModel

if TYPE_CHECKING:
    from netdoctor.buffers.probe import ProbeResult
    from netdoctor.gradients.result import GradcheckResult

__all__ = ["diagnose"]

T = TypeVar("T")

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


def _guarded(name: str, notes: list[str], fn: Callable[[], T]) -> T | None:
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
    model: TrainableModel, X: Any, y: Any, *, X_test: Any = None, y_test: Any = None, epochs: int = 3, lr: float | None = None,
    batch_size: int | None = None, seed: int = 0, gradcheck: bool = True, probe: bool = True, experiments: bool = True,
    baseline: Callable[[], Any] | None = None, progress: Any = None, monitor_every: int | None = None,
    data: Any = None, label_noun: str | None = None, model_name: str | None = None,
    given_as: Mapping[str, str] | None = None, test_data: Any = None,
) -> Report:
    """Find out why ``model`` does not learn on ``(X, y)``.

    Args:
        model: a protocol model (``params``, ``loss``, ``train_step``; ``predict``
            and ``activations`` make the report richer).
        X, y: training inputs (N, D) scaled to [0, 1] and integer labels (N,).
        X_test, y_test: held-out data; accuracy, confusion matrix and
            class-collapse are judged on it (else on up to 2,000 training rows).
        epochs, seed: the training run to watch.
        lr, batch_size: the learning rate and batch size; None (the
            default) takes the model's own (attributes ``lr``,
            ``learning_rate``, ``eta``, ``alpha``; ``batch_size``,
            ``mini_batch_size``, also on the net an adapter wraps), else 0.1
            and 32 (:func:`netdoctor.diagnosis.settings.resolve_settings`).
            The header says where each came from.
        gradcheck, probe, experiments: switch the slower parts off.
        baseline: a factory for a reference model trained the same way for
            comparison: its accuracy goes into ``sections["baseline"]`` and a
            ``reference-comparison`` finding compares it with the model's
            (:mod:`netdoctor.diagnosis.reference`).
        progress: an extra training callback (the CLI's progress display).
        monitor_every: probe every k steps (default: the monitor's count schedule, about 1% of training time besides the start and end probes).
        data: a data summary to show in the report (``sections["data"]``);
            the values it names as odd (a pixel of -7 among 0..255, a label 12
            among 0..9) become ``odd-values`` findings.
        test_data: the test file's data summary, for its ``odd-values``.
        label_noun: how messages name a label's rows; default "images of
            digit" for 784-feature, 10-class data, else "rows labelled".
        model_name: how the header names the model (the CLI: ``"Net from
            net.py:build"``); default its repr, or its class name when the
            repr is the default ``<... object at 0x...>``.
        given_as: how the header names given settings (``{"lr": "--lr"}``);
            default ``"given"``.

    Returns:
        the :class:`~netdoctor.findings.Report`, root causes first;
        ``partial=True`` when Ctrl-C cut it short.
    """
    from netdoctor.diagnosis.settings import resolve_settings

    settings = resolve_settings(model, lr=lr, batch_size=batch_size)
    settings = {k: dataclasses.replace(v, source=(given_as or {}).get(k, "given")) if v.source == "given" else v
                for k, v in settings.items()}
    lr, batch_size = float(settings["lr"].value), int(settings["batch_size"].value)
    X, y = _validate(X, y, X_test, y_test, epochs, lr, batch_size)
    run = _start(model, X, y, X_test, y_test, epochs=epochs, lr=lr, batch_size=batch_size, seed=seed,
                 label_noun=label_noun, data=data, settings=settings, model_name=model_name)
    run.findings += _odd_values([("training", data), ("test", test_data)])
    # User models may draw from NumPy's global generator (dropout, shuffles): leave its state as found.
    global_state = np.random.get_state()
    # netdoctor's own work runs on one BLAS thread: beside other busy processes a second
    # thread waits a scheduler slice for its core at every product (netdoctor.nn.threads),
    # and a diagnosis must not take cores the machine's other work is using. The caller's
    # thread counts come back in the finally below.
    threads = contextlib.ExitStack()
    threads.enter_context(blas_threads(1))
    try:
        _check_gradients(run, enabled=gradcheck)
        _scan_for_sharing(run)
        if probe:
            _probe_updates(run)
        monitor, history = _watch_training(run, progress=progress, monitor_every=monitor_every)
        _apply_rules(run, monitor, history)
        if experiments and not run.report.partial:
            _confirm_with_experiments(run, monitor)
        if baseline is not None and not run.report.partial:
            _compare_with_reference(run, baseline, monitor)
    except KeyboardInterrupt:
        run.report.partial = True
    finally:
        np.random.set_state(global_state)
        threads.close()
    run.report.add(link_causes(run.findings))
    return run.report


@dataclass
class _Run:
    """One diagnosis in progress: the model, the data and settings, and what the stages have found so far."""

    model: TrainableModel
    X: np.ndarray
    y: np.ndarray
    X_test: np.ndarray | None
    y_test: np.ndarray | None
    epochs: int
    lr: float
    batch_size: int
    seed: int
    rng: np.random.Generator
    """Draws every row choice, in stage order (the same seed gives the same report)."""
    n_classes: int
    label_noun: str
    report: Report
    notes: list[str]
    """Checks skipped and why (shown in the report header)."""
    findings: list[Finding] = field(default_factory=list)
    X_eval: np.ndarray | None = None
    y_eval: np.ndarray | None = None
    eval_name: str = ""
    """The rows accuracy is judged on: the test data, else up to :data:`EVAL_ROWS` training rows."""


def _start(model: TrainableModel, X: np.ndarray, y: np.ndarray, X_test: Any, y_test: Any, *, epochs: int, lr: float,
           batch_size: int, seed: int, label_noun: str | None, data: Any, settings: Mapping[str, Any],
           model_name: str | None) -> _Run:
    """The report header (model, data, training settings and their sources) and the shared state of the stages."""
    from netdoctor.diagnosis.settings import describe_model

    n_classes = getattr(model, "n_classes", None) or int(max(y.max(), -1 if y_test is None else np.max(y_test)) + 1)
    if label_noun is None:
        label_noun = "images of digit" if X.shape[1] == 784 and n_classes == 10 else "rows labelled"
    # Odd values in the data are odd-values findings; a summary without their record keeps its notes.
    notes: list[str] = [] if getattr(data, "oddities", None) is not None else list(getattr(data, "notes", ()) or ())
    report = Report(context={
        "model": model_name or describe_model(model),
        "data": f"{len(X)} x {X.shape[1]} training rows" + (f", {len(X_test)} test rows" if X_test is not None else ""),
        "training": f"{epochs} epoch{'' if epochs == 1 else 's'}, {_said(settings)}, seed {seed}",
        "settings": {k: v.to_dict() for k, v in settings.items()},
        "seed": seed, "n_classes": n_classes, "notes": notes,
    }, title="netdoctor diagnosis")
    if data is not None:
        report.sections["data"] = data
    return _Run(model, X, y, X_test, y_test, epochs, lr, batch_size, seed, np.random.default_rng(seed), n_classes,
                label_noun, report, notes)


def _odd_values(summaries: list[tuple[str, Any]]) -> list[Finding]:
    """``odd-values`` of each data file: the loader named the places (``DataSummary.oddities``), the rule decides."""
    from netdoctor.rules.evidence import OddValues
    from netdoctor.rules.oddities import odd_values

    found = []
    for role, summary in summaries:
        places = getattr(summary, "oddities", None)
        if places is not None:
            found += odd_values(OddValues(places, scaling=summary.scaling_text(), role=role))
    return found


def _check_gradients(run: _Run, *, enabled: bool) -> None:
    """Stage 1: the gradient check on :data:`GRADCHECK_ROWS` rows (drawn even when disabled: later draws stay put)."""
    small = run.rng.choice(len(run.X), size=min(GRADCHECK_ROWS, len(run.X)), replace=False)
    if not enabled:
        return
    from_gc = _guarded("gradient check", run.notes, lambda: _gradcheck(run.model, run.X[small], run.y[small], run.seed))
    if from_gc is not None:
        run.findings += list(from_gc.findings)
        run.report.sections["gradcheck"] = from_gc.to_dict()


def _scan_for_sharing(run: _Run) -> None:
    """Stage 2: the static scan for arrays that share memory."""
    run.findings += _guarded("aliasing scan", run.notes, lambda: _aliasing(run.model)) or []
    own = getattr(run.model, "__netdoctor_findings__", None)
    if callable(own):  # what the model's adapter sees in it (a PyTorch module: double softmax)
        # Its own generator: the run's draws (probe rows, monitor batch) stay what they are for every model.
        small = np.random.default_rng(run.seed).choice(len(run.X), size=min(GRADCHECK_ROWS, len(run.X)), replace=False)
        seen = {(g.code, g.where) for g in run.findings}
        found = _guarded("model self-check", run.notes, lambda: own(run.X[small], run.y[small]))
        run.findings += [f for f in found or [] if (f.code, f.where) not in seen]


def _probe_updates(run: _Run) -> None:
    """Stage 3: a few real updates on a copy, fitted on the gradients (summed, stale, frozen, mismatched)."""
    rows = run.rng.choice(len(run.X), size=min(len(run.X), 8 * run.batch_size), replace=False)
    res = _guarded("training probe", run.notes,
                   lambda: _probe(run.model, run.X[rows], run.y[rows], run.lr, run.batch_size, run.seed))
    if res is None:
        return
    seen = {(g.code, g.where) for g in run.findings}  # the static scan may have named the same sharing
    run.findings += [f for f in res.findings if (f.code, f.where) not in seen]
    run.report.sections["probe"] = {k: v for k, v in res.evidence.items() if isinstance(v, (int, float, str, bool))}
    run.findings = [_measured_sharing(f, run.report.sections["probe"]) for f in run.findings]


def _watch_training(run: _Run, *, progress: Any, monitor_every: int | None) -> tuple[TrainingMonitor, History]:
    """Stage 4: train a copy with the monitor watching; the evaluation rows are chosen here."""
    from netdoctor.nn.training import train

    X, y, rng = run.X, run.y, run.rng
    probe_idx = rng.choice(len(X), size=min(PROBE_ROWS, len(X)), replace=False)
    if run.X_test is not None and run.y_test is not None:
        run.X_eval, run.y_eval, run.eval_name = np.asarray(run.X_test), np.asarray(run.y_test, dtype=np.intp), "test data"
    else:
        ev_idx = rng.choice(len(X), size=min(EVAL_ROWS, len(X)), replace=False)
        run.X_eval, run.y_eval, run.eval_name = X[ev_idx], y[ev_idx], "training data (no test set given)"
    monitor = TrainingMonitor(X[probe_idx], y[probe_idx], X_eval=run.X_eval, y_eval=run.y_eval, eval_name=run.eval_name,
                              every=monitor_every, n_classes=run.n_classes)
    callbacks: list[Any] = [monitor, _TestAccuracy(monitor)] + ([progress] if progress is not None else [])
    if monitor_every is None:
        callbacks.insert(1, _ProbeFloor(monitor, run.epochs * math.ceil(len(X) / run.batch_size)))
    with scratch_copy(run.model) as work, np.errstate(all="ignore"):
        history = train(work, X, y, epochs=run.epochs, lr=run.lr, batch_size=run.batch_size, seed=run.seed,
                        callbacks=callbacks)
    if history.interrupted and monitor.stopped is None:
        run.report.partial = True
    return monitor, history


def _apply_rules(run: _Run, monitor: TrainingMonitor, history: History) -> None:
    """Stage 5: the rules on what the monitor saw; the measurement sections of the report."""
    ev = collect_evidence(monitor, history, X=run.X, model=run.model, label_noun=run.label_noun)
    run.findings += apply_rules(ev)
    run.findings = _summed_but_too_slow(run.findings, run.lr, run.batch_size)
    _fill_sections(run.report, monitor, history, ev)
    run.report.context["monitor_overhead"] = round(monitor.overhead, 4) if math.isfinite(monitor.overhead) else None


def _confirm_with_experiments(run: _Run, monitor: TrainingMonitor) -> None:
    """Stage 6: overfitting a tiny batch, per-example independence, zero inputs, the prescribed fixes re-run."""
    from netdoctor.diagnosis.experiments import run_experiments

    run.findings = run_experiments(run.model, run.X, run.y, run.findings, X_test=run.X_test, y_test=run.y_test, lr=run.lr,
                                   batch_size=run.batch_size, seed=run.seed, report=run.report, notes=run.notes,
                                   probes=monitor.probes)


def _compare_with_reference(run: _Run, baseline: Callable[[], Any], monitor: TrainingMonitor) -> None:
    """Stage 7: the reference MLP trained the same way; its accuracy against the model's."""
    X_eval, y_eval = run.X_eval, run.y_eval
    if X_eval is None or y_eval is None:
        return
    ref = _guarded("baseline", run.notes, lambda: _baseline(baseline, run.X, run.y, X_eval, y_eval, run.epochs, run.lr,
                                                            run.batch_size, run.seed))
    run.report.sections["baseline"] = ref
    if ref is None:
        return
    from netdoctor.diagnosis.reference import reference_comparison

    user_acc = monitor.epochs[-1]["eval_accuracy"] if monitor.epochs else None
    found = reference_comparison(user_acc, ref, y_eval, present={f.code for f in run.findings}, epochs=run.epochs,
                                 lr=run.lr, batch_size=run.batch_size, on=run.eval_name)
    run.findings += [found] if found is not None else []


def _said(settings: Mapping[str, Any]) -> str:
    """``lr 0.001 (Net.eta), batch 1 (Net.mini_batch_size)``: each setting and where it came from."""
    return ", ".join(f"{word} {settings[key].value:g} ({settings[key].source})"
                     for key, word in (("lr", "lr"), ("batch_size", "batch")))


def _summed_but_too_slow(findings: list[Finding], lr: float, batch_size: int) -> list[Finding]:
    """A summed gradient beside a too-small step: average, but do not shrink the step further.

    The usual prescription for a summed gradient (average it, or divide lr by
    the batch size) makes each step ``batch_size`` times smaller; when the
    monitors already find the step too small (``learning-rate-too-low``), that
    would make it worse, so the fix keeps today's step instead.
    """
    codes = {f.code for f in findings}
    if not {"summed-gradient", "learning-rate-too-low"} <= codes:
        return findings
    keep = lr * batch_size
    fix = (f"average the accumulated gradient over the batch (`w -= lr / {batch_size} * sum_grad`) and raise lr to "
           f"{keep:g} to keep today's step: the step is already too small (learning-rate-too-low), so do not lower it.")
    return [dataclasses.replace(f, fix=fix) if f.code == "summed-gradient" else f for f in findings]


def _measured_sharing(f: Finding, probe: Mapping[str, Any]) -> Finding:
    """An ``aliased-buffers`` finding about a reset-by-assignment template, told with what the probe measured.

    The static scan knows the sharing, not its effect: how much of the earlier
    batches' gradients comes back in each update depends on what the code does
    with the shared buffer (re-applied whole when it only accumulates; scaled
    when the update multiplies the buffer in place). The probe's fit measures
    that weight (``history_weight``, relative to the newest gradient) and its
    per-step ``decay``; the explanation then states those numbers instead of
    assuming full re-application.
    """
    weight, decay = probe.get("history_weight"), probe.get("decay")
    paths = f.evidence.get("paths") or []
    if (f.code != "aliased-buffers" or "by assignment" not in f.message or len(paths) < 2
            or not isinstance(weight, (int, float)) or not math.isfinite(weight)):
        return f
    tpl = next((p for p in paths if "templ" in p.lower() or "zero" in p.lower()), paths[0])
    upd = next(p for p in paths if p != tpl)
    w = round(weight, 2) + 0.0
    shared = (f"`{upd}` and `{tpl}` name the same object: accumulating into `{upd}` in place writes into `{tpl}`, and "
              f"resetting by assignment re-binds `{upd}` to it, so what the earlier batches left in it stays. ")
    if w >= 0.9:
        effect = (f"The update probe measured the earlier gradients coming back with weight {w:.2f} relative to the newest: "
                  "every update re-applies every earlier gradient, the weights grow each step until the units saturate "
                  "and learning stops.")
    elif w >= 0.01:
        d = f", decaying by {decay:.2f} per step" if isinstance(decay, (int, float)) and math.isfinite(decay) else ""
        effect = (f"The update probe measured the earlier gradients coming back with weight {w:.2f} relative to the newest"
                  f"{d} (1 would be every earlier gradient re-applied in full): each update carries a {w:.2f} share of "
                  "the earlier batches' gradients besides its own.")
    else:
        effect = (f"The update probe measured the earlier gradients coming back with weight {w:.2f} relative to the newest: "
                  "in the steps probed the leftover barely changes the update, but any change to how the buffer is "
                  "written or scaled makes it re-apply earlier batches.")
    return dataclasses.replace(f, explanation=shared + effect,
                               evidence={**f.evidence, "history_weight": weight, "decay": decay})


def _gradcheck(model: TrainableModel, X: np.ndarray, y: np.ndarray, seed: int) -> GradcheckResult:
    from netdoctor.gradients.check import check_gradients

    return check_gradients(model, X, y, seed=seed)


def _aliasing(model: TrainableModel) -> list[Finding]:
    from netdoctor.buffers.aliasing import find_aliasing

    return find_aliasing(model)


def _probe(model: TrainableModel, X: np.ndarray, y: np.ndarray, lr: float, batch_size: int, seed: int) -> ProbeResult:
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
