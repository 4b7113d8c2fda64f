"""One rendering path: data classes import no renderer, renderers import no data class (not even inside functions), one bridge, one gradient-check table everywhere."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("rich")

from test_layout import find_cycle, import_graph

import netdoctor
from netdoctor.data import load_sample
from netdoctor.display import Renderable
from netdoctor.findings import Finding, Report
from netdoctor.gradients import check_gradients
from netdoctor.nn.mlp import MLP
from netdoctor.report.gradcheck import GRADCHECK_COLUMNS, gradcheck_table
from netdoctor.report.terminal import plain_text, report_text

DATA_MODULES = ("netdoctor.findings", "netdoctor.gradients.result", "netdoctor.data.summary")


@pytest.mark.parametrize("module", DATA_MODULES)
def test_data_classes_import_no_renderer(module):
    """Not even inside functions: a data module reaches only the display protocol, never netdoctor.report."""
    graph = import_graph(deferred=True)
    assert "netdoctor.display" in graph[module]
    assert not {m for m in graph[module] if m.startswith("netdoctor.report")}, graph[module]
    assert graph["netdoctor.display"] == set()


RENDERER_MODULES = ("netdoctor.report.terminal", "netdoctor.report.sections", "netdoctor.report.gradcheck",
                    "netdoctor.report.html", "netdoctor.report.format")


PKG = Path(netdoctor.__file__).parent


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def every_import(path: Path, root: Path = PKG.parent) -> set[str]:
    """The netdoctor modules a file under ``root`` imports anywhere, inside functions too (``TYPE_CHECKING`` blocks excluded)."""
    import ast

    def is_module(name: str) -> bool:
        rel = Path(*name.split("."))
        return (root / rel).with_suffix(".py").exists() or (root / rel / "__init__.py").exists()

    me = _module_name(path, root)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = {id(n) for node in ast.walk(tree)
               if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
               for stmt in node.body for n in ast.walk(stmt)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = me.split(".") if path.name == "__init__.py" else me.split(".")[:-1]
                base = ".".join(anchor[: len(anchor) - (node.level - 1)] + ([base] if base else []))
            names = [base] + [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        found |= {n for n in names if n.startswith("netdoctor") and is_module(n) and n != me}
    return found


def _deep_graph() -> dict[str, set[str]]:
    return {_module_name(path, PKG.parent): every_import(path) for path in PKG.rglob("*.py")}


def test_renderers_import_no_data_class_even_inside_functions():
    """The renderers read what they are given: no data module (nor the package face that imports one) is imported back."""
    graph = _deep_graph()
    data = set(DATA_MODULES) | {"netdoctor"}
    for module in RENDERER_MODULES + ("netdoctor.report.bridge", "netdoctor.display"):
        assert not graph[module] & data, (module, graph[module] & data)


def test_no_import_circle_through_the_renderers_even_inside_functions():
    graph = _deep_graph()
    cycle = find_cycle(graph)
    assert cycle is None or not any(m.startswith("netdoctor.report") or m in DATA_MODULES for m in cycle), cycle


def test_the_deep_import_scan_sees_imports_inside_functions(tmp_path):
    """The scan must be able to fail: an import inside a function (the old ``rich_view``) is found, a TYPE_CHECKING one not."""
    src = tmp_path / "netdoctor" / "report" / "planted.py"
    src.parent.mkdir(parents=True)
    src.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from netdoctor.errors import InvalidArgument\n"
                   "def f():\n    from netdoctor.findings import Report\n    return Report\n", encoding="utf-8")
    for name in ("findings.py", "errors.py"):
        (tmp_path / "netdoctor" / name).write_text("", encoding="utf-8")
    assert every_import(src, tmp_path) == {"netdoctor.findings"}


@pytest.mark.parametrize("kind", ["report", "finding", "gradcheck", "data"])
def test_every_kind_has_a_renderer_in_every_medium(kind):
    from netdoctor.display import RENDER_KINDS
    from netdoctor.report.html import HTML_RENDERERS
    from netdoctor.report.terminal import RICH_RENDERERS

    assert kind in RENDER_KINDS and set(RICH_RENDERERS) == set(HTML_RENDERERS) == set(RENDER_KINDS)
    kinds = {type(o).render_kind for o in _objects()}
    assert kinds == set(RENDER_KINDS)


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


def test_importing_netdoctor_installs_every_medium_without_loading_rich():
    import subprocess
    import sys

    code = ("import sys, netdoctor\nfrom netdoctor.display import MEDIA\n"
            "print(sorted(k for k, v in vars(MEDIA).items() if v is None), 'rich' in sys.modules, 'matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["[]", "False", "False"]


def test_a_medium_that_is_not_installed_says_so():
    from netdoctor.display import Media

    with pytest.raises(RuntimeError, match="no html renderer is installed"):
        Media().get("html")
