"""What ``netdoctor run SCRIPT [ARGS...]`` does once the flags are parsed.

The script runs as ``__main__`` with its own arguments and output
(:func:`netdoctor.observe.runner.run_script`); the report follows its
output on the stdout netdoctor started with (also when the script re-bound
or closed ``sys.stdout``), and goes to ``--json FILE`` / ``--html FILE``
too. The output paths are checked before the script starts; a file that
cannot be written at the end costs an error line, never the terminal report.

Exit codes (docs/run.md): the script's own status when it failed (the
status it passed to ``sys.exit``, 1 when it raised, 130 after Ctrl-C);
otherwise 1 when problems were found, 3 when too little was observed to
judge (no network found, the observer stopped on an error of its own, too
few updates followed: the verdict says which), 0 when nothing is wrong; 2
when netdoctor could not start it (a missing file, a syntax error, a bad
flag) or ``--net NAME`` names nothing in it (the line lists the names it has).
"""

from __future__ import annotations

import os
import shlex
import sys
from typing import Any

from netdoctor.errors import InvalidArgument

__all__ = ["run_run", "add_run_parser", "split_run_argv", "VALUE_OPTIONS"]

VALUE_OPTIONS = ("--net", "--max-updates", "--max-seconds", "--json", "--html", "--plots", "--ignore")
"""The ``run`` options that take a value: the first word after netdoctor's own options is the script."""


def add_run_parser(sub: Any, positive: Any) -> None:
    """The ``run`` subcommand's flags (called by :func:`netdoctor.cli.app.build_parser`)."""
    run = sub.add_parser(
        "run",
        help="run your own training script and diagnose what it really does",
        description="Run SCRIPT as `python SCRIPT ARGS...` would (or a module, as `python -m MODULE ARGS...`), "
        "watch the network it trains (found automatically), and print what is wrong with file:line in your "
        "code after the script's own output.",
        usage="netdoctor run [options] SCRIPT [ARGS...]\n       netdoctor run [options] -m MODULE [ARGS...]",
        allow_abbrev=False,  # split_run_argv must know every option that takes a value
    )
    run.add_argument("script", metavar="SCRIPT", help="the Python script to run (or a folder with a __main__.py); "
                     "ARGS after it are the script's own, passed as they are")
    # ARGS is not an argparse positional: everything after SCRIPT is the script's, verbatim (split_run_argv).
    run.set_defaults(args=[])
    run.add_argument("-m", dest="module", action="store_true",
                     help="SCRIPT is a module name: run it as `python -m SCRIPT` does (from the current directory)")
    run.add_argument("--net", metavar="NAME", help="the network's name in your script (a global or local variable, "
                     "e.g. net or model.layers) when the one found is wrong")
    run.add_argument("--max-updates", type=positive(int), metavar="N", help="stop the script after N observed updates")
    run.add_argument("--max-seconds", type=positive(float), metavar="S", help="stop the script after S seconds")
    out = run.add_argument_group("output")
    out.add_argument("--json", metavar="FILE", help="also write the report as JSON to FILE (schema in docs/cli.md)")
    out.add_argument("--html", metavar="FILE", help="also write the report as a standalone HTML file")
    out.add_argument("--plots", metavar="DIR", help="also write the plots as PNG files (needs matplotlib)")
    out.add_argument("--no-color", action="store_true", help="no colour (also when NO_COLOR is set)")
    out.add_argument("--ignore", metavar="CODE", action="append", default=[], help="silence a finding code; repeatable")


def split_run_argv(argv: list[str]) -> tuple[list[str], list[str]]:
    """``["run", *options, SCRIPT, *args]`` -> netdoctor's part (up to SCRIPT) and the script's arguments, verbatim.

    The script's arguments are never parsed: ``netdoctor run a.py -- x`` gives
    the script ``['a.py', '--', 'x']`` as ``python a.py -- x`` does. A ``--``
    before SCRIPT ends netdoctor's options (for a script whose name starts
    with ``-``).
    """
    i = 1
    while i < len(argv):
        word = argv[i]
        if word == "--":
            return argv[: i + 2], argv[i + 2:]
        if word.startswith("-") and word != "-":
            i += 2 if word in VALUE_OPTIONS else 1
            continue
        return argv[: i + 1], argv[i + 1:]
    return argv, []


def _usable(console: Any, fd: int | None) -> Any:
    """The console, re-opened on its file descriptor ``fd`` when the script closed the stream it writes to."""
    stream = console.file
    if not getattr(stream, "closed", False):
        return console
    if fd is None:
        return None
    try:
        console.file = open(os.dup(fd), "w", encoding=getattr(stream, "encoding", None) or "utf-8",  # noqa: SIM115 - lives until exit
                            errors="replace")
    except OSError:
        return None
    return console


def _fileno(console: Any) -> int | None:
    try:
        return console.file.fileno()
    except (OSError, ValueError, AttributeError):
        return None


def _flush(stream: Any) -> None:
    try:
        stream.flush()
    except (OSError, ValueError, AttributeError):
        pass  # the script closed or broke its own stream: nothing of ours to flush there


def exit_status(result: Any, report: Any) -> int:
    """The exit rule: the script's own status when it failed, else 1 for problems found, 3 for too little
    observed to judge, 0 for nothing wrong."""
    if result.exit_status:
        return int(result.exit_status)
    if not report.ok:
        return 1
    return 3 if report.unobserved else 0


def run_run(args: Any, *, out: Any, err: Any) -> int:
    """Run the script under observation, print its report; returns the exit code."""
    from netdoctor.cli.check import check_outputs
    from netdoctor.observe.options import ObserveOptions
    from netdoctor.observe.runner import program_set_aside, run_script

    if args.json == "-":
        raise InvalidArgument("--json -: stdout belongs to the script under `netdoctor run`; name a file, e.g. --json report.json")
    check_outputs(json=args.json, html=args.html, plots=args.plots)
    fds = (_fileno(out), _fileno(err))

    def runaway(result: Any) -> None:
        # The script catches every stop (a bare `except:` around its step): report, then end the process.
        try:
            with program_set_aside():
                code = _report(args, result, out, err, fds, options.net_missing())
        except InvalidArgument as exc:
            print(f"netdoctor: error: {exc}", file=err.file)
            code = 2
        for stream in (sys.stdout, sys.stderr, out.file, err.file):
            _flush(stream)
        os._exit(code)

    options = ObserveOptions(net=args.net, max_updates=args.max_updates, max_seconds=args.max_seconds)
    result = run_script(args.script, list(args.args), options, module=getattr(args, "module", False), on_runaway=runaway)
    with program_set_aside():
        return _report(args, result, out, err, fds, options.net_missing())


def _report(args: Any, result: Any, out: Any, err: Any, fds: tuple[int | None, int | None], missing: str) -> int:
    """The script's traceback (as Python prints it), the terminal report, then the files; returns the exit code.

    ``missing``: the line for a ``--net`` name never found in the program ("" when found or not given).
    """
    from netdoctor.cli.check import write_outputs

    report = result.report
    report.context["command"] = shlex.join(["netdoctor", *args.argv])
    if missing and not result.exit_status:
        raise InvalidArgument(missing)  # the script ran as always; nothing it has is called that
    if args.ignore:
        report = report.without(args.ignore)
    _flush(sys.stdout)
    if result.traceback:
        # Where Python prints it: the script's own sys.stderr, as it left it.
        try:
            sys.stderr.write(result.traceback)
        except (OSError, ValueError, AttributeError):
            pass
        _flush(sys.stderr)
    shown = _usable(out, fds[0]) or _usable(err, fds[1])
    if shown is not None:
        shown.print(report)
    write_outputs(report, json=args.json, html=args.html, plots=args.plots)
    return exit_status(result, report)
