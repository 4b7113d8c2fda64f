"""The adapter: gradients against finite differences, the user's own training reproduced, nothing kept."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from user_nets import load

from netdoctor import InvalidArgument, ProtocolError
from netdoctor.adapters.handwritten import AdaptedNet, adapt, unwrap
from netdoctor.buffers.aliasing import Reach

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def example_module(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(1)
    X = rng.uniform(0, 1, (6, 12))
    return X, np.array([0, 1, 2, 3, 0, 2])


def numeric_grad(model, X, y, key, idx, h=1e-6):
    p = model.params[key]
    old = p[idx]
    p[idx] = old + h
    up = model.loss(X, y)[0]
    p[idx] = old - h
    down = model.loss(X, y)[0]
    p[idx] = old
    return (up - down) / (2 * h)


def state_of(model):
    r = Reach(unwrap(model))
    return {r.first[i]: a.copy() for i, a in r.arrays().items()}


ADAPTED = ["column_lists", "textbook", "inplace"]


@pytest.mark.parametrize("style", ADAPTED)
def test_gradients_match_finite_differences(style, data):
    X, y = data
    model = load(style)
    assert isinstance(model, AdaptedNet)
    value, grads = model.loss(X, y)
    rng = np.random.default_rng(0)
    for key, p in model.params.items():
        assert grads[key].shape == p.shape
        for _ in range(3):
            idx = tuple(rng.integers(0, n) for n in p.shape)
            num = numeric_grad(model, X, y, key, idx)
            assert grads[key][idx] == pytest.approx(num, rel=1e-4, abs=1e-8), (key, idx)


@pytest.mark.parametrize("style", ADAPTED)
def test_loss_leaves_the_net_as_it_was(style, data):
    model = load(style)
    before = state_of(model)
    ids = {k: id(v) for k, v in model.params.items()}
    model.loss(*data)
    after = state_of(model)
    assert before.keys() == after.keys() and all(np.array_equal(before[k], after[k]) for k in before)
    assert {k: id(v) for k, v in model.params.items()} == ids


def test_adapted_step_is_the_users_own_training():
    mod = example_module("handwritten_mnist")
    rng = np.random.default_rng(2)
    X, y = rng.uniform(0, 1, (200, 784)), rng.integers(0, 10, 200)
    own = mod.Network()
    own.train(X, y)  # two updates of 100 samples, by the user's loop
    model = mod.build()
    model.train_step(X[:100], y[:100], 0.1)
    model.train_step(X[100:], y[100:], 0.1)
    for a, b in zip(own.weights + own.biases, model.net.weights + model.net.biases):
        assert np.array_equal(a, b)


def test_params_are_live_and_reread_after_rebinding(data):
    model = load("textbook")
    assert list(model.params) == ["weights[0]", "biases[0]", "weights[1]", "biases[1]"]
    assert model.params["weights[0]"] is model.net.weights[0]
    old = model.params["weights[0]"]
    model.train_step(*data, lr=0.5)  # update_mini_batch re-binds self.weights
    assert model.params["weights[0]"] is model.net.weights[0] is not old


def test_vectorised_forward_agrees_and_one_sample_forwards_fall_back(data):
    X, _ = data
    model = load("column_lists")
    per_sample = np.stack([model.net.feedforward(x.reshape(-1, 1)).ravel() for x in X])
    assert np.allclose(model.output(X), per_sample, rtol=1e-12)
    assert model._vectorised

    class OneAtATime(type(model.net)):
        def feedforward(self, a):
            if a.shape != (12, 1):
                raise ValueError("one image at a time")
            return super().feedforward(a)

    net = OneAtATime()
    m2 = adapt(net, update="apply_updates", loss="mse", targets="pm1")
    assert np.allclose(m2.output(X), per_sample) and not m2._vectorised
    assert any("one sample at a time" in n for n in m2.notes)


def test_detection_notes_and_activations(data):
    X, _ = data
    ex = example_module("handwritten_mnist").build()
    assert ex.layer_activations() == ["tanh", "tanh"] and ex.targets == "pm1"
    tb = load("textbook")
    assert tb.style == "gradients" and tb.layer_activations() == ["sigmoid", "sigmoid"]
    acts = tb.activations(X)
    assert [a.shape for a in acts] == [(6, 10), (6, 4)]
    assert np.allclose(acts[-1], tb.output(X))
    col = load("column_lists")
    assert col.style == "accumulate" and col.describe()["buffers"] == ["weight_updates", "bias_updates"]
    tb.loss(*data)
    assert tb.targets == "onehot"  # sigmoid outputs: 0/1 targets


class RowNet:
    """Row layout, W (in, out), b (out,), backprop returns (grads_w, grads_b), softmax outputs."""

    def __init__(self):
        rng = np.random.default_rng(3)
        self.weights = [rng.normal(0, 0.3, (12, 5)), rng.normal(0, 0.3, (5, 4))]
        self.biases = [np.zeros(5), np.zeros(4)]

    def forward(self, X):
        h = np.tanh(X @ self.weights[0] + self.biases[0])
        z = h @ self.weights[1] + self.biases[1]
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def backprop(self, x, t):
        h = np.tanh(x @ self.weights[0] + self.biases[0])
        dz = self.forward(x) - t
        dh = dz @ self.weights[1].T * (1 - h ** 2)
        return [x.T @ dh, h.T @ dz], [dh.ravel(), dz.ravel()]


def test_row_layout_cross_entropy_gradients(data):
    X, y = data
    model = adapt(RowNet(), layout="rows", loss="cross_entropy", targets="onehot")
    assert model.style == "gradients" and model.layer_activations() == ["tanh", "softmax"]
    value, grads = model.loss(X, y)
    p = model.output(X)
    assert value == pytest.approx(-np.mean(np.log(p[np.arange(6), y])))
    for key in model.params:
        num = numeric_grad(model, X, y, key, (0,) * model.params[key].ndim)
        assert grads[key][(0,) * grads[key].ndim] == pytest.approx(num, rel=1e-5, abs=1e-9)
    before = [w.copy() for w in model.net.weights]
    model.train_step(X, y, 0.5)  # no update method: the adapter applies w -= lr * g
    assert np.allclose(model.net.weights[0], before[0] - 0.5 * grads["weights[0]"])


@pytest.mark.parametrize("style,key", [("inplace", "W[0]"), ("column_lists", "weights[0]"), ("textbook", "weights[0]")])
def test_lr_reaches_the_users_update_by_argument_or_attribute(style, key, data):
    # inplace: train(x, t, lr) positional; column_lists: net.lr attribute; textbook: update_mini_batch(.., eta)
    X, y = data[0][:1], data[1][:1]  # one sample: the step is exactly linear in lr
    start = load(style).params[key]
    a, b = load(style), load(style)
    a.train_step(X, y, 0.1)
    b.train_step(X, y, 0.2)
    assert np.allclose(b.params[key] - start, 2 * (a.params[key] - start), rtol=1e-9, atol=1e-15)
    assert np.any(a.params[key] != start)


def test_unwrap():
    model = load("textbook")
    assert unwrap(model) is model.net and unwrap(model.net) is model.net


class NoLists:
    weights = None


@pytest.mark.parametrize("call,err,text", [
    (lambda: adapt(NoLists()), ProtocolError, "weights should be a list"),
    (lambda: adapt(load("textbook").net, layout="diagonal"), InvalidArgument, "layout"),
    (lambda: adapt(load("textbook").net, loss="hinge"), InvalidArgument, "loss"),
    (lambda: adapt(load("textbook").net, layout="rows"), ProtocolError, "layout='rows'"),
    (lambda: adapt(load("inplace").net, weights="W", biases="b", style="inplace"), ProtocolError, "step="),
    (lambda: adapt(load("textbook").net, forward="nope"), ProtocolError, "no method nope"),
], ids=["no-lists", "bad-layout", "bad-loss", "wrong-layout", "inplace-no-step", "missing-forward"])
def test_bad_adapt_calls(call, err, text):
    with pytest.raises(err, match=text):
        call()
