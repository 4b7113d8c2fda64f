"""Notebook helpers: a live training view, and rich display of findings and gradient checks.

:func:`watch` returns a training callback (for :func:`netdoctor.nn.training.train`
or ``diagnose(progress=...)``) that keeps *one* output area up to date while
training runs: progress, the loss, accuracy per epoch and, given a probe
batch, per-layer saturation, dead units, gradient norms and update/weight
ratios. It redraws at most every ``interval`` seconds (plus once per epoch
and at the end) through an IPython display handle, so a long run produces a
single output, not thousands. Its probe records feed
:func:`netdoctor.report.plots.plot_activations` and :func:`~netdoctor.report.plots.plot_gradients`.
The view lives in :mod:`netdoctor.report.liveview` and is re-exported here.

:func:`to_html` renders a :class:`~netdoctor.findings.Finding`,
a :class:`~netdoctor.gradients.result.GradcheckResult` or a
:class:`~netdoctor.findings.Report` as an HTML fragment with the same content
as the terminal; :func:`enable` registers it with IPython so those objects
display richly when they are the last value of a cell.

IPython is part of the optional extra ``pip install 'netdoctor[notebook]'``
and is imported only here, when needed.
"""

from __future__ import annotations

import html
import io
from typing import Any

# Re-exported: the live view is imported from here (watch, LiveView), as are the extra's error and hint.
from netdoctor.report.liveview import LiveView, _ipython_display, watch  # noqa: F401
from netdoctor.report.plots_backend import INSTALL_HINT, MissingExtra  # noqa: F401

__all__ = ["watch", "LiveView", "to_html", "enable"]


# -- rich display of results ------------------------------------------------------------
_SEVERITY_COLOR = {"error": "#c00", "warning": "#a60", "info": "#068"}


def _finding_html(f: Any) -> str:
    from netdoctor.report.terminal import format_value

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


def to_html(obj: Any, *, width: int = 100) -> str:
    """An HTML fragment of a Finding, GradcheckResult, DataSummary or Report (same content as the terminal).

    Styles are inline, so several outputs on one notebook page never share CSS classes.

    Raises:
        InvalidArgument: for other objects.
    """
    from netdoctor.errors import InvalidArgument
    from netdoctor.findings import Finding, Report

    if isinstance(obj, Finding):
        return _finding_html(obj)
    if isinstance(obj, Report):
        from netdoctor.report.terminal import render_report

        return _rich_html(render_report(obj), width)
    if hasattr(obj, "__rich__"):
        return _rich_html(obj, width)
    raise InvalidArgument(f"to_html takes a Finding, GradcheckResult, DataSummary or Report, not a {type(obj).__name__}.")


def enable(shell: Any = None) -> None:
    """Register rich displays with IPython: HTML for netdoctor's results, PNG for matplotlib figures.

    Findings, gradient-check results and data summaries then display like the
    report when they are the last value of a cell, and the figures of
    :mod:`netdoctor.report.plots` show as pictures even when pyplot was never
    imported. Types are registered by name, so nothing is imported early.

    Args:
        shell: the IPython shell (default: the running one; nothing happens outside IPython).
    """
    get_ipython, _ = _ipython_display()
    shell = shell if shell is not None else get_ipython()
    if shell is None:
        return
    formatters = shell.display_formatter.formatters
    for module, name in (("netdoctor.findings", "Finding"), ("netdoctor.gradients.result", "GradcheckResult"),
                         ("netdoctor.data.summary", "DataSummary")):
        formatters["text/html"].for_type_by_name(module, name, to_html)
    formatters["image/png"].for_type_by_name("matplotlib.figure", "Figure", _figure_png)


def _figure_png(fig: Any) -> bytes:
    from netdoctor.report.plots import figure_png

    return figure_png(fig)
