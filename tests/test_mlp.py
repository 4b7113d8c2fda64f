"""The reference MLP against independent oracles: finite differences, closed forms."""

import numpy as np
import pytest
from oracles import central_differences

from netdoctor import MLP, InvalidArgument
from netdoctor.nn.losses import expected_initial_loss

CONFIGS = [
    dict(activation="tanh", loss="cross_entropy"),
    dict(activation="sigmoid", loss="mse"),
    dict(activation="tanh", loss="mse"),
    dict(activation="relu", loss="cross_entropy", init="he"),
    dict(activation="leaky_relu", loss="mse", output_activation="identity"),
    dict(activation="identity", loss="cross_entropy"),
]


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: f"{c['activation']}-{c['loss']}")
def test_gradients_match_finite_differences(cfg):
    rng = np.random.default_rng(1)
    model = MLP((5, 4, 3, 3), seed=2, **cfg)
    X = rng.standard_normal((6, 5))
    y = rng.integers(0, 3, 6)
    _, grads = model.loss(X, y)
    num = central_differences(model, X, y)
    for k in model.params:
        assert grads[k].shape == model.params[k].shape
        np.testing.assert_allclose(grads[k], num[k], rtol=1e-5, atol=1e-8, err_msg=k)


def test_cross_entropy_initial_loss_is_log_c_for_zero_weights():
    model = MLP((4, 3, 10))
    for p in model.params.values():
        p[...] = 0
    X = np.random.default_rng(0).standard_normal((8, 4))
    loss, _ = model.loss(X, np.arange(8) % 10)
    assert np.isclose(loss, np.log(10))
    assert np.isclose(loss, expected_initial_loss("cross_entropy", 10, "softmax"))


def test_mse_tanh_targets_are_plus_minus_one():
    # Zero weights give zero outputs, so the loss is 1/2 * sum_k t_k^2 = C/2.
    model = MLP((4, 3, 5), loss="mse", activation="tanh")
    for p in model.params.values():
        p[...] = 0
    loss, _ = model.loss(np.ones((3, 4)), np.array([0, 1, 2]))
    assert np.isclose(loss, 2.5)


def test_summed_reduction_multiplies_step_by_batch_size():
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((10, 4)), rng.integers(0, 3, 10)
    mean, summed = MLP((4, 3), seed=1), MLP((4, 3), seed=1, reduce="sum")
    before = {k: v.copy() for k, v in mean.params.items()}
    mean.train_step(X, y, 0.01)
    summed.train_step(X, y, 0.01)
    for k in before:
        np.testing.assert_allclose(summed.params[k] - before[k], 10 * (mean.params[k] - before[k]), rtol=1e-10)


def test_momentum_is_heavy_ball():
    rng = np.random.default_rng(4)
    X, y = rng.standard_normal((6, 3)), rng.integers(0, 2, 6)
    m = MLP((3, 2), momentum=0.5, seed=0)
    w0 = m.params["W1"].copy()
    _, g0 = m.loss(X, y)
    m.train_step(X, y, 0.1)
    w1 = m.params["W1"].copy()
    _, g1 = m.loss(X, y)
    m.train_step(X, y, 0.1)
    v1 = -0.1 * g0["W1"]
    v2 = 0.5 * v1 - 0.1 * g1["W1"]
    np.testing.assert_allclose(w1, w0 + v1)
    np.testing.assert_allclose(m.params["W1"], w1 + v2)


def test_training_is_seeded_and_deterministic():
    rng = np.random.default_rng(5)
    X, y = rng.random((60, 6)), rng.integers(0, 3, 60)
    h1 = MLP((6, 5, 3), seed=7).fit(X, y, epochs=2, batch_size=8, seed=9)
    h2 = MLP((6, 5, 3), seed=7).fit(X, y, epochs=2, batch_size=8, seed=9)
    assert h1.epochs == h2.epochs
    state = np.random.get_state()[1].copy()
    MLP((6, 5, 3), seed=7).fit(X, y, epochs=1, batch_size=8, seed=9)
    assert np.array_equal(np.random.get_state()[1], state)


def test_float32_model_stays_float32():
    m = MLP((4, 3, 2), dtype="float32")
    X = np.random.default_rng(0).random((5, 4))
    _, g = m.loss(X, np.array([0, 1, 0, 1, 1]))
    m.train_step(X, np.array([0, 1, 0, 1, 1]), 0.1)
    assert all(v.dtype == np.float32 for v in list(g.values()) + list(m.params.values()))


def test_learns_a_separable_problem():
    rng = np.random.default_rng(6)
    X = rng.standard_normal((400, 2))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    m = MLP((2, 8, 2), seed=0)
    h = m.fit(X, y, epochs=10, lr=0.5, batch_size=16, X_test=X, y_test=y)
    assert h.test_accuracy[-1] > 0.95


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(sizes=(784,)),
        dict(sizes=(784, 0, 10)),
        dict(sizes=(4, 2), activation="swish"),
        dict(sizes=(4, 2), loss="hinge"),
        dict(sizes=(4, 2), loss="cross_entropy", output_activation="tanh"),
        dict(sizes=(4, 2), init="zeros"),
        dict(sizes=(4, 2), reduce="max"),
        dict(sizes=(4, 2), momentum=1.0),
        dict(sizes=(4, 2), dtype="int32"),
    ],
    ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items()),
)
def test_bad_arguments_raise_invalid_argument(kwargs):
    sizes = kwargs.pop("sizes")
    with pytest.raises(InvalidArgument):
        MLP(sizes, **kwargs)
