"""``eval-mode-training`` and ``train-mode-evaluation`` (netdoctor.rules.modes) from their records, at the thresholds' edges."""

from __future__ import annotations

from netdoctor.findings import Severity
from netdoctor.rules.modes import DropoutCalls, ModeSteps, TrainModeForwards, eval_mode_training, train_mode_evaluation
from netdoctor.rules.policy import EVAL_MODE_SHARE, EVAL_MODE_STEPS


def _steps(eval_steps: int, checked: int, **kw) -> ModeSteps:
    return ModeSteps(model="Net", eval_steps=eval_steps, steps_checked=checked, layers=("drop (Dropout)", "bn (BatchNorm1d)"), **kw)


def test_eval_mode_training_needs_half_of_the_steps():
    assert eval_mode_training(_steps(1, EVAL_MODE_STEPS - 1)) is None  # one step read: no verdict
    assert eval_mode_training(_steps(4, 10)) is None  # evaluating between epochs and switching back
    found = eval_mode_training(_steps(int(EVAL_MODE_SHARE * 10), 10))
    assert found is not None and found.severity is Severity.ERROR and found.evidence["eval_steps"] == 5


def test_eval_mode_training_names_the_eval_call_only_when_it_was_never_undone():
    left = eval_mode_training(_steps(8, 8, mode_site="train.py:40", left_in_eval=True))
    assert left is not None and left.where == "Net at train.py:40"
    assert "model.eval() at train.py:40, never undone by model.train()" in left.message
    assert "drop (Dropout), bn (BatchNorm1d) behave as at test time" in left.message
    switched = eval_mode_training(_steps(8, 8, mode_site="train.py:40", left_in_eval=False))
    assert switched is not None and "never undone" not in switched.message


def test_train_mode_evaluation_under_no_grad_or_without_backward():
    def forwards(nograd, grad, backward):
        return train_mode_evaluation(TrainModeForwards("Net", "eval.py:9", ("drop (Dropout)",), nograd, grad, backward))

    assert forwards(0, 1, 0) is None  # one forward without backward may be a shape check
    assert forwards(0, 5, 5) is None  # training
    no_grad = forwards(3, 0, 0)
    assert no_grad is not None and "3 forward pass(es) under torch.no_grad()" in no_grad.message
    unlearned = forwards(0, 2, 0)
    assert unlearned is not None and unlearned.evidence["calls_without_backward"] == 2


def test_functional_dropout_in_evaluation_says_which_way_it_kept_dropping():
    def calls(eval_calls, nograd_calls):
        return train_mode_evaluation(DropoutCalls("F.dropout", "net.py:12", 0.5, 20, eval_calls, nograd_calls, "Net"))

    assert calls(0, 0) is None
    in_eval = calls(4, 0)
    assert in_eval is not None and "4 of its 20 calls ran while Net was in eval mode" in in_eval.message
    assert "training=self.training" in in_eval.fix and "50%" in in_eval.explanation
    nograd = calls(0, 3)
    assert nograd is not None and "under torch.no_grad() with Net in train mode" in nograd.message
    assert nograd.fix.startswith("Call model.eval()")
