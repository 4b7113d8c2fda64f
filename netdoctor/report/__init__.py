"""Rendering what netdoctor found: terminal, HTML, plots and the live view.

One renderer per medium: ``terminal`` (rich and plain text; ``sections``
lays out the report's measurement sections), ``html`` (notebook fragments
and the standalone page of ``--html``); JSON is ``Report.to_json()``.
``bridge`` installs them into the display protocol of :mod:`netdoctor.display`,
through which the data classes show (each names its ``render_kind``; each
medium keeps one renderer per kind; neither side imports the other),
``format`` the short forms of numbers, ``gradcheck`` the gradient-check
table that every medium shows; ``plots/`` draws with matplotlib (an extra)
and ``liveview`` keeps a notebook cell up to date while training runs.
"""

from typing import TYPE_CHECKING

from netdoctor._lazy import lazy_face

if TYPE_CHECKING:
    from netdoctor.report.html import fragment, report_html
    from netdoctor.report.terminal import plain_text, render_report, report_text, rich_view

_EXPORTS = {
    "render_report": "terminal",
    "report_html": "html",
    "fragment": "html",
    "rich_view": "terminal",
    "plain_text": "terminal",
    "report_text": "terminal",
}
__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy_face(__name__, _EXPORTS)
