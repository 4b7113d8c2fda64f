"""Rules on what the network outputs: constant output, class collapse, permuted labels, plateau.

Each rule reads the plain-data evidence dict of
:func:`netdoctor.diagnosis.rules.collect_evidence` (the last probe's output spread, the
confusion matrix at each epoch end, the step losses) and returns at most one
:class:`~netdoctor.findings.Finding` (or None). These are symptoms: the
causes they are linked to are in :data:`netdoctor.diagnosis.rules.CAUSES`.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from netdoctor.diagnosis.evidence import EpochEvidence, Evidence
from netdoctor.diagnosis.rules_training import _finite_probes
from netdoctor.findings import Finding, Severity
from netdoctor.rules.evidence import OutputSpread, Predictions
from netdoctor.rules.outputs import class_collapse, constant_output, no_learning
from netdoctor.rules.policy import (
    PERMUTATION_MIN_DIAGONAL,
    PLATEAU_ACC,
    PLATEAU_LOSS,
    PLATEAU_MAX_ACC,
    Framework,
)

__all__ = ["rule_constant_output", "rule_class_collapse", "rule_no_learning", "rule_label_permutation", "rule_plateau"]


def _last_eval(ev: Evidence) -> EpochEvidence | None:
    eps = [e for e in ev["epochs"] if e.get("confusion")]
    return eps[-1] if eps else None


def _predictions(ev: Evidence) -> Predictions | None:
    """The last epoch's predictions on the evaluation rows, from its confusion matrix."""
    e = _last_eval(ev)
    if e is None:
        return None
    cm = np.asarray(e["confusion"])
    probes = _finite_probes(ev)
    return Predictions(
        where=f"output, epoch {e['epoch']}", on=ev["eval_name"], predicted=tuple(int(c) for c in cm.sum(axis=0)),
        framework=Framework.CHECK, labels=tuple(int(c) for c in cm.sum(axis=1)), correct=int(np.trace(cm)),
        label_noun=ev.get("label_noun", "rows labelled"), tied_outputs=probes[-1].get("tied_argmax", 0.0) if probes else 0.0)


def rule_constant_output(ev: Evidence) -> Finding | None:
    probes = _finite_probes(ev)
    if not probes or "output_spread" not in probes[-1]:
        return None
    last = probes[-1]
    init = ev["initial"].get("output_spread")
    return constant_output(OutputSpread(
        where=f"layer {len(last['layers'])} (output)", spread=last["output_spread"], scale=last.get("output_scale", 0.0),
        window="across the probe batch", framework=Framework.CHECK,
        spread_at_start=init if isinstance(init, (int, float)) else None, predictions=_predictions(ev)))


def rule_class_collapse(ev: Evidence) -> Finding | None:
    p = _predictions(ev)
    return class_collapse(p) if p is not None else None


def rule_no_learning(ev: Evidence) -> Finding | None:
    """The last evaluation's accuracy against the most common label's share (see :func:`netdoctor.rules.outputs.no_learning`)."""
    e, p = _last_eval(ev), _predictions(ev)
    if e is None or p is None or e.get("eval_accuracy") is None:
        return None
    n = len([x for x in ev["epochs"] if x.get("eval_accuracy") is not None])
    found = no_learning(dataclasses.replace(p, where=f"{ev['eval_name']}, epoch {e['epoch']}"),
                        after=f"After {n} epoch{'s' * (n != 1)}", permuted=rule_label_permutation(ev) is not None)
    if found is not None:  # the whole curve, for the report
        accs = [x.get("eval_accuracy") for x in ev["epochs"] if x.get("eval_accuracy") is not None]
        found = dataclasses.replace(found, evidence={**found.evidence, "accuracies": accs})
    return found


def rule_label_permutation(ev: Evidence) -> Finding | None:
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
        "label-permutation", Severity.ERROR, f"labels, epoch {e['epoch']}",
        f"The network learned, but with the labels relabelled: {how}; accuracy {100 * acc:.1f}%, "
        f"{100 * relabelled:.1f}% under that mapping.",
        {"accuracy": acc, "accuracy_if_relabelled": relabelled, "shift": shift, "mapping": mapping, "on": ev["eval_name"]},
        fix="Encode training and evaluation labels the same way (same class order; 0-based vs 1-based; one-hot column order).",
        explanation="A confusion matrix that is a permutation of the diagonal means the classes are told apart perfectly well, "
        "but under different names in training and evaluation.",
    )


def rule_plateau(ev: Evidence) -> Finding | None:
    accs = [a for e in ev["epochs"] if (a := e.get("eval_accuracy")) is not None]
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
        "accuracy-plateau", Severity.WARNING, where,
        f"Accuracy is stuck at {100 * accs[-1]:.2f}% and the loss no longer moves ({100 * loss_change:.2f}% change over {span}).",
        {"accuracies": accs, "loss_change": loss_change, "acc_change": acc_change, "limits": [PLATEAU_ACC, PLATEAU_LOSS]},
        fix="More epochs will not help: fix the causes listed with it.",
        explanation="A flat loss far from zero at low accuracy means the updates no longer change what the network computes.",
    )
