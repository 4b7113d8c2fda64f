"""The sign watch of the update check (:class:`~netdoctor.observe.numpy.update_sign.SignWatch`): at every user call until
the parameters move it asks whether any sampled entry moved and whether the buffers changed. Both answers are checked
against ``np.array_equal`` per tensor, as the watch asked them before they were joined into one comparison."""

from __future__ import annotations

import numpy as np
import pytest

from netdoctor.observe.numpy.update_sign import SignWatch


def _samples(rng: np.random.Generator, sizes: list[int]) -> list[np.ndarray]:
    """One float64 sample per tensor, with exact zeros of both signs, infinities and NaN among the values."""
    pool = np.array([0.0, -0.0, 1.5, -2.25, np.inf, -np.inf, np.nan, 1e-300])
    out = []
    for n in sizes:
        a = rng.normal(size=n)
        special = rng.random(n) < 0.2
        a[special] = rng.choice(pool, special.sum())
        out.append(a)
    return out


def _changed(rng: np.random.Generator, arrays: list[np.ndarray]) -> list[np.ndarray]:
    """A copy of ``arrays``, unchanged or changed at one entry (to another number, to NaN, or 0.0 <-> -0.0)."""
    out = [a.copy() for a in arrays]
    what = rng.integers(0, 4)
    nonempty = [k for k, a in enumerate(out) if a.size]
    if what == 0 or not nonempty:
        return out
    k = int(rng.choice(nonempty))
    j = int(rng.integers(0, out[k].size))
    if what == 1:
        out[k][j] = out[k][j] + 1.0 if np.isfinite(out[k][j]) else 3.0
    elif what == 2:
        out[k][j] = np.nan
    else:
        out[k][j] = -out[k][j]  # 0.0 and -0.0 are equal; NaN stays NaN, which never equals itself
    return out


def _per_tensor_moved(now: list[np.ndarray], base: list[np.ndarray]) -> bool:
    return not all(np.array_equal(a, b) for a, b in zip(now, base))


@pytest.mark.parametrize("seed", range(6))
def test_moved_is_a_change_of_any_tensor_as_array_equal_reads_it(seed):
    rng = np.random.default_rng(seed)
    for _ in range(200):
        sizes = [int(n) for n in rng.integers(0, 65, rng.integers(1, 5))]
        base = _samples(rng, sizes)
        watch = SignWatch(0, [], [], [np.arange(n) for n in sizes], base, [None] * len(sizes))
        for _ in range(4):
            now = _changed(rng, base)
            assert watch._moved(now) == _per_tensor_moved(now, watch.base)
            if rng.random() < 0.5:  # the watch moves its base on (a first update, one tensor of it)
                watch.base = base = now


@pytest.mark.parametrize("seed", range(6))
def test_buffers_read_as_changed_as_array_equal_reads_them(seed):
    rng = np.random.default_rng(100 + seed)
    for _ in range(100):
        sizes = [int(n) for n in rng.integers(1, 65, rng.integers(1, 5))]
        full = [s * 3 for s in sizes]  # the buffers, of which a fixed sample of entries is read
        idx = [rng.choice(f, s, replace=False) for f, s in zip(full, sizes)]
        arrays = [rng.normal(size=f) for f in full]
        bound = [True] * len(sizes)
        watch = SignWatch(0, [], [lambda k=k, a=arrays, b=bound: a[k] if b[k] else None for k in range(len(sizes))], idx,
                          [np.zeros(s) for s in sizes], [None] * len(sizes))
        last: list[np.ndarray | None] = [None] * len(sizes)
        for _ in range(6):
            samples = _changed(rng, [a[i] for a, i in zip(arrays, idx)])
            for k, (i, s) in enumerate(zip(idx, samples)):
                arrays[k] = arrays[k].copy()
                arrays[k][i] = s
                bound[k] = rng.random() < 0.9  # (a buffer not bound to an array at some call)
            news = [a[i] if b else None for a, i, b in zip(arrays, idx, bound)]
            expected = any(n is not None and (p is None or not np.array_equal(n, p)) for n, p in zip(news, last))
            assert watch._read_buffers() == expected
            assert all((a is None and b is None) or np.array_equal(a, b, equal_nan=True) for a, b in zip(watch.last, news))
            last = news
