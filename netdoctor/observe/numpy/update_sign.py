"""Which way a checked step's buffers are applied, when the check found them a negative multiple of the gradient or one
sample's (:class:`SignWatch`): added (a descent) or subtracted (a climb), and at what scale over the batch.

:func:`_start_watch` and :func:`_watch_step` are functions of
:class:`~netdoctor.observe.numpy.update_recorder.UpdateCheckRecorder` (its state is declared there), bound in it as its
methods.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from types import CodeType
from typing import TYPE_CHECKING, Any

import numpy as np

from netdoctor._lazy import dataclass
from netdoctor.observe.numpy.update_check import DIRECTION, UpdateCheck, climbing
from netdoctor.observe.numpy.update_window import CheckedStep, TrackedArray, Window, batch_rows

if TYPE_CHECKING:
    from netdoctor.observe.numpy.update_recorder import UpdateCheckRecorder


MAX_WATCH_CALLS = 5_000
"""User calls a :class:`SignWatch` waits for the update before it gives up."""


@dataclass
class SignWatch:
    """Which way a program applies its buffers, for a check whose buffers held one negative multiple of the
    gradient (``t - out`` accumulated): added (a descent) or subtracted (a climb).

    At each user call until the parameters move, a fixed sample of every buffer's entries is read (the
    buffer may be emptied right after the update, before the next call); the first change of the
    parameters is then compared with the buffers as they were at the call before it. For gradients
    *returned* per sample (``code``: the function that returns them) the program sums them where nothing
    tracks them: the returns are summed here instead, from the first update on, and the second update
    (a whole batch after the first) is compared with that sum.
    """

    check: int
    """Index of the check in :attr:`UpdateCheckRecorder.checks`."""
    params: list[TrackedArray]
    sources: list[Callable[[], Any]]
    idx: list[np.ndarray]
    base: list[np.ndarray]
    last: list[np.ndarray | None]
    calls: int = 0
    code: CodeType | None = None
    """The function whose returned gradients are summed (None: buffers are read)."""
    summing: bool = False
    """Returned gradients: the first update was seen, the returns since are summed into ``last``."""
    contributions: int = 0
    """Gradients that went into ``last`` (returns summed, or events after which the buffers had changed)."""
    align: bool = False
    adaptive: bool = False
    """The update rule is adaptive (each step ~ m / sqrt(v)): its steps follow the gradients' signs, not their
    proportions, so a cosine above :data:`~netdoctor.observe.numpy.update_check.DIRECTION` tells subtracted (and the
    scale tells nothing)."""
    """Buffers measured for their scale: from one update to the next (a whole batch), not from the watch's start."""
    cos: float = math.nan
    """The cosine of the step (``base - now``) and what it applied: +1 subtracted, -1 added."""
    scale: float = math.nan
    """The step over what it applied: ``(base - now) . last / |last|^2`` (the learning rate, over the batch
    size when the program divides)."""
    mu: float | None = None
    """The share of the last step each step keeps through a velocity (momentum), when known: the step compared is then
    ``Δ_t - mu Δ_{t-1}``, what the velocity took in of this batch's gradients (the heavy ball's ``-lr * g``)."""
    prev: list[np.ndarray] | None = None
    """The step before the one compared (``Δ_{t-1}``: the first update the watch saw, from its start), per tensor."""
    _joined: tuple[list[np.ndarray], np.ndarray] | None = None
    """:attr:`base` and its entries joined into one array (made again when ``base`` is another list)."""

    def returned(self, got: dict[str, np.ndarray]) -> None:
        """A return of :attr:`code` with the gradients matched to the parameters by name or shape."""
        if not self.summing:
            return
        if any(got.get(p.name) is not None for p in self.params):
            self.contributions += 1
        for k, (p, i) in enumerate(zip(self.params, self.idx)):
            g = got.get(p.name)
            if g is not None:
                prev = self.last[k]
                entries = np.asarray(g, dtype=np.float64).reshape(-1)[i]
                self.last[k] = entries if prev is None else prev + entries

    def step(self) -> bool | None:
        """True: the buffers (returned gradients) were subtracted; False: added, or the step does not tell;
        None: no update yet."""
        self.calls += 1
        now = [np.asarray(p.read(), dtype=np.float64).reshape(-1)[i] for p, i in zip(self.params, self.idx)]
        moved = self._moved(now)
        if self.code is not None:  # returned gradients, summed here between two updates
            if moved and not self.summing:  # the end of a batch begun before the watch: sum the next whole one
                self.prev = [b - a for a, b in zip(now, self.base)]
                self.base, self.summing, self.last = now, True, [None] * len(self.params)
                return None
            if moved and all(g is None for g in self.last):  # the same update, applied tensor by tensor
                self._extend_prev(now)
                self.base = now
                return None
            return self._sign(now) if moved else None
        if not moved:
            if self._read_buffers():
                self.contributions += 1
            return None
        if self.align and (not self.summing or self.contributions == 0):
            # the first update (or the same one, applied tensor by tensor): measure the next whole batch, from
            # the buffers as the update left them (emptied, or rebound to zeros)
            if not self.summing:
                self.contributions = 0  # those of the batch under way when the watch began
                self.prev = None
            self._extend_prev(now)
            self.base, self.summing = now, True
            self._read_buffers()
            return None
        return self._sign(now)

    def _moved(self, now: list[np.ndarray]) -> bool:
        """Whether some sampled entry of ``now`` differs from :attr:`base` (NaN differs from everything): every tensor's
        ``np.array_equal`` in one comparison of the joined entries (the watch reads them at every user call until the
        update: 2,000 calls of a per-sample program, where four comparisons took 8 of its 30 us)."""
        joined = self._joined
        if joined is None or joined[0] is not self.base:
            joined = self._joined = (self.base, np.concatenate(self.base) if self.base else np.zeros(0))
        flat = np.concatenate(now) if now else np.zeros(0)
        return flat.shape != joined[1].shape or not bool((flat == joined[1]).all())

    def _extend_prev(self, now: list[np.ndarray]) -> None:
        """The first update seen (or one more tensor of it) into :attr:`prev`."""
        moved = [b - a for a, b in zip(now, self.base)]
        self.prev = moved if self.prev is None else [p + m for p, m in zip(self.prev, moved)]

    def _read_buffers(self) -> bool:
        """Read the sampled buffer entries into ``last``; whether they changed since the last read."""
        changed = False
        for k, (src, i) in enumerate(zip(self.sources, self.idx)):
            buf = src()
            new = np.asarray(buf, dtype=np.float64).reshape(-1)[i] if issubclass(type(buf), np.ndarray) else None
            prev = self.last[k]
            # (``np.array_equal`` of two samples of one index: the same shape; not compared once one changed)
            changed = changed or new is not None and (prev is None or not bool((new == prev).all()))
            self.last[k] = new
        return changed

    def _sign(self, now: list[np.ndarray]) -> bool | None:
        # only the tensors that moved: a loop applying its update tensor by tensor is seen after the first
        prev = self.prev if self.mu is not None and self.prev is not None else [np.zeros_like(a) for a in now]
        mu = self.mu or 0.0
        pairs = [(b - a - mu * p, g) for a, b, g, p in zip(now, self.base, self.last, prev)
                 if g is not None and not np.array_equal(a, b)]
        step = np.concatenate([s for s, _ in pairs]) if pairs else np.zeros(0)
        grad = np.concatenate([g for _, g in pairs]) if pairs else step[:0]
        norm = float(np.linalg.norm(step) * np.linalg.norm(grad))
        if norm > 0 and math.isfinite(norm):
            self.scale = float(step @ grad) / float(grad @ grad)
            self.cos = float(step @ grad) / norm
        # plain SGD: +-1; anything else tells nothing. Adaptive and momentum steps follow the gradient's direction only
        least = DIRECTION if self.adaptive else 0.9
        return norm > 0 and float(step @ grad) / norm > least


def _watch_step(self: UpdateCheckRecorder) -> None:
    watch = self.watch
    if watch is None:
        return
    t0 = self._clock_in()
    try:
        subtracted = watch.step()
        if subtracted is None and watch.calls < MAX_WATCH_CALLS:
            return
        self.watch = None
        old = self.checks[watch.check]
        if subtracted and old.factor < 0 or old.factor > 0 and watch.cos < -0.9:
            # a negative multiple subtracted, or one sample's gradient added (``W += lr * dW``): a climb
            flipped = old if old.factor < 0 else replace(
                old, factor=-old.factor, tensors=[replace(t, ratio=-t.ratio, worst=tuple(
                    replace(x, applied=-x.applied) for x in t.worst)) for t in old.tensors])
            self.checks[watch.check] = new = replace(climbing(flipped), added=old.factor > 0)
            self.steps = [CheckedStep(new, st.rows) if st.check is old else st for st in self.steps]
        elif (subtracted and watch.contributions >= 2 and math.isfinite(watch.scale) and watch.scale > 0
              and not watch.adaptive):
            # per-sample gradients checked one by one, applied together: the step of the whole batch against
            # the derivative of its summed loss, for summed-gradient (never a mismatch: not in ``checks``)
            k = watch.scale
            whole = replace(old, factor=old.factor * k, kind="update",
                            tensors=[replace(t, ratio=t.ratio * k) for t in old.tensors])
            self.steps.append(CheckedStep(whole, watch.contributions))
    finally:
        self._clock_out(t0)


def _start_watch(self: UpdateCheckRecorder, w: Window, check: UpdateCheck) -> None:
    """After a check whose buffers or returned gradients were a negative multiple of the gradient, or one
    sample's, and no update was seen (which way, and at what scale, they are applied is not known yet)."""
    # a negative factor: which way it is applied; one sample's gradient: how the batch's are applied
    if "update" in check.readings or not check.ok or not (check.factor < 0 or check.factor > 0 and batch_rows(w) == 1):
        return
    names = [v.name for v in check.tensors if v.kind in ("buffer", "written") and v.name in w.buffer_sources]
    code = None
    if not names:
        sites = {v.source for v in check.tensors if v.kind == "returned"}
        code = next((w.returned_codes[x] for x in sites if x in w.returned_codes), None)
        names = [v.name for v in check.tensors if v.kind == "returned"] if code is not None else []
    if not names:
        return
    params = [p for p in w.params if p.name in names]
    rng = np.random.default_rng(len(self.checks))
    idx = [rng.choice(a.size, min(a.size, 64), replace=False) for a in (np.asarray(p.read()) for p in params)]
    base = [np.asarray(p.read(), dtype=np.float64).reshape(-1)[i] for p, i in zip(params, idx)]
    sources = [w.buffer_sources[p.name] for p in params] if code is None else []
    # with the velocity's decay known, the step is compared with its memory taken out (``Δ_t - mu Δ_{t-1}``), as
    # plain SGD's is; without it only the direction tells
    mu = self.momentum_decay if self.momentum and not self.adaptive else None
    self.watch = SignWatch(len(self.checks) - 1, params, sources, idx, base, [None] * len(params), code=code,
                            align=check.factor > 0, adaptive=self.adaptive or self.momentum and mu is None, mu=mu)
    self.watch.step()
