"""The terminal renderer: rich renderables and plain text for every netdoctor result.

:func:`rich_view` is what ``__rich__`` of a :class:`~netdoctor.findings.Report`,
:class:`~netdoctor.findings.Finding`,
:class:`~netdoctor.gradients.result.GradcheckResult` or
:class:`~netdoctor.data.summary.DataSummary` returns (through
:class:`~netdoctor.display.Renderable`): the renderer of
:data:`RICH_RENDERERS` registered for the object's ``render_kind``. No data
class is imported here; :func:`plain_text` is the same without colour. The HTML of the same objects is :mod:`netdoctor.report.html`.

The report reads top to bottom like a consultation: a header (what was
examined and a one-line verdict), the findings root cause first (what we saw,
where, the numbers, what to change), then the measurements behind them
(per-layer table, loss and accuracy per epoch as sparklines, confusion
matrix, prediction counts). Everything fits in 80 columns without colour, so
the plain-text export is as useful as the terminal view.

The measurement sections are laid out by :mod:`netdoctor.report.sections`
and the numbers formatted by :mod:`netdoctor.report.format`. rich is imported
inside the functions only; the core never needs it.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

# format_value and sparkline are re-exported: the notebook view and tests import them from here.
from netdoctor.report.format import format_value, sparkline  # noqa: F401
from netdoctor.report.gradcheck import gradcheck_rich
from netdoctor.report.sections import data_summary_rich, render_sections, titled

__all__ = ["render_report", "report_text", "rich_view", "plain_text", "RICH_RENDERERS", "sparkline", "format_value"]

_SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


# -- pieces -----------------------------------------------------------------
def _header_rows(report) -> list[tuple[str, Any]]:
    """The header's rows, key and value, before the verdict."""
    from rich.text import Text

    rows: list[tuple[str, Any]] = []
    ctx = report.context or {}
    # The command line as typed gets a row of its own: a shared report says how to reproduce it.
    for key in ("command", "data", "model", "training"):
        if key in ctx and ctx[key] not in (None, ""):
            rows.append((key, Text(format_value(ctx[key]) if not isinstance(ctx[key], str) else ctx[key])))
    # Whatever else the context holds: short values on one "context" row, long ones (a script's path, a list)
    # on a row of their own. ``settings`` is summed up in the training row (each source is in the HTML and JSON).
    others, own_rows = [], []
    for k, v in ctx.items():
        if k in ("command", "data", "model", "training", "notes", "settings") or v is None or v == "":
            continue
        text = v if isinstance(v, str) else format_value(v)
        if isinstance(v, (int, float, str, bool)) and len(text) <= 40:
            others.append(f"{k}={text}")
        else:
            own_rows.append((str(k), text))
    if others:
        rows.append(("context", Text(", ".join(others))))
    rows += [(k, Text(text)) for k, text in own_rows]
    notes = ctx.get("notes")
    if isinstance(notes, (list, tuple)) and notes:
        rows.append(("notes", Text("; ".join(map(str, notes)))))
    return rows


def _header(report):
    from rich.text import Text

    grid = _key_grid(report)
    for key, value in _header_rows(report):
        grid.add_row(key, value)
    grid.add_row("verdict", _verdict_text(report))
    if report.partial:
        grid.add_row("note", Text("interrupted: partial report, only what was measured so far", style="yellow"))
    return grid


def _key_grid(report):
    """A two-column grid whose key column is as wide as the header's longest key (the closing verdict lines up)."""
    from rich.table import Table

    width = max([len("verdict")] + [len(k) for k, _ in _header_rows(report)])
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="bold", no_wrap=True, min_width=width)
    grid.add_column()
    return grid


def _verdict_grid(report):
    """The verdict as a key/value row, aligned as in the header (the report ends with it too)."""
    grid = _key_grid(report)
    grid.add_row("verdict", _verdict_text(report))
    return grid


def _verdict_text(report):
    from rich.text import Text

    style = "bold green" if report.ok and not report.partial else "bold red" if not report.ok else "bold yellow"
    return Text(report.verdict(), style=style)


def _evidence(f, width: int | None) -> str:
    """``name=value; ...``; within ``width`` cells, a value whose first word would not fit behind its name starts a line.

    The wrapper breaks lines at spaces only: ``defined_in=/home/.../network.py`` is one word, and one longer
    than the line would be cut mid-path where a line break after ``=`` keeps the path whole.
    """
    from rich.cells import cell_len

    items = []
    for k, v in f.evidence.items():
        value = format_value(v)
        first = (value.split() or [""])[0]
        if width is not None and cell_len(f"{k}={first}") > width >= cell_len(first):
            items.append(f"{k}=\n{value}")
        else:
            items.append(f"{k}={value}")
    return "; ".join(items)


def _finding_text(f, present: set[str], *, where: bool, width: int | None = None):
    """What, evidence, why, fix and causes of a finding (led by its place when ``where``), for lines of ``width``."""
    from rich.text import Text

    right = Text()
    if where and f.where:
        right.append("@ " + f.where + "\n")
    right.append(f.message)
    if f.evidence:
        right.append("\nevidence: ", style="bold")
        right.append(_evidence(f, width))
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
    return right


def _longest_word(text: str) -> int:
    """Cells of the longest run without a space: where the wrapper may not break a line."""
    from rich.cells import cell_len

    return max((cell_len(w) for w in text.split()), default=0)


class FindingsView:
    """Findings laid out for the console's width, every ``file:line`` and every evidence value kept whole.

    Wide consoles get a table: number, then severity, code and place in a
    column as wide as its longest unbreakable word (a ``file:line``, a code),
    then what, evidence, why and fix. When a place or a word of the text does
    not fit its column at this width (so that the wrapper would cut it), each
    finding becomes a block instead: a title line with number, severity and
    code, the place on a line of its own under it, and the text indented
    below, in nearly the full width.
    """

    MIN_TEXT = 40
    """The narrowest text column a table may leave: below it the blocks read better."""
    TABLE_EDGES = 10
    """Columns a findings table spends besides its left and text columns: edges, padding, the ``#`` column."""

    def __init__(self, findings, present: set[str], *, numbered: bool = True) -> None:
        self.findings = list(findings)
        self.present = present
        self.numbered = numbered

    def left_width(self) -> int:
        """Cells the left column needs: its title, severity, code and every word of the place whole."""
        from rich.cells import cell_len

        # "@" and the first place stay on one line: the "@ " counts with the first word.
        return max((max(len("finding"), len(f.severity.value), len(f.code), _longest_word(f.where),
                        cell_len("@ " + (f.where.split() or [""])[0])) for f in self.findings), default=8)

    def fits_table(self, width: int) -> bool:
        left = self.left_width()
        text = width - left - self.TABLE_EDGES
        if left > width // 3 or text < self.MIN_TEXT:
            return False
        return all(_longest_word(_finding_text(f, self.present, where=False).plain) <= text for f in self.findings)

    def _left(self, f):
        from rich.text import Text

        sev = f.severity.value
        left = Text()
        left.append(sev.upper(), style=_SEVERITY_STYLE.get(sev, ""))
        left.append("\n" + f.code, style="bold")
        if f.where:
            left.append("\n@ " + f.where)
        return left

    def table(self):
        from rich import box
        from rich.table import Table

        if self.numbered:
            table = Table(box=box.SIMPLE_HEAD, show_lines=True, expand=True)
            table.add_column("#", justify="right", no_wrap=True, width=2)
        else:  # one finding on its own: no header, no number
            table = Table.grid(padding=(0, 2), expand=True)
        table.add_column("finding", width=self.left_width())
        table.add_column("what, evidence, fix", ratio=1)
        for i, f in enumerate(self.findings, start=1):
            row = [self._left(f), _finding_text(f, self.present, where=False)]
            table.add_row(*([str(i)] if self.numbered else []), *row)
        return table

    def blocks(self, width: int):
        from rich.padding import Padding
        from rich.text import Text

        if self.numbered:
            yield Text("")
        for i, f in enumerate(self.findings, start=1):
            sev = f.severity.value
            title = Text()
            if self.numbered:
                title.append(f"{i:>2}  ")
            title.append(sev.upper(), style=_SEVERITY_STYLE.get(sev, ""))
            title.append("  " + f.code, style="bold")
            yield title
            yield Padding(_finding_text(f, self.present, where=True, width=width - 4), (0, 0, 1, 4))

    def __rich_console__(self, console, options):
        if self.fits_table(options.max_width):
            yield self.table()
        else:
            yield from self.blocks(options.max_width)


def _findings_table(report):
    present = {f.code for f in report.findings}
    return titled("Findings (root causes first)", FindingsView(report.findings, present))


def render_finding(finding) -> Any:
    """One finding on its own, laid out as in the report's findings (every cause is named)."""
    return FindingsView([finding], set(finding.caused_by), numbered=False)


def render_report(report) -> Any:
    """The report as one rich renderable (a ``Group``): header, findings, sections, and the verdict again at the end."""
    from rich.console import Group
    from rich.rule import Rule
    from rich.text import Text

    parts: list[Any] = [Rule(report.title, style="bold"), _header(report)]
    if report.findings:
        parts.append(_findings_table(report))
    else:
        parts.append(Text("No findings.", style="green"))
    shown = list(render_sections(report.sections or {}))
    for piece in shown:
        parts.append(Text(""))
        parts.append(piece)
    if report.findings or shown:
        # A long report ends where the reader's screen does: the verdict again, not the last table.
        parts += [Text(""), Rule(style="dim"), _verdict_grid(report)]
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
    return plain_text(report, width)


RICH_RENDERERS: dict[str, Callable[[Any], Any]] = {
    "report": render_report,
    "finding": render_finding,
    "gradcheck": gradcheck_rich,
    "data": data_summary_rich,
}
"""The rich renderer of each :data:`~netdoctor.display.RENDER_KINDS` kind (a data class's ``render_kind``)."""


class Trimmed:
    """A renderable printed without the spaces rich pads its lines with (tables, grids) at their ends.

    Terminals copy those spaces along with the text, diffs show them and
    ``less`` wraps on them; the plain-text export strips them too.
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __rich_console__(self, console: Any, options: Any) -> Any:
        from rich.segment import Segment

        for line in console.render_lines(self.inner, options, pad=False):
            while line and not line[-1].control and not line[-1].text.strip():
                line.pop()
            if line and not line[-1].control:
                last = line.pop()
                line.append(Segment(last.text.rstrip(), last.style))
            yield from line
            yield Segment.line()

    def __rich_measure__(self, console: Any, options: Any) -> Any:
        from rich.measure import Measurement

        return Measurement.get(console, options, self.inner)


def rich_view(obj: Any) -> Any:
    """The rich renderable of a Report, Finding, GradcheckResult or DataSummary (their ``__rich__``).

    The renderer is the one registered for the object's ``render_kind``; no
    data class is imported here, so data and renderers never import each other.

    Raises:
        InvalidArgument: for other objects.
    """
    render = RICH_RENDERERS.get(getattr(type(obj), "render_kind", None) or "")
    if render is None:
        from netdoctor.errors import InvalidArgument

        raise InvalidArgument(f"netdoctor renders a Report, Finding, GradcheckResult or DataSummary, not a {type(obj).__name__}.")
    return Trimmed(render(obj))


def plain_text(obj: Any, width: int = 80) -> str:
    """:func:`rich_view` as plain text (no colour, no escape codes) at ``width`` columns; trailing spaces stripped."""
    console = _console(width, color=False)
    console.print(rich_view(obj))
    text = console.export_text(styles=False)
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"
