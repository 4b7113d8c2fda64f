"""The NumPy observer's role tests on arrays (netdoctor/observe/numpy/roles.py)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from netdoctor.observe.numpy.arrays import chain_beside_biases, head
from netdoctor.observe.numpy.classify import weights_layout
from netdoctor.observe.numpy.roles import (
    code_like,
    computed_by_layer,
    distinct_values,
    is_reset,
    layer_sums,
    one_top,
    ordered_by_sample,
    ordered_like,
    proportional_to,
    rises_with,
)


@pytest.mark.parametrize("rows, coded", [
    (np.eye(4)[[2, 0, 3]], True),  # one-hot
    (np.eye(4)[[1, 1]] * 0.95 + 0.005, True),  # 0.005/0.955 codes
    (np.where(np.eye(3)[[0, 2]] > 0, 1.0, -1.0), True),  # +-1 codes
    (np.zeros((5, 4)), False),  # the delta of dead units: no class
    (np.array([[0.0, 0.0, -0.3, 0.0]]), False),  # the largest value shared by three entries
    (np.array([[0.2, 0.2, 0.1]]), False),  # a tie at the top
])
def test_one_top_tells_target_codes_from_deltas_with_few_values(rows, coded):
    assert one_top(rows) is coded


def _code_like_by_sorting(rows):
    """The oracle: what code_like says, written the slow way (every distinct value sorted out, NaN for the top)."""
    values = np.unique(rows)
    if not 2 <= len(values) <= 3:
        return False
    top = rows.max(axis=1, keepdims=True)
    if not np.all((rows == top).sum(axis=1) == 1):
        return False
    if rows.shape[1] == 1:
        return True
    off = np.where(rows == top, np.nan, rows)
    return bool(np.all(np.nanmax(off, axis=1) == np.nanmin(off, axis=1)))


def _coded_rows(rng, n, c, values):
    rows = np.full((n, c), values[0])
    rows[np.arange(n), rng.integers(0, c, n)] = values[-1]
    return rows


@pytest.mark.parametrize("seed", range(8))
def test_code_like_and_distinct_values_agree_with_sorting_every_value(seed):
    """Counting values against the first 256 (no sort of the whole batch) and the per-row tests laid out by columns
    decide as np.unique and a NaN mask do: codes, codes with one entry spoiled past the first 256, ties, NaN, inf, a
    batch of probabilities, a single class, strided views."""
    rng = np.random.default_rng(seed)
    pool = np.array([0.0, 1.0, -1.0, 0.01, 0.99, np.nan, np.inf, 0.5])
    for _ in range(300):
        n, c = int(rng.integers(1, 700)), int(rng.integers(1, 7))
        values = rng.choice(pool, size=int(rng.integers(1, 4)), replace=False)
        kind = rng.integers(0, 4)
        if kind == 0:
            rows = rng.choice(values, size=(n, c))
        elif kind == 1:
            rows = _coded_rows(rng, n, c, values)
            rows.flat[rng.integers(0, rows.size)] = rng.choice(pool)  # often past the first 256 entries
        elif kind == 2:
            rows = _coded_rows(rng, c, n, values).T  # a batch of columns, read as rows: a strided view
        else:
            rows = rng.random((n, c))
            rows /= rows.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # (nanmax of an all-NaN row)
            expected = _code_like_by_sorting(rows)
        assert code_like(rows) is expected
        unique = len(np.unique(rows))
        assert distinct_values(rows, 3) == unique if unique <= 3 else distinct_values(rows, 3) > 3
        assert distinct_values(rows, rows.size) == unique


def test_head_reads_the_first_entries_of_a_strided_view_without_copying_it():
    data = np.arange(12.0).reshape(3, 4)
    for a in (data, data.T, data[:, 1:], data[::2]):
        assert np.array_equal(head(a, 5), a.reshape(-1)[:5])
    assert np.shares_memory(head(data, 5), data)  # a contiguous array: its own entries, no copy


# -- steps of an update rule (proportional_to), resets (is_reset), softmax caches (ordered_by_sample) ---------------
def _entries(rng, n=64):
    return rng.normal(0, 1, n)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("lr", [1e-4, 0.05, 1.25])
def test_a_step_of_sgd_is_found_proportional_to_the_gradient_it_read(dtype, lr):
    rng = np.random.default_rng(0)
    W = (rng.normal(0, 1, (30, 20)) * 3).astype(dtype)
    g = rng.normal(0, 1, (30, 20)).astype(dtype)
    other = rng.normal(0, 1, (30, 20)).astype(dtype)
    idx = np.sort(rng.choice(W.size, 64, replace=False))
    old = np.take(W, idx).astype(float)
    W -= dtype(lr) * g  # the program's own rounding, in its own precision
    new = np.take(W, idx).astype(float)
    cands = [np.take(other, idx).astype(float), np.take(g, idx).astype(float)]
    hit = proportional_to(old, new, cands, float(np.finfo(dtype).eps))
    assert hit is not None and hit[0] == 1
    # the factor is the step's: minus the learning rate (to the rounding of a step 1e-4 of the weights in float32)
    assert hit[1] == pytest.approx(-lr, rel=1e-9 if dtype is np.float64 else 1e-2)


def test_a_momentum_step_reads_the_velocity_not_the_gradient():
    rng = np.random.default_rng(1)
    p, v, g = _entries(rng), _entries(rng) * 0.01, _entries(rng)
    v_new = 0.9 * v - 0.1 * g
    hit = proportional_to(p, p + v_new, [g, v_new], 2.2e-16)
    assert hit is not None and hit[0] == 1 and hit[1] == pytest.approx(1.0)  # p += v
    assert proportional_to(p, p + v_new, [g, v], 2.2e-16) is None  # neither the gradient nor the old velocity


@pytest.mark.parametrize("change", ["rescale", "reset", "unrelated", "two_steps"])
def test_changes_that_are_no_step_of_an_update_rule(change):
    rng = np.random.default_rng(2)
    old, g, g2 = _entries(rng), _entries(rng), _entries(rng)
    new = {"rescale": 30 * old,  # W *= 30 before training: a multiple of itself
           "reset": np.zeros_like(old),  # g[...] = 0: a multiple of itself too
           "unrelated": _entries(rng),  # a cache rewritten by the next batch
           "two_steps": old - 0.1 * g - 0.1 * g2}[change]  # two updates between looks: no single array read
    assert proportional_to(old, new, [g, g2, old.copy()], 2.2e-16) is None


def test_a_proportion_needs_three_nonzero_entries():
    old = np.ones(64)
    g = np.zeros(64)
    g[[3, 9]] = [1.0, -2.0]
    assert proportional_to(old, old - 0.1 * g, [g], 2.2e-16) is None
    g[20] = 0.5
    assert proportional_to(old, old - 0.1 * g, [g], 2.2e-16) == (0, pytest.approx(-0.1))


def test_a_reset_is_a_change_to_zeros_from_values():
    assert is_reset(np.array([0.0, 2.0, -1.0]), np.zeros(3))
    assert not is_reset(np.zeros(3), np.zeros(3))  # a buffer that stayed empty
    assert not is_reset(np.zeros(3), np.array([0.0, 0.1, 0.0]))  # a zero-initialised bias after its first step


def test_a_softmax_is_ordered_like_its_logits_sample_by_sample_and_a_delta_is_not():
    rng = np.random.default_rng(3)
    z = rng.normal(0, 2, (16, 10))
    e = np.exp(z - z.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    assert ordered_by_sample(z, p)  # batch first
    assert ordered_by_sample(z.T, p.T)  # batch last (columns)
    assert not ordered_like(z, p)  # across samples a softmax is not one elementwise function of its logits
    t = np.eye(10)[rng.integers(0, 10, 16)]
    assert not ordered_by_sample(z, p - t)  # the output's delta breaks the order at the target's entry


# -- activations computed before the weights moved (rises_with) ---------------------------------------------------
def _layer(rng, scale, n=32, n_in=784, width=48):
    """A batch of MNIST-like inputs (columns, most pixels 0) through W ~ N(0, scale²), its pre-activation."""
    x = rng.random((n_in, n)) * (rng.random((n_in, n)) < 0.2)
    W = rng.normal(0.0, scale, (width, n_in))
    return x, W, W @ x


def _stepped(rng, x, W, lr):
    """The weights after one step of a real backward pass through tanh (cross-entropy on a softmax head)."""
    h = np.tanh(W @ x)
    W2 = rng.normal(0.0, 1 / np.sqrt(W.shape[0]), (10, W.shape[0]))
    z2 = W2 @ h
    e = np.exp(z2 - z2.max(axis=0))
    t = np.eye(10)[:, rng.integers(0, 10, x.shape[1])]
    d2 = (e / e.sum(axis=0) - t) / x.shape[1]
    dz1 = (W2.T @ d2) * (1 - h ** 2)
    return W - lr * dz1 @ x.T, dz1, W2.T @ d2


@pytest.mark.parametrize("scale, lr", [(1.0, 0.2), (1.0, 1.25), (1 / np.sqrt(784), 0.5)])
@pytest.mark.parametrize("f", [np.tanh, lambda z: 1 / (1 + np.exp(-z)), lambda z: np.maximum(z, 0)], ids=["tanh", "sigmoid", "relu"])
def test_an_activation_of_weights_one_step_old_rises_with_the_new_pre_activation_and_a_delta_does_not(scale, lr, f):
    rng = np.random.default_rng(3)
    x, W, pre = _layer(rng, scale)
    a = f(pre)  # the forward pass, then an update applied before the output is looked at
    W_new, dz, dh = _stepped(rng, x, W, lr)
    p = W_new @ x
    assert not ordered_like(p, a)  # the step broke the exact order (entries within float noise of ±1, or near 0)
    assert rises_with(p.ravel(), a.ravel())
    for delta in (dz, dh, dh * (pre > 0), rng.normal(size=a.shape)):
        assert not rises_with(p.ravel(), delta.ravel())


@pytest.mark.parametrize("width", [24, 48])
def test_one_sample_of_a_saturated_layer_rises_with_its_pre_activation(width):
    rng = np.random.default_rng(4)
    x, W, pre = _layer(rng, 1.0, n=1, width=width)
    a = np.tanh(pre)
    p = (W + rng.normal(0, 0.01, W.shape)) @ x
    assert rises_with(p.ravel(), a.ravel())
    misses = sum(rises_with(p.ravel(), rng.normal(size=width)) for _ in range(200))
    assert misses <= 2  # a delta of one sample: at most 1% by chance


def test_a_constant_or_too_short_array_does_not_rise():
    assert not rises_with(np.arange(8.0), np.ones(8))
    assert not rises_with(np.arange(6.0), np.arange(6.0))


# -- the layer sums a cache is compared with (layer_sums): only products of the cache's size, each once -----------------
def _two_layers(rng):
    W1, b1 = rng.normal(size=(6, 20)), rng.normal(size=(6, 1))
    W2, b2 = rng.normal(size=(3, 6)), rng.normal(size=(3, 1))
    x = rng.random((20, 50))  # 50 columns
    z1 = W1 @ x + b1
    return [W1, W2], [b1, b2], x, z1, W2 @ np.tanh(z1) + b2


def test_layer_sums_computes_only_the_products_of_the_size_asked_and_each_once():
    rng = np.random.default_rng(4)
    weights, biases, x, z1, z2 = _two_layers(rng)
    inputs = [x, np.tanh(z1)]
    products: dict = {}
    sums = list(layer_sums(weights, inputs, biases, z2.size, products=products))
    # W2 @ tanh(z1) alone has z2's 150 entries; W1 @ x (300) is never computed, W1 @ tanh(z1) and W2 @ x do not fit
    assert [k[:2] for k in products] == [(id(weights[1]), id(inputs[1]))]
    assert any(with_b and np.allclose(s, z2) for s, with_b in sums)
    # the memo gives the same sums, without computing them again, and the same answers as without one
    kept = dict(products)
    again = list(layer_sums(weights, inputs, biases, z2.size, products=products))
    assert all(products[k] is kept[k] for k in kept) and len(again) == len(sums)
    assert all(np.array_equal(a, b) and fa == fb for (a, fa), (b, fb) in zip(again, sums))
    plain = list(layer_sums(weights, inputs, biases, z2.size))
    assert all(np.array_equal(a, b) and fa == fb for (a, fa), (b, fb) in zip(plain, sums))
    assert computed_by_layer(np.tanh(z1), weights, biases, [x], products) and not computed_by_layer(
        rng.normal(size=z1.shape), weights, biases, [x], products)


def test_a_layer_output_of_few_entries_is_told_by_its_values_not_its_order():
    """Under 5 entries an ordering holds by chance (4 entries: 1 in 24), so a one-sample output layer of 2-4 units is
    a layer's output only when it is exactly ``g(x @ W + b)`` (identity, ReLU, tanh, sigmoid); a delta ``p - onehot``
    ordered like its sum is not."""
    x = np.array([0.5, -1.0, 2.0])
    W = np.array([[1.0, -2.0, 0.5, 0.0], [0.25, 1.0, -1.0, 3.0], [-0.5, 0.0, 1.5, 1.0]])
    b = np.array([0.1, -0.2, 0.3, 0.0])
    z = np.array([0.5 * 1.0 - 0.25 - 1.0 + 0.1, -1.0 - 1.0 + 0.0 - 0.2, 0.25 + 1.0 + 3.0 + 0.3, 0.0 - 3.0 + 2.0])
    assert np.allclose(x @ W + b, z)
    for out in (z, np.maximum(z, 0), np.tanh(z), 1 / (1 + np.exp(-z))):
        assert computed_by_layer(out, [W], [b], [x])
    ordered = z + 0.01 * np.arange(4)  # ordered like z, not z
    assert ordered_like(z, ordered) and not computed_by_layer(ordered, [W], [b], [x])
    p = np.exp(z) / np.exp(z).sum()
    delta = p.copy()
    delta[1] -= 1.0  # the smallest entry's class: the delta keeps z's order
    assert ordered_like(z, delta) and not computed_by_layer(delta, [W], [b], [x])


# -- how the weights are stored (classify.weights_layout) and the transposed products it allows ----------------------
def test_the_weights_layout_is_read_from_the_chain_of_stepped_matrices_from_the_input_width():
    rng = np.random.default_rng(5)
    x = rng.random((25, 784))  # a batch of rows
    out_in = [rng.random((24, 784)), rng.random((10, 24))]
    in_out = [rng.random((784, 24)), rng.random((24, 10))]
    assert weights_layout(out_in, [x]) == "columns"
    assert weights_layout(in_out, [x]) == "rows"
    # a gradient of a weight's shape and a data set among the matrices change nothing
    assert weights_layout([rng.random((550, 784)), *out_in, out_in[0].copy()], [x]) == "columns"
    # a layer's backward handed its output-wide delta (dvalues (32, 10), weights (in, out)): the chain back from the
    # output reads (out, in) for one matrix only, which tells nothing
    assert weights_layout(in_out, [rng.random((32, 10))]) is None
    # kept (in, out) but listed from the output end: read as columns from 10, never from the data's 784
    assert weights_layout(in_out[::-1], [x]) is None
    assert weights_layout(out_in[:1], [x]) is None  # one matrix: either way
    assert weights_layout([], [x]) is None


def test_the_transposed_product_is_tried_only_in_the_weights_layout():
    rng = np.random.default_rng(6)
    W1, W2 = rng.normal(size=(16, 20)), rng.normal(size=(4, 16))  # kept (out, in)
    x = rng.normal(size=(25, 20))
    z1 = x @ W1.T
    assert computed_by_layer(np.tanh(z1), [W1, W2], [], [x], layout="columns")
    assert not computed_by_layer(np.tanh(z1), [W1, W2], [], [x])
    assert not computed_by_layer(np.tanh(z1), [W1, W2], [], [x], layout="rows")
    # kept (in, out): the backward's delta for the layer below, d @ W.T, is no layer's output in that layout
    V1, V2 = rng.normal(size=(20, 16)), rng.normal(size=(16, 4))
    d2 = rng.normal(size=(25, 4))
    assert not computed_by_layer(d2 @ V2.T, [V1, V2], [], [d2], layout="rows")
    assert computed_by_layer(d2 @ V2.T, [V1, V2], [], [d2], layout="columns")  # (what trying it everywhere took)
    # and a batch of columns through (in, out) weights, W.T @ x, is one
    xc = rng.normal(size=(20, 25))
    assert computed_by_layer(np.maximum(V1.T @ xc, 0.0) + 1.0, [V1, V2], [], [xc], layout="rows")


def test_a_step_of_weight_decay_alone_is_a_step():
    """``p -= lr * (0 + wd * p)``: a network whose loss gradient is 0 (one output unit under a softmax) still steps its
    weights by the decay its gradient function returns; the change is a multiple of the weights and of the returned
    array, a share of 1e-5 taken away, no rescale. A small rescale that reads nothing stays none."""
    rng = np.random.default_rng(7)
    old = _entries(rng)
    g = 5e-4 * old  # the returned gradient: the decay alone
    assert proportional_to(old, old - 0.025 * g, [_entries(rng), g], 2.2e-16) == (1, pytest.approx(-0.025))
    assert proportional_to(old, 0.999 * old, [_entries(rng)], 2.2e-16) is None


@pytest.mark.parametrize("shapes, layout, apart", [
    ([(48, 784), (48, 1), (1, 48), (1, 1)], ("columns", [784, 48, 1]), {1, 3}),
    ([(784, 32), (1, 32), (32, 16), (1, 16), (16, 1), (1, 1)], ("rows", [784, 32, 16, 1]), {1, 3, 5}),
    ([(20, 10), (20, 1), (3, 20), (3, 1)], None, None),  # no one-unit layer: layer_chain's business
    ([(48, 784), (1, 30)], None, None),  # a row that chains with nothing and is no bias of the matrix before it
])
def test_a_one_unit_layer_chains_beside_its_biases(shapes, layout, apart):
    """A one-unit output layer is a row (columns: (1, 48)) or a column (rows: (16, 1)), as its bias and the hidden
    layers' biases are: the matrices chain once each bias of the matrix before it is set aside."""
    assert chain_beside_biases(shapes) == (None if layout is None else (layout, apart))


@pytest.mark.parametrize("make", [
    lambda rng: rng.normal(size=37),  # the sampled entries the judge compares: flat, contiguous float64
    lambda rng: rng.normal(size=37) * 1e200,  # their squares overflow: inf either way
    lambda rng: np.array([1.0, np.nan, 2.0]),
    lambda rng: np.array([np.inf, 1.0, -np.inf]),
    lambda rng: np.zeros(5),
    lambda rng: rng.normal(size=40)[::3],  # not contiguous
    lambda rng: rng.normal(size=37).astype(np.float32),  # another precision
    lambda rng: rng.normal(size=(4, 9)),  # two axes
], ids=["flat", "overflow", "nan", "inf", "zeros", "strided", "float32", "matrix"])
def test_norm_and_row_norms_are_numpys_norms_bit_for_bit(make):
    from netdoctor.observe.numpy.roles import norm, row_norms

    x = make(np.random.default_rng(3))
    with np.errstate(all="ignore"):
        want = float(np.linalg.norm(x))
        got = norm(x)
        assert type(got) is float
        assert np.array_equal(np.float64(got), np.float64(want), equal_nan=True)
        rows = np.atleast_2d(x) if x.ndim == 1 else x
        for M in (rows, np.vstack([rows, rows[:, ::-1]])):
            r, w = row_norms(M), np.linalg.norm(M, axis=1)
            assert r.dtype == w.dtype and r.tobytes() == w.tobytes()
