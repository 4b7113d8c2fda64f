"""The steps of an update rule told from sampled entries (netdoctor.observe.numpy.steps): the oracle is the arithmetic
that made the change, written out here."""

from __future__ import annotations

import numpy as np
import pytest

from netdoctor.observe.numpy.steps import decayed_toward

EPS = float(np.finfo(np.float64).eps)


@pytest.fixture
def arrays():
    rng = np.random.default_rng(0)
    return rng.normal(size=40), rng.normal(size=40), rng.normal(size=40)  # old values, a gradient, another array


@pytest.mark.parametrize("mu", [0.0, 0.5, 0.9, 0.99])
def test_a_velocity_is_a_decay_toward_the_gradient_it_reads(arrays, mu):
    v, g, other = arrays
    assert decayed_toward(v, mu * v - 0.1 * g, [other, g], EPS) == 1  # v = mu * v - lr * g
    assert decayed_toward(v, mu * v + (1 - mu) * g, [g], EPS) == 0  # Adam's first moment


@pytest.mark.parametrize("new", [
    pytest.param(lambda w, g: w - 0.1 * (g + 1e-4 * w), id="weight-decay"),  # keeps 99.999% of itself
    pytest.param(lambda w, g: w - 0.1 * g, id="plain-step"),
    pytest.param(lambda w, g: 1.5 * w - 0.1 * g, id="grows"),
    pytest.param(lambda w, g: 0.9 * w - 0.1 * g ** 3, id="another-array"),
])
def test_a_parameter_stepped_or_decayed_by_a_weight_decay_is_no_velocity(arrays, new):
    w, g, _ = arrays
    assert decayed_toward(w, new(w, g), [g], EPS) is None


@pytest.mark.parametrize("b2", [0.9, 0.999, 0.9999])
def test_a_second_moment_is_a_decay_toward_the_square_of_the_gradient(arrays, b2):
    v, g, other = arrays
    v = v * v  # a second moment is never negative
    assert decayed_toward(v, b2 * v + (1 - b2) * g * g, [other, g], EPS) == 2 + 1  # the square of candidate 1
