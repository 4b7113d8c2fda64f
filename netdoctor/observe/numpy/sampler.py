"""Find the user's functions that run long without calling anything the tracer sees, and have their loops followed.

A ``main()`` that trains inline (``for k in range(...): z = X[idx] @ W + b; ...; W -= lr * grad``) calls
only NumPy: the tracer hears of it once, at its call, and then never again, so its updates are never seen.
:class:`LongRunningFrames` looks at the stacks of the program's threads a few times a second (from a thread of
its own, started with :mod:`_thread` so that ``threading.enumerate()`` and ``threading.active_count()`` in the
program do not see it) and asks the tracer to follow the loops (:meth:`CallTracer.follow`) of the outermost frame
of the user's code in a thread's stack (a thread's target, an entry point) that is still running at two looks in a
row. The look costs a few microseconds per thread; the
followed frame costs one line event per line of its loop body that calls no user function.
"""

from __future__ import annotations

import _thread
import sys
import time
from types import FrameType

from netdoctor.observe.tracer import CallTracer, loop_heads

__all__ = ["LongRunningFrames", "EVERY"]

EVERY = 0.05
"""Seconds between two looks at the program's stacks."""
DEPTH = 64
"""Frames looked at per stack (innermost first)."""


class LongRunningFrames:
    """A sampler of the program's stacks that follows the loops of long-running user frames (see the module docstring)."""

    def __init__(self, tracer: CallTracer, every: float = EVERY) -> None:
        self.tracer = tracer
        self.every = every
        self.running = False
        self.followed = 0
        """Frames this sampler had followed."""
        self._seen: dict[int, FrameType] = {}
        self._done: set[int] = set()
        self._own: int | None = None

    def start(self) -> None:
        if not self.running:
            self.running = True
            self._own = _thread.start_new_thread(self._loop, ())

    def stop(self) -> None:
        """Stop looking (the thread ends at its next wake-up)."""
        self.running = False
        self._seen.clear()

    def _loop(self) -> None:
        try:
            while self.running:
                time.sleep(self.every)
                if not self.running or not self.tracer.installed:
                    break
                self.look()
        except Exception:  # noqa: BLE001 - at interpreter shutdown modules vanish; the program must not hear of us
            self.running = False

    def look(self) -> None:
        """One look at every thread's stack: follow the outermost user function of each (an entry point such as a
        thread's target or a ``main()`` started by a library's command-line runner) when it was running at the last
        look too. Functions it calls are not followed from here (how often they are called decides, as the tracer
        does), so that what is followed does not depend on when the looks happen to fall."""
        seen: dict[int, FrameType] = {}
        for ident, frame in sys._current_frames().items():
            if ident == self._own:
                continue
            outermost: FrameType | None = None
            f: FrameType | None = frame
            depth = 0
            while f is not None and depth < DEPTH:
                code = f.f_code
                if code.co_name != "<module>" and self.tracer.user_code(code):
                    outermost = f
                f, depth = f.f_back, depth + 1
            if outermost is None or f is not None:
                continue  # no user function, or a stack deeper than looked at (its outermost frame is not known)
            key = id(outermost)
            code = outermost.f_code
            if self._seen.get(key) is outermost and key not in self._done and loop_heads(code) and self.tracer.follow(outermost):
                self._done.add(key)
                self.followed += 1
            seen[key] = outermost
        self._seen = seen
