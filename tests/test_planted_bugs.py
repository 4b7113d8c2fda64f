"""No misses: every planted backprop bug is caught and pinned to the tensors it corrupts."""

import numpy as np
import pytest
from planted_bugs import BUGS, make, make_data

from netdoctor import MLP
from netdoctor.errors import GradientMismatch
from netdoctor.gradients import check_gradients

CASES = [(style, bug) for bug in BUGS for style in ("row", "column")]
ALL = {"row": {"W1", "b1", "W2", "b2", "W3", "b3"}, "column": {"w0", "b0", "w1", "b1", "w2", "b2"}}


def test_at_least_ten_kinds_in_two_styles():
    assert len(BUGS) >= 10
    assert all(set(styles) == {"row", "column"} for _, styles in BUGS.values())


@pytest.mark.parametrize("style", ["row", "column"])
@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
@pytest.mark.parametrize("method", ["central", "directional", "complex"])
def test_healthy_versions_pass(style, loss, method):
    X, y = make_data()
    result = check_gradients(make(style, loss=loss), X, y, method=method, max_coords=None)
    assert result.ok, result.summary()
    assert result.findings == []


@pytest.mark.parametrize("style,bug", CASES, ids=[f"{s}-{b}" for s, b in CASES])
def test_central_check_catches_and_localises(style, bug):
    X, y = make_data()
    expected = BUGS[bug][1][style]
    result = check_gradients(make(style, bug), X, y, method="central", max_coords=None)
    failing = {t.name for t in result.failed}
    assert failing == expected, result.summary()
    # The findings point at the planted tensors: "W2[3, 1]" or "W2".
    wheres = {f.where.split("[")[0] for f in result.findings}
    assert wheres == expected
    assert all(f.code == "gradient-mismatch" and f.severity.value == "error" for f in result.findings)
    assert all(f.evidence["tensor"] in expected for f in result.findings)
    with pytest.raises(GradientMismatch, match="gradient of "):
        result.raise_for_failures()


@pytest.mark.parametrize("style,bug", CASES, ids=[f"{s}-{b}" for s, b in CASES])
def test_directional_check_catches_every_bug(style, bug):
    X, y = make_data()
    result = check_gradients(make(style, bug), X, y, method="directional")
    assert not result.ok
    # Localisation (sampled per-entry pass) finds the same tensors.
    assert {t.name for t in result.failed} == BUGS[bug][1][style]


@pytest.mark.parametrize(
    "style,bug,pattern",
    [
        ("row", "sign_error", "-1x numerical"),
        ("column", "sign_error", "-1x numerical"),
        ("row", "lost_factor_two", "0.5x numerical"),
        ("row", "batch_sum_not_mean", "7x numerical in every checked entry of b3: the batch size"),
        ("column", "batch_sum_not_mean", "batch size"),
        ("row", "missing_transpose", "transposed"),
        ("row", "gradient_reused", "identical to the one for b2"),
        ("column", "returned_buffer_overwritten", "identical to the one for w0"),
        ("row", "missing_bias_gradient", "analytic is exactly 0"),
        ("row", "missing_l2_term", "weight-decay"),
        ("column", "accumulating_buffers", "shared template"),
        ("row", "bias_wrong_axis_or_sample", "axis=0"),
    ],
)
def test_hints_name_the_bug(style, bug, pattern):
    X, y = make_data()
    result = check_gradients(make(style, bug), X, y, method="central", max_coords=None)
    hints = [t.hint or "" for t in result.failed]
    assert any(pattern in h for h in hints), hints


def test_failing_layers_are_listed_from_the_output_backwards():
    X, y = make_data()
    result = check_gradients(make("row", "tanh_derivative_is_tanh"), X, y, method="central", max_coords=None)
    assert "from the output backwards: W2, b2, W1, b1" in result.findings[0].explanation


class BrokenMLP(MLP):
    """The reference MLP with a hand-edited backward: dW1 twice too large."""

    def backward(self, dout, cache):
        grads = super().backward(dout, cache)
        grads["W1"] = grads["W1"] * 2.0
        return grads


@pytest.mark.parametrize("method", ["central", "complex", "auto"])
def test_batched_mlp_path_catches_a_planted_bug(method):
    rng = np.random.default_rng(3)
    model = BrokenMLP((6, 5, 4), activation="tanh", seed=1)
    X, y = rng.random((9, 6)), rng.integers(0, 4, 9)
    result = check_gradients(model, X, y, method=method, max_coords=None)
    assert result.context.get("path") == "batched reference MLP"
    assert [t.name for t in result.failed] == ["W1"]
    assert "2x numerical" in result.failed[0].hint
