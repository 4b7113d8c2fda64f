"""Kinks exactly at the checked point: skipped with a reason, while planted errors there still fail.

Found by hypothesis (tests/test_no_false_alarms.py): a leaky-relu MLP with weights of
1e-3 and a zero input row puts every pre-activation of that row exactly at 0. The
code's gradient at that point is a chain of leaky'(0) conventions that can differ from
the loss's derivative along b2[2] although both one-sided slopes agree (a negative
weight between two leaky units gives the slope 0.01 on either side); the other row's
pre-activations of ~1e-7 put more kinks inside the step.
"""

import dataclasses

import numpy as np
import pytest

from netdoctor import MLP, check_gradients, gradcheck
from netdoctor.nn.activations import LEAKY_SLOPE

X = np.array([[0.25], [0.0]])
Y = np.array([2, 0])


def _model(cls=MLP, seed=4213110901):
    model = cls((1, 3, 5, 3), activation="leaky_relu", output_activation="leaky_relu", loss="mse", init="he",
                dtype="float64", seed=seed)
    for p in model.params.values():
        p *= 1e-3
    return model


@pytest.mark.parametrize("seed", [4213110901, 1467175556])
@pytest.mark.parametrize("method", ["directional", "central", "auto"])
def test_leaky_relu_net_with_units_on_the_kink_raises_no_mismatch(method, seed):
    """Seed 1467175556: b2[3]'s chain-rule value 8.87e-06 vs 9.09e-06 on both sides, a jump below the roundoff bound."""
    model = _model(seed=seed)
    before = {k: v.tobytes() for k, v in model.params.items()}
    result = check_gradients(model, X, Y, method=method, seed=0)
    assert result.ok and not [f for f in result.findings if f.code == "gradient-mismatch"], result.summary()
    assert {k: v.tobytes() for k, v in model.params.items()} == before


def test_the_skipped_entry_is_the_one_whose_chain_rule_value_differs():
    """Without the kink test b2[2] failed (analytic 4.15e-06, numeric 9.98e-06): now skipped, with the numbers."""
    result = check_gradients(_model(), X, Y, method="directional", seed=0)
    b2 = next(t for t in result.tensors if t.name == "b2")
    reasons = [c.skipped_reason for c in b2.skipped if c.index == (2,)]
    assert b2.n_failed == 0 and b2.n_skipped == 5
    if reasons:  # the first five skipped entries are listed
        assert "kink" in reasons[0]


class WrongLeakySlope(MLP):
    """A hand-written backward that uses 0.1 for the leaky slope (the forward uses 0.01)."""

    def layer_activation(self, l):
        act = super().layer_activation(l)
        if act.name != "leaky_relu":
            return act
        assert LEAKY_SLOPE != 0.1
        return dataclasses.replace(act, backward=lambda da, z, a: da * np.where(z > 0, 1.0, 0.1))


class Doubled(MLP):
    # W3: its entries' steps cross no kink of their own. (On b2, whose every entry sits on a kink for the zero row,
    # the older kink tests skip all five entries even when the gradient is doubled; see the report.)
    tensor = "W3"

    def backward(self, dout, cache):
        grads = super().backward(dout, cache)
        grads[self.tensor] = grads[self.tensor] * 2
        return grads


@pytest.mark.parametrize("method", ["directional", "central"])
@pytest.mark.parametrize("cls", [WrongLeakySlope, Doubled], ids=["wrong-leaky-slope", "x2-on-W3"])
def test_planted_errors_at_the_kink_are_still_caught(cls, method):
    result = check_gradients(_model(cls), X, Y, method=method, seed=0)
    assert [f for f in result.findings if f.code == "gradient-mismatch"], result.summary()
    if cls is Doubled:
        assert [t.name for t in result.failed] == ["W3"], result.summary()


def _leaky(z):
    return np.where(z > 0, z, LEAKY_SLOPE * z)


def _leaky_back(z):
    return np.where(z > 0, 1.0, LEAKY_SLOPE)


def _g_convention(x, factor=1.0):
    """The chain rule with leaky'(0) taken as 1 in both units (z >= 0): -1 at x = 0."""
    return -factor * np.where(-_leaky(x) >= 0, 1.0, LEAKY_SLOPE) * np.where(x >= 0, 1.0, LEAKY_SLOPE)


def f_two_leaky(x):
    """leaky(-leaky(x)): slope -0.01 on both sides of 0 (the sign flip moves the outer unit to its other side)."""
    return float(np.sum(_leaky(-_leaky(x))))


def test_chain_rule_convention_at_a_kink_of_a_plain_function_is_skipped():
    x = np.array([0.0, 0.7, -0.4])
    for t in (1e-3, -1e-3):  # the oracle: exact one-sided slopes of this piecewise-linear function
        e = np.array([t, 0.0, 0.0])
        assert np.isclose((f_two_leaky(x + e) - f_two_leaky(x)) / t, -LEAKY_SLOPE)
    assert _g_convention(x)[0] == -1.0
    result = gradcheck(f_two_leaky, x, _g_convention)
    assert result.ok, result.summary()
    (t,) = result.tensors
    assert t.n_skipped == 1 and t.skipped[0].index == (0,) and "kink" in t.skipped[0].skipped_reason
    assert t.n_checked == 2


def test_a_doubled_gradient_beside_the_kink_still_fails():
    result = gradcheck(f_two_leaky, np.array([0.0, 0.7, -0.4]), lambda x: _g_convention(x, 2.0))
    assert not result.ok
    assert sorted(c.index for c in result.failed[0].worst) == [(1,), (2,)], result.summary()
