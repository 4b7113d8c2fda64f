"""Rules on what the network outputs: constant output, class collapse, permuted labels, plateau.

Each rule reads the plain-data evidence dict of
:func:`netdoctor.diagnosis.rules.collect_evidence` (the last probe's output spread, the
confusion matrix at each epoch end, the step losses) and returns at most one
:class:`~netdoctor.findings.Finding` (or None). These are symptoms: the
causes they are linked to are in :data:`netdoctor.diagnosis.rules.CAUSES`.
"""

from __future__ import annotations

import math

import numpy as np

from netdoctor.diagnosis.evidence import EpochEvidence, Evidence
from netdoctor.diagnosis.rules_training import _finite_probes
from netdoctor.findings import Finding, Severity

__all__ = ["rule_constant_output", "rule_class_collapse", "rule_no_learning", "rule_label_permutation", "rule_plateau"]

CONSTANT_SPREAD = 1e-4
"""Output std across inputs, relative to max(1, mean |output|); healthy nets start at ~1e-2."""
COLLAPSE_SHARE = 0.9
"""Share of predictions on one label (or on a few, see :data:`COLLAPSE_FEW`) that counts as collapse."""
COLLAPSE_FEW = 2
"""At most this many labels (or a third of the classes, if more) receiving :data:`COLLAPSE_SHARE` of the
predictions is a collapse onto a few classes, when the other labels' rows are :data:`COLLAPSE_MISSED` of the data."""
COLLAPSE_MISSED = 0.3
NO_LEARNING_MARGIN = 0.1
"""An accuracy within this share of the gap between the majority label's share and 100% counts as chance
(19% with ten balanced classes); healthy 1-3 epoch runs on the test data are far above it."""
PERMUTATION_MIN_DIAGONAL = 0.5
"""Mean row share on the permuted 'diagonal' for a confusion matrix to count as a permutation."""
PLATEAU_ACC = 0.005
"""Accuracy change (absolute) across the last epochs below which accuracy is flat."""
PLATEAU_LOSS = 0.005
"""Relative change of the mean step loss between the last two half-epochs that counts as flat."""
PLATEAU_MAX_ACC = 0.5
"""A flat curve above this accuracy is convergence, not a plateau worth a finding."""

def rule_constant_output(ev: Evidence) -> Finding | None:
    probes = _finite_probes(ev)
    if not probes or "output_spread" not in probes[-1]:
        return None
    last = probes[-1]
    spread, scale = last["output_spread"], max(1.0, last.get("output_scale", 0.0))
    if spread > CONSTANT_SPREAD * scale:
        return None
    init = ev["initial"].get("output_spread")
    since = f", {init:.3g} at initialisation" if isinstance(init, (int, float)) and math.isfinite(init) else ""
    e = _last_eval(ev)
    evidence = {"output_spread": spread, "limit": CONSTANT_SPREAD * scale, "initial_spread": init, "step": last["step"]}
    what = f"The network gives the same output for every input (std across the probe batch {spread:.2e}{since})."
    if e is not None:
        cm = np.asarray(e["confusion"])
        preds, total = cm.sum(axis=0), int(cm.sum())
        used = int(np.count_nonzero(preds))
        top = int(np.argmax(preds))
        acc = float(np.trace(cm) / max(total, 1))
        evidence.update({"classes_predicted": used, "top_label": top, "top_share": float(preds[top] / max(total, 1))})
        if used > 1:
            # The outputs differ by ~spread only: argmax still ranks those tiny differences, so the
            # predictions need not be one label; say what they are instead of "the same output".
            what = (f"The network's outputs are nearly the same for every input (std across the probe batch {spread:.2e}"
                    f"{since}); argmax turns differences of that size into the predictions, which spread over {used} of "
                    f"{len(preds)} classes ({100 * preds[top] / total:.0f}% on {top}) at {100 * acc:.1f}% accuracy "
                    f"on the {ev['eval_name']}.")
        elif total:
            what = (f"The network gives the same output for every input (std across the probe batch {spread:.2e}{since}): "
                    f"it predicts {top} for every row of the {ev['eval_name']}.")
    return Finding(
        "constant-output", Severity.ERROR, f"layer {len(last['layers'])} (output)", what, evidence,
        fix="Fix the causes listed with it; the output itself is a symptom.",
        explanation="When the hidden layers are saturated or dead, every input reaches the output layer as (nearly) the "
        "same vector, so what the network answers no longer depends on what it sees.",
    )


def _last_eval(ev: Evidence) -> EpochEvidence | None:
    eps = [e for e in ev["epochs"] if e.get("confusion")]
    return eps[-1] if eps else None


def _covering(preds: np.ndarray, share: float) -> list[int]:
    """The fewest labels (most predicted first) that receive ``share`` of all predictions."""
    order = np.argsort(-preds, kind="stable")
    cum = np.cumsum(preds[order])
    k = int(np.searchsorted(cum, share * cum[-1] - 1e-9)) + 1
    return [int(c) for c in order[:k]]


def _collapse(cm: np.ndarray) -> list[int] | None:
    """The labels the predictions collapsed onto, or None.

    One label with :data:`COLLAPSE_SHARE` of the predictions; or, with four
    classes or more, at most :data:`COLLAPSE_FEW` (or a third of the classes)
    receiving that share while the rows of the other labels, which can then
    hardly be right, are at least :data:`COLLAPSE_MISSED` of the data.
    """
    preds, labels = cm.sum(axis=0), cm.sum(axis=1)
    total = labels.sum()
    if total == 0:
        return None
    few = _covering(preds, COLLAPSE_SHARE)
    if len(few) == 1:
        return few
    C = int(np.count_nonzero(labels)) if np.count_nonzero(labels) >= 2 else len(cm)
    missed = 1.0 - labels[few].sum() / total
    if C >= 4 and len(few) <= max(COLLAPSE_FEW, C // 3) and missed >= COLLAPSE_MISSED:
        return few
    return None


def rule_class_collapse(ev: Evidence) -> Finding | None:
    e = _last_eval(ev)
    if e is None:
        return None
    cm = np.asarray(e["confusion"])
    few = _collapse(cm)
    if few is None:
        return None
    preds, labels = cm.sum(axis=0), cm.sum(axis=1)
    total = int(labels.sum())
    acc = float(np.trace(cm) / total)
    noun = ev.get("label_noun", "rows labelled")
    if len(few) > 1:
        parts = [f"{c} for {int(preds[c])} ({100 * preds[c] / total:.1f}%)" for c in few]
        listed = ", ".join(parts[:-1]) + f" and {parts[-1]}"
        others = len(cm) - len(few)
        missed = 1.0 - labels[few].sum() / total
        return Finding(
            "class-collapse", Severity.ERROR, f"output, epoch {e['epoch']}",
            f"The network predicts only {len(few)} of the {len(cm)} classes: {listed} of the {total} rows of the "
            f"{ev['eval_name']}; accuracy {100 * acc:.2f}%, and the {others} other classes ({100 * missed:.1f}% of the "
            "rows) are almost never predicted.",
            {"accuracy": acc, "classes": few, "counts": [int(preds[c]) for c in few],
             "shares": [float(preds[c] / total) for c in few], "label_shares": [float(labels[c] / total) for c in few],
             "total": total, "unpredicted_share": float(missed), "on": ev["eval_name"]},
            fix="Fix the root causes listed above; a network that answers a few labels whatever the input has stopped "
            "using most of its input.",
            explanation="A trained classifier spreads its answers over the classes roughly as the labels are spread; "
            "answers confined to a few classes mean the output barely depends on the input.",
        )
    top = few[0]
    pred_share = preds[top] / total
    share = labels[top] / total
    probes = _finite_probes(ev)
    tied = probes[-1].get("tied_argmax", 0.0) if probes else 0.0
    tie = (f" The output units are exactly equal for {100 * tied:.0f}% of the probe rows (all saturated at the same value), "
           "and argmax of equal scores returns the first index: that is why the label is 0.") if top == 0 and tied > 0.5 else ""
    return Finding(
        "class-collapse", Severity.ERROR, f"output, epoch {e['epoch']}",
        f"Accuracy {100 * acc:.2f}% = {int(labels[top])}/{total} {noun} {top}: the network predicts {top} for "
        f"{100 * pred_share:.1f}% of the {ev['eval_name']}, so accuracy equals that label's share.",
        {"accuracy": acc, "label": top, "label_count": int(labels[top]), "total": total, "label_share": share,
         "predicted_share": pred_share, "tied_outputs": tied, "on": ev["eval_name"]},
        fix="Fix the root causes listed above; a constant answer is what a network outputs when its inputs no longer reach the output.",
        explanation="Accuracy stuck at exactly one label's share of the data is the signature of a constant prediction: the net "
        "has stopped using its input." + tie,
    )


def rule_no_learning(ev: Evidence) -> Finding | None:
    """Error when the final accuracy is no better than always answering the most common label.

    A run at chance level did not learn, whatever else was measured; without
    this the report of such a run could consist of warnings only and the CLI
    would exit 0. Not raised beside ``class-collapse``, which already says it
    with the label and its share.
    """
    e = _last_eval(ev)
    if e is None or e.get("eval_accuracy") is None:
        return None
    cm = np.asarray(e["confusion"])
    labels = cm.sum(axis=1)
    total = labels.sum()
    if total == 0 or np.count_nonzero(labels) < 2 or _collapse(cm) is not None or rule_label_permutation(ev) is not None:
        return None  # collapse and permuted labels say more than "did not learn" (and a permutation did learn)
    majority = float(labels.max() / total)
    acc = float(e["eval_accuracy"])
    limit = majority + max(NO_LEARNING_MARGIN * (1.0 - majority), 0.01)
    if acc > limit:
        return None
    accs = [x.get("eval_accuracy") for x in ev["epochs"] if x.get("eval_accuracy") is not None]
    n = len(accs)
    return Finding(
        "no-learning", Severity.ERROR, f"{ev['eval_name']}, epoch {e['epoch']}",
        f"After {n} epoch{'s' * (n != 1)} the accuracy on the {ev['eval_name']} is {100 * acc:.1f}%, no better than always "
        f"answering the most common label ({100 * majority:.1f}% of the rows): the network did not learn.",
        {"accuracy": acc, "accuracies": accs, "majority_share": majority, "limit": limit},
        fix="Fix the causes listed with it; if none is listed, check that the learning rate is large enough for the "
        "updates to move the weights (update/weight ratios of ~1e-3 per step) and that labels match their inputs.",
        explanation="A network that learned anything beats the share of the most common label; one that does not has "
        "not used its input, whatever the loss did.",
    )


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
