"""Whether a gradient function's write adds to its buffers or replaces them, measured by running the call again."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from netdoctor.observe.numpy.writes import EMPTY_CALLS, PROBES, BufferWrites


def _added(buf, x):
    buf += x.T @ x


def _put(buf, x):
    buf[...] = x.T @ x


def _sliced(buf, x):
    buf[:] = x.T @ x


def _copied(buf, x):
    np.copyto(buf, x.T @ x)


def _out(buf, x):
    np.dot(x.T, x, out=buf)


def _emptied_first(buf, x):
    buf[...] = 0.0
    buf += x.T @ x


def _decayed(buf, x):
    buf *= 0.9
    buf += x.T @ x


def _watched(fn, buf: np.ndarray, calls: int) -> BufferWrites:
    """``fn(buf, x)`` called ``calls`` times with fresh random ``x``, its calls and returns handed to a recorder."""
    writes = BufferWrites()
    idx = np.arange(buf.size)
    rng = np.random.default_rng(0)

    def profile(frame, event, arg):
        if frame.f_code is fn.__code__:
            if event == "call":
                writes.at_call(frame, [(buf, idx)])
            elif event == "return":
                writes.at_return(frame, [(buf, idx)])

    sys.setprofile(profile)
    try:
        for _ in range(calls):
            fn(buf, rng.normal(size=(5, 3)))
    finally:
        sys.setprofile(None)
    return writes


@pytest.mark.parametrize("fn, added, replaced", [
    (_added, PROBES, 0),
    (_put, 0, PROBES),
    (_sliced, 0, PROBES),
    (_copied, 0, PROBES),
    (_out, 0, PROBES),
    (_emptied_first, 0, PROBES),  # emptied at the call's start: nothing of the last call is kept
], ids=lambda v: getattr(v, "__name__", str(v)))
def test_an_addition_and_a_replacement_are_told_apart(fn, added, replaced):
    buf = np.zeros((3, 3))
    w = _watched(fn, buf, 10)
    assert (w.accumulated, w.replaced, w.unmeasured) == (added, replaced, 0)
    assert w.overwritten is (replaced > 0 and added == 0)


def test_the_program_sees_its_own_values():
    """The replay writes into copies: the buffer after the watched calls is what the plain calls give."""
    plain, watched = np.zeros((3, 3)), np.zeros((3, 3))
    rng = np.random.default_rng(0)
    for _ in range(10):
        _added(plain, rng.normal(size=(5, 3)))
    _watched(_added, watched, 10)
    assert np.array_equal(plain, watched)


def test_a_decay_is_neither_reading():
    w = _watched(_decayed, np.zeros((3, 3)), 10)
    assert (w.accumulated, w.replaced, w.unmeasured) == (0, 0, PROBES) and w.overwritten is None


def test_buffers_always_empty_are_looked_at_a_bounded_number_of_times():
    def _zeroed(buf, x):
        buf[...] = 0.0

    w = _watched(_zeroed, np.zeros((3, 3)), EMPTY_CALLS + 5)
    assert w.done and w.empty == EMPTY_CALLS and w.overwritten is None


# -- which parameters' sampled buffer entries one contribution changed (updates._note_touched) ---------------------
def _touched_one_by_one(sizes, before, after):
    """The oracle: each parameter's stretch of the sample read on its own."""
    changed = ~((before == after) | (np.isnan(before) & np.isnan(after)))
    ends = np.cumsum(sizes)
    return frozenset(i for i, (a, z) in enumerate(zip(ends - np.asarray(sizes), ends)) if changed[a:z].any())


@pytest.mark.parametrize("seed", range(6))
def test_the_parameters_a_contribution_touched_are_read_from_their_stretches_of_the_sample(seed):
    from types import SimpleNamespace

    from netdoctor.observe.numpy.updates import _note_touched

    rng = np.random.default_rng(seed)
    for _ in range(200):
        sizes = [int(s) for s in rng.integers(0 if seed == 5 else 1, 6, size=int(rng.integers(1, 5)))]
        before = rng.choice([0.0, 1.0, np.nan], size=sum(sizes))
        after = np.where(rng.random(sum(sizes)) < 0.2, rng.choice([0.0, 2.0, np.nan], size=sum(sizes)), before)
        params = [SimpleNamespace(idx=np.arange(s)) for s in sizes]
        backend = SimpleNamespace(params=params, _B_at_call=before, _B_last=after, _window_touched=[], _starts=None)
        _note_touched(backend)
        expected = _touched_one_by_one(sizes, before, after)
        assert backend._window_touched == ([expected] if expected else [])
