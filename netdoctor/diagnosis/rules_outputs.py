"""Rules on what the network outputs: constant output, class collapse, permuted labels, plateau.

Each rule reads the plain-data evidence dict of
:func:`netdoctor.diagnosis.rules.collect_evidence` (the last probe's output spread, the
confusion matrix at each epoch end, the step losses) and returns at most one
:class:`~netdoctor.findings.Finding` (or None). These are symptoms: the
causes they are linked to are in :data:`netdoctor.diagnosis.rules.CAUSES`.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from netdoctor.diagnosis.evidence import EpochEvidence, Evidence
from netdoctor.diagnosis.rules_training import _finite_probes
from netdoctor.findings import Finding
from netdoctor.rules.accuracy import accuracy_plateau, label_permutation
from netdoctor.rules.evidence import AccuracyTrace, Confusion, OutputSpread, Predictions
from netdoctor.rules.outputs import class_collapse, constant_output, no_learning
from netdoctor.rules.policy import (
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
    return label_permutation(Confusion(f"labels, epoch {e['epoch']}", ev["eval_name"],
                                       tuple(tuple(int(v) for v in row) for row in e["confusion"])))


def rule_plateau(ev: Evidence) -> Finding | None:
    accs = tuple(a for e in ev["epochs"] if (a := e.get("eval_accuracy")) is not None)
    return accuracy_plateau(AccuracyTrace(accs, tuple(ev["step_losses"]), ev["steps_per_epoch"]))
