"""Whether a run learns, read from :class:`~netdoctor.rules.evidence.TrainingCurve`: the rules of the learning rate,
of exploding weights and of saturation ask it before they blame a run that reaches high training accuracy.

No finding code of its own: :func:`learns` and :func:`learns_well` are the one place the bar is set, and
:func:`curve_text` the one sentence every finding that read the curve states.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from netdoctor.rules.policy import LEARNS_ERROR_FELL, LEARNS_MIN_ROWS, LEARNS_SHARE, LEARNS_WELL_SHARE

if TYPE_CHECKING:  # (the records' module is not imported while a program runs: ``netdoctor run`` imports this then)
    from netdoctor.rules.evidence import TrainingCurve

__all__ = ["learns", "learns_well", "curve_text", "curve_evidence", "updates_read_text"]


def _covered(c: TrainingCurve) -> float:
    """How far the late accuracy went from chance toward every row right (0: chance, 1: all right; <= 0 when all
    targets are one class: answering it is no learning)."""
    if c.chance >= 1.0:
        return 0.0
    return (c.late - c.chance) / (1.0 - c.chance)


def _enough(c: TrainingCurve | None) -> bool:
    return c is not None and c.early_rows >= LEARNS_MIN_ROWS // 2 and c.late_rows >= LEARNS_MIN_ROWS


def learns(c: TrainingCurve | None) -> bool:
    """The late training accuracy covers at least :data:`LEARNS_SHARE` of the way from chance to all right, and the
    share of rows wrong fell to at most :data:`LEARNS_ERROR_FELL` of the early window's: the run is still getting
    better, not holding (or losing) what its first steps reached while its weights blow up."""
    return (_enough(c) and c is not None and _covered(c) >= LEARNS_SHARE
            and 1.0 - c.late <= LEARNS_ERROR_FELL * (1.0 - c.early) and not _worse_than_uniform(c))


def _worse_than_uniform(c: TrainingCurve) -> bool:
    """The late cross-entropy, when known, is above log(classes), what answering 1/classes for every class scores: the
    right answers are outweighed by confidently wrong ones (a learning rate 300x too high: 72% right at a
    cross-entropy of 46, ``einsum_rows_fast``)."""
    return (bool(c.loss) and c.classes >= 2 and c.loss_late is not None
            and not c.loss_late <= math.log(c.classes))


def learns_well(c: TrainingCurve | None) -> bool:
    """:func:`learns` by the stricter bar :data:`LEARNS_WELL_SHARE`."""
    return learns(c) and c is not None and _covered(c) >= LEARNS_WELL_SHARE


def curve_text(c: TrainingCurve) -> str:
    """``training accuracy 31% -> 100% (the outputs of forward() on the first 256 and the last 512 training rows seen,
    at updates 0-15 and at 32 of the updates 66-227 (66-67, 74-75, ...); one class for all scores 27%)``."""
    loss = (f", {c.loss} {c.loss_early:.3g} -> {c.loss_late:.3g}"
            if c.loss and c.loss_early is not None and c.loss_late is not None else "")
    return (f"training accuracy {100 * c.early:.0f}% -> {100 * c.late:.0f}%{loss} (the outputs of {c.where} on the "
            f"first {c.early_rows:,} and the last {c.late_rows:,} training rows seen, at "
            f"{updates_read_text(c.early_updates, c.early_read)} and at {updates_read_text(c.late_updates, c.late_read)}"
            f"; one class for all scores {100 * c.chance:.0f}%)")


def updates_read_text(span: tuple[int, int], runs: tuple[tuple[int, int], ...], most: int = 8) -> str:
    """The updates a window of the curve read, as the report says them: ``updates 2-17`` when it read every update
    of its span, ``32 of the updates 66-227 (66-67, 74-75, ..., 226-227)`` when it read some (a held step: the traced
    windows only). ``most``: runs listed before the list is cut (the first few and the last two; every run is in
    the JSON report's ``early_read`` / ``late_read``)."""
    first, last = span
    if not runs or runs == ((first, last),):
        return f"updates {first}-{last}" if first != last else f"update {first}"
    count = sum(b - a + 1 for a, b in runs)
    said = [f"{a}-{b}" if a != b else f"{a}" for a, b in runs]
    if len(said) > most:
        said = [*said[:most - 2], "...", *said[-2:]]
    return f"{count:,} of the updates {first}-{last} ({', '.join(said)})"


def curve_evidence(c: TrainingCurve | None) -> dict:
    """The curve's numbers for a finding's evidence (empty without a curve)."""
    if c is None:
        return {}
    return {"training_accuracy_early": c.early, "training_accuracy_late": c.late, "training_chance": c.chance,
            "training_rows": [c.early_rows, c.late_rows], "training_loss": [c.loss_early, c.loss_late] if c.loss else None}
