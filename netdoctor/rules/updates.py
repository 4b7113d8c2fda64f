"""What the update does with the gradients: ``stale-accumulator`` and ``summed-gradient``, one rule each."""

from __future__ import annotations

import math

from netdoctor.findings import Finding, Severity
from netdoctor.rules.evidence import BatchScale, CarryOver
from netdoctor.rules.policy import (
    LR_HIGH_UPDATE,
    SCALE_TOL,
    STALE_DECAY,
    STALE_SCALED,
    STALE_WEIGHT,
    SUMMED_BIAS_RATIO,
    SUMMED_MIN_ROWS,
    SUMMED_SCALE,
    SUMMED_STEP_RATIO,
    SUMMED_UPDATE,
    Framework,
)

__all__ = ["stale_accumulator", "summed_gradient", "is_summed"]


def _names(names: tuple[str, ...], limit: int = 4) -> str:
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


def stale_accumulator(c: CarryOver | None) -> Finding | None:
    """``stale-accumulator``: gradients carried into later updates (>= 2 windows).

    Error: never emptied (carry-over >= :data:`STALE_DECAY`; >= :data:`STALE_WEIGHT` where the buffer cannot be
    momentum, as PyTorch's ``.grad``). Warning: scaled instead of emptied (carry-over equal to the learning rate
    within :data:`SCALE_TOL`, or >= :data:`STALE_SCALED` where the buffer cannot be momentum). A buffer that decays
    at another rate is momentum: not a finding. Nor is a buffer that still holds the last gradients when the next
    window starts but whose next write replaces them (:attr:`CarryOver.overwritten`): nothing is carried into a step.
    """
    if c is None or c.windows < 2 or not math.isfinite(c.weight) or c.overwritten:
        return None
    w = c.weight
    if c.history_weight is not None and not c.history_weight > 0.5:
        return None  # earlier gradients weigh less than half on average: momentum-like, not stale
    kept = w >= STALE_DECAY or (not c.momentum_possible and w >= STALE_WEIGHT)
    by_lr = c.lr is not None and c.lr > 0 and abs(w / c.lr - 1) < SCALE_TOL and not 0.5 < w < STALE_DECAY
    scaled = by_lr or (not c.momentum_possible and w >= STALE_SCALED)
    if not (kept or scaled):
        return None
    bufs = f" of {_names(c.buffers)}" if c.buffers else ""
    if kept:
        what = (f"the gradient buffers{bufs} are never emptied: each {c.unit} re-applies the gradients of all earlier "
                f"{c.unit}s at weight {w:.2f} (1 = in full)")
    else:
        what = (f"the gradient buffers{bufs} are not emptied between {c.unit}s but scaled by {w:.3g}"
                + (f" = {c.lr_name}" if by_lr else "") + f": earlier gradients come back with weights {w:.2g}, {w * w:.2g}, ...")
    if c.fix:
        fix = c.fix
    elif c.framework is Framework.TORCH:
        fix = ("Call optimizer.zero_grad() once per step, before loss.backward() (or after optimizer.step()"
               + (f" at {c.step_site}" if c.step_site else "") + ").")
    else:
        fix = ("Empty the buffers after every update with fresh arrays: `self.weight_updates = [np.zeros_like(w) for w in "
               "self.weights]` (or `buf[...] = 0` for each buffer).")
    return Finding(
        "stale-accumulator", Severity.ERROR if kept else Severity.WARNING, c.where,
        f"{what[0].upper()}{what[1:]} (measured over {c.windows} {c.unit}s).",
        {"carry_over": w, "windows": c.windows, "buffers": list(c.buffers), "history_weight": c.history_weight, **c.details},
        fix=fix,
        explanation="A gradient buffer that keeps its contents makes the step applied at update t the sum of the gradients of "
        "all batches so far: the steps grow and keep pushing in old directions, the weights grow, tanh/sigmoid units "
        "saturate and the output stops depending on the input.",
    )


def is_summed(s: BatchScale) -> bool:
    """Whether the measured scale says the batch gradient is summed, not averaged (the one decision, by measurement)."""
    if s.measured in ("probe", "contributions"):
        # the fitted step per gradient is lr x batch (probe) or lr per contribution with >= 2 contributions
        target = s.batch if s.measured == "probe" else 1.0
        return s.batch >= 2 and not s.divided and abs(s.factor / target - 1) < SCALE_TOL
    if s.measured == "update":
        # the update check's factor per row: ~1 (or 2) for the batch mean, ~batch (or 2 x batch) for the sum
        lo, hi = SUMMED_STEP_RATIO
        return s.batch >= SUMMED_MIN_ROWS and lo <= s.factor / s.batch <= hi
    if s.measured == "bias":
        # mean loss: the output-bias gradient is the batch mean of (output - target), times f' <= 1 for MSE. Three
        # windows decide; two do when the run went non-finite (the blow-up cut the windows short: npx1764 read 20.0
        # and 20.0 at batch 20 before its weights overflowed), each of them within the bounds
        lo, hi = SUMMED_BIAS_RATIO
        ratios = s.details.get("ratios") or [s.factor]
        enough = s.windows >= 3 or s.windows == 2 and s.blew_up and all(lo <= r / s.batch <= hi for r in ratios)
        return enough and s.batch >= SUMMED_MIN_ROWS and lo <= s.factor / s.batch <= hi
    # loss-input: Adam-like steps are invariant to a constant factor; the summed step must also be too large. A sum at
    # lr / batch is the mean's step at lr: a run that learns with first steps below the learning-rate rule's limit
    # made steps of a healthy size (ptx0702: 8% at the first step, 90% accuracy), whatever the reduction says.
    if s.factor < SUMMED_SCALE or s.adaptive:
        return False
    up = s.first_update if s.first_update is not None and math.isfinite(s.first_update) else None
    limit = LR_HIGH_UPDATE if s.learns else SUMMED_UPDATE
    return s.blew_up or (up is not None and up > limit)


def summed_gradient(s: BatchScale | None) -> Finding | None:
    """``summed-gradient`` (a warning): the applied step is the batch size times the step of the mean gradient."""
    if s is None or not is_summed(s):
        return None
    n = s.batch
    step = s.factor if s.measured == "probe" else n * s.factor if s.measured == "contributions" else n
    lr = f"{s.lr_name}={s.lr}" if s.lr is not None else "the learning rate"
    if s.measured == "probe":
        how = f"the batch gradient is summed, not averaged: each step is {s.factor:.3g}x {s.lr_name} (batch size {n:.0f})"
    elif s.measured == "contributions":
        how = (f"the update applies the sum of the {n:.0f} gradients of each batch at {lr}, not their mean: each step is "
               f"{step:.3g}x what {s.lr_name} says")
    elif s.measured == "update":
        loss = s.details.get("loss", "the loss")
        per_row = " (of 1/2 (y - t)^2 per row)" if loss.startswith("squared") else ""
        how = (f"the step applied to a batch of {n:.0f} rows is {s.factor:.3g}x the step of the batch's mean gradient{per_row} "
               f"(measured against finite differences of {loss} on the program's own forward"
               + (f", {s.function}" if s.function else "") + f"): the gradient is summed over the rows, not averaged, "
               f"so each step is ~{n:.0f}x what {lr} says")
    elif s.measured == "bias":
        how = (f"the gradient {s.function or 'the program'}() computes for a batch of {n:.0f} rows is the sum over the rows, "
               f"not the mean: the output-bias gradient is {s.factor:.3g}x the batch mean of (output - target), ~{n:.0f}x what "
               f"a mean loss gives, so each step is {n:.0f}x what the learning rate says")
    else:
        what = (f"one step moved {s.update_tensor} by {100 * s.first_update:.0f}% of its size"
                if s.update_tensor and s.first_update is not None and math.isfinite(s.first_update)
                else "the loss blew up")
        eff = (f"lr {s.lr} x {s.factor:.0f} = {float(s.lr) * s.factor:.3g}" if isinstance(s.lr, (int, float))
               else f"{s.factor:.0f} x the learning rate")
        how = (f"the gradient reaching {s.function or 'the loss'} is {s.factor:.0f}x that of the batch-mean loss (batches of "
               f"{n:.0f} rows" + (f", reduction {s.reduction}" if s.reduction else "") + f"): each {s.optimizer or 'optimizer'} step applies {eff} times the mean gradient, and {what}")
    if s.framework is Framework.TORCH:
        fix = f"Use reduction='mean' (the default), or divide the learning rate by the batch size ({n:.0f})."
    elif s.measured in ("bias", "update"):
        fix = (f"Divide the output error by the batch size where it is computed (`delta = (P - Y) / len(Y)`), or use a "
               f"learning rate {n:.0f}x smaller.")
    else:
        smaller = f" or use {s.lr_name}={float(s.lr) / n:.3g}" if isinstance(s.lr, (int, float)) else ""
        fix = f"Divide by the batch size where the update is applied (`w -= {s.lr_name} / {n:.0f} * sum_grad`){smaller}."
    return Finding(
        "summed-gradient", Severity.WARNING, s.where, f"{how[0].upper()}{how[1:]}.",
        {"lr_factor": step, "measured": s.measured, "measured_ratio": s.factor, "batch": n, "lr": s.lr, "windows": s.windows,
         "first_update_ratio": s.first_update, **s.details},
        fix=fix,
        explanation=f"A summed gradient grows with the batch: with {n:.0f} rows every step is {n:.0f} times larger than the "
        "learning rate says (tuned for a mean gradient), so the weights jump, tanh/sigmoid units saturate or die and the "
        "loss stalls or explodes.",
    )
