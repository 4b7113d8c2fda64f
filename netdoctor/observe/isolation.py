"""Calling the program's own code a second time without the program being able to tell.

The observers run some of the program's functions again (the NumPy update check
replays a forward or a gradient function on copies; the PyTorch probes run a copy
of the model). Whatever such a call does outside its copies would be done twice:
a line appended to a log file, a message logged, a print, a random number drawn,
a batch taken from the program's generator. :func:`quietly` is the one way such
calls are made:

- prints of the calling thread are dropped (the program's other threads keep
  printing: the streams are per process, so ``contextlib.redirect_stdout``
  would swallow theirs too);
- the global random states (NumPy's legacy ``np.random`` and ``random``) are
  put back bit for bit afterwards;
- log records made by the calling thread are dropped before any handler sees
  them (``logging.Logger.handle``, for the duration of the call);
- a file it opens for writing with ``open`` is a sink that drops what is
  written (``builtins.open``, for the duration of the call, in that thread);
- warnings are ignored (not marked as shown: the program's own warning at the
  same place still shows), NumPy's floating-point ones not even issued
  (``np.errstate``); a warning another thread of the program issues during
  the call is ignored too (the filters are one for the process);
- anything else that would change the world outside the process's memory (a
  file opened for writing by ``io.open`` or ``os.open``, a file removed or
  renamed, a directory made, a process started, a socket connected) raises :class:`OutsideEffect` before it
  happens, from an audit hook (:func:`sys.addaudithook`) that looks at the
  calling thread only: the caller's check then says it could not run that call.
  Where the compiled part is built the hook is in C and hands events on only
  while a replay runs (:func:`_audit_gate`): outside replays an event costs no
  Python call.

Objects the copies cannot copy are replaced by stand-ins (:func:`stand_in`): an
open file by a sink that takes writes and drops them, a generator or another
iterator by one that refuses to be read (a read would take the program's next
item), instead of being shared with the program.

"""

from __future__ import annotations

import builtins
import collections
import contextlib
import functools
import io
import os
import random
import sys
import sysconfig
import threading
import types
from collections.abc import Iterator
from typing import Any

import numpy as np

from netdoctor.observe.quiet import warnings_ignored

__all__ = ["quietly", "OutsideEffect", "stand_in", "shared", "namespaces_of", "kept"]


class OutsideEffect(OSError):
    """A call of the program's, made again by the observer, was about to change something outside its copies.

    An ``OSError``, as a refused ``open`` would raise: code that handles a file it cannot write (Python's own
    bytecode cache, first imported during a replay) goes on without writing it."""


_STATE: dict[str, Any] = {"depth": 0, "thread": None, "hooked": False, "gate": None}
"""The replaying thread (None: no replay running) and the nesting depth of :func:`quietly`."""

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
_REFUSED_EVENTS = {
    "os.remove": "removes", "os.rename": "renames", "os.rmdir": "removes the directory", "os.mkdir": "makes the directory",
    "os.truncate": "truncates", "os.link": "links", "os.symlink": "links", "os.chmod": "changes the mode of",
    "os.chown": "changes the owner of", "os.utime": "touches", "os.system": "runs the command",
    "os.exec": "runs", "os.posix_spawn": "runs", "os.spawn": "runs", "os.fork": "forks", "os.kill": "signals",
    "subprocess.Popen": "runs", "shutil.copyfile": "copies to", "shutil.copytree": "copies to",
    "shutil.move": "moves", "shutil.rmtree": "removes", "socket.connect": "connects to",
    "socket.sendto": "sends to", "socket.bind": "binds", "sqlite3.connect": "opens the database",
}
"""Audit events (see the table of CPython's audit events) that change something outside the process, each with
the verb of the note that says so."""


def _audit(event: str, args: tuple[Any, ...]) -> None:
    """The audit hook: refuses, in the replaying thread only, what would change the world outside the copies."""
    if _STATE["thread"] is None or _STATE["thread"] != threading.get_ident():
        return
    if event == "open":
        path, mode, flags = (tuple(args) + (None, None, None))[:3]
        if issubclass(type(mode), str) and any(c in mode for c in "wax+") or (
                mode is None and issubclass(type(flags), int) and flags & _WRITE_FLAGS):
            raise OutsideEffect(f"it opens {_named(path)} for writing: a second run would write it twice")
        return
    verb = _REFUSED_EVENTS.get(event)
    if verb is not None:
        raise OutsideEffect(f"it {verb} {_named(args[0]) if args else ''}".rstrip()
                            + ": the program would see it done twice")


def _audit_gate() -> Any:
    """The compiled audit gate (``_ctrace.gate``), or None where the part is not built.

    An audit hook cannot be removed: a Python one stays a Python call at every audit event of the process for the
    rest of the run (the observer's own ``id()`` calls raise one each: 372,000 of the forum program's 643,000).
    The gate is a hook in C that hands events to :func:`_audit` only while a replay runs (``gate(_audit)`` ...
    ``gate(None)``) and answers every other event at once."""
    from netdoctor._lazy import compiled_part
    from netdoctor.observe.tracer import PURE_ENV, REQUIRE_ENV

    if os.environ.get(PURE_ENV, "") not in ("", "0"):
        return None  # (the pure-Python observer throughout)
    part = compiled_part("netdoctor.observe._ctrace", REQUIRE_ENV)
    return getattr(part, "gate", None)


def _named(path: Any) -> str:
    if issubclass(type(path), (str, bytes, os.PathLike)):
        return os.path.basename(os.fsdecode(path)) or os.fsdecode(path)
    return repr(path)


@contextlib.contextmanager
def quietly() -> Iterator[None]:
    """Run the program's code with nothing of it reaching the program (see the module docstring).

    Re-entrant: inside an outer ``quietly()`` it costs nothing (saving the states takes ~0.5 ms, more
    than a small forward pass).

    Raises:
        OutsideEffect: from inside, where the code was about to write a file, start a process, etc.
    """
    if _STATE["depth"]:
        yield
        return
    if not _STATE["hooked"]:  # installed at the first replay only (never in a run that replays nothing)
        _STATE["gate"] = _audit_gate()
        if _STATE["gate"] is None:
            sys.addaudithook(_audit)
        _STATE["hooked"] = True
    gate = _STATE["gate"]
    np_state = np.random.get_state()
    py_state = random.getstate()
    me = threading.get_ident()
    out, err = _MutedFor(sys.stdout, me), _MutedFor(sys.stderr, me)
    logger = _silence_logging(me)
    real_open = builtins.open
    sandbox = _sandboxed_open(real_open, me)
    _STATE["depth"] += 1
    sys.stdout, sys.stderr = out, err
    builtins.open = sandbox
    _STATE["thread"] = me
    if gate is not None:
        gate(_audit)
    try:
        with warnings_ignored(), np.errstate(all="ignore"):
            yield
    finally:
        if gate is not None:
            gate(None)
        _STATE["thread"] = None
        _STATE["depth"] -= 1
        # Put the streams back unless the program rebound them meanwhile (another thread's choice wins).
        if sys.stdout is out:
            sys.stdout = out.stream
        if sys.stderr is err:
            sys.stderr = err.stream
        if builtins.open is sandbox:
            builtins.open = real_open
        if logger is not None:
            logger[0].handle = logger[1]
        np.random.set_state(np_state)
        random.setstate(py_state)


def _sandboxed_open(real: Any, thread: int) -> Any:
    """``open`` while ``thread`` replays: a file opened for writing by that thread is a sink (a forward appending a
    line to its log with ``open("log.txt", "a")`` runs again without writing it, so the check that replays it still
    runs); reading, and every other thread, opens files as before. ``io.open`` is not replaced (the audit hook
    refuses a write through it)."""

    def open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:  # noqa: A001 - builtins.open's stand-in
        if threading.get_ident() == thread and issubclass(type(mode), str) and any(c in mode for c in "wax+"):
            return _Sink(_named(file))
        return real(file, mode, *args, **kwargs)

    return open


def _silence_logging(thread: int) -> tuple[Any, Any] | None:
    """Drop the log records ``thread`` makes (other threads log as before); None when logging was never imported.

    ``Logger.handle`` is where every record of every logger meets its handlers; it is replaced on the class for
    the duration of the replay and put back after.
    """
    logging = sys.modules.get("logging")
    if logging is None:
        return None
    cls = logging.Logger
    original = cls.__dict__.get("handle")
    if original is None:
        return None

    def handle(self: Any, record: Any) -> Any:
        if threading.get_ident() == thread:
            return None
        return original(self, record)

    cls.handle = handle
    return cls, original


class _MutedFor:
    """``sys.stdout``/``sys.stderr`` while one thread replays: that thread's writes are dropped, every other
    thread of the program writes through to the stream as before."""

    def __init__(self, stream: Any, thread: int) -> None:
        self.stream = stream
        self.thread = thread

    def write(self, text: str) -> int:
        if threading.get_ident() == self.thread or self.stream is None:  # None: print() had dropped it too
            return len(text)
        return self.stream.write(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if threading.get_ident() != self.thread and self.stream is not None:
            self.stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


class _Sink:
    """An open file of the program, as the copies see it: writes are taken and dropped, reads refused."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.closed = False

    def write(self, data: Any) -> int:
        return len(data)

    def writelines(self, lines: Any) -> None:
        for _ in lines:
            pass

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def writable(self) -> bool:
        return True

    def __enter__(self) -> _Sink:
        return self

    def __exit__(self, *exc: Any) -> None:
        pass

    def __getattr__(self, name: str) -> Any:
        raise OutsideEffect(f"it reads the program's file {self.name} ({name}): the program would miss what it took")


class _Refused:
    """An object of the program's that a copy cannot have (a generator): any use of it refuses the run."""

    def __init__(self, what: str) -> None:
        self.what = what

    def __iter__(self) -> _Refused:
        return self

    def __next__(self) -> Any:
        raise OutsideEffect(f"it takes the next item of the program's {self.what}: the program would miss it")

    def __getattr__(self, name: str) -> Any:
        raise OutsideEffect(f"it uses the program's {self.what} ({name}), which cannot be copied")


def stand_in(x: Any) -> Any:
    """What the copies hold in place of ``x``, an object that could not be copied: a sink for an open file of the
    program (or a stream it keeps), a refusing stand-in for an iterator (a generator), ``x`` itself for anything
    else (a lock, a module-level resource the code only passes along)."""
    if issubclass(type(x), io.IOBase) or x is sys.__stdout__ or x is sys.__stderr__:
        return _Sink(_named(getattr(x, "name", "stream")))
    if hasattr(type(x), "__next__"):
        return _Refused(f"{type(x).__name__} object")
    return x


def shared(x: Any) -> bool:
    """Whether the copies use ``x`` as it is: a logger or a log handler of the process (its records are dropped
    while replaying; a copy would copy the whole logging tree and its locks, and write to the same files)."""
    logging = sys.modules.get("logging")
    return logging is not None and issubclass(type(x), (logging.Logger, logging.Handler, logging.LoggerAdapter,
                                                         logging.Manager))


_LIBRARY_DIRS = tuple({os.path.realpath(sysconfig.get_paths()[k]) + os.sep for k in ("stdlib", "platstdlib")})


def _programs(path: Any) -> bool:
    """Whether a module at ``path`` is the program's own (not the standard library's, not an installed package's)."""
    return isinstance(path, str) and _programs_path(path)


@functools.lru_cache(maxsize=4096)
def _programs_path(path: str) -> bool:  # cached: realpath costs a system call per part of the path
    real = os.path.realpath(path)
    return not (real.startswith(_LIBRARY_DIRS) or f"{os.sep}site-packages{os.sep}" in real
                or f"{os.sep}dist-packages{os.sep}" in real)


def namespaces_of(module: dict[str, Any], values: list[Any]) -> list[Any]:
    """The classes and modules of the program that a replay cannot copy but may write: the classes defined in the
    program (``Net.calls += 1``), those of ``values`` (the copied arguments' originals) and their bases with the
    modules that define them (the replayed function's own module too: only that function runs on copied globals, the
    methods of its classes read the real ones, ``LOOKUPS[name] += 1`` in a ``__getattribute__``), and the program's
    other modules that ``module`` (the replayed function's globals,
    which a NumPy replay copies; ``{}`` for none) names or whose functions it holds (``stats.calls += 1``,
    ``from helpers import log_step``)."""
    found: dict[int, Any] = {}
    own = module.get("__name__")

    def add_class(t: type) -> None:
        for c in t.__mro__[:-1]:
            mod = sys.modules.get(c.__module__)
            if id(c) not in found and (c.__module__ == own or _programs(getattr(mod, "__file__", None))):
                found[id(c)] = c
                if mod is not None:
                    found.setdefault(id(mod), mod)  # the module that defines it (its methods' globals are not copied)

    for v in list(module.values()):
        if issubclass(type(v), type):
            add_class(v)
        elif issubclass(type(v), types.ModuleType):
            if v.__dict__ is not module and _programs(getattr(v, "__file__", None)):
                found[id(v)] = v
        elif issubclass(type(v), types.FunctionType) and v.__globals__ is not module:
            mod = sys.modules.get(v.__globals__.get("__name__", ""))
            if mod is not None and _programs(getattr(mod, "__file__", None)):
                found[id(mod)] = mod
    for v in values:
        if not issubclass(type(v), (type, types.ModuleType)):
            add_class(type(v))
    return list(found.values())


@contextlib.contextmanager
def kept(namespaces: list[Any]) -> Iterator[None]:
    """Put back every name of ``namespaces`` (classes, modules) that the block binds, rebinds or deletes, and the
    contents of the lists, dicts and sets they hold (the standard library's ``Counter``, ``OrderedDict`` and
    ``defaultdict`` too): a class-level counter a replayed forward increments, or a module-level list it appends to
    (``SIZES.append(len(x))``, ``LOOKUPS[name] += 1`` in a ``__getattribute__`` that the replayed copies run), is as
    the program left it. Their contents are compared by length and ends only (an item replaced in place in the
    middle is not seen)."""
    before = [(ns, dict(vars(ns))) for ns in namespaces]
    contents = [(v, v.copy()) for _, names in before for v in names.values() if type(v) in _CONTAINERS]
    try:
        yield
    finally:
        for ns, names in before:
            now = vars(ns)
            if len(now) == len(names) and all(names.get(k, names) is v for k, v in now.items()):
                continue
            for k in [k for k in now if k not in names]:
                with contextlib.suppress(AttributeError, TypeError):
                    delattr(ns, k)
            for k, v in names.items():
                if now.get(k, names) is not v:
                    with contextlib.suppress(AttributeError, TypeError):
                        setattr(ns, k, v)
        for v, was in contents:
            if _changed(v, was):
                v.clear()
                if isinstance(v, list):
                    v.extend(was)
                else:
                    v.update(was)


_CONTAINERS = (list, dict, set, collections.Counter, collections.OrderedDict, collections.defaultdict)
"""The containers whose contents :func:`kept` puts back: their ``copy``, ``clear`` and ``update`` are no program's code."""


def _changed(v: Any, was: Any) -> bool:
    if len(v) != len(was):
        return True
    if isinstance(v, list):
        return bool(v) and (v[0] is not was[0] or v[-1] is not was[-1])
    if isinstance(v, dict):
        return any(v.get(k, was) is not x for k, x in list(was.items())[-4:])
    return False
