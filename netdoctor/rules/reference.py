"""The user's network against the reference MLP trained the same way: ``reference-comparison``.

:func:`netdoctor.diagnosis.pipeline.diagnose`, given ``baseline=`` (the CLI does for ``--model``), trains the
reference MLP with the same learning rate, batch size, epochs and seed on the same data, evaluates both on
the same rows and hands the two accuracies over as a :class:`ReferenceRun`. The rule:

* **warning** when the user's accuracy is far below the reference's (a gap of at least
  :data:`~netdoctor.rules.policy.REFERENCE_GAP`), or the user's model sits within
  :data:`~netdoctor.rules.policy.NEAR_MAJORITY` of the majority label's share while the reference is at
  least :data:`~netdoctor.rules.policy.REFERENCE_LEARNS` above it. It is evidence, not a cause: its
  ``caused_by`` names the user-code findings present (:data:`USER_CODE`), so it is listed after them;
* **info** otherwise: a reference that does not learn either (then the data or the hyper-parameters are
  suspect: the comparison says nothing about the user's code), comparable accuracy within
  :data:`~netdoctor.rules.policy.COMPARABLE_GAP` ("training works"), or a moderate gap.
"""

from __future__ import annotations

import math
from collections.abc import Collection

from netdoctor._lazy import dataclass
from netdoctor.findings import Finding, Severity
from netdoctor.rules.policy import COMPARABLE_GAP, NEAR_MAJORITY, REFERENCE_GAP, REFERENCE_LEARNS

__all__ = ["ReferenceRun", "USER_CODE", "reference_comparison"]

USER_CODE = (
    "gradient-mismatch", "aliased-buffers", "stale-accumulator", "summed-gradient", "update-mismatch",
    "frozen-parameters", "mutated-constant", "batch-leak", "cannot-overfit", "label-permutation", "double-softmax",
)
"""Codes that name a bug in the user's code (not in the data or the hyper-parameters)."""


@dataclass(frozen=True)
class ReferenceRun:
    """Evidence: the user's model and the reference MLP, trained alike and evaluated on the same rows."""

    user_accuracy: float
    reference_accuracy: float
    majority_label: int
    majority_share: float
    """The most common label's share of the rows both accuracies were measured on."""
    reference: str | None
    """The reference's architecture (``MLP(784-30-10, tanh, mse)``)."""
    epochs: int
    lr: float
    batch_size: int
    on: str = "test data"
    """What the accuracies were measured on."""


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def reference_comparison(r: ReferenceRun, present: Collection[str] = ()) -> Finding | None:
    """One ``reference-comparison`` finding, or None when either accuracy is not a number.

    ``present``: the codes of the other findings; the user-code ones among them become the warning's ``caused_by``.
    """
    user, ref = r.user_accuracy, r.reference_accuracy
    if not (math.isfinite(user) and math.isfinite(ref)):
        return None
    gap = ref - user
    evidence = {
        "user_accuracy": user, "reference_accuracy": ref, "gap": gap, "majority_label": r.majority_label,
        "majority_share": r.majority_share, "reference": r.reference, "epochs": r.epochs, "lr": r.lr,
        "batch_size": r.batch_size, "on": r.on, "limits": {"gap": REFERENCE_GAP, "near_majority": NEAR_MAJORITY},
    }
    ref_learns = ref >= r.majority_share + REFERENCE_LEARNS
    stuck = user <= r.majority_share + NEAR_MAJORITY
    same = f"on the same data and hyper-parameters ({r.epochs} epochs, lr {r.lr:g}, batch {r.batch_size}; {r.on})"
    if ref_learns and (gap >= REFERENCE_GAP or stuck):
        causes = tuple(c for c in USER_CODE if c in present)
        return Finding(
            "reference-comparison", Severity.WARNING, "your model vs the reference MLP",
            f"The reference MLP reached {_pct(ref)}, your model {_pct(user)} {same}: the problem is in your "
            "code, not in your data or hyper-parameters.",
            evidence, caused_by=causes,
            fix="Fix the findings listed above it." if causes else
            "Compare your forward pass, loss, gradient and update with the reference MLP's, step by step "
            "(netdoctor.gradcheck for the gradient, netdoctor.probe_training for the update).",
            explanation="The reference MLP is trained exactly as your model was; if it learns and yours does not, the data "
            "and the learning rate, batch size and epochs are not what stops your model.",
        )
    if not ref_learns and user >= r.majority_share + REFERENCE_LEARNS:
        what = (f"Your model reached {_pct(user)}, the reference MLP only {_pct(ref)} {same}: these settings "
                "suit your model and not the reference, so the comparison says nothing against your code.")
        fix = "Nothing to fix here."
    elif not ref_learns:
        what = (f"the reference MLP reached only {_pct(ref)} (the most common label is {_pct(r.majority_share)} of the rows) "
                f"and your model {_pct(user)} {same}: the reference does not learn with these settings either, "
                "so look at the data and the hyper-parameters first.")
        fix = "Check the labels and the input scaling, and try a 10x smaller learning rate for both."
    elif gap <= COMPARABLE_GAP:
        what = f"Your model {_pct(user)}, the reference MLP {_pct(ref)} {same}: training works."
        fix = "Nothing to fix here."
    else:
        what = (f"Your model {_pct(user)}, the reference MLP {_pct(ref)} {same}: your model learns, "
                f"{100 * gap:.1f} points behind the reference.")
        fix = "Compare initialisation, activation and loss with the reference MLP's (see the report's baseline section)."
    return Finding(
        "reference-comparison", Severity.INFO, "your model vs the reference MLP", what[0].upper() + what[1:], evidence, fix=fix,
        explanation="The reference MLP is trained with the same data, learning rate, batch size and epochs as your model, "
        "so the gap between the two measures what your code adds or takes away.",
    )
