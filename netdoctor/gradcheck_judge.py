"""Judging analytic against numerical values, entry by entry or along directions.

An entry fails when ``rel_error(a, n) > rtol`` with the denominator floor
``max(atol, noise / rtol)``: below the finite-difference noise we only ask for
agreement to that noise. A failing central entry is measured again at ``h/10``
(truncation error ``O(h^2)`` shrinks 100x; a kink farther than ``h/10`` leaves the
step); if it still fails and its one-sided differences disagree while the
analytic value lies between them, the step straddles a kink (relu, abs, max):
the entry is *skipped* with that reason, never failed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .gradcheck_engine import Problem, central, complex_step, directional, recheck
from .gradcheck_hints import tensor_hint
from .gradcheck_options import Options, tolerances
from .gradcheck_result import CoordinateCheck, DirectionCheck, TensorCheck, rel_error

__all__ = ["sample", "build_tensor", "judge_per_coordinate", "judge_directional", "MAX_RECHECKS"]

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
        median_rel_error=float(np.median(rel_j)) if rel_j.size else 0.0, worst=worst, skipped=skip_list,
        skip_reasons=reasons[:3], hint=hint, limit=rtol,
    )


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
        if problems[k] is not None:
            out.append(problem_tensor(name, arr.shape, problems[k], rtol))
            continue
        idx = sample(arr.size, max_coords, rng)
        a = analytic[k].reshape(-1)[idx]
        skipped = np.full(len(idx), None, dtype=object)
        if method == "complex":
            n = complex_step(problem, k, idx, f0)
            floor = np.full(len(idx), atol)
        else:
            c = central(problem, k, idx, h)
            n = c["numeric"]
            floor = np.maximum(atol, c["noise"] / rtol)
            bad = np.flatnonzero(rel_error(a, n, floor) > rtol)[:MAX_RECHECKS]
            for m in bad:
                r = recheck(problem, k, int(idx[m]), h / 10, f0)
                fl = max(atol, r["noise"] / rtol)
                if rel_error(a[m], r["numeric"], fl) <= rtol:
                    n[m], floor[m] = r["numeric"], fl  # truncation error, or a kink left the smaller step
                    continue
                lo, hi = sorted((r["forward"], r["backward"]))
                tol = rtol * max(abs(lo), abs(hi), atol) + 2 * r["noise"]
                if hi - lo > 10 * r["noise"] + tol and lo - tol <= a[m] <= hi + tol:
                    skipped[m] = (
                        f"one-sided differences disagree (forward {r['forward']:.3e}, backward "
                        f"{r['backward']:.3e}): a kink (relu, abs, max) lies within the step"
                    )
        out.append(build_tensor(name, arr.shape, idx, a, n, floor, skipped, rtol=rtol,
                                analytic_full=analytic[k], batch_size=batch_size,
                                same_as=(same_as or {}).get(name), values=np.array(arr.flat[idx], dtype=float)))
    return out


def judge_directional(
    problem: Problem, analytic: list[np.ndarray], problems: list[str | None], opts: Options,
    rng: np.random.Generator, *, h: float, dtype: str,
) -> tuple[list[DirectionCheck], bool]:
    """Whole-model directional derivatives; returns the checks and whether to localise."""
    rtol, atol = tolerances(opts, name="", dtype=dtype, method="directional")
    ks = [k for k in range(len(problem.names)) if problems[k] is None]
    checks = []
    for d in range(opts.n_directions):
        u = [rng.standard_normal(problem.arrays[k].shape) for k in ks]
        norm = np.sqrt(sum(float(np.sum(v * v)) for v in u)) or 1.0
        u = [v / norm for v in u]
        an, nu, noise = directional(problem, [analytic[k] for k in ks], u, h, ks)
        rel = float(rel_error(an, nu, max(atol, noise / rtol)))
        checks.append(DirectionCheck(seed=d, scope="model", analytic=an, numeric=nu, rel_error=rel, ok=rel <= rtol))
    return checks, any(not c.ok for c in checks) or any(p is not None for p in problems)
