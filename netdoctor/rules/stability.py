"""Numbers that leave their range: ``non-finite``, ``exploding-gradients``, ``vanishing-gradients``, one rule each."""

from __future__ import annotations

import math
from collections.abc import Sequence

from netdoctor.findings import Finding, Severity
from netdoctor.rules.evidence import GradientScale, LayerReach, NonFinite, NormTrace, TrainingCurve
from netdoctor.rules.learning import curve_evidence, curve_text, learns
from netdoctor.rules.policy import (
    EXPLODING_GRAD_GROWTH,
    EXPLODING_LOSS_FELL,
    EXPLODING_WEIGHT_GROWTH,
    VANISHING_LOSS_LEFT,
    VANISHING_RATIO,
    VANISHING_REACH,
    VANISHING_SPREAD,
    VANISHING_STEP,
    Framework,
    working_scale,
)

__all__ = ["non_finite", "exploding_gradients", "vanishing_gradients", "vanishing_through_layers", "working_scale"]


def _list(names: Sequence[str], limit: int = 6) -> str:
    names = list(names)
    return ", ".join(names) if len(names) <= limit else ", ".join(names[:limit]) + f" and {len(names) - limit} more"


EXPLODING_FIX = {
    Framework.CHECK: "Lower the effective learning rate (lr x batch size if gradients are summed); average gradients over the "
                     "batch; reset gradient buffers every step; clip gradients.",
    Framework.NUMPY: "Lower the effective learning rate; average gradients over the batch; reset the gradient buffers every update.",
    Framework.TORCH: "Lower the learning rate; average (not sum) the loss over the batch; clear gradients every step; clip with "
                     "torch.nn.utils.clip_grad_norm_.",
}


def _times(factor: float) -> str:
    """A growth factor as read in a sentence: whole below a million, else in powers of ten (1.2e+134, not 134 digits)."""
    return f"{factor:.0f}" if factor < 1e6 else f"{factor:.3g}"


def _below_working_scale(t: NormTrace, norm: float) -> bool:
    """The weights' norm ``norm`` is still below :func:`working_scale` (never when the shape is unknown)."""
    if t.shape is None or len(t.shape) < 2:
        return False
    return norm / math.sqrt(max(math.prod(t.shape), 1)) < working_scale(t.shape)


def _growth(t: NormTrace, learning: bool = False) -> tuple[float, float, int | None]:
    """(largest weight growth, largest gradient growth, first step past a limit) against the first finite norms.
    ``learning``: the run's training accuracy rose well above chance (weight growth alone is then not judged)."""
    w0 = t.weight_norms[0] if t.weight_norms else 0.0
    gs = t.grad_norms or ()
    g0 = next((g for g in gs if math.isfinite(g) and g > 0), math.nan)
    g0 = max(g0, t.grad_floor) if math.isfinite(g0) else g0
    wg = gg = 1.0
    first = None
    # Weights that grow while the loss falls are converging (logits scaling up), not blowing up: their growth alone is
    # not judged then; a gradient that grows still is.
    # So are weights that grow while the training accuracy rises well above chance: a small initialisation growing to
    # its working size (``tiny_init``: 33x from 0.01 x N(0, 1) while it learns to 100%).
    converging = learning or (t.loss_start is not None and t.loss_end is not None and t.loss_start > 0
                              and t.loss_end <= EXPLODING_LOSS_FELL * t.loss_start)
    for i in range(1, len(t.steps)):
        # Non-finite values are the non-finite rule's: growth is judged on finite norms only.
        # Weights grown from a tiny initialisation but still smaller than a usual one have not blown up either.
        w = (t.weight_norms[i] / w0 if w0 > 0 and math.isfinite(t.weight_norms[i]) and not converging
             and not _below_working_scale(t, t.weight_norms[i]) else 1.0)
        g = gs[i] / g0 if i < len(gs) and g0 > 0 and math.isfinite(gs[i]) else 1.0
        wg, gg = max(wg, w), max(gg, g)
        if first is None and (w >= EXPLODING_WEIGHT_GROWTH or g >= EXPLODING_GRAD_GROWTH):
            first = t.steps[i]
    return wg, gg, first


def exploding_gradients(traces: Sequence[NormTrace], framework: Framework, *, unit: str = "step",
                        curve: TrainingCurve | None = None) -> Finding | None:
    """``exploding-gradients``: a weight tensor's norm grew >= :data:`EXPLODING_WEIGHT_GROWTH` x or its gradient's
    >= :data:`EXPLODING_GRAD_GROWTH` x. Always an error.

    Weight matrices are judged (biases only when there is no weight matrix);
    the tensor that crossed first is named, with every other that did. Weight
    growth is not judged while the loss falls to half its start or the training
    accuracy (``curve``) rises well above chance (:func:`~netdoctor.rules.learning.learns`),
    nor while the weights are still smaller than a usual initialisation makes them (:func:`working_scale`).
    """
    judged = [t for t in traces if t.is_weight and len(t.steps) >= 2] or [t for t in traces if len(t.steps) >= 2]
    learning = learns(curve)
    grown = [(first, t, wg, gg) for t in judged for wg, gg, first in [_growth(t, learning)] if first is not None]
    if not grown:
        return None
    grown.sort(key=lambda g: (g[0], -max(g[2], g[3] / EXPLODING_GRAD_GROWTH * EXPLODING_WEIGHT_GROWTH)))
    step, t, wg, gg = grown[0]
    if wg >= EXPLODING_WEIGHT_GROWTH:
        what = f"the norm of {t.tensor} grew {_times(wg)}x ({t.weight_norms[0]:.3g} -> {max(t.weight_norms):.3g})"
    else:
        what = f"the gradient of {t.tensor} grew {_times(gg)}x"
    what += f", past the limit at {unit} {step}"
    others = [g[1].tensor for g in grown[1:]]
    seen = f"; {curve_text(curve)}" if curve is not None else ""
    evidence = {"tensor": t.tensor, "step": step, "weight_growth": wg, "grad_growth": gg,
                "tensors": [g[1].tensor for g in grown], "initial_norm": t.weight_norms[0],
                "largest_norm": max(t.weight_norms), "limits": [EXPLODING_WEIGHT_GROWTH, EXPLODING_GRAD_GROWTH],
                **curve_evidence(curve)}
    also = f"; also {_list(others)}" if others else ""
    if _growth_alone(grown, curve):
        return Finding(
            "exploding-gradients", Severity.WARNING, t.tensor,
            f"The weights grow: {what}{also}; neither the gradient's norm nor the run's training accuracy was read, so "
            "whether the steps overshoot or the run converges with growing weights could not be told.",
            evidence, fix=EXPLODING_FIX[framework],
            explanation="Weights that grow tenfold are either blowing up (steps too large for this loss, or a gradient that "
            "pushes one way) or scaling up while the run learns; only the run's accuracy or loss tells which.")
    return Finding(
        "exploding-gradients", Severity.ERROR, t.tensor,
        f"The updates blow up: {what}{also}{seen}.", evidence,
        fix=EXPLODING_FIX[framework],
        explanation="Each too-large step overshoots and makes the next gradient larger; weights grow until the activations "
        "saturate or overflow.",
    )


def _growth_alone(grown: list[tuple[int, NormTrace, float, float]], curve: TrainingCurve | None) -> bool:
    """Whether the only evidence is weight growth under :data:`EXPLODING_GRAD_GROWTH` x: no tensor's gradient norm was
    read, nor the run's training accuracy (a forward written inline in the loop: functional_step_deriv grew W1 11x in
    1,200 updates while it learned to 98%), so "the updates blow up" would be a guess."""
    return curve is None and all(not t.grad_norms and wg < EXPLODING_GRAD_GROWTH for _, t, wg, _ in grown)


VANISHING_FIX = {
    Framework.CHECK: "Remove the saturation or dead units that block the gradient (smaller effective learning rate, Xavier/He "
                     "initialisation, scaled inputs).",
    Framework.NUMPY: "Remove the saturation or dead units that block the gradient (smaller effective learning rate, Xavier/He "
                     "initialisation, scaled inputs).",
    Framework.TORCH: "Remove what blocks the gradient: saturated or dead units (Xavier/He initialisation, smaller learning rate, "
                     "relu instead of sigmoid in deep stacks), or add normalisation / residual connections.",
}


def vanishing_gradients(scales: Sequence[GradientScale], framework: Framework) -> Finding | None:
    """``vanishing-gradients``: |dL/dW| / |W| < :data:`VANISHING_RATIO` at the last measurement while the loss is still
    above :data:`VANISHING_LOSS_LEFT` of its start (tiny gradients at convergence are fine). Always an error."""
    van = [s for s in scales if s.ratio_last < VANISHING_RATIO and s.loss_last > VANISHING_LOSS_LEFT * s.loss_first]
    if not van:
        return None
    s = van[0]
    more = f" ({len(van)} tensors: {_list([v.tensor for v in van])})" if len(van) > 1 else ""
    return Finding(
        "vanishing-gradients", Severity.ERROR, s.tensor,
        f"The gradient reaching {s.tensor} is {s.ratio_last:.1e} of its weights' size ({s.ratio_first:.1e} at the start) "
        f"while the loss is still {s.loss_last:.4g}{more}.",
        {"tensor": s.tensor, "grad_to_weight": s.ratio_last, "at_start": s.ratio_first, "loss": s.loss_last,
         "tensors": {v.tensor: v.ratio_last for v in van}, "limit": VANISHING_RATIO},
        fix=VANISHING_FIX[framework],
        explanation="The first layers learn from the gradient that survives the layers above; through saturated or dead units it is ~0.",
    )


def vanishing_through_layers(e: LayerReach) -> Finding | None:
    """``vanishing-gradients`` from the weights a program drew and the steps it applied: through two or more weight
    matrices above the first, less than :data:`VANISHING_REACH` of the output's error comes back to the first layer
    (the product of :attr:`LayerReach.gains`), the first matrix's first steps are below :data:`VANISHING_STEP` of its
    size or below :data:`VANISHING_SPREAD` of the last matrix's, and the run does not learn
    (:func:`~netdoctor.rules.learning.learns`: a deep net that learns anyway is left alone). An error; a warning when
    the training accuracy was not read, and then only below a quarter of the reach."""
    if len(e.tensors) < 3 or len(e.gains) != len(e.tensors) - 1 or len(e.steps) != len(e.tensors) or learns(e.curve):
        return None
    reach = math.prod(e.gains)
    limit = VANISHING_REACH if e.curve is not None else VANISHING_REACH / 4
    if not (math.isfinite(reach) and reach < limit
            and (e.steps[0] < VANISHING_STEP or e.steps[0] < VANISHING_SPREAD * e.steps[-1])):
        return None
    per_layer = ", ".join(f"{t} {g:.2g}x" for t, g in zip(e.tensors[1:], e.gains))
    steps = ", ".join(f"{t} {s:.1e}" for t, s in zip(e.tensors, e.steps))
    drawn = ""
    if e.std:
        drawn = (f" The weight matrices' entries {'start' if not e.after else f'had, after update {e.after},'} standard "
                 "deviations " + ", ".join(f"{s:.2g}" for s in e.std) + " for fan-ins "
                 + ", ".join(str(w) for w in e.widths[:-1]) + (f" (drawn at {e.site})" if e.site else "")
                 + "; 1/sqrt(fan-in) would pass the error back undiminished.")
    return Finding(
        "vanishing-gradients", Severity.ERROR if e.curve is not None else Severity.WARNING, e.where or e.tensors[0],
        f"The gradient does not reach the first layers: the weights above {e.tensors[0]} pass back {reach:.1e} of the "
        f"output's error ({per_layer}), and each update moves the weights by {steps} of their size (median of the first "
        f"{e.updates} updates); "
        + (f"{curve_text(e.curve)}." if e.curve is not None else "the training accuracy was not read.") + drawn,
        {"kind": "init", "tensor": e.tensors[0], "reach": reach, "gains": dict(zip(e.tensors[1:], e.gains)),
         "steps": dict(zip(e.tensors, e.steps)), "updates": e.updates, "widths": list(e.widths),
         "std": list(e.std), "limits": [limit, VANISHING_STEP, VANISHING_SPREAD],
         **(curve_evidence(e.curve) if e.curve is not None else {})},
        fix="Initialise each weight matrix with standard deviation sqrt(1 / fan_in) (Xavier, for tanh or sigmoid) or "
            "sqrt(2 / fan_in) (He, for ReLU), e.g. np.random.randn(n_out, n_in) * np.sqrt(1 / n_in), instead of a small "
            "constant such as 0.01.",
        explanation="Backpropagation multiplies the output's error by every weight matrix above a layer: weights much "
        "smaller than 1/sqrt(fan-in) shrink it at each, so the first layers get almost no gradient, the activations "
        "shrink the same way going forward, and the network sits where every output is the same.",
    )


NONFINITE_FIX = {
    "inputs": "Clean or impute the missing values in the data (np.isfinite(X).all() must hold).",
    "targets": "Clean or impute the missing values in the targets (they must all be finite).",
    "backward": "Make the backward pass finite where the forward pass is: clamp before sqrt/log/division "
                "(torch.sqrt(h.clamp_min(1e-12))), and in torch.where compute the untaken branch on safe values.",
}
NONFINITE_FIX_DEFAULT = {
    Framework.CHECK: "Lower the learning rate (try 10x smaller), average the gradient over the batch, scale inputs to [0, 1]; "
                     "check exp/log in the loss for overflow.",
    Framework.NUMPY: "Lower the learning rate (10x), average the gradient over the batch, scale the inputs to [0, 1]; check "
                     "exp/log for overflow.",
    Framework.TORCH: "Guard the operation that overflows (clamp before log/sqrt/division, use log_softmax / logsumexp); if the "
                     "parameters went non-finite: lower the learning rate, clip gradients, average the loss over the batch.",
}


def _nonfinite_sentence(nf: NonFinite) -> str:
    at = f"{nf.unit} {nf.step}"
    loss = f"The loss became {nf.loss} at {at}" + (f" ({nf.loss_site})" if nf.loss_site else "") if nf.loss else ""
    between = (f"; {nf.backward_between[0]}'s gradients stayed finite, so the backward pass went non-finite between "
               f"{nf.backward_between[0]} and {nf.backward_between[1]} (sqrt or log at 0, a division by 0, or torch.where over "
               "a branch that is NaN where it is not taken)") if nf.backward_between else ""
    stop = " Training was stopped there." if nf.stopped else ""
    if nf.origin in ("inputs", "targets"):
        what = ("the targets contain NaN or Inf" if nf.origin == "targets" else
                "the input batch contains NaN or Inf: the data, not the network, is broken")
        return (f"{loss}; {what}." if loss else f"At {at} {what}.") + stop
    if nf.origin == "backward":
        lf = f" while the loss ({nf.last_finite_loss:.4g}) is finite" if nf.last_finite_loss is not None else ""
        return f"At {at} the gradients of {_list(nf.tensors)} are non-finite{lf}{between}."
    if nf.origin == "layer":
        how = "with the weights that step started from, " if nf.exact else ""
        params = (f" (non-finite weights then: {', '.join(nf.tensors_before)})" if nf.tensors_before else
                  ", with finite parameters: an operation in it overflows, divides by zero or takes log/sqrt of a non-positive value")
        return f"{loss}; {how}{nf.layer} is the first with non-finite output{params}.{stop}"
    if nf.origin == "parameters":
        if not nf.loss:
            return f"{_list(nf.tensors)} first held NaN or Inf at {at}."
        last = f" (last finite loss {nf.last_finite_loss:.4g})" if nf.last_finite_loss is not None else ""
        return (f"{loss}; the parameters {_list(nf.tensors)} were already non-finite then: an earlier update{last} made them "
                f"so{between}.{stop}")
    if nf.origin == "between":
        return (f"{loss}; the values reaching the loss are non-finite although every module output was finite: the code "
                "between the model and the loss produced them.")
    return f"{loss}; every activation and the loss input were finite: the loss computation itself overflowed.{stop}"


def non_finite(nf: NonFinite | None) -> Finding | None:
    """``non-finite``: the first NaN/Inf, placed where the recorder located it. Always an error."""
    if nf is None:
        return None
    evidence = {"step": nf.step, "loss": nf.loss, "origin": nf.origin, "layer": nf.layer or None, "tensors": list(nf.tensors),
                "tensors_before_step": list(nf.tensors_before) if nf.tensors_before is not None else None, "exact": nf.exact,
                "last_finite_loss": nf.last_finite_loss, **nf.details}
    return Finding(
        "non-finite", Severity.ERROR, nf.where, _nonfinite_sentence(nf), {k: v for k, v in evidence.items() if v is not None},
        fix=NONFINITE_FIX.get(nf.origin, NONFINITE_FIX_DEFAULT[nf.framework]),
        explanation="Once one value overflows to Inf, Inf - Inf and 0 * Inf give NaN, and NaN spreads to every weight at the "
        "next update." if nf.origin != "backward" else
        "A NaN gradient makes the parameters NaN at the next update; from then on their layer outputs NaN (or, through a "
        "comparison such as h > 0, a constant), and the network stops learning.",
    )
