"""The reference comparison: the user's network against the reference MLP on the same run.

When :func:`netdoctor.diagnosis.pipeline.diagnose` is given ``baseline=`` (the CLI does
for ``--model``), the reference MLP is trained with the same learning rate,
batch size, epochs and seed on the same data and evaluated on the same rows.
:func:`reference_comparison` turns the two accuracies into one finding,
``reference-comparison``:

* **warning** when the user's accuracy is far below the reference's (a gap of
  at least :data:`REFERENCE_GAP`), or the user's model sits within
  :data:`NEAR_MAJORITY` of the majority label's share while the reference is
  at least :data:`REFERENCE_LEARNS` above it. It is evidence, not a cause: its
  ``caused_by`` names the user-code findings present (shared buffers, stale
  accumulators, summed gradients, ...), so it is listed after them;
* **info** otherwise: a reference that does not learn either (then the data
  or the hyper-parameters are suspect: the comparison says nothing about the
  user's code), comparable accuracy within :data:`COMPARABLE_GAP` ("training
  works"), or a moderate gap.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from typing import Any

import numpy as np

from netdoctor.findings import Finding, Severity

__all__ = ["REFERENCE_GAP", "NEAR_MAJORITY", "REFERENCE_LEARNS", "COMPARABLE_GAP", "USER_CODE", "reference_comparison"]

REFERENCE_GAP = 0.20
"""Accuracy gap (reference minus user, absolute) that puts the problem in the user's code."""
NEAR_MAJORITY = 0.03
"""User accuracy within this of the majority label's share counts as 'predicts one label'."""
REFERENCE_LEARNS = 0.20
"""The reference must beat the majority share by this much for the comparison to blame the user's code."""
COMPARABLE_GAP = 0.05
"""Gap below which the two runs count as comparable (seed-to-seed spread of 3-epoch MNIST runs is ~1-3 points)."""

USER_CODE = (
    "gradient-mismatch", "aliased-buffers", "stale-accumulator", "summed-gradient", "update-mismatch",
    "frozen-parameters", "mutated-constant", "batch-leak", "cannot-overfit", "label-permutation", "double-softmax",
)
"""Codes that name a bug in the user's code (not in the data or the hyper-parameters)."""


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def reference_comparison(
    user_accuracy: float | None, baseline: Mapping[str, Any] | None, y_eval: Any, *,
    present: Collection[str] = (), epochs: int, lr: float, batch_size: int, on: str = "test data",
) -> Finding | None:
    """One ``reference-comparison`` finding, or None when either accuracy is unknown.

    Args:
        user_accuracy: the user's model's accuracy on ``y_eval`` after training.
        baseline: ``sections["baseline"]``: at least ``accuracy`` and ``model``
            (the reference's architecture).
        y_eval: the labels both accuracies were measured on (for the
            majority share ``max_k n_k / n``).
        present: codes of the other findings; the user-code ones among them
            become the warning's ``caused_by``.
        epochs, lr, batch_size: the shared training configuration (evidence).
        on: what the accuracies were measured on ("test data").
    """
    baseline = baseline or {}
    ref = baseline.get("accuracy")
    if user_accuracy is None or ref is None or not (math.isfinite(user_accuracy) and math.isfinite(ref)):
        return None
    counts = np.bincount(np.asarray(y_eval, dtype=np.intp).reshape(-1))
    majority, majority_share = int(np.argmax(counts)), float(counts.max() / counts.sum())
    gap = ref - user_accuracy
    evidence = {
        "user_accuracy": user_accuracy, "reference_accuracy": ref, "gap": gap, "majority_label": majority,
        "majority_share": majority_share, "reference": baseline.get("model"), "epochs": epochs, "lr": lr,
        "batch_size": batch_size, "on": on, "limits": {"gap": REFERENCE_GAP, "near_majority": NEAR_MAJORITY},
    }
    ref_learns = ref >= majority_share + REFERENCE_LEARNS
    stuck = user_accuracy <= majority_share + NEAR_MAJORITY
    same = f"on the same data and hyper-parameters ({epochs} epochs, lr {lr:g}, batch {batch_size}; {on})"
    if ref_learns and (gap >= REFERENCE_GAP or stuck):
        causes = tuple(c for c in USER_CODE if c in present)
        return Finding(
            "reference-comparison", Severity.WARNING, "your model vs the reference MLP",
            f"The reference MLP reached {_pct(ref)}, your model {_pct(user_accuracy)} {same}: the problem is in your "
            "code, not in your data or hyper-parameters.",
            evidence, caused_by=causes,
            fix="Fix the findings listed above it." if causes else
            "Compare your forward pass, loss, gradient and update with the reference MLP's, step by step "
            "(netdoctor.gradcheck for the gradient, netdoctor.probe_training for the update).",
            explanation="The reference MLP is trained exactly as your model was; if it learns and yours does not, the data "
            "and the learning rate, batch size and epochs are not what stops your model.",
        )
    if not ref_learns and user_accuracy >= majority_share + REFERENCE_LEARNS:
        what = (f"Your model reached {_pct(user_accuracy)}, the reference MLP only {_pct(ref)} {same}: these settings "
                "suit your model and not the reference, so the comparison says nothing against your code.")
        fix = "Nothing to fix here."
    elif not ref_learns:
        what = (f"the reference MLP reached only {_pct(ref)} (the most common label is {_pct(majority_share)} of the rows) "
                f"and your model {_pct(user_accuracy)} {same}: the reference does not learn with these settings either, "
                "so look at the data and the hyper-parameters first.")
        fix = "Check the labels and the input scaling, and try a 10x smaller learning rate for both."
    elif gap <= COMPARABLE_GAP:
        what = f"Your model {_pct(user_accuracy)}, the reference MLP {_pct(ref)} {same}: training works."
        fix = "Nothing to fix here."
    else:
        what = (f"Your model {_pct(user_accuracy)}, the reference MLP {_pct(ref)} {same}: your model learns, "
                f"{100 * gap:.1f} points behind the reference.")
        fix = "Compare initialisation, activation and loss with the reference MLP's (see the report's baseline section)."
    return Finding(
        "reference-comparison", Severity.INFO, "your model vs the reference MLP", what[0].upper() + what[1:], evidence, fix=fix,
        explanation="The reference MLP is trained with the same data, learning rate, batch size and epochs as your model, "
        "so the gap between the two measures what your code adds or takes away.",
    )
