"""The light counters of every training step (netdoctor.observe.torch.counts) against a confusion matrix counted in NumPy."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from netdoctor.observe.torch.counts import SEGMENT_ROWS, SEGMENTS, Segment, StepCounts  # noqa: E402
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


@pytest.mark.parametrize("x, t", [
    (torch.randn(8, 4), torch.rand(8, 4)),  # probability targets
    (torch.randn(8, 4), torch.randint(0, 4, (8,)).int()),  # int32 targets (cross_entropy wants int64)
    (torch.randn(8), torch.randint(0, 2, (8,))),  # no class axis
    (torch.randn(8, 4), torch.randint(0, 4, (6,))),  # rows that do not match
], ids=["probabilities", "int32", "no-class-axis", "rows-mismatch"])
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
