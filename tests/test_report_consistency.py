"""The report agrees with itself: verdict counts, output wording, checked fixes, exit code.

The stalling configuration of the README (tanh, MSE, N(0, 1) initialisation,
summed gradient, batches of 100, lr 0.1) is run through the command line once;
every statement the report makes is compared with the numbers in the same report.
"""

from __future__ import annotations

import contextlib
import io
import json

import pytest

from netdoctor.cli import main
from netdoctor.diagnosis import fixes

README = ["--hidden", "30", "--loss", "mse", "--init", "normal", "--reduce", "sum", "--batch-size", "100"]


def run_json(*argv: str) -> tuple[int, dict]:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(io.StringIO()):
        code = main(["check", *argv, "--json", "--no-color"])
    return code, json.loads(buf.getvalue())


@pytest.fixture(scope="module")
def stalling():
    return run_json(*README, "--lr", "0.1")


def test_verdict_counts_what_the_list_shows(stalling):
    _, rep = stalling
    sev = [f["severity"] for f in rep["findings"]]
    errors, warnings = sev.count("error"), sev.count("warning")
    assert errors and warnings
    verdict = rep["verdict"]
    assert f"{len(sev)} findings" in verdict
    assert f"{errors} error{'s' * (errors != 1)}" in verdict
    assert f"{warnings} warning{'s' * (warnings != 1)}" in verdict
    assert "problem(s)" not in verdict


def test_constant_output_wording_matches_the_predictions(stalling):
    _, rep = stalling
    counts = rep["sections"]["predictions"]["counts"]
    predicted = sum(1 for c in counts if c > 0)
    found = [f for f in rep["findings"] if f["code"] == "constant-output"]
    assert found, [f["code"] for f in rep["findings"]]
    msg = found[0]["message"]
    if predicted > 1:  # not "the same output for every input" when argmax spreads over classes
        assert "same output for every input" not in msg
        assert "nearly" in msg and f"{predicted} of {len(counts)} classes" in msg
        top = max(range(len(counts)), key=counts.__getitem__)
        assert f"{100 * counts[top] / sum(counts):.0f}% on {top}" in msg


def test_checked_fixes_are_judged_by_their_own_numbers(stalling):
    _, rep = stalling
    checked = [f for f in rep["findings"] if "fix_verdict" in f["evidence"]]
    assert checked
    for f in checked:
        ev = f["evidence"]
        gain = ev["accuracy_after"] - ev["accuracy_before"]
        margin = fixes.helps_margin(ev["accuracy_before"])
        verdict = ev["fix_verdict"]
        assert verdict in ("helps", "helps-combined", "inconclusive", "worse")
        if verdict == "helps":
            assert gain >= margin
            assert "reaches" in f["fix"]
        else:  # never printed as *the* fix: the text says what the check showed
            assert gain < margin
            if verdict == "helps-combined":
                gain_all = ev["accuracy_after_all_fixes"] - ev["accuracy_before"]
                assert gain_all >= margin
                assert "together" in f["fix"] and "alone" in f["fix"]
            else:
                assert ("inconclusive" if verdict == "inconclusive" else "worse") in f["fix"]


def test_a_run_that_does_not_learn_exits_one():
    code, rep = run_json(*README, "--lr", "0.00001", "--epochs", "2")
    acc = rep["sections"]["history"][-1]["test_accuracy"]
    assert acc < 0.15
    assert code == 1 and not rep["ok"]
    errors = [f for f in rep["findings"] if f["severity"] == "error"]
    assert errors and any(f"{100 * acc:.1f}%" in f["message"] for f in errors)
