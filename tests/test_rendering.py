"""One rendering path: data classes import no renderer, one bridge, one gradient-check table everywhere."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("rich")

from test_layout import import_graph

from netdoctor.data import load_sample
from netdoctor.findings import Finding, Report
from netdoctor.gradients import check_gradients
from netdoctor.nn.mlp import MLP
from netdoctor.report.bridge import Renderable
from netdoctor.report.gradcheck import GRADCHECK_COLUMNS, gradcheck_table
from netdoctor.report.terminal import plain_text, report_text

DATA_MODULES = ("netdoctor.findings", "netdoctor.gradients.result", "netdoctor.data.summary")


@pytest.mark.parametrize("module", DATA_MODULES)
def test_data_classes_import_no_renderer(module):
    """At import time a data module reaches netdoctor.report only through the bridge (which imports nothing)."""
    graph = import_graph()
    assert graph["netdoctor.report.bridge"] <= {"netdoctor.report"}
    reached = {m for m in graph[module] if m.startswith("netdoctor.report")}
    assert reached <= {"netdoctor.report", "netdoctor.report.bridge"}, reached


def _result():
    rng = np.random.default_rng(0)
    return check_gradients(MLP((4, 3, 2), seed=0), rng.uniform(0, 1, (5, 4)), rng.integers(0, 2, 5))


def _objects():
    finding = Finding("summed-gradient", "warning", "train_step", "each step is 100x lr", {"lr_factor": 100.0},
                      fix="divide by the batch size")
    return [finding, Report([finding]), _result(), load_sample().summary]


@pytest.mark.parametrize("obj", _objects(), ids=["Finding", "Report", "GradcheckResult", "DataSummary"])
def test_every_result_displays_through_the_one_bridge(obj):
    assert isinstance(obj, Renderable)
    bundle = obj._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html"}
    assert bundle["text/html"] == obj._repr_html_()
    assert bundle["text/plain"] == plain_text(obj)
    assert "\x1b[" not in bundle["text/plain"] and bundle["text/plain"].strip()


def test_a_finding_on_its_own_reads_like_its_report_row():
    f = _objects()[0]
    text = plain_text(f)
    for part in ("WARNING", "summed-gradient", "@ train_step", "each step is 100x lr", "lr_factor=100",
                 "fix: divide by the batch size"):
        assert part in text


def test_gradcheck_result_and_report_section_show_the_same_table():
    """The standalone result and the report's ``gradcheck`` section (its to_dict) give the same rows and lines."""
    r = _result()
    table = gradcheck_table(r)
    assert table == gradcheck_table(r.to_dict())
    assert [row[0] for row in table.rows] == [t.name for t in r.tensors]
    assert all(len(row) == len(GRADCHECK_COLUMNS) for row in table.rows)
    for row, t in zip(table.rows, r.tensors):
        # The worst entry is shown for passing tensors too: the numbers that "agree" means.
        w = t.worst[0]
        assert row[-1] == f"{t.name}[{', '.join(map(str, w.index))}]: {w.analytic:.3e} vs {w.numeric:.3e}"
    alone = plain_text(r, width=140).splitlines()
    in_report = report_text(Report(sections={"gradcheck": r.to_dict()}), width=140).splitlines()
    rows = [ln for ln in alone if ln.split() and ln.split()[0] in {t.name for t in r.tensors}]
    assert rows and all(ln in in_report for ln in rows)
    assert table.headline in "\n".join(in_report)


def test_narrow_terminals_list_the_worst_entries_whole_under_the_table():
    """At 80 columns the worst entries do not fit their column: listed below it, never cropped or wrapped."""
    r = _result()
    table = gradcheck_table(r)
    for width in (80, 140):
        text = plain_text(r, width=width)
        assert "…" not in text and max(map(len, text.splitlines())) <= width
        lines = text.splitlines()
        for row in table.rows:
            assert any(row[-1] in line for line in lines), (width, row[-1])
    assert "worst entry per tensor" in plain_text(r, width=80) and "worst entry per tensor" not in plain_text(r, width=140)
