"""What the network is trained towards: ``constant-targets``, from :class:`~netdoctor.rules.evidence.TargetCounts`."""

from __future__ import annotations

import numpy as np

from netdoctor.findings import Finding, Severity
from netdoctor.rules.evidence import TargetCounts
from netdoctor.rules.policy import MIN_TARGET_ROWS, Framework

__all__ = ["constant_targets", "target_causes"]

FEW_ROWS_PER_CLASS = 20
"""Rows per output class before "only a few classes ever appear" is judged (a shuffled data set shows them all)."""


def target_causes(t: TargetCounts) -> list[str]:
    """What the values reaching the target builder show: a label divided by 255, always below 1, never changing."""
    b = t.builder
    if b is None or not b.values:
        return []
    args = np.asarray(b.values, dtype=float)
    name = b.function
    scaled = args * 255.0
    if args.max() < 1.0 and np.allclose(scaled, np.round(scaled), atol=1e-6) and np.unique(np.round(scaled)).size > 1:
        return [f"the label reaching {name}() is the true label divided by 255 (values {args.min():.4g}..{args.max():.4g} "
                f"= 0..{int(round(args.max() * 255))}/255): it was scaled with the pixels, and int(label/255) is 0 for every digit"]
    if np.unique(args).size == 1:
        why = (" (a label divided by 255 before it is cast to int, or a pixel column read as the label, is 0 for every row)"
               if args[0] == 0 else "")
        return [f"{name}() is always called with {args[0]:g}: the target is built from a value that does not change{why}"]
    if args.max() < 1.0:
        return [f"the label reaching {name}() is always below 1 ({args.min():.4g}..{args.max():.4g}), so int(label) is 0"]
    return []


def _one_unit_sentence(t: TargetCounts) -> str:
    vec = t.target_vector or ()
    return (f"All {t.rows:,} targets the network trained on are the same value" + (f" ({vec[0]:g})" if len(vec) == 1 else "")
            + ", for a network of one output unit: the one class its targets hold")


def _labels_sentence(t: TargetCounts, classes: int) -> str:
    """``; the labels in `data` are spread over 10 classes (0: 200, ...)``, read times 255 when the column was divided."""
    counts = t.label_counts or ()
    scaled = t.details.get("labels_scaled_by")
    times = (f" once multiplied by {scaled:g} (they were divided by it: 0..{max(k for k, n in enumerate(counts) if n)}"
             f"/{scaled:g})" if scaled else "")
    return (f"; the labels in {t.labels_from or 'the data'} are spread over {classes} classes{times} ("
            + ", ".join(f"{k}: {n:,}" for k, n in enumerate(counts) if n or not scaled) + ")")


def constant_targets(t: TargetCounts | None) -> Finding | None:
    """``constant-targets``: the targets the network is trained on do not follow the labels.

    Judged from max(:data:`MIN_TARGET_ROWS`, 3 per output class) targets. An
    error when every target is one class (or one vector), or when the labels
    of the data the program read span at least twice as many classes as the
    targets; a warning when, over :data:`FEW_ROWS_PER_CLASS` rows per class,
    at most half of four or more output classes ever appear.
    """
    if t is None:
        return None
    C = len(t.counts)
    present = [k for k, n in enumerate(t.counts) if n > 0]
    label_classes = sum(1 for n in t.label_counts if n) if t.label_counts else None
    # one output unit: its targets name no class, unless the data's labels hold several and every target is one value
    single = C == 1 and t.distinct_vectors == 1 and label_classes is not None and label_classes >= 2
    if (C < 2 and not single) or not present or t.rows < max(MIN_TARGET_ROWS, 3 * C):
        return None
    one = len(present) == 1 or t.distinct_vectors == 1
    lost = label_classes is not None and label_classes >= 2 * len(present)
    few = C >= 4 and len(present) <= C // 2 and t.rows >= FEW_ROWS_PER_CLASS * C
    if not (one or lost or few):
        return None
    top = max(present, key=lambda k: t.counts[k])
    if one:
        what = (f"All {t.rows:,} targets the network trained on are the same vector, the target of class {top}"
                if t.distinct_vectors == 1 else f"Every one of the {t.rows:,} targets the network trained on is class {top}")
        vec = t.target_vector
        if t.distinct_vectors == 1 and vec is not None and sum(v == max(vec) for v in vec) > 1:
            # (``T[:, y] = 1`` marks every class of the batch in every row): no class code at all
            what = (f"All {t.rows:,} targets the network trained on are the same vector, "
                    f"({', '.join(f'{v:g}' for v in vec)}), which names no single class (its largest value at "
                    f"{sum(v == max(vec) for v in vec)} of {C} classes)")
    else:
        what = f"The {t.rows:,} targets the network trained on encode only {len(present)} of {C} classes ({', '.join(map(str, present))})"
    if single:
        what = _one_unit_sentence(t)
    if t.label_counts:
        what += _labels_sentence(t, label_classes or 0)
    if single:
        what += ("; an output of one unit tells no class from another: sized from labels of one class, the network "
                 "has nothing to learn")
    causes = target_causes(t) or ["usual causes: the label scaled with the pixels (`int(label / 255) == 0`), the label column "
                                  "cut off or read from the wrong column, the target built from the wrong variable"]
    evidence: dict = {"samples": t.rows, "target_classes": {str(k): t.counts[k] for k in present}, "outputs": C,
                      "distinct_targets": t.distinct_vectors, "label_counts": list(t.label_counts) if t.label_counts else None,
                      "labels_from": t.labels_from or None, **t.details}
    if t.target_vector is not None:
        evidence["target"] = list(t.target_vector)
    if t.builder is not None and t.builder.values:
        a = np.asarray(t.builder.values, dtype=float)
        evidence["helper_arguments"] = {"function": t.builder.function, "min": float(a.min()), "max": float(a.max()),
                                        "distinct": int(len(np.unique(a))), "first": a[:5].tolist()}
    fix = ("Build each target from the sample's own integer label, read from the label column and taken out before any "
           "scaling (`label = int(row[0])`, then divide only the pixels: `row[1:] / 255`)." if t.framework is Framework.NUMPY else
           "Build the targets from the labels, untouched: not scaled with the pixels (label / 255 -> 0), not cut from the "
           "wrong column, not from a variable that keeps one value; check that the data has every class.")
    return Finding(
        "constant-targets", Severity.ERROR if one or lost else Severity.WARNING, t.where, what + ".",
        {k: v for k, v in evidence.items() if v is not None},
        fix=fix,
        explanation=(f"A network trained on targets of one class learns to answer class {top} whatever the input, and its "
                     f"accuracy is the share of class {top} in the data it is evaluated on; it can only learn the classes its "
                     "targets contain. " + _sentence("; ".join(causes)) + "."),
    )


def _sentence(text: str) -> str:
    """``text`` as the start of a sentence: its first letter capitalised, the rest (code, names) untouched."""
    return text[:1].upper() + text[1:]
