"""What :func:`~netdoctor.diagnosis.pipeline.diagnose` puts into ``Report.sections``, as typed dicts.

The sections stay plain dicts and lists at run time (``Report.to_dict`` and
``--json`` write them as they are; renderers and plots read them by key);
:class:`ReportSections` names every section and the type of its entries:

* ``history``: :class:`HistoryRow` per epoch;
* ``layers``: :class:`LayerRow` per layer, from the last probe;
* ``probes``: every probe, compacted for the plots
  (:func:`netdoctor.report.plots.probes.compact_probes`);
* ``confusion`` / ``predictions``: :class:`ConfusionSection` / :class:`PredictionsSection`
  at the last epoch end;
* ``experiments``: one line of text per confirming experiment;
* ``gradcheck``: ``GradcheckResult.to_dict()``;
* ``probe``: the update probe's summary numbers (``lr``, ``lr_effective``, ...);
* ``baseline``: :class:`BaselineSection`, the reference MLP trained the same way;
* ``non_finite``: where the first NaN/Inf appeared;
* ``data``: the data summary object shown before training.
"""

from __future__ import annotations

from typing import Any, TypedDict

from netdoctor.monitor.records import NonFiniteRecord

__all__ = [
    "ReportSections", "HistoryRow", "LayerRow", "ConfusionSection", "PredictionsSection", "BaselineSection",
    "UpdateProbeSummary", "ExperimentLines",
]

UpdateProbeSummary = dict[str, "float | int | str | bool | None"]
"""The update probe's scalar evidence: ``lr``, ``batch_size``, ``lr_effective``, ``lr_factor``, ``history_weight``, ..."""
ExperimentLines = dict[str, str]
"""Experiment (``"overfit 16 examples"``) -> its result in words."""


class HistoryRow(TypedDict, total=False):
    """One epoch: ``test_accuracy`` with test data, else ``eval_accuracy`` (on training rows)."""

    epoch: int | None
    loss: float | None
    train_accuracy: float | None
    test_accuracy: float | None
    eval_accuracy: float | None


class LayerRow(TypedDict):
    """One layer at the last probe, with the norms of its weight tensor."""

    layer: str
    """``"1 hidden"``, ``"2 output"``."""
    activation: str
    units: int
    saturation: float | None
    dead: float
    act_mean: float
    act_std: float
    tensors: list[str]
    """Parameter tensors feeding the layer."""
    grad_norm: float | None
    """||dL/dW|| of its weight tensor on the probe batch."""
    update_ratio: float | None
    """||W_after - W_before|| / ||W_before|| of its weight tensor over one step (the last probe that measured one)."""
    hist: list[int]
    hist_range: list[float | None]


class ConfusionSection(TypedDict):
    labels: list[int]
    matrix: list[list[int]]
    """(C, C): rows true labels, columns predicted labels."""
    on: str
    epoch: int


class PredictionsSection(TypedDict):
    labels: list[int]
    counts: list[int]
    on: str


class BaselineSection(TypedDict):
    """The reference MLP trained with the user's data, learning rate, batch size, epochs and seed."""

    model: str
    accuracy: float | None
    final_loss: float | None
    epochs: int
    lr: float
    batch_size: int
    seed: int


class ReportSections(TypedDict, total=False):
    """``Report.sections``: every key is optional; renderers show the ones present."""

    data: Any
    """A :class:`~netdoctor.data.summary.DataSummary` (or anything that renders itself)."""
    gradcheck: dict[str, Any]
    probe: UpdateProbeSummary
    history: list[HistoryRow]
    layers: list[LayerRow]
    probes: list[dict[str, Any]]
    confusion: ConfusionSection
    predictions: PredictionsSection
    non_finite: NonFiniteRecord
    experiments: ExperimentLines
    baseline: BaselineSection | None
