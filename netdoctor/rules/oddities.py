"""Data that is almost right: ``odd-values``, from :class:`~netdoctor.rules.evidence.OddValues`.

The loader (:mod:`netdoctor.data.oddities`) finds a few cells or labels unlike
all the others (a pixel of -7 or 300 among whole numbers 0..255, a label 12
among 0..9), keeps them out of the choice of scaling and names their places;
this rule turns that into findings, one for the cells and one for the labels
of each file.

Severity:

* an odd **label** is a warning: it is kept as a class of its own, so the
  output layer grows by every class up to it (12 among 0..9 adds 10, 11 and
  12), each learnt from a handful of rows or none;
* odd **cells** are a warning when one of them reaches the network beyond
  :data:`~netdoctor.rules.policy.UNSCALED_MAX` after scaling (300 among
  values in [0, 1], used as they are, is an input 300 times the others:
  it dominates its row's first layer), else info: divided by 255 like every
  other cell, a 300 becomes 1.18 and a -7 becomes -0.027, one input among
  hundreds slightly outside [0, 1], worth checking but not what stops a
  network from learning.
"""

from __future__ import annotations

from netdoctor.findings import Finding, Severity
from netdoctor.rules.evidence import OddValues
from netdoctor.rules.policy import UNSCALED_MAX

__all__ = ["odd_values"]

SHOWN = 3
"""Places a message names; the evidence keeps up to ten, the counts cover all."""


def _listed(items: list[str], total: int, noun: str) -> str:
    more = total - len(items[:SHOWN])
    return "; ".join(items[:SHOWN]) + (f" and {more} more {noun}{'s' * (more != 1)}" if more > 0 else "")


def odd_values(ev: OddValues | None) -> list[Finding]:
    """``odd-values``: a few cells or labels of a data file unlike all the others, named at ``file:line:column``."""
    if ev is None:
        return []
    odd = ev.places
    found = []
    of_file = "" if ev.role == "training" else f" of the {ev.role} file"
    if odd.cell_count:
        k = odd.cell_count
        place, value, _ = odd.cells[0]
        loud = odd.largest_scaled > UNSCALED_MAX
        shown = _listed([f"{p} holds {v:g}" for p, v, _ in odd.cells], k, "cell")
        became = "; ".join(f"{v:g} -> {x:.4g}" for _, v, x in odd.cells[:SHOWN])
        found.append(Finding(
            "odd-values", Severity.WARNING if loud else Severity.INFO, place,
            f"{shown}, but every other cell{of_file} is {odd.pattern}.",
            {"places": [{"where": p, "value": v, "scaled": x} for p, v, x in odd.cells], "odd_cells": k,
             "rows_with_odd_cells": odd.cell_rows, "cells": odd.cells_total, "others": odd.pattern,
             "scaling": ev.scaling, "largest_scaled": odd.largest_scaled, "limit": UNSCALED_MAX},
            fix=(f"Look at {place} in the file: correct the value if it is a typo, or drop the row"
                 + (f" (and the {odd.cell_rows - 1} other rows listed in the evidence)" if odd.cell_rows > 1 else "")
                 + "; if such values are real, scale the file yourself and say so."),
            explanation=(
                f"{k} of the file's {odd.cells_total:,} cells {'breaks' if k == 1 else 'break'} the pattern every other "
                "cell follows, so "
                f"{'it was' if k == 1 else 'they were'} not allowed to choose the scaling (one such value would "
                f"otherwise decide how every column is scaled): {ev.scaling}. The odd "
                f"{'cell was' if k == 1 else 'cells were'} {odd.scaled}{'' if 'became' in odd.scaled else f' ({became})'}, so the "
                "network sees "
                + (f"an input of {odd.largest_scaled:.4g}, beyond the |x| <= {UNSCALED_MAX:g} inputs train on: it "
                   "dominates its row's first layer." if loud else
                   f"{'a value' if k == 1 else 'values'} within |x| <= {odd.largest_scaled:.3g}, near the others' range: "
                   "harmless to training, but a sign that the file was edited or exported wrongly there.")),
        ))
    if odd.label_count:
        n = odd.label_count
        place, label = odd.labels[0]
        top = max(lab for _, lab in odd.labels)
        added = f"class {top}" if top == odd.main_labels + 1 else f"classes {odd.main_labels + 1}..{top}"
        seen = {lab for _, lab in odd.labels}
        empty = [c for c in range(odd.main_labels + 1, top) if c not in seen] if n == len(odd.labels) else []
        fewest, most = odd.class_rows
        found.append(Finding(
            "odd-values", Severity.WARNING, place,
            f"{_listed([f'{p} has label {lab}' for p, lab in odd.labels], n, 'row')}, but every other row's "
            f"label{of_file} is 0..{odd.main_labels}.",
            {"places": [{"where": p, "label": lab} for p, lab in odd.labels], "odd_labels": n, "rows": odd.rows,
             "other_labels": f"0..{odd.main_labels}", "rows_per_other_class": f"{fewest}..{most}",
             "classes_added": list(range(odd.main_labels + 1, top + 1)), "classes_without_rows": empty},
            fix=(f"Correct the label at {place} if it is a typo (or drop the row"
                 f"{'s' if n > 1 else ''}); keep it only if {added} {'is' if top == odd.main_labels + 1 else 'are'} "
                 "real and will get many more rows."),
            explanation=(
                f"Labels are kept as given, so {added} {'was' if top == odd.main_labels + 1 else 'were'} added to the "
                f"output layer for {n} row{'s' * (n != 1)}"
                + (f" ({', '.join(map(str, empty))} with no rows at all)" if empty else "")
                + f", while every class 0..{odd.main_labels} has {fewest:,} to {most:,} rows: the data asks for "
                f"{top + 1} classes instead of {odd.main_labels + 1}, and a class seen {n} time{'s' * (n != 1)} "
                "cannot be learnt."),
        ))
    return found
