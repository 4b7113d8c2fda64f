"""Closing an update check's window and checking it: what the step applied, compared with finite differences of the
program's own forward run again on copies (the first candidate forward that reproduces the program's output and
computes with every tensor). A step that computed its forward inline waits for the program's forward to be called
elsewhere (:func:`saw_forward`: the template).

Functions of :class:`~netdoctor.observe.numpy.update_recorder.UpdateCheckRecorder` (its state is declared there), bound
in it as its methods.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from types import FrameType
from typing import TYPE_CHECKING, Any

import numpy as np

from netdoctor.nn.threads import blas_threads
from netdoctor.observe.numpy.replay import CallSite, Chain, Pick, Replay, picked, quietly
from netdoctor.observe.numpy.update_check import Applied, LossChoice, UpdateCheck, check_update, gradient_site
from netdoctor.observe.numpy.update_opening import MAX_ATTEMPTS
from netdoctor.observe.numpy.update_window import (
    Candidate,
    CheckedStep,
    Window,
    add_owner_targets,
    applied_readings,
    attrs_of,
    batch_rows,
    forward_choices,
    template_choices,
    work_by_id,
)
from netdoctor.usercode import short_path

if TYPE_CHECKING:
    from netdoctor.observe.numpy.update_recorder import UpdateCheckRecorder


def _deaf(forward: Callable[[], np.ndarray], work: dict[str, np.ndarray], heard: Collection[str] = ()) -> list[str]:
    """The working copies the forward does not read (it computes with other arrays): one NaN entry in a copy
    it reads reaches its output (a small change would not: saturated units swallow it). ``heard``: copies already seen
    read (a move of theirs alone changed the output, see :class:`_Heard`): no forward is run for them."""
    out = []
    for name, a in work.items():
        if name in heard:
            continue
        flat = a.reshape(-1)
        old = float(flat[0])
        try:
            flat[0] = np.nan
            if not np.isnan(forward()).any():
                out.append(name)
        finally:
            flat[0] = old
    return out


class _Heard:
    """The forward as the update check runs it, noting which working copies it was seen to read: a forward whose
    output differs from ``base`` (the output at the copies as kept) while exactly one copy differs from its kept values
    computes with that copy. The check moves one copy at a time (a direction of a tensor, one entry), so its own
    forwards tell most copies read; :func:`_deaf` then puts a NaN only in the others, and the check needs no forward
    of its own for them (four of a full-batch check's 22 forwards, each as costly as a training step)."""

    def __init__(self, forward: Callable[[], np.ndarray], base: np.ndarray, work: dict[str, np.ndarray],
                 kept: dict[str, np.ndarray]) -> None:
        self.forward = forward
        self.base = base
        self.work = work
        self.kept = kept
        self.heard: set[str] = set()

    def __call__(self) -> np.ndarray:
        out = self.forward()
        moved = [name for name, a in self.work.items() if name not in self.heard and not np.array_equal(a, self.kept[name])]
        if len(moved) == 1 and not np.array_equal(out, self.base, equal_nan=True):
            self.heard.add(moved[0])
        return out


def _reproduces(out: np.ndarray, theirs: np.ndarray) -> bool:
    """Whether a replay's output (float64, from float64 copies) is the program's own ``theirs``, to the precision the
    program computed it in. Each entry is a sum of products rounded in the program's dtype: in float32 an entry near 0
    beside entries of 88 is off by ~1e-5 (a 784-64-16-10 net, npt1809), so entries agree to 1e-5 of the output's largest
    magnitude as well as to 1e-5 of their own; a candidate computing another function is off by far more."""
    if out.shape != np.shape(theirs):
        return False
    with np.errstate(all="ignore"):
        scale = float(np.max(np.abs(theirs), initial=0.0))
    return bool(np.allclose(out, theirs, rtol=1e-5, atol=1e-7 + 1e-5 * scale if np.isfinite(scale) else 1e-7))


_WRITES = "{}() writes into the parameters it computes with (a training step, not a forward)"
_NOISY = "{}() gives another output at every call (dropout or noise)"
_UNREPRODUCED = "{}() run again on copies does not reproduce the program's output"


def _writes(w: Window, kept: dict[str, np.ndarray]) -> bool:
    """Whether a replayed forward changed the working copies it computes with (``kept``: their values before it); if
    so they are put back (a training step run again)."""
    if all(np.array_equal(a, kept[name], equal_nan=True) for name, a in w.work.items()):
        return False
    for name, a in w.work.items():
        a[...] = kept[name]
    return True


def _unsettled(forward: Callable[[], np.ndarray], out0: np.ndarray, check: UpdateCheck, w: Window,
               kept: dict[str, np.ndarray]) -> str:
    """Why a check made with ``forward`` is dropped (a template with ``{}`` for the forward's name), or "" to keep it.

    A forward that gives another output at every call (dropout, noise) is told by calling it once more at the kept
    copies: an output other than ``out0`` drops the check. That call is made only when the check did not settle the
    step along its directions alone (every tensor right, no entry compared): there the loss's differences agreed with
    what the program applied to ``RATIO_TOL`` in every direction, which differences of a forward that draws anew at
    each call do not (a draw moves the loss by far more than a step of ``h`` does), so a second call would only
    repeat ``out0``. It costs a forward, as much as a full-batch program's training step. A forward that writes into
    the copies it computes with at a later call than the first is caught after the check (see :func:`_writes`)."""
    if check.tensors and check.ok and check.directions and not check.coords:
        return _WRITES if _writes(w, kept) else ""
    return _called_again(forward, out0, w, kept)


def _called_again(forward: Callable[[], np.ndarray], out0: np.ndarray, w: Window, kept: dict[str, np.ndarray]) -> str:
    """The forward called once more at the kept copies: why it cannot be checked (it wrote into them, or gave another
    output than ``out0``: a template with ``{}`` for its name), or ""."""
    again = forward()
    if _writes(w, kept):
        return _WRITES
    return _NOISY if not np.array_equal(out0, again) else ""


def _pick(replay: Replay | Chain, value: Any, pick: Pick) -> np.ndarray:
    """The output of a replayed forward (see :func:`~netdoctor.observe.numpy.replay.picked`), as float64."""
    return np.asarray(picked(replay, value, pick), dtype=np.float64)


def _drop_output_slots(w: Window) -> None:
    """Take back the held object's arrays whose attribute a forward of the window rebound to its output (``self.probs``
    held the last step's probabilities when the window opened: an output slot, not the targets)."""
    if w.held is None or not w.held_targets:
        return
    computed = {id(o) for c in w.returned_candidates for _, _, o in c.outputs or []}
    now = attrs_of(w.held[0])
    slots = {id(v) for name, v in w.held_targets if id(now.get(name)) in computed}
    w.target_candidates = [t for t in w.target_candidates if id(t) not in slots]


def finish(self: UpdateCheckRecorder) -> None:
    """Close the window: collect what was applied and check it on the copies."""
    w = self.window
    self.window = None
    if w is None:
        return
    t0 = self._clock_in()
    try:
        applied = applied_readings(w, self.decays)
        if not applied:  # nothing happened in this window (an evaluation): another opens at the next call
            self._quiet[w.owner.f_code] = self._quiet.get(w.owner.f_code, 0) + 1
            self._fruitless += 1
            return
        self._attempts += 1
        _drop_output_slots(w)
        if self.updates is not None and self.updates() - w.opened_at > 1:
            self._fruitless += 1
            return  # two steps inside one window: their sum belongs to no single batch; try again
        add_owner_targets(w)
        with quietly(), blas_threads(1):  # our own products: one thread (a busy machine stalls a second)
            self._check(w, applied)
    except Exception as exc:  # noqa: BLE001 - the program's code failed on our copies: no check, say why
        self.skipped.append(f"the forward could not be run again on copies ({type(exc).__name__}: {exc})")
    finally:
        self._clock_out(t0)


def _check(self: UpdateCheckRecorder, w: Window, applied: list[Applied]) -> None:
    bad = [name for name, a in w.work.items() if not np.isfinite(a).all()]
    if bad:  # a derivative at NaN is NaN: nothing to compare (the run diverged before this step was seen)
        self._skip(f"{', '.join(bad[:3])}{', ...' if len(bad) > 3 else ''} held NaN or Inf already when the step "
                   f"after update {w.opened_at:,} was seen: no derivative to compare with")
        self._attempts = MAX_ATTEMPTS  # NaN stays NaN: no later step can be compared either
        return
    by_id = work_by_id(w)
    choices = forward_choices(w)
    why = self._try(w, applied, by_id, choices)
    if why is None:
        return
    if self.template is None:
        if not choices:  # the step computes its forward inline: wait for the program's forward (see ``pending``)
            if any(b == self._next for b, _, _ in self.pending):
                self._next += 1  # a second step of this boundary did too: the one waiting stands for it
            else:
                self.pending.append((self._next, w, applied))
        else:
            self._skip(why)
        return
    template = template_choices(self.template, self._stores, w, by_id)
    if not template:
        why = f"{self.template.code.co_name}() does not take the batch of {w.owner.f_code.co_name}()"
    why = self._try(w, applied, by_id, template) if template else why
    if why is not None:
        self._skip(why)


def _skip(self: UpdateCheckRecorder, why: str) -> None:
    """A step that could not be checked (said once in the notes); the next boundary is tried."""
    self.skipped.append(why)
    self._next += 1
    self._fruitless += 1


def _try(self: UpdateCheckRecorder, w: Window, applied: list[Applied], by_id: dict[int, np.ndarray],
         choices: list[tuple[Candidate, Pick, list[LossChoice]]]) -> str | None:
    """Check with the first choice that reproduces the program's output and computes with every tensor;
    None when one did, else why none could."""
    why = "no call handed the batch returned an array"
    for cand, pick, losses in choices:
        replay = cand.replay or Replay(cand.site, by_id)

        def forward(replay: Replay | Chain = replay, pick: Pick = pick) -> np.ndarray:
            return _pick(replay, replay.call(), pick)

        mine = {i: c for i, c, _ in cand.outputs or []}
        kept = {name: a.copy() for name, a in w.work.items()}
        out0 = forward()
        if _writes(w, kept):
            why = _WRITES.format(replay.name)
            continue
        if cand.outputs is not None and not _reproduces(out0, mine[pick]):
            why = (_called_again(forward, out0, w, kept) or _UNREPRODUCED).format(replay.name)
            continue
        heard = _Heard(forward, out0, w.work, kept)
        check = check_update(heard, w.work, applied, losses, where=w.where or w.computed_in,
                             max_coords=self.max_coords or 12, seed=len(self.checks),
                             biases=[p.name for p in w.params if p.bias], adaptive=self.adaptive or self.momentum,
                             along=self.momentum_sign, velocity=self.velocity)
        unsettled = _unsettled(forward, out0, check, w, kept)
        if unsettled:
            why = unsettled.format(replay.name)
            continue
        deaf = _deaf(forward, w.work, heard.heard)  # (a check of a forward deaf to a copy is dropped: none was made)
        if deaf:
            why = f"{replay.name}() does not compute with {', '.join(deaf)}"
            continue
        check.computed_in, check.gradient_by = w.computed_in, gradient_site(applied)
        check.at_update = w.opened_at
        with np.errstate(all="ignore"):  # (weights that blew up: inf)
            check.weight_norms = {p.name: float(np.linalg.norm(w.work[p.name])) for p in w.params
                                  if not p.bias and np.ndim(w.work[p.name]) == 2}
        check.forward = f"{replay.name}() at {short_path(replay.where)}"
        if isinstance(replay, Chain):
            check.forward = (f"{len(replay)} calls chained by {w.computed_in.split(' at ')[0]}, from "
                             f"{replay.first.name}() at {short_path(replay.first.where)} to {check.forward}")
        if not check.tensors:
            self._skip(check.note)
            return None
        self.checks.append(check)
        self.steps.append(CheckedStep(check, batch_rows(w)))
        self.pending = [p for p in self.pending if p[0] != self._next]  # (compared on its own: none need wait for it)
        self._fruitless = 0
        self._start_watch(w, check)
        self._next += 1
        return None
    return why


def saw_forward(self: UpdateCheckRecorder, frame: FrameType) -> None:
    """A call of the program's forward (as the observer found it) outside a window: the template."""
    try:
        self._saw_forward(frame)
    except Exception as exc:  # noqa: BLE001 - the check's own error: it stops, the observer goes on
        self._broken(exc)


def probe_call(self: UpdateCheckRecorder, frame: FrameType) -> None:
    """A call handed the batch of a function whose role is not known yet (probed after discovery), while steps wait for
    the program's forward: it may be that forward, called for the first time after training (an evaluation at the
    end). Its call site is kept (arguments as bound at the call) until its return tells (:meth:`probed_forward`)."""
    if self.pending and self.window is None and len(self._probed) < 64:
        self._probed[id(frame)] = CallSite.of(frame)


def probed_forward(self: UpdateCheckRecorder, frame: FrameType) -> None:
    """The probed call in ``frame`` returned the network's output: the program's forward, the template (its call site
    as the call bound it)."""
    site = self._probed.pop(id(frame), None)
    if site is not None:
        try:
            self._saw_forward(site)
        except Exception as exc:  # noqa: BLE001 - the check's own error: it stops, the observer goes on
            self._broken(exc)


def _saw_forward(self: UpdateCheckRecorder, site: FrameType | CallSite) -> None:
    if self.window is not None:
        return
    self.template = site if isinstance(site, CallSite) else CallSite.of(site)
    self._probed.clear()
    waiting, self.pending = self.pending, []
    boundary = self._next  # (the boundaries of the waiting steps were passed: checking them moves nothing on)
    for _, w, applied in waiting:
        t0 = self._clock_in()
        try:
            with quietly(), blas_threads(1):  # our own products: one thread (a busy machine stalls a second)
                self._check(w, applied)
        except Exception as exc:  # noqa: BLE001 - see finish()
            self.skipped.append(f"the forward could not be run again on copies ({type(exc).__name__}: {exc})")
        finally:
            self._clock_out(t0)
    self._next = boundary
