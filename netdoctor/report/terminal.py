"""The terminal renderer: rich renderables and plain text for every netdoctor result.

:func:`rich_view` is what ``__rich__`` of a :class:`~netdoctor.findings.Report`,
:class:`~netdoctor.findings.Finding`,
:class:`~netdoctor.gradients.result.GradcheckResult` or
:class:`~netdoctor.data.summary.DataSummary` returns (through
:class:`~netdoctor.report.bridge.Renderable`): the renderer of
:data:`RICH_RENDERERS` registered for the object's ``render_kind``. No data
class is imported here; :func:`plain_text` is the same without colour. The HTML of the same objects is :mod:`netdoctor.report.html`.

The report reads top to bottom like a consultation: a header (what was
examined and a one-line verdict), the findings root cause first (what we saw,
where, the numbers, what to change), then the measurements behind them
(per-layer table, loss and accuracy per epoch as sparklines, confusion
matrix, prediction counts). Everything fits in 80 columns without colour, so
the plain-text export is as useful as the terminal view.

The measurement sections are laid out by :mod:`netdoctor.report.sections`
and the numbers formatted by :mod:`netdoctor.report.format`. rich is imported
inside the functions only; the core never needs it.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

# format_value and sparkline are re-exported: the notebook view and tests import them from here.
from netdoctor.report.format import format_value, sparkline  # noqa: F401
from netdoctor.report.gradcheck import gradcheck_rich
from netdoctor.report.sections import data_summary_rich, render_sections, titled

__all__ = ["render_report", "report_text", "rich_view", "plain_text", "RICH_RENDERERS", "sparkline", "format_value"]

_SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


# -- pieces -----------------------------------------------------------------
def _header(report):
    from rich.table import Table
    from rich.text import Text

    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    ctx = report.context or {}
    # The command line as typed gets a row of its own: a shared report says how to reproduce it.
    for key in ("command", "data", "model", "training"):
        if key in ctx and ctx[key] not in (None, ""):
            grid.add_row(key, Text(format_value(ctx[key]) if not isinstance(ctx[key], str) else ctx[key]))
    others = [
        f"{k}={format_value(v)}"
        for k, v in ctx.items()
        if k not in ("command", "data", "model", "training") and isinstance(v, (int, float, str, bool)) and len(str(v)) <= 40
    ]
    if others:
        grid.add_row("context", Text(", ".join(others)))
    notes = ctx.get("notes")
    if isinstance(notes, (list, tuple)) and notes:
        grid.add_row("notes", Text("; ".join(map(str, notes))))
    verdict_style = "bold green" if report.ok and not report.partial else "bold red" if not report.ok else "bold yellow"
    grid.add_row("verdict", Text(report.verdict(), style=verdict_style))
    if report.partial:
        grid.add_row("note", Text("interrupted: partial report, only what was measured so far", style="yellow"))
    return grid


def _finding_cells(f, present: set[str]):
    """The two cells of a finding: severity, code and place; what, evidence, why, fix and causes."""
    from rich.text import Text

    sev = f.severity.value
    left = Text()
    left.append(sev.upper(), style=_SEVERITY_STYLE.get(sev, ""))
    left.append("\n" + f.code, style="bold")
    if f.where:
        left.append("\n@ " + f.where)
    right = Text(f.message)
    if f.evidence:
        ev = "; ".join(f"{k}={format_value(v)}" for k, v in f.evidence.items())
        right.append("\nevidence: ", style="bold")
        right.append(ev)
    if f.explanation:
        right.append("\nwhy: ", style="bold")
        right.append(f.explanation)
    if f.fix:
        right.append("\nfix: ", style="bold green")
        right.append(f.fix)
    causes = [c for c in f.caused_by if c in present and c != f.code]
    if causes:
        right.append("\ncaused by: ", style="bold")
        right.append(", ".join(causes))
    return left, right


def _findings_table(report):
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, show_lines=True, expand=True)
    table.add_column("#", justify="right", no_wrap=True, width=2)
    table.add_column("finding", width=22, overflow="fold")
    table.add_column("what, evidence, fix", ratio=1)
    present = {f.code for f in report.findings}
    for i, f in enumerate(report.findings, start=1):
        table.add_row(str(i), *_finding_cells(f, present))
    return titled("Findings (root causes first)", table)


def render_finding(finding) -> Any:
    """One finding on its own, laid out as a row of the report's findings table (every cause is named)."""
    from rich.table import Table

    table = Table.grid(padding=(0, 2), expand=True)
    table.add_column(width=22, overflow="fold")
    table.add_column(ratio=1)
    table.add_row(*_finding_cells(finding, set(finding.caused_by)))
    return table


def render_report(report) -> Any:
    """The report as one rich renderable (a ``Group``): header, findings, sections."""
    from rich.console import Group
    from rich.rule import Rule
    from rich.text import Text

    parts: list[Any] = [Rule(report.title, style="bold"), _header(report)]
    if report.findings:
        parts.append(_findings_table(report))
    else:
        parts.append(Text("No findings.", style="green"))
    for piece in render_sections(report.sections or {}):
        parts.append(Text(""))
        parts.append(piece)
    return Group(*parts)


def _console(width: int, *, color: bool):
    from rich.console import Console

    return Console(
        width=width,
        file=io.StringIO(),
        record=True,
        no_color=not color,
        color_system="truecolor" if color else None,
        force_terminal=color,
        force_jupyter=False,
        highlight=False,
        emoji=False,
        legacy_windows=False,
    )


def report_text(report, width: int = 80) -> str:
    """Plain text (no colour, no escape codes) at ``width`` columns; trailing spaces stripped."""
    return plain_text(report, width)


RICH_RENDERERS: dict[str, Callable[[Any], Any]] = {
    "report": render_report,
    "finding": render_finding,
    "gradcheck": gradcheck_rich,
    "data": data_summary_rich,
}
"""The rich renderer of each :data:`~netdoctor.report.bridge.RENDER_KINDS` kind (a data class's ``render_kind``)."""


def rich_view(obj: Any) -> Any:
    """The rich renderable of a Report, Finding, GradcheckResult or DataSummary (their ``__rich__``).

    The renderer is the one registered for the object's ``render_kind``; no
    data class is imported here, so data and renderers never import each other.

    Raises:
        InvalidArgument: for other objects.
    """
    render = RICH_RENDERERS.get(getattr(type(obj), "render_kind", None) or "")
    if render is None:
        from netdoctor.errors import InvalidArgument

        raise InvalidArgument(f"netdoctor renders a Report, Finding, GradcheckResult or DataSummary, not a {type(obj).__name__}.")
    return render(obj)


def plain_text(obj: Any, width: int = 80) -> str:
    """:func:`rich_view` as plain text (no colour, no escape codes) at ``width`` columns; trailing spaces stripped."""
    console = _console(width, color=False)
    console.print(rich_view(obj))
    text = console.export_text(styles=False)
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"
