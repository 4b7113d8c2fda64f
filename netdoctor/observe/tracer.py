"""Events of the user's own code, and nothing else: calls, returns, and loop heads of the frames that train.

``sys.settrace`` on every line would slow a NumPy training loop several
times. :class:`CallTracer` installs a global trace function that answers, per
code object and once, whether the code is the user's (not the standard
library, not an installed package, not netdoctor); for other code it returns
``None`` at once, so their frames run untraced. For the user's frames it turns
line events off (``frame.f_trace_lines = False``) and keeps only the
``return`` event. The cost is one dictionary lookup per Python call, and the
handler's own work on the user's calls.

Three more kinds of code are followed, because training lives there too:

* **Loop heads** (``on_tick``). Three kinds of frames get line events, and
  the handler hears of the lines that start a loop iteration only (the
  targets of the code's backward jumps, found once per code object with
  :mod:`dis`): module-level code (a script whose training loop is not in a
  function); an *entry function* (a ``main()``, a thread's target, a
  closure called by the script, a function a library's command-line runner
  calls: no function of the user's below it on the stack), from its call on,
  since it may train inline calling nothing but NumPy (see
  :meth:`CallTracer.entry`); and a function that has called the user's
  functions :data:`FOLLOW_CALLS` times (a ``train()`` calling ``forward()``
  and applying updates inline). All three are decided from the program's
  execution alone (where a frame sits, how often it called), never from a
  clock, so a slow or loaded machine follows the same frames from the same
  iteration. After a tick, a frame that calls the user's functions stops
  producing line events until one of them returns into it, so a pure-Python
  inner loop (``for item in row: data.append(...)``) runs at almost full
  speed; a frame that calls nothing keeps them (a module-level loop of
  inline NumPy code is seen at every iteration).
* **Not netdoctor's launcher**: the frames below the one that runs the
  program (:func:`runs_program`: the installed ``netdoctor`` script, ``runpy``
  of ``python -m``, a test calling the command line) are never the
  program's, and the ``netdoctor`` script itself is no file of the user's
  (:func:`is_user_file`).
* **Not comprehensions**: a list, set or dict comprehension or a generator
  expression is part of an expression of its function, though Python 3.11
  runs it in a frame of its own (:data:`EXPRESSION_SCOPES`).
* **Threads**: ``threading.settrace`` too, so a ``threading.Thread`` started
  by the program is traced like the main thread (handlers are called under
  one lock; threads that were running before :meth:`CallTracer.install` are
  not seen).
* **Not imports of installed packages**: while a module that is not the
  user's is being imported (``import torch``: hundreds of thousands of
  Python calls), tracing is off in that thread. Python 3.11 runs *every*
  instruction of every frame on a slower path while a trace function is set,
  so returning ``None`` per call is not enough: ``builtins.__import__`` is
  wrapped for the run, and the wrapper turns tracing off around the import
  of a module that is not the user's (decided from where the top-level
  package lives; cached per name). The user's own modules are imported
  traced (their module-level code may train).

**The call filter.** Where netdoctor's C extension was built (CPython 3.11, a
C compiler at install time), the trace function is a ``CallFilter`` of
``netdoctor/observe/_ctrace.c``, installed with ``PyEval_SetTrace``: a call of
code already classified as not the user's (each such code object carries a
mark the filter reads) ends in C, without a Python call, and so does a line
event of a followed frame at a line that starts no loop iteration (the
code's loop heads are registered with the filter when a frame of it is first
followed; :meth:`CallTracer._local` does nothing with such lines); every other event
goes to the same Python functions, with the same results, as under
``sys.settrace`` (the filter does what CPython's trampoline does). The
program sees the filter object as ``sys.gettrace()``, and
``sys.settrace(sys.gettrace())`` keeps tracing. Elsewhere, or with the
environment variable ``NETDOCTOR_PURE_TRACER=1``, ``sys.settrace`` runs the
same Python functions directly (:data:`COMPILED`).

A handler can stop the program (``--max-updates``, ``--max-seconds``) by
raising :class:`StopObserving` from an event: Python then removes the trace
function and the exception unwinds the program like any other. It derives
from ``BaseException`` so that the program's ``except Exception`` does not
swallow it.

Other tools (a debugger's ``breakpoint()``) can set their own trace function;
:meth:`CallTracer.suspend` and :meth:`CallTracer.resume` step aside for them
and come back.
"""

from __future__ import annotations

import builtins
import dis
import gc
import os
import signal
import sys
import sysconfig
import threading
import time
from collections.abc import Callable, Iterable
from importlib.machinery import PathFinder
from types import CodeType, FrameType
from typing import Any, ClassVar, TypeVar

from netdoctor._lazy import compiled_part
from netdoctor.observe.quiet import float_errors_ignored

__all__ = ["Budget", "sampled", "sampled_ahead", "CallTracer", "StopObserving", "is_user_file", "loop_heads", "FOLLOW_CALLS", "EXPRESSION_SCOPES",
           "caller_of", "runs_program", "LAUNCHERS"]

PURE_ENV = "NETDOCTOR_PURE_TRACER"
"""An environment variable: set to anything but "" or "0", every :class:`CallTracer` made from then on is the
pure-Python one (the compiled call filter stays unused). A process started with it set also
leaves the observer's other compiled helpers unused (fingerprints, discovery's scan, the replay's audit gate)."""


REQUIRE_ENV = "NETDOCTOR_REQUIRE_CTRACE"
"""An environment variable: set (to anything but "" or "0"), a compiled call filter built from another version of
``_ctrace.c`` than the one beside it fails the import instead of leaving the pure-Python tracer in its place (CI)."""


def _call_filter() -> Any:
    """The compiled call filter's class, or None where the extension is absent, built from another version of its
    source (see :func:`~netdoctor._lazy.compiled_part`) or unsupported."""
    _ctrace = compiled_part("netdoctor.observe._ctrace", REQUIRE_ENV)
    if _ctrace is None:
        return None
    if getattr(_ctrace, "API", None) != 6 or not getattr(_ctrace, "SUPPORTED", False):
        return None  # a stale build left beside newer sources, or a Python whose frames it does not know
    return _ctrace.CallFilter


_CALL_FILTER = _call_filter()
COMPILED = _CALL_FILTER is not None
"""Whether the compiled call filter can be used here (see the module docstring); :envvar:`NETDOCTOR_PURE_TRACER`
can still turn it off."""


def _use_compiled() -> bool:
    return COMPILED and os.environ.get(PURE_ENV, "") in ("", "0")


_FAILED = object()
"""What :meth:`CallTracer._deliver` returns when the handler stopped or failed (a handler may return None)."""

FOLLOW_CALLS = 32
"""Calls of the user's functions after which the calling frame is followed (loop-head ticks): a loop that calls
the forward or the backward this often is a training loop, and may apply its updates inline. Also the ticks of one
call of an entry function after which its later calls are followed too (:meth:`CallTracer.entry`)."""

_RESUMED = 0x20 | 0x80 | 0x100 | 0x200
"""``co_flags`` of generators and coroutines (``inspect.CO_GENERATOR``, ``CO_COROUTINE``, ``CO_ITERABLE_COROUTINE``,
``CO_ASYNC_GENERATOR``): their frames are resumed, with a ``call`` event, at every item; a batch generator
(``for x, t in batches(X, Y):``) yields, it does not train."""

_PROGRAM_RUNNERS: set[CodeType] = set()
_F = TypeVar("_F", bound=Callable[..., Any])


def runs_program(function: _F) -> _F:
    """Mark ``function`` as netdoctor's own runner of the user's program (a decorator).

    The frames below a frame of ``function`` are whatever started netdoctor:
    the installed ``netdoctor`` script, ``runpy`` of ``python -m
    netdoctor.cli``, a test calling the command line in-process. They are
    never the program's: the tracer neither announces them as running user
    code when it starts late (:meth:`CallTracer.install`) nor counts them as
    the program's functions below an entry function (:meth:`CallTracer.entry`).
    """
    _PROGRAM_RUNNERS.add(function.__code__)
    return function


_SIGNALS: tuple[int, ...] | None = None


def called_by_the_interpreter(code: CodeType) -> bool:
    """Whether ``code`` is one the interpreter calls on a schedule of its own, not the program's: a finalizer
    (``__del__``), an entry of ``gc.callbacks`` or a signal handler (``signal.signal``: a sampling profiler's
    ``SIGPROF`` handler runs at every tick of a timer). Such a call lands wherever an allocation starts a collection,
    drops a last reference or a signal arrives, inside netdoctor's own work too; followed, it would be taken for an
    entry of the program's training (its caller is no user code) or for a call of a step that is not the training
    step's, and re-enter the observer mid-step. Asked once per code object (the tracer keeps the answer)."""
    if code.co_name == "__del__":
        return True
    handlers: list[Any] = list(gc.callbacks)
    if code.co_argcount in (2, 3) or code.co_flags & 0x04:  # handler(signum, frame), maybe a method (0x04: *args)
        global _SIGNALS
        if _SIGNALS is None:
            _SIGNALS = tuple(sorted(signal.valid_signals()))  # (0.1 ms: asked once)
        for number in _SIGNALS:
            try:
                handlers.append(signal.getsignal(number))
            except (OSError, ValueError):  # (a number the platform lists but cannot be asked about)
                continue
    for handler in handlers:
        function = getattr(handler, "__func__", handler)
        if getattr(function, "__code__", None) is code:
            return True
    return False


EXPRESSION_SCOPES = frozenset({"<listcomp>", "<setcomp>", "<dictcomp>", "<genexpr>"})
"""Code objects of comprehensions and generator expressions: parts of an expression, never followed as calls.

Python 3.11 runs each comprehension in a frame of its own (3.12 inlines them,
PEP 709), and a generator expression's frame is resumed, with a ``call``
event, for every item it yields. A program that reads its data with
``[float(v) for v in line.split(",")]`` or sums with ``sum(x * x for x in
row)`` would hand the observer one event per row or per item, each as costly
as a call of the forward. The functions they call are still followed (their
caller is then the comprehension's frame, as the traceback shows it).
"""


def caller_of(frame: FrameType) -> FrameType | None:
    """The frame of the function that called ``frame``: its caller, or the function around the comprehension or
    generator expression that called it (``[forward(x) for x in X]`` is called by the function with that line)."""
    back = frame.f_back
    while back is not None and back.f_code.co_name in EXPRESSION_SCOPES:
        back = back.f_back
    return back


class StopObserving(BaseException):  # noqa: N818 - a control-flow signal, like StopIteration
    """Raised inside the program to end it early (the verdict is clear, or a limit was reached)."""

    listeners: ClassVar[list[Callable[[StopObserving], None]]] = []
    """Called with every stop as it is raised: the runner checks that the program really ends (a bare
    ``except:`` in the program can swallow a stop), see :mod:`netdoctor.observe.control`."""

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        for listener in list(StopObserving.listeners):
            listener(self)


def _library_roots() -> tuple[str, ...]:
    """Folders of the standard library, the installed packages and netdoctor itself.

    Not ``sys.prefix``: a virtual environment made inside the project (``python -m venv .``) has the
    project's folder as its prefix, and a script may live under the Python installation's prefix.
    """
    roots: set[str] = set()
    for scheme_paths in (sysconfig.get_paths(), sysconfig.get_paths(vars={"base": sys.base_prefix, "platbase": sys.base_exec_prefix})):
        roots |= {scheme_paths.get(k, "") for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the netdoctor package
    roots.add(here)
    return tuple(sorted({os.path.normcase(os.path.abspath(r)) + os.sep for r in roots if r}))


_LIBRARY_ROOTS = _library_roots()


def _launchers() -> frozenset[str]:
    """The ``netdoctor`` console scripts pip writes into the environment's scripts folders (``bin/``, ``Scripts\\``).

    A console script is a small Python file outside every library folder, so by its place alone it would be the
    user's; it is netdoctor's.
    """
    folders = set()
    for scheme_paths in (sysconfig.get_paths(), sysconfig.get_paths(vars={"base": sys.base_prefix, "platbase": sys.base_exec_prefix})):
        folders.add(scheme_paths.get("scripts", ""))
    try:
        folders.add(sysconfig.get_paths(scheme=sysconfig.get_preferred_scheme("user")).get("scripts", ""))
    except (KeyError, AttributeError):  # no user scheme (Python 3.9 has no get_preferred_scheme)
        pass
    names = ("netdoctor", "netdoctor.exe", "netdoctor-script.py")
    return frozenset(os.path.normcase(os.path.abspath(os.path.join(f, n))) for f in folders if f for n in names)


LAUNCHERS = _launchers()
"""Paths of the installed ``netdoctor`` command: never files of the user's (:func:`is_user_file`)."""


def is_user_file(filename: str) -> bool:
    """True for a file of the user's program: not the standard library, an installed package or netdoctor.

    ``<string>``, ``<frozen ...>`` and other pseudo files are not the user's;
    notebook cells (ipykernel writes them to real temporary files) are. A
    script inside a project-local virtual environment's folder, or under the
    Python installation's prefix, is the user's: only the library folders
    themselves (``lib/python3.X``, ``site-packages``) are excluded, and the
    installed ``netdoctor`` command (:data:`LAUNCHERS`).
    """
    if not filename or filename.startswith("<"):
        return False
    path = os.path.normcase(os.path.abspath(filename))
    parts = path.split(os.sep)
    if "site-packages" in parts or "dist-packages" in parts or path in LAUNCHERS:
        return False
    return not any(path.startswith(root) for root in _LIBRARY_ROOTS)


_clock = time.perf_counter
_HEADS: dict[CodeType, frozenset[int]] = {}


def loop_heads(code: CodeType) -> frozenset[int]:
    """Lines where an iteration of one of ``code``'s loops starts: the targets of its backward jumps.

    Python 3.11 reports a ``line`` event at each backward jump, so these are
    the lines a frame passes once per iteration (a ``for`` statement, the
    first line of a ``while`` body). Cached per code object.
    """
    heads = _HEADS.get(code)
    if heads is None:
        lines: dict[int, int] = {}
        targets: list[int] = []
        line = code.co_firstlineno
        for ins in dis.get_instructions(code):
            if ins.starts_line is not None:
                line = ins.starts_line
            lines[ins.offset] = line
            if "JUMP_BACKWARD" in ins.opname or (ins.opname.startswith("JUMP") and isinstance(ins.argval, int) and ins.argval < ins.offset):
                targets.append(ins.argval)
        heads = _HEADS[code] = frozenset(lines[t] for t in targets if t in lines)
    return heads


def _stretch(n: int, first: int) -> int:
    """The start of the doubling stretch ``[first * 2**k, first * 2**(k+1))`` that holds ``n >= first``."""
    return first << ((n // first).bit_length() - 1)


def sampled(n: int, *, first: int = 64, per_doubling: int = 32, stride: int = 16) -> bool:
    """Whether the ``n``-th (1-based) of a recurring piece of work is done: a schedule in counts, never in time.

    All of the first ``first``, then every ``stride``-th, thinning to ``per_doubling`` evenly spread over each
    doubling of the count: ``sampled`` work on a run of ``N`` events costs ``O(log N)`` past the start, and the
    same program samples the same events on a loaded machine or a fast one (see :class:`Budget`).
    """
    if n <= first:
        return True
    start = _stretch(n, first)
    return (n - start) % max(stride, start // per_doubling) == 0


def sampled_ahead(done: int, cap: int, *, first: int = 64, per_doubling: int = 32, stride: int = 16) -> int:
    """How many of the works after the ``done``-th are not :func:`sampled` (same keywords), up to ``cap``: jumps from
    one sampled work to the next instead of asking each."""
    n, k = done + 1, 0
    while k < cap:
        if n <= first:
            return k
        start = _stretch(n, first)
        step = max(stride, start // per_doubling)
        r = (n - start) % step
        if r == 0:
            return k
        nxt = min(n - r + step, 2 * start)  # the next sampled one: in this stretch, or the next stretch's start
        k, n = k + nxt - n, nxt
    return cap


class Budget:
    """Which update windows get the expensive checks: a schedule in counts, never in time.

    A recorder counts every update with light counters and asks :meth:`deep`
    once per update, before the expensive work of the next window (tracing the
    step's forward and gradient functions, sampling parameters and buffers,
    activations, targets, statistics), telling it the work of the window that
    ended (its gradient computations, when they were counted). The answer
    depends on those counts, nothing else. The first :attr:`first` windows are
    all deep while their work stays below :attr:`first_work` (64 windows of
    one sample each; 5 windows of 100 samples each: 512 gradient computations
    of one sample hold twice the 256 rows of the training accuracy's early
    reading and 8 times the 64 rows the rules on targets need); then, from the
    window where that start ended, :attr:`per_doubling` windows per doubling of
    the update count (fewer in proportion when the start ended early: big
    windows; 2 per doubling after 5 windows of 100 samples), in pairs of
    consecutive windows (a buffer's carry-over is read
    across two windows) spread evenly over the stretch. A run of ``N`` updates
    of one sample each is deep-checked ``first + per_doubling * log2(N /
    first)`` times: 122 of 800, 194 of 20,000. So the same program gets the
    same windows checked, and the same findings, on a loaded machine or a fast
    one; the observer's cost stays bounded by the counts, not by a clock.

    :attr:`spent` is the handlers' wall time, for the report only (never for
    a decision: it grows with the machine's load).
    """

    def __init__(self, first: int = 64, per_doubling: int = 16, first_work: float = 512) -> None:
        if first < 1 or per_doubling < 2 or per_doubling % 2 or first < per_doubling:
            raise ValueError(f"Budget(first={first}, per_doubling={per_doubling}): need first >= per_doubling >= 2, "
                             "per_doubling even (windows come in pairs)")
        self.first = first
        self.per_doubling = per_doubling
        self.first_work = first_work
        self.spent = 0.0
        self.granted = 0
        """Deep windows granted (the first window, before any update, is deep too and not counted here)."""
        self.asked = 0
        self.work = 0.0
        """The work of the windows asked about (measured, or as much as the measured ones had on average)."""
        self._measured = (0, 0.0)
        self._start: tuple[int, int] | None = None
        """Where the start ended: the update count from which the schedule spaces its pairs, and its pairs per
        doubling."""
        self._at: tuple[int, ...] = ()
        """Windows deep besides the schedule's, by the count of updates before them (see :meth:`deep_at`), sorted."""

    def deep_at(self, counts: Iterable[int]) -> None:
        """The windows after these update counts (the ``n``-th update, as :meth:`deep` counts) are deep too, with the
        window after each: a recorder's own boundaries in counts (the update check's windows open at fixed update
        counts, and a window opens only in a deep window; with big windows the schedule's pairs may come long after a
        boundary, or after the run's last update: the forum program's 50 updates, pairs at 24-25 and 48-49 for the
        check after update 40)."""
        self._at = tuple(sorted({m for n in counts for m in (n, n + 1) if m >= 1}))

    def scheduled(self, n: int) -> bool:
        """Whether the window after the ``n``-th update (1-based) is deep, once the start has ended (before: all)."""
        if self._start is None or n in self._at:
            return True
        start, per = self._start
        if n < start:
            return True
        base = _stretch(n, start)
        stride = max(2, 2 * base // per)
        return (n - base) % stride < 2

    def counted_ahead(self, cap: int) -> int:
        """How many of the next updates :meth:`deep` would answer False for, up to ``cap`` (0 before the start ended:
        until then the answer depends on the work measured): the updates that may be counted without asking."""
        if self._start is None:
            return 0
        start, per = self._start
        n, k = self.asked + 1, 0
        at = [m for m in self._at if m >= n]
        while k < cap:
            if n < start or at and at[0] == n:
                return k
            base = _stretch(n, start)
            stride = max(2, 2 * base // per)
            r = (n - base) % stride
            if r < 2:
                return k
            nxt = min(n - r + stride, 2 * base)  # the next pair's first window, or the next stretch's start
            if at:
                nxt = min(nxt, at[0])  # (or a window deep at its count)
            k, n = k + nxt - n, nxt
        return cap

    def skip(self, n: int) -> None:
        """``n`` updates went by, each a :meth:`deep` with no work measured that answered False (see
        :meth:`counted_ahead`): counted as ``n`` such calls would have."""
        count, total = self._measured
        self.asked += n
        self.work += n * max(1.0, total / count if count else 1.0)

    def deep(self, work: float | None = None) -> bool:
        """An update happened: whether the next window gets the expensive work (see the class docstring).

        Args:
            work: the gradient computations of the window that ended, when they were counted (None: as many as the
                measured windows had on average, 1 before any).
        """
        self.asked += 1
        n, total = self._measured
        if work is not None:
            self._measured = (n + 1, total + work)
        else:
            work = total / n if n else 1.0
        self.work += max(1.0, work)
        if self._start is None and not (self.asked < self.first and self.work < self.first_work):
            per = max(2, (self.per_doubling * self.asked // self.first) & ~1)
            self._start = (self.asked, min(per, self.per_doubling))
        if self.scheduled(self.asked):
            self.granted += 1
            return True
        return False


class _UserCode:
    """Which code objects are the user's program's to follow (:meth:`user_code`), and which it stopped following
    (:meth:`ignore`, :meth:`heed`); the compiled call filter, if any, marks every code that is not, so that its calls
    end in C."""

    __slots__ = ("is_user", "filter", "known", "codes", "ignored", "paused")

    def __init__(self, is_user: Callable[[str], bool], call_filter: Any) -> None:
        self.is_user = is_user
        self.filter = call_filter
        self.known: dict[int, bool] = {}
        """By id: a function's code object hashes its bytecode and constants at every lookup."""
        self.codes: dict[int, CodeType] = {}
        """Every code classified, kept alive, so that no id in :attr:`known` (or :attr:`_Entries.known`) is reused."""
        self.ignored: set[CodeType] = set()
        self.paused: list[CodeType] = []
        """The codes :meth:`pause` made untraced, until :meth:`resume` (never ignored ones: they stay ignored)."""

    def user_code(self, code: CodeType) -> bool:
        """Whether ``code`` is a function (or module) of the user's program to follow (cached per code object).

        Comprehensions and generator expressions are not (:data:`EXPRESSION_SCOPES`), even in the user's files.
        """
        known = self.known.get(id(code))
        if known is None:
            known = self.known[id(code)] = (code.co_name not in EXPRESSION_SCOPES and self.is_user(code.co_filename)
                                            and not called_by_the_interpreter(code))
            self.codes[id(code)] = code
            if not known and self.filter:
                self.filter.skip(code)
        return known

    def ignore(self, code: CodeType) -> None:
        """Deliver no more events of ``code`` (classified as uninteresting: a ``Dataset.__getitem__``, an activation
        function): its frames then run untraced, as a library's do, and it is no longer :meth:`user_code`."""
        self.known[id(code)] = False
        self.codes[id(code)] = code
        self.ignored.add(code)
        if self.filter:
            self.filter.skip(code)

    def heed(self, code: CodeType) -> None:
        """Deliver the events of an ignored ``code`` again (from its next call on; a running frame stays untraced)."""
        if code in self.paused and code not in self.ignored:
            self.paused.remove(code)  # heeded now, and for good: traced again at once
            self.known[id(code)] = True
            if self.filter:
                self.filter.unskip(code)
            return
        if code in self.ignored:
            self.ignored.discard(code)
            del self.known[id(code)]
            if self.filter:
                self.filter.unskip(code)

    def pause(self, codes: list[CodeType]) -> None:
        """Calls of ``codes`` (the user's, not ignored) run untraced until :meth:`resume`: as a library's, in C where the
        call filter is built (a running frame of theirs keeps its local trace function, so its return is still heard)."""
        for code in codes:
            if self.known.get(id(code)) is True and code not in self.paused:
                self.known[id(code)] = False
                self.paused.append(code)
                if self.filter:
                    self.filter.skip(code)

    def resume(self) -> None:
        """The codes :meth:`pause` made untraced are traced again from their next call."""
        for code in self.paused:
            if code in self.ignored:
                continue  # ignored while paused: it stays so
            self.known[id(code)] = True
            if self.filter:
                self.filter.unskip(code)
        self.paused = []


class _Followed:
    """A frame that gets loop-head ticks: its heads, whether it called the user's code since its last tick, and its
    ticks counted when it was followed as an entry function (:meth:`CallTracer.entry`), else -1."""

    __slots__ = ("frame", "heads", "called", "ticked", "entry_ticks")

    def __init__(self, frame: FrameType, heads: frozenset[int]) -> None:
        self.frame = frame
        self.heads = heads
        self.called = False
        self.ticked = False
        self.entry_ticks = -1


_COUNTED, _FOLLOWED = 1, 2
"""What :meth:`_Entries.wanted` answers for an entry function's call besides 0 (not followed): followed with its
ticks counted (its code's first entry call), or followed (a code of which a call looped long)."""


class _Entries:
    """Entry functions: which calls of the user's functions are followed from the start (:meth:`CallTracer.entry`).

    An entry function has no function of the user's below it on the stack
    (down to netdoctor's runner, :func:`runs_program`): a ``main()`` or a
    closure the script calls, a thread's target, a function a library's
    command-line runner calls. It may train inline, calling nothing but
    NumPy, so the tracer would hear of it once, at its call: its loops are
    followed from the start. Its code's first such call is followed; a later
    one only if a followed call of it ticked :data:`FOLLOW_CALLS` times (an
    epoch's loop: ``for epoch in range(E): train_epoch()``), not when it
    looped briefly (``for x in X: step(x)`` where ``step`` loops over two
    layers). Generators and coroutines are not entries (they are resumed,
    with a call event, at every item). Decided from the stack and from
    counts only, never from a clock.
    """

    __slots__ = ("user_code", "known", "base")

    def __init__(self, user_code: Callable[[CodeType], bool]) -> None:
        self.user_code = user_code
        self.known: dict[int, bool] = {}
        """Codes seen, by id: whether their later entry calls are followed (a call of theirs looped long). Every such
        code is the user's, kept alive by :attr:`_UserCode.codes`, so an id is never reused."""
        self.base: tuple[FrameType | None, bool] = (None, False)
        """The last module-level caller asked about and whether no user function lies below it (the ``<module>`` of
        a script whose loop calls ``step(x)`` asks at every call; the frames below a running frame do not change,
        and a module's frame holds nothing its module does not)."""

    def wanted(self, frame: FrameType, back: FrameType | None) -> int:
        """Whether the new frame of a user function is followed: 0 (no), :data:`_COUNTED` or :data:`_FOLLOWED`.

        Args:
            frame: the new frame (a user function's, with loops or not).
            back: its caller (:func:`caller_of`), or None for the outermost frame running when tracing starts.
        """
        code = frame.f_code
        known = self.known.get(id(code))
        if known is False:
            return 0
        if known is None and (code.co_flags & _RESUMED or not loop_heads(code)):
            self.known[id(code)] = False
            return 0
        if not self._below_no_function(back):
            return 0
        if known:
            return _FOLLOWED
        self.known[id(code)] = False  # until a followed call of it loops long
        return _COUNTED

    def _below_no_function(self, back: FrameType | None) -> bool:
        """Whether no frame from ``back`` down to netdoctor's runner is a user function's (module-level code and
        library frames may be)."""
        base, answer = self.base
        if base is back and back is not None:
            return answer
        f = back
        answer = True
        while f is not None and f.f_code not in _PROGRAM_RUNNERS:
            if f.f_code.co_name != "<module>" and self.user_code(f.f_code):
                answer = False
                break
            f = f.f_back
        if back is not None and back.f_code.co_name == "<module>":
            self.base = (back, answer)
        return answer


class CallTracer:
    """Deliver events of user code: ``on_call(frame)``, ``on_return(frame, value)``, ``on_tick(frame)``.

    Args:
        on_call: called with the new frame of a user function; returns False to
            not watch this frame's return (saves an event).
        on_return: called with the frame and the returned value (None also when
            the frame exits by an exception).
        on_tick: called when a followed frame (module-level code, an entry
            function (:meth:`entry`), a function that called the user's
            functions :data:`FOLLOW_CALLS` times, or one given to
            :meth:`follow`) starts a loop iteration. None: no line events at all.
        is_user: file name -> whether it is the user's (default :func:`is_user_file`).

    ``user_code(code)``, ``ignore(code)`` and ``heed(code)`` classify code objects (:class:`_UserCode`).

    Long because every path of the trace function (calls, loop heads, returns, held and muted codes) reads and writes
    the same per-frame state kept here; holding (:meth:`hold`, :meth:`mute`, :meth:`release`) is the part to move out
    next, as the NumPy backend's parts were.
    """

    def __init__(self, on_call: Callable[[FrameType], bool], on_return: Callable[[FrameType, Any], None],
                 *, on_tick: Callable[[FrameType], None] | None = None,
                 is_user: Callable[[str], bool] = is_user_file) -> None:
        # marks: _UserCode's False
        self._filter = _CALL_FILTER(self._global, self._local, self._counted) if _use_compiled() else None
        self._trace: Any = self._filter or self._global  # one object: `sys.gettrace() is self._trace` while tracing
        self.compiled = self._filter is not None  # whether the C filter ends other calls (else sys.settrace alone)
        self._quiet_trace = self._quiet  # one bound method for frames whose return only matters to a followed caller
        self._on_call, self._on_return, self._on_tick, self._is_user = on_call, on_return, on_tick, is_user
        self._classes = _UserCode(is_user, self._filter)
        self._user_code = self._classes.known  # read at every call event
        self.user_code, self.heed = self._classes.user_code, self._classes.heed
        self._followed: dict[int, _Followed] = {}
        self._callers: dict[int, int] = {}
        self._entries = _Entries(self.user_code)
        self._previous: Any = None
        self._previous_threads: Any = None
        self._lock = threading.Lock()
        self._floats: Any
        self._floats_ignored: Any
        self._floats, self._floats_ignored = float_errors_ignored() or (None, None)
        """NumPy's float errors ignored while a handler runs: the handlers' arithmetic on weights that overflowed
        (``inf - inf``) must not warn on the program's stderr, nor raise where the program set ``np.seterr(all="raise")``."""
        self._imports = _ImportGuard(self)
        self.failed: BaseException | None = None
        """The observer's own error, if one happened: tracing stopped there and the program ran on untouched."""
        self.stood_down = ""
        """Why tracing stopped for good before the program ended (:meth:`stand_down`), or ""."""
        self.stop: StopObserving | None = None
        """A stop raised in another thread than the main one: the main thread raises it at its next event."""
        self._thread: int | None = None
        self.installed = False
        self.ticks = 0
        """Loop-head ticks delivered (all followed frames)."""
        self.budget = Budget()
        """The handlers' time, and whether a deep check is affordable (see :class:`Budget`)."""
        self.holding = False
        """Whether some of the user's codes run untraced for now (:meth:`hold`)."""
        self._muted: set[tuple[int, int]] = set()
        """Loop heads that do not tick while :attr:`holding` (:meth:`mute`)."""
        self._muted_codes: list[CodeType] = []
        self.keep_lines = False
        """Followed frames keep their line events at loop heads after calling the user's functions, as while
        :attr:`holding` (set by the handler: a window that was held and released keeps ticking at the same heads)."""
        self._on_counted: Callable[[int, list[int] | None, list[bytes], list[Any], int, int], None] | None = None
        self._counting: FrameType | None = None
        self._held_ids: frozenset[int] = frozenset()
        self._quiet_ids: frozenset[int] = frozenset()
        """ids of the held step's codes and of the functions not heard beneath them while holding (:meth:`hold`)."""

    def ignore(self, code: CodeType) -> None:
        """Deliver no more events of ``code`` (:meth:`_UserCode.ignore`). A followed frame that called it since its
        last loop head would turn its line events off at the next head, waiting for a callee to return into it; an
        ignored callee never does (a module-level loop calling ``sigmoid()`` was followed for 12 of its 4,000
        iterations): such frames keep their line events until a callee still delivered is called."""
        self._classes.ignore(code)
        for followed in list(self._followed.values()):
            followed.called = False

    def hold(self, codes: list[CodeType], *, listen: CodeType | None = None, quiet: list[CodeType] | None = None) -> None:
        """Run the calls of ``codes`` untraced until :meth:`release` (:meth:`_UserCode.pause`): the forward and gradient
        functions of an update window the observer only counts. While they are held, a followed frame keeps its line events
        at its loop heads (its callees' returns, which would turn them back on, are not heard), so every update is
        still seen there.

        ``quiet``: the user's functions that are part of the held step (no role of their own: an activation, a layer's
        forward called by the network's): a call of theirs beneath a frame of ``codes`` or of ``listen`` (the gradient
        function whose calls alone are heard) is not heard either, as a held function's is not, there only (the same
        function called by the loop itself is). Python calls every new frame's trace function whatever runs it, so a held
        forward's layers and activations would otherwise reach the handlers at every sample. Beneath means: a frame of
        ``codes`` or ``listen`` among its callers, none between them watched by the tracer (with a local trace
        function)."""
        self._classes.pause(codes)
        self.holding = bool(self._classes.paused)
        held = tuple(self._classes.paused)
        quiet_codes = tuple(quiet or ()) if held or listen is not None else ()
        self._held_ids = frozenset(id(c) for c in held) | ({id(listen)} if listen is not None else set())
        self._quiet_ids = frozenset(id(c) for c in quiet_codes)
        if self._filter:
            self._filter.holding = self.holding
            self._filter.step(held, listen, quiet_codes)
        self._lines_on()

    def _beneath_held(self, frame: FrameType) -> bool:
        """Whether the new frame of a quiet function (:meth:`hold`) runs beneath a frame of the held step, with no
        frame the tracer watches between them (the compiled filter decides the same in C)."""
        back = frame.f_back
        held = self._held_ids
        for _ in range(32):
            if back is None:
                return False
            if id(back.f_code) in held:
                return True
            if back.f_trace is not None:
                return False
            back = back.f_back
        return False

    def mute(self, heads: set[tuple[int, int]], *, add: bool = False) -> None:
        """While :attr:`holding`, the loop heads ``heads`` (``(id of the code, line)``) of the followed frames' codes tick
        no more (their line events end in C where the call filter is built): the step's heads between two updates,
        once the handler knows at which of them each update is seen. Replaces what an earlier call muted, or adds to
        it (``add``)."""
        self._muted = self._muted | set(heads) if add else set(heads)
        if self._filter:
            codes = {id(f.frame.f_code): f.frame.f_code for f in self._followed.values()}
            codes.update((id(code), code) for code in self._muted_codes)
            for key, code in codes.items():
                if not add or any(c == key for c, _ in heads):
                    lines = sorted(line for c, line in self._muted if c == key)
                    self._filter.mute(code, lines)
                    if lines:
                        self._muted_codes.append(code)

    def count(self, frame: FrameType, plan: list[tuple], limit: int, *, keep_states: bool,
              on_counted: Callable[[int, list[int] | None, list[bytes], list[Any], int, int], None],
              through: tuple[CodeType, ...] = ()) -> bool:
        """Count updates at ``frame``'s current loop head in C from now on (the compiled filter's ``count``): every
        tick there at which each parameter of ``plan`` is bound to the same array, or to an array of the same dtype,
        shape and strides re-bound in its place, and has moved is an update, until ``limit`` of them or until any
        event reaches the handlers; ``on_counted(n, states, fingerprints, arrays, passed, trailing)`` then hears of
        them first (``states``: each update's fingerprint hash when ``keep_states``, else None; ``fingerprints`` and
        ``arrays``: the parameters' fingerprint bytes and arrays at the last). ``through``: functions whose calls by
        ``frame`` end in C meanwhile while no parameter moved since the last tick (``passed`` of them, ``trailing``
        after the last update counted): the function that applies the updates, whose call the handler would only
        find changing nothing. False where the filter is not built or cannot read the plan: the ticks reach
        :meth:`_local` as before."""
        if self._filter is None or id(frame) not in self._followed:
            return False
        if through and frame.f_code.co_name == "<module>":
            # a call from module-level code may be an entry function's, followed from its call (:meth:`entry`): only
            # those known never to be pass through
            through = tuple(code for code in through if self._entries.known.get(id(code)) is False)
        self._on_counted, self._counting = on_counted, frame
        if self._filter.count(frame, frame.f_lineno, plan, limit, keep_states, through):
            return True
        self._counting = None
        return False

    def _counted(self, n: int, states: list[int] | None, fingerprints: list[bytes], arrays: list[Any], passed: int,
                 trailing: int) -> None:
        """Called by the compiled filter before any event reaches the handlers, with the ``n`` ticks it counted as
        updates at the counting frame's loop head and the ``passed`` calls of :meth:`count`'s ``through`` it ended
        (:meth:`count`): what :meth:`_local` and :meth:`_global` would have done at each, then ``on_counted`` under
        the handlers' lock. A call passed is not marked on the frame (``_Followed.called``): its return, which
        would give the frame its line events back, is not heard either (as an ignored callee's is not)."""
        frame, self._counting = self._counting, None
        followed = self._followed.get(id(frame)) if frame is not None else None
        self.ticks += n
        if followed is not None:
            followed.ticked = followed.ticked or n > 0
            if 0 <= followed.entry_ticks < FOLLOW_CALLS <= followed.entry_ticks + n and frame is not None:
                self._entries.known[id(frame.f_code)] = True
            if followed.entry_ticks >= 0:
                followed.entry_ticks += n
        if self._on_counted is not None and self.failed is None:
            self._deliver(self._on_counted, n, states, fingerprints, arrays, passed, trailing)

    def _unmute(self) -> None:
        """No head muted any more (the marks are the code objects', not this tracer's: another tracer must not find
        them)."""
        self._muted = set()
        if self._filter:
            for code in self._muted_codes:
                self._filter.mute(code, ())
        self._muted_codes = []

    def release(self, *, keep_lines: bool = False) -> None:
        """Trace the codes of :meth:`hold` again from their next call; with ``keep_lines``, followed frames keep
        ticking at their loop heads as while held, until the handler sets :attr:`keep_lines` back (a loop head first
        seen while held ticks in the windows after it too)."""
        if self.holding:
            self._classes.resume()
            self.holding = False
            if self._filter:
                self._filter.holding = False
        if self._quiet_ids:
            self._held_ids = self._quiet_ids = frozenset()
            if self._filter:
                self._filter.step((), None, ())
        if keep_lines:
            self.keep_lines = True
            self._lines_on()

    def _lines_on(self) -> None:
        """Every followed frame gets its line events back now (one that called a user function since its last loop
        head had them off, waiting for a return a held function will not deliver)."""
        for followed in list(self._followed.values()):
            followed.called = False
            followed.frame.f_trace_lines = True

    # -- installing ----------------------------------------------------------------

    def install(self) -> None:
        """Start tracing new calls in the current thread and in threads started from now on."""
        self.budget = Budget()
        self._previous = sys.gettrace()
        self._previous_threads = threading.gettrace()
        self._thread = threading.get_ident()
        sys.settrace(self._trace)
        threading.settrace(self._trace)
        self._imports.install()
        self.installed = True
        # untraced while the running frames are announced: a call the interpreter makes on its own (a collection's
        # callback) must not re-enter the handlers halfway through this
        previous = self.suspend()
        try:
            self._adopt(sys._getframe(1))
        finally:
            self.resume(previous)

    def _adopt(self, frame: FrameType | None) -> None:
        """The user's frames already running when tracing starts (installed late, from inside the program):
        announced to ``on_call`` outermost first, their returns and loops watched from here on. The loops followed
        are those of module-level code and of the outermost user function (an entry function, :meth:`entry`).
        Frames below netdoctor's runner (:func:`runs_program`) are its launcher's, not the program's."""
        running = []
        while frame is not None and frame.f_code not in _PROGRAM_RUNNERS:
            if self.user_code(frame.f_code):
                running.append(frame)
            frame = frame.f_back
        entry_found = False
        for f in reversed(running):
            f.f_trace = self._local
            f.f_trace_lines = False
            try:
                self._on_call(f)
            except Exception as exc:  # noqa: BLE001 - see _global
                self._fail(exc)
                return
            code = f.f_code
            if code.co_name == "<module>":
                self.follow(f)
            elif not entry_found:
                entry_found = True
                self.entry(f, None)

    def uninstall(self) -> None:
        """Stop tracing and put back whatever trace function was there before (a debugger, coverage)."""
        if self._filter is not None:
            self._filter.take()  # the updates counted in C since the last event
        if self.installed:
            self._imports.uninstall()
            if threading.gettrace() is self._trace:
                threading.settrace(self._previous_threads)
            if threading.get_ident() == self._thread:
                sys.settrace(self._previous)
        self.release()
        self._unmute()
        self.installed = False
        self._followed.clear()
        self._callers.clear()
        self._entries.base = (None, False)

    def suspend(self) -> Any:
        """Stop tracing in the current thread until :meth:`resume` (for a debugger, or code known to be uninteresting).

        Returns the trace function that was set (pass it to :meth:`resume`).
        """
        current = sys.gettrace()
        if current is self._trace:
            sys.settrace(None)
        return current

    def resume(self, previous: Any = None) -> None:
        """Trace the current thread again after :meth:`suspend` (if the observation is still on)."""
        if self.installed and self.failed is None and sys.gettrace() is None and (previous is None or previous is self._trace):
            sys.settrace(self._trace)

    def stand_down(self, reason: str) -> None:
        """Stop tracing for good (every thread, imports too): the program's training is not this observer's to
        watch (a PyTorch program whose functions touch no NumPy array). :attr:`stood_down` keeps the reason."""
        self.stood_down = reason
        self._imports.uninstall()
        if threading.gettrace() is self._trace:
            threading.settrace(self._previous_threads)
        if sys.gettrace() is self._trace:
            sys.settrace(self._previous if threading.get_ident() == self._thread else None)
        self.installed = False
        self._followed.clear()
        self._entries.base = (None, False)

    def tracing(self) -> bool:
        """Whether the current thread is traced by this tracer right now."""
        return self.installed and sys.gettrace() is self._trace

    def follow(self, frame: FrameType) -> bool:
        """Deliver loop-head ticks of this running user frame from now on; False when it has no loops."""
        if self._on_tick is None or id(frame) in self._followed:
            return id(frame) in self._followed
        heads = loop_heads(frame.f_code)
        if not heads:
            return False
        if self._filter:
            self._filter.heads(frame.f_code, heads)  # its other line events end in C: _local ignores them here
        self._followed[id(frame)] = _Followed(frame, heads)
        if frame.f_trace is None or frame.f_trace is self._quiet_trace:
            frame.f_trace = self._local
        frame.f_trace_lines = True
        return True

    def long_entry(self, code: CodeType) -> bool:
        """Whether the calls of ``code`` as an entry function are followed because one of them looped long."""
        return self._entries.known.get(id(code)) is True

    def unfollow(self, frame: FrameType) -> None:
        """Deliver no more loop-head ticks of ``frame`` (followed by :meth:`follow`); its return is still heard."""
        followed = self._followed.get(id(frame))
        if followed is not None and followed.frame is frame:
            del self._followed[id(frame)]
            frame.f_trace_lines = False

    def entry(self, frame: FrameType, back: FrameType | None) -> bool:
        """Follow the new frame of a user function from its call if it is an entry function (:class:`_Entries`)."""
        wanted = self._entries.wanted(frame, back)
        if not wanted or not self.follow(frame):
            return False
        if wanted == _COUNTED:
            self._followed[id(frame)].entry_ticks = 0
        return True

    # -- events ------------------------------------------------------------------------
    def _global(self, frame: FrameType, event: str, arg: Any):
        if event != "call":
            return None
        code = frame.f_code
        known = self._user_code.get(id(code))
        if known is None:
            known = self.user_code(code)
        if not known or self.failed is not None or self.stood_down:
            if (self.failed is not None or self.stood_down) and threading.get_ident() != self._thread:
                sys.settrace(None)  # stopped from another thread: this one stops too
            return None
        if self.stop is not None and threading.get_ident() == self._thread:
            stop, self.stop = self.stop, None
            raise stop
        if self.holding and id(code) in self._quiet_ids and self._beneath_held(frame):
            return None  # (part of the held step: what the compiled filter ends in C)
        frame.f_trace_lines = False
        back = frame.f_back
        if back is not None and back.f_code.co_name in EXPRESSION_SCOPES:
            back = caller_of(frame)  # a call from a comprehension counts for the function around it
        followed_caller = back is not None and self._on_tick is not None and self._count_caller(back)
        watch = self._deliver(self._on_call, frame)
        if watch is _FAILED:
            return None
        if code.co_name == "<module>" and self._on_tick is not None:
            self.follow(frame)  # module-level code: its loops are followed from the start
            return self._local
        if (self._on_tick is not None and self._entries.known.get(id(code)) is not False
                and (back is None or back.f_code.co_name == "<module>" or not self._user_code.get(id(back.f_code)))
                and self.entry(frame, back)):  # a call from a function of the user's is no entry: asked cheaply
            return self._local
        if watch is False:
            # the handler does not want this return, but a followed caller gets its line events back from it
            return self._quiet_trace if followed_caller else None
        return self._local

    def _count_caller(self, back: FrameType) -> bool:
        """A user function was called from ``back``: mark it for its next tick, follow it once it calls often.

        Returns whether ``back`` is followed (now).
        """
        followed = self._followed.get(id(back))
        if followed is not None:
            followed.called = True
            return True
        key = id(back)
        n = self._callers.get(key, 0) + 1
        self._callers[key] = n
        if n == 1 and back.f_trace is None:
            # its return drops its count: a later frame at the same address must not inherit it (observation
            # would depend on memory layout: what the process allocated before)
            back.f_trace_lines = False
            back.f_trace = self._quiet_trace
        if n >= FOLLOW_CALLS and self.user_code(back.f_code):
            del self._callers[key]
            if self.follow(back):
                self._followed[key].called = True
                return True
        elif len(self._callers) > 4096:
            self._callers.clear()  # ids of frames long gone: counting restarts
        return False

    def _lines_back(self, frame: FrameType) -> None:
        """``frame`` returns: its followed caller gets line events until its next loop head."""
        back = frame.f_back
        if back is not None and back.f_code.co_name in EXPRESSION_SCOPES:
            back = caller_of(frame)  # (the function call only where a comprehension is between: at every return)
        if back is not None:
            caller = self._followed.get(id(back))
            if caller is not None and caller.frame is back:
                back.f_trace_lines = True

    def _quiet(self, frame: FrameType, event: str, arg: Any):
        """Local trace of a callee of a followed frame whose return the handler does not want."""
        if event == "return":
            key = id(frame)
            if self._followed.pop(key, None) is None:
                self._callers.pop(key, None)
            self._lines_back(frame)
        return self._quiet_trace

    def _local(self, frame: FrameType, event: str, arg: Any):
        if event == "line":
            followed = self._followed.get(id(frame))
            if followed is None or followed.frame is not frame:
                frame.f_trace_lines = False
                return self._local
            if frame.f_lineno in followed.heads:
                if self.holding and self._muted and (id(frame.f_code), frame.f_lineno) in self._muted:
                    return self._local  # (the compiled filter ends these in C)
                self.ticks += 1
                if followed.entry_ticks >= 0:
                    followed.entry_ticks += 1
                    if followed.entry_ticks == FOLLOW_CALLS:
                        self._entries.known[id(frame.f_code)] = True  # it loops long: its later calls are followed too
                if followed.called:
                    followed.called = False
                    if followed.ticked and not (self.holding or self.keep_lines):  # calls made before its first loop (``args = parse(argv)``) do not count
                        frame.f_trace_lines = False  # back on when a callee returns here
                followed.ticked = True
                if self._on_tick is not None and self.failed is None and self._deliver(self._on_tick, frame) is _FAILED:
                    return None
            return self._local
        if event == "return":
            key = id(frame)
            if self._followed.pop(key, None) is None:
                self._callers.pop(key, None)
            self._lines_back(frame)  # lines until the caller's next loop head
            if self.failed is None and self._deliver(self._on_return, frame, arg) is _FAILED:
                return None
        return self._local

    def _deliver(self, handler: Callable[..., Any], *args: Any) -> Any:
        """``handler(*args)`` under the handlers' lock, its time charged to :attr:`budget`.

        Returns what the handler returned, or :data:`_FAILED` when it asked to stop the program from another
        thread or failed on an error of its own (the trace function then returns None). A stop asked in the main
        thread is raised from here into the program.
        """
        lock = self._lock
        lock.acquire()  # not `with`: its __enter__ and __exit__ cost 0.1 us more per event (0.90 -> 0.78 us in all)
        t0 = _clock()
        floats = self._floats
        token = floats.set(self._floats_ignored) if floats is not None else None
        try:
            return handler(*args)
        except StopObserving as stop:
            self._stopped(stop)
        except Exception as exc:  # noqa: BLE001 - our bug must never become the program's
            self._fail(exc)
        finally:
            if floats is not None:
                floats.reset(token)
            self.budget.spent += _clock() - t0
            lock.release()
        return _FAILED

    def _stopped(self, stop: StopObserving) -> None:
        """A handler asked to end the program: raise it in the main thread; another thread only records it."""
        if threading.get_ident() == self._thread:
            raise stop
        self.stop = stop
        return None

    def _fail(self, exc: Exception) -> None:
        """Stop observing after an error of our own; the program continues as without us."""
        self.failed = exc
        if threading.get_ident() == self._thread:
            sys.settrace(self._previous)
        else:
            sys.settrace(None)
        self._imports.uninstall()
        self.installed = False


class _ImportGuard:
    """``builtins.__import__`` wrapped for the run: imports of modules that are not the user's run untraced.

    The wrapper is transparent otherwise (same arguments, same result, same
    exceptions); it is removed by :meth:`uninstall` only if nobody replaced it
    in the meantime.
    """

    def __init__(self, tracer: CallTracer) -> None:
        self.tracer = tracer
        self.original: Any = None
        self.user: dict[str, bool] = {}

    def install(self) -> None:
        if self.original is not None:
            return
        self.original = original = builtins.__import__
        tracer = self.tracer
        decide = self._user_module

        def __import__(name, globals=None, locals=None, fromlist=(), level=0):  # noqa: A002 - builtins.__import__'s own signature
            if sys.gettrace() is not tracer._trace or decide(name, globals, level):
                return original(name, globals, locals, fromlist, level)
            sys.settrace(None)
            try:
                return original(name, globals, locals, fromlist, level)
            finally:
                if tracer.installed and tracer.failed is None:
                    sys.settrace(tracer._trace)

        self.wrapper = __import__
        builtins.__import__ = __import__

    def uninstall(self) -> None:
        if self.original is not None and builtins.__import__ is self.wrapper:
            builtins.__import__ = self.original
        self.original = None

    def _user_module(self, name: str, globals: Any, level: int) -> bool:
        """Whether importing ``name`` may run the user's module-level code (then it stays traced)."""
        if level:
            importer = globals.get("__file__") if isinstance(globals, dict) else None
            return isinstance(importer, str) and self.tracer._is_user(importer)
        top = name.partition(".")[0]
        known = self.user.get(top)
        if known is None:
            known = self.user[top] = self._top_is_user(top)
        return known

    def _top_is_user(self, top: str) -> bool:
        module = sys.modules.get(top)
        if module is not None:
            where = getattr(module, "__file__", None) or next(iter(getattr(module, "__path__", []) or []), None)
        else:
            try:
                spec = PathFinder.find_spec(top)
            except (ImportError, ValueError):
                spec = None
            if spec is None:
                return False  # a built-in or frozen module, or one that does not exist
            where = spec.origin if spec.origin not in (None, "namespace") else next(iter(spec.submodule_search_locations or []), None)
        return isinstance(where, str) and self.tracer._is_user(where)
