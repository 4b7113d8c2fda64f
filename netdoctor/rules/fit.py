"""Whether the update is the gradient step it claims to be: ``update-mismatch``, from
:class:`~netdoctor.rules.evidence.UpdateFit` (the update probe's least-squares fit)."""

from __future__ import annotations

from netdoctor.findings import Finding, Severity
from netdoctor.rules.evidence import UpdateFit
from netdoctor.rules.policy import SCALE_TOL

__all__ = ["update_mismatch"]

TENSOR_COS = 0.95
"""Cosine of a tensor's first step with -g above which it follows its gradient (rounding keeps healthy steps at ~1)."""
TENSOR_COS_BAD = 0.5
"""A tensor whose step is below this cosine moves in another direction: an error, not a scale."""


def update_mismatch(u: UpdateFit) -> Finding | None:
    """``update-mismatch``: the applied change is not ``-lr x`` the model's own gradient.

    ``fit``: no step is a combination of gradients (an error); ``scale``: the
    step goes up the gradient (an error) or is another multiple of lr than 1
    or the batch size (``summed-gradient``), beyond :data:`SCALE_TOL` (a
    warning); ``tensors``: some, not all, tensors step apart from their
    gradient (cosine < :data:`TENSOR_COS` or their own lr factor off by
    :data:`SCALE_TOL`): an error when one is below :data:`TENSOR_COS_BAD`.
    """
    factor = u.lr_effective / u.lr if u.lr else float("nan")
    if u.kind == "fit":
        per = u.per_tensor
        worst = sorted(u.live, key=lambda k: per[k]["cos"] if per[k]["cos"] == per[k]["cos"] else 2)[:4]
        return Finding(
            "update-mismatch", Severity.ERROR, ", ".join(worst),
            "The change train_step applies is not a multiple of the gradient loss() returns.",
            {"fit_residual": list(u.residuals), "per_tensor": {k: per[k] for k in worst}},
            fix="Apply exactly `w -= lr * grad` with the gradient of the loss being minimised (check signs, which buffer is "
            "applied, and that every tensor is updated with its own gradient).",
            explanation="Δw is compared with -lr·g from the model's own loss(); cosines well below 1 mean the step follows "
            "something else (a different loss, a stale or wrong buffer, an adaptive optimizer).",
        )
    if u.kind == "scale":
        if factor <= 0:
            return Finding(
                "update-mismatch", Severity.ERROR, u.where,
                f"The update goes up the gradient (effective learning rate {u.lr_effective:.3g} for lr={u.lr:g}).",
                {"lr_effective": u.lr_effective, "lr": u.lr},
                fix="Subtract the gradient: `w -= lr * grad`.",
                explanation="Moving along +g increases the loss; training diverges.",
            )
        if abs(factor - 1) <= SCALE_TOL:
            return None
        return Finding(
            "update-mismatch", Severity.WARNING, u.where, f"The step is {factor:.3g}x the lr passed to train_step.",
            {"lr": u.lr, "lr_effective": u.lr_effective, "lr_factor": factor, "batch_size": u.batch},
            fix="Use the lr argument as given (`w -= lr * grad` with the mean-over-batch gradient).",
            explanation="The update is proportional to the gradient but with another step size than the one requested; a "
            "learning-rate search or schedule then means something else than intended.",
        )
    per = u.per_tensor
    off = [k for k in u.measurable
           if not (per[k]["cos"] > TENSOR_COS and abs(per[k]["lr_factor"] / factor - 1) < SCALE_TOL)]
    if not off or len(off) >= len(u.live):
        return None
    bad = any(per[k]["cos"] < TENSOR_COS_BAD for k in off)
    return Finding(
        "update-mismatch", Severity.ERROR if bad else Severity.WARNING, ", ".join(off),
        f"{', '.join(off)} {'is' if len(off) == 1 else 'are'} updated differently from the other tensors.",
        {"per_tensor": {k: per[k] for k in off}, "lr_factor": factor},
        fix="Update every tensor with its own gradient and the same learning rate.",
        explanation="At the first step Δw should be -lr_eff·g for every tensor; these deviate in direction (cos) or scale "
        "(lr_factor).",
    )
