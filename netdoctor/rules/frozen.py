"""Parameters that never learn: ``frozen-parameters``, one finding per reason, from
:class:`~netdoctor.rules.evidence.FrozenParameters`.

The recorders find *which* parameters never changed and *why* (a reason key
of :data:`FROZEN_REASONS`: not in the optimizer, ``requires_grad=False``, a
cut graph, an update written into a copy ...); the severity, the sentence and
the fix of each reason are here, once.
"""

from __future__ import annotations

from netdoctor.findings import Finding, Severity
from netdoctor.rules.evidence import FrozenGroup, FrozenParameters

__all__ = ["frozen_parameters", "FROZEN_REASONS", "CUT_BY_CODE"]

E, W = Severity.ERROR, Severity.WARNING
FROZEN_REASONS: dict[str, tuple[Severity, str, str]] = {
    # reason: (severity, what is wrong with them, the fix); {module}, {site} and the group's numbers fill the slots
    "zero_grad_before_step": (E, "their gradients are emptied between loss.backward() (at {backward_site}) and "
                              "optimizer.step() on {cleared} of {checked} steps checked, so each step applies a zero gradient",
                              "Call optimizer.zero_grad() before loss.backward() (or after optimizer.step()), not between them."),
    "step_before_backward": (E, "optimizer.step() (at {site}) runs before loss.backward() (at {backward_site}) on {before} "
                             "of {checked} steps checked: each step finds only the gradients zero_grad() emptied, and each "
                             "backward pass's gradients are emptied before a step can apply them",
                             "Call loss.backward() before optimizer.step(): optimizer.zero_grad(); loss = ...; loss.backward(); "
                             "optimizer.step()."),
    "requires_grad": (E, "requires_grad=False although the optimizer was given them, so they never get a gradient",
                      "Remove the requires_grad_(False) / requires_grad = False for these parameters (or do not pass them to "
                      "the optimizer if freezing is intended)."),
    "requires_grad_off": (E, "requires_grad=False: autograd computes no gradient for them (frozen on purpose, as in "
                          "fine-tuning? then ignore this)", "Set requires_grad=True for parameters that should learn."),
    "requires_grad_unused": (Severity.INFO, "requires_grad=False and not in the optimizer: frozen on purpose, as in fine-tuning",
                             "If they should learn: set requires_grad=True and pass them to the optimizer."),
    "model_not_in_optimizer": (E, "none of the parameters of {module} is in any optimizer, although its output reaches "
                               "backward() (gradients seen on {orphan_steps} sampled steps); the optimizer{created} {holds}",
                               "Create the optimizer from the model that is trained, after the last `model = ...`: "
                               "optimizer = torch.optim.SGD(model.parameters(), ...)."),
    "tensors_not_in_optimizer": (E, "backward() reaches them (on {unheld_steps} sampled steps), but no optimizer holds them, "
                                 "so their gradients are thrown away; the optimizer{created} holds {stale} other tensor(s), "
                                 "which no backward pass reaches (tensors made before these and then replaced?)",
                                 "Create the optimizer from the tensors the loss is computed with, after the last assignment "
                                 "to them: optimizer = torch.optim.SGD([w1, b1, ...], lr=...)."),
    "never_stepped": (E, "the optimizer{created} holds them, but its step() is never called: backward() ran {backward_passes:,} "
                      "times (first at {site}), each gradient computed and never applied",
                      "Call optimizer.step() after loss.backward() in every training step (then optimizer.zero_grad())."),
    "no_backward": (E, "the optimizer{created} stepped {steps:,} times, but backward() was never called: no gradient "
                    "is ever computed, so each step() applies nothing (`loss.backward` without its parentheses only "
                    "names the method)",
                    "Call loss.backward() (with the parentheses) before optimizer.step() in every training step."),
    "not_in_optimizer": (E, "not passed to the optimizer: their gradients are computed and thrown away",
                         "Pass every parameter to the optimizer: torch.optim.SGD(model.parameters(), lr=...)."),
    "unused": (W, "neither in the optimizer nor reached by any backward pass", "Remove the unused layer or use it in forward()."),
    "never_used": (E, "forward() never uses them (the loss does not change when they change)",
                   "Use the layer in forward() or remove it."),
    "never_called": (W, "{module} is never called in a forward pass", "Use {module} in forward() or remove it."),
    "no_grad": (E, "{module} always runs under torch.no_grad() (called at {site}), so autograd records nothing for it",
                "Remove the torch.no_grad() around {module} in forward()."),
    "cut_inside": (E, "{module}'s output does not require grad: its forward uses .data or .detach() on its parameters",
                   "Use the parameters themselves (self.weight, not self.weight.data) in {module}'s computation."),
    "cut_after": (E, "{module} runs with gradients on (called at {called}), but no gradient ever comes back to it: its "
                  "output is cut off on the way to the loss{cut_at} (.detach(), .data, .item() or a NumPy round trip)",
                  "Remove the .detach()/.data between {module}'s output and the loss."),
    "cut": (E, "the loss depends on them, but autograd brings them no gradient: the path to the loss is cut by .detach(), "
            ".data, torch.no_grad() or a NumPy round trip in forward()",
            "Compute the forward pass with the tensors themselves (no .detach() or .data) and outside torch.no_grad()."),
    "not_changed": (W, "they have a gradient and are in the optimizer, yet the optimizer never changes them (learning rate "
                    "0 in their parameter group?)", "Check the parameter group's learning rate and the optimizer's arguments."),
    "update_dropped": (E, "never changed in {steps} {unit}s while {updated} did",
                       "Write the update into the array the network computes with (`w -= lr * g` in place, or assign the new "
                       "array back to the attribute/list entry); `w = w - lr * g` on a loop variable or a copy is dropped."),
    "nothing_changes": (E, "none of the network's arrays changed in the {calls} gradient computations of {function}()",
                        "Write the update into the array the network computes with (`w -= lr * g` in place, or assign the new "
                        "array back to the attribute/list entry); `w = w - lr * g` on a loop variable or a copy is dropped."),
    "gradient_not_applied": (E, "did not change in {steps} training steps although the gradient is not zero",
                             "Update the arrays the model computes with, in place (`w -= lr * g`, or `self.weights[i] = w - lr "
                             "* g`); `for w in self.weights: w = w - lr * g` only re-binds the loop variable."),
    "zero_gradient": (E, "did not change in {steps} training steps, and loss() reports an exactly zero gradient for them (an "
                      "in-place update that never touches them, or a layer cut off from the loss)",
                      "Update the arrays the model computes with, in place, and check that loss() differentiates through "
                      "every layer."),
}


CUT_BY_CODE = frozenset({"zero_grad_before_step", "step_before_backward", "never_stepped", "requires_grad", "requires_grad_off",
                         "model_not_in_optimizer", "tensors_not_in_optimizer", "not_in_optimizer", "no_grad",
                         "cut_inside", "cut_after", "cut"})
"""Reasons that are the program's own code, proven from what it did (a ``.detach()`` on the way to the loss, a tensor
left out of the optimizer, ``step()`` before ``backward()``): their findings carry ``kind="cut"`` and are caused by
no other finding (:data:`netdoctor.rules.causes.ROOTS`), while the other layers' too-large updates may be caused by
them: the layers that still train fit fixed features at a rate chosen for the whole network (a hidden output
``.detach()``ed at SGD lr 0.5 with momentum diverges; its twin learns at the same rate). A parameter whose gradient is
exactly zero (units that died) is no such reason: that is a consequence."""


def _names(names: tuple[str, ...], limit: int = 6) -> str:
    return ", ".join(names) if len(names) <= limit else ", ".join(names[:limit]) + f" and {len(names) - limit} more"


def _one(f: FrozenParameters, g: FrozenGroup) -> Finding:
    slots = {"module": g.module or "?", "site": g.site or "?", "called": g.site or "?", "cut_at": "", "steps": f.steps, "unit": f.unit,
             "updated": ", ".join(f"`{t}`" for t in f.updated[:4]) or "the others", **g.numbers}
    if g.reason in FROZEN_REASONS:
        severity, detail, fix = FROZEN_REASONS[g.reason]
        detail, fix = detail.format(**slots), fix.format(**slots)
        if g.reason == "requires_grad_unused" and f.learns is False:
            severity = Severity.WARNING  # frozen on purpose is a note, unless the run does not learn
    else:  # the model said why, in its own words (protocol.md: frozen_reasons -> (why, fix))
        severity, detail, fix = Severity.ERROR, g.why, g.fix
    others = f" The optimizer updates {len(f.updated)} other parameter tensor(s)." if f.updated and f.framework.value == "torch" else ""
    where = _names(g.names, 3) + (f" at {g.site}" if g.site else "") + (f" ({f.site})" if f.site and not g.site else "")
    return Finding(
        "frozen-parameters", severity, where, f"{_names(g.names)} never learn: {detail}.{others}",
        {"parameters": list(g.names), "reason": g.reason, "site": g.site or None, "updated": list(f.updated[:12]),
         "steps": f.steps, "on_purpose": g.reason == "requires_grad_unused" and bool(f.updated), **f.details,
         **g.numbers, **({"kind": "cut"} if g.reason in CUT_BY_CODE else {})},
        fix=fix if fix.endswith(".") else fix + ".",
        explanation="A parameter learns only if the loss's gradient reaches it and the optimizer applies it; these keep "
        "their initial values for the whole run, " + (
            "while the other parameters learn around them (from fixed features when these come first, towards a fixed "
            "output layer when they come last)." if f.updated else
            "and no other parameter of the network changes either: it answers with its initial weights to the end."
            if f.framework.value in ("torch", "numpy") else "and what comes after them learns around fixed values."),
    )


def frozen_parameters(f: FrozenParameters | None) -> list[Finding]:
    """``frozen-parameters``: one finding per reason the parameters grouped under it never learn.

    Severity per reason (:data:`FROZEN_REASONS`): an error when the program
    means them to learn (in the optimizer, a gradient computed and dropped, an
    update written into a copy); a warning when freezing may be on purpose
    (a layer never called); a note when it plainly is (``requires_grad=False``
    and not in the optimizer), a warning for that too when the run does not learn.
    """
    if f is None:
        return []
    return [_one(f, g) for g in f.groups if g.names]
