"""Short text forms of the numbers in a report: evidence values, percentages, sparklines.

Shared by the terminal report (:mod:`netdoctor.report.terminal`), its sections
(:mod:`netdoctor.report.sections`) and the notebook view; plain Python, no rich.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["format_value", "sparkline", "pct", "num", "cell"]

_SPARKS = "▁▂▃▄▅▆▇█"


def format_value(value: Any, *, max_items: int = 6) -> str:
    """A short human form of an evidence value: 4 significant digits, short lists."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        value = value.item()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        if value == 0:
            return "0"
        if 1e-3 <= abs(value) < 1e5:
            return f"{value:.4g}"
        return f"{value:.2e}"
    if isinstance(value, Mapping):
        inner = ", ".join(f"{k}: {format_value(v, max_items=max_items)}" for k, v in list(value.items())[:max_items])
        more = f", … ({len(value)} keys)" if len(value) > max_items else ""
        return "{" + inner + more + "}"
    if hasattr(value, "tolist") and not isinstance(value, str):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        shown = ", ".join(format_value(v, max_items=max_items) for v in value[:max_items])
        more = f", … ({len(value)} items)" if len(value) > max_items else ""
        return "[" + shown + more + "]"
    if hasattr(value, "value") and isinstance(value.value, str):  # enums
        return value.value
    return str(value)


def sparkline(values: Sequence[Any]) -> str:
    """Eight-level bar characters for a series; missing or non-finite values show as a space."""
    vals = [float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else math.nan for v in values]
    finite = [v for v in vals if math.isfinite(v)]
    if not finite:
        return " " * len(vals)
    lo, hi = min(finite), max(finite)
    span = hi - lo
    out = []
    for v in vals:
        if not math.isfinite(v):
            out.append(" ")
        elif span == 0:
            out.append(_SPARKS[3])
        else:
            out.append(_SPARKS[min(7, int((v - lo) / span * 7 + 0.5))])
    return "".join(out)


def pct(value: Any) -> str:
    """A share as a percentage with one decimal (``0.123`` -> ``12.3%``); ``-`` when not a finite number."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        return "-"
    return f"{100 * value:.1f}%"


def num(value: Any) -> str:
    """:func:`format_value`, with ``-`` for a missing value."""
    if value is None:
        return "-"
    return format_value(value)


def cell(value: Any, as_pct: bool = False) -> str:
    """A table cell of a live measurement: ``-`` when missing, the text of a non-number, else :func:`pct` or :func:`format_value`."""
    if value is None or isinstance(value, bool):
        return "-"
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(v):
        return str(v)
    return pct(v) if as_pct else format_value(v)
