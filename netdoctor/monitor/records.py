"""What a :class:`~netdoctor.monitor.callback.TrainingMonitor` records, as typed dicts.

The records stay plain dicts at run time (they go into ``Report.sections``
and JSON as they are, and users read them by key in notebooks); these
``TypedDict`` classes name every key and its type so that the rules, the
report and the plots that read them are checked.

* :class:`LayerStats` / :class:`LayerRecord`: one layer on the probe batch;
* :class:`ProbeRecord`: one probe (layers, norms, update ratios, output);
* :class:`EvalRecord`: one epoch end's prediction of the evaluation data;
* :class:`InitialRecord`: the untrained model's loss and output spread;
* :class:`NonFiniteRecord`: where the first NaN/Inf appeared.

Keys that are only present sometimes are in a ``total=False`` subclass.
"""

from __future__ import annotations

from typing import Literal, TypedDict

__all__ = ["LayerStats", "LayerRecord", "ProbeRecord", "EvalRecord", "InitialRecord", "NonFiniteRecord"]


class LayerStats(TypedDict):
    """One layer's activations ``a`` (N, units) on the probe batch (:func:`~netdoctor.monitor.layer_stats.layer_stats`)."""

    activation: str
    """The activation's name (``tanh``, ``relu``, ..., or ``unknown``)."""
    units: int
    saturation: float | None
    """Share of entries in the flat ends; None for activations without flat ends."""
    dead: float
    """Share of units constant over the probe batch (or never positive, relu family)."""
    act_mean: float
    act_std: float
    hist: list[int]
    """Histogram counts of the values over ``hist_range``."""
    hist_range: list[float | None]
    """``[lo, hi]`` of the histogram; ``[None, None]`` when the values are not finite."""
    finite: bool
    guessed: bool
    """The activation's name is a guess from the range of the values (no pre-activation was seen to name it from)."""


class LayerRecord(LayerStats):
    """:class:`LayerStats` placed in the network: 1-based ``layer`` and its ``role``."""

    layer: int
    role: Literal["hidden", "output"]


class _ProbeRequired(TypedDict):
    step: int
    epoch: int
    layers: list[LayerRecord]
    """One record per layer (empty for a model without ``activations``)."""
    update_ratios: dict[str, float]
    """``||W_after - W_before|| / ||W_before||`` of one real step per tensor (empty when no step was watched)."""
    weight_norms: dict[str, float]
    layer_of: dict[str, int]
    """Tensor name -> the 1-based layer it feeds (empty when unknown)."""


class ProbeRecord(_ProbeRequired, total=False):
    """One look at the network through the probe batch, at ``step``."""

    loss: float
    """Loss on the probe batch (models with ``loss``)."""
    grad_norms: dict[str, float]
    """Gradient norm per tensor on the probe batch (models with ``loss``)."""
    output_spread: float
    """Output std across probe rows, averaged over output units (finite outputs only)."""
    output_scale: float
    """Mean absolute output."""
    pred_counts: list[int]
    """How often each output unit is the argmax over the probe rows."""
    tied_argmax: float
    """Share of probe rows whose largest output is shared by several units."""


class EvalRecord(TypedDict):
    """One prediction pass over the evaluation data at an epoch end (:func:`~netdoctor.monitor.evaluation.evaluate`)."""

    epoch: int
    eval_accuracy: float
    confusion: list[list[int]]
    """(C, C) counts: rows true labels, columns predicted labels."""
    pred_counts: list[int]
    label_counts: list[int]


class InitialRecord(TypedDict):
    """The model before its first update."""

    loss: float | None
    expected: float | None
    """The loss an untrained model should show (:func:`~netdoctor.nn.losses.expected_initial_loss`), when known."""
    output_spread: float | None


class _NonFiniteRequired(TypedDict):
    step: int
    loss: float
    tensors: list[str]
    """Parameter tensors holding NaN/Inf now."""
    exact: bool
    """True when the layer was located with the weights the failing step started from."""
    layer: int | None
    """1-based first layer with non-finite activations (0: the input batch; None: all finite)."""
    where: str
    """The place in words, for messages."""
    last_finite_loss: float | None


class NonFiniteRecord(_NonFiniteRequired, total=False):
    """Where the first NaN/Inf appeared (:func:`~netdoctor.monitor.nonfinite.locate_nonfinite`)."""

    tensors_before_step: list[str]
    """Tensors already non-finite before the failing step (with the guard copy)."""
    inputs_nonfinite: bool
    """The failing step's input batch itself held NaN/Inf."""
