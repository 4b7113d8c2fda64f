"""The light counters of every training step (netdoctor.observe.torch.counts) against a confusion matrix counted in NumPy."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from netdoctor.observe.torch.counts import SEGMENT_ROWS, SEGMENTS, StepCounts  # noqa: E402


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
