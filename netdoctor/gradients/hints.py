"""Reading a pattern into gradient errors: what kind of backprop bug this looks like.

Each rule looks at the checked entries of one failing tensor (analytic ``a``,
numerical ``n``) and, where a rule fits every entry, says so in one sentence:

* a constant ratio ``a / n``: -1 (sign), 2 or 1/2 (the 1/2 of a squared error),
  ``N`` or ``1/N`` (batch sum vs mean; at N = 2 both readings are named),
  anything else (a constant factor);
* ``a == 0`` where ``n != 0``: a term never reached the gradient;
* ``a`` equals ``n`` transposed (square weights): a missing ``.T``;
* ``a`` identical to another tensor's gradient: one layer's gradient reused.
"""

from __future__ import annotations

import numpy as np

from netdoctor.gradients.result import rel_error
from netdoctor.nn.stats import median

__all__ = ["tensor_hint"]


def _ratio_name(r: float, batch_size: int | None) -> str | None:
    """What a constant ratio ``analytic / numerical`` suggests, or None.

    At N = 2 a ratio of 2 (or 1/2) is both a factor 2 of the squared error and
    the batch size: every reading that fits is named, joined by "or".
    """
    near = lambda v: abs(r - v) <= 1e-3 * abs(v)  # noqa: E731
    if near(-1.0):
        return "a sign error (e.g. t - a instead of a - t, or the update added instead of subtracted)"
    found = []
    if near(2.0):
        found.append("a factor 2 too many (the loss has 1/2 but the gradient keeps the 2, or the reverse)")
    if near(0.5):
        found.append("a factor 2 lost (squared-error loss without 1/2 but gradient a - t)")
    if batch_size and batch_size > 1:
        if near(float(batch_size)):
            found.append(f"the batch size N={batch_size}: the gradient is summed over the batch while the loss is "
                         "a mean (divide by N)")
        if near(1.0 / batch_size):
            found.append(f"1 / batch size (N={batch_size}): the gradient is divided by N once too often "
                         "(or the loss is a sum)")
    return ", or ".join(found) or None


def tensor_hint(
    name: str,
    idx: np.ndarray,
    a: np.ndarray,
    n: np.ndarray,
    judged: np.ndarray,
    analytic_full: np.ndarray,
    *,
    rtol: float,
    floor: np.ndarray | float,
    batch_size: int | None = None,
    same_as: str | None = None,
    values: np.ndarray | None = None,
) -> str | None:
    """A one-sentence guess at the bug behind a failing tensor, or None.

    Args:
        name: tensor name. idx: flat indices checked. a, n: analytic and numerical
            values there. judged: mask of entries not skipped (kinks).
        analytic_full: the whole analytic gradient (for the transpose rule).
        rtol, floor: the tolerance and denominator floor used.
        batch_size: N, to recognise sum-vs-mean factors.
        same_as: name of another tensor whose returned gradient is identical.
        values: the parameter values at ``idx`` (for the missing weight-decay rule).
    """
    a = a[judged]
    n = n[judged]
    values = None if values is None else np.asarray(values, dtype=float)[judged]
    floor = np.broadcast_to(np.asarray(floor, dtype=float), judged.shape)[judged]
    if same_as is not None:
        return (
            f"the gradient returned for {name} is identical to the one for {same_as}: one layer's gradient "
            "is reused for another (or one buffer is returned twice and overwritten)"
        )
    if a.size == 0:
        return None
    bad = rel_error(a, n, floor) > rtol
    zero = bad & (a == 0) & (np.abs(n) > floor)
    if bad.any() and zero.sum() == bad.sum():
        return (
            f"analytic is exactly 0 in {int(zero.sum())} of {int(bad.sum())} failing entries of {name} where the "
            "numerical gradient is not: a term is missing from the backward pass (or never written)"
        )
    if analytic_full.ndim == 2 and analytic_full.shape[0] == analytic_full.shape[1] and analytic_full.shape[0] > 1:
        at = analytic_full.T.reshape(-1)[idx][judged]
        if np.all(rel_error(at, n, floor) <= rtol) and bad.any():
            return f"analytic equals the numerical gradient transposed in every checked entry of {name}: a missing .T"
    big = (np.abs(n) > floor) & (np.abs(a) > floor)
    if big.sum() >= 1 and bad.any():
        r = a[big] / n[big]
        med = float(median(r))
        if np.all(np.abs(r - med) <= 1e-3 * abs(med)) and abs(med - 1.0) > 1e-3:
            what = _ratio_name(med, batch_size)
            text = f"analytic is {med:.4g}x numerical in every checked entry of {name}"
            return f"{text}: {what}" if what else f"{text}: a constant factor is wrong"
        if values is not None and np.all(np.abs(values) > 0):
            c = (n - a) / values
            cm = float(median(c))
            if cm != 0 and np.all(np.abs(c - cm) <= 1e-3 * abs(cm)):
                return (
                    f"numerical - analytic = {cm:.4g} x {name} in every checked entry: a weight-decay (L2) "
                    f"term of the loss, {cm:.4g} * {name}, is missing from the gradient"
                )
        return (
            f"the ratio analytic/numerical varies from {np.min(r):.3g} to {np.max(r):.3g} across {name}: the "
            "derivative itself is wrong (activation derivative taken at the wrong point, wrong layer's "
            "activations, stale weights), not a constant factor"
        )
    return None
