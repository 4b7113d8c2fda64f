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

   #   finding                 what, evidence, fix
 ──────────────────────────────────────────────────────────────────────────────
   1   ERROR                   The update applies the batch sum of gradients,
       summed-gradient         not the mean.
       @ train_step            evidence: ratio=100; batch_size=100
                               why: The step is batch_size times larger than
                               the learning rate says.
                               fix: Divide the accumulated gradient by the
                               batch size.

   2   WARNING                 97.0% of tanh units are saturated.
       saturated-activations   evidence: saturation=0.97; limit=0.5
       @ layer 1 (tanh)        fix: Lower the learning rate.
                               caused by: summed-gradient

   3   ERROR                   Accuracy 9.80% = 980/10000 images of digit 0;
       class-collapse          100.0% of predictions are 0.
       @ output                evidence: accuracy=0.098; label=0; share=0.098;
                               predicted_share=1
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

────────────────────────────────────────────────────────────────────────────────
verdict 3 findings (2 errors, 1 warning); root cause: summed-gradient (The
        update applies the batch sum of gradients, not the mean.)
"""


def test_snapshot_width_80_no_colour():
    assert report_text(sample_report(), width=80) == SNAPSHOT


def test_an_activation_guessed_from_the_values_is_shown_as_a_guess():
    row = {"layer": 1, "activation": "tanh", "guessed": True, "units": 16, "saturation": 0.006, "dead": 0.0,
           "act_std": 0.31}
    text = report_text(Report([], context={}, sections={"layers": [row]}), width=80)
    assert re.search(r"^  1 +tanh\? +16 +0\.6% ", text, re.M), text
    assert "An activation ending in ? is a guess from the range of the layer's\nvalues: its pre-activations were not seen." in text
    named = report_text(Report([], context={}, sections={"layers": [dict(row, guessed=False)]}), width=80)
    assert re.search(r"^  1 +tanh +16 ", named, re.M) and "tanh?" not in named and "a guess" not in named
    page = report_html(Report([], context={}, sections={"layers": [row]}))
    assert '<th scope="row">1</th><td>tanh?</td>' in page and "pre-activations were not seen." in page
    plain = report_html(Report([], context={}, sections={"layers": [dict(row, guessed=False)]}))
    assert '<th scope="row">1</th><td>tanh</td>' in plain and "not seen" not in plain


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
    # an observed run whose targets were never seen: no bare all-clear
    unjudged = Report(unjudged="the targets it trained on were never seen")
    assert unjudged.verdict() == "No problems found in what was observed; the targets it trained on were never seen."
    assert unjudged.to_dict()["unjudged"] and unjudged.without(["x"]).unjudged == unjudged.unjudged
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


# -- the terminal report at 80, 120 and 200 columns -----------------------------------------------
SCRIPT = "experiments/mnist_from_scratch/train_the_network_on_mnist.py:58"
MODULE = "experiments/mnist_from_scratch/networks/two_layer_network.py:137"
HOME_PATH = "/home/someone/mnist_from_scratch/networks/two_layer_network.py"
WIDTHS = (80, 120, 200)


def program_report():
    """A ``netdoctor run`` report with long places: two file:line per finding, paths in the evidence."""
    aliased = Finding("aliased-buffers", "error", f"{MODULE}, {SCRIPT}",
                      "`self.weight_updates` and `self.weight_templates` are one list object.",
                      {"lines": [MODULE, SCRIPT], "paths": ["self.weight_updates", "self.weight_templates"],
                       "defined_in": HOME_PATH},
                      fix="create fresh buffers at every reset", explanation="Resetting by assignment re-binds the name. " * 3)
    lr = Finding("learning-rate-too-high", "warning", "train.py:12", "One update changes the weights by 33% of their size.",
                 {"update_ratio": 0.33, "lines": ["train.py:12"]}, fix="divide the learning rate by 10",
                 caused_by=("aliased-buffers",))
    return Report([aliased, lr], context={"command": f"netdoctor run {SCRIPT.split(':')[0]} --epochs 3"},
                  sections={"layers": sample_report().sections["layers"], "history": sample_report().sections["history"]})


def _words(text: str) -> set[str]:
    return {w.strip(",;[]") for w in text.split()}


@pytest.mark.parametrize("width", WIDTHS)
def test_every_place_and_evidence_path_stays_whole(width):
    """file:line is never broken mid-name (it can be copied or clicked), nor is a path in the evidence."""
    report = program_report()
    text = report_text(report, width=width)
    words = _words(text)
    for place in (MODULE, SCRIPT, "train.py:12", HOME_PATH):
        assert place in words or f"defined_in={place}" in words, (width, place, text)
    assert max(map(len, text.splitlines())) <= width


@pytest.mark.parametrize("width", WIDTHS)
def test_the_place_sits_under_the_finding_when_no_column_holds_it(width):
    """The place is either in a left column as wide as its longest name or on its own line under the finding."""
    lines = report_text(program_report(), width=width).splitlines()
    at = [i for i, line in enumerate(lines) if f"@ {MODULE}" in line]
    assert at, lines
    title = lines[at[0] - 1]
    assert "aliased-buffers" in title and "ERROR" in title  # the block: number, severity, code, then the place
    assert lines[at[0]].strip().startswith(f"@ {MODULE}")


def test_the_where_column_is_as_wide_as_its_longest_place():
    """Short places keep the table at every width; its left column grows with the place, not a fixed 22 cells."""
    place = "models/network.py:123"
    report = Report([Finding("dead-units", "warning", place, "44 of 64 units do not vary.", {"dead": 0.69})])
    for width in WIDTHS:
        lines = report_text(report, width=width).splitlines()
        row = next(line for line in lines if "@ " in line)
        assert f"@ {place}" in row and "dead-units" not in row
        text_column = row.index("@ ") + len(f"@ {place}")
        header = next(line for line in lines if "what, evidence, fix" in line)
        # padding between the columns: the text starts right after the longest place (longer than the old 22 cells)
        assert len(f"@ {place}") > 22 and header.index("what, evidence, fix") - text_column in (2, 3), (width, lines)


@pytest.mark.parametrize("width", WIDTHS)
def test_a_long_report_ends_with_its_verdict(width):
    """The last screen of a long report shows the one-line verdict, not the last table."""
    report = program_report()
    lines = report_text(report, width=width).rstrip("\n").splitlines()
    verdict_at = max(i for i, line in enumerate(lines) if line.startswith("verdict "))
    assert verdict_at > len(lines) - 6 and verdict_at > 10
    tail = " ".join(" ".join(lines[verdict_at:]).split())
    assert tail == "verdict " + " ".join(report.verdict().split())
    assert sum(line.startswith("verdict ") for line in lines) == 2  # at the top and at the end


@pytest.mark.parametrize("width", WIDTHS)
def test_the_terminal_has_no_trailing_spaces(width):
    """What the CLI prints (a colour console, as ``netdoctor check`` and ``run`` use) ends no line with spaces."""
    import io

    from rich.console import Console

    from netdoctor.data import load_sample

    for obj in (program_report(), sample_report(), program_report().findings[0], load_sample().summary):
        out = io.StringIO()
        Console(file=out, width=width, force_terminal=True, color_system="truecolor", highlight=False,
                soft_wrap=False).print(obj)
        lines = re.sub(r"\x1b\[[0-9;]*m", "", out.getvalue()).splitlines()
        assert lines and all(line == line.rstrip() for line in lines), (type(obj).__name__, width)
        assert max(map(len, lines)) <= width


BLOCK_SNAPSHOT = """\
─────────────────────────────── netdoctor report ───────────────────────────────
command netdoctor run train.py
verdict 1 finding (1 error); root cause: aliased-buffers (`self.updates` and
        `self.templates` are one list object.)
Findings (root causes first)

 1  ERROR  aliased-buffers
    @ experiments/mnist/networks/two_layer_network.py:13, train.py:58
    `self.updates` and `self.templates` are one list object.
    evidence: lines=[experiments/mnist/networks/two_layer_network.py:13,
    train.py:58]
    fix: create fresh buffers at every reset.


────────────────────────────────────────────────────────────────────────────────
verdict 1 finding (1 error); root cause: aliased-buffers (`self.updates` and
        `self.templates` are one list object.)
"""


def test_snapshot_of_a_place_too_long_for_a_column_width_80():
    """At 80 columns a long file:line gets a line of its own under the finding, the text the width below it."""
    place = "experiments/mnist/networks/two_layer_network.py:13"
    report = Report([Finding("aliased-buffers", "error", f"{place}, train.py:58",
                             "`self.updates` and `self.templates` are one list object.",
                             {"lines": [place, "train.py:58"]}, fix="create fresh buffers at every reset.")],
                    context={"command": "netdoctor run train.py"})
    assert report_text(report, width=80) == BLOCK_SNAPSHOT


def test_the_header_shows_whatever_the_context_holds():
    """Long values and lists get rows of their own instead of being dropped; settings are the training row's."""
    script = "experiments/mnist_from_scratch/train_the_network_on_mnist.py"
    report = Report(context={"script": script, "observer": "numpy", "arrays": ["W1", "b1", "W2", "b2"],
                             "settings": {"lr": {"value": 0.1, "source": "--lr"}}, "empty": None})
    lines = [" ".join(line.split()) for line in report_text(report, width=100).splitlines()]
    assert f"script {script}" in lines and "arrays [W1, b1, W2, b2]" in lines
    assert "context observer=numpy" in lines
    assert not any(line.startswith(("settings", "empty")) for line in lines)


def test_short_codes_keep_the_column_titles_whole():
    report = Report([Finding("x", "error", "w", "m")], context={"training": "3 epochs", "seed": 0}, sections={"a": "b"})
    for width in WIDTHS:
        text = report_text(report, width=width)
        assert "…" not in text and "finding" in text
        lines = text.splitlines()
        # the closing verdict lines up with the header's
        assert lines[-1].index("1 finding") == next(ln for ln in lines if ln.startswith("verdict")).index("1 finding")


def test_a_path_that_fits_a_line_but_not_behind_its_name_starts_the_line():
    """``defined_in=<74-character path>`` is one word wider than 76 cells: the path moves to its own line, whole."""
    path = "/home/someone/projects/mnist_from_scratch/networks/two_layer_network_v2.py"
    report = Report([Finding("aliased-buffers", "error", "network.py:13", "msg.",
                             {"lines": ["network.py:13"], "defined_in": path, "n": 3})])
    lines = report_text(report, width=80).splitlines()
    assert f"    {path};" in lines and any(line.endswith("defined_in=") for line in lines)
    assert max(map(len, lines)) <= 80
    assert f"defined_in={path}" in report_text(report, width=200)  # where it fits, name and value stay together
