"""How the accuracy behaves: ``label-permutation`` and ``accuracy-plateau``, one rule each."""

from __future__ import annotations

import math

import numpy as np

from netdoctor.findings import Finding, Severity
from netdoctor.rules.evidence import AccuracyTrace, Confusion
from netdoctor.rules.policy import PERMUTATION_MIN_DIAGONAL, PLATEAU_ACC, PLATEAU_LOSS, PLATEAU_MAX_ACC

__all__ = ["label_permutation", "accuracy_plateau"]


def label_permutation(c: Confusion | None) -> Finding | None:
    """``label-permutation`` (an error): accuracy < 50% but each true label's row is dominated (mean share >=
    :data:`PERMUTATION_MIN_DIAGONAL`) by a different, one-to-one predicted label."""
    if c is None:
        return None
    cm = np.asarray(c.matrix, dtype=float)
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
        "label-permutation", Severity.ERROR, c.where,
        f"The network learned, but with the labels relabelled: {how}; accuracy {100 * acc:.1f}%, "
        f"{100 * relabelled:.1f}% under that mapping.",
        {"accuracy": acc, "accuracy_if_relabelled": relabelled, "shift": shift, "mapping": mapping, "on": c.on},
        fix="Encode training and evaluation labels the same way (same class order; 0-based vs 1-based; one-hot column order).",
        explanation="A confusion matrix that is a permutation of the diagonal means the classes are told apart perfectly well, "
        "but under different names in training and evaluation.",
    )


def accuracy_plateau(t: AccuracyTrace) -> Finding | None:
    """``accuracy-plateau`` (a warning): accuracy changed < :data:`PLATEAU_ACC` over the last two evaluations, the mean
    step loss < :data:`PLATEAU_LOSS` between the last two half-epochs (quarters of one epoch), at accuracy <=
    :data:`PLATEAU_MAX_ACC` (a flat curve at high accuracy is convergence)."""
    accs = list(t.accuracies)
    losses = [x for x in t.step_losses if math.isfinite(x)]
    if not accs:
        return None
    if len(accs) >= 2:
        half, span, where = max(2, t.steps_per_epoch // 2), "the last epoch", f"epochs {len(accs) - 1}-{len(accs)}"
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
