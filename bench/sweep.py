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
docs/reliability.md, ``--save FILE`` keeps the raw rows as JSON lines.
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
from generated.harness import behaves, judge, place, run_observed, run_plain, write_data  # noqa: E402

BEGIN, END = "<!-- generated-sweep:begin -->", "<!-- generated-sweep:end -->"
DETECT, QUIET = 0.95, 0.99
"""The acceptance of issues 21 and 23: each bug named in >= 95% of its programs, >= 99% of healthy twins quiet."""


def _group(programs: list) -> list[list]:
    """Programs by style, the healthy twin first (it is the yardstick of its bugs' behaviour)."""
    groups: dict[int, list] = collections.defaultdict(list)
    for p in programs:
        groups[p.style.seed].append(p)
    return [sorted(g, key=lambda p: p.bug is not None) for g in groups.values()]


def run_group(group: list, folder: Path, data: Path, kind: str, timeout: float = 300) -> list[dict]:
    """Plain and observed runs of one style's programs; one result row per program."""
    rows, twin_plain = [], None
    for p in group:
        script = place(p, folder)
        plain = run_plain(script, str(data))
        if p.bug is None:
            twin_plain = plain
        ok, why = behaves(p.behaviour, plain, twin_plain)
        observed = run_observed(script, str(data), timeout=timeout)
        j = judge(p.expect, p.updates, observed, plain)
        rows.append({"kind": kind, "name": p.name, "seed": p.style.seed, "bug": p.bug, "variant": p.variant,
                     "expect": p.expect, "axes": p.style.axes(), "lr": p.style.lr, "batch_size": p.style.batch_size,
                     "behaves": ok, "why": "" if ok else why, "accuracy": plain.accuracy,
                     "twin_accuracy": twin_plain.accuracy if twin_plain else None,
                     "codes": j.codes, "named": j.named, "first": j.first, "quiet": j.quiet,
                     "updates": p.updates, "observed": j.updates_observed, "coverage_ok": j.coverage_ok,
                     "notes": list(j.notes), "exit": j.exit_code, "faithful": j.faithful,
                     "verdict": observed.report.get("verdict"), "timeout": j.timed_out, "plain_s": round(plain.seconds, 2),
                     "observed_s": round(observed.seconds, 2), "bug_lines": list(p.bug_lines)})
        script.with_suffix(".report.json").unlink(missing_ok=True)
    return rows


def _rows(kind: str) -> int:
    """Rows of MNIST data the programs of ``kind`` read (training then test rows)."""
    if kind == "torch":
        from generated import torch_programs

        return torch_programs.N_TRAIN + torch_programs.N_TEST
    return numpy_programs.N_TRAIN + numpy_programs.N_TEST


def sweep(programs: list, kind: str, workers: int, log=None, timeout: float = 300) -> list[dict]:
    folder = Path(tempfile.mkdtemp(prefix=f"netdoctor_sweep_{kind}_"))
    lock = threading.Lock()
    try:
        data = write_data(folder, _rows(kind))
        out: list[dict] = []

        def one(group: list) -> list[dict]:
            rows = run_group(group, folder, data, kind, timeout)
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
    """The markdown tables of one sweep (``kind``: numpy or torch)."""
    valid = [r for r in rows if r["behaves"]]
    broken = [r for r in rows if not r["behaves"]]
    healthy = [r for r in valid if r["bug"] is None]
    buggy = [r for r in valid if r["bug"] is not None]
    lines = [header, ""]
    lines += [f"{len(rows)} programs ({len(rows) - sum(r['bug'] is not None for r in rows)} healthy twins); "
              f"{len(broken)} did not behave as labelled under plain `python` (writer problems, left out of the rates "
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
    axes = list(rows[0]["axes"]) if rows else []
    lines += ["| axis | value | bugs named | healthy quiet |", "|---|---|---|---|"]
    for axis in axes:
        for value in sorted({r["axes"][axis] for r in valid}):
            b = [r for r in buggy if r["axes"][axis] == value]
            h = [r for r in healthy if r["axes"][axis] == value]
            lines.append(f"| {axis} | {value} | {_pct(sum(r['named'] for r in b), len(b))} | "
                         f"{_pct(sum(r['quiet'] for r in h), len(h))} |")
    cells = []
    for bug in {r["bug"] for r in buggy}:
        for axis in axes:
            for value in {r["axes"][axis] for r in buggy}:
                rs = [r for r in buggy if r["bug"] == bug and r["axes"][axis] == value]
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
    fails = [r for r in rows if r["behaves"] and ((r["bug"] and not r["named"]) or (r["bug"] is None and not r["quiet"]))]
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


def machine_note() -> str:
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return (f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC, commit `{commit}`, load average "
            f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} cores")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--numpy", type=int, default=125, metavar="STYLES", help="NumPy styles (4 programs each)")
    parser.add_argument("--torch", type=int, default=0, metavar="STYLES", help="PyTorch styles (3 programs each)")
    parser.add_argument("--start", type=int, default=0, help="first style seed")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=300, help="seconds a netdoctor run may take (then: a failure)")
    parser.add_argument("--save", metavar="FILE", help="append the raw rows as JSON lines")
    parser.add_argument("--load", metavar="FILE", help="render rows saved by --save instead of running")
    parser.add_argument("--write", action="store_true", help="write the tables into docs/reliability.md")
    parser.add_argument("--note", help="when and on what the rows were measured (default: now, this checkout's commit, "
                        "the load average)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    note = args.note or machine_note()
    if args.load:
        rows = [json.loads(line) for line in Path(args.load).read_text().splitlines() if line.strip()]
    else:
        rows = []
        log = open(args.save, "a", encoding="utf-8") if args.save else None
        try:
            if args.numpy:
                rows += sweep(numpy_programs.plan(args.numpy, start=args.start), "numpy", args.workers, log, args.timeout)
            if args.torch:
                from generated import torch_programs

                rows += sweep(torch_programs.plan(args.torch, start=args.start), "torch", args.workers, log, args.timeout)
        finally:
            if log is not None:
                log.close()
    minutes = (time.perf_counter() - started) / 60
    took = f"{minutes:.0f} min in all" if not args.load else "rendered from saved rows"
    parts = [BEGIN, ""]
    for kind, title in (("numpy", "NumPy programs"), ("torch", "PyTorch programs")):
        mine = [r for r in rows if r["kind"] == kind]
        if mine:
            parts += [render(mine, kind, f"**{title}** ({note}; `python bench/sweep.py`, {took}):"),
                      "", "Failing examples:", "", examples(mine) or "- none", ""]
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
