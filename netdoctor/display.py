"""The display protocol: how netdoctor's results show themselves without knowing who draws them.

The data classes that people look at (:class:`~netdoctor.findings.Finding`,
:class:`~netdoctor.findings.Report`, :class:`~netdoctor.gradients.result.GradcheckResult`,
:class:`~netdoctor.data.summary.DataSummary`) mix in :class:`Renderable` and name their
``render_kind``; that is all they know of display. It gives them rich's protocol (``__rich__``)
and Jupyter's (``_repr_mimebundle_``, ``_repr_html_``), the way rich's ``JupyterMixin`` does,
through :data:`MEDIA`: the renderer of each medium, installed by :mod:`netdoctor.report.bridge`,
which the package's face (``netdoctor/__init__.py``) imports. So the import arrows point from the
data classes and from the renderers to this module, and never between the two: a data class does
not import its renderers, and the renderers import no data class (they read the fields of what
they are given, by its kind). rich works the same way: its ``Console`` knows the ``__rich__``
protocol, not the classes that follow it.

Nothing here imports rich or NumPy, so ``import netdoctor`` stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

__all__ = ["Renderable", "RENDER_KINDS", "Media", "MEDIA"]

RENDER_KINDS = ("report", "finding", "gradcheck", "data")
"""The kinds of renderable netdoctor results; every medium has a renderer for each."""


@dataclass
class Media:
    """The installed renderer of each medium (None until :mod:`netdoctor.report.bridge` installs them)."""

    rich: Callable[[Any], Any] | None = None
    """A result -> its rich renderable (``__rich__``)."""
    html: Callable[[Any], str] | None = None
    """A result -> its notebook HTML fragment (``_repr_html_``)."""
    text: Callable[[Any, int], str] | None = None
    """A result and a width -> plain text without colour (``Report.to_text``, ``text/plain``)."""
    summary: Callable[[Any], str] | None = None
    """A gradient check -> its multi-line plain summary (``GradcheckResult.summary``)."""
    plots: Callable[..., dict[str, Any]] | None = None
    """A report (and a monitor) -> matplotlib figures by name (``Report.plot``)."""

    def get(self, medium: str) -> Callable[..., Any]:
        """The renderer of ``medium``.

        Raises:
            RuntimeError: when none is installed (``netdoctor.report.bridge`` was not imported).
        """
        render = getattr(self, medium)
        if render is None:
            raise RuntimeError(f"no {medium} renderer is installed; import netdoctor (its face installs them)")
        return render


MEDIA = Media()
"""The renderers every :class:`Renderable` displays through."""


class Renderable:
    """Mixin: terminal (``__rich__``), plain text and notebook display through the renderer of each medium."""

    __slots__ = ()

    render_kind: ClassVar[str] = ""
    """Which renderer of each medium shows this class: one of :data:`RENDER_KINDS`."""

    def __rich__(self) -> Any:
        return MEDIA.get("rich")(self)

    def _repr_html_(self) -> str:
        return MEDIA.get("html")(self)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/plain": MEDIA.get("text")(self, 80), "text/html": self._repr_html_()}
