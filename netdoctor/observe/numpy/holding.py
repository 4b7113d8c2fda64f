"""Update windows only counted run the training step untraced: which calls and loop heads are the step's, when the
step's forward and gradient functions are held (their calls end in the call filter, as a library's do) and when
they are traced again.

The tracer's :class:`~netdoctor.observe.tracer.Budget` says which update windows are *deep* (watched in full:
every call and return of the step, targets, outputs, activations, buffers). The others are only counted: their
updates are still seen, at the loop heads of the frames that apply them or at calls of the function that does, but
the forward and the gradient function need not be heard. :class:`StepHold` holds them there
(:meth:`CallTracer.hold <netdoctor.observe.tracer.CallTracer.hold>`) and releases them

* at the next deep window;
* at a call, or a loop head, that is not the step's (an evaluation after training or between epochs, a report):
  the step is what the program called and ticked at in two windows in a row (once per update, not once in a while);
* when the step's loop goes on ticking without an update (4x its usual ticks): steps too small to move a weight are
  counted from the gradient function's calls.

While held, a followed frame keeps its line events at its loop heads (a held callee's return, which would turn them
back on, is not heard), and a head ticking 16x as often as another head of its code (``for item in row:`` inside the
sample loop) is muted, as are, once two windows held whole show it, the heads between two updates when one head
ticks exactly once per update (the update is looked for there alone). Everything is decided from counts of the
program's own calls and iterations, never from a clock: the same program holds the same windows on a loaded machine.
"""

from __future__ import annotations

from collections.abc import Callable
from types import CodeType, FrameType
from typing import Any

from netdoctor.observe.tracer import CallTracer

__all__ = ["StepHold"]


class StepHold:
    """What the update windows called and ticked at, and whether the step's functions are held now.

    Args:
        tracer: the tracer whose :meth:`~netdoctor.observe.tracer.CallTracer.hold` and ``release`` it drives.
    """

    __slots__ = ("tracer", "window", "prev", "step", "ticks", "typical", "whole", "prev_whole", "any", "foreign",
                 "update_heads", "held_updates", "recording", "targets_at", "targets_held", "held_codes",
                 "refused", "wait", "gap", "keep", "listen", "step_codes")

    def __init__(self, tracer: CallTracer) -> None:
        self.tracer = tracer
        self.window: dict[Any, int] = {}
        """What the current window called (ids of codes) and ticked at (``(id of the code, line)``), how many times."""
        self.prev: dict[Any, int] = {}
        self.step: set[Any] = set()
        """The training step: calls and loop heads seen in two windows in a row."""
        self.step_codes: set[int] = set()
        """ids of the codes of the step's loop heads."""
        self.ticks = 0
        """Loop-head ticks since the last update."""
        self.typical = 0
        """The most ticks a window of the step had (none released for other work)."""
        self.whole = False
        """Whether the current window has been held from its start, never released."""
        self.prev_whole = False
        self.any = False
        """Whether the step's functions were held in some part of the current window (its calls were not all heard)."""
        self.foreign = False
        """Whether they were released in this window for a call or a loop that is not the step's."""
        self.update_heads: set[tuple[int, int]] = set()
        """Loop heads ticked exactly once in each of two windows in a row held whole (looked at every head): one update
        happens between two of their ticks, so a held window looks for it there alone from then on."""
        self.held_updates = 0
        """Updates whose window ended with the step's functions held: counted, their samples not read."""
        self.refused = False
        self.wait = 0
        """Windows only counted still to go by before a refused hold is asked again (see :meth:`asks`)."""
        self.gap = 1
        """The windows between two asks of a refused hold: 1, 2, 4, ... (doubling at each refusal in a row, 1 again once
        a window was held). A deep window does not make it 1 again: the first window after it is asked (as before any
        gap), the next ones after the gap reached (a module-level loop, never held, is asked O(log n) times in n
        windows besides those after its deep windows)."""
        self.listen: CodeType | None = None
        """A function held whose calls are still heard (not its lines, returns or callees): the gradient function of a
        program that accumulates into buffers, at whose calls the buffers are looked at."""
        self.keep: set[tuple[int, int]] = set()
        """Loop heads never muted while held: where a program that accumulates into buffers was seen adding to them or
        emptying them (:attr:`BufferResets.heads <netdoctor.observe.numpy.resets.BufferResets.heads>`), so that a step
        that moves no weight is still seen emptying them."""
        """Whether the last window only counted had nothing to hold (asked again after :attr:`gap` windows)."""
        self.held_codes: list[CodeType] = []
        """The codes held in the last held window."""
        self.targets_at = 0
        self.targets_held = False
        """Whether targets were counted in a window held whole: they are read elsewhere than in the held functions (a
        helper, the loop's own variables), every one of them, and the header must not call them sampled."""
        self.recording = True
        """Whether this window's calls and loop heads are counted: in deep windows (the step is learnt from two in a
        row: deep windows come in pairs) and held ones, not in the others (a module-level loop that calls nothing
        pays for no count at its every iteration)."""

    @property
    def holding(self) -> bool:
        return self.tracer.holding

    def call(self, code: CodeType) -> None:
        """A call of the program's function ``code`` was delivered (while watching)."""
        if not self.recording:
            return
        window = self.window
        key = id(code)
        window[key] = window.get(key, 0) + 1
        if self.tracer.holding and key not in self.step:
            self._release(foreign=True)  # not the training step: an evaluation, a report; watched in full

    def tick(self, frame: FrameType) -> bool:
        """A followed frame ticked at a loop head: whether to look for an update there (False: a head of the held
        step's loops between two updates, or one muted now)."""
        self.ticks += 1
        if not self.recording:
            return True
        key = (id(frame.f_code), frame.f_lineno)
        window = self.window
        n = window[key] = window.get(key, 0) + 1
        if not self.tracer.holding:
            return True
        if n >= 64 and not n & (n - 1) and self._inner_head(key, n):
            return False
        if key not in self.step and n < 64 and self.listen is not None and key[0] in self.step_codes:
            # a loop of the step's own code first seen while held (in a program that accumulates into buffers, whose
            # windows heard end at a still step too): a loop over a row's values inside the sample loop is muted at its
            # 64th tick (:meth:`_inner_head`), anything else released there
            return False
        if key not in self.step or self.ticks > 4 * self.typical + 16:
            # another loop than the step's (an evaluation), or the step's loop going on without updates: watched in
            # full, its loop heads ticking as while held (a head ticked in two windows in a row is the step's)
            self._release(foreign=key not in self.step, keep_lines=True)
            return True
        return not self.update_heads or key in self.update_heads or key in self.keep

    def _inner_head(self, key: tuple[int, int], n: int) -> bool:
        """A loop head ticking 16x as often in this held window as another head of its code (``for item in row:``
        inside ``for row in file:``) ticks no more while held: an update between two of its ticks is seen at the other
        head's next tick."""
        if key in self.keep:
            return False
        rare = min((c for k, c in self.window.items() if type(k) is tuple and k[0] == key[0] and k != key), default=0)
        if not rare or n < 16 * rare:
            return False
        self.tracer.mute({key}, add=True)
        return True

    def _release(self, *, foreign: bool, keep_lines: bool = False) -> None:
        self.tracer.release(keep_lines=keep_lines)
        self.whole = False  # (still recording: a head first seen while held is learnt from this window and the next)
        self.foreign = self.foreign or foreign

    def work(self, calls: int) -> int | None:
        """The window's gradient computations as counted (``calls``), or None when some ran held (not all heard)."""
        return None if self.any else calls

    def ended(self, targets: int) -> None:
        """An update ended the window (``targets``: the targets counted so far): what it called and ticked at is kept
        to tell the step from other work."""
        if self.tracer.holding:
            self.held_updates += 1
        if self.whole and self.prev_whole and targets > self.targets_at:
            # (the second of two windows held whole: the first one's opening call may still be a held function's,
            # delivered when the hold was decided at it)
            self.targets_held = True
        self.targets_at = targets
        if not self.foreign:  # (a window with an evaluation in it ticks in another loop)
            self.typical = max(self.ticks, self.typical)
        self.ticks = 0
        self.foreign = False
        if not self.recording:
            return
        window, prev = self.window, self.prev
        self.step.update(k for k in window if k in prev)
        self.step_codes = {k[0] for k in self.step if type(k) is tuple}
        if self.whole:
            if self.prev_whole and not self.update_heads:  # learnt once, from windows looked at every head
                self.update_heads = {k for k, n in window.items() if n == 1 and type(k) is tuple and prev.get(k) == 1}
                if self.update_heads:  # the step's other heads tick no more while held (in C)
                    self.tracer.mute({k for k in self.step if type(k) is tuple and k not in self.update_heads
                                      and k not in self.keep})
            self.prev_whole = True
        else:
            self.prev_whole = False
        self.prev, self.window = window, {}

    def counted(self, n: int, head: tuple[int, int], targets: int) -> None:
        """``n`` updates of windows only counted, each seen at the one tick of ``head`` that ended its window (a held
        window's update head), were counted by the compiled tracer alone: what :meth:`tick` (or the fast way of a window
        not recorded) and :meth:`ended` would have done for each (their windows called nothing heard and ticked at
        nothing else)."""
        if self.tracer.holding:
            self.held_updates += n
        if self.refused and self.step:
            self.wait -= n  # (each window's :meth:`asks`: :meth:`unasked` kept the count short of the next ask)
        self.targets_at = targets
        if not self.foreign:
            self.typical = max(1, self.typical)
        self.ticks = 0
        self.foreign = False
        if not self.recording:
            return  # (a window not held: its ticks are only counted)
        self.step.add(head)
        self.prev_whole = self.whole
        self.prev, self.window = {head: 1}, {}

    def next(self, deep: bool, holdable: Callable[[], list[CodeType]],
             quiet: Callable[[], list[CodeType]] | None = None) -> None:
        """The next window starts: deep (everything traced), or only counted, its step's functions held when
        ``holdable()`` names them (called only when the step is known and the function applying the updates is heard
        at every step: ``holdable`` says what else must hold). ``quiet()``: the functions of the step that are not
        heard beneath the held ones either (:meth:`CallTracer.hold <netdoctor.observe.tracer.CallTracer.hold>`)."""
        tracer = self.tracer
        holding = tracer.holding
        self.recording = deep or holding
        if not (deep or holding or self.step):
            return  # (the fast way of a program whose step is not known: nothing held, nothing counted)
        tracer.keep_lines = False
        self.whole = self.any = holding
        if deep:
            tracer.release()
            self.whole = self.refused = False
            return
        if holding or not self.step:  # (a refused hold comes here when it :meth:`asks` again)
            return
        held = holdable()
        if self.refused and not held:
            self.gap *= 2
        self.refused = not held
        self.wait = self.gap
        if held:
            self.gap = 1
            self.held_codes = held
            tracer.hold([code for code in held if code is not self.listen], listen=self.listen,
                        quiet=quiet() if quiet is not None else None)
            self.whole = self.any = self.recording = True

    def asks(self) -> bool:
        """Whether a refused hold is asked again at this window (the windows only counted since the refusal, counted
        here: one call per window). What refused it may end between two deep windows (an update check's window
        closed, the buffers' second names found), and the deep windows are far apart in a long run: waiting for the
        next one would trace the whole stretch (generated 102 with its first 14 windows deep: 138 of 160 windows)."""
        self.wait -= 1
        return self.wait <= 0

    def unasked(self, cap: int) -> int:
        """How many of the next windows only counted go by without asking a refused hold again (up to ``cap``): the
        updates the compiled tracer may count before the window that asks (:meth:`counted` counts their asks)."""
        return max(0, min(cap, self.wait - 1)) if self.refused and self.step else cap

    def heard(self, code: CodeType | None) -> bool:
        """Whether ``code`` is heard at every step: called, or ticking at its loop heads, in two windows in a row."""
        if code is None:
            return False
        key = id(code)
        return any(k == key or type(k) is tuple and k[0] == key for k in self.step)
