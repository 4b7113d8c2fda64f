"""What the network starts from: ``unscaled-inputs`` and ``bad-initial-loss``, one rule each."""

from __future__ import annotations

import math

from netdoctor.findings import Finding, Severity
from netdoctor.rules.evidence import InitialLoss, InputRange
from netdoctor.rules.policy import INIT_LOSS_HIGH, INIT_LOSS_LOW, UNSCALED_MAX

__all__ = ["unscaled_inputs", "bad_initial_loss"]


def unscaled_inputs(d: InputRange | None) -> Finding | None:
    """``unscaled-inputs`` (a warning): max |x| > :data:`UNSCALED_MAX` (raw 0-255 pixels instead of [0, 1])."""
    if d is None or max(abs(d.x_min), abs(d.x_max)) <= UNSCALED_MAX:
        return None
    pixels = d.whole and d.x_min >= 0 and d.x_max <= 255
    return Finding(
        "unscaled-inputs", Severity.WARNING, "inputs",
        f"Input values span {d.x_min:.4g}..{d.x_max:.4g} (mean {d.x_mean:.3g}); networks expect roughly [0, 1] or "
        "standardised inputs.",
        {"x_min": d.x_min, "x_max": d.x_max, "x_mean": d.x_mean, "x_std": d.x_std, "whole": d.whole, "limit": UNSCALED_MAX},
        fix="Divide pixel values by 255 (or standardise each feature to mean 0, std 1)." if pixels else
        "Standardise each feature (subtract its mean, divide by its standard deviation over the training rows) and apply "
        "the same numbers to the test rows.",
        explanation="Large inputs make the first layer's pre-activations large: tanh/sigmoid saturate at once and the "
        "gradients of the first weights scale with the inputs, so one learning rate cannot suit all layers.",
    )


def bad_initial_loss(i: InitialLoss | None) -> Finding | None:
    """``bad-initial-loss`` (a warning): the loss before training outside [:data:`INIT_LOSS_LOW`,
    :data:`INIT_LOSS_HIGH`] x what an untrained network should show."""
    if i is None or not (math.isfinite(i.loss) and math.isfinite(i.expected) and i.expected > 0):
        return None
    ratio = i.loss / i.expected
    if INIT_LOSS_LOW <= ratio <= INIT_LOSS_HIGH:
        return None
    return Finding(
        "bad-initial-loss", Severity.WARNING, "initialisation",
        f"The loss before training is {i.loss:.4g}, {ratio:.2f}x the {i.expected:.4g} an untrained network should show.",
        {"initial_loss": i.loss, "expected": i.expected, "ratio": ratio, "limits": [INIT_LOSS_LOW, INIT_LOSS_HIGH]},
        fix="Initialise weights with std sqrt(1/fan_in) (Xavier/He) and biases with 0; scale inputs to [0, 1].",
        explanation="With small random weights every class gets about the same score, so the loss starts at ln C "
        "(cross-entropy) or the target-encoding expectation (MSE). Far above it, the first layers already produce extreme "
        "values: the initial weights are too large or the inputs unscaled.",
    )
