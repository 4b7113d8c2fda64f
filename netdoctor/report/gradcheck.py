"""The gradient-check table: one layout for the terminal, the notebook, the HTML report and plain text.

:func:`gradcheck_table` turns a gradient-check result, or its ``to_dict()``
form that a :class:`~netdoctor.findings.Report` keeps in
``sections["gradcheck"]``, into :class:`GradcheckTable`: a verdict line, one
row per tensor (the same columns everywhere), the directional checks, the
hints and the notes. :func:`gradcheck_rich` lays it out with rich (the
standalone result and the report's section alike) and
:mod:`netdoctor.report.html` as an HTML table, so the two cannot drift.
:func:`result_summary` is the plain text of ``GradcheckResult.summary()``.
Nothing heavy is imported at module level (a report without a gradient check, ``netdoctor run`` of a script
without NumPy, must not load NumPy for it): the entry names (:func:`netdoctor.params.format_index`) when an entry
is shown, rich only inside :func:`gradcheck_rich`, and no data class at all: a result is read by its fields.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import field
from typing import TYPE_CHECKING, Any

from netdoctor._lazy import dataclass

if TYPE_CHECKING:  # only for annotations: the result module is plain data
    from netdoctor.gradients.result import GradcheckResult

__all__ = ["GRADCHECK_COLUMNS", "GradcheckTable", "gradcheck_table", "gradcheck_rich", "result_summary"]

GRADCHECK_COLUMNS = ("tensor", "shape", "checked", "failed", "skipped", "max rel err", "limit",
                     "worst entry: analytic vs numeric")
"""The columns of the gradient-check table, everywhere it is shown."""


@dataclass(frozen=True)
class GradcheckTable:
    """A gradient check laid out for display: every cell already a string."""

    ok: bool
    headline: str
    """``gradients OK (method central, h 1e-05, rtol 1e-05, 40 entries checked, worst rel_error 3.1e-10)``."""
    rows: list[tuple[str, ...]] = field(default_factory=list)
    """One row per tensor, in :data:`GRADCHECK_COLUMNS` order."""
    failed: list[bool] = field(default_factory=list)
    """Per row: did this tensor fail?"""
    directions: list[tuple[str, str]] = field(default_factory=list)
    """``(line, status)`` per directional check; status is ``ok``, ``FAIL`` or ``skipped``."""
    hints: list[str] = field(default_factory=list)
    """``"W1: <what the error pattern suggests>"`` for failing tensors."""
    notes: list[str] = field(default_factory=list)
    """What was chosen and why (method, sampling, dtype)."""


def _e(value: Any, spec: str) -> str:
    return format(float(value), spec) if isinstance(value, (int, float)) and not isinstance(value, bool) else "-"


def _index(name: str, index: Sequence[int]) -> str:
    from netdoctor.params import format_index  # NumPy comes with it: not for a report that shows no entry

    return format_index(name, tuple(index))


def _direction_line(d: Mapping[str, Any]) -> tuple[str, str]:
    status = "skipped" if d.get("skipped") else "ok" if d.get("ok") else "FAIL"
    mark = f"skipped: {d['skipped']}" if d.get("skipped") else status
    return (f"direction {d.get('scope')} seed {d.get('seed')}: analytic {_e(d.get('analytic'), '.4e')} numeric "
            f"{_e(d.get('numeric'), '.4e')} rel_error {_e(d.get('rel_error'), '.1e')} {mark}", status)


def headline(section: Mapping[str, Any]) -> str:
    """The verdict line of a check (``to_dict()`` form)."""
    tensors = section.get("tensors") or []
    failed = [str(t.get("name")) for t in tensors if not t.get("ok")]
    verdict = "gradients OK" if section.get("ok") else f"gradient mismatch in {', '.join(failed) or 'model'}"
    return (f"{verdict} (method {section.get('method', '?')}, h {_e(section.get('h'), '.0e')}, "
            f"rtol {_e(section.get('rtol'), '.0e')}, {section.get('n_checked', '?')} entries checked, "
            f"worst rel_error {_e(section.get('worst_rel_error'), '.1e')})")


def gradcheck_table(source: GradcheckResult | Mapping[str, Any]) -> GradcheckTable:
    """The table of a :class:`~netdoctor.gradients.result.GradcheckResult` or of its ``to_dict()``.

    The last column shows the entry with the largest relative error and both
    derivatives there, for passing tensors too (it is what "agrees" means), or
    the problem when a tensor could not be compared at all.
    """
    section = source if isinstance(source, Mapping) else source.to_dict()
    rows: list[tuple[str, ...]] = []
    failed: list[bool] = []
    hints: list[str] = []
    for t in section.get("tensors") or []:
        name = str(t.get("name"))
        worst = (t.get("worst") or [None])[0]
        if t.get("problem"):
            last = str(t["problem"])
        elif worst:
            last = f"{_index(name, worst.get('index') or ())}: {_e(worst.get('analytic'), '.3e')} vs {_e(worst.get('numeric'), '.3e')}"
        else:
            last = "-"
        rows.append((name, "x".join(map(str, t.get("shape") or ())) or "scalar", str(t.get("n_checked", "-")),
                     str(t.get("n_failed", "-")), str(t.get("n_skipped", "-")), _e(t.get("max_rel_error"), ".1e"),
                     _e(t.get("limit"), ".0e"), last))
        failed.append(not t.get("ok"))
        if t.get("hint") and not t.get("ok"):
            hints.append(f"{name}: {t['hint']}")
    return GradcheckTable(
        ok=bool(section.get("ok")), headline=headline(section), rows=rows, failed=failed,
        directions=[_direction_line(d) for d in section.get("directions") or []], hints=hints,
        notes=[str(n) for n in section.get("notes") or []],
    )


class _RichTable:
    """The table at the console's width: the worst entries in their column when they fit, else listed below it.

    In 80 columns the eight columns leave ~14 characters for ``W1[12, 3]: -1.234e-02 vs -1.234e-02``; rather
    than wrap or crop it, the narrow layout prints the same entries one per line under the other seven columns.
    """

    def __init__(self, tab: GradcheckTable) -> None:
        self.tab = tab

    def _table(self, columns: Sequence[int]) -> Any:
        from rich import box
        from rich.table import Table
        from rich.text import Text

        table = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
        for i in columns:
            col = GRADCHECK_COLUMNS[i]
            table.add_column(col, justify="left" if i in (0, 1, 7) else "right", no_wrap=True)
        for row, bad in zip(self.tab.rows, self.tab.failed):
            table.add_row(*[Text(row[i], style="red" if (bad and i == 3) else "") for i in columns])
        return table

    def __rich_console__(self, console: Any, options: Any) -> Any:
        from rich.measure import Measurement
        from rich.text import Text

        full = self._table(range(len(GRADCHECK_COLUMNS)))
        # Measured unconstrained: a measurement within the console's width is clamped to that width.
        if Measurement.get(console, options.update(max_width=10_000), full).maximum <= options.max_width:
            yield full
            return
        yield self._table(range(len(GRADCHECK_COLUMNS) - 1))
        yield Text("worst entry per tensor, analytic vs numeric:")
        for row in self.tab.rows:
            yield Text("  " + row[-1])
        yield Text("")


def gradcheck_rich(source: GradcheckResult | Mapping[str, Any]) -> Any:
    """The rich renderable: verdict line, directions, the table, hints, notes."""
    from rich.console import Group
    from rich.text import Text

    tab = gradcheck_table(source)
    style = {"ok": "", "FAIL": "red", "skipped": "yellow"}
    return Group(
        Text(tab.headline, style="bold green" if tab.ok else "bold red"),
        *[Text(line, style=style[status]) for line, status in tab.directions],
        _RichTable(tab),
        # Hints are sentences: below the table, one line each, not squeezed into a column.
        *[Text(h) for h in tab.hints],
        *[Text(f"note: {n}", style="dim") for n in tab.notes],
    )


def result_summary(r: GradcheckResult) -> str:
    """Multi-line plain text: verdict, then per tensor a compact table of its worst entries and the hint."""
    lines = [headline(r.to_dict())]
    lines += [f"  note: {n}" for n in r.notes]
    lines += [f"  {d.line()}" for d in r.directions]
    for t in r.tensors:
        shape = "x".join(map(str, t.shape)) or "scalar"
        status = "ok" if t.ok else "FAIL"
        lines.append(
            f"{t.name} ({shape}): {status}, {t.n_failed}/{t.n_checked} failed, {t.n_skipped} skipped, "
            f"max rel_error {t.max_rel_error:.1e}"
        )
        if t.problem:
            lines.append(f"    {t.problem}")
        if not t.ok and t.worst:
            lines.append(f"    {'index':<14}{'analytic':>12}{'numerical':>12}{'rel error':>11}")
            for c in t.worst:
                idx = "[" + ", ".join(map(str, c.index)) + "]"
                lines.append(f"    {idx:<14}{c.analytic:>12.4e}{c.numeric:>12.4e}{c.rel_error:>11.1e}")
        for reason in t.skip_reasons[:2]:
            lines.append(f"    skipped: {reason}")
        if t.hint:
            lines.append(f"    hint: {t.hint}")
    return "\n".join(lines)
