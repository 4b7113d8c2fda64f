"""Rendering a :class:`~netdoctor.findings.Report` with rich: terminal, text, HTML.

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

import html
import io
from typing import Any

# format_value and sparkline are re-exported: the notebook view and tests import them from here.
from netdoctor.report.format import format_value, sparkline  # noqa: F401
from netdoctor.report.sections import render_sections, titled

__all__ = ["render_report", "report_text", "report_html", "sparkline", "format_value"]

_SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


# -- pieces -----------------------------------------------------------------
def _header(report):
    from rich.table import Table
    from rich.text import Text

    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    ctx = report.context or {}
    for key in ("data", "model", "training"):
        if key in ctx and ctx[key] not in (None, ""):
            grid.add_row(key, Text(format_value(ctx[key]) if not isinstance(ctx[key], str) else ctx[key]))
    others = [
        f"{k}={format_value(v)}"
        for k, v in ctx.items()
        if k not in ("data", "model", "training") and isinstance(v, (int, float, str, bool)) and len(str(v)) <= 40
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


def _findings_table(report):
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(box=box.SIMPLE_HEAD, show_lines=True, expand=True)
    table.add_column("#", justify="right", no_wrap=True, width=2)
    table.add_column("finding", width=22, overflow="fold")
    table.add_column("what, evidence, fix", ratio=1)
    present = {f.code for f in report.findings}
    for i, f in enumerate(report.findings, start=1):
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
        table.add_row(str(i), left, right)
    return titled("Findings (root causes first)", table)


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
    console = _console(width, color=False)
    console.print(render_report(report))
    text = console.export_text(styles=False)
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


_HTML_PAGE = """<!DOCTYPE html>
<html>
<head>
<meta charset="UTF-8">
<title>{title}</title>
<style>
{{stylesheet}}
body {{{{ color: {{foreground}}; background-color: {{background}}; }}}}
pre {{{{ font-family: Menlo, 'DejaVu Sans Mono', Consolas, monospace; font-size: 13px; }}}}
</style>
</head>
<body>
<pre><code>{{code}}</code></pre>
</body>
</html>
"""


def report_html(report, *, width: int = 100) -> str:
    """A standalone HTML page with the same content as the terminal report (colours kept)."""
    console = _console(width, color=True)
    console.print(render_report(report))
    page = _HTML_PAGE.format(title=html.escape(report.title))
    return console.export_html(code_format=page, inline_styles=False)
