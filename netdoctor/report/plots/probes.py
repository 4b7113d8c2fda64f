"""What the plots read: report sections, context and the monitor's probe records.

Every plot takes a :class:`~netdoctor.findings.Report`, the dict of
``Report.to_dict()`` (e.g. a saved ``netdoctor check --json``) or its
``sections``; :func:`probe_records` finds the probe records of a monitor, a
live view, a list, or the report's ``sections["probes"]``, and
:func:`compact_probes` reduces them to what the plots draw for the report.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from netdoctor.errors import InvalidArgument
from netdoctor.params import is_bias

__all__ = ["sections_of", "context_of", "to_float", "probe_records", "compact_probes", "tensor_series"]


def sections_of(source: Any) -> Mapping[str, Any]:
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


def context_of(source: Any) -> Mapping[str, Any]:
    """The context of a Report or of ``Report.to_dict()`` ({} when there is none)."""
    ctx = getattr(source, "context", None)
    if isinstance(ctx, Mapping):
        return ctx
    if isinstance(source, Mapping) and isinstance(source.get("context"), Mapping):
        return source["context"]
    return {}


def to_float(value: Any) -> float:
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
    sections = sections_of(source)
    if isinstance(sections.get("probes"), Sequence) and sections["probes"]:
        return list(sections["probes"])
    rows = sections.get("layers")
    if not isinstance(rows, Sequence) or not rows:
        return []
    # Only the last probe is in the report: one column, tensors named per layer.
    step = context_of(source).get("steps", 0)
    layers, grads, updates = [], {}, {}
    for i, r in enumerate(rows, start=1):
        layers.append({"layer": i, "role": str(r.get("layer", "")).split(" ")[-1], "activation": r.get("activation"),
                       "saturation": r.get("saturation"), "dead": r.get("dead"), "hist": r.get("hist") or [],
                       "hist_range": r.get("hist_range")})
        names = list(r.get("tensors") or [])
        # The row's numbers are those of the layer's weight tensor, not its bias.
        name = next((n for n in names if not is_bias(n)), names[0] if names else f"layer {i}")
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


def tensor_series(probes: Sequence[Mapping[str, Any]], key: str) -> dict[str, tuple[list[float], list[float]]]:
    """Per tensor, the (steps, values) of ``key`` (``grad_norms``, ``update_ratios``) over the probes; zero and NaN left out."""
    series: dict[str, tuple[list[float], list[float]]] = {}
    for p in probes:
        for name, value in (p.get(key) or {}).items():
            v = to_float(value)
            if math.isfinite(v) and v > 0:  # log axis: zero and NaN are gaps
                xs, ys = series.setdefault(name, ([], []))
                xs.append(to_float(p.get("step")))
                ys.append(v)
    return series
