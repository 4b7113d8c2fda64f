"""Updates of the NumPy observer's network: each one seen (a change of the parameters' fingerprints), counted, and
in a sampled window recorded in full (the step, the gradients that made it, the buffers), with the learning rate the
program names and the constants it must not write.

Functions of ``self: NumpyBackend``, bound in :class:`~netdoctor.observe.numpy.backend.NumpyBackend` under their own
names (not a mixin: mypy checks their bodies against the class, whose state is declared there).
"""

from __future__ import annotations

import math
from types import FrameType
from typing import TYPE_CHECKING, Any

import numpy as np

from netdoctor.buffers.peek import is_array
from netdoctor.nn.threads import norm_one_thread
from netdoctor.observe.numpy.arrays import (
    LR_NAME,
    Cell,
    FrameLocals,
    Path,
    entries,
    fingerprint,
    own_dict,
    path_reader,
    quick_moved,
    resolve,
    sample_entries,
    sample_index,
    weak,
)
from netdoctor.observe.numpy.resets import BufferResets, reset_factor
from netdoctor.observe.numpy.roles import flat_arrays
from netdoctor.observe.numpy.sharing import row_set, same_rows

if TYPE_CHECKING:
    from netdoctor.observe.numpy.backend import NumpyBackend

WINDOWS = 64
"""Update windows kept in full (sampled vectors); older ones only in running summaries."""
RESTORE_GAP = 3
"""Updates back at least, for parameters that hold again an earlier update's values outside the training loops to be
saved weights put back (a step that undoes the one before, a toggle, is still a step)."""
MAX_STATES = 200_000
"""Parameter states remembered for :data:`RESTORE_GAP` (a hash each; later ones are not)."""

NORM_EVERY = 16
"""The parameters' norms are read after every update whose index is a multiple of it (and a power of two)."""
NORM_READS = 128
"""Norm reads kept: past it, every other one is dropped (the first and the latest stay)."""
HEARD_KINDS = 256
"""Distinct (computations, target rows) pairs of the windows heard whole that are tallied; a pair not seen before is
not tallied past them (a program whose batches vary in size without end)."""
LR_TRIES = 16
"""Deep update windows in which a variable holding the learning rate is looked for, all of the first ones; later only at
every doubling of their count (a program without one paid 0.1 ms at every deep window of its run)."""


def _arrays(self: NumpyBackend) -> list[np.ndarray | None]:
    root = self.root.obj
    return [resolve(root, prm.path) for prm in self.params]


def _fingerprints(self: NumpyBackend, arrays: list[Any] | None = None) -> list[tuple[int, bytes]]:
    """Each parameter's fingerprint (``arrays``: the parameters as resolved just now, if they were)."""
    return [fingerprint(a, idx) if issubclass(type(a), np.ndarray) and a.size > last else (0, b"")
            for a, (*_, last, idx) in zip(self._arrays() if arrays is None else arrays, self._quick_plan)]


def _sample_params(self: NumpyBackend) -> np.ndarray:
    parts = []
    for prm, a in zip(self.params, self._arrays()):
        parts.append(entries(a, prm.idx).astype(float, copy=False) if is_array(a) and a.size > prm.idx[-1] else np.full(len(prm.idx), np.nan))
    return np.concatenate(parts) if parts else np.zeros(0)


def _buffer_paths(self: NumpyBackend) -> tuple[list[Any], list[np.ndarray], int]:
    """The buffers' paths as :data:`~netdoctor.observe.numpy.arrays.sample_entries` reads them (None: no buffer), their
    parameters' sampled positions and how many there are in all, worked out once per :attr:`params`."""
    made = self._buffers_c
    if made is None or made[0] is not self.params:
        paths = [None if prm.buffer is None else tuple((1 if kind == "attr" else 0, key) for kind, key in prm.buffer)
                 for prm in self.params]
        idxs = [prm.idx for prm in self.params]
        made = self._buffers_c = (self.params, paths, idxs, sum(len(idx) for idx in idxs))
    return made[1], made[2], made[3]


def _sample_buffers(self: NumpyBackend) -> np.ndarray | None:
    """Sampled buffer entries laid out like :meth:`_sample_params` (NaN for parameters without a buffer). Read in one
    call of C where it is built and reads them as below (float64 buffers, :data:`~netdoctor.observe.numpy.arrays.
    sample_entries`: a per-sample program's deep windows sample them at every call and return of its gradient
    function), else in Python."""
    root = self.root.obj
    if sample_entries is not None and type(root) is not FrameLocals and type(root) is not Cell:
        paths, idxs, total = _buffer_paths(self)
        out = np.empty(total)
        if total and sample_entries(root, paths, idxs, out):
            return out
    parts = []
    for prm in self.params:
        b = resolve(root, prm.buffer) if prm.buffer is not None else None
        if is_array(b) and b.size > prm.idx[-1]:
            parts.append(entries(b, prm.idx).astype(float, copy=False))
        else:
            parts.append(np.full(len(prm.idx), np.nan))
    return np.concatenate(parts) if parts else None


def _note_touched(self: NumpyBackend) -> None:
    """Which parameters' sampled buffer entries the contribution that just returned changed (deep windows only)."""
    before, after = self._B_at_call, self._B_last
    self._B_at_call = None
    if before is None or after is None or before.shape != after.shape or len(self._window_touched) >= 64:
        return
    changed = ~((before == after) | (np.isnan(before) & np.isnan(after)))
    starts = _sample_starts(self, len(changed))
    if starts is None:  # (read one parameter at a time)
        ends = np.cumsum([len(prm.idx) for prm in self.params])
        touched = frozenset(i for i, (a, z) in enumerate(zip(ends - [len(prm.idx) for prm in self.params], ends))
                            if changed[a:z].any())
    else:
        touched = frozenset(np.flatnonzero(np.logical_or.reduceat(changed, starts)).tolist())
    if touched:
        self._window_touched.append(touched)


def _sample_starts(self: NumpyBackend, length: int) -> np.ndarray | None:
    """Where each parameter's sampled entries begin in a sample of ``length`` entries laid out as :meth:`_sample_params`
    lays it out, for the parameters found now (worked out once per network); None when that is not the layout, or a
    parameter is sampled at no entry (its empty stretch would read as the next one's first entry to ``reduceat``)."""
    made = self._starts
    if made is None or made[0] is not self.params:
        sizes = [len(prm.idx) for prm in self.params]
        starts = np.cumsum([0, *sizes[:-1]]) if sizes and min(sizes) > 0 else None
        made = self._starts = (self.params, starts, sum(sizes))
    return made[1] if made[2] == length else None


def _calls_per_row(touched: list[frozenset[int]]) -> int:
    """The gradient calls one row makes, from the parameters each call of a window changed: a layer object's backward
    (one call per layer for each row) changes its own layer's buffers only, so the calls of a window fall into as many
    disjoint sets as there are layers; a whole network's backward changes every buffer at every call (a dead unit's
    sampled entry may stay, which makes overlapping sets, not disjoint ones). 0 when not told (under two calls)."""
    groups = set(touched)
    if len(touched) < 2:
        return 0
    if len(groups) > 1 and all(a.isdisjoint(b) for a in groups for b in groups if a is not b):
        return len(groups)
    return 1


def _buffer_arrays(self: NumpyBackend) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each float buffer array now, with its parameter's sampled positions (one array under two paths once)."""
    out: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for prm in self.params:
        b = resolve(self.root.obj, prm.buffer) if prm.buffer is not None else None
        if is_array(b) and b.dtype.kind == "f" and b.size > prm.idx[-1]:
            out.setdefault(id(b), (b, prm.idx))
    return list(out.values())


def _sample_returned(self: NumpyBackend, value: Any) -> np.ndarray | None:
    arrays = flat_arrays(value)
    if len(arrays) != len(self._grad_map):
        return None
    parts = [np.full(len(p.idx), np.nan) for p in self.params]
    for a, i in zip(arrays, self._grad_map):
        if i is not None and a.shape == self.params[i].shape:
            parts[i] = entries(a, self.params[i].idx).astype(float, copy=False)
    return np.concatenate(parts)


def _quick(self: NumpyBackend) -> None:
    """Take each parameter as it is now (:attr:`_quick_arrays`) and three of its fingerprint entries as Python floats
    (:attr:`_q`; None for what is no array of its size): what :func:`_quick_moved` compares with."""
    root = self.root.obj
    if type(root) is FrameLocals:
        root = root.frame.f_locals  # one copy of a running function's locals for all (each read copies them all)
    self._quick_arrays = arrays = []
    self._q = seen = []
    for read, i, j, k, last, _ in self._quick_plan:
        a = read(root)
        arrays.append(a)
        seen.append((a.item(i), a.item(j), a.item(k)) if issubclass(type(a), np.ndarray) and a.size > last else None)


def _quick_paths(self: NumpyBackend) -> tuple[list[Any], list[np.ndarray]]:
    """The parameters' paths as :data:`~netdoctor.observe.numpy.arrays.quick_moved` reads them (steps: 1 an attribute,
    0 an item) and the positions of their quick entries as index arrays, worked out once per :attr:`_quick_plan` (built
    with :attr:`params`, in their order)."""
    made = self._quick_c
    if made is None or made[0] is not self._quick_plan:
        paths = [tuple((1 if kind == "attr" else 0, key) for kind, key in prm.path) for prm in self.params]
        quick = [np.array([i, j, k], dtype=np.intp) for _, i, j, k, _, _ in self._quick_plan]
        made = self._quick_c = (self._quick_plan, paths, quick)
    return made[1], made[2]


def _quick_moved(self: NumpyBackend) -> bool:
    """Whether a parameter was rebound or one of its quick entries changed since :func:`_quick` (taken again then):
    what makes the full fingerprint worth taking. Asked at every loop head and gradient computation, so it stops at the
    first difference and builds nothing while nothing moved (an array held since the last look is the same object of
    the same size: held, it cannot be resized in place). A NaN entry never equals itself: the fingerprint's bytes
    decide then. Asked in one call of C where it is built (:data:`~netdoctor.observe.numpy.arrays.quick_moved`, the
    same reads and comparisons; the per-sample programs ask at every sample), else in Python, as where C declines."""
    root = self.root.obj
    if type(root) is FrameLocals:
        root = root.frame.f_locals
    if quick_moved is not None and len(self._quick_plan) == len(self.params):
        paths, quick = _quick_paths(self)
        moved = quick_moved(root, paths, self._quick_arrays, quick, self._q)
        if moved is not None:
            if moved:
                self._quick()
            return moved
    for (read, i, j, k, _, _), held, seen in zip(self._quick_plan, self._quick_arrays, self._q):
        a = read(root)
        if a is not held or (seen is not None and (a.item(i), a.item(j), a.item(k)) != seen):
            self._quick()
            return True
    return False


def _check_update(self: NumpyBackend, frame: FrameType | None, *, full: bool = False) -> bool:
    """Whether the parameters changed since the last look (an update was applied): it is recorded then. ``full``: from
    the whole fingerprints, not only the entries of the quick look (a step that moved a few entries of a saturated
    network)."""
    if full:
        self._quick()
    elif not self._quick_moved():
        return False
    fp = self._fingerprints(self._quick_arrays)
    if fp == self._fp:
        return False
    moved = {i for i, (a, b) in enumerate(zip(fp, self._fp)) if a != b}
    self._fp = fp
    state = hash(b"".join(b for _, b in fp))
    back = self._states.get(state)
    if (back is not None and (self.updates - back >= RESTORE_GAP or back == self.updates)
            and self.progress.outside_update_loops(frame)):
        # values of an earlier update again (or the latest update's values in other arrays: a copy bound back), where
        # no loop of the program's runs while its updates ran inside loops. Inside the loops a state may come back
        # (an output bias stepped onto the target of each sample: a few distinct values) and is a step
        if self._moving and not self._moving & moved:
            # the last tensors of a restore done tensor by tensor: its first ones were counted as an update begun (and,
            # in a deep window, recorded as one: its step is no training step's)
            if self.windows and self.windows[-1]["update"] == self.updates:
                self.windows.pop()
            self._moved_updates -= 1
            self.updates = self._updates_before + self._moved_updates + self.still_updates
        self._restored(back)
        return True
    if len(self._states) < MAX_STATES:
        self._states[state] = self.updates + (0 if self._moving and not self._moving & moved else 1)
    counts = self._changed_n
    for i in moved:
        counts[i] += 1
    # an update moves each parameter once: layers that update themselves one call each make one update,
    # which ends when an array it moved moves again
    if self._moving and not self._moving & moved:
        self._moving |= moved
        self._continue_update(moved)
        return True
    self._moved_updates += 1
    # arrays seen moving together across two updates (the last tensor of one, the first of the next, with no look
    # between them): the ones that moved before start the new update, the others ended the old one
    self._moving = moved & self._moving if self._moving and moved - self._moving else moved
    # the window's gradient computations, when all were heard: the budget's measure of a deep window's work
    work = self.hold.work(self._window_calls)
    _calls_closed(self, work)
    if self._deep:
        self._on_update(frame, moved)
    else:
        self._count_update()
        self._light_nonfinite(moved)
    self.hold.ended(self.target_samples)
    self.progress.at_update(frame, self.updates)
    _norms_at_update(self)
    # the next window: watched in full (sampled parameters, buffers, gradients) or only counted, at a bounded rate
    self._prev_deep, self._deep = self._deep, self.tracer.budget.deep(work)
    if self._deep and self._P_prev is None:
        self._P_prev = self._sample_params()
    self._next_window()
    return True


def _calls_closed(self: NumpyBackend, work: int | None) -> None:
    """An update ended the window: a window whose gradient computations were all heard (``work``: their count, else
    None) is tallied by its computations and target rows, which tell the computations that fed the update from those
    of an evaluation made in the same window (see :meth:`NumpyBackend._samples_trained`)."""
    if self.tracer.holding:
        self.held_window_calls += self._window_calls
    # (not the window under way when discovery ended: its first computations were counted there, the others here)
    if self._moved_updates + self.still_updates == 1:
        self.first_window_calls = self._window_calls
    elif work is not None and (
            len(self.heard_windows) < HEARD_KINDS or (work, self._window_rows) in self.heard_windows):
        self.heard_windows[work, self._window_rows] += 1


def _restored(self: NumpyBackend, back: int) -> None:
    """The sampled parameters hold again the values they had after update ``back``: saved weights put back (early
    stopping's best weights restored after its loop), not a step of training. Not counted, and the next step is
    measured from here."""
    self.restores.append((self.updates, back))
    self._moving = set()
    if self._P_prev is not None:
        self._P_prev = self._sample_params()


def _continue_update(self: NumpyBackend, moved: set[int]) -> None:
    """The rest of an update applied tensor by tensor (``sgd(W1, g1)``, then ``sgd(b1, gb1)``, ...): part of the
    window its first tensor closed, not a window of its own. The budget is asked once per update, so that a
    deep window is one whole update and the next window's start is sampled after it (the buffers' carry-over)."""
    if not (self._deep or self._prev_deep):
        self._light_nonfinite(moved)
        return
    P = self._sample_params()
    last = self.windows[-1] if self.windows else None
    if self._prev_deep and last is not None and "delta" in last and self._P_prev is not None:
        last["delta"] = last["delta"] + (P - self._P_prev)  # the window's step: every tensor's share of it
        last["w"] = P
    self._P_prev = P
    self._note_nonfinite(P, moved)


def _note_nonfinite(self: NumpyBackend, P: np.ndarray, moved: set[int]) -> None:
    """The first update after which a sampled parameter is NaN or Inf (which arrays, from the whole arrays)."""
    if self.nonfinite is None and not np.isfinite(P).all():
        arrays = self._arrays()
        bad = [prm.text for prm, a in zip(self.params, arrays) if is_array(a) and not np.isfinite(a).all()]
        self.nonfinite = {"update": self.updates, "arrays": bad or [self.params[i].text for i in sorted(moved)],
                          "where": "update", "targets": self._targets_seen()}


def _quick_finite(self: NumpyBackend) -> bool:
    """Whether every quick entry (three per parameter, as :func:`_quick` last read them) is finite. ``s - s`` is 0 for
    a finite float and NaN for NaN and +-inf, and a sum of entries is non-finite when any entry is; a sum of finite
    entries may overflow, so True is final and False only says to look at the sampled entries."""
    for seen in self._q:
        if seen is not None:
            s = seen[0] + seen[1] + seen[2]
            if s - s != 0.0:
                return False
    return True


def _light_nonfinite(self: NumpyBackend, moved: set[int]) -> None:
    """The light look at an update of a window only counted: weights gone NaN or infinite are noted at the update
    where a quick entry first is (:func:`_note_nonfinite` confirms from the sampled entries). Deep windows look at
    every sampled entry; this look makes whether a NaN is named, and the update it is named at, independent of which
    windows are deep (a blow-up inside a counted window freezes the fingerprints, so no later update is seen)."""
    if self.nonfinite is None and not self._quick_finite():
        self._note_nonfinite(self._sample_params(), moved)


def _count_update(self: NumpyBackend) -> None:
    """An update of a window that was only counted: the light counters, and a fresh start for the next window."""
    self.updates = self._updates_before + self._moved_updates + self.still_updates
    self._P_prev = None
    self._B_start = None
    self._D_sum, self._D_rows = None, 0
    self._window_calls = self._window_rows = 0
    self._window_touched = []
    self._G_sum = None
    self._close_segments()
    self._fresh = True


def _check_reset(self: NumpyBackend, frame: FrameType | None) -> None:
    """An update too small to move any sampled weight still resets (or rescales) the buffers it applied.

    Between two contributions only the update touches accumulated buffers: when they come back as a
    multiple ``k`` in [0, 1) of what the last contribution left (zeros, or scaled in place by the learning
    rate), an update was applied whose step was below the weights' float resolution (vanishing gradients).
    It is counted; no update window is recorded for it (it moved nothing to measure).
    """
    if self.style != "accumulate" or self._B_last is None or self._fresh:
        return
    B = self._sample_buffers()
    if B is None:
        return
    last = self._B_last
    ok = np.isfinite(last) & np.isfinite(B)
    a = last[ok]
    with np.errstate(all="ignore"):
        norm = float(np.dot(a, a))
    if norm == 0.0:
        # a step of zero (no gradient reached the sampled entries: dead units, a blown-up network) empties
        # nothing to see; a reset that binds fresh zero arrays to every buffer is still seen
        if not self._buffers_replaced() or B[ok].any():
            return
    elif (norm < math.inf and B.tobytes() == last.tobytes()) or reset_factor(last, B) is None:
        # (the buffers as the last contribution left them, the per-sample calls' usual case: reset_factor's k is a
        # finite sum of the same squares over itself, 1 within rounding or infinite, never in [0, 1 - 1e-9): no reset)
        return
    self._count_still(frame)


def _watch_resets(self: NumpyBackend) -> None:
    """In a program that accumulates into buffers, their resets are looked for from now on (:attr:`_resets`): the
    gradient function's calls are heard in windows that hold the rest of the step, the loop heads where the buffers
    change keep ticking there."""
    plan = {tuple(prm.buffer): (path_reader(prm.buffer), prm.fp_idx) for prm in self.params
            if self.style == "accumulate" and prm.buffer is not None and len(prm.fp_idx)}
    paths = [tuple((1 if kind == "attr" else 0, key) for kind, key in buffer) for buffer in plan]
    self._resets = resets = BufferResets(list(plan.values()), paths) if plan else None
    self.hold.keep = resets.heads if resets is not None else set()
    self.hold.listen = self.contributor if resets is not None else None


def _buffer_tick(self: NumpyBackend, frame: FrameType) -> None:
    """A loop head of the step ticked in a program that accumulates into buffers: the buffers' sampled entries are
    looked at there (:class:`~netdoctor.observe.numpy.resets.BufferResets`). A reset after a contribution with no
    update counted since is an update that moved no weight: counted here in a window whose step ran held (its gradient
    function's next call, which counts it otherwise, is not heard)."""
    resets = self._resets
    if resets is not None and resets.tick((id(frame.f_code), frame.f_lineno), self.root.obj, self.updates) and (
            self.tracer.holding and resets.trusted):
        _reset_seen(self, frame)


def _buffer_call(self: NumpyBackend, frame: FrameType) -> bool:
    """A call of the gradient function in a program that accumulates into buffers: the buffers are looked at before it
    adds to them. In a window whose step runs held, the call is where a step that moved no weight is counted (after
    the weights' own look, so that an update is counted once), and nothing else of it is heard (True: its frame runs
    untraced, as a held function's; not when the update counted here ended the held window)."""
    resets = self._resets
    if self.hold.any:
        self._check_update(frame)
    if resets is not None and resets.look(self.root.obj, self.updates, call=True)[1] and self.tracer.holding and (
            resets.trusted):
        _reset_seen(self, frame)
    return self.tracer.holding and frame.f_code is self.hold.listen


def _reset_seen(self: NumpyBackend, frame: FrameType) -> None:
    """A held window saw the buffers emptied after a gradient was added, with no update counted since: an update was
    applied. It is counted once: from the whole fingerprints when a weight moved where the quick look does not read,
    else as a step that moved no weight.

    The update is a new one whatever arrays it moved. An update applied array by array continues while the arrays it
    moves are not those it already moved (:func:`_check_update`); here a gradient was added between the last update
    and this one, so a saturated network's update that moved only the first layer's bias, followed by one that moved
    only the second layer's, are two updates, not one (the forum program: 49 of 50 counted before)."""
    self._moving = set()
    if not self._check_update(frame, full=True):
        self._count_still(frame)


def _count_still(self: NumpyBackend, frame: FrameType | None) -> None:
    """An update that moved no sampled weight, seen from the buffers it emptied: counted, no window recorded. It ends
    its window as a weight's move does (the budget is asked once per update, moved or not)."""
    self.still_updates += 1
    if self.nonfinite is not None:
        self.still_nonfinite += 1
    self._moving = set()
    self.updates = self._updates_before + self._moved_updates + self.still_updates
    self.progress.at_update(frame, self.updates)
    _norms_at_update(self)
    self._unrecorded = True
    work = self.hold.work(self._window_calls)
    _calls_closed(self, work)
    self.hold.ended(self.target_samples)
    self._prev_deep, self._deep = self._deep, self.tracer.budget.deep(work)
    self._P_prev = self._sample_params() if self._deep else None
    self._window_calls = self._window_rows = 0
    self._window_touched = []
    self._G_sum = None
    self._D_sum, self._D_rows = None, 0
    self._close_segments()
    self._fresh = True
    self._next_window()


def _hold_buffers(self: NumpyBackend) -> None:
    """The buffers a contribution left at zero at every sampled entry, held by weak reference (see
    :func:`_buffers_replaced`); nothing is held otherwise."""
    B = self._B_last
    self._B_held = None
    if B is not None and not B[np.isfinite(B)].any():
        root = self.root.obj
        self._B_held = [weak(resolve(root, prm.buffer)) for prm in self.params if prm.buffer is not None]


def _buffers_replaced(self: NumpyBackend) -> bool:
    """Whether every buffer the last contribution left at zero is another array now: the program binds fresh
    buffers at its update (``grad_w[0] = np.zeros_like(weights[0])``), so a step of zero was applied."""
    held = self._B_held
    if not held:
        return False
    root = self.root.obj
    now = [resolve(root, prm.buffer) for prm in self.params if prm.buffer is not None]
    return len(now) == len(held) and all(issubclass(type(a), np.ndarray) and ref() is not a for ref, a in zip(held, now))


def _on_update(self: NumpyBackend, frame: FrameType | None, moved: set[int]) -> None:
    self.updates = self._updates_before + self._moved_updates + self.still_updates
    self._deep_updates += 1
    P = self._sample_params()
    delta = P - self._P_prev if self._P_prev is not None else None
    self._P_prev = P
    n = self._deep_updates
    if self.lr is None and (n <= LR_TRIES or n & (n - 1) == 0):
        self._find_lr(frame)  # a walk of four frames' locals: the first windows, then at every doubling
    window: dict[str, Any] = {"update": self.updates, "calls": self._window_calls, "rows": self._window_rows,
                              "per_row": _calls_per_row(self._window_touched)}
    if delta is not None:
        window["delta"] = delta
        window["w"] = P
    if self.style == "accumulate" and self._B_last is not None and self._B_start is not None:
        window["B_start"], window["B_end"] = self._B_start, self._B_last
        window["contrib"] = self._B_last - self._B_start
    elif self.style == "overwrite" and self._B_last is not None:
        window["contrib"] = self._B_last
    elif self._G_sum is not None:
        window["contrib"] = self._G_sum
    self.windows.append(window)
    if len(self.early) < 10:
        self.early.append(window)
    if len(self.windows) > WINDOWS:
        self.windows.pop(0)
    if self._D_sum is not None:
        window["dsum"], window["drows"] = self._D_sum, self._D_rows
    self._D_sum, self._D_rows = None, 0
    self._window_calls = self._window_rows = 0
    self._window_touched = []
    self._G_sum = None
    self._close_segments()
    self._fresh = True
    self._note_nonfinite(P, moved)
    for i, (p, text, idx, seen, rows, held) in enumerate(self._constants):
        a = resolve(self.root.obj, p)
        if text in self.mutated or not issubclass(type(a), np.ndarray):
            continue
        if a is not held:
            # the name was bound to another array (``net.inputs = X[idx]`` at every step): nothing was written
            # into the one it held, so the new one is watched from now on
            self._constants[i] = self._watched_constant(p, text, a)
            continue
        if a.size > idx[-1] and entries(a, idx).tobytes() != seen:
            if rows is not None and same_rows(rows, row_set(a)):
                # the same rows in another order (shuffled in place): nothing was written into them
                self._constants[i] = (p, text, idx, entries(a, idx).tobytes(), rows, held)
                continue
            self.mutated[text] = self.updates


def _watched_constant(self: NumpyBackend, p: Path, text: str, a: np.ndarray) -> tuple:
    """What a constant's watch keeps: its path and name, a few sampled entries and their bytes, its rows (to tell a
    shuffle from a write), and the array itself (held: identity by ``is``, never by a reusable id)."""
    idx = sample_index(a.size, 8, self.rng)
    return (p, text, idx, entries(a, idx).tobytes(), row_set(a), a)


def _norms(self: NumpyBackend, first: bool) -> None:
    """Every parameter's norm now (``first``: as watching begins), kept as the latest and in :attr:`norm_reads`."""
    read: dict[str, float] = {}
    for prm, a in zip(self.params, self._arrays()):
        if is_array(a):
            with np.errstate(all="ignore"):
                read[prm.text] = norm_one_thread(a)
    if first:
        self.norms_first.update(read)
    self.norms_last.update(read)
    reads = self.norm_reads
    reads.append((self.updates, read))
    if len(reads) > NORM_READS:  # (every other read kept, the first and the latest among them: len is odd here)
        del reads[1::2]


def _norms_at_update(self: NumpyBackend) -> None:
    """The parameters' norms at the updates whose index (counted from the run's start) is a power of two or a
    multiple of :data:`NORM_EVERY`: which updates they are read after depends on the program alone, never on which
    windows were watched deep (the tensor ``exploding-gradients`` names is the first one past its limit by them)."""
    u = self.updates
    if u > self.norms_first_at and (u & (u - 1) == 0 or u % NORM_EVERY == 0):
        self._norms(first=False)


def _find_lr(self: NumpyBackend, frame: FrameType | None) -> None:
    self._find_lr_named(frame, strict=True)
    if self.lr is None:
        self._find_lr_named(frame, strict=False)


def _find_lr_named(self: NumpyBackend, frame: FrameType | None, *, strict: bool) -> None:
    ok = (lambda k: LR_NAME.match(k) and k.lower() not in ("alpha", "rate")) if strict else LR_NAME.match
    f, depth = frame, 0
    while f is not None and depth < 4:
        for k, v in f.f_locals.items():
            if ok(k) and issubclass(type(v), (float, int, np.floating)) and not issubclass(type(v), bool) and 0 < v < 1000:
                self.lr, self.lr_name = float(v), k
                return
        for v in list(f.f_locals.values()) + list((own_dict(f.f_locals.get("self")) or {}).values()):
            if type(v).__name__ in ("Namespace", "SimpleNamespace") or (
                    own_dict(v) is not None and not issubclass(type(v), type) and self.discovery.user_class(v)):
                for k, x in (own_dict(v) or {}).items():
                    if ok(k) and issubclass(type(x), (float, int, np.floating)) and not issubclass(type(x), bool) and 0 < x < 1000:
                        self.lr, self.lr_name = float(x), k
                        return
        me = f.f_locals.get("self")
        if me is not None:
            for k, v in (own_dict(me) or {}).items():
                if ok(k) and issubclass(type(v), (float, int, np.floating)) and not issubclass(type(v), bool) and 0 < v < 1000:
                    self.lr, self.lr_name = float(v), f"self.{k}"
                    return
        f, depth = f.f_back, depth + 1
    for k, v in (frame.f_globals.items() if frame is not None else ()):
        if ok(k) and issubclass(type(v), (float, int, np.floating)) and not issubclass(type(v), bool) and 0 < v < 1000:
            self.lr, self.lr_name = float(v), k
            return
