"""What reaches the loss: ``double-softmax`` and ``missing-log-softmax``, from
:class:`~netdoctor.rules.evidence.LossInputs`."""

from __future__ import annotations

import math

from netdoctor.findings import Finding, Severity
from netdoctor.rules.evidence import LossInputs
from netdoctor.rules.policy import SOFTMAX_SHARE

__all__ = ["double_softmax", "missing_log_softmax"]

MIN_SIGMOID_VALUES = 16
"""Values a batch needs before "all in [0, 1]" says sigmoid outputs (a few logits can fall there by chance)."""


def double_softmax(li: LossInputs) -> Finding | None:
    """``double-softmax``: the values reaching a loss that applies its own softmax (sigmoid) are already probabilities.

    On >= :data:`SOFTMAX_SHARE` of the batches checked: probabilities (rows
    in [0, 1] summing to 1) into cross-entropy, a log_softmax of a softmax's
    output into cross-entropy or nll_loss (by the autograd graph), or values
    all in [0, 1] into the logits version of binary cross-entropy (an error); log-probabilities
    into cross-entropy (info: log_softmax is idempotent, the loss is right,
    only redundant). Judged by the values, so logits never trigger it.
    """
    if li.batches < 1 or li.rows < 2:
        return None
    by = f"; computed by {li.producer}" if li.producer else ""

    def seen(count: int) -> str:
        return f"on all {li.rows} rows{by}" if li.batches == 1 else f"{count} of {li.batches} batches checked{by}"

    ev = {"loss": li.loss, "batches": li.batches, "rows": li.rows, "limit": SOFTMAX_SHARE, "classes": li.classes, **li.details}
    if li.loss == "binary_cross_entropy_with_logits":
        if li.values < MIN_SIGMOID_VALUES or li.unit_interval / li.batches < SOFTMAX_SHARE:
            return None
        return Finding(
            "double-softmax", Severity.ERROR, li.where,
            f"The values reaching {li.loss} all lie in [0, 1] ({seen(li.unit_interval)}): they are sigmoid outputs, "
            "and the loss applies its own sigmoid, so the network is trained through two.",
            {**ev, "share": li.unit_interval / li.batches},
            fix="Return logits from forward() (drop the final sigmoid), or use nn.BCELoss on the probabilities.",
            explanation="sigmoid(p) for p in [0, 1] lies in [0.5, 0.73]: the predicted probability can never leave that band, "
            "the loss cannot approach 0 and the gradient is squashed by two sigmoid slopes.",
        )
    if li.loss in ("cross_entropy", "nll_loss") and li.log_softmax_of_softmax / li.batches >= SOFTMAX_SHARE:
        c = max(li.classes or 2, 2)
        return Finding(
            "double-softmax", Severity.ERROR, li.where,
            f"The values reaching {li.loss} are log_softmax of probabilities ({seen(li.log_softmax_of_softmax)}): the "
            "network's output went through a softmax and then through log_softmax, so it is trained through two softmaxes.",
            {**ev, "share": li.log_softmax_of_softmax / li.batches},
            fix="Return the logits from forward() (drop the softmax) and keep log_softmax + nll_loss (or cross_entropy on "
            "the logits); apply softmax only to read probabilities.",
            explanation=f"log_softmax of values in [0, 1] is the log of a nearly uniform distribution: the loss stays near "
            f"ln {c} = {math.log(c):.2f} even for a perfect network, and the gradient through the second softmax is small, "
            "so learning is slow and stalls early.",
        )
    if li.loss != "cross_entropy":
        return None
    if li.probabilities / li.batches >= SOFTMAX_SHARE:
        c = max(li.classes or 2, 2)
        return Finding(
            "double-softmax", Severity.ERROR, li.where,
            f"The values reaching {li.loss} are probabilities (every row in [0, 1] and summing to 1, "
            f"{seen(li.probabilities)}), and {li.loss} applies log_softmax itself: the network is trained through two softmaxes.",
            {**ev, "share": li.probabilities / li.batches},
            fix="Return the logits from forward() (drop the softmax) and keep the cross-entropy loss; apply softmax only to "
            "read probabilities.",
            explanation=f"softmax of values in [0, 1] is nearly uniform: the loss stays near ln {c} = {math.log(c):.2f} even "
            "for a perfect network, and the gradient through the second softmax is small, so learning is slow and stalls early.",
        )
    if li.log_probabilities / li.batches >= SOFTMAX_SHARE:
        return Finding(
            "double-softmax", Severity.INFO, li.where,
            f"The values reaching {li.loss} are log-probabilities (all <= 0, logsumexp of every row 0, "
            f"{seen(li.log_probabilities)}); {li.loss} applies log_softmax again, which leaves log-probabilities unchanged.",
            {**ev, "share": li.log_probabilities / li.batches},
            fix="Either return logits and keep the cross-entropy, or keep log_softmax and use nll_loss: the same loss, the "
            "intent clearer.",
            explanation="log_softmax is idempotent (log_softmax(log_softmax(x)) = log_softmax(x)), so this computes the right "
            "loss; it costs a second pass and breaks as soon as someone swaps log_softmax for softmax.",
        )
    return None


def missing_log_softmax(li: LossInputs) -> Finding | None:
    """``missing-log-softmax``: ``nll_loss`` handed values that are not log-probabilities.

    ``nll_loss(x, t) = -mean_i x[i, t_i]`` is the cross-entropy only when each row of ``x`` is ``log p`` (every value
    <= 0, ``logsumexp`` of the row 0). Handed raw scores, the loss is unbounded below: every step raises the target's
    score, nothing holds the others down, and the scores grow without limit; handed probabilities (a softmax without
    its log) it is ``-p[t]``, bounded in [-1, 0], with a gradient that vanishes as ``p`` saturates. On >=
    :data:`SOFTMAX_SHARE` of the batches checked neither log-probabilities nor a log_softmax of a softmax (which
    ``double-softmax`` names) reached the loss: an error.
    """
    if li.loss != "nll_loss" or li.batches < 1 or li.rows < 2:
        return None
    other = li.batches - li.log_probabilities - li.log_softmax_of_softmax
    if other / li.batches < SOFTMAX_SHARE:
        return None
    by = f"; computed by {li.producer}" if li.producer and li.producer != "unknown" else ""
    seen = f"on all {li.rows} rows{by}" if li.batches == 1 else f"{other} of {li.batches} batches checked{by}"
    probs = li.probabilities / li.batches >= SOFTMAX_SHARE
    what = ("probabilities (every row in [0, 1] summing to 1): a softmax without its log" if probs else
            "raw scores, not log-probabilities (rows whose logsumexp is not 0)")
    return Finding(
        "missing-log-softmax", Severity.ERROR, li.where,
        f"The values reaching nll_loss are {what} ({seen}); nll_loss takes log-probabilities and applies no "
        "softmax itself.",
        {"loss": li.loss, "batches": li.batches, "rows": li.rows, "limit": SOFTMAX_SHARE, "classes": li.classes,
         "share": other / li.batches, "probabilities": li.probabilities, **li.details},
        fix="End forward() with F.log_softmax(x, dim=1) (nn.LogSoftmax(dim=1)) before nll_loss, or pass the raw scores to "
        "cross_entropy (nn.CrossEntropyLoss), which applies log_softmax itself.",
        explanation=("nll_loss(p, t) = -p[t] on probabilities lies in [-1, 0]: its gradient shrinks as p saturates and "
                     "the loss never measures how wrong a confident answer is." if probs else
                     "nll_loss(x, t) = -x[t] on raw scores has no lower bound: each step raises the target's score and "
                     "nothing holds the other scores down, so they grow until the weights blow up or the argmax sticks "
                     "to whichever class grew first."),
    )
