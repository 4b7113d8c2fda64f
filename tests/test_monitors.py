"""Training monitors against closed forms and planted behaviour."""

import math

import numpy as np
import pytest

from netdoctor import MLP, InvalidArgument, train
from netdoctor.monitor.callback import (
    TrainingMonitor,
    confusion_matrix,
    infer_kind,
    layer_stats,
    named_params,
    predict_labels,
)
from netdoctor.monitor.layer_stats import activation_label, guessed, name_activation


def blobs(seed, n=400, d=8, c=3):
    rng = np.random.default_rng(seed)
    centers = rng.uniform(0, 1, (c, d))
    y = rng.integers(0, c, n)
    return np.clip(centers[y] + rng.normal(0, 0.2, (n, d)), 0, 1), y


# -- layer statistics ------------------------------------------------------------
def test_tanh_saturation_is_the_share_beyond_the_limit():
    a = np.array([[0.995, -0.999, 0.2, 0.0], [0.5, -0.995, 0.991, -0.3]])
    stats = layer_stats(a, "tanh")
    assert stats["saturation"] == pytest.approx(4 / 8)
    assert layer_stats(a, "tanh", tanh_limit=0.9999)["saturation"] == 0.0


def test_sigmoid_saturation_uses_the_band():
    a = np.array([[0.005, 0.5], [0.995, 0.3], [0.02, 0.98]])
    assert layer_stats(a, "sigmoid")["saturation"] == pytest.approx(2 / 6)
    assert layer_stats(a, "sigmoid", sigmoid_band=(0.03, 0.97))["saturation"] == pytest.approx(4 / 6)


def test_dead_units_relu_zero_everywhere_and_constant_units():
    rng = np.random.default_rng(0)
    a = np.maximum(rng.standard_normal((50, 6)), 0)
    a[:, 1] = 0.0  # a dead relu unit
    a[:, 4] = 0.7  # constant: no information, no gradient differences
    assert layer_stats(a, "relu")["dead"] == pytest.approx(2 / 6)
    t = np.tanh(rng.standard_normal((50, 5)))
    t[:, 0] = 1.0  # saturated to exactly 1: constant
    assert layer_stats(t, "tanh")["dead"] == pytest.approx(1 / 5)
    assert layer_stats(np.tanh(rng.standard_normal((50, 5))), "tanh")["dead"] == 0.0


def test_summary_numbers_and_histogram():
    rng = np.random.default_rng(1)
    a = np.tanh(rng.standard_normal((64, 7)))
    s = layer_stats(a, "tanh", bins=5)
    assert s["act_mean"] == pytest.approx(a.mean()) and s["act_std"] == pytest.approx(a.std())
    assert sum(s["hist"]) == a.size and len(s["hist"]) == 5 and s["hist_range"] == [-1.0, 1.0]
    assert np.array_equal(s["hist"], np.histogram(a, bins=5, range=(-1, 1))[0])


def test_non_finite_activations_are_flagged_not_crashing():
    a = np.array([[np.nan, 1.0], [0.0, np.inf]])
    s = layer_stats(a, "tanh")
    assert s["finite"] is False and s["saturation"] is None


@pytest.mark.parametrize(
    "values, output, kind",
    [
        (np.tanh(np.linspace(-2, 2, 40)).reshape(10, 4), False, "tanh"),
        (1 / (1 + np.exp(-np.linspace(-2, 2, 40))).reshape(10, 4), False, "sigmoid"),
        (np.maximum(np.linspace(-2, 2, 40), 0).reshape(10, 4), False, "relu"),
        (np.full((5, 4), 0.25), True, "softmax"),
        (np.linspace(-5, 5, 40).reshape(10, 4), False, "unknown"),
        # a sigmoid of huge pre-activations: exp overflows (exact 0s) and underflows (exact 1s): not relu
        (np.repeat([0.0, 1e-300, 0.3, 1.0 - 1e-16, 1.0], 8).reshape(10, 4), False, "sigmoid"),
        (np.minimum(np.maximum(np.linspace(-2, 0.9, 40), 0), 1).reshape(10, 4), False, "relu"),
        # a delta gated by relu's derivative (g * (z > 0)): small, signed, exactly 0 where z <= 0; no tanh's output
        (np.sin(np.arange(40.0)).reshape(10, 4) * 0.01 * (np.cos(np.arange(40.0)).reshape(10, 4) > 0), False, "unknown"),
        # tanh of a pre-activation with a few exact zeros (z = 0 at the biases' start) is still tanh
        (np.tanh(np.where(np.arange(40) % 30 == 0, 0.0, np.linspace(-2, 2, 40))).reshape(10, 4), False, "tanh"),
    ],
    ids=["tanh", "sigmoid", "relu", "softmax", "unbounded", "saturated-sigmoid", "relu-below-1", "relu-gated-delta",
         "tanh-few-zeros"],
)
def test_infer_kind(values, output, kind):
    assert infer_kind(values, output=output) == kind


def _pre(lo: float, hi: float) -> np.ndarray:
    return np.random.default_rng(0).uniform(lo, hi, (32, 8))


@pytest.mark.parametrize(
    "f, lo, hi, name",
    [
        (np.tanh, -3.0, 3.0, "tanh"),
        (lambda z: 1 / (1 + np.exp(-z)), -3.0, 3.0, "sigmoid"),
        (lambda z: np.maximum(z, 0), -3.0, 3.0, "relu"),
        (lambda z: np.where(z > 0, z, 0.1 * z), -3.0, 3.0, "leaky_relu"),
        (np.tanh, 20.0, 40.0, "tanh"),  # saturated at +1: every value exactly 1.0, as a sigmoid saturated high
        (lambda z: 1 / (1 + np.exp(-z)), 2.0, 40.0, "sigmoid"),  # never below 0.88: no negative value to tell tanh by
    ],
    ids=["tanh", "sigmoid", "relu", "leaky", "tanh-at-+1", "sigmoid-high"],
)
def test_the_activation_is_named_from_its_values_on_its_pre_activations(f, lo, hi, name):
    """Oracle: the function itself applied to random pre-activations."""
    z = _pre(lo, hi)
    assert name_activation(f(z), z) == name


def test_a_tanh_saturated_at_one_is_told_from_a_sigmoid_that_its_values_alone_do_not_tell():
    z = _pre(20.0, 40.0)
    assert infer_kind(np.tanh(z)) == "sigmoid"  # the values alone: exact 1.0s and nothing below 0
    assert name_activation(np.tanh(z), z) == "tanh"
    assert name_activation(np.tanh(_pre(-3, 3)), _pre(-3, 3)[::-1]) is None
    # sigmoid(2z) written through tanh is no listed function of z: left unnamed rather than guessed
    assert name_activation((np.tanh(_pre(-3, 3)) + 1) / 2, _pre(-3, 3)) is None


def test_a_name_guessed_from_the_values_is_marked_a_guess_and_measured_as_that_name():
    """Oracle: a leaky relu applied to pre-activations whose outputs stay inside (-1, 1) has the range of a tanh: the
    values alone say "tanh", so the report must say it is a guess; whatever reads the name reads the same name."""
    z = _pre(-3.0, 0.99)
    a = np.where(z > 0, z, 0.01 * z)
    assert name_activation(a, z) == "leaky_relu"
    kind = infer_kind(a)
    assert kind == "tanh"  # the range cannot tell: the reason for the mark
    marked = guessed(kind)
    assert marked == "tanh" and {marked: 1}["tanh"] == 1
    stats, plain = layer_stats(a, marked), layer_stats(a, "tanh")
    assert stats["guessed"] is True and plain["guessed"] is False
    assert stats["saturation"] == plain["saturation"] == pytest.approx(np.mean(np.abs(a) > 0.99))
    assert activation_label(stats) == "tanh?" and activation_label(plain) == "tanh"
    assert guessed("unknown") == "unknown" and layer_stats(a, guessed("unknown"))["guessed"] is False
    assert activation_label({"activation": None, "guessed": True}) == "?"


def test_confusion_matrix_matches_a_loop():
    rng = np.random.default_rng(2)
    y, p = rng.integers(0, 4, 200), rng.integers(0, 4, 200)
    expected = np.zeros((4, 4), int)
    for t, q in zip(y, p):
        expected[t, q] += 1
    assert np.array_equal(confusion_matrix(y, p, 4), expected)


def test_named_params_dict_and_list():
    W = np.ones((2, 2))
    assert list(named_params({"W": W, "note": "x"})) == ["W"]
    assert list(named_params([W, W.copy()])) == ["p0", "p1"]
    with pytest.raises(InvalidArgument, match="params"):
        named_params(42)


# -- the callback ------------------------------------------------------------------
class ConstantStep:
    """A toy model whose update is known in closed form: W -= lr * 1, rebinding the array."""

    def __init__(self, rebind):
        self.params = {"W1": np.full((3, 2), 2.0)}
        self.rebind = rebind

    def loss(self, X, y):
        return float(np.sum(self.params["W1"])), {"W1": np.ones((3, 2))}

    def train_step(self, X, y, lr):
        if self.rebind:
            self.params = {"W1": self.params["W1"] - lr}
        else:
            self.params["W1"] -= lr
        return self.loss(X, y)[0]


@pytest.mark.parametrize("rebind", [False, True], ids=["in-place", "rebinding"])
def test_update_ratio_closed_form_and_rebinding(rebind):
    model = ConstantStep(rebind)
    X, y = np.zeros((8, 2)), np.zeros(8, int)
    mon = TrainingMonitor(X[:4], y[:4], every=3, n_classes=2)
    train(model, X, y, epochs=1, lr=0.1, batch_size=1, callbacks=[mon])
    ratios = [p for p in mon.probes if p["update_ratios"]]
    assert ratios, "no update measured"
    for p in ratios:
        # W is 2 - 0.1 (step - 1) before step `step`; the step moves every entry by 0.1.
        before = 2.0 - 0.1 * (p["step"] - 1)
        assert p["update_ratios"]["W1"] == pytest.approx(0.1 / before)
    assert all(p["grad_norms"]["W1"] == pytest.approx(math.sqrt(6)) for p in mon.probes)


def test_probe_numbers_match_the_model_directly():
    X, y = blobs(0)
    model = MLP((8, 6, 3), seed=1)
    mon = TrainingMonitor(X[:50], y[:50], every=5)
    mon.on_start(model, {})
    p = mon.probes[0]
    _, grads = model.loss(X[:50], y[:50])
    for k, g in grads.items():
        assert p["grad_norms"][k] == pytest.approx(np.linalg.norm(g))
        assert p["weight_norms"][k] == pytest.approx(np.linalg.norm(model.params[k]))
    hidden = np.tanh(X[:50] @ model.params["W1"] + model.params["b1"])
    assert p["layers"][0]["act_std"] == pytest.approx(hidden.std())
    assert [l["activation"] for l in p["layers"]] == ["tanh", "softmax"]
    assert p["layer_of"] == {"W1": 1, "b1": 1, "W2": 2, "b2": 2}
    assert mon.initial["loss"] == pytest.approx(model.loss(X[:50], y[:50])[0])
    assert mon.initial["expected"] == pytest.approx(np.log(3))


def test_every_k_cadence_and_epoch_confusion():
    X, y = blobs(1)
    model = MLP((8, 6, 3), seed=0)
    mon = TrainingMonitor(X[:64], y[:64], X_eval=X, y_eval=y, eval_name="all", every=10)
    h = train(model, X, y, epochs=2, lr=0.1, batch_size=20, callbacks=[mon])
    steps = [p["step"] for p in mon.probes]
    assert steps[0] == 0 and 10 in steps and 20 in steps and steps[-1] == h.steps
    assert len(mon.epochs) == 2
    cm = np.array(mon.epochs[-1]["confusion"])
    assert np.array_equal(cm, confusion_matrix(y, model.predict(X), 3))
    assert mon.epochs[-1]["eval_accuracy"] == pytest.approx(np.mean(model.predict(X) == y))


def test_adaptive_budget_keeps_probes_rare():
    X, y = blobs(2, n=2000)
    runs = {}
    for budget in (0.02, 0.5):
        mon = TrainingMonitor(X[:128], y[:128], budget=budget)
        h = train(MLP((8, 16, 3), seed=0), X, y, epochs=2, lr=0.1, batch_size=4, callbacks=[mon])
        runs[budget] = mon
    # Probes cost tens of steps each: a 2% budget allows few of the 1000 steps,
    # and fewer than a 50% budget does (compared in one run, not against a
    # clock figure, so a busy machine does not decide the outcome).
    few, many = runs[0.02], runs[0.5]
    assert 3 <= len(few.probes) < len(many.probes) and len(few.probes) < h.steps / 4
    assert few.wall_seconds > few.monitor_seconds > 0


def test_default_schedule_is_a_count_not_a_clock(monkeypatch):
    # The probes fall at the same steps whatever the clock says: a probe priced at a
    # thousand seconds (a machine slowed to a crawl while it ran) changes nothing.
    from netdoctor.monitor import callback

    X, y = blobs(2, n=2000)

    def steps_probed(clock=None):
        if clock is not None:
            monkeypatch.setattr(callback.time, "perf_counter", clock)
        mon = TrainingMonitor(X[:128], y[:128], budget=0.5)
        h = train(MLP((8, 16, 3), seed=0), X, y, epochs=2, lr=0.1, batch_size=4, callbacks=[mon])
        monkeypatch.undo()
        return [p["step"] for p in mon.probes], h.steps

    ticks = iter(range(0, 10**9, 1000))
    quiet, steps = steps_probed()
    crawling, _ = steps_probed(lambda: float(next(ticks)))
    assert crawling == quiet
    # A probe of 128 rows at batch 4 costs 1.25 * 32 = 40 steps; half the time for probes: every 80 steps.
    # The start, the step after the first update, every 80th step and the end.
    assert quiet == [0, 1, *range(80, steps, 80), steps]


class ColumnNet:
    """Column convention: activations are (units, N)."""

    def __init__(self):
        rng = np.random.default_rng(0)
        self.params = {"W1": rng.standard_normal((5, 4)) * 0.5, "W2": rng.standard_normal((3, 5)) * 0.5}

    def activations(self, X):
        h = np.tanh(self.params["W1"] @ X.T)
        return [h, np.tanh(self.params["W2"] @ h)]

    def predict(self, X):
        return np.argmax(self.activations(X)[-1], axis=0)


def test_column_convention_activations():
    X = np.random.default_rng(3).random((30, 4))
    mon = TrainingMonitor(X, np.zeros(30, int), every=1)
    rec = mon.probe(ColumnNet(), 0)
    assert [l["units"] for l in rec["layers"]] == [5, 3]
    assert np.array_equal(predict_labels(ColumnNet(), X), ColumnNet().predict(X))


class BlowsUp(MLP):
    """Healthy until step 5, then the second layer's weights become infinite."""

    def train_step(self, X, y, lr):
        value = super().train_step(X, y, lr)
        self.steps = getattr(self, "steps", 0) + 1
        if self.steps == 5:
            self.params["W2"][0, 0] = np.inf
        return value


def test_non_finite_stops_cleanly_with_step_and_layer():
    X, y = blobs(4)
    model = BlowsUp((8, 6, 3), seed=0)
    mon = TrainingMonitor(X[:32], y[:32], every=100)
    with np.errstate(all="ignore"):  # the model's own step 6 computes with Inf
        h = train(model, X, y, epochs=3, lr=0.1, batch_size=10, callbacks=[mon])
    # A monitor's stop is not a Ctrl-C: the history says why it ended.
    assert mon.stopped == "non-finite" and not h.interrupted and "non-finite values at step 6" in h.stopped
    assert mon.nonfinite["step"] == 6  # the first loss computed with the broken weights
    # Located after that step's update, which has already carried the Inf back into W1.
    assert "W2" in mon.nonfinite["tensors"] and mon.nonfinite["layer"] in (1, 2)
    assert h.steps == 6


def test_real_divergence_is_caught_before_nan_spreads():
    X, y = blobs(5)
    model = MLP((8, 6, 3), activation="identity", seed=0)
    mon = TrainingMonitor(X[:32], y[:32])
    with np.errstate(all="ignore"):
        h = train(model, X * 1e3, y, epochs=3, lr=10.0, batch_size=10, callbacks=[mon])
    assert mon.stopped == "non-finite" and h.steps < 3 * 40
    assert not math.isfinite(mon.nonfinite["loss"])


def test_healthy_run_leaves_no_alarm_signs():
    X, y = blobs(6)
    model = MLP((8, 16, 3), seed=0)
    mon = TrainingMonitor(X[:64], y[:64], X_eval=X, y_eval=y, every=5)
    train(model, X, y, epochs=3, lr=0.1, batch_size=16, callbacks=[mon])
    last = mon.probes[-1]
    assert mon.stopped is None and mon.nonfinite is None
    assert last["layers"][0]["saturation"] < 0.2 and last["layers"][0]["dead"] == 0.0
    assert last["output_spread"] > 1e-2
    assert mon.epochs[-1]["eval_accuracy"] > 0.8


@pytest.mark.parametrize(
    "kwargs, match",
    [(dict(every=0), "every=0"), (dict(budget=1.5), "budget=1.5"), (dict(budget=0), "budget=0")],
    ids=["every=0", "budget=1.5", "budget=0"],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(InvalidArgument, match=match):
        TrainingMonitor(np.zeros((2, 2)), np.zeros(2, int), **kwargs)


class RisesThenBreaks(MLP):
    """The loss climbs (W2 doubles every step), then step 10 writes an Inf into W1."""

    def train_step(self, X, y, lr):
        value = super().train_step(X, y, 0.0)
        self.steps = getattr(self, "steps", 0) + 1
        self.params["W2"] *= 2.0
        if self.steps == 10:
            self.params["W1"][0, :] = np.inf
        return value


class Recorder:
    def on_step(self, model, run, step, Xb, yb, loss):
        self.last = {k: v.tobytes() for k, v in model.params.items()}


def test_climbing_loss_gives_the_exact_first_layer_and_restores_the_arrays():
    X, y = blobs(7)
    model = RisesThenBreaks((8, 6, 3), activation="identity", loss="mse", output_activation="identity", seed=0)
    rec = Recorder()
    mon = TrainingMonitor(X[:32], y[:32], every=1000)
    with np.errstate(all="ignore"):
        h = train(model, X, y, epochs=1, lr=0.1, batch_size=10, callbacks=[rec, mon])
    nf = mon.nonfinite
    assert h.steps == 11 and nf["step"] == 11 and nf["exact"]
    assert nf["layer"] == 1 and nf["tensors_before_step"] == ["W1"]
    assert math.isfinite(nf["last_finite_loss"])
    # The weights were swapped back for one forward pass and restored bit for bit.
    assert {k: v.tobytes() for k, v in model.params.items()} == rec.last


def test_nan_in_the_input_batch_is_named():
    X, y = blobs(8)
    X[17, 3] = np.nan
    model = MLP((8, 6, 3), seed=0)
    mon = TrainingMonitor(X[:16], y[:16], every=1000)
    with np.errstate(all="ignore"):
        train(model, X, y, epochs=1, lr=0.1, batch_size=400, callbacks=[mon])
    assert mon.nonfinite["where"] == "the input batch" and mon.nonfinite["step"] == 1


def test_bench_runs_small():
    import importlib.util
    import os

    path = os.path.join(os.path.dirname(__file__), "..", "bench", "bench_monitors.py")
    spec = importlib.util.spec_from_file_location("bench_monitors", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows = module.run(small=True)
    assert len(rows) == 3 and all(r["ours"] > 0 and r["peer"] > 0 and r["ratio"] > 0 for r in rows)
