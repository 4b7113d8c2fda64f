"""The plots of one report, one function per picture (see :mod:`netdoctor.report.plots`), and ``write_plots``."""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from netdoctor.errors import NetdoctorError
from netdoctor.report.plots.backend import empty_figure, figure_png, matplotlib_figure
from netdoctor.report.plots.probes import context_of, probe_records, sections_of, to_float
from netdoctor.report.plots.training import plot_activations, plot_gradients

__all__ = ["plot_history", "plot_confusion", "plot_gradcheck", "plot_report", "write_plots", "main"]

_ERR_FLOOR = 1e-17
"""Relative errors of exactly zero are drawn here on the log axis."""


# -- the plots ------------------------------------------------------------------
def plot_history(source: Any, *, width: float = 9.0) -> Any:
    """Loss (left) and accuracy (right, percent) per epoch; chance accuracy dashed.

    Args:
        source: a Report, ``Report.to_dict()`` or sections with ``history``.
        width: figure width in inches.

    Returns:
        a :class:`matplotlib.figure.Figure`.
    """
    Figure = matplotlib_figure()
    history = sections_of(source).get("history") or []
    fig = Figure(figsize=(width, 3.4), layout="constrained")
    if not history:
        return empty_figure(fig, "no training history in this report")
    epochs = [to_float(e.get("epoch")) for e in history]
    ax_loss, ax_acc = fig.subplots(1, 2)
    ax_loss.plot(epochs, [to_float(e.get("loss")) for e in history], marker="o", color="tab:blue")
    ax_loss.set(xlabel="epoch", ylabel="training loss", title="Loss per epoch")
    for key, label, color in (("train_accuracy", "train", "tab:green"), ("test_accuracy", "test", "tab:orange"),
                              ("eval_accuracy", "evaluation", "tab:orange")):
        vals = [100 * to_float(e.get(key)) for e in history]
        if any(math.isfinite(v) for v in vals):
            ax_acc.plot(epochs, vals, marker="o", label=label, color=color)
    n_classes = context_of(source).get("n_classes")
    if isinstance(n_classes, int) and n_classes > 1:
        ax_acc.axhline(100 / n_classes, color="grey", linestyle="--", linewidth=1, label=f"chance ({100 / n_classes:.0f}%)")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="Accuracy per epoch", ylim=(0, 100))
    ax_acc.legend(loc="best", fontsize="small")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
    return fig


def plot_confusion(source: Any, *, width: float = 5.2) -> Any:
    """The confusion matrix (rows: true label, columns: predicted), counts written in each cell."""
    Figure = matplotlib_figure()
    import numpy as np

    section = sections_of(source).get("confusion") or {}
    fig = Figure(figsize=(width, width * 0.9), layout="constrained")
    matrix = np.asarray(section.get("matrix") or [], dtype=float)
    if matrix.ndim != 2 or matrix.size == 0:
        return empty_figure(fig, "no confusion matrix in this report")
    labels = [str(v) for v in (section.get("labels") or range(len(matrix)))]
    ax = fig.add_subplot()
    image = ax.imshow(matrix, cmap="Blues", vmin=0)
    if len(labels) <= 20:
        top = matrix.max() or 1
        for (i, j), v in np.ndenumerate(matrix):
            ax.text(j, i, f"{int(v)}", ha="center", va="center", fontsize=7,
                    color="white" if v > 0.6 * top else "black")
    ax.set_xticks(range(len(labels)), labels)
    ax.set_yticks(range(len(labels)), labels)
    ax.set(xlabel="predicted", ylabel="true", title=f"Confusion on {section.get('on', 'evaluation data')}")
    fig.colorbar(image, ax=ax, label="count", shrink=0.8)
    return fig


def plot_gradcheck(source: Any, *, width: float = 7.0) -> Any:
    """Relative error per tensor: worst entry (bar), median (dot) and the limit (black tick).

    Accepts a Report (``sections["gradcheck"]``), a
    :class:`~netdoctor.gradients.result.GradcheckResult` or its ``to_dict()``.
    Errors of exactly zero are drawn at 1e-17 on the log axis.
    """
    Figure = matplotlib_figure()
    if hasattr(source, "tensors") and hasattr(source, "to_dict"):
        section = source.to_dict()
    elif isinstance(source, Mapping) and "tensors" in source:
        section = source
    else:
        section = sections_of(source).get("gradcheck") or {}
    tensors = section.get("tensors") or []
    fig = Figure(figsize=(width, 3.4), layout="constrained")
    if not tensors:
        return empty_figure(fig, "no gradient check in this report")
    ax = fig.add_subplot()
    names = [str(t.get("name")) for t in tensors]
    worst = [max(to_float(t.get("max_rel_error")), _ERR_FLOOR) for t in tensors]
    median = [max(to_float(t.get("median_rel_error")), _ERR_FLOOR) for t in tensors]
    ok = [bool(t.get("ok", to_float(t.get("n_failed")) == 0)) for t in tensors]
    x = range(len(tensors))
    ax.bar(x, worst, color=["tab:green" if good else "tab:red" for good in ok], alpha=0.8, label="worst entry")
    ax.scatter(x, median, color="black", s=14, zorder=3, label="median")
    for i, t in enumerate(tensors):
        limit = to_float(t.get("limit"))
        if math.isfinite(limit):
            ax.hlines(limit, i - 0.4, i + 0.4, color="black", linewidth=2, label="limit" if i == 0 else None)
    ax.set_yscale("log")
    ax.set_xticks(list(x), names)
    verdict = "ok" if section.get("ok") else "MISMATCH"
    ax.set(ylabel="relative error", title=f"Gradient check ({section.get('method', '?')}): {verdict}")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(loc="best", fontsize="small")
    return fig


# -- all at once ------------------------------------------------------------------
def plot_report(report: Any, *, monitor: Any = None) -> dict[str, Any]:
    """Every plot the report has data for: name -> Figure.

    Names: ``history``, ``activations``, ``gradients``, ``confusion``,
    ``gradcheck`` (each present only when its data is).
    """
    sections = sections_of(report)
    probes = probe_records(report, monitor)
    out: dict[str, Any] = {}
    if sections.get("history"):
        out["history"] = plot_history(report)
    if any(p.get("layers") for p in probes):
        out["activations"] = plot_activations(report, monitor=monitor)
    if any(p.get("grad_norms") or p.get("update_ratios") for p in probes):
        out["gradients"] = plot_gradients(report, monitor=monitor)
    if (sections.get("confusion") or {}).get("matrix"):
        out["confusion"] = plot_confusion(report)
    if (sections.get("gradcheck") or {}).get("tensors"):
        out["gradcheck"] = plot_gradcheck(report)
    if not out:
        matplotlib_figure()  # a missing matplotlib is reported even when there is nothing to draw
    return out


def write_plots(report: Any, directory: str | Path, *, monitor: Any = None, dpi: int = 100) -> list[Path]:
    """Write every plot of :func:`plot_report` as ``DIRECTORY/<name>.png``.

    The directory is created when missing; each file is written through an
    atomic rename, so an interrupted run never leaves a truncated PNG.

    Returns:
        the paths written, in :func:`plot_report` order.
    """
    from netdoctor.fileio import atomic_write_bytes

    figures = plot_report(report, monitor=monitor)
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name, fig in figures.items():
        path = target / f"{name}.png"
        atomic_write_bytes(path, figure_png(fig, dpi=dpi))
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m netdoctor.report.plots REPORT.json DIR``: plots of a saved ``--json`` report."""
    import json

    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2 or args[0].startswith("-"):
        sys.stderr.write("usage: python -m netdoctor.report.plots REPORT.json DIR\n")
        return 2
    try:
        with open(args[0], encoding="utf-8") as fh:
            data = json.load(fh)
        paths = write_plots(data, args[1])
    except (OSError, ValueError, NetdoctorError) as exc:
        sys.stderr.write(f"netdoctor.report.plots: error: {args[0]}: {exc}\n")
        return 2
    sys.stdout.write("".join(f"{p}\n" for p in paths))
    return 0

