"""Report ordering, verdict and serialisation."""

import json

import numpy as np
import pytest

from netdoctor import Finding, GradientMismatch, NetdoctorError, Report, Severity


def F(code, severity="error", caused_by=()):
    return Finding(code, severity, "here", f"{code} seen", {"x": np.float64(1.5)}, "fix it", caused_by)


def test_root_causes_come_before_their_consequences_whatever_the_severity():
    report = Report([
        F("class-collapse", caused_by=("constant-output",)),
        F("constant-output", caused_by=("saturated-activations",)),
        F("saturated-activations", caused_by=("summed-gradient",)),
        F("summed-gradient", "warning"),
        F("dead-units", "info"),
    ])
    assert report.codes() == [
        "summed-gradient", "saturated-activations", "constant-output", "class-collapse", "dead-units",
    ]
    assert report.root_cause().code == "summed-gradient"
    assert "root cause: summed-gradient" in report.verdict()


def test_unrelated_warning_is_not_named_root_cause():
    report = Report([F("dead-units", "warning"), F("gradient-mismatch")])
    assert report.root_cause().code == "gradient-mismatch"


def test_a_warning_that_explains_an_error_comes_first_among_warnings_as_the_verdict_says():
    # A layer frozen on purpose (a warning found first, explaining nothing) beside the learning rate driven to zero
    # (a warning that explains the error): the list starts with the finding the verdict names.
    report = Report([
        F("frozen-parameters", "warning"),
        F("learning-rate-too-low", "warning"),
        F("no-learning", caused_by=("learning-rate-too-low",)),
        F("dead-units", "info"),
    ])
    assert report.codes() == ["learning-rate-too-low", "no-learning", "frozen-parameters", "dead-units"]
    assert report.findings[0] is report.root_cause()


def test_cycles_do_not_hang_and_keep_every_finding():
    report = Report([F("a", caused_by=("b",)), F("b", caused_by=("a",))])
    assert sorted(report.codes()) == ["a", "b"]


def test_ok_failures_and_without():
    report = Report([F("x", "warning"), F("y")])
    assert not report.ok and [f.code for f in report.failures] == ["y"]
    quiet = report.without(["y"])
    assert quiet.ok and quiet.codes() == ["x"]
    assert report.codes() == ["y", "x"]  # the original is untouched; errors rank first


def test_to_json_is_strict_json_with_schema_version():
    report = Report([Finding("non-finite", "error", "W1", "NaN", {"v": float("nan"), "a": np.arange(3)})])
    data = json.loads(report.to_json())
    assert data["schema_version"] == 1
    assert data["findings"][0]["evidence"] == {"v": "nan", "a": [0, 1, 2]}
    assert data["ok"] is False


def test_raise_for_failures_picks_the_exception_type():
    with pytest.raises(GradientMismatch):
        Report([F("gradient-mismatch")]).raise_for_failures()
    with pytest.raises(NetdoctorError):
        Report([F("class-collapse")]).raise_for_failures()
    Report([F("dead-units", "warning")]).raise_for_failures()


def test_severity_is_coerced_and_ranked():
    assert F("a", "warning").severity is Severity.WARNING
    assert Severity.ERROR.rank < Severity.WARNING.rank < Severity.INFO.rank


def test_notebook_html_is_a_scoped_fragment_with_the_numbers():
    """Notebook HTML: the numbers, and a stylesheet whose every rule is scoped to the fragment's own ``.nd`` box."""
    import re

    pytest.importorskip("rich")
    finding = Finding("class-collapse", "error", "output", "Accuracy 9.80% = 980/10000 images of digit 0",
                      {"accuracy": 0.098}, "fix the causes")
    html = finding._repr_html_()
    assert "class-collapse" in html and "980/10000" in html and "fix the causes" in html
    report = Report([finding])
    page = report._repr_html_()
    assert "980/10000" in page and page.startswith('<div class="nd">') and page.endswith("</div>")
    for style in re.findall(r"<style>(.*?)</style>", page, flags=re.S):
        rules = re.sub(r"@media[^{]*\{", "", style)  # the rules inside @media are checked like the others
        selectors = [sel.strip() for block in re.findall(r"([^{}]+)\{[^{}]*\}", rules) for sel in block.split(",")]
        assert selectors and all(sel.startswith((".nd", "body.nd")) for sel in selectors if sel), selectors
