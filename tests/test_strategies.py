"""netdoctor.strategies: valid objects, minimal shrinks, argument validation, lazy import."""

import subprocess
import sys

import hypothesis.errors
import numpy as np
import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

import netdoctor.errors
from netdoctor import MLP
from netdoctor import strategies as nds
from netdoctor.nn.activations import ACTIVATIONS

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# -- valid objects ---------------------------------------------------------
@FAST
@given(nds.architectures(min_layers=0, max_layers=3, max_width=5, max_inputs=4, max_classes=3))
def test_architectures_stay_within_bounds(sizes):
    assert 2 <= len(sizes) <= 5
    assert 1 <= sizes[0] <= 4 and 2 <= sizes[-1] <= 3
    assert all(1 <= w <= 5 for w in sizes[1:-1])
    MLP(sizes)  # the reference MLP accepts every one


@FAST
@given(nds.architectures(n_inputs=784, n_classes=10, max_layers=1))
def test_fixed_inputs_and_classes_are_kept(sizes):
    assert sizes[0] == 784 and sizes[-1] == 10


@FAST
@given(nds.mlps(max_width=4))
def test_mlps_are_valid_reference_networks(model):
    assert isinstance(model, MLP)
    if model.loss_name == "cross_entropy":
        assert model.output_activation == "softmax"
    else:
        assert model.output_activation in ACTIVATIONS
    assert all(np.all(np.isfinite(p)) for p in model.params.values())


@FAST
@given(nds.mlps(allow_kinks=False, loss="mse", output_activation=nds.activation_names(allow_kinks=False)))
def test_mlps_honour_fixed_and_drawn_choices(model):
    assert model.loss_name == "mse"
    assert not ACTIVATIONS[model.activation].has_kink
    assert not ACTIVATIONS[model.output_activation].has_kink


@FAST
@given(nds.mlps(dtype="float32", sizes=(3, 2, 2)))
def test_mlps_dtype_and_sizes(model):
    assert model.sizes == (3, 2, 2)
    assert all(p.dtype == np.float32 for p in model.params.values())


@FAST
@given(st.data(), nds.mlps(max_width=3))
def test_batches_match_the_model(data, model):
    X, y = data.draw(nds.batches(model, max_samples=5))
    assert X.ndim == 2 and X.shape[1] == model.sizes[0] and 1 <= len(X) <= 5
    assert X.dtype == np.float64 and np.all((X >= 0) & (X <= 1))
    assert y.shape == (len(X),) and y.dtype.kind == "i"
    assert np.all((y >= 0) & (y < model.n_classes))
    value, grads = model.loss(X, y)  # usable as-is
    assert np.isfinite(value)


class _ProtocolModel:
    """A user model without `sizes`: widths come from attributes."""

    n_inputs, n_classes = 7, 3
    params = {"w": np.zeros((3, 7)), "c": np.zeros(3, dtype=np.float32)}


@FAST
@given(nds.batches(_ProtocolModel(), min_samples=2, max_samples=2, dtype="float32"))
def test_batches_for_protocol_models(batch):
    X, y = batch
    assert X.shape == (2, 7) and X.dtype == np.float32 and y.max() < 3


@FAST
@given(nds.weight_arrays((3, 4), max_magnitude=0.5))
def test_weight_arrays(w):
    assert w.shape == (3, 4) and np.all(np.isfinite(w)) and np.all(np.abs(w) <= 0.5)


@FAST
@given(nds.perturbations(_ProtocolModel(), max_magnitude=1e-3))
def test_perturbations_match_parameters(delta):
    model = _ProtocolModel()
    assert delta.keys() == model.params.keys()
    for k, d in delta.items():
        assert d.shape == model.params[k].shape and d.dtype == model.params[k].dtype
        assert np.all(np.abs(d) <= 1e-3)


# -- shrinking ---------------------------------------------------------------
def test_mlps_shrink_to_one_hidden_unit():
    model = find(nds.mlps(), lambda m: True)
    assert model.sizes == (1, 1, 2)
    assert (model.activation, model.loss_name) == ("tanh", "cross_entropy")


def test_mlps_shrink_to_smallest_failing_network():
    # "fails" needs two hidden layers of width >= 3: the minimal example is exactly that.
    model = find(nds.mlps(max_layers=3), lambda m: len(m.sizes) >= 4 and min(m.sizes[1:-1]) >= 3)
    assert model.sizes == (1, 3, 3, 2)


def test_batches_shrink_to_one_sample():
    X, y = find(nds.batches(MLP((4, 3, 2))), lambda b: True)
    assert X.shape == (1, 4) and np.all(X == 0) and y.tolist() == [0]


def test_batches_shrink_to_smallest_failing_batch():
    X, y = find(nds.batches(MLP((2, 3, 3)), max_samples=10), lambda b: len(set(b[1].tolist())) >= 2)
    assert len(X) == 2 and sorted(y.tolist()) == [0, 1]


def test_perturbations_shrink_to_zero():
    delta = find(nds.perturbations(MLP((2, 1, 2))), lambda d: True)
    assert all(np.all(d == 0) for d in delta.values())


# -- argument validation ------------------------------------------------------
BAD_CALLS = [
    ("layer_sizes(min_layers=-1)", lambda: nds.layer_sizes(min_layers=-1), "min_layers=-1"),
    ("layer_sizes(min_layers=3, max_layers=2)", lambda: nds.layer_sizes(min_layers=3, max_layers=2), "min_layers=3"),
    ("layer_sizes(max_width=0)", lambda: nds.layer_sizes(max_width=0), "max_width=0"),
    ("layer_sizes(min_width=2.5)", lambda: nds.layer_sizes(min_width=2.5), "min_width=2.5"),
    ("architectures(n_inputs=0)", lambda: nds.architectures(n_inputs=0), "n_inputs=0"),
    ("architectures(max_classes=1)", lambda: nds.architectures(max_classes=1), "max_classes=1"),
    ("activation_names(exclude=['swish'])", lambda: nds.activation_names(exclude=["swish"]), "swish"),
    ("activation_names(all excluded)", lambda: nds.activation_names(allow_kinks=False, exclude=["tanh", "sigmoid", "identity"]), "no activation"),
    ("mlps(activation='gelu')", lambda: nds.mlps(activation="gelu"), "gelu"),
    ("mlps(allow_kinks=False, activation='relu')", lambda: nds.mlps(allow_kinks=False, activation="relu"), "relu"),
    ("mlps(loss='hinge')", lambda: nds.mlps(loss="hinge"), "hinge"),
    ("mlps(sizes=(3,))", lambda: nds.mlps(sizes=(3,)), "sizes=(3,)"),
    ("mlps(sizes=..., max_width=3)", lambda: nds.mlps(sizes=(2, 2), max_width=3), "not both"),
    ("mlps(dtype='int32')", lambda: nds.mlps(dtype="int32"), "int32"),
    ("batches(object())", lambda: nds.batches(object()), "n_inputs="),
    ("batches(model, max_samples=0)", lambda: nds.batches(MLP((2, 2)), max_samples=0), "max_samples=0"),
    ("batches(model, min_samples=5, max_samples=2)", lambda: nds.batches(MLP((2, 2)), min_samples=5, max_samples=2), "min_samples=5"),
    ("weight_arrays((2, -1))", lambda: nds.weight_arrays((2, -1)), "shape"),
    ("weight_arrays(3, max_magnitude=0)", lambda: nds.weight_arrays(3, max_magnitude=0), "max_magnitude=0"),
    ("weight_arrays(3, dtype='int8')", lambda: nds.weight_arrays(3, dtype="int8"), "int8"),
    ("perturbations(object())", lambda: nds.perturbations(object()), "params"),
    ("perturbations(model, names=['W9'])", lambda: nds.perturbations(MLP((2, 2)), names=["W9"]), "W9"),
    ("perturbations(model, max_magnitude=nan)", lambda: nds.perturbations(MLP((2, 2)), max_magnitude=float("nan")), "max_magnitude"),
]


@pytest.mark.parametrize("call, match", [(c, m) for _, c, m in BAD_CALLS], ids=[i for i, _, _ in BAD_CALLS])
def test_bad_arguments_raise_invalid_argument(call, match):
    with pytest.raises(nds.InvalidArgument, match=match.replace("(", r"\(").replace(")", r"\)")) as info:
        call()
    # Both families catch it: netdoctor's (a ValueError) and hypothesis's.
    assert isinstance(info.value, netdoctor.errors.InvalidArgument)
    assert isinstance(info.value, hypothesis.errors.InvalidArgument)


def test_importing_netdoctor_does_not_import_hypothesis():
    code = "import sys, netdoctor, netdoctor.testing, netdoctor.pytest_plugin; print('hypothesis' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
