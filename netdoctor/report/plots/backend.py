"""matplotlib, the optional extra of the plots: lazy import, empty figures, PNG bytes.

Figures are built with :class:`matplotlib.figure.Figure`, not pyplot: no global
figure registry, no backend switch, nothing shown behind the caller's back.
matplotlib is imported only when a plot is made; without it the plots raise
:class:`MissingExtra` naming what to install.
"""

from __future__ import annotations

import io
from typing import Any

from netdoctor.errors import NetdoctorError

__all__ = ["MissingExtra", "INSTALL_HINT", "matplotlib_figure", "empty_figure", "figure_png"]

INSTALL_HINT = "pip install 'netdoctor[notebook]'"


class MissingExtra(NetdoctorError, ImportError):
    """An optional dependency is not installed (the message says what to install)."""


def matplotlib_figure():
    """The ``Figure`` class, importing matplotlib lazily; a clear message naming the extra when it is missing."""
    try:
        import matplotlib  # noqa: F401
        from matplotlib.figure import Figure
    except ImportError:
        raise MissingExtra(f"plots need matplotlib, which is not installed; run: {INSTALL_HINT}") from None
    return Figure


def empty_figure(fig, text: str):
    """Write ``text`` in the middle of ``fig`` (no axes): a plot without data says why."""
    ax = fig.add_subplot()
    ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True)
    ax.set_axis_off()
    return fig


def figure_png(fig: Any, *, dpi: int = 100) -> bytes:
    """The figure as PNG bytes, rendered with the Agg canvas (no display needed)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()
