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
import contextlib
import gc
import importlib.util
import os
import signal
import sys
import tokenize
import traceback
import types
from collections.abc import Callable, Iterator

from netdoctor._lazy import dataclass
from netdoctor.errors import InvalidArgument
from netdoctor.findings import Report
from netdoctor.observe.control import DebuggerWatch, Stopper, Termination, finish_stopper
from netdoctor.observe.options import ObserveOptions
from netdoctor.observe.session import Observation, collector_paused
from netdoctor.observe.tracer import is_user_file, runs_program
from netdoctor.usercode import short_path

__all__ = ["RunResult", "Program", "run_script", "compile_script", "find_program", "program_set_aside"]


@dataclass
class RunResult:
    """How an observed program ended, and what was seen.

    Attributes:
        report: the findings, root causes first (partial after Ctrl-C); its
            ``failed`` says how the program failed, if it did.
        status: ``"finished"``, ``"raised"``, ``"interrupted"``, ``"stopped"`` (a limit), ``"terminated"``
            (SIGTERM: a partial report) or ``"exited"``.
        traceback: the program's traceback (its own frames only) when it raised or was interrupted, else "".
        exit_status: the status ``python`` would have exited with (0 when it ended normally,
            1 when it raised, the ``sys.exit`` status, 130 after Ctrl-C, 143 after SIGTERM).
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


_NETDOCTOR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
"""The netdoctor package's folder: its frames (a loss wrapper, a hook) are not in the program's traceback."""


def _without_ours(te: traceback.TracebackException, seen: set[int]) -> None:
    """Drop netdoctor's frames from ``te`` and the exceptions it chains to (as plain ``python`` would show them)."""
    if id(te) in seen:
        return
    seen.add(id(te))
    te.stack = traceback.StackSummary.from_list(
        [f for f in te.stack if not os.path.abspath(f.filename).startswith(_NETDOCTOR)])
    for chained in (te.__cause__, te.__context__):
        if chained is not None:
            _without_ours(chained, seen)


def _own_traceback(exc: BaseException, script: str) -> str:
    """The traceback as ``python`` prints it: from the script's first frame on, without netdoctor's frames
    (the runner's, or a wrapper of ours that the program's call went through)."""
    tb = exc.__traceback__
    while tb is not None and os.path.abspath(tb.tb_frame.f_code.co_filename) != script:
        tb = tb.tb_next
    te = traceback.TracebackException(type(exc), exc, tb)
    _without_ours(te, set())
    return "".join(te.format())


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


_OWN_PACKAGE = __name__.partition(".")[0]
"""The top-level package of the running netdoctor (never hidden from it, see :func:`_hide_shadowed_modules`)."""


def _hide_shadowed_modules(folder: str) -> None:
    """Take out of ``sys.modules`` the modules netdoctor imported that the program's own files shadow.

    Under ``python``, ``import json`` in a script next to its own ``json.py``
    imports that file; netdoctor has imported the standard ``json`` (or
    ``rich``) before, and the script must not get it. Modules that ``python``
    itself imports at start-up stay (the script would get those too). They all
    come back after the run (:func:`_forget_user_modules`).

    netdoctor's own package always stays, even where the script's folder holds a copy of it (a script in the root of
    a netdoctor checkout): the observer imports its own modules while the program runs (rules, recorders), and taken
    out, they would come from that copy, as the user's code: traced and watched like the program's own, by a second
    observer of different classes. A program there that imports ``netdoctor`` gets the running one.
    """
    tops = {name.partition(".")[0] for name in sys.modules} - {"__main__", _OWN_PACKAGE}
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


@contextlib.contextmanager
def program_set_aside() -> Iterator[None]:
    """The program has ended: while its report is judged and written, the objects it left are set aside from the
    cyclic garbage collector (``gc.freeze``), and handed back after (``gc.unfreeze``: the interpreter's last
    collection at exit sees them as ``python`` would).

    The report's own allocations (the rules, the aliasing scan's walk, rich, the renderers) trigger collections; a
    full one walks every object the program still holds: a data set read as lists is 350,000-700,000 of them,
    0.03-0.3 s a walk, which the plain run never pays after its last line (np0101, np0107: one such collection each
    while the rules judged, 24 of the middle generation). The collector is also paused meanwhile
    (:func:`~netdoctor.observe.session.collector_paused`): the report's modules and records are all it would walk,
    and none of them is garbage. Used around the report's building here (:func:`run_script`) and around its writing
    (:mod:`netdoctor.cli.run`), never while the program runs.

    When the block ends, what was made meanwhile (the report's modules and records, rich's: 5,000-9,000 objects that
    live to the end of the process) joins the program's objects in the oldest generation, as they are handed back,
    rather than being walked by the collection of the youngest generation that the pause had put off (0.9 and 1.8 ms
    after the two blocks of a per-sample program's run; ``gc.freeze`` also starts the generations' counts again). The interpreter's
    last collection at exit walks them all, as it did. Nothing changes when the program turned the collector off.
    """
    # (the report's modules, the rules and rich, and its objects: nothing there to collect)
    with objects_set_aside() as aside, collector_paused():
        try:
            yield
        finally:
            if aside:
                gc.freeze()  # the report's objects with the program's; the youngest generations' counts start again at 0


@contextlib.contextmanager
def objects_set_aside() -> Iterator[bool]:
    """Every object alive now set aside from the cyclic collector (``gc.freeze``) until the block ends
    (``gc.unfreeze``); nothing when the collector is off (the program turned it off: nothing to spare, and nothing of
    ours to change). Yields whether they were set aside."""
    if not gc.isenabled():
        yield False
        return
    gc.freeze()
    try:
        yield True
    finally:
        gc.unfreeze()


class _Run:
    """One observed run of a program: what was changed for it (to put back), and the pieces that watch it."""

    def __init__(self, program: Program, args: list[str], options: ObserveOptions,
                 on_runaway: Callable[[RunResult], None] | None) -> None:
        self.program = program
        self.options = options
        self.main = types.ModuleType("__main__")
        self.main.__dict__.update({"__file__": program.filename, "__builtins__": builtins, "__spec__": program.spec,
                                   "__loader__": getattr(program.spec, "loader", None),
                                   "__package__": program.package, "__cached__": None})
        self.saved_argv, self.saved_path, self.saved_main = sys.argv[:], sys.path[:], sys.modules.get("__main__")
        self.saved_modules = dict(sys.modules)
        self.args = args
        self.obs = Observation(options, script=program.filename, source=program.source)
        self.stopper = Stopper(options.max_seconds, on_runaway=self._runaway if on_runaway else None)
        self.termination = Termination()
        self.debugger = DebuggerWatch()
        self.on_runaway = on_runaway
        self.restored = False

    def enter(self) -> None:
        """Set up ``sys`` as ``python`` would for the program."""
        sys.argv = [self.program.argv0, *self.args]
        if sys.path:
            sys.path[0] = self.program.path0
        else:
            sys.path.insert(0, self.program.path0)
        sys.modules["__main__"] = self.main
        _hide_shadowed_modules(self.program.path0)

    @runs_program  # the frames below this one started netdoctor: never the program's
    def execute(self) -> None:
        """Run the program under observation (its exceptions pass through; a stop of ours ends it quietly).

        netdoctor's own objects alive when the program starts (its modules, the interpreter's: ~13,000 objects) are
        set aside from the cyclic collector (``gc.freeze``) while the program runs, and handed back when it ends
        (``gc.unfreeze``). The program's collections then walk only what it made, as under ``python``, and the NumPy
        observer's collection when the program imports NumPy (:func:`~netdoctor.observe.collector.set_aside`) walks
        NumPy's objects and the program's, not netdoctor's again (3-7 ms of every run). Nothing the program makes
        is set aside by this.
        """
        with objects_set_aside(), self.obs:
            self.stopper.start()
            self.termination.install()
            self.debugger.install()
            try:
                exec(self.program.code, self.main.__dict__)
            finally:
                self.release()

    def release(self) -> None:
        """Stop the watchers of the run (the timer, the SIGTERM handler, the debugger watch)."""
        finish_stopper(self.stopper)
        self.termination.uninstall()
        self.debugger.uninstall()

    def restore(self) -> None:
        """Put ``sys`` back as it was before the run."""
        if self.restored:
            return
        self.restored = True
        sys.argv = self.saved_argv
        sys.path[:] = self.saved_path
        if self.saved_main is not None:
            sys.modules["__main__"] = self.saved_main
        _forget_user_modules(self.saved_modules)

    def _runaway(self) -> None:
        """The program caught every stop: end the observation here and hand the result over (the caller ends the process)."""
        self.release()
        self.obs.stopped = self.obs.stopped or self.stopper.reason
        self.obs.stop()
        self.restore()
        if self.on_runaway is not None:
            with program_set_aside():
                result = self.result("stopped", "", 0, "")
            self.on_runaway(result)

    def result(self, status: str, tb_text: str, exit_status: int, fate: str) -> RunResult:
        """The run's result: how it ended, and the report with the notes on how it was stopped."""
        if self.obs.stopped:
            status = "stopped"
        if self.termination.received:
            status, exit_status, fate = "terminated", 128 + signal.SIGTERM, "was terminated by SIGTERM"
        report = self.obs.report
        report.failed = fate
        report.partial = report.partial or self.termination.received
        notes = [self.stopper.note()]
        if self.stopper.reached and not self.obs.stopped and not self.stopper.caught:
            notes.append(f"the --max-seconds limit ({self.options.max_seconds:g} s) was reached; the program caught "
                         "the stop and ended by itself")
        if self.debugger.took_over:
            notes.append(f"a debugger took over at {self.debugger.took_over} (it set its own trace function): "
                         "netdoctor's call tracing stepped aside there, so the program's calls after it were not observed")
        if any(notes):
            report.context.setdefault("notes", []).extend(n for n in notes if n)
        return RunResult(report, status, tb_text, exit_status, fate)


def run_script(path: str, args: list[str], options: ObserveOptions | None = None, *, module: bool = False,
               on_runaway: Callable[[RunResult], None] | None = None) -> RunResult:
    """Run the program at ``path`` (a module name with ``module=True``) with ``args`` as ``__main__`` under observation.

    Args:
        path: the script, a folder with ``__main__.py``, or a module name.
        args: the program's own arguments.
        options: what the observers are told (the network, limits).
        module: run ``path`` as ``python -m path`` does.
        on_runaway: called with the result when the program catches every stop
            (a bare ``except:`` around its work): it should report and end the
            process, as nothing else will end the program. None: keep stopping it.

    Raises:
        InvalidArgument: the program could not be started (see :func:`find_program`).
    """
    program = find_program(path, module=module)
    script = program.filename
    options = options or ObserveOptions()
    options.script = path
    run = _Run(program, args, options, on_runaway)
    run.enter()
    status, tb_text, exit_status, fate = "finished", "", 0, ""
    try:
        run.execute()
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
        run.restore()
    with program_set_aside():  # the report is judged here (the rules, the aliasing scan): the program has ended
        return run.result(status, tb_text, exit_status, fate)
