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
the program's is written; the recorder's time is counted in ``seconds``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from types import CodeType, FrameType
from typing import Any

import numpy as np

from netdoctor.nn.threads import blas_threads
from netdoctor.observe.numpy.arrays import path_text, walk_arrays, weak
from netdoctor.observe.numpy.replay import (
    CallSite,
    Chain,
    Path,
    Pick,
    Replay,
    arg_values,
    float_arrays,
    picked,
    quietly,
)
from netdoctor.observe.numpy.update_check import (
    DIRECTION,
    Applied,
    LossChoice,
    UpdateCheck,
    check_update,
    climbing,
)
from netdoctor.observe.numpy.update_window import (
    Candidate,
    TrackedArray,
    Window,
    add_owner_targets,
    applied_readings,
    arraylike,
    forward_choices,
    is_label,
    returned_floats,
    shape_of,
    targetish,
    targets_among,
    template_choices,
)
from netdoctor.usercode import short_path

__all__ = ["UpdateCheckRecorder", "CHECK_AT", "CheckedStep", "TrackedArray"]

CHECK_AT = (1, 6, 40)
"""Update counts after which a window opens: early (before saturation hides everything), a little
later, and once training is under way. Three checks per run at most."""
MAX_WINDOW_CALLS = 5_000
"""User calls after which an open window is given up (a step that never comes)."""
MAX_ATTEMPTS = 24
"""Windows opened in all (one that saw nothing applied, e.g. an evaluation, is retried at the next call)."""
GIVE_UP_AFTER = 8
"""Chances in a row that compared nothing (a window closed unchecked, an update passed while a window was wanted and
none opened) after which the update check stops looking for good (see :meth:`UpdateCheckRecorder.offer`)."""


@dataclass(frozen=True)
class CheckedStep:
    """One checked update with the batch it was computed on: what the rules read the step's scale from
    (a factor of the batch size in a step meant for the batch mean is ``summed-gradient``)."""

    check: UpdateCheck
    rows: int
    """Samples in the batch the step was computed on (1 for one sample)."""


MAX_LINKS = 16
"""Calls a chained forward (:class:`~netdoctor.observe.numpy.replay.Chain`) may hold: the layers of a deep network."""


MAX_WATCH_CALLS = 5_000
"""User calls a :class:`_SignWatch` waits for the update before it gives up."""


@dataclass
class _SignWatch:
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
        moved = not all(np.array_equal(a, b) for a, b in zip(now, self.base))
        if self.code is not None:  # returned gradients, summed here between two updates
            if moved and not self.summing:  # the end of a batch begun before the watch: sum the next whole one
                self.base, self.summing, self.last = now, True, [None] * len(self.params)
                return None
            if moved and all(g is None for g in self.last):  # the same update, applied tensor by tensor
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
            self.base, self.summing = now, True
            self._read_buffers()
            return None
        return self._sign(now)

    def _read_buffers(self) -> bool:
        """Read the sampled buffer entries into ``last``; whether they changed since the last read."""
        changed = False
        for k, (src, i) in enumerate(zip(self.sources, self.idx)):
            buf = src()
            new = np.asarray(buf, dtype=np.float64).reshape(-1)[i] if isinstance(buf, np.ndarray) else None
            prev = self.last[k]
            changed |= new is not None and (prev is None or not np.array_equal(new, prev))
            self.last[k] = new
        return changed

    def _sign(self, now: list[np.ndarray]) -> bool | None:
        # only the tensors that moved: a loop applying its update tensor by tensor is seen after the first
        pairs = [(b - a, g) for a, b, g in zip(now, self.base, self.last) if g is not None and not np.array_equal(a, b)]
        step = np.concatenate([s for s, _ in pairs]) if pairs else np.zeros(0)
        grad = np.concatenate([g for _, g in pairs]) if pairs else step[:0]
        norm = float(np.linalg.norm(step) * np.linalg.norm(grad))
        if norm > 0 and math.isfinite(norm):
            self.scale = float(step @ grad) / float(grad @ grad)
            self.cos = float(step @ grad) / norm
        # plain SGD: +-1; anything else tells nothing. Adaptive and momentum steps follow the gradient's direction only
        least = DIRECTION if self.adaptive else 0.9
        return norm > 0 and float(step @ grad) / norm > least


class UpdateCheckRecorder:
    """Chooses a few training steps, captures each as a window, checks it (see the module docstring)."""

    def __init__(self, *, check_at: tuple[int, ...] = CHECK_AT, max_coords: int | None = None,
                 updates: Callable[[], int] | None = None) -> None:
        """Args: check_at: update counts after which a window opens. max_coords: entries per tensor.
        updates: the observer's count of updates so far (a window spanning two updates is not judged)."""
        self.updates = updates
        self.check_at = check_at
        self.max_coords = max_coords
        self.checks: list[UpdateCheck] = []
        self.steps: list[CheckedStep] = []
        """Each check of :attr:`checks` with the rows of the batch it was made on."""
        self.skipped: list[str] = []
        """Why a window could not be checked (one sentence each)."""
        self.window: Window | None = None
        self.template: CallSite | None = None
        """The last call of the observer's forward outside a window (references only): the forward of a
        training step that computes its own forward inline (``predict`` used only to evaluate)."""
        self.pending: tuple[Window, list[Applied]] | None = None
        self.watch: _SignWatch | None = None
        """Which way the buffers of the last check are applied, while that is not known (see :class:`_SignWatch`)."""
        """A step waiting for the program's forward to be seen (the first evaluation)."""
        self.adaptive = False
        self.momentum = False
        """The program's steps read a velocity (momentum, Nesterov): a step is no multiple of its batch's gradient;
        which way the gradients are applied is told from its direction only, as for an adaptive rule."""
        """The program's update rule is adaptive (Adam-like: each step ~ m / sqrt(v)): the parameters' change is no
        multiple of the gradient, only its direction is compared (see :func:`check_update`)."""
        self.seconds = 0.0
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
        self._no_forward: dict[CodeType, int] = {}
        """Loop code -> its steps in which no call returned the output (an inline forward): after three, no
        window opens there until the program's forward is seen elsewhere."""
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

    def notes(self) -> list[str]:
        """What was checked, in one sentence (and why a window could not be, in another)."""
        out = []
        if self.checks:
            coords = sorted({c.coords for c in self.checks})
            loss = self.checks[0].loss
            out.append(f"update check: {len(self.checks)} update(s) compared with finite differences of the program's "
                       f"own forward ({'/'.join(map(str, coords))} sampled entries each; loss: {loss}; "
                       f"{self.seconds:.2f} s)")
        for why in dict.fromkeys(self.skipped):
            out.append(f"update check: a step not compared ({why})" if self.checks else f"update check not run: {why}")
        if self.pending is not None:
            why = ("the step computed its forward inline and the program's forward function was not called elsewhere "
                   "before the run ended")
            out.append(f"update check: a later step not compared ({why})" if self.checks else f"update check not run: {why}")
        elif not out and self.updates is not None and self.updates() > 0:
            # silence would read as "checked, nothing wrong": say why nothing was compared
            out.append("update check not run: " + ("no call of the training step was handed a batch of the "
                       "network's inputs" if self.offers else "the network's input width is not known (its "
                       "layers were not found in order)"))
        if self.done:
            out.append(f"update check {self.done}; {len(self.checks)} step(s) compared in all")
        return out

    # -- opening -------------------------------------------------------------------------
    def wants(self, updates: int) -> bool:
        """Whether a window may open now (none open, a boundary reached, attempts left)."""
        # one update early: the window opens at the next batch handed down and spans that whole step
        return (self.window is None and self._next < len(self.check_at) and updates + 1 >= self.check_at[self._next]
                and self._attempts < MAX_ATTEMPTS and not self.done)

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

    def _new_chance(self, updates: int) -> None:
        """The update count moved while a window was wanted: an update during which none opened compared nothing.
        After :data:`GIVE_UP_AFTER` such chances in a row (windows closed unchecked counted too), the check stops
        looking: what it compared stays. Never while a step waits for the program's forward (``pending``), a sign
        watch is open, or windows are held back until the program's forward is first seen (an evaluation may call it
        late): the check would still compare there. Decided from counts, never time."""
        if self._chance_at >= 0 and not self._opened:
            self._fruitless += 1
        self._chance_at, self._opened = updates, False
        waiting = self.template is None and any(n >= 3 for n in self._no_forward.values())
        if (self._fruitless >= GIVE_UP_AFTER and self.window is None and self.pending is None and self.watch is None
                and not waiting):
            self.done = (f"it stopped looking at update {updates:,}: the last {self._fruitless} chances in a row (windows "
                         "closed unchecked, updates during which no window could open) compared nothing")

    def _broken(self, exc: Exception) -> None:
        self.window = self.pending = None
        self._attempts = MAX_ATTEMPTS
        self.skipped.append(f"the check stopped on an error of its own ({type(exc).__name__}: {exc})")

    def _offer(self, frame: FrameType, tracked: Callable[[], list[TrackedArray]], input_width: int, where: str,
               root: Any) -> None:
        given = [v for v in arg_values(frame).values() if arraylike(v)]
        batch = {id(v): v for v in given if input_width in shape_of(v)}
        held: tuple[Any, str] | None = None
        if not batch:  # the batch set on an object the call is handed (``net.inputs = X[idx]; net.forward()``)?
            found = self._held_batch(frame, input_width, tracked)
            if found is None:
                return
            held, batch = (found[0], found[1]), {id(found[2]): found[2]}
        arrays = [x for p in tracked() for x in (p.read(), p.buffer() if p.buffer is not None else None)]
        network = {id(x) for x in arrays}
        shapes = {x.shape for x in arrays if isinstance(x, np.ndarray)}
        if any(id(v) in network for v in given):
            # a call handed a parameter either applies the update (``sgd(W1, dW1, lr)``, ``step(p, g)``: what it is
            # handed with the input width in its shape is that parameter or its gradient) or computes the gradients
            # from the batch handed beside it (``gradients(W1, b1, W2, b2, x, t)``): only an array of no parameter's
            # shape is a batch there
            batch = {i: v for i, v in batch.items() if id(v) not in network and shape_of(v) not in shapes}
        # the list that holds the weights (``forward(weights, biases, x)``) or arrays of their shapes (gradients,
        # zeros to reset them with) has their shape, not a batch's
        batch = {i: v for i, v in batch.items() if not _holds(v, network, shapes)}
        if not batch:
            return
        # a class index handed with one sample (``accumulate(x, label)``) is a target too
        others = [v for v in given if id(v) not in batch and id(v) not in network] + [
            v for v in arg_values(frame).values() if is_label(v)]
        # the window belongs to the frame that handed the batch down: climb while the caller was handed it too
        handed = [frame]
        owner = frame.f_back
        if owner is not None and (self._quiet.get(owner.f_code, 0) >= 2 or
                                  self.template is None and self._no_forward.get(owner.f_code, 0) >= 3):
            return
        while owner is not None and len(handed) < 4 and any(id(v) in batch for v in arg_values(owner).values()):
            given = [v for v in arg_values(owner).values() if arraylike(v)]
            batch.update({id(v): v for v in given if input_width in shape_of(v) and not _holds(v, network, shapes)})
            others += [v for v in given if id(v) not in batch]
            handed.append(owner)
            owner = owner.f_back
        if owner is None or any(_under_way(f) for f in handed[1:]):
            return
        self._open(owner, handed, batch, others, held, shapes, tracked, where, input_width, root)

    def _open(self, owner: FrameType, handed: list[FrameType], batch: dict[int, Any], others: list[Any],
              held: tuple[Any, str] | None, shapes: set[tuple[int, ...]], tracked: Callable[[], list[TrackedArray]],
              where: str, input_width: int, root: Any) -> None:
        """Open a window at ``owner``, the frame that handed the batch down (``handed``: it and the calls below it)."""
        t0 = time.perf_counter()
        try:
            params = tracked()
            objects = [p.read() for p in params]
            if not params or not all(isinstance(a, np.ndarray) and a.dtype.kind == "f" for a in objects):
                return
            if not self._watch_return(owner) or self._quiet.get(owner.f_code, 0) >= 2:
                return
            buffer_objects = [p.buffer() if p.buffer is not None else None for p in params]
            w = Window(
                owner=owner, params=params, objects=objects, before=[np.array(a, copy=True) for a in objects],
                buffers_before=[np.array(b, copy=True) if isinstance(b, np.ndarray) else None for b in buffer_objects],
                buffer_objects=buffer_objects, work={p.name: np.array(a, dtype=np.float64) for p, a in zip(params, objects)},
                where=where, batch=batch, width=input_width, opened_at=self.updates() if self.updates else 0,
                computed_in=f"{owner.f_code.co_name}() at {short_path(owner.f_code.co_filename)}:{owner.f_code.co_firstlineno}",
            )
            w.target_candidates = others + list(batch.values())
            if held is not None:
                w.held = held
                w.held_targets = _held_targets(held[0], batch, shapes)
                w.target_candidates += [v for _, v in w.held_targets]
            w.owner_targets = targets_among(owner)  # this step's t, before the loop computes the next one
            w.shaped = _shaped_arrays(root, objects)
            self.window = w
            self._opened = True
            for f in handed:
                self._candidate(w, f)
        finally:
            self.seconds += time.perf_counter() - t0

    def _held_batch(self, frame: FrameType, width: int, tracked: Callable[[], list[TrackedArray]]
                    ) -> tuple[Any, str, np.ndarray] | None:
        """An array with the input width in its shape that an object the call is handed holds (``net.inputs =
        X[idx]; net.forward()``), whose entries changed since this call site was last offered: the batch, set on the
        object by the loop. A data set kept there does not change; parameters and arrays of their shapes (gradients)
        are never a batch."""
        objects = [v for v in arg_values(frame).values() if _attrs(v)]
        if not objects:
            return None
        arrays = [x for p in tracked() for x in (p.read(), p.buffer() if p.buffer is not None else None)]
        ids = {id(x) for x in arrays}
        shapes = {x.shape for x in arrays if isinstance(x, np.ndarray)}
        if len(self._held) > 4096:
            self._held.clear()
        found: tuple[Any, str, np.ndarray] | None = None
        for obj in objects[:4]:
            for name, v in list(_attrs(obj).items())[:64]:
                if (not isinstance(v, np.ndarray) or v.dtype.kind != "f" or width not in v.shape or id(v) in ids
                        or v.shape in shapes or v.size > 1_000_000):
                    continue
                key = (id(obj), name)
                mark = (v.shape, v.reshape(-1)[:: max(1, v.size // 64)][:64].tobytes())
                last, self._held[key] = self._held.get(key), mark
                if found is None and last is not None and last != mark:
                    found = (obj, name, v)
        return found

    def saw_forward(self, frame: FrameType) -> None:
        """A call of the program's forward (as the observer found it) outside a window: the template."""
        try:
            self._saw_forward(frame)
        except Exception as exc:  # noqa: BLE001 - the check's own error: it stops, the observer goes on
            self._broken(exc)

    def _saw_forward(self, frame: FrameType) -> None:
        if self.window is not None:
            return
        self.template = CallSite.of(frame)
        if self.pending is not None:
            (w, applied), self.pending = self.pending, None
            t0 = time.perf_counter()
            try:
                with quietly(), blas_threads(1):  # our own products: one thread (a busy machine stalls a second)
                    self._check(w, applied)
            except Exception as exc:  # noqa: BLE001 - see finish()
                self.skipped.append(f"the forward could not be run again on copies ({type(exc).__name__}: {exc})")
            finally:
                self.seconds += time.perf_counter() - t0

    def _watch_return(self, frame: FrameType) -> bool:
        """Have the return of a running frame reach :meth:`on_return` (the observer may not watch it)."""
        if frame.f_trace is not None:
            return True  # the observer's tracer watches it and passes its return on
        if frame.f_code.co_name == "<module>":
            return True  # a script's module frame: its next batch or the end of the program closes the window

        def local(f: FrameType, event: str, arg: Any) -> Any:
            if event == "return" and self.window is not None and self.window.owner is f:
                try:
                    self.on_return(f, arg)
                except Exception as exc:  # noqa: BLE001 - our error must never become the program's
                    self.window = None
                    self.skipped.append(f"the check failed ({type(exc).__name__}: {exc})")
            return local

        frame.f_trace = local
        return True

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
            replay = Replay(site, _work_by_id(w))
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
        t0 = time.perf_counter()
        try:
            w.calls += 1
            args = arg_values(frame)
            keys = {_batch_key(b) for b in w.batch.values()}
            handed = [v for v in args.values() if id(v) in w.batch or _batch_key(v) in keys]
            new = [v for v in args.values() if arraylike(v) and id(v) not in w.batch and _batch_key(v) not in keys
                   and not _carries(w, v)]
            if frame.f_back is w.owner and handed == [] and _next_batch(w, new):
                self.finish()  # the loop hands the next batch
                return
            if w.held is not None and frame.f_back is w.owner and id(_attrs(w.held[0]).get(w.held[1])) not in w.batch:
                self.finish()  # the loop set the next batch on the object
                return
            if handed and not _inside(frame, w.owner):
                self.finish()  # the batch used from elsewhere
                return
            if w.calls > MAX_WINDOW_CALLS:
                self.window = None
                self.skipped.append("no update followed within 5,000 calls")
                self._fruitless += 1
                return
            if not handed and frame.f_back is w.owner:
                # arrays the loop hands to a call without the batch (``grads(eye[:, y])``) with the shape of an
                # output seen, or its entries in another shape (a (C,) one-hot for a (1, C) row): targets handed where
                # the batch is not (the forward keeps it in a cache)
                shapes = {a.shape for c in w.returned_candidates for _, a, _ in c.outputs or []}
                sizes = {a.size for c in w.returned_candidates for _, a, _ in c.outputs or [] if 1 in a.shape}
                w.target_candidates += [v for v in new if isinstance(v, np.ndarray)
                                        and (v.shape in shapes or v.ndim == 1 and v.size in sizes)
                                        and targetish(v) and all(v is not t for t in w.target_candidates)][:4]
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
            self.seconds += time.perf_counter() - t0

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

    @property
    def busy(self) -> bool:
        """Whether every call of the user's code should reach :meth:`on_call` (a window or a watch is open)."""
        return self.window is not None or self.watch is not None

    def _watch_step(self) -> None:
        watch = self.watch
        if watch is None:
            return
        t0 = time.perf_counter()
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
            self.seconds += time.perf_counter() - t0

    def _start_watch(self, w: Window, check: UpdateCheck) -> None:
        """After a check whose buffers or returned gradients were a negative multiple of the gradient, or one
        sample's, and no update was seen (which way, and at what scale, they are applied is not known yet)."""
        # a negative factor: which way it is applied; one sample's gradient: how the batch's are applied
        if "update" in check.readings or not check.ok or not (check.factor < 0 or check.factor > 0 and _rows(w) == 1):
            return
        names = [v.name for v in check.tensors if v.kind == "buffer" and v.name in w.buffer_sources]
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
        self.watch = _SignWatch(len(self.checks) - 1, params, sources, idx, base, [None] * len(params), code=code,
                                align=check.factor > 0, adaptive=self.adaptive or self.momentum)
        self.watch.step()

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
        t0 = time.perf_counter()
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
            loc = {k: v for k, v in frame.f_locals.items() if isinstance(v, np.ndarray) and v.dtype.kind == "f"}
            names: dict[str, str] = {}
            local = _locals_by_shape(loc, shapes, objs, _own_params(frame, w), names)
            if local:
                w.locals_.append((site, local, names))
        finally:
            self.seconds += time.perf_counter() - t0

    # -- the check --------------------------------------------------------------------------
    def finish(self) -> None:
        """Close the window: collect what was applied and check it on the copies."""
        w = self.window
        self.window = None
        if w is None:
            return
        t0 = time.perf_counter()
        try:
            applied = applied_readings(w)
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
            self.seconds += time.perf_counter() - t0

    def _check(self, w: Window, applied: list[Applied]) -> None:
        bad = [name for name, a in w.work.items() if not np.isfinite(a).all()]
        if bad:  # a derivative at NaN is NaN: nothing to compare (the run diverged before this step was seen)
            self._skip(f"{', '.join(bad[:3])}{', ...' if len(bad) > 3 else ''} held NaN or Inf already when the step "
                       f"after update {w.opened_at:,} was seen: no derivative to compare with")
            self._attempts = MAX_ATTEMPTS  # NaN stays NaN: no later step can be compared either
            return
        by_id = _work_by_id(w)
        choices = forward_choices(w)
        why = self._try(w, applied, by_id, choices)
        if why is None:
            return
        if self.template is None:
            if not choices:  # the step computes its forward inline: wait for the program's forward
                self._no_forward[w.owner.f_code] = self._no_forward.get(w.owner.f_code, 0) + 1
                self.pending = self.pending or (w, applied)
            else:
                self._skip(why)
            return
        template = template_choices(self.template, self._stores, w, by_id)
        if not template:
            why = f"{self.template.code.co_name}() does not take the batch of {w.owner.f_code.co_name}()"
        why = self._try(w, applied, by_id, template) if template else why
        if why is not None:
            self._skip(why)

    def _skip(self, why: str) -> None:
        """A step that could not be checked (said once in the notes); the next boundary is tried."""
        self.skipped.append(why)
        self._next += 1
        self._fruitless += 1

    def _try(self, w: Window, applied: list[Applied], by_id: dict[int, np.ndarray],
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
            again = forward()
            if not all(np.array_equal(a, kept[name], equal_nan=True) for name, a in w.work.items()):
                for name, a in w.work.items():  # a training step run again updated the working copies: undone
                    a[...] = kept[name]
                why = f"{replay.name}() writes into the parameters it computes with (a training step, not a forward)"
                continue
            if not np.array_equal(out0, again):
                why = f"{replay.name}() gives another output at every call (dropout or noise)"
                continue
            if cand.outputs is not None and (out0.shape != mine[pick].shape or
                                             not np.allclose(out0, mine[pick], rtol=1e-5, atol=1e-7)):
                why = f"{replay.name}() run again on copies does not reproduce the program's output"
                continue
            deaf = _deaf(forward, w.work)
            if deaf:
                why = f"{replay.name}() does not compute with {', '.join(deaf)}"
                continue
            check = check_update(forward, w.work, applied, losses, where=w.where or w.computed_in,
                                 max_coords=self.max_coords or 12, seed=len(self.checks),
                                 biases=[p.name for p in w.params if p.bias], adaptive=self.adaptive or self.momentum)
            check.computed_in = w.computed_in
            check.forward = f"{replay.name}() at {short_path(replay.where)}"
            if isinstance(replay, Chain):
                check.forward = (f"{len(replay)} calls chained by {w.computed_in.split(' at ')[0]}, from "
                                 f"{replay.first.name}() at {short_path(replay.first.where)} to {check.forward}")
            if not check.tensors:
                self._skip(check.note)
                return None
            self.checks.append(check)
            self.steps.append(CheckedStep(check, _rows(w)))
            self._fruitless = 0
            self._start_watch(w, check)
            self._next += 1
            return None
        return why


# -- small helpers -------------------------------------------------------------------------------
def _rows(w: Window) -> int:
    """Samples in the window's batch: the size of an input array (or list) over the network's input width."""
    sizes = [int(np.prod(shape)) // w.width for shape in map(shape_of, w.batch.values()) if w.width and w.width in shape]
    return max(sizes, default=0)


def _holds(v: Any, ids: set[int], shapes: set[tuple[int, ...]]) -> bool:
    """Whether ``v`` is a list or tuple with one of the arrays ``ids`` among its first 64 items (or among theirs: a list
    of ``[W, b]`` pairs), or whose first item is an array of one of ``shapes`` (a sample of a batch is never shaped
    like a weight matrix)."""
    if not isinstance(v, (list, tuple)) or not v:
        return False
    if any(isinstance(x, (list, tuple)) and any(id(y) in ids for y in x[:8]) for x in v[:64]):
        return True  # the network's [W, b] pairs (``forward(layers, x)``)
    return any(id(x) in ids for x in v[:64]) or (isinstance(v[0], np.ndarray) and v[0].shape in shapes)


def _next_batch(w: Window, values: list[Any]) -> bool:
    """Whether ``values`` (arrays a call of the window's owner is handed) hold the next batch: an array with the input
    width in its shape that is no parameter, buffer or array of a parameter's shape. A call handed a parameter either
    applies the update (``sgd(W1, gW1, lr)``, ``step(p, g)``: its arrays with the input width are a parameter or its
    gradient) or computes the next step's gradients from the batch handed beside it (``gradients(W1, b1, W2, b2, x,
    t)``)."""
    ids = {id(a) for a in w.objects} | {id(b) for b in w.buffer_objects if b is not None}
    ids |= {id(p.read()) for p in w.params} | {id(a) for _, a, _ in w.shaped}
    ids |= {id(p.buffer()) for p in w.params if p.buffer is not None}
    if not any(id(v) in ids for v in values):
        return any(w.width in shape_of(v) for v in values)
    shapes = {a.shape for a in w.before}
    return any(w.width in shape_of(v) and id(v) not in ids and shape_of(v) not in shapes for v in values)


def _work_by_id(w: Window) -> dict[int, np.ndarray]:
    """The parameters as they were at the step's start and as they are now (a program may rebind them), both
    mapped to the working copies, which hold the values the step's gradient belongs to."""
    by_id = {id(a): w.work[p.name] for p, a in zip(w.params, w.objects)}
    by_id.update({id(p.read()): w.work[p.name] for p in w.params})
    return by_id


def _batch_key(v: Any) -> tuple[Any, ...]:
    """What makes two objects the same batch: the same list, or arrays over the same memory with the same
    shape (``data[i]`` evaluated twice gives two view objects of one sample)."""
    if isinstance(v, np.ndarray):
        return (v.__array_interface__["data"][0], v.shape, v.strides, v.dtype.str)
    return (id(v),)


def _pick(replay: Replay | Chain, value: Any, pick: Pick) -> np.ndarray:
    """The output of a replayed forward (see :func:`~netdoctor.observe.numpy.replay.picked`), as float64."""
    return np.asarray(picked(replay, value, pick), dtype=np.float64)


def _rebound(cand: Candidate, w: Window) -> list[tuple[Path, np.ndarray]]:
    """The float arrays a returning call rebound near it (not parameters, not the batch): where it stored its output."""
    skip = {id(a) for a in w.objects} | set(w.batch)
    return [(path, a) for path, a in float_arrays(cand.site.roots()).items()
            if (path not in cand.before or cand.before[path]() is not a) and id(a) not in skip]


def _under_way(frame: FrameType) -> bool:
    """Whether a frame that was handed the batch has computed arrays of its own already (a float array among its
    locals that is none of its arguments): a step under way when the update check began looking (the observer found
    the network in the middle of it). A window opened there would miss what the step computed before (its forward
    among it) and pair the gradient with an inner call's output (a pre-activation): it opens at the next step."""
    args = {id(v) for v in arg_values(frame).values()}
    return any(isinstance(v, np.ndarray) and v.dtype.kind == "f" and id(v) not in args
               for v in list(frame.f_locals.values())[:256])


def _scalar(v: Any) -> bool:
    return isinstance(v, (float, np.floating)) or (isinstance(v, np.ndarray) and v.size == 1 and v.dtype.kind == "f")


def _inside(frame: FrameType, owner: FrameType) -> bool:
    """Whether ``owner`` is among the frames that led to ``frame`` (sixteen levels up)."""
    f, depth = frame.f_back, 0
    while f is not None and depth < 16:
        if f is owner:
            return True
        f, depth = f.f_back, depth + 1
    return False


def _flat_arrays(value: Any, depth: int = 0) -> list[np.ndarray]:
    if isinstance(value, np.ndarray):
        return [value] if value.dtype.kind == "f" else []
    if depth < 2 and isinstance(value, (tuple, list)) and len(value) <= 64:
        return [a for v in value for a in _flat_arrays(v, depth + 1)]
    if depth < 2 and isinstance(value, dict) and len(value) <= 64:
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
    if not isinstance(value, dict):
        return {}
    out: dict[str, np.ndarray] = {}
    for name, shape in shapes.items():
        key = name.split("[")[-1].strip("'\"]") if "[" in name else name.split(".")[-1]
        for k in (key, f"d{key}", f"grad_{key}"):
            v = value.get(k)
            if isinstance(v, np.ndarray) and v.shape == shape and id(v) not in exclude:
                out[name] = np.array(v, dtype=np.float64)
                break
    return out if len(out) >= max(1, len(shapes) // 2) else {}


def _own_params(frame: FrameType, w: Window) -> set[str]:
    """The parameters held by the frame's ``self`` (a layer object's backward sees only its own)."""
    me = frame.f_locals.get("self")
    if me is None or not hasattr(me, "__dict__"):
        return set()
    ids = {id(v) for v in vars(me).values() if isinstance(v, np.ndarray)}
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
        tail = name.split(".")[-1].split("[")[0].strip("'\"]")
        cands.sort(key=lambda k: (-_affinity(k, tail), order.index(k)))
        k = cands[0]
        taken.add(k)
        out[name], names[name] = np.array(loc[k], dtype=np.float64), k
    return out


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


def _shaped_arrays(root: Any, objects: list[Any]) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Float arrays reachable from ``root`` (three levels) with a parameter's shape that are not parameters, copied."""
    if root is None:
        return []
    shapes = {a.shape for a in objects}
    ids = {id(a) for a in objects}
    out: list[tuple[str, np.ndarray, np.ndarray]] = []
    for path, a in walk_arrays(root, globals_root=isinstance(root, dict) and "__name__" in root, max_depth=3):
        if a.shape in shapes and id(a) not in ids and len(out) < 32:
            out.append((path_text(path), a, a.copy()))
    return out


def _deaf(forward: Callable[[], np.ndarray], work: dict[str, np.ndarray]) -> list[str]:
    """The working copies the forward does not read (it computes with other arrays): one NaN entry in a copy
    it reads reaches its output (a small change would not: saturated units swallow it)."""
    out = []
    for name, a in work.items():
        flat = a.reshape(-1)
        old = float(flat[0])
        try:
            flat[0] = np.nan
            if not np.isnan(forward()).any():
                out.append(name)
        finally:
            flat[0] = old
    return out


_HEAP = 1 << 9  # Py_TPFLAGS_HEAPTYPE: a class written in Python


def _attrs(v: Any) -> dict[str, Any]:
    """The attributes of an instance of a class written in Python (read without asking the instance), else empty."""
    if not type(v).__flags__ & _HEAP or isinstance(v, (type, np.ndarray, list, tuple, dict)):
        return {}
    try:
        d = object.__getattribute__(v, "__dict__")
    except AttributeError:
        return {}
    return d if isinstance(d, dict) else {}


def _carries(w: Window, v: Any) -> bool:
    """Whether ``v`` is a list or tuple holding the window's batch or a forward's output among its first 64 items (the
    list of every layer's output a forward returned, ``[x, h, out]``): this step's arrays, not the next batch."""
    if not isinstance(v, (list, tuple)):
        return False
    outs = {id(o) for c in w.returned_candidates for _, _, o in c.outputs or []}
    return any(id(x) in w.batch or id(x) in outs for x in v[:64])


def _held_targets(obj: Any, batch: dict[int, Any], shapes: set[tuple[int, ...]]) -> list[tuple[str, np.ndarray]]:
    """Target-like arrays the object that holds the batch holds beside it (``net.targets``), by attribute."""
    return [(name, v) for name, v in list(_attrs(obj).items())[:64]
            if isinstance(v, np.ndarray) and id(v) not in batch and v.shape not in shapes and targetish(v)][:8]


def _drop_output_slots(w: Window) -> None:
    """Take back the held object's arrays whose attribute a forward of the window rebound to its output (``self.probs``
    held the last step's probabilities when the window opened: an output slot, not the targets)."""
    if w.held is None or not w.held_targets:
        return
    computed = {id(o) for c in w.returned_candidates for _, _, o in c.outputs or []}
    now = _attrs(w.held[0])
    slots = {id(v) for name, v in w.held_targets if id(now.get(name)) in computed}
    w.target_candidates = [t for t in w.target_candidates if id(t) not in slots]
