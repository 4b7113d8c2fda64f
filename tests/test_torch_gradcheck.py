"""Gradient checks of PyTorch code: functions, modules and custom autograd Functions.

Oracles: closed-form derivatives, float64 central differences computed here one
entry at a time (no vmap, no output-change shortcut), and planted bugs in
custom ``autograd.Function`` backward passes that must be named by tensor and
coordinate with the right hint.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

from netdoctor import check_gradients, gradcheck  # noqa: E402
from netdoctor.errors import GradientMismatch, InvalidArgument, UserCodeError  # noqa: E402
from netdoctor.testing import assert_gradients_match, assert_model_gradients  # noqa: E402


def fd64(fn, tensors, h=1e-6):
    """Float64 central differences of a scalar ``fn()`` w.r.t. every entry of ``tensors`` (perturbed in place)."""
    out = []
    with torch.no_grad():
        for t in tensors:
            g = torch.zeros_like(t, dtype=torch.float64)
            flat, gflat = t.view(-1), g.view(-1)
            for i in range(flat.numel()):
                old = flat[i].item()
                flat[i] = old + h
                fp = float(fn())
                flat[i] = old - h
                fm = float(fn())
                flat[i] = old
                gflat[i] = (fp - fm) / (2 * h)
            out.append(g)
    return out


# -- custom Functions with planted bugs -----------------------------------------------------------
def linear_function(scale_x=1.0, scale_w=1.0, transpose_w=False, drop_b=False):
    """``y = x W^T + b`` as an old-style Function whose backward can carry a planted bug."""

    class Linear(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, W, b):
            ctx.save_for_backward(x, W)
            return x @ W.t() + b

        @staticmethod
        def backward(ctx, g):
            x, W = ctx.saved_tensors
            dW = g.t() @ x
            return scale_x * (g @ W), scale_w * (dW.t() if transpose_w else dW), (0 * g.sum(0) if drop_b else g.sum(0))

    return Linear


def inputs(n=4, d=3, k=3, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g, dtype=dtype, requires_grad=True)
    W = torch.randn(k, d, generator=g, dtype=dtype, requires_grad=True)
    b = torch.randn(k, generator=g, dtype=dtype, requires_grad=True)
    return x, W, b


def test_a_correct_function_passes_and_matches_closed_forms():
    x = torch.tensor([[0.3, -1.2], [2.0, 0.5]], dtype=torch.float64)
    r = gradcheck(lambda x: (x ** 3).sum() + torch.sin(x).prod(), x)
    assert r.ok and r.n_checked == 4
    # the numbers the check compared are the derivative: 3 x^2 + cos(x_i) prod_{j != i} sin(x_j)
    s = np.sin(x.numpy())
    closed = 3 * x.numpy() ** 2 + np.cos(x.numpy()) * s.prod() / s
    for c in r.tensors[0].worst:
        assert c.numeric == pytest.approx(closed[c.index], rel=1e-8)
        assert c.analytic == pytest.approx(closed[c.index], rel=1e-12)


@pytest.mark.parametrize("bug, tensor, hint", [
    (dict(scale_w=2.0), "x[1]", "2x numerical"),
    (dict(scale_x=-1.0), "x[0]", "sign error"),
    (dict(transpose_w=True), "x[1]", "missing .T"),
    (dict(drop_b=True), "x[2]", "term is missing"),
], ids=["factor-2-in-dW", "sign-of-dx", "transposed-dW", "dropped-bias-term"])
def test_a_planted_bug_in_a_function_backward_is_named_by_tensor_coordinate_and_hint(bug, tensor, hint):
    x, W, b = inputs()  # W is 3x3: a transposed dW keeps its shape
    r = gradcheck(linear_function(**bug), (x, W, b))
    assert not r.ok
    assert [t.name for t in r.failed] == [tensor]
    bad = r.failed[0]
    assert hint in bad.hint
    assert any("sum(r * out)" in n for n in r.notes)  # the (4, 3) output was projected to a scalar
    findings = r.findings
    assert findings[0].code == "gradient-mismatch" and findings[0].where.startswith(f"{tensor}[")


def test_the_numeric_side_is_the_true_derivative_where_the_backward_is_twice_it():
    """Oracle: the planted bug doubles dW exactly, so every numeric value is half the analytic one."""
    x, W, b = inputs(seed=3)
    r = gradcheck(linear_function(scale_w=2.0), (x, W, b), max_coords=None)
    bad = r.failed[0]
    assert bad.name == "x[1]" and bad.n_failed == bad.n_checked == 9
    for c in bad.worst:
        assert c.numeric == pytest.approx(c.analytic / 2, rel=1e-7)


def test_a_transposed_gradient_of_a_non_square_tensor_is_a_shape_problem():
    x, W, b = inputs(k=2)  # W is 2x3: the transposed dW has shape (3, 2)
    r = gradcheck(linear_function(transpose_w=True), (x, W, b))
    assert [t.name for t in r.failed] == ["x[1]"]
    assert "transpose" in r.failed[0].problem and "missing .T" in r.failed[0].problem
    assert {t.name for t in r.tensors if t.ok} == {"x[0]", "x[2]"}


def test_inputs_that_do_not_require_grad_are_held_constant_when_others_do():
    x, W, b = inputs()
    x.requires_grad_(False)
    r = gradcheck(linear_function(scale_x=3.0), (x, W, b))
    assert r.ok and [t.name for t in r.tensors] == ["x[1]", "x[2]"]
    assert any("held constant" in n and "x[0]" in n for n in r.notes)


# -- modules -------------------------------------------------------------------------------------
class MLP(nn.Module):
    def __init__(self, d=12, h=7, c=4, act=torch.tanh):
        super().__init__()
        self.fc1, self.fc2, self.act = nn.Linear(d, h), nn.Linear(h, c), act

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


def data(n=6, d=12, c=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, d)).astype(np.float32), rng.integers(0, c, n)


def test_a_float32_module_is_checked_in_float64_without_false_alarms_and_left_untouched():
    torch.manual_seed(0)
    m = MLP()
    X, y = data()
    before = {k: v.clone() for k, v in m.state_dict().items()}
    rng_before = torch.random.get_rng_state()
    r = check_gradients(m, X, y, max_coords=None)
    assert r.ok, r.summary()
    assert [t.name for t in r.tensors] == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert r.n_checked == 12 * 7 + 7 + 7 * 4 + 4
    assert any("copied to float64" in n for n in r.notes)
    assert all(torch.equal(before[k], v) for k, v in m.state_dict().items())
    assert next(m.parameters()).dtype == torch.float32
    assert torch.equal(torch.random.get_rng_state(), rng_before)


def test_module_numbers_agree_with_a_float64_oracle_entry_by_entry():
    torch.manual_seed(1)
    m = MLP().double()
    X, y = data(seed=1)
    Xt, yt = torch.from_numpy(X.astype(np.float64)), torch.from_numpy(y)
    r = check_gradients(m, X, y, max_coords=None)
    oracle = dict(zip([n for n, _ in m.named_parameters()],
                      fd64(lambda: F.cross_entropy(m(Xt), yt), [p for _, p in m.named_parameters()])))
    assert r.context["linear_shortcut"] == ["fc1", "fc2"]  # the output-change path was the one measured
    for t in r.tensors:
        for c in t.worst:
            assert c.numeric == pytest.approx(float(oracle[t.name][c.index]), rel=1e-6, abs=1e-9)


def test_a_detach_in_forward_is_named_with_the_cut_off_hint():
    class Cut(MLP):
        def forward(self, x):
            return self.fc2(self.act(self.fc1(x)).detach())

    torch.manual_seed(0)
    r = check_gradients(Cut(), *data())
    assert {t.name for t in r.failed} == {"fc1.weight", "fc1.bias"}
    assert all("cut off from the loss" in t.hint for t in r.failed)


def test_relu_kinks_are_skipped_not_failed():
    # Inputs exactly 0 and 1e-9 away from it: the step straddles relu's kink.
    x = torch.tensor([-1.0, 0.0, 1e-9, -1e-9, 2.0], dtype=torch.float64)
    r = gradcheck(torch.relu, x, max_coords=None)
    assert r.ok
    assert r.tensors[0].n_skipped >= 2 and "kink" in r.tensors[0].skip_reasons[0]
    torch.manual_seed(0)
    relu_net = MLP(act=torch.relu)
    assert check_gradients(relu_net, *data(), max_coords=None).ok


def test_code_that_stays_in_float32_is_checked_in_float32_without_false_alarms():
    class Stubborn(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(12, 4)

        def forward(self, x):
            return self.fc(x.float()) if self.fc.weight.dtype == torch.float32 else self.fc.float()(x.float())

    torch.manual_seed(0)
    r = check_gradients(Stubborn(), *data(), max_coords=None)
    assert r.ok, r.summary()
    assert r.context["dtype"] == "float32"
    assert any("checked in float32" in n for n in r.notes)


def test_tied_weights_do_not_take_the_output_change_shortcut():
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Linear(6, 6)

        def forward(self, x):
            return self.enc(torch.tanh(self.enc(x))) + x @ self.enc.weight  # weight used three times

    torch.manual_seed(0)
    X = np.random.default_rng(0).random((5, 6))
    r = check_gradients(Tied(), X, np.arange(5) % 6, max_coords=None)
    assert r.ok and r.context["linear_shortcut"] == []


def test_batch_norm_in_train_mode_falls_back_to_one_perturbation_at_a_time():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(12, 5), nn.BatchNorm1d(5), nn.Tanh(), nn.Linear(5, 4))
    r = check_gradients(m, *data(n=8), max_coords=8)
    assert r.ok, r.summary()
    assert len(r.tensors) == 6 and r.context["path"] == "torch (one perturbation at a time)"
    assert any("could not batch" in n and "running_mean" in n for n in r.notes)


def test_an_old_style_function_inside_a_module_is_checked_by_the_loop():
    Lin = linear_function(scale_w=2.0)

    class WithFunction(nn.Module):
        def __init__(self):
            super().__init__()
            self.W = nn.Parameter(torch.randn(4, 12))
            self.b = nn.Parameter(torch.zeros(4))

        def forward(self, x):
            return Lin.apply(x, self.W, self.b)

    torch.manual_seed(0)
    r = check_gradients(WithFunction(), *data(), max_coords=30)
    assert [t.name for t in r.failed] == ["W"]
    assert "2x numerical" in r.failed[0].hint


def test_a_module_as_a_function_checks_parameters_and_inputs():
    torch.manual_seed(0)
    m = MLP()
    x = torch.randn(3, 12, requires_grad=True)
    r = gradcheck(m, x)
    assert r.ok and [t.name for t in r.tensors] == ["x", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]


# -- the pytest helpers and bad calls -------------------------------------------------------------------
def test_the_pytest_helpers_accept_torch_code():
    x, W, b = inputs()
    assert assert_gradients_match(linear_function(), (x, W, b)).ok
    with pytest.raises(GradientMismatch, match=r"gradient of x\[1\] disagrees"):
        assert_gradients_match(linear_function(scale_w=2.0), (x, W, b))
    torch.manual_seed(0)
    assert assert_model_gradients(MLP(), *data()).ok


def test_the_gradcheck_fixture_accepts_torch_code(gradcheck):
    x, W, b = inputs()
    gradcheck(linear_function(), (x, W, b))
    with pytest.raises(GradientMismatch):
        gradcheck(linear_function(scale_x=-1.0), (x, W, b))


@pytest.mark.parametrize("call, match", [
    (lambda: gradcheck(torch.sin, torch.zeros(3), lambda x: x), "grad is not used for PyTorch code"),
    (lambda: gradcheck(lambda x: x.sum(), torch.tensor([1, 2, 3])), "nothing to check"),
    (lambda: check_gradients(nn.Linear(3, 2), np.zeros((4, 3)), np.zeros(3)), "4 rows but y has 3"),
], ids=["grad-given-for-torch", "integer-input-only", "rows-and-labels-differ"])
def test_bad_calls_say_what_is_wrong(call, match):
    with pytest.raises(InvalidArgument, match=match):
        call()


def test_an_exception_in_the_users_forward_is_one_line():
    def broken(x):
        return x @ torch.zeros(7, 2, dtype=x.dtype)

    with pytest.raises(UserCodeError, match="RuntimeError"):
        gradcheck(broken, torch.zeros(3, 4, requires_grad=True))


def test_the_side_by_side_bench_runs_small_and_compares_equal_work():
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    if str(root) not in sys.path:  # bench/ is not an installed package
        sys.path.insert(0, str(root))
    from bench.bench_torch_gradcheck import run

    full, failing, float32 = run(small=True)
    assert "ours ok=True" in full["note"] and "peer ok=True" in full["note"]  # both pass the correct module
    assert failing["ours"] > 0 and "fc1" in failing["note"] and "Peer caught=True" in failing["note"]
    assert float32["ours"] is True and float32["peer"] is False  # gradcheck's false alarm on float32
