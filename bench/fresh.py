"""``netdoctor run`` on the hand-written yardstick of ``bench/fresh/``: programs nobody on the team had seen.

Round 22's programs were written by an engineer who had read neither netdoctor's source nor its tests, in the styles
people write on blogs, in course assignments and on forums: 13 styles (10 NumPy, 3 PyTorch), each a healthy program
(``n04.py``) and two buggy variants (``n04a.py``, ``n04b.py``, the changed line marked ``# BUG:``). ``meta.json`` holds,
for each variant, its healthy program, the bug and the finding code a perfect report would name first (``null`` where
no code fits the bug, in parentheses: labels shifted by one row; healthy programs: ``healthy (quiet)``).

For each program: its plain run's last printed accuracy, then ``netdoctor run --json`` (this checkout's netdoctor), and
the totals: bugs named (any position) and named first, healthy programs quiet (no warning or error), and buggy
programs that got "No problems found". The programs that read MNIST take ``shared/data/mnist_test.csv.gz`` (found
beside the checkout, as the tests find it) as their first argument.

``python bench/fresh.py`` (~3 minutes on a quiet 2-core machine), ``--only n04`` for one style, ``--save FILE`` keeps the
rows as JSON lines.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FRESH = ROOT / "bench" / "fresh"
SHARED = next((d / "shared" for d in ROOT.parents if (d / "shared" / "data").is_dir()), ROOT.parent / "shared")
MNIST = SHARED / "data" / "mnist_test.csv.gz"
ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", PYTHONHASHSEED="0", PYTHONPATH=str(ROOT))


def _args(script: Path) -> list[str]:
    return [str(MNIST)] if "sys.argv[1]" in script.read_text(encoding="utf-8") else []


def _accuracy(stdout: str) -> float | None:
    lines = [line for line in stdout.splitlines() if "acc" in line.lower()]
    numbers = re.findall(r"\d*\.\d+", lines[-1]) if lines else []
    return float(numbers[-1]) if numbers else None


def run(script: Path, folder: Path) -> dict:
    """One program: its plain accuracy and what ``netdoctor run`` reported (codes with severities, in order)."""
    plain = subprocess.run([sys.executable, str(script), *_args(script)], cwd=folder, env=ENV, capture_output=True,
                           text=True, timeout=300)
    out = folder / f"{script.stem}.json"
    subprocess.run([sys.executable, "-m", "netdoctor.cli", "run", "--json", str(out), str(script), *_args(script)],
                   cwd=folder, env=ENV, capture_output=True, text=True, timeout=600)
    report = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}
    return {"name": script.stem, "accuracy": _accuracy(plain.stdout),
            "codes": [(f["code"], f["severity"]) for f in report.get("findings", [])],
            "verdict": report.get("verdict", "(no report)")}


def totals(rows: list[dict], meta: dict) -> dict[str, int]:
    """Bugs named and named first (of those with an expected code), healthy programs quiet, buggy programs unjudged."""
    loud = {"warning", "error"}
    out = dict.fromkeys(("bugs", "named", "first", "healthy", "quiet", "missed"), 0)
    for r in rows:
        m = meta.get(r["name"])
        if m is None or m["bug"] == "healthy":
            out["healthy"] += 1
            out["quiet"] += not any(s in loud for _, s in r["codes"])
            continue
        out["missed"] += not r["codes"]
        if not m["expected"].startswith("("):  # ("(labels misaligned; no exact code known)": no code to expect)
            out["bugs"] += 1
            codes = [c for c, _ in r["codes"]]
            out["named"] += m["expected"] in codes
            out["first"] += bool(codes) and codes[0] == m["expected"]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default="", help="programs whose name starts with this (a style: n04)")
    parser.add_argument("--save", help="append the rows as JSON lines")
    args = parser.parse_args(argv)
    meta = json.loads((FRESH / "meta.json").read_text(encoding="utf-8"))
    rows = []
    with tempfile.TemporaryDirectory(prefix="netdoctor_fresh_") as tmp:
        for script in sorted(FRESH.glob(f"{args.only}*.py")):
            r = run(script, Path(tmp))
            rows.append(r)
            expected = (meta.get(r["name"]) or {}).get("expected", "(healthy)")
            got = ", ".join(f"{c}:{s[0]}" for c, s in r["codes"]) or r["verdict"][:40]
            print(f"{r['name']:6} acc {r['accuracy'] if r['accuracy'] is not None else '?':<6} expected {expected:<24} "
                  f"got {got}", flush=True)
    if args.save:
        with open(args.save, "a", encoding="utf-8") as f:
            f.writelines(json.dumps(r) + "\n" for r in rows)
    t = totals(rows, meta)
    print(f"bugs named {t['named']}/{t['bugs']} (first {t['first']}); healthy quiet {t['quiet']}/{t['healthy']}; "
          f"buggy programs with no finding {t['missed']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
