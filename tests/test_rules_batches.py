"""``unshuffled-data`` (netdoctor.rules.batches) from its record: the classes a random batch holds, and the thresholds' edges."""

from __future__ import annotations

import numpy as np
import pytest

from netdoctor.findings import Severity
from netdoctor.rules.batches import expected_classes, unshuffled_data
from netdoctor.rules.evidence import BatchClasses
from netdoctor.rules.policy import UNSHUFFLED_BATCHES, UNSHUFFLED_EXPECTED, UNSHUFFLED_SHARE, Framework

BALANCED = (100,) * 10


@pytest.mark.parametrize(("counts", "rows"), [(BALANCED, 16), (BALANCED, 64), ((500, 50, 5, 1, 1), 32), ((3, 1), 4)])
def test_expected_classes_agrees_with_batches_drawn_at_random(counts, rows):
    # a second method: draw 20,000 batches with replacement from the labels and count their distinct classes
    rng = np.random.default_rng(0)
    p = np.asarray(counts, dtype=float) / sum(counts)
    draws = rng.choice(len(counts), size=(20_000, rows), p=p)
    seen = np.mean([len(np.unique(r)) for r in draws])
    assert expected_classes(counts, rows) == pytest.approx(seen, abs=0.03)


def test_expected_classes_of_closed_forms():
    assert expected_classes(BALANCED, 1) == pytest.approx(1.0)
    assert expected_classes((7, 0, 0), 50) == pytest.approx(1.0)  # one class present: one class per batch
    assert expected_classes((), 10) == 0.0


def _batches(classes: float, *, rows: float = 32, batches: int = 20, counts=BALANCED) -> BatchClasses:
    return BatchClasses(where="cross_entropy at train.py:30", batches=batches, rows=rows, classes=classes,
                        expected=expected_classes(counts, rows), label_counts=tuple(counts), framework=Framework.TORCH)


def test_sorted_batches_are_named_and_shuffled_ones_are_not():
    found = unshuffled_data(_batches(1))
    assert found is not None and found.code == "unshuffled-data" and found.severity is Severity.ERROR
    assert "hold 1 class each (median of 20 batches of 32 rows)" in found.message
    assert "span 10 classes" in found.message and "9.7" in found.message  # 10 (1 - 0.9^32) = 9.66
    assert "shuffle=True" in found.fix
    assert unshuffled_data(_batches(9)) is None  # a shuffled batch of 32 from ten balanced classes holds ~9.7


def test_unshuffled_data_at_the_thresholds_edges():
    edge = UNSHUFFLED_SHARE * expected_classes(BALANCED, 32)
    assert unshuffled_data(_batches(np.floor(edge))) is not None
    assert unshuffled_data(_batches(np.floor(edge) + 1)) is None
    assert unshuffled_data(_batches(1, batches=UNSHUFFLED_BATCHES - 1)) is None  # too few batches read
    # tiny batches or two classes: a random batch holds fewer than UNSHUFFLED_EXPECTED classes, nothing to compare
    assert expected_classes(BALANCED, 2) < UNSHUFFLED_EXPECTED and unshuffled_data(_batches(1, rows=2)) is None
    assert unshuffled_data(_batches(1, counts=(500, 500))) is None
    assert unshuffled_data(None) is None
