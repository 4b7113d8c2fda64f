"""Watch a few real training steps and check what the update really does.

For each of ``steps`` mini-batches the probe computes the model's own batch
gradient ``g_t = dL/dw`` at the current weights (``loss(X, y)``, side effects
undone), runs one real ``train_step(X, y, lr)`` and measures the applied
change ``Δ_t = w_after - w_before`` (re-reading ``params``: models that rebind
arrays must not look frozen). Plain SGD gives ``Δ_t = -lr g_t``. The probe fits

    Δ_t ≈ -(c_1 g_1 + ... + c_t g_t)        (least squares over all weights)

and reads the coefficients (:mod:`netdoctor.buffers.probe_fit`): a factor of
``batch_size`` on lr (``summed-gradient``), earlier gradients re-applied in
full (``stale-accumulator``; decaying momentum is healthy), or an update that
is not the gradient (``update-mismatch``).

Also reported: parameters that never change (``frozen-parameters``),
non-parameter arrays that should be constant but change, and inputs that the
step modifies (``mutated-constant``), and buffers that become shared during
training (``aliased-buffers``). The probe runs on a deep copy; the user's
model, the global NumPy random state and the data passed in are untouched.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import field
from typing import Any, TypedDict

import numpy as np

from netdoctor._lazy import dataclass
from netdoctor.buffers.aliasing import find_aliasing
from netdoctor.buffers.probe_fit import analyse_updates
from netdoctor.buffers.reach import Reach, StateSnapshot, root_array, scratch_copy, unwrap
from netdoctor.buffers.roles import container, is_constant, is_template, path_role
from netdoctor.errors import InvalidArgument, ProtocolError
from netdoctor.findings import Finding, Severity
from netdoctor.protocol import TrainableModel
from netdoctor.rules.evidence import FrozenGroup, FrozenParameters, Mutation
from netdoctor.rules.frozen import frozen_parameters
from netdoctor.rules.mutation import mutated_constant
from netdoctor.rules.policy import Framework
from netdoctor.usercode import call_user

__all__ = ["ProbeResult", "ProbeStep", "UpdateEvidence", "probe_training"]


class _StepRequired(TypedDict):
    step: int
    loss: float
    """``loss(X, y)`` of the step's batch before its update."""
    update_norm: float
    """``||Δ_t||`` over all parameters."""
    lr_grad_norm: float
    """``lr ||g_t||``: what plain SGD's update norm would be."""


class ProbeStep(_StepRequired, total=False):
    """One watched step; the fit adds its coefficients when the update could be fitted."""

    coefficients: list[float]
    """``c_1 .. c_t`` of ``Δ_t ≈ -(c_1 g_1 + ... + c_t g_t)``."""
    fit_residual: float


class UpdateEvidence(TypedDict, total=False):
    """The probe's summary numbers (:mod:`netdoctor.buffers.probe_fit`); the scalars become ``sections["probe"]``."""

    lr: float
    batch_size: int
    fit_residual: list[float | None]
    """Relative residual of each step's fit (None: not fitted)."""
    per_tensor: dict[str, dict[str, float]]
    """Step 1 per tensor: ``cos`` of Δ with -g and ``lr_factor``."""
    lr_effective: float
    lr_factor: float
    """``lr_effective / lr``: 1 for a mean gradient, the batch size for a summed one."""
    history: dict[int, list[float]]
    """Step -> earlier coefficients relative to the newest."""
    decay: float
    history_weight: float
    momentum_like: float
    update_rule: str
    """Set only for adaptive optimizers (Adam and kin): why the steps were not fitted to the gradient."""


@dataclass
class ProbeResult:
    """What the training probe saw.

    Attributes:
        findings: ``stale-accumulator``, ``summed-gradient``, ``update-mismatch``,
            ``frozen-parameters``, ``mutated-constant``, ``aliased-buffers``.
        evidence: summary numbers: ``lr``, ``batch_size``, ``lr_effective``,
            ``lr_factor`` (= lr_effective / lr), ``history`` coefficients,
            ``decay``, ``fit_residual`` per step, ``per_tensor`` step-1 cosines and ratios.
        steps: per-step records (loss, update and gradient norms, fit coefficients).
        restored: True when the user's model was verified untouched afterwards.
    """

    findings: list[Finding] = field(default_factory=list)
    evidence: UpdateEvidence = field(default_factory=lambda: UpdateEvidence())
    steps: list[ProbeStep] = field(default_factory=list)
    restored: bool = True

    def codes(self) -> list[str]:
        """The finding codes, in order."""
        return [f.code for f in self.findings]


def _validate(model: Any, X: Any, y: Any, lr: float, batch_size: int, steps: int) -> tuple[np.ndarray, np.ndarray]:
    for attr, why in (("params", "the weights to watch"), ("loss", "the gradient to compare with"),
                      ("train_step", "the update to probe")):
        if not hasattr(model, attr):
            raise ProtocolError(f"the model has no `{attr}`; the training probe needs it for {why} (see docs/protocol.md).")
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise InvalidArgument(f"lr={lr!r} must be a positive finite number, e.g. 0.1.")
    if int(batch_size) < 1 or int(steps) < 2:
        raise InvalidArgument(f"batch_size={batch_size}, steps={steps}: need batch_size >= 1 and steps >= 2.")
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim != 2 or y.ndim != 1 or len(X) != len(y) or len(X) == 0:
        raise InvalidArgument(f"X has shape {X.shape} and y {y.shape}; expected (N, D) and (N,) with N >= 1.")
    return X, y



def probe_training(model: TrainableModel, X: Any, y: Any, *, lr: float, batch_size: int, steps: int = 4,
                   seed: int | np.random.Generator | None = 0) -> ProbeResult:
    """Run ``steps`` real training steps on a copy of the model and check each update.

    Args:
        model: a protocol model (``params``, ``loss``, ``train_step``), e.g. an adapted net.
        X, y: training inputs (N, D) and integer labels (N,); only read.
        lr: the learning rate to pass to ``train_step``.
        batch_size: mini-batch size (clipped to N).
        steps: number of steps to watch (>= 2; history needs two).
        seed: seeds the choice of mini-batches.

    Returns:
        a :class:`ProbeResult` with findings and the numbers behind them.

    Raises:
        ProtocolError: the model lacks ``params``, ``loss`` or ``train_step`` or returns wrong gradients.
        UserCodeError: the user's code raised (message names the user's frames).
    """
    X, y = _validate(model, X, y, lr, batch_size, steps)
    global_rng = np.random.get_state()
    user_params = {k: np.array(v, copy=True) for k, v in model.params.items()}
    try:
        # A deep copy would turn views into independent copies and hide the sharing: probe in place.
        # Overflow in an exploding net is a finding for the numbers, not a warning to raise.
        with scratch_copy(model, in_place=_has_views(model)) as work, np.errstate(all="ignore"):
            result = _run(work, X, y, float(lr), min(int(batch_size), len(X)), int(steps), seed)
    finally:
        np.random.set_state(global_rng)
    now = model.params
    result.restored = set(now) == set(user_params) and all(
        np.array_equal(np.asarray(now[k]), user_params[k], equal_nan=True) for k in user_params)
    return result


def _has_views(model: Any) -> bool:
    """True when two reachable arrays share memory (a deep copy would separate them)."""
    arrays = Reach(unwrap(model)).arrays().values()
    groups: dict[int, list[np.ndarray]] = {}
    for a in arrays:
        group = groups.setdefault(id(root_array(a)), [])
        if any(np.may_share_memory(b, a) for b in group):
            return True
        group.append(a)
    return False


@dataclass
class _SideEffects:
    """What the probed steps wrote besides the parameters."""

    constants_changed: dict[str, list[int]] = field(default_factory=dict)
    """Container path of an array that should stay constant -> the steps that changed it."""
    stale_buffers: dict[str, float] = field(default_factory=dict)
    """Buffer path -> largest leftover entry found at the start of a step (t >= 2)."""
    inputs_changed: list[str] = field(default_factory=list)
    """``"X"`` / ``"y"`` each time train_step wrote into the batch it was given."""


def _run(work: Any, X: np.ndarray, y: np.ndarray, lr: float, bs: int, steps: int, seed: Any) -> ProbeResult:
    """The probe's stages: per step the gradient, then one real update watched; then the fit and the findings."""
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    order = np.concatenate([rng.permutation(len(X)) for _ in range(math.ceil(steps * bs / len(X)))])
    static = find_aliasing(work)
    res = ProbeResult()
    deltas: list[dict[str, np.ndarray]] = []
    grads: list[dict[str, np.ndarray]] = []
    side = _SideEffects()
    for t in range(1, steps + 1):
        idx = order[(t - 1) * bs: t * bs]
        Xb, yb = X[idx].copy(), y[idx].copy()
        live_before = list(work.params.values())
        value, p0, g = _gradient_before_step(work, Xb, yb)
        d = _watched_step(work, Xb, yb, lr, t, p0, live_before, side)
        deltas.append(d)
        grads.append(g)
        res.steps.append({"step": t, "loss": value,
                          "update_norm": float(np.sqrt(sum(np.sum(v * v) for v in d.values()))),
                          "lr_grad_norm": lr * float(np.sqrt(sum(np.sum(v * v) for v in g.values())))})
    keys = list(deltas[0])
    frozen = [k for k in keys if all(not np.any(d[k]) for d in deltas) and deltas[0][k].size]
    rule = getattr(work, "update_rule", "sgd")
    if rule == "sgd":
        analyse_updates(res, deltas, grads, [k for k in keys if k not in frozen], lr, bs, side.stale_buffers)
    else:  # Adam and kin divide by running gradient statistics: a step is no multiple of the gradient
        res.evidence["update_rule"] = f"{rule}: updates not fitted as multiples of the gradient"
    if frozen:
        res.findings += _frozen(frozen, grads, steps, getattr(work, "frozen_reasons", None))
    for path, ts in side.constants_changed.items():
        if (found := mutated_constant(Mutation(where=path, kind="constant", names=(path,), steps=tuple(sorted(set(ts))),
                                               details={"path": path}))) is not None:
            res.findings.append(found)
    if side.inputs_changed:
        if (found := mutated_constant(Mutation(where="train_step(X, y)", kind="inputs",
                                               names=tuple(sorted(set(side.inputs_changed))), function="train_step"))) is not None:
            res.findings.append(found)
    _add_new_sharing(res, work, static)
    return res


def _gradient_before_step(work: Any, Xb: np.ndarray, yb: np.ndarray
                          ) -> tuple[float, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """``(loss, params, gradient)`` at the current weights as float64 copies; whatever ``loss`` wrote is undone."""
    p0 = {k: np.array(v, dtype=float, copy=True) for k, v in work.params.items()}
    undo = StateSnapshot(work)
    try:
        value, g = call_user(work.loss, Xb.copy(), yb.copy(), what="loss(X, y)")
        g = {k: np.array(v, dtype=float, copy=True) for k, v in dict(g).items()}
    finally:
        undo.restore()
    bad = [k for k in p0 if k not in g or g[k].shape != p0[k].shape]
    if bad:
        k = bad[0]
        raise ProtocolError(f"loss(X, y) returned gradient {k!r} with shape "
                            f"{g[k].shape if k in g else 'missing'}; params[{k!r}] has shape {p0[k].shape}.")
    return float(value), p0, g


def _watched_step(work: Any, Xb: np.ndarray, yb: np.ndarray, lr: float, t: int, p0: dict[str, np.ndarray],
                  live_before: list[np.ndarray], side: _SideEffects) -> dict[str, np.ndarray]:
    """Run step ``t``'s real ``train_step``; returns ``Δ_t = w_after - w_before`` and notes in ``side`` what else it wrote."""
    reach = Reach(unwrap(work))
    arrays = reach.arrays()
    saved = {i: a.copy() for i, a in arrays.items()}
    Xp, yp = Xb.copy(), yb.copy()
    call_user(work.train_step, Xp, yp, lr, what="train_step(X, y, lr)")
    if not np.array_equal(Xp, Xb, equal_nan=True):
        side.inputs_changed.append("X")
    if not np.array_equal(yp, yb):
        side.inputs_changed.append("y")
    p1 = work.params
    if set(p1) != set(p0) or any(np.shape(p1[k]) != p0[k].shape for k in p0):
        raise ProtocolError(f"params changed names or shapes during train_step: before {sorted(p0)}, after {sorted(p1)}.")
    param_arrays = live_before + list(p1.values())
    for i, a in arrays.items():
        if any(a is p or np.may_share_memory(a, p) for p in param_arrays):
            continue
        paths = reach.paths(i)
        bufs = [p for p in paths if path_role(p) == "buffer"]
        if t >= 2 and bufs and np.any(saved[i]):
            name = container(min(bufs, key=is_template))
            side.stale_buffers[name] = max(side.stale_buffers.get(name, 0.0), float(np.abs(saved[i]).max()))
        if not np.array_equal(a, saved[i], equal_nan=True):
            constant = next((p for p in paths if is_constant(p)), None)
            if constant is not None:
                side.constants_changed.setdefault(container(constant), []).append(t)
    return {k: np.asarray(p1[k], dtype=float) - p0[k] for k in p0}


def _add_new_sharing(res: ProbeResult, work: Any, static: list[Finding]) -> None:
    """Report sharing that appeared during the steps, and link the update findings that sharing explains."""
    before = {f.where for f in static}
    for f in find_aliasing(work):
        if f.where not in before:
            ev = dict(f.evidence, appeared_during_training=True)
            res.findings.insert(0, dataclasses.replace(f, message=f.message + " (appeared during training)", evidence=ev))
    if (any(f.code == "aliased-buffers" and f.severity is Severity.ERROR for f in res.findings)
            or any(f.severity is Severity.ERROR for f in static)):
        res.findings = [dataclasses.replace(f, caused_by=tuple(dict.fromkeys(f.caused_by + ("aliased-buffers",))))
                        if f.code in ("stale-accumulator", "mutated-constant", "update-mismatch", "frozen-parameters") and f.where != "train_step(X, y)" else f
                        for f in res.findings]


def _frozen(frozen: list[str], grads: list[dict[str, np.ndarray]], steps: int, reasons: Any = None) -> list[Finding]:
    """Why each frozen parameter never changed: what the model says (``frozen_reasons``), else its gradient."""
    norms = {k: max(float(np.linalg.norm(g[k])) for g in grads) for k in frozen}
    known = call_user(reasons, frozen, what="frozen_reasons") if callable(reasons) else {}
    groups: dict[tuple[str, str, str], list[str]] = {}
    for k in frozen:
        said = known.get(k)
        if isinstance(said, str):  # a reason key (netdoctor.rules.frozen.FROZEN_REASONS)
            key = (said, "", "")
        elif isinstance(said, tuple) and len(said) == 2:  # the model's own words: (why, fix)
            key = ("model", str(said[0]), str(said[1]))
        else:
            key = ("zero_gradient" if norms[k] == 0 else "gradient_not_applied", "", "")
        groups.setdefault(key, []).append(k)
    return frozen_parameters(FrozenParameters(
        framework=Framework.CHECK, steps=steps,
        groups=tuple(FrozenGroup(tuple(names), reason, why=why, fix=fix) for (reason, why, fix), names in groups.items()),
        details={"max_gradient_norm": norms}))
