"""Rules on the activations, gradients and updates seen during training.

Each rule reads the plain-data evidence dict of
:func:`netdoctor.diagnosis.rules.collect_evidence` and returns at most one
:class:`~netdoctor.findings.Finding` (or None): non-finite values, unscaled
inputs, a bad initial loss, too large or too small learning rate, exploding
and vanishing gradients, saturated activations and dead units, each by handing typed
records to its rule in :mod:`netdoctor.rules` (thresholds in :mod:`netdoctor.rules.policy`;
the healthy-run measurements behind them are in ``docs/findings.md``). The helpers over probe records are shared with
:mod:`netdoctor.diagnosis.rules_outputs`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from netdoctor.diagnosis.evidence import Evidence
from netdoctor.findings import Finding
from netdoctor.monitor.records import LayerRecord, ProbeRecord
from netdoctor.params import is_bias
from netdoctor.rules.activations import dead_units, saturated_activations
from netdoctor.rules.evidence import GradientScale, InitialLoss, InputRange, LayerActivity, NonFinite, NormTrace, UpdateSizes
from netdoctor.rules.inputs import bad_initial_loss, unscaled_inputs
from netdoctor.rules.learning_rate import learning_rate_too_high, learning_rate_too_low
from netdoctor.rules.policy import (
    DEAD_ERROR,
    DEAD_WARN,
    EXPLODING_GRAD_GROWTH,
    EXPLODING_WEIGHT_GROWTH,
    INIT_LOSS_HIGH,
    INIT_LOSS_LOW,
    LR_HIGH_DIVERGE,
    LR_HIGH_LEARNS,
    LR_HIGH_UPDATE,
    LR_LOW_UPDATE,
    SATURATION_ERROR,
    SATURATION_WARN,
    UNSCALED_MAX,
    VANISHING_RATIO,
    Framework,
)
from netdoctor.rules.stability import exploding_gradients, non_finite, vanishing_gradients

__all__ = [
    "rule_nonfinite", "rule_unscaled_inputs", "rule_bad_initial_loss", "rule_lr_high", "rule_lr_low", "rule_exploding",
    "rule_saturation", "rule_dead_units", "rule_vanishing",
    # thresholds: defined in netdoctor.rules.policy, re-exported for the old import paths
    "DEAD_ERROR", "DEAD_WARN", "EXPLODING_GRAD_GROWTH", "EXPLODING_WEIGHT_GROWTH", "INIT_LOSS_HIGH", "INIT_LOSS_LOW",
    "LR_HIGH_DIVERGE", "LR_HIGH_LEARNS", "LR_HIGH_UPDATE", "LR_LOW_UPDATE", "SATURATION_ERROR", "SATURATION_WARN",
    "UNSCALED_MAX", "VANISHING_RATIO",
]

def _f(x: Any) -> float:
    return float(x) if isinstance(x, (int, float, np.number)) and x is not None else math.nan


# -- helpers over probes ----------------------------------------------------
def _weights(names: Iterable[str]) -> list[str]:
    """Weight-matrix names: tensors that are not biases (all of them when every one is)."""
    names = list(names)
    return [k for k in names if not is_bias(k)] or names


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
    origin = ("inputs" if nf.get("inputs_nonfinite") else ("layer" if layer else "loss") if nf.get("exact") else "parameters")
    last = nf.get("last_finite_loss")
    return non_finite(NonFinite(
        origin=origin, step=step, where=f"step {step}" + (f", {nf['where']}" if nf.get("where") else ""),
        framework=Framework.CHECK, loss=str(nf["loss"]), layer=f"layer {layer}" if layer else "",
        tensors=tuple(nf.get("tensors") or ()),
        tensors_before=tuple(nf.get("tensors_before_step") or ()) if nf.get("exact") else None, exact=nf.get("exact"),
        last_finite_loss=last if isinstance(last, (int, float)) else None, stopped=True))


def rule_bad_initial_loss(ev: Evidence) -> Finding | None:
    init = ev["initial"]
    return bad_initial_loss(InitialLoss(_f(init.get("loss")), _f(init.get("expected"))))


def _activity(ev: Evidence) -> list[LayerActivity]:
    """The hidden layers at the last finite probe, as the activation rules read them."""
    probes = _finite_probes(ev)
    if not probes:
        return []
    first = {l["layer"]: l for l in _hidden(probes[0])}
    out = []
    for l in _hidden(probes[-1]):
        seen = next((p["step"] for p in probes for k in _hidden(p)
                     if k["layer"] == l["layer"] and (k["saturation"] or 0) >= SATURATION_WARN), None)
        l0 = first.get(l["layer"])
        out.append(LayerActivity(
            where=f"layer {l['layer']} ({l['activation']})", layer=f"layer {l['layer']}", activation=l["activation"],
            units=l["units"], saturation=l["saturation"], dead=l["dead"], window="across the probe batch",
            framework=Framework.CHECK, first_seen=seen,
            saturation_at_start=(l0["saturation"] or 0.0) if l0 is not None else None,
            dead_at_start=None))
    return out


def rule_saturation(ev: Evidence) -> Finding | None:
    return saturated_activations(_activity(ev))


def rule_dead_units(ev: Evidence) -> Finding | None:
    return dead_units(_activity(ev))


def rule_exploding(ev: Evidence) -> Finding | None:
    probes = ev["probes"]
    if len(probes) < 2:
        return None
    names = list(dict.fromkeys(k for p in probes for k in p.get("weight_norms", {})))
    weights = set(_weights(names))
    traces = [NormTrace(
        tensor=k, steps=tuple(p["step"] for p in probes), weight_norms=tuple(p.get("weight_norms", {}).get(k, 0.0) for p in probes),
        grad_norms=tuple(p.get("grad_norms", {}).get(k, math.nan) for p in probes), is_weight=k in weights) for k in names]
    return exploding_gradients(traces, Framework.CHECK)


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
    name = next((k for k in _weights(last["grad_norms"]) if last["weight_norms"].get(k, 0) > 0), None)
    if name is None:
        return None
    # The first weight matrix: it learns from whatever gradient survives every layer above it.
    return vanishing_gradients([GradientScale(name, _grad_ratio(first), _grad_ratio(last), _f(first.get("loss")),
                                              _f(last.get("loss")))], Framework.CHECK)


def _update_sizes(ev: Evidence) -> UpdateSizes:
    """The first measured update, the gradient at the last probe and how the run ended, as the learning-rate rules read them."""
    up, name, step = _first_update(ev)
    losses = [e.get("loss") for e in ev["epochs"] if e.get("loss") is not None]
    accs = [a for e in ev["epochs"] if (a := e.get("eval_accuracy")) is not None]
    probes = [p for p in _finite_probes(ev) if "grad_norms" in p]
    nf = ev.get("nonfinite")
    bs = ev["batch_size"]
    return UpdateSizes(
        where=name or "optimizer", framework=Framework.CHECK, first=(up,) if math.isfinite(up) else (), tensor=name,
        first_step=step, gradient=_grad_ratio(probes[-1]) if probes else None, lr=ev.get("lr"),
        loss_first=_f(ev["initial"].get("loss")), loss_last=_f(losses[-1]) if losses else None,
        weights_nonfinite=nf is not None and not nf.get("inputs_nonfinite"), accuracy=accs[-1] if accs else None,
        summed_batch=bs if ev.get("reduce") == "sum" and bs is not None else None)


def rule_lr_high(ev: Evidence) -> Finding | None:
    return learning_rate_too_high(_update_sizes(ev))


def rule_lr_low(ev: Evidence) -> Finding | None:
    return learning_rate_too_low(_update_sizes(ev))


def rule_unscaled_inputs(ev: Evidence) -> Finding | None:
    d = ev.get("data")
    if not d:
        return None
    return unscaled_inputs(InputRange(d["x_min"], d["x_max"], d["x_mean"], d["x_std"], bool(d.get("whole", False))))
