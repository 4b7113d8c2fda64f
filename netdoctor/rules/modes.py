"""A model trained in eval mode, or evaluated in train mode: ``eval-mode-training``, ``train-mode-evaluation``.

The PyTorch observer (:mod:`netdoctor.observe.torch`) counts, per model, the sampled optimizer steps that ran
with the model in ``eval()`` mode, the forward passes of a train-mode model that were evaluations (under
``torch.no_grad()``, or never followed by a backward pass), and the calls of a functional dropout that kept
dropping while its model was evaluated; it hands these counts over as the records below, and the rules here
decide and word the two findings. Only PyTorch has modes; the records carry no :class:`~netdoctor.rules.policy.Framework`.
"""

from __future__ import annotations

from netdoctor._lazy import dataclass
from netdoctor.findings import Finding, Severity
from netdoctor.rules.policy import EVAL_MODE_SHARE, EVAL_MODE_STEPS, UNLEARNED_EVALUATIONS
from netdoctor.rules.stability import _list

__all__ = ["ModeSteps", "TrainModeForwards", "DropoutCalls", "eval_mode_training", "train_mode_evaluation"]


@dataclass(frozen=True)
class ModeSteps:
    """Evidence: the optimizer steps of one model, and how many ran with the model in eval mode."""

    model: str
    """The model's class name (``MLP``), or ``model`` when unknown."""
    eval_steps: int
    steps_checked: int
    """Optimizer steps at which the model's mode was read."""
    layers: tuple[str, ...]
    """The layers whose behaviour depends on the mode, with their kind (``drop (Dropout)``)."""
    mode_site: str | None = None
    """``file:line`` of the program's last ``model.eval()`` / ``model.train()`` call on this model, when known."""
    left_in_eval: bool = False
    """The call at :attr:`mode_site` was ``eval()`` and nothing switched the model back."""


@dataclass(frozen=True)
class TrainModeForwards:
    """Evidence: forward passes of a train-mode model at one call site that were evaluations, not training."""

    model: str
    site: str
    """``file:line`` of the forward call."""
    layers: tuple[str, ...]
    nograd_calls: int
    """Forward passes under ``torch.no_grad()``."""
    grad_calls: int
    """Forward passes with gradients on."""
    backward_calls: int
    """Backward passes that followed a forward of this site."""


@dataclass(frozen=True)
class DropoutCalls:
    """Evidence: the calls of one functional dropout (``F.dropout(x, p)``) and those made while its model was evaluated."""

    function: str
    """The call as written (``F.dropout``)."""
    site: str
    p: float
    calls: int
    eval_calls: int
    """Calls while the model was in eval mode (``training=`` not passed, so it kept dropping)."""
    nograd_calls: int
    """Calls under ``torch.no_grad()`` while the model was in train mode."""
    model: str = "the model"


def eval_mode_training(s: ModeSteps) -> Finding | None:
    """``eval-mode-training``: the model sits in eval mode on at least :data:`EVAL_MODE_SHARE` of at least
    :data:`EVAL_MODE_STEPS` optimizer steps."""
    if s.steps_checked < EVAL_MODE_STEPS or s.eval_steps < EVAL_MODE_SHARE * s.steps_checked:
        return None
    site = s.mode_site
    eval_site = f" (model.eval() at {site}, never undone by model.train())" if s.left_in_eval and site else ""
    return Finding(
        "eval-mode-training", Severity.ERROR, f"{s.model}{' at ' + site if site else ''}",
        f"The model is in eval() mode on {s.eval_steps} of {s.steps_checked} optimizer steps{eval_site}: "
        f"{_list(list(s.layers), 4)} behave as at test time while it trains.",
        {"eval_steps": s.eval_steps, "steps_checked": s.steps_checked, "layers": list(s.layers), "eval_site": site},
        fix="Call model.train() before the training loop (and again after each evaluation that called model.eval()).",
        explanation="In eval mode dropout drops nothing (no regularisation) and batch norm normalises with its running "
        "statistics, which it then never updates; the network trains as a different function from the one it is meant to be.",
    )


def train_mode_evaluation(e: TrainModeForwards | DropoutCalls) -> Finding | None:
    """``train-mode-evaluation``: a train-mode model used for evaluation (a forward under ``no_grad``, or at least
    :data:`UNLEARNED_EVALUATIONS` forwards never followed by a backward), or a functional dropout that keeps dropping
    while its model is evaluated."""
    if isinstance(e, DropoutCalls):
        return _dropout_in_evaluation(e)
    if e.nograd_calls >= 1:
        how = f"{e.nograd_calls} forward pass(es) under torch.no_grad()"
    elif e.grad_calls >= UNLEARNED_EVALUATIONS and e.backward_calls == 0:
        how = f"{e.grad_calls} forward pass(es) never followed by a backward pass"
    else:
        return None
    return Finding(
        "train-mode-evaluation", Severity.ERROR, f"{e.model} at {e.site}",
        f"The model is evaluated in train mode at {e.site} ({how}): {_list(list(e.layers), 4)} still act as in training.",
        {"site": e.site, "nograd_calls": e.nograd_calls, "calls_without_backward": e.grad_calls if e.backward_calls == 0 else 0,
         "layers": list(e.layers)},
        fix="Call model.eval() before evaluating (and model.train() before training again).",
        explanation="In train mode dropout zeroes random units in evaluation too, and batch norm uses the evaluation batch's own "
        "statistics (and overwrites its running statistics with them), so the measured accuracy is noisy and lower than the model's.",
    )


def _dropout_in_evaluation(d: DropoutCalls) -> Finding | None:
    if d.eval_calls:
        how = (f"{d.eval_calls} of its {d.calls} calls ran while {d.model} was in eval mode: its training argument "
               "defaults to True, so model.eval() does not switch it off")
        fix = f"Pass training=self.training to {d.function} (or use an nn.Dropout module, which model.eval() switches off)."
    elif d.nograd_calls:
        how = f"{d.nograd_calls} of its {d.calls} calls ran under torch.no_grad() with {d.model} in train mode"
        fix = "Call model.eval() before evaluating (and model.train() before training again)."
    else:
        return None
    return Finding(
        "train-mode-evaluation", Severity.ERROR, f"{d.function} at {d.site}",
        f"{d.function}(p={d.p:g}) at {d.site} drops units during evaluation: {how}.",
        {"site": d.site, "function": d.function, "p": d.p, "calls": d.calls, "eval_calls": d.eval_calls,
         "nograd_calls": d.nograd_calls},
        fix=fix,
        explanation=f"Dropout at evaluation zeroes a random {100 * d.p:.0f}% of the units for every prediction, so the measured "
        "accuracy is noisy and lower than the model's.",
    )
