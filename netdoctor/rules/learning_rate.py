"""The step size: ``learning-rate-too-high`` and ``learning-rate-too-low``, one rule each, from
:class:`~netdoctor.rules.evidence.UpdateSizes`."""

from __future__ import annotations

import math
import statistics

from netdoctor.findings import Finding, Severity
from netdoctor.rules.evidence import LayerActivity, LearningRateHistory, TrainingCurve, UpdateSizes
from netdoctor.rules.learning import curve_evidence, curve_text, learns, learns_well
from netdoctor.rules.policy import (
    ADAPTIVE_ENTRY_HIGH,
    ADAPTIVE_LR_HIGH,
    LEARNS_MIN_ROWS,
    LOW_LR_GRADIENT,
    LR_DECAYED,
    LR_DECAYED_SHARE,
    LR_FIRST_HUGE,
    LR_HIGH_DIVERGE,
    LR_HIGH_LEARNS,
    LR_HIGH_UPDATE,
    LR_LOW_LEARNS,
    LR_LOW_LOSS_LEFT,
    LR_LOW_MIN_STEPS,
    LR_LOW_TOTAL,
    LR_LOW_UPDATE,
    LR_SETTLED_GROWTH,
    VANISHING_RATIO,
)

__all__ = ["learning_rate_too_high", "learning_rate_too_low", "learning_rate_decayed", "first_update", "diverged", "settled"]


def first_update(u: UpdateSizes) -> float:
    """The size of the first updates: the median of the first five, or the largest of them when one is
    :data:`LR_FIRST_HUGE` times the weights (after such a step the units are saturated or dead and the later steps tiny).

    The first steps from a small initialisation are legitimately large (up to ~1.3x the weights in healthy NumPy
    runs), so one large step among five does not decide; a step ten times the weights does, wherever it falls among
    the first five (with one sample per update, the first sample may happen to move the weights little), and so do two
    steps larger than the weights (the smaller of the two).
    """
    return _first_steps(u)[0]


def _first_ratios(u: UpdateSizes) -> tuple[list[float], bool]:
    """The first (at most five) measured updates' |Δ| / |W|, and whether they are the steps as the program applied them
    (:attr:`~netdoctor.rules.evidence.UpdateSizes.applied_first`, with a velocity) rather than the effective rate's.

    With a velocity the effective rate's steps decide, except when an applied step was larger than the weights and
    either :data:`LR_FIRST_HUGE` times them or followed by weight matrices grown over :data:`LR_SETTLED_GROWTH` times:
    a velocity building up applies at most the effective rate's step, so such a step was no smaller in effect, and the
    windows after it see only the small steps of units it saturated or killed (npx1125: applied 0.3x, 1.9x, 51x, the
    weights grown 93x, then effective steps of 1e-16).
    """
    ratios = [r for r in u.first if math.isfinite(r)][:5]
    applied = [r for r in u.applied_first if math.isfinite(r)][:5]
    big = max(applied, default=math.nan)
    grew = u.growth is not None and u.growth > LR_SETTLED_GROWTH
    if big > max(ratios, default=0.0) and (big > LR_FIRST_HUGE or big > 1.0 and grew):
        return applied, True
    return ratios, False


def _first_steps(u: UpdateSizes) -> tuple[float, str]:
    """:func:`first_update` and what it is: ``"median of the first 5 updates"``, ``"the first measured update"``, ..."""
    ratios, _ = _first_ratios(u)
    if not ratios:
        return math.nan, ""
    huge = [i for i, r in enumerate(ratios) if r > LR_FIRST_HUGE]
    if huge:
        i = max(huge, key=lambda k: ratios[k])
        return ratios[i], "the first measured update" if i == 0 else f"update {i + 1} of the first {len(ratios)} measured"
    # two of the first five larger than the weights themselves: a rate that keeps overshooting (a small initialisation
    # takes one such step, see settled()); the later steps may be small only because the units it saturated or killed
    # pass no gradient, so the median of the five would hide it. The smaller of the two largest decides.
    over = sorted((r for r in ratios if r > 1.0), reverse=True)
    if len(over) >= 2:
        return over[1], f"{len(over)} of the first {len(ratios)} measured updates larger than the weights"
    if len(ratios) == 1:
        return ratios[0], "the first measured update"
    return float(statistics.median(ratios)), f"median of the first {len(ratios)} updates"


ENTRY = "the adaptive rule's step per entry"
"""How :func:`learning_rate_too_high` names the step measured per entry (:func:`entry_ratio`)."""

VANISHED = "after which the weights' gradient fell to"
"""How :func:`_after_the_first` names a step after which the units passed no gradient (an error: it failed the run)."""

RUN_MEDIAN = "median of the updates over the run"
"""How :func:`_after_the_first` names the steps measured over the whole run."""


def _after_the_first(u: UpdateSizes, limit: float) -> tuple[float, str] | None:
    """The step that says the rate is too high when the median of the first five does not: one of them larger than the
    weights after which the units pass no gradient at all (below :data:`VANISHING_RATIO` of the weights: it saturated
    or killed them, so the later steps are small for want of a gradient, not for a small rate), or the steps measured
    over the whole run, when their median stays above ``limit`` (a velocity building up takes small first steps at its
    effective rate; a rate too high keeps them large), or one of them larger than the weights after which the weight
    matrices grew over :data:`LR_SETTLED_GROWTH` times (healthy runs: 1.0-2.8x; npx1776: 1.04x, then 12x). In a run
    known to fail (:func:`_known_to_fail`) a step over ``limit`` followed by that growth is enough: a LeNet-5 at SGD lr
    3.0 moves fc3 by 8%, 17%, 12%, 43%, 8% of its size in its first five steps, then conv1 grows 66x and every relu
    dies (accuracy 10%). Not when the weights went non-finite: then the steps before that decide as they do without
    a growth (``pytree_params_ascent``, gradient ascent: a first step of 47%, then NaN, is ``non-finite``'s to
    explain), nor when an update was measured climbing the loss (``args_gradients_sign``, gradient ascent at lr 0.5: a
    34% step, then the weights grew 182x; the healthy twin at the same rate learns). None when none holds."""
    ratios, _ = _first_ratios(u)
    big = max(ratios, default=math.nan)
    vanished = u.gradient is not None and u.gradient < VANISHING_RATIO
    if big > 1.0 and vanished:
        return _vanished_after(u, ratios, big)
    grew = u.growth is not None and u.growth > LR_SETTLED_GROWTH
    if big > 1.0 and grew:
        return _grew_after(u, ratios, big)
    if u.typical is not None and math.isfinite(u.typical) and u.typical > limit and u.typical_count >= 5:
        return u.typical, RUN_MEDIAN
    # last: a step under the weights' size must not stand in for the run's median steps when those say more
    # (np2410's twin: its median over the run is larger than its largest first step)
    if big > limit and grew and math.isfinite(u.growth or math.nan) and not u.climbs and _known_to_fail(u):
        return _grew_after(u, ratios, big)
    # a step over the limit but under the weights' size after which no gradient passes, in a run known to fail (npw1156,
    # Adam at lr 0.2: a first step of 70% of the weights, then a gradient of 0, every relu dead; npx1930, a heavy ball
    # at lr 4.0 with one row per update: 28% and 34%, then 2e-9 of the weights, 99.8% of the sigmoids flat)
    if big > limit and vanished and not u.climbs and _known_to_fail(u):
        return _vanished_after(u, ratios, big)
    return None


def _vanished_after(u: UpdateSizes, ratios: list[float], big: float) -> tuple[float, str]:
    """The step ``big`` among the first ``ratios`` named with the weights' gradient after it."""
    i = ratios.index(big)
    return big, f"update {i + 1} of the first {len(ratios)} measured, {VANISHED} {u.gradient:.2g} of their size"


def _grew_after(u: UpdateSizes, ratios: list[float], big: float) -> tuple[float, str]:
    """The step ``big`` among the first ``ratios`` named with the weight matrices' growth after it."""
    i = ratios.index(big)
    return big, f"update {i + 1} of the first {len(ratios)} measured, after which the weight matrices grew {u.growth:.3g}x"


def _known_to_fail(u: UpdateSizes) -> bool:
    """The run's final accuracy is at most :data:`LR_HIGH_LEARNS`, or its training curve fails (:func:`_fails`)."""
    return u.accuracy is not None and u.accuracy <= LR_HIGH_LEARNS or _fails(u.curve)


def diverged(u: UpdateSizes) -> bool:
    """The loss ended above :data:`LR_HIGH_DIVERGE` times where it started."""
    a, b = u.loss_first, u.loss_last
    return a is not None and b is not None and math.isfinite(a) and math.isfinite(b) and b > LR_HIGH_DIVERGE * a


def settled(u: UpdateSizes, limit: float) -> bool:
    """The first steps were large, and the steps measured over the rest of the run settled below ``limit``, in a run
    not known to fail (no accuracy at or under :data:`LR_HIGH_LEARNS`); either the first steps were below the weights'
    own size (``limit < up <= 1``), or some were larger (none :data:`LR_FIRST_HUGE` times the weights) in a run whose
    weight matrices grew at most :data:`LR_SETTLED_GROWTH` times and still pass a gradient of at least
    :data:`LOW_LR_GRADIENT` of their size.

    Such a start is a small initialisation taking its first steps (healthy NumPy programs: 20-63% of a weight matrix
    at the first update, a median of 12-13% over the run, and 82-84% test accuracy; ``pure_params``: 137%, 263%, 123%,
    then 2.5%, the weights grown 1.8x, 94%), not a learning rate too high: that one keeps the steps large, or makes
    the first one larger than the weights (a learning rate 100x too high moves them by 22-40x), or its later steps are
    small only because it blew the weights up (18-170x) and the units it saturated or killed pass no gradient.
    """
    ratios, _ = _first_ratios(u)
    known_to_fail = u.accuracy is not None and u.accuracy <= LR_HIGH_LEARNS or _fails(u.curve)
    if not (ratios and u.typical is not None and math.isfinite(u.typical) and u.typical <= limit and not known_to_fail):
        return False
    # a small initialisation has one step near the weights' size, then the weights are larger than the steps; not a
    # step larger than the weights after which the units pass (almost) no gradient: the later steps are small because
    # that step saturated or killed them (np0802: 4.5x, then 47-84%, then 0.7% a step with 99% of the sigmoids flat
    # and a gradient of 1e-3 of the weights)
    if first_update(u) <= 1.0 and sum(r > 1.0 for r in ratios) <= 1:
        return not (max(ratios) > 1.0 and u.gradient is not None and u.gradient < LOW_LR_GRADIENT)
    # two or more steps larger than the weights: a rate that keeps overshooting, unless what it did to the weights
    # says otherwise (they did not blow up, and their units still pass gradient)
    return (max(ratios) <= LR_FIRST_HUGE and u.growth is not None and u.growth <= LR_SETTLED_GROWTH
            and u.gradient is not None and u.gradient >= LOW_LR_GRADIENT)


def _over_the_limit(u: UpdateSizes) -> tuple[float, str, float]:
    """The step that decides (:func:`_first_steps`, else :func:`_after_the_first`), what it is, and the limit it is held
    against: :data:`LR_HIGH_UPDATE`, or for an Adam-like rule :data:`ADAPTIVE_LR_HIGH` (its first steps move every entry
    by about lr whatever the gradient: 30-50% of a small layer at lr 1e-2, a setting that trains well). When no step
    passes that, in a run known to fail (its accuracy or its training curve), :data:`LR_HIGH_UPDATE` again: steps that
    large are no setting that trains well there (npw0453, RMSProp: half the weights a step for the first five, 62% over
    the run, training accuracy 13% -> 11%; npw0609, Adam: 41%, then at chance)."""
    limits = [ADAPTIVE_LR_HIGH, LR_HIGH_UPDATE] if u.adaptive else [LR_HIGH_UPDATE]
    if len(limits) > 1 and not (u.accuracy is not None and u.accuracy <= LR_HIGH_LEARNS or _fails(u.curve)):
        limits = limits[:1]
    for limit in limits:
        up, which = _first_steps(u)
        if not up > limit:
            up, which = _after_the_first(u, limit) or (up, which)
        if up > limit:
            break
    return up, which, limit


def entry_ratio(u: UpdateSizes) -> float:
    """An adaptive rule's step per entry over the size of the weights' entries (:attr:`~netdoctor.rules.evidence.
    UpdateSizes.entry_step` / :attr:`~netdoctor.rules.evidence.UpdateSizes.entry_size`), NaN when not measured.

    Such a rule moves every entry that gets a gradient by about the learning rate (Adam's first step: exactly lr), so
    the size of its steps against the weights is the rate's, whatever the gradient; over the whole matrix the entries
    that got no gradient (input pixels always 0, dead units) hide it (npw1102, RMSProp at lr 0.2: 0.63 per entry
    against entries of 0.05, a first step of 9.2x the weight matrix, then 0.58x, 0.30x, 0.17x)."""
    if not u.adaptive or u.entry_step is None or not u.entry_size:
        return math.nan
    return u.entry_step / u.entry_size


def _steps_under(u: UpdateSizes, limit: float) -> bool:
    """At least three of the first updates were measured, every one finite and under ``limit`` (a blow-up at the
    first update leaves no finite step: then the weights' going non-finite is the rate's evidence)."""
    first = [float(r) for r in u.first[:5]]
    return len(first) >= 3 and all(math.isfinite(r) and r <= limit for r in first)


def _fails(c: TrainingCurve | None) -> bool:
    """The training accuracy shows the run failing: the late window, of at least half the rows :func:`learns` asks
    for, at most :data:`LR_HIGH_LEARNS` right, and not learning (np1927: 10% of 58 rows, after first steps of 8.5x and
    2.3x the weights; a run at 80% scores 50% or less on 32 rows of its own in about 1 of 10,000 draws)."""
    return c is not None and c.late_rows >= LEARNS_MIN_ROWS // 2 and c.late <= LR_HIGH_LEARNS and not learns(c)


def _lr(u: UpdateSizes) -> str:
    if u.momentum is not None:
        rate = f"{u.lr_name} {u.lr} " if u.lr is not None and not u.lr_measured else ""
        eff = (f"an effective learning rate of {u.effective_lr:.3g}" if u.effective_lr is not None
               else "an effective learning rate of lr / (1 - mu)")
        return f"{rate}with momentum {u.momentum:.2g} (measured: each step keeps {u.momentum:.2g} of the last one), {eff}"
    if u.lr is None:
        return u.optimizer or "the learning rate"
    if u.lr_measured and isinstance(u.lr, float):
        return f"a learning rate of {u.lr:.4g} (measured: each step over {u.lr_name or 'the gradient it read'})"
    return f"{u.optimizer + ' ' if u.optimizer else ''}{u.lr_name} {u.lr}"


def _too_high_text(u: UpdateSizes, up: float, which: str, limit: float, div: bool) -> str:
    """What :func:`learning_rate_too_high` measured, in words: the step ``up`` over ``limit`` (``which`` names how it
    was read: per entry, over the run, among the first updates), else the loss that diverged (``div``), else the
    weights gone non-finite."""
    at = f", step {u.first_step}" if u.first_step is not None and which == "the first measured update" else ""
    if up > limit and which == ENTRY:
        return (f"Each step of the adaptive rule moves the entries it changes by {u.entry_step:.2g}, {up:.3g}x the "
                f"typical size of a weight matrix's entries ({u.entry_size:.2g}): such a rule moves every entry by about "
                f"the learning rate whatever the gradient, so every step can move each weight by more than its own size "
                f"(its first updates change the weights by a median {100 * first_update(u):.2g}%).")
    if up > limit and which.startswith(RUN_MEDIAN):
        steps = "gradient steps at the effective rate" if u.momentum is not None else "updates"
        return (f"The {steps} change {u.tensor or 'the weights'} by a median {100 * up:.0f}% of {'its' if u.tensor else 'their'} "
                f"size over "
                f"{u.typical_count} updates measured across the run (the first five: a median "
                f"{100 * first_update(u):.2g}%); healthy steps change weights by ~0.1-3%.")
    if up > limit:
        one = ("One update as the program applied it (the velocity's step, seen before the velocity was known)"
               if _first_ratios(u)[1] else
               "One gradient step at the effective rate" if u.momentum is not None else "One update")
        return (f"{one} changes {u.tensor or 'the weights'} by {100 * up:.0f}% of {'its' if u.tensor else 'their'} size "
                f"({which}{at}"
                + (f"; later a median {100 * u.typical:.2g}% over {u.typical_count} updates"
                   if u.typical is not None and math.isfinite(u.typical) else "")
                + "); healthy steps change weights by ~0.1-3%.")
    if div:
        return f"The loss diverged ({u.loss_first:.4g} at the start, {u.loss_last:.4g} at the end)."
    return "An update made the weights NaN or Inf."


def _saturating_step(u: UpdateSizes) -> tuple[LayerActivity, float, str] | None:
    """The saturated layer, the step and what it is, when one of the first steps was larger than the weights and a
    hidden layer drawn in range ended saturated in a run that does not learn well
    (:attr:`~netdoctor.rules.evidence.UpdateSizes.steps_saturated`): the units stay saturated whatever the later steps
    do, and the median of the first five would hide the step (npw1225: Adam at lr 0.2 moves W1 by 2.9x its size at the
    first update, then 0.6x, 0.3x, ...; 98% of the tanh units saturated, training accuracy 39% -> 65%; its twin at lr
    0.002 reaches 79%). None otherwise."""
    ratios, _ = _first_ratios(u)
    big = max(ratios, default=math.nan)
    if u.steps_saturated is None or not big > 1.0 or learns_well(u.curve) or u.climbs:
        return None
    i = ratios.index(big)
    return (u.steps_saturated, big,
            "the first measured update" if i == 0 else f"update {i + 1} of the first {len(ratios)} measured")


def _saturated_text(layer: LayerActivity) -> str:
    """What :func:`_saturating_step`'s layer adds to the finding (its draw is known: see
    :func:`~netdoctor.rules.activations.saturated_by_steps`)."""
    init = layer.init
    assert init is not None
    return (f" The first steps drove {layer.layer} into the flat ends: {100 * (layer.saturation or 0):.0f}% of its "
            f"{layer.activation} activations, though `{init.tensor}` was drawn at {init.scale:.1f}x 1/sqrt(fan_in), "
            f"in range.")


def learning_rate_too_high(u: UpdateSizes) -> Finding | None:
    """``learning-rate-too-high``: the first updates change a weight matrix by more than :data:`LR_HIGH_UPDATE` of its
    size (:data:`ADAPTIVE_LR_HIGH` for Adam-like optimizers), or the loss diverged, or an update made the weights
    non-finite.

    A loss that diverged or weights gone non-finite say nothing of the rate when an update was measured climbing the
    loss (:attr:`~netdoctor.rules.evidence.UpdateSizes.climbs`, gradient ascent): the climb makes the loss grow and
    the weights blow up at any rate, so dividing it would not help (``ascent_module``, ``p += lr * p.grad`` at lr
    0.05 with steps of 0.7% of the weights: the loss from 2.30 to 1e35); the steps' own size still decides.

    A large first step in a run that neither diverges nor goes non-finite and
    ends above :data:`LR_HIGH_LEARNS` accuracy is not reported (the textbook
    network at eta 3 changes a weight matrix by 84% at step 1 and reaches
    90%), nor is a start whose steps then settle below the limit
    (:func:`settled`), except when one of the first steps was larger than the
    weights and a hidden layer drawn in range ended saturated in a run that does
    not learn well (:attr:`~netdoctor.rules.evidence.UpdateSizes.steps_saturated`).
    Severity: error above 1x the weights, on divergence or non-finite weights; a
    warning otherwise.
    """
    up, which, limit = _over_the_limit(u)
    per_entry = entry_ratio(u)
    if per_entry > ADAPTIVE_ENTRY_HIGH and not (up > limit and up > 1.0):
        # each entry moved by more than the entries' size: more than a step under the weights' size over the whole
        # matrix says, where most entries got no gradient (the pixels 0 in every image of a batch)
        up, which, limit = per_entry, ENTRY, ADAPTIVE_ENTRY_HIGH
    div = diverged(u) and not u.climbs
    nonfinite = u.weights_nonfinite and not u.climbs
    saturated = _saturating_step(u)
    if saturated is not None and not up > limit:
        up, which, limit = saturated[1], saturated[2], 1.0
    if not (up > limit or div or nonfinite):
        return None
    if u.climbs and not up > 1.0:
        # an update measured climbing the loss (gradient ascent): a step under the weights' own size is no rate's fault
        # there, the climb fails the run at any rate and dividing the rate would not help (np2435, a sign flipped in
        # the output error: first steps of 1-73% of the weights, then NaN); a step larger than the weights still is
        return None
    if not (up > limit or div) and _steps_under(u, limit):
        # weights gone NaN after steps measured well under the limit: something else blew them up (an update that
        # climbs the loss, a missing derivative: course_dict_full_batch_relu at 12.5% a step), `non-finite` names it;
        # dividing the rate by 10 is no fix the numbers support
        return None
    if not (div or nonfinite or saturated) and (u.accuracy is not None and u.accuracy > LR_HIGH_LEARNS or learns(u.curve)):
        return None
    if settled(u, limit) and not (div or nonfinite or saturated):
        return None
    what = _too_high_text(u, up, which, limit, div) + (_saturated_text(saturated[0]) if saturated else "")
    note = (f" ({_lr(u)})" if u.lr is not None and not u.lr_measured or u.momentum is not None
            else f" The steps applied {_lr(u)}." if u.lr is not None else f" ({u.optimizer})" if u.optimizer else "")
    if u.summed_batch and isinstance(u.lr, (int, float)):
        note += (f" Gradients are summed over the batch, so the effective learning rate is {u.lr:g} x {u.summed_batch} = "
                 f"{u.lr * u.summed_batch:g}.")
    if u.curve is not None:
        note += f" The run's {curve_text(u.curve)}."
    return Finding(
        "learning-rate-too-high", Severity.ERROR if up > 1 or div or nonfinite or VANISHED in which else Severity.WARNING,
        u.where,
        what + note,
        {"update_ratio": up, "ratios": list(u.first[:5]), "typical_ratio": u.typical, "tensor": u.tensor or None,
         "step": u.first_step, "lr": u.lr,
         **({"entry_step": u.entry_step, "entry_size": u.entry_size} if which == ENTRY else {}),
         "limit": limit, "diverged": div, "weights_nonfinite": nonfinite, "loss_first": u.loss_first,
         **({"saturated_layer": saturated[0].layer, "saturation": saturated[0].saturation} if saturated else {}),
         "loss_last": u.loss_last, **curve_evidence(u.curve),
         **({"momentum": u.momentum, "effective_lr": u.effective_lr} if u.momentum is not None else {})},
        fix=("Divide the learning rate by 10 (with momentum the effective rate is lr / (1 - mu): keep it where plain SGD's "
             "rate would be)." if u.momentum is not None else
             "Divide the learning rate by 10 (or average, not sum, the gradient over the batch)."),
        explanation="An update that is a large fraction of the weights overshoots the minimum; the loss oscillates or grows "
        "and units saturate.",
    )


def learning_rate_too_low(u: UpdateSizes) -> Finding | None:
    """``learning-rate-too-low`` (a warning): updates below :data:`LR_LOW_UPDATE` of the weights (or so small that all
    the run's updates together move the weights by under :data:`LR_LOW_TOTAL` of their size) while the gradient is
    healthy (>= :data:`LOW_LR_GRADIENT` of the weights, when measured) and the run does not learn (accuracy at most
    :data:`LR_LOW_LEARNS`, or the loss still above :data:`LR_LOW_LOSS_LEFT` of its start)."""
    up = u.typical if u.typical is not None else (u.first[0] if u.first else math.nan)
    total = up * u.steps if u.typical is not None and u.steps is not None and u.steps >= LR_LOW_MIN_STEPS else math.nan
    if not (0 < up < LR_LOW_UPDATE or 0 < total < LR_LOW_TOTAL) or u.weights_nonfinite:
        return None
    if u.gradient is not None and not u.gradient >= LOW_LR_GRADIENT:
        return None  # small gradients, small steps: not the learning rate's fault (vanishing, or converged)
    if u.accuracy is not None and u.accuracy > LR_LOW_LEARNS or learns(u.curve):
        return None
    a, b = u.loss_first, u.loss_last
    if u.accuracy is None and a is not None and b is not None and not b > LR_LOW_LOSS_LEFT * a:
        return None  # the loss fell: the run learns, slowly or not
    if u.accuracy is None and u.gradient is None and (a is None or b is None):
        return None  # nothing says the run fails to learn
    factor = 10 ** max(1, round(math.log10(1e-2 / max(up, 1e-12))))
    how = f"median of {u.typical_count} updates" if u.typical is not None else "the first measured update"
    grad = f", although the gradient is {u.gradient:.2g} of the weights" if u.gradient is not None else ""
    loss = f", and the loss went only from {a:.4g} to {b:.4g}" if a is not None and b is not None else ""
    if math.isfinite(total):
        loss += f"; over all {u.steps:,} updates the weights moved by at most {100 * total:.2g}% of their size"
    if u.curve is not None:
        loss += f"; the run's {curve_text(u.curve)}"
    return Finding(
        "learning-rate-too-low", Severity.WARNING, u.where,
        f"One update changes {u.tensor or 'the weights'} by only {up:.1e} of {'its' if u.tensor else 'their'} size ({how}){grad}: "
        f"with {_lr(u)} learning "
        f"is too slow to see{loss}.",
        {"update_ratio": up, "gradient_ratio": u.gradient, "tensor": u.tensor or None, "lr": u.lr, "limit": LR_LOW_UPDATE,
         "accuracy": u.accuracy, "loss_first": a, "loss_last": b, "steps": u.steps,
         "total_movement": total if math.isfinite(total) else None, **curve_evidence(u.curve)},
        fix=f"Multiply the learning rate by about {factor:g} (updates of ~1e-3 to 1e-2 of the weights per step are typical).",
        explanation="The gradient is healthy but the steps taken along it are tiny: the weights barely move in a few epochs, "
        "so the network looks as if it does not learn.",
    )


def learning_rate_decayed(h: LearningRateHistory) -> Finding | None:
    """``learning-rate-too-low`` (a warning) read from the learning rate itself: it fell below :data:`LR_DECAYED` of its
    largest value and stayed there for at least :data:`LR_DECAYED_SHARE` of the optimizer's steps (typically a
    per-epoch schedule stepped every batch)."""
    if len(h.rates) < 3 or not max(h.rates) > 0:
        return None
    top = max(h.rates)
    low = None
    prev: tuple[int, float] | None = None
    for s, v in zip(h.steps, h.rates):
        if v < LR_DECAYED * top:
            if low is None:
                low = s
                if prev is not None and prev[1] > 0 and v > 0 and s - prev[0] > 1:
                    # Sampled steps are sparse: between the last one above the limit and this one the rate fell
                    # geometrically (as step and exponential schedules make it fall); the step where it crossed.
                    t = math.log(LR_DECAYED * top / prev[1]) / math.log(v / prev[1])
                    low = min(s, max(prev[0] + 1, math.ceil(prev[0] + t * (s - prev[0]))))
        else:
            low = None
        prev = (s, v)
    if low is None:
        return None
    share = (h.total_steps - low + 1) / max(h.total_steps, 1)
    if share < LR_DECAYED_SHARE:
        return None
    sched = ""
    if h.scheduler_site:
        per = h.scheduler_steps / max(h.total_steps, 1)
        sched = (f"; scheduler.step() at {h.scheduler_site} ran {h.scheduler_steps} times, {per:.2f} per optimizer step"
                 + (" (once per batch: a per-epoch schedule stepped every batch)" if per >= 0.5 else ""))
    return Finding(
        "learning-rate-too-low", Severity.WARNING, h.where,
        f"The learning rate{' of ' + h.optimizer if h.optimizer else ''} fell from {top:g} to {h.rates[-1]:.1e} by step {low}: "
        f"{100 * share:.0f}% of the {h.total_steps} optimizer steps ran at under {LR_DECAYED:g} of its largest value{sched}.",
        {"lr_start": top, "lr_last": h.rates[-1], "decayed_at_step": low, "share_of_steps": share, "steps": h.total_steps,
         "scheduler_site": h.scheduler_site, "scheduler_steps": h.scheduler_steps, "limit": LR_DECAYED,
         "history": list(zip(h.steps, h.rates))[:3] + list(zip(h.steps, h.rates))[-3:]},
        fix="Step a per-epoch scheduler once per epoch, after the loop over the batches (or count its step_size / T_max / "
        "milestones in batches).",
        explanation="With the learning rate ~0 the updates no longer move the weights: training stops where it was when the "
        "rate collapsed, however many epochs follow.",
    )
