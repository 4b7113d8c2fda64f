"""The light counters of every training step (netdoctor.observe.torch.counts) against a confusion matrix counted in NumPy."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from netdoctor.observe.torch.counts import PENDING, SEGMENT_ROWS, SEGMENTS, Segment, StepCounts  # noqa: E402
from netdoctor.observe.torch.rules import chance_level, label_entropy, still_rising  # noqa: E402


def confusion(labels: np.ndarray, predicted: np.ndarray, classes: int) -> np.ndarray:
    out = np.zeros((classes, classes), dtype=int)
    for t, p in zip(labels, predicted):
        if t >= 0:
            out[t, p] += 1
    return out


def test_a_segment_is_the_confusion_matrix_of_its_batches_with_ignored_rows_left_out():
    gen = torch.Generator().manual_seed(0)
    counts = StepCounts(torch)
    xs, ts = [], []
    for step in (3, 4):
        x = torch.randn(40, 5, generator=gen)
        t = torch.randint(0, 5, (40,), generator=gen)
        t[::7] = -100  # cross_entropy's ignore_index
        counts.add(x, t, step)
        xs.append(x), ts.append(t)
    counts.close(4)
    (seg,) = counts.segments
    x, t = torch.cat(xs).numpy(), torch.cat(ts).numpy()
    want = confusion(t, x.argmax(1), 5)
    assert (seg.first, seg.last) == (3, 4)
    assert np.array_equal(np.array(seg.confusion), want)
    assert seg.rows == int((t >= 0).sum()) and seg.correct == int(np.trace(want))
    assert seg.labels() == want.sum(1).tolist() and seg.predicted() == want.sum(0).tolist()


def test_counting_stops_at_the_row_cap_and_resumes_in_the_next_segment():
    counts = StepCounts(torch)
    x, t = torch.randn(128, 3), torch.randint(0, 3, (128,))
    for step in range(1, 5):
        counts.add(x, t, step)
    counts.close(4)
    counts.add(x, t, 5)
    counts.close(5)
    assert [s.rows for s in counts.segments] == [SEGMENT_ROWS, 128]
    assert [(s.first, s.last) for s in counts.segments] == [(1, 4), (5, 5)]


def test_labels_past_the_row_cap_are_counted_too_and_only_the_labels():
    # Rows sorted by label (ten batches of one class each): the confusion matrix holds the first two batches' classes
    # alone, the label counts all ten (what unshuffled-data and constant-targets read).
    counts = StepCounts(torch)
    labels = np.repeat(np.arange(10), 128)
    x = torch.randn(len(labels), 10, generator=torch.Generator().manual_seed(1))
    t = torch.from_numpy(labels)
    t[5::9] = -100  # ignored rows are in no count
    for step in range(10):
        counts.add(x[128 * step:128 * (step + 1)], t[128 * step:128 * (step + 1)], step + 1)
    counts.close(10)
    (seg,) = counts.segments
    kept = t.numpy() >= 0
    assert seg.rows == int(kept[:SEGMENT_ROWS].sum()) and [k for k, n in enumerate(seg.labels()) if n] == [0, 1]
    assert seg.all_labels() == np.bincount(labels[kept], minlength=10).tolist()
    assert seg.label_rows == int(kept.sum())
    merged = seg.merged(seg)
    assert merged.all_labels() == [2 * n for n in seg.all_labels()] and merged.rows == 2 * seg.rows


def test_labels_kept_past_the_cap_are_counted_exactly_across_flushes_and_a_refilled_buffer_is_not_exact():
    # Past the cap the label tensors are kept and counted in one bincount per PENDING of them: 600 batches of 8 rows
    # (two flushes and a rest) against NumPy's count of every label fed.
    gen = torch.Generator().manual_seed(2)
    counts = StepCounts(torch)
    fed = []
    for step in range(2 * PENDING + 88):
        t = torch.randint(0, 4, (8,), generator=gen)
        counts.add(torch.randn(8, 4, generator=gen), t, step + 1)
        fed.append(t.numpy().copy())
    counts.close(2 * PENDING + 88)
    (seg,) = counts.segments
    assert seg.all_labels() == np.bincount(np.concatenate(fed), minlength=4).tolist()
    # A program that refills one label buffer in place: the tensors kept no longer hold the labels trained on, so the
    # segment says nothing exact about the labels (the confusion matrix's rows stand for them).
    buffer = torch.zeros(64, dtype=torch.long)
    for step in range(8):
        buffer.copy_(torch.randint(0, 4, (64,), generator=gen))
        counts.add(torch.randn(64, 4, generator=gen), buffer, step + 1)
    counts.close(8)
    assert counts.segments[-1].label_counts is None and counts.segments[-1].all_labels() == counts.segments[-1].labels()


def test_a_probability_row_counts_as_its_most_likely_class_and_a_tied_row_is_not_counted():
    # Class probabilities are what cross_entropy takes besides indices (one-hot, smoothed, a teacher's soft targets):
    # the class a row weighs most is the one its gradient pulls towards. The oracle: NumPy's argmax of rows whose
    # largest entry is unique.
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(12, 4, generator=gen)
    onehot = torch.nn.functional.one_hot(torch.tensor([0, 1, 2, 3]), 4).float()
    smoothed = onehot * 0.9 + 0.1 / 4
    soft = torch.randn(4, 4, generator=gen).softmax(1)
    t = torch.cat([onehot, smoothed, soft])
    t[10] = 0.25  # uniform: no most likely class
    t[11] = torch.tensor([0.5, 0.0, 0.5, 0.0])  # a mixup of two classes at one half each
    counts = StepCounts(torch)
    counts.add(x, t, 1)
    counts.close(1)
    (seg,) = counts.segments
    tn = t.numpy()
    top = np.sort(tn, axis=1)
    unique = top[:, -1] > top[:, -2]
    assert unique.tolist() == [True] * 10 + [False] * 2
    want = confusion(tn.argmax(1)[unique], x.numpy().argmax(1)[unique], 4)
    assert np.array_equal(np.array(seg.confusion), want) and seg.rows == 10


@pytest.mark.parametrize("x, t", [
    (torch.randn(8, 4), torch.full((8, 4), 0.25)),  # uniform probability rows: no most likely class
    (torch.randn(8, 4), torch.randint(0, 4, (8,)).int()),  # int32 targets (cross_entropy wants int64)
    (torch.randn(8), torch.randint(0, 2, (8,))),  # no class axis
    (torch.randn(8, 4), torch.randint(0, 4, (6,))),  # rows that do not match
], ids=["tied-probabilities", "int32", "no-class-axis", "rows-mismatch"])
def test_what_is_not_one_class_index_per_row_is_not_counted(x, t):
    counts = StepCounts(torch)
    counts.add(x, t, 1)
    counts.close(1)
    assert counts.segments == []


def test_segments_beyond_the_limit_are_merged_pairwise_keeping_the_first_and_every_row():
    counts = StepCounts(torch)
    x, t = torch.randn(10, 2), torch.randint(0, 2, (10,))
    for step in range(1, SEGMENTS + 3):
        counts.add(x, t, step)
        counts.close(step)
    assert len(counts.segments) <= SEGMENTS and counts.segments[0].first == counts.segments[0].last == 1
    assert sum(s.rows for s in counts.segments) == 10 * (SEGMENTS + 2)
    assert counts.segments[-1].last == SEGMENTS + 2


def _segment(first: int, last: int, labels: list[int], correct: int) -> Segment:
    """A confusion matrix with ``labels[k]`` rows of class k, ``correct`` of them (taken from the first classes) right."""
    K = len(labels)
    rows = []
    left = correct
    for k, n in enumerate(labels):
        hit = min(n, left)
        left -= hit
        row = [0] * K
        row[k] += hit
        row[(k + 1) % K] += n - hit
        rows.append(row)
    return Segment(first, last, rows)


def test_chance_is_the_most_common_labels_share_and_its_binomial_standard_error():
    seg = _segment(1, 10, [60, 50, 74, 43, 52, 52, 51, 50, 53, 43], 80)
    chance, se = chance_level(seg)
    assert chance == pytest.approx(74 / 528)
    assert se == pytest.approx(math.sqrt(chance * (1 - chance) / 528))
    assert chance_level(_segment(1, 2, [100, 100], 10))[0] == pytest.approx(0.5)
    # The entropy of the labels is the cross-entropy of answering their shares: ln K when balanced.
    assert label_entropy(_segment(1, 2, [30] * 10, 3)) == pytest.approx(math.log(10))
    p = torch.tensor([60, 50, 74, 43, 52, 52, 51, 50, 53, 43]) / 528.0
    assert label_entropy(seg) == pytest.approx(float(-(p * p.log()).sum()), rel=1e-6)


def test_climbing_from_an_unlucky_start_back_to_chance_is_not_still_learning():
    # Generated style 632, features and labels shuffled apart: 7.0% on the first 256 rows, 15.2% on the last 528,
    # whose most common label is 14.0% of them. Above the start by 3.2 standard errors, within one of chance.
    start = _segment(22, 25, [26] * 9 + [22], 18)
    end = _segment(49, 68, [60, 50, 74, 43, 52, 52, 51, 50, 53, 43], 80)
    assert not still_rising(start, end)
    # A slow learner at 25% on the same rows has left chance behind (7.5 standard errors): still learning.
    assert still_rising(start, _segment(49, 68, [60, 50, 74, 43, 52, 52, 51, 50, 53, 43], 132))
    # ... but not when it started as high (no climb).
    assert not still_rising(_segment(22, 25, [26] * 9 + [22], 64), _segment(49, 68, [60, 50, 74, 43, 52, 52, 51, 50, 53, 43], 132))
