"""Numerical derivatives of any scalar function of a few arrays (the generic path).

A :class:`Problem` is a list of named live arrays, a way to evaluate the loss
at their current values, and optionally a way to evaluate it with one array
replaced by a complex copy. The engine perturbs entries in place and puts the
exact old value back after every evaluation (the caller also snapshots and
restores everything, see :mod:`netdoctor.gradcheck`).

Methods:

* central differences ``(f(x + h e_k) - f(x - h e_k)) / (2h)``: truncation error
  ``O(h^2)``, roundoff ``~ eps |f| / h``; the step is scaled,
  ``h_k = h * max(1, |x_k|)``, and the divisor is the difference of the
  representable points actually evaluated;
* complex step ``Im f(x + i h e_k) / h`` with ``h = 1e-20``: no subtraction, so
  no cancellation; exact to rounding when every operation is analytic;
* directional: ``(f(x + eps u) - f(x - eps u))`` against ``dot(g, x+ - x-)`` for
  seeded random unit directions ``u`` over all tensors.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

__all__ = ["Problem", "NotAnalytic", "central", "complex_step", "recheck", "directional", "NOISE_FACTOR"]

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
    eps: float = float(np.finfo(np.float64).eps)
    """Machine epsilon of the arithmetic the loss is computed in."""
    subject: str = "the function"
    """Who computes the loss, for messages ("the model", "f")."""
    notes: list[str] = field(default_factory=list)


def _steps(x: np.ndarray, h: float) -> tuple[np.ndarray, np.ndarray]:
    """Representable ``x + h_k`` and ``x - h_k`` with ``h_k = h * max(1, |x|)``."""
    hk = (h * np.maximum(1.0, np.abs(x))).astype(x.dtype)
    return x + hk, x - hk


def central(problem: Problem, k: int, idx: np.ndarray, h: float) -> dict[str, np.ndarray]:
    """Central differences for entries ``idx`` (flat) of array ``k``.

    Returns:
        dict with ``numeric``, ``noise`` (finite-difference roundoff estimate),
        ``fp``, ``fm`` (loss at ``x+``, ``x-``) and ``step`` (``x+ - x-``).
    """
    # ndarray.flat writes through to the array, contiguous or not.
    flat = problem.arrays[k].flat
    old = np.array([flat[i] for i in idx], dtype=problem.arrays[k].dtype)
    xp, xm = _steps(old, h)
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
    noise = NOISE_FACTOR * problem.eps * np.maximum(np.abs(fp), np.abs(fm)) / step
    return {"numeric": numeric, "noise": noise, "fp": fp, "fm": fm, "step": step}


def recheck(problem: Problem, k: int, i: int, h: float, f0: float) -> dict[str, float]:
    """One entry at a smaller step: central value and both one-sided differences.

    A smooth function gives ``forward ~= backward`` (they differ by ``h f''``);
    a kink within the step (relu, abs, max) makes them differ by the jump in slope.
    """
    flat = problem.arrays[k].flat
    old = problem.arrays[k].dtype.type(flat[i])
    xp, xm = _steps(np.asarray([old]), h)
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
        "noise": NOISE_FACTOR * problem.eps * max(abs(fp), abs(fm), abs(f0)) / min(sp, sm),
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


def directional(
    problem: Problem, analytic: list[np.ndarray], u: list[np.ndarray], eps: float, ks: list[int]
) -> tuple[float, float, float]:
    """Directional derivative along ``u`` over arrays ``ks``.

    Returns:
        ``(analytic, numeric, noise)``: ``dot(g, dx) / (2 eps)`` with ``dx = x+ - x-``
        as actually represented, ``(f(x+) - f(x-)) / (2 eps)``, and the roundoff level.
    """
    saved = [problem.arrays[k].copy() for k in ks]
    plus = [s + eps * d for s, d in zip(saved, u)]
    minus = [s - eps * d for s, d in zip(saved, u)]
    try:
        for k, p in zip(ks, plus):
            np.copyto(problem.arrays[k], p)
        fp = problem.evaluate()
        for k, m in zip(ks, minus):
            np.copyto(problem.arrays[k], m)
        fm = problem.evaluate()
    finally:
        for k, s in zip(ks, saved):
            np.copyto(problem.arrays[k], s)
    dot = sum(float(np.sum(a.astype(np.float64) * (p.astype(np.float64) - m.astype(np.float64))))
              for a, p, m in zip(analytic, plus, minus))
    noise = NOISE_FACTOR * problem.eps * max(abs(fp), abs(fm)) / (2 * eps)
    return dot / (2 * eps), (fp - fm) / (2 * eps), noise
