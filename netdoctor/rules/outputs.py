"""What the network outputs: ``constant-output``, ``class-collapse`` and ``no-learning``, one rule each.

Both are symptoms: the causes they are linked to are in
:data:`netdoctor.rules.causes.CAUSES`.
"""

from __future__ import annotations

import math

import numpy as np

from netdoctor.findings import Finding, Severity
from netdoctor.rules.evidence import OutputSpread, Predictions
from netdoctor.rules.policy import (
    BINARY_COLLAPSE_SHARE,
    COLLAPSE_ABOVE_TARGETS,
    COLLAPSE_FEW,
    COLLAPSE_MISSED,
    COLLAPSE_SHARE,
    CONSTANT_SPREAD,
    MIN_ACTIVITY_ROWS,
    MIN_PREDICTIONS,
    NO_LEARNING_MARGIN,
    NO_LEARNING_ROWS,
    Framework,
)

__all__ = ["constant_output", "class_collapse", "collapsed_onto", "no_learning", "memorised_labels"]

SYMPTOM_FIX = "Fix the causes listed with it; the output itself is a symptom."
COLLAPSE_FIX = ("Fix the root causes listed with it; a network that answers one label (or a few) whatever the input has "
                "stopped using its input.")


def constant_output(out: OutputSpread) -> Finding | None:
    """``constant-output``: the output's std across rows < :data:`CONSTANT_SPREAD` x max(1, mean |output|). Always an error.

    With the predictions of the evaluation rows the message says what they
    are: one label for every row, or (argmax still separating nearly equal
    outputs) how many classes they spread over.
    """
    if out.rows is not None and out.rows < MIN_ACTIVITY_ROWS:
        return None
    limit = CONSTANT_SPREAD * max(1.0, out.scale)
    if not (math.isfinite(out.spread) and math.isfinite(out.scale)) or out.spread > limit:
        return None
    s0 = out.spread_at_start
    since = f", {s0:.3g} at the start" if isinstance(s0, (int, float)) and math.isfinite(s0) else ""
    evidence: dict = {"output_spread": out.spread, "limit": limit, "initial_spread": s0, "rows": out.rows}
    if out.mean_output is not None:
        evidence["mean_output"] = list(out.mean_output)
    what = f"The network gives the same output for every input (the largest std {out.window} is {out.spread:.2e}{since})."
    p = out.predictions
    if p is not None and any(p.predicted):
        preds = np.asarray(p.predicted)
        total = int(preds.sum())
        used, top = int(np.count_nonzero(preds)), int(np.argmax(preds))
        evidence.update({"classes_predicted": used, "top_label": top, "top_share": float(preds[top] / total)})
        acc = f" at {100 * p.correct / total:.1f}% accuracy" if p.correct is not None else ""
        if used > 1:
            # The outputs differ by ~spread only: argmax still ranks those tiny differences, so the
            # predictions need not be one label; say what they are instead of "the same output".
            what = (f"The network's outputs are nearly the same for every input (the largest std {out.window} is "
                    f"{out.spread:.2e}{since}); argmax turns differences of that size into the predictions, which spread over "
                    f"{used} of {len(preds)} classes ({100 * preds[top] / total:.0f}% on {top}){acc} on the {p.on}.")
        else:
            what = what[:-1] + f": it predicts {top} for every row of the {p.on}."
    return Finding(
        "constant-output", Severity.ERROR, out.where, what, evidence, fix=SYMPTOM_FIX,
        explanation="When the hidden layers are saturated or dead, or the targets do not depend on the input, every input "
        "reaches the output as (nearly) the same vector, so what the network answers no longer depends on what it sees.",
    )


def _covering(preds: np.ndarray, share: float) -> list[int]:
    """The fewest labels (most predicted first) that receive ``share`` of all predictions."""
    order = np.argsort(-preds, kind="stable")
    cum = np.cumsum(preds[order])
    k = int(np.searchsorted(cum, share * cum[-1] - 1e-9)) + 1
    return [int(c) for c in order[:k]]


def collapsed_onto(p: Predictions) -> list[int] | None:
    """The labels the predictions collapsed onto, or None: the one decision behind ``class-collapse``.

    One label with :data:`COLLAPSE_SHARE` of at least :data:`MIN_PREDICTIONS`
    predictions, which (when the labels are known) exceeds that label's own
    share by :data:`COLLAPSE_ABOVE_TARGETS`: predicting the 85% class 92% of
    the time is not a collapse. With two classes only a complete collapse
    (:data:`BINARY_COLLAPSE_SHARE`) counts. Or, on an evaluation with the labels known and four
    classes or more, at most :data:`COLLAPSE_FEW` (or a third of the classes)
    receiving that share while the rows of the other labels, which can then
    hardly be right, are at least :data:`COLLAPSE_MISSED` of the data.
    """
    preds = np.asarray(p.predicted, dtype=float)
    total = preds.sum()
    if total < MIN_PREDICTIONS or len(preds) < 2:
        return None
    labels = np.asarray(p.labels, dtype=float) if p.labels is not None and sum(p.labels) > 0 else None
    few = _covering(preds, COLLAPSE_SHARE)
    if len(few) == 1:
        top = few[0]
        share = preds[top] / total
        label_share = labels[top] / labels.sum() if labels is not None and top < len(labels) else None
        if label_share is not None and share - label_share < COLLAPSE_ABOVE_TARGETS:
            return None
        if len(preds) == 2 and (share < BINARY_COLLAPSE_SHARE or (label_share is not None and label_share > COLLAPSE_SHARE)):
            return None
        return few
    if labels is None or not p.evaluated:
        # a window of training batches is no verdict on a few classes: the first 40 steps of a healthy PyTorch MNIST
        # loop predict 3 classes for 100% of the rows ([904, 51, 69, 0, ...] of 1,024), and then it learns
        return None
    C = int(np.count_nonzero(labels)) if np.count_nonzero(labels) >= 2 else len(preds)
    missed = 1.0 - labels[few].sum() / labels.sum()
    if C >= 4 and len(few) <= max(COLLAPSE_FEW, C // 3) and missed >= COLLAPSE_MISSED:
        return few
    return None


def class_collapse(p: Predictions) -> Finding | None:
    """``class-collapse``: the predictions collapsed onto one label or a few (see :func:`collapsed_onto`). Always an error."""
    few = collapsed_onto(p)
    if few is None:
        return None
    preds = np.asarray(p.predicted)
    total = int(preds.sum())
    labels = np.asarray(p.labels) if p.labels is not None and sum(p.labels) > 0 else None
    acc = p.correct / total if p.correct is not None else None
    if len(few) > 1 and labels is not None:
        parts = [f"{c} for {int(preds[c])} ({100 * preds[c] / total:.1f}%)" for c in few]
        listed = ", ".join(parts[:-1]) + f" and {parts[-1]}"
        missed = 1.0 - labels[few].sum() / labels.sum()
        return Finding(
            "class-collapse", Severity.ERROR, p.where,
            f"The network predicts only {len(few)} of the {len(preds)} classes: {listed} of the {total} rows of the {p.on}"
            + (f"; accuracy {100 * acc:.2f}%" if acc is not None else "")
            + f", and the {len(preds) - len(few)} other classes ({100 * missed:.1f}% of the rows) are almost never predicted.",
            {"accuracy": acc, "classes": few, "counts": [int(preds[c]) for c in few],
             "shares": [float(preds[c] / total) for c in few], "label_shares": [float(labels[c] / labels.sum()) for c in few],
             "total": total, "unpredicted_share": float(missed), "on": p.on},
            fix=COLLAPSE_FIX,
            explanation="A trained classifier spreads its answers over the classes roughly as the labels are spread; "
            "answers confined to a few classes mean the output barely depends on the input.",
        )
    top = few[0]
    share = float(preds[top] / total)
    ev: dict = {"label": top, "predicted_share": share, "accuracy": acc, "total": total, "on": p.on,
                "prediction_counts": [int(c) for c in preds]}
    src = f" of {p.labels_from}" if p.labels_from else ""
    if labels is not None:
        n_k = int(labels[top]) if top < len(labels) else 0
        label_share = n_k / labels.sum()
        ev.update({"label_count": n_k, "label_share": float(label_share), "label_counts": [int(c) for c in labels]})
        correct = p.correct if p.correct is not None else n_k if share == 1.0 and labels.sum() == total else None
        acc = correct / total if correct is not None else None
        ev["accuracy"] = acc
        if share == 1.0 and acc is not None:
            msg = (f"Accuracy {100 * acc:.2f}% = {correct}/{total} {p.label_noun} {top}: the network predicts {top} for "
                   f"100.0% of the {p.on}, so accuracy equals that label's share{src}")
        else:
            msg = (f"The network predicts {top} for {100 * share:.1f}% of the {p.on}; {p.label_noun} {top} are "
                   f"{100 * label_share:.2f}% = {n_k:,}/{int(labels.sum()):,} of the rows{src}"
                   + (f", and accuracy is {100 * acc:.2f}%" if acc is not None else ""))
    else:
        msg = f"The network predicts {top} for {100 * share:.1f}% of the {p.on}"
    r = p.returned
    if r is not None and acc is not None and share == 1.0 and (abs(r - acc) < 1e-9 or abs(r - 100 * acc) < 1e-6
                                                               or abs(r - acc * total) < 1e-9):
        msg += f" (what {p.where} returned: {r:g})"  # the program's own number is that label's share
        ev["returned"] = r
    tie = ""
    if p.tied_outputs is not None:
        ev["tied_outputs"] = p.tied_outputs
        if top == 0 and p.tied_outputs > 0.5:
            tie = (f" The output units are exactly equal for {100 * p.tied_outputs:.0f}% of the probe rows (all saturated at the "
                   "same value), and argmax of equal scores returns the first index: that is why the label is 0.")
    return Finding(
        "class-collapse", Severity.ERROR, p.where, msg + ".", ev, fix=COLLAPSE_FIX,
        explanation="Accuracy stuck at one label's share of the data is the signature of a constant prediction: the "
        "network has stopped using its input." + tie,
    )


NO_LEARNING_FIX = {
    Framework.CHECK: "Fix the causes listed with it; if none is listed, check that the learning rate is large enough for the "
                     "updates to move the weights (update/weight ratios of ~1e-3 per step) and that labels match their inputs.",
    Framework.NUMPY: "Fix the causes listed with it; if none is listed, check that each input is paired with its own label and "
                     "that the updates move the weights.",
    Framework.TORCH: "Fix the causes listed with it; if none is listed, check that each input is paired with its own label "
                     "(features and labels shuffled with one permutation) and that the updates move the weights.",
}


def _at_chance(p: Predictions) -> tuple[np.ndarray, float, float, float, float] | None:
    """Predictions no better than always answering their most common label: (label counts, rows, that label's share,
    the accuracy, the limit), when the accuracy is within :data:`NO_LEARNING_MARGIN` of the gap between that share and
    100% (at least 1 point above the share), over at least :data:`NO_LEARNING_ROWS` rows of two labels or more; else
    None."""
    if p.labels is None or p.correct is None:
        return None
    labels = np.asarray(p.labels, dtype=float)
    total = float(labels.sum())
    if total < NO_LEARNING_ROWS or np.count_nonzero(labels) < 2:
        return None
    majority = float(labels.max() / total)
    acc = p.correct / total
    limit = majority + max(NO_LEARNING_MARGIN * (1.0 - majority), 0.01)
    return (labels, total, majority, acc, limit) if acc <= limit else None


def no_learning(p: Predictions, *, after: str, start_accuracy: float | None = None, permuted: bool = False) -> Finding | None:
    """``no-learning`` (an error): the accuracy is no better than always answering the most common label.

    Within :data:`NO_LEARNING_MARGIN` of the gap between that label's share
    and 100% (19% with ten balanced classes), over at least
    :data:`NO_LEARNING_ROWS` rows with two labels or more. A run that did not
    learn is an error even when every finding that explains it is a warning.
    Not raised beside ``class-collapse`` (:func:`collapsed_onto`) or a label
    permutation, which say more (and a permutation did learn).
    """
    if p.labels is None or p.correct is None or permuted or collapsed_onto(p) is not None:
        return None
    chance = _at_chance(p)
    if chance is None:
        return None
    labels, total, majority, acc, limit = chance
    start = f" ({100 * start_accuracy:.1f}% at the start)" if start_accuracy is not None else ""
    return Finding(
        "no-learning", Severity.ERROR, p.where,
        f"{after} the accuracy on the {p.on} is {100 * acc:.1f}%{start}, no better than always answering the most common "
        f"label ({100 * majority:.1f}% of the rows): the network did not learn.",
        {"accuracy": acc, "accuracy_at_start": start_accuracy, "majority_share": majority, "limit": limit, "rows": int(total),
         "on": p.on},
        fix=NO_LEARNING_FIX[p.framework],
        explanation="A network that learned anything beats the share of the most common label; one that does not has not "
        "used its input (inputs and labels unrelated, or updates that do nothing), whatever the loss did.",
    )


MEMORISED_FIX = {
    Framework.NUMPY: "Pair each input with its own label: shuffle inputs and labels with one permutation, and check "
                     "that no step shifts, sorts or reshuffles the labels apart from the inputs.",
    Framework.TORCH: "Pair each input with its own label: shuffle features and labels with one permutation (index both "
                     "with the same indices), and check that nothing rolls, sorts or reshuffles the labels apart from "
                     "the inputs before the Dataset or the batches are built.",
}


def memorised_labels(first: Predictions, *, seen_accuracy: float, seen_rows: int, seen_on: str,
                     z: float, neighbours: tuple[int, float, float] | None = None) -> Finding | None:
    """``no-learning`` (an error) from rows seen for the first time: the network answers them no better than always
    answering their most common label, while it answers rows it was trained on before better (it memorises them).

    ``first`` holds the predictions on rows the network had never been trained on (each counted before the step that
    used it), with their labels and how many were right. Judged as :func:`no_learning` judges a window (the accuracy
    within :data:`NO_LEARNING_MARGIN` of the gap between the most common label's share and 100%, over at least
    :data:`NO_LEARNING_ROWS` rows with two labels or more); ``seen_accuracy`` over ``seen_rows`` (``seen_on`` names
    them) must beat it by ``z`` standard errors of the difference of two proportions, which the caller has checked: a
    run at chance on both is :func:`no_learning`'s to judge. ``neighbours`` (rows, the share whose nearest other row
    has their label, that share for labels unrelated to the inputs), when read, is said beside it.
    """
    chance = _at_chance(first)
    if chance is None:
        return None
    labels, total, majority, acc, limit = chance
    return Finding(
        "no-learning", Severity.ERROR, first.where,
        f"Training accuracy {100 * seen_accuracy:.1f}% on {seen_on}, {100 * acc:.1f}% on {first.on}, where always "
        f"answering their most common label scores {100 * majority:.1f}%: the labels do not follow the inputs; the "
        "network learns the rows it has seen by heart and nothing that carries over to a new row."
        + (f" Of {neighbours[0]:,} training rows, {100 * neighbours[1]:.1f}% have the label of the row nearest them by "
           f"their inputs, as labels unrelated to the inputs would ({100 * neighbours[2]:.1f}%)." if neighbours else ""),
        {"accuracy": acc, "majority_share": majority, "limit": limit, "rows": int(total), "on": first.on,
         "seen_accuracy": seen_accuracy, "seen_rows": seen_rows, "seen_on": seen_on, "z": z,
         "label_counts": [int(c) for c in labels], "kind": "labels"},
        fix=MEMORISED_FIX.get(first.framework, MEMORISED_FIX[Framework.TORCH]),
        explanation="A row the network has not been trained on is answered from what it learned of other rows: at "
        "chance there means nothing it learned carries over (inputs and labels unrelated: shuffled apart, shifted by "
        "a row). Rows it was trained on can still be answered from memory, so the training accuracy alone rises.",
    )

