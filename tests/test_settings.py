"""The model's own learning rate and batch size are used unless a flag overrides them, and the header says so."""

from __future__ import annotations

import contextlib
import io
import json
import textwrap

import numpy as np
import pytest

from netdoctor.cli import main
from netdoctor.diagnosis.pipeline import diagnose
from netdoctor.diagnosis.settings import resolve_settings

SEEN: list[tuple[float, int]] = []  # (lr, batch rows) of every train_step, whichever copy ran it

MODEL_SOURCE = textwrap.dedent('''
    import numpy as np

    class SeedAdapter:
        """Rows, dict params, softmax cross-entropy; declares its own lr and batch size."""
        def __init__(self, d, c, seed=0, **settings):
            rng = np.random.default_rng(seed)
            self.params = {"W": rng.normal(0, 1 / np.sqrt(d), (d, c)), "b": np.zeros(c)}
            for k, v in settings.items():
                setattr(self, k, v)

        def _prob(self, X):
            z = X @ self.params["W"] + self.params["b"]
            e = np.exp(z - z.max(axis=1, keepdims=True))
            return e / e.sum(axis=1, keepdims=True)

        def loss(self, X, y):
            n = len(X)
            p = self._prob(X)
            d = p.copy()
            d[np.arange(n), y] -= 1
            d /= n
            return float(-np.mean(np.log(p[np.arange(n), y]))), {"W": X.T @ d, "b": d.sum(0)}

        def predict(self, X):
            return np.argmax(self._prob(X), axis=1)

        def train_step(self, X, y, lr):
            value, g = self.loss(X, y)
            for k, p in self.params.items():
                p -= lr * g[k]
            return value

    def seed():
        return SeedAdapter(64, 10, learning_rate=0.05, mini_batch_size=10)
''')


class Recording:
    """A protocol model (rows, softmax regression) that declares its settings as attributes."""

    def __init__(self, d=6, c=3, **settings):
        rng = np.random.default_rng(0)
        self.params = {"W": rng.normal(0, 0.3, (d, c)), "b": np.zeros(c)}
        for k, v in settings.items():
            setattr(self, k, v)

    def loss(self, X, y):
        z = X @ self.params["W"] + self.params["b"]
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        n = len(X)
        d = p.copy()
        d[np.arange(n), y] -= 1
        d /= n
        return float(-np.mean(np.log(p[np.arange(n), y]))), {"W": X.T @ d, "b": d.sum(0)}

    def predict(self, X):
        return np.argmax(X @ self.params["W"] + self.params["b"], axis=1)

    def train_step(self, X, y, lr):
        SEEN.append((lr, len(X)))
        value, g = self.loss(X, y)
        for k, p in self.params.items():
            p -= lr * g[k]
        return value


def blobs(n=240, d=6, c=3, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % c
    return rng.normal(0, 0.3, (n, d)) + np.eye(c, d)[y] * 2, y


@pytest.mark.parametrize("lr_name, batch_name", [("lr", "batch_size"), ("eta", "mini_batch_size"),
                                                 ("learning_rate", "batch_size"), ("alpha", "mini_batch_size")])
def test_the_models_own_settings_are_used_and_named(lr_name, batch_name):
    X, y = blobs()
    model = Recording(**{lr_name: 0.02, batch_name: 12})
    SEEN.clear()
    report = diagnose(model, X, y, epochs=1, gradcheck=False, probe=False, experiments=False)
    assert {lr for lr, _ in SEEN} == {0.02}
    assert max(n for _, n in SEEN) == 12
    training = report.context["training"]
    assert f"lr 0.02 (Recording.{lr_name})" in training and f"batch 12 (Recording.{batch_name})" in training
    assert report.context["settings"]["lr"] == {"value": 0.02, "source": f"Recording.{lr_name}"}


def test_arguments_override_the_model_and_defaults_fill_in():
    model = Recording(lr=0.02)
    s = resolve_settings(model, lr=0.5, batch_size=None)
    assert (s["lr"].value, s["lr"].source) == (0.5, "given")
    assert (s["batch_size"].value, s["batch_size"].source) == (32, "default")
    assert resolve_settings(Recording(lr=True, batch_size=2.5))["lr"].source == "default"  # not a usable value
    assert resolve_settings(Recording(lr=True, batch_size=2.5))["batch_size"].source == "default"


def test_an_adapted_nets_own_settings_are_found_on_the_net():
    from netdoctor.adapters.handwritten import adapt

    class Net:
        def __init__(self):
            rng = np.random.default_rng(0)
            self.weights = [rng.normal(0, 0.3, (3, 6))]
            self.biases = [np.zeros((3, 1))]
            self.eta, self.mini_batch_size = 0.3, 5

        def feedforward(self, a):
            return 1 / (1 + np.exp(-(self.weights[0] @ a + self.biases[0])))

    s = resolve_settings(adapt(Net(), backprop=None, style="inplace", train_step=lambda net, X, y, lr: None))
    assert (s["lr"].value, s["lr"].source) == (0.3, "Net.eta")
    assert (s["batch_size"].value, s["batch_size"].source) == (5, "Net.mini_batch_size")


def run_json(*argv: str) -> dict:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(io.StringIO()):
        main(["check", *argv, "--json", "--no-color"])
    return json.loads(buf.getvalue())


@pytest.fixture
def user_files(tmp_path):
    from test_cli import tiny_csv

    (tmp_path / "models.py").write_text(MODEL_SOURCE)
    return tmp_path / "models.py", tiny_csv(tmp_path / "tiny.csv")


def test_cli_uses_the_models_settings_and_names_class_and_factory(user_files):
    model, data = user_files
    rep = run_json(str(data), "--model", f"{model}:seed", "--epochs", "1", "--quick", "--no-gradcheck")
    ctx = rep["context"]
    assert ctx["model"] == "SeedAdapter from models.py:seed"
    assert "lr 0.05 (SeedAdapter.learning_rate)" in ctx["training"]
    assert "batch 10 (SeedAdapter.mini_batch_size)" in ctx["training"]
    assert rep["sections"]["baseline"]["lr"] == 0.05 and rep["sections"]["baseline"]["batch_size"] == 10


def test_cli_flags_override_the_model_and_say_so(user_files):
    model, data = user_files
    rep = run_json(str(data), "--model", f"{model}:seed", "--epochs", "1", "--quick", "--no-gradcheck",
                   "--lr", "0.2", "--batch-size", "16")
    assert "lr 0.2 (--lr)" in rep["context"]["training"] and "batch 16 (--batch-size)" in rep["context"]["training"]


def test_reference_mlp_header_says_the_defaults_are_defaults():
    rep = run_json("--epochs", "1", "--quick", "--no-gradcheck", "--hidden", "8")
    assert "lr 0.1 (default)" in rep["context"]["training"] and "batch 32 (default)" in rep["context"]["training"]
    assert rep["context"]["model"].startswith("MLP(784-8-10")


def test_settings_in_the_json_context_name_their_source(user_files):
    model, data = user_files
    rep = run_json(str(data), "--model", f"{model}:seed", "--epochs", "1", "--quick", "--no-gradcheck", "--lr", "0.2")
    assert rep["context"]["settings"] == {"lr": {"value": 0.2, "source": "--lr"},
                                          "batch_size": {"value": 10, "source": "SeedAdapter.mini_batch_size"}}
