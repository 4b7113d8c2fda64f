"""The looks of :class:`~netdoctor.observe.numpy.resets.BufferResets`: contributions, resets to zero and resets that
scale the buffers, told apart from a few sampled entries.

Buffers of float64 are read the fast way (one bytes object from the compiled fingerprint, a look's values a view of
it, and a gradient added told from the largest entry held alone); any other dtype the general way (flat entries
concatenated, every test made). Both must give the same answers: each history below is replayed on float64 buffers
and on float32 copies of them (values exact in float32) and the answers compared, besides what each look must say.
"""

from __future__ import annotations

import numpy as np
import pytest

from netdoctor.observe.numpy.resets import BufferResets, reset_factor


class _Net:
    def __init__(self, dtype: type) -> None:
        self.gw = [np.zeros((6, 5), dtype=dtype), np.zeros((3, 6), dtype=dtype)]
        self.gb = [np.zeros((6, 1), dtype=dtype), np.zeros((3, 1), dtype=dtype)]


def _resets() -> BufferResets:
    plan = [(lambda r: r.gw[0], np.array([0, 7, 13, 29])), (lambda r: r.gw[1], np.array([1, 5, 17])),
            (lambda r: r.gb[0], np.array([0, 2, 5])), (lambda r: r.gb[1], np.array([0, 1, 2]))]
    return BufferResets(plan)


def _history(seed: int) -> list[tuple[str, float]]:
    """A per-sample accumulation with its resets: ("add", scale) a gradient added, ("scale", k) every buffer scaled by
    ``k`` in place (``g *= lr``; 0 empties it), ("rebind", 0) fresh zero arrays bound, ("call", 0) a look at a call,
    ("tick", 0) a look at a loop head. Every other reset comes with an update counted (a weight moved); the others are
    steps that moved no weight, which the looks must find."""
    rng = np.random.default_rng(seed)
    steps: list[tuple[str, float]] = []
    for batch in range(6):
        for _ in range(int(rng.integers(2, 5))):
            steps += [("call", 0.0), ("add", float(rng.choice([1.0, -2.0, 0.5]))), ("tick", 0.0)]
        steps += [(["scale", "scale", "rebind"][batch % 3], [0.0, 0.25, 0.0][batch % 3]), ("tick", 0.0)]
        if batch % 2:
            steps.insert(-1, ("update", 0.0))
    return steps


def _replay(dtype: type, seed: int) -> list[tuple[bool, bool]]:
    net, resets, rng = _Net(dtype), _resets(), np.random.default_rng(seed + 1000)
    answers, updates = [], 0
    for kind, value in _history(seed):
        if kind == "add":
            for a in net.gw + net.gb:  # multiples of 1/8 below 64: exact in float32 and float64 alike
                a += (rng.integers(-16, 17, a.shape) / 8 * value).astype(dtype)
        elif kind == "scale":
            for a in net.gw + net.gb:
                a *= dtype(value)
        elif kind == "rebind":
            net.gw = [np.zeros_like(a) for a in net.gw]
            net.gb = [np.zeros_like(a) for a in net.gb]
        elif kind == "update":
            updates += 1
        else:
            answers.append(resets.look(net, updates, call=kind == "call"))
    return answers


@pytest.mark.parametrize("seed", range(6))
def test_float64_buffers_are_looked_at_as_any_other_dtype_is(seed):
    fast, general = _replay(np.float64, seed), _replay(np.float32, seed)
    assert fast == general
    assert any(changed for changed, _ in fast) and any(reset for _, reset in fast)


def test_a_gradient_added_a_reset_to_zero_and_a_scaling_reset_are_told_apart():
    net, resets = _Net(np.float64), _resets()
    assert resets.look(net, 0, call=True) == (False, False)  # the first look: nothing to compare with
    for a in net.gw + net.gb:
        a += 1.0
    assert resets.look(net, 0) == (True, False)  # a gradient added
    for a in net.gw + net.gb:
        a += 2.0
    assert resets.look(net, 0) == (True, False)  # the largest entry grew: added again (seen at a loop head)
    for a in net.gw + net.gb:
        a *= 0.1  # the forum program's reset: the sums scaled in place, no update counted since the contribution
    assert resets.look(net, 0) == (True, True)
    assert resets.look(net, 0) == (False, False)  # nothing changed since
    for a in net.gw + net.gb:
        a -= 5.0  # the largest entry changed sign: a gradient, not a reset
    assert resets.look(net, 0, call=True) == (True, False)
    net.gw = [np.zeros_like(a) for a in net.gw]
    net.gb = [np.zeros_like(a) for a in net.gb]
    assert resets.look(net, 0, call=True) == (True, True)  # emptied after a contribution: an update


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("nan_share", [1.0, 0.5])
def test_buffers_of_nan_gradients_emptied_are_a_reset(dtype, nan_share):
    """Weights gone NaN give NaN gradients: the buffers fill with NaN (all of them, or NaN beside finite sums), and the
    update that applied them still binds fresh zeros; that is an update (np0102_sign-flip: 137 of its 160 updates
    were lost once the weights were NaN). A gradient added to NaN buffers stays no reset."""
    net, resets = _Net(dtype), _resets()
    assert resets.look(net, 0, call=True) == (False, False)
    rng = np.random.default_rng(7)
    for a in net.gw + net.gb:
        a += 1.0
        a[rng.random(a.shape) < nan_share] = np.nan
    assert resets.look(net, 0, call=True) == (True, False)  # a (NaN) gradient added
    net.gw = [np.zeros_like(a) for a in net.gw]
    net.gb = [np.zeros_like(a) for a in net.gb]
    assert resets.look(net, 0, call=True) == (True, True)  # emptied after it, no update counted since: an update
    for a in net.gw + net.gb:
        a[...] = np.nan
    assert resets.look(net, 1, call=True) == (True, False)  # NaN added to zeros: a contribution
    for a in net.gw + net.gb:
        a *= 2.0  # (NaN stays NaN: the same bytes, no change seen)
    assert resets.look(net, 1, call=True) == (False, False)


def test_a_missing_buffer_is_read_as_zeros_the_general_way():
    net, resets = _Net(np.float64), _resets()
    resets.look(net, 0, call=True)
    for a in net.gw + net.gb:
        a += 1.0
    assert resets.look(net, 0) == (True, False)
    net.gb[1] = None  # type: ignore[call-overload]  # (a buffer the program deleted)
    changed, _ = resets.look(net, 0)
    assert changed


def test_reset_factor_is_the_common_multiple_only():
    last = np.array([1.0, -2.0, 4.0, 0.0])
    assert reset_factor(last, 0.25 * last) == pytest.approx(0.25)
    assert reset_factor(last, np.zeros(4)) == 0.0
    assert reset_factor(last, last) is None  # (k = 1: no reset)
    assert reset_factor(last, last * np.array([0.5, 0.5, 0.25, 1.0])) is None


class _EveryTest(BufferResets):
    """The look of round 13 with no early end: which buffers hold something and the pivot (the largest entry held,
    found through ``np.where``) worked out at every look kept, and every test of the comparison made. The oracle of the
    early ends the looks take now (the pivot alone, and an entry changed to anything but zero where resets leave
    zeros): they must give the same answers."""

    def _set_last(self, now: np.ndarray) -> None:
        self.last = now
        held = (now != 0) & (now == now)
        self.full = np.logical_or.reduceat(held, self.starts)
        self.pivot = p = int(np.where(held, np.abs(now), 0.0).argmax())
        self.pivot_value = float(now[p]) if held[p] else 0.0

    def _compare(self, now: np.ndarray, updates: int, spans: bool) -> tuple[bool, bool]:
        last = self.last
        if last is None:
            self._set_last(now)
            return False, False
        p, full = self.pivot, self.full
        changed = np.logical_or.reduceat(last != now, self.starts)
        if not changed.any() or (changed & ~full).any():
            return self._added(now, updates)
        if changed[self.owner[p]] and not 0.0 <= float(now[p]) / float(last[p]) < 1.0:
            return self._added(now, updates)
        cut = np.repeat(changed, self.sizes)
        if now[cut].any() if spans and not self.scaled else reset_factor(last[cut], now[cut]) is None:
            return self._added(now, updates)
        if (changed != full).any():
            return True, False
        self._set_last(now)
        armed, self.armed_at = self.armed_at, None
        if armed is None:
            return True, False
        self.saw = True
        return True, armed == updates


def _layered_replay(resets: BufferResets, seed: int) -> list[tuple[bool, bool]]:
    """A layer-object program: each call adds to one layer's buffers only (the output layer's, then the hidden
    one's), resets to zeros or scaling, a NaN now and then, a layer that adds nothing (dead units), ticks between."""
    net, rng = _Net(np.float64), np.random.default_rng(seed)
    answers, updates = [], 0
    for _batch in range(12):
        for _ in range(int(rng.integers(2, 6))):
            for layer in (1, 0):
                answers.append(resets.look(net, updates, call=True))
                if rng.random() < 0.15:
                    continue  # (nothing reached this layer's sampled entries)
                for a in (net.gw[layer], net.gb[layer]):
                    a += rng.integers(-16, 17, a.shape) / 8 * rng.choice([1.0, -0.5, 1e-9])
                    if rng.random() < 0.05:
                        a.flat[int(rng.integers(a.size))] = np.nan
                answers.append(resets.look(net, updates))
        kind = int(rng.integers(3))
        if kind == 0:
            net.gw = [np.zeros_like(a) for a in net.gw]
            net.gb = [np.zeros_like(a) for a in net.gb]
        else:
            for a in net.gw + net.gb:
                a *= [0.0, 0.25][kind - 1]
        if rng.random() < 0.5:
            updates += 1
        answers.append(resets.look(net, updates))
    return answers


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled-tests", "python-tests"])
@pytest.mark.parametrize("seed", range(12))
def test_the_looks_early_ends_give_every_tests_answers(seed, compiled, monkeypatch):
    from netdoctor.observe.numpy import resets

    if compiled and resets._added is None:
        pytest.skip("the compiled part is not built here")
    if not compiled:
        monkeypatch.setattr(resets, "_added", None)  # the compare's first two tests in Python, as without C
    plan = _resets()  # (the same readers and positions for both)
    now = _layered_replay(BufferResets([(r, i) for r, i in zip(plan.readers, plan.idx)]), seed)
    oracle = _layered_replay(_EveryTest([(r, i) for r, i in zip(plan.readers, plan.idx)]), seed)
    assert now == oracle
    assert any(reset for _, reset in now) and sum(changed for changed, _ in now) > len(now) // 3


_PATHS = [((1, "gw"), (0, 0)), ((1, "gw"), (0, 1)), ((1, "gb"), (0, 0)), ((1, "gb"), (0, 1))]
"""The paths of :func:`_resets`' readers, as the compiled look reads them (1 an attribute, 0 an item)."""


@pytest.mark.parametrize("seed", range(12))
def test_the_looks_read_in_one_call_of_c_give_the_python_looks_answers(seed):
    from netdoctor.observe.numpy.arrays import look_entries

    if look_entries is None:
        pytest.skip("the compiled part is not built here")
    plan = _resets()
    compiled = BufferResets([(r, i) for r, i in zip(plan.readers, plan.idx)], _PATHS)
    assert compiled.paths is not None and plan.paths is None
    assert _layered_replay(compiled, seed) == _layered_replay(plan, seed)
    assert compiled.prev == plan.prev and compiled.pivot == plan.pivot


def test_the_compiled_look_reads_the_fingerprints_bytes_and_hands_back_what_it_does_not_read():
    from netdoctor.observe.numpy.arrays import fingerprint, look_entries

    if look_entries is None:
        pytest.skip("the compiled part is not built here")
    net, idx = _Net(np.float64), _resets().idx
    for a in net.gw + net.gb:
        a += np.arange(a.size).reshape(a.shape)
    f64 = np.dtype(np.float64)
    seen = b"".join(fingerprint(a, i)[1] for a, i in zip(net.gw + net.gb, idx))
    assert look_entries(net, _PATHS, idx, f64, b"") == seen
    assert look_entries(net, _PATHS, idx, f64, seen) is False
    net.gb[1] = net.gb[1].astype(np.float32)  # another dtype: read in Python
    assert look_entries(net, _PATHS, idx, f64, seen) is None
    net.gb[1] = None  # type: ignore[call-overload]
    assert look_entries(net, _PATHS, idx, f64, seen) is None


@pytest.mark.parametrize("seed", range(8))
def test_buffers_as_the_last_contribution_left_them_are_never_a_reset(seed):
    """``updates._check_reset`` ends early where the buffers are bitwise those the last contribution left (the usual
    per-sample call): its premise, that :func:`reset_factor` says None there whenever the finite entries' sum of
    squares is finite and not zero (k is that sum over itself, whatever order BLAS adds in), at every scale, NaNs and
    zeros among the entries."""
    rng = np.random.default_rng(seed)
    checked = 0
    for scale in (1e-170, 1e-160, 1e-150, 1e-5, 1.0, 1e100, 1e150, 1e153, 1e154, 1e155):
        a = rng.standard_normal(int(rng.integers(1, 300))) * scale
        a[rng.random(a.size) < 0.2] = 0.0
        a[rng.random(a.size) < 0.05] = np.nan
        ok = np.isfinite(a)
        with np.errstate(all="ignore"):
            norm = float(np.dot(a[ok], a[ok]))
        if 0.0 < norm < np.inf:
            checked += 1
            assert reset_factor(a, a.copy()) is None
    assert checked >= 6


def _numpy_pivot(now: np.ndarray) -> tuple[int, float]:
    """The oracle: the pivot as NumPy finds it (the first largest magnitude; where that is a NaN, the first largest
    held entry's), and its value (0.0 for a NaN or a zero)."""
    size = np.abs(now)
    p = int(np.argmax(size))
    if np.isnan(size[p]):
        p = int(np.argmax(np.where((now != 0) & ~np.isnan(now), size, 0.0)))
    v = float(now[p])
    return p, (0.0 if np.isnan(v) or v == 0.0 else v)


@pytest.mark.parametrize("seed", range(4))
def test_the_compiled_pivot_is_numpys(seed):
    from netdoctor.observe.numpy.arrays import largest

    if largest is None:
        pytest.skip("the compiled part is not built here")
    rng = np.random.default_rng(seed)
    specials = np.array([0.0, -0.0, np.nan, np.inf, -np.inf, 1.0, -1.0, 2.5, -2.5, 1e-300, 5e-324])
    for _ in range(2000):
        n = int(rng.integers(1, 30))
        now = np.where(rng.random(n) < 0.5, rng.choice(specials, n), rng.normal(size=n) * rng.choice([1.0, 1e-200, 1e200]))
        want = _numpy_pivot(now)
        for given in (now, now.tobytes()):
            p, v = largest(given)
            assert p == want[0] and np.float64(v).tobytes() == np.float64(want[1]).tobytes(), (now, want, (p, v))


def _python_added(now: np.ndarray, last: np.ndarray, p: int, held: float, zeros: bool) -> bool:
    """The oracle: the compare's first two tests as NumPy and Python floats make them."""
    if held:
        v = float(now[p])
        if v != held and (not 0.0 <= v / held < 1.0 or zeros and v != 0.0):
            return True
    return bool(zeros and ((last != now) & (now != 0)).any())


@pytest.mark.parametrize("seed", range(4))
def test_the_compiled_compares_first_tests_are_pythons(seed):
    from netdoctor.observe.numpy.arrays import added

    if added is None:
        pytest.skip("the compiled part is not built here")
    rng = np.random.default_rng(seed)
    specials = np.array([0.0, -0.0, np.nan, np.inf, -np.inf, 1.0, -1.0, 0.5, -0.5, 2.5, 1e-300, 5e-324, 1e300])
    said = set()
    for _ in range(3000):
        n = int(rng.integers(1, 20))
        last = np.where(rng.random(n) < 0.5, rng.choice(specials, n), rng.normal(size=n))
        now = last.copy()
        changed = rng.random(n) < rng.choice([0.0, 0.2, 1.0])
        with np.errstate(all="ignore"):  # (inf * 0, inf - inf: NaNs wanted)
            moved = last * rng.choice([0.0, 0.25, 1.0, -1.0, 2.0], n) + rng.normal(size=n) * (rng.random(n) < 0.5)
        now[changed] = np.where(rng.random(n) < 0.5, rng.choice(specials, n), moved)[changed]
        p, held = largest(last) if rng.random() < 0.8 else (int(rng.integers(n)), float(rng.choice(specials)))
        if held != held:
            held = 0.0  # (a pivot's value is never a NaN)
        zeros = bool(rng.random() < 0.6)
        want = _python_added(now, last, p, held, zeros)
        got = added(now, last, p, held, zeros)
        said.add(want)
        assert (got is not None) == want, (now, last, p, held, zeros)
        if got is not None:
            assert got == largest(now)
    assert said == {True, False}
    assert added(np.zeros(3), np.zeros(4), 0, 1.0, True) is None  # (looks of two lengths: the compare decides)


from netdoctor.observe.numpy.arrays import largest  # noqa: E402
