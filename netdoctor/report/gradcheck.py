"""Words and tables for gradient-check results: plain text, rich, HTML.

The data classes of :mod:`netdoctor.gradients.result` delegate here
(``TensorCheck.message``, ``DirectionCheck.line``, ``GradcheckResult.summary``,
``__rich__``, ``_repr_html_``), so the result module stays plain data. Imports nothing at module level:
rich is imported inside :func:`result_rich`, the HTML conversion inside
:func:`result_html`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # only for annotations: the result module imports this one
    from netdoctor.gradients.result import DirectionCheck, GradcheckResult, TensorCheck

__all__ = ["format_index", "tensor_message", "direction_line", "result_summary", "result_rich", "result_html"]


def format_index(name: str, index: tuple[int, ...]) -> str:
    """``W1[12, 3]`` for a coordinate, ``b1[4]`` for a vector entry, ``x`` for a scalar."""
    if not index:
        return name
    return f"{name}[{', '.join(str(int(i)) for i in index)}]"


def tensor_message(t: TensorCheck) -> str:
    """One sentence: ``gradient of W1 disagrees at 3 of 784 entries (0.4%); worst ...``."""
    if t.problem is not None:
        return f"gradient of {t.name}: {t.problem}"
    total = t.n_checked
    share = 100.0 * t.n_failed / max(total, 1)
    w = t.worst[0]
    return (
        f"gradient of {t.name} disagrees at {t.n_failed} of {total} entries ({share:.1f}%); "
        f"worst {format_index(t.name, w.index)}: analytic {w.analytic:.2e}, numeric {w.numeric:.2e}, "
        f"rel_error {w.rel_error:.1e} > limit {t.limit:.0e}."
    )


def direction_line(d: DirectionCheck) -> str:
    """``direction model seed 0: analytic ... numeric ... rel_error ... ok|FAIL|skipped: why``."""
    mark = f"skipped: {d.skipped}" if d.skipped else "ok" if d.ok else "FAIL"
    return (f"direction {d.scope} seed {d.seed}: analytic {d.analytic:.4e} numeric "
            f"{d.numeric:.4e} rel_error {d.rel_error:.1e} {mark}")


def result_summary(r: GradcheckResult) -> str:
    """Multi-line plain text: verdict, then per tensor a compact table of its worst entries and the hint."""
    verdict = "gradients OK" if r.ok else f"gradient mismatch in {', '.join(t.name for t in r.failed) or 'model'}"
    lines = [
        f"{verdict} (method {r.method}, h {r.h:.0e}, rtol {r.rtol:.0e}, "
        f"{r.n_checked} entries checked, worst rel_error {r.worst_rel_error:.1e})"
    ]
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


def result_html(r: GradcheckResult) -> str:
    """Jupyter display: the ``__rich__`` table as HTML with inline styles (needs rich)."""
    from netdoctor.notebook import to_html

    return to_html(r)


def result_rich(r: GradcheckResult) -> Any:  # pragma: no cover - thin rendering layer
    """A rich renderable: the verdict line, directions, one table row per tensor, hints and notes."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    head = Text(result_summary(r).splitlines()[0], style="bold green" if r.ok else "bold red")
    table = Table(show_edge=False, pad_edge=False)
    for col in ("tensor", "shape", "checked", "failed", "skipped", "max rel err", "worst entry: analytic vs numeric"):
        table.add_column(col)
    for t in r.tensors:
        w = t.worst[0] if t.worst else None
        worst = f"{format_index(t.name, w.index)}: {w.analytic:.3e} vs {w.numeric:.3e}" if (w and not t.ok) else ""
        table.add_row(
            t.name, "x".join(map(str, t.shape)), str(t.n_checked),
            Text(str(t.n_failed), style="red" if t.n_failed else ""), str(t.n_skipped),
            f"{t.max_rel_error:.1e}", worst or (t.problem or ""),
        )
    # Hints are sentences: below the table, one line each, not squeezed into a column.
    hints = [Text(f"{t.name}: {t.hint}") for t in r.tensors if t.hint and not t.ok]
    directions = [Text(d.line(), style="yellow" if d.skipped else "" if d.ok else "red") for d in r.directions]
    notes = [Text(f"note: {n}", style="dim") for n in r.notes]
    return Group(head, *directions, table, *hints, *notes)
