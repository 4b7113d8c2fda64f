"""Rules: the evidence a monitored training run left behind -> findings.

Each rule reads the plain-data *evidence* dict that :func:`collect_evidence`
builds from a :class:`~netdoctor.monitors.TrainingMonitor` and the training
:class:`~netdoctor.training.History`, and returns at most one finding with a
stable code, the numbers it saw, a plain explanation and the fix. The
thresholds are module constants; where each comes from is said next to it
and the measured false-alarm rates on healthy runs are in ``docs/findings.md``.

:data:`CAUSES` is the causal graph used for ranking: ``A: (B, C)`` means A is
typically a consequence of B or C. :func:`link_causes` fills each finding's
``caused_by`` with the nearest causes actually present, so the report shows
root causes first (stale accumulator / summed gradient / learning rate ->
exploding weights -> saturation -> vanishing gradients -> constant output ->
class collapse -> plateau).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from .findings import Finding

__all__ = ["RULES", "CAUSES", "collect_evidence", "apply_rules", "link_causes"]

# -- thresholds (see docs/findings.md for the healthy-run measurements) ------
SATURATION_WARN = 0.5
"""Share of hidden tanh/sigmoid entries in the flat ends; healthy runs stay below ~0.2."""
SATURATION_ERROR = 0.9
DEAD_WARN = 0.5
"""Share of hidden units that never vary (or never fire) on the probe batch."""
DEAD_ERROR = 0.95
CONSTANT_SPREAD = 1e-4
"""Output std across inputs, relative to max(1, mean |output|); healthy nets start at ~1e-2."""
COLLAPSE_SHARE = 0.9
"""Share of predictions on one label that counts as collapse."""
PERMUTATION_MIN_DIAGONAL = 0.5
"""Mean row share on the permuted 'diagonal' for a confusion matrix to count as a permutation."""
PLATEAU_ACC = 0.005
"""Accuracy change (absolute) across the last epochs below which accuracy is flat."""
PLATEAU_LOSS = 0.005
"""Relative change of the mean step loss between the last two half-epochs that counts as flat."""
PLATEAU_MAX_ACC = 0.5
"""A flat curve above this accuracy is convergence, not a plateau worth a finding."""
EXPLODING_WEIGHT_GROWTH = 10.0
"""Weight norm growth (final / initial) that counts as exploding; healthy 3-epoch runs grow < 3x."""
EXPLODING_GRAD_GROWTH = 100.0
VANISHING_RATIO = 1e-4
"""||dL/dW|| / ||W|| of the first weight tensor below which gradients have vanished (healthy ~1e-2)."""
LR_HIGH_UPDATE = 0.3
"""Update/weight ratio of one step above which the step is too large (healthy first steps ~2e-2)."""
LR_HIGH_DIVERGE = 1.5
"""Last-epoch loss above this multiple of the initial loss means training diverged."""
LR_LOW_UPDATE = 3e-4
"""Update/weight ratio below which learning is too slow to see in a few epochs."""
INIT_LOSS_HIGH = 1.5
"""Initial loss above this multiple of the expected ln C (or MSE expectation) means a bad start."""
INIT_LOSS_LOW = 0.5
UNSCALED_MAX = 10.0
"""Largest |x| beyond which inputs are unscaled (0-255 pixels instead of [0, 1])."""

CAUSES: dict[str, tuple[str, ...]] = {
    "summed-gradient": ("stale-accumulator", "aliased-buffers"),
    "stale-accumulator": ("aliased-buffers",),
    "update-mismatch": ("aliased-buffers", "stale-accumulator", "summed-gradient"),
    "learning-rate-too-high": ("summed-gradient", "stale-accumulator"),
    "exploding-gradients": ("learning-rate-too-high", "summed-gradient", "stale-accumulator", "unscaled-inputs", "gradient-mismatch"),
    "non-finite": ("exploding-gradients", "learning-rate-too-high", "unscaled-inputs"),
    "bad-initial-loss": ("unscaled-inputs",),
    "saturated-activations": ("exploding-gradients", "bad-initial-loss", "unscaled-inputs"),
    "dead-units": ("exploding-gradients", "learning-rate-too-high", "saturated-activations"),
    "vanishing-gradients": ("saturated-activations", "dead-units", "frozen-parameters"),
    "learning-rate-too-low": ("vanishing-gradients",),
    "constant-output": ("vanishing-gradients", "saturated-activations", "dead-units", "gradient-mismatch", "mutated-constant"),
    "class-collapse": ("constant-output", "batch-leak"),
    "label-permutation": (),
    "accuracy-plateau": ("class-collapse", "constant-output", "vanishing-gradients", "learning-rate-too-low", "label-permutation"),
}


def _f(x: Any) -> float:
    return float(x) if isinstance(x, (int, float, np.number)) and x is not None else math.nan


def collect_evidence(monitor: Any, history: Any, *, X: np.ndarray | None = None, model: Any = None, label_noun: str = "rows labelled") -> dict[str, Any]:
    """Plain-data evidence for the rules, from a monitor, a training history and the inputs.

    Args:
        monitor: the :class:`~netdoctor.monitors.TrainingMonitor` that watched the run.
        history: the :class:`~netdoctor.training.History` of the run.
        X: training inputs, for the input-scale rule (a sample is enough).
        model: the model, for its configuration (``reduce``, ``config()``).
        label_noun: how to name a label's rows in messages ("images of digit").
    """
    epochs = []
    for i, rec in enumerate(monitor.epochs):
        merged = dict(history.epochs[i]) if i < len(history.epochs) else {}
        merged.update(rec)
        epochs.append(merged)
    ev: dict[str, Any] = {
        "initial": dict(monitor.initial),
        "probes": monitor.probes,
        "epochs": epochs,
        "step_losses": list(history.step_losses),
        "steps_per_epoch": max(1, math.ceil(history.config.get("n_train", 1) / history.config.get("batch_size", 1))),
        "nonfinite": monitor.nonfinite,
        "eval_name": monitor.eval_name,
        "n_classes": monitor.n_classes,
        "lr": history.config.get("lr"),
        "batch_size": history.config.get("batch_size"),
        "label_noun": label_noun,
        "reduce": getattr(model, "reduce", None),
    }
    if X is not None and len(X):
        Xs = np.asarray(X[: 4096], dtype=float)
        ev["data"] = {"x_min": float(Xs.min()), "x_max": float(Xs.max()), "x_mean": float(Xs.mean()), "x_std": float(Xs.std())}
    return ev


# -- helpers over probes ----------------------------------------------------
def _weights(names: Iterable[str]) -> list[str]:
    """Weight-matrix names: tensors whose name does not look like a bias."""
    out = [k for k in names if not k.lower().startswith(("b", "bias")) and "bias" not in k.lower()]
    return out or list(names)


def _finite_probes(ev) -> list[dict]:
    return [p for p in ev["probes"] if all(l.get("finite", True) for l in p["layers"])]


def _hidden(probe) -> list[dict]:
    return [l for l in probe["layers"] if l["role"] == "hidden"]


# -- rules ----------------------------------------------------------------------
def rule_nonfinite(ev) -> Finding | None:
    nf = ev.get("nonfinite")
    if not nf:
        return None
    step, layer = nf["step"], nf.get("layer")
    where = f"step {step}" + (f", {nf['where']}" if nf.get("where") else "")
    if nf.get("inputs_nonfinite"):
        what = f"The input batch of step {step} contains NaN or Inf: the data, not the network, is broken."
        fix = "Clean or impute the missing values in the data (np.isfinite(X).all() must hold)."
    elif nf.get("exact"):
        before = ", ".join(nf.get("tensors_before_step") or []) or "none"
        first = f"layer {layer} is the first with non-finite activations" if layer else "every activation is finite: the loss itself overflows"
        what = (f"The loss became {nf['loss']} at step {step}; with the weights that step started from, {first} "
                f"(non-finite weights then: {before}). Training was stopped there.")
        fix = "Lower the learning rate (try 10x smaller), average the gradient over the batch, scale inputs to [0, 1]; check exp/log in the loss for overflow."
    else:
        tensors = ", ".join(nf.get("tensors") or []) or "none yet"
        what = (f"The loss became {nf['loss']} at step {step}; after that step's update the activations are non-finite "
                f"from {nf.get('where')} on, and these parameters: {tensors}. Training was stopped there.")
        fix = "Lower the learning rate (try 10x smaller), average the gradient over the batch, scale inputs to [0, 1]; check exp/log in the loss for overflow."
    keys = ("step", "loss", "layer", "exact", "tensors", "tensors_before_step", "last_finite_loss")
    return Finding(
        "non-finite", "error", where, what, {k: nf.get(k) for k in keys if k in nf}, fix=fix,
        explanation="Once one value overflows to Inf, Inf - Inf and 0 * Inf give NaN, and NaN spreads to every weight at the next update.",
    )


def rule_bad_initial_loss(ev) -> Finding | None:
    init = ev["initial"]
    loss, expected = _f(init.get("loss")), _f(init.get("expected"))
    if not (math.isfinite(loss) and math.isfinite(expected) and expected > 0):
        return None
    ratio = loss / expected
    if INIT_LOSS_LOW <= ratio <= INIT_LOSS_HIGH:
        return None
    return Finding(
        "bad-initial-loss", "warning", "initialisation",
        f"The loss before training is {loss:.4g}, {ratio:.2f}x the {expected:.4g} an untrained network should show.",
        {"initial_loss": loss, "expected": expected, "ratio": ratio, "limits": [INIT_LOSS_LOW, INIT_LOSS_HIGH]},
        fix="Initialise weights with std sqrt(1/fan_in) (Xavier/He) and biases with 0; scale inputs to [0, 1].",
        explanation="With small random weights every class gets about the same score, so the loss starts at ln C (cross-entropy) "
        "or the target-encoding expectation (MSE). Far above it, the first layers already produce extreme values: the "
        "initial weights are too large or the inputs unscaled.",
    )


def rule_saturation(ev) -> Finding | None:
    probes = _finite_probes(ev)
    if not probes:
        return None
    last = probes[-1]
    worst = max(_hidden(last), key=lambda l: l["saturation"] or 0, default=None)
    if worst is None or (worst["saturation"] or 0) < SATURATION_WARN:
        return None
    first = next((p["step"] for p in probes for l in _hidden(p) if (l["saturation"] or 0) >= SATURATION_WARN), last["step"])
    init_sat = max((l["saturation"] or 0 for l in _hidden(probes[0])), default=0)
    sat = worst["saturation"]
    return Finding(
        "saturated-activations", "error" if sat >= SATURATION_ERROR else "warning", f"layer {worst['layer']} ({worst['activation']})",
        f"{100 * sat:.1f}% of the {worst['activation']} activations in layer {worst['layer']} sit in the flat ends of the function "
        f"(first seen at step {first}; {100 * init_sat:.1f}% at initialisation).",
        {"saturation": sat, "limit": SATURATION_WARN, "first_step": first, "at_init": init_sat, "units": worst["units"]},
        fix="Lower the (effective) learning rate; initialise with std sqrt(1/fan_in); scale inputs to [0, 1].",
        explanation="Where tanh or sigmoid is flat its derivative is ~0, so almost no gradient passes back through the layer "
        "and its weights stop changing.",
    )


def rule_dead_units(ev) -> Finding | None:
    probes = _finite_probes(ev)
    if not probes:
        return None
    last = probes[-1]
    worst = max(_hidden(last), key=lambda l: l["dead"], default=None)
    if worst is None or worst["dead"] < DEAD_WARN:
        return None
    dead = worst["dead"]
    n = round(dead * worst["units"])
    kind = "never fire" if worst["activation"] in ("relu", "leaky_relu") else "do not vary"
    return Finding(
        "dead-units", "error" if dead >= DEAD_ERROR else "warning", f"layer {worst['layer']} ({worst['activation']})",
        f"{n} of {worst['units']} units in layer {worst['layer']} ({100 * dead:.1f}%) {kind} across the probe batch.",
        {"dead": dead, "dead_units": n, "units": worst["units"], "limit": DEAD_WARN},
        fix="Lower the learning rate; use He initialisation for relu, or leaky_relu; check the inputs reach the layer.",
        explanation="A unit whose output is the same for every input carries no information and passes no gradient: "
        "relu units pushed below zero by a large update never recover.",
    )


def rule_constant_output(ev) -> Finding | None:
    probes = _finite_probes(ev)
    if not probes or "output_spread" not in probes[-1]:
        return None
    last = probes[-1]
    spread, scale = last["output_spread"], max(1.0, last.get("output_scale", 0.0))
    if spread > CONSTANT_SPREAD * scale:
        return None
    return Finding(
        "constant-output", "error", f"layer {len(last['layers'])} (output)",
        f"The network gives the same output for every input (std across the probe batch {spread:.2e}).",
        {"output_spread": spread, "limit": CONSTANT_SPREAD * scale, "initial_spread": ev["initial"].get("output_spread"), "step": last["step"]},
        fix="Fix the causes listed with it; the output itself is a symptom.",
        explanation="When the hidden layers are saturated or dead, every input reaches the output layer as the same vector, "
        "so the network can only answer one thing.",
    )


def _last_eval(ev) -> dict | None:
    eps = [e for e in ev["epochs"] if e.get("confusion")]
    return eps[-1] if eps else None


def rule_class_collapse(ev) -> Finding | None:
    e = _last_eval(ev)
    if e is None:
        return None
    cm = np.asarray(e["confusion"])
    preds, labels = cm.sum(axis=0), cm.sum(axis=1)
    total = int(labels.sum())
    if total == 0:
        return None
    top = int(np.argmax(preds))
    pred_share = preds[top] / total
    if pred_share < COLLAPSE_SHARE:
        return None
    acc = float(np.trace(cm) / total)
    share = labels[top] / total
    noun = ev.get("label_noun", "rows labelled")
    probes = _finite_probes(ev)
    tied = probes[-1].get("tied_argmax", 0.0) if probes else 0.0
    tie = (f" The output units are exactly equal for {100 * tied:.0f}% of the probe rows (all saturated at the same value), "
           "and argmax of equal scores returns the first index: that is why the label is 0.") if top == 0 and tied > 0.5 else ""
    return Finding(
        "class-collapse", "error", f"output, epoch {e['epoch']}",
        f"Accuracy {100 * acc:.2f}% = {int(labels[top])}/{total} {noun} {top}: the network predicts {top} for "
        f"{100 * pred_share:.1f}% of the {ev['eval_name']}, so accuracy equals that label's share.",
        {"accuracy": acc, "label": top, "label_count": int(labels[top]), "total": total, "label_share": share,
         "predicted_share": pred_share, "tied_outputs": tied, "on": ev["eval_name"]},
        fix="Fix the root causes listed above; a constant answer is what a network outputs when its inputs no longer reach the output.",
        explanation="Accuracy stuck at exactly one label's share of the data is the signature of a constant prediction: the net "
        "has stopped using its input." + tie,
    )


def rule_label_permutation(ev) -> Finding | None:
    e = _last_eval(ev)
    if e is None:
        return None
    cm = np.asarray(e["confusion"], dtype=float)
    rows = cm.sum(axis=1)
    present = rows > 0
    C = len(cm)
    if present.sum() < 2:
        return None
    perm = np.argmax(cm, axis=1)
    shares = cm[np.arange(C), perm] / np.maximum(rows, 1)
    mapped = perm[present]
    acc = float(np.trace(cm) / rows.sum())
    if (len(set(mapped.tolist())) < 0.8 * len(mapped) or shares[present].mean() < PERMUTATION_MIN_DIAGONAL
            or np.mean(mapped == np.arange(C)[present]) > 0.2 or acc >= 0.5):
        return None
    shifts = set(((perm - np.arange(C)) % C)[present].tolist())
    shift = shifts.pop() if len(shifts) == 1 else None
    relabelled = float(cm[np.arange(C), perm].sum() / rows.sum())
    mapping = {int(i): int(perm[i]) for i in np.flatnonzero(present)}
    if shift is not None and shift > C // 2:
        shift -= C  # say "label - 1", not "label + 9 (mod 10)"
    how = (f"every label k is predicted as k {'+' if shift > 0 else '-'} {abs(shift)} (mod {C})" if shift is not None
           else f"labels map one-to-one: {mapping}")
    return Finding(
        "label-permutation", "error", f"labels, epoch {e['epoch']}",
        f"The network learned, but with the labels relabelled: {how}; accuracy {100 * acc:.1f}%, "
        f"{100 * relabelled:.1f}% under that mapping.",
        {"accuracy": acc, "accuracy_if_relabelled": relabelled, "shift": shift, "mapping": mapping, "on": ev["eval_name"]},
        fix="Encode training and evaluation labels the same way (same class order; 0-based vs 1-based; one-hot column order).",
        explanation="A confusion matrix that is a permutation of the diagonal means the classes are told apart perfectly well, "
        "but under different names in training and evaluation.",
    )


def rule_plateau(ev) -> Finding | None:
    accs = [e.get("eval_accuracy") for e in ev["epochs"] if e.get("eval_accuracy") is not None]
    losses = [x for x in ev["step_losses"] if math.isfinite(x)]
    if not accs:
        return None
    if len(accs) >= 2:
        half, span, where = max(2, ev["steps_per_epoch"] // 2), "the last epoch", f"epochs {len(accs) - 1}-{len(accs)}"
    else:  # one epoch: compare its last two quarters of steps
        half, span = max(5, len(losses) // 4), "the last half of the epoch"
        where = f"steps {len(losses) - 2 * half + 1}-{len(losses)}"
    if len(losses) < 2 * half:
        return None
    a, b = float(np.mean(losses[-2 * half : -half])), float(np.mean(losses[-half:]))
    loss_change = abs(b - a) / max(abs(a), 1e-12)
    acc_change = max(accs[-2:]) - min(accs[-2:])
    if acc_change > PLATEAU_ACC or loss_change > PLATEAU_LOSS or accs[-1] > PLATEAU_MAX_ACC:
        return None
    return Finding(
        "accuracy-plateau", "warning", where,
        f"Accuracy is stuck at {100 * accs[-1]:.2f}% and the loss no longer moves ({100 * loss_change:.2f}% change over {span}).",
        {"accuracies": accs, "loss_change": loss_change, "acc_change": acc_change, "limits": [PLATEAU_ACC, PLATEAU_LOSS]},
        fix="More epochs will not help: fix the causes listed with it.",
        explanation="A flat loss far from zero at low accuracy means the updates no longer change what the network computes.",
    )


def _growth(probes, key: str) -> tuple[float, str, int]:
    first, best = probes[0].get(key, {}), (1.0, "", 0)
    for p in probes[1:]:
        for k in _weights(p.get(key, {})):
            v0, v = first.get(k, 0.0), p[key].get(k, 0.0)
            if v0 > 0 and math.isfinite(v) and v / v0 > best[0]:
                best = (v / v0, k, p["step"])
    return best


def rule_exploding(ev) -> Finding | None:
    probes = ev["probes"]
    if len(probes) < 2:
        return None
    wg, wname, wstep = _growth(probes, "weight_norms")
    gg, gname, gstep = _growth(probes, "grad_norms")
    if wg < EXPLODING_WEIGHT_GROWTH and gg < EXPLODING_GRAD_GROWTH:
        return None
    what = (f"the norm of {wname} grew {wg:.0f}x by step {wstep}" if wg >= EXPLODING_WEIGHT_GROWTH
            else f"the gradient of {gname} grew {gg:.0f}x by step {gstep}")
    return Finding(
        "exploding-gradients", "error", wname if wg >= EXPLODING_WEIGHT_GROWTH else gname,
        f"The updates blow up: {what}.",
        {"weight_growth": wg, "weight_tensor": wname, "grad_growth": gg, "grad_tensor": gname, "limits": [EXPLODING_WEIGHT_GROWTH, EXPLODING_GRAD_GROWTH]},
        fix="Lower the effective learning rate (lr x batch size if gradients are summed); average gradients over the batch; "
        "reset gradient buffers every step; clip gradients.",
        explanation="Each too-large step overshoots and makes the next gradient larger; weights grow until the activations saturate or overflow.",
    )


def _first_update(ev) -> tuple[float, str, int]:
    for p in ev["probes"]:
        ups = {k: v for k, v in p.get("update_ratios", {}).items() if k in _weights(p.get("update_ratios", {}))}
        if ups:
            k = max(ups, key=ups.get)
            return ups[k], k, p["step"]
    return math.nan, "", 0


def _grad_ratio(probe) -> float:
    g, w = probe.get("grad_norms", {}), probe.get("weight_norms", {})
    names = [k for k in _weights(g) if w.get(k, 0) > 0]
    return g[names[0]] / w[names[0]] if names else math.nan


def rule_vanishing(ev) -> Finding | None:
    probes = [p for p in _finite_probes(ev) if "grad_norms" in p]
    if not probes:
        return None
    last, first = probes[-1], probes[0]
    r = _grad_ratio(last)
    loss, loss0 = _f(last.get("loss")), _f(first.get("loss"))
    # Tiny gradients are fine once the loss is near zero (converged), not while it is high.
    if not (r < VANISHING_RATIO) or not (loss > 0.2 * loss0):
        return None
    name = next(k for k in _weights(last["grad_norms"]) if last["weight_norms"].get(k, 0) > 0)
    return Finding(
        "vanishing-gradients", "error", name,
        f"The gradient reaching {name} is {r:.1e} of its weights' size (it was {_grad_ratio(first):.1e} at the start) "
        f"while the loss is still {loss:.4g}.",
        {"grad_to_weight": r, "at_start": _grad_ratio(first), "limit": VANISHING_RATIO, "loss": loss, "grad_norms": last["grad_norms"]},
        fix="Remove the saturation or dead units that block the gradient (smaller effective learning rate, Xavier/He "
        "initialisation, scaled inputs).",
        explanation="The first layer learns from the gradient that survives the layers above; through saturated or dead units it is ~0.",
    )


def rule_lr_high(ev) -> Finding | None:
    up, name, step = _first_update(ev)
    losses = [e.get("loss") for e in ev["epochs"] if e.get("loss") is not None]
    init = _f(ev["initial"].get("loss"))
    diverged = bool(losses) and math.isfinite(init) and _f(losses[-1]) > LR_HIGH_DIVERGE * init
    if not (up > LR_HIGH_UPDATE or diverged or ev.get("nonfinite")):
        return None
    eff = ev.get("lr")
    note = ""
    if ev.get("reduce") == "sum" and eff is not None:
        note = f" Gradients are summed over the batch, so the effective learning rate is {eff} x {ev['batch_size']} = {eff * ev['batch_size']:g}."
    return Finding(
        "learning-rate-too-high", "error" if up > 1 or diverged or ev.get("nonfinite") else "warning", name or "optimizer",
        f"One update changes {name} by {100 * up:.0f}% of its size (step {step}); healthy steps change weights by ~0.1-3%." + note
        if math.isfinite(up) else "The loss diverged." + note,
        {"update_ratio": up, "tensor": name, "step": step, "limit": LR_HIGH_UPDATE, "lr": ev.get("lr"), "diverged": diverged},
        fix="Divide the learning rate by 10 (or average, not sum, the gradient over the batch).",
        explanation="An update that is a large fraction of the weights overshoots the minimum; the loss oscillates or grows.",
    )


def rule_lr_low(ev) -> Finding | None:
    up, name, step = _first_update(ev)
    probes = [p for p in _finite_probes(ev) if "grad_norms" in p]
    if not (up < LR_LOW_UPDATE) or not probes or not (_grad_ratio(probes[-1]) >= VANISHING_RATIO):
        return None
    accs = [e.get("eval_accuracy") for e in ev["epochs"] if e.get("eval_accuracy") is not None]
    if accs and accs[-1] > 0.9:
        return None
    return Finding(
        "learning-rate-too-low", "warning", name or "optimizer",
        f"One update changes {name} by only {up:.1e} of its size although the gradient is healthy: learning is too slow to see.",
        {"update_ratio": up, "tensor": name, "step": step, "limit": LR_LOW_UPDATE, "lr": ev.get("lr"), "accuracies": accs},
        fix="Multiply the learning rate by 10 (updates of ~1e-3 to 1e-2 of the weights per step are typical).",
        explanation="With updates this small the weights barely move in a few epochs, so the network looks as if it does not learn.",
    )


def rule_unscaled_inputs(ev) -> Finding | None:
    d = ev.get("data")
    if not d or max(abs(d["x_min"]), abs(d["x_max"])) <= UNSCALED_MAX:
        return None
    return Finding(
        "unscaled-inputs", "warning", "inputs",
        f"Input values span {d['x_min']:.4g}..{d['x_max']:.4g} (mean {d['x_mean']:.3g}); networks expect roughly [0, 1] or standardised inputs.",
        {**d, "limit": UNSCALED_MAX},
        fix="Divide pixel values by 255 (or standardise each feature to mean 0, std 1).",
        explanation="Large inputs make the first layer's pre-activations large: tanh/sigmoid saturate at once and the gradients "
        "of the first weights scale with the inputs, so one learning rate cannot suit all layers.",
    )


RULES: tuple[Callable[[dict], Finding | None], ...] = (
    rule_nonfinite, rule_unscaled_inputs, rule_bad_initial_loss, rule_lr_high, rule_lr_low, rule_exploding,
    rule_saturation, rule_dead_units, rule_vanishing, rule_constant_output, rule_class_collapse,
    rule_label_permutation, rule_plateau,
)


def _ancestors(code: str) -> set[str]:
    """Every code that can cause ``code``, directly or through others."""
    seen: set[str] = set()
    stack = list(CAUSES.get(code, ()))
    while stack:
        c = stack.pop()
        if c not in seen:
            seen.add(c)
            stack.extend(CAUSES.get(c, ()))
    return seen


def link_causes(findings: Sequence[Finding]) -> list[Finding]:
    """Set each finding's ``caused_by`` to the nearest causes in :data:`CAUSES` that are present.

    Absent intermediate codes are walked through, so class-collapse links to
    saturated-activations when constant-output was not reported; a cause that
    is itself behind another linked cause is left out (saturation, not also
    the stale accumulator behind it). Causes a finding already names are kept.
    """
    present = {f.code for f in findings}
    out = []
    for f in findings:
        found: list[str] = []
        seen, queue = {f.code}, list(CAUSES.get(f.code, ()))
        while queue:
            c = queue.pop(0)
            if c in seen:
                continue
            seen.add(c)
            if c in present:
                found.append(c)
            else:
                queue.extend(CAUSES.get(c, ()))
        found = [c for c in found if not any(c in _ancestors(d) for d in found if d != c)]
        own = [c for c in f.caused_by if c in present and c != f.code and c not in found]
        out.append(dataclasses.replace(f, caused_by=tuple(own + found)))
    return out


def apply_rules(ev: Mapping[str, Any], *, rules: Sequence[Callable] = RULES) -> list[Finding]:
    """Run every rule on the evidence; the findings are returned unlinked (see :func:`link_causes`)."""
    return [f for rule in rules if (f := rule(ev)) is not None]
