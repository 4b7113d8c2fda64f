"""The one bridge between netdoctor's data classes and the media that show them.

:class:`Renderable` is mixed into every data class that people look at
(:class:`~netdoctor.findings.Finding`, :class:`~netdoctor.findings.Report`,
:class:`~netdoctor.gradients.result.GradcheckResult`,
:class:`~netdoctor.data.summary.DataSummary`). It gives them rich's protocol
(``__rich__``) and Jupyter's (``_repr_mimebundle_``, ``_repr_html_``), the way
rich's ``JupyterMixin`` does, and forwards each to the one renderer of that
medium: :mod:`netdoctor.report.terminal` for rich and plain text,
:mod:`netdoctor.report.html` for HTML. Nothing is imported at module level, so
the data classes stay plain data and ``import netdoctor`` never pulls rich.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Renderable"]


class Renderable:
    """Mixin: terminal (``__rich__``), plain text and notebook display through the renderers."""

    __slots__ = ()

    def __rich__(self) -> Any:
        from netdoctor.report.terminal import rich_view

        return rich_view(self)

    def _repr_html_(self) -> str:
        from netdoctor.report.html import fragment

        return fragment(self)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        from netdoctor.report.terminal import plain_text

        return {"text/plain": plain_text(self), "text/html": self._repr_html_()}
