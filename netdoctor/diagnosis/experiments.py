"""Confirming experiments: cheap runs that tell a bug from a tuning problem.

* :func:`overfit_tiny_batch`: a correct network drives the loss on 16
  examples to almost zero within a few hundred steps; one that cannot, even
  at 10x and 100x smaller learning rates, has a bug, not a tuning problem.
* :func:`check_independence`: example ``i``'s loss must not depend on example
  ``j``'s input. With a mean loss ``L(B) = (1/|B|) sum_n l(x_n)``, the
  directional derivative of ``|B| L(B)`` along a change of ``x_j`` equals that
  of ``|S| L(S)`` for any sub-batch ``S`` containing ``j`` exactly when the
  examples are independent. Normalising over the batch axis, or an ``(N,)``
  minus ``(N, 1)`` broadcast in the loss, breaks the equality (``batch-leak``).
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
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypedDict

import numpy as np

from netdoctor.buffers.reach import scratch_copy

# verify_fixes is re-exported: it is part of this module's public API.
from netdoctor.diagnosis.fixes import format_accuracy, short_run, verify_fixes
from netdoctor.diagnosis.sections import ExperimentLines
from netdoctor.findings import Finding, Severity

if TYPE_CHECKING:
    from netdoctor.findings import Report

__all__ = [
    "overfit_tiny_batch", "check_independence", "zero_input_baseline", "verify_fixes", "run_experiments",
    "OverfitTry", "OverfitResult", "IndependencePair", "IndependenceResult",
]

OVERFIT_ROWS = 16
OVERFIT_STEPS = 300
OVERFIT_LOSS_SHARE = 0.05
"""Loss below this share of the starting loss (with every example right) counts as fitted."""
LEAK_TOL = 1e-4
"""Relative difference of the two directional derivatives that counts as a leak (finite-difference error is ~1e-8)."""


class OverfitTry(TypedDict):
    """One learning rate tried on the tiny batch: loss before and after, accuracy on its rows."""

    lr: float
    start_loss: float
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
    """Example ``j`` moved along a unit direction; ``k`` the other example of the 2-row batch."""

    j: int
    k: int
    d_batch: float
    """d/dt of ``|B| L(B)``."""
    d_pair: float
    """d/dt of ``|S| L(S)``, S = {x_j, x_k}."""
    rel_diff: float


class _IndependenceRequired(TypedDict):
    independent: bool | None
    """None when no pair carried a signal (dead or saturated network)."""
    pairs: list[IndependencePair]
    worst: float | None
    summed: bool
    """The two derivatives differ by exactly ``|B|/|S|``: the loss is a sum, not a mean."""


class IndependenceResult(_IndependenceRequired, total=False):
    limit: float
    batch: int


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
        ``tries``: per rate the start and end loss and accuracy on the rows.
    """
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(X), size=min(rows, len(X)), replace=False)
    Xs, ys = X[idx], y[idx]
    tries: list[OverfitTry] = []
    # Smaller rates first (a too-large step is the common failure), then a larger one.
    for rate in (lr, lr / 10, lr / 100, lr * 10):
        with scratch_copy(model) as work, np.errstate(all="ignore"):
            start = float(work.loss(Xs, ys)[0])
            for _ in range(steps):
                work.train_step(Xs, ys, rate)
            end = float(work.loss(Xs, ys)[0])
            acc = float(np.mean(np.asarray(work.predict(Xs)).reshape(-1) == ys)) if hasattr(work, "predict") else math.nan
        ok = math.isfinite(end) and end <= OVERFIT_LOSS_SHARE * start and (math.isnan(acc) or acc == 1.0)
        tries.append({"lr": rate, "start_loss": start, "end_loss": end, "accuracy": acc, "fitted": bool(ok)})
        if ok:
            return {"fitted": True, "lr": rate, "rows": len(idx), "steps": steps, "tries": tries}
    return {"fitted": False, "lr": None, "rows": len(idx), "steps": steps, "tries": tries}


def check_independence(model: Any, X: np.ndarray, y: np.ndarray, *, pairs: int = 3, batch: int = 16, seed: int = 0) -> IndependenceResult:
    """Finite-difference test that each example's loss depends on its own input only.

    For ``pairs`` random examples ``j`` and a random unit direction ``v``,
    compares ``d/dt [|B| L(B)]`` with ``d/dt [|S| L(S)]`` where ``x_j <- x_j + t v``,
    ``B`` a batch of ``batch`` rows and ``S = {x_j, x_k}``.

    Returns:
        ``independent`` (bool, None when no pair was informative), ``worst``
        relative difference, ``summed`` (True if the two differ by exactly
        ``|B|/|S|``: the loss is a sum, not a mean), per-pair numbers.
    """
    rng = np.random.default_rng(seed)
    m = min(batch, len(X))
    if m < 3:
        return {"independent": None, "pairs": [], "worst": None, "summed": False}
    idx = rng.choice(len(X), size=m, replace=False)
    B, yB = np.array(X[idx], dtype=float), y[idx]
    # A model that can compute in float64 (a PyTorch module's twin) is measured there: float32 roundoff
    # in a 16-row sum is as large as the differences this test looks for.
    twin = getattr(model, "as_float64", None)
    measured = twin() if callable(twin) else model
    dtype = next(iter(np.asarray(v).dtype for v in _arrays(measured.params)), np.float64)
    h = 1e-2 if dtype == np.float32 else 1e-4
    tol = 1e-2 if dtype == np.float32 else LEAK_TOL

    # loss() may write into buffers (stale accumulators): measure on a scratch copy.
    with scratch_copy(measured) as work:
        def total(Xb, yb):
            return len(Xb) * float(work.loss(Xb, yb)[0])

        rows: list[IndependencePair] = []
        for j in rng.choice(m, size=min(pairs, m), replace=False):
            k = (j + 1 + int(rng.integers(m - 1))) % m
            v = rng.standard_normal(B.shape[1])
            v /= np.linalg.norm(v)
            S, yS = B[[j, k]].copy(), yB[[j, k]]
            with np.errstate(all="ignore"):
                Bp, Bm = B.copy(), B.copy()
                Bp[j] += h * v
                Bm[j] -= h * v
                Sp, Sm = S.copy(), S.copy()
                Sp[0] += h * v
                Sm[0] -= h * v
                d_full = (total(Bp, yB) - total(Bm, yB)) / (2 * h)
                d_sub = (total(Sp, yS) - total(Sm, yS)) / (2 * h)
            scale = max(abs(d_full), abs(d_sub))
            if not math.isfinite(scale) or scale < 1e-7:
                continue  # no signal (dead or saturated net): this pair says nothing
            rel = abs(d_full - d_sub) / scale
            rows.append({"j": int(idx[j]), "k": int(idx[k]), "d_batch": d_full, "d_pair": d_sub, "rel_diff": rel})
    if not rows:
        return {"independent": None, "pairs": [], "worst": None, "summed": False, "batch": m}
    worst = max(r["rel_diff"] for r in rows)
    summed = all(abs(r["d_batch"] / r["d_pair"] - m / 2) < 1e-3 * m for r in rows if r["d_pair"])
    return {"independent": worst <= tol or summed, "worst": worst, "limit": tol, "summed": summed, "pairs": rows, "batch": m}


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
                    notes: list[str]) -> list[Finding]:
    """Run the confirming experiments that apply and fold their results into the findings."""
    from netdoctor.nn.mlp import MLP

    results: _Results = {}
    findings = list(findings)
    codes = {f.code for f in findings}
    if not (hasattr(model, "train_step") and hasattr(model, "loss")):
        notes.append("overfit and zero-input experiments skipped: the model needs train_step and loss")
    else:
        fit = overfit_tiny_batch(model, X, y, lr=lr, seed=seed)
        results["overfit_16"] = fit
        if not fit["fitted"]:
            findings.append(_cannot_overfit(model, fit, lr))
        elif fit["lr"] != lr:
            findings = [dataclasses.replace(f, evidence={**f.evidence, "overfit_16": f"fits at lr {fit['lr']:g}, not at {lr:g}"})
                        if f.code == "learning-rate-too-high" else f for f in findings]
    if hasattr(model, "loss"):
        ind = check_independence(model, X, y, seed=seed)
        results["independence"] = ind
        if ind["independent"] is False:
            worst = max(ind["pairs"], key=lambda r: r["rel_diff"])
            findings.append(Finding(
                "batch-leak", Severity.ERROR, f"inputs {worst['j']} and others in the batch",
                f"The loss of one example depends on the other examples in its batch: moving input {worst['j']} changes the batch "
                f"loss by {worst['d_batch']:.4g} per unit but a 2-example batch's by {worst['d_pair']:.4g} (relative difference {worst['rel_diff']:.2g}).",
                {"rel_diff": ind["worst"], "limit": ind["limit"], "batch": ind["batch"], "pairs": len(ind["pairs"])},
                fix="Normalise over features, not over the batch axis; keep shapes (N, C) vs (N, C) in the loss (an (N,) minus (N, 1) "
                "broadcasts to (N, N)); reduce the loss with a mean over examples only.",
                explanation="Per-example losses must be independent; a leak makes every gradient a mix of other examples' errors. "
                "(Batch normalisation in training mode couples examples on purpose.)",
            ))
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


def _tries(fit: OverfitResult) -> dict[str, Any]:
    t = fit["tries"]
    return {"rates": [x["lr"] for x in t], "loss_end_over_start": [x["end_loss"] / x["start_loss"] if x["start_loss"] else None for x in t],
            "accuracy": [x["accuracy"] for x in t], "steps": fit["steps"], "limit": OVERFIT_LOSS_SHARE}


def _cannot_overfit(model: Any, fit: OverfitResult, lr: float) -> Finding:
    from netdoctor.nn.mlp import MLP

    best = min(fit["tries"], key=lambda t: t["end_loss"] / t["start_loss"] if t["start_loss"] else math.inf)
    rates = ", ".join(f"{t['lr']:g}" for t in fit["tries"])
    what = (f"The network cannot fit {fit['rows']} examples in {fit['steps']} steps at lr {rates} "
            f"(best: loss {best['start_loss']:.4g} -> {best['end_loss']:.4g} at lr {best['lr']:g}).")
    # The reference MLP's update is known to be right: failing there is its configuration.
    if type(model) is MLP:
        return Finding(
            "cannot-overfit", Severity.WARNING, f"{fit['rows']} training examples", what, _tries(fit),
            fix="Fix the configuration findings listed with it (initialisation, input scale, gradient reduction).",
            explanation="Any healthy configuration memorises a handful of examples; this one cannot even do that.",
            caused_by=("bad-initial-loss", "saturated-activations", "unscaled-inputs", "summed-gradient", "learning-rate-too-high"),
        )
    return Finding(
        "cannot-overfit", Severity.ERROR, f"{fit['rows']} training examples", what, _tries(fit),
        fix="Look for a bug in the update (buffers never reset, summed gradients, wrong sign), not for better hyper-parameters.",
        explanation="Any correct network memorises a handful of examples; failing at every learning rate means the update "
        "does not follow the gradient.",
        caused_by=("stale-accumulator", "summed-gradient", "gradient-mismatch", "update-mismatch", "aliased-buffers", "batch-leak",
                   "frozen-parameters", "double-softmax"),
    )


def _summary(results: _Results) -> ExperimentLines:
    out: ExperimentLines = {}
    fit = results.get("overfit_16")
    if fit:
        out["overfit 16 examples"] = f"fits at lr {fit['lr']:g}" if fit["fitted"] else "fails at every learning rate tried"
    ind = results.get("independence")
    if ind:
        out["per-example independence"] = ("no signal" if ind["independent"] is None else
                                           ("independent" if ind["independent"] else "LEAK") + f" (worst rel. diff {ind['worst']:.1e})")
    if "zero_input_accuracy" in results:
        out["zero-input accuracy"] = format_accuracy(results["zero_input_accuracy"])
    for code, r in (results.get("fixes") or {}).items():
        if code != "before":
            out[f"fix {r['change']}"] = f"{format_accuracy(r['accuracy_before'])} -> {format_accuracy(r['accuracy_after'])} after one epoch"
    return out
