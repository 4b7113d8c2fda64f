"""Property tests of the reference MLP over random architectures (netdoctor.strategies).

Two independent oracles: a plain central-difference loop written here, and
``netdoctor.gradcheck.check_gradients``. Planted bugs must be caught and
every check must leave the parameters exactly as it found them.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from oracles import central_differences

from netdoctor import MLP, GradientMismatch
from netdoctor import strategies as nds
from netdoctor.gradients import check_gradients
from netdoctor.testing import assert_model_gradients

PROPS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SMALL = dict(max_layers=2, max_width=4, max_inputs=4, max_classes=3)


def close(a, n, rtol=1e-6, atol=1e-8):
    """Central differences are O(h^2) = 1e-12 off plus roundoff ~1e-16/h = 1e-10."""
    return np.all(np.abs(a - n) <= rtol * np.maximum(np.abs(a), np.abs(n)) + atol)


def snapshot(model):
    return {k: (v, v.dtype, v.shape, v.tobytes()) for k, v in model.params.items()}


def assert_restored(model, snap):
    assert model.params.keys() == snap.keys()
    for k, (obj, dtype, shape, raw) in snap.items():
        p = model.params[k]
        assert p is obj, f"{k} was rebound"
        assert p.dtype == dtype and p.shape == shape and p.tobytes() == raw, f"{k} changed"


class ScaledGradient:
    """A protocol model wrapping the MLP whose backward scales one tensor's gradient (a planted bug)."""

    def __init__(self, model, name, factor):
        self.model, self.name, self.factor = model, name, factor
        self.params = model.params

    def loss(self, X, y):
        value, grads = self.model.loss(X, y)
        grads[self.name] = grads[self.name] * self.factor
        return value, grads


# -- the MLP's own backward against the oracles -------------------------------
@PROPS
@given(st.data(), nds.mlps(allow_kinks=False, **SMALL))
@example(data=None, model=MLP((1, 1, 2), seed=0)).via("smallest network")
def test_backward_matches_central_differences(data, model):
    X, y = (np.array([[0.5]]), np.array([1])) if data is None else data.draw(nds.batches(model, max_samples=4))
    _, grads = model.loss(X, y)
    numeric = central_differences(model, X, y)
    for name in model.params:
        assert close(grads[name], numeric[name]), name


@PROPS
@given(st.data(), nds.mlps(allow_kinks=True, activation=st.sampled_from(["relu", "leaky_relu"]),
                           init="normal", **SMALL))
def test_kinked_activations_match_away_from_the_kink(data, model):
    X, y = data.draw(nds.batches(model, max_samples=4))
    _, cache = model.forward(X)
    # A step of h that crosses z = 0 differentiates the kink, not the network.
    assume(all(np.min(np.abs(z)) > 1e-4 for _, z, _ in cache[:-1]))
    _, grads = model.loss(X, y)
    numeric = central_differences(model, X, y)
    for name in model.params:
        assert close(grads[name], numeric[name]), name


@PROPS
@given(st.data(), nds.mlps(allow_kinks=False, **SMALL))
def test_directional_derivative_along_perturbations(data, model):
    X, y = data.draw(nds.batches(model, max_samples=4))
    direction = data.draw(nds.perturbations(model))
    _, grads = model.loss(X, y)
    eps = 1e-5
    plus = {k: p + eps * direction[k] for k, p in model.params.items()}
    minus = {k: p - eps * direction[k] for k, p in model.params.items()}
    numeric = (model.loss_value(X, y, plus) - model.loss_value(X, y, minus)) / (2 * eps)
    analytic = sum(float(np.sum(grads[k] * direction[k])) for k in model.params)
    assert abs(analytic - numeric) <= 1e-6 * max(abs(analytic), abs(numeric)) + 1e-9


# -- netdoctor's checker on the same networks -----------------------------------
@PROPS
@given(st.data(), nds.mlps(allow_kinks=False, **SMALL))
def test_check_gradients_passes_and_restores_parameters(data, model):
    X, y = data.draw(nds.batches(model, max_samples=4))
    snap = snapshot(model)
    result = check_gradients(model, X, y)
    assert result.ok, result.summary()
    assert result.n_checked == sum(p.size for p in model.params.values())
    assert_restored(model, snap)
    assert_model_gradients(model, X, y)
    assert_restored(model, snap)


@PROPS
@given(st.data(), nds.mlps(allow_kinks=False, **SMALL), st.sampled_from([2.0, 0.5, -1.0]))
def test_planted_scaled_gradient_is_caught_and_parameters_restored(data, model, factor):
    X, y = data.draw(nds.batches(model, max_samples=4))
    name = data.draw(st.sampled_from(sorted(model.params)))
    _, grads = model.loss(X, y)
    # A zero gradient times 2 is still right: only a visible gradient can be wrong.
    assume(np.max(np.abs(grads[name])) > 1e-3)
    buggy = ScaledGradient(model, name, factor)
    snap = snapshot(model)
    result = check_gradients(buggy, X, y)
    assert [t.name for t in result.failed] == [name]
    assert_restored(model, snap)
    with pytest.raises(GradientMismatch, match=f"gradient of {name} disagrees"):
        assert_model_gradients(buggy, X, y)
    assert_restored(model, snap)


@PROPS
@given(st.data(), nds.mlps(dtype="float32", **SMALL), st.sampled_from(["auto", "central", "directional"]))
def test_float32_and_kinked_checks_restore_parameters(data, model, method):
    X, y = data.draw(nds.batches(model, max_samples=3, dtype="float32"))
    snap = snapshot(model)
    check_gradients(model, X, y, method=method)
    check_gradients(ScaledGradient(model, "b1", 3.0), X, y, method=method)
    assert_restored(model, snap)


def test_parameters_restored_when_user_loss_raises():
    model = MLP((3, 2, 2), activation="sigmoid", seed=1)
    X, y = np.full((2, 3), 0.5), np.array([0, 1])

    class Flaky(ScaledGradient):
        calls = 0

        def loss(self, X, y):
            Flaky.calls += 1
            if Flaky.calls > 5:
                raise RuntimeError("user bug")
            return super().loss(X, y)

    snap = snapshot(model)
    with pytest.raises(Exception):
        check_gradients(Flaky(model, "W1", 1.0), X, y)
    assert_restored(model, snap)
