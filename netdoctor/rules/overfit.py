"""A network that cannot memorise a handful of examples: ``cannot-overfit``.

``check``'s confirming experiment (:func:`netdoctor.diagnosis.experiments.overfit_tiny_batch`) trains copies
of the model on 16 training rows at several learning rates and hands what it measured over as a
:class:`TinyBatchFit`, with what is known of the code (the reference MLP, or a gradient check and an update
probe that found nothing). Any correct network memorises a handful of examples, so the rule says:

* **error** when the code is not known to be right: look for a bug in the update (naming the code bugs found);
* **warning** when it is (gradient and update verified): what stops the fit is what the numbers show, from the
  configuration findings present (:data:`CONFIGURATION`), a saturated output layer, or a loss still falling.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from netdoctor._lazy import dataclass
from netdoctor.findings import Finding, Severity
from netdoctor.rules.policy import OVERFIT_LOSS_SHARE, SATURATION_WARN

__all__ = ["TinyBatchTry", "TinyBatchFit", "CODE_BUGS", "CONFIGURATION", "fits", "cannot_overfit"]

CODE_BUGS = ("gradient-mismatch", "stale-accumulator", "summed-gradient", "update-mismatch", "frozen-parameters",
             "aliased-buffers", "mutated-constant", "batch-leak")
"""Findings that name a bug in the code that computes or applies the update."""
CONFIGURATION = ("saturated-activations", "bad-initial-loss", "dead-units", "vanishing-gradients", "learning-rate-too-low",
                 "learning-rate-too-high", "unscaled-inputs", "exploding-gradients")
"""Findings about the configuration (initialisation, scale, learning rate) that can stop a correct net fitting."""


@dataclass(frozen=True)
class TinyBatchTry:
    """One learning rate tried on the tiny batch: the loss before, after 90% of the steps and at the end."""

    lr: float
    start_loss: float
    late_loss: float
    end_loss: float
    accuracy: float
    """On the batch's own rows; NaN for a model without ``predict``."""


@dataclass(frozen=True)
class TinyBatchFit:
    """Evidence: the model trained on ``rows`` training examples for ``steps`` steps at each rate of ``tries``."""

    rows: int
    steps: int
    tries: tuple[TinyBatchTry, ...]
    reference_model: bool = False
    """The model is the reference MLP, whose gradient and update are known right."""
    checks_ran: bool = True
    """The diagnosis around the experiment is known (False when the experiment ran on its own)."""
    gradcheck_ok: bool | None = None
    """The gradient check's verdict; None when it did not run."""
    gradcheck_worst: float | None = None
    """Its worst relative error."""
    probe_ran: bool = False
    """The update probe ran."""
    output_saturation: float | None = None
    """Share of the output layer's values in the flat ends at the first probe (sigmoid/tanh outputs)."""
    output_activation: str = ""


def fits(t: TinyBatchTry) -> bool:
    """The rate fitted: the loss fell below :data:`OVERFIT_LOSS_SHARE` of its start with every row right."""
    return math.isfinite(t.end_loss) and t.end_loss <= OVERFIT_LOSS_SHARE * t.start_loss and (
        math.isnan(t.accuracy) or t.accuracy == 1.0)


def _evidence(fit: TinyBatchFit) -> dict[str, object]:
    t = fit.tries
    return {"rates": [x.lr for x in t], "loss_end_over_start": [x.end_loss / x.start_loss if x.start_loss else None for x in t],
            "accuracy": [x.accuracy for x in t], "steps": fit.steps, "limit": OVERFIT_LOSS_SHARE}


def _shown(f: Finding) -> str:
    """What a configuration finding measured, as a clause."""
    e = f.evidence
    try:
        if f.code == "saturated-activations":
            start = e.get("at_start")
            return (f"{f.where} is saturated: {100 * e['saturation']:.0f}% of its activations sit in the flat ends"
                    + (f" ({100 * start:.0f}% at initialisation)" if start is not None else ""))
        if f.code == "bad-initial-loss":
            return f"the loss starts at {e['ratio']:.2f}x what an untrained network should show"
        if f.code == "dead-units":
            return f"{e['dead_units']} of {e['units']} units in {f.where} are dead"
        if f.code == "vanishing-gradients":
            return f"the gradient reaching {f.where} is {e['grad_to_weight']:.1e} of its weights' size"
        if f.code == "learning-rate-too-low":
            return f"one update changes {e['tensor']} by only {e['update_ratio']:.1e} of its size"
        if f.code == "learning-rate-too-high":
            return f"one update changes {e['tensor']} by {100 * e['update_ratio']:.0f}% of its size"
        if f.code == "unscaled-inputs":
            return f"the inputs span {e['x_min']:.4g}..{e['x_max']:.4g}"
    except (KeyError, TypeError, ValueError):
        pass
    return f.message.rstrip(".")


def _verified(fit: TinyBatchFit, bugs: Sequence[str]) -> str | None:
    """Why the gradient and the update are known right, or None when they are not."""
    if fit.reference_model:
        return "the reference MLP's gradient and update are known to be right"
    if not fit.gradcheck_ok or not fit.probe_ran or bugs:
        return None
    worst = fit.gradcheck_worst
    gc_text = f"worst relative error {worst:.1e}" if isinstance(worst, (int, float)) else "no entry disagrees"
    return f"the gradient check ({gc_text}) and the update probe (each step applies lr x the mean gradient) agree"


def cannot_overfit(fit: TinyBatchFit, findings: Sequence[Finding] = ()) -> Finding | None:
    """The ``cannot-overfit`` finding, explained by what this run measured; None when a rate fitted.

    ``findings``: the diagnosis's other findings; the code bugs and configuration problems among them become the
    finding's causes, and the configuration ones are quoted with their numbers.
    """
    if not fit.tries or any(fits(t) for t in fit.tries):
        return None
    best = min(fit.tries, key=lambda t: t.end_loss / t.start_loss if t.start_loss else math.inf)
    rates = ", ".join(f"{t.lr:g}" for t in fit.tries)
    what = (f"The network cannot fit {fit.rows} examples in {fit.steps} steps at lr {rates} "
            f"(best: loss {best.start_loss:.4g} -> {best.end_loss:.4g} at lr {best.lr:g}).")
    where = f"{fit.rows} training examples"
    present = {f.code: f for f in findings}
    causes = tuple(c for c in CONFIGURATION if c in present)
    bugs = tuple(c for c in CODE_BUGS if c in present)
    verified = _verified(fit, bugs)
    if verified is None:
        return Finding(
            "cannot-overfit", Severity.ERROR, where, what, _evidence(fit),
            fix="Look for a bug in the update (buffers never reset, summed gradients, wrong sign), not for better hyper-parameters."
            if bugs or not fit.checks_ran else "Run the gradient check and the update probe (they were skipped or could not run) "
            "to tell a bug in the update from a configuration problem.",
            explanation="Any correct network memorises a handful of examples; failing at every learning rate points at the "
            "code that computes or applies the update" + (f", and {', '.join(bugs)} {'was' if len(bugs) == 1 else 'were'} found."
                                                           if bugs else "."),
            caused_by=bugs + causes,
        )
    shown = [_shown(present[c]) for c in causes]
    if fit.output_saturation is not None and fit.output_saturation >= SATURATION_WARN:
        shown.append(f"the output layer starts saturated, {100 * fit.output_saturation:.0f}% of its {fit.output_activation} "
                     "values in the flat ends, where their derivative is ~0")
    late, end = best.late_loss, best.end_loss
    if math.isfinite(late) and late > 0 and (late - end) / late > 0.01:
        shown.append(f"at lr {best.lr:g} the loss was still falling ({100 * (late - end) / late:.0f}% over the last "
                     f"{fit.steps // 10} steps): the steps are too small or too few")
    because = ("; ".join(shown) if shown else
               "no monitor shows a cause: the network may be too small for these examples, or learn too slowly at these rates")
    return Finding(
        "cannot-overfit", Severity.WARNING, where, what, _evidence(fit),
        fix="Fix what the linked findings show (initialise with std sqrt(1/fan_in) so units start in their linear range, "
        "scale the inputs, adjust the learning rate)." if shown else
        "Try a wider network or more steps at a larger learning rate on these few examples.",
        explanation=f"The gradient and the update are right ({verified}), so what stops the fit is what the numbers "
        f"show: {because}.",
        caused_by=causes,
    )
