"""What ``netdoctor run SCRIPT [ARGS...]`` does once the flags are parsed.

The script runs as ``__main__`` with its own arguments and output
(:func:`netdoctor.observe.runner.run_script`); the report follows its
output on stdout, or goes to ``--json FILE`` / ``--html FILE``.

Exit codes: 0 nothing wrong, 1 problems found (or the script raised: its
traceback is printed first), 2 the script could not be started, 130
interrupted (the partial report is printed).
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["run_run", "add_run_parser"]


def add_run_parser(sub: Any, positive: Any) -> None:
    """The ``run`` subcommand's flags (called by :func:`netdoctor.cli.app.build_parser`)."""
    import argparse

    run = sub.add_parser(
        "run",
        help="run your own training script and diagnose what it really does",
        description="Run SCRIPT as `python SCRIPT ARGS...` would, watch the network it trains (found automatically), "
        "and print what is wrong with file:line in your code after the script's own output.",
        usage="netdoctor run [options] SCRIPT [ARGS...]",
    )
    run.add_argument("script", metavar="SCRIPT", help="the Python script to run")
    run.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS", help="the script's own arguments")
    run.add_argument("--net", metavar="NAME", help="the network's name in your script (a global or local variable, "
                     "e.g. net or model.layers) when the one found is wrong")
    run.add_argument("--max-updates", type=positive(int), metavar="N", help="stop the script after N observed updates")
    run.add_argument("--max-seconds", type=positive(float), metavar="S", help="stop the script after S seconds")
    out = run.add_argument_group("output")
    out.add_argument("--json", metavar="FILE", help="write the report as JSON to FILE (schema in docs/cli.md)")
    out.add_argument("--html", metavar="FILE", help="also write the report as a standalone HTML file")
    out.add_argument("--plots", metavar="DIR", help="also write the plots as PNG files (needs matplotlib)")
    out.add_argument("--no-color", action="store_true", help="no colour (also when NO_COLOR is set)")
    out.add_argument("--ignore", metavar="CODE", action="append", default=[], help="silence a finding code; repeatable")


def run_run(args: Any, *, out: Any, err: Any) -> int:
    """Run the script under observation, print its report; returns the exit code."""
    from netdoctor.cli.check import write_outputs
    from netdoctor.fileio import atomic_write_text
    from netdoctor.observe.options import ObserveOptions
    from netdoctor.observe.runner import run_script

    options = ObserveOptions(net=args.net, max_updates=args.max_updates, max_seconds=args.max_seconds)
    result = run_script(args.script, list(args.args), options)
    report = result.report
    if args.ignore:
        report = report.without(args.ignore)
    sys.stdout.flush()
    if result.traceback:
        sys.stderr.write(result.traceback)
        sys.stderr.flush()
    if result.status == "exited":
        err.print(f"netdoctor: {args.script} exited with status {result.exit_status}")
    if args.json:
        try:
            atomic_write_text(args.json, report.to_json())
        except OSError as exc:
            from netdoctor.errors import InvalidArgument

            raise InvalidArgument(f"cannot write {args.json}: {exc.strerror or exc}") from None
    write_outputs(report, html=args.html, plots=args.plots)
    out.print(report)
    if result.status == "interrupted":
        return 130
    if result.status in ("raised", "exited"):
        return 1
    return 0 if report.ok else 1
