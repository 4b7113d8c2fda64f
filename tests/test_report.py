"""Rendering: exact snapshots at 80 columns without colour, HTML, sparklines."""

import re

import pytest

pytest.importorskip("rich")

from netdoctor.findings import Finding, Report
from netdoctor.report.html import report_html
from netdoctor.report.terminal import format_value, render_report, report_text, sparkline


def sample_report():
    """A report like the MNIST story's, built by hand."""
    f1 = Finding("summed-gradient", "error", "train_step", "The update applies the batch sum of gradients, not the mean.",
                 {"ratio": 100.0, "batch_size": 100}, fix="Divide the accumulated gradient by the batch size.",
                 explanation="The step is batch_size times larger than the learning rate says.")
    f2 = Finding("class-collapse", "error", "output", "Accuracy 9.80% = 980/10000 images of digit 0; 100.0% of predictions are 0.",
                 {"accuracy": 0.098, "label": 0, "share": 0.098, "predicted_share": 1.0}, fix="Fix the root causes above.",
                 caused_by=("saturated-activations", "summed-gradient"))
    f3 = Finding("saturated-activations", "warning", "layer 1 (tanh)", "97.0% of tanh units are saturated.",
                 {"saturation": 0.97, "limit": 0.5}, fix="Lower the learning rate.", caused_by=("summed-gradient",))
    return Report([f2, f3, f1], context={"data": "mnist_5k.csv.gz: 5000 rows, 784 features, 10 classes", "model": "MLP(784-30-10, tanh, mse)", "seed": 0, "epochs": 2},
        sections={"layers": [{"layer": "1 hidden", "activation": "tanh", "units": 30, "saturation": 0.97, "dead": 0.1, "act_std": 0.05, "grad_norm": 1.2e-7, "update_ratio": 3.1e-2},
                             {"layer": "2 output", "activation": "tanh", "units": 10, "saturation": 1.0, "dead": 1.0, "act_std": 0.0, "grad_norm": 2e-9, "update_ratio": 0.5}],
                  "history": [{"epoch": 1, "loss": 9.5, "train_accuracy": 0.1, "test_accuracy": 0.098}, {"epoch": 2, "loss": 9.4, "train_accuracy": 0.1, "test_accuracy": 0.098}],
                  "confusion": {"labels": [0,1,2], "matrix": [[5,0,0],[3,0,0],[2,0,0]], "on": "test data"},
                  "predictions": {"labels": [0,1,2], "counts": [10,0,0], "on": "test data"},
                  "gradcheck": {"ok": True, "worst_rel_error": 1.2e-9, "checked": 120}})


SNAPSHOT = """\
─────────────────────────────── netdoctor report ───────────────────────────────
data    mnist_5k.csv.gz: 5000 rows, 784 features, 10 classes
model   MLP(784-30-10, tanh, mse)
context seed=0, epochs=2
verdict 3 findings (2 errors, 1 warning); root cause: summed-gradient (The
        update applies the batch sum of gradients, not the mean.)
Findings (root causes first)

   #   finding                  what, evidence, fix
 ──────────────────────────────────────────────────────────────────────────────
   1   ERROR                    The update applies the batch sum of gradients,
       summed-gradient          not the mean.
       @ train_step             evidence: ratio=100; batch_size=100
                                why: The step is batch_size times larger than
                                the learning rate says.
                                fix: Divide the accumulated gradient by the
                                batch size.

   2   WARNING                  97.0% of tanh units are saturated.
       saturated-activations    evidence: saturation=0.97; limit=0.5
       @ layer 1 (tanh)         fix: Lower the learning rate.
                                caused by: summed-gradient

   3   ERROR                    Accuracy 9.80% = 980/10000 images of digit 0;
       class-collapse           100.0% of predictions are 0.
       @ output                 evidence: accuracy=0.098; label=0;
                                share=0.098; predicted_share=1
                                fix: Fix the root causes above.
                                caused by: saturated-activations,
                                summed-gradient


Layers (last probe)

  layer      act    units      sat     dead   act std     |grad|   upd/w
 ────────────────────────────────────────────────────────────────────────
  1 hidden   tanh      30    97.0%    10.0%      0.05   1.20e-07   0.031
  2 output   tanh      10   100.0%   100.0%         0   2.00e-09     0.5


Training per epoch

  epoch   loss   train acc   test acc
 ─────────────────────────────────────
      1    9.5       10.0%       9.8%
      2    9.4       10.0%       9.8%

loss       █▁  9.5 → 9.4
train acc  ▄▄  10.0% → 10.0%
test acc   ▄▄  9.8% → 9.8%

Confusion matrix on test data (rows: true, columns: predicted)

     0   1   2
 ─────────────
 0   5   0   0
 1   3   0   0
 2   2   0   0


Predicted labels on test data (10 rows)  █▁▁
0:100%  1:0%  2:0%

gradcheck
ok              True
worst_rel_error 1.20e-09
checked         120
"""


def test_snapshot_width_80_no_colour():
    assert report_text(sample_report(), width=80) == SNAPSHOT


def test_report_methods_use_the_renderer():
    report = sample_report()
    assert report.to_text() == SNAPSHOT
    assert str(report) == SNAPSHOT


def test_text_has_no_escape_codes_and_fits_width():
    long = Finding(
        "learning-rate-too-high", "warning", "W1 " * 30, "word " * 80,
        {"values": list(range(50)), "nested": {"a": 1.5e-12, "b": float("nan")}}, fix="x" * 200,
    )
    report = Report([long], context={"model": "m" * 300})
    for width in (60, 80, 120):
        text = report_text(report, width=width)
        assert "\x1b[" not in text
        assert max(len(line) for line in text.splitlines()) <= width
        assert "learning-rate-too-high" in text.replace("\n", "")


def test_empty_and_partial_reports():
    assert "No problems found." in report_text(Report())
    text = report_text(Report(partial=True))
    assert "Interrupted" in text and "partial" in text


def test_html_is_standalone_with_same_information():
    page = report_html(sample_report())
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "<title>netdoctor report</title>" in page
    plain = re.sub(r"<[^>]+>", "", page)
    for needle in ("class-collapse", "summed-gradient", "9.80%", "980/10000", "Layers (last probe)", "Confusion matrix"):
        assert needle in plain


def test_html_escapes_user_text():
    report = Report([Finding("dead-units", "warning", "<script>", "a < b & c")], title="<b>x</b>")
    page = report_html(report)
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<title>&lt;b&gt;x&lt;/b&gt;</title>" in page


def test_rich_protocol_renders():
    import io

    from rich.console import Console

    console = Console(file=io.StringIO(), width=80, no_color=True, record=True)
    console.print(sample_report())
    assert "class-collapse" in console.export_text()
    assert render_report(sample_report()) is not None


@pytest.mark.parametrize(
    "values, expected",
    [([0, 1, 2, 3, 4, 5, 6, 7], "▁▂▃▄▅▆▇█"), ([3, 3], "▄▄"), ([1, float("nan"), 0], "█ ▁"), ([None, None], "  ")],
    ids=["ramp", "flat", "nan-gap", "all-missing"],
)
def test_sparkline(values, expected):
    assert sparkline(values) == expected


@pytest.mark.parametrize(
    "value, expected",
    [(0.098, "0.098"), (1.2e-7, "1.20e-07"), (12345678.0, "1.23e+07"), (3, "3"), (True, "True"),
     (list(range(8)), "[0, 1, 2, 3, 4, 5, … (8 items)]"), ({"a": 0.5}, "{a: 0.5}"), (float("inf"), "inf")],
    ids=["small", "tiny", "huge", "int", "bool", "long-list", "dict", "inf"],
)
def test_format_value(value, expected):
    assert format_value(value) == expected


def test_notes_are_shown():
    text = report_text(Report(context={"notes": ["training probe skipped: no module named netdoctor.buffers.probe"]}))
    assert "notes   training probe skipped" in text


def test_probe_records_are_for_plots_not_text():
    report = sample_report()
    plain = report_text(report)
    report.sections["probes"] = [{"step": s, "layers": [], "grad_norms": {"W1": 1.0 / (s + 1)}, "weight_norms": {},
                                  "update_ratios": {}} for s in range(40)]
    assert report_text(report) == plain  # the layers table already shows the last probe
    assert "grad_norms" not in report_html(report)


def test_probe_and_baseline_sections_read_as_sentences():
    from netdoctor.findings import Report
    from netdoctor.report.terminal import report_text

    report = Report(sections={
        "probe": {"lr": 0.1, "batch_size": 100, "lr_effective": 10.000000000000004, "lr_factor": 100.00000000000003,
                  "decay": 1.0, "history_weight": 1.0000000000000044},
        "baseline": {"model": "MLP(784-64-10)", "accuracy": 0.795, "epochs": 1, "lr": 0.1, "batch_size": 100},
    })
    text = " ".join(report_text(report, width=80).split())
    assert "each step applied 10 x the batch's mean gradient: lr 0.1 x 100 (batch size 100)" in text
    assert "re-applied with weight 1.00" in text
    assert "MLP(784-64-10) reached 79.5% (epochs 1, lr 0.1, batch size 100)" in text
    # A healthy probe's least-squares noise (1e-17) must not print as a number that looks like a finding.
    healthy = Report(sections={"probe": {"lr": 0.1, "lr_effective": 0.1, "lr_factor": 1.0, "history_weight": -4.3e-18}})
    assert "weight 0.00" in report_text(healthy, width=80)
