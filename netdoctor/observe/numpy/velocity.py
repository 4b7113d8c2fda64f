"""A velocity read from the steps themselves: the recurrence ``Δ_t = a·Δ_{t-1} - c·A_t - e·A_{t-1}`` fitted over
consecutive update windows (``Δ_t`` the change of the sampled parameter entries at update ``t``, ``A_t`` what the
program applied at it: the buffers after the window's contributions, or the sum of the gradients it returned).

Every spelling of momentum is such a recurrence:

* ``v = mu * v - lr * g; p += v`` and ``v = mu * v + g; p -= lr * v``: ``a = mu``, ``c = lr``, ``e = 0``;
* ``v = mu * v + (1 - mu) * g; p -= lr * v`` (a moving average): ``a = mu``, ``c = lr (1 - mu)``;
* Nesterov's ``p += mu * v - lr * g`` after ``v = mu * v - lr * g``: ``a = mu``, ``c = lr (1 + mu)``, ``e = -mu lr``;
* plain SGD: ``a = 0``, ``e = 0``.

A gradient that stays the same moves the weights by ``(c + e) / (1 - a)`` times itself per step in the long run: the
effective learning rate, which the rules judge as they judge plain SGD's rate (:attr:`VelocityFit.rate`). Nothing here
is read from names: the fit is least squares over the sampled entries of every window that has the two windows before
it (so that ``Δ_{t-1}`` is one update, not the several a held stretch made).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from netdoctor._lazy import dataclass

__all__ = ["MOMENTUM_FIT", "VelocityFit", "decay_only", "effective_steps", "fit_velocity", "intakes"]

MOMENTUM_FIT = 0.05
"""Relative residual below which the recurrence explains the steps (a velocity's arithmetic is exact: float64 programs
fit to ~1e-7, float32 ones to ~1e-3), and above which plain SGD's fit (``a = e = 0``) must stay for a velocity to be
read at all."""
LEAST_MU = 0.05
"""The smallest share of the last step a velocity keeps (``mu`` below it is plain SGD within noise)."""
MOST_MU = 0.999
"""The largest share of the last step a velocity keeps: beyond it a step takes thousands of updates to forget, which no
momentum does. Steps that repeat themselves (a weight decay moving the weights by the same share at every update
while the loss's gradient is ~0: one output unit regressed onto a constant target) fit ``mu = 1`` to rounding, and a
rate ``(c + e) / (1 - mu)`` read from them is noise (npw0604: 'momentum 1', an effective rate of -0.0078 and steps
of 4.8e13 times the weights)."""
MIN_PAIRS = 3
"""Consecutive windows a fit needs."""

Window = dict[str, Any]


@dataclass(frozen=True)
class VelocityFit:
    """The recurrence the steps followed (see the module docstring)."""

    mu: float
    """``a``: the share of the last step each step keeps."""
    intake: float
    """``c``: the step per unit of what was applied at this update."""
    lag: float
    """``e``: the step per unit of what was applied at the update before (Nesterov's look-ahead; 0 for a heavy ball)."""
    resid: float
    """Relative residual of the fit (``|Δ - fit| / |Δ|`` over every fitted entry)."""
    plain: float
    """The same residual for plain SGD's fit (``Δ_t = -c·A_t``)."""
    pairs: int
    """Windows fitted."""

    @property
    def rate(self) -> float:
        """The effective learning rate: ``(c + e) / (1 - a)``, the step per unit of a gradient that stays the same."""
        return (self.intake + self.lag) / (1.0 - self.mu)

    @property
    def step(self) -> float:
        """The step per unit of one window's applied gradient (``c + e``): a sum of ``n`` gradients applied at
        ``lr`` gives ``lr`` here, their mean ``lr / n``, whatever the velocity does with them afterwards."""
        return self.intake + self.lag


def _triples(windows: Sequence[Window], applied: Callable[[Window], np.ndarray | None]) -> list[tuple[Window, Window]]:
    """``(previous, this)`` for every window whose two predecessors were windows too (then the previous window's
    ``Δ`` is one update's change), each with a ``delta`` and what it applied."""
    by = {w["update"]: w for w in windows}
    out = []
    for u in sorted(by):
        p, w = by.get(u - 1), by[u]
        if p is None or u - 2 not in by:
            continue
        if any(x.get("delta") is None or applied(x) is None for x in (p, w)):
            continue
        if p["delta"].shape != w["delta"].shape or applied(p).shape != w["delta"].shape:  # type: ignore[union-attr]
            continue
        out.append((p, w))
    return out


def _residual(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    n = float(np.linalg.norm(y))
    return coef, float(np.linalg.norm(X @ coef - y)) / n if n > 0 else math.inf


def fit_velocity(windows: Sequence[Window], applied: Callable[[Window], np.ndarray | None]) -> VelocityFit | None:
    """The velocity the steps of ``windows`` followed, or None: too few consecutive windows, plain SGD explains the
    steps, or no recurrence does (an adaptive rule, a schedule changing within the windows).

    Args:
        windows: the update windows (``update``: its number; ``delta``: the change of the sampled entries).
        applied: what a window applied, on the same entries (None: not seen).
    """
    pairs = _triples(windows, applied)
    if len(pairs) < MIN_PAIRS:
        return None
    with np.errstate(all="ignore"):
        d = np.concatenate([w["delta"] for _, w in pairs])
        dp = np.concatenate([p["delta"] for p, _ in pairs])
        a = np.concatenate([applied(w) for _, w in pairs])
        ap = np.concatenate([applied(p) for p, _ in pairs])
        ok = np.isfinite(d) & np.isfinite(dp) & np.isfinite(a) & np.isfinite(ap)
        if ok.sum() < 8 or not np.any(d[ok]):
            return None
        d, dp, a, ap = d[ok], dp[ok], a[ok], ap[ok]
        _, plain = _residual(-a[:, None], d)
        (mu, c), resid = _residual(np.stack([dp, -a], axis=1), d)
        lag = 0.0
        if resid >= MOMENTUM_FIT:  # Nesterov: the look-ahead reads the gradient of the update before too
            (mu, c, lag), resid = _residual(np.stack([dp, -a, -ap], axis=1), d)
    if not (resid < MOMENTUM_FIT <= plain and LEAST_MU <= mu <= MOST_MU and c != 0 and math.isfinite(c)):
        return None
    return VelocityFit(float(mu), float(c), float(lag), resid, plain, len(pairs))


def intakes(fit: VelocityFit, windows: Sequence[Window], applied: Callable[[Window], np.ndarray | None]
            ) -> list[tuple[Window, float, float]]:
    """Per window fitted, ``(window, step, resid)``: the step per unit of what that window applied (``c + e`` of
    :attr:`VelocityFit.step`, read from this window alone with ``a`` and ``e`` of the whole fit) and the relative
    residual of that window."""
    out = []
    for p, w in _triples(windows, applied):
        with np.errstate(all="ignore"):
            a, ap = applied(w), applied(p)
            if a is None or ap is None:
                continue
            r = w["delta"] - fit.mu * p["delta"] + fit.lag * ap  # = -c A_t
            m = np.isfinite(r) & np.isfinite(a)
            aa = float(a[m] @ a[m])
            rr = float(np.linalg.norm(r[m]))
            if aa == 0 or rr == 0 or not math.isfinite(aa):
                continue
            c = -float(r[m] @ a[m]) / aa
            out.append((w, c + fit.lag, float(np.linalg.norm(r[m] + c * a[m])) / rr))
    return out


def effective_steps(fit: VelocityFit, windows: Sequence[Window], applied: Callable[[Window], np.ndarray | None]
                    ) -> list[tuple[Window, np.ndarray]]:
    """Per window, the step plain SGD at the effective rate would have made from its gradient, on the sampled entries
    of ``delta``: ``-rate * A_t`` (:attr:`VelocityFit.rate`) where the window's applied gradient was seen and the
    intake is known, else ``(Δ_t - mu Δ_{t-1}) / (1 - mu)`` (the velocity's memory taken out of the step: a heavy
    ball's ``-c g_t / (1 - mu)``) for a window whose two predecessors were windows."""
    out = []
    by = {w["update"]: w for w in windows}
    for u, w in sorted(by.items()):
        a, d = applied(w), w.get("delta")
        if d is None:
            continue
        p = by.get(u - 1)
        differenced = ((d - fit.mu * p["delta"]) / (1.0 - fit.mu) if p is not None and u - 2 in by
                       and p.get("delta") is not None and p["delta"].shape == d.shape else None)
        if a is not None and a.shape == d.shape and math.isfinite(fit.intake):
            step = -fit.rate * a
            if differenced is not None:  # tensors without an applied array seen (no buffer paired): differenced
                step = np.where(np.isfinite(step), step, differenced)
            out.append((w, step))
        elif differenced is not None:
            out.append((w, differenced))
    return out


def decay_only(mu: float) -> VelocityFit | None:
    """A velocity known only by its decay (measured on the velocity arrays themselves while discovering), for steps
    whose gradient is never seen as an array (computed and applied inline); None when ``mu`` is no velocity's."""
    if not (math.isfinite(mu) and LEAST_MU <= mu <= MOST_MU):
        return None
    return VelocityFit(mu, math.nan, 0.0, math.nan, math.nan, 0)
