"""The rules package (netdoctor/rules/): one rule per finding code, fed typed evidence records.

These tests drive the rules with hand-built records, so each decision is
checked against numbers whose verdict is known in advance, and in particular
the verdicts that changed when the three roads (check, run on NumPy, run on
PyTorch) began sharing one rule per code.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from netdoctor.findings import Severity
from netdoctor.params import is_bias
from netdoctor.rules.activations import dead_units, saturated_activations, saturated_by_steps
from netdoctor.rules.evidence import (
    BatchScale,
    CarryOver,
    FrozenGroup,
    FrozenParameters,
    InitScale,
    LayerActivity,
    LayerFlow,
    LayerReach,
    Predictions,
    TargetBuilder,
    TargetCounts,
    TrainingCurve,
    UpdateSizes,
)
from netdoctor.rules.frozen import FROZEN_REASONS, frozen_parameters
from netdoctor.rules.learning_rate import first_update, learning_rate_too_high, learning_rate_too_low, settled
from netdoctor.rules.outputs import class_collapse, collapsed_onto, no_learning
from netdoctor.rules.policy import (
    ADAPTIVE_ENTRY_HIGH,
    DEAD_ERROR,
    INIT_SCALE_BLAMED,
    LR_LOW_TOTAL,
    MIN_ACTIVITY_ROWS,
    MIN_PREDICTIONS,
    SATURATION_ERROR,
    SATURATION_FLOWS,
    SATURATION_WARN,
    VANISHING_REACH,
    Framework,
    severity_by_share,
)
from netdoctor.rules.stability import vanishing_through_layers
from netdoctor.rules.targets import constant_targets, target_causes
from netdoctor.rules.updates import stale_accumulator, summed_gradient


def preds(predicted, labels=None, *, evaluated=True, correct=None, framework=Framework.NUMPY):
    return Predictions(where="evaluate()", on="inputs", predicted=tuple(predicted), framework=framework,
                       labels=None if labels is None else tuple(labels), correct=correct, evaluated=evaluated)


# -- one severity policy ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("share, error_at, expected", [(0.5, 0.9, Severity.WARNING), (0.9, 0.9, Severity.ERROR),
                                                      (0.99, 0.95, Severity.ERROR), (0.94, 0.95, Severity.WARNING)])
def test_the_severity_policy_is_an_error_from_the_error_level_on(share, error_at, expected):
    assert severity_by_share(share, error_at) is expected


def layer(sat=None, dead=None, rows=None, act="tanh"):
    return LayerActivity(where="layer 1 (tanh)", layer="layer 1", activation=act, units=30, saturation=sat, dead=dead,
                         window="over the last rows", framework=Framework.NUMPY, rows=rows)


def test_saturation_and_dead_units_share_the_thresholds_and_the_row_floor():
    assert saturated_activations([layer(sat=SATURATION_WARN - 0.01, rows=100)]) is None
    assert saturated_activations([layer(sat=SATURATION_WARN, rows=100)]).severity is Severity.WARNING
    assert saturated_activations([layer(sat=SATURATION_ERROR, rows=100)]).severity is Severity.ERROR
    # a window of a few rows is no verdict (the fixed probe batch of check, rows=None, is)
    assert saturated_activations([layer(sat=1.0, rows=MIN_ACTIVITY_ROWS - 1)]) is None
    assert saturated_activations([layer(sat=1.0)]) is not None
    f = dead_units([layer(dead=DEAD_ERROR, rows=64, act="relu")])
    assert f.severity is Severity.ERROR and "never fire" in f.message and "28 of 30 units" in f.message
    assert "do not vary" in dead_units([layer(dead=0.6, rows=64, act="tanh")]).message


@pytest.mark.parametrize("after, says, start", [(0, "starts with std 1", "(90.0% at the start)"),
                                               (3, "after 3 updates `W1` has std 1", "(90.0% after the first 3 updates)")])
def test_the_starting_scale_is_only_called_the_start_when_measured_before_any_update(after, says, start):
    init = InitScale("W1", 1.0, 784, after=after)
    sat = LayerActivity(where="layer 1 (tanh)", layer="layer 1", activation="tanh", units=30, saturation=0.95, dead=None,
                        window="over the last rows", framework=Framework.NUMPY, rows=100, saturation_at_start=0.9, init=init,
                        start_after=after)
    found = saturated_activations([sat])
    assert says in found.message and "28x the 1/sqrt(fan_in)" in found.message and start in found.message
    assert ("starts with" in found.message) is (after == 0)


@pytest.mark.parametrize("act", ["tanh", "sigmoid"])
def test_the_starting_scale_names_the_layers_own_activation_and_the_line_of_its_weights(act):
    init = InitScale("weights[0]", 1.0, 196, site="prog.py:13")
    sat = LayerActivity(where=f"layer 1 ({act})", layer="hidden layer 1", activation=act, units=32, saturation=0.62,
                        dead=None, window="over the last rows", framework=Framework.NUMPY, rows=236,
                        saturation_at_start=0.62, init=init)
    found = saturated_activations([sat])
    assert f"14x the 1/sqrt(fan_in) = 0.0714 that keeps {act} in its linear range" in found.message
    assert found.where == f"layer 1 ({act}), prog.py:13"
    assert found.evidence["init_std"] == 1.0 and found.evidence["fan_in"] == 196



def saturated(flow=None, init=None, sat=0.6):
    return LayerActivity(where="layer 1 (sigmoid)", layer="hidden layer 1", activation="sigmoid", units=30,
                         saturation=sat, dead=None, window="over the last rows", framework=Framework.NUMPY, rows=133,
                         saturation_at_start=sat, init=init, start_after=2, flow=flow)


@pytest.mark.parametrize("ratio, severity", [(0.003, Severity.WARNING), (0.2, Severity.WARNING),
                                             (SATURATION_FLOWS, Severity.INFO), (0.89, Severity.INFO)])
def test_a_saturated_layer_whose_feeding_weights_still_move_is_info(ratio, severity):
    """Saturated planted bugs measured ratios of 0.001-0.2; the textbook sigmoid net saturated by its data 0.8-0.9."""
    found = saturated_activations([saturated(LayerFlow("self.weights[0]", "self.weights[1]", ratio, 32))])
    assert found.severity is severity and found.evidence["flow_ratio"] == ratio
    assert ("still passes through it" in found.message) is (severity is Severity.INFO)
    if severity is Severity.INFO:
        assert f"moves {ratio:.2g}x as fast relative to its size as `self.weights[1]`" in found.message
        assert "Here they still move" in found.explanation


def test_a_curve_that_does_not_learn_keeps_the_warning_whatever_the_weights_do():
    stuck = TrainingCurve(where="forward()", early=0.1, early_rows=256, early_updates=(0, 10), late=0.2, late_rows=512,
                          late_updates=(90, 100), chance=0.1, classes=10)
    found = saturated_activations([saturated(LayerFlow("W1", "W2", 0.9, 32))], curve=stuck)
    assert found.severity is Severity.WARNING and "still passes" not in found.message


@pytest.mark.parametrize("times, blamed", [(1.1, False), (INIT_SCALE_BLAMED, True), (28.0, True)])
def test_the_initialisation_is_named_as_the_cause_only_when_it_is_far_above_the_fan_in_scale(times, blamed):
    init = InitScale("self.weights[0]", times / math.sqrt(784), 784, site="prog.py:22", after=2)
    found = saturated_activations([saturated(init=init)])
    assert ("that keeps sigmoid in its linear range" in found.message) is blamed
    assert (found.where == "layer 1 (sigmoid), prog.py:22") is blamed


def test_collapse_needs_enough_predictions():
    assert collapsed_onto(preds([MIN_PREDICTIONS, 0, 0])) == [0]
    assert collapsed_onto(preds([MIN_PREDICTIONS - 1, 0, 0])) is None


def test_predicting_the_majority_class_of_imbalanced_data_is_not_a_collapse():
    # 92% predictions on a class that is 85% of the labels: within 10 points of its share
    assert collapsed_onto(preds([920, 40, 40], labels=[850, 75, 75])) is None
    assert collapsed_onto(preds([920, 40, 40], labels=[100, 450, 450])) == [0]


def test_two_classes_collapse_only_completely():
    assert collapsed_onto(preds([950, 50], labels=[500, 500])) is None
    assert collapsed_onto(preds([995, 5], labels=[500, 500])) == [0]


def test_a_few_classes_collapse_on_an_evaluation_not_on_a_training_window():
    # the first 40 steps of a healthy PyTorch MNIST loop: 3 classes take every prediction, accuracy 8.8%
    counts, targets = [904, 51, 69, 0, 0, 0, 0, 0, 0, 0], [84, 115, 91, 125, 100, 93, 106, 100, 110, 100]
    assert collapsed_onto(preds(counts, targets, evaluated=False)) is None
    assert collapsed_onto(preds(counts, targets, evaluated=True)) == [0, 2]


def test_the_collapse_message_states_the_exact_signature_for_every_road():
    labels = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    f = class_collapse(preds([10000] + [0] * 9, labels))
    assert "Accuracy 9.80% = 980/10000 rows labelled 0" in f.message and f.severity is Severity.ERROR
    partial = class_collapse(preds([9500, 500] + [0] * 8, labels))
    assert "predicts 0 for 95.0%" in partial.message and "Accuracy" not in partial.message


def test_no_learning_is_not_said_beside_a_collapse_and_needs_rows():
    at_chance = preds([100] * 10, [100] * 10, correct=100)
    assert no_learning(at_chance, after="After 3 epochs").severity is Severity.ERROR
    assert no_learning(preds([10] * 10, [10] * 10, correct=10), after="x") is None  # 100 rows: too few
    collapsed = preds([1000] + [0] * 9, [100] * 10, correct=100)
    assert collapsed_onto(collapsed) is not None and no_learning(collapsed, after="x") is None
    learned = preds([100] * 10, [100] * 10, correct=900)
    assert no_learning(learned, after="x") is None


# -- the update ---------------------------------------------------------------------------------------------------
def carry(weight, *, momentum_possible=True, lr=None, windows=5, framework=Framework.NUMPY):
    return CarryOver(where="buffers", framework=framework, weight=weight, windows=windows, buffers=("dW",),
                     momentum_possible=momentum_possible, lr=lr)


def test_stale_accumulator_tells_a_forgotten_reset_from_momentum():
    assert stale_accumulator(carry(1.0)).severity is Severity.ERROR
    assert stale_accumulator(carry(0.9)) is None  # a user buffer decaying at 0.9 is momentum
    grad = stale_accumulator(carry(0.6, momentum_possible=False, framework=Framework.TORCH))
    assert grad.severity is Severity.ERROR and "zero_grad" in grad.fix  # .grad is never momentum
    assert stale_accumulator(carry(0.1, momentum_possible=False, framework=Framework.TORCH)).severity is Severity.WARNING
    assert stale_accumulator(carry(0.1, lr=0.1)).severity is Severity.WARNING  # scaled by lr, not emptied
    assert stale_accumulator(carry(1.0, windows=1)) is None


def test_stale_accumulator_is_not_said_of_buffers_each_write_replaces():
    """Carry-over 1 is a buffer still holding the last gradients at the next start; its next write replacing them
    (measured) carries nothing into a step, adding to them (measured, or not measured) does."""
    assert stale_accumulator(dataclasses.replace(carry(1.0), overwritten=True)) is None
    assert stale_accumulator(dataclasses.replace(carry(1.0), overwritten=False)).severity is Severity.ERROR


@pytest.mark.parametrize("scale, summed", [
    (BatchScale("w", Framework.CHECK, "probe", factor=100.0, batch=100), True),
    (BatchScale("w", Framework.CHECK, "probe", factor=1.0, batch=100), False),
    (BatchScale("w", Framework.NUMPY, "contributions", factor=1.02, batch=10, windows=4), True),
    (BatchScale("w", Framework.NUMPY, "contributions", factor=1.02, batch=10, windows=4, divided=True), False),
    (BatchScale("w", Framework.NUMPY, "bias", factor=95.0, batch=100, windows=3), True),
    (BatchScale("w", Framework.NUMPY, "bias", factor=0.9, batch=100, windows=3), False),
    # two windows decide only in a run that went non-finite (npx1764: 20.0 and 20.0 at batch 20), each within bounds
    (BatchScale("w", Framework.NUMPY, "bias", factor=20.0, batch=20, windows=2, blew_up=True,
                details={"ratios": [20.0, 20.0]}), True),
    (BatchScale("w", Framework.NUMPY, "bias", factor=20.0, batch=20, windows=2, details={"ratios": [20.0, 20.0]}), False),
    (BatchScale("w", Framework.NUMPY, "bias", factor=20.5, batch=20, windows=2, blew_up=True,
                details={"ratios": [1.0, 40.0]}), False),
    (BatchScale("w", Framework.TORCH, "loss-input", factor=64.0, batch=64, first_update=0.2), True),
    (BatchScale("w", Framework.TORCH, "loss-input", factor=64.0, batch=64, first_update=0.2, adaptive=True), False),
    (BatchScale("w", Framework.TORCH, "loss-input", factor=64.0, batch=64, first_update=0.01), False),
    (BatchScale("w", Framework.NUMPY, "update", factor=25.0, batch=25), True),
    (BatchScale("w", Framework.NUMPY, "update", factor=50.0, batch=25), True),  # a sum of squared errors without 1/2
    (BatchScale("w", Framework.NUMPY, "update", factor=2.0, batch=25), False),  # a mean squared error without 1/2
    (BatchScale("w", Framework.NUMPY, "update", factor=4.0, batch=4), False),  # too few rows to tell
], ids=["probe-sum", "probe-mean", "contrib-sum", "contrib-divided", "bias-sum", "bias-mean", "bias-two-blew-up",
        "bias-two", "bias-two-disagree", "torch-sum", "torch-adam",
        "torch-small-step", "update-sum", "update-sum-2x", "update-mean", "update-few-rows"])
def test_summed_gradient_by_each_measurement(scale, summed):
    found = summed_gradient(scale)
    assert (found is not None) is summed
    if found:
        assert found.severity is Severity.WARNING and math.isclose(found.evidence["lr_factor"], found.evidence["batch"], rel_tol=0.2)


def test_learning_rate_too_high_reads_the_median_of_the_first_updates():
    u = UpdateSizes(where="w", framework=Framework.NUMPY, first=(1.3, 0.05, 0.04, 0.03, 0.03))
    assert first_update(u) == pytest.approx(0.04) and learning_rate_too_high(u) is None
    huge = UpdateSizes(where="w", framework=Framework.NUMPY, first=(12.0, 0.01, 0.01))
    assert learning_rate_too_high(huge).severity is Severity.ERROR
    learns = UpdateSizes(where="w", framework=Framework.TORCH, first=(0.5, 0.5, 0.5), accuracy=0.9)
    assert learning_rate_too_high(learns) is None  # a large first step in a run that learns
    adam = UpdateSizes(where="w", framework=Framework.TORCH, first=(0.5, 0.5, 0.5), adaptive=True)
    assert learning_rate_too_high(adam) is None


def test_a_huge_step_among_the_first_five_decides_wherever_it_falls():
    u = UpdateSizes(where="w", framework=Framework.NUMPY, first=(0.20, 32.5, 12.0, 0.09, 0.006), typical=0.02, typical_count=40)
    assert first_update(u) == pytest.approx(32.5)
    f = learning_rate_too_high(u)
    assert f.severity is Severity.ERROR and "by 3250% of their size (update 2 of the first 5 measured;" in f.message
    calm = UpdateSizes(where="w", framework=Framework.NUMPY, first=(0.20, 9.5, 0.1, 0.09, 0.006))
    assert first_update(calm) == pytest.approx(0.1)  # 9.5x is not huge on its own: the median decides


def test_two_of_the_first_steps_larger_than_the_weights_are_not_hidden_by_the_median():
    """A rate 100x too high moves the weights by 5.5x and 1.9x at its first two updates, then the relus it killed pass
    little gradient (5.5%, 20%, 7%): the median of the five (20%) said nothing."""
    u = UpdateSizes(where="w", framework=Framework.NUMPY, first=(5.55, 1.94, 0.055, 0.199, 0.074), steps=800)
    assert first_update(u) == pytest.approx(1.94)
    f = learning_rate_too_high(u)
    assert f.severity is Severity.ERROR and "by 194% of their size (2 of the first 5 measured updates larger" in f.message
    one = UpdateSizes(where="w", framework=Framework.NUMPY, first=(5.55, 0.9, 0.055, 0.199, 0.074), steps=800)
    assert first_update(one) == pytest.approx(0.199)  # one step over the weights' size: a small init's first step


def test_a_step_larger_than_the_weights_after_which_no_gradient_passes_is_too_high_a_rate():
    """Generated npx1732's rate 100x too high (sigmoid, momentum 0.9, one row a step): its first effective steps are
    22%, 278%, 18%, 33%, 0.05% of the weights (a median of 22%), and then the weights' gradient is 2.8e-9 of their size:
    the step that saturated every unit is what the rate did, whatever the median says. A gradient that still flows (a
    small initialisation's first large step) is no finding; neither is the same start in a run that learns."""
    first = (0.2205, 2.780, 0.1790, 0.3310, 0.000546)
    u = UpdateSizes(where="w", framework=Framework.NUMPY, first=first, typical=2.25e-8, typical_count=64,
                    gradient=2.8e-9, growth=5.3, momentum=0.9, effective_lr=8.0, lr=0.8)
    f = learning_rate_too_high(u)
    assert f is not None and f.severity is Severity.ERROR and f.evidence["update_ratio"] == pytest.approx(2.78)
    assert "update 2 of the first 5 measured, after which the weights' gradient fell to 2.8e-09" in f.message
    assert learning_rate_too_high(dataclasses.replace(u, gradient=0.05)) is None
    assert learning_rate_too_high(dataclasses.replace(u, accuracy=0.9)) is None


def test_steps_that_stay_larger_than_the_limit_over_the_run_are_too_high_a_rate():
    """Generated npx1736's rate 100x too high (tanh, momentum 0.5): the first five effective steps move the weights by a
    median of 28% (under the 30% limit), every step over the run by a median of 70%, and the run stays at chance. The
    same run that learns, or whose steps settle (a median of 2% over the run), is no finding."""
    first = (0.734, 0.742, 0.276, 0.0536, 0.0524)
    u = UpdateSizes(where="w", framework=Framework.NUMPY, first=first, typical=0.70, typical_count=64, gradient=0.19,
                    growth=0.86, momentum=0.5, effective_lr=3.75, lr=1.875)
    f = learning_rate_too_high(u)
    assert f is not None and f.evidence["update_ratio"] == pytest.approx(0.70)
    assert "by a median 70% of their size over 64 updates measured across the run" in f.message
    assert learning_rate_too_high(dataclasses.replace(u, accuracy=0.9)) is None
    assert learning_rate_too_high(dataclasses.replace(u, typical=0.02)) is None


def test_a_velocitys_applied_step_larger_than_the_weights_is_too_high_a_rate():
    """Generated npx1125's rate 100x too high (momentum 0.5, one sample a step, the gradient inline): while the observer
    discovered the velocity the program applied steps of 0.30x, 1.9x and 51x the weights; the weights then grew 93x,
    and the effective steps of the windows after are ~1e-16. The applied steps decide (a velocity applies at most the
    effective rate's step); the same applied steps of a healthy size, or a large one after which the weights did not
    grow, leave the windows' steps to decide (no finding)."""
    u = UpdateSizes(where="w", framework=Framework.NUMPY, first=(1.6e-16, 0.258, 1.5e-16, 1.2e-16, 1.3e-16),
                    applied_first=(0.305, 1.89, 50.5), growth=92.6, momentum=0.5, lr=0.625)
    f = learning_rate_too_high(u)
    assert f is not None and f.severity is Severity.ERROR and f.evidence["update_ratio"] == pytest.approx(50.5)
    assert "One update as the program applied it" in f.message and "update 3 of the first 3 measured" in f.message
    assert learning_rate_too_high(dataclasses.replace(u, applied_first=(0.003, 0.012, 0.007), growth=1.0)) is None
    assert learning_rate_too_high(dataclasses.replace(u, applied_first=(0.305, 1.89, 2.5), growth=1.2)) is None
    # npx1751 (sigmoid, momentum 0.9): 2.1x, 16x, 2.3x while discovering, then steps of 1e-6 and less
    v = UpdateSizes(where="w", framework=Framework.NUMPY, first=(1.4e-6, 2.6e-8, 5e-11, 6.4e-10, 2.9e-10), typical=6e-26,
                    typical_count=64, gradient=3.4e-27, applied_first=(2.08, 16.2, 2.26), growth=9.46, momentum=0.9,
                    effective_lr=1.125, lr=1.8)
    assert learning_rate_too_high(v) is not None
    assert learning_rate_too_high(dataclasses.replace(v, applied_first=())) is None  # main db1e5cd: no finding


def test_a_step_larger_than_the_weights_after_which_they_grew_is_too_high_a_rate():
    """Generated npx1776's rate 100x too high (relu, momentum 0.5): the first measured steps are 1.04x, 0.15x, 0.05x,
    0.16x the weights (a median of 15%, under the limit), no step was measured over the run, and the weight matrices
    grew 12x: the step larger than the weights is what the rate did. The same steps with the weights grown 1.8x (a
    small initialisation's start) are no finding."""
    u = UpdateSizes(where="w", framework=Framework.NUMPY, first=(1.043, 0.147, 0.0492, 0.1635), growth=12.4, lr=1.25)
    f = learning_rate_too_high(u)
    assert f is not None and f.evidence["update_ratio"] == pytest.approx(1.043)
    assert "after which the weight matrices grew 12.4x" in f.message
    assert learning_rate_too_high(dataclasses.replace(u, growth=1.8)) is None
    assert learning_rate_too_high(dataclasses.replace(u, growth=None)) is None


def _curve(late: float, rows: int) -> TrainingCurve:
    return TrainingCurve("forward()", 0.07, rows, (2, 66), late, rows, (67, 771), 0.14)


def test_a_start_does_not_settle_in_a_run_whose_training_accuracy_fails():
    """Generated np1927's rate 100x too high (sigmoid, one sample a step): first steps of 8.5x and 2.3x the weights, then
    a median of 28% over the run (under the 30% limit) with the weights grown 2x and a gradient of 2.8% of them: a
    start that settled by every measure but the run's own training accuracy, 10% over the last 58 rows. Known to fail,
    it is too high a rate; at 85% (or with too few rows to tell) it stays a small initialisation's start."""
    u = UpdateSizes(where="w", framework=Framework.NUMPY, first=(8.54, 2.33, 0.757, 0.614, 0.575), typical=0.280,
                    typical_count=64, gradient=0.028, growth=2.02, lr=10.0, curve=_curve(0.10, 58))
    f = learning_rate_too_high(u)
    assert f is not None and f.evidence["update_ratio"] == pytest.approx(2.33)
    assert learning_rate_too_high(dataclasses.replace(u, curve=_curve(0.85, 58))) is None
    assert learning_rate_too_high(dataclasses.replace(u, curve=_curve(0.10, 20))) is None
    assert learning_rate_too_high(dataclasses.replace(u, curve=None)) is None


def test_an_adaptive_rule_taking_steps_of_half_the_weights_in_a_run_that_fails_has_too_high_a_rate():
    """Generated npw0453 (RMSProp at lr 0.1): steps of 6.4x, 98%, 50%, 18% and 33% of the weights, a median of 62% over
    the run, training accuracy 13% -> 11% (chance 16%). An Adam-like rule's first steps move every entry by about lr
    (30-50% of a small layer at lr 1e-2 trains well): in a run that learns, or whose accuracy is unknown, such steps
    stay quiet; in one known to fail they are too high a rate, as for plain SGD (a warning: under the weights' size)."""
    u = UpdateSizes(where="w", framework=Framework.NUMPY, first=(6.45, 0.976, 0.499, 0.181, 0.332), typical=0.619,
                    typical_count=64, gradient=0.29, growth=0.77, lr=0.1, adaptive=True, curve=_curve(0.11, 62))
    f = learning_rate_too_high(u)
    assert f is not None and f.severity is Severity.WARNING and f.evidence["update_ratio"] == pytest.approx(0.499)
    assert f.evidence["limit"] == pytest.approx(0.3)
    assert learning_rate_too_high(dataclasses.replace(u, curve=_curve(0.85, 62))) is None
    assert learning_rate_too_high(dataclasses.replace(u, curve=None)) is None
    assert learning_rate_too_high(dataclasses.replace(u, curve=None, accuracy=0.12)) is not None
    assert learning_rate_too_high(dataclasses.replace(u, first=(0.06, 0.05, 0.04), typical=0.03)) is None  # lr 2e-3


def _saturated(sat: float, scale: float, after: int = 0) -> LayerActivity:
    """A tanh layer fed by weights drawn at ``scale`` times 1/sqrt(784), ``sat`` of its activations in the flat ends."""
    return LayerActivity(where="layer 1 (tanh)", layer="hidden layer 1", activation="tanh", units=32, saturation=sat,
                         dead=None, window="w", framework=Framework.NUMPY, rows=512,
                         init=InitScale("layers[0].W", scale / 28.0, 784, after=after))


@pytest.mark.parametrize("first, late, sat, scale, after, fires", [
    # generated npw1225 (Adam at lr 0.2, its twin at 0.002): a first step 2.9x W1, then 0.6x, 0.3x, ...; 98% of the tanh
    # units saturated from a draw at 1.4x 1/sqrt(fan_in); training accuracy 39% -> 65% (the twin: 49% -> 90%)
    ((2.91, 0.60, 0.32, 0.21, 0.15), 0.65, 0.98, 1.4, 0, True),
    ((2.91, 0.60, 0.32, 0.21, 0.15), 0.95, 0.98, 1.4, 0, False),  # the run learns well all the same
    ((2.91, 0.60, 0.32, 0.21, 0.15), 0.65, 0.80, 1.4, 0, False),  # under the error level of saturation
    ((2.91, 0.60, 0.32, 0.21, 0.15), 0.65, 0.98, 20.0, 0, False),  # the draw saturates it: the init's finding
    ((2.91, 0.60, 0.32, 0.21, 0.15), 0.65, 0.98, 1.4, 3, False),  # the scale read after 3 updates, not the draw
    ((0.91, 0.60, 0.32, 0.21, 0.15), 0.65, 0.98, 1.4, 0, False),  # no step larger than the weights
])
def test_a_first_step_over_the_weights_that_saturated_a_layer_drawn_in_range_is_too_high_a_rate(first, late, sat, scale,
                                                                                              after, fires):
    """An adaptive rule whose first step is larger than the weights and whose later steps settle (a median under the
    limit) is quiet in a run that learns, except when a hidden layer drawn in range ended saturated and the run does not
    learn well: the steps, not the draw, put the units in the flat ends, and they stay there."""
    layer = _saturated(sat, scale, after)
    u = UpdateSizes(where="w", framework=Framework.NUMPY, first=first, typical=0.04, typical_count=49, gradient=0.08,
                    growth=2.96, lr=0.2, adaptive=True, curve=dataclasses.replace(_curve(late, 512), early=0.39),
                    steps_saturated=saturated_by_steps([layer]))
    f = learning_rate_too_high(u)
    assert (f is not None) is fires
    assert learning_rate_too_high(dataclasses.replace(u, steps_saturated=None)) is None
    if fires:
        assert f.severity is Severity.ERROR and f.evidence["update_ratio"] == pytest.approx(first[0])
        assert f.evidence["saturated_layer"] == "hidden layer 1" and "flat ends" in f.message
        s = saturated_activations([layer])
        assert s is not None and "Initialise" not in s.fix and "learning rate" in s.fix


@pytest.mark.parametrize("first, growth, gradient, typical, accuracy, fires", [
    # tests/numpy_programs/pure_params: 137%, 263%, 123% of W2, then 2.5% a step; the weights grew 1.8x, the gradient
    # still 5% of them: a start that settled (the run learns to 94%)
    ((1.37, 2.63, 1.23, 0.075, 0.092), 1.83, 0.05, 0.025, None, False),
    ((0.43, 0.72, 1.17, 1.45, 1.68), 1.26, 0.097, 0.029, None, False),  # float32_all: an oscillation that damps
    ((1.37, 2.63, 1.23, 0.075, 0.092), 18.0, 0.05, 0.025, None, True),  # the weights blew up 18x
    ((1.37, 2.63, 1.23, 0.075, 0.092), 1.83, 8e-4, 0.025, None, True),  # the units it saturated pass no gradient
    ((1.37, 2.63, 1.23, 0.075, 0.092), None, 0.05, 0.025, None, True),  # growth not measured: the first steps decide
    ((1.37, 2.63, 1.23, 0.075, 0.092), 1.83, None, 0.025, None, True),  # gradient not measured
    ((1.37, 12.6, 1.23, 0.075, 0.092), 1.83, 0.05, 0.025, None, True),  # one step 12x the weights
    ((1.37, 2.63, 1.23, 0.075, 0.092), 1.83, 0.05, 0.45, None, True),  # the steps stay large
    ((1.37, 2.63, 1.23, 0.075, 0.092), 1.83, 0.05, 0.025, 0.1, True),  # known not to learn
    ((1.37, 2.63, 1.23, 0.075, 0.092), math.inf, 0.05, 0.025, None, True),  # weights went non-finite
])
def test_first_steps_over_the_weights_settle_when_the_weights_did_not_blow_up(first, growth, gradient, typical, accuracy,
                                                                              fires):
    """Steps larger than the weights at the start are a rate too high when the later steps stay large, or when the
    later steps are small because the weights blew up (np1016 on seeds 1000-1124: 5.1x, 2.8x, 4.0x, then 0.5%, the
    weights 18x their size, a gradient of 8e-4 of them); not when the weights stayed their size and pass gradient."""
    u = UpdateSizes(where="w", framework=Framework.NUMPY, first=first, typical=typical, typical_count=60,
                    gradient=gradient, growth=growth, accuracy=accuracy)
    f = learning_rate_too_high(u)
    assert (f is not None) is fires
    assert settled(u, 0.3) is not fires
    if fires:
        assert f.severity is Severity.ERROR


@pytest.mark.parametrize("first, typical, accuracy, fires", [
    ((0.41, 0.63, 0.41, 0.23, 0.20), 0.115, None, False),  # a small init's first steps, then 11% a step: settles
    ((0.41, 0.63, 0.41, 0.23, 0.20), 0.45, None, True),  # the steps stay large
    ((0.41, 0.63, 0.41, 0.23, 0.20), None, None, True),  # too few updates to say: the first steps decide
    ((0.41, 0.63, 0.41, 0.23, 0.20), 0.115, 0.12, True),  # settled, but the run is known not to learn
    ((40.5, 14.9, 0.98, 0.56, 0.19), 0.1, None, True),  # 40x the weights at once: not a first step that settles
    ((1.8, 1.5, 1.6, 1.2, 1.1), 0.1, None, True),  # each first step larger than the weights
    ((0.96, 0.61, 0.31, 0.45, 0.43), 0.089, None, False),  # logistic regression from a 0.01-scale init: none over 1x
    ((8.6, 0.05, 0.53, 0.87, 7.0), 1.3e-6, None, True),  # two steps 7-9x the weights, then the sigmoids are saturated
    ((0.20, 32.5, 12.0, 0.09, 0.006), 0.02, None, True),  # one sample per update: the second moves W by 32x
])
def test_a_large_first_step_that_settles_is_not_a_learning_rate_too_high(first, typical, accuracy, fires):
    u = UpdateSizes(where="w", framework=Framework.NUMPY, first=first, typical=typical, typical_count=40, accuracy=accuracy)
    assert (learning_rate_too_high(u) is not None) is fires
    assert settled(u, 0.3) is (typical is not None and typical < 0.3 and accuracy is None and max(first) < 1)


@pytest.mark.parametrize("gradient, fires", [
    (1.04e-3, True),  # np0802 (lr 100x): 4.5x, then 47-84%, then 0.66% a step, the sigmoids 99% flat: no gradient left
    (0.05, False),  # the same start, its units still passing 5% of the weights: a small initialisation's first step
    (None, False),  # gradient not measured: nothing says the later steps are small for want of one
])
def test_one_step_over_the_weights_then_no_gradient_is_not_a_start_that_settled(gradient, fires):
    u = UpdateSizes(where="w", framework=Framework.NUMPY, first=(4.48, 0.47, 0.84, 0.83, 0.61), typical=0.0066,
                    typical_count=64, gradient=gradient)
    assert (learning_rate_too_high(u) is not None) is fires
    assert settled(u, 0.3) is not fires


@pytest.mark.parametrize("typical, steps, gradient, fires", [
    (3.4e-4, 75, 0.27, True),  # above the per-step limit, but 75 such steps move the weights by 2.5% at most
    (3.54e-4, 200, 0.28, True),  # np1063 (lr 1.25 / 1000): 200 such steps, 7% at most
    (3.4e-4, 4000, 0.27, False),  # the same steps, 4,000 of them: 136% of the weights, nothing says it stalls
    (1e-4, 4000, 0.27, True),  # below the per-step limit: as before
    (3.4e-4, 75, 1e-3, False),  # tiny gradients: the steps are small because the gradient is
    (3.4e-4, 10, 0.27, False),  # too few updates to judge the whole run
])
def test_learning_rate_too_low_from_the_total_movement_of_the_run(typical, steps, gradient, fires):
    u = UpdateSizes(where="w", framework=Framework.NUMPY, first=(typical,), typical=typical, typical_count=60, steps=steps,
                    gradient=gradient)
    found = learning_rate_too_low(u)
    assert (found is not None) is fires
    if found is not None and typical * steps < LR_LOW_TOTAL:
        assert f"{100 * typical * steps:.2g}% of their size" in found.message


# -- targets and frozen parameters -------------------------------------------------------------------------------
@pytest.mark.parametrize("values, says", [
    ((3 / 255, 0.0, 7 / 255, 9 / 255), "the true label divided by 255 (values 0..0.03529 = 0..9/255)"),
    ((0.0, 0.0, 0.0), "always called with 0: the target is built from a value that does not change (a label divided"),
    ((4.0, 4.0), "always called with 4: the target is built from a value that does not change."),
    ((0.2, 0.5, 0.7), "always below 1 (0.2..0.7), so int(label) is 0"),
    ((1.0, 3.0), None),
])
def test_what_reaches_the_target_builder_is_said_as_measured(values, says):
    t = TargetCounts(where="t", framework=Framework.NUMPY, counts=(640,) + (0,) * 9, rows=640,
                     builder=TargetBuilder("target_for", values))
    causes = target_causes(t)
    assert (causes == []) if says is None else (says in causes[0] + "."), causes


def test_constant_targets_one_class_is_an_error_few_classes_a_warning():
    one = TargetCounts(where="t", framework=Framework.TORCH, counts=(640, 0, 0, 0, 0, 0, 0, 0, 0, 0), rows=640)
    assert constant_targets(one).severity is Severity.ERROR
    few = TargetCounts(where="t", framework=Framework.TORCH, counts=(75, 75, 0, 0, 0, 0, 0, 0, 0, 0), rows=150)
    assert constant_targets(few) is None  # 15 rows per class: too few to say the others never come
    few = TargetCounts(where="t", framework=Framework.TORCH, counts=(1000, 1000, 0, 0, 0, 0, 0, 0, 0, 0), rows=2000)
    assert constant_targets(few).severity is Severity.WARNING
    proof = TargetCounts(where="t", framework=Framework.NUMPY, counts=(1000, 1000, 0, 0, 0, 0, 0, 0, 0, 0), rows=2000,
                         label_counts=(200,) * 10)
    assert constant_targets(proof).severity is Severity.ERROR  # the data has ten labels, the targets two


def test_targets_of_one_value_for_one_output_unit_are_named_against_the_data_s_labels():
    """One output unit names no class: its targets are constant targets only when they are one value and the labels of
    the data hold several classes (a classifier sized from labels of one class); a regression's varying targets, or a
    one-unit network whose data's labels were not found, say nothing."""
    one = TargetCounts(where="t", framework=Framework.NUMPY, counts=(960,), rows=960, distinct_vectors=1,
                       target_vector=(1.0,), label_counts=(300, 0, 350, 310), labels_from="`data` (<module>())",
                       details={"labels_scaled_by": 255.0})
    f = constant_targets(one)
    assert f is not None and f.severity is Severity.ERROR
    assert f.message.startswith("All 960 targets the network trained on are the same value (1), for a network of one "
                                "output unit") and "spread over 3 classes once multiplied by 255" in f.message
    assert "(0: 300, 2: 350, 3: 310)" in f.message  # the labels' counts as the data holds them, x 255
    varying = TargetCounts(where="t", framework=Framework.NUMPY, counts=(960,), rows=960, distinct_vectors=7,
                           label_counts=(300, 350, 310))
    unknown = TargetCounts(where="t", framework=Framework.NUMPY, counts=(960,), rows=960, distinct_vectors=1)
    assert constant_targets(varying) is None and constant_targets(unknown) is None


def test_every_frozen_reason_is_worded_and_one_finding_per_reason():
    numbers = {"backward_site": "t.py:9", "cleared": 4, "checked": 5, "before": 0, "orphan_steps": 3, "created": "",
               "holds": "holds 4 tensor(s) of MLP", "calls": 20, "function": "backprop", "unheld_steps": 17, "stale": 4,
               "backward_passes": 12, "called": "t.py:2", "cut_at": " at t.py:3"}
    groups = tuple(FrozenGroup((f"p{i}",), reason, module="fc1", site="t.py:3", numbers=numbers)
                   for i, reason in enumerate(FROZEN_REASONS))
    found = frozen_parameters(FrozenParameters(Framework.TORCH, groups, updated=("fc2.weight",), steps=10))
    assert [f.evidence["reason"] for f in found] == list(FROZEN_REASONS)
    assert all("{" not in f.message and "{" not in f.fix for f in found)


def test_frozen_on_purpose_is_a_note_unless_the_run_does_not_learn():
    group = (FrozenGroup(("fc1.weight",), "requires_grad_unused"),)
    (note,) = frozen_parameters(FrozenParameters(Framework.TORCH, group, learns=True))
    (warn,) = frozen_parameters(FrozenParameters(Framework.TORCH, group, learns=False))
    assert note.severity is Severity.INFO and warn.severity is Severity.WARNING


def test_a_model_that_says_why_in_its_own_words_is_quoted():
    group = (FrozenGroup(("w",), "model", why="the layer is frozen by design", fix="unfreeze it"),)
    (f,) = frozen_parameters(FrozenParameters(Framework.CHECK, group, steps=5))
    assert "frozen by design" in f.message and f.fix == "unfreeze it."


@pytest.mark.parametrize("name, bias", [("b1", True), ("W1", False), ("fc1.bias", True), ("bn.weight", False),
                                        ("biases[0]", True), ("params['b2']", True), ("beta", False), ("out_b", True)])
def test_one_test_of_is_this_a_bias(name, bias):
    assert is_bias(name) is bias


def test_a_layer_frozen_on_purpose_beside_trained_ones_is_no_cause_of_no_learning():
    """Fine-tuning with shuffled labels: the frozen backbone is context; no-learning is the root cause."""
    from netdoctor.findings import Finding, Report
    from netdoctor.rules.causes import link_causes

    def frozen(updated: list[str]) -> Finding:
        return Finding("frozen-parameters", Severity.WARNING, "0.weight", "0.weight never learn.",
                       {"reason": "requires_grad_unused", "updated": updated,
                        "on_purpose": bool(updated)})

    stalled = Finding("no-learning", Severity.ERROR, "training batches", "accuracy at chance.")
    beside_trained = Report(link_causes([frozen(["2.weight", "2.bias"]), stalled]))
    assert beside_trained.root_cause().code == "no-learning"
    assert beside_trained.findings[0].code == "no-learning"
    # Everything frozen: nothing else could learn, so the freezing is the cause.
    all_frozen = Report(link_causes([frozen([]), stalled]))
    assert all_frozen.root_cause().code == "frozen-parameters"


# -- vanishing-gradients from the weights a NumPy program drew ------------------------------------------------------
def _reach(std: float, widths=(30, 20, 16, 12, 4), first_step=2e-4, late=0.26, last_step=1e-3):
    """A LayerReach as the NumPy observer builds it from weights of entries ``std``: the factor of W_l is its Frobenius
    norm over sqrt(fan_out), about std * sqrt(fan_in) for random entries."""
    rng = np.random.default_rng(0)
    mats = [rng.standard_normal((n_out, n_in)) * std for n_in, n_out in zip(widths, widths[1:])]
    gains = tuple(float(np.linalg.norm(W)) / math.sqrt(W.shape[0]) for W in mats[1:])
    curve = TrainingCurve("forward()", 0.25, 600, (2, 2), late, 600, (190, 190), 0.26) if late is not None else None
    return LayerReach(tensors=tuple(f"W{l}" for l in range(1, len(mats) + 1)), widths=tuple(widths), gains=gains,
                      steps=(first_step,) + (1e-3,) * (len(mats) - 2) + (last_step,), updates=16, std=(std,) * len(mats),
                      curve=curve)


def test_the_pass_back_factors_are_what_a_random_error_keeps_through_the_transposed_weights():
    """The factors' product is what W_2^T .. W_L^T do to random errors at the output (the oracle: the matrices
    applied), within the spread of random draws."""
    rng = np.random.default_rng(1)
    widths = (30, 20, 16, 12, 4)
    mats = [rng.standard_normal((n_out, n_in)) * 0.01 for n_in, n_out in zip(widths, widths[1:])]
    delta = rng.standard_normal((widths[-1], 2000))
    back = delta
    for W in reversed(mats[1:]):
        back = W.T @ back
    measured = float(np.linalg.norm(back) / np.linalg.norm(delta))
    product = math.prod(float(np.linalg.norm(W)) / math.sqrt(W.shape[0]) for W in mats[1:])
    assert measured == pytest.approx(product, rel=0.5)


@pytest.mark.parametrize("std, first_step, last_step, late, widths, fires", [
    (0.01, 2e-4, 1e-3, 0.26, (30, 20, 16, 12, 4), Severity.ERROR),   # the course's randn * 0.01 through three layers
    (None, 2e-4, 1e-3, 0.26, (30, 20, 16, 12, 4), None),             # Xavier: each layer passes the error back whole
    (0.01, 2e-2, 1e-3, 0.26, (30, 20, 16, 12, 4), None),             # the first layer still moves
    (0.01, 3e-3, 0.7, 0.26, (784, 32, 16, 10), Severity.ERROR),      # ... by 0.3%, where the output layer moves by 70%
    (0.01, 2e-4, 1e-3, 0.95, (30, 20, 16, 12, 4), None),             # it learns anyway
    (0.01, 2e-4, 1e-3, 0.26, (30, 20, 4), None),                     # one hidden layer: not "several"
    (0.01, 2e-4, 1e-3, None, (30, 20, 16, 12, 4), Severity.WARNING),  # no training accuracy read: a warning
    (0.06, 2e-4, 1e-3, None, (30, 20, 16, 12, 4), None),             # ... only far below the reach (here 0.013)
])
def test_vanishing_gradients_needs_little_reach_small_first_steps_and_no_learning(std, first_step, last_step, late,
                                                                                   widths, fires):
    e = _reach(std if std is not None else 1 / math.sqrt(20), widths, first_step, late, last_step)
    if std is None:  # Xavier for every layer's own fan-in
        rng = np.random.default_rng(0)
        mats = [rng.standard_normal((o, i)) / math.sqrt(i) for i, o in zip(widths, widths[1:])]
        e = dataclasses.replace(e, gains=tuple(float(np.linalg.norm(W)) / math.sqrt(W.shape[0]) for W in mats[1:]))
    f = vanishing_through_layers(e)
    assert (f.severity if f is not None else None) == fires
    if f is not None:
        assert f.code == "vanishing-gradients" and f.evidence["kind"] == "init"
        assert f.evidence["reach"] == pytest.approx(math.prod(e.gains)) and f.evidence["reach"] < VANISHING_REACH


def test_a_step_over_the_limit_then_growth_in_a_failing_run_is_too_high_a_rate_unless_the_steps_climb():
    """A LeNet-5 at SGD lr 3.0 (``tests/torch_wild_programs/lenet_lr_high.py``): first steps of 8%, 17%, 12%, 43%, 8% of
    fc3's size (a median of 12%, no step over 1x), then the weight tensors grew 66.5x and the run ended at chance: the
    43% step over the 30% limit names the rate. The same numbers in a run that learns, with growth under 5x, or when a
    check of the update measured it climbing the loss (``args_gradients_sign``: gradient ascent at a rate its healthy
    twin learns with, 34% then 182x) are no finding of the rate's."""
    u = UpdateSizes(where="w", framework=Framework.TORCH, first=(0.08, 0.17, 0.12, 0.43, 0.08), growth=66.5,
                    accuracy=0.10, lr=3.0)
    f = learning_rate_too_high(u)
    assert f is not None and f.severity is Severity.WARNING and f.evidence["update_ratio"] == pytest.approx(0.43)
    assert "after which the weight matrices grew 66.5x" in f.message
    assert learning_rate_too_high(dataclasses.replace(u, accuracy=0.9)) is None
    assert learning_rate_too_high(dataclasses.replace(u, growth=3.0)) is None
    assert learning_rate_too_high(dataclasses.replace(u, climbs=True)) is None
    assert learning_rate_too_high(dataclasses.replace(u, growth=math.inf)) is None
    # steps over the run larger than the weights say more than a first step under their size (generated np2410's twin:
    # first five a median 21%, the largest 34%, then a median 569% over 64 updates): the error of the run's steps
    v = dataclasses.replace(u, first=(0.21, 0.15, 0.34, 0.25, 0.18), typical=5.69, typical_count=64, growth=2.3e69)
    f = learning_rate_too_high(v)
    assert f is not None and f.severity is Severity.ERROR and f.evidence["update_ratio"] == pytest.approx(5.69)


def test_a_loss_that_diverges_or_weights_gone_non_finite_under_a_measured_climb_are_no_finding_of_the_rate():
    """``tests/torch_wild_programs/ascent_module.py`` (``p += lr * p.grad`` at lr 0.05): the first five steps move the
    weights by 0.7-0.9% of their size, the loss goes from 2.30 to 1.4e35. The divergence alone names a rate too high;
    with the update measured climbing the loss the climb explains it (at any rate), and so it does weights gone NaN.
    A step larger than the weights is still the rate's whatever the direction."""
    u = UpdateSizes(where="w", framework=Framework.TORCH, first=(0.0076, 0.0070, 0.0067, 0.0088, 0.0070), growth=math.inf,
                    loss_first=2.3019, loss_last=1.445e35, lr=0.05)
    f = learning_rate_too_high(u)
    assert f is not None and f.severity is Severity.ERROR and f.evidence["diverged"]
    assert "The loss diverged (2.302 at the start, 1.445e+35 at the end)" in f.message
    assert learning_rate_too_high(dataclasses.replace(u, climbs=True)) is None
    nan = dataclasses.replace(u, loss_last=None, weights_nonfinite=True, first=(0.0076, 0.0070))
    f = learning_rate_too_high(nan)
    assert f is not None and f.evidence["weights_nonfinite"]
    assert learning_rate_too_high(dataclasses.replace(nan, climbs=True)) is None
    huge = dataclasses.replace(u, first=(2.0, 3.0, 2.5), climbs=True)
    f = learning_rate_too_high(huge)
    assert f is not None and f.severity is Severity.ERROR and f.evidence["update_ratio"] == pytest.approx(2.5)
    assert not f.evidence["diverged"]


def test_an_adaptive_step_per_entry_larger_than_the_weights_entries_is_too_high_a_rate():
    """Generated npw1102 (RMSprop at lr 0.2 on MNIST, 21% test accuracy, its twin at lr 0.002 78%): the first steps are
    9.2x, 0.58x, 0.30x, 0.17x, 0.17x the weight matrix (the weights of pixels 0 in every image of a batch get no step),
    a median just under the plain limit and far under the adaptive one; per entry each step moved by 0.63 =
    0.2 / sqrt(1 - 0.9) (RMSprop's first step from a running square of zeros), against entries of 0.235 (W2's) and
    0.05 (W1's). Each number is the rate's; the run learning, or a step per entry under the entries' size, is no
    finding."""
    u = UpdateSizes(where="w", framework=Framework.NUMPY, first=(9.17, 0.584, 0.299, 0.167, 0.171), typical=0.137,
                    typical_count=35, gradient=0.418, growth=1.05, accuracy=0.21, lr=0.2, adaptive=True)
    assert learning_rate_too_high(u) is None  # main's reading: nothing (saturation named instead)
    step = 0.2 / math.sqrt(1 - 0.9)
    f = learning_rate_too_high(dataclasses.replace(u, entry_step=step, entry_size=0.235))
    assert f is not None and f.severity is Severity.ERROR
    assert f.evidence["update_ratio"] == pytest.approx(step / 0.235) and f.evidence["limit"] == ADAPTIVE_ENTRY_HIGH
    assert f.evidence["entry_step"] == step and f.evidence["entry_size"] == 0.235
    assert "moves the entries it changes by 0.63, 2.69x the typical size of a weight matrix's entries (0.23)" in f.message
    assert learning_rate_too_high(dataclasses.replace(u, entry_step=step, entry_size=0.235, accuracy=0.69)) is None
    assert learning_rate_too_high(dataclasses.replace(u, entry_step=0.9 * 0.235, entry_size=0.235)) is None
    # the same numbers read as plain SGD: no step per entry is the rate's there
    assert learning_rate_too_high(dataclasses.replace(u, entry_step=step, entry_size=0.235, adaptive=False)) is None


@pytest.mark.parametrize("adaptive", [True, False])
def test_a_step_over_the_limit_after_which_no_gradient_passes_in_a_failing_run_is_too_high_a_rate(adaptive):
    """Generated npw1156 (Adam at lr 0.2, 10% test accuracy): first steps of 70%, 44%, 25%, 18%, 13% of the weights, then a
    gradient of 0 (every relu of the second layer dead), the weights grown 2.9x; npx1930 (a heavy ball at lr 4.0) alike
    with 28% and 34%, then 2e-9. The step over the limit killed the units; in a run that learns, or where the gradient
    still flows, it is no finding, nor when the update was measured climbing the loss."""
    u = UpdateSizes(where="w", framework=Framework.NUMPY, first=(0.698, 0.436, 0.251, 0.178, 0.133), typical=0.0052,
                    typical_count=64, gradient=0.0, growth=2.91, accuracy=0.10, lr=0.2, adaptive=adaptive)
    f = learning_rate_too_high(u)
    assert f is not None and f.severity is Severity.ERROR and f.evidence["update_ratio"] == pytest.approx(0.698)
    assert "after which the weights' gradient fell to 0 of their size" in f.message
    assert learning_rate_too_high(dataclasses.replace(u, accuracy=0.9)) is None
    assert learning_rate_too_high(dataclasses.replace(u, gradient=0.05)) is None
    assert learning_rate_too_high(dataclasses.replace(u, climbs=True)) is None
    assert learning_rate_too_high(dataclasses.replace(u, first=(0.28, 0.21, 0.25, 0.18, 0.13))) is None  # under 0.3


def test_steps_under_the_weights_size_in_a_run_measured_climbing_are_no_finding_of_the_rate():
    """Generated np2435 (the output error's sign flipped: gradient ascent at lr 0.0375, its twin learns at the same
    rate): the steps grow from 5% to a median 64% of the weights over the run, then NaN. The climb fails the run at any
    rate: a warning of the steps' size would send the user to divide a rate that is fine. A step larger than the weights
    is still the rate's (the test above: 2.5x)."""
    u = UpdateSizes(where="w", framework=Framework.NUMPY, first=(0.049, 0.053, 0.145, 0.154, 0.203), typical=0.6375,
                    typical_count=64, gradient=17.0, growth=2.1e102, lr=0.0375, weights_nonfinite=True)
    f = learning_rate_too_high(u)
    assert f is not None and f.evidence["update_ratio"] == pytest.approx(0.6375)
    assert learning_rate_too_high(dataclasses.replace(u, climbs=True)) is None
    f = learning_rate_too_high(dataclasses.replace(u, climbs=True, typical=1.6))
    assert f is not None and f.severity is Severity.ERROR and not f.evidence["weights_nonfinite"]
