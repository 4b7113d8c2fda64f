"""``double-softmax`` and ``missing-log-softmax`` (netdoctor.rules.losses) from their records, and from what a real
PyTorch loss is handed: the values are made by the functions the rule is about (softmax, log_softmax), not by hand."""

from __future__ import annotations

import math

import pytest

from netdoctor.rules.evidence import LossInputs
from netdoctor.rules.losses import double_softmax, missing_log_softmax
from netdoctor.rules.policy import SOFTMAX_SHARE


def _inputs(loss: str, batches: int, *, probs: int = 0, logprobs: int = 0, of_softmax: int = 0) -> LossInputs:
    return LossInputs(where=f"{loss} at p.py:9", loss=loss, batches=batches, rows=64 * batches, probabilities=probs,
                      log_probabilities=logprobs, log_softmax_of_softmax=of_softmax, values=640 * batches, classes=10,
                      producer="AddmmBackward0")


def test_raw_scores_into_nll_loss_are_an_error_at_the_share_and_not_below():
    n = 20
    edge = math.ceil(SOFTMAX_SHARE * n)  # batches of raw scores at the share
    f = missing_log_softmax(_inputs("nll_loss", n, logprobs=n - edge))
    assert f is not None and f.code == "missing-log-softmax" and f.severity.value == "error"
    assert "raw scores" in f.message and "AddmmBackward0" in f.message
    assert missing_log_softmax(_inputs("nll_loss", n, logprobs=n - edge + 1)) is None


def test_log_probabilities_and_other_losses_are_quiet_and_probabilities_are_said():
    assert missing_log_softmax(_inputs("nll_loss", 9, logprobs=9)) is None
    assert missing_log_softmax(_inputs("cross_entropy", 9)) is None  # logits are what cross_entropy takes
    # a log_softmax of a softmax is double-softmax's, not this rule's
    assert missing_log_softmax(_inputs("nll_loss", 9, of_softmax=9)) is None
    assert double_softmax(_inputs("nll_loss", 9, of_softmax=9)) is not None
    f = missing_log_softmax(_inputs("nll_loss", 9, probs=9))
    assert f is not None and "probabilities" in f.message and "[-1, 0]" in f.explanation


def test_the_observers_tolerance_parts_log_probabilities_from_scores():
    torch = pytest.importorskip("torch")
    from netdoctor.observe.torch.losses import row_tolerances
    x = torch.randn(64, 10) * 3
    _, lse_tol = row_tolerances(torch, x.dtype)
    lp = torch.log_softmax(x, 1)
    # oracle: log_softmax's rows are log-probabilities, the scores' are not, and torch.log of a softmax (plus the
    # usual epsilon) stays within the tolerance
    assert bool((torch.logsumexp(lp, 1).abs() < lse_tol).all())
    assert not bool((torch.logsumexp(x, 1).abs() < lse_tol).all())
    assert bool((torch.logsumexp(torch.log(torch.softmax(x, 1) + 1e-9), 1).abs() < lse_tol).all())
