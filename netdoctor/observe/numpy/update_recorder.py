"""Capture a few of a running program's training steps for :func:`~netdoctor.observe.numpy.update_check.check_update`.

At a few chosen update counts (:data:`CHECK_AT`) the NumPy observer hands
this recorder every call of the user's code. The first call that is handed
the batch (an argument with the network's input width in its shape:
``train_batch(x, y)``, ``backprop(x, y)``, ``predict(network, x)``) opens a
*window*: the parameters and gradient buffers are copied, and the frame that
made the call (the training loop) owns the window. Inside it:

* every call handed an object of the batch is a candidate forward (its call
  site is kept by reference: code, globals, arguments, closure);
* a call handed a candidate's output and another array that returns a scalar
  is the program's own loss; the other arrays handed with the output, and the
  batch itself, are the candidate targets;
* arrays shaped like the parameters that a call returns (a dict by key, else
  by shape in order), or that sit among the locals of a returning function,
  are readings of the gradient.

The window closes when the loop's frame returns, when it hands the next batch
(other objects) to a call, or when the batch is used from outside it (an
evaluation). Then the parameters' change ``-(after - before)``, the buffers'
change and the readings above go to the check, which runs the chosen forward
again on copies (:mod:`netdoctor.observe.numpy.replay`): the output is the
candidate's array whose class axis the targets fit most narrowly (an exact
shape first), and the program's own output must come out again. Nothing of
the program's is written; the recorder's CPU time (not wall time: a loaded machine stretches that) is counted in
``seconds``, once however its work nests (a window closed from inside a call it hears).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from inspect import CO_GENERATOR
from types import CodeType, FrameType
from typing import Any, cast

import numpy as np

from netdoctor.observe.numpy.arrays import own_dict, weak
from netdoctor.observe.numpy.replay import CallSite, Chain, Path, Pick, Replay, arg_values, float_arrays
from netdoctor.observe.numpy.update_check import Applied, UpdateCheck, compared
from netdoctor.observe.numpy.update_closing import (
    _check,
    _saw_forward,
    _skip,
    _try,
    finish,
    probe_call,
    probed_forward,
    saw_forward,
)
from netdoctor.observe.numpy.update_opening import (
    GIVE_UP_AFTER,
    MAX_ATTEMPTS,
    _held_batch,
    _new_chance,
    _offer,
    _open,
    _watch_return,
)
from netdoctor.observe.numpy.update_sign import SignWatch, _start_watch, _watch_step
from netdoctor.observe.numpy.update_window import (
    Candidate,
    CheckedStep,
    TrackedArray,
    Window,
    arraylike,
    attrs_of,
    holds_width,
    returned_floats,
    shape_of,
    targetish,
    targets_among,
    work_by_id,
)
from netdoctor.usercode import short_path

__all__ = ["UpdateCheckRecorder", "CHECK_AT", "CheckedStep", "TrackedArray", "GIVE_UP_AFTER"]

CHECK_AT = (1, 6, 40)
"""Update counts after which a window opens: early (before saturation hides everything), a little
later, and once training is under way. Three checks per run at most."""
MAX_WINDOW_CALLS = 5_000
"""User calls after which an open window is given up (a step that never comes)."""


MAX_LINKS = 16
"""Calls a chained forward (:class:`~netdoctor.observe.numpy.replay.Chain`) may hold: the layers of a deep network."""


class UpdateCheckRecorder:
    """Chooses a few training steps, captures each as a window, checks it (see the module docstring).

    Its state and the events inside a window are here; opening a window (:mod:`~netdoctor.observe.numpy.update_opening`),
    closing and checking it (:mod:`~netdoctor.observe.numpy.update_closing`) and the watch of which way a checked step's
    buffers are applied (:mod:`~netdoctor.observe.numpy.update_sign`) are functions of the recorder (``self:
    UpdateCheckRecorder``) in modules of their own, bound below as its methods under their own names.

    Long because its constructor declares, each with its docstring, the state those three modules share.
    """

    # -- opening, closing and the sign watch, one module each (see the class docstring) ----------------------
    # opening a window: observe/numpy/update_opening.py
    _new_chance = _new_chance
    _offer = _offer
    _open = _open
    _held_batch = _held_batch
    _watch_return = _watch_return
    # closing and checking a window: observe/numpy/update_closing.py
    finish = finish
    _check = _check
    _skip = _skip
    _try = _try
    saw_forward = saw_forward
    _saw_forward = _saw_forward
    probe_call = probe_call
    probed_forward = probed_forward
    # which way a checked step is applied: observe/numpy/update_sign.py
    _watch_step = _watch_step
    _start_watch = _start_watch

    def __init__(self, *, check_at: tuple[int, ...] = CHECK_AT, max_coords: int | None = None,
                 updates: Callable[[], int] | None = None) -> None:
        """Args: check_at: update counts after which a window opens. max_coords: entries per tensor.
        updates: the observer's count of updates so far (a window spanning two updates is not judged).

        Long because it declares the recorder's whole state, each attribute with what it holds (a dataclass of it
        is the split to make: the wait, the sign watch and the momentum reading are separate parts of it).
        """
        self.updates = updates
        self.check_at = check_at
        self.max_coords = max_coords
        self.checks: list[UpdateCheck] = []
        self.steps: list[CheckedStep] = []
        """Each check of :attr:`checks` with the rows of the batch it was made on."""
        self.skipped: list[str] = []
        """Why a window could not be checked (one sentence each)."""
        self.window: Window | None = None
        self._probed: dict[int, CallSite] = {}
        """Frame id -> the call site of a probed call handed the batch while steps wait (see :meth:`probe_call`)."""
        self.template: CallSite | None = None
        """The last call of the observer's forward outside a window (references only): the forward of a
        training step that computes its own forward inline (``predict`` used only to evaluate)."""
        self.pending: list[tuple[int, Window, list[Applied]]] = []
        """Steps waiting for the program's forward to be seen (the first evaluation), each with the index of its boundary
        in :attr:`check_at`: the first window of a boundary that computed its forward inline waits; it is dropped when
        another window of its boundary compares on its own, and a second one that computed its forward inline moves the
        check on to the next boundary (the step does so at every update). All are compared when the program's forward
        is first called (:meth:`saw_forward`)."""
        self.deep = True
        """Whether the observer watches the current update window in full (a deep window of the tracer's
        :class:`~netdoctor.observe.tracer.Budget`): windows open only then, so that between deep windows nothing waits
        on the check and the step's functions can run untraced (:class:`~netdoctor.observe.numpy.holding.StepHold`)."""
        self.watch: SignWatch | None = None
        """Which way the buffers of the last check are applied, while that is not known (see :class:`SignWatch`)."""
        self.adaptive = False
        """The program's update rule is adaptive (Adam-like: each step ~ m / sqrt(v)): the parameters' change is no
        multiple of the gradient, only its direction is compared (see :func:`check_update`)."""
        self.momentum = False
        """The program's steps read a velocity (momentum, Nesterov): a step is no multiple of its batch's gradient;
        which way the gradients are applied is told from its direction only, as for an adaptive rule."""
        self.updater: CodeType | None = None
        """The function that applies the updates, when discovery found one: a window copies the paired buffers at its
        calls (:attr:`~netdoctor.observe.numpy.update_window.Window.buffers_at_update`), before it may empty them."""
        self.momentum_decay: float | None = None
        """The share of the last step each step keeps through that velocity (``mu``), measured while discovering: a
        step with it taken out (``Δ_t - mu Δ_{t-1}``) is the batch's gradient times the velocity's intake."""
        self.decays: dict[str, tuple[float, float]] = {}
        """Velocities seen while discovering, by their text -> the share of their own values each change kept and the
        factor with which the steps add them (see :meth:`~netdoctor.observe.numpy.steps.Steps.velocity_decays`)."""
        self.momentum_sign: float | None = None
        self.velocity = ""
        """Which way the steps move along the returned gradients through a velocity, measured while discovering
        (:meth:`~netdoctor.observe.numpy.steps.Steps.momentum_sign`), or None; and that velocity's name and line."""
        self.seconds = 0.0
        """CPU seconds of the check's own work (see :meth:`_clock_in`)."""
        self._clocked = False
        """Whether a caller is counting the CPU time of the work running now (it is counted there, once)."""
        self.offers = 0
        """Calls offered while a window could open (none: the observer never knew the input width)."""
        self._next = 0
        self._attempts = 0
        self.done = ""
        """Why the check stopped looking for windows before its budget was spent (empty while it looks): from then on
        :meth:`wants` is False, no template is taken and the observer stops tracing functions it followed only for it."""
        self._fruitless = 0
        """Chances in a row that compared nothing (see :data:`GIVE_UP_AFTER`)."""
        self._chance_at = -1
        self._opened = False
        """A window opened since the update count :attr:`_chance_at` was last seen moving."""
        self._held: dict[tuple[int, str], tuple[tuple[int, ...], bytes]] = {}
        """(object id, attribute) -> (shape, sampled entries) of an array with the input width that an object handed to a
        call held at its last offer (see :meth:`_held_batch`)."""
        self._stores: dict[CodeType, list[Path]] = {}
        """Forward code -> where it stored its output (learned from a call handed a batch)."""
        self._quiet: dict[CodeType, int] = {}
        """Loop code -> windows it owned in which nothing was applied (an evaluation loop: not opened again)."""
        self._declined: dict[tuple[int, int], tuple[int, bool]] = {}
        """(called code, calling code) -> (update count, whether no template was known) when an offer from that call
        site opened no window: the site is not offered again until the count moves (see :meth:`offer`). Keyed by the
        code objects' ids: a module's code object hashes its nested code objects at every lookup (8-12 us)."""

    def notes(self, layout_known: bool = True) -> list[str]:
        """What was checked, in one sentence (and why a window could not be, in another). ``layout_known``: the
        network's layers were found in order (its input width is known: calls may be offered)."""
        out = []
        if self.checks:
            loss = self.checks[0].loss
            out.append(f"update check: {len(self.checks)} update(s) compared with finite differences of the program's "
                       f"own forward ({compared(self.checks)}; loss: {loss}; {self.seconds:.2f} s of CPU)")
        out.extend(_merged_decay([c.decay for c in self.checks if c.decay]))
        unjudged = list(dict.fromkeys(n for c in self.checks for n in c.unjudged))
        if unjudged:  # (compared would read as "compared and right" for them)
            some = sum(1 for c in self.checks if c.unjudged)
            out.append(f"update check: {', '.join(unjudged)} not compared in {some} of the {len(self.checks)} "
                       "update(s): nothing read said what was applied to them (at most a local array of their shape)")
        for why in dict.fromkeys(self.skipped):
            out.append(f"update check: a step not compared ({why})" if self.checks else f"update check not run: {why}")
        if self.pending:
            why = ("the step computed its forward inline and the program's forward function was not called elsewhere "
                   "before the run ended")
            steps = f"{len(self.pending)} later step(s)" if len(self.pending) > 1 else "a later step"
            out.append(f"update check: {steps} not compared ({why})" if self.checks else f"update check not run: {why}")
        elif not out and self.updates is not None and self.updates() > 0:
            # silence would read as "checked, nothing wrong": say why nothing was compared
            out.append("update check not run: " + (
                "no call of the training step was handed a batch of the network's inputs" if self.offers else
                # no call came while a check could open: a loop that computes its forward inline calls none
                "no function of the program was called at the updates a check could open at (a forward written "
                "inline in the loop cannot be run again)" if layout_known else
                "the network's input width is not known (its layers were not found in order)"))
        if self.done:
            out.append(f"update check {self.done}; {len(self.checks)} step(s) compared in all")
        return out

    # -- opening -------------------------------------------------------------------------
    def wants(self, updates: int) -> bool:
        """Whether a window may open now (none open, a boundary reached, attempts left, a deep window)."""
        return self.deep and self.near(updates)

    def near(self, updates: int) -> bool:
        """Whether a boundary is reached at ``updates`` and a window may still open (in a deep window or not)."""
        # one update early: the window opens at the next batch handed down and spans that whole step
        return updates + 1 >= self.check_at[min(self._next, len(self.check_at) - 1)] and self.may_want()

    def may_want(self) -> bool:
        """Whether a window may still open at some later update (none open now, boundaries and attempts left)."""
        return self.window is None and self._next < len(self.check_at) and self._attempts < MAX_ATTEMPTS and not self.done

    def offer(self, frame: FrameType, params: Callable[[], list[TrackedArray]], input_width: int, where: str = "",
              root: Any = None) -> None:
        """A call while :meth:`wants`: opens a window if it is handed the batch (``input_width`` in a shape).

        ``root``: the network's root (``self``, a dict, a module's globals): arrays shaped like a parameter
        found there are read as buffers too when the observer paired none with that parameter.
        """
        # "Not now" from counts, before any array is touched: a call site (this code called from that code) whose
        # offer opened no window is declined until the update count moves (or a template forward is first seen,
        # which ends a wait for one). Between two updates a site hands the same kind of arguments to the same loop
        # (``tanh(z)`` never the batch; ``feedforward(x)`` inside a loop whose windows saw nothing applied), so its
        # answer would be the same; a per-sample program makes thousands of such calls per update.
        back = frame.f_back
        site = (id(frame.f_code), id(back.f_code) if back is not None else 0)
        now = (self.updates() if self.updates is not None else self.offers, self.template is None)
        if now[0] != self._chance_at:
            self._new_chance(now[0])
            if self.done:
                return
        if self._declined.get(site) == now:
            return
        self.offers += 1
        try:
            self._offer(frame, params, input_width, where, root)
        except Exception as exc:  # noqa: BLE001 - the check's own error: it stops, the observer goes on
            self._broken(exc)
        if self.window is None:
            if len(self._declined) >= 4096:
                self._declined.clear()  # sites of a program with very many functions: the answers are asked again
            self._declined[site] = now

    def _broken(self, exc: Exception) -> None:
        self.window = None
        self.pending = []
        self._attempts = MAX_ATTEMPTS
        self.skipped.append(f"the check stopped on an error of its own ({type(exc).__name__}: {exc})")

    def _candidate(self, w: Window, frame: FrameType, feeds: tuple[Candidate, Pick, str] | None = None) -> None:
        """Keep a call handed the batch (or, ``feeds``: handed the output of such a call at ``pick`` as argument
        ``arg`` by the same caller, a link of a chain) as a candidate forward."""
        if feeds is None and sum(1 for c in (*w.candidates.values(), *w.returned_candidates)
                                 if not isinstance(c.replay, Chain)) >= 8:
            return  # the first few calls handed the batch hold the forward
        if feeds is not None and isinstance(feeds[0].replay, Chain) and len(feeds[0].replay) >= MAX_LINKS:
            return
        depth, f = 0, frame.f_back
        while f is not None and f is not w.owner and depth < 16:
            f, depth = f.f_back, depth + 1
        site = CallSite.of(frame)
        try:
            replay = Replay(site, work_by_id(w))
            replay.warm()
        except Exception:  # noqa: BLE001 - an argument that cannot be copied: not a forward we can run again
            return
        before = {path: weak(a) for path, a in float_arrays(site.roots()).items()}
        chained: Replay | Chain = replay
        if feeds is not None:
            prev, pick, arg = feeds
            if isinstance(prev.replay, Chain):
                chained = Chain(prev.replay.first, [*prev.replay.links, (replay, arg, pick)])
            elif prev.replay is not None:
                chained = Chain(prev.replay, [(replay, arg, pick)])
            prev.fed = True
        w.candidates[id(frame)] = Candidate(site, depth, chained, caller=id(frame.f_back), before=before)

    def _clock_in(self) -> float | None:
        """Start counting the check's CPU time in :attr:`seconds`; None when a caller already counts it (a window
        closed from inside a call it hears, and checked there: counted once, by the outermost)."""
        if self._clocked:
            return None
        self._clocked = True
        return time.process_time()

    def _clock_out(self, t0: float | None) -> None:
        """End what :meth:`_clock_in` started (nothing for its None)."""
        if t0 is not None:
            self._clocked = False
            self.seconds += time.process_time() - t0

    # -- events inside a window ------------------------------------------------------------
    def on_call(self, frame: FrameType) -> None:
        """A call of the user's code while a window is open."""
        try:
            self._on_call(frame)
        except Exception as exc:  # noqa: BLE001 - the check's own error: it stops, the observer goes on
            self._broken(exc)

    def _on_call(self, frame: FrameType) -> None:
        if self.watch is not None:
            self._watch_step()
        w = self.window
        if w is None:
            return
        t0 = self._clock_in()
        try:
            w.calls += 1
            args = arg_values(frame)
            if frame.f_code is self.updater or not w.buffer_ids.isdisjoint(map(id, args.values())):
                _keep_buffers(w)  # the update's call, or one handed a buffer: it may read the buffers and empty them
            keys = {_batch_key(b) for b in w.batch.values()}
            handed = [v for v in args.values() if id(v) in w.batch or _batch_key(v) in keys]
            new = [v for v in args.values() if arraylike(v) and id(v) not in w.batch and _batch_key(v) not in keys
                   and not _carries(w, v)]
            if not handed and new:  # ``forward(X[idx])`` then ``backward(X[idx], T[idx])``: two copies of one batch
                handed = [v for v in new if _copy_of_batch(w, v)]
                new = [v for v in new if not any(v is c for c in handed)]
                w.batch.update((id(v), v) for v in handed)
            if frame.f_back is w.owner and handed == [] and _next_batch(w, new):
                self.finish()  # the loop hands the next batch
                return
            if w.held is not None and frame.f_back is w.owner and id(attrs_of(w.held[0]).get(w.held[1])) not in w.batch:
                self.finish()  # the loop set the next batch on the object
                return
            if handed and not _inside(frame, w.owner):
                self.finish()  # the batch used from elsewhere
                return
            if (handed and frame.f_back is w.owner and frame.f_code is w.opener and self.updates is not None
                    and self.updates() > w.opened_at):
                self.finish()  # the same batch handed to the same call again after an update: the next step (full batch)
                return
            if w.calls > MAX_WINDOW_CALLS:
                self.window = None
                self.skipped.append("no update followed within 5,000 calls")
                self._fruitless += 1
                return
            if not handed and frame.f_back is w.owner:
                _targets_without_the_batch(w, new)
            if handed:
                self._candidate(w, frame)
                if frame.f_back is w.owner:
                    w.owner_targets = targets_among(w.owner)
                # the other arrays handed along with the batch (``errors(x, t)``, ``backprop(x, y)``): targets
                w.target_candidates += [v for v in new if id(v) not in {id(t) for t in w.target_candidates}][:4]
            outs = {id(o): o for c in w.returned_candidates for _, _, o in (c.outputs or [])}
            out_name = next((k for k, v in args.items() if id(v) in outs), None)
            if out_name is not None and not handed:
                self._link(w, frame, args, out_name)
            if out_name is not None:
                others = [v for k, v in args.items() if k != out_name and arraylike(v)]
                w.target_candidates[:0] = others
                if others and w.loss is None:
                    w.losses[id(frame)] = (CallSite.of(frame), out_name, id(args[out_name]))
        finally:
            self._clock_out(t0)

    def _link(self, w: Window, frame: FrameType, args: dict[str, Any], out_name: str) -> None:
        """A call handed a candidate's output and no other array, by the frame that made that candidate's call: the
        next layer of a forward that the caller chains (``for layer in layers: x = layer.forward(x)``)."""
        if any(arraylike(v) for k, v in args.items() if k != out_name) or frame.f_back is None:
            return  # another array beside it (``loss(t, out)``, ``grad(out, t)``): not a layer of the forward
        caller = id(frame.f_back)
        given = args[out_name]
        for cand in reversed(w.returned_candidates):
            pick = next((i for i, _, o in cand.outputs or [] if o is given), False)
            if pick is not False and cand.caller == caller:
                self._candidate(w, frame, (cand, pick, out_name))
                return

    def idle(self, updates: int) -> bool:
        """Whether no call at ``updates`` (the observer's count) can matter to the check: no window or watch is open, no
        step waits for a template and one was taken, and no window can open yet: :meth:`may_want` is False (its
        boundaries passed, its attempts spent, or it stopped looking), or the next boundary is more than two updates
        away, so :meth:`wants` and :meth:`near` (asked at ``updates`` and ``updates + 2``) are both False. The
        observer's entry test ends there at every call, before asking anything else (the forum program: 28,000 of its
        calls after discovery, most of them while the check waits for update 40)."""
        if self.window is not None or self.watch is not None or self.pending or self.template is None:
            return False
        return not self.may_want() or updates + 3 < self.check_at[min(self._next, len(self.check_at) - 1)]

    @property
    def busy(self) -> bool:
        """Whether every call of the user's code should reach :meth:`on_call` (a window or a watch is open)."""
        return self.window is not None or self.watch is not None

    def on_return(self, frame: FrameType, value: Any) -> None:
        """A return of the user's code while a window is open."""
        try:
            self._on_return(frame, value)
        except Exception as exc:  # noqa: BLE001 - the check's own error: it stops, the observer goes on
            self._broken(exc)

    def _on_return(self, frame: FrameType, value: Any) -> None:
        watch = self.watch
        if watch is not None and watch.code is frame.f_code and watch.summing:
            shapes = {p.name: np.shape(p.read()) for p in watch.params}
            watch.returned(_returned_by_name(value, shapes, set()) or _by_shape(_flat_arrays(value), shapes, set()))
        elif watch is not None and watch.code is None and watch.align:
            self._watch_step()  # the buffers as the returning call left them: the batch's last sample is added
            # after the loop's last call (an update written inline reads them with no call in between)
        w = self.window
        if w is None:
            return
        t0 = self._clock_in()
        try:
            if frame is w.owner:
                self.finish()
                return
            cand = w.candidates.pop(id(frame), None)
            if cand is not None:
                objs = {id(a) for a in w.objects}
                outputs: list[tuple[Pick, np.ndarray, Any]] = [
                    (i, a, o) for i, a, o in returned_floats(value, keep=True) if id(o) not in objs and id(o) not in w.batch]
                if not outputs:  # a forward that stores its output instead of returning it
                    stored = _rebound(cand, w)
                    outputs = [(path, np.array(a, dtype=np.float64), a) for path, a in stored]
                    if stored:
                        self._stores[cand.site.code] = [path for path, _ in stored]
                cand.outputs = outputs
                if cand.outputs:
                    w.returned_candidates.append(cand)
            loss = w.losses.pop(id(frame), None)
            if loss is not None and w.loss is None and _scalar(value):
                w.loss = loss
            shapes = {p.name: a.shape for p, a in zip(w.params, w.before)}
            objs = {id(a) for a in w.objects}
            got = _returned_by_name(value, shapes, objs) or _by_shape(_flat_arrays(value), shapes, objs)
            code = frame.f_code
            site = f"{code.co_name}() at {short_path(code.co_filename)}:{code.co_firstlineno}"
            if got:
                w.returned.append((site, got))
                w.returned_codes[site] = code
            loc = {k: v for k, v in frame.f_locals.items() if issubclass(type(v), np.ndarray) and v.dtype.kind == "f"}
            names: dict[str, str] = {}
            local = _locals_by_shape(loc, shapes, objs, _own_params(frame, w), names)
            if local:
                w.locals_.append((site, local, names))
        finally:
            self._clock_out(t0)


def _network_ids(w: Window) -> set[int]:
    """The ids of the network's arrays as the window knows them: the parameters and their paired buffers (at the
    window's start and now) and the arrays near the network shaped like a parameter."""
    ids = {id(a) for a in w.objects} | w.buffer_ids
    ids |= {id(p.read()) for p in w.params} | {id(a) for _, a, _ in w.shaped}
    return ids | {id(p.buffer()) for p in w.params if p.buffer is not None}


def _targets_without_the_batch(w: Window, new: list[Any]) -> None:
    """Arrays the loop hands to a call without the batch (``grads(eye[:, y])``) with the shape of an output seen, or its
    entries in another shape (a (C,) one-hot for a (1, C) row), or class indices, one per row of an output seen
    (``net.backward(Y[idx])``): targets handed where the batch is not (the forward keeps
    it in a cache); never the network's own arrays (``adam(self.b2, self.gb2, ...)``: an output bias of zeros has the
    output's shape and looks like targets)."""
    shapes = {a.shape for c in w.returned_candidates for _, a, _ in c.outputs or []}
    sizes = {a.size for c in w.returned_candidates for _, a, _ in c.outputs or [] if 1 in a.shape}
    # class indices, one per row of a batch's output (``net.backward(Y[idx])`` after ``net.forward(X[idx])``)
    rows = {n for c in w.returned_candidates for _, a, _ in c.outputs or [] if a.ndim == 2 for n in a.shape}
    mine = _network_ids(w)
    w.target_candidates += [v for v in new if issubclass(type(v), np.ndarray) and id(v) not in mine
                            and (v.shape in shapes or v.ndim == 1 and (v.size in sizes or v.dtype.kind in "iu"
                                                                       and v.size in rows))
                            and targetish(v) and all(v is not t for t in w.target_candidates)][:4]


def _next_batch(w: Window, values: list[Any]) -> bool:
    """Whether ``values`` (arrays a call of the window's owner is handed) hold the next batch: an array with the input
    width in its shape that is no parameter, buffer or array of a parameter's shape. A call handed a parameter either
    applies the update (``sgd(W1, gW1, lr)``, ``step(p, g)``: its arrays with the input width are a parameter or its
    gradient) or computes the next step's gradients from the batch handed beside it (``gradients(W1, b1, W2, b2, x,
    t)``)."""
    ids = _network_ids(w)
    values = [v for v in values if _like_batch(w, v)]
    if not any(id(v) in ids for v in values):
        return any(holds_width(v, w.width) for v in values)
    shapes = {a.shape for a in w.before}
    return any(holds_width(v, w.width) and id(v) not in ids and shape_of(v) not in shapes for v in values)


def _like_batch(w: Window, v: Any) -> bool:
    """Whether ``v`` could be the next of the window's batches: beside a batch of arrays, an array with as many axes and
    the input width on the same axis (a batch's ``(32,)`` labels, beside its ``(32, 32)`` inputs, are no next batch of
    32 inputs); anything else as before."""
    shapes = [b.shape for b in w.batch.values() if issubclass(type(b), np.ndarray) and w.width in b.shape]
    if not shapes or not issubclass(type(v), np.ndarray):
        return True  # (and a batch of images the forward flattens, (10, 10) for 100 inputs: any shape, as before)
    return any(len(s) == v.ndim and any(n == w.width == s[i] for i, n in enumerate(v.shape)) for s in shapes)


def _copy_of_batch(w: Window, v: Any) -> bool:
    """Whether ``v`` is an array equal to an array of the window's batch: a second fancy-indexed copy of it (``X[idx]``
    evaluated again for the backward), the same batch by value where it is not by memory (:func:`_batch_key`)."""
    if not issubclass(type(v), np.ndarray):
        return False
    return any(issubclass(type(b), np.ndarray) and b.shape == v.shape and b.dtype == v.dtype and np.array_equal(b, v)
               for b in w.batch.values())


def _batch_key(v: Any) -> tuple[Any, ...]:
    """What makes two objects the same batch: the same list, or arrays over the same memory with the same
    shape (``data[i]`` evaluated twice gives two view objects of one sample)."""
    if issubclass(type(v), np.ndarray):
        return (v.__array_interface__["data"][0], v.shape, v.strides, v.dtype.str)
    return (id(v),)


def _rebound(cand: Candidate, w: Window) -> list[tuple[Path, np.ndarray]]:
    """The float arrays a returning call rebound near it (not parameters, not the batch): where it stored its output."""
    skip = {id(a) for a in w.objects} | set(w.batch)
    return [(path, a) for path, a in float_arrays(cand.site.roots()).items()
            if (path not in cand.before or cand.before[path]() is not a) and id(a) not in skip]


def _scalar(v: Any) -> bool:
    return issubclass(type(v), (float, np.floating)) or (issubclass(type(v), np.ndarray) and v.size == 1 and v.dtype.kind == "f")


def _inside(frame: FrameType, owner: FrameType) -> bool:
    """Whether ``owner`` is among the frames that led to ``frame`` (sixteen levels up)."""
    f, depth = frame.f_back, 0
    while f is not None and depth < 16:
        if f is owner:
            return True
        f, depth = f.f_back, depth + 1
    return False


def _keep_buffers(w: Window) -> None:
    """Copy into :attr:`Window.buffers_at_update` each paired buffer that holds something now: not empty, and not
    what it held when the window opened (a buffer already emptied by an earlier call keeps its last copy)."""
    kept = w.buffers_at_update
    if kept is None:
        kept = w.buffers_at_update = [None] * len(w.params)
    for k, (p, b0) in enumerate(zip(w.params, w.buffers_before)):
        a = p.buffer() if p.buffer is not None else None
        if b0 is None or not issubclass(type(a), np.ndarray):  # (by type: isinstance would ask the object)
            continue
        arr = cast(np.ndarray, a)
        if arr.shape == b0.shape and np.any(arr) and not np.array_equal(arr, b0):
            kept[k] = np.array(arr, copy=True)


def _flat_arrays(value: Any, depth: int = 0) -> list[np.ndarray]:
    if issubclass(type(value), np.ndarray):
        return [value] if value.dtype.kind == "f" else []
    if depth < 3 and issubclass(type(value), (tuple, list)) and len(value) <= 64:
        return [a for v in value for a in _flat_arrays(v, depth + 1)]
    if depth < 3 and issubclass(type(value), dict) and len(value) <= 64:
        return [a for v in value.values() for a in _flat_arrays(v, depth + 1)]
    return []


def _by_shape(arrays: list[np.ndarray], shapes: dict[str, tuple[int, ...]], exclude: set[int]) -> dict[str, np.ndarray]:
    """Arrays matched to the parameters of their shape, in order (the program's own order of both)."""
    pool = [a for a in arrays if id(a) not in exclude]
    out: dict[str, np.ndarray] = {}
    for name, shape in shapes.items():
        hit = next((i for i, a in enumerate(pool) if a.shape == shape), None)
        if hit is not None:
            out[name] = np.array(pool.pop(hit), dtype=np.float64)
    return out if len(out) >= max(1, len(shapes) // 2) else {}


def _returned_by_name(value: Any, shapes: dict[str, tuple[int, ...]], exclude: set[int]) -> dict[str, np.ndarray]:
    """A returned dict matched to the parameters by key (``grads['W1']`` or ``grads['dW1']`` for ``params['W1']``)."""
    if not issubclass(type(value), dict):
        return {}
    out: dict[str, np.ndarray] = {}
    for name, shape in shapes.items():
        key = name.split("[")[-1].strip("'\"]") if "[" in name else name.split(".")[-1]
        for k in (key, f"d{key}", f"grad_{key}"):
            v = value.get(k)
            if issubclass(type(v), np.ndarray) and v.shape == shape and id(v) not in exclude:
                out[name] = np.array(v, dtype=np.float64)
                break
    return out if len(out) >= max(1, len(shapes) // 2) else {}


def _own_params(frame: FrameType, w: Window) -> set[str]:
    """The parameters held by the frame's ``self`` (a layer object's backward sees only its own)."""
    me = frame.f_locals.get("self")
    if me is None or own_dict(me) is None:
        return set()
    ids = {id(v) for v in own_dict(me).values() if issubclass(type(v), np.ndarray)}
    return {p.name for p, a in zip(w.params, w.objects) if id(a) in ids}


def _locals_by_shape(loc: dict[str, np.ndarray], shapes: dict[str, tuple[int, ...]], exclude: set[int],
                     mine: set[str], names: dict[str, str]) -> dict[str, np.ndarray]:
    """Locals shaped like a parameter (a name that reads like its gradient first), one per parameter."""
    out: dict[str, np.ndarray] = {}
    wanted = [n for n in shapes if not mine or n in mine]
    taken: set[str] = set()
    order = list(loc)
    for name in wanted:
        cands = [k for k, v in loc.items() if v.shape == shapes[name] and id(v) not in exclude and k not in taken
                 and _affinity(k, "") >= 2]  # named like a gradient: dW, grad_w, weights_gradient, nabla_b
        if not cands:
            continue
        tail = _tail(name)
        cands.sort(key=lambda k: (-_affinity(k, tail), order.index(k)))
        if len(cands) > 1 and _affinity(cands[0], tail) == _affinity(cands[1], tail) < 4:
            # two locals read alike for it (``db1``, ``db2`` for ``biases[0]`` of layers of equal width): which one was
            # applied is a guess, and a guess is no reading
            continue
        k = cands[0]
        taken.add(k)
        out[name], names[name] = np.array(loc[k], dtype=np.float64), k
    return out


def _tail(name: str) -> str:
    """The last key or attribute of a parameter's text: ``b1`` of ``params['b1']`` and ``self.b1``, ``W`` of
    ``layers[0].W`` (an index is no name)."""
    last = name.split(".")[-1]
    keys = re.findall(r"\[\s*['\"]([^'\"]+)['\"]\s*\]", last)
    return keys[-1] if keys else last.split("[")[0]


def _affinity(local: str, param: str) -> int:
    """How much a local's name reads like the gradient of ``param`` (``dW1`` for ``W1``, ``grad_w`` for ``weights``)."""
    lo, p = local.lower(), param.lower()
    score = 0
    if lo in (f"d{p}", f"grad_{p}", f"{p}_grad", f"d_{p}", f"g{p}", f"{p}_gradient", f"nabla_{p}"):
        score += 4
    if p and p[0] in lo:
        score += 1
    if "grad" in lo or lo.startswith("d"):
        score += 2
    if any(s in lo for s in ("delta", "err", "out", "cache", "velocity", "v_", "m_", "mom")):
        score -= 2
    return score


def _carries(w: Window, v: Any) -> bool:
    """Whether ``v`` is an output a forward computed (:func:`_computed`), or a list or tuple holding the window's batch
    or a forward's output among its first 64 items (the list of every layer's output a forward returned, ``[x, h,
    out]``): this step's arrays, not the next batch."""
    if not issubclass(type(v), (list, tuple)):
        return _computed(w, v)
    outs = {id(o) for c in w.returned_candidates for _, _, o in c.outputs or []}
    return any(id(x) in w.batch or id(x) in outs for x in v[:64])


def _computed(w: Window, v: Any) -> bool:
    """Whether array ``v`` is the output of a candidate that computed it (an output of 32 rows is no batch of 32 inputs:
    ``backward(probs, labels)`` with 32 features and batches of 32 closed the window before its update). Not what a
    generator yielded: one handed the data set is a candidate whose "outputs" are the batch and its targets, which the
    backward is handed next (npt1804: its targets lost, the loss assumed wrong)."""
    return any(o is v for c in w.returned_candidates if not c.site.code.co_flags & CO_GENERATOR
               for _, _, o in c.outputs or [])


def _merged_decay(notes: list[str]) -> list[str]:
    """The weight-decay notes of the checks (``weight decay read on A, B: the update is ...``), one per reading of
    the decay: the tensors of the checks that read the same decay listed once, in the order first read."""
    tensors: dict[str, list[str]] = {}
    for note in notes:
        head, sep, tail = note.partition(": ")
        names = tensors.setdefault(tail, [])
        names.extend(n for n in head.removeprefix("weight decay read on ").split(", ") if n not in names)
    return [f"weight decay read on {', '.join(names)}: {tail}" for tail, names in tensors.items()]

