"""Rules on the activations, gradients and updates seen during training.

Each rule reads the plain-data evidence dict of
:func:`netdoctor.diagnosis.rules.collect_evidence` and returns at most one
:class:`~netdoctor.findings.Finding` (or None): non-finite values, unscaled
inputs, a bad initial loss, too large or too small learning rate, exploding
and vanishing gradients, saturated activations and dead units. The
thresholds are module constants; the healthy-run measurements behind them are
in ``docs/findings.md``. The helpers over probe records are shared with
:mod:`netdoctor.diagnosis.rules_outputs`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import numpy as np

from netdoctor.diagnosis.evidence import Evidence
from netdoctor.findings import Finding, Severity
from netdoctor.monitor.records import LayerRecord, ProbeRecord

__all__ = [
    "rule_nonfinite", "rule_unscaled_inputs", "rule_bad_initial_loss", "rule_lr_high", "rule_lr_low", "rule_exploding",
    "rule_saturation", "rule_dead_units", "rule_vanishing",
]

# -- thresholds (see docs/findings.md for the healthy-run measurements) ------
SATURATION_WARN = 0.5
"""Share of hidden tanh/sigmoid entries in the flat ends; healthy runs stay below ~0.2."""
SATURATION_ERROR = 0.9
DEAD_WARN = 0.5
"""Share of hidden units that never vary (or never fire) on the probe batch."""
DEAD_ERROR = 0.95
EXPLODING_WEIGHT_GROWTH = 10.0
"""Weight norm growth (final / initial) that counts as exploding; healthy 3-epoch runs grow < 3x."""
EXPLODING_GRAD_GROWTH = 100.0
VANISHING_RATIO = 1e-4
"""||dL/dW|| / ||W|| of the first weight tensor below which gradients have vanished (healthy ~1e-2)."""
LR_HIGH_UPDATE = 0.3
"""Update/weight ratio of one step above which the step is too large (healthy first steps ~2e-2)."""
LR_HIGH_DIVERGE = 1.5
"""Last-epoch loss above this multiple of the initial loss means training diverged."""
LR_HIGH_LEARNS = 0.5
"""Final accuracy above which a large first step without divergence is not reported (the run learns)."""
LR_LOW_UPDATE = 3e-4
"""Update/weight ratio below which learning is too slow to see in a few epochs."""
INIT_LOSS_HIGH = 1.5
"""Initial loss above this multiple of the expected ln C (or MSE expectation) means a bad start."""
INIT_LOSS_LOW = 0.5
UNSCALED_MAX = 10.0
"""Largest |x| beyond which inputs are unscaled (0-255 pixels instead of [0, 1])."""


def _f(x: Any) -> float:
    return float(x) if isinstance(x, (int, float, np.number)) and x is not None else math.nan


# -- helpers over probes ----------------------------------------------------
def _weights(names: Iterable[str]) -> list[str]:
    """Weight-matrix names: tensors whose name does not look like a bias."""
    out = [k for k in names if not k.lower().startswith(("b", "bias")) and "bias" not in k.lower()]
    return out or list(names)


def _finite_probes(ev: Evidence) -> list[ProbeRecord]:
    return [p for p in ev["probes"] if all(l.get("finite", True) for l in p["layers"])]


def _hidden(probe: ProbeRecord) -> list[LayerRecord]:
    return [l for l in probe["layers"] if l["role"] == "hidden"]


# -- rules ----------------------------------------------------------------------
def rule_nonfinite(ev: Evidence) -> Finding | None:
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
        "non-finite", Severity.ERROR, where, what, {k: nf.get(k) for k in keys if k in nf}, fix=fix,
        explanation="Once one value overflows to Inf, Inf - Inf and 0 * Inf give NaN, and NaN spreads to every weight at the next update.",
    )


def rule_bad_initial_loss(ev: Evidence) -> Finding | None:
    init = ev["initial"]
    loss, expected = _f(init.get("loss")), _f(init.get("expected"))
    if not (math.isfinite(loss) and math.isfinite(expected) and expected > 0):
        return None
    ratio = loss / expected
    if INIT_LOSS_LOW <= ratio <= INIT_LOSS_HIGH:
        return None
    return Finding(
        "bad-initial-loss", Severity.WARNING, "initialisation",
        f"The loss before training is {loss:.4g}, {ratio:.2f}x the {expected:.4g} an untrained network should show.",
        {"initial_loss": loss, "expected": expected, "ratio": ratio, "limits": [INIT_LOSS_LOW, INIT_LOSS_HIGH]},
        fix="Initialise weights with std sqrt(1/fan_in) (Xavier/He) and biases with 0; scale inputs to [0, 1].",
        explanation="With small random weights every class gets about the same score, so the loss starts at ln C (cross-entropy) "
        "or the target-encoding expectation (MSE). Far above it, the first layers already produce extreme values: the "
        "initial weights are too large or the inputs unscaled.",
    )


def rule_saturation(ev: Evidence) -> Finding | None:
    probes = _finite_probes(ev)
    if not probes:
        return None
    last = probes[-1]
    worst = max(_hidden(last), key=lambda l: l["saturation"] or 0, default=None)
    if worst is None or (worst["saturation"] or 0) < SATURATION_WARN:
        return None
    first = next((p["step"] for p in probes for l in _hidden(p) if (l["saturation"] or 0) >= SATURATION_WARN), last["step"])
    init_sat = max((l["saturation"] or 0 for l in _hidden(probes[0])), default=0)
    sat = worst["saturation"] or 0.0
    return Finding(
        "saturated-activations", Severity.ERROR if sat >= SATURATION_ERROR else Severity.WARNING, f"layer {worst['layer']} ({worst['activation']})",
        f"{100 * sat:.1f}% of the {worst['activation']} activations in layer {worst['layer']} sit in the flat ends of the function "
        f"(first seen at step {first}; {100 * init_sat:.1f}% at initialisation).",
        {"saturation": sat, "limit": SATURATION_WARN, "first_step": first, "at_init": init_sat, "units": worst["units"]},
        fix="Lower the (effective) learning rate; initialise with std sqrt(1/fan_in); scale inputs to [0, 1].",
        explanation="Where tanh or sigmoid is flat its derivative is ~0, so almost no gradient passes back through the layer "
        "and its weights stop changing.",
    )


def rule_dead_units(ev: Evidence) -> Finding | None:
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
        "dead-units", Severity.ERROR if dead >= DEAD_ERROR else Severity.WARNING, f"layer {worst['layer']} ({worst['activation']})",
        f"{n} of {worst['units']} units in layer {worst['layer']} ({100 * dead:.1f}%) {kind} across the probe batch.",
        {"dead": dead, "dead_units": n, "units": worst["units"], "limit": DEAD_WARN},
        fix="Lower the learning rate; use He initialisation for relu, or leaky_relu; check the inputs reach the layer.",
        explanation="A unit whose output is the same for every input carries no information and passes no gradient: "
        "relu units pushed below zero by a large update never recover.",
    )



def _growth(probes: Sequence[ProbeRecord], key: Literal["weight_norms", "grad_norms"]) -> tuple[float, str, int]:
    first, best = probes[0].get(key, {}), (1.0, "", 0)
    for p in probes[1:]:
        for k in _weights(p.get(key, {})):
            v0, v = first.get(k, 0.0), p[key].get(k, 0.0)
            if v0 > 0 and math.isfinite(v) and v / v0 > best[0]:
                best = (v / v0, k, p["step"])
    return best


def rule_exploding(ev: Evidence) -> Finding | None:
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
        "exploding-gradients", Severity.ERROR, wname if wg >= EXPLODING_WEIGHT_GROWTH else gname,
        f"The updates blow up: {what}.",
        {"weight_growth": wg, "weight_tensor": wname, "grad_growth": gg, "grad_tensor": gname, "limits": [EXPLODING_WEIGHT_GROWTH, EXPLODING_GRAD_GROWTH]},
        fix="Lower the effective learning rate (lr x batch size if gradients are summed); average gradients over the batch; "
        "reset gradient buffers every step; clip gradients.",
        explanation="Each too-large step overshoots and makes the next gradient larger; weights grow until the activations saturate or overflow.",
    )


def _first_update(ev: Evidence) -> tuple[float, str, int]:
    for p in ev["probes"]:
        ups = {k: v for k, v in p.get("update_ratios", {}).items() if k in _weights(p.get("update_ratios", {}))}
        if ups:
            k = max(ups, key=lambda n: ups[n])
            return ups[k], k, p["step"]
    return math.nan, "", 0


def _grad_ratio(probe: ProbeRecord) -> float:
    g, w = probe.get("grad_norms", {}), probe.get("weight_norms", {})
    names = [k for k in _weights(g) if w.get(k, 0) > 0]
    return g[names[0]] / w[names[0]] if names else math.nan


def rule_vanishing(ev: Evidence) -> Finding | None:
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
        "vanishing-gradients", Severity.ERROR, name,
        f"The gradient reaching {name} is {r:.1e} of its weights' size (it was {_grad_ratio(first):.1e} at the start) "
        f"while the loss is still {loss:.4g}.",
        {"grad_to_weight": r, "at_start": _grad_ratio(first), "limit": VANISHING_RATIO, "loss": loss, "grad_norms": last["grad_norms"]},
        fix="Remove the saturation or dead units that block the gradient (smaller effective learning rate, Xavier/He "
        "initialisation, scaled inputs).",
        explanation="The first layer learns from the gradient that survives the layers above; through saturated or dead units it is ~0.",
    )


def rule_lr_high(ev: Evidence) -> Finding | None:
    up, name, step = _first_update(ev)
    losses = [e.get("loss") for e in ev["epochs"] if e.get("loss") is not None]
    init = _f(ev["initial"].get("loss"))
    diverged = bool(losses) and math.isfinite(init) and _f(losses[-1]) > LR_HIGH_DIVERGE * init
    if not (up > LR_HIGH_UPDATE or diverged or ev.get("nonfinite")):
        return None
    accs = [a for e in ev["epochs"] if (a := e.get("eval_accuracy")) is not None]
    if not (diverged or ev.get("nonfinite")) and accs and accs[-1] > LR_HIGH_LEARNS:
        # A large first step from small initial weights is harmless when the run then learns (the textbook
        # network at eta 3 changes a weight matrix by 84% at step 1 and reaches 90%): not a finding.
        return None
    eff = ev.get("lr")
    note = ""
    if ev.get("reduce") == "sum" and eff is not None and (bs := ev["batch_size"]) is not None:
        note = f" Gradients are summed over the batch, so the effective learning rate is {eff} x {bs} = {eff * bs:g}."
    return Finding(
        "learning-rate-too-high", Severity.ERROR if up > 1 or diverged or ev.get("nonfinite") else Severity.WARNING, name or "optimizer",
        f"One update changes {name} by {100 * up:.0f}% of its size (step {step}); healthy steps change weights by ~0.1-3%." + note
        if math.isfinite(up) else "The loss diverged." + note,
        {"update_ratio": up, "tensor": name, "step": step, "limit": LR_HIGH_UPDATE, "lr": ev.get("lr"), "diverged": diverged},
        fix="Divide the learning rate by 10 (or average, not sum, the gradient over the batch).",
        explanation="An update that is a large fraction of the weights overshoots the minimum; the loss oscillates or grows.",
    )


def rule_lr_low(ev: Evidence) -> Finding | None:
    up, name, step = _first_update(ev)
    probes = [p for p in _finite_probes(ev) if "grad_norms" in p]
    if not (up < LR_LOW_UPDATE) or not probes or not (_grad_ratio(probes[-1]) >= VANISHING_RATIO):
        return None
    accs = [a for e in ev["epochs"] if (a := e.get("eval_accuracy")) is not None]
    if accs and accs[-1] > 0.9:
        return None
    return Finding(
        "learning-rate-too-low", Severity.WARNING, name or "optimizer",
        f"One update changes {name} by only {up:.1e} of its size although the gradient is healthy: learning is too slow to see.",
        {"update_ratio": up, "tensor": name, "step": step, "limit": LR_LOW_UPDATE, "lr": ev.get("lr"), "accuracies": accs},
        fix="Multiply the learning rate by 10 (updates of ~1e-3 to 1e-2 of the weights per step are typical).",
        explanation="With updates this small the weights barely move in a few epochs, so the network looks as if it does not learn.",
    )


def rule_unscaled_inputs(ev: Evidence) -> Finding | None:
    d = ev.get("data")
    if not d or max(abs(d["x_min"]), abs(d["x_max"])) <= UNSCALED_MAX:
        return None
    pixels = d.get("whole", False) and d["x_min"] >= 0 and d["x_max"] <= 255
    return Finding(
        "unscaled-inputs", Severity.WARNING, "inputs",
        f"Input values span {d['x_min']:.4g}..{d['x_max']:.4g} (mean {d['x_mean']:.3g}); networks expect roughly [0, 1] or standardised inputs.",
        {**d, "limit": UNSCALED_MAX},
        fix="Divide pixel values by 255 (or standardise each feature to mean 0, std 1)." if pixels else
        "Standardise each feature (subtract its mean, divide by its standard deviation over the training rows) "
        "and apply the same numbers to the test rows.",
        explanation="Large inputs make the first layer's pre-activations large: tanh/sigmoid saturate at once and the gradients "
        "of the first weights scale with the inputs, so one learning rate cannot suit all layers.",
    )
