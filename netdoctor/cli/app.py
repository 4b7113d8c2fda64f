"""The ``netdoctor`` command: ``main(argv) -> exit code``.

``netdoctor run SCRIPT [ARGS...]`` runs the user's own training script and
diagnoses what it really does (:mod:`netdoctor.cli.run`).
``netdoctor check [DATA]`` loads the data (the bundled MNIST sample when no
DATA is given), trains the reference MLP (or the user's ``--model``) with
monitors on, runs the checks and prints a report ranked root cause first.

Exit codes: 0 nothing wrong, 1 problems found (error findings),
2 usage or data error, 130 interrupted (the partial report is printed).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from netdoctor.errors import NetdoctorError

__all__ = ["main", "parse", "build_parser", "FINDING_CODES"]

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as shells report it

JSON_FLAG = "<--json without FILE>"
"""``check --json`` given as a flag (its old meaning: JSON on stdout); kept working with a deprecation note."""

FINDING_CODES = (
    "accuracy-plateau", "aliased-buffers", "bad-initial-loss", "batch-leak", "cannot-overfit", "class-collapse",
    "constant-output", "constant-targets", "dead-units", "double-softmax", "eval-mode-training",
    "exploding-gradients", "frozen-parameters", "gradient-mismatch", "label-permutation",
    "learning-rate-too-high", "learning-rate-too-low", "missing-log-softmax", "mutated-constant", "no-learning", "non-finite", "odd-values",
    "reference-comparison", "saturated-activations", "stale-accumulator", "summed-gradient",
    "train-mode-evaluation", "unscaled-inputs", "unshuffled-data", "update-mismatch", "vanishing-gradients",
)
"""Every finding code (docs/findings.md lists each; a test keeps the two equal): what ``--ignore`` accepts."""

_DATA_SUFFIXES = (".csv", ".gz", ".npz", ".idx", ".ubyte")


def _hidden(text: str) -> list[int]:
    try:
        sizes = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--hidden {text!r}: expected widths like 30 or 128,64") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"--hidden {text!r}: widths must be positive integers")
    return sizes


def _positive(kind):
    what = "a whole number" if kind is int else "a number"

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r}: expected {what}, e.g. {'5' if kind is int else '0.5'}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"{text!r} must be positive")
        return value

    return parse


def _label_column(text: str):
    if text in ("auto", "first", "last"):
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected auto, first, last or a column number") from None


def _terminal_columns() -> int:
    """The terminal's width as ``shutil.get_terminal_size().columns`` reads it: ``COLUMNS``, else the size of the
    terminal on ``sys.__stdout__``, else 80."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns > 0:
        return columns
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return 80


class _Formatter(argparse.HelpFormatter):
    """argparse's help layout at the width argparse picks itself (the terminal's, less 2), read without ``shutil``:
    argparse imports it for that width, and ``shutil`` imports ``bz2`` and ``lzma`` (~4 ms of every command, which
    ``netdoctor run`` pays before the program starts)."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24, width: int | None = None) -> None:
        super().__init__(prog, indent_increment, max_help_position, _terminal_columns() - 2 if width is None else width)


class _Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose help (and its subcommands') is laid out by :class:`_Formatter`."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (one place defines every flag and its default)."""
    parser = _Parser(
        prog="netdoctor",
        description="Find out why a neural network does not learn.",
    )
    from netdoctor import __version__
    parser.add_argument("--version", action="version", version=f"netdoctor {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    check = sub.add_parser(
        "check",
        help="train with monitors on, run the checks, print a ranked diagnosis",
        description="Load DATA (default: the bundled real MNIST sample), train the reference MLP "
        "or your --model with monitors on, run gradient checks, aliasing and stale-buffer "
        "probes, and print the findings, root cause first.",
    )
    data = check.add_argument_group("data")
    data.add_argument("data", nargs="?", help="CSV/CSV.gz (label first or last), IDX file or .npz; default: bundled sample")
    data.add_argument("--test", metavar="FILE", help="evaluate on this file instead of a held-out split")
    data.add_argument("--test-fraction", type=float, default=0.2, help="held-out share when --test is not given (default 0.2)")
    data.add_argument("--label-column", type=_label_column, default="auto", help="auto (default), first, last or a column number")
    data.add_argument("--raw-pixels", action="store_true", help="hand the raw values (0..255 pixels, unscaled features) to the model (for models that scale their input themselves)")

    model = check.add_argument_group("model and training")
    model.add_argument("--model", metavar="FILE.py:FACTORY", help="diagnose your own network: FACTORY() returns a protocol model (docs/protocol.md)")
    model.add_argument("--hidden", type=_hidden, action="append", help="hidden widths; repeat or comma list for depth (default 64)")
    model.add_argument("--activation", default="tanh", choices=["tanh", "sigmoid", "relu", "leaky_relu", "identity"])
    model.add_argument("--output-activation", default=None, help="softmax for cross-entropy; with mse any activation (default: --activation)")
    model.add_argument("--loss", default="cross_entropy", choices=["cross_entropy", "mse"])
    model.add_argument("--lr", type=_positive(float), default=None,
                       help="learning rate (default: the --model's own lr/learning_rate/eta/alpha or its PyTorch optimizer's, else 0.1)")
    model.add_argument("--batch-size", type=_positive(int), default=None,
                       help="mini-batch size (default: the --model's own batch_size/mini_batch_size, else 32)")
    model.add_argument("--epochs", type=_positive(int), default=3, help="epochs (default 3)")
    model.add_argument("--init", default="xavier", choices=["xavier", "he", "normal"])
    model.add_argument("--sigma", type=_positive(float), default=1.0, help="standard deviation for --init normal (default 1)")
    model.add_argument("--momentum", type=float, default=0.0, help="heavy-ball momentum in [0, 1) (default 0)")
    model.add_argument("--reduce", default="mean", choices=["mean", "sum"], help="apply the batch mean (default) or sum of the gradient")
    model.add_argument("--seed", type=int, default=0, help="seeds initialisation, shuffling, splits and probes (default 0)")
    model.add_argument("--dtype", default="float64", choices=["float64", "float32"])

    out = check.add_argument_group("output")
    out.add_argument("--json", metavar="FILE", nargs="?", const=JSON_FLAG,
                     help="write the report as JSON (schema in docs/cli.md) to FILE; `--json -` prints it on stdout instead of the report")
    out.add_argument("--html", metavar="FILE", help="also write the report as a standalone HTML file")
    out.add_argument("--plots", metavar="DIR", help="also write the plots as PNG files (needs matplotlib)")
    out.add_argument("--no-color", action="store_true", help="no colour (also when NO_COLOR is set)")
    out.add_argument("--ignore", metavar="CODE", action="append", default=[], help="silence a finding code; repeatable")
    out.add_argument("--no-gradcheck", action="store_true", help="skip the gradient check")
    out.add_argument("--quick", action="store_true", help="skip the confirming experiments")

    from netdoctor.cli.run import add_run_parser

    add_run_parser(sub, _positive)
    return parser


def _console(args, file):
    """A rich console bound to ``file`` (the stream the command started with, not whatever ``sys.stdout`` is later)."""
    from rich.console import Console

    no_color = args.no_color or bool(os.environ.get("NO_COLOR"))
    # emoji=False: a user's ":x:" in a source line or a path is printed as written, never as an emoji.
    return Console(file=file, no_color=no_color, highlight=False, soft_wrap=False, emoji=False)


class _LazyConsole:
    """A rich console made on first use: ``netdoctor run`` imports rich after the script, not before it.

    ``file`` (the stream it writes to) can be read and replaced before the console exists.
    """

    def __init__(self, args, file) -> None:
        self._args = args
        self._file = file
        self._console = None

    @property
    def file(self):
        return self._file if self._console is None else self._console.file

    @file.setter
    def file(self, stream) -> None:
        self._file = stream
        if self._console is not None:
            self._console.file = stream

    def __getattr__(self, name: str):
        if self._console is None:
            self._console = _console(self._args, self._file)
        return getattr(self._console, name)


def _check_json(args, parser: argparse.ArgumentParser, stderr) -> None:
    """Resolve ``check --json``: ``-`` is stdout, a FILE is written; the old flag form still means stdout."""
    from netdoctor.fileio import is_report

    value = args.json
    if value is None or value == "-":
        return
    old = value == JSON_FLAG
    if not old and args.data is None:
        # `check --json data.csv` was the flag followed by the data: read it so, never overwrite the data.
        exists = os.path.isfile(value)
        old = (exists and not is_report(value, "json")) or (not exists and value.lower().endswith(_DATA_SUFFIXES))
        if old:
            args.data = value
    if old:
        args.json = "-"
        read_as = "" if value == JSON_FLAG else f" ({value} is read as the DATA: it is not a netdoctor JSON report)"
        print("netdoctor: note: `--json` without a FILE is deprecated; write `--json -` for JSON on stdout "
              f"(or `--json FILE` to keep the terminal report){read_as}", file=stderr)


def _check_codes(codes: Sequence[str], parser: argparse.ArgumentParser) -> None:
    unknown = [c for c in codes if c not in FINDING_CODES]
    if unknown:
        parser.error(f"--ignore {unknown[0]}: no such finding code; known codes: {', '.join(FINDING_CODES)}")


def parse(argv: Sequence[str] | None = None, stderr=None) -> argparse.Namespace:
    """The parsed command line, ``args.argv`` holding it as typed.

    ``netdoctor run`` parses only its own options: everything after SCRIPT
    (or ``-m MODULE``) is the script's, kept verbatim as ``python`` keeps it
    (a leading ``--`` included).
    """
    from netdoctor.cli.run import split_run_argv

    typed = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    script_args: list[str] | None = None
    own = typed
    if typed[:1] == ["run"]:
        own, script_args = split_run_argv(typed)
    args = parser.parse_args(own)
    if script_args is not None:
        args.args = script_args
    # The command line as typed, for reports that must say how to reproduce them.
    args.argv = typed
    if args.command is not None:
        _check_codes(args.ignore, parser)
    if args.command == "check":
        _check_json(args, parser, stderr or sys.stderr)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (never raises for user errors).

    The report goes to the stdout (and messages to the stderr) that the command
    started with, even when the observed script re-binds or closes its own.
    """
    stdout, stderr = sys.stdout, sys.stderr
    args = parse(argv, stderr)
    if args.command is None:
        build_parser().print_help()
        return EXIT_USAGE
    try:
        if args.command == "run":
            from netdoctor.cli.run import run_run

            return run_run(args, out=_LazyConsole(args, stdout), err=_LazyConsole(args, stderr))
        from netdoctor.cli.check import run_check

        return run_check(args, out=_console(args, stdout), err=_console(args, stderr))
    except NetdoctorError as exc:
        print(f"netdoctor: error: {exc}", file=stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("netdoctor: interrupted", file=stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`netdoctor check --json - | head`): not our error.
        # Point stdout at devnull so the interpreter's final flush stays quiet.
        os.dup2(os.open(os.devnull, os.O_WRONLY), stdout.fileno())
        return EXIT_BROKEN_PIPE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
