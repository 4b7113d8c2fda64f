"""probe_training: planted training bugs are named, healthy training stays quiet, nothing is modified."""

import copy
import importlib.util
import threading
from pathlib import Path

import numpy as np
import pytest
from user_nets import BATCH, STYLES, load

from netdoctor import MLP, InvalidArgument, ProtocolError, UserCodeError
from netdoctor.buffers.aliasing import Reach
from netdoctor.buffers.probe import probe_training

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, (64, 12))
    y = np.argmax(X @ rng.normal(size=(12, 4)), axis=1)
    return X, y


def state_of(model):
    """Copies of every array reachable from the model, by first path (to compare before/after)."""
    r = Reach(getattr(model, "__netdoctor_wrapped__", None) or model)
    return {r.first[i]: a.copy() for i, a in r.arrays().items()}


def same_state(a, b):
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k], equal_nan=True) for k in a)


def probe(model, X, y, style="", **kw):
    kw.setdefault("lr", 0.1)
    kw.setdefault("batch_size", BATCH.get(style, 16))
    return probe_training(model, X, y, **kw)


@pytest.mark.parametrize("style", list(STYLES))
def test_healthy_nets_are_quiet_and_untouched(style, data):
    X, y = data
    model = load(style)
    before, Xc, yc = state_of(model), X.copy(), y.copy()
    result = probe(model, X, y, style)
    assert result.findings == [], [f.message for f in result.findings]
    assert result.restored and same_state(before, state_of(model))
    assert np.array_equal(X, Xc) and np.array_equal(y, yc)
    assert abs(result.evidence["lr_factor"] - 1) < 1e-6  # plain SGD (or momentum's current term)


PLANTED = [
    ("row_dict", "grad-view", "update-mismatch"),
    ("row_dict", "frozen", "frozen-parameters"),
    ("row_dict", "template", "mutated-constant"),
    ("per_sample_loop", "stale", "stale-accumulator"),
    ("per_sample_loop", "summed", "summed-gradient"),
    ("momentum", "no-decay", "stale-accumulator"),
    ("momentum", "velocity-is-params", "update-mismatch"),
    ("column_lists", "assign-template", "stale-accumulator"),
    ("column_lists", "summed", "summed-gradient"),
    ("textbook", "frozen", "frozen-parameters"),
    ("inplace", "frozen-bias", "frozen-parameters"),
]


@pytest.mark.parametrize("style,bug,code", PLANTED, ids=[f"{s}-{b}" for s, b, _ in PLANTED])
def test_planted_bug_is_named(style, bug, code, data):
    X, y = data
    model = load(style, bug)
    before = state_of(model)
    result = probe(model, X, y, style)
    assert code in result.codes()
    assert result.restored and same_state(before, state_of(model))
    f = next(f for f in result.findings if f.code == code)
    assert f.evidence and f.fix and f.explanation and f.where


def test_frozen_names_exactly_the_frozen_tensors(data):
    result = probe(load("textbook", "frozen"), *data)
    assert next(f for f in result.findings if f.code == "frozen-parameters").where == "weights[0], weights[1]"


def test_summed_gradient_factor_is_the_batch_size(data):
    X, y = data
    for bs in (8, 20):
        result = probe(MLP((12, 7, 4), reduce="sum"), X, y, batch_size=bs, lr=0.01)
        assert result.codes() == ["summed-gradient"]
        assert result.evidence["lr_factor"] == pytest.approx(bs, rel=1e-9)


@pytest.mark.parametrize("mu", [0.5, 0.9])
def test_momentum_history_is_the_geometric_closed_form(mu, data):
    result = probe(MLP((12, 7, 4), momentum=mu), *data, steps=4)
    assert result.findings == []
    # Δ_t = -lr Σ_s μ^(t-s) g_s  =>  c_s / c_t = μ^(t-s)
    for t, h in result.evidence["history"].items():
        assert np.allclose(h, [mu ** (t - s) for s in range(1, t)], rtol=1e-6)


def test_stale_history_is_flat_and_grows(data):
    result = probe(load("per_sample_loop", "stale"), *data, steps=5)
    f = result.findings[0]
    assert f.code == "stale-accumulator" and f.where == "grad_sum"
    assert np.allclose(result.evidence["history"][5], 1.0, rtol=1e-6)
    assert f.evidence["buffers_not_empty_at_step_start"]["grad_sum"] > 0


def load_example(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.build()


def test_canonical_example_on_real_digits():
    from netdoctor.data import load_sample

    d = load_sample()
    bad = probe_training(load_example("handwritten_mnist"), d.X, d.y, lr=0.1, batch_size=100)
    assert {"stale-accumulator", "summed-gradient", "mutated-constant"} <= set(bad.codes())
    stale = next(f for f in bad.findings if f.code == "stale-accumulator")
    assert stale.where == "bias_updates, weight_updates" and stale.caused_by == ("aliased-buffers",)
    assert bad.evidence["lr_factor"] == pytest.approx(100)
    good = probe_training(load_example("handwritten_mnist_fixed"), d.X, d.y, lr=0.1, batch_size=100)
    assert good.findings == []


class Mutator(MLP):
    def train_step(self, X, y, lr):
        X /= 2.0  # in-place rescale of the caller's batch
        return super().train_step(X, y, lr)


def test_input_mutation_is_found(data):
    result = probe(Mutator((12, 5, 4)), *data)
    assert "mutated-constant" in result.codes()
    assert next(f for f in result.findings if f.code == "mutated-constant").where == "train_step(X, y)"


class Locked(MLP):
    """Cannot be deep-copied (a lock), draws from the global random state in train_step."""

    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        self.lock = threading.Lock()
        self.rebinds = 0

    def train_step(self, X, y, lr):
        np.random.rand()
        self.rebinds += 1
        value, g = self.loss(X, y)
        self.params = {k: p - lr * g[k] for k, p in self.params.items()}  # rebinding update
        return value


def test_uncopyable_model_is_probed_in_place_and_restored(data):
    model = Locked((12, 5, 4))
    with pytest.raises(TypeError):
        copy.deepcopy(model)
    params_obj, before = model.params, state_of(model)
    np.random.seed(123)
    expected = np.random.get_state()[1].copy()
    np.random.seed(123)
    result = probe(model, *data)
    assert result.findings == [] and result.restored
    assert model.params is params_obj and model.rebinds == 0 and same_state(before, state_of(model))
    assert np.array_equal(np.random.get_state()[1], expected)


class Broken(MLP):
    def train_step(self, X, y, lr):
        return np.dot(self.params["W1"], X)  # wrong orientation


def test_user_exception_names_the_users_frame(data):
    with pytest.raises(UserCodeError, match=r"test_probe.py line \d+ in train_step: ValueError"):
        probe(Broken((12, 5, 4)), *data)


class WrongGrads(MLP):
    def loss(self, X, y):
        value, g = super().loss(X, y)
        g["W1"] = g["W1"].T
        return value, g


@pytest.mark.parametrize("call,err", [
    (lambda d: probe_training(object(), *d, lr=0.1, batch_size=4), ProtocolError),
    (lambda d: probe_training(MLP((12, 4)), *d, lr=0.0, batch_size=4), InvalidArgument),
    (lambda d: probe_training(MLP((12, 4)), *d, lr=float("nan"), batch_size=4), InvalidArgument),
    (lambda d: probe_training(MLP((12, 4)), *d, lr=0.1, batch_size=0), InvalidArgument),
    (lambda d: probe_training(MLP((12, 4)), *d, lr=0.1, batch_size=4, steps=1), InvalidArgument),
    (lambda d: probe_training(MLP((12, 4)), d[0], d[1][:3], lr=0.1, batch_size=4), InvalidArgument),
    (lambda d: probe_training(WrongGrads((12, 5, 4)), *d, lr=0.1, batch_size=4), ProtocolError),
], ids=["no-protocol", "lr-zero", "lr-nan", "batch-zero", "one-step", "y-short", "grad-shape"])
def test_bad_calls(call, err, data):
    with pytest.raises(err):
        call(data)


def test_textbook_example_is_adapted_without_lines_and_quiet():
    from netdoctor.adapters.usermodel import load_user_model
    from netdoctor.data import load_sample

    d = load_sample()
    model = load_user_model(f"{EXAMPLES / 'textbook_network.py'}:build")
    assert model.style == "gradients" and model.notes[0].startswith("adapted automatically")
    result = probe_training(model, d.X[:200], d.y[:200], lr=3.0, batch_size=10)
    assert result.findings == [] and result.evidence["lr_factor"] == pytest.approx(1.0)


def test_canonical_example_freezes_when_run(capsys):
    spec = importlib.util.spec_from_file_location("hm_main", EXAMPLES / "handwritten_mnist.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.main(epochs=1)
    out = capsys.readouterr().out
    assert "most common answer given 100% of the time" in out


def test_exploding_updates_raise_no_warnings_and_keep_the_scale(data):
    # steps overflow to inf after the first; the first step alone still shows the summed gradient
    result = probe(MLP((12, 8, 4), activation="relu", reduce="sum"), *data, lr=1e200)
    assert result.codes() == ["summed-gradient"] and result.restored
    assert result.evidence["fit_residual"][1:] == [None, None, None]
