"""What each training batch holds: ``unshuffled-data``, from :class:`~netdoctor.rules.evidence.BatchClasses`."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from netdoctor.findings import Finding, Severity
from netdoctor.rules.evidence import BatchClasses
from netdoctor.rules.policy import UNSHUFFLED_BATCHES, UNSHUFFLED_EXPECTED, UNSHUFFLED_SHARE, Framework

__all__ = ["unshuffled_data", "unshuffled_batches", "expected_classes"]

_FIX = {
    Framework.TORCH: "Shuffle the rows every epoch: DataLoader(..., shuffle=True), or index the batches with "
                     "torch.randperm(n) drawn anew each epoch.",
    Framework.NUMPY: "Shuffle the rows every epoch: index the batches with rng.permutation(n) drawn anew each epoch.",
    Framework.CHECK: "Shuffle the rows every epoch.",
}


def expected_classes(label_counts: Sequence[int], rows: float) -> float:
    """Classes a batch of ``rows`` rows drawn at random (with replacement) from labels spread as ``label_counts``
    holds on average: the sum over classes of 1 - (1 - p_k)^rows."""
    total = sum(label_counts)
    if total <= 0:
        return 0.0
    return float(sum(1.0 - (1.0 - n / total) ** rows for n in label_counts if n > 0))


def unshuffled_data(b: BatchClasses | None) -> Finding | None:
    """``unshuffled-data`` (an error): the training batches hold far fewer classes than batches drawn at random would.

    Over at least :data:`UNSHUFFLED_BATCHES` batches, the median classes per
    batch is at most :data:`UNSHUFFLED_SHARE` of the classes a random batch of
    that size would hold (at least :data:`UNSHUFFLED_EXPECTED`): the rows come
    grouped by label and are fed in that order.
    """
    if b is None or b.batches < UNSHUFFLED_BATCHES or b.expected < UNSHUFFLED_EXPECTED:
        return None
    if b.classes > UNSHUFFLED_SHARE * b.expected:
        return None
    present = sum(1 for n in b.label_counts if n > 0)
    return Finding(
        "unshuffled-data", Severity.ERROR, b.where,
        f"The training batches hold {b.classes:g} class{'es' if b.classes != 1 else ''} each (median of {b.batches} "
        f"batches of {b.rows:g} rows), while the labels counted over the run span {present} classes and a batch of "
        f"{b.rows:g} rows drawn at random from them would hold {b.expected:.1f}: the rows come grouped by label and are "
        "fed in that order.",
        {"batches": b.batches, "rows_per_batch": b.rows, "classes_per_batch": b.classes, "expected_classes": b.expected,
         "label_counts": list(b.label_counts), **b.details},
        fix=_FIX[b.framework],
        explanation="Each step then pulls the whole network toward the one or two classes of its batch: by the end of an "
        "epoch it answers the classes it saw last and has forgotten the others, so the training loss looks fine batch by "
        "batch while the test accuracy stays low.",
    )


def unshuffled_batches(where: str, batches: Sequence[tuple[float, int]], label_counts: Sequence[int],
                       framework: Framework, details: dict | None = None) -> Finding | None:
    """:func:`unshuffled_data` of ``batches`` ((rows, classes) of each training batch read) against random batches of
    their median size drawn from labels spread as ``label_counts``."""
    rows = statistics.median(r for r, _ in batches)
    return unshuffled_data(BatchClasses(
        where=where, batches=len(batches), rows=rows, classes=statistics.median(int(k) for _, k in batches),
        expected=expected_classes(label_counts, rows), label_counts=tuple(label_counts), framework=framework,
        details=details or {}))
