"""False alarms and misses of ``netdoctor check --model`` on independently written user nets.

Runs every style of ``tests/user_nets`` (column vectors and rows; lists, dicts
and layer objects; returned gradients, accumulated buffers and in-place
updates; per-sample and batched) through the command line exactly as a user
would, with no training flags: each net is trained at its own learning rate
and batch size on the bundled MNIST sample.

* healthy nets, ``--seeds`` seeds each (the seed re-draws the initialisation
  through ``USER_NET_SEED`` and the split, shuffling and probes through
  ``--seed``): how often each detector fires, error and warning separately;
* every planted bug once: which findings appear and which is ranked first.

``python bench/reliability.py --write`` replaces the generated part of
``docs/reliability.md``; ``--seeds 1 --styles row_dict`` is a quick look.
Takes ~15-30 minutes for 5 seeds on a quiet 2-core machine.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import io
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from user_nets import KIND, MNIST_BUGS, STYLES, factory_name  # noqa: E402

from netdoctor.cli import main  # noqa: E402

BEGIN, END = "<!-- reliability:begin -->", "<!-- reliability:end -->"


def run_check(style: str, factory: str, seed: int) -> dict:
    """One ``netdoctor check --model tests/user_nets/STYLE.py:FACTORY --seed SEED --json`` in process."""
    if seed:  # seed 0 is the author's own initialisation; others re-draw it
        os.environ["USER_NET_SEED"] = str(1000 + seed)
    else:
        os.environ.pop("USER_NET_SEED", None)
    buf = io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(io.StringIO()):
        code = main(["check", "--model", f"{ROOT / 'tests' / 'user_nets' / style}.py:{factory}", "--seed", str(seed),
                     "--json", "--no-color"])
    report = json.loads(buf.getvalue()) if buf.getvalue().strip() else {"findings": [], "error": True}
    report["exit_code"], report["wall"] = code, time.perf_counter() - started
    return report


def sweep(styles: list[str], seeds: int, bugs: bool) -> dict:
    healthy, planted = [], []
    for style in styles:
        for seed in range(seeds):
            rep = run_check(style, "mnist", seed)
            acc = (rep.get("sections", {}).get("history") or [{}])[-1].get("test_accuracy")
            row = {"style": style, "seed": seed, "exit": rep["exit_code"], "accuracy": acc, "seconds": round(rep["wall"], 1),
                   "training": rep.get("context", {}).get("training"),
                   "findings": [(f["code"], f["severity"]) for f in rep["findings"]]}
            healthy.append(row)
            print(json.dumps(row), flush=True)
        if bugs:
            for bug in MNIST_BUGS[style]:
                rep = run_check(style, factory_name(bug), 0)
                row = {"style": style, "bug": bug, "exit": rep["exit_code"],
                       "findings": [(f["code"], f["severity"]) for f in rep["findings"]],
                       "root": (rep.get("verdict") or "").partition("root cause: ")[2].split(" ")[0] or None}
                planted.append(row)
                print(json.dumps(row), flush=True)
    return {"healthy": healthy, "planted": planted}


def render(result: dict, seeds: int) -> str:
    healthy, planted = result["healthy"], result["planted"]
    n = len(healthy)
    styles = sorted({r["style"] for r in healthy}, key=list(STYLES).index)
    counts: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for r in healthy:
        for code, sev in set(map(tuple, r["findings"])):
            counts[code][sev] += 1
    lines = [BEGIN, "",
             f"Measured by `python bench/reliability.py --seeds {seeds} --write`: {n} healthy runs "
             f"({len(styles)} styles x {seeds} seeds), each `netdoctor check --model tests/user_nets/STYLE.py:mnist "
             "--seed S` on the bundled MNIST sample with no training flags, so each net trains at its own learning "
             "rate and batch size (the header's `training` line names them).", "",
             "| style | what it is like | own settings | exit codes | final test accuracy |", "|---|---|---|---|---|"]
    for s in styles:
        rows = [r for r in healthy if r["style"] == s]
        accs = [r["accuracy"] for r in rows if r["accuracy"] is not None]
        settings = (rows[0]["training"] or "").split(", ", 1)[-1].rsplit(", seed", 1)[0]
        exits = collections.Counter(r["exit"] for r in rows)
        lines.append(f"| `{s}` | {KIND[s]} | {settings} | {', '.join(f'{k}: {v}' for k, v in sorted(exits.items()))} | "
                     f"{100 * min(accs):.1f}-{100 * max(accs):.1f}% |" if accs else f"| `{s}` | {KIND[s]} | {settings} | - | - |")
    lines += ["", f"Findings on the {n} healthy runs, per detector (runs in which it fired; the acceptance limit is "
              f"no error at all and at most 1 warning in 20 runs, i.e. {n // 20} of {n}):", "",
              "| code | error | warning | info |", "|---|---|---|---|"]
    for code in sorted(counts):
        c = counts[code]
        lines.append(f"| `{code}` | {c['error']}/{n} | {c['warning']}/{n} | {c['info']}/{n} |")
    if not counts:
        lines.append("| (none) | 0 | 0 | 0 |")
    if planted:
        lines += ["", "Planted bugs, one run each (seed 0): every finding, and the one ranked first (the verdict's "
                  "root cause).", "", "| style | bug | exit | ranked first | findings |", "|---|---|---|---|---|"]
        for r in planted:
            found = ", ".join(f"`{c}`" + ("" if s == "error" else f" ({s})") for c, s in r["findings"])
            lines.append(f"| `{r['style']}` | {r['bug']} | {r['exit']} | `{r['root']}` | {found} |")
    lines += ["", END]
    return "\n".join(lines)


def main_(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--styles", nargs="*", default=list(STYLES))
    parser.add_argument("--no-bugs", action="store_true", help="healthy runs only")
    parser.add_argument("--write", action="store_true", help="write the table into docs/reliability.md")
    parser.add_argument("--save", metavar="FILE", help="also save the raw results as JSON")
    args = parser.parse_args(argv)
    result = sweep(args.styles, args.seeds, not args.no_bugs)
    if args.save:
        Path(args.save).write_text(json.dumps(result, indent=1))
    text = render(result, args.seeds)
    print(text)
    if args.write:
        doc = ROOT / "docs" / "reliability.md"
        page = doc.read_text(encoding="utf-8")
        if BEGIN in page:
            page = page[: page.index(BEGIN)] + text + page[page.index(END) + len(END):]
        else:
            page = page.rstrip("\n") + "\n\n## User networks in other styles\n\n" + text + "\n"
        doc.write_text(page, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main_())
