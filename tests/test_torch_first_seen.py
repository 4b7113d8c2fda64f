"""Rows seen for the first time (``netdoctor.observe.torch.first_seen``) against a plain set of the rows' values.

The oracle keeps each row as the tuple of its values: a row is first seen when its tuple was not seen before. The
fingerprints must agree with it whatever batch a row comes in, and the counts of right answers on first-seen rows
and on rows seen before must be those counted row by row.
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from netdoctor.observe.torch.first_seen import QUIET_CALLS, FirstSeenRows, graph_rows  # noqa: E402


def _feed(fs: FirstSeenRows, x, scores, t, step):
    fs.note_forward(x, scores)
    fs.add(scores, t, step)


def test_first_seen_rows_and_right_answers_match_a_set_of_row_values():
    gen = torch.Generator().manual_seed(0)
    data = torch.rand(300, 784, generator=gen)
    data[::7] = 0.0  # rows that agree on every column are one row
    labels = torch.randint(0, 10, (300,), generator=gen)
    fs = FirstSeenRows(torch)
    oracle: set[tuple[float, ...]] = set()
    want = {"new_rows": 0, "new_correct": 0, "old_rows": 0, "old_correct": 0}
    for step in range(1, 40):
        idx = torch.randint(0, 300, (int(torch.randint(5, 40, (1,), generator=gen)),), generator=gen)
        x, t = data[idx], labels[idx]
        scores = torch.randn(len(idx), 10, generator=gen)
        right = (scores.argmax(1) == t).tolist()
        for row, ok in zip(x.tolist(), right):
            key = tuple(row)
            kind = "old" if key in oracle else "new"
            oracle.add(key)
            want[f"{kind}_rows"] += 1
            want[f"{kind}_correct"] += int(ok)
        _feed(fs, x, scores, t, step)
    got = {k: sum(getattr(b, k) for b in fs.blocks) for k in want}
    assert got == want and want["old_rows"] > 0 and want["new_rows"] > 0


def test_a_row_in_float64_or_integers_is_the_same_row_in_any_batch_and_the_first_pass_ends():
    x = (torch.arange(20 * 6, dtype=torch.int64).reshape(20, 6) % 11)
    fs = FirstSeenRows(torch)
    scores, t = torch.zeros(20, 3), torch.zeros(20, dtype=torch.long)
    _feed(fs, x, scores, t, 1)
    assert sum(b.new_rows for b in fs.blocks) == len({tuple(r) for r in x.tolist()})
    for step in range(2, 2 + QUIET_CALLS):
        perm = torch.randperm(20)
        _feed(fs, x[perm].double(), scores, t, step)  # the same values, another dtype and order: seen before
    assert sum(b.new_rows for b in fs.blocks[1:]) == 0
    assert fs.done and fs.pass_over and not fs.seen  # the set is given back once the data repeats whole
    assert fs.seen_before(2, 2 + QUIET_CALLS)


def _oracle_counts(calls):
    """New and seen-before rows and right answers counted row by row on the rows' values (the tuples)."""
    oracle: set[tuple[float, ...]] = set()
    want = {"new_rows": 0, "new_correct": 0, "old_rows": 0, "old_correct": 0}
    for x, scores, t in calls:
        for row, ok in zip(x.reshape(len(x), -1).tolist(), (scores.argmax(1) == t).tolist()):
            kind = "old" if tuple(row) in oracle else "new"
            oracle.add(tuple(row))
            want[f"{kind}_rows"] += 1
            want[f"{kind}_correct"] += int(ok)
    return want


def _got(fs: FirstSeenRows):
    return {k: sum(getattr(b, k) for b in fs.blocks) for k in ("new_rows", "new_correct", "old_rows", "old_correct")}


def test_batches_kept_between_calls_are_read_as_they_were_at_their_call():
    """Calls are fingerprinted together after several of them: a batch taken by index (a new tensor each call) is kept
    as it is, a slice of the data set is copied at its call, so shuffling the data set in place between epochs (the
    slices' base changes) changes no count."""
    gen = torch.Generator().manual_seed(1)
    data, labels = torch.rand(96, 20, generator=gen), torch.randint(0, 4, (96,), generator=gen)
    fs, calls = FirstSeenRows(torch), []
    for epoch in range(3):
        perm = torch.randperm(96, generator=gen)
        data[:], labels[:] = data[perm].clone(), labels[perm].clone()  # shuffled in place: slices see new rows
        for i in range(0, 96, 16):  # 18 calls: the 12 after the first pass stay under QUIET_CALLS
            x, t = (data[i:i + 16], labels[i:i + 16]) if epoch != 1 else (data[perm[i:i + 16]], labels[perm[i:i + 16]])
            scores = torch.randn(16, 4, generator=gen)
            calls.append((x.clone(), scores, t.clone()))
            _feed(fs, x, scores, t, len(calls))
    want = _oracle_counts(calls)
    assert _got(fs) == want and want["old_rows"] == 192 and want["new_rows"] == 96 and not fs.done


def test_a_buffer_refilled_in_place_loses_one_batch_and_is_copied_from_then_on():
    """A program that copies each batch into the same tensors: the batch kept when the refill is first seen cannot be
    read any more (not counted); every later batch is copied at its call and counted as the oracle counts it."""
    gen = torch.Generator().manual_seed(2)
    data, labels = torch.rand(64, 12, generator=gen), torch.randint(0, 3, (64,), generator=gen)
    xb, tb = torch.empty(8, 12), torch.empty(8, dtype=torch.long)
    fs, calls = FirstSeenRows(torch), []
    for _epoch in range(2):
        for i in range(0, 64, 8):
            xb.copy_(data[i:i + 8])
            tb.copy_(labels[i:i + 8])
            scores = torch.randn(8, 3, generator=gen)
            calls.append((xb.clone(), scores, tb.clone()))
            _feed(fs, xb, scores, tb, len(calls))
    assert fs.copying
    want = _oracle_counts(calls[1:])  # the first batch was refilled before it was read: its rows are new in epoch 2
    assert _got(fs) == want and want["old_rows"] == 56


@pytest.mark.parametrize("per_step, losses_per_batch", [(1, 1), (2, 1), (4, 1), (1, 2), (2, 2)],
                         ids=["step-per-batch", "accumulate-2", "accumulate-4", "aux-loss", "accumulate-2-aux-loss"])
def test_batches_per_step_counts_the_batches_of_a_step_not_its_loss_calls(per_step, losses_per_batch):
    # oracle: the program's own structure, `per_step` batches of fresh rows per optimizer step, each handed to
    # `losses_per_batch` loss calls (a second loss on the same batch, an auxiliary head, brings no new row)
    from netdoctor.observe.torch.rules import batches_per_step

    gen = torch.Generator().manual_seed(1)
    data = torch.rand(640, 784, generator=gen)
    labels = torch.randint(0, 10, (640,), generator=gen)
    fs = FirstSeenRows(torch)
    for b in range(640 // 32):
        x, t = data[32 * b:32 * (b + 1)], labels[32 * b:32 * (b + 1)]
        for _ in range(losses_per_batch):
            _feed(fs, x, torch.randn(32, 10, generator=gen), t, 1 + b // per_step)
    data_again = data[:32]
    _feed(fs, data_again, torch.randn(32, 10, generator=gen), labels[:32], 100)  # a row seen again: halves exist
    early, late = fs.halves()
    assert batches_per_step(early, late) == per_step
    assert early.calls + late.calls == 640 // 32


def _mlp_forms():
    """(name, forward(x) -> scores, first-layer weight) for models of loose tensors written in several ways."""
    gen = torch.Generator().manual_seed(3)
    W1 = torch.randn(784, 32, generator=gen).requires_grad_()
    b1 = torch.zeros(32, requires_grad=True)
    W1t = torch.randn(32, 784, generator=gen).requires_grad_()
    W2 = torch.randn(32, 10, generator=gen).requires_grad_()
    K = torch.randn(4, 1, 3, 3, generator=gen).requires_grad_()
    Wc = torch.randn(4 * 26 * 26, 10, generator=gen).requires_grad_()
    mask = (torch.rand(1, 32, generator=gen) > 0.5).float()
    return [
        ("matmul", lambda x: torch.relu(x @ W1 + b1) @ W2, W1),
        ("linear", lambda x: torch.nn.functional.linear(torch.relu(torch.nn.functional.linear(x, W1t, b1)), W2.t()), W1t),
        ("hidden dropout", lambda x: (torch.relu(x @ W1) * mask.expand(x.shape[0], 32)) @ W2, W1),
        ("conv", lambda x: torch.nn.functional.conv2d(x.view(-1, 1, 28, 28), K).flatten(1) @ Wc, K),
    ]


@pytest.mark.parametrize("form", range(4), ids=[f[0] for f in _mlp_forms()])
def test_a_loose_tensor_models_rows_are_read_from_the_graph_of_its_scores(form):
    # oracle: the batch handed to the model (the conv form sees it reshaped: the same values, row by row)
    name, forward, weight = _mlp_forms()[form]
    x = torch.rand(16, 784, generator=torch.Generator().manual_seed(form))
    found = graph_rows(torch, forward(x))
    assert found is not None, name
    rows, owner = found
    assert torch.equal(rows.reshape(16, -1), x) and owner is weight
    assert graph_rows(torch, forward(x).detach()) is None  # no graph: nothing to read


def test_a_model_built_after_a_throwaway_one_has_a_first_pass_of_its_own():
    # oracle: the rows each model has been handed before (a set of row tuples per model)
    gen = torch.Generator().manual_seed(1)
    data, labels = torch.rand(200, 784, generator=gen), torch.randint(0, 10, (200,), generator=gen)
    fs = FirstSeenRows(torch)
    throwaway, model = torch.nn.Linear(1, 1), torch.nn.Linear(1, 1)
    owners = {}

    def feed(owner, idx, step):
        scores = torch.randn(len(idx), 10, generator=gen)
        fs.note_forward(data[idx], scores, owner, step)
        fs.add(scores, labels[idx], step)
        seen = owners.setdefault(id(owner), set())
        new = sum(tuple(r) not in seen for r in data[idx].tolist())
        seen.update(tuple(r) for r in data[idx].tolist())
        return new

    for step in range(1, QUIET_CALLS + 3):  # one batch, again and again: the throwaway's pass is over
        feed(throwaway, torch.arange(32), step)
    fs.flush()
    assert fs.done
    want_new = 0
    for k, step in enumerate(range(QUIET_CALLS + 3, QUIET_CALLS + 13)):
        want_new += feed(model, torch.arange(16 * k, 16 * k + 16), step)
    assert not fs.done and fs.restarts == 1
    got = sum(b.new_rows for b in fs.blocks if b.first >= QUIET_CALLS + 3)
    assert got == want_new == 160  # its first batch too: rows the throwaway saw are new to the real model


@pytest.mark.parametrize("tie", ["follow", "shuffled"])
def test_a_rows_nearest_neighbour_is_asked_for_its_label_as_numpy_finds_it(tie):
    # oracle: leave-one-out 1-nearest-neighbour by a NumPy distance matrix over the distinct (value-tuple) labelled rows,
    # the chance of a match sum_k n_k (n_k - 1) / (n (n - 1)) counted from the labels; 20 columns, all fingerprinted
    import numpy as np

    gen = torch.Generator().manual_seed(4)
    centres = torch.randn(5, 20, generator=gen) * 3
    labels = torch.randint(0, 5, (300,), generator=gen)
    data = centres[labels] + torch.randn(300, 20, generator=gen)  # rows near their label's centre
    data[::9] = data[0]  # rows equal to the first: one row, kept once with its first label
    if tie == "shuffled":
        labels = labels[torch.randperm(300, generator=gen)]  # labels shuffled apart from the rows
    labels[5] = -1  # a row without a label is not kept
    fs = FirstSeenRows(torch)
    for step, i in enumerate(range(0, 300, 25), 1):
        _feed(fs, data[i:i + 25], torch.randn(25, 5, generator=gen), labels[i:i + 25], step)
    kept, seen = [], set()
    for row, label in zip(data.tolist(), labels.tolist()):
        if label >= 0 and tuple(row) not in seen:
            seen.add(tuple(row))
            kept.append((row, label))
    x, y = np.array([r for r, _ in kept]), np.array([t for _, t in kept])
    d = np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(-1))
    np.fill_diagonal(d, np.inf)
    hits = int((y[d.argmin(1)] == y).sum())
    counts = np.bincount(y)
    chance = float((counts * (counts - 1)).sum() / (len(y) * (len(y) - 1)))
    n, got_hits, got_chance = fs.neighbours()
    assert (n, got_hits) == (len(y), hits) and got_chance == pytest.approx(chance)
    assert (hits / n > 0.9) if tie == "follow" else (abs(hits / n - chance) < 0.1)
