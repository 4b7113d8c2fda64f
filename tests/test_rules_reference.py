"""``reference-comparison`` (netdoctor.rules.reference) from its record, at the thresholds' edges."""

from __future__ import annotations

import math

from netdoctor.findings import Severity
from netdoctor.rules.policy import COMPARABLE_GAP, NEAR_MAJORITY, REFERENCE_GAP, REFERENCE_LEARNS
from netdoctor.rules.reference import ReferenceRun, reference_comparison


def run(user: float, ref: float, majority: float = 0.1) -> ReferenceRun:
    return ReferenceRun(user_accuracy=user, reference_accuracy=ref, majority_label=7, majority_share=majority,
                        reference="MLP(784-30-10)", epochs=2, lr=0.05, batch_size=32)


def test_the_warning_edges_are_the_policy_thresholds():
    learns = 0.1 + REFERENCE_LEARNS + 0.3  # a reference that learns
    assert reference_comparison(run(learns - REFERENCE_GAP, learns)).severity is Severity.WARNING
    assert reference_comparison(run(learns - REFERENCE_GAP + 0.01, learns)).severity is Severity.INFO
    # stuck on the majority label while the reference learns, however small the gap
    low_ref = 0.1 + REFERENCE_LEARNS + 0.01
    assert reference_comparison(run(0.1 + NEAR_MAJORITY, low_ref)).severity is Severity.WARNING
    assert reference_comparison(run(0.1 + NEAR_MAJORITY + 0.02, low_ref)).severity is Severity.INFO


def test_the_info_sentences_follow_the_gap():
    works = reference_comparison(run(0.9 - COMPARABLE_GAP + 0.01, 0.9))
    assert works is not None and works.message.endswith("training works.")
    behind = reference_comparison(run(0.9 - COMPARABLE_GAP - 0.05, 0.9))
    assert behind is not None and "10.0 points behind the reference" in behind.message
    assert "2 epochs, lr 0.05, batch 32; test data" in behind.message


def test_only_user_code_findings_are_named_as_causes():
    found = reference_comparison(run(0.1, 0.9), present={"class-collapse", "stale-accumulator", "double-softmax"})
    assert found is not None and found.caused_by == ("stale-accumulator", "double-softmax")
    assert found.fix == "Fix the findings listed above it."
    assert reference_comparison(run(math.nan, 0.9)) is None
