"""Rendering what netdoctor found: terminal, HTML, plots and the live view.

``terminal`` renders a Report with rich, ``sections`` its measurement
sections, ``format`` the short forms of numbers, ``gradcheck`` the
gradient-check tables; ``plots*`` draw with matplotlib (an extra) and
``liveview`` keeps a notebook cell up to date while training runs.
"""

from typing import TYPE_CHECKING

from netdoctor._lazy import lazy_face

if TYPE_CHECKING:
    from netdoctor.report.terminal import render_report, report_html, report_text

_EXPORTS = {
    "render_report": "terminal",
    "report_html": "terminal",
    "report_text": "terminal",
}
__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy_face(__name__, _EXPORTS)
