"""Checking prescribed fixes: re-train the reference MLP briefly with each change.

For the reference :class:`~netdoctor.nn.mlp.MLP` the remedies are options of
the model itself (learning rate, initialisation, gradient reduction, input
scaling), so :func:`verify_fixes` can try each one for an epoch on a fresh
copy and put the accuracy before and after into the finding's evidence and
fix text. Re-exported by :mod:`netdoctor.diagnosis.experiments`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from netdoctor.findings import Finding

__all__ = ["verify_fixes", "short_run", "format_accuracy", "helps_margin", "HELPS_MARGIN", "HELPS_SHARE", "LONGER_EPOCHS"]

HELPS_MARGIN = 0.02
"""Accuracy gain (absolute) a checked fix must show to count as helping; one-epoch runs of the same
configuration from different seeds differ by about a point on the bundled sample."""
HELPS_SHARE = 0.1
"""Share of the remaining way to 100% accuracy a checked fix must cover to count as helping."""
LONGER_EPOCHS = 3
"""Epochs of the second, longer check when one epoch shows no gain."""


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


def short_run(model: Any, X, y, X_eval, y_eval, *, lr: float, batch_size: int, seed: int, epochs: int = 1) -> float | None:
    """Train ``model`` itself ``epochs`` epochs (default one) on ``(X, y)``; its accuracy on ``(X_eval, y_eval)`` after."""
    from netdoctor.nn.training import accuracy, train

    with np.errstate(all="ignore"):
        train(model, X, y, epochs=epochs, lr=lr, batch_size=batch_size, seed=seed)
        return accuracy(model, X_eval, y_eval)


def _prescriptions(model: Any, codes: set[str], lr: float, batch_size: int = 1) -> dict[str, tuple[str, dict[str, Any], float, float]]:
    """code -> (description, MLP changes, learning rate, input scale).

    Each learning rate is the configured one times the change's own factor, so
    that the combination multiplies the factors (:func:`verify_fixes`).
    """
    out: dict[str, tuple[str, dict[str, Any], float, float]] = {}
    if getattr(model, "reduce", "mean") == "sum" and "learning-rate-too-low" in codes and "summed-gradient" in codes:
        # The step is already too small: average, but keep today's step (lr x batch) rather than shrink it.
        out["summed-gradient"] = (f"reduce='mean', lr={lr * batch_size:g}", {"reduce": "mean"}, lr * batch_size, 1.0)
    elif getattr(model, "reduce", "mean") == "sum" and codes & {"summed-gradient", "learning-rate-too-high"}:
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


def _gain(after: float | None, before: float | None) -> float:
    return -math.inf if after is None or before is None else after - before


def helps_margin(before: float | None) -> float:
    """The gain a fix must show from accuracy ``before``: :data:`HELPS_MARGIN`, or :data:`HELPS_SHARE` of
    the way to 100% if more (from 10% that is 9 points: 10% -> 12% is not a fix of a run that does not learn)."""
    return max(HELPS_MARGIN, HELPS_SHARE * (1.0 - (before or 0.0)))


def _judge(gain: float, before: float | None) -> str:
    m = helps_margin(before)
    return "helps" if gain >= m else ("worse" if gain <= -HELPS_MARGIN else "inconclusive")


def _epochs(n: int) -> str:
    return "one epoch" if n == 1 else f"{n} epochs"


def verify_fixes(model: Any, X, y, X_eval, y_eval, findings: Sequence[Finding], *, lr: float, batch_size: int,
                 seed: int = 0) -> tuple[list[Finding], dict[str, Any]]:
    """Re-train the reference MLP with each prescribed change; judge each by its own numbers.

    Each change (and, when there are several, all of them together) is trained
    one epoch from the same seed as the configuration as given. A change gains
    ``a_fix - a_before`` accuracy; it *helps* at a gain of at least
    :func:`helps_margin` (two points, or a tenth of the way to 100% if more),
    is *worse* at a loss of :data:`HELPS_MARGIN`, else *inconclusive*.
    When neither the change nor the combination helps within one epoch, both
    are checked again over :data:`LONGER_EPOCHS` epochs. The finding's fix then
    says what the check showed: the change helps; it helps only together with
    the others (the combination is prescribed); or the check is inconclusive
    or negative. Evidence: ``fix_change``, ``accuracy_before``,
    ``accuracy_after`` (and ``accuracy_after_all_fixes``) at
    ``checked_epochs``, and ``fix_verdict``.

    Long because the plan, its one-epoch and longer runs, and the verdict per
    finding share a dozen locals; it should become stages over one small state
    object, as :func:`netdoctor.diagnosis.pipeline.diagnose` is.
    """
    codes = {f.code for f in findings}
    plan = _prescriptions(model, codes, lr, batch_size)
    scale = 1.0
    if "unscaled-inputs" in codes:
        scale = 1.0 / max(float(np.abs(X[:4096]).max()), 1e-12)
        plan["unscaled-inputs"] = (f"inputs x {scale:.3g}", {}, lr, scale)
    if not plan:
        return list(findings), {}
    changes: dict[str, tuple[dict[str, Any], float, float]] = {}
    for what, change, rate, s in plan.values():
        changes.setdefault(what, (change, rate, s))
    merged: dict[str, Any] = {}
    merged_lr = lr
    for change, rate, _ in changes.values():
        merged.update(change)
        merged_lr *= rate / lr  # each change's factor on the learning rate, multiplied

    def run(what: str | None, epochs: int) -> float | None:
        if what is None:
            return short_run(_rebuild(model), X, y, X_eval, y_eval, lr=lr, batch_size=batch_size, seed=seed, epochs=epochs)
        if what == "all":
            return short_run(_rebuild(model, **merged), X * scale, y, X_eval * scale, y_eval, lr=merged_lr,
                             batch_size=batch_size, seed=seed, epochs=epochs)
        change, rate, s = changes[what]
        return short_run(_rebuild(model, **change), X * s, y, X_eval * s, y_eval, lr=rate, batch_size=batch_size,
                         seed=seed, epochs=epochs)

    before = {1: run(None, 1)}
    single = {what: {1: run(what, 1)} for what in changes}
    combined = {1: run("all", 1)} if len(changes) > 1 else None
    combo_helps = combined is not None and _gain(combined[1], before[1]) >= helps_margin(before[1])
    for what in changes:
        if _gain(single[what][1], before[1]) < helps_margin(before[1]) and not combo_helps:
            # One epoch shows no gain: a check that short can miss a slow one, so look longer before judging.
            if LONGER_EPOCHS not in before:
                before[LONGER_EPOCHS] = run(None, LONGER_EPOCHS)
                if combined is not None:
                    combined[LONGER_EPOCHS] = run("all", LONGER_EPOCHS)
            single[what][LONGER_EPOCHS] = run(what, LONGER_EPOCHS)
    results: dict[str, Any] = {"before": before[1]}
    out = []
    by_code = {code: what for code, (what, *_rest) in plan.items()}
    for code, what in by_code.items():
        n = max(single[what])
        r: dict[str, Any] = {"change": what, "accuracy_before": before[n], "accuracy_after": single[what][n], "checked_epochs": n}
        if combined is not None and n in combined:
            r["accuracy_after_all_fixes"] = combined[n]
        verdict = _judge(_gain(r["accuracy_after"], r["accuracy_before"]), r["accuracy_before"])
        if verdict != "helps" and combined is not None:
            m = 1 if combo_helps else max(combined)
            if _gain(combined[m], before[m]) >= helps_margin(before[m]):
                verdict = "helps-combined"
                r.update(accuracy_before=before[m], accuracy_after=single[what][m], accuracy_after_all_fixes=combined[m],
                         checked_epochs=m)
        r["fix_verdict"] = verdict
        results[code] = r
    if combined is not None:
        m = max(combined)
        together = [f"{k}={v!r}" for k, v in merged.items()] + ([f"lr={merged_lr:g}"] if merged_lr != lr else [])
        together += [w for w, (_, _, sc) in changes.items() if sc != 1.0]
        results["all"] = {"change": ", ".join(together), "changes": list(changes), "accuracy_before": before[m], "accuracy_after": combined[m],
                          "checked_epochs": m, "fix_verdict": _judge(_gain(combined[m], before[m]), before[m])}
    for f in findings:
        found = results.get(f.code)
        if found is not None:
            f = dataclasses.replace(f, evidence={**f.evidence, **{("fix_change" if k == "change" else k): v for k, v in found.items()}},
                                    fix=_checked_fix(f.fix, found, results.get("all")))
        out.append(f)
    return out, results


def _checked_fix(fix: str, r: dict[str, Any], combo: dict[str, Any] | None) -> str:
    """The finding's fix followed by what re-training with it showed."""
    what, n = r["change"], r["checked_epochs"]
    before, after = format_accuracy(r["accuracy_before"]), format_accuracy(r["accuracy_after"])
    verdict = r["fix_verdict"]
    if verdict == "helps":
        text = f"checked: {_epochs(n)} with {what} reaches {after}; as configured {before}"
        if combo is not None and combo["change"] != what and "accuracy_after_all_fixes" in r:
            text += f"; with all prescribed changes ({combo['change']}) {format_accuracy(r['accuracy_after_all_fixes'])}"
        return f"{fix} ({text})."
    if verdict == "helps-combined" and combo is not None:
        both = format_accuracy(r["accuracy_after_all_fixes"])
        alone = "worse" if _judge(_gain(r["accuracy_after"], r["accuracy_before"]), r["accuracy_before"]) == "worse" else "no better"
        return (f"{fix.rstrip('. ')}; the checks show it helps only together with the other prescribed changes: "
                f"{_epochs(n)} with all of them ({combo['change']}) reaches {both}, as configured {before}; {what} alone "
                f"reaches {after}, {alone}.")
    if verdict == "worse":
        return (f"{fix} (checked: {what} alone made it worse, {after} after {_epochs(n)} against {before} as configured; "
                "this fix is not confirmed by the check.)")
    return (f"{fix} (checked: {what} reaches {after} after {_epochs(n)}, as configured {before}: inconclusive, "
            "the check shows no clear gain.)")


def format_accuracy(a: float | None) -> str:
    """An accuracy as a percentage with one decimal; ``n/a`` when it was not measured."""
    return "n/a" if a is None else f"{100 * a:.1f}%"
