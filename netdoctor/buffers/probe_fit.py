"""Read a training update as a combination of gradients (the probe's least-squares fit).

Given the applied changes ``Δ_t`` and the model's own batch gradients ``g_t``
of ``t = 1..T`` real steps (see :mod:`netdoctor.buffers.probe`), each update is fitted

    Δ_t ≈ -(c_1 g_1 + ... + c_t g_t)        (least squares over all weights)

and the coefficients are read:

* ``c_t / lr`` is the effective learning-rate factor; ``≈ batch_size`` means
  the batch gradient is summed, not averaged (``summed-gradient``);
* earlier coefficients ``c_s ≈ c_t`` mean every update re-applies all earlier
  gradients: a buffer is never emptied (``stale-accumulator``). Momentum gives
  ``c_s = μ^(t-s) c_t`` (decaying) and is healthy;
* a poor fit, a negative step or one tensor moving differently from the
  others is an ``update-mismatch``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from netdoctor.findings import Finding
from netdoctor.nn.stats import median
from netdoctor.rules.evidence import BatchScale, CarryOver, UpdateFit
from netdoctor.rules.fit import update_mismatch
from netdoctor.rules.policy import FIT_OK, Framework
from netdoctor.rules.updates import stale_accumulator, summed_gradient

if TYPE_CHECKING:
    from netdoctor.buffers.probe import ProbeResult

__all__ = ["analyse_updates"]

def _flat(d: dict[str, np.ndarray], keys: list[str]) -> np.ndarray:
    return np.concatenate([np.asarray(d[k], dtype=float).ravel() for k in keys]) if keys else np.zeros(0)


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    return float(a @ b / (na * nb)) if na > 0 and nb > 0 else float("nan")


def analyse_updates(res: ProbeResult, deltas: list[dict[str, np.ndarray]], grads: list[dict[str, np.ndarray]],
                    live: list[str], lr: float, bs: int, stale_buffers: dict[str, float]) -> None:
    """Fit each update on the gradients so far; read scale, history and mismatch from the coefficients.

    Args:
        res: the probe's result; gets ``evidence`` numbers, per-step ``coefficients``
            and ``fit_residual`` in ``steps``, and the findings.
        deltas, grads: per step, name -> applied change Δ_t and batch gradient g_t (same shapes).
        live: the parameter names that changed at least once (frozen ones are judged elsewhere).
        lr, bs: the learning rate and batch size passed to ``train_step``.
        stale_buffers: buffer path -> largest leftover entry at a step's start (where to point).
    """
    G_all = [_flat(g, live) for g in grads]
    fits = _fit_updates(res, deltas, G_all, live)
    good = [(t, f) for t, f in enumerate(fits, start=1) if f is not None and f[1] < FIT_OK]
    ev = res.evidence
    ev.update({"lr": lr, "batch_size": bs, "fit_residual": [None if f is None else f[1] for f in fits]})
    per = ev["per_tensor"] = _first_step_per_tensor(deltas[0], grads[0], live, lr)
    if not good:
        if any(f is not None for f in fits):
            found = update_mismatch(UpdateFit(kind="fit", where="train_step", per_tensor=per, live=tuple(live),
                                              residuals=tuple(ev["fit_residual"])))
            if found is not None:
                res.findings.append(found)
        return
    # A coefficient is only meaningful when its gradient is not negligible next to the others
    # (saturated nets end with |g_t| ~ 1e-7 |g_1|; least squares then returns noise for c_t).
    norms = [float(np.linalg.norm(g)) if np.isfinite(g).all() else 0.0 for g in G_all]
    determined = [n > 1e-3 * max(norms[: t + 1]) for t, n in enumerate(norms)]
    cur = np.array([f[0][-1] for t, f in good if determined[t - 1]])
    if not cur.size:
        return
    lr_eff = float(median(cur))
    ev.update({"lr_effective": lr_eff, "lr_factor": lr_eff / lr})
    _read_history(res, good, determined, lr_eff, lr, stale_buffers)
    factor = lr_eff / lr
    scale = _scale_finding(lr_eff, lr, bs)
    if scale is not None:
        res.findings.append(scale)
    # Tensors whose step is below the rounding of their weights carry no signal about direction.
    # (float64 weights of order 1 round at ~1e-16; a step of 1e-12 is resolved to ~1e-4.)
    measurable = [k for k in live if lr * abs(factor) * np.linalg.norm(grads[0][k]) > 1e-12]
    apart = update_mismatch(UpdateFit(kind="tensors", where="train_step", lr=lr, lr_effective=lr_eff, per_tensor=per,
                                      measurable=tuple(measurable), live=tuple(live)))
    if apart is not None:
        res.findings.append(apart)


def _fit_updates(res: ProbeResult, deltas: list[dict[str, np.ndarray]], G_all: list[np.ndarray],
                 live: list[str]) -> list[tuple[np.ndarray, float] | None]:
    """Per step ``t`` the least-squares ``c`` of ``Δ_t ≈ -(c_1 g_1 + ... + c_t g_t)`` and its relative residual.

    None where the step changed nothing or holds non-finite numbers; each fit
    also goes into ``res.steps[t - 1]`` (``coefficients``, ``fit_residual``).
    """
    fits: list[tuple[np.ndarray, float] | None] = []
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
    return fits


def _first_step_per_tensor(d: dict[str, np.ndarray], g: dict[str, np.ndarray], live: list[str],
                           lr: float) -> dict[str, dict[str, float]]:
    """Per tensor at step 1 (no history yet: buffers and velocities start empty): ``cos(Δ, -g)`` and ``(-Δ·g / g·g) / lr``."""
    per = {}
    for k in live:
        dk, gk = np.ravel(d[k]), np.ravel(g[k])
        gg = float(gk @ gk)
        per[k] = {"cos": _cos(dk, -gk), "lr_factor": (float(-(dk @ gk) / gg) / lr) if gg > 0 else float("nan")}
    return per


def _read_history(res: ProbeResult, good: list[tuple[int, tuple[np.ndarray, float]]], determined: list[bool],
                  lr_eff: float, lr: float, stale_buffers: dict[str, float]) -> None:
    """Earlier coefficients relative to the newest: ``history``, ``decay``, ``history_weight``; a stale accumulator."""
    ev = res.evidence
    hist: list[tuple[int, np.ndarray]] = []
    for t, f in good:
        r = max((s for s in range(1, t + 1) if determined[s - 1]), default=0)  # last usable step
        if r >= 2 and f[0][r - 1] != 0:
            hist.append((t, f[0][: r - 1] / f[0][r - 1]))
    if not hist:
        return
    ev["history"] = {t: h.tolist() for t, h in hist}
    last = np.array([h[-1] for _, h in hist])
    weight = float(np.mean([np.mean(h) for _, h in hist]))
    decay = float(median(last))
    ev.update({"decay": decay, "history_weight": weight})
    t, h = hist[-1]
    growth = [r["update_norm"] / r["lr_grad_norm"] if r["lr_grad_norm"] else float("nan") for r in res.steps]
    stale = stale_accumulator(CarryOver(
        where=", ".join(sorted(stale_buffers)[:4]) or "train_step", framework=Framework.CHECK, weight=decay, windows=len(hist),
        buffers=tuple(sorted(stale_buffers)), history_weight=weight, lr=lr, unit="step",
        details={"history": {s: v.tolist() for s, v in hist}, "decay": decay, "lr_effective": lr_eff,
                 "update_over_lr_grad": growth, "buffers_not_empty_at_step_start": stale_buffers}))
    if stale is not None:
        res.findings.append(stale)
    elif weight > 0.2:
        ev["momentum_like"] = decay


def _scale_finding(lr_eff: float, lr: float, bs: int) -> Finding | None:
    """The step's size against the lr passed: ``summed-gradient`` when it is ``batch_size`` times, else ``update-mismatch``."""
    summed = summed_gradient(BatchScale(
        where="train_step", framework=Framework.CHECK, measured="probe", factor=lr_eff / lr, batch=bs, lr=lr,
        details={"lr_effective": lr_eff, "batch_size": bs}))
    if summed is not None and lr_eff > 0:
        return summed
    return update_mismatch(UpdateFit(kind="scale", where="train_step", lr=lr, lr_effective=lr_eff, batch=bs))

