"""Detection and false-alarm rates of ``netdoctor run`` on generated training programs.

Writes programs with the seeded writers of ``tests/generated`` (NumPy:
:mod:`generated.numpy_programs`; PyTorch: :mod:`generated.torch_programs`),
each style as a healthy twin plus planted bugs, into a temporary folder, runs
each with plain ``python`` (to prove it behaves as labelled: a healthy twin
learns, a bug has its effect) and under ``netdoctor run --json FILE``, and
prints

* per bug: how often its finding code is named, and ranked first;
* on healthy twins: how often a warning or error is raised (false alarms), by code;
* both per style axis value, and the worst (bug, axis value) cells;
* observed-update coverage: runs that saw fewer than half of the real updates
  without a note saying so.

Programs whose plain run does not behave as labelled are writer problems: they
are counted and listed apart, never blamed on the observer.

``python bench/sweep.py --numpy 125`` (125 styles x 4 programs = 500 NumPy
programs), ``--torch 40``, ``--write`` replaces the generated-sweep part of
docs/reliability.md, ``--save FILE`` keeps the raw rows as JSON lines and
``--load FILE`` renders them again. ``--bugs healthy`` runs the healthy twins
alone (a quick false-alarm sweep; ``--bugs sign-flip,healthy`` any subset: the
twin of a chosen bug still runs plain, as its yardstick), and ``--plain-only``
runs every program with plain ``python`` alone and prints the writer problems
(a check of the writers that needs no netdoctor). ``--extended`` draws the
styles with the writer's extended axes too (NumPy: how the loop walks the data,
the optimizer, depth, initialisation, dtype; PyTorch: the loss's spelling,
one-hot targets, a summed loss, batch norm, how gradients are cleared, rows
sorted by digit, and the bugs planted only there: ``EXTENDED_AXES``,
``EXTENDED_BUGS``); the axes of ``AXES`` are drawn exactly as without it, and
the tables gain rows per extended axis value. The NumPy writer's ``EXTENDED_BUGS``
(``tiny-init``: every weight matrix ``N(0, 1) * 0.01``) are planted only when
``--bugs`` names them (``--extended --bugs tiny-init,healthy``), so that every
other sweep plants what it planted before. ``--tutorial`` (NumPy) draws the extended styles and then the
writer's tutorial axes on top (``TUTORIAL_AXES``: how the CSV is read, a learning-rate schedule, L2 weight decay,
gradient clipping, ``np.dot``/``np.einsum``, the best weights kept and restored, an ``SGD`` optimizer object,
leaky ReLU; programs named ``npt...``), the extended axes again drawn exactly as without it. ``--wild`` (NumPy)
draws the tutorial styles and then the writer's wild axes on top (``WILD_AXES``: weights stored ``(out, in)`` and
applied as ``x @ W.T``, per-layer tuples rebuilt each step or per-layer dicts, Adam and RMSProp by hand, integer
labels made one-hot in the backward and the loss, a ``fit``/``predict`` class, ``loss_and_grads``, standardised
inputs, early stopping on a validation split, the loss or nothing printed; programs named ``npw...``); a program
that stops early is judged on the updates of the epochs it ran. ``--torch N --wild`` sweeps the PyTorch wild tier
(:mod:`generated.torch_wild`, programs ``ptw...``: a ``Trainer`` class with ``training_step``/``fit``, ``nn.ModuleList``
and ``nn.ModuleDict``, ``model.apply(init_fn)``, gradient accumulation, ``clip_grad_norm_``, bfloat16 autocast on the
CPU, early stopping with ``load_state_dict(best)``, hand-written losses, labels kept in NumPy; bugs such as a hidden
output ``.detach()``ed, gradient ascent by hand, a forgotten ``optimizer.step()``, targets shifted by one).
``--torch N --stepper manual,raw`` sweeps hand-stepped PyTorch styles alone, with the bugs that apply without an
optimizer.

Each row records what it was measured on: the commit of the netdoctor that
observed it (``--commit``, or the environment variable
``NETDOCTOR_SWEEP_COMMIT`` in a snapshot made by ``git archive``, where git
knows no commit; else this checkout's ``HEAD``, marked ``-dirty`` when its
``netdoctor/`` has uncommitted changes), the time (UTC), the load average at
the program's end and the number of programs run at a time. ``--load``
renders what the rows say, not the checkout's commit.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from generated import numpy_programs  # noqa: E402
from generated.harness import behaves, judge, place, run_observed, run_plain, updates_run, write_data  # noqa: E402

BEGIN, END = "<!-- generated-sweep:begin -->", "<!-- generated-sweep:end -->"
COMMIT_ENV = "NETDOCTOR_SWEEP_COMMIT"
"""The commit measured, for a snapshot that git does not know (``git archive``); ``--commit`` wins."""
HEALTHY = "healthy"
"""The name ``--bugs`` gives the healthy twins."""
DETECT, QUIET = 0.95, 0.99
"""The acceptance of issues 21 and 23: each bug named in >= 95% of its programs, >= 99% of healthy twins quiet."""


def _group(programs: list) -> list[list]:
    """Programs by style, the healthy twin first (it is the yardstick of its bugs' behaviour)."""
    groups: dict[int, list] = collections.defaultdict(list)
    for p in programs:
        groups[p.style.seed].append(p)
    return [sorted(g, key=lambda p: p.bug is not None) for g in groups.values()]


def run_group(group: list, folder: Path, data: Path, kind: str, timeout: float = 300, *, judged=lambda p: True,
              stamp: dict | None = None) -> list[dict]:
    """Plain and observed runs of one style's programs; one result row per program.

    The healthy twin (first) always runs plain: it is the yardstick of its bugs' behaviour. A program runs under
    ``netdoctor run`` only when ``judged(p)``; the row of one that does not has ``judged`` False and no verdict.
    ``stamp`` (commit, workers) goes into every row, with the time and the load average at the program's end.
    """
    rows, twin_plain = [], None
    for p in group:
        script = place(p, folder)
        plain = run_plain(script, str(data))
        if p.bug is None:
            twin_plain = plain
        ok, why = behaves(p.behaviour, plain, twin_plain)
        row = {"kind": kind, "name": p.name, "seed": p.style.seed, "bug": p.bug, "variant": p.variant,
               "expect": p.expect, "behaviour": p.behaviour, "axes": p.style.axes(), "lr": p.style.lr, "batch_size": p.style.batch_size,
               "behaves": ok, "why": "" if ok else why, "accuracy": plain.accuracy,
               "twin_accuracy": twin_plain.accuracy if twin_plain else None, "updates": updates_run(p, plain),
               "plain_s": round(plain.seconds, 2), "bug_lines": list(p.bug_lines), "judged": bool(judged(p))}
        if row["judged"]:
            observed = run_observed(script, str(data), timeout=timeout)
            j = judge(p.expect, row["updates"], observed, plain)
            row.update({"codes": j.codes, "named": j.named, "first": j.first, "quiet": j.quiet,
                        "observed": j.updates_observed, "expected": j.updates_expected, "coverage_ok": j.coverage_ok,
                        "notes": list(j.notes),
                        "exit": j.exit_code, "faithful": j.faithful, "verdict": observed.report.get("verdict"),
                        "timeout": j.timed_out, "observed_s": round(observed.seconds, 2)})
            script.with_suffix(".report.json").unlink(missing_ok=True)
        row.update(stamp or {})
        row["date"] = f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M:%S}"
        row["load"] = round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None
        rows.append(row)
    return rows


def _rows(kind: str) -> int:
    """Rows of MNIST data the programs of ``kind`` read (training then test rows)."""
    if kind == "torch":
        from generated import torch_programs

        return torch_programs.N_TRAIN + torch_programs.N_TEST
    return numpy_programs.N_TRAIN + numpy_programs.N_TEST


def sweep(programs: list, kind: str, workers: int, log=None, timeout: float = 300, *, judged=lambda p: True,
          commit: str | None = None) -> list[dict]:
    """Run ``programs`` (``workers`` styles at a time) and return their rows; each row also goes to ``log`` (JSON lines)
    as soon as its style is done. ``judged`` and the stamp: see :func:`run_group`."""
    stamp = {"commit": commit or measured_commit(), "workers": workers}
    folder = Path(tempfile.mkdtemp(prefix=f"netdoctor_sweep_{kind}_"))
    lock = threading.Lock()
    try:
        data = write_data(folder, _rows(kind))
        out: list[dict] = []

        def one(group: list) -> list[dict]:
            rows = run_group(group, folder, data, kind, timeout, judged=judged, stamp=stamp)
            with lock:
                for r in rows:
                    out.append(r)
                    if log is not None:
                        log.write(json.dumps(r) + "\n")
                        log.flush()
                print(f"{len(out)} programs done", file=sys.stderr, flush=True)
            return rows

        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(one, _group(programs)))
        return out
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# -- rates --------------------------------------------------------------------------------------------------


def _pct(k: int, n: int) -> str:
    return f"{k}/{n} ({100 * k / n:.0f}%)" if n else "-"


def render(rows: list[dict], kind: str, header: str) -> str:
    """The markdown tables of one sweep (``kind``: numpy or torch): rates over the programs run under ``netdoctor run``
    (a twin run plain only as its bugs' yardstick is not among them), writer problems over all."""
    broken = [r for r in rows if not r["behaves"]]
    rows = [r for r in rows if r.get("judged", True)]
    valid = [r for r in rows if r["behaves"]]
    healthy = [r for r in valid if r["bug"] is None]
    buggy = [r for r in valid if r["bug"] is not None]
    lines = [header, ""]
    lines += [f"{len(rows)} programs ({len(rows) - sum(r['bug'] is not None for r in rows)} healthy twins) run under "
              f"`netdoctor run`; {len(broken)} did not behave as labelled under plain `python` (writer problems, left out of the rates "
              "below and listed at the end).", ""]
    lines += ["| bug | expected code | programs | named | ranked first |", "|---|---|---|---|---|"]
    for bug in sorted({r["bug"] for r in buggy}):
        rs = [r for r in buggy if r["bug"] == bug]
        lines.append(f"| {bug} | `{rs[0]['expect']}` | {len(rs)} | {_pct(sum(r['named'] for r in rs), len(rs))} | "
                     f"{_pct(sum(r['first'] for r in rs), len(rs))} |")
    n_named = sum(r["named"] for r in buggy)
    lines.append(f"| **all bugs** | | {len(buggy)} | {_pct(n_named, len(buggy))} | "
                 f"{_pct(sum(r['first'] for r in buggy), len(buggy))} |")
    alarms = collections.Counter(c for r in healthy for c, s in set(map(tuple, r["codes"])) if s in ("error", "warning"))
    lines += ["", f"Healthy twins quiet (no warning, no error): {_pct(sum(r['quiet'] for r in healthy), len(healthy))} "
              f"(target >= {QUIET:.0%}). False alarms by code (twins on which it fired): "
              + (", ".join(f"`{c}` {k}" for c, k in alarms.most_common()) or "none") + ".", ""]
    # every axis any row has (rows of extended styles add theirs; an axis a row lacks counts for none of its values)
    axes = list(dict.fromkeys(a for r in rows for a in r["axes"]))
    lines += ["| axis | value | bugs named | healthy quiet |", "|---|---|---|---|"]
    for axis in axes:
        for value in sorted({r["axes"][axis] for r in valid if axis in r["axes"]}):
            b = [r for r in buggy if r["axes"].get(axis) == value]
            h = [r for r in healthy if r["axes"].get(axis) == value]
            lines.append(f"| {axis} | {value} | {_pct(sum(r['named'] for r in b), len(b))} | "
                         f"{_pct(sum(r['quiet'] for r in h), len(h))} |")
    cells = []
    for bug in {r["bug"] for r in buggy}:
        for axis in axes:
            for value in {r["axes"][axis] for r in buggy if axis in r["axes"]}:
                rs = [r for r in buggy if r["bug"] == bug and r["axes"].get(axis) == value]
                if len(rs) >= 3:
                    cells.append((sum(r["named"] for r in rs) / len(rs), -len(rs), bug, axis, value, len(rs)))
    cells.sort()
    lines += ["", "Worst (bug, axis value) cells (at least 3 programs): " + "; ".join(
        f"{bug} with {axis}={value}: {100 * rate:.0f}% of {n}" for rate, _, bug, axis, value, n in cells[:8]) + "."]
    seen = [r for r in valid if r["observed"] is not None]
    short = [r for r in valid if not r["coverage_ok"]]
    ratios = sorted(min(1.0, r["observed"] / r["updates"]) for r in seen if r["updates"])
    med = ratios[len(ratios) // 2] if ratios else float("nan")
    lines += ["", f"Observed updates: the header names a count on {len(seen)} of {len(valid)} runs; median "
              f"observed/real {med:.2f}; {len(short)} runs saw fewer than half of the real updates with no note saying so"
              + (" (by place: " + ", ".join(f"{k} {v}" for k, v in collections.Counter(
                  r["axes"].get("place", r["axes"].get("model", "?")) for r in short).most_common()) + ")" if short else "")
              + "."]
    said = [r for r in valid if r.get("expected") is not None]
    wrong = [r for r in said if r["expected"] != r["updates"]]
    if "expected" in (valid[0] if valid else {}):
        lines.append(f"The program's own update count (read from its loops) is said on {len(said)} of {len(valid)} runs, "
                     f"the real count on {len(said) - len(wrong)}" + (": wrong on " + ", ".join(
                         f"{r['name']} ({r['expected']} for {r['updates']})" for r in wrong[:8]) if wrong else "") + ".")
    slow = sorted(r["observed_s"] / max(r["plain_s"], 1e-3) for r in valid)
    if slow:
        lines.append(f"Wall time observed/plain, median {slow[len(slow) // 2]:.1f}x (max {slow[-1]:.1f}x; the machine "
                     "was shared, so only the ratio means anything).")
    timeouts = [r for r in valid if r.get("timeout")]
    if timeouts:
        lines.append(f"`netdoctor run` did not end within the time limit on {len(timeouts)} programs (counted as misses or "
                     "alarms): " + ", ".join(f"{r['name']} ({'/'.join(r['axes'].values())}, plain {r['plain_s']:.0f} s)"
                                             for r in timeouts[:8]) + ".")
    unfaithful = [r["name"] for r in valid if not r["faithful"] and not r.get("timeout")]
    if unfaithful:
        lines.append(f"Output not faithful to the plain run (stdout differs): {len(unfaithful)}: {', '.join(unfaithful[:10])}.")
    if broken:
        lines += ["", "Writer problems (plain run not as labelled): " + "; ".join(
            f"{r['name']} ({r['bug'] or 'healthy'}, {'/'.join(r['axes'].values())}: {r['why']})" for r in broken[:15])
            + ("; ..." if len(broken) > 15 else "") + "."]
    return "\n".join(lines)


def examples(rows: list[dict], n: int = 5) -> str:
    """A few failing programs, one per bug where possible: style, bug, what netdoctor said."""
    out, seen = [], set()
    fails = [r for r in rows if r.get("judged", True) and r["behaves"] and ((r["bug"] and not r["named"]) or (r["bug"] is None and not r["quiet"]))]
    for r in fails:
        if r["bug"] in seen:
            continue
        seen.add(r["bug"])
        said = ", ".join(f"{c} ({s})" for c, s in r["codes"]) or "no finding"
        out.append(f"- `{r['name']}` {r['bug'] or 'healthy'} in {'/'.join(r['axes'].values())} (lr {r['lr']}, batch "
                   f"{r['batch_size']}): said {said}; updates observed {r['observed']} of {r['updates']}; "
                   f"verdict: {(r['verdict'] or '').splitlines()[0][:160] if r['verdict'] else '-'}")
        if len(out) >= n:
            break
    return "\n".join(out)


def measured_commit() -> str:
    """This checkout's commit (short), ``-dirty`` when ``netdoctor/`` has uncommitted changes; from
    ``NETDOCTOR_SWEEP_COMMIT`` when set (a ``git archive`` snapshot, unknown to git); ``unknown`` when neither says."""
    if os.environ.get(COMMIT_ENV):
        return os.environ[COMMIT_ENV]
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    if head.returncode != 0 or not head.stdout.strip():
        return "unknown"
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no", "--", "netdoctor"],
                           capture_output=True, text=True).stdout.strip()
    return head.stdout.strip() + ("-dirty" if dirty else "")


def _span(values: list[float]) -> str:
    lo, hi = min(values), max(values)
    return f"{lo:.1f}" if round(lo, 1) == round(hi, 1) else f"{lo:.1f}-{hi:.1f}"


def rows_note(rows: list[dict]) -> str:
    """When, on what commit and under what load ``rows`` were measured, as the rows say (not as this checkout is)."""
    commits = collections.Counter(r.get("commit") or "not recorded" for r in rows)
    said = ", ".join(f"`{c}`" + (f" ({k} programs)" if len(commits) > 1 else "") for c, k in commits.most_common())
    dates = sorted(r["date"] for r in rows if r.get("date"))
    when = (f"{dates[0][:16]}-{dates[-1][11:16] if dates[-1][:10] == dates[0][:10] else dates[-1][:16]} UTC" if dates
            else "time not recorded")
    loads = [r["load"] for r in rows if isinstance(r.get("load"), (int, float))]
    load = f"load average {_span(loads)} (1 min, at each program's end)" if loads else "load not recorded"
    workers = sorted({r["workers"] for r in rows if r.get("workers")})
    at_a_time = f", {' or '.join(map(str, workers))} program(s) at a time" if workers else ""
    return f"commit {said}, {when}, {load}{at_a_time}"


def render_plain(rows: list[dict], kind: str, header: str) -> str:
    """The writer check of one sweep (``--plain-only``): programs whose plain run is not as labelled, by bug and by axis
    value, and the margins of those that are (a healthy twin's accuracy; a worse bug's distance below its twin)."""
    broken = [r for r in rows if not r["behaves"]]
    lines = [header, "", f"{len(rows)} programs run with plain `python` ({sum(r['bug'] is None for r in rows)} healthy "
             f"twins): {len(broken)} did not behave as labelled (writer problems).", "",
             "| bug | behaviour | programs | not as labelled | margin (worst, median) |", "|---|---|---|---|---|"]
    for bug in sorted({r["bug"] for r in rows}, key=lambda b: (b is not None, b or "")):
        rs = [r for r in rows if r["bug"] == bug]
        margins = sorted(m for m in (_margin(r) for r in rs) if m is not None)
        shown = f"{margins[0]:+.3f}, {margins[len(margins) // 2]:+.3f}" if margins else "-"
        lines.append(f"| {bug or HEALTHY} | {_behaviour(rs[0])} | {len(rs)} | "
                     f"{_pct(sum(not r['behaves'] for r in rs), len(rs))} | {shown} |")
    cells = collections.Counter((axis, value) for r in broken for axis, value in r["axes"].items())
    totals = collections.Counter((axis, value) for r in rows for axis, value in r["axes"].items())
    if cells:
        lines += ["", "Writer problems by axis value (most first): " + "; ".join(
            f"{axis}={value} {k} of {totals[axis, value]}" for (axis, value), k in cells.most_common(12)) + "."]
        lines += ["", "Writer problems: " + "; ".join(
            f"{r['name']} ({'/'.join(r['axes'].values())}, lr {r['lr']}, batch {r['batch_size']}: {r['why']})"
            for r in broken[:30]) + ("; ..." if len(broken) > 30 else "") + "."]
    seconds = sorted(r["plain_s"] for r in rows)
    lines += ["", f"Plain run wall time: median {seconds[len(seconds) // 2]:.1f} s, max {seconds[-1]:.1f} s."]
    return "\n".join(lines)


def _behaviour(r: dict) -> str:
    """What the row's program should show under plain ``python`` (rows saved before it was recorded: the writer's)."""
    return r.get("behaviour") or _writer(r["kind"]).BEHAVIOUR.get(r["bug"], "?")


def _margin(r: dict) -> float | None:
    """How far a behaving program is from the edge of its label (positive: inside; None: no numeric edge)."""
    from generated.harness import LEARNS, STALLS, WORSE

    acc, twin = r.get("accuracy"), r.get("twin_accuracy")
    if acc is None or acc != acc:
        return None
    b = _behaviour(r)
    if b == "learns":
        return acc - LEARNS
    if b == "stalls":
        return STALLS - acc
    if b == "worse" and twin is not None:
        return twin - WORSE - acc
    return None


def selected(programs: list, bugs: set[str] | None) -> tuple[list, object]:
    """The programs of a sweep limited to ``bugs`` (bug names, ``healthy`` for the twins; None: all), and the
    predicate of those judged under ``netdoctor run``. A chosen bug's twin stays (run plain, its yardstick)."""
    if bugs is None:
        return programs, lambda p: True
    keep = {p.style.seed for p in programs if (p.bug or HEALTHY) in bugs}
    return [p for p in programs if p.style.seed in keep and (p.bug is None or p.bug in bugs)], \
        lambda p: (p.bug or HEALTHY) in bugs


def _bug_names(text: str, kinds: list[str]) -> set[str]:
    """``--bugs a,b``: the names checked against the writers of the sweep's kinds."""
    known = {HEALTHY}
    for kind in kinds:
        known |= set(_writer(kind).BUGS) | set(getattr(_writer(kind), "EXTENDED_BUGS", ())) | set(getattr(_writer(kind), "HAND_BUGS", ()))
        if kind == "torch":
            from generated import torch_wild
            known |= set(torch_wild.BUGS)
    names = {n.strip() for n in text.split(",") if n.strip()}
    unknown = sorted(names - known)
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"--bugs {text!r}: unknown {', '.join(unknown) or 'empty list'}; "
                                         f"known: {', '.join(sorted(known))}")
    return names


def _writer(kind: str):
    if kind == "torch":
        from generated import torch_programs

        return torch_programs
    return numpy_programs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--numpy", type=int, metavar="STYLES", help="NumPy styles (4 programs each; default 125, "
                        "or none when --torch is given)")
    parser.add_argument("--torch", type=int, default=0, metavar="STYLES", help="PyTorch styles (3 programs each)")
    parser.add_argument("--start", type=int, default=0, help="first style seed")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=300, help="seconds a netdoctor run may take (then: a failure)")
    parser.add_argument("--bugs", metavar="NAMES", help="only these planted bugs (comma-separated writer names; "
                        f"'{HEALTHY}' for the healthy twins, e.g. --bugs {HEALTHY} for a quick false-alarm sweep)")
    parser.add_argument("--extended", action="store_true", help="styles with the writer's extended axes too (NumPy: "
                        "loop, shuffle, optimizer, depth, init, dtype, programs named npx...; PyTorch: loss, targets, "
                        "reduction, norm, zero, order and their bugs, programs named ptx...)")
    parser.add_argument("--tutorial", action="store_true", help="NumPy styles with the extended axes and the "
                        "writer's tutorial axes too (loader, schedule, decay, clip, matmul, keep, stepper, relu; "
                        "programs named npt...)")
    parser.add_argument("--wild", action="store_true", help="NumPy styles with the tutorial axes and the writer's "
                        "wild axes too (orient, params, adaptive, labels, api, combined, prep, stop, log: weights "
                        "(out, in) applied as x @ W.T, per-layer tuples or dicts, Adam and RMSProp, integer labels "
                        "made one-hot in the loss, fit/predict, loss_and_grads, standardised inputs, early stopping, "
                        "the loss printed; programs named npw...); PyTorch: the wild tier of generated.torch_wild "
                        "(trainer classes, ModuleList/ModuleDict, model.apply, gradient accumulation, clipping, "
                        "bfloat16 autocast, early stopping with load_state_dict, hand-written losses, NumPy labels; "
                        "programs named ptw...)")
    parser.add_argument("--stepper", metavar="NAMES", help="PyTorch styles that step this way only (comma-separated: "
                        "optimizer, manual, raw; seed s takes the (s mod n)-th), e.g. --stepper manual,raw for the "
                        "hand-stepped yardstick: the bugs that apply without an optimizer, gradient ascent with them")
    parser.add_argument("--plain-only", action="store_true", help="run the programs with plain python only and print "
                        "the writer problems (no netdoctor run)")
    parser.add_argument("--commit", help=f"the commit measured (default: ${COMMIT_ENV}, else this checkout's HEAD)")
    parser.add_argument("--save", metavar="FILE", help="append the raw rows as JSON lines")
    parser.add_argument("--load", metavar="FILE", help="render rows saved by --save instead of running")
    parser.add_argument("--write", action="store_true", help="write the tables into docs/reliability.md")
    parser.add_argument("--note", help="when and on what the rows were measured (default: what the rows record: commit, "
                        "time, load average)")
    args = parser.parse_args(argv)
    if args.numpy is None:
        args.numpy = 0 if args.torch else 125  # `--torch 50` sweeps PyTorch programs only, as it reads
    kinds = [k for k, n in (("numpy", args.numpy), ("torch", args.torch)) if n]
    try:
        bugs = _bug_names(args.bugs, kinds or ["numpy", "torch"]) if args.bugs else None
    except argparse.ArgumentTypeError as e:
        parser.error(str(e))
    if args.stepper:
        from generated import torch_programs
        unknown = sorted(set(args.stepper.split(",")) - set(torch_programs.STEPPERS))
        if unknown or not args.torch:
            parser.error(f"--stepper {args.stepper!r}: PyTorch styles only (--torch N), steppers of "
                         f"{', '.join(torch_programs.STEPPERS)}" + (f"; unknown {', '.join(unknown)}" if unknown else ""))
    if args.write and args.plain_only:
        parser.error("--write takes netdoctor's rates; --plain-only measures none")
    started = time.perf_counter()
    if args.load:
        rows = [json.loads(line) for line in Path(args.load).read_text().splitlines() if line.strip()]
    else:
        rows = []
        log = open(args.save, "a", encoding="utf-8") if args.save else None
        try:
            for kind in kinds:
                more = {"extended": True} if args.extended else {}
                if args.tutorial and kind == "numpy":
                    more = {"extended": True, "tutorial": True}
                if args.wild and kind == "numpy":
                    more = {"extended": True, "tutorial": True, "wild": True}
                if args.stepper and kind == "torch":
                    more["steppers"] = tuple(args.stepper.split(","))
                if args.wild and kind == "torch":
                    from generated import torch_wild
                    programs, judged = selected(torch_wild.plan(args.torch, start=args.start), bugs)
                else:
                    writer = _writer(kind)
                    asked = tuple(b for b in getattr(writer, "EXTENDED_BUGS", ()) if kind == "numpy" and bugs and b in bugs)
                    if asked:  # planted only when named: every other plan writes what it wrote before they existed
                        more["bugs"] = (*writer.BUGS, *asked)
                    programs, judged = selected(writer.plan(getattr(args, kind), start=args.start, **more), bugs)
                rows += sweep(programs, kind, args.workers, log, args.timeout,
                              judged=(lambda p: False) if args.plain_only else judged, commit=args.commit)
        finally:
            if log is not None:
                log.close()
    minutes = (time.perf_counter() - started) / 60
    took = f"{minutes:.0f} min in all" if not args.load else "rendered from saved rows"
    parts = [BEGIN, ""]
    for kind, title in (("numpy", "NumPy programs"), ("torch", "PyTorch programs")):
        mine = [r for r in rows if r["kind"] == kind]
        if not mine:
            continue
        header = f"**{title}** ({args.note or rows_note(mine)}; `python bench/sweep.py`, {took}):"
        if not any(r.get("judged", True) for r in mine):
            parts += [render_plain(mine, kind, header), ""]
        else:
            parts += [render(mine, kind, header), "", "Failing examples:", "", examples(mine) or "- none", ""]
    parts.append(END)
    text = "\n".join(parts)
    print(text)
    if args.write:
        doc = ROOT / "docs" / "reliability.md"
        page = doc.read_text(encoding="utf-8")
        if BEGIN in page:
            page = page[: page.index(BEGIN)] + text + page[page.index(END) + len(END):]
        else:
            page = page.rstrip("\n") + "\n\n## Generated programs\n\n" + text + "\n"
        doc.write_text(page, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
