"""Run a program as ``__main__`` under observation, as ``python`` would run it.

Three forms, as ``python`` takes them: a script (``python train.py ARGS``),
a folder or zip file with a ``__main__.py`` (``python pkg ARGS``) and a
module (``python -m pkg.train ARGS``, relative imports included). As with
``python -m cProfile`` or ``pdb``: ``sys.argv`` is the program and its
arguments, ``sys.path[0]`` is the script's folder (the current directory for
a module), ``__name__`` is ``"__main__"`` (a fresh module in
``sys.modules``, whose ``__builtins__`` is the ``builtins`` module), the
source is decoded as its PEP 263 coding line says, and the program's output
goes where it always goes.

Everything changed for the run is put back afterwards: ``sys.argv``,
``sys.path`` (whole), ``__main__``, and the modules the program imported from
its own files (a helper called ``html.py`` or ``json.py`` must not stand in for
the standard library when netdoctor renders the report).

How the run ended is part of the result: finished, raised (the traceback of
the program's own frames is kept), interrupted by Ctrl-C, stopped by a
limit, or exited through ``sys.exit``; :attr:`RunResult.fate` says it in
words for the report.
"""

from __future__ import annotations

import builtins
import importlib.util
import os
import sys
import tokenize
import traceback
import types
from dataclasses import dataclass

from netdoctor.errors import InvalidArgument
from netdoctor.findings import Report
from netdoctor.observe.options import ObserveOptions
from netdoctor.observe.session import Observation
from netdoctor.observe.source import short_path
from netdoctor.observe.tracer import is_user_file

__all__ = ["RunResult", "Program", "run_script", "compile_script", "find_program"]


@dataclass
class RunResult:
    """How an observed program ended, and what was seen.

    Attributes:
        report: the findings, root causes first (partial after Ctrl-C); its
            ``failed`` says how the program failed, if it did.
        status: ``"finished"``, ``"raised"``, ``"interrupted"``, ``"stopped"`` or ``"exited"``.
        traceback: the program's traceback (its own frames only) when it raised or was interrupted, else "".
        exit_status: the status ``python`` would have exited with (0 when it ended normally,
            1 when it raised, the ``sys.exit`` status, 130 after Ctrl-C).
        fate: one line for the report when the program failed (``"raised ValueError: bad row (train.py:3)"``,
            ``"exited with status 3"``), else "".
    """

    report: Report
    status: str
    traceback: str = ""
    exit_status: int = 0
    fate: str = ""


@dataclass
class Program:
    """What to run, resolved as ``python`` resolves its command line.

    Attributes:
        code: the compiled ``__main__`` code.
        source: its text (decoded as its coding line says).
        filename: the absolute path of the file that runs as ``__main__``.
        argv0: ``sys.argv[0]`` during the run.
        path0: ``sys.path[0]`` during the run.
        spec: ``__spec__`` of ``__main__`` (None for a plain script).
        package: ``__package__`` of ``__main__``.
    """

    code: types.CodeType
    source: str
    filename: str
    argv0: str
    path0: str
    spec: object = None
    package: str | None = None


def _read_source(path: str, shown: str) -> tuple[bytes, str]:
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise InvalidArgument(f"cannot run {shown}: {exc.strerror or exc}") from None
    try:
        encoding, _ = tokenize.detect_encoding(iter(raw.splitlines(keepends=True)).__next__)
        text = raw.decode(encoding)
    except (SyntaxError, LookupError, UnicodeDecodeError) as exc:
        raise InvalidArgument(f"cannot run {shown}: not a Python text file ({exc})") from None
    return raw, text


def _compile(raw: bytes, filename: str, shown: str) -> types.CodeType:
    try:
        return compile(raw, filename, "exec", dont_inherit=True)
    except SyntaxError as exc:
        raise InvalidArgument(f"cannot run {shown}: line {exc.lineno}: {exc.msg} (SyntaxError)") from None
    except ValueError as exc:
        raise InvalidArgument(f"cannot run {shown}: {exc}") from None


def compile_script(path: str) -> tuple[types.CodeType, str]:
    """The script's code object and source (the bytes are compiled, so a PEP 263 coding line is honoured).

    Raises:
        InvalidArgument: one line naming the file (and line) when the file is
            missing, unreadable, not text or not valid Python.
    """
    if not os.path.exists(path):
        raise InvalidArgument(f"cannot run {path}: no such file")
    raw, text = _read_source(path, path)
    return _compile(raw, os.path.abspath(path), path), text


def _module_program(name: str) -> Program:
    """``python -m name``: the module (a package's ``__main__``) found from the current directory."""
    path0 = os.getcwd()
    saved = sys.path[:]
    sys.path.insert(0, path0)
    try:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations is not None:
            spec = importlib.util.find_spec(f"{name}.__main__")
    except (ImportError, ValueError) as exc:
        raise InvalidArgument(f"cannot run -m {name}: {exc}") from None
    finally:
        sys.path[:] = saved
    if spec is None or spec.loader is None or not spec.origin or not os.path.isfile(spec.origin):
        raise InvalidArgument(f"cannot run -m {name}: no module named {name!r} (looked in {path0} and sys.path)")
    raw, text = _read_source(spec.origin, f"-m {name}")
    return Program(_compile(raw, spec.origin, f"-m {name}"), text, spec.origin, spec.origin, path0, spec, spec.parent)


def find_program(target: str, *, module: bool = False) -> Program:
    """Resolve a script, a folder (or zip) with ``__main__.py``, or (``module=True``) a module name.

    Raises:
        InvalidArgument: one line saying what is missing or wrong.
    """
    if module:
        return _module_program(target)
    if os.path.isdir(target):
        main = os.path.join(target, "__main__.py")
        if not os.path.isfile(main):
            raise InvalidArgument(f"cannot run {target}: it is a directory without a __main__.py; "
                                  f"give the script to run (python runs a folder only through its __main__.py)")
        raw, text = _read_source(main, main)
        spec = importlib.util.spec_from_file_location("__main__", main)
        return Program(_compile(raw, os.path.abspath(main), main), text, os.path.abspath(main), target, os.path.abspath(target), spec, "")
    if not os.path.exists(target):
        raise InvalidArgument(f"cannot run {target}: no such file")
    code, text = compile_script(target)
    script = os.path.abspath(target)
    return Program(code, text, script, target, os.path.dirname(script))


def _where(tb: types.TracebackType | None) -> str:
    """``file:line`` of the innermost frame of the user's own code in ``tb`` (else the innermost frame)."""
    last = user = None
    while tb is not None:
        last = tb
        if is_user_file(tb.tb_frame.f_code.co_filename):
            user = tb
        tb = tb.tb_next
    at = user or last
    return f"{short_path(at.tb_frame.f_code.co_filename)}:{at.tb_lineno}" if at is not None else "?"


def _first_line(value: object, limit: int = 200) -> str:
    text = str(value).strip().splitlines()
    line = text[0] if text else ""
    return line if len(line) <= limit else line[: limit - 3] + "..."


def describe_exception(exc: BaseException) -> str:
    """``raised ValueError: bad row 3 (train.py:3)``: the exception, its message's first line, where it was raised."""
    message = _first_line(exc)
    return f"raised {type(exc).__name__}{': ' + message if message else ''} ({_where(exc.__traceback__)})"


def _own_traceback(exc: BaseException, script: str) -> str:
    """The traceback from the script's first frame on (netdoctor's and the runner's frames are dropped)."""
    tb = exc.__traceback__
    while tb is not None and os.path.abspath(tb.tb_frame.f_code.co_filename) != script:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb))


def _forget_user_modules(before: dict[str, types.ModuleType]) -> None:
    """Put ``sys.modules`` back as netdoctor needs it: modules of the user's files out, replaced entries back."""
    for name, mod in list(sys.modules.items()):
        if before.get(name) is mod:
            continue
        if name in before:
            sys.modules[name] = before[name]
        elif is_user_file(getattr(mod, "__file__", None) or ""):
            del sys.modules[name]
    for name, mod in before.items():
        sys.modules.setdefault(name, mod)


def _startup_modules() -> set[str]:
    """The modules a bare ``python`` has imported before it runs a script (asked of a fresh interpreter)."""
    import subprocess

    try:
        proc = subprocess.run([sys.executable, "-c", "import sys; print(' '.join(sys.modules))"],
                              capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return set(sys.modules)  # cannot tell: hide nothing
    return set(proc.stdout.split())


def _hide_shadowed_modules(folder: str) -> None:
    """Take out of ``sys.modules`` the modules netdoctor imported that the program's own files shadow.

    Under ``python``, ``import json`` in a script next to its own ``json.py``
    imports that file; netdoctor has imported the standard ``json`` (or
    ``rich``) before, and the script must not get it. Modules that ``python``
    itself imports at start-up stay (the script would get those too). They all
    come back after the run (:func:`_forget_user_modules`).
    """
    tops = {name.partition(".")[0] for name in sys.modules} - {"__main__"}
    shadowed = [top for top in tops if os.path.isfile(os.path.join(folder, top + ".py"))
                or os.path.isfile(os.path.join(folder, top, "__init__.py"))]
    if not shadowed:
        return
    startup = _startup_modules()
    for top in shadowed:
        if top in startup:
            continue
        for name in [n for n in sys.modules if n == top or n.startswith(top + ".")]:
            del sys.modules[name]


def run_script(path: str, args: list[str], options: ObserveOptions | None = None, *, module: bool = False) -> RunResult:
    """Run the program at ``path`` (a module name with ``module=True``) with ``args`` as ``__main__`` under observation.

    Raises:
        InvalidArgument: the program could not be started (see :func:`find_program`).
    """
    program = find_program(path, module=module)
    script = program.filename
    options = options or ObserveOptions()
    options.script = path
    main = types.ModuleType("__main__")
    main.__dict__.update({"__file__": script, "__builtins__": builtins, "__spec__": program.spec,
                          "__loader__": getattr(program.spec, "loader", None), "__package__": program.package,
                          "__cached__": None})
    saved_argv, saved_path, saved_main = sys.argv[:], sys.path[:], sys.modules.get("__main__")
    saved_modules = dict(sys.modules)
    sys.argv = [program.argv0, *args]
    if sys.path:
        sys.path[0] = program.path0
    else:
        sys.path.insert(0, program.path0)
    sys.modules["__main__"] = main
    _hide_shadowed_modules(program.path0)
    obs = Observation(options, script=script, source=program.source)
    status, tb_text, exit_status, fate = "finished", "", 0, ""
    try:
        with obs:
            exec(program.code, main.__dict__)
    except KeyboardInterrupt as exc:
        status, tb_text, exit_status = "interrupted", _own_traceback(exc, script), 130
        fate = f"was interrupted (KeyboardInterrupt at {_where(exc.__traceback__)})"
    except SystemExit as exc:
        code_ = exc.code
        exit_status = code_ if isinstance(code_, int) else (0 if code_ is None else 1)
        if code_ is not None and not isinstance(code_, int):
            print(code_, file=sys.stderr)
        status = "exited" if exit_status else "finished"
        if exit_status:
            said = "" if isinstance(code_, int) else f": {_first_line(code_)}"
            fate = f"exited with status {exit_status}{said} ({_where(exc.__traceback__)})"
    except BaseException as exc:  # noqa: BLE001 - the script's own error: shown as Python would, then the report
        status, tb_text, exit_status = "raised", _own_traceback(exc, script), 1
        fate = describe_exception(exc)
    finally:
        sys.argv = saved_argv
        sys.path[:] = saved_path
        if saved_main is not None:
            sys.modules["__main__"] = saved_main
        _forget_user_modules(saved_modules)
    if obs.stopped:
        status = "stopped"
    report = obs.report
    report.failed = fate
    return RunResult(report, status, tb_text, exit_status, fate)
