"""The HTML renderer: the standalone report page and the notebook fragments, from one set of functions.

:func:`report_html` is the page that ``netdoctor check --html`` writes (and
``netdoctor run``'s report): one self-contained file, no scripts, fonts or
network, that reads top to bottom like the terminal report. The verdict
comes first, then how the report was made (netdoctor version, date, the
command line as typed, every setting and where it came from, the data), the
findings root cause first, each as a section (severity, code, place,
message, the evidence as a table of named numbers, why, the fix with code
shown as code, links to the findings that cause it), then every measurement
section as a real table with its plot beside it (PNG data URIs, when
matplotlib is installed). Long details fold away in ``<details>``.

:func:`fragment` is what ``_repr_html_`` of every netdoctor result returns
(through :class:`~netdoctor.display.Renderable`): the same markup
inside ``<div class="nd">`` with the same stylesheet, scoped to ``.nd``, so
several outputs on one notebook page never disturb each other or the page.

The layout is responsive (viewport tag, no fixed-width text; tables of
words wrap, a long path anywhere, so no cell is cut; only grids of numbers
scroll inside their own box) and meets WCAG AA contrast (>= 4.5:1) in the
light and the dark colour scheme (``prefers-color-scheme``). Every piece of
user text is escaped; backticks in messages and fixes become ``<code>``.
"""

from __future__ import annotations

import base64
import datetime
import html
import math
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from netdoctor.report.format import cell, format_value, num, pct

__all__ = ["report_html", "fragment", "live_view_html", "HTML_RENDERERS", "STYLESHEET", "PALETTES"]

# -- style ---------------------------------------------------------------------------------------
PALETTES: dict[str, dict[str, str]] = {
    "light": {"bg": "#ffffff", "panel": "#f5f6f8", "code": "#eef0f3", "fg": "#1b1f24", "muted": "#4d5560",
              "border": "#c9ced6", "error": "#a4001d", "warning": "#7a4a00", "info": "#00527a", "ok": "#1e6b2a",
              "link": "#0b57b8"},
    "dark": {"bg": "#15171a", "panel": "#1e2126", "code": "#262a30", "fg": "#e8eaed", "muted": "#b3bac4",
             "border": "#454b55", "error": "#ff8f8f", "warning": "#f2c265", "info": "#7cc4f2", "ok": "#8bd49a",
             "link": "#8ab8ff"},
}
"""The colours of each scheme. Every text colour has >= 4.5:1 contrast on ``bg``, ``panel`` and ``code``
(tests/test_html.py computes it with the WCAG formula); badges put ``bg`` on the severity colour."""


def _vars(palette: Mapping[str, str]) -> str:
    return "".join(f"--nd-{k}:{v};" for k, v in palette.items())


STYLESHEET = (
    ".nd{" + _vars(PALETTES["light"]) + "color:var(--nd-fg);background:var(--nd-bg);"
    "font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',Arial,sans-serif;"
    "overflow-wrap:break-word;text-align:left}"
    "@media (prefers-color-scheme:dark){.nd{" + _vars(PALETTES["dark"]) + "}}"
    "body.nd{margin:0 auto;max-width:72rem;padding:1rem 1rem 3rem}"
    ".nd *{box-sizing:border-box}"
    ".nd h1{font-size:1.15rem;margin:0 0 .25rem;color:var(--nd-muted);font-weight:600}"
    ".nd h2{font-size:1.3rem;margin:2rem 0 .5rem;padding-bottom:.2rem;border-bottom:1px solid var(--nd-border)}"
    ".nd h3{font-size:1.05rem;margin:0 0 .4rem;display:flex;flex-wrap:wrap;gap:.4rem;align-items:baseline}"
    ".nd p{margin:.4rem 0}"
    ".nd a{color:var(--nd-link)}"
    ".nd code,.nd pre{font-family:ui-monospace,Menlo,Consolas,'DejaVu Sans Mono',monospace;font-size:.9em;"
    "background:var(--nd-code);color:var(--nd-fg);border-radius:3px}"
    ".nd code{padding:0 .2em;overflow-wrap:anywhere}"
    ".nd .arg{display:inline-block;max-width:100%}.nd .n{white-space:nowrap}"
    ".nd pre{padding:.5rem;white-space:pre-wrap;overflow-wrap:anywhere;margin:.4rem 0}"
    ".nd .verdict{font-size:1.35rem;font-weight:650;margin:.2rem 0 .8rem;padding:.6rem .8rem;"
    "border-left:.35rem solid var(--nd-ok);background:var(--nd-panel)}"
    ".nd .verdict.error{border-color:var(--nd-error)}.nd .verdict.warning{border-color:var(--nd-warning)}"
    ".nd .muted{color:var(--nd-muted)}"
    ".nd .badge{display:inline-block;padding:0 .45em;border-radius:3px;font-size:.8rem;font-weight:700;"
    "letter-spacing:.03em;color:var(--nd-bg);background:var(--nd-info)}"
    ".nd .badge.error{background:var(--nd-error)}.nd .badge.warning{background:var(--nd-warning)}"
    ".nd .badge.ok{background:var(--nd-ok)}"
    ".nd .finding{border:1px solid var(--nd-border);border-left:.35rem solid var(--nd-info);border-radius:4px;"
    "padding:.7rem .9rem;margin:.8rem 0;background:var(--nd-bg)}"
    ".nd .finding.error{border-left-color:var(--nd-error)}.nd .finding.warning{border-left-color:var(--nd-warning)}"
    ".nd .finding:target{outline:2px solid var(--nd-link)}"
    ".nd .label{font-weight:650}"
    ".nd .fix .label{color:var(--nd-ok)}"
    ".nd .scroll{overflow-x:auto;max-width:100%;margin:.4rem 0}"
    ".nd table{border-collapse:collapse;font-size:.92rem;margin:0}"
    ".nd caption{text-align:left;font-weight:650;padding:.2rem 0;caption-side:top}"
    ".nd th,.nd td{padding:.2rem .6rem;border-bottom:1px solid var(--nd-border);vertical-align:top;text-align:left}"
    ".nd thead th{background:var(--nd-panel);vertical-align:bottom}"
    ".nd tbody th{font-weight:600}"
    ".nd td.num,.nd th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
    ".nd tr.bad td,.nd td.bad{color:var(--nd-error);font-weight:600}"
    ".nd td.diag{font-weight:700}"
    # Tables of words wrap inside their column, a long path or name anywhere rather than past the edge; a key
    # keeps at least 12em (border box; 35vw on a phone) before it breaks, so short names never split (a nested
    # table's keys excepted: they sit in a value cell).
    ".nd .wraps{max-width:100%;margin:.4rem 0}.nd .wraps>table{max-width:100%}"
    ".nd table.kv td,.nd table.kv th{overflow-wrap:anywhere}.nd table.kv tbody th{min-width:min(12em,35vw)}.nd table table.kv tbody th{min-width:0}"
    ".nd table table{font-size:inherit}.nd table table td,.nd table table th{padding:0 .4rem;border:0}"
    ".nd details{margin:.5rem 0}.nd summary{cursor:pointer;color:var(--nd-link)}"
    ".nd figure{margin:.8rem 0}.nd figure img{display:block;max-width:100%;height:auto;background:#fff;"
    "border:1px solid var(--nd-border)}"
    ".nd figcaption{font-size:.9rem;color:var(--nd-muted)}"
    ".nd nav ol{padding-left:1.4rem;margin:.3rem 0}"
    ".nd .run{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,22rem),1fr));column-gap:2rem}"
    ".nd .run h2{margin-top:1rem}.nd .about table{width:100%}"
    ".nd .finding{display:grid;grid-template-columns:minmax(0,1fr)}"
    "@media (min-width:60rem){.nd .finding{grid-template-columns:minmax(0,3fr) minmax(0,2fr);column-gap:1.5rem}"
    ".nd .finding>h3{grid-column:1/-1}.nd .finding>.evidence-box{grid-column:2;grid-row:2/span 6}"
    ".nd .finding>:not(h3):not(.evidence-box){grid-column:1}}"
    ".nd .spark{font-family:ui-monospace,Menlo,Consolas,'DejaVu Sans Mono',monospace;font-size:.75em}"
    ".nd footer{margin-top:2.5rem;font-size:.9rem;color:var(--nd-muted)}"
)


# -- small pieces ----------------------------------------------------------------------------------
def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


_BACKTICKS = re.compile(r"`([^`\n]+)`")


def _prose(text: str) -> str:
    """Escaped text with ```code``` spans as ``<code>``."""
    return _BACKTICKS.sub(lambda m: f"<code>{m.group(1)}</code>", _esc(text))


_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[+-]\d+)")


def _nowrap_numbers(text: str) -> str:
    """Escaped text in which numbers like ``-5.741e-01`` never break at their minus signs."""
    return _NUMBER.sub(lambda m: f'<span class="n">{m.group(0)}</span>', _esc(text))


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-") or "x"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _scroll(table: str, label: str) -> str:
    """A grid of numbers in its own horizontally scrolling box: a table that cannot wrap never widens the page.

    Only for tables whose cells are numbers and short names (layers, epochs,
    confusion matrix, gradient check, probe records): at 420 px their columns
    do not fit side by side, and a number must not break. Tables of words
    (settings, evidence, sections of names and values) wrap instead
    (:func:`_wrapping`): every cell stays in view.
    """
    return f'<div class="scroll" role="region" aria-label="{_esc(label)}" tabindex="0">{table}</div>'


def _wrapping(table: str, label: str) -> str:
    """A table of words in a box as wide as the column it sits in: its cells wrap (``overflow-wrap:anywhere``)."""
    cls = "wraps evidence-box" if label == "Evidence" else "wraps"
    return f'<div class="{cls}">{table}</div>'


def _table(columns: Sequence[str], rows: Iterable[Sequence[Any]], *, caption: str = "", numeric: Sequence[bool] = (),
           row_class: Sequence[str] = (), row_header: bool = True, cls: str = "") -> str:
    """A ``<table>`` with a header row; cells are already HTML; ``numeric[i]`` right-aligns column i."""
    numeric = list(numeric) or [False] * len(columns)
    head = "".join(f'<th scope="col"{" class=num" if n else ""}>{_esc(c)}</th>' for c, n in zip(columns, numeric))
    body = []
    for i, row in enumerate(rows):
        tr = f' class="{row_class[i]}"' if i < len(row_class) and row_class[i] else ""
        cells = []
        for j, content in enumerate(row):
            attr = ' class="num"' if j < len(numeric) and numeric[j] else ""
            if j == 0 and row_header:
                cells.append(f'<th scope="row"{attr}>{content}</th>')
            else:
                cells.append(f"<td{attr}>{content}</td>")
        body.append(f"<tr{tr}>{''.join(cells)}</tr>")
    cap = f"<caption>{caption}</caption>" if caption else ""
    klass = f' class="{cls}"' if cls else ""
    return f"<table{klass}>{cap}<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _value_html(value: Any) -> str:
    """An evidence or setting value: nested mappings as a small table, everything else in its short form."""
    if hasattr(value, "to_dict") and not isinstance(value, Mapping):
        value = value.to_dict()
    if isinstance(value, Mapping) and value:
        return _kv_table(value, nested=True)
    return _esc(format_value(value))


def _kv_table(items: Mapping[str, Any], *, caption: str = "", nested: bool = False, cls: str = "kv") -> str:
    """Name and value, one row each (a mapping of mappings gets one column per inner key)."""
    inner = [v for v in items.values() if isinstance(v, Mapping)]
    if inner and len(inner) == len(items) and not nested:
        keys: list[str] = []
        for v in inner:
            keys += [str(k) for k in v if str(k) not in keys]
        grid = [[_esc(k)] + [_value_html(v.get(key, "")) for key in keys] for k, v in items.items()]
        return _wrapping(_table(["name", *keys], grid, caption=_esc(caption), cls="kv"), caption or "table")
    rows = "".join(f'<tr><th scope="row">{_esc(k)}</th><td>{_value_html(v)}</td></tr>' for k, v in items.items())
    cap = f"<caption>{_esc(caption)}</caption>" if caption else ""
    table = f'<table class="{cls}">{cap}<tbody>{rows}</tbody></table>'
    return table if nested else _wrapping(table, caption or "table")


def _section(key: str, title: str, body: str) -> str:
    return f'<section id="section-{_slug(key)}" data-section="{_esc(key)}"><h2>{_esc(title)}</h2>{body}</section>'


def _details(summary: str, body: str, *, open_: bool = False) -> str:
    return f"<details{' open' if open_ else ''}><summary>{_esc(summary)}</summary>{body}</details>"


# -- findings ------------------------------------------------------------------------------------
def _first_ids(findings: Sequence[Any]) -> dict[str, str]:
    """code -> the anchor of the first finding with that code (``caused_by`` links point there)."""
    ids: dict[str, str] = {}
    for i, f in enumerate(findings, start=1):
        ids.setdefault(f.code, f"finding-{i}")
    return ids


def finding_html(f: Any, *, index: int | None = None, anchors: Mapping[str, str] | None = None) -> str:
    """One finding as an ``<article>``: severity, code, place, message, evidence table, why, fix, causes."""
    sev = f.severity.value
    anchor = f' id="finding-{index}"' if index is not None else ""
    head = (f'<h3>{f"<span class=muted>{index}.</span> " if index is not None else ""}'
            f'<span class="badge {sev}">{_esc(sev.upper())}</span> <code class="code">{_esc(f.code)}</code>'
            + (f' <span class="where muted">at <code>{_esc(f.where)}</code></span>' if f.where else "") + "</h3>")
    parts = [head, f'<p class="message">{_prose(f.message)}</p>']
    if f.evidence:
        parts.append(_kv_table({str(k): v for k, v in f.evidence.items()}, caption="Evidence", cls="evidence kv"))
    if f.explanation:
        parts.append(f'<p class="why"><span class="label">Why:</span> {_prose(f.explanation)}</p>')
    if f.fix:
        parts.append(f'<p class="fix"><span class="label">Fix:</span> {_prose(f.fix)}</p>')
    # In a report, the causes it contains (as the terminal lists them), each a link; on its own, every cause.
    causes = [c for c in f.caused_by if c != f.code and (anchors is None or c in anchors)]
    if causes:
        anchors = anchors or {}
        links = ", ".join(f'<a href="#{anchors[c]}"><code>{_esc(c)}</code></a>' if c in anchors else f"<code>{_esc(c)}</code>"
                          for c in causes)
        parts.append(f'<p class="caused-by"><span class="label">Caused by:</span> {links}</p>')
    return f'<article class="finding {sev}"{anchor} data-code="{_esc(f.code)}">{"".join(parts)}</article>'


def _findings(report: Any) -> str:
    if not report.findings:
        return _section("findings", "Findings", '<p class="ok">No findings.</p>')
    anchors = _first_ids(report.findings)
    body = "".join(finding_html(f, index=i, anchors=anchors) for i, f in enumerate(report.findings, start=1))
    return _section("findings", "Findings (root causes first)", body)


# -- header --------------------------------------------------------------------------------------
_HIDDEN_KEYS = {"notes", "command", "date", "netdoctor_version"}


def _verdict(report: Any, anchors: Mapping[str, str]) -> str:
    cls = "error" if not report.ok else "warning" if (report.partial or report.findings) else "ok"
    text = _esc(report.verdict())
    root = report.root_cause()
    if root is not None and root.code in anchors:
        text = text.replace(_esc(root.code), f'<a href="#{anchors[root.code]}">{_esc(root.code)}</a>', 1)
    return f'<p class="verdict {cls}" id="verdict"><span class="label">Verdict:</span> {text}</p>'


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, (str, list, tuple, Mapping)) and len(value) == 0)


def _settings(context: Mapping[str, Any]) -> str:
    """Every setting of the context (what it is, and where it came from when the context says so)."""
    items = {k: v for k, v in context.items() if k not in _HIDDEN_KEYS and not _empty(v)}
    if not items:
        return ""
    flat = {k: v for k, v in items.items() if not isinstance(v, Mapping)}
    nested = {k: v for k, v in items.items() if isinstance(v, Mapping)}
    out = [_kv_table(flat, caption="Settings")] if flat else []
    for k, v in nested.items():
        # ``settings`` maps each setting to its value and its source (``--lr``, ``Class.attribute``, ``default``).
        title = "Where each setting came from" if k == "settings" else str(k).replace("_", " ").capitalize()
        out.append(_kv_table(v, caption=title))
    return "".join(out)


def _meta(report: Any, command: str | None, version: str, when: str) -> str:
    rows = [("netdoctor", _esc(version)), ("date", f"<time>{_esc(when)}</time>")]
    command = command if command is not None else report.context.get("command")
    if command:
        # One unbreakable box per argument: the line wraps between arguments, never inside ``--lr``.
        args = " ".join(f'<span class="arg">{_esc(a)}</span>' for a in _split(command))
        rows.append(("command", f'<code class="command">{args}</code>'))
    cells = "".join(f'<tr><th scope="row">{k}</th><td>{v}</td></tr>' for k, v in rows)
    return f'<table class="kv meta"><tbody>{cells}</tbody></table>'


def _split(command: str) -> list[str]:
    """The shell words of ``command``, each still quoted as typed (so the joined text pastes back as it was)."""
    import shlex

    try:
        words = shlex.split(command)
    except ValueError:
        return command.split()
    return [shlex.quote(w) for w in words]


def _notes(context: Mapping[str, Any]) -> str:
    notes = context.get("notes")
    if not isinstance(notes, (list, tuple)) or not notes:
        return ""
    return '<div class="notes"><p class="label">Notes</p><ul>' + "".join(f"<li>{_prose(str(n))}</li>" for n in notes) + "</ul></div>"


# -- sections ------------------------------------------------------------------------------------
def data_summary_html(summary: Any) -> str:
    """A data summary (object or ``to_dict()``) as a table: per digit its images and share, then the pixel scaling."""
    d = summary.to_dict() if hasattr(summary, "to_dict") else dict(summary)
    counts = {str(k): v for k, v in (d.get("label_counts") or {}).items()}
    rows_n = d.get("rows") or sum(counts.values()) or 1
    name = os.path.basename(str(d.get("source") or "")) or "data"
    scaled = d.get("already_scaled")
    lo, hi = d.get("pixel_min"), d.get("pixel_max")
    if callable(getattr(summary, "scaling_text", None)):
        scaling = summary.scaling_text()
    elif d.get("scaling_text"):
        scaling = str(d["scaling_text"])
    elif lo is not None:
        scaling = (f"pixels {format_value(lo)}..{format_value(hi)}: "
                   + ("already in [0, 1], used as they are" if scaled else "divided by 255 to [0, 1]"))
    else:
        scaling = ""
    # One row per digit: as narrow as a phone, as long as the settings beside it on a wide screen.
    table = _table(["digit", "images", "share"], [[_esc(k), f"{v:,}", pct(v / rows_n)] for k, v in counts.items()],
                   numeric=[False, True, True])
    notes = "".join(f'<li><span class="label">Note:</span> {_esc(n)}</li>' for n in d.get("notes") or ())
    return (f"<p><b>{_esc(name)}</b>: {d.get('rows', 0):,} images x {d.get('features', 0):,} pixels</p>"
            + _scroll(table, "data summary") + (f'<p class="muted">{_esc(scaling)}</p>' if scaling else "")
            + (f'<ul class="data-notes">{notes}</ul>' if notes else ""))


def _layers(rows: Sequence[Mapping[str, Any]], probes: Sequence[Mapping[str, Any]]) -> str:
    from netdoctor.monitor.layer_stats import GUESSED_NOTE, activation_label

    cols = ["layer", "activation", "units", "saturated", "dead", "act std", "|grad W|", "upd/w"]
    body = [[_esc(r.get("layer", "?")), _esc(activation_label(r)), num(r.get("units")), pct(r.get("saturation")),
             pct(r.get("dead")), num(r.get("act_std")), num(r.get("grad_norm")), num(r.get("update_ratio"))] for r in rows]
    step = next((p.get("step") for p in reversed(probes) if isinstance(p, Mapping) and "step" in p), None)
    at = f" (step {step})" if step is not None else ""
    guess = f" {_esc(GUESSED_NOTE)}" if any(r.get("guessed") for r in rows) else ""
    note = (f'<p class="muted">Measured at the last probe{at} on the diagnosis\'s own probe batch.{guess} '
            "<b>|grad W|</b> is the norm of the loss gradient of the layer's weight tensor on that batch; "
            "<b>upd/w</b> is ||W after − W before|| / ||W before|| of the last update. The live view of "
            "<code>netdoctor.notebook.watch</code> probes the rows you give it as <code>X_probe</code>, so its "
            "|grad W| measures another batch and differs, by orders of magnitude when most units are saturated.</p>")
    return _scroll(_table(cols, body, numeric=[False, False] + [True] * 6), "layers") + note


def _history(epochs: Sequence[Mapping[str, Any]]) -> str:
    series = [(k, name, p) for k, name, p in (("loss", "loss", False), ("train_accuracy", "train acc", True),
                                               ("test_accuracy", "test acc", True), ("eval_accuracy", "eval acc", True))
              if any(e.get(k) is not None for e in epochs)]
    rows = [[num(e.get("epoch"))] + [(pct if p else num)(e.get(k)) for k, _, p in series] for e in epochs]
    table = _table(["epoch", *[name for _, name, _ in series]], rows, numeric=[True] * (len(series) + 1))
    if len(epochs) > 8:  # long runs: first and last epochs in view, every epoch one click away
        short = [rows[0], rows[1], ["…"] + [""] * len(series), *rows[-3:]]
        view = _scroll(_table(["epoch", *[n for _, n, _ in series]], short, numeric=[True] * (len(series) + 1)), "epochs")
        return view + _details(f"All {len(epochs)} epochs", _scroll(table, "all epochs"))
    return _scroll(table, "epochs")


def _confusion(section: Mapping[str, Any]) -> str:
    matrix = section.get("matrix") or []
    labels = list(section.get("labels") or range(len(matrix)))
    rows = []
    for i, (lab, row) in enumerate(zip(labels, matrix)):
        cells = [_esc(lab)] + [f'<span class="diag">{int(v)}</span>' if j == i else str(int(v)) for j, v in enumerate(row)]
        rows.append(cells)
    table = _table(["true \\ predicted", *map(str, labels)], rows, numeric=[False] + [True] * len(labels))
    return (f'<p>On {_esc(section.get("on", "evaluation data"))}; rows: true label, columns: predicted label '
            "(the diagonal, in bold, is correct).</p>" + _scroll(table, "confusion matrix"))


def _predictions(section: Mapping[str, Any]) -> str:
    counts = list(section.get("counts") or [])
    labels = list(section.get("labels") or range(len(counts)))
    total = sum(counts) or 1
    table = _table(["label", *map(str, labels)], [["predicted", *map(str, counts)], ["share", *[pct(c / total) for c in counts]]],
                   numeric=[False] + [True] * len(labels))
    return f'<p>Predicted labels on {_esc(section.get("on", "evaluation data"))} ({sum(counts)} rows).</p>' + _scroll(table, "predictions")


def gradcheck_html(source: Any) -> str:
    """The gradient-check table (:func:`netdoctor.report.gradcheck.gradcheck_table`, as in the terminal) in HTML."""
    from netdoctor.report.gradcheck import GRADCHECK_COLUMNS, gradcheck_table

    tab = gradcheck_table(source)
    rows = [[_nowrap_numbers(c) for c in row] for row in tab.rows]
    numeric = [False, False, True, True, True, True, True, False]
    parts = [f'<p class="gc-verdict"><span class="badge {"ok" if tab.ok else "error"}">{"OK" if tab.ok else "MISMATCH"}</span> '
             f"{_nowrap_numbers(tab.headline)}</p>",
             _scroll(_table(GRADCHECK_COLUMNS, rows, numeric=numeric, row_class=["bad" if b else "" for b in tab.failed]),
                     "gradient check")]
    if tab.hints:
        parts.append("<ul>" + "".join(f"<li>{_prose(h)}</li>" for h in tab.hints) + "</ul>")
    extra = "".join(f"<li>{_esc(line)}</li>" for line, _ in tab.directions) + "".join(f"<li>{_prose(n)}</li>" for n in tab.notes)
    if extra:
        parts.append(_details("How the check was done", f"<ul>{extra}</ul>"))
    return '<div class="gradcheck">' + "".join(parts) + "</div>"


def _probe(section: Mapping[str, Any]) -> str:
    lr, eff, factor = section.get("lr"), section.get("lr_effective"), section.get("lr_factor")
    if not all(_is_number(v) for v in (lr, eff, factor)):
        return _kv_table(section)
    rows: dict[str, Any] = {"learning rate (lr)": lr, "batch size": section.get("batch_size"),
                            "applied step / mean gradient": eff, "applied / lr": factor}
    weight = section.get("history_weight")
    text = f"Each step applied {eff:.3g} x the batch's mean gradient: lr {lr:g} x {factor:.3g}."
    if isinstance(weight, (int, float)) and not isinstance(weight, bool):
        # Rounded to 2 decimals: the least-squares fit leaves ~1e-17 where the true weight is 0.
        rows["earlier gradients re-applied (weight)"] = round(weight, 2) + 0.0
        text += " Earlier steps' gradients re-applied with weight 0 means none, as it should be; 1 means every earlier gradient again."
    return f"<p>{_esc(text)}</p>" + _kv_table({k: v for k, v in rows.items() if v is not None})


def _baseline(section: Mapping[str, Any]) -> str:
    acc = section.get("accuracy")
    if not _is_number(acc):
        return _kv_table(section)
    return (f"<p>{_esc(section.get('model', 'reference MLP'))} reached {pct(acc)} on the same data with the same "
            "settings.</p>" + _kv_table({k: v for k, v in section.items() if k != "model"}))


def _probes(records: Sequence[Mapping[str, Any]]) -> str:
    """The probe records over training (what the plots draw) as a table, folded away."""
    records = [r for r in records if isinstance(r, Mapping)]
    tensors: list[str] = []
    for r in records:
        tensors += [t for t in (r.get("grad_norms") or {}) if t not in tensors]
    cols = ["step", "epoch", "loss", *[f"|grad {t}|" for t in tensors], *[f"upd/w {t}" for t in tensors]]
    rows = [[num(r.get("step")), num(r.get("epoch")), num(r.get("loss")),
             *[num((r.get("grad_norms") or {}).get(t)) for t in tensors],
             *[num((r.get("update_ratios") or {}).get(t)) for t in tensors]] for r in records]
    return _details(f"Every probe over training ({len(rows)} records)",
                    _scroll(_table(cols, rows, numeric=[True] * len(cols)), "probe records"))


_TITLES = {"layers": "Layers (last probe)", "history": "Training per epoch", "confusion": "Confusion matrix",
           "predictions": "Predicted labels", "experiments": "Experiments", "gradcheck": "Gradient check",
           "probe": "Update probe (a few real training steps)", "baseline": "Reference MLP on the same data",
           "data": "Data"}
_PLOTS = {"history": ("history",), "layers": ("activations", "gradients"), "confusion": ("confusion",),
          "gradcheck": ("gradcheck",)}
"""Which plots of :func:`netdoctor.report.plots.plot_report` sit beside which section."""


def _section_body(key: str, value: Any, sections: Mapping[str, Any]) -> str:
    if key == "layers" and isinstance(value, Sequence):
        return _layers(value, sections.get("probes") or [])
    if key == "history" and isinstance(value, Sequence):
        return _history(value)
    if key == "confusion" and isinstance(value, Mapping) and value.get("matrix"):
        return _confusion(value)
    if key == "predictions" and isinstance(value, Mapping) and value.get("counts"):
        return _predictions(value)
    if key == "gradcheck" and (hasattr(value, "tensors") or (isinstance(value, Mapping) and value.get("tensors"))):
        return gradcheck_html(value)
    if key == "probe" and isinstance(value, Mapping):
        return _probe(value)
    if key == "baseline" and isinstance(value, Mapping):
        return _baseline(value)
    if key == "data":
        return data_summary_html(value)
    if isinstance(value, str):
        return f"<p>{_prose(value)}</p>"
    if hasattr(value, "to_dict"):
        value = value.to_dict()
    if isinstance(value, Mapping):
        return _kv_table(value)
    if isinstance(value, Sequence) and value and all(isinstance(v, Mapping) for v in value):
        cols: list[str] = []
        for v in value:
            cols += [str(k) for k in v if str(k) not in cols]
        return _wrapping(_table(cols, [[_value_html(v.get(c)) for c in cols] for v in value], row_header=False, cls="kv"), key)
    return f"<p>{_esc(format_value(value))}</p>"


def _ordered_sections(sections: Mapping[str, Any]) -> list[str]:
    from netdoctor.report.sections import _KNOWN_SECTIONS

    keys = [k for k in _KNOWN_SECTIONS if k in sections] + [k for k in sections if k not in _KNOWN_SECTIONS]
    out = []
    for k in keys:
        v = sections[k]
        if k in ("probes", "data") or _empty(v):
            continue
        out.append(k)
    return out


# -- plots ---------------------------------------------------------------------------------------
def _series(values: Iterable[Any]) -> list[float]:
    return [float(v) for v in values if _is_number(v) and math.isfinite(v)]


def _alt(name: str, sections: Mapping[str, Any], probes: Sequence[Mapping[str, Any]]) -> str:
    """Alt text that says what the picture shows, with its main numbers."""
    if name == "history":
        h = sections.get("history") or []
        parts = []
        for key, label, p in (("loss", "training loss", False), ("train_accuracy", "train accuracy", True),
                              ("test_accuracy", "test accuracy", True)):
            s = _series(e.get(key) for e in h)
            if s:
                f = pct if p else num
                parts.append(f"{label} {f(s[0])} to {f(s[-1])}")
        return f"Line charts of loss and accuracy over {len(h)} epochs: " + ", ".join(parts) + "."
    if name == "activations":
        layers = sections.get("layers") or []
        tail = "; ".join(f"layer {r.get('layer')} ({r.get('activation')}): {pct(r.get('saturation'))} saturated, "
                         f"{pct(r.get('dead'))} dead at the last probe" for r in layers)
        return f"Activation histograms of every layer at {len(probes)} probes over training, with the saturated and dead shares. {tail}."
    if name == "gradients":
        first, last = (probes[0] if probes else {}), (probes[-1] if probes else {})
        tail = "; ".join(f"{t}: {num(v)} to {num((last.get('grad_norms') or {}).get(t))}"
                         for t, v in (first.get("grad_norms") or {}).items())
        return f"Gradient norm and update/weight ratio of every tensor over training, the healthy band of updates shaded. Gradient norms, first to last probe: {tail}."
    if name == "confusion":
        c = sections.get("confusion") or {}
        return (f"Confusion matrix on {c.get('on', 'evaluation data')} as a heat map, rows true label, columns predicted label, "
                "each cell's count written in it; the same numbers as the table above.")
    if name == "gradcheck":
        g = sections.get("gradcheck") or {}
        g = g.to_dict() if hasattr(g, "to_dict") else g
        bad = [t.get("name") for t in g.get("tensors") or [] if not t.get("ok")]
        return ("Bar chart of the worst relative error per tensor (log scale), median as dots, limit as a black tick: "
                + (f"over the limit for {', '.join(map(str, bad))}." if bad else "every tensor below its limit."))
    return f"Plot: {name}."


def _figures(report: Any, monitor: Any) -> dict[str, str] | None:
    """name -> ``<figure>`` with a PNG data URI; None without matplotlib."""
    try:
        from netdoctor.report.plots import figure_png, plot_report, probe_records

        figures = plot_report(report, monitor=monitor)
    except ImportError:  # MissingExtra is an ImportError too
        return None
    sections = report.sections or {}
    probes = probe_records(report, monitor)
    out = {}
    for name, fig in figures.items():
        data = base64.b64encode(figure_png(fig, dpi=80)).decode("ascii")
        w, h = (int(round(v * 80)) for v in fig.get_size_inches())
        alt = _alt(name, sections, probes)
        out[name] = (f'<figure class="plot" data-plot="{_esc(name)}"><img src="data:image/png;base64,{data}" '
                     f'width="{w}" height="{h}" alt="{_esc(alt)}" loading="eager"><figcaption>{_esc(alt)}</figcaption></figure>')
    return out


# -- whole documents -----------------------------------------------------------------------------
def _body(report: Any, *, figures: Mapping[str, str], command: str | None, when: str, version: str) -> str:
    sections = report.sections or {}
    anchors = _first_ids(report.findings)
    head = [f"<header><h1>{_esc(report.title)}</h1>", _verdict(report, anchors)]
    if report.partial:
        head.append('<p><span class="badge warning">PARTIAL</span> Interrupted: a partial report, only what was measured so far.</p>')
    about = [_meta(report, command, version, when), _settings(report.context or {}), _notes(report.context or {})]
    data = ""
    if sections.get("data") is not None:
        data = f'<section id="section-data" data-section="data"><h2>Data</h2>{data_summary_html(sections["data"])}</section>'
    if report.findings:
        toc = "".join(f'<li><a href="#finding-{i}"><code>{_esc(f.code)}</code></a> <span class="muted">'
                      f"({_esc(f.severity.value)})</span></li>" for i, f in enumerate(report.findings, start=1))
        data += f'<nav aria-label="findings"><h2>Findings</h2><ol>{toc}</ol></nav>'
    head.append(f'<div class="run"><div class="about"><h2>This run</h2>{"".join(about)}</div><div>{data}</div></div>')
    head.append("</header>")
    parts = ["".join(head), _findings(report)]
    for key in _ordered_sections(sections):
        body = _section_body(key, sections[key], sections)
        if key == "layers" and sections.get("probes"):
            body += _probes(sections["probes"])
        body += "".join(figures.get(name, "") for name in _PLOTS.get(key, ()))
        parts.append(_section(key, _TITLES.get(key, key.replace("_", " ").capitalize()), body))
    return "".join(parts)


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).astimezone().isoformat(timespec="seconds")


def _version() -> str:
    """The installed netdoctor's version (from its metadata: importing the package here would close an import circle)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("netdoctor")
    except PackageNotFoundError:
        return "(version unknown: not installed)"


def report_html(report: Any, *, plots: bool = True, monitor: Any = None, command: str | None = None,
                when: str | None = None) -> str:
    """The report as one self-contained HTML page (what ``netdoctor check --html`` writes).

    Args:
        report: a :class:`~netdoctor.findings.Report`.
        plots: embed the plots of :func:`netdoctor.report.plots.plot_report` next to
            their sections (PNG data URIs; skipped quietly without matplotlib).
        monitor: probe records for the plots over training (see ``plot_report``).
        command: the command line to show (default: ``report.context["command"]``).
        when: the date to show (default: now, with the local time zone).

    Returns:
        the page, starting with ``<!DOCTYPE html>``: no scripts, no external resources.
    """
    figures = _figures(report, monitor) if plots else {}
    body = _body(report, figures=figures or {}, command=command, when=when or _now(), version=_version())
    missing = " The plots need matplotlib: <code>pip install 'netdoctor[notebook]'</code>." if figures is None else ""
    foot = (f"<footer>Made by netdoctor {_esc(_version())}.{missing} The same report as JSON: add <code>--json</code>; "
            "the plots as PNG files: <code>--plots DIR</code>.</footer>")
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            '<meta name="color-scheme" content="light dark">\n'
            f'<meta name="generator" content="netdoctor {_esc(_version())}">\n'
            f"<title>{_esc(report.title)}</title>\n"
            f"<style>{STYLESHEET}html{{background:var(--nd-bg)}}</style>\n</head>\n"
            f'<body class="nd">\n<main>{body}</main>\n{foot}\n</body>\n</html>\n')


def live_view_html(view: Any) -> str:
    """The notebook HTML of a :class:`~netdoctor.report.liveview.LiveView`: progress, epochs and, with a probe batch, layers."""
    from netdoctor.report.format import sparkline

    s = view.status()
    done = s["step"] / s["total_steps"] if s["total_steps"] else 0.0
    state = "done" if s["finished"] else "running"
    epoch = min(s["epoch"] + (0 if s["finished"] else 1), s["epochs"])
    out = [f'<p><b>{_esc(view.title)}</b> ({state}): epoch {epoch}/{s["epochs"]}, step {s["step"]}/{s["total_steps"]} '
           f'<progress value="{done:.3f}" max="1" aria-label="training progress"></progress> '
           f'loss {_esc(cell(s["loss"]))} <span class="spark">{_esc(sparkline(view.recent))}</span></p>']
    if s["note"]:
        out.append(f'<p class="bad-text"><span class="badge error">STOPPED</span> {_esc(s["note"])}</p>')
    if s["history"]:
        cols = [(k, name) for k, name in (("loss", "loss"), ("train_accuracy", "train acc"), ("test_accuracy", "test acc"))
                if any(e.get(k) is not None for e in s["history"])]
        rows = [[_esc(e.get("epoch"))] + [_esc(cell(e.get(k), k != "loss")) for k, _ in cols] for e in s["history"]]
        out.append(_scroll(_table(["epoch", *[n for _, n in cols]], rows, numeric=[True] * (len(cols) + 1)), "epochs"))
    if s["layers"]:
        n = len(view.probe_data[0]) if view.probe_data[0] is not None else 0
        rows = [[_esc(r["layer"]), _esc(r["activation"]), cell(r["saturation"], True), cell(r["dead"], True),
                 _esc(cell(r["grad_norm"])), _esc(cell(r["update_ratio"]))] for r in s["layers"]]
        out.append(_scroll(_table(["layer", "activation", "saturated", "dead", "|grad W|", "upd/w"], rows,
                                  numeric=[False, False, True, True, True, True]), "layers"))
        out.append(f'<p class="muted">Measured on the {n} rows given as <code>X_probe</code>. <b>|grad W|</b> is the norm of '
                   "the loss gradient of the layer's weight tensor on those rows; the report's layers table measures "
                   "on the diagnosis's own probe batch, so its |grad W| differs.</p>")
    return f'<div class="nd netdoctor-live"><style>{STYLESHEET}</style>{"".join(out)}</div>'


def _report_fragment(report: Any) -> str:
    return _body(report, figures={}, command=None, when=_now(), version=_version())


HTML_RENDERERS: dict[str, Callable[[Any], str]] = {
    "report": _report_fragment,
    "finding": finding_html,
    "gradcheck": gradcheck_html,
    "data": data_summary_html,
}
"""The HTML renderer of each :data:`~netdoctor.display.RENDER_KINDS` kind (a data class's ``render_kind``)."""


def fragment(obj: Any, *, width: int | None = None) -> str:
    """The notebook HTML of a Report, Finding, GradcheckResult or DataSummary (their ``_repr_html_``).

    The renderer is the one of :data:`HTML_RENDERERS` registered for the
    object's ``render_kind``; no data class is imported here.

    ``width`` is accepted for compatibility and ignored: the HTML reflows to its cell.

    Raises:
        InvalidArgument: for other objects.
    """
    render = HTML_RENDERERS.get(getattr(type(obj), "render_kind", None) or "")
    if render is None:
        from netdoctor.errors import InvalidArgument

        raise InvalidArgument(f"netdoctor renders a Report, Finding, GradcheckResult or DataSummary as HTML, "
                              f"not a {type(obj).__name__}.")
    inner = render(obj)
    return f'<div class="nd"><style>{STYLESHEET}</style>{inner}</div>'
