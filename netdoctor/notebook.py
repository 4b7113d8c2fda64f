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
a :class:`~netdoctor.gradients.result.GradcheckResult`, a
:class:`~netdoctor.data.summary.DataSummary` or a
:class:`~netdoctor.findings.Report` as the HTML fragment their
``_repr_html_`` shows (:mod:`netdoctor.report.html`); :func:`enable` lets
matplotlib figures display as PNG.

IPython is part of the optional extra ``pip install 'netdoctor[notebook]'``
and is imported only here, when needed.
"""

from __future__ import annotations

from typing import Any

# Re-exported: the live view is imported from here (watch, LiveView), as are the extra's error and hint.
from netdoctor.report.liveview import LiveView, ipython_display, watch  # noqa: F401
from netdoctor.report.plots.backend import INSTALL_HINT, MissingExtra  # noqa: F401

__all__ = ["watch", "LiveView", "to_html", "enable"]


def to_html(obj: Any, *, width: int = 100) -> str:
    """An HTML fragment of a Finding, GradcheckResult, DataSummary or Report: what a notebook cell shows.

    The same function as their ``_repr_html_`` (:func:`netdoctor.report.html.fragment`).

    Raises:
        InvalidArgument: for other objects.
    """
    from netdoctor.report.html import fragment

    return fragment(obj, width=width)


def enable(shell: Any = None) -> None:
    """Register PNG display of matplotlib figures with IPython.

    The figures of :mod:`netdoctor.report.plots` then show as pictures even
    when pyplot was never imported (the type is registered by name, so
    nothing is imported early). netdoctor's own results need nothing: they
    display through their ``_repr_mimebundle_`` in any notebook.

    Args:
        shell: the IPython shell (default: the running one; nothing happens outside IPython).
    """
    get_ipython, _ = ipython_display()
    shell = shell if shell is not None else get_ipython()
    if shell is None:
        return
    formatters = shell.display_formatter.formatters
    formatters["image/png"].for_type_by_name("matplotlib.figure", "Figure", _figure_png)


def _figure_png(fig: Any) -> bytes:
    from netdoctor.report.plots import figure_png

    return figure_png(fig)
