"""One window of the update check: the calls of one training step, and what they tell.

A :class:`Window` holds what :class:`~netdoctor.observe.numpy.update_recorder.UpdateCheckRecorder` saw while one
training step ran: the parameters before it, the batch, the calls handed the batch (:class:`Candidate` forwards,
run again on copies by :mod:`netdoctor.observe.numpy.replay`), the arrays that may be the targets, the gradients
returned or left among a function's locals. When the window closes, :func:`applied_readings` says what the step
applied (the update, the buffers' change, the gradients returned or among the locals) and :func:`forward_choices`
(or :func:`template_choices`, with the program's forward seen elsewhere) which forward, output and loss to compare it
with. Nothing here reads the program's frames but :func:`targets_among`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import field
from functools import partial
from types import CodeType, FrameType
from typing import Any, cast

import numpy as np

from netdoctor._lazy import dataclass
from netdoctor.nn.stats import unique
from netdoctor.observe.numpy.arrays import head
from netdoctor.observe.numpy.replay import CallSite, Chain, Path, Pick, Replay, float_arrays
from netdoctor.observe.numpy.update_check import Applied, LossChoice, UpdateCheck, assumed_losses, own_scale
from netdoctor.usercode import short_path

__all__ = ["TrackedArray", "Candidate", "Window", "applied_readings", "forward_choices", "template_choices",
           "add_owner_targets", "targets_among", "targetish", "target_rank", "is_label", "returned_floats", "arraylike",
           "shape_of", "CheckedStep", "batch_rows", "work_by_id", "attrs_of"]


@dataclass(frozen=True)
class TrackedArray:
    """A parameter (and its gradient buffer) as the observer found it: a name and a way to read it now."""

    name: str
    read: Callable[[], Any]
    bias: bool = False
    buffer: Callable[[], Any] | None = None
    buffer_text: str = ""
    """The buffer as the program reaches it (``self.velocities[0]``), when it has one."""


@dataclass
class Candidate:
    """A call handed the batch (or a chain of calls from it), copied when it was made, and what it returned (None until
    it returns)."""

    site: CallSite
    depth: int
    replay: Replay | Chain | None = None
    """The call on copies taken at the call (before the step): untracked arrays keep their values of then. A
    :class:`~netdoctor.observe.numpy.replay.Chain` when the call was handed another candidate's output by the same
    caller (a layer's forward in the loop ``for layer in layers: x = layer.forward(x)``): the calls up to it."""
    caller: int = 0
    """id of the frame that made the call."""
    fed: bool = False
    """Its output was handed on to the next call of a chain: an inner layer's, not the network's."""
    outputs: list[tuple[Pick, np.ndarray, Any]] | None = None
    """(where in what it returned or stored, a copy, the object) of each float array it gave."""
    before: dict[Path, Callable[[], Any]] = field(default_factory=dict)
    """Path -> weak reference (:func:`~netdoctor.observe.numpy.arrays.weak`; an id would be the next array's once the
    call frees the old one) to the float arrays near the call at its start (what a forward that returns nothing rebinds
    is where it stored its output: ``self.out``, ``params['A2']``, ``state.out``)."""


@dataclass
class Window:
    """What the recorder saw of one training step, from the call handed its batch to the next batch."""

    owner: FrameType
    """The frame that handed the batch (the training loop): its return, or its next batch, closes the window."""
    params: list[TrackedArray]
    before: list[np.ndarray]
    objects: list[Any]
    buffers_before: list[np.ndarray | None]
    buffer_objects: list[Any]
    work: dict[str, np.ndarray]
    where: str
    batch: dict[int, Any]
    """id -> object: the arrays (and lists) of the batch as passed."""
    width: int = 0
    """The network's input width: an array with it in its shape is a batch of inputs."""
    opened_at: int = 0
    """The observer's update count when the window opened."""
    opener: CodeType | None = None
    """The code of the call that opened the window: handed the same batch again by the owner after an update (a
    full-batch loop), it closes the window."""
    computed_in: str = ""
    candidates: dict[int, Candidate] = field(default_factory=dict)
    """Frame id -> a call handed the batch."""
    returned_candidates: list[Candidate] = field(default_factory=list)
    losses: dict[int, tuple[CallSite, str, int]] = field(default_factory=dict)
    """Frame id -> (call, name of the output argument, id of the output) of a possible loss, until it returns."""
    loss: tuple[CallSite, str, int] | None = None
    target_candidates: list[Any] = field(default_factory=list)
    owner_targets: list[tuple[str, np.ndarray]] = field(default_factory=list)
    """Target-like arrays among the loop's locals when it last handed the batch down (``t`` of this step: by
    the time the window closes, the loop may have rebound ``t`` to the next step's targets)."""
    returned: list[tuple[str, dict[str, np.ndarray]]] = field(default_factory=list)
    returned_codes: dict[str, CodeType] = field(default_factory=dict)
    """Site text -> the code of the function that returned a gradient there (for the recorder's sign watch)."""
    locals_: list[tuple[str, dict[str, np.ndarray], dict[str, str]]] = field(default_factory=list)
    shaped: list[tuple[str, np.ndarray, np.ndarray]] = field(default_factory=list)
    """(name, array, copy) of the arrays near the network shaped like a parameter (buffers the observer
    did not pair), copied at the window's start."""
    shaped_paths: dict[str, Callable[[], Any]] = field(default_factory=dict)
    """Name in :attr:`shaped` -> the array at its path now."""
    calls: int = 0
    held: tuple[Any, str] | None = None
    """(object, attribute) where the loop set the batch, when no call was handed it (``net.inputs = X[idx]``): the
    window closes when the loop sets the next one there."""
    held_targets: list[tuple[str, np.ndarray]] = field(default_factory=list)
    """Target-like arrays that object held beside the batch when the window opened, by attribute."""
    buffer_sources: dict[str, Callable[[], Any]] = field(default_factory=dict)
    """Tensor name -> how to read the buffer its "buffer" reading came from (for the recorder's sign watch)."""
    buffers_at_update: list[np.ndarray | None] | None = None
    """Per parameter, its paired buffer as last seen holding something (not empty, not as at the window's start) at a
    call of the function that applies the updates or of one handed that buffer (copies; None: not seen so): an update
    that empties the buffers it read (``g.fill(0)`` inside ``adam_step``, ``g[...] = 0`` in ``adam(p, g, m, v)``)
    leaves nothing of the gradient in them when the window closes."""

    @property
    def buffer_ids(self) -> set[int]:
        """The ids of the paired buffers as the window opened."""
        return {id(b) for b in self.buffer_objects if b is not None}


def _decay_of(name: str, decays: dict[str, tuple[float, float]]) -> tuple[float, float] | None:
    """The decay and sign of the velocity ``name`` (a path from the network's root) among ``decays`` (texts from the
    program's roots: ``self.vel['W1']`` ends with ``vel['W1']``), or of a sibling in the same list or dict (a bias's
    velocity starts at zero like the bias and is told apart later); None when it is no velocity seen."""
    if not name:
        return None
    name = name.removeprefix("self.")  # the network's root as its methods call it; the texts name it from outside
    for text, found in decays.items():
        if text == name or text.endswith(name) and text[-len(name) - 1] in ".]":
            return found
    stem = re.sub(r"\[[^\]]*\]$", "", name)
    if stem == name:
        return None
    return next((found for text, found in decays.items() if re.sub(r"\[[^\]]*\]$", "", text) == stem
                 or re.sub(r"\[[^\]]*\]$", "", text).endswith(f".{stem}")), None)


def _now(w: Window, name: str) -> np.ndarray:
    """The array of :attr:`Window.shaped` called ``name`` as it is at its path now (the one copied when it is no array
    there any more)."""
    a = next(a for n, a, _ in w.shaped if n == name)
    read = w.shaped_paths.get(name)
    now = read() if read is not None else None
    arr = cast(np.ndarray, now) if issubclass(type(now), np.ndarray) else a
    return arr if arr.shape == a.shape else a


def _intake(a: np.ndarray, before: np.ndarray, velocity: tuple[float, float] | None) -> np.ndarray:
    """The change of an array shaped like a parameter over the step; for a velocity kept at ``mu`` and added by the
    steps as ``p += f * v``, what the step applied of what it took in, as a gradient subtracted at the learning rate
    (``-f * (v - mu * v_before)``): ``lr * g`` for both spellings of a heavy ball (``v = mu * v - lr * g; p += v``:
    ``f = 1``; ``v = mu * v + g; p -= lr * v``: ``f = -lr``), ``lr * (1 - mu) * g`` for a moving average
    (``v = mu * v + (1 - mu) * g; p -= lr * v``)."""
    if velocity is None:
        return a - before
    mu, f = velocity
    return -f * (a - mu * before)


def applied_readings(w: Window, decays: dict[str, tuple[float, float]] | None = None) -> list[Applied]:
    """What the step applied, in every reading seen (see :class:`~netdoctor.observe.numpy.update_check.Applied`).

    ``decays``: velocities seen while discovering -> their decay and the factor the steps add them with; such an
    array shaped like a parameter is read as what it took in (:func:`_intake`), not as its change (which mixes in the
    gradients of earlier steps), in a reading of its own (``"velocity"``: in the update's units, the learning rate in
    it), and never watched as a buffer.
    """
    now = [p.read() for p in w.params]
    out: list[Applied] = []
    moved = {p.name: -(np.asarray(a, dtype=np.float64) - b) for p, a, b in zip(w.params, now, w.before)
             if issubclass(type(a), np.ndarray) and a.shape == b.shape and not np.array_equal(a, b)}
    # the parameters' own precision where it is coarser than float64 (float32): the forward's resolution
    eps = {p.name: float(np.finfo(a.dtype).eps) for p, a in zip(w.params, now)
           if issubclass(type(a), np.ndarray) and a.dtype.kind == "f" and a.dtype.itemsize < 8}
    if moved:
        out.append(Applied("update", moved, w.where, eps=eps))
    bufs, written, intakes = _paired_buffers(w, decays or {})
    # arrays shaped like a parameter that the step changed: buffers, matched by shape in order
    moved_ids = {id(a) for a in now}
    velocities = {n: _decay_of(n, decays or {}) for n, _, _ in w.shaped}
    # a velocity rebound at every step (``v = mu * v - lr * g``) is read where it is now
    shaped = [(n, _now(w, n) if velocities[n] is not None else a, c) for n, a, c in w.shaped]
    changed = [(n, a, _intake(a, c, velocities[n]), c) for n, a, c in shaped
               if id(a) not in moved_ids and a.shape == c.shape and not np.array_equal(a, c)]
    changed = _without_squares(changed)
    for p, b in zip(w.params, w.before):
        if p.name in bufs or p.name in intakes:
            continue
        hit = next((i for i, (_, a, _, _) in enumerate(changed) if a.shape == b.shape), None)
        if hit is not None:
            n, a, d, c = changed.pop(hit)
            (intakes if velocities[n] is not None else bufs)[p.name] = np.asarray(d, dtype=np.float64)
            if velocities[n] is None:
                w.buffer_sources[p.name] = partial(_same, a)
                if np.any(c):  # changed in place from something: overwritten, perhaps (see _paired_buffers)
                    written[p.name] = np.array(a, dtype=np.float64)
    if bufs:
        out.append(Applied("buffer", bufs, w.computed_in, eps=eps))
    if written:  # the same buffers read as overwritten: the check keeps the reading that is the derivative
        out.append(Applied("written", written, w.computed_in, eps=eps))
    if intakes:  # in the update's units (the learning rate in them), unlike a buffer's gradient: a reading of its own
        out.append(Applied("velocity", intakes, w.computed_in, eps=eps))
    if w.returned:
        fn, got = max(w.returned, key=lambda r: len(r[1]))
        out.append(Applied("returned", got, fn, eps=eps))
    for fn, got, names in w.locals_:
        out.append(Applied("local", got, fn, names))
    return out


def _paired_buffers(w: Window, decays: dict[str, tuple[float, float]]) -> tuple[
        dict[str, np.ndarray], dict[str, np.ndarray], dict[str, np.ndarray]]:
    """``(added, written, intakes)``: what the step left in the parameters' own buffers, per tensor name.

    A buffer kept (the same array) and changed in place was either added to (``buf += g``: the gradient is
    ``cur - before``) or overwritten (``buf[...] = g``, ``buf[:] = g``, ``np.copyto(buf, g)``: it is ``cur``, and
    ``cur - before`` is ``g_t - g_{t-1}``). What the array holds cannot tell the two apart, the derivative can: where
    the buffer held something at the window's start both are offered (``added``, ``written``) and the check keeps
    the one that explains the tensors. A buffer re-bound to a new array holds the gradient itself; a velocity's
    reading is what it took in (:func:`_intake`).
    """
    bufs: dict[str, np.ndarray] = {}
    written: dict[str, np.ndarray] = {}
    intakes: dict[str, np.ndarray] = {}
    at_update = w.buffers_at_update or [None] * len(w.params)
    for p, obj, b0, u in zip(w.params, w.buffer_objects, w.buffers_before, at_update):
        if p.buffer is None or b0 is None:
            continue
        cur = p.buffer()
        if not issubclass(type(cur), np.ndarray) or cur.shape != b0.shape:
            continue
        kept = cur is obj
        if kept and not np.any(cur) and u is not None and u.shape == b0.shape and not np.array_equal(u, b0):
            cur = u  # emptied by the update that read it: the gradient is what the update's call found there
        velocity = _decay_of(p.buffer_text, decays)
        if velocity is not None:  # the parameter's own buffer is a velocity (``v *= mu; v += g; p -= lr * v``)
            d = _intake(np.asarray(cur, dtype=np.float64), b0, velocity)
        else:
            d = cur - b0 if kept else np.array(cur, dtype=np.float64)  # accumulated in place, or rebound
            if kept and np.any(b0) and np.any(cur):
                written[p.name] = np.array(cur, dtype=np.float64)
        if np.any(d):
            (intakes if velocity is not None else bufs)[p.name] = np.asarray(d, dtype=np.float64)
            if velocity is None:
                w.buffer_sources[p.name] = p.buffer
    return bufs, written, intakes


def forward_choices(w: Window) -> list[tuple[Candidate, Pick, list[LossChoice]]]:
    """(forward, where its output is, losses) to try, best first: the program's own loss, else an output
    paired with targets that look like targets (one-hot, class indices, distributions; then the output's error,
    see :func:`target_rank`) rather than another array the program handed along (a hidden layer's cache), the class
    axis they fit most narrowly, outermost call first."""
    out: list[tuple[tuple[int, int, int, bool], Candidate, Pick, list[LossChoice]]] = []
    # what a forward computed is never a target (a layer's cache handed to its backward: ``act_prime(z, a)``)
    computed = {id(o) for c in w.returned_candidates for _, _, o in c.outputs or []}
    for cand in w.returned_candidates:
        for i, a, o in cand.outputs or []:
            if w.loss is not None and w.loss[2] == id(o):
                site, name, _ = w.loss
                out.append(((-1, -1, cand.depth, cand.fed), cand, i, [_own_loss(site, name, a, [
                    t for v in w.target_candidates if id(v) not in computed for tier, t in [target_rank(v, a)]
                    if tier == 0])]))
                continue
            best: tuple[tuple[int, int, int, bool], list[LossChoice]] | None = None
            for candidate in w.target_candidates:
                if issubclass(type(candidate), np.ndarray) and id(candidate) in computed:
                    continue
                tier, t = target_rank(candidate, a)
                if tier > 3:
                    continue
                # a chain's inner link (its output handed on) after the link that ends it
                key = (tier, _class_width(a, t), cand.depth, cand.fed)
                if best is not None and key >= best[0]:
                    continue
                losses = assumed_losses(a, t, guessed=tier >= 3)
                if losses:
                    best = (key, losses)
            if best is not None:
                out.append((best[0], cand, i, best[1]))
    out.sort(key=lambda c: c[0])
    return [(c, i, losses) for _, c, i, losses in out[:4]]


def template_choices(template: CallSite | None, stores: dict[CodeType, list[Path]], w: Window,
                      by_id: dict[int, np.ndarray]) -> list[tuple[Candidate, Pick, list[LossChoice]]]:
    """The program's forward (seen elsewhere) on the step's batch: the input argument swapped for it."""
    t = template
    if t is None:
        return []
    swap = _substitute(t, list(w.batch.values()), w.width)
    if swap is None:
        return []
    site = CallSite(t.code, t.globals, {**t.args, **swap}, t.free)
    replay = Replay(site, by_id)
    value = replay.call()
    out: list[tuple[Pick, np.ndarray, Any]] = list(returned_floats(value))
    if not out:  # it stores its output: where a call handed a batch stored it, else what a second call rebinds
        paths = stores.get(t.code)
        if paths is None:
            before = {path: id(a) for path, a in float_arrays(replay.roots()).items()}
            replay.call()
            paths = [path for path, a in float_arrays(replay.roots()).items() if before.get(path) != id(a)]
        for path in paths:
            try:
                a = replay.read(path)
            except (LookupError, AttributeError, TypeError):
                continue
            if issubclass(type(a), np.ndarray) and a.dtype.kind == "f":
                out.append((path, np.array(a, dtype=np.float64), a))
    cand = Candidate(site, 0, None)
    found: list[tuple[tuple[int, int], Pick, list[LossChoice]]] = []
    # targets that look like targets first (one-hot, class indices), as in forward_choices: a hidden layer's cache
    # handed to the backward has a hidden output's very shape
    computed = {id(o) for c in w.returned_candidates for _, _, o in c.outputs or []}  # never a target (forward_choices)
    for i, a, _ in out:
        ranked = sorted((target_rank(t, a) for t in w.target_candidates
                         if not any(t is v for v in swap.values()) and id(t) not in computed), key=lambda r: r[0])
        for tier, target in ranked:
            if tier > 3:
                break
            losses = assumed_losses(a, target, guessed=tier >= 3)
            if losses:
                found.append(((tier, _class_width(a, target)), i, losses))
                break
    found.sort(key=lambda f: f[0])
    return [(cand, i, losses) for _, i, losses in found[:2]]


def add_owner_targets(w: Window) -> None:
    """Target-like arrays among the loop's own variables (``t`` in ``for x, t in ...``), after the handed ones."""
    outs = {id(o) for c in w.returned_candidates for _, _, o in c.outputs or []}
    shapes = {c.shape for cand in w.returned_candidates for _, c, _ in cand.outputs or []}
    # integer labels, one per sample of an output (``t = labels[idx]`` beside outputs (20, 3), made one-hot inline)
    samples = {n for shape in shapes if len(shape) == 2 for n in shape}
    now = w.owner.f_locals if w.owner is not None else {}
    for name, v in w.owner_targets or targets_among(w.owner):
        # a name the loop binds to the forward's output (``out = forward(x)``, ``_, cache = forward(x)``) held the step
        # before's output when the window opened: a distribution over the classes, never a target (taken for one, the
        # loss's derivative at the output is ~0: deep_relu_samples_tiny's mismatch warning, every tensor failing on a
        # healthy module loop)
        fits = v.shape in shapes or v.ndim == 1 and v.dtype.kind in "iu" and v.size in samples
        if fits and id(v) not in outs and id(now.get(name)) not in outs:
            w.target_candidates.append(v)


def _own_loss(site: CallSite, out_name: str, out: np.ndarray, targets: list[Any]) -> LossChoice:
    """The program's loss function, run on copies with another output in place of its own; with its scale against an
    assumed loss of the targets handed with the batch (``targets``: target-like ones, see :func:`own_scale`)."""
    replay = Replay(site, {})

    def own(y: np.ndarray) -> float:
        return float(np.asarray(replay.call({out_name: y}), dtype=np.float64).reshape(-1)[0])

    scale = next((s for t in targets[:2] if (s := own_scale(own, out, t)) is not None), None)
    return LossChoice(f"{replay.name}() at {short_path(replay.where)}", own, False, scale=scale)


def _same(a: Any) -> Any:
    return a


def _substitute(site: CallSite, batch: list[Any], width: int) -> dict[str, Any] | None:
    """The forward's input argument swapped for the step's batch (the same shape but for the batch axis,
    the input ``width`` on the other). One sample of ``width`` entries stands for a batch of one where the forward
    takes rows (``x[None, :]``) or columns (``x[:, None]``): a per-sample step, a forward called on the test rows."""
    if any(x is v for x in batch for v in site.args.values()):
        return {}  # the forward was last called on this very batch: nothing to swap
    for name, v in site.args.items():
        if not (arraylike(v) and _small(v)):
            continue
        shape = shape_of(v)
        for x in batch:
            xs = shape_of(x)
            if len(shape) != 2 or x is v:
                continue
            if xs == (width,) and isinstance(x, np.ndarray) and width in shape:
                return {name: x[None, :] if shape[1] == width else x[:, None]}
            if len(xs) != 2:
                continue
            if xs == shape and width in xs or xs[1] == shape[1] == width or xs[0] == shape[0] == width:
                return {name: x}
    return None


def _class_width(out: np.ndarray, targets: Any) -> int:
    """The size of the output's class axis for these targets (smaller is likelier the output than a hidden layer)."""
    if shape_of(targets) == out.shape:
        return 0  # the targets have the output's very shape
    return int(min((s for s in out.shape if s > 1), default=out.size))


def targets_among(frame: FrameType) -> list[tuple[str, np.ndarray]]:
    """Target-like float arrays among a frame's variables (a module's: its globals), at most 64, with their names."""
    out = []
    for name, v in list(frame.f_locals.items())[:512]:
        if issubclass(type(v), np.ndarray) and v.size <= 100_000 and (_target_like(v) or v.dtype.kind in "iu"
                                                                      and v.ndim == 1 and targetish(v)):
            out.append((name, v))
            if len(out) >= 64:
                break
    return out


def targetish(v: Any) -> bool:
    """Targets as a loss compares them: few distinct values (:func:`_target_like`) or class indices."""
    if is_label(v):
        return True
    if issubclass(type(v), list):
        if not v or len(v) > 100_000 or not all(issubclass(type(x), (int, float, np.number, list)) for x in v[:16]):
            return False
        try:
            v = np.asarray(v[:256], dtype=np.float64)
        except (TypeError, ValueError):
            return False
    if not issubclass(type(v), np.ndarray) or v.dtype.kind not in "biuf" or v.size == 0:
        return False
    first = head(v, 256)
    return _target_like(v) or bool(np.all(first == np.round(first)) and first.min() >= 0)


def _target_like(v: np.ndarray) -> bool:
    """Few distinct values (one-hot, +-1, 0.1/0.9 codes) or a distribution over the classes per sample (one-hot
    smoothed toward a prior): what targets look like, unlike a delta or a hidden layer. A softmax output is a
    distribution too: the callers keep the forward's own outputs apart. One float alone has "few values" whatever it
    is (one output unit's error on one sample, its bias): it looks like a target only as a whole number (0, 1, -1)."""
    if v.size == 1 and v.dtype.kind == "f":
        return bool(float(v.reshape(-1)[0]) == round(float(v.reshape(-1)[0])))
    return v.size > 0 and (len(unique(head(v, 256))) <= 3 or _distribution(v))


def _distribution(v: np.ndarray) -> bool:
    """Non-negative entries that sum to 1 along the class axis of every sample (the first 64 samples are read)."""
    if v.dtype.kind != "f" or v.ndim > 2 or v.size < 2:
        return False
    if v.ndim == 1:
        return v.size <= 1000 and bool(v.min() >= 0) and abs(float(v.sum()) - 1.0) <= 1e-6
    for axis in (0, 1):
        if 1 < v.shape[axis] <= 1000:
            samples = v[:, :64] if axis == 0 else v[:64]
            if samples.min() >= 0 and np.allclose(samples.sum(axis=axis), 1.0, rtol=0, atol=1e-6):
                return True
    return False


def target_rank(v: Any, out: np.ndarray) -> tuple[int, Any]:
    """How much ``v`` looks like the targets of output ``out`` (lower is likelier), and the targets it stands for:
    0 target-like (:func:`targetish`: one-hot, codes, class indices, a distribution over the classes); 1 or 2 the
    output's *error*, an array of the output's shape whose difference from the output has few values (1: ``probs -
    onehot``, ``t - out``) or is a distribution (2), handed along where the targets are not (a per-sample loop
    computing it inline): it stands for those targets; 3 anything else.

    Taken as targets itself, an output error gives a squared error whose derivative is exactly a negative multiple of
    the cross-entropy's (the Jacobian of the softmax maps the one-hot target onto ``-p_y (p - t)``): every right update
    would read as a climb; 4: the batch's row indices (:func:`_row_indices`), never targets."""
    if _row_indices(v, out):
        return 4, v
    if targetish(v):
        return 0, v
    if not issubclass(type(v), np.ndarray) or v.dtype.kind != "f" or v.shape != out.shape or v.size < 2:
        return 3, v
    derived = [np.round(out - sign * v, 12) for sign in (1.0, -1.0)]
    derived = [t for t in derived if 2 <= len(unique(head(t, 256)))]
    few = next((t for t in derived if len(unique(head(t, 256))) <= 3), None)
    if few is not None:
        return 1, few
    soft = next((t for t in derived if _distribution(t)), None)
    return (2, soft) if soft is not None else (3, v)


def _row_indices(v: Any, out: np.ndarray) -> bool:
    """Whether ``v`` holds the rows a batch was taken from (``j = perm[s:s + 50]``), not its class indices: eight or more
    distinct non-negative integers, some of them past every class the output has (its class axis' width, 2 for one
    unit). A loss against them is no loss of the program's (n09: targets computed inline, ``out - ytr[j]``, are never
    handed to a call; the indices beside the batch were checked as targets and a right update called wrong)."""
    if not issubclass(type(v), np.ndarray) or v.ndim != 1 or v.dtype.kind not in "iu" or v.size < 8:
        return False
    # the class axis: the output's last axis that is not the batch's rows (the first when both are)
    classes = next((n for n in reversed(out.shape) if n != v.size), out.shape[0]) if out.ndim == 2 else 2
    return bool(v.min() >= 0 and v.max() >= max(2, classes) and len(np.unique(v)) == v.size)


def is_label(v: Any) -> bool:
    """A class index: a Python or NumPy integer (not a bool)."""
    return bool(issubclass(type(v), (int, np.integer)) and not issubclass(type(v), (bool, np.bool_)) and 0 <= v < 100_000)


def returned_floats(value: Any, keep: bool = False) -> list[tuple[int | None, np.ndarray, Any]]:
    """The float arrays a call returned: the value itself, or the elements of a short tuple (index, copy, object)."""
    if issubclass(type(value), np.ndarray) and value.dtype.kind == "f" and value.size:
        return [(None, np.array(value, dtype=np.float64), value)]
    if issubclass(type(value), (tuple, list)) and len(value) <= 8:
        return [(i, np.array(v, dtype=np.float64), v) for i, v in enumerate(value)
                if issubclass(type(v), np.ndarray) and v.dtype.kind == "f" and v.size]
    return []


def arraylike(v: Any) -> bool:
    return issubclass(type(v), np.ndarray) or (issubclass(type(v), list) and 0 < len(v) <= 100_000)


def _small(v: Any) -> bool:
    """An array, or a list (the shape of either is read without converting anything)."""
    return issubclass(type(v), (np.ndarray, list))


def shape_of(v: Any, depth: int = 0) -> tuple[int, ...]:
    """The shape of an array, or of a list of numbers, lists or arrays read from its first element: O(1),
    never converting (a list of 60,000 per-sample arrays is not turned into one array to be measured)."""
    if issubclass(type(v), np.ndarray):
        return tuple(v.shape)
    if issubclass(type(v), (list, tuple)):
        if not v:
            return (0,)
        first = v[0]
        if depth < 2 and issubclass(type(first), (list, np.ndarray)) and not issubclass(type(first), tuple):
            return (len(v), *shape_of(first, depth + 1))
        return (len(v),)
    return ()


def squares_taken_in(d: np.ndarray) -> bool:
    """Whether a change ``d`` of an array shaped like a parameter is a sum of squares taken in: at least 8 entries,
    every one >= 0, 3 in 4 > 0. Adagrad's ``mem += g * g`` and the mean squares of RMSProp and Adam before their decay
    grow like that; a gradient added to a buffer moves its entries both ways."""
    d = np.asarray(d)
    if d.size < 8 or not np.isfinite(d).all():
        return False
    return bool((d >= 0).all() and 4 * int((d > 0).sum()) >= 3 * d.size)


def _container(name: str) -> str:
    """The container part of an array's path text (``self.mem`` of ``self.mem['b2']``, ``mem`` of ``mem[3]``)."""
    cut = max(name.rfind("["), name.rfind("."))
    return name[:cut] if cut > 0 else name


def _without_squares(changed: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]) -> list[
        tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    """``changed`` (name, array, change, start) without an adaptive rule's memories: arrays whose change is a sum of
    squares taken in (:func:`squares_taken_in`), and the arrays beside one of them in its container whose change is
    >= 0 everywhere (a 3-entry bias's memory is too small to be told alone). Their state, never a gradient buffer."""
    memories = {_container(n) for n, _, d, _ in changed if squares_taken_in(d)}
    return [(n, a, d, c) for n, a, d, c in changed
            if not squares_taken_in(d) and not (_container(n) in memories and bool((np.asarray(d) >= 0).all()))]


def holds_width(v: Any, width: int) -> bool:
    """Whether ``v`` holds samples of ``width`` inputs: ``width`` in its shape (a batch, a sample, a list of rows), or
    one sample of ``width`` entries kept in two or more axes none of them that wide, which the forward flattens itself
    (a ``(10, 10)`` image for 100 inputs, the ``(13, 13, 8)`` maps a dense layer of 1,352 inputs is handed)."""
    if width in shape_of(v):
        return True
    return issubclass(type(v), np.ndarray) and v.ndim >= 2 and v.size == width and min(v.shape) > 1 and v.dtype.kind == "f"


@dataclass(frozen=True)
class CheckedStep:
    """One checked update with the batch it was computed on: what the rules read the step's scale from
    (a factor of the batch size in a step meant for the batch mean is ``summed-gradient``)."""

    check: UpdateCheck
    rows: int
    """Samples in the batch the step was computed on (1 for one sample)."""


def batch_rows(w: Window) -> int:
    """Samples in the window's batch: the size of an input array (or list) over the network's input width."""
    sizes = [int(np.prod(shape)) // w.width for shape in map(shape_of, w.batch.values()) if w.width and w.width in shape]
    return max(sizes, default=0)


def work_by_id(w: Window) -> dict[int, np.ndarray]:
    """The parameters as they were at the step's start and as they are now (a program may rebind them), both
    mapped to the working copies, which hold the values the step's gradient belongs to."""
    by_id = {id(a): w.work[p.name] for p, a in zip(w.params, w.objects)}
    by_id.update({id(p.read()): w.work[p.name] for p in w.params})
    return by_id


_HEAP = 1 << 9  # Py_TPFLAGS_HEAPTYPE: a class written in Python


def attrs_of(v: Any) -> dict[str, Any]:
    """The attributes of an instance of a class written in Python (read without asking the instance), else empty."""
    if not type(v).__flags__ & _HEAP or issubclass(type(v), (type, np.ndarray, list, tuple, dict)):
        return {}
    try:
        d = object.__getattribute__(v, "__dict__")
    except AttributeError:
        return {}
    return d if isinstance(d, dict) else {}
