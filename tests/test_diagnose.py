"""diagnose end to end: planted bugs are named, healthy networks stay quiet, nothing of the user's changes."""

import os
import sys
import threading

import numpy as np
import pytest
from shared_files import MNIST_5K, MNIST_TEST, have_real_data

from netdoctor import MLP, InvalidArgument
from netdoctor.diagnosis.experiments import check_independence, overfit_tiny_batch
from netdoctor.diagnosis.pipeline import MIN_PROBES, diagnose

needs_data = pytest.mark.skipif(not have_real_data(), reason="real MNIST files not present")


def blobs(seed, n=900, d=10, c=3):
    rng = np.random.default_rng(seed)
    centers = rng.uniform(0, 1, (c, d))
    y = rng.integers(0, c, n)
    return np.clip(centers[y] + rng.normal(0, 0.2, (n, d)), 0, 1), y


@pytest.fixture(scope="module")
def mnist():
    from netdoctor.data import load

    train, test = load(str(MNIST_5K)), load(str(MNIST_TEST))
    return train.X, train.y, test.X, test.y


class StaleBuffersMLP(MLP):
    """The user's program: each step's "reset" rebinds the buffers to zero templates that the
    accumulation then mutates (``updates = templates``), so every step re-applies the sum of all
    earlier gradients; and the batch gradient is summed, not averaged."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.templates = {k: np.zeros_like(v) for k, v in self.params.items()}

    def train_step(self, X, y, lr):
        updates = self.templates  # the bug: not a fresh zero buffer
        value, grads = self.loss(X, y)
        for k in updates:
            updates[k] += grads[k] * len(X)  # sum over the batch (= per-sample accumulation)
        for k, p in self.params.items():
            p -= lr * updates[k]
        return value


USER = dict(activation="tanh", loss="mse", init="normal", sigma=1.0, reduce="sum")


# -- acceptance on real MNIST ------------------------------------------------------
@needs_data
@pytest.mark.slow
def test_user_story_collapses_to_digit_zero_share_with_causes_above(mnist):
    X, y, Xt, yt = mnist
    report = diagnose(StaleBuffersMLP((784, 30, 10), seed=0, **USER), X, y, X_test=Xt, y_test=yt, epochs=2, lr=0.1, batch_size=100)
    codes = report.codes()
    (collapse,) = [f for f in report.findings if f.code == "class-collapse"]
    assert "9.80% = 980/10000 images of digit 0" in collapse.message
    assert "argmax" in collapse.explanation and collapse.evidence["tied_outputs"] == 1.0  # why digit 0
    assert collapse.caused_by
    for cause in ("stale-accumulator", "saturated-activations"):
        assert cause in codes and codes.index(cause) < codes.index("class-collapse")
    assert codes.index("stale-accumulator") < codes.index("saturated-activations")
    assert report.sections["history"][-1]["test_accuracy"] == pytest.approx(0.098)


@needs_data
@pytest.mark.slow
def test_reference_mlp_with_the_user_configuration(mnist):
    X, y, Xt, yt = mnist
    report = diagnose(MLP((784, 30, 10), seed=0, **USER), X, y, X_test=Xt, y_test=yt, epochs=2, lr=0.1, batch_size=100)
    found = {f.code: f for f in report.findings}
    assert {"summed-gradient", "saturated-activations"} <= set(found)
    fixes = report.sections["experiments"]
    # Averaging the gradient and a sane initialisation together rescue the run.
    combined = [v for k, v in fixes.items() if k.startswith("fix reduce='mean', init=")]
    assert combined and float(combined[0].split("-> ")[1].split("%")[0]) > 60


@needs_data
@pytest.mark.slow
def test_default_configuration_reports_no_errors(mnist):
    X, y, Xt, yt = mnist
    report = diagnose(MLP((784, 64, 10), seed=0), X, y, X_test=Xt, y_test=yt, epochs=3, lr=0.1, batch_size=32)
    assert report.ok, report.to_text()
    assert report.sections["history"][-1]["test_accuracy"] > 0.85


# -- the user's model is left alone ----------------------------------------------------
def test_parameters_untouched_bit_for_bit():
    X, y = blobs(0)
    model = MLP((10, 8, 3), seed=0, momentum=0.9)
    before = {k: v.copy() for k, v in model.params.items()}
    ids = {k: id(v) for k, v in model.params.items()}
    report = diagnose(model, X, y, epochs=2, seed=0)
    for k, v in model.params.items():
        assert id(v) == ids[k] and np.array_equal(v, before[k])
    assert not model._velocity["W1"].any()
    assert report.sections["history"] and report.sections["layers"]


class GlobalDropout(MLP):
    """Draws its dropout mask from NumPy's global generator, as many hand-written nets do."""

    def train_step(self, X, y, lr):
        mask = np.random.random(X.shape) > 0.1
        return super().train_step(X * mask, y, lr)


def test_global_random_state_is_left_as_found():
    X, y = blobs(13)
    np.random.seed(123)
    expected = np.random.random(3)
    np.random.seed(123)
    diagnose(GlobalDropout((10, 8, 3), seed=0), X, y, epochs=1, gradcheck=False)
    assert np.array_equal(np.random.random(3), expected)


class Uncopyable(MLP):
    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        self.lock = threading.Lock()

    def __deepcopy__(self, memo):
        raise TypeError("cannot copy a lock")


def test_uncopyable_model_is_trained_in_place_and_restored():
    X, y = blobs(1)
    model = Uncopyable((10, 8, 3), seed=0)
    before = {k: v.copy() for k, v in model.params.items()}
    report = diagnose(model, X, y, epochs=1, probe=False, experiments=False, gradcheck=False)
    assert all(np.array_equal(model.params[k], before[k]) for k in before)
    assert report.sections["history"][-1]["eval_accuracy"] > 0.5


# -- experiments --------------------------------------------------------------------------
class BatchNormOverBatch(MLP):
    """Standardises each input row with statistics of the whole batch: examples leak into each other."""

    def _as_input(self, X):
        X = super()._as_input(X)
        return (X - X.mean(axis=0)) / (X.std(axis=0) + 1e-3)


class BroadcastLoss(MLP):
    """MSE with targets (N,) against outputs (N, 1): broadcasting makes an (N, N) error matrix."""

    def loss(self, X, y):
        out, cache = self.forward(X)
        t = np.asarray(y, dtype=float)  # (N,), should be (N, 1)
        d = out - t  # (N, 1) - (N,) -> (N, N)
        value = 0.5 * (d * d).sum() / len(X)
        dout = d.sum(axis=1, keepdims=True) / len(X)
        return float(value), self.backward(dout, cache)


@pytest.mark.parametrize(
    "model, leak",
    [
        (MLP((10, 6, 3), seed=0), False),
        (MLP((10, 6, 3), activation="relu", init="he", seed=0), False),
        (BatchNormOverBatch((10, 6, 3), seed=0), True),
        (BroadcastLoss((10, 6, 1), loss="mse", output_activation="identity", seed=0), True),
    ],
    ids=["healthy-tanh", "healthy-relu", "normalised-over-batch", "n-vs-n1-broadcast"],
)
def test_per_example_independence(model, leak):
    X, y = blobs(2)
    y = y if model.n_classes == 3 else (y == 1).astype(int)
    result = check_independence(model, X, y, seed=0)
    assert result["independent"] is (not leak), result


def test_batch_leak_reported_by_diagnose():
    X, y = blobs(3)
    report = diagnose(BatchNormOverBatch((10, 6, 3), seed=0), X, y, epochs=1, gradcheck=False, probe=False)
    (f,) = [f for f in report.findings if f.code == "batch-leak"]
    assert f.severity.value == "error" and f.evidence["rel_diff"] > 1e-3


class GradientAscent(MLP):
    """Wrong sign in the update: p += lr * g."""

    def train_step(self, X, y, lr):
        value, grads = self.loss(X, y)
        for k, p in self.params.items():
            p += lr * grads[k]
        return value


def test_overfit_tiny_batch_separates_bug_from_tuning():
    X, y = blobs(4)
    assert overfit_tiny_batch(MLP((10, 16, 3), seed=0), X, y, lr=0.1)["fitted"]
    # Too large a rate: fits once the rate is cut, which says "tuning".
    fit = overfit_tiny_batch(MLP((10, 16, 3), activation="relu", init="he", seed=0), X, y, lr=50.0)
    assert fit["fitted"] and fit["lr"] < 50.0
    assert not overfit_tiny_batch(GradientAscent((10, 16, 3), seed=0), X, y, lr=0.1)["fitted"]


def test_cannot_overfit_is_an_error_for_user_code():
    X, y = blobs(5)
    report = diagnose(GradientAscent((10, 16, 3), seed=0), X, y, epochs=1, gradcheck=False, probe=False)
    (f,) = [f for f in report.findings if f.code == "cannot-overfit"]
    assert f.severity.value == "error" and "bug" in f.fix


def test_unscaled_inputs_fix_is_checked_by_retraining():
    X, y = blobs(6)
    X = X * 255
    report = diagnose(MLP((10, 16, 3), seed=0), X, y, epochs=2, gradcheck=False, probe=False)
    (f,) = [f for f in report.findings if f.code == "unscaled-inputs"]
    assert f.evidence["accuracy_after"] > f.evidence["accuracy_before"] + 0.1
    assert "checked: one epoch with inputs x" in f.fix


def test_label_permutation_end_to_end():
    X, y = blobs(7, n=1500, c=4)
    report = diagnose(MLP((10, 16, 4), seed=0), X[:1000], y[:1000], X_test=X[1000:], y_test=(y[1000:] + 1) % 4,
                      epochs=3, gradcheck=False, probe=False, experiments=False)
    (f,) = [f for f in report.findings if f.code == "label-permutation"]
    assert "k - 1" in f.message


def test_non_finite_stops_training_and_is_reported():
    X, y = blobs(8)
    report = diagnose(MLP((10, 8, 3), activation="identity", seed=0), X * 1e3, y, epochs=3, lr=10.0,
                      gradcheck=False, probe=False, experiments=False)
    (f,) = [f for f in report.findings if f.code == "non-finite"]
    assert f.evidence["step"] >= 1 and not report.partial
    assert report.codes().index("learning-rate-too-high") < report.codes().index("non-finite")


# -- interruption, optional modules, bad input ---------------------------------------------
class CtrlC:
    def on_step(self, model, run, step, Xb, yb, loss):
        if step == 5:
            raise KeyboardInterrupt


def test_ctrl_c_gives_a_partial_report():
    X, y = blobs(9)
    report = diagnose(MLP((10, 8, 3), seed=0), X, y, epochs=3, progress=CtrlC(), gradcheck=False, probe=False)
    assert report.partial and report.context["steps"] == 5
    assert "experiments" not in report.sections


def test_missing_optional_module_becomes_a_note(monkeypatch):
    monkeypatch.setitem(sys.modules, "netdoctor.buffers.probe", None)  # as if the module were not installed
    X, y = blobs(10)
    report = diagnose(MLP((10, 8, 3), seed=0), X, y, epochs=1, gradcheck=False, experiments=False)
    assert any(n.startswith("training probe skipped") for n in report.context["notes"])
    assert report.sections["history"]


def test_report_text_fits_80_columns():
    X, y = blobs(11)
    report = diagnose(MLP((10, 8, 3), seed=0), X * 40, y, epochs=2, gradcheck=False, probe=False)
    text = report.to_text()
    assert "unscaled-inputs" in text and max(map(len, text.splitlines())) <= 80


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(X=np.zeros(5), y=np.zeros(5, int)), r"X has shape \(5,\)"),
        (dict(X=np.zeros((5, 10)), y=np.zeros(4, int)), r"y has shape \(4,\)"),
        (dict(X_test=np.zeros((3, 10))), "together"),
        (dict(X_test=np.zeros((3, 9)), y_test=np.zeros(3, int)), "X_test"),
        (dict(lr=0.0), "lr=0.0"),
        (dict(epochs=0), "epochs=0"),
    ],
    ids=["X-1d", "y-length", "X_test-alone", "X_test-width", "lr=0", "epochs=0"],
)
def test_bad_calls(kwargs, match):
    args = dict(X=np.zeros((5, 10)), y=np.zeros(5, int))
    args.update(kwargs)
    with pytest.raises(InvalidArgument, match=match):
        diagnose(MLP((10, 4, 3)), args.pop("X"), args.pop("y"), **args)


def test_json_round_trip_and_baseline_section():
    import json

    X, y = blobs(12)
    report = diagnose(StaleBuffersMLP((10, 8, 3), seed=0, **USER), X, y, epochs=2, lr=0.1, batch_size=100,
                      baseline=lambda: MLP((10, 8, 3), seed=0))
    data = json.loads(report.to_json())
    assert data["findings"][0]["code"] == report.codes()[0] and not data["ok"]
    assert data["sections"]["baseline"]["accuracy"] > 0.5
    assert "stale-accumulator" in report.codes()


def _example(name):
    import importlib.util

    path = os.path.join(os.path.dirname(__file__), "..", "examples", f"{name}.py")
    if not os.path.exists(path):
        pytest.skip(f"examples/{name}.py not present")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@needs_data
@pytest.mark.slow
def test_the_handwritten_program_and_its_fix(mnist):
    X, y, Xt, yt = mnist
    broken = diagnose(_example("handwritten_mnist").build(), X, y, X_test=Xt, y_test=yt, epochs=1, lr=0.1, batch_size=100)
    codes = broken.codes()
    (collapse,) = [f for f in broken.findings if f.code == "class-collapse"]
    assert "9.80% = 980/10000 images of digit 0" in collapse.message
    assert codes[0] == "aliased-buffers" and codes.index("saturated-activations") < codes.index("class-collapse")
    assert "bad-initial-loss" not in codes  # +-1 targets: the expected MSE is C/2 = 5
    fixed = diagnose(_example("handwritten_mnist_fixed").build(), X, y, X_test=Xt, y_test=yt, epochs=1, lr=0.1, batch_size=100)
    assert fixed.ok and fixed.sections["history"][-1]["test_accuracy"] > 0.7


# -- the reference comparison (diagnose(..., baseline=...)) on the bundled sample ------------
@pytest.fixture(scope="module")
def sample():
    from netdoctor.data import load_sample

    d = load_sample()
    return d.X[:1600], d.y[:1600], d.X[1600:], d.y[1600:]


def _user(name):
    from netdoctor.adapters.usermodel import load_user_model

    path = os.path.join(os.path.dirname(__file__), "..", "examples", f"{name}.py")
    if not os.path.exists(path):
        pytest.skip(f"examples/{name}.py not present")
    return load_user_model(f"{path}:build")


def _reference():
    return MLP((784, 30, 10), activation="tanh", loss="mse", seed=0)


def test_reference_comparison_puts_the_buggy_program_in_the_users_code(sample):
    X, y, Xt, yt = sample
    report = diagnose(_user("handwritten_mnist"), X, y, X_test=Xt, y_test=yt, epochs=2, lr=0.1, batch_size=100,
                      baseline=_reference, gradcheck=False, experiments=False)
    (f,) = [f for f in report.findings if f.code == "reference-comparison"]
    ev = f.evidence
    share = np.bincount(yt).max() / len(yt)
    assert f.severity.value == "warning" and ev["user_accuracy"] <= share + 0.03 < 0.5 < ev["reference_accuracy"]
    assert ev["reference_accuracy"] == report.sections["baseline"]["accuracy"]
    assert ev["user_accuracy"] == report.sections["history"][-1]["test_accuracy"]
    assert "the problem is in your code, not in your data or hyper-parameters" in f.message
    assert f"your model {100 * ev['user_accuracy']:.1f}%" in f.message and "784-30-10" in ev["reference"]
    assert (ev["epochs"], ev["lr"], ev["batch_size"]) == (2, 0.1, 100)
    # Evidence, not a cause: after the user-code findings it names, and the verdict still names the buffers.
    codes = report.codes()
    assert "aliased-buffers" in f.caused_by and "summed-gradient" in f.caused_by
    assert all(codes.index(c) < codes.index("reference-comparison") for c in f.caused_by)
    assert report.root_cause().code == "aliased-buffers"


def test_reference_comparison_says_a_healthy_user_network_trains(sample):
    X, y, Xt, yt = sample
    report = diagnose(_user("handwritten_mnist_fixed"), X, y, X_test=Xt, y_test=yt, epochs=2, lr=0.1, batch_size=20,
                      baseline=_reference, gradcheck=False, probe=False, experiments=False)
    (f,) = [f for f in report.findings if f.code == "reference-comparison"]
    assert f.severity.value == "info" and f.caused_by == () and report.ok
    assert abs(f.evidence["gap"]) <= 0.05 and f.evidence["user_accuracy"] > 0.7
    assert f.message.endswith("training works.")


def test_no_reference_comparison_without_a_baseline():
    X, y = blobs(3)
    report = diagnose(MLP((10, 8, 3), seed=0), X, y, epochs=1, batch_size=50, experiments=False, gradcheck=False)
    assert "reference-comparison" not in report.codes() and "baseline" not in report.sections


# -- findings of the probe are kept when another finding shares their code ------------------------
class TwoSharings(MLP):
    """One pair of buffers shared from the start, a second pair only once train_step has run."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.w_templates = [np.zeros_like(v) for v in self.params.values()]
        self.w_updates = self.w_templates
        self.b_templates = [np.zeros_like(v) for v in self.params.values()]
        self.b_updates = [np.zeros_like(v) for v in self.params.values()]

    def train_step(self, X, y, lr):
        self.b_updates = self.b_templates
        return super().train_step(X, y, lr)


def test_sharing_seen_only_during_training_is_kept_beside_the_static_one():
    X, y = blobs(4, n=300, d=6, c=2)
    report = diagnose(TwoSharings((6, 5, 2), seed=0), X, y, epochs=1, lr=0.1, batch_size=30, gradcheck=False, experiments=False)
    shared = {f.where: f for f in report.findings if f.code == "aliased-buffers"}
    assert set(shared) == {"w_templates = w_updates", "b_templates = b_updates"}
    assert shared["b_templates = b_updates"].evidence.get("appeared_during_training") is True
    assert not shared["w_templates = w_updates"].evidence.get("appeared_during_training")


# -- every probe is kept for the plots ------------------------------------------------------------
def test_probe_records_section_for_plots():
    import json

    from netdoctor.report.plots import probe_records

    X, y = blobs(5)
    report = diagnose(MLP((10, 8, 3), seed=0), X, y, epochs=2, batch_size=30, experiments=False, gradcheck=False)
    probes = report.sections["probes"]
    steps = [p["step"] for p in probes]
    assert len(probes) >= MIN_PROBES and steps == sorted(steps) and steps[-1] == report.context["steps"]
    assert probe_records(report) == probes  # the plots read this section, not only the last probe
    hidden = probes[-1]["layers"][0]
    # A histogram over the 64 probe rows x 8 tanh units, between tanh's bounds.
    assert hidden["activation"] == "tanh" and hidden["hist_range"] == [-1.0, 1.0] and sum(hidden["hist"]) == 64 * 8
    assert report.sections["layers"][0]["hist_range"] == hidden["hist_range"]
    assert json.loads(report.to_json())["sections"]["probes"][-1]["step"] == steps[-1]
    # The records are for the plots; the text report shows the last one in the layers table only.
    lines = [line.strip() for line in report.to_text(width=100).splitlines()]
    assert "probes" not in lines and not any(line.startswith("probes") for line in lines)


def test_update_ratios_of_the_spread_probes_match_a_replayed_run():
    from netdoctor.nn.training import train

    X, y = blobs(6)
    model = MLP((10, 8, 3), seed=0)
    report = diagnose(model, X, y, epochs=2, lr=0.1, batch_size=30, experiments=False, gradcheck=False, probe=False)
    weights = {}

    class Record:  # the same training replayed: W1 after every step
        def on_step(self, m, run, step, Xb, yb, loss):
            weights[step] = m.params["W1"].copy()

    train(MLP((10, 8, 3), seed=0), X, y, epochs=2, lr=0.1, batch_size=30, seed=0, callbacks=[Record()])
    weights[0] = model.params["W1"]
    checked = 0
    for p in report.sections["probes"]:
        s, ratio = p["step"], p["update_ratios"].get("W1")
        if ratio is not None and s >= 2:
            expected = np.linalg.norm(weights[s] - weights[s - 1]) / np.linalg.norm(weights[s - 1])
            assert ratio == pytest.approx(expected, rel=1e-9)
            checked += 1
    assert checked >= MIN_PROBES // 2


def test_uncopyable_model_runs_every_experiment_and_is_restored():
    """A model holding a lock cannot be deep-copied: every step works in place and restores it."""
    import threading

    rng = np.random.default_rng(3)
    X, y = rng.random((120, 6)), rng.integers(0, 3, 120)
    model = MLP((6, 5, 3), seed=1)
    model.lock = threading.Lock()
    before = {k: v.tobytes() for k, v in model.params.items()}
    report = diagnose(model, X, y, epochs=1, batch_size=16, experiments=True)
    assert report.sections["experiments"]  # they ran (before the fix: TypeError, cannot pickle the lock)
    assert {k: v.tobytes() for k, v in model.params.items()} == before


@needs_data
@pytest.mark.parametrize("seed", range(4))
def test_independence_check_is_silent_on_saturated_sigmoid_reference_mlp(seed):
    """The issue's case: --init normal --sigma 5 --activation sigmoid on mnist_5k (saturated units,
    derivatives ~1e-6) made finite differences of the batch loss look like a leak."""
    from netdoctor.data import load

    train, _ = load(str(MNIST_5K)).split(0.2, seed=0)
    model = MLP((784, 64, 10), activation="sigmoid", init="normal", sigma=5, seed=0)
    result = check_independence(model, train.X, train.y, seed=seed)
    assert result["independent"] is not False, result


@pytest.mark.parametrize("scale", [1e-5, 3e-7, 1e-9])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_independence_check_is_silent_on_tiny_input_gradients(scale, dtype):
    X, y = blobs(5, d=40, c=4)
    model = MLP((40, 4), activation="identity", output_activation="softmax", seed=0, dtype=dtype)
    model.params["W1"] *= model.params["W1"].dtype.type(scale / np.abs(model.params["W1"]).mean())
    result = check_independence(model, X, y, seed=0)
    assert result["independent"] is not False, result


@pytest.mark.parametrize("cls", [BatchNormOverBatch, BroadcastLoss])
def test_independence_check_finds_leaks_in_float32_too(cls):
    X, y = blobs(2)
    kw = {"loss": "mse", "output_activation": "identity"} if cls is BroadcastLoss else {}
    model = cls((10, 6, 1 if cls is BroadcastLoss else 3), seed=0, dtype="float32", **kw)
    y = (y == 1).astype(int) if cls is BroadcastLoss else y
    assert check_independence(model, X, y, seed=0)["independent"] is False


class Dropout(MLP):
    """Hidden units dropped at random in every loss call: the loss is random, not leaky."""

    def loss(self, X, y):
        keep = np.random.default_rng().random(self.params["W1"].shape[1]) > 0.2
        saved = self.params["W2"].copy()
        self.params["W2"][~keep] = 0
        try:
            return super().loss(X, y)
        finally:
            self.params["W2"][...] = saved


def test_independence_check_says_no_signal_on_a_random_loss():
    X, y = blobs(2)
    result = check_independence(Dropout((10, 32, 3), seed=0), X, y, seed=0)
    assert result["independent"] is None and "random" in result.get("reason", "")


class SaturatedSigmoidNet:
    """A correct net (not the reference MLP): tanh hidden layer, sigmoid outputs, MSE on 0/1 targets, rows.

    ``w_scale`` multiplies the initial weights: at 30 the hidden units and the output units start in the
    flat ends of their functions, so 300 steps cannot fit 16 examples although gradient and update are right.
    """

    def __init__(self, sizes=(10, 12, 3), w_scale=30.0, seed=0):
        rng = np.random.default_rng(seed)
        self.params = {"W1": rng.normal(0, w_scale / np.sqrt(sizes[0]), sizes[:2]), "b1": np.zeros(sizes[1]),
                       "W2": rng.normal(0, w_scale / np.sqrt(sizes[1]), sizes[1:]), "b2": np.zeros(sizes[2])}
        self.n_classes = sizes[2]

    def _forward(self, X):
        h = np.tanh(X @ self.params["W1"] + self.params["b1"])
        return h, 1 / (1 + np.exp(-(h @ self.params["W2"] + self.params["b2"])))

    def loss(self, X, y):
        n = len(X)
        h, a = self._forward(X)
        t = np.eye(self.n_classes)[y]
        dz = (a - t) * a * (1 - a) / n
        dh = dz @ self.params["W2"].T * (1 - h ** 2)
        return float(0.5 * np.sum((a - t) ** 2) / n), {"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ dz, "b2": dz.sum(0)}

    def predict(self, X):
        return np.argmax(self._forward(X)[1], axis=1)

    def activations(self, X):
        return list(self._forward(X))

    def train_step(self, X, y, lr):
        value, g = self.loss(X, y)
        for k, p in self.params.items():
            p -= lr * g[k]
        return value


def test_cannot_overfit_on_verified_code_points_at_what_the_numbers_show():
    X, y = blobs(7)
    report = diagnose(SaturatedSigmoidNet(), X, y, epochs=1, lr=0.5, batch_size=16)
    codes = report.codes()
    (f,) = [f for f in report.findings if f.code == "cannot-overfit"]
    assert "gradient-mismatch" not in codes and not set(codes) & {"stale-accumulator", "summed-gradient", "update-mismatch"}
    text = " ".join((f.message, f.explanation, f.fix))
    assert "bug in the update" not in text and "does not follow the gradient" not in text
    assert f.severity.value == "warning"
    assert "gradient check" in f.explanation and "update probe" in f.explanation
    assert "saturat" in f.explanation and "%" in f.explanation
    assert f.caused_by and set(f.caused_by) <= set(codes)
    assert "saturated-activations" in codes and "saturated-activations" in f.caused_by
