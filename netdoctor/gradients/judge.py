"""Judging analytic against numerical values, entry by entry or along directions.

An entry fails when ``rel_error(a, n) > rtol`` with the denominator floor
``max(atol, noise / rtol)``: below the finite-difference noise we only ask for
agreement to that noise. A failing central entry is measured again at ``h/10``
(truncation error ``O(h^2)`` shrinks 100x; a kink farther than ``h/10`` leaves the
step); if it still fails and its one-sided differences disagree while the
analytic value lies between them, the step straddles a kink (relu, abs, max):
the entry is *skipped* with that reason, never failed. A kink exactly at ``x``
(zero inputs with zero biases put relu units on it) whose one-sided slopes disagree
beyond noise is skipped when the code's gradient just off ``x`` matches each side
(:func:`kink_at_x`). A random direction is judged the same way (see
:func:`_direction`): one that crosses a kink is skipped.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from netdoctor.gradients.engine import Problem, central, complex_step, directional, measured_noise, one_sided, recheck, slopes
from netdoctor.gradients.hints import tensor_hint
from netdoctor.gradients.options import Options, tolerances
from netdoctor.gradients.result import CoordinateCheck, DirectionCheck, TensorCheck, rel_error
from netdoctor.nn.stats import median

__all__ = ["sample", "build_tensor", "coverage", "checked_note", "judge_per_coordinate", "judge_directional",
           "kink_in_step", "kink_at_x", "MAX_RECHECKS"]

MAX_RECHECKS = 32
"""Failing entries per tensor measured again at h/10 (each costs two evaluations)."""



def sample(size: int, max_coords: int | None, rng: np.random.Generator) -> np.ndarray:
    """Sorted flat indices: all of them, or ``max_coords`` drawn without replacement."""
    if max_coords is None or size <= max_coords:
        return np.arange(size)
    return np.sort(rng.choice(size, size=max_coords, replace=False))


def build_tensor(
    name: str,
    shape: tuple[int, ...],
    idx: np.ndarray,
    a: np.ndarray,
    n: np.ndarray,
    floor: np.ndarray,
    skipped: np.ndarray,
    *,
    rtol: float,
    analytic_full: np.ndarray,
    batch_size: int | None,
    same_as: str | None,
    values: np.ndarray | None = None,
) -> TensorCheck:
    """Assemble a :class:`TensorCheck` from aligned per-entry arrays (``skipped``: reason or None)."""
    rel = rel_error(a, n, floor)
    judged = np.array([s is None for s in skipped], dtype=bool)
    failed = judged & (rel > rtol)
    rel_j = rel[judged]
    order = np.argsort(-np.where(judged, rel, -1.0), kind="stable")[:5]
    unravel = lambda i: tuple(int(v) for v in np.unravel_index(int(i), shape)) if shape else ()  # noqa: E731
    worst = [CoordinateCheck(unravel(idx[m]), float(a[m]), float(n[m]), float(rel[m])) for m in order if judged[m]]
    skip_list = [
        CoordinateCheck(unravel(idx[m]), float(a[m]), float(n[m]), float(rel[m]), skipped[m])
        for m in np.flatnonzero(~judged)[:5]
    ]
    reasons = list(dict.fromkeys(s for s in skipped if s is not None))
    hint = None
    if failed.any():
        hint = tensor_hint(name, idx, a, n, judged, analytic_full, rtol=rtol, floor=floor,
                           batch_size=batch_size, same_as=same_as, values=values)
    return TensorCheck(
        name=name, shape=tuple(shape), n_checked=int(judged.sum()), n_failed=int(failed.sum()),
        n_skipped=int((~judged).sum()), max_rel_error=float(rel_j.max()) if rel_j.size else 0.0,
        median_rel_error=float(median(rel_j)) if rel_j.size else 0.0, worst=worst, skipped=skip_list,
        skip_reasons=reasons[:3], hint=hint, limit=rtol,
    )


def coverage(tensors: list[TensorCheck], max_coords: int | None) -> str:
    """Which entries were compared, in words: every one, or how many of how many per tensor.

    An entry counts as checked when it was compared or skipped at a kink;
    tensors with a shape problem are not compared entry by entry.
    """
    seen = [(t, t.n_checked + t.n_skipped, int(np.prod(t.shape, dtype=np.int64))) for t in tensors]
    compared = [(t, k, size) for t, k, size in seen if k]
    uncompared = [t.name for t, k, _ in seen if not k]
    full = [t.name for t, k, size in compared if k >= size]
    part = [f"{k:,} of {size:,} entries of {t.name}" for t, k, size in compared if k < size]
    if not part:
        total = sum(k for _, k, _ in compared)
        text = (f"every entry of every tensor checked ({total:,} entries)" if not uncompared else
                f"every entry of {', '.join(full)} checked ({total:,} entries)" if full else "no entry compared")
    else:
        text = f"sampled {', '.join(part)} (max_coords={max_coords})"
        if full:
            text += f"; every entry of {', '.join(full)}"
    if uncompared:
        text += f"; {', '.join(uncompared)} not compared entry by entry (wrong shape)"
    return text


def checked_note(lead: str, tensors: list[TensorCheck], max_coords: int | None, tail: str = ".") -> str:
    """``"<lead>: <coverage>"`` + ``tail``: a note on a choice that says which entries it checked."""
    return f"{lead}: {coverage(tensors, max_coords)}{tail}"


def problem_tensor(name: str, shape: tuple[int, ...], problem: str, rtol: float) -> TensorCheck:
    """A tensor whose gradient cannot be compared entry by entry (wrong shape)."""
    hint = "transpose the gradient (e.g. a.T @ delta instead of delta.T @ a)" if "transpose" in problem else (
        "sum over the batch axis (axis=0 for row-major batches) so the gradient has the parameter's shape")
    return TensorCheck(name, tuple(shape), 0, 0, 0, 0.0, 0.0, hint=hint, limit=rtol, problem=problem)


def judge_per_coordinate(
    problem: Problem, analytic: list[np.ndarray], problems: list[str | None], f0: float, opts: Options,
    rng: np.random.Generator, *, method: str, h: float, dtype: str, batch_size: int | None,
    same_as: dict[str, str] | None, max_coords: Any = "opts",
) -> list[TensorCheck]:
    """Per-entry check of every tensor (sampled) with central differences or the complex step.

    Raises:
        NotAnalytic: for ``method="complex"`` when the function rejects complex input.
    """
    max_coords = opts.max_coords if max_coords == "opts" else max_coords
    out = []
    for k, name in enumerate(problem.names):
        arr = problem.arrays[k]
        rtol, atol = tolerances(opts, name=name, dtype=dtype, method=method)
        problem_text = problems[k]
        if problem_text is not None:
            out.append(problem_tensor(name, arr.shape, problem_text, rtol))
            continue
        idx = sample(arr.size, max_coords, rng)
        a = analytic[k].reshape(-1)[idx]
        skipped = np.full(len(idx), None, dtype=object)
        if method == "complex":
            n = complex_step(problem, k, idx, f0)
            floor = np.full(len(idx), atol)
        else:
            n, floor = _central_entries(problem, k, idx, a, analytic[k], skipped, f0, h=h, rtol=rtol, atol=atol)
        out.append(build_tensor(name, arr.shape, idx, a, n, floor, skipped, rtol=rtol,
                                analytic_full=analytic[k], batch_size=batch_size,
                                same_as=(same_as or {}).get(name), values=np.array(arr.flat[idx], dtype=float)))
    return out


def _central_entries(problem: Problem, k: int, idx: np.ndarray, a: np.ndarray, analytic_k: np.ndarray, skipped: np.ndarray,
                     f0: float, *, h: float, rtol: float, atol: float) -> tuple[np.ndarray, np.ndarray]:
    """Central differences of array ``k`` at entries ``idx`` against the analytic ``a``: ``(numeric, floor)``.

    Failing entries are looked at again (up to ``MAX_RECHECKS``): against the
    loss's measured roundoff, at a 10x smaller step (truncation error), and for
    a kink within the step, whose reason goes into ``skipped`` (in place).
    """
    arr = problem.arrays[k]
    c = central(problem, k, idx, h)
    n = c["numeric"]
    floor = np.maximum(atol, c["noise"] / rtol)
    bad = np.flatnonzero(rel_error(a, n, floor) > rtol)
    sigma = np.inf
    if len(bad):
        # The roundoff of (f+ - f-) / step is ~ 2 sigma / step with sigma the loss's measured
        # roundoff (once per tensor, along the first failing entry); 10x margin for 16 samples.
        i = int(idx[bad[0]])
        sigma = measured_noise(problem, [_unit(arr.shape, i)], h * max(1.0, abs(float(arr.flat[i]))), [k])
        if sigma < np.inf:  # inf: the loss does not change along that entry, nothing measured
            floor = np.maximum(floor, 20 * sigma / c["step"] / rtol)
        bad = np.flatnonzero(rel_error(a, n, floor) > rtol)
    for m in bad[:MAX_RECHECKS]:
        if c["fp"][m] == c["fm"][m] == f0:
            skipped[m] = _unresolved(problem, k, int(idx[m]), h, f0)
            if skipped[m] is not None:
                continue
        r = recheck(problem, k, int(idx[m]), h / 10, f0)
        if 0 < sigma < np.inf:  # the measured roundoff, where below the 64 eps bound (same margin)
            r["noise"] = min(r["noise"], 20 * sigma / (h / 10 * max(1.0, abs(float(arr.flat[idx[m]])))))
        fl = max(atol, r["noise"] / rtol)
        if rel_error(a[m], r["numeric"], fl) <= rtol:
            n[m], floor[m] = r["numeric"], fl  # truncation error, or a kink left the smaller step
            continue
        lo, hi = sorted((r["forward"], r["backward"]))
        tol = rtol * max(abs(lo), abs(hi), atol) + 2 * r["noise"]
        # A kink: the one-sided slopes differ clearly and the analytic value lies between them;
        # or they differ beyond noise and the analytic value is one of them (the usual subgradient
        # convention, relu'(0) = 0), which a wrong gradient matches only by accident.
        one_side = min(abs(a[m] - lo), abs(a[m] - hi)) <= tol
        if (hi - lo > 10 * r["noise"] + tol or (one_side and hi - lo > 2 * r["noise"] + tol)) \
                and lo - tol <= a[m] <= hi + tol:
            skipped[m] = (
                f"one-sided differences disagree (forward {r['forward']:.3e}, backward "
                f"{r['backward']:.3e}): a kink (relu, abs, max) lies within the step"
            )
            continue
        step = h * max(1.0, abs(float(arr.flat[idx[m]])))
        e = [_unit(arr.shape, int(idx[m]))]
        skipped[m] = (kink_in_step(problem, [analytic_k], e, step, [k], gap=abs(a[m] - n[m]), rtol=rtol)
                      or kink_at_x(problem, [analytic_k], e, step, [k], f0, gap=abs(a[m] - n[m]), rtol=rtol, atol=atol,
                                   sigma=sigma))
    return n, floor


def _unresolved(problem: Problem, k: int, i: int, h: float, f0: float) -> str | None:
    """Why entry ``i`` of array ``k`` cannot be judged at step ``h`` (the loss did not move at all), or None.

    A float32 loss summed from terms of size 8 moves in steps of ~1e-6; a gradient of
    1e-6 changes it by 1e-9 over a step of 1e-3: nothing to see. That is no verdict only
    if the loss does depend on the entry: it must move at step ``100 h``. A loss that does
    not move even then while the gradient is nonzero is left to fail.
    """
    far = recheck(problem, k, i, 100 * h, f0)
    if far["forward"] == far["backward"] == 0.0:
        return None
    return ("the loss is the same at x - h, x and x + h (the change is below its float resolution; it moves at "
            "100 h): nothing to compare at this step")


def _unit(shape: tuple[int, ...], i: int) -> np.ndarray:
    e = np.zeros(shape)
    e.flat[i] = 1.0
    return e


def kink_in_step(problem: Problem, g: list[np.ndarray], u: list[np.ndarray], eps: float, ks: list[int], *,
                 gap: float, rtol: float) -> str | None:
    """Why the difference over ``[x - eps u, x + eps u]`` (or a tenth, a hundredth of it) cannot be judged, or None.

    The central difference averages the loss's slope over the step; a kink inside
    (at ``x`` or near it: tiny weights put relu pre-activations at 1e-11) makes it
    differ from the slope at ``x`` by up to half the jump in slope. The code's own
    gradient along the segment (:func:`slopes`) shows such a jump as a second
    difference; when those add up to the disagreement ``gap`` (and stand out of the
    tolerance), the kink explains it and there is no derivative at ``x`` to compare
    with. Curvature alone gives second differences O(eps^2), far below.
    """
    if problem.gradient is None:
        return None
    for step in (eps, eps / 10, eps / 100):  # kinks closer together than the spacing can cancel there
        s = slopes(problem, g, u, step, ks)
        jumps = float(np.abs(s[:-2] - 2 * s[1:-1] + s[2:]).sum())
        if jumps >= gap and jumps > rtol * float(np.abs(s).max()):
            where = {eps: "h", eps / 10: "h/10"}.get(step, "h/100")
            return (f"the gradient itself jumps within the step (slopes {s[0]:.3e}, {s[2]:.3e}, {s[4]:.3e} at "
                    f"-{where}, 0, +{where}): a kink (relu, abs, max) lies within the step")
    return None


def kink_at_x(problem: Problem, g: list[np.ndarray], u: list[np.ndarray], eps: float, ks: list[int], f0: float, *,
              gap: float, rtol: float, atol: float, sigma: float = np.inf) -> str | None:
    """Why the code's gradient at ``x`` has nothing to be compared with along ``u`` (a kink at ``x``), or None.

    Let ``F(t) = f(x + t u)`` and ``c(t) = g(x + t u) . u`` the code's slope. With the
    one-sided differences ``D+ = (F(s) - F(0)) / s``, ``D- = (F(0) - F(-s)) / s``
    (:func:`one_sided`): where ``F`` is smooth on ``(0, s]`` the midpoint rule gives
    ``D+ = c(s/2) + O(s^2)``, likewise ``D- = c(-s/2)``. At a kink at ``x`` (relu or
    leaky relu units exactly at 0, e.g. zero inputs with zero biases) the value ``c(0)``
    is a chain of subgradient conventions: when ``D+ != D-`` there is no derivative; and
    even where the two sides agree (leaky'(0) = 1 in two layers while a negative weight
    between them gives the slope 0.01 on both sides) the chain rule at ``x`` can differ
    from the derivative. Neither is a bug of the code. So the step ``s`` is skipped when
    the roundoff cannot explain the disagreement ``gap`` seen at ``eps`` (``2 noise < gap``),
    the code matches both sides just off ``x``,

        |D+ - c(s/2)| <= tol   and   |D- - c(-s/2)| <= tol,

    and ``x`` is a kink: the sides differ, ``|D+ - D-| > 10 noise + tol``, or the code's
    own slope jumps at ``x``: ``|c(0) - c(+-s/2)| > rtol max(|c|, atol) + |c(s/2) - c(-s/2)|``
    on both sides (a smooth slope moves as much between ``-s/2`` and ``s/2`` as from 0 to
    either; code slopes have no finite-difference roundoff).
    ``tol = rtol max(|D+|, |D-|, |c(+-s/2)|, atol) + 2 noise``, ``noise`` the one-sided
    difference's roundoff (``64 eps |f| / s``, or ``20 sigma / s`` from the measured
    roundoff ``sigma`` where larger). A wrong slope in the backward pass or a factor on a
    tensor breaks one of the two matches and is left to fail. Tried at ``s = eps, eps/10,
    eps/100``: kinks of other samples near ``x`` (pre-activations of 1e-7) leave the
    smaller steps.
    """
    if problem.gradient is None:
        return None
    c0 = sum(float(np.sum(gi.astype(np.float64) * d)) for gi, d in zip(g, u))
    for step in (eps, eps / 10, eps / 100):
        r = one_sided(problem, u, step, ks, f0)
        noise = max(r["noise"], 20 * sigma / step) if sigma < np.inf else r["noise"]
        if 2 * noise >= gap:
            break  # smaller steps only have more roundoff
        fw, bw, cf, cb = r["forward"], r["backward"], r["code_forward"], r["code_backward"]
        tol = rtol * max(abs(fw), abs(bw), abs(cf), abs(cb), atol) + 2 * noise
        if abs(fw - cf) > tol or abs(bw - cb) > tol:
            continue
        where = {eps: "h", eps / 10: "h/10"}.get(step, "h/100")
        if abs(fw - bw) > 10 * noise + tol:
            return (f"a kink at this point: the one-sided slopes differ (forward {fw:.3e}, backward {bw:.3e} over "
                    f"{where}) and the gradient just off the kink matches each side ({cf:.3e}, {cb:.3e}); there is "
                    "no derivative here to compare with")
        # The code's slopes carry no finite-difference roundoff: its jump is judged at rtol.
        if min(abs(c0 - cf), abs(c0 - cb)) > rtol * max(abs(c0), abs(cf), abs(cb), atol) + abs(cf - cb):
            return (f"a kink at this point: the gradient is {c0:.3e} here but {cb:.3e} and {cf:.3e} at -{where}/2 "
                    f"and +{where}/2, where it matches the one-sided slopes ({bw:.3e}, {fw:.3e}); a chain of "
                    "subgradient conventions at units exactly on their kink (relu'(0), leaky_relu'(0))")
    return None


def judge_directional(
    problem: Problem, analytic: list[np.ndarray], problems: list[str | None], opts: Options,
    rng: np.random.Generator, *, h: float, dtype: str,
) -> tuple[list[DirectionCheck], bool]:
    """Whole-model directional derivatives; returns the checks and whether to check entries one by one.

    Entries are checked one by one when a direction fails, a gradient has the wrong
    shape, or every direction was skipped (crossed a kink), which leaves no verdict.
    """
    rtol, atol = tolerances(opts, name="", dtype=dtype, method="directional")
    ks = [k for k in range(len(problem.names)) if problems[k] is None]
    g = [analytic[k] for k in ks]
    checks = []
    for d in range(opts.n_directions):
        u = [rng.standard_normal(problem.arrays[k].shape) for k in ks]
        norm = np.sqrt(sum(float(np.sum(v * v)) for v in u)) or 1.0
        checks.append(_direction(problem, g, [v / norm for v in u], ks, d, h=h, rtol=rtol, atol=atol))
    judged = [c for c in checks if c.skipped is None]
    return checks, not judged or any(not c.ok for c in judged) or any(p is not None for p in problems)


def _direction(problem: Problem, g: list[np.ndarray], u: list[np.ndarray], ks: list[int], seed: int,
               *, h: float, rtol: float, atol: float) -> DirectionCheck:
    """One direction, judged like one entry: step h, then h/10, then the kink test.

    At ``h/10`` the O(h^2) truncation error shrinks 100x and a kink farther than
    ``h/10`` leaves the step; that verdict only counts while the roundoff, 10x larger
    there, stays below half the disagreement seen at ``h`` (a wrong gradient keeps its
    disagreement at every step). Otherwise :func:`kink_in_step` decides whether a kink
    crossed by the step (a relu unit at or next to 0) explains the disagreement, or
    :func:`kink_at_x` finds one exactly at ``x`` with each side matching the code: then
    the loss has no derivative along this line to compare with and the direction is
    skipped. A wrong gradient still fails the other directions or, when every one is
    skipped, the per-entry pass.
    """
    def judge(r: dict[str, float]) -> float:
        return float(rel_error(r["analytic"], r["numeric"], max(atol, r["noise"] / rtol)))

    r = directional(problem, g, u, h, ks)
    rel = judge(r)
    if rel <= rtol:
        return DirectionCheck(seed, "model", r["analytic"], r["numeric"], rel, ok=True)
    # The central difference's roundoff, from the loss's measured roundoff sigma: (e+ - e-) / 2h
    # is ~ sigma / h; 10x margin because sigma comes from only 16 samples.
    sigma = measured_noise(problem, u, 10 * h, ks)
    why: str | None
    if sigma == np.inf:
        why = ("the loss does not change at all over 15 steps of h along this direction: the steps are below "
               "its resolution, nothing to compare")
        return DirectionCheck(seed, "model", r["analytic"], r["numeric"], rel, ok=True, skipped=why)
    r["noise"] = max(r["noise"], 10 * sigma / h)
    rel = judge(r)
    if rel <= rtol:
        return DirectionCheck(seed, "model", r["analytic"], r["numeric"], rel, ok=True)
    gap = abs(r["analytic"] - r["numeric"])
    r2 = directional(problem, g, u, h / 10, ks)
    if 2 * r2["noise"] < gap and judge(r2) <= rtol:
        return DirectionCheck(seed, "model", r2["analytic"], r2["numeric"], judge(r2), ok=True)
    why = (kink_in_step(problem, g, u, h, ks, gap=gap, rtol=rtol)
           or kink_at_x(problem, g, u, h, ks, problem.evaluate(), gap=gap, rtol=rtol, atol=atol, sigma=sigma))
    return DirectionCheck(seed, "model", r["analytic"], r["numeric"], rel, ok=why is not None, skipped=why)
