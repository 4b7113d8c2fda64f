"""Watch a few real training steps and check what the update really does.

For each of ``steps`` mini-batches the probe computes the model's own batch
gradient ``g_t = dL/dw`` at the current weights (``loss(X, y)``, side effects
undone), runs one real ``train_step(X, y, lr)`` and measures the applied
change ``Δ_t = w_after - w_before`` (re-reading ``params``: models that rebind
arrays must not look frozen). Plain SGD gives ``Δ_t = -lr g_t``. The probe fits

    Δ_t ≈ -(c_1 g_1 + ... + c_t g_t)        (least squares over all weights)

and reads the coefficients:

* ``c_t / lr`` is the effective learning-rate factor; ``≈ batch_size`` means
  the batch gradient is summed, not averaged (``summed-gradient``);
* earlier coefficients ``c_s ≈ c_t`` mean every update re-applies all earlier
  gradients: a buffer is never emptied (``stale-accumulator``). Momentum gives
  ``c_s = μ^(t-s) c_t`` (decaying) and is healthy;
* a poor fit means the update is not the gradient (``update-mismatch``).

Also reported: parameters that never change (``frozen-parameters``),
non-parameter arrays that should be constant but change, and inputs that the
step modifies (``mutated-constant``), and buffers that become shared during
training (``aliased-buffers``). The probe runs on a deep copy; the user's
model, the global NumPy random state and the data passed in are untouched.
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .aliasing import Reach, StateSnapshot, find_aliasing, path_role
from .errors import InvalidArgument, ProtocolError
from .findings import Finding, Severity
from .usermodel import call_user

__all__ = ["ProbeResult", "probe_training"]

FIT_OK = 0.2
"""Relative residual below which an update counts as a combination of gradients."""
STALE_DECAY = 0.97
"""History decay per step at or above which accumulation counts as stale (momentum 0.9 stays below)."""
SCALE_TOL = 0.15
"""Relative tolerance when comparing the effective learning rate with lr and lr * batch_size."""

_CONSTANT = re.compile(r"(?i:templat|zero|const|initial|^init|_init)|^(X|Y|y|X_train|y_train|x_train|data|inputs|targets|labels|images)$")
"""Name tokens of arrays that training must not write: templates, initial values, data."""


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
    evidence: dict[str, Any] = field(default_factory=dict)
    steps: list[dict[str, Any]] = field(default_factory=list)
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


def _flat(d: dict[str, np.ndarray], keys: list[str]) -> np.ndarray:
    return np.concatenate([np.asarray(d[k], dtype=float).ravel() for k in keys]) if keys else np.zeros(0)


def _container(path: str) -> str:
    """``weight_updates[1]`` -> ``weight_updates``: report a list of layers once."""
    return re.sub(r"(\[[^\]]*\])+$", "", path) or path


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    return float(a @ b / (na * nb)) if na > 0 and nb > 0 else float("nan")


def probe_training(model: Any, X: Any, y: Any, *, lr: float, batch_size: int, steps: int = 4,
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
    work, undo = model, None
    if _has_views(model):
        # deepcopy would turn views into independent copies and hide the sharing: probe in place
        undo = StateSnapshot(model)
    else:
        try:
            work = copy.deepcopy(model)
        except Exception:  # not copyable (open files, locks): probe in place and restore every byte
            undo = StateSnapshot(model)
    try:
        # Overflow in an exploding net is a finding for the numbers, not a warning to raise.
        with np.errstate(all="ignore"):
            result = _run(work, X, y, float(lr), min(int(batch_size), len(X)), int(steps), seed)
    finally:
        if undo is not None:
            undo.restore()
        np.random.set_state(global_rng)
    now = model.params
    result.restored = set(now) == set(user_params) and all(
        np.array_equal(np.asarray(now[k]), user_params[k], equal_nan=True) for k in user_params)
    return result


def _has_views(model: Any) -> bool:
    """True when two reachable arrays share memory (a deep copy would separate them)."""
    arrays = Reach(getattr(model, "__netdoctor_wrapped__", None) or model).arrays().values()
    groups: dict[int, list[np.ndarray]] = {}
    for a in arrays:
        base = a
        while isinstance(base.base, np.ndarray):
            base = base.base
        group = groups.setdefault(id(base), [])
        if any(np.may_share_memory(b, a) for b in group):
            return True
        group.append(a)
    return False


def _run(work: Any, X: np.ndarray, y: np.ndarray, lr: float, bs: int, steps: int, seed: Any) -> ProbeResult:
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    order = np.concatenate([rng.permutation(len(X)) for _ in range(math.ceil(steps * bs / len(X)))])
    static = find_aliasing(work)
    aliases_before = {f.where for f in static}
    alias_errors = any(f.severity is Severity.ERROR for f in static)
    res = ProbeResult()
    deltas, grads, records = [], [], []
    changed_paths: dict[str, list[int]] = {}
    stale_buffers: dict[str, float] = {}
    input_mutated: list[str] = []
    for t in range(1, steps + 1):
        idx = order[(t - 1) * bs: t * bs]
        Xb, yb = X[idx].copy(), y[idx].copy()
        p0 = {k: np.array(v, dtype=float, copy=True) for k, v in work.params.items()}
        param_arrays = list(work.params.values())
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
        reach = Reach(getattr(work, "__netdoctor_wrapped__", None) or work)
        arrays = reach.arrays()
        saved = {i: a.copy() for i, a in arrays.items()}
        Xp, yp = Xb.copy(), yb.copy()
        call_user(work.train_step, Xp, yp, lr, what="train_step(X, y, lr)")
        if not np.array_equal(Xp, Xb, equal_nan=True):
            input_mutated.append("X")
        if not np.array_equal(yp, yb):
            input_mutated.append("y")
        p1 = work.params
        if set(p1) != set(p0) or any(np.shape(p1[k]) != p0[k].shape for k in p0):
            raise ProtocolError(f"params changed names or shapes during train_step: before {sorted(p0)}, after {sorted(p1)}.")
        d = {k: np.asarray(p1[k], dtype=float) - p0[k] for k in p0}
        param_arrays += list(p1.values())
        for i, a in arrays.items():
            if any(a is p or np.may_share_memory(a, p) for p in param_arrays):
                continue
            paths = reach.paths(i)
            bufs = [p for p in paths if path_role(p) == "buffer"]
            if t >= 2 and bufs and np.any(saved[i]):
                name = _container(min(bufs, key=lambda p: bool(re.search("templat|zero", p, re.I))))
                stale_buffers[name] = max(stale_buffers.get(name, 0.0), float(np.abs(saved[i]).max()))
            if not np.array_equal(a, saved[i], equal_nan=True):
                for p in paths:
                    if any(_CONSTANT.search(tok) for tok in re.findall(r"[A-Za-z_][A-Za-z_0-9]*", p)):
                        changed_paths.setdefault(_container(p), []).append(t)
                        break
        deltas.append(d)
        grads.append(g)
        records.append({"step": t, "loss": float(value),
                        "update_norm": float(np.sqrt(sum(np.sum(v * v) for v in d.values()))),
                        "lr_grad_norm": lr * float(np.sqrt(sum(np.sum(v * v) for v in g.values())))})
    res.steps = records
    keys = list(deltas[0])
    frozen = [k for k in keys if all(not np.any(d[k]) for d in deltas) and deltas[0][k].size]
    live = [k for k in keys if k not in frozen]
    _analyse(res, deltas, grads, live, lr, bs, stale_buffers)
    if frozen:
        res.findings.append(_frozen(frozen, grads, steps))
    for path, ts in changed_paths.items():
        res.findings.append(_mutated(path, ts))
    if input_mutated:
        res.findings.append(Finding(
            "mutated-constant", Severity.ERROR, "train_step(X, y)",
            f"train_step modifies the {' and '.join(sorted(set(input_mutated)))} it is given.",
            {"arrays": sorted(set(input_mutated))},
            fix="work on a copy inside train_step (`X = X / 255.0`, not `X /= 255.0`).",
            explanation="The caller's data changes with every pass, so later epochs train on different "
                        "(e.g. repeatedly rescaled) inputs than the ones evaluated.",
        ))
    for f in find_aliasing(work):
        if f.where not in aliases_before:
            ev = dict(f.evidence, appeared_during_training=True)
            res.findings.insert(0, Finding(f.code, f.severity, f.where, f.message + " (appeared during training)",
                                           ev, f.fix, f.caused_by, f.explanation))
    if any(f.code == "aliased-buffers" and f.severity is Severity.ERROR for f in res.findings) or alias_errors:
        res.findings = [Finding(f.code, f.severity, f.where, f.message, f.evidence, f.fix,
                                tuple(dict.fromkeys(f.caused_by + ("aliased-buffers",))), f.explanation)
                        if f.code in ("stale-accumulator", "mutated-constant", "update-mismatch", "frozen-parameters") and f.where != "train_step(X, y)" else f
                        for f in res.findings]
    return res


def _analyse(res: ProbeResult, deltas, grads, live, lr, bs, stale_buffers) -> None:
    """Fit each update on the gradients so far; read scale, history and mismatch from the coefficients."""
    G_all = [_flat(g, live) for g in grads]
    fits = []
    for t, d in enumerate(deltas, start=1):
        dv = _flat(d, live)
        if not np.any(dv) or not live or not (np.isfinite(dv).all() and all(np.isfinite(g).all() for g in G_all[:t])):
            fits.append(None)
            continue
        scale = float(np.abs(dv).max())  # work in units of the largest change: no overflow in norms
        G = np.stack(G_all[:t], axis=1) / scale
        c, *_ = np.linalg.lstsq(G, -dv / scale, rcond=None)
        resid = float(np.linalg.norm(dv / scale + G @ c) / np.linalg.norm(dv / scale))
        if not math.isfinite(resid):
            fits.append(None)
            continue
        fits.append((c, resid))
        res.steps[t - 1].update({"coefficients": c.tolist(), "fit_residual": resid})
    good = [(t, f) for t, f in enumerate(fits, start=1) if f is not None and f[1] < FIT_OK]
    ev = res.evidence
    ev.update({"lr": lr, "batch_size": bs, "fit_residual": [None if f is None else f[1] for f in fits]})
    # per-tensor view of step 1 (no history yet: buffers and velocities start empty)
    per = {}
    for k in live:
        dk, gk = np.ravel(deltas[0][k]), np.ravel(grads[0][k])
        gg = float(gk @ gk)
        per[k] = {"cos": _cos(dk, -gk), "lr_factor": (float(-(dk @ gk) / gg) / lr) if gg > 0 else float("nan")}
    ev["per_tensor"] = per
    if not good:
        if any(f is not None for f in fits):
            worst = sorted(live, key=lambda k: per[k]["cos"] if per[k]["cos"] == per[k]["cos"] else 2)[:4]
            res.findings.append(Finding(
                "update-mismatch", Severity.ERROR, ", ".join(worst),
                "the change train_step applies is not a multiple of the gradient loss() returns.",
                {"fit_residual": ev["fit_residual"], "per_tensor": {k: per[k] for k in worst}},
                fix="apply exactly `w -= lr * grad` with the gradient of the loss being minimised "
                    "(check signs, which buffer is applied, and that every tensor is updated with its own gradient).",
                explanation="Δw is compared with -lr·g from the model's own loss(); cosines well below 1 mean the "
                            "step follows something else (a different loss, a stale or wrong buffer, an adaptive optimizer).",
            ))
        return
    # A coefficient is only meaningful when its gradient is not negligible next to the others
    # (saturated nets end with |g_t| ~ 1e-7 |g_1|; least squares then returns noise for c_t).
    norms = [float(np.linalg.norm(g)) if np.isfinite(g).all() else 0.0 for g in G_all]
    determined = [n > 1e-3 * max(norms[: t + 1]) for t, n in enumerate(norms)]
    cur = np.array([f[0][-1] for t, f in good if determined[t - 1]])
    if not cur.size:
        return
    lr_eff = float(np.median(cur))
    ev.update({"lr_effective": lr_eff, "lr_factor": lr_eff / lr})
    hist = []
    for t, f in good:
        r = max((s for s in range(1, t + 1) if determined[s - 1]), default=0)  # last usable step
        if r >= 2 and f[0][r - 1] != 0:
            hist.append((t, f[0][: r - 1] / f[0][r - 1]))
    if hist:
        ev["history"] = {t: h.tolist() for t, h in hist}
        last = np.array([h[-1] for _, h in hist])
        weight = float(np.mean([np.mean(h) for _, h in hist]))
        decay = float(np.median(last))
        ev.update({"decay": decay, "history_weight": weight})
        if weight > 0.5 and decay >= STALE_DECAY:
            res.findings.append(_stale(res, hist, lr_eff, lr, decay, stale_buffers))
        elif weight > 0.2:
            ev["momentum_like"] = decay
    factor = lr_eff / lr
    if factor <= 0:
        res.findings.append(Finding(
            "update-mismatch", Severity.ERROR, "train_step",
            f"the update goes up the gradient (effective learning rate {lr_eff:.3g} for lr={lr:g}).",
            {"lr_effective": lr_eff, "lr": lr},
            fix="subtract the gradient: `w -= lr * grad`.",
            explanation="Moving along +g increases the loss; training diverges.",
        ))
    elif bs > 1 and abs(factor / bs - 1) < SCALE_TOL:
        res.findings.append(Finding(
            "summed-gradient", Severity.WARNING, "train_step",
            f"the batch gradient is summed, not averaged: each step is {factor:.3g}x lr (batch size {bs}).",
            {"lr": lr, "lr_effective": lr_eff, "lr_factor": factor, "batch_size": bs},
            fix=f"divide the accumulated gradient by the batch size (`w -= lr / {bs} * sum_grad`), or use lr={lr / bs:.3g}.",
            explanation=f"Summing {bs} per-sample gradients makes the step {bs} times larger than lr says: with "
                        "lr tuned for a mean gradient the weights jump, tanh/sigmoid units saturate and gradients vanish.",
        ))
    elif abs(factor - 1) > SCALE_TOL:
        res.findings.append(Finding(
            "update-mismatch", Severity.WARNING, "train_step",
            f"the step is {factor:.3g}x the lr passed to train_step.",
            {"lr": lr, "lr_effective": lr_eff, "lr_factor": factor, "batch_size": bs},
            fix="use the lr argument as given (`w -= lr * grad` with the mean-over-batch gradient).",
            explanation="The update is proportional to the gradient but with another step size than the one "
                        "requested; a learning-rate search or schedule then means something else than intended.",
        ))
    # Tensors whose step is below the rounding of their weights carry no signal about direction.
    # (float64 weights of order 1 round at ~1e-16; a step of 1e-12 is resolved to ~1e-4.)
    measurable = [k for k in live if lr * abs(factor) * np.linalg.norm(grads[0][k]) > 1e-12]
    off = [k for k in measurable if not (per[k]["cos"] > 0.95 and abs(per[k]["lr_factor"] / factor - 1) < SCALE_TOL)]
    if off and len(off) < len(live):
        bad = any(per[k]["cos"] < 0.5 for k in off)
        res.findings.append(Finding(
            "update-mismatch", Severity.ERROR if bad else Severity.WARNING, ", ".join(off),
            f"{', '.join(off)} {'is' if len(off) == 1 else 'are'} updated differently from the other tensors.",
            {"per_tensor": {k: per[k] for k in off}, "lr_factor": factor},
            fix="update every tensor with its own gradient and the same learning rate.",
            explanation="At the first step Δw should be -lr_eff·g for every tensor; these deviate in direction (cos) "
                        "or scale (lr_factor).",
        ))


def _stale(res, hist, lr_eff, lr, decay, stale_buffers) -> Finding:
    t, h = hist[-1]
    where = ", ".join(sorted(stale_buffers)[:4]) or "train_step"
    growth = [r["update_norm"] / r["lr_grad_norm"] if r["lr_grad_norm"] else float("nan") for r in res.steps]
    return Finding(
        "stale-accumulator", Severity.ERROR, where,
        f"each update re-applies the gradients of all earlier steps: at step {t} the earlier batches' gradients "
        f"enter with weights {', '.join(f'{v:.2f}' for v in h)} relative to the newest (1 = fully re-applied).",
        {"history": {s: v.tolist() for s, v in hist}, "decay": decay, "lr_effective": lr_eff,
         "update_over_lr_grad": growth, "buffers_not_empty_at_step_start": stale_buffers},
        fix="empty the buffers after every update with fresh arrays: "
            "`self.weight_updates = [np.zeros_like(w) for w in self.weights]` (or `u[...] = 0` for each buffer).",
        explanation="A gradient buffer keeps its contents from one update to the next, so the step applied at step t "
                    "is the sum g_1 + ... + g_t: it grows every step and keeps pushing in old directions. The "
                    "weights grow without bound, tanh/sigmoid units saturate, gradients vanish and the output "
                    "becomes constant.",
    )


def _frozen(frozen: list[str], grads, steps: int) -> Finding:
    norms = {k: max(float(np.linalg.norm(g[k])) for g in grads) for k in frozen}
    zero = [k for k in frozen if norms[k] == 0]
    why = ("although the gradient is not zero" if not zero else
           f"and loss() reports an exactly zero gradient for {', '.join(zero)} (an in-place update that never "
           "touches them, or a layer cut off from the loss)")
    return Finding(
        "frozen-parameters", Severity.ERROR, ", ".join(frozen),
        f"{', '.join(frozen)} did not change in {steps} training steps {why}.",
        {"steps": steps, "max_gradient_norm": norms},
        fix="update the arrays the model computes with, in place (`w -= lr * g`, or `self.weights[i] = w - lr * g`); "
            "`for w in self.weights: w = w - lr * g` only re-binds the loop variable.",
        explanation="The update is applied to a copy (or not at all), so these weights keep their initial values "
                    "and the layers they belong to never learn.",
    )


def _mutated(path: str, ts: list[int]) -> Finding:
    return Finding(
        "mutated-constant", Severity.ERROR, path,
        f"`{path}` should stay constant but changed during training (steps {', '.join(map(str, sorted(set(ts))))}).",
        {"path": path, "steps": sorted(set(ts))},
        fix=f"never write into `{path}`: copy it where a fresh buffer is needed (`{path.split('[')[0]}` -> "
            "`[t.copy() for t in ...]` or `np.zeros_like(...)`).",
        explanation="A template, initial value or data array is being written to, usually because a buffer "
                    "name is bound to it: every later 'reset' or use then starts from the modified contents.",
    )
