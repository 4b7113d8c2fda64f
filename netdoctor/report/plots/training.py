"""Plots over training from the monitor's probes: activations and gradients per probe.

* :func:`plot_activations`: per layer, the activation histogram at every probe
  over training (a column per probe; mass piling up in the top and bottom
  rows is saturation) beside the saturated and dead shares;
* :func:`plot_gradients`: per tensor, the gradient norm and the update/weight
  ratio ``||W_after - W_before|| / ||W_before||`` over training, with the
  healthy band of update ratios shaded.

With only the last probe (a report without ``sections["probes"]``) both
draw bars for that one probe instead of curves. Both are re-exported by
:mod:`netdoctor.report.plots`.
"""

from __future__ import annotations

import math
from typing import Any

from netdoctor.monitor.layer_stats import ACTIVATION_BOUNDS
from netdoctor.params import is_bias
from netdoctor.report.plots.backend import empty_figure, matplotlib_figure
from netdoctor.report.plots.probes import probe_records, tensor_series, to_float

__all__ = ["plot_activations", "plot_gradients", "UPDATE_BAND"]

UPDATE_BAND = (1e-3, 3e-2)
"""Update/weight ratios of healthy steps (0.1% to 3% of the weights per update)."""


def _column_edges(steps: Any) -> Any:
    """Edges of the image columns, one per probe step: halfway between neighbouring probes (the outer ones
    mirrored), so uneven probe spacing stays visible; a single probe gets a column of width 1."""
    import numpy as np

    if len(steps) > 1:
        mid = (steps[1:] + steps[:-1]) / 2
        return np.concatenate([[steps[0] - (mid[0] - steps[0])], mid, [steps[-1] + (steps[-1] - mid[-1])]])
    return np.array([steps[0] - 0.5, steps[0] + 0.5])


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
    Figure = matplotlib_figure()
    import numpy as np

    probes = [p for p in probe_records(source, monitor) if p.get("layers")]
    n_layers = max((len(p["layers"]) for p in probes), default=0)
    fig = Figure(figsize=(width, 1.0 + 2.2 * max(1, n_layers)), layout="constrained")
    if not n_layers:
        return empty_figure(fig, "no activation summaries (the model has no activations(X))")
    axes = fig.subplots(n_layers, 2, squeeze=False, gridspec_kw={"width_ratios": (3, 2)})
    steps = np.array([to_float(p.get("step")) for p in probes], dtype=float)
    edges = _column_edges(steps)
    single = len(probes) == 1  # only the last probe: bars instead of a one-column image
    image = None
    for l in range(n_layers):
        ax_h, ax_s = axes[l]
        first: dict[str, Any] = next((p["layers"][l] for p in probes if len(p["layers"]) > l), {})
        kind, role = first.get("activation") or "?", first.get("role") or ""
        lo_all, hi_all, sat, dead = math.inf, -math.inf, [], []
        for i, p in enumerate(probes):
            layer = p["layers"][l] if len(p["layers"]) > l else {}
            hist = np.asarray(layer.get("hist") or [], dtype=float)
            # Records without hist_range: the bounds the monitor's histograms use for the activation.
            rng = layer.get("hist_range") or ACTIVATION_BOUNDS.get(str(layer.get("activation"))) or (None, None)
            lo, hi = to_float(rng[0]), to_float(rng[1])
            sat.append(100 * to_float(layer.get("saturation")))
            dead.append(100 * to_float(layer.get("dead")))
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


def plot_gradients(source: Any = None, *, monitor: Any = None, width: float = 9.0) -> Any:
    """Gradient norm per tensor (left) and update/weight ratio per tensor (right) over training.

    The gradient norm is ``||dL/dW||`` on the probe batch; the update ratio
    is ``||W_after - W_before|| / ||W_before||`` of one real step. The shaded
    band (0.1% to 3%) is where healthy steps sit; far above it training
    overshoots, far below it the tensor is frozen.
    """
    Figure = matplotlib_figure()
    probes = probe_records(source, monitor)
    grads = tensor_series(probes, "grad_norms")
    updates = tensor_series(probes, "update_ratios")
    fig = Figure(figsize=(width, 3.6), layout="constrained")
    if not grads and not updates:
        return empty_figure(fig, "no gradient or update measurements")
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
        ax_g.set(title=f"Gradient norm (step {to_float(probes[0].get('step')):.0f}, last probe)", ylabel="||gradient||")
        ax_u.set(title="Update / weight ratio (last measured step)", ylabel="||update|| / ||weights||")
        ax_u.legend(loc="best", fontsize="small")
        return fig
    colors: dict[str, Any] = {}
    for ax, series in ((ax_g, grads), (ax_u, updates)):
        for name, (xs, ys) in series.items():
            # Biases dashed: they start at zero, so their ratios are large and not judged by the band.
            style = "--" if is_bias(name) else "-"
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
