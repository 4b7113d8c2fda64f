"""Numerical derivatives of any scalar function of a few arrays (the generic path).

A :class:`Problem` is a list of named live arrays, a way to evaluate the loss
at their current values, and optionally a way to evaluate it with one array
replaced by a complex copy. The engine perturbs entries in place and puts the
exact old value back after every evaluation (the caller also snapshots and
restores everything, see :mod:`netdoctor.gradients`).

Methods:

* central differences ``(f(x + h e_k) - f(x - h e_k)) / (2h)``: truncation error
  ``O(h^2)``, roundoff ``~ eps |f| / h``; the step is scaled,
  ``h_k = h * max(1, |x_k|)``, and the divisor is the difference of the
  representable points actually evaluated;
* complex step ``Im f(x + i h e_k) / h`` with ``h = 1e-20``: no subtraction, so
  no cancellation; exact to rounding when every operation is analytic;
* directional: ``(f(x + eps u) - f(x - eps u))`` against ``dot(g, x+ - x-)`` for
  seeded random unit directions ``u`` over all tensors; :func:`slopes` tells a
  kink crossed by the step from a wrong gradient.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import field

import numpy as np

from netdoctor._lazy import dataclass
from netdoctor.errors import InvalidArgument
from netdoctor.nn.stats import median

__all__ = ["Problem", "NotAnalytic", "steps", "central", "complex_step", "recheck", "directional", "slopes", "one_sided",
           "measured_noise", "NOISE_FACTOR"]

NOISE_FACTOR = 64.0
"""Roundoff of a loss is a few hundred ulps of |f| for sums over batches and layers;
64 eps |f| / h is the finite-difference noise level below which we do not judge."""

COMPLEX_H = 1e-20


class NotAnalytic(Exception):
    """The function cannot be evaluated on complex input (reason in the message)."""


@dataclass
class Problem:
    """Named arrays the loss depends on, and how to evaluate it."""

    names: list[str]
    arrays: list[np.ndarray]
    """Live arrays, perturbed in place."""
    evaluate: Callable[[], float]
    """The loss at the arrays' current values."""
    evaluate_complex: Callable[[int, np.ndarray], complex] | None = None
    """The loss with array ``k`` replaced by a complex array; raises :class:`NotAnalytic`."""
    gradient: Callable[[], list[np.ndarray]] | None = None
    """The analytic gradient at the arrays' current values (float64 copies, one per array)."""
    eps: float = float(np.finfo(np.float64).eps)
    """Machine epsilon of the arithmetic the loss is computed in."""
    scale: float = 0.0
    """Size of the terms the loss is computed from: its roundoff is ``eps max(|f|, scale)``.
    A model's loss of 1e-11 (a confident right answer) still comes out of logits, targets
    and probabilities of size ~1 and rounds like them; a plain function is taken as is."""
    subject: str = "the function"
    """Who computes the loss, for messages ("the model", "f")."""
    notes: list[str] = field(default_factory=list)
    batched: Callable[[int, np.ndarray, float], dict[str, np.ndarray] | None] | None = None
    """Optional :func:`central` for many entries at once (same result keys); None from it: evaluate one by one."""


def steps(x: np.ndarray, h: float) -> tuple[np.ndarray, np.ndarray]:
    """Representable ``x + h_k`` and ``x - h_k`` with ``h_k = h * max(1, |x|)``."""
    hk = (h * np.maximum(1.0, np.abs(x))).astype(x.dtype)
    return x + hk, x - hk


def central(problem: Problem, k: int, idx: np.ndarray, h: float) -> dict[str, np.ndarray]:
    """Central differences for entries ``idx`` (flat) of array ``k``.

    Returns:
        dict with ``numeric``, ``noise`` (finite-difference roundoff estimate),
        ``fp``, ``fm`` (loss at ``x+``, ``x-``) and ``step`` (``x+ - x-``).
    """
    if problem.batched is not None:
        out = problem.batched(k, idx, h)
        if out is not None:
            return out
    # ndarray.flat writes through to the array, contiguous or not.
    flat = problem.arrays[k].flat
    old = np.array([flat[i] for i in idx], dtype=problem.arrays[k].dtype)
    xp, xm = steps(old, h)
    fp = np.empty(len(idx))
    fm = np.empty(len(idx))
    for m, i in enumerate(idx):
        try:
            flat[i] = xp[m]
            fp[m] = problem.evaluate()
            flat[i] = xm[m]
            fm[m] = problem.evaluate()
        finally:
            flat[i] = old[m]
    step = xp.astype(np.float64) - xm.astype(np.float64)
    numeric = (fp - fm) / step
    noise = NOISE_FACTOR * problem.eps * np.maximum(np.maximum(np.abs(fp), np.abs(fm)), problem.scale) / step
    return {"numeric": numeric, "noise": noise, "fp": fp, "fm": fm, "step": step}


def recheck(problem: Problem, k: int, i: int, h: float, f0: float) -> dict[str, float]:
    """One entry at a smaller step: central value and both one-sided differences.

    A smooth function gives ``forward ~= backward`` (they differ by ``h f''``);
    a kink within the step (relu, abs, max) makes them differ by the jump in slope.
    """
    flat = problem.arrays[k].flat
    old = problem.arrays[k].dtype.type(flat[i])
    xp, xm = steps(np.asarray([old]), h)
    try:
        flat[i] = xp[0]
        fp = problem.evaluate()
        flat[i] = xm[0]
        fm = problem.evaluate()
    finally:
        flat[i] = old
    sp = float(xp[0]) - float(old)
    sm = float(old) - float(xm[0])
    return {
        "numeric": (fp - fm) / (sp + sm),
        "forward": (fp - f0) / sp,
        "backward": (f0 - fm) / sm,
        "noise": NOISE_FACTOR * problem.eps * max(abs(fp), abs(fm), abs(f0), problem.scale) / min(sp, sm),
    }


def complex_step(problem: Problem, k: int, idx: np.ndarray, f0: float) -> np.ndarray:
    """Complex-step derivatives ``Im f(x + i h e_i) / h`` for entries ``idx`` of array ``k``.

    Raises:
        NotAnalytic: when the function rejects complex input, warns about
            discarding imaginary parts, returns a real value, or returns a real
            part different from ``f0`` (it does not compute with the array it was given).
    """
    if problem.evaluate_complex is None:
        raise NotAnalytic("no way to pass complex values to this function")
    base = problem.arrays[k].astype(np.complex128)
    flat = base.reshape(-1)
    out = np.empty(len(idx))
    for m, i in enumerate(idx):
        old = flat[i]
        flat[i] = old + 1j * COMPLEX_H
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", np.exceptions.ComplexWarning)
                value = problem.evaluate_complex(k, base)
        except NotAnalytic:
            raise
        except Exception as exc:  # the user's code refused complex numbers
            raise NotAnalytic(f"{problem.subject} raised {type(exc).__name__} on complex input ({exc})") from exc
        finally:
            flat[i] = old
        if not np.iscomplexobj(value) and not isinstance(value, complex):
            raise NotAnalytic(f"{problem.subject} returned a real value for complex input (the imaginary part "
                              "was dropped)")
        value = complex(value)
        if m == 0 and not np.isclose(value.real, f0, rtol=1e-9, atol=1e-12):
            raise NotAnalytic(f"the real part {value.real!r} of {problem.subject}'s complex result differs from "
                              f"the real loss {f0!r}")
        out[m] = value.imag / COMPLEX_H
    return out


def _set(problem: Problem, ks: list[int], values: list[np.ndarray]) -> None:
    for k, v in zip(ks, values):
        np.copyto(problem.arrays[k], v)


def _dot(g: list[np.ndarray], a: list[np.ndarray], b: list[np.ndarray]) -> float:
    """``dot(g, a - b)`` over all arrays, in float64."""
    return sum(float(np.sum(gi.astype(np.float64) * (ai.astype(np.float64) - bi.astype(np.float64))))
               for gi, ai, bi in zip(g, a, b))


def directional(
    problem: Problem, analytic: list[np.ndarray], u: list[np.ndarray], eps: float, ks: list[int]
) -> dict[str, float]:
    """Directional derivative along ``u`` over arrays ``ks``.

    Returns:
        dict with ``analytic`` (``dot(g, dx) / (2 eps)`` with ``dx = x+ - x-`` as
        represented in the arrays' dtype), ``numeric`` (``(f(x+) - f(x-)) / (2 eps)``)
        and ``noise`` (its roundoff level).
    """
    saved = [problem.arrays[k].copy() for k in ks]
    # The points as represented in the arrays' dtype (float32 rounds the step).
    plus = [(s + eps * d).astype(s.dtype) for s, d in zip(saved, u)]
    minus = [(s - eps * d).astype(s.dtype) for s, d in zip(saved, u)]
    try:
        _set(problem, ks, plus)
        fp = problem.evaluate()
        _set(problem, ks, minus)
        fm = problem.evaluate()
    finally:
        _set(problem, ks, saved)
    noise = NOISE_FACTOR * problem.eps * max(abs(fp), abs(fm), problem.scale) / (2 * eps)
    return {"analytic": _dot(analytic, plus, minus) / (2 * eps), "numeric": (fp - fm) / (2 * eps), "noise": noise}


def slopes(problem: Problem, analytic: list[np.ndarray], u: list[np.ndarray], eps: float, ks: list[int]
           ) -> np.ndarray:
    """The code's own directional derivative ``dot(g(x + t u), u)`` at ``t = -eps, -eps/2, 0, eps/2, eps``.

    ``analytic`` is ``g(x)``; the others come from ``problem.gradient`` at the shifted
    points. Where the loss is smooth the five lie on a straight line up to O(eps^2)
    (a second difference is ``(eps/2)^2`` times the fourth derivative); a kink crossed
    by the segment (a relu unit switched on or off) makes the gradient jump, and a
    second difference as large as the jump.
    """
    gradient = problem.gradient
    if gradient is None:
        raise InvalidArgument("slopes() needs the problem's gradient function (Problem.gradient).")
    saved = [problem.arrays[k].copy() for k in ks]
    out = []
    try:
        for frac in (-1.0, -0.5, 0.0, 0.5, 1.0):
            if frac == 0.0:
                g = analytic
            else:
                _set(problem, ks, [(s + frac * eps * d).astype(s.dtype) for s, d in zip(saved, u)])
                grads = gradient()
                g = [grads[k] for k in ks]
            out.append(sum(float(np.sum(gi.astype(np.float64) * d)) for gi, d in zip(g, u)))
    finally:
        _set(problem, ks, saved)
    return np.array(out)


def one_sided(problem: Problem, u: list[np.ndarray], eps: float, ks: list[int], f0: float) -> dict[str, float]:
    """One-sided differences along ``u`` and the code's own slopes in the middle of each side.

    With ``x+ = x + eps u`` and ``x- = x - eps u`` (as represented in the arrays' dtype),
    ``forward = (f(x+) - f(x)) / eps`` and ``backward = (f(x) - f(x-)) / eps``. Where ``f``
    is smooth on ``[x, x+]`` the forward difference is the mean slope over that segment, which
    the midpoint rule gives as ``dot(g((x + x+) / 2), x+ - x) / eps`` up to
    ``eps^2 / 24`` times the third derivative: ``code_forward``; likewise ``code_backward``
    with the midpoint of ``[x-, x]``. A kink exactly at ``x`` (a relu unit at 0) leaves both
    segments smooth, so a correct gradient matches each side although the two sides differ.

    Returns:
        dict with ``forward``, ``backward``, ``code_forward``, ``code_backward`` and ``noise``
        (roundoff of a one-sided difference, ``64 eps |f| / eps``).
    """
    gradient = problem.gradient
    if gradient is None:
        raise InvalidArgument("one_sided() needs the problem's gradient function (Problem.gradient).")
    saved = [problem.arrays[k].copy() for k in ks]
    out: dict[str, float] = {}
    f = [f0]
    try:
        for side, sign in (("forward", 1.0), ("backward", -1.0)):
            end = [(s + sign * eps * d).astype(s.dtype) for s, d in zip(saved, u)]
            mid = [(s + sign * eps / 2 * d).astype(s.dtype) for s, d in zip(saved, u)]
            _set(problem, ks, end)
            fe = problem.evaluate()
            f.append(fe)
            _set(problem, ks, mid)
            grads = gradient()
            g = [grads[k] for k in ks]
            # Both as changes from x towards the far end, so float32 rounding of the points cancels.
            out[side] = sign * (fe - f0) / eps
            out[f"code_{side}"] = sign * _dot(g, end, saved) / eps
    finally:
        _set(problem, ks, saved)
    out["noise"] = NOISE_FACTOR * problem.eps * max(max(abs(v) for v in f), problem.scale) / eps
    return out


def measured_noise(problem: Problem, u: list[np.ndarray], delta: float, ks: list[int]) -> float:
    """Roundoff of the loss, measured from its spread over 16 points ``x + j delta u``.

    ``64 eps |f|`` undercounts losses computed by cancellation (a cross-entropy of
    1e-8 from logits of size 8 has roundoff ~1e-15, not 1e-24). Over a span this
    small the smooth part of ``f`` leaves no trace in 4th differences (delta^4 times the 4th derivative),
    while independent rounding errors of size ``sigma`` give entries of spread
    ``sigma sqrt(C(8, 4))`` (as in More and Wild's ECnoise). The median of the 12
    entries is used: a relu kink inside the span spoils at most 4 of them.

    Returns:
        ``sigma``; ``inf`` when the 16 values are identical: the steps are below the
        loss's resolution (float32 logits of size 8 round the loss to ~1e-6).
    """
    saved = [problem.arrays[k].copy() for k in ks]
    f = np.empty(16)
    try:
        for j in range(len(f)):
            _set(problem, ks, [(s + j * delta * d).astype(s.dtype) for s, d in zip(saved, u)])
            f[j] = problem.evaluate()
    finally:
        _set(problem, ks, saved)
    if np.all(f == f[0]):
        return math.inf
    d4 = np.abs(np.diff(f, 4))
    # median |N(0, s^2)| = 0.6745 s. A loss that moves on a grid (summands of size 1 rounding a
    # loss of 1e-4 to multiples of ~1e-16) gives 4th differences that are mostly 0 and otherwise
    # multiples of the grid step: the smallest nonzero one bounds the rounding from below.
    grid = float(d4[d4 > 0].min()) if np.any(d4 > 0) else 0.0
    return max(float(median(d4)) / 0.6745, grid) / math.sqrt(math.comb(8, 4))
