"""Rendering a :class:`~netdoctor.findings.Report` with rich: terminal, text, HTML.

The report reads top to bottom like a consultation: a header (what was
examined and a one-line verdict), the findings root cause first (what we saw,
where, the numbers, what to change), then the measurements behind them
(per-layer table, loss and accuracy per epoch as sparklines, confusion
matrix, prediction counts). Everything fits in 80 columns without colour, so
the plain-text export is as useful as the terminal view.

rich is imported here only; the core never needs it.
"""

from __future__ import annotations

import html
import io
import math
from typing import Any, Iterable, Mapping, Sequence

__all__ = ["render_report", "report_text", "report_html", "sparkline", "format_value"]

_SPARKS = "▁▂▃▄▅▆▇█"
_SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}
# Sections with a dedicated renderer, in display order; others follow generically.
_KNOWN_SECTIONS = ("data", "layers", "history", "confusion", "predictions", "experiments", "gradcheck", "probe", "baseline")


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
    if hasattr(value, "value") and isinstance(getattr(value, "value"), str):  # enums
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


def _pct(value: Any) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        return "-"
    return f"{100 * value:.1f}%"


def _num(value: Any) -> str:
    if value is None:
        return "-"
    return format_value(value)


# -- pieces -----------------------------------------------------------------
def _titled(title: str, body: Any):
    from rich.console import Group
    from rich.text import Text

    return Group(Text(title, style="bold underline"), body)


def _header(report):
    from rich.table import Table
    from rich.text import Text

    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    ctx = report.context or {}
    for key in ("data", "model", "training"):
        if key in ctx and ctx[key] not in (None, ""):
            grid.add_row(key, Text(format_value(ctx[key]) if not isinstance(ctx[key], str) else ctx[key]))
    others = [
        f"{k}={format_value(v)}"
        for k, v in ctx.items()
        if k not in ("data", "model", "training") and isinstance(v, (int, float, str, bool)) and len(str(v)) <= 40
    ]
    if others:
        grid.add_row("context", Text(", ".join(others)))
    notes = ctx.get("notes")
    if isinstance(notes, (list, tuple)) and notes:
        grid.add_row("notes", Text("; ".join(map(str, notes))))
    verdict_style = "bold green" if report.ok and not report.partial else "bold red" if not report.ok else "bold yellow"
    grid.add_row("verdict", Text(report.verdict(), style=verdict_style))
    if report.partial:
        grid.add_row("note", Text("interrupted: partial report, only what was measured so far", style="yellow"))
    return grid


def _findings_table(report):
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(box=box.SIMPLE_HEAD, show_lines=True, expand=True)
    table.add_column("#", justify="right", no_wrap=True, width=2)
    table.add_column("finding", width=22, overflow="fold")
    table.add_column("what, evidence, fix", ratio=1)
    present = {f.code for f in report.findings}
    for i, f in enumerate(report.findings, start=1):
        sev = f.severity.value
        left = Text()
        left.append(sev.upper(), style=_SEVERITY_STYLE.get(sev, ""))
        left.append("\n" + f.code, style="bold")
        if f.where:
            left.append("\n@ " + f.where)
        right = Text(f.message)
        if f.evidence:
            ev = "; ".join(f"{k}={format_value(v)}" for k, v in f.evidence.items())
            right.append("\nevidence: ", style="bold")
            right.append(ev)
        if f.explanation:
            right.append("\nwhy: ", style="bold")
            right.append(f.explanation)
        if f.fix:
            right.append("\nfix: ", style="bold green")
            right.append(f.fix)
        causes = [c for c in f.caused_by if c in present and c != f.code]
        if causes:
            right.append("\ncaused by: ", style="bold")
            right.append(", ".join(causes))
        table.add_row(str(i), left, right)
    return _titled("Findings (root causes first)", table)


def _layers_table(rows: Sequence[Mapping[str, Any]]):
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD)
    for name, justify in (
        ("layer", "left"), ("act", "left"), ("units", "right"), ("sat", "right"),
        ("dead", "right"), ("act std", "right"), ("|grad|", "right"), ("upd/w", "right"),
    ):
        table.add_column(name, justify=justify, no_wrap=True)
    for r in rows:
        table.add_row(
            str(r.get("layer", "?")),
            str(r.get("activation") or "?"),
            _num(r.get("units")),
            _pct(r.get("saturation")),
            _pct(r.get("dead")),
            _num(r.get("act_std")),
            _num(r.get("grad_norm")),
            _num(r.get("update_ratio")),
        )
    return _titled("Layers (last probe)", table)


def _series_line(name: str, values: Sequence[Any], pct: bool) -> list[str]:
    shown = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if not shown:
        return []
    first, last = shown[0], shown[-1]
    f = _pct if pct else _num
    return [name, sparkline(values), f"{f(first)} → {f(last)}"]


def _history(epochs: Sequence[Mapping[str, Any]]):
    from rich import box
    from rich.console import Group
    from rich.table import Table

    spark = Table.grid(padding=(0, 2))
    spark.add_column(no_wrap=True)
    spark.add_column(no_wrap=True)
    spark.add_column(no_wrap=True)
    series = (("loss", "loss", False), ("train_accuracy", "train acc", True), ("test_accuracy", "test acc", True),
              ("eval_accuracy", "eval acc", True))
    series = tuple(s for s in series if any(e.get(s[0]) is not None for e in epochs))
    for key, label, pct in series:
        row = _series_line(label, [e.get(key) for e in epochs], pct)
        if row:
            spark.add_row(*row)
    table = Table(box=box.SIMPLE_HEAD)
    table.add_column("epoch", justify="right", no_wrap=True)
    for _, name, _ in series:
        table.add_column(name, justify="right", no_wrap=True)
    # Long runs: show the first two and last three epochs; the sparkline has them all.
    rows = list(epochs)
    if len(rows) > 8:
        rows = rows[:2] + [None] + rows[-3:]
    for e in rows:
        if e is None:
            table.add_row("…", *[""] * len(series))
            continue
        table.add_row(_num(e.get("epoch")), *[(_pct if pct else _num)(e.get(key)) for key, _, pct in series])
    return _titled("Training per epoch", Group(table, spark))


def _confusion(section: Mapping[str, Any]):
    from rich import box
    from rich.table import Table
    from rich.text import Text

    matrix = section.get("matrix")
    labels = list(section.get("labels") or range(len(matrix or [])))
    title = f"Confusion matrix on {section.get('on', 'evaluation data')} (rows: true, columns: predicted)"
    if not matrix or len(labels) > 12:
        return Text(f"{title}: {len(labels)} classes, too wide to show.")
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1))
    table.add_column("", justify="right", style="bold", no_wrap=True)
    for lab in labels:
        table.add_column(str(lab), justify="right", no_wrap=True)
    for lab, row in zip(labels, matrix):
        table.add_row(str(lab), *[str(int(v)) for v in row])
    return _titled(title, table)


def _predictions(section: Mapping[str, Any]):
    from rich.text import Text

    counts = section.get("counts")
    if not counts:
        return _generic("predictions", section)
    labels = list(section.get("labels") or range(len(counts)))
    total = sum(counts) or 1
    body = "  ".join(f"{lab}:{100 * c / total:.0f}%" for lab, c in zip(labels, counts))
    on = section.get("on", "evaluation data")
    return Text(f"Predicted labels on {on} ({total} rows)  {sparkline(counts)}\n{body}")


def _generic(name: str, section: Any):
    from rich.table import Table
    from rich.text import Text

    if isinstance(section, str):
        return Text(f"{name}: {section}")
    if hasattr(section, "__rich__") or hasattr(section, "__rich_console__"):
        return section
    if hasattr(section, "to_dict"):
        section = section.to_dict()
    if isinstance(section, Mapping):
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column()
        for k, v in section.items():
            grid.add_row(str(k), format_value(v))
        table = Table.grid()
        table.add_row(Text(name, style="bold underline"))
        table.add_row(grid)
        return table
    return Text(f"{name}: {format_value(section)}")


def _gradcheck(section: Mapping[str, Any]):
    from rich import box
    from rich.table import Table
    from rich.text import Text

    tensors = section.get("tensors")
    if not isinstance(tensors, Sequence) or not tensors:
        return _generic("gradcheck", section)
    verdict = "ok" if section.get("ok") else "MISMATCH"
    head = Text(f"method {section.get('method', '?')}, {_num(section.get('n_checked'))} entries checked, "
                f"worst rel. error {_num(section.get('worst_rel_error'))}: {verdict}")
    table = Table(box=box.SIMPLE_HEAD)
    for name in ("tensor", "shape", "checked", "failed", "max rel err", "limit"):
        table.add_column(name, justify="left" if name in ("tensor", "shape") else "right", no_wrap=True)
    for t in tensors:
        table.add_row(str(t.get("name")), "x".join(map(str, t.get("shape") or ())), _num(t.get("n_checked")),
                      _num(t.get("n_failed")), _num(t.get("max_rel_error")), _num(t.get("limit")))
    notes = section.get("notes") or []
    parts = [head, table] + ([Text("notes: " + " ".join(map(str, notes)))] if notes else [])
    from rich.console import Group

    return _titled("Gradient check", Group(*parts))


def _sections(sections: Mapping[str, Any]) -> Iterable[Any]:
    order = [k for k in _KNOWN_SECTIONS if k in sections] + [k for k in sections if k not in _KNOWN_SECTIONS]
    for key in order:
        value = sections[key]
        if value is None or (hasattr(value, "__len__") and not isinstance(value, str) and len(value) == 0):
            continue
        if key == "probes":  # every probe record, for the plots: the layers table shows the last one
            continue
        if key == "layers" and isinstance(value, Sequence):
            yield _layers_table(value)
        elif key == "history" and isinstance(value, Sequence):
            yield _history(value)
        elif key == "confusion" and isinstance(value, Mapping):
            yield _confusion(value)
        elif key == "gradcheck" and isinstance(value, Mapping):
            yield _gradcheck(value)
        elif key == "predictions" and isinstance(value, Mapping):
            yield _predictions(value)
        else:
            yield _generic(key, value)


def render_report(report) -> Any:
    """The report as one rich renderable (a ``Group``): header, findings, sections."""
    from rich.console import Group
    from rich.rule import Rule
    from rich.text import Text

    parts: list[Any] = [Rule(report.title, style="bold"), _header(report)]
    if report.findings:
        parts.append(_findings_table(report))
    else:
        parts.append(Text("No findings.", style="green"))
    for piece in _sections(report.sections or {}):
        parts.append(Text(""))
        parts.append(piece)
    return Group(*parts)


def _console(width: int, *, color: bool):
    from rich.console import Console

    return Console(
        width=width,
        file=io.StringIO(),
        record=True,
        no_color=not color,
        color_system="truecolor" if color else None,
        force_terminal=color,
        force_jupyter=False,
        highlight=False,
        emoji=False,
        legacy_windows=False,
    )


def report_text(report, width: int = 80) -> str:
    """Plain text (no colour, no escape codes) at ``width`` columns; trailing spaces stripped."""
    console = _console(width, color=False)
    console.print(render_report(report))
    text = console.export_text(styles=False)
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


_HTML_PAGE = """<!DOCTYPE html>
<html>
<head>
<meta charset="UTF-8">
<title>{title}</title>
<style>
{{stylesheet}}
body {{{{ color: {{foreground}}; background-color: {{background}}; }}}}
pre {{{{ font-family: Menlo, 'DejaVu Sans Mono', Consolas, monospace; font-size: 13px; }}}}
</style>
</head>
<body>
<pre><code>{{code}}</code></pre>
</body>
</html>
"""


def report_html(report, *, width: int = 100) -> str:
    """A standalone HTML page with the same content as the terminal report (colours kept)."""
    console = _console(width, color=True)
    console.print(render_report(report))
    page = _HTML_PAGE.format(title=html.escape(report.title))
    return console.export_html(code_format=page, inline_styles=False)
