"""Checking prescribed fixes: re-train the reference MLP briefly with each change.

For the reference :class:`~netdoctor.nn.mlp.MLP` the remedies are options of
the model itself (learning rate, initialisation, gradient reduction, input
scaling), so :func:`verify_fixes` can try each one for an epoch on a fresh
copy and put the accuracy before and after into the finding's evidence and
fix text. Re-exported by :mod:`netdoctor.diagnosis.experiments`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from netdoctor.findings import Finding

__all__ = ["verify_fixes", "short_run", "format_accuracy"]


def _rebuild(model: Any, **changes: Any):
    """A fresh reference MLP (seed 0) with the model's configuration, ``changes`` applied."""
    from netdoctor.nn.mlp import MLP

    cfg = model.config()
    sizes = cfg.pop("sizes")
    cfg.pop("n_params", None)
    cfg["loss"] = cfg.pop("loss")
    cfg.update(changes)
    cfg["seed"] = 0
    try:
        return type(model)(sizes, **cfg)
    except TypeError:
        return MLP(sizes, **cfg)


def short_run(model: Any, X, y, X_eval, y_eval, *, lr: float, batch_size: int, seed: int) -> float | None:
    """Train ``model`` itself one epoch on ``(X, y)``; its accuracy on ``(X_eval, y_eval)`` after."""
    from netdoctor.nn.training import accuracy, train

    with np.errstate(all="ignore"):
        train(model, X, y, epochs=1, lr=lr, batch_size=batch_size, seed=seed)
        return accuracy(model, X_eval, y_eval)


def _prescriptions(model: Any, codes: set[str], lr: float) -> dict[str, tuple[str, dict[str, Any], float, float]]:
    """code -> (description, MLP changes, learning rate, input scale)."""
    out: dict[str, tuple[str, dict[str, Any], float, float]] = {}
    if getattr(model, "reduce", "mean") == "sum" and codes & {"summed-gradient", "learning-rate-too-high"}:
        # Averaging already divides the step by the batch size: no second cut of lr on top.
        for code in codes & {"summed-gradient", "learning-rate-too-high"}:
            out[code] = ("reduce='mean'", {"reduce": "mean"}, lr, 1.0)
    elif "learning-rate-too-high" in codes:
        out["learning-rate-too-high"] = (f"lr={lr / 10:g}", {}, lr / 10, 1.0)
    if "learning-rate-too-low" in codes:
        out["learning-rate-too-low"] = (f"lr={lr * 10:g}", {}, lr * 10, 1.0)
    if codes & {"bad-initial-loss", "saturated-activations"} and getattr(model, "init", None) == "normal":
        key = "bad-initial-loss" if "bad-initial-loss" in codes else "saturated-activations"
        init = "he" if getattr(model, "activation", "") in ("relu", "leaky_relu") else "xavier"
        out[key] = (f"init={init!r}", {"init": init}, lr, 1.0)
    return out


def verify_fixes(model: Any, X, y, X_eval, y_eval, findings: Sequence[Finding], *, lr: float, batch_size: int,
                 seed: int = 0) -> tuple[list[Finding], dict[str, Any]]:
    """Re-train the reference MLP one epoch with each prescribed change; before/after accuracy into evidence."""
    codes = {f.code for f in findings}
    plan = _prescriptions(model, codes, lr)
    scale = 1.0
    if "unscaled-inputs" in codes:
        scale = 1.0 / max(float(np.abs(X[:4096]).max()), 1e-12)
        plan["unscaled-inputs"] = (f"inputs x {scale:.3g}", {}, lr, scale)
    if not plan:
        return list(findings), {}
    before = short_run(_rebuild(model), X, y, X_eval, y_eval, lr=lr, batch_size=batch_size, seed=seed)
    results: dict[str, Any] = {"before": before}
    merged_changes: dict[str, Any] = {}
    merged_lr = lr
    done: dict[str, Any] = {}
    for code, (what, changes, rate, s) in plan.items():
        if what not in done:
            done[what] = short_run(_rebuild(model, **changes), X * s, y, X_eval * s, y_eval, lr=rate, batch_size=batch_size, seed=seed)
        results[code] = {"change": what, "accuracy_before": before, "accuracy_after": done[what]}
        merged_changes.update(changes)
        if rate != lr:
            merged_lr = rate
    if len(done) > 1:
        all_after = short_run(_rebuild(model, **merged_changes), X * scale, y, X_eval * scale, y_eval, lr=merged_lr, batch_size=batch_size, seed=seed)
        results["all"] = {"change": ", ".join(done), "accuracy_before": before, "accuracy_after": all_after}
    out = []
    for f in findings:
        r = results.get(f.code)
        if r is not None:
            verified = f"checked: one epoch with {r['change']} reaches {format_accuracy(r['accuracy_after'])}"
            if "all" in results and results["all"]["change"] != r["change"]:
                verified += f", with all prescribed changes ({results['all']['change']}) {format_accuracy(results['all']['accuracy_after'])}"
            verified += f"; as configured {format_accuracy(before)}"
            extra = {"fix_change": r["change"], "accuracy_before": before, "accuracy_after": r["accuracy_after"]}
            if "all" in results:
                extra["accuracy_after_all_fixes"] = results["all"]["accuracy_after"]
            f = dataclasses.replace(f, evidence={**f.evidence, **extra},
                                    fix=f"{f.fix} ({verified}).")
        out.append(f)
    return out, results


def format_accuracy(a: float | None) -> str:
    """An accuracy as a percentage with one decimal; ``n/a`` when it was not measured."""
    return "n/a" if a is None else f"{100 * a:.1f}%"
