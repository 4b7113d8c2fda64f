"""The one bridge between netdoctor's data classes and the media that show them.

:class:`Renderable` is mixed into every data class that people look at
(:class:`~netdoctor.findings.Finding`, :class:`~netdoctor.findings.Report`,
:class:`~netdoctor.gradients.result.GradcheckResult`,
:class:`~netdoctor.data.summary.DataSummary`). It gives them rich's protocol
(``__rich__``) and Jupyter's (``_repr_mimebundle_``, ``_repr_html_``), the way
rich's ``JupyterMixin`` does.

Each data class names its kind (``render_kind``: ``report``, ``finding``,
``gradcheck``, ``data``); each medium keeps one renderer per kind
(:data:`netdoctor.report.terminal.RICH_RENDERERS`,
:data:`netdoctor.report.html.HTML_RENDERERS`) and looks the kind up. So the
import arrows point one way only: data classes reach the renderers (lazily,
from the methods below) and the renderers never import a data class; they
read the objects they are given by their fields. Nothing is imported at
module level, so the data classes stay plain data and ``import netdoctor``
never pulls rich.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = ["Renderable", "RENDER_KINDS"]

RENDER_KINDS = ("report", "finding", "gradcheck", "data")
"""The kinds of renderable netdoctor results; every medium has a renderer for each."""


class Renderable:
    """Mixin: terminal (``__rich__``), plain text and notebook display through the renderer of ``render_kind``."""

    __slots__ = ()

    render_kind: ClassVar[str] = ""
    """Which renderer of each medium shows this class: one of :data:`RENDER_KINDS`."""

    def __rich__(self) -> Any:
        from netdoctor.report.terminal import rich_view

        return rich_view(self)

    def _repr_html_(self) -> str:
        from netdoctor.report.html import fragment

        return fragment(self)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        from netdoctor.report.terminal import plain_text

        return {"text/plain": plain_text(self), "text/html": self._repr_html_()}
