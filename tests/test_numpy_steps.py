"""The steps of an update rule told from sampled entries (netdoctor.observe.numpy.steps): the oracle is the arithmetic
that made the change, written out here."""

from __future__ import annotations

import numpy as np
import pytest

from netdoctor.observe.numpy.steps import combined_step, decayed_toward

EPS = float(np.finfo(np.float64).eps)


@pytest.fixture
def arrays():
    rng = np.random.default_rng(0)
    return rng.normal(size=40), rng.normal(size=40), rng.normal(size=40)  # old values, a gradient, another array


@pytest.mark.parametrize("mu", [0.0, 0.5, 0.9, 0.99])
def test_a_velocity_is_a_decay_toward_the_gradient_it_reads(arrays, mu):
    v, g, other = arrays
    assert decayed_toward(v, mu * v - 0.1 * g, [other, g], EPS) == 1  # v = mu * v - lr * g
    assert decayed_toward(v, mu * v + (1 - mu) * g, [g], EPS) == 0  # Adam's first moment


@pytest.mark.parametrize("new", [
    pytest.param(lambda w, g: w - 0.1 * (g + 1e-4 * w), id="weight-decay"),  # keeps 99.999% of itself
    pytest.param(lambda w, g: w - 0.1 * g, id="plain-step"),
    pytest.param(lambda w, g: 1.5 * w - 0.1 * g, id="grows"),
    pytest.param(lambda w, g: 0.9 * w - 0.1 * g ** 3, id="another-array"),
])
def test_a_parameter_stepped_or_decayed_by_a_weight_decay_is_no_velocity(arrays, new):
    w, g, _ = arrays
    assert decayed_toward(w, new(w, g), [g], EPS) is None


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("scale", [0.15, 0.54, 0.69, 0.95])
def test_an_array_scaled_as_a_whole_is_no_velocity(arrays, dtype, scale):
    """``grads = [g * (max_norm / norm) for g in grads]`` (a clip that makes a new list under the same name) and
    ``W *= 0.5`` change an array to a multiple of its own values: nothing is taken in, whatever candidate the fit
    pairs with the rounding of the product (float32's: ``c`` of 1e-10 beside ``mu`` 0.54 on npw1194)."""
    g, g_next, other = (a.astype(dtype) for a in arrays)
    scaled = (g * dtype(scale)).astype(np.float64)
    eps = float(np.finfo(dtype).eps)
    assert decayed_toward(g.astype(np.float64), scaled, [other.astype(np.float64), g_next.astype(np.float64)],
                          eps) is None
    # and a velocity in the same precision still is one
    v = (dtype(scale) * g - dtype(0.1) * g_next).astype(np.float64)
    assert decayed_toward(g.astype(np.float64), v, [other.astype(np.float64), g_next.astype(np.float64)], eps) == 1


@pytest.mark.parametrize("b2", [0.9, 0.999, 0.9999])
def test_a_second_moment_is_a_decay_toward_the_square_of_the_gradient(arrays, b2):
    v, g, other = arrays
    v = v * v  # a second moment is never negative
    assert decayed_toward(v, b2 * v + (1 - b2) * g * g, [other, g], EPS) == 2 + 1  # the square of candidate 1


@pytest.mark.parametrize("mu", [0.5, 0.9, 0.99])
def test_a_nesterov_step_is_a_combination_of_the_new_velocity_and_the_gradient(arrays, mu):
    p, g, v = arrays
    other = np.random.default_rng(1).normal(size=p.size)
    lr = 0.05
    v_new = mu * v - lr * g
    # p += mu * v - lr * g, with v already updated: candidates (another array, the gradient, the new velocity)
    i, j, a, c = combined_step(p, p + mu * v_new - lr * g, [other, g, v_new], EPS)
    assert (i, j) == (1, 2) and (a, c) == pytest.approx((-lr, mu))
    # its other spelling p += -mu * v_prev + (1 + mu) * v: the velocity before and after
    i, j, a, c = combined_step(p, p - mu * v + (1 + mu) * v_new, [other, v, v_new], EPS)
    assert (i, j) == (1, 2) and (a, c) == pytest.approx((-mu, 1 + mu))
    assert combined_step(p, p + mu * v_new - lr * g, [other, g], EPS) is None  # the velocity not among them


@pytest.mark.parametrize("wd", [1e-5, 1e-4, 5e-3 / 0.1 * 0.99])
def test_weight_decay_written_on_the_parameter_reads_the_gradient_and_its_own_values(arrays, wd):
    w, g, other = arrays
    lr = 0.1
    assert combined_step(w, w - lr * (g + wd * w), [other, g], EPS)[:2] == (1, -1)  # L2 in the step
    assert combined_step(w, w * (1 - lr * wd) - lr * g, [g, other], EPS)[:2] == (0, -1)  # decoupled


@pytest.mark.parametrize("new", [
    pytest.param(lambda w, g, o: w + 0.01 * (g - w), id="an-average-following-g"),  # ema = 0.99 ema + 0.01 g
    pytest.param(lambda w, g, o: 0.9 * w - 0.1 * g, id="a-velocity"),  # a decay (decayed_toward), not a step
    pytest.param(lambda w, g, o: w - 0.1 * g + 0.2 * o ** 2, id="a-square"),
    pytest.param(lambda w, g, o: w - 0.1 * g - 0.01 * o - 0.3 * w ** 3, id="three-arrays"),
])
def test_what_is_no_step_reading_two_arrays(arrays, new):
    w, g, o = arrays
    assert combined_step(w, new(w, g, o), [g, o], EPS) is None


def test_collinear_candidates_are_no_pair(arrays):
    w, g, _ = arrays
    assert combined_step(w, w - 0.1 * g, [g, 2 * g], EPS) is None  # one array twice: a plain step, not a pair


# -- adaptive steps: p -= lr * m / (sqrt(v) + eps) ----------------------------------------------------------------------
def _adaptive_by_definition(old, new, candidates):
    """adaptive_step as its docstring says, one (v, m) pair at a time: the first v (a kept array, never negative) in the
    candidates' order, then the first m, whose elementwise m / sqrt(v) the change is a multiple of within ADAPTIVE_FIT."""
    from netdoctor.observe.numpy.steps import ADAPTIVE_FIT

    d = new - old
    nd = np.linalg.norm(d)
    if nd == 0 or np.count_nonzero(d) < 3:
        return None
    for sv, v in candidates:
        if sv is None or np.any(v < 0) or np.count_nonzero(v) < 3 or not np.all(np.isfinite(v)):
            continue
        for sm, m in candidates:
            if sm is sv or np.count_nonzero(m) < 3:
                continue
            r = np.array([mi / np.sqrt(vi) if vi > 0 else 0.0 for mi, vi in zip(m, v)])
            if r @ r == 0:
                continue
            k = (d @ r) / (r @ r)
            if k != 0 and np.linalg.norm(d - k * r) <= ADAPTIVE_FIT * nd:
                return sm, sv
    return None


class _Kept:
    """An array discovery follows (its statistics stand-in: only its identity matters here)."""


def test_an_adam_step_reads_its_two_moments_among_many_arrays():
    from netdoctor.observe.numpy.steps import adaptive_step

    rng = np.random.default_rng(3)
    p, g = rng.normal(size=64), rng.normal(size=64)
    m, v = 0.1 * g, 0.001 * g * g + 1e-6
    rows = [(_Kept(), np.abs(rng.normal(size=64))) for _ in range(22)]  # data rows rebound by a shuffle: never negative
    sm, sv = _Kept(), _Kept()
    pool = [*rows[:10], (sm, m), *rows[10:], (sv, v)]
    new = p - 0.01 * m / (np.sqrt(v) + 1e-8)
    assert adaptive_step(p, new, pool) == (sm, sv) == _adaptive_by_definition(p, new, pool)
    assert adaptive_step(p, p - 0.01 * g, pool) is None  # plain SGD reads no ratio of two arrays
    # m a gradient just computed (no stats), RMSprop's running square kept
    assert adaptive_step(p, p - 0.01 * g / np.sqrt(v), [*rows, (None, g), (sv, v)]) == (None, sv)
    assert adaptive_step(p, new, []) is None  # nothing it could have read


@pytest.mark.parametrize("seed", range(40))
def test_adaptive_step_is_the_pairwise_search_its_definition_gives(seed):
    from netdoctor.observe.numpy.steps import adaptive_step

    rng = np.random.default_rng(seed)
    n = int(rng.integers(4, 40))
    kept = [(_Kept() if rng.random() < 0.8 else None, rng.normal(size=n) ** int(rng.integers(1, 3)) * rng.integers(0, 2, n))
            for _ in range(int(rng.integers(1, 25)))]
    old = rng.normal(size=n)
    i, j = rng.integers(0, len(kept), 2)
    (_, m), (_, v) = kept[i], kept[j]
    ratio = np.where(np.abs(v) > 0, m / np.sqrt(np.abs(v), where=np.abs(v) > 0, out=np.ones(n)), 0.0)
    new = old + rng.choice([0.0, -0.01, 1e-3]) * ratio + rng.choice([0.0, 1e-9, 1e-2]) * rng.normal(size=n)
    assert adaptive_step(old, new, kept) == _adaptive_by_definition(old, new, kept)


def _judged(aliases: int, change) -> list[tuple]:
    """One array under ``aliases`` paths and what its steps may read (a gradient under one path, a velocity), changed
    by ``change``; what one judge records per path of the array (the rate, the counts, what it read)."""
    from netdoctor.observe.numpy.network import PathStats
    from netdoctor.observe.numpy.steps import Steps

    rng = np.random.default_rng(5)
    steps = Steps(np.random.default_rng(1))
    W, g, v = rng.normal(size=(6, 5)), rng.normal(size=(6, 5)), rng.normal(size=(6, 5))
    idx = steps.index(W.shape)

    def stats(text: str, a: np.ndarray) -> PathStats:
        st = PathStats(W.shape, text, idx=idx, values=a.ravel()[idx].astype(float), obj=id(a))
        return st

    paths = [stats(f"path{i}.W", W) for i in range(aliases)] + [stats("grad", g), stats("vel", v)]
    change(W, g, v)
    now = W.ravel()[idx].astype(float)
    steps.judge([(st, W, now.copy()) for st in paths[:aliases]], paths, None)
    return [(steps.rates.get(st.text), st.steps, st.accumulations, st.decays, st.undecided, steps.read.get(st.text),
             [r.text for r in st.read_by]) for st in paths[:aliases]] + [[r.text for r in st.read_by] for st in paths[aliases:]]


@pytest.mark.parametrize("change", [
    lambda W, g, v: W.__isub__(0.1 * g),  # a step reading the gradient
    lambda W, g, v: W.__isub__(0.1 * g - 0.9 * v),  # a step reading two arrays (Nesterov's form)
    lambda W, g, v: W.__iadd__(np.ones_like(W)),  # a change reading nothing followed
    lambda W, g, v: W.__imul__(0.5),  # a decay of its own values
])
def test_one_array_under_three_paths_is_judged_under_each_as_under_one(change):
    # the fits of one judge are computed once per distinct input (steps._Fits): each path must still record what a
    # path of its own records (the oracle: the same array under one path, judged alone)
    alone = _judged(1, change)
    three = _judged(3, change)
    assert three[:3] == [alone[0]] * 3
    readers = [r for r in three[3:]]
    assert all(r == [f"path{i}.W" for i in range(3)] or r == [] for r in readers)
    assert [bool(r) for r in readers] == [bool(r) for r in alone[1:]]


def test_a_fit_is_computed_once_per_distinct_input_within_one_judge():
    from netdoctor.observe.numpy.steps import _Fits

    calls = []

    def fit(old, new, candidates, eps):
        calls.append(1)
        return float(np.sum(new - old)) + sum(float(np.sum(v)) for v in candidates)

    def take(pool):
        return [v for _, _, v in pool]

    fits, a, b = _Fits(), np.ones(4), np.full(4, 2.0)
    pool = fits.pool([(None, 1, np.zeros(4))])
    def of(pool, old, new, eps):
        return fits.of(fit, pool, fits.entries(old, new), old, new, take, eps)

    assert of(pool, a, b, 1e-16) == of(pool, a.copy(), b.copy(), 1e-16) == 4.0
    assert len(calls) == 1
    of(pool, a, b + 1, 1e-16)  # other entries
    other = fits.pool([(None, 1, np.zeros(4))])  # another pool, equal or not
    assert of(other, a, b, 1e-16) == 4.0
    of(pool, a, b, 1e-8)  # another tolerance
    assert len(calls) == 4
    # a pool's fits are told apart from another pool's even after the first is no longer used: the judge keeps them
    assert fits.pools == [pool, other]


def _rmsprop(p, sq, g, lr, rho, eps=1e-8):
    """One RMSprop step as a textbook writes it (an independent oracle): the running square, then the step over its root."""
    sq = rho * sq + (1 - rho) * g * g
    return p - lr * g / (np.sqrt(sq) + eps), sq


@pytest.mark.parametrize("rho", [0.9, 0.99, 1.0])  # 1.0: Adagrad's running sum (sq += g * g)
def test_an_rmsprop_step_is_read_against_the_running_square_when_its_gradient_is_seen_nowhere(rho):
    from netdoctor.observe.numpy.steps import scaled_by_running_square

    rng = np.random.default_rng(5)
    p, sq = rng.normal(size=64), np.zeros(64)
    for _ in range(3):  # the first step (from zeros) and two more
        g = rng.normal(size=64) * (rng.random(64) < 0.6)  # entries that got no gradient move by 0
        sq_before = sq
        if rho < 1:
            new, sq = _rmsprop(p, sq, g, 0.01, rho)
        else:
            sq = sq + g * g
            new = p - 0.01 * g / (np.sqrt(sq) + 1e-8)
        noise = (np.abs(rng.normal(size=64)), np.abs(rng.normal(size=64)))
        assert scaled_by_running_square(p, new, [noise, (sq_before, sq)]) == 1
        # plain SGD along the same gradient reads no running square, nor does a step over another array's root
        assert scaled_by_running_square(p, p - 0.01 * g, [noise, (sq_before, sq)]) is None
        assert scaled_by_running_square(p, new, [noise]) is None
        p = new


def test_an_adaptive_step_per_entry_is_the_size_of_the_entries_it_moved():
    """Adam's first step moves every entry with a gradient by lr exactly (m_hat / sqrt(v_hat) = sign(g)): the median
    over all entries is 0 when more than half got none (dead units), the step per entry is still lr."""
    from netdoctor.observe.numpy.steps import entry_step

    rng = np.random.default_rng(2)
    g = rng.normal(size=100) * (np.arange(100) < 30)
    p = rng.normal(size=100)
    m_hat, v_hat = g, g * g  # after bias correction at step 1
    new = p - 1e-3 * m_hat / (np.sqrt(v_hat) + 1e-12)
    assert float(np.median(np.abs(new - p))) == 0.0
    assert entry_step(p, new) == pytest.approx(1e-3)
    assert entry_step(p, p) == 0.0


def _judged_in_helper(stale: bool) -> tuple:
    """``p += v`` in a helper handed the parameter and its velocity (``momentum(p, v, g, scale)``), judged at the
    helper's return with its frame: what the parameter's step records, when the velocity's values at the last scan
    are its values now (``stale`` False) or those before its own last change (its fingerprint missed a sparse change)."""
    import sys

    from netdoctor.observe.numpy.network import PathStats
    from netdoctor.observe.numpy.steps import Steps

    rng = np.random.default_rng(7)
    steps = Steps(np.random.default_rng(1))
    W, v, g = rng.normal(size=(6, 5)), rng.normal(size=(6, 5)), rng.normal(size=(6, 5))
    idx = steps.index(W.shape)
    before_v = v.ravel()[idx].astype(float)
    v *= 0.9  # the velocity's own change before the step, taking in a gradient gone by the scan
    v -= 0.1 * g
    vel = PathStats(W.shape, "vel['W']", idx=idx, values=before_v if stale else v.ravel()[idx].astype(float), obj=id(v))
    par = PathStats(W.shape, "params['W']", idx=idx, values=W.ravel()[idx].astype(float), obj=id(W))

    def momentum(p: np.ndarray, v: np.ndarray) -> object:
        p += v
        return sys._getframe()

    frame = momentum(W, v)
    steps.judge([(par, W, W.ravel()[idx].astype(float))], [par, vel], frame)
    return par.steps, par.accumulations, [r.text for r in vel.read_by]


def test_a_step_by_a_helper_local_that_is_a_followed_array_reads_that_array_even_when_its_values_are_stale():
    # npx1953: a sparse per-sample gradient moved the velocity where its fingerprint did not look, so its values at
    # the last scan were old; the helper's local ``v`` is the same array: the step reads it (as with fresh values),
    # it is no accumulation of a transient (which took the first layer for a gradient buffer)
    assert _judged_in_helper(stale=True) == _judged_in_helper(stale=False) == (1, 0, ["params['W']"])
