"""Updates of held windows counted in C: at the step's update head, while nothing else needs a Python call, the
compiled call filter tells an update from the parameters' own fingerprints and counts it without calling the
observer; the observer hears of them, all at once, before the next event it handles.

Functions of ``self: NumpyBackend``, bound in :class:`~netdoctor.observe.numpy.backend.NumpyBackend` under their own
names. What a tick at the update head does in a held window (:meth:`StepHold.tick
<netdoctor.observe.numpy.holding.StepHold.tick>`, :func:`~netdoctor.observe.numpy.updates._check_update` finding an
update, the budget saying the next window is not deep, the loops not read) is the same at every such tick, so ``n`` of
them are applied at once (:func:`_counted`) with the same result, counts and schedules included, as ``n`` ticks heard
one by one: the same program reports the same with the compiled filter and without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from netdoctor.observe.numpy.arrays import FrameLocals
from netdoctor.observe.numpy.roles import Role
from netdoctor.observe.numpy.targets import INLINE_TRIES
from netdoctor.observe.numpy.updates import MAX_STATES
from netdoctor.observe.tracer import sampled_ahead

if TYPE_CHECKING:
    from types import CodeType, FrameType

    from netdoctor.observe.numpy.backend import NumpyBackend

BATCH = 4096
"""Updates counted in C at most before the observer hears of them."""
INLINE_FROM = 4096
"""Updates after which a window not held may be counted in C (its targets, read inline at every update heard, are
then read in the updates heard only: all of the first ones are read). Each update heard before costs 35-100 us in
Python (its targets, the update's detection, the layers' outputs on their schedule): 8,192 of them were 0.3 s of a
module-level loop's run whatever its length; 4,096 samples' targets are 64 times the rows the rules on targets and
predictions need (``MIN_TARGET_ROWS``, ``MIN_PREDICTIONS``: 64). Not fewer: past it the header gives the targets
read without an estimate of the samples trained on (the corpus's ``labels_file``, 4,000 updates, would lose it)."""


def _count_plan(self: NumpyBackend) -> list[tuple] | None:
    """What the compiled filter reads per parameter (``CallFilter.count``): its root and path, the array, its data
    address, the byte offsets of its fingerprint's entries and the positions of its quick entries among them, the
    item size; None where C cannot read one (a path through anything but exact dicts, lists, tuples and instance
    attributes, a running function's locals, an array of another type than float64 or float32)."""
    root = self.root.obj
    if type(root) is FrameLocals:
        return None
    arrays = [(a, a.shape, a.strides) if issubclass(type(a), np.ndarray) else (a, None, None) for a in self._quick_arrays]
    cached = self._count_cache
    if (cached is not None and cached[0] is root
            and all(a is b and s == t and d == e for (a, s, d), (b, t, e) in zip(cached[1], arrays))):
        return cached[2]  # (the same arrays, laid out as they were: the same offsets)
    plan = []
    for prm, a, (_, i, j, k, last, idx) in zip(self.params, self._quick_arrays, self._quick_plan):
        if (not issubclass(type(a), np.ndarray) or a.dtype not in (np.float64, np.float32) or a.size <= last
                or len(idx) > 64 or not 1 <= a.ndim <= 8 or any(kind not in ("item", "attr") for kind, _ in prm.path)):
            return None
        where = {int(n): e for e, n in enumerate(idx)}
        if not all(q in where for q in (i, j, k)):
            return None
        # the byte offset of flat entry e (C order, as ``a.ravel()[e]`` and ``a.flat[e]`` count): its index times the strides
        offsets = tuple(int(o) for o in np.stack(np.unravel_index(idx, a.shape), axis=1) @ np.array(a.strides))
        steps = tuple((0 if kind == "item" else 1, key) for kind, key in prm.path)
        plan.append((root, steps, a, a.__array_interface__["data"][0], offsets, (where[i], where[j], where[k]),
                     a.itemsize))
    self._count_cache = (root, arrays, plan)
    return plan


def _count_ahead(self: NumpyBackend, frame: FrameType) -> None:
    """An update was seen at a tick of a window only counted: the updates at this head are counted in C from now on,
    when every tick until the next deep window (or the next reading of the loops, or of the layers' outputs) would do
    what this one did. A held window's head is its one update head; a window not held (a module-level loop, a loop
    that trains inline calling nothing of the program's) counts in C from update :data:`INLINE_FROM` on, its targets
    then read at the updates heard only (the header says in how many windows).

    Whatever arrays the update in progress had moved (``_moving``): C counts a tick only when every parameter's
    fingerprint moved, and :func:`~netdoctor.observe.numpy.updates._check_update` finds a new update at such a tick
    whatever ``_moving`` holds (it overlaps every array, or is empty), leaving it as it was, or all arrays where it was
    empty, which every later tick treats alike. (Asking for all arrays in ``_moving`` kept a per-sample MNIST program
    from ever counting in C: one update whose sampled W1 entries sat at blank pixels left three arrays there for good.)"""
    hold, tracer = self.hold, self.tracer
    head = (id(frame.f_code), frame.f_lineno)
    if (self._deep or hold.foreign or self.options.max_seconds is not None
            or self._count_refused or head not in hold.step or self.updates < self._count_retry):
        return
    if tracer.holding:
        if (not hold.recording or hold.update_heads != {head} or not self._act_by_calls
                or not (self.target_arg or (not self._inline_name and self._inline_tries >= INLINE_TRIES))):
            return
    elif hold.recording or self.updates < INLINE_FROM:
        return
    limit = min(tracer.budget.counted_ahead(BATCH), self.progress.quiet_ahead(self.updates, BATCH),
                hold.unasked(BATCH))
    if not self._act_by_calls:  # a forward inline: its outputs are looked at on a schedule of ticks
        limit = min(limit, sampled_ahead(self._act_ticks, BATCH))
    if self.options.max_updates is not None:
        limit = min(limit, self.options.max_updates - self.updates - 1)
    if limit < 1 or self.progress.outside_loops(frame):
        return
    armed, self._count_armed = self._count_armed, (self.updates, self.counted_in_c)
    if armed == (self.updates - 1, self.counted_in_c):  # the last count ended at its first tick: another event came
        self._count_misses += 1
        if self._count_misses >= 4:  # every update has one: asked again once the count has doubled
            self._count_retry, self._count_misses = 2 * self.updates, 0
            return
    else:
        self._count_misses = 0
    plan = self._count_plan()
    self._count_head = head
    if plan is None or not tracer.count(frame, plan, limit, keep_states=len(self._states) < MAX_STATES,
                                        on_counted=self._counted, through=self._count_through()):
        self._count_refused = plan is None  # (a plan C could not read: not asked again for this network)


def _count_through(self: NumpyBackend) -> tuple[CodeType, ...]:
    """The function that applies the updates, when its calls may end in C while updates are counted there
    (:meth:`CallTracer.count <netdoctor.observe.tracer.CallTracer.count>`'s ``through``): it only moves the parameters
    (no gradient, forward or target of its own), nothing compares the forward's output at calls (the targets are read
    elsewhere), and a window held or recorded has it in its step. Heard, such a call would only be counted in the
    window and find that nothing moved since the last tick (C checks that); ``_counted`` does the counting."""
    updater = self.updater
    if updater is None or self._roles.get(updater) != Role.UPDATER or self.update_checks.busy:
        return ()
    if self._out is not None and self._targets_by_comparison():
        return ()
    if self.hold.recording and id(updater) not in self.hold.step:
        return ()
    return (updater,)


def _counted(self: NumpyBackend, n: int, states: list[int] | None, fingerprints: list[bytes], arrays: list[np.ndarray],
             passed: int, trailing: int) -> None:
    """``n`` updates counted in C (see the module docstring): the counters, the states kept for restores (``states``:
    each update's fingerprint hash), the windows, the budget and the loops' schedule as ``n`` ticks would have left
    them; the parameters, fingerprints and quick entries as the last of them saw them (``arrays``, re-bound ones
    included, and ``fingerprints``). ``passed`` calls of the function that applies the updates ended in C
    (:func:`_count_through`), ``trailing`` of them after the last update counted: each is counted as heard."""
    self.events += passed
    if n:
        self._counted_updates(n, states, fingerprints, arrays)
    if trailing and self.updater is not None:
        self.hold.call(self.updater)  # (the window after the last update: its other calls, none, ended in C)


def _counted_updates(self: NumpyBackend, n: int, states: list[int] | None, fingerprints: list[bytes],
                     arrays: list[np.ndarray]) -> None:
    first = self.updates
    self.events += n
    self.counted_in_c += n
    if states is not None:
        kept = self._states
        if len(kept) + len(states) <= MAX_STATES:  # (the limit cannot be reached: all at once, in C's dict.update)
            kept.update(zip(states, range(first + 1, first + 1 + len(states))))
        else:
            for m, state in enumerate(states, first + 1):
                if len(kept) >= MAX_STATES:
                    break
                kept[state] = m
    for i in range(len(self._changed_n)):
        self._changed_n[i] += n
    self._moved_updates += n
    self._count_update()
    self.tracer.budget.skip(n)
    if not self.tracer.holding and not self.target_arg:
        self.targets_unread += n  # (a held window's are counted by the hold)
    self.hold.counted(n, self._count_head, self.target_samples)
    self.progress.skip(n)
    if not self.target_arg:
        self._inline_at = self.updates
    if not self._act_by_calls:
        self._act_ticks += n
    fp: list[tuple[int, bytes]] = []
    q: list[tuple[float, ...] | None] = []
    self._quick_arrays = list(arrays)
    for a, b, (pi, pj, pk) in zip(arrays, fingerprints, _quick_places(self)):
        fp.append((id(a), b))
        values = np.frombuffer(b, dtype=a.dtype)
        q.append((values.item(pi), values.item(pj), values.item(pk)))
    self._fp, self._q = fp, q
    # (the compiled filter hands over an update whose quick entries went non-finite; this is for a build that did not)
    self._light_nonfinite(set(range(len(self.params))))


def _quick_places(self: NumpyBackend) -> list[tuple[int, int, int]]:
    """Per parameter, where its three quick entries sit among its fingerprint's entries (the last of equal positions),
    worked out once per :attr:`_quick_plan` (a plan's positions never change): :func:`_counted_updates` reads the quick
    entries of each counted update's fingerprint bytes there."""
    made = self._quick_where
    if made is None or made[0] is not self._quick_plan or len(made[1]) != len(self._quick_plan):
        places = []
        for _, i, j, k, _, idx in self._quick_plan:
            where = {int(m): e for e, m in enumerate(idx)}
            places.append((where[i], where[j], where[k]))
        made = self._quick_where = (self._quick_plan, places)
    return made[1]
