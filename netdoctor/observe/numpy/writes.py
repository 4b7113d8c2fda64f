"""What the gradient function's write does to a buffer: add to what it held (accumulate) or replace it.

A buffer still holds the last update's gradients when the next window starts
whichever way the program writes it: ``self.gW[...] = x.T @ g`` (or
``np.copyto(gW, ...)``, ``gW[:] = ...``, ``np.dot(a, b, out=gW)``) replaces
what it held, ``self.gW += x.T @ g`` adds to it. The carry-over between
windows cannot tell the two apart; the write itself can. At a few calls of
the function that writes the buffers, while they hold something, the call is
run again on copies (:class:`~netdoctor.observe.numpy.replay.Replay`) whose
buffers are emptied: what the copies hold afterwards is the call's own
contribution. When the program's own call returns, its buffers hold the old
values plus that contribution (an accumulation) or the contribution alone (a
replacement). The program's arrays are never written and its random streams
never drawn from (see the replay).
"""

from __future__ import annotations

from types import FrameType

import numpy as np

from netdoctor._lazy import dataclass
from netdoctor.observe.numpy.arrays import entries
from netdoctor.observe.numpy.replay import CallSite, Replay

__all__ = ["BufferWrites", "EMPTY_CALLS", "PROBES"]

PROBES = 3
"""Calls measured (each one replay of the gradient function): one disagreement between them is no verdict."""

EMPTY_CALLS = 32
"""Calls finding every buffer empty after which no more are looked at: buffers emptied before each gradient
computation carry nothing over, and each look costs a sample of every buffer."""

TOL = 1e-5
"""Relative residual (to the largest of before, after, contribution) within which a reading holds: rounding of
``a + b`` in float32 is ~1e-7 per entry."""


@dataclass
class _Pending:
    frame: FrameType
    before: np.ndarray
    fresh: np.ndarray


@dataclass
class BufferWrites:
    """Counts of the gradient function's calls whose writes added to the buffers or replaced them."""

    accumulated: int = 0
    """Calls after which the buffers held their old values plus the call's contribution."""
    replaced: int = 0
    """Calls after which the buffers held the call's contribution alone (the old values gone)."""
    unmeasured: int = 0
    """Calls that could not be run again on copies, or whose result fits neither reading."""
    empty: int = 0
    """Calls at which every buffer was empty (nothing to tell adding from replacing)."""
    _pending: _Pending | None = None

    @property
    def done(self) -> bool:
        """Enough calls measured (or tried): no more replays."""
        return self.accumulated + self.replaced + self.unmeasured >= PROBES or self.empty >= EMPTY_CALLS

    @property
    def waiting(self) -> bool:
        """A measured call has not returned yet."""
        return self._pending is not None

    @property
    def overwritten(self) -> bool | None:
        """True when every measured call replaced the buffers, False when one added to them, None unmeasured."""
        if self.accumulated:
            return False
        return True if self.replaced else None

    def at_call(self, frame: FrameType, buffers: list[tuple[np.ndarray, np.ndarray]]) -> None:
        """At the gradient function's call event: its contribution, from a replay on copies with emptied buffers.

        Args:
            frame: the call's frame (only its arguments bound).
            buffers: each buffer array with the flat positions of its sampled entries.
        """
        if self._pending is not None or self.done or not buffers:
            return
        before = _sampled(buffers)
        if not np.any(before[np.isfinite(before)]):
            self.empty += 1  # empty buffers: adding to them and replacing them agree
            return
        work = {id(b): np.zeros_like(b) for b, _ in buffers}
        try:
            Replay(CallSite.of(frame), work).call()
        except Exception:  # the program's own code failing on copies: no measurement, nothing the program sees
            self.unmeasured += 1
            return
        fresh = _sampled([(work[id(b)], idx) for b, idx in buffers])
        self._pending = _Pending(frame, before, fresh)

    def at_return(self, frame: FrameType, buffers: list[tuple[np.ndarray, np.ndarray]]) -> None:
        """At the same call's return: the buffers now against ``before + contribution`` and ``contribution``."""
        p = self._pending
        if p is None or p.frame is not frame:
            return
        self._pending = None
        after = _sampled(buffers)
        # the entries the call wrote (a contribution of exactly zero cannot tell) that held something before
        m = np.isfinite(after) & np.isfinite(p.before) & np.isfinite(p.fresh) & (p.fresh != 0) & (p.before != 0)
        if after.shape != p.before.shape or not m.any():
            self.unmeasured += 1
            return
        a, b, f = after[m], p.before[m], p.fresh[m]
        scale = TOL * max(float(np.linalg.norm(a)), float(np.linalg.norm(b)), float(np.linalg.norm(f)))
        added, alone = float(np.linalg.norm(a - b - f)), float(np.linalg.norm(a - f))
        if added <= scale < alone:
            self.accumulated += 1
        elif alone <= scale < added:
            self.replaced += 1
        else:
            self.unmeasured += 1


def _sampled(buffers: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    return np.concatenate([entries(b, idx).astype(float, copy=False) for b, idx in buffers])
