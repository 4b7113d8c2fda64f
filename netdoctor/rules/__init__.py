"""Every finding code decided and worded once, from typed evidence.

The recorders (the training monitor of ``check``, the update probe, the NumPy
and PyTorch observers of ``run``) measure and build the records of
:mod:`netdoctor.rules.evidence`; one rule per finding code, grouped by concept,
turns them into findings with one threshold (:mod:`netdoctor.rules.policy`),
one severity policy and one sentence:

* :mod:`~netdoctor.rules.activations`: ``saturated-activations``, ``dead-units``;
* :mod:`~netdoctor.rules.outputs`: ``constant-output``, ``class-collapse``, ``no-learning``;
* :mod:`~netdoctor.rules.stability`: ``non-finite``, ``exploding-gradients``, ``vanishing-gradients``;
* :mod:`~netdoctor.rules.learning_rate`: ``learning-rate-too-high``, ``learning-rate-too-low``;
* :mod:`~netdoctor.rules.learning`: whether the run learns (no code of its own: the rules above read it);
* :mod:`~netdoctor.rules.updates`: ``stale-accumulator``, ``summed-gradient``;
* :mod:`~netdoctor.rules.targets`: ``constant-targets``;
* :mod:`~netdoctor.rules.oddities`: ``odd-values`` (a data file's cells or labels unlike all the others);
* :mod:`~netdoctor.rules.backprop`: ``gradient-mismatch`` of the updates ``netdoctor run`` checked;
* :mod:`~netdoctor.rules.frozen`: ``frozen-parameters`` (one finding per reason of :data:`~netdoctor.rules.frozen.FROZEN_REASONS`);
* :mod:`~netdoctor.rules.mutation`: ``mutated-constant``; :mod:`~netdoctor.rules.sharing`: ``aliased-buffers``;
* :mod:`~netdoctor.rules.losses`: ``double-softmax``, ``missing-log-softmax``; :mod:`~netdoctor.rules.coupling`: ``batch-leak``;
* :mod:`~netdoctor.rules.inputs`: ``unscaled-inputs``, ``bad-initial-loss``; :mod:`~netdoctor.rules.fit`: ``update-mismatch``;
* :mod:`~netdoctor.rules.accuracy`: ``label-permutation``, ``accuracy-plateau``;
* :mod:`~netdoctor.rules.overfit`: ``cannot-overfit`` (``check``'s tiny-batch experiment);
* :mod:`~netdoctor.rules.reference`: ``reference-comparison`` (``check --model`` against the reference MLP);
* :mod:`~netdoctor.rules.modes`: ``eval-mode-training``, ``train-mode-evaluation`` (PyTorch's train/eval modes);
* :mod:`~netdoctor.rules.batches`: ``unshuffled-data`` (batches of rows grouped by label);
* :mod:`~netdoctor.rules.causes`: the causal graph that links findings, root causes first.

``docs/findings.md`` lists every code with the module that decides it
(``grep -rn '"summed-gradient"' netdoctor/rules`` finds where one is decided).
"""

from typing import TYPE_CHECKING

from netdoctor._lazy import lazy_face

if TYPE_CHECKING:
    from netdoctor.rules.accuracy import accuracy_plateau, label_permutation
    from netdoctor.rules.activations import dead_units, saturated_activations
    from netdoctor.rules.backprop import gradient_mismatch_in_updates
    from netdoctor.rules.batches import unshuffled_data
    from netdoctor.rules.causes import CAUSES, link_causes
    from netdoctor.rules.coupling import batch_leak
    from netdoctor.rules.evidence import (
        AccuracyTrace,
        BatchClasses,
        BatchCoupling,
        BatchScale,
        CarryOver,
        Confusion,
        FrozenGroup,
        FrozenParameters,
        GradientScale,
        InitialLoss,
        InitScale,
        InputRange,
        LayerActivity,
        LayerFlow,
        LayerReach,
        LearningRateHistory,
        LossInputs,
        Mutation,
        NonFinite,
        NormTrace,
        OddValues,
        OutputSpread,
        Predictions,
        SharedMemory,
        TargetBuilder,
        TargetCounts,
        TrainingCurve,
        UpdateFit,
        UpdateSizes,
    )
    from netdoctor.rules.fit import update_mismatch
    from netdoctor.rules.frozen import frozen_parameters
    from netdoctor.rules.inputs import bad_initial_loss, unscaled_inputs
    from netdoctor.rules.learning import learns, learns_well
    from netdoctor.rules.learning_rate import learning_rate_too_high, learning_rate_too_low
    from netdoctor.rules.losses import double_softmax, missing_log_softmax
    from netdoctor.rules.modes import eval_mode_training, train_mode_evaluation
    from netdoctor.rules.mutation import mutated_constant
    from netdoctor.rules.oddities import odd_values
    from netdoctor.rules.outputs import class_collapse, constant_output, no_learning
    from netdoctor.rules.overfit import TinyBatchFit, cannot_overfit
    from netdoctor.rules.policy import Framework
    from netdoctor.rules.reference import ReferenceRun, reference_comparison
    from netdoctor.rules.sharing import aliased_buffers
    from netdoctor.rules.stability import exploding_gradients, non_finite, vanishing_gradients, vanishing_through_layers
    from netdoctor.rules.targets import constant_targets
    from netdoctor.rules.updates import stale_accumulator, summed_gradient

_EXPORTS = {
    "Framework": "policy",
    "gradient_mismatch_in_updates": "backprop",
    "CAUSES": "causes",
    "link_causes": "causes",
    **{name: "evidence" for name in ("AccuracyTrace", "BatchClasses", "BatchCoupling", "BatchScale", "CarryOver", "Confusion", "FrozenGroup", "FrozenParameters", "GradientScale", "InitScale", "InitialLoss", "InputRange", "LayerActivity", "LayerFlow", "LayerReach", "LearningRateHistory", "LossInputs", "Mutation", "NonFinite", "NormTrace", "OddValues", "OutputSpread", "Predictions", "SharedMemory", "TargetBuilder", "TargetCounts", "TrainingCurve", "UpdateFit", "UpdateSizes")},
    "saturated_activations": "activations",
    "dead_units": "activations",
    "constant_output": "outputs",
    "class_collapse": "outputs",
    "non_finite": "stability",
    "exploding_gradients": "stability",
    "vanishing_gradients": "stability",
    "vanishing_through_layers": "stability",
    "learning_rate_too_high": "learning_rate",
    "learning_rate_too_low": "learning_rate",
    "learns": "learning",
    "learns_well": "learning",
    "stale_accumulator": "updates",
    "summed_gradient": "updates",
    "constant_targets": "targets",
    "odd_values": "oddities",
    "no_learning": "outputs",
    "frozen_parameters": "frozen",
    "mutated_constant": "mutation",
    "aliased_buffers": "sharing",
    "double_softmax": "losses",
    "missing_log_softmax": "losses",
    "batch_leak": "coupling",
    "unscaled_inputs": "inputs",
    "bad_initial_loss": "inputs",
    "update_mismatch": "fit",
    "label_permutation": "accuracy",
    "accuracy_plateau": "accuracy",
    "eval_mode_training": "modes",
    "ReferenceRun": "reference",
    "TinyBatchFit": "overfit",
    "cannot_overfit": "overfit",
    "reference_comparison": "reference",
    "train_mode_evaluation": "modes",
    "unshuffled_data": "batches",
}
__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy_face(__name__, _EXPORTS)
