"""Examples of a batch that should not see each other: ``batch-leak``, from :class:`~netdoctor.rules.evidence.BatchCoupling`."""

from __future__ import annotations

from netdoctor.findings import Finding, Severity
from netdoctor.rules.evidence import BatchCoupling

__all__ = ["batch_leak"]


def batch_leak(c: BatchCoupling | None) -> Finding | None:
    """``batch-leak``: one example's output or loss depends on the other examples of its batch.

    ``loss`` (``check``): replacing one input changes the summed loss of a
    16-example batch by a different amount than that of a 2-example batch
    holding it, beyond rounding (a loss that is random, as with dropout, gives
    no verdict). ``module`` (PyTorch): row 0's output changes at a module when
    only the other rows change; batch norm in training mode (``batchnorm``)
    does that on purpose (info). ``broadcast``: an (N, 1) input against an (N,)
    target broadcast to (N, N) in the loss. Errors otherwise.
    """
    if c is None:
        return None
    ev = dict(c.details)
    if c.kind == "loss":
        if c.random or not c.change > c.limit:
            return None
        return Finding(
            "batch-leak", Severity.ERROR, c.where,
            f"The loss of one example depends on the other examples in its batch: replacing input {c.example} changes the "
            f"summed loss of a {c.rows}-example batch by {c.d_batch:.6g} but of a 2-example batch by {c.d_pair:.6g} "
            f"(difference {c.change:.2g}; rounding allows {c.limit:.2g}).", ev,
            fix="Normalise over features, not over the batch axis; keep shapes (N, C) vs (N, C) in the loss (an (N,) minus "
            "(N, 1) broadcasts to (N, N)); reduce the loss with a mean over examples only.",
            explanation="With independent examples, replacing one input changes the summed loss by that example's own change, "
            "whatever else is in the batch; here it depends on the batch. A leak makes every gradient a mix of other examples' "
            "errors. (Batch normalisation in training mode couples examples on purpose.)",
        )
    if c.kind == "broadcast":
        return Finding(
            "batch-leak", Severity.ERROR, c.where,
            f"{c.where} compares input {c.shapes[0]} with target {c.shapes[1]}, which broadcast to {c.shapes[2]}: every "
            "prediction is compared with every row's target.", ev,
            fix="Give input and target the same shape (output.squeeze(1) or target.unsqueeze(1)).",
            explanation="(N, 1) - (N,) broadcasts to (N, N): the loss averages all N x N pairs, so each row learns the mean "
            "target of the batch.",
        )
    if c.kind == "batchnorm":
        return Finding(
            "batch-leak", Severity.INFO, c.where,
            f"Examples of a batch interact through {c.where} in training mode: row 0's output changes by {c.change:.1e} "
            f"(relative) when the other {c.rows - 1} rows of its batch change. This is what batch norm does in training.", ev,
            fix="Nothing to fix for training; evaluate with model.eval() so that it uses its running statistics.",
            explanation="Batch norm normalises each feature with the mean and variance of the current batch, so every "
            "example's output depends on the others while training; in eval mode it uses the running statistics and "
            "examples are independent.",
        )
    inside = f" (mixed by code in {c.inside}'s forward before it)" if c.inside else ""
    return Finding(
        "batch-leak", Severity.ERROR, c.where,
        f"Examples of a batch interact at {c.where}{inside}: row 0's output changes by {c.change:.1e} (relative) when only "
        f"the other {c.rows - 1} rows of its {c.rows}-row batch change.", ev,
        fix="Normalise over the features (dim=1 / -1), not over the batch (dim=0); or use nn.BatchNorm1d / nn.LayerNorm.",
        explanation="A prediction for one example must not depend on which other examples share its batch: the model then "
        "behaves differently at test time, on a batch of one, or on a differently shuffled batch.",
    )
