"""Buffer resets seen at the gradient function's calls and at loop heads: the updates of a program that accumulates
its gradients into buffers, counted without hearing its gradient function's work.

A step too small to move any sampled weight (saturated units, a frozen layer, a learning rate of 0) still empties the
buffers it applied: zeroed in place, bound to fresh zeros, copied from a zero template, or scaled in place (``g *=
lr``, the forum program's). The gradient function's return and next call see that (what it left, then what the update
left of it), but a window whose step runs held (:mod:`~netdoctor.observe.numpy.holding`) hears neither. There only the
*call* of the gradient function is heard (:attr:`StepHold.listen <netdoctor.observe.numpy.holding.StepHold.listen>`:
not its lines, return or callees), and :class:`BufferResets` looks at a few sampled entries of every buffer there,
before it adds to them, and at the loop heads of the frames that run the step, telling three changes apart between
two looks:

* a *contribution*: some buffer changed otherwise than by a common factor (a gradient added);
* a *reset*: every buffer holding something at the last contribution is now a multiple ``k`` in [0, 1) of it, one
  ``k`` for all (zeros: ``k = 0``), possibly over several looks (``for n in range(layers)`` scaling one layer's
  buffers per iteration: a partial reset until the last one);
* nothing (the buffers as they were): a loop head that never sees a change is looked at no more.

A reset with no update counted since the gradient function's last call is an update that moved no weight (at most one
per call, as the call itself would find). A reset to zeros is seen at the next call whatever was added before it;
one that scales the buffers must be seen apart from the contribution before it, at a loop head between the two, so
loop heads are looked at only while some reset has scaled them.

Whether the looks see every reset is not assumed: in the windows whose gradient calls are all heard, each update is
checked against what the gradient function's next call finds (:meth:`~BufferResets.verify`), with the same looks a
held window makes (never at the loop heads of the functions a held window does not hear); a single reset missed, or
one seen where there was none, and the step is never held again (:attr:`~BufferResets.trusted`). A program that never
empties its buffers (a stale accumulator, buffers bound to their template) has no reset to miss: its updates are the
weights' moves, held or not.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, cast

import numpy as np

from netdoctor.observe.numpy.arrays import Cell, FrameLocals, added, entries, fingerprint, largest, look_entries

__all__ = ["BufferResets", "reset_factor"]

_FLOAT64 = np.dtype(np.float64)
_look_entries: Any = look_entries
_added: Any = added

QUIET_TICKS = 64
"""Ticks of a loop head at which the buffers never changed, after which it is looked at no more (the inner loop over a
row's pixels: looking there repeats the look before it)."""
TRUSTED_AFTER = 2
"""Update windows checked (:meth:`BufferResets.verify`) without a miss before the loop heads' resets are trusted."""


def reset_factor(last: np.ndarray, now: np.ndarray) -> float | None:
    """``k`` in [0, 1) when ``now`` is ``k * last`` at every finite entry (``last`` not all zero), else None."""
    ok = np.isfinite(last) & np.isfinite(now)
    a, b = last[ok], now[ok]
    with np.errstate(all="ignore"):
        norm = float(np.dot(a, a))
        if norm == 0.0:
            return None
        k = float(np.dot(b, a)) / norm
        if not (0.0 <= k < 1.0 - 1e-9) or float(np.linalg.norm(b - k * a)) > 1e-6 * math.sqrt(norm):
            return None
    return k


class BufferResets:
    """The buffers' sampled entries at the step's loop heads, and the resets seen there.

    Args:
        plan: per buffer array, a reader of it from the network's root and the flat positions to look at.
        paths: per buffer array, the path its reader reads (:data:`~netdoctor.observe.numpy.arrays.look_entries`'s
            steps: 1 an attribute, 0 an item), for a look in one call of C; None: every look in Python.
    """

    __slots__ = ("readers", "paths", "idx", "ends", "ticking", "scaled", "called", "starts", "sizes", "owner", "pivot", "prev", "last", "full", "armed_at", "saw", "heads", "quiet", "verified", "missed",
                 "skip", "pivot_value")

    def __init__(self, plan: list[tuple[Callable[[Any], Any], np.ndarray]], paths: list[Any] | None = None) -> None:
        self.readers = [read for read, _ in plan]
        self.paths = paths if look_entries is not None and paths is not None and len(paths) == len(plan) else None
        self.idx = [idx for _, idx in plan]
        self.ends = [int(idx[-1]) for _, idx in plan]
        """Each buffer's last position looked at (a Python int: compared with the array's size at every look)."""
        self.ticking = True
        self.scaled = False
        self.called = False
        """Whether the last look was at a call of the gradient function (the next one sees what it added)."""
        """Whether loop heads are looked at: needed only to see a reset that scales the buffers (``g *= lr``) apart
        from the contribution before it; a reset to zeros is seen at the gradient function's next call whatever was
        added before (switched by :meth:`verify`)."""
        self.sizes = np.array([len(idx) for _, idx in plan])
        self.starts = np.concatenate([[0], np.cumsum(self.sizes)[:-1]])
        """Where each buffer's entries start in a look, and how many there are."""
        self.owner = np.repeat(np.arange(len(plan)), self.sizes)
        """The buffer of each entry of a look."""
        self.pivot = 0
        """The largest entry held at the last look (a reset makes it a multiple in [0, 1) of itself)."""
        self.pivot_value = 0.0
        """Its value then (0.0 when no entry was held: finite and non-zero)."""
        self.prev = b""
        """The last look: the buffers' sampled entries' bytes."""
        self.last: np.ndarray | None = None
        """The sampled entries (buffer after buffer) at the look after the last contribution (or reset) seen."""
        self.full: np.ndarray | None = np.zeros(len(plan), dtype=bool)
        """Which buffers held something at that look: a reset empties every one of them (None: not worked out yet,
        see :meth:`_full`)."""
        self.armed_at: int | None = None
        """The update count at the last contribution seen, until a reset is seen (None: no contribution since)."""
        self.saw = False
        """Whether a reset after a contribution was seen since the last :meth:`verify`."""
        self.heads: set[tuple[int, int]] = set()
        """Loop heads (``(id of the code, line)``) at which the buffers were seen changing: they must keep ticking while
        the step is held (:attr:`StepHold.keep <netdoctor.observe.numpy.holding.StepHold.keep>`)."""
        self.quiet: dict[tuple[int, int], int] = {}
        """Ticks of the other heads looked at (looked at no more after :data:`QUIET_TICKS`)."""
        self.verified = 0
        self.missed = 0
        """Update windows whose reset (or its absence) the loop heads saw as the gradient function's call did, and
        those where they did not."""
        self.skip: frozenset[int] = frozenset()
        """ids of the codes a held window would not hear (the step's forward and gradient functions): their loop heads
        are not looked at, so that the windows heard see what the held ones will."""

    @property
    def trusted(self) -> bool:
        """Whether a window held may count its updates from the resets seen at the gradient function's calls and, where
        resets scale the buffers, at the held step's loop heads (checked in the windows heard whole first, see
        :meth:`verify`)."""
        return not self.missed and self.verified >= TRUSTED_AFTER

    def tick(self, key: tuple[int, int], root: Any, updates: int) -> bool:
        """A loop head ``key`` ticked (``updates``: the count now): whether a reset was seen there after a contribution
        and with no update counted since it (an update that moved no sampled weight)."""
        if not self.ticking or key[0] in self.skip:
            return False
        if key not in self.heads:
            n = self.quiet.get(key, 0)
            if n >= QUIET_TICKS:
                return False
            self.quiet[key] = n + 1
        changed, reset = self.look(root, updates)
        if changed:
            self.heads.add(key)
            self.quiet.pop(key, None)
        return reset

    def look(self, root: Any, updates: int, *, call: bool = False) -> tuple[bool, bool]:
        """The buffers now, at a loop head or at a call of the gradient function (``call``: before it adds to them):
        whether they changed since the last look, and whether that was a reset with no update counted since the last
        call of the gradient function (an update that moved no weight; at most one per call, as the call itself finds).

        Buffers of float64 (almost all) are read by the compiled fingerprint, the look's entries one bytes object and
        its values a view of it; any other buffer (another dtype, one missing or too small) by the flat entries, with
        the same bytes. Where C is built the float64 buffers are read and compared with the last look in one call
        (:data:`~netdoctor.observe.numpy.arrays.look_entries`: the same bytes; a per-sample program looks at every
        sample's call and at its loop heads), which hands anything else to the reads below."""
        paths = self.paths
        quick = None if paths is None or type(root) is FrameLocals or type(root) is Cell else _look_entries(
            root, paths, self.idx, _FLOAT64, self.prev)
        if quick is False:
            self.called = call
            if call:
                self.armed_at = updates
            return False, False  # (as below: the same bytes as the last look)
        seen, parts = (quick, None) if quick is not None else self._read(root)
        if seen == self.prev:
            changed = reset = False  # (a buffer bound to another array of the same values is no change)
        else:
            self.prev = seen
            if parts is None:
                now = np.frombuffer(seen, dtype=np.float64)  # (what the concatenation below makes of float64 parts)
            else:
                now = np.concatenate([np.zeros(len(idx)) if v is None else v for v, idx in zip(parts, self.idx)]).astype(
                    float, copy=False)
            changed, reset = self._compare(now, updates, self.called)
        self.called = call
        if call:
            self.armed_at = updates  # (what it adds is seen at the next look; a reset after it is an update)
        return changed, reset

    def _read(self, root: Any) -> tuple[bytes, list[np.ndarray | None] | None]:
        """The buffers' sampled entries' bytes, read in Python (with the entries of each, unless all were float64)."""
        arrays = [read(root) for read in self.readers]
        compiled = True
        for a, end in zip(arrays, self.ends):
            if type(a) is not np.ndarray or a.dtype is not _FLOAT64 or a.size <= end:
                compiled = False
                break
        if compiled:
            seen = b"".join([fingerprint(a, idx)[1] for a, idx in zip(arrays, self.idx)])
            parts = None
        else:
            parts = [entries(a, idx) if isinstance(a, np.ndarray) and a.size > idx[-1] else None
                     for a, idx in zip(arrays, self.idx)]
            seen = b"".join(b"" if v is None else v.tobytes() for v in parts)
        return seen, parts

    def _compare(self, now: np.ndarray, updates: int, spans: bool) -> tuple[bool, bool]:
        """The sampled entries ``now`` (buffer after buffer) against the last ones. ``spans``: the gradient function was
        called since the last look (what it added is in this change: in a program whose resets leave zeros, a reset is
        told from it only by zeros, a gradient that happens to be a multiple of the sums being no reset; one whose
        resets scale the buffers may have added nothing at the sampled entries, a saturated network's gradient, and its
        reset is the multiple seen)."""
        last = self.last
        if last is None:
            self._set_last(now)
            return False, False
        p = self.pivot
        held = self.pivot_value
        zeros = spans and not self.scaled  # (a reset must leave zeros: see below)
        if _added is not None and now.dtype is _FLOAT64 and last.dtype is _FLOAT64 and len(now) == len(last):
            # the two tests below in one call of C, with the new pivot when one says "added" (what _set_last finds): a
            # per-sample program looks at every call of its gradient function, and almost every look ends here
            pivot = _added(now, last, p, held, zeros)
            if pivot is not None:
                self.last, self.full = now, None
                self.pivot, self.pivot_value = pivot
                self.armed_at = updates
                return True, False
            moved = last != now
        else:
            if held:
                # the largest entry held grew or changed sign, or (where resets leave zeros) changed to anything but
                # zero: a gradient was added, whatever the other entries did (every test below ends in the same answer
                # then); the looks at a step's per-sample calls end here
                v = float(now[p])
                if v != held and (not 0.0 <= v / held < 1.0 or zeros and v != 0.0):
                    return self._added(now, updates)
            moved = last != now
            if zeros and (moved & (now != 0)).any():
                # an entry changed to anything but zero (NaN included): every test below ends in "added" then (its
                # buffer changed, and a reset must leave it zeros); where a layer's call adds to its own buffers only,
                # half the looks end here, the pivot sitting in a buffer the call did not touch
                return self._added(now, updates)
        full = self._full()
        changed = np.logical_or.reduceat(moved, self.starts)
        if not changed.any() or (changed & ~full).any():
            return self._added(now, updates)
        if held and changed[self.owner[p]] and not 0.0 <= float(now[p]) / float(last[p]) < 1.0:
            return self._added(now, updates)  # (the largest entry grew or changed sign: most gradients added end here)
        cut = np.repeat(changed, self.sizes)
        if now[cut].any() if zeros else reset_factor(last[cut], now[cut]) is None:
            return self._added(now, updates)
        if (changed != full).any():
            return True, False  # some buffers emptied, the others not yet (one layer's at each iteration)
        self._set_last(now)
        armed, self.armed_at = self.armed_at, None
        if armed is None:
            return True, False  # (emptied again after the update, or after a weight moved: counted there)
        self.saw = True
        return True, armed == updates

    def _added(self, now: np.ndarray, updates: int) -> tuple[bool, bool]:
        """A gradient was added since the last look."""
        self._set_last(now)
        self.armed_at = updates
        return True, False

    def _set_last(self, now: np.ndarray) -> None:
        """``now`` is the look compared with from now on: its pivot (the first entry of the largest magnitude, NaN
        aside; its value 0.0 when no entry is held) is found here, which buffers hold something only when a look needs
        it (:meth:`_full`: most looks end at the pivot)."""
        self.last = now
        self.full = None
        if largest is not None and now.size and now.dtype is _FLOAT64 and now.flags.c_contiguous:
            self.pivot, self.pivot_value = largest(now)  # (the same, in one call of C: most looks end at the pivot)
            return
        size = np.abs(now)
        p = int(size.argmax())  # (the method: no dispatch through fromnumeric)
        if size[p] != size[p]:  # a NaN: argmax stops at the first one; the largest held entry is looked for apart
            held = (now != 0) & (now == now)
            p = int(np.where(held, size, 0.0).argmax())
        self.pivot = p
        v = float(now[p])
        self.pivot_value = v if v == v and v != 0.0 else 0.0

    def _full(self) -> np.ndarray:
        """Which buffers held something (an entry other than zero, NaN included: the gradients of weights gone NaN are
        NaN, and their reset to zeros is an update still) at the last look kept."""
        if self.full is None:
            last = cast(np.ndarray, self.last)
            self.full = np.logical_or.reduceat(last != 0, self.starts)
        return self.full

    def verify(self, k: float | None) -> None:
        """The gradient function's first call after an update, in a window whose calls were all heard: ``k`` is the
        factor by which it found the buffers emptied (a multiple in [0, 1) of what the last call left; None: not
        emptied). Loop heads are looked at from now on only while some reset has scaled the buffers (``k > 0``)."""
        self.scaled = self.scaled or bool(k)
        if self.ticking != self.scaled:
            self.ticking = self.scaled
            self.heads.clear()  # (no head kept ticking while held for nothing)
        if (k is not None) == self.saw:
            self.verified += 1
        else:
            self.missed += 1
        self.saw = False
