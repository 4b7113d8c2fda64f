"""The evidence the rules read, as typed dicts.

:func:`netdoctor.diagnosis.rules.collect_evidence` builds one :class:`Evidence`
from a :class:`~netdoctor.monitor.callback.TrainingMonitor` and the training
:class:`~netdoctor.nn.training.History`; every rule in
:mod:`netdoctor.diagnosis.rules_training` and :mod:`netdoctor.diagnosis.rules_outputs`
takes it. The evidence stays a plain dict at run time (tests plant it by
hand), and these classes let the type checker see every key the rules read.
"""

from __future__ import annotations

from typing import TypedDict

from netdoctor.monitor.records import InitialRecord, NonFiniteRecord, ProbeRecord

__all__ = ["Evidence", "EpochEvidence", "DataScale"]


class EpochEvidence(TypedDict, total=False):
    """One epoch: the training loop's record merged with the monitor's evaluation at its end."""

    epoch: int
    loss: float
    train_accuracy: float | None
    test_accuracy: float | None
    eval_accuracy: float
    confusion: list[list[int]]
    """(C, C) counts on the evaluation data: rows true labels, columns predicted."""
    pred_counts: list[int]
    label_counts: list[int]


class DataScale(TypedDict):
    """Range and moments of (a sample of up to 4,096 rows of) the training inputs."""

    x_min: float
    x_max: float
    x_mean: float
    x_std: float
    whole: bool
    """Every value a whole number (0..255 pixels are, standardised features are not)."""


class _EvidenceRequired(TypedDict):
    initial: InitialRecord
    probes: list[ProbeRecord]
    epochs: list[EpochEvidence]
    step_losses: list[float]
    steps_per_epoch: int
    nonfinite: NonFiniteRecord | None
    eval_name: str
    """What the evaluation rows are ("test data"), for messages."""
    n_classes: int | None
    lr: float | None
    batch_size: int | None
    label_noun: str
    """How messages name a label's rows ("images of digit")."""
    reduce: str | None
    """The model's gradient reduction over the batch (``mean`` or ``sum``) when it says."""


class Evidence(_EvidenceRequired, total=False):
    """Everything the rules see of one monitored training run."""

    data: DataScale
    """Present when the training inputs were given."""
