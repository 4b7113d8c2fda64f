"""Where the renderers of each medium plug into the display protocol (:mod:`netdoctor.display`).

:func:`install` puts one function per medium into :data:`netdoctor.display.MEDIA`; the data
classes display through it and never import a renderer. Each function imports its renderer
when something is first shown, so importing this module (the package's face does) pulls
neither rich nor matplotlib. Each medium keeps one renderer per ``render_kind``
(:data:`netdoctor.report.terminal.RICH_RENDERERS`, :data:`netdoctor.report.html.HTML_RENDERERS`)
and reads the objects it is given by their fields.
"""

from __future__ import annotations

from typing import Any

from netdoctor.display import MEDIA, RENDER_KINDS, Renderable

__all__ = ["install", "Renderable", "RENDER_KINDS"]


def _rich(obj: Any) -> Any:
    from netdoctor.report.terminal import rich_view

    return rich_view(obj)


def _html(obj: Any) -> str:
    from netdoctor.report.html import fragment

    return fragment(obj)


def _text(obj: Any, width: int = 80) -> str:
    from netdoctor.report.terminal import plain_text

    return plain_text(obj, width)


def _summary(obj: Any) -> str:
    from netdoctor.report.gradcheck import result_summary

    return result_summary(obj)


def _plots(obj: Any, **options: Any) -> dict[str, Any]:
    from netdoctor.report.plots import plot_report

    return plot_report(obj, **options)


def install() -> None:
    """Install this package's renderer of every medium into :data:`netdoctor.display.MEDIA`."""
    MEDIA.rich, MEDIA.html, MEDIA.text, MEDIA.summary, MEDIA.plots = _rich, _html, _text, _summary, _plots


install()
