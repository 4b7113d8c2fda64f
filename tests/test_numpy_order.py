"""observe.numpy.order.BlockClasses: classes per block of consecutive training rows (``unshuffled-data`` in run)."""

from __future__ import annotations

import numpy as np

from netdoctor.observe.numpy.order import BLOCK_ROWS, BlockClasses
from netdoctor.rules.batches import expected_classes


def _feed(blocks: BlockClasses, labels: np.ndarray, batch: int, *, start: int = 0) -> None:
    for u, i in enumerate(range(0, len(labels), batch), start=start):
        yb = labels[i:i + batch]
        blocks.add_labels(u, np.bincount(yb, minlength=10), len(yb))


def test_sorted_rows_fill_blocks_with_one_class_after_another():
    labels = np.repeat(np.arange(10), 320)
    blocks = BlockClasses()
    _feed(blocks, labels, 32)
    ks = [k for _, k in blocks.blocks]
    assert len(blocks.blocks) == len(labels) // 32 - 1  # the last block is still open
    assert np.median(ks) == 1 and blocks.alone == set(range(10))
    assert expected_classes(np.bincount(labels).tolist(), 32) > 9


def test_shuffled_rows_fill_blocks_with_about_the_classes_of_a_random_draw():
    labels = np.random.default_rng(0).permutation(np.repeat(np.arange(10), 320))
    blocks = BlockClasses()
    _feed(blocks, labels, 32)
    median = float(np.median([k for _, k in blocks.blocks]))
    assert abs(median - expected_classes(np.bincount(labels).tolist(), 32)) <= 1.0
    assert blocks.alone == set()


def test_targets_nearly_all_one_class_fill_their_blocks_with_that_class_alone():
    # a target table written into: 82% of the targets decode as class 7, whatever the order of the rows
    rng = np.random.default_rng(1)
    labels = np.where(rng.random(1500) < 0.82, 7, rng.integers(0, 10, 1500))
    blocks = BlockClasses()
    for u, y in enumerate(labels):  # per-sample updates
        blocks.add(u, (int(y),), 1)
    assert blocks.alone <= {7}  # few classes, not rows in order: the rule asks for several classes alone


def test_a_block_never_spans_an_update_whose_targets_were_not_read():
    blocks = BlockClasses()
    for u in (0, 1, 2, 10, 11):  # updates 3-9 not read
        blocks.add(u, (u % 10,), 16)
    assert blocks.blocks == [(32, 2)]  # updates 0-1; update 2's block is dropped at the gap
    assert BLOCK_ROWS == 32


def test_a_batch_of_code_rows_counts_the_classes_of_its_largest_entries():
    """The classes of a batch of rows, counted (no sort), are np.unique's of their argmax: ties, NaN, one column."""
    rng = np.random.default_rng(0)
    for _ in range(500):
        rows = rng.choice([0.0, 1.0, 0.5, -1.0, np.nan], size=(int(rng.integers(1, 60)), int(rng.integers(1, 12))))
        blocks = BlockClasses()
        blocks.add_rows(0, rows)
        assert blocks._classes == set(np.unique(np.argmax(rows, axis=1)).tolist())
