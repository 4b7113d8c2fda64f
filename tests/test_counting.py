"""Updates of held windows counted in C (netdoctor/observe/numpy/counting.py): the same observation as ticks heard one
by one, the pure-Python tracer (which hears every tick) as the oracle."""

from __future__ import annotations

import copy
import math
import random

import numpy as np
import pytest

from netdoctor.observe.loops import LoopProgress
from netdoctor.observe.tracer import COMPILED, PURE_ENV, Budget, sampled, sampled_ahead

needs_filter = pytest.mark.skipif(not COMPILED, reason="the compiled call filter is not built here")


def _sig(z):
    return 1 / (1 + np.exp(-z))


class _PerSample:
    """Per-sample column vectors, updates inline in ``train()`` (the held step's shape)."""

    def __init__(self, dtype=np.float64):
        rng = np.random.default_rng(0)
        self.W1, self.b1 = rng.normal(0, 0.5, (8, 4)).astype(dtype), np.zeros((8, 1), dtype)
        self.W2, self.b2 = rng.normal(0, 0.5, (3, 8)).astype(dtype), np.zeros((3, 1), dtype)

    def forward(self, x):
        h = _sig(self.W1 @ x + self.b1)
        return h, _sig(self.W2 @ h + self.b2)

    def backprop(self, x, t):
        h, out = self.forward(x)
        d2 = (out - t) * out * (1 - out)
        d1 = (self.W2.T @ d2) * h * (1 - h)
        return d1 @ x.T, d1, d2 @ h.T, d2

    def train(self, X, Y, lr):
        eye = np.eye(3)
        for x, y in zip(X, Y):
            gW1, gb1, gW2, gb2 = self.backprop(x.reshape(-1, 1), eye[y].reshape(-1, 1))
            self.W1 -= lr * gW1
            self.b1 -= lr * gb1
            self.W2 -= lr * gW2
            self.b2 -= lr * gb2
        return len(Y)


def _forward(params, x):
    h = np.tanh(x @ params["W1"] + params["b1"])
    z = h @ params["W2"]
    p = np.exp(z - z.max(axis=1, keepdims=True))
    return h, p / p.sum(axis=1, keepdims=True)


def _backward(params, x, y, h, p):
    dz = p.copy()
    dz[np.arange(len(y)), y] -= 1
    dz /= len(y)
    dh = dz @ params["W2"].T * (1 - h ** 2)
    return {"W1": x.T @ dh, "b1": dh.sum(0), "W2": h.T @ dz}


def _batched(params, X, Y, epochs):
    """A tiny batched net, parameters in a dict, a strided (non-contiguous) first layer, a restore after training."""
    n = 0
    best = None
    for epoch in range(epochs):
        for i in range(0, len(X), 10):
            h, p = _forward(params, X[i:i + 10])
            grads = _backward(params, X[i:i + 10], Y[i:i + 10], h, p)
            for k in params:
                params[k] -= 0.1 * grads[k]
            n += 1
        if epoch == 1:
            best = {k: v.copy() for k, v in params.items()}
    params.update(best)  # early stopping's restore: the state after epoch 2's last update again
    return n


def _observe(program, compiled: bool, monkeypatch):
    from netdoctor.observe.options import ObserveOptions
    from netdoctor.observe.session import Observation

    monkeypatch.setenv(PURE_ENV, "" if compiled else "1")
    obs = Observation(ObserveOptions())
    (side,) = [b for b in obs.backends if b.name == "numpy"]
    with obs:
        made = program()
    backend = side.backend if hasattr(side, "backend") else side
    assert backend.tracer.compiled is compiled
    backend._settle()
    return made, obs.report, backend


def _state(report, backend) -> dict:
    """What the observation is: the report and every counter and schedule the counting in C stands in for."""
    context = {k: v for k, v in report.context.items() if k not in ("seconds", "observer_seconds", "command")}
    context["notes"] = [n.split("; ")[:-1] for n in context.get("notes", [])]  # (the update check's time)
    return {
        "context": context, "findings": [(f.code, f.message) for f in report.findings],
        "updates": backend.updates, "held": backend.hold.held_updates, "ticks": backend.tracer.ticks,
        "typical": backend.hold.typical, "step": len(backend.hold.step),
        "budget": (backend.tracer.budget.asked, backend.tracer.budget.granted),
        "loops": (backend.progress.asked, [(c.updates, c.places) for c in backend.progress.captures]),
        "states": backend._states, "changed": backend._changed_n, "restores": backend.restores,
        "fp": [b for _, b in backend._fp], "q": backend._q, "events": backend.events,
    }


def _per_sample(dtype):
    rng = np.random.default_rng(1)
    Y = rng.integers(0, 3, 1500)
    X = (np.eye(3, 4)[Y] * 2 + rng.normal(0, 0.3, (1500, 4))).astype(dtype)
    return lambda: _PerSample(dtype).train(X, Y, 0.5) + _PerSample(dtype).train(X[:700], Y[:700], 0.5)


def _sparse_per_sample():
    """Inputs with features at zero (blank pixels): an update moves no entry of W1 where a sample's features are all
    zero, so some updates move three of the four arrays and the next ones all four."""
    rng = np.random.default_rng(3)
    Y = rng.integers(0, 3, 1500)
    X = np.eye(3, 4)[Y] * 2 + rng.normal(0, 0.3, (1500, 4))
    X[rng.random((1500, 4)) < 0.5] = 0.0
    return lambda: _PerSample().train(X, Y, 0.5)


def _dict_net():
    rng = np.random.default_rng(2)
    Y = rng.integers(0, 3, 600)
    X = np.eye(3, 6)[Y] * 2 + rng.normal(0, 0.5, (600, 6))
    wide = rng.normal(0, 0.3, (6, 32))
    params = {"W1": wide[:, ::2], "b1": np.zeros(16), "W2": rng.normal(0, 0.3, (16, 3))}
    return lambda: _batched(params, X, Y, 40)


@needs_filter
@pytest.mark.parametrize(("program", "restores"), [
    pytest.param(lambda: _per_sample(np.float64), [], id="per-sample"),
    pytest.param(lambda: _per_sample(np.float32), [], id="per-sample-float32"),
    pytest.param(_sparse_per_sample, [], id="per-sample-blank-inputs"),
    pytest.param(_dict_net, [(2400, 120)], id="dict-strided-restore")])
def test_updates_counted_in_c_observe_what_ticks_heard_one_by_one_do(program, restores, monkeypatch):
    """Most held updates are counted in C, and the report, the counts, the windows, the budget's and the loops'
    schedules, the states kept for restores (a restore of weights last held at a counted update is found) and the last
    fingerprints are those of the pure tracer's run."""
    made_c, report_c, backend_c = _observe(program(), True, monkeypatch)
    assert backend_c.restores == restores
    made_p, report_p, backend_p = _observe(program(), False, monkeypatch)
    assert made_c == made_p
    assert backend_p.counted_in_c == 0 and backend_c.counted_in_c > backend_c.updates // 2
    state_c, state_p = _state(report_c, backend_c), _state(report_p, backend_p)
    assert state_c == state_p


def test_sampled_ahead_counts_the_works_that_are_not_sampled():
    rng = random.Random(0)
    for first, per, stride in [(64, 32, 16), (16, 8, 8), (4, 4, 8)]:
        for done in [*range(300), *rng.sample(range(300, 300_000), 300)]:
            k = 0
            while k < 5000 and not sampled(done + k + 1, first=first, per_doubling=per, stride=stride):
                k += 1
            assert sampled_ahead(done, 5000, first=first, per_doubling=per, stride=stride) == k


def test_the_budget_skips_as_many_undeep_asks_as_it_says_are_ahead():
    rng = random.Random(1)
    for _ in range(100):
        asked, skipped = Budget(), Budget()
        for i in range(rng.randrange(1, 30_000)):
            work = rng.choice([None, 1.0, 5.0, 300.0]) if i < 80 else None
            asked.deep(work)
            skipped.deep(work)
        k = skipped.counted_ahead(3000)
        oracle = copy.deepcopy(asked)
        j = 0
        while j < 3000 and not oracle.deep(None):
            j += 1
        assert k == j
        skipped.skip(k)
        for _ in range(k):
            assert not asked.deep(None)
        assert (asked.asked, asked.granted) == (skipped.asked, skipped.granted)
        assert math.isclose(asked.work, skipped.work)
        assert asked.deep(None) == skipped.deep(None)


def test_the_loops_schedule_says_how_many_updates_it_would_not_read_at(monkeypatch):
    """LoopProgress.quiet_ahead against at_update itself (its reads are counted through the frame reader)."""
    import netdoctor.observe.loops as loops

    reads: list[int] = []
    monkeypatch.setattr(loops, "_read", lambda frame, user_code: reads.append(1) or [])
    rng = random.Random(2)
    for _ in range(60):
        progress = LoopProgress(lambda code: True)
        progress.asked = rng.randrange(0, 100_000)
        progress._total = rng.choice([None, rng.randrange(100, 200_000)])
        updates = rng.randrange(0, 200_000)
        k = progress.quiet_ahead(updates, 4096)
        reads.clear()
        j = 0
        while j < 4096 and not reads:
            progress.at_update(object(), updates + j + 1)  # type: ignore[arg-type]
            j += 1
        assert k == (j - 1 if reads else j)


_INLINE = """
import numpy as np

rng = np.random.default_rng(0)
labels = rng.integers(0, 3, 500)
X = np.eye(3, 5)[labels] * 2 + rng.normal(0, 0.5, (500, 5))
T = np.eye(3)[labels]
W1, b1 = rng.normal(0, 0.3, (5, 6)), np.zeros(6)
W2, b2 = rng.normal(0, 0.3, (6, 3)), np.zeros(3)
for _epoch in range(EPOCHS):
    for x, t in zip(X, T):
        h = np.tanh(x @ W1 + b1)
        d_out = h @ W2 + b2 - t
        d_h = (W2 @ d_out) * (1 - h ** 2)
        W2 -= 0.05 * np.outer(h, d_out)
        b2 -= 0.05 * d_out
        W1 -= 0.05 * np.outer(x, d_h)
        b1 -= 0.05 * d_h
"""


@needs_filter
def test_a_module_level_loop_is_counted_in_c_past_its_first_updates_and_says_its_targets_are_sampled(tmp_path,
                                                                                                     monkeypatch):
    """A loop with nothing to hold (module-level, inline targets) is counted in C from update INLINE_FROM on: every
    count and schedule as the pure tracer's, the targets of the updates counted in C not read and the header saying
    in how many windows they were."""
    import runpy

    from netdoctor.observe.numpy.counting import INLINE_FROM

    script = tmp_path / "inline_loop.py"
    script.write_text(_INLINE.replace("EPOCHS", "24"))  # 12,000 updates
    made_c, report_c, backend_c = _observe(lambda: runpy.run_path(str(script)), True, monkeypatch)
    made_p, report_p, backend_p = _observe(lambda: runpy.run_path(str(script)), False, monkeypatch)
    assert backend_c.updates == backend_p.updates == 12_000
    unread = backend_c.targets_unread
    assert backend_c.counted_in_c == unread and 0.5 * (12_000 - INLINE_FROM) < unread < 12_000 - INLINE_FROM
    assert backend_c.target_samples == backend_p.target_samples - unread
    assert backend_c.target_samples >= INLINE_FROM  # every one of the first updates' targets read
    assert all(backend_c.targets[k] <= n for k, n in backend_p.targets.items())
    # one sample a window: the windows whose targets were read are the samples read
    assert f"(read in {backend_c.target_samples:,} of the 12,000 update windows, the others counted only)" in (
        report_c.context["training"])
    state_c, state_p = _state(report_c, backend_c), _state(report_p, backend_p)
    for state in (state_c, state_p):
        for key in ("training", "samples_observed"):
            state["context"].pop(key)
    assert state_c == state_p


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_quick_entries_of_a_counted_update_are_read_from_its_fingerprint_where_the_plan_put_them(dtype):
    """``_counted_updates`` takes the quick entries (``_q``) from the fingerprint bytes C hands over, at the positions
    ``_quick_places`` works out once per plan (the last of equal positions, as a dict of the positions keeps):
    the values reading the array there gives."""
    import types

    from netdoctor.observe.numpy.arrays import fingerprint
    from netdoctor.observe.numpy.counting import _quick_places

    rng = np.random.default_rng(1)
    arrays = [rng.normal(size=(5, 4)).astype(dtype), rng.normal(size=7).astype(dtype)]
    fp_idx = [np.array([0, 3, 3, 7, 11, 19]), np.array([6, 2, 2, 5])]  # a repeated position, out of order
    quick = [(3, 11, 19), (2, 2, 6)]
    plan = [(None, i, j, k, int(idx.max()), idx) for (i, j, k), idx in zip(quick, fp_idx)]
    backend = types.SimpleNamespace(_quick_plan=plan, _quick_where=None)
    places = _quick_places(backend)
    assert places == [(2, 4, 5), (2, 2, 0)]  # the last of the two 3s and of the two 2s
    assert _quick_places(backend) is places  # worked out once for this plan
    for a, idx, (i, j, k), (pi, pj, pk) in zip(arrays, fp_idx, quick, places):
        values = np.frombuffer(fingerprint(a, idx)[1], dtype=a.dtype)
        assert (values.item(pi), values.item(pj), values.item(pk)) == (a.flat[i].item(), a.flat[j].item(), a.flat[k].item())
    backend._quick_plan = plan[:1]  # another plan: worked out again
    assert _quick_places(backend) == places[:1]
