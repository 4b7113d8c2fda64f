"""netdoctor.nn.threads: our products run on the threads we pick, the caller's setting comes back.

The BLAS thread counts are read from the libraries themselves (threadpoolctl's
``threadpool_info``), not from our own bookkeeping.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from netdoctor.diagnosis.pipeline import diagnose
from netdoctor.errors import UserCodeError
from netdoctor.gradients.check import check_gradients, gradcheck
from netdoctor.nn import threads
from netdoctor.nn.mlp import MLP

threadpoolctl = pytest.importorskip("threadpoolctl")


def blas_counts() -> list[int]:
    return [p["num_threads"] for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"]


@pytest.fixture
def caller_uses_two():
    """The caller has set two BLAS threads (as OpenBLAS does on a 2-core machine)."""
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        if not blas_counts() or set(blas_counts()) != {2}:
            pytest.skip("this BLAS cannot be set to two threads here")
        yield


class Spy:
    """The reference MLP, recording the BLAS threads its loss ran with."""

    def __init__(self, fail: bool = False):
        self.mlp = MLP((6, 5, 3), activation="tanh", loss="mse", seed=0)
        self.params = self.mlp.params
        self.seen: set[int] = set()
        self.fail = fail

    def loss(self, X, y):
        if not self.seen:  # threadpool_info takes milliseconds: once is enough
            self.seen.update(blas_counts())
        if self.fail:
            raise RuntimeError("the user's loss broke")
        return self.mlp.loss(X, y)


def _batch(n=8):
    rng = np.random.default_rng(0)
    return rng.random((n, 6)), rng.integers(0, 3, n)


def test_block_runs_on_one_thread_and_restores_the_callers_two(caller_uses_two):
    with threads.blas_threads(1):
        assert set(blas_counts()) == {1}
    assert set(blas_counts()) == {2}


def test_callers_setting_is_restored_after_an_exception(caller_uses_two):
    with pytest.raises(KeyError):
        with threads.blas_threads(1):
            assert set(blas_counts()) == {1}
            raise KeyError("inside")
    assert set(blas_counts()) == {2}


def test_an_imported_torch_runs_on_one_thread_and_gets_its_setting_back():
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with pytest.raises(KeyError):
            with threads.blas_threads(1):
                assert torch.get_num_threads() == 1
                raise KeyError("inside")
        assert torch.get_num_threads() == 2
        with threads.blas_threads(None):
            assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_none_leaves_the_setting_alone(caller_uses_two):
    with threads.blas_threads(None):
        assert set(blas_counts()) == {2}


def test_nested_blocks_restore_level_by_level(caller_uses_two):
    with threads.blas_threads(1):
        with threadpoolctl.threadpool_limits(2, user_api="blas"):  # the user's code inside ours
            with threads.blas_threads(1):
                assert set(blas_counts()) == {1}
            assert set(blas_counts()) == {2}
        assert set(blas_counts()) == {1}
    assert set(blas_counts()) == {2}


def test_gradient_check_runs_single_threaded_and_gives_the_setting_back(caller_uses_two):
    spy = Spy()
    X, y = _batch()
    assert check_gradients(spy, X, y, method="central").ok
    assert spy.seen == {1}
    assert set(blas_counts()) == {2}


def test_gradient_check_gives_the_setting_back_when_the_model_raises(caller_uses_two):
    spy = Spy(fail=True)
    X, y = _batch()
    with pytest.raises(UserCodeError):
        check_gradients(spy, X, y)
    assert set(blas_counts()) == {2}


def test_plain_gradcheck_gives_the_setting_back(caller_uses_two):
    res = gradcheck(lambda x: float(np.sum(np.sin(x))), np.linspace(0, 1, 5), lambda x: np.cos(x))
    assert res.ok and set(blas_counts()) == {2}


@pytest.mark.parametrize(("sizes", "rows"), [((6, 5, 3), 64), ((1024, 1024, 3), 300)],
                         ids=["small net", "products above the 2-thread threshold"])
def test_diagnose_runs_single_threaded_and_restores(caller_uses_two, sizes, rows):
    # netdoctor's own work takes one core, whatever the size of its products (a 300 x 1024 x 1024
    # product, 314 M multiply-adds, is above threads.SMALL_PRODUCT, where a caller's code may use two).
    seen = []

    class Watch:
        def on_step(self, model, run, step, Xb, yb, loss):
            if not seen:
                seen.extend(blas_counts())

    rng = np.random.default_rng(1)
    X, y = rng.random((rows, sizes[0])), rng.integers(0, 3, rows)
    model = MLP(sizes, seed=0)
    assert sizes[0] < 100 or threads.threads_for_model(model, rows) is None
    diagnose(model, X, y, epochs=1, batch_size=rows // 4 if sizes[0] < 100 else rows, gradcheck=False, probe=False,
             experiments=False, progress=Watch())
    assert set(seen) == {1}
    assert set(blas_counts()) == {2}


@pytest.mark.parametrize(("shapes", "rows", "expected"), [
    ([(784, 30), (30,), (30, 10)], 100, 1),          # the classic net: 2.4 M multiply-adds
    ([(784, 512), (512, 512), (512, 10)], 100, 1),  # 40 M and 26 M
    ([(784, 64)], 60_000, None),                     # all 60,000 rows at once: 3 G, worth splitting
    ([], 100, 1),
])
def test_threads_for_compares_the_largest_product_with_the_threshold(shapes, rows, expected):
    assert threads.threads_for(shapes, rows) == expected


def test_without_threadpoolctl_the_block_changes_nothing(monkeypatch, caller_uses_two):
    monkeypatch.setattr(threads, "_controller", None)
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)  # import fails
    with threads.blas_threads(1):
        assert set(blas_counts()) == {2}


def test_norm_one_thread_is_the_frobenius_norm():
    from netdoctor.nn.threads import norm_one_thread

    rng = np.random.default_rng(0)
    for a in (rng.normal(size=(30, 784)), rng.normal(size=(7,)).astype(np.float32), rng.normal(size=(3, 4, 5))[:, ::2]):
        assert np.isclose(norm_one_thread(a), np.linalg.norm(a.ravel()), rtol=1e-6)
    assert norm_one_thread(np.zeros((2, 2))) == 0.0


def test_one_blas_thread_sets_one_inside_and_puts_the_programs_count_back():
    from threadpoolctl import threadpool_info, threadpool_limits

    from netdoctor.nn.threads import one_blas_thread

    def counts():
        return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]

    with threadpool_limits(2, user_api="blas"):
        before = counts()
        with one_blas_thread():
            assert set(counts()) <= {1}
        assert counts() == before
        with pytest.raises(ValueError), one_blas_thread():
            raise ValueError("the block failed")
        assert counts() == before
