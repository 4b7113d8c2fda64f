"""Plots of a diagnosis with matplotlib: one function per picture, each returning a Figure.

* :func:`plot_history`: loss and accuracy per epoch (chance level marked);
* :func:`plot_activations`: per layer, the activation histogram at every probe
  over training (a column per probe; mass piling up in the top and bottom
  rows is saturation) beside the saturated and dead shares;
* :func:`plot_gradients`: per tensor, the gradient norm and the update/weight
  ratio ``||W_after - W_before|| / ||W_before||`` over training, with the
  healthy band of update ratios shaded;
* :func:`plot_confusion`: the confusion matrix (rows true, columns predicted);
* :func:`plot_gradcheck`: the gradient check's relative error per tensor
  against its limit.

Every function takes a :class:`~netdoctor.findings.Report`, the dict of
``Report.to_dict()`` (e.g. a saved ``netdoctor check --json``) or its
``sections``. The curves over training come from the monitor's probes: pass
``monitor=`` (a :class:`~netdoctor.monitors.TrainingMonitor`, the live view of
:func:`netdoctor.notebook.watch`, or a list of probe records), else the
report's ``sections["probes"]`` when present; without either only the last
probe (``sections["layers"]``) is drawn.

Figures are built with :class:`matplotlib.figure.Figure`, not pyplot: no global
figure registry, no backend switch, nothing shown behind the caller's back.
matplotlib is an optional extra (``pip install 'netdoctor[notebook]'``) and is
imported only when a plot is made.

``python -m netdoctor.plots REPORT.json DIR`` draws the plots of a saved JSON
report into DIR.
"""

from __future__ import annotations

import io
import math
import sys
from pathlib import Path
from typing import Any, Mapping, Sequence

from .errors import InvalidArgument, NetdoctorError

__all__ = [
    "MissingExtra", "compact_probes", "probe_records", "plot_history", "plot_activations", "plot_gradients", "plot_confusion",
    "plot_gradcheck", "plot_report", "write_plots", "main",
]

INSTALL_HINT = "pip install 'netdoctor[notebook]'"
UPDATE_BAND = (1e-3, 3e-2)
"""Update/weight ratios of healthy steps (0.1% to 3% of the weights per update)."""
_ERR_FLOOR = 1e-17
"""Relative errors of exactly zero are drawn here on the log axis."""
_BOUNDS = {"tanh": (-1.0, 1.0), "sigmoid": (0.0, 1.0), "softmax": (0.0, 1.0)}
"""Histogram range of bounded activations when a record does not carry ``hist_range``."""


class MissingExtra(NetdoctorError, ImportError):
    """An optional dependency is not installed (the message says what to install)."""


def _matplotlib():
    """Import matplotlib lazily; a clear message naming the extra when it is missing."""
    try:
        import matplotlib  # noqa: F401
        from matplotlib.figure import Figure
    except ImportError:
        raise MissingExtra(f"plots need matplotlib, which is not installed; run: {INSTALL_HINT}") from None
    return Figure


# -- reading the sources -------------------------------------------------------
def _sections(source: Any) -> Mapping[str, Any]:
    """The sections of a Report, of ``Report.to_dict()``, or a sections mapping itself."""
    sections = getattr(source, "sections", None)
    if isinstance(sections, Mapping):
        return sections
    if isinstance(source, Mapping):
        if isinstance(source.get("sections"), Mapping) and "findings" in source:
            return source["sections"]
        return source
    raise InvalidArgument(
        f"cannot plot a {type(source).__name__}; pass a Report, Report.to_dict() or its sections."
    )


def _context(source: Any) -> Mapping[str, Any]:
    ctx = getattr(source, "context", None)
    if isinstance(ctx, Mapping):
        return ctx
    if isinstance(source, Mapping) and isinstance(source.get("context"), Mapping):
        return source["context"]
    return {}


def _num(value: Any) -> float:
    """A float from numbers and the JSON strings "nan"/"inf"; None and others become NaN."""
    if isinstance(value, bool) or value is None:
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def probe_records(source: Any = None, monitor: Any = None) -> list[dict[str, Any]]:
    """The monitor's probe records, oldest first (see :meth:`TrainingMonitor.probe`).

    Order of preference: ``monitor`` (a TrainingMonitor, anything with a
    ``.monitor`` or ``.probes``, or a list of records), ``sections["probes"]``,
    then the last probe rebuilt from ``sections["layers"]``.
    """
    if monitor is not None:
        inner = getattr(monitor, "monitor", None)
        probes = getattr(inner if inner is not None else monitor, "probes", monitor)
        if not isinstance(probes, Sequence) or isinstance(probes, (str, bytes)):
            raise InvalidArgument(f"monitor={type(monitor).__name__!r} has no probe records; pass a TrainingMonitor.")
        return list(probes)
    if source is None:
        return []
    sections = _sections(source)
    if isinstance(sections.get("probes"), Sequence) and sections["probes"]:
        return list(sections["probes"])
    rows = sections.get("layers")
    if not isinstance(rows, Sequence) or not rows:
        return []
    # Only the last probe is in the report: one column, tensors named per layer.
    step = _context(source).get("steps", 0)
    layers, grads, updates = [], {}, {}
    for i, r in enumerate(rows, start=1):
        layers.append({"layer": i, "role": str(r.get("layer", "")).split(" ")[-1], "activation": r.get("activation"),
                       "saturation": r.get("saturation"), "dead": r.get("dead"), "hist": r.get("hist") or [],
                       "hist_range": r.get("hist_range")})
        names = list(r.get("tensors") or [])
        # The row's numbers are those of the layer's weight tensor, not its bias.
        name = next((n for n in names if n[:1].lower() != "b" and "bias" not in n.lower()), names[0] if names else f"layer {i}")
        grads[name], updates[name] = r.get("grad_norm"), r.get("update_ratio")
    return [{"step": step, "layers": layers, "grad_norms": grads, "update_ratios": updates}]


_LAYER_KEYS = ("layer", "role", "activation", "saturation", "dead", "act_mean", "act_std", "hist", "hist_range")


def compact_probes(probes: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Probe records reduced to what the plots draw, JSON-ready (for ``sections["probes"]``).

    Keeps per probe ``step``, ``epoch``, ``loss``, per layer the keys of
    ``_LAYER_KEYS``, and per tensor ``grad_norms``, ``weight_norms`` and
    ``update_ratios``; about 300 bytes per probe for a two-layer MLP.
    """
    out = []
    for p in probes:
        out.append({
            "step": p.get("step"), "epoch": p.get("epoch"), "loss": p.get("loss"),
            "layers": [{k: layer.get(k) for k in _LAYER_KEYS if k in layer} for layer in p.get("layers", [])],
            "grad_norms": dict(p.get("grad_norms") or {}), "weight_norms": dict(p.get("weight_norms") or {}),
            "update_ratios": dict(p.get("update_ratios") or {}),
        })
    return out


# -- the plots ------------------------------------------------------------------
def _empty(fig, text: str):
    ax = fig.add_subplot()
    ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True)
    ax.set_axis_off()
    return fig


def plot_history(source: Any, *, width: float = 9.0) -> Any:
    """Loss (left) and accuracy (right, percent) per epoch; chance accuracy dashed.

    Args:
        source: a Report, ``Report.to_dict()`` or sections with ``history``.
        width: figure width in inches.

    Returns:
        a :class:`matplotlib.figure.Figure`.
    """
    Figure = _matplotlib()
    history = _sections(source).get("history") or []
    fig = Figure(figsize=(width, 3.4), layout="constrained")
    if not history:
        return _empty(fig, "no training history in this report")
    epochs = [_num(e.get("epoch")) for e in history]
    ax_loss, ax_acc = fig.subplots(1, 2)
    ax_loss.plot(epochs, [_num(e.get("loss")) for e in history], marker="o", color="tab:blue")
    ax_loss.set(xlabel="epoch", ylabel="training loss", title="Loss per epoch")
    for key, label, color in (("train_accuracy", "train", "tab:green"), ("test_accuracy", "test", "tab:orange"),
                              ("eval_accuracy", "evaluation", "tab:orange")):
        vals = [100 * _num(e.get(key)) for e in history]
        if any(math.isfinite(v) for v in vals):
            ax_acc.plot(epochs, vals, marker="o", label=label, color=color)
    n_classes = _context(source).get("n_classes")
    if isinstance(n_classes, int) and n_classes > 1:
        ax_acc.axhline(100 / n_classes, color="grey", linestyle="--", linewidth=1, label=f"chance ({100 / n_classes:.0f}%)")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="Accuracy per epoch", ylim=(0, 100))
    ax_acc.legend(loc="best", fontsize="small")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
    return fig


def plot_activations(source: Any = None, *, monitor: Any = None, width: float = 9.0) -> Any:
    """Per layer: activation histograms over training (left) and saturated/dead shares (right).

    Each column of the left image is one probe: the share of the layer's
    activations (probe batch x units) in each of the bins between the
    activation's bounds (tanh -1..1, sigmoid 0..1; observed min..max for
    unbounded ones). A saturated tanh layer shows its mass in the top and
    bottom rows.

    Args:
        source: a Report (or its dict); ignored when ``monitor`` is given.
        monitor: a TrainingMonitor / live view / list of probe records.
        width: figure width in inches.
    """
    Figure = _matplotlib()
    import numpy as np

    probes = [p for p in probe_records(source, monitor) if p.get("layers")]
    n_layers = max((len(p["layers"]) for p in probes), default=0)
    fig = Figure(figsize=(width, 1.0 + 2.2 * max(1, n_layers)), layout="constrained")
    if not n_layers:
        return _empty(fig, "no activation summaries (the model has no activations(X))")
    axes = fig.subplots(n_layers, 2, squeeze=False, gridspec_kw={"width_ratios": (3, 2)})
    steps = np.array([_num(p.get("step")) for p in probes], dtype=float)
    # Column edges halfway between probes, so uneven probe spacing stays visible.
    if len(steps) > 1:
        mid = (steps[1:] + steps[:-1]) / 2
        edges = np.concatenate([[steps[0] - (mid[0] - steps[0])], mid, [steps[-1] + (steps[-1] - mid[-1])]])
    else:
        edges = np.array([steps[0] - 0.5, steps[0] + 0.5])
    single = len(probes) == 1  # only the last probe: bars instead of a one-column image
    image = None
    for l in range(n_layers):
        ax_h, ax_s = axes[l]
        first = next((p["layers"][l] for p in probes if len(p["layers"]) > l), {})
        kind, role = first.get("activation") or "?", first.get("role") or ""
        lo_all, hi_all, sat, dead = math.inf, -math.inf, [], []
        for i, p in enumerate(probes):
            layer = p["layers"][l] if len(p["layers"]) > l else {}
            hist = np.asarray(layer.get("hist") or [], dtype=float)
            rng = layer.get("hist_range") or _BOUNDS.get(layer.get("activation"), (None, None))
            lo, hi = _num(rng[0]), _num(rng[1])
            sat.append(100 * _num(layer.get("saturation")))
            dead.append(100 * _num(layer.get("dead")))
            if hist.size == 0 or hist.sum() <= 0 or not (math.isfinite(lo) and math.isfinite(hi)):
                continue
            hi = hi if hi > lo else lo + 1
            lo_all, hi_all = min(lo_all, lo), max(hi_all, hi)
            bins = np.linspace(lo, hi, len(hist) + 1)
            if single:
                ax_h.barh(bins[:-1], hist / hist.sum(), height=np.diff(bins), align="edge", color="tab:purple")
            else:
                image = ax_h.pcolormesh(edges[i:i + 2], bins, (hist / hist.sum())[:, None],
                                        cmap="magma", vmin=0, vmax=1, shading="flat")
        ax_h.set_ylabel(f"layer {l + 1} {role}\n{kind} value")
        if math.isfinite(lo_all):
            ax_h.set_ylim(lo_all, hi_all)
        if single:
            ax_h.set_xlim(0, 1)
            ax_s.bar(["saturated", "dead"], [sat[0], dead[0]], color=["tab:red", "tab:grey"])
        else:
            ax_h.set_xlim(edges[0], edges[-1])
            ax_s.plot(steps, sat, marker=".", color="tab:red", label="saturated")
            ax_s.plot(steps, dead, marker=".", color="tab:grey", label="dead")
        ax_s.set(ylim=(0 if single else -3, 103), ylabel="% of layer")
        ax_s.grid(alpha=0.3)
        if l == 0:
            at = f" (step {steps[0]:.0f}, last probe)" if single else " at each probe"
            ax_h.set_title("Activation histogram" + at)
            ax_s.set_title("Saturated and dead units")
            if not single:
                ax_s.legend(loc="best", fontsize="small")
    axes[-1][0].set_xlabel("share of activations" if single else "training step")
    if not single:
        axes[-1][1].set_xlabel("training step")
    if image is not None:
        fig.colorbar(image, ax=axes[:, 0].tolist(), label="share of activations", shrink=0.9)
    return fig


def _tensor_series(probes: Sequence[Mapping[str, Any]], key: str) -> dict[str, tuple[list[float], list[float]]]:
    series: dict[str, tuple[list[float], list[float]]] = {}
    for p in probes:
        for name, value in (p.get(key) or {}).items():
            v = _num(value)
            if math.isfinite(v) and v > 0:  # log axis: zero and NaN are gaps
                xs, ys = series.setdefault(name, ([], []))
                xs.append(_num(p.get("step")))
                ys.append(v)
    return series


def plot_gradients(source: Any = None, *, monitor: Any = None, width: float = 9.0) -> Any:
    """Gradient norm per tensor (left) and update/weight ratio per tensor (right) over training.

    The gradient norm is ``||dL/dW||`` on the probe batch; the update ratio
    is ``||W_after - W_before|| / ||W_before||`` of one real step. The shaded
    band (0.1% to 3%) is where healthy steps sit; far above it training
    overshoots, far below it the tensor is frozen.
    """
    Figure = _matplotlib()
    probes = probe_records(source, monitor)
    grads = _tensor_series(probes, "grad_norms")
    updates = _tensor_series(probes, "update_ratios")
    fig = Figure(figsize=(width, 3.6), layout="constrained")
    if not grads and not updates:
        return _empty(fig, "no gradient or update measurements")
    ax_g, ax_u = fig.subplots(1, 2)
    if len(probes) == 1:  # only the last probe: one bar per tensor
        for ax, series in ((ax_g, grads), (ax_u, updates)):
            names = list(series)
            values = [series[n][1][0] for n in names]
            ax.bar(names, values, color="tab:blue")
            ax.set_yscale("log")
            if values:  # bars on a log axis need a floor well below the smallest one
                floor = min(values) / 100 if ax is ax_g else min(min(values) / 10, UPDATE_BAND[0] / 3)
                ax.set_ylim(floor, max(values) * 3)
            ax.grid(alpha=0.3, axis="y", which="both")
        ax_u.axhspan(*UPDATE_BAND, color="tab:green", alpha=0.12, label="healthy 0.1-3%")
        ax_g.set(title=f"Gradient norm (step {_num(probes[0].get('step')):.0f}, last probe)", ylabel="||gradient||")
        ax_u.set(title="Update / weight ratio (last measured step)", ylabel="||update|| / ||weights||")
        ax_u.legend(loc="best", fontsize="small")
        return fig
    colors = {}
    for ax, series in ((ax_g, grads), (ax_u, updates)):
        for name, (xs, ys) in series.items():
            # Biases dashed: they start at zero, so their ratios are large and not judged by the band.
            style = "--" if name[:1].lower() == "b" or "bias" in name.lower() else "-"
            line = ax.plot(xs, ys, marker=".", linestyle=style, label=name, color=colors.get(name))[0]
            colors[name] = line.get_color()
        if series:
            ax.set_yscale("log")
        ax.grid(alpha=0.3, which="both")
        ax.set_xlabel("training step")
    ax_u.axhspan(*UPDATE_BAND, color="tab:green", alpha=0.12, label="healthy 0.1-3%")
    ax_g.set(title="Gradient norm per tensor", ylabel="||gradient||")
    ax_u.set(title="Update / weight ratio per step", ylabel="||update|| / ||weights||")
    ax_u.set_yscale("log")
    ax_u.legend(loc="best", fontsize="small", ncols=2)
    return fig


def plot_confusion(source: Any, *, width: float = 5.2) -> Any:
    """The confusion matrix (rows: true label, columns: predicted), counts written in each cell."""
    Figure = _matplotlib()
    import numpy as np

    section = _sections(source).get("confusion") or {}
    fig = Figure(figsize=(width, width * 0.9), layout="constrained")
    matrix = np.asarray(section.get("matrix") or [], dtype=float)
    if matrix.ndim != 2 or matrix.size == 0:
        return _empty(fig, "no confusion matrix in this report")
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
    :class:`~netdoctor.gradcheck_result.GradcheckResult` or its ``to_dict()``.
    Errors of exactly zero are drawn at 1e-17 on the log axis.
    """
    Figure = _matplotlib()
    if hasattr(source, "tensors") and hasattr(source, "to_dict"):
        section = source.to_dict()
    elif isinstance(source, Mapping) and "tensors" in source:
        section = source
    else:
        section = _sections(source).get("gradcheck") or {}
    tensors = section.get("tensors") or []
    fig = Figure(figsize=(width, 3.4), layout="constrained")
    if not tensors:
        return _empty(fig, "no gradient check in this report")
    ax = fig.add_subplot()
    names = [str(t.get("name")) for t in tensors]
    worst = [max(_num(t.get("max_rel_error")), _ERR_FLOOR) for t in tensors]
    median = [max(_num(t.get("median_rel_error")), _ERR_FLOOR) for t in tensors]
    ok = [bool(t.get("ok", _num(t.get("n_failed")) == 0)) for t in tensors]
    x = range(len(tensors))
    ax.bar(x, worst, color=["tab:green" if good else "tab:red" for good in ok], alpha=0.8, label="worst entry")
    ax.scatter(x, median, color="black", s=14, zorder=3, label="median")
    for i, t in enumerate(tensors):
        limit = _num(t.get("limit"))
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
    sections = _sections(report)
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
        _matplotlib()  # a missing matplotlib is reported even when there is nothing to draw
    return out


def figure_png(fig: Any, *, dpi: int = 100) -> bytes:
    """The figure as PNG bytes, rendered with the Agg canvas (no display needed)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def write_plots(report: Any, directory: str | Path, *, monitor: Any = None, dpi: int = 100) -> list[Path]:
    """Write every plot of :func:`plot_report` as ``DIRECTORY/<name>.png``.

    The directory is created when missing; each file is written through an
    atomic rename, so an interrupted run never leaves a truncated PNG.

    Returns:
        the paths written, in :func:`plot_report` order.
    """
    from .fileio import atomic_write_bytes

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
    """``python -m netdoctor.plots REPORT.json DIR``: plots of a saved ``--json`` report."""
    import json

    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2 or args[0].startswith("-"):
        sys.stderr.write("usage: python -m netdoctor.plots REPORT.json DIR\n")
        return 2
    try:
        with open(args[0], encoding="utf-8") as fh:
            data = json.load(fh)
        paths = write_plots(data, args[1])
    except (OSError, ValueError, NetdoctorError) as exc:
        sys.stderr.write(f"netdoctor.plots: error: {args[0]}: {exc}\n")
        return 2
    sys.stdout.write("".join(f"{p}\n" for p in paths))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
