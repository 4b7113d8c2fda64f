"""The stack sampler of the NumPy observer (netdoctor/observe/numpy/sampler.py): a long-running function of the
user's that calls nothing the tracer hears of gets its loop heads followed, and the program does not see the
sampler's thread."""

from __future__ import annotations

import threading
import time

from netdoctor.observe.numpy.sampler import LongRunningFrames
from netdoctor.observe.tracer import CallTracer


def _spin(seconds: float, seen: list[int]) -> int:
    """A loop of builtins only: no call of the user's code, so no event but its loop heads once followed."""
    seen.append(len(threading.enumerate()))
    total = 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        total += 1
    seen.append(len(threading.enumerate()))
    return total


def _observe(run, *, sample: bool) -> list[str]:
    ticks: list[str] = []
    tracer = CallTracer(lambda frame: True, lambda frame, value: None, on_tick=lambda frame: ticks.append(frame.f_code.co_name))
    sampler = LongRunningFrames(tracer, every=0.01)
    tracer.install()
    if sample:
        sampler.start()
    try:
        run()
    finally:
        sampler.stop()
        tracer.uninstall()
    return ticks


def _in_a_thread(seconds: float) -> None:
    """``_spin`` as a thread's target: the outermost function of the user's in that thread's stack."""
    worker = threading.Thread(target=_spin, args=(seconds, []))
    worker.start()
    worker.join()


def test_a_long_running_loop_that_calls_nothing_is_followed_only_with_the_sampler():
    assert "_spin" not in _observe(lambda: _in_a_thread(0.3), sample=False)
    ticks = _observe(lambda: _in_a_thread(0.3), sample=True)
    assert ticks.count("_spin") > 10, ticks[:20]


def test_the_sampler_thread_is_not_among_the_programs_threads():
    seen: list[int] = []
    before = len(threading.enumerate())
    _observe(lambda: _spin(0.2, seen), sample=True)
    assert seen and set(seen) == {before}
