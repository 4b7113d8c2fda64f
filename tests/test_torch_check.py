"""PyTorch modules in the controlled diagnosis: the adapter, the probe, the self-check and ``check --model``.

Oracles: float64 central differences of the adapter's own loss (tests/oracles.py),
a hand-applied SGD step, and planted bugs (a frozen layer, a detach, a softmax
into cross-entropy) beside healthy twins that must stay quiet.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from oracles import central_differences  # noqa: E402

from netdoctor import check_gradients, diagnose, probe_training  # noqa: E402
from netdoctor.adapters.torch_model import TorchModel, adapt_module  # noqa: E402
from netdoctor.adapters.usermodel import load_user_model, verify_protocol  # noqa: E402
from netdoctor.data.loader import load_sample  # noqa: E402
from netdoctor.errors import InvalidArgument  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "torch"


class Net(nn.Module):
    def __init__(self, d=784, h=16, c=10):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(d, h), nn.Linear(h, c)

    def forward(self, x):
        return self.fc2(torch.tanh(self.fc1(x)))


class SoftmaxNet(Net):
    def forward(self, x):
        return torch.softmax(super().forward(x), dim=1)


class LogSoftmaxNet(Net):
    def forward(self, x):
        return torch.log_softmax(super().forward(x), dim=1)


class CutNet(Net):
    def forward(self, x):
        return self.fc2(torch.tanh(self.fc1(x)).detach())


def net(cls=Net, seed=0, **kw):
    torch.manual_seed(seed)
    return cls(**kw)


@pytest.fixture(scope="module")
def sample():
    data = load_sample()
    rng = np.random.default_rng(0)
    idx = rng.choice(len(data.X), size=400, replace=False)
    return data.X[idx], data.y[idx]


def test_params_are_zero_copy_views_of_the_module():
    m = net()
    model = adapt_module(m)
    p = model.params
    assert list(p) == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    p["fc2.bias"][3] = 5.0
    assert m.fc2.bias[3].item() == 5.0
    assert np.shares_memory(model.params["fc1.weight"], m.fc1.weight.detach().numpy())


def test_loss_gradients_match_float64_central_differences(sample):
    X, y = sample[0][:6, 300:330], sample[1][:6]  # 30 pixels: the oracle is one entry at a time
    model = adapt_module(net(d=30, h=5, c=10).double())
    value, grads = model.loss(X, y)
    oracle = central_differences(model, X, y)
    for k in grads:
        np.testing.assert_allclose(grads[k], oracle[k], rtol=1e-6, atol=1e-9)
    with torch.no_grad():
        expected = nn.functional.cross_entropy(model.module(torch.from_numpy(X).double()), torch.from_numpy(y).long())
    assert value == pytest.approx(expected.item())


def test_train_step_is_one_sgd_step_at_the_given_lr(sample):
    X, y = sample
    model = adapt_module(net().double())
    before = {k: v.copy() for k, v in model.params.items()}
    _, g = model.loss(X[:32], y[:32])
    model.train_step(X[:32], y[:32], 0.3)
    for k, v in model.params.items():
        np.testing.assert_allclose(v, before[k] - 0.3 * g[k], rtol=1e-12, atol=1e-15)


def test_a_user_optimizer_keeps_its_learning_rate_ratios():
    m = net()
    opt = torch.optim.SGD([{"params": m.fc1.parameters(), "lr": 0.01}, {"params": m.fc2.parameters(), "lr": 0.02}])
    model = adapt_module((m, opt))
    assert model.lr == 0.01
    model.train_step(np.zeros((2, 784), np.float32), np.array([1, 2]), 0.1)
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([0.1, 0.2])


def test_the_factory_result_is_adapted_on_load_and_follows_the_protocol(sample):
    model = load_user_model(str(EXAMPLES / "model_healthy.py"))
    assert isinstance(model, TorchModel)
    assert model.notes[0].startswith("adapted automatically") and "Net" in model.notes[0]
    assert verify_protocol(model, *[a[:8] for a in sample]) == []
    three = load_user_model(str(EXAMPLES / "model_healthy.py") + ":build_with_optimizer")
    assert isinstance(three.optimizer, torch.optim.SGD) and three.lr == 0.1


def test_the_gradient_check_of_an_adapted_module_uses_its_loss_and_names_parameters(sample):
    X, y = sample
    r = check_gradients(adapt_module(net(CutNet)), X[:8], y[:8])
    assert {t.name for t in r.failed} == {"fc1.weight", "fc1.bias"}
    mse = adapt_module((net(), None, lambda out, t: ((out - nn.functional.one_hot(t, 10)) ** 2).mean()))
    assert check_gradients(mse, X[:8], y[:8]).ok


@pytest.mark.parametrize("make, reason", [
    (lambda m: (m, torch.optim.SGD(m.fc2.parameters(), lr=0.1)), "not passed to the optimizer"),
    (lambda m: (m.fc1.requires_grad_(False), m)[1], "requires_grad=False"),
    (lambda m: net(CutNet), "cut by .detach()"),
], ids=["not-in-optimizer", "requires-grad-false", "detach-in-forward"])
def test_the_probe_names_frozen_parameters_and_why(sample, make, reason):
    X, y = sample
    res = probe_training(adapt_module(make(net())), X, y, lr=0.1, batch_size=32)
    frozen = [f for f in res.findings if f.code == "frozen-parameters"]
    assert len(frozen) == 1 and frozen[0].where == "fc1.weight, fc1.bias"
    assert reason in frozen[0].message
    assert not [f for f in res.findings if f.code != "frozen-parameters"]


@pytest.mark.parametrize("make", [
    lambda m: m,
    lambda m: (m, torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)),
    lambda m: (m, torch.optim.Adam(m.parameters(), lr=1e-3)),
], ids=["sgd", "momentum", "adam"])
def test_the_probe_stays_quiet_on_healthy_optimizers(sample, make):
    X, y = sample
    res = probe_training(adapt_module(make(net())), X, y, lr=0.1, batch_size=32)
    assert res.findings == [] and res.restored


def test_dropout_masks_agree_between_loss_and_train_step(sample):
    X, y = sample
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(784, 32), nn.ReLU(), nn.Dropout(0.5), nn.Linear(32, 10))
    state = torch.random.get_rng_state()
    res = probe_training(adapt_module(m), X, y, lr=0.1, batch_size=32)
    assert res.findings == []
    assert torch.equal(torch.random.get_rng_state(), state)


@pytest.mark.parametrize("cls, loss, expected", [
    (Net, None, None),
    (SoftmaxNet, None, "error"),
    (SoftmaxNet, nn.NLLLoss(), None),  # probabilities into NLL is another bug, not this one
    (LogSoftmaxNet, nn.CrossEntropyLoss(), "info"),
], ids=["logits", "softmax-into-ce", "softmax-into-nll", "log-softmax-into-ce"])
def test_double_softmax_is_judged_by_the_values_reaching_the_loss(sample, cls, loss, expected):
    X, y = sample
    model = adapt_module((net(cls), None, loss)) if loss is not None else adapt_module(net(cls))
    found = model.__netdoctor_findings__(X[:8], y[:8])
    assert [f.severity.value for f in found] == ([expected] if expected else [])
    if expected:
        assert found[0].code == "double-softmax" and f"{cls.__name__}.forward" in found[0].where


def test_a_sigmoid_into_bce_with_logits_is_a_double_sigmoid():
    class Sig(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 3)

        def forward(self, x):
            return torch.sigmoid(self.fc(x))

    torch.manual_seed(0)
    model = adapt_module((Sig(), None, nn.BCEWithLogitsLoss()))
    found = model.__netdoctor_findings__(np.random.default_rng(0).random((8, 4)), np.zeros((8, 3)))
    assert [f.code for f in found] == ["double-softmax"] and "sigmoid" in found[0].message


def test_diagnose_a_healthy_module_finds_no_error_and_a_double_softmax_finds_it(sample):
    X, y = sample
    kw = dict(epochs=1, lr=0.1, batch_size=32, experiments=False)
    healthy = diagnose(adapt_module(net()), X, y, **kw)
    assert not [f for f in healthy.findings if f.severity.value == "error"], healthy.findings
    buggy = diagnose(adapt_module(net(SoftmaxNet)), X, y, **kw)
    assert buggy.findings[0].code == "double-softmax"


def test_bad_modules_are_refused_in_one_line():
    with pytest.raises(InvalidArgument, match="float16"):
        adapt_module(net().half())
    with pytest.raises(InvalidArgument, match="optimizer"):
        adapt_module((net(), "sgd"))


def _cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "netdoctor.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          env=dict(os.environ, NO_COLOR="1", COLUMNS="100", **(env or {})), timeout=600)


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory, sample):
    X, y = sample
    path = tmp_path_factory.mktemp("torch") / "small.csv"
    rows = np.column_stack([y[:300], np.round(X[:300] * 255).astype(int)])
    np.savetxt(path, rows, fmt="%d", delimiter=",")
    return path


def test_check_model_on_the_buggy_example_names_the_frozen_layer(small_csv):
    proc = _cli("check", str(small_csv), "--model", "examples/torch/model_buggy.py:build_frozen", "--epochs", "1",
                "--quick", "--json")
    assert proc.returncode == 1, proc.stderr[-2000:]
    import json

    report = json.loads(proc.stdout)
    frozen = [f for f in report["findings"] if f["code"] == "frozen-parameters"]
    assert frozen and frozen[0]["where"] == "fc1.weight, fc1.bias"
    assert "not passed to the optimizer" in frozen[0]["message"]


def test_without_torch_the_message_says_how_to_install_it():
    code = ("import sys; sys.modules['torch'] = None\n"
            "from netdoctor.cli import main\n"
            "raise SystemExit(main(['check', '--model', 'examples/torch/model_healthy.py']))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "pip install 'netdoctor[torch]'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_netdoctor_itself_never_imports_torch():
    code = ("import sys, numpy as np, netdoctor\n"
            "from netdoctor.gradients import gradcheck\n"
            "from netdoctor.adapters.usermodel import load_user_model\n"
            "gradcheck(lambda x: float((x ** 2).sum()), np.ones(3), lambda x: 2 * x)\n"
            "assert 'torch' not in sys.modules, 'torch was imported'")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
