"""``check``'s road to the rules: the evidence a monitored training run left behind -> findings.

Each function here reads the plain-data *evidence* dict that :func:`collect_evidence`
builds from a :class:`~netdoctor.monitor.callback.TrainingMonitor` and the training
:class:`~netdoctor.nn.training.History`, turns it into typed records and hands them to the
one rule of each code in :mod:`netdoctor.rules`, which decides and words the finding (the
measured false-alarm rates on healthy runs are in ``docs/findings.md``).

:data:`CAUSES` and :func:`link_causes` (the causal graph and the linking that
puts root causes first) live in :mod:`netdoctor.rules.causes`, the thresholds in
:mod:`netdoctor.rules.policy`; both are re-exported here.

The rule functions of :mod:`netdoctor.diagnosis.rules_training` and
:mod:`netdoctor.diagnosis.rules_outputs` turn this evidence into the typed
records of :mod:`netdoctor.rules.evidence` and call the one rule per code in
:mod:`netdoctor.rules`; they are re-exported here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from netdoctor.diagnosis.evidence import DataScale, EpochEvidence, Evidence
from netdoctor.diagnosis.rules_outputs import (
    rule_class_collapse,
    rule_constant_output,
    rule_label_permutation,
    rule_no_learning,
    rule_plateau,
)
from netdoctor.diagnosis.rules_training import (
    rule_bad_initial_loss,
    rule_dead_units,
    rule_exploding,
    rule_lr_high,
    rule_lr_low,
    rule_nonfinite,
    rule_saturation,
    rule_unscaled_inputs,
    rule_vanishing,
)
from netdoctor.findings import Finding
from netdoctor.rules.causes import CAUSES, link_causes
from netdoctor.rules.policy import (
    COLLAPSE_FEW,
    COLLAPSE_MISSED,
    COLLAPSE_SHARE,
    CONSTANT_SPREAD,
    DEAD_ERROR,
    DEAD_WARN,
    EXPLODING_GRAD_GROWTH,
    EXPLODING_WEIGHT_GROWTH,
    INIT_LOSS_HIGH,
    INIT_LOSS_LOW,
    LR_HIGH_DIVERGE,
    LR_HIGH_UPDATE,
    LR_LOW_UPDATE,
    NO_LEARNING_MARGIN,
    PERMUTATION_MIN_DIAGONAL,
    PLATEAU_ACC,
    PLATEAU_LOSS,
    PLATEAU_MAX_ACC,
    SATURATION_ERROR,
    SATURATION_WARN,
    UNSCALED_MAX,
    VANISHING_RATIO,
)

if TYPE_CHECKING:
    from netdoctor.monitor.callback import TrainingMonitor
    from netdoctor.nn.training import History

__all__ = [
    "RULES", "CAUSES", "Rule", "Evidence", "collect_evidence", "apply_rules", "link_causes",
    # The rules and thresholds live in rules_training / rules_outputs; re-exported so that they keep this home.
    "rule_nonfinite", "rule_unscaled_inputs", "rule_bad_initial_loss", "rule_lr_high", "rule_lr_low", "rule_exploding",
    "rule_saturation", "rule_dead_units", "rule_vanishing", "rule_constant_output", "rule_class_collapse",
    "rule_label_permutation", "rule_plateau", "rule_no_learning",
    "SATURATION_WARN", "SATURATION_ERROR", "DEAD_WARN", "DEAD_ERROR", "CONSTANT_SPREAD", "COLLAPSE_SHARE", "COLLAPSE_FEW", "COLLAPSE_MISSED", "NO_LEARNING_MARGIN",
    "PERMUTATION_MIN_DIAGONAL", "PLATEAU_ACC", "PLATEAU_LOSS", "PLATEAU_MAX_ACC", "EXPLODING_WEIGHT_GROWTH",
    "EXPLODING_GRAD_GROWTH", "VANISHING_RATIO", "LR_HIGH_UPDATE", "LR_HIGH_DIVERGE", "LR_LOW_UPDATE", "INIT_LOSS_HIGH",
    "INIT_LOSS_LOW", "UNSCALED_MAX",
]

def collect_evidence(monitor: TrainingMonitor, history: History, *, X: np.ndarray | None = None, model: Any = None,
                     label_noun: str = "rows labelled") -> Evidence:
    """Plain-data evidence for the rules, from a monitor, a training history and the inputs.

    Args:
        monitor: the :class:`~netdoctor.monitor.callback.TrainingMonitor` that watched the run.
        history: the :class:`~netdoctor.nn.training.History` of the run.
        X: training inputs, for the input-scale rule (a sample is enough).
        model: the model, for its configuration (``reduce``, ``config()``).
        label_noun: how to name a label's rows in messages ("images of digit").
    """
    epochs: list[EpochEvidence] = []
    for i, rec in enumerate(monitor.epochs):
        merged: EpochEvidence = {**history.epochs[i]} if i < len(history.epochs) else {}
        merged.update(rec)
        epochs.append(merged)
    ev: Evidence = {
        "initial": monitor.initial.copy(),
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
        scale: DataScale = {"x_min": float(Xs.min()), "x_max": float(Xs.max()), "x_mean": float(Xs.mean()), "x_std": float(Xs.std()),
                            "whole": bool(np.all(Xs == np.rint(Xs)))}
        ev["data"] = scale
    return ev


Rule = Callable[[Evidence], "Finding | None"]
"""A rule: the evidence -> at most one finding."""

RULES: tuple[Rule, ...] = (
    rule_nonfinite, rule_unscaled_inputs, rule_bad_initial_loss, rule_lr_high, rule_lr_low, rule_exploding,
    rule_saturation, rule_dead_units, rule_vanishing, rule_constant_output, rule_class_collapse,
    rule_label_permutation, rule_plateau, rule_no_learning,
)


def apply_rules(ev: Evidence, *, rules: Sequence[Rule] = RULES) -> list[Finding]:
    """Run every rule on the evidence; the findings are returned unlinked (see :func:`link_causes`)."""
    return [f for rule in rules if (f := rule(ev)) is not None]
