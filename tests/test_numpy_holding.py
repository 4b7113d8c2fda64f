"""StepHold: when a window only counted holds the step's functions, and when a refused hold is asked again."""

from __future__ import annotations

from types import CodeType

from netdoctor.observe.numpy.holding import StepHold


class _Tracer:
    """What StepHold drives of the tracer: whether it holds, hold and release."""

    def __init__(self) -> None:
        self.holding = False
        self.keep_lines = False

    def hold(self, codes: list[CodeType], *, listen: CodeType | None = None, quiet: list[CodeType] | None = None) -> None:
        self.holding = True

    def release(self, *, keep_lines: bool = False) -> None:
        self.holding = False


def _windows(deep: list[bool], holdable_from: int | None) -> list[int]:
    """Drive ``StepHold`` as the backend does (``_next_window``) through windows; ``holdable()`` names the step's
    functions from window ``holdable_from`` on. The windows at which it was asked."""
    tracer = _Tracer()
    hold = StepHold(tracer)  # type: ignore[arg-type]
    hold.step = {1}  # (the step is known)
    code = _windows.__code__
    asked: list[int] = []
    for n, is_deep in enumerate(deep):

        def holdable(n: int = n) -> list[CodeType]:
            asked.append(n)
            return [code] if holdable_from is not None and n >= holdable_from else []

        if is_deep or hold.recording or (hold.step and (not hold.refused or hold.asks())):
            hold.next(is_deep, holdable)
        if tracer.holding:
            tracer.release()  # (the window's update ends it: the next window is decided afresh)
            hold.recording = False
    return asked


def test_a_refused_hold_is_asked_again_after_1_2_4_windows_and_after_each_deep_window():
    deep = [True] + [False] * 40 + [True] + [False] * 80
    asked = _windows(deep, holdable_from=None)
    # the gaps between asks double while nothing can be held: O(log n) asks in a stretch of n windows
    first = [n for n in asked if n < 41]
    gaps = [b - a for a, b in zip(first, first[1:])]
    assert first[0] == 1 and gaps == [2 ** k for k in range(len(gaps))]
    assert first[-1] + 2 * gaps[-1] > 40  # (no ask left out: the next would come after the deep window)
    # the first window after a deep one is asked, the next ones after the gap reached (not from 1 again: a loop with
    # nothing to hold, deep-checked in pairs all along its run, is not asked at 1, 2, 4, ... after each pair)
    after = [n for n in asked if n > 41]
    assert after[0] == 42 and after[1] - after[0] == 2 * gaps[-1]


def test_once_held_a_refused_hold_is_asked_again_from_a_gap_of_one():
    tracer = _Tracer()
    hold = StepHold(tracer)  # type: ignore[arg-type]
    hold.step = {1}
    hold.next(False, lambda: [])
    for _ in range(20):  # refused, asked at growing gaps
        if hold.asks():
            hold.next(False, lambda: [])
    assert hold.gap > 4
    hold.next(False, lambda: [_windows.__code__])  # held
    assert tracer.holding and hold.gap == 1


def test_a_hold_refused_until_the_update_check_closes_starts_before_the_next_deep_window():
    """What refused the hold (an update check's window, the buffers' second names looked for) ends between two deep
    windows: the hold is asked again there, not only at the next deep window."""
    deep = [True] * 3 + [False] * 60
    asked = _windows(deep, holdable_from=20)
    held_from = next(n for n in asked if n >= 20)
    assert held_from < 20 + 20  # within a gap of the refusal's end (asks at 3, 4, 6, 10, 18, 34 before)
    assert asked[-1] >= 20  # and held from then on: asked at each window (a held one ends at its update)
