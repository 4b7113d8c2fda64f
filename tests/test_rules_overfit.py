"""``cannot-overfit`` (netdoctor.rules.overfit) from its record: error when the code is suspect, else what the numbers show."""

from __future__ import annotations

import math

from netdoctor.findings import Finding, Severity
from netdoctor.rules.overfit import TinyBatchFit, TinyBatchTry, cannot_overfit, fits
from netdoctor.rules.policy import OVERFIT_LOSS_SHARE


def tried(end_share: float, accuracy: float = 1.0, late_share: float | None = None) -> TinyBatchTry:
    return TinyBatchTry(lr=0.1, start_loss=2.0, late_loss=2.0 * (late_share if late_share is not None else end_share),
                        end_loss=2.0 * end_share, accuracy=accuracy)


def test_fitted_means_below_the_loss_share_with_every_row_right():
    assert fits(tried(OVERFIT_LOSS_SHARE)) and not fits(tried(OVERFIT_LOSS_SHARE * 1.01))
    assert not fits(tried(0.0, accuracy=15 / 16)) and fits(tried(0.0, accuracy=math.nan))
    assert not fits(tried(math.nan))
    assert cannot_overfit(TinyBatchFit(rows=16, steps=300, tries=(tried(0.9), tried(0.01)))) is None


def test_unverified_code_is_an_error_that_names_the_bugs_found():
    stale = Finding("stale-accumulator", Severity.ERROR, "dW1", "m")
    f = cannot_overfit(TinyBatchFit(rows=16, steps=300, tries=(tried(0.9), tried(0.6))), [stale])
    assert f is not None and f.severity is Severity.ERROR and f.caused_by == ("stale-accumulator",)
    assert "best: loss 2 -> 1.2 at lr 0.1" in f.message and "stale-accumulator was found" in f.explanation
    assert f.fix.startswith("Look for a bug in the update")
    skipped = cannot_overfit(TinyBatchFit(rows=16, steps=300, tries=(tried(0.9),), checks_ran=True))
    assert skipped is not None and skipped.fix.startswith("Run the gradient check and the update probe")


def test_verified_code_is_a_warning_that_quotes_the_measurements():
    sat = Finding("saturated-activations", Severity.WARNING, "layer 1", "m", {"saturation": 0.83, "at_start": 0.8})
    fit = TinyBatchFit(rows=16, steps=300, tries=(tried(0.5, late_share=0.6),), gradcheck_ok=True, gradcheck_worst=3e-9,
                       probe_ran=True, output_saturation=0.75, output_activation="sigmoid")
    f = cannot_overfit(fit, [sat])
    assert f is not None and f.severity is Severity.WARNING and f.caused_by == ("saturated-activations",)
    assert "worst relative error 3.0e-09" in f.explanation
    assert "layer 1 is saturated: 83% of its activations sit in the flat ends (80% at initialisation)" in f.explanation
    assert "the output layer starts saturated, 75% of its sigmoid values" in f.explanation
    assert "the loss was still falling (17% over the last 30 steps)" in f.explanation
    # the reference MLP is known right without any check
    ref = cannot_overfit(TinyBatchFit(rows=16, steps=300, tries=(tried(0.5),), reference_model=True))
    assert ref is not None and ref.severity is Severity.WARNING and "no monitor shows a cause" in ref.explanation
