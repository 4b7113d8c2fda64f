"""Stopping an observed program from outside its code, and stepping aside for a debugger.

``netdoctor run`` must end a program at ``--max-seconds`` wherever it spends
its time (a module-level loop, ``while True: time.sleep(0.1)``), end it
with a partial report when it is killed (SIGTERM), and let a debugger
(``breakpoint()``, ``pdb``) stop on the program's own line as under
``python``. Three small pieces do that, each restoring what it changed:

* :class:`Stopper`: a timer thread raises :class:`LimitReached` in the main
  thread (``PyThreadState_SetAsyncExc``: no signal handler of the program's
  is touched). The exception arrives at the next bytecode of whatever runs,
  the program's own loop included. A program that catches a stop (a bare
  ``except:`` around its step) and runs on is stopped again, and the report
  says how often and for how long it ran on.
* :class:`Termination`: SIGTERM raises :class:`Terminated` (only when the
  program has not installed a handler of its own; it is put back after).
* :class:`DebuggerWatch`: while the program runs, ``sys.settrace`` is
  wrapped; when the program (a debugger) installs a trace function, line
  events are switched back on in every frame of the stack (netdoctor's call
  tracer turned them off) and netdoctor's tracer steps aside, so the debugger
  sees every line as under ``python``.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

from netdoctor.observe.tracer import StopObserving, is_user_file
from netdoctor.usercode import short_path

__all__ = ["LimitReached", "Terminated", "Stopper", "finish_stopper", "Termination", "DebuggerWatch"]

_NETDOCTOR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


class LimitReached(StopObserving):
    """Raised in the program's main thread when ``--max-seconds`` is over."""


class Terminated(StopObserving):
    """Raised in the program's main thread by SIGTERM: the run ends with a partial report."""


class Stopper:
    """End the program at a time limit from a timer thread, and again whenever it catches a stop and runs on.

    Every stop raised in the program (this limit, ``--max-updates`` of an
    observer, SIGTERM) is heard through :attr:`StopObserving.listeners`. A
    program that is still running ``grace`` seconds after a stop reached it
    caught the stop (or is slow to unwind): it is stopped again, from outside,
    until it ends.

    Args:
        seconds: the time limit (None: only the follow-up of other stops).
        grace: seconds a program may take to unwind after a stop before it is stopped again.
        on_runaway: called in the program's thread, with the program paused,
            when it has caught :data:`RUNAWAY` stops (an ``except:`` around a
            step that spends its time in C code catches every one): it should
            report and end the process.

    Attributes:
        reached: whether the time limit was reached while the program ran.
        stops: how many stops reached the program (raised in its thread).
        caught: how many times it went on after a stop and was stopped again.
        ran_on: seconds from the first stop to the program's end, when it caught one.
        reason: what the first stop said.
    """

    TICK = 0.05
    """Seconds between the timer thread's looks (the limit's resolution)."""

    RUNAWAY = 5
    """Stops caught in a row after which the program is taken as one that catches every stop (``on_runaway``)."""

    def __init__(self, seconds: float | None = None, *, grace: float = 0.5,
                 on_runaway: Callable[[], None] | None = None) -> None:
        self.seconds = seconds
        self.grace = grace
        self.on_runaway = on_runaway
        self.reached = False
        self.stops = 0
        self.caught = 0
        self.ran_on = 0.0
        self.reason = ""
        self.ended_by_netdoctor = False
        self._first: float | None = None
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._target = threading.get_ident()
        self._thread: threading.Thread | None = None
        stopper = self

        class _Stop(LimitReached):
            # PyThreadState_SetAsyncExc raises the class: it is instantiated (and heard) when it reaches the program.
            def __init__(self, *args: object) -> None:
                super().__init__(*(args or (stopper.reason or stopper.limit_text(),)))
                if stopper.caught >= stopper.RUNAWAY and stopper.on_runaway is not None:
                    # Runs in the program's thread, its code paused here: end the run from inside.
                    stopper.on_runaway()

        self._stop_class = _Stop

    def limit_text(self) -> str:
        return f"stopped after {self.seconds:g} s (--max-seconds)"

    def _heard(self, stop: StopObserving) -> None:
        if threading.get_ident() != self._target or self._done.is_set():
            return
        self.stops += 1
        if self._first is None:
            self._first = time.perf_counter()
            self.reason = str(stop)

    def start(self) -> None:
        """Start listening and the timer (call from the thread that runs the program)."""
        self._target = threading.get_ident()
        StopObserving.listeners.append(self._heard)
        self._thread = threading.Thread(target=self._run, name="netdoctor-stopper", daemon=True)
        self._thread.start()

    def _raise(self) -> None:
        import ctypes  # here: only a program that is stopped needs it (~5 ms of every run's start before)

        with self._lock:
            if not self._done.is_set():
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self._target), ctypes.py_object(self._stop_class))

    def _run(self) -> None:
        started = time.perf_counter()
        seen, seen_at = 0, 0.0
        while not self._done.wait(self.TICK):
            now = time.perf_counter()
            if self.seconds is not None and not self.reached and now - started >= self.seconds:
                self.reached = True
                self._raise()
            elif self.stops > seen:
                seen, seen_at = self.stops, now
            elif seen and seen_at and now - seen_at >= self.grace:
                # a stop reached the program and it still runs: caught (a bare `except:`); stop it again
                self.caught += 1
                seen_at = 0.0
                self._raise()

    def finish(self) -> None:
        """The program ended: no new stop is raised from now on.

        A stop raised just before may still be pending: it arrives at the next
        function call of this thread, possibly the call of this method; call it
        as :func:`finish_stopper` does. (Withdrawing a pending stop with
        ``PyThreadState_SetAsyncExc(id, NULL)`` is no option: CPython 3.11
        leaves its eval-breaker flag set and spins at the next call.)
        """
        with self._lock:
            self._done.set()
        if self._heard in StopObserving.listeners:
            StopObserving.listeners.remove(self._heard)
        if self._first is not None and self.caught:
            self.ran_on = time.perf_counter() - self._first
        self.ended_by_netdoctor = self.caught >= self.RUNAWAY and self.on_runaway is not None

    def note(self) -> str:
        """What the report must add when the program did not end at the first stop ("" otherwise)."""
        if not self.caught:
            return ""
        how = ("it caught every one, so netdoctor ended the process" if self.ended_by_netdoctor
               else "it ended")
        return (f"the program caught netdoctor's stop and ran on: stopped again {self.caught} "
                f"time{'s' * (self.caught != 1)}, {how} {self.ran_on:.1f} s after the first stop; what it did after "
                f"catching the stop was not observed (an `except:` or `except BaseException:` around its work "
                f"catches more than its own errors)")


def finish_stopper(stopper: Stopper) -> None:
    """``stopper.finish()``, absorbing a stop that was pending when the program ended (it had ended by itself)."""
    for _ in range(3):
        try:
            stopper.finish()
            return
        except LimitReached:
            continue


class Termination:
    """While installed, SIGTERM raises :class:`Terminated` in the main thread (unless the program handles SIGTERM itself)."""

    def __init__(self) -> None:
        self.received = False
        self._previous: Any = None
        self._installed = False

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        self.received = True
        raise Terminated("terminated by SIGTERM: a partial report of what ran until then")

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
            return  # someone (a parent, a framework) handles SIGTERM already: leave it so
        self._previous = signal.signal(signal.SIGTERM, self._handler)
        self._installed = True

    def uninstall(self) -> None:
        if self._installed and signal.getsignal(signal.SIGTERM) == self._handler:
            signal.signal(signal.SIGTERM, self._previous)
        self._installed = False


class DebuggerWatch:
    """Step aside when the program installs a trace function of its own (a debugger).

    Attributes:
        took_over: ``file:line`` of the program's frame where a trace function
            that is not netdoctor's was first installed ("" if none was).
    """

    def __init__(self) -> None:
        self._real = sys.settrace
        self.took_over = ""

    def install(self) -> None:
        self._real = sys.settrace
        sys.settrace = self._settrace

    def uninstall(self) -> None:
        if sys.settrace is self._settrace:
            sys.settrace = self._real

    def _settrace(self, function: Any) -> None:
        caller = sys._getframe(1)
        # Code that saves the trace function and puts it back (torch.compile does, around compiling a frame)
        # hands netdoctor's own tracer back: that is no debugger taking over.
        ours = getattr(function, "__module__", "") or ""
        if function is not None and not ours.startswith("netdoctor.") and not caller.f_code.co_filename.startswith(_NETDOCTOR):
            frame: FrameType | None = caller
            user = ""
            while frame is not None:
                # netdoctor's call tracer turns line events off in the program's frames; a debugger needs them.
                frame.f_trace_lines = True
                name = frame.f_code.co_filename
                if not user and is_user_file(name):
                    user = f"{short_path(name)}:{frame.f_lineno}"
                frame = frame.f_back
            self.took_over = self.took_over or user or "?"
        self._real(function)
