"""The measurement sections of a rendered report, one rich renderable each.

:func:`render_sections` turns ``Report.sections`` into renderables in a fixed
order: the per-layer table of the last probe, loss and accuracy per epoch
(table and sparklines), the confusion matrix, the prediction counts, the
experiments, the gradient check, then anything else as a key/value grid.
rich is imported inside the functions, so importing this module stays cheap.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from netdoctor.report.format import format_value, sparkline
from netdoctor.report.format import num as _num
from netdoctor.report.format import pct as _pct

__all__ = ["render_sections", "titled", "data_summary_rich"]

# Sections with a dedicated renderer, in display order; others follow generically.
_KNOWN_SECTIONS = ("data", "layers", "history", "confusion", "predictions", "experiments", "gradcheck", "probe", "baseline")


def titled(title: str, body: Any):
    """``body`` under a bold, underlined title line."""
    from rich.console import Group
    from rich.text import Text

    return Group(Text(title, style="bold underline"), body)


def _layers_table(rows: Sequence[Mapping[str, Any]]):
    from rich import box
    from rich.table import Table

    from netdoctor.monitor.layer_stats import GUESSED_NOTE, activation_label

    guesses = any(r.get("guessed") for r in rows)
    table = Table(box=box.SIMPLE_HEAD, caption=GUESSED_NOTE if guesses else None, caption_justify="left")
    for name in ("layer", "act", "units", "sat", "dead", "act std", "|grad|", "upd/w"):
        table.add_column(name, justify="left" if name in ("layer", "act") else "right", no_wrap=True)
    for r in rows:
        table.add_row(
            str(r.get("layer", "?")),
            activation_label(r),
            _num(r.get("units")),
            _pct(r.get("saturation")),
            _pct(r.get("dead")),
            _num(r.get("act_std")),
            _num(r.get("grad_norm")),
            _num(r.get("update_ratio")),
        )
    return titled("Layers (last probe)", table)


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
    series: tuple[tuple[str, str, bool], ...] = (
        ("loss", "loss", False), ("train_accuracy", "train acc", True), ("test_accuracy", "test acc", True),
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
    rows: list[Mapping[str, Any] | None] = list(epochs)
    if len(rows) > 8:
        rows = rows[:2] + [None] + rows[-3:]
    for e in rows:
        if e is None:
            table.add_row("…", *[""] * len(series))
            continue
        table.add_row(_num(e.get("epoch")), *[(_pct if pct else _num)(e.get(key)) for key, _, pct in series])
    return titled("Training per epoch", Group(table, spark))


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
    return titled(title, table)


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
    """The same table as a standalone gradient-check result (:func:`netdoctor.report.gradcheck.gradcheck_rich`)."""
    from netdoctor.report.gradcheck import gradcheck_rich

    tensors = section.get("tensors")
    if not isinstance(tensors, Sequence) or not tensors:
        return _generic("gradcheck", section)
    return titled("Gradient check", gradcheck_rich(section))


def data_summary_rich(summary: Any):
    """A :class:`~netdoctor.data.summary.DataSummary` as a compact table: one column per digit, rows for counts and shares.

    Its notes (odd cells and labels, each at ``file:line:column``) follow the table, one line each.
    """
    import os

    from rich import box
    from rich.table import Table

    label, rows = summary.nouns
    table = Table(title=f"{os.path.basename(summary.source) or 'data'}: {summary.size_text()}", caption=summary.scaling_text(),
                  box=box.SIMPLE_HEAD, padding=(0, 0), pad_edge=False, title_justify="left",
                  caption_justify="left")
    table.add_column(label, style="bold")
    for k in summary.label_counts:
        table.add_column(str(k), justify="right")
    table.add_row(rows, *(f"{v:,}" for v in summary.label_counts.values()))
    table.add_row("share", *(f"{100 * s:.1f}%" for s in summary.label_shares.values()))
    notes = tuple(getattr(summary, "notes", ()) or ())
    if not notes:
        return table
    from rich.console import Group
    from rich.text import Text

    # Values unlike all the others, each with its file:line:column: below the table, in full.
    return Group(table, *(Text.assemble(("note: ", "bold yellow"), n) for n in notes))


def _probe(section: Mapping[str, Any]):
    """The update probe in words: what one step applied, compared with the batch gradient."""
    from rich.text import Text

    lr, eff, factor = section.get("lr"), section.get("lr_effective"), section.get("lr_factor")
    if not all(isinstance(v, (int, float)) for v in (lr, eff, factor)):
        return _generic("probe", section)
    lines = [f"each step applied {eff:.3g} x the batch's mean gradient: lr {lr:g} x {factor:.3g}"
             + (f" (batch size {section['batch_size']})" if "batch_size" in section else "")]
    weight = section.get("history_weight")
    if isinstance(weight, (int, float)):
        # Rounded to 2 decimals: the least-squares fit leaves ~1e-17 where the true weight is 0.
        lines.append(f"earlier steps' gradients re-applied with weight {round(weight, 2) + 0.0:.2f}"
                     " (0 = none, as it should be; 1 = every earlier gradient again)")
    return titled("Update probe (a few real training steps)", Text("\n".join(lines)))


def _baseline(section: Mapping[str, Any]):
    """The reference MLP trained on the same data with the same lr, batch size and epochs."""
    from rich.text import Text

    acc = section.get("accuracy")
    if not isinstance(acc, (int, float)):
        return _generic("baseline", section)
    how = ", ".join(f"{k.replace('_', ' ')} {section[k]:g}" for k in ("epochs", "lr", "batch_size") if k in section)
    return titled("Reference MLP on the same data", Text(
        f"{section.get('model', 'reference MLP')} reached {_pct(acc)} ({how})"))


def render_sections(sections: Mapping[str, Any]) -> Iterable[Any]:
    """One renderable per non-empty section: known ones in :data:`_KNOWN_SECTIONS` order with their own layout, then the rest."""
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
        elif key == "probe" and isinstance(value, Mapping):
            yield _probe(value)
        elif key == "baseline" and isinstance(value, Mapping):
            yield _baseline(value)
        else:
            yield _generic(key, value)
