"""Confirming experiments: cheap runs that tell a bug from a tuning problem.

* :func:`overfit_tiny_batch`: a correct network drives the loss on 16
  examples to almost zero within a few hundred steps; one that cannot, even
  at 10x and 100x smaller learning rates, has a bug, not a tuning problem.
* :func:`check_independence`: example ``i``'s loss must not depend on example
  ``j``'s input. With a mean loss ``L(B) = (1/|B|) sum_n l(x_n)``, replacing
  ``x_j`` by another input changes ``|B| L(B)`` exactly as much as it changes
  ``|S| L(S)`` for a 2-example batch ``S`` holding ``j``, up to rounding, when
  the examples are independent. Normalising over the batch axis, or an
  ``(N,)`` minus ``(N, 1)`` broadcast in the loss, breaks the equality
  (``batch-leak``). No finite differences, so no truncation error to mistake
  for a leak on saturated nets or tiny input gradients.
* :func:`zero_input_baseline`: what the same training reaches with all-zero
  inputs: a network that does no better with real inputs ignores them.
* :func:`verify_fixes`: for the reference MLP, re-train briefly with each
  prescribed change (learning rate, initialisation, gradient reduction,
  input scaling) and put before/after accuracy into the finding's evidence.

Every experiment works on deep copies; the model passed in is not modified.
:func:`verify_fixes` lives in :mod:`netdoctor.diagnosis.fixes`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypedDict

import numpy as np

from netdoctor.buffers.reach import scratch_copy

# verify_fixes is re-exported: it is part of this module's public API.
from netdoctor.diagnosis.fixes import format_accuracy, short_run, verify_fixes
from netdoctor.diagnosis.sections import ExperimentLines
from netdoctor.findings import Finding
from netdoctor.rules.coupling import batch_leak
from netdoctor.rules.evidence import BatchCoupling
from netdoctor.rules.overfit import TinyBatchFit, TinyBatchTry, cannot_overfit, fits

if TYPE_CHECKING:
    from netdoctor.findings import Report

__all__ = [
    "overfit_tiny_batch", "check_independence", "zero_input_baseline", "verify_fixes", "run_experiments",
    "OverfitTry", "OverfitResult", "IndependencePair", "IndependenceResult",
]

OVERFIT_ROWS = 16
OVERFIT_STEPS = 300
ROUNDING_ULPS = 256
"""Rounding allowed between two batch totals, in units of eps times their size: measured on healthy MLPs
(sigmoid N(0, 25), relu, tanh, float64 and float32) the two agree to < 0.4 eps; leaks differ by > 1e-3."""


class OverfitTry(TypedDict):
    """One learning rate tried on the tiny batch: loss before, after 90% of the steps and at the end; accuracy on its rows."""

    lr: float
    start_loss: float
    late_loss: float
    end_loss: float
    accuracy: float
    """NaN for a model without ``predict``."""
    fitted: bool


class OverfitResult(TypedDict):
    fitted: bool
    lr: float | None
    """The first rate that fitted, or None."""
    rows: int
    steps: int
    tries: list[OverfitTry]


class IndependencePair(TypedDict):
    """Input ``j`` replaced by another; ``k`` the other example of the 2-row batch."""

    j: int
    k: int
    d_batch: float
    """Change of ``|B| L(B)``."""
    d_pair: float
    """Change of ``|S| L(S)``, S = {x_j, x_k}."""
    difference: float
    """``|d_batch - d_pair|``."""
    rounding: float
    """The rounding allowed for that difference."""
    rel_diff: float
    limit: float
    """``rounding`` relative to the larger change."""
    leak: bool


class _IndependenceRequired(TypedDict):
    independent: bool | None
    """None when there is no verdict (``reason`` says why)."""
    pairs: list[IndependencePair]
    worst: float | None
    summed: bool
    """The two changes differ by exactly ``|B|/|S|``: the loss is a sum, not a mean."""


class IndependenceResult(_IndependenceRequired, total=False):
    limit: float
    batch: int
    reason: str


class _Results(TypedDict, total=False):
    overfit_16: OverfitResult
    independence: IndependenceResult
    zero_input_accuracy: float | None
    fixes: dict[str, Any]


def overfit_tiny_batch(model: Any, X: np.ndarray, y: np.ndarray, *, lr: float, rows: int = OVERFIT_ROWS,
                       steps: int = OVERFIT_STEPS, seed: int = 0) -> OverfitResult:
    """Train copies on ``rows`` examples at ``lr``, ``lr/10``, ``lr/100``, ``10 lr``; stop at the first that fits.

    Returns:
        ``fitted`` (bool), ``lr`` (the first rate that fitted, or None),
        ``tries``: per rate the start loss, the loss after 90% of the steps
        (``late_loss``), the end loss and accuracy on the rows.
    """
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(X), size=min(rows, len(X)), replace=False)
    Xs, ys = X[idx], y[idx]
    tries: list[OverfitTry] = []
    # Smaller rates first (a too-large step is the common failure), then a larger one.
    for rate in (lr, lr / 10, lr / 100, lr * 10):
        with scratch_copy(model) as work, np.errstate(all="ignore"):
            start = float(work.loss(Xs, ys)[0])
            late = start
            for i in range(steps):
                if i == steps - steps // 10:
                    late = float(work.loss(Xs, ys)[0])
                work.train_step(Xs, ys, rate)
            end = float(work.loss(Xs, ys)[0])
            acc = float(np.mean(np.asarray(work.predict(Xs)).reshape(-1) == ys)) if hasattr(work, "predict") else math.nan
        ok = fits(TinyBatchTry(lr=rate, start_loss=start, late_loss=late, end_loss=end, accuracy=acc))
        tries.append({"lr": rate, "start_loss": start, "late_loss": late, "end_loss": end, "accuracy": acc, "fitted": bool(ok)})
        if ok:
            return {"fitted": True, "lr": rate, "rows": len(idx), "steps": steps, "tries": tries}
    return {"fitted": False, "lr": None, "rows": len(idx), "steps": steps, "tries": tries}


def check_independence(model: Any, X: np.ndarray, y: np.ndarray, *, pairs: int = 3, batch: int = 16, seed: int = 0) -> IndependenceResult:
    """Test that each example's loss depends on its own input only, exactly up to rounding.

    With per-example losses ``l`` and a mean loss, the batch total
    ``T(B) = |B| L(B) = sum_n l(x_n)``. Replacing ``x_j`` by another input
    ``x'`` changes ``T`` by ``l(x') - l(x_j)`` in *any* batch that holds
    ``x_j`` when the examples are independent, so for ``pairs`` random ``j``:
    ``Delta_B = T(B with x') - T(B)`` equals ``Delta_S = T(S with x') - T(S)``
    for the 2-example batch ``S = {x_j, x_k}``. No finite differences: the
    two agree to rounding, and the rounding allowed is
    ``max(ROUNDING_ULPS eps (|T(B)| + |T(B')| + |T(S)| + |T(S')|), 100 |T(B) - T(reversed B)|)``
    (``eps`` of the parameters' dtype; the second term measures the model's
    own rounding from a re-ordered batch, which a batch statistic does not
    change). A loss that gives two values for the same batch is random
    (dropout): no verdict.

    Returns:
        ``independent`` (bool; None when no verdict: ``reason`` says why),
        ``worst`` relative difference ``|Delta_B - Delta_S| / max(|Delta_B|, |Delta_S|)``,
        ``limit`` (the rounding allowed, relative), ``summed`` (True if
        ``Delta_B / Delta_S = |B| / 2``: the loss is a sum, not a mean),
        per-pair numbers.
    """
    rng = np.random.default_rng(seed)
    m = min(batch, len(X) - 1)
    if m < 3:
        return {"independent": None, "pairs": [], "worst": None, "summed": False, "reason": "fewer than 4 rows"}
    idx = rng.choice(len(X), size=min(len(X), m + pairs), replace=False)
    B, yB = np.array(X[idx[:m]], dtype=float), y[idx[:m]]
    spare = [np.array(X[i], dtype=float) for i in idx[m:]] or [np.array(X[idx[1]], dtype=float)]
    # A model that can compute in float64 (a PyTorch module's twin) is measured there: float32 roundoff
    # in a 16-row sum is as large as the differences this test looks for.
    twin = getattr(model, "as_float64", None)
    measured = twin() if callable(twin) else model
    dtype = next(iter(np.asarray(v).dtype for v in _arrays(measured.params)), np.float64)
    eps = float(np.finfo(dtype if np.issubdtype(dtype, np.floating) else np.float64).eps)

    # loss() may write into buffers (stale accumulators): measure on a scratch copy.
    with scratch_copy(measured) as work, np.errstate(all="ignore"):
        def total(Xb, yb):
            return len(Xb) * float(work.loss(Xb, yb)[0])

        t_B = total(B, yB)
        own = abs(t_B - total(B[::-1], yB[::-1]))  # the model's own rounding from another summation order
        if not math.isfinite(t_B):
            return {"independent": None, "pairs": [], "worst": None, "summed": False, "batch": m, "reason": "non-finite loss"}
        again = [total(B, yB) for _ in range(3)]
        if any(abs(t - t_B) > ROUNDING_ULPS * eps * abs(t_B) for t in again):
            return {"independent": None, "pairs": [], "worst": None, "summed": False, "batch": m,
                    "reason": "the loss is random (the same batch gives different values: dropout?)"}
        rows: list[IndependencePair] = []
        for n, j in enumerate(rng.choice(m, size=min(pairs, m), replace=False)):
            k = (j + 1 + int(rng.integers(m - 1))) % m
            x_new = spare[n % len(spare)]
            Bp = B.copy()
            Bp[j] = x_new
            S, yS = B[[j, k]], yB[[j, k]]
            Sp = S.copy()
            Sp[0] = x_new
            t_Bp, t_S, t_Sp = total(Bp, yB), total(S, yS), total(Sp, yS)
            d_full, d_sub = t_Bp - t_B, t_Sp - t_S
            if not all(math.isfinite(v) for v in (d_full, d_sub)):
                continue
            floor = max(ROUNDING_ULPS * eps * (abs(t_B) + abs(t_Bp) + abs(t_S) + abs(t_Sp)), 100 * own)
            diff = abs(d_full - d_sub)
            scale = max(abs(d_full), abs(d_sub), floor, 1e-300)
            rows.append({"j": int(idx[j]), "k": int(idx[k]), "d_batch": d_full, "d_pair": d_sub, "difference": diff,
                         "rounding": floor, "rel_diff": diff / scale, "limit": floor / scale, "leak": diff > floor})
    if not rows:
        return {"independent": None, "pairs": [], "worst": None, "summed": False, "batch": m, "reason": "non-finite loss"}
    worst = max(rows, key=lambda r: r["difference"] / r["rounding"] if r["rounding"] else math.inf)
    summed = all(r["d_pair"] and abs(r["d_batch"] / r["d_pair"] - m / 2) < 1e-6 * m for r in rows)
    leak = any(r["leak"] for r in rows) and not summed
    return {"independent": not leak, "worst": worst["rel_diff"], "limit": worst["limit"], "summed": summed,
            "pairs": rows, "batch": m}


def _arrays(params: Any) -> list[np.ndarray]:
    vals = params.values() if isinstance(params, Mapping) else params
    return [v for v in vals if isinstance(v, np.ndarray)]


def zero_input_baseline(model: Any, X: np.ndarray, y: np.ndarray, X_eval: np.ndarray, y_eval: np.ndarray, *,
                        lr: float, batch_size: int, seed: int = 0) -> float | None:
    """Accuracy on all-zero evaluation inputs after one epoch of training on all-zero inputs."""
    with scratch_copy(model) as work:
        return short_run(work, np.zeros_like(X), y, np.zeros_like(X_eval), y_eval, lr=lr, batch_size=batch_size,
                         seed=seed)


def run_experiments(model: Any, X: np.ndarray, y: np.ndarray, findings: list[Finding], *, X_test: np.ndarray | None = None,
                    y_test: np.ndarray | None = None, lr: float, batch_size: int, seed: int, report: Report,
                    notes: list[str], probes: Sequence[Mapping[str, Any]] = ()) -> list[Finding]:
    """Run the confirming experiments that apply and fold their results into the findings.

    ``probes`` are the training monitor's probe records (for what ``cannot-overfit`` explains with).
    """
    from netdoctor.nn.mlp import MLP

    results: _Results = {}
    findings = list(findings)
    codes = {f.code for f in findings}
    if hasattr(model, "loss"):
        ind = check_independence(model, X, y, seed=seed)
        results["independence"] = ind
        if ind["independent"] is False:
            worst = max((r for r in ind["pairs"] if r["leak"]), key=lambda r: r["difference"] / r["rounding"])
            leak = batch_leak(BatchCoupling(
                kind="loss", where=f"inputs {worst['j']} and others in the batch", rows=ind["batch"], change=worst["difference"],
                limit=worst["rounding"], example=worst["j"], d_batch=worst["d_batch"], d_pair=worst["d_pair"],
                details={"rel_diff": worst["rel_diff"], "limit": worst["limit"], "difference": worst["difference"],
                         "rounding": worst["rounding"], "batch": ind["batch"], "pairs": len(ind["pairs"])}))
            if leak is not None:
                findings.append(leak)
    if not (hasattr(model, "train_step") and hasattr(model, "loss")):
        notes.append("overfit and zero-input experiments skipped: the model needs train_step and loss")
    else:
        fit = overfit_tiny_batch(model, X, y, lr=lr, seed=seed)
        results["overfit_16"] = fit
        if (found := cannot_overfit(_tiny_batch_fit(model, fit, report, probes), findings)) is not None:
            findings.append(found)
        elif fit["lr"] != lr:
            findings = [dataclasses.replace(f, evidence={**f.evidence, "overfit_16": f"fits at lr {fit['lr']:g}, not at {lr:g}"})
                        if f.code == "learning-rate-too-high" else f for f in findings]
    X_eval, y_eval = (X_test, y_test) if X_test is not None and y_test is not None else (X[:2000], y[:2000])
    if codes & {"class-collapse", "constant-output", "accuracy-plateau"} and hasattr(model, "train_step"):
        zero = zero_input_baseline(model, X, y, X_eval, y_eval, lr=lr, batch_size=batch_size, seed=seed)
        results["zero_input_accuracy"] = zero
        findings = [dataclasses.replace(f, evidence={**f.evidence, "zero_input_accuracy": zero}) if f.code == "class-collapse" else f
                    for f in findings]
    # Only the reference MLP itself: a subclass's own train_step may ignore the changed option.
    if type(model) is MLP:
        findings, fixes = verify_fixes(model, X, y, X_eval, y_eval, findings, lr=lr, batch_size=batch_size, seed=seed)
        if fixes:
            results["fixes"] = fixes
    report.sections["experiments"] = _summary(results)
    return findings


def _tiny_batch_fit(model: Any, fit: OverfitResult, report: Any, probes: Sequence[Mapping[str, Any]]) -> TinyBatchFit:
    """The experiment's record for :func:`netdoctor.rules.overfit.cannot_overfit`, with what the diagnosis knows of the code."""
    from netdoctor.nn.mlp import MLP

    sections = getattr(report, "sections", {}) or {}
    gc = sections.get("gradcheck")
    out = [layer for layer in (probes[0].get("layers", []) if probes else [])
           if layer.get("role") == "output" and layer.get("saturation") is not None]
    worst = gc.get("worst_rel_error") if gc else None
    return TinyBatchFit(
        rows=fit["rows"], steps=fit["steps"],
        tries=tuple(TinyBatchTry(lr=t["lr"], start_loss=t["start_loss"], late_loss=t["late_loss"], end_loss=t["end_loss"],
                               accuracy=t["accuracy"]) for t in fit["tries"]),
        reference_model=type(model) is MLP, checks_ran=report is not None,
        gradcheck_ok=bool(gc.get("ok")) if gc else None,
        gradcheck_worst=float(worst) if isinstance(worst, (int, float)) else None,
        probe_ran=sections.get("probe") is not None,
        output_saturation=float(out[-1]["saturation"]) if out else None,
        output_activation=str(out[-1].get("activation", "")) if out else "")


_VERDICT_WORDS = {"helps": "helps", "helps-combined": "helps only with the others", "worse": "worse",
                  "inconclusive": "inconclusive"}


def _summary(results: _Results) -> ExperimentLines:
    out: ExperimentLines = {}
    fit = results.get("overfit_16")
    if fit:
        out["overfit 16 examples"] = f"fits at lr {fit['lr']:g}" if fit["fitted"] else "fails at every learning rate tried"
    ind = results.get("independence")
    if ind:
        out["per-example independence"] = (f"no verdict ({ind.get('reason', 'no signal')})" if ind["independent"] is None else
                                           ("independent" if ind["independent"] else "LEAK") + f" (worst rel. diff {ind['worst']:.1e})")
    if "zero_input_accuracy" in results:
        out["zero-input accuracy"] = format_accuracy(results["zero_input_accuracy"])
    for code, r in (results.get("fixes") or {}).items():
        if code != "before":
            n = r.get("checked_epochs", 1)
            out[f"fix {r['change']}"] = (f"{format_accuracy(r['accuracy_before'])} -> {format_accuracy(r['accuracy_after'])} "
                                         f"after {'one epoch' if n == 1 else f'{n} epochs'} ({_VERDICT_WORDS.get(r.get('fix_verdict'), 'checked')})")
    return out
