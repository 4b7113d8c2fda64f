"""Saturated activations and dead units: one rule each, from :class:`~netdoctor.rules.evidence.LayerActivity`."""

from __future__ import annotations

import math
from collections.abc import Sequence

from netdoctor.findings import Finding, Severity
from netdoctor.rules.evidence import LayerActivity, TrainingCurve
from netdoctor.rules.learning import curve_evidence, curve_text, learns_well
from netdoctor.rules.policy import (
    DEAD_ERROR,
    DEAD_WARN,
    INIT_SCALE_BLAMED,
    MIN_ACTIVITY_ROWS,
    SATURATION_ERROR,
    SATURATION_FLOWS,
    SATURATION_WARN,
    Framework,
    severity_by_share,
)

__all__ = ["saturated_activations", "saturated_by_steps", "dead_units"]

SATURATION_FIX = {
    Framework.CHECK: "Lower the (effective) learning rate; initialise with std sqrt(1/fan_in); scale inputs to [0, 1].",
    Framework.NUMPY: "Initialise weights with std 1/sqrt(fan_in) (`np.random.randn(n_out, n_in) / np.sqrt(n_in)`), scale the "
                     "inputs to [0, 1], and keep the effective learning rate small.",
    Framework.TORCH: "Initialise with std sqrt(1/fan_in) (PyTorch's default for nn.Linear, or nn.init.xavier_uniform_); scale "
                     "inputs to [0, 1]; lower the learning rate.",
}
DEAD_FIX = {
    Framework.CHECK: "Lower the learning rate; use He initialisation for relu, or leaky_relu; check the inputs reach the layer.",
    Framework.NUMPY: "Lower the learning rate; use He initialisation for relu (std sqrt(2/fan_in)), or leaky relu.",
    Framework.TORCH: "Lower the learning rate; He initialisation (nn.init.kaiming_normal_) and zero or small positive biases; "
                     "or leaky_relu.",
}
RELU_LIKE = ("relu", "leaky_relu", "ReLU", "LeakyReLU")


def _judged(layers: Sequence[LayerActivity]) -> list[LayerActivity]:
    return [l for l in layers if l.rows is None or l.rows >= MIN_ACTIVITY_ROWS]


def _start(share: float | None, after: int = 0) -> str:
    if share is None or not math.isfinite(share):
        return ""
    if not after:
        return f" ({100 * share:.1f}% at the start)"
    return f" ({100 * share:.1f}% after the first {after} updates)" if after > 1 else f" ({100 * share:.1f}% after the first update)"


def _drawn_in_range(layer: LayerActivity) -> bool:
    """The weights feeding ``layer`` were measured before the first update at a std under :data:`INIT_SCALE_BLAMED`
    times 1/sqrt(fan_in): a draw that keeps tanh and sigmoid in their linear range (pre-activations of order 1)."""
    i = layer.init
    return i is not None and not i.after and i.fan_in > 0 and i.scale < INIT_SCALE_BLAMED


def saturated_by_steps(layers: Sequence[LayerActivity]) -> LayerActivity | None:
    """The worst hidden layer with at least :data:`SATURATION_ERROR` of its activations in the flat ends although the
    weights feeding it were drawn in range (:func:`_drawn_in_range`): a pre-activation ``z = W x + b`` of order 1 at
    the draw reaches the flat ends (``|z| >> 1``) only once the steps have grown ``W`` or ``b`` many times, so what
    saturated it is the steps, not the draw. None when no such layer was judged."""
    hit = [l for l in _judged(layers) if l.saturation is not None and l.saturation >= SATURATION_ERROR
           and _drawn_in_range(l)]
    return max(hit, key=lambda l: l.saturation or 0.0, default=None)


def saturated_activations(layers: Sequence[LayerActivity], *, curve: TrainingCurve | None = None) -> Finding | None:
    """``saturated-activations``: the worst hidden layer with >= :data:`SATURATION_WARN` of its entries in the flat ends.

    Severity: error from :data:`SATURATION_ERROR` on; info in a run whose training
    accuracy (``curve``) rises close to all right (:func:`~netdoctor.rules.learning.learns_well`),
    or, when no curve was read, whose weights feeding the layer still move at least
    :data:`SATURATION_FLOWS` as fast (relative to their size) as the next layer's
    (:class:`~netdoctor.rules.evidence.LayerFlow`): the gradient still passes through the
    layer, so the saturation costs it little. A curve that shows the run not learning
    well keeps the warning whatever the weights do. The NumPy observer adds the
    starting scale of the weights that feed the layer when the saturation was there
    from the start.
    """
    hit = [l for l in _judged(layers) if l.saturation is not None and l.saturation >= SATURATION_WARN]
    if not hit:
        return None
    worst = max(hit, key=lambda l: l.saturation or 0.0)
    sat = worst.saturation or 0.0
    first = f"; first seen at step {worst.first_seen}" if worst.first_seen is not None else ""
    init, where, drawn = "", worst.where, False
    start = worst.saturation_at_start
    # the weights' scale is named as the cause only when it is: at the 1/sqrt(fan_in) scale (mini-batches of 10 at a
    # rate of 3.0, the textbook's sigmoid net, measured 1.1x) the inputs, the biases or the first steps saturate it
    if (worst.init is not None and start is not None and start >= SATURATION_WARN
            and worst.init.scale >= INIT_SCALE_BLAMED):
        i = worst.init
        where += f", {i.site}" if i.site else ""
        # the scale sampled before the first step saturates the units by itself: the draw is the root cause, whatever
        # the steps did next (the forum program's first summed steps move 97% and 80% of its N(0, 1) weights)
        drawn = not i.after
        if i.after:  # measured once training had begun: what the weights were then, not how they started
            init = (f" It is there from the first updates observed: after {i.after} update{'s' if i.after > 1 else ''} "
                    f"`{i.tensor}` has std {i.std:.3g}, ")
        else:
            init = f" It is there from the start: `{i.tensor}` starts with std {i.std:.3g}, "
        init += (f"{i.scale:.0f}x the 1/sqrt(fan_in) = {1 / math.sqrt(i.fan_in):.3g} that keeps "
                 f"{worst.activation} in its linear range.")
    well = learns_well(curve)
    seen = ""
    if curve is not None:
        seen = (f" The run learns all the same: {curve_text(curve)}." if well else
                f" The run's {curve_text(curve)}.")
    flow = worst.flow
    flows = curve is None and flow is not None and flow.ratio >= SATURATION_FLOWS
    if flows and flow is not None:
        seen += (f" The gradient still passes through it: `{flow.feeding}`, which feeds it, moves {flow.ratio:.2g}x as "
                 f"fast relative to its size as `{flow.next}`, which reads it (median over {flow.updates} updates; "
                 f"below {SATURATION_FLOWS:g}x the flat ends would be holding it still).")
    return Finding(
        "saturated-activations", Severity.INFO if well or flows else severity_by_share(sat, SATURATION_ERROR), where,
        f"{100 * sat:.1f}% of the {worst.activation} activations of {worst.layer} sit in the flat ends of the function "
        f"{worst.window}{first}{_start(start, worst.start_after)}{_guess(worst)}." + init + seen,
        {"saturation": sat, "limit": SATURATION_WARN, "at_start": start, "first_step": worst.first_seen, "units": worst.units,
         "rows": worst.rows, "layers": {l.layer: l.saturation for l in hit},
         **({"init_std": worst.init.std, "fan_in": worst.init.fan_in, "init_after_updates": worst.init.after}
            if worst.init else {}), **({"kind": "init"} if drawn else {}), **curve_evidence(curve),
         **({"flow_ratio": flow.ratio, "flow_feeding": flow.feeding, "flow_next": flow.next, "flow_updates": flow.updates,
             "flow_limit": SATURATION_FLOWS} if flow is not None else {})},
        fix=_steps_fix(worst) if _drawn_in_range(worst) else SATURATION_FIX[worst.framework],
        explanation="Where tanh or sigmoid is flat its derivative is ~0, so almost no gradient passes back through the layer "
        "and its weights stop changing." + (" Here they still move: the units leave the flat ends on enough rows for "
                                            "the gradient to get through." if flows else ""),
    )


def _steps_fix(layer: LayerActivity) -> str:
    """The fix of a layer saturated although drawn in range: the draw's scale is the one the generic fix asks for, so
    the rate that moved the weights out of it is what to change."""
    i = layer.init
    assert i is not None
    return (f"The weights feeding it start in range (`{i.tensor}` std {i.std:.3g}, {i.scale:.1f}x "
            f"1/sqrt(fan_in)): the steps pushed the units into the flat ends. Lower the (effective) learning rate "
            f"(or clip the first steps), and scale the inputs to [0, 1].")


def _guess(layer: LayerActivity) -> str:
    """What a finding adds when the layer's function is named from the range of its values alone."""
    return (f" ({layer.activation} is a guess from the range of the values: no pre-activation was seen beside them)"
            if layer.guessed else "")


def dead_units(layers: Sequence[LayerActivity]) -> Finding | None:
    """``dead-units``: the worst hidden layer with >= :data:`DEAD_WARN` of its units never firing (relu) or never varying.

    Severity: error from :data:`DEAD_ERROR` on.
    """
    hit = [l for l in _judged(layers) if l.dead is not None and l.dead >= DEAD_WARN]
    if not hit:
        return None
    worst = max(hit, key=lambda l: l.dead or 0.0)
    dead = worst.dead or 0.0
    n = round(dead * worst.units)
    relu = worst.activation in RELU_LIKE
    kind = "never fire" if relu else "do not vary"
    return Finding(
        "dead-units", severity_by_share(dead, DEAD_ERROR), worst.where,
        f"{n} of {worst.units} units of {worst.layer} ({worst.activation}, {100 * dead:.1f}%) {kind} {worst.window}"
        f"{_start(worst.dead_at_start, worst.start_after)}{_guess(worst)}.",
        {"dead": dead, "dead_units": n, "units": worst.units, "rows": worst.rows, "at_start": worst.dead_at_start,
         "limit": DEAD_WARN, "layers": {l.layer: l.dead for l in hit}},
        fix=DEAD_FIX[worst.framework],
        explanation=("A relu unit whose input is negative for every example outputs 0 and passes no gradient back, so nothing "
                     "can revive it." if relu else
                     "A unit whose output is the same for every input carries no information and passes no gradient."),
    )
