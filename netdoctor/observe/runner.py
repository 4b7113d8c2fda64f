"""Run a script as ``__main__`` under observation, as ``python script.py ARGS`` would run it.

Like ``python -m cProfile`` or ``pdb``: ``sys.argv`` is the script and its
arguments, ``sys.path[0]`` is the script's folder, ``__name__`` is
``"__main__"`` (a fresh module in ``sys.modules``), and the script's output
goes where it always goes. Everything changed for the run (argv, path,
``__main__``) is put back afterwards.

How the run ended is part of the result: finished, raised (the traceback of
the script's own frames is kept), interrupted by Ctrl-C, stopped by a limit,
or exited through ``sys.exit``.
"""

from __future__ import annotations

import os
import sys
import traceback
import types
from dataclasses import dataclass

from netdoctor.errors import InvalidArgument
from netdoctor.findings import Report
from netdoctor.observe.options import ObserveOptions
from netdoctor.observe.session import Observation

__all__ = ["RunResult", "run_script", "compile_script"]


@dataclass
class RunResult:
    """How an observed script ended, and what was seen.

    Attributes:
        report: the findings, root causes first (partial after Ctrl-C).
        status: ``"finished"``, ``"raised"``, ``"interrupted"``, ``"stopped"`` or ``"exited"``.
        traceback: the script's traceback (its own frames only) when it raised, else "".
        exit_status: the status the script passed to ``sys.exit`` (0 when it ended normally).
    """

    report: Report
    status: str
    traceback: str = ""
    exit_status: int = 0


def compile_script(path: str):
    """The script's code object and source.

    Raises:
        InvalidArgument: one line naming the file (and line) when the file is
            missing, unreadable, not text or not valid Python.
    """
    if not os.path.exists(path):
        raise InvalidArgument(f"cannot run {path}: no such file")
    if os.path.isdir(path):
        raise InvalidArgument(f"cannot run {path}: it is a directory; give the script to run (e.g. {os.path.join(path, 'train.py')})")
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
        source = raw.decode("utf-8")
    except OSError as exc:
        raise InvalidArgument(f"cannot run {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise InvalidArgument(f"cannot run {path}: not a UTF-8 text file (byte {exc.start})") from None
    try:
        code = compile(raw, os.path.abspath(path), "exec", dont_inherit=True)
    except SyntaxError as exc:
        raise InvalidArgument(f"cannot run {path}: line {exc.lineno}: {exc.msg} (SyntaxError)") from None
    except ValueError as exc:
        raise InvalidArgument(f"cannot run {path}: {exc}") from None
    return code, source


def _own_traceback(exc: BaseException, script: str) -> str:
    """The traceback from the script's first frame on (netdoctor's and the runner's frames are dropped)."""
    tb = exc.__traceback__
    while tb is not None and os.path.abspath(tb.tb_frame.f_code.co_filename) != script:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb))


def run_script(path: str, args: list[str], options: ObserveOptions | None = None) -> RunResult:
    """Run the script at ``path`` with ``args`` as ``__main__`` under observation.

    Raises:
        InvalidArgument: the script could not be started (see :func:`compile_script`).
    """
    code, source = compile_script(path)
    script = os.path.abspath(path)
    options = options or ObserveOptions()
    options.script = path
    main = types.ModuleType("__main__")
    main.__dict__.update({"__file__": script, "__builtins__": __builtins__, "__spec__": None,
                          "__loader__": None, "__package__": None, "__cached__": None})
    saved_argv, saved_path0, saved_main = sys.argv[:], sys.path[0] if sys.path else None, sys.modules.get("__main__")
    sys.argv = [path, *args]
    if sys.path:
        sys.path[0] = os.path.dirname(script)
    else:
        sys.path.insert(0, os.path.dirname(script))
    sys.modules["__main__"] = main
    obs = Observation(options, script=script, source=source)
    status, tb_text, exit_status = "finished", "", 0
    try:
        with obs:
            exec(code, main.__dict__)
    except KeyboardInterrupt:
        status = "interrupted"
    except SystemExit as exc:
        code_ = exc.code
        exit_status = code_ if isinstance(code_, int) else (0 if code_ is None else 1)
        if code_ is not None and not isinstance(code_, int):
            print(code_, file=sys.stderr)
        status = "exited" if exit_status else "finished"
    except BaseException as exc:  # noqa: BLE001 - the script's own error: shown as Python would, then the report
        status, tb_text = "raised", _own_traceback(exc, script)
    finally:
        sys.argv = saved_argv
        if saved_path0 is not None:
            sys.path[0] = saved_path0
        if saved_main is not None:
            sys.modules["__main__"] = saved_main
    if obs.stopped:
        status = "stopped"
    report = obs.report
    return RunResult(report, status, tb_text, exit_status)
