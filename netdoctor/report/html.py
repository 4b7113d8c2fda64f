"""The HTML renderer: notebook fragments and the standalone report page.

:func:`fragment` is what ``_repr_html_`` of every netdoctor result returns
(through :class:`~netdoctor.report.bridge.Renderable`); :func:`report_html`
is the page that ``netdoctor check --html`` writes.
"""

from __future__ import annotations

import html
import io
from typing import Any

__all__ = ["fragment", "report_html"]

_SEVERITY_COLOR = {"error": "#c00", "warning": "#a60", "info": "#068"}


def _finding_html(f: Any) -> str:
    from netdoctor.report.format import format_value

    sev = f.severity.value
    rows = [f'<b style="color:{_SEVERITY_COLOR.get(sev, "")}">{sev.upper()}</b> <b>{html.escape(f.code)}</b>'
            + (f" @ <code>{html.escape(f.where)}</code>" if f.where else ""),
            html.escape(f.message)]
    if f.evidence:
        ev = "; ".join(f"{html.escape(str(k))}={html.escape(format_value(v))}" for k, v in f.evidence.items())
        rows.append(f"<b>evidence:</b> {ev}")
    if f.explanation:
        rows.append(f"<b>why:</b> {html.escape(f.explanation)}")
    if f.fix:
        rows.append(f'<b style="color:#080">fix:</b> {html.escape(f.fix)}')
    if f.caused_by:
        rows.append(f"<b>caused by:</b> {html.escape(', '.join(f.caused_by))}")
    return '<div class="netdoctor-finding">' + "<br>\n".join(rows) + "</div>"


def _rich_html(renderable: Any, width: int = 100) -> str:
    from rich.console import Console

    console = Console(width=width, file=io.StringIO(), record=True, color_system="truecolor", force_terminal=True,
                      force_jupyter=False, highlight=False, emoji=False)
    console.print(renderable)
    # Inline styles: several outputs in one notebook must not share CSS class names.
    return console.export_html(inline_styles=True, code_format='<pre style="font-family:Menlo,\'DejaVu Sans Mono\','
                               'Consolas,monospace;font-size:13px;line-height:1.2">{code}</pre>')


def fragment(obj: Any, *, width: int = 100) -> str:
    """An HTML fragment of a Finding, GradcheckResult, DataSummary or Report (same content as the terminal).

    Raises:
        InvalidArgument: for other objects.
    """
    from netdoctor.findings import Finding
    from netdoctor.report.terminal import rich_view

    if isinstance(obj, Finding):
        return _finding_html(obj)
    return _rich_html(rich_view(obj), width)


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


def report_html(report: Any, *, width: int = 100) -> str:
    """A standalone HTML page of ``report``: what ``netdoctor check --html`` writes."""
    from netdoctor.report.terminal import _console, render_report

    console = _console(width, color=True)
    console.print(render_report(report))
    page = _HTML_PAGE.format(title=html.escape(report.title))
    return console.export_html(code_format=page, inline_styles=False)
