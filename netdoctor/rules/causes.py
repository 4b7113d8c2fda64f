"""The causal graph between finding codes, and the linking that puts root causes first.

:data:`CAUSES` is the graph used for ranking: ``A: (B, C)`` means A is
typically a consequence of B or C. :func:`link_causes` fills each finding's
``caused_by`` with the nearest causes actually present, so a report shows
root causes first (stale accumulator / summed gradient / learning rate ->
exploding weights -> saturation -> vanishing gradients -> constant output ->
class collapse -> plateau). Every road (``check``, ``run`` on NumPy and on
PyTorch) links with this one graph.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from netdoctor.findings import Finding, Severity

__all__ = ["CAUSES", "ONLY_WHEN", "link_causes"]

CAUSES: dict[str, tuple[str, ...]] = {
    "summed-gradient": ("stale-accumulator", "aliased-buffers"),
    "stale-accumulator": ("aliased-buffers",),
    "update-mismatch": ("aliased-buffers", "stale-accumulator", "summed-gradient"),
    "learning-rate-too-high": ("summed-gradient", "stale-accumulator", "gradient-mismatch"),
    # raw scores into nll_loss: a loss without a lower bound drives the target's score up at every step
    "exploding-gradients": ("learning-rate-too-high", "summed-gradient", "stale-accumulator", "unscaled-inputs", "gradient-mismatch",
                            "missing-log-softmax"),
    "non-finite": ("exploding-gradients", "learning-rate-too-high", "unscaled-inputs", "missing-log-softmax"),
    "bad-initial-loss": ("unscaled-inputs",),
    "saturated-activations": ("exploding-gradients", "bad-initial-loss", "unscaled-inputs"),
    "dead-units": ("exploding-gradients", "learning-rate-too-high", "saturated-activations"),
    # A layer whose relu units never fire gets exactly zero gradients: its weights, and those of the layer after it,
    # never move although the update is applied to them. So does a network whose one output unit fits targets of one
    # class (its error is zero whatever the weights).
    "frozen-parameters": ("dead-units", "constant-targets"),
    "vanishing-gradients": ("saturated-activations", "dead-units", "frozen-parameters", "non-finite"),
    "learning-rate-too-low": ("vanishing-gradients", "frozen-parameters"),
    "constant-output": ("constant-targets", "vanishing-gradients", "saturated-activations", "dead-units", "gradient-mismatch",
                        "mutated-constant"),
    # A learning rate driven to ~0 (a per-epoch schedule stepped every batch) freezes the network early, while it still
    # answers a few classes: the rate is the root cause.
    "class-collapse": ("constant-output", "constant-targets", "batch-leak", "double-softmax", "learning-rate-too-low",
                       "missing-log-softmax"),
    "label-permutation": (),
    "accuracy-plateau": ("class-collapse", "constant-output", "vanishing-gradients", "learning-rate-too-low", "label-permutation",
                         "double-softmax", "frozen-parameters"),
    "no-learning": ("accuracy-plateau", "constant-output", "vanishing-gradients", "learning-rate-too-low", "label-permutation",
                    "dead-units", "saturated-activations", "cannot-overfit", "batch-leak", "frozen-parameters",
                    "gradient-mismatch", "update-mismatch", "stale-accumulator", "aliased-buffers", "mutated-constant",
                    "double-softmax", "constant-targets", "unshuffled-data", "missing-log-softmax"),
    # Found by `netdoctor run` on PyTorch programs (netdoctor.observe.torch.rules): root causes of their own.
    # A target table written into in place (``t = EYE[label]; t *= 1 - s`` scales the table's row at every call)
    # drifts until every target names one class: the table's mutation is the root cause (see :data:`ONLY_WHEN`).
    "constant-targets": ("mutated-constant",),
    "double-softmax": (),
    "missing-log-softmax": (),
    "eval-mode-training": (),
    "train-mode-evaluation": (),
    "unshuffled-data": (),
}


ONLY_WHEN: dict[tuple[str, str], tuple[str, ...]] = {
    # a mutated constant explains constant targets only when what was written into is a table whose rows are handed
    # out (kind ``view``: the targets' table); a gradient template written through an alias (the forum program's
    # ``self.weight_templates``, kind ``constant``) has nothing to do with the targets
    ("constant-targets", "mutated-constant"): ("view",),
}
"""(effect, cause) -> the evidence kinds of the cause's finding for which the link of :data:`CAUSES` holds."""

ROOTS: dict[str, tuple[str, ...]] = {
    # a gradient path cut by the program's own code (.detach() or .data in forward, torch.no_grad(), requires_grad off,
    # a tensor left out of the optimizer, a step before backward or none at all): frozen whatever the numbers did,
    # never because units died after a blow-up
    "frozen-parameters": ("cut",),
    # labels that do not follow the inputs (rows seen for the first time answered at chance while rows seen before are
    # answered from memory): no state of the network explains it, the data does
    "no-learning": ("labels",),
    # weights drawn far below 1/sqrt(fan-in) through several layers (``randn * 0.01``): the error never reaches the first
    # layers from the first update on, whatever the rate does later
    "vanishing-gradients": ("init",),
    # tanh or sigmoid units in their flat ends from the first updates observed, fed by weights whose scale, sampled
    # before the first step, is many times 1/sqrt(fan-in): the draw saturates them, not the steps that came after it
    "saturated-activations": ("init",),
}
"""code -> the evidence kinds for which a finding of that code is caused by no other finding: the walk of
:data:`CAUSES` stops at it."""

ROOT_EXPLAINS: dict[str, tuple[str, ...]] = {
    # layers cut off by the program leave the layers that still train fitting fixed features at a rate chosen for the
    # whole network: their updates overshoot (a hidden output .detach()ed at SGD lr 0.5 with momentum diverges, its
    # twin learns at the same rate)
    "frozen-parameters": ("learning-rate-too-high", "exploding-gradients"),
    # the output layer's weights, drawn tiny, take steps as large as themselves while they grow to their working size
    # (a rate that trains the same network from Xavier weights): the rate is not the cause
    "vanishing-gradients": ("learning-rate-too-high", "exploding-gradients"),
    # units saturated from the draw pass back derivatives that a float32 program rounds to a few bits or to 0: an
    # update check read through them disagrees where the formula is right (a warning; see EXPLAINS_NO_ERROR); and
    # hidden units stuck at 0 or 1 hand the next layer full-size inputs, so its first steps at a rate that trains the
    # same network from a scaled draw are large beside its weights (npt1761: 0.41 of them; its twin learns at the
    # same rate): the draw is the cause, not the rate, while the steps' size is all the rate's finding measured
    "saturated-activations": ("gradient-mismatch", "learning-rate-too-high"),
}
"""code of :data:`ROOTS` -> findings that one of its root findings explains when nothing else present does. Kept out of
:data:`CAUSES`, whose walk it would turn into a cycle (frozen parameters are otherwise a consequence of dead units,
and those of a blow-up)."""


EXPLAINS_NO_ERROR: frozenset[tuple[str, str]] = frozenset({("saturated-activations", "gradient-mismatch"),
                                                           ("saturated-activations", "learning-rate-too-high")})
"""(root, finding) pairs of :data:`ROOT_EXPLAINS` that hold only while the finding is no error: a gradient that
disagrees with the program's own loss is a bug of its own, whatever saturated the units, and so is a rate whose loss
diverged or whose steps the rule judged an error."""


UNMOVED = "nothing_changes"
"""The ``reason`` of a finding's evidence that says none of the network's arrays ever changed (``frozen-parameters``
of a network whose every step wrote a copy): such a finding is explained only by the causes among its direct ones
that are present (dead units, constant targets), never through absent ones to a blow-up or a rate, which need weights
that moved (npw1192: Adam's step written to a copy, frozen-parameters linked through dead-units and
exploding-gradients, both absent, to a gradient-mismatch warning and ranked after it)."""
NEVER_MOVED = frozenset({UNMOVED, "update_dropped"})
"""Reasons of ``frozen-parameters`` that say the frozen arrays never changed from the first update on: :data:`UNMOVED`,
and ``update_dropped`` (some arrays never changed while the others did: ``W1 = W1`` in a step that returns new
weights). A blow-up kills units only after steps that moved the weights, so such arrays are explained by present direct
causes alone (functional_step_frozen: linked through absent dead units to the other layer's growth, ranked after it)."""


def _root(code: str, kinds: dict[str, set[str]] | None) -> bool:
    """Every present finding of ``code`` has a kind of :data:`ROOTS` (``kinds``: the evidence kinds per code)."""
    mine = (kinds or {}).get(code, set())
    return bool(mine) and mine <= set(ROOTS.get(code, ()))


def _ancestors(code: str, kinds: dict[str, set[str]] | None = None) -> set[str]:
    """Every code that can cause ``code``, directly or through others (with ``kinds``, the evidence kinds of the
    findings present: only through the links :data:`ONLY_WHEN` lets hold)."""
    seen: set[str] = set()
    stack = [] if _root(code, kinds) else [(code, c) for c in CAUSES.get(code, ())]
    while stack:
        effect, c = stack.pop()
        if kinds is not None and (effect, c) in ONLY_WHEN and not kinds.get(c, set()) & set(ONLY_WHEN[effect, c]):
            continue
        if c not in seen:
            seen.add(c)
            if not _root(c, kinds):
                stack.extend((c, d) for d in CAUSES.get(c, ()))
    return seen


def link_causes(findings: Sequence[Finding]) -> list[Finding]:
    """Set each finding's ``caused_by`` to the nearest causes in :data:`CAUSES` that are present.

    Absent intermediate codes are walked through, so class-collapse links to
    saturated-activations when constant-output was not reported; a cause that
    is itself behind another linked cause is left out (saturation, not also
    the stale accumulator behind it); not for a network that never moved (:data:`UNMOVED`). Causes a finding
    already names are kept. A finding whose
    evidence says ``on_purpose`` is no one's cause, and a note (info) is no cause of a warning or an error.
    """
    # A choice the program made on purpose (a layer frozen for fine-tuning beside others that train) is
    # context, not a cause: it does not explain why the trained layers learn nothing.
    every = {f.code for f in findings if not f.evidence.get("on_purpose")}
    # A note is what was measured and judged harmless (a gradient that matches no assumed loss, a saturation the
    # gradient still passes): it explains no problem, and ranking it before one would list it first.
    problems = {f.code for f in findings if not f.evidence.get("on_purpose") and f.severity is not Severity.INFO}
    kinds: dict[str, set[str]] = {}
    for f in findings:
        kinds.setdefault(f.code, set()).add(str(f.evidence.get("kind", "")))
    roots = {f.code for f in findings if str(f.evidence.get("kind", "")) in ROOTS.get(f.code, ())}
    out = []
    for f in findings:
        present = every if f.severity is Severity.INFO else problems
        present = {c for c in present if (f.code, c) not in ONLY_WHEN or kinds.get(c, set()) & set(ONLY_WHEN[f.code, c])}
        found: list[str] = []
        root = str(f.evidence.get("kind", "")) in ROOTS.get(f.code, ())
        seen, queue = {f.code}, [] if root else list(CAUSES.get(f.code, ()))
        while queue:
            c = queue.pop(0)
            if c in seen:
                continue
            seen.add(c)
            if c in present:
                found.append(c)
            elif f.evidence.get("reason") not in NEVER_MOVED:
                queue.extend(CAUSES.get(c, ()))
        found = [c for c in found if not any(c in _ancestors(d, kinds) for d in found if d != c)]
        own = [c for c in f.caused_by if c in present and c != f.code and c not in found]
        if not own and not found and not root:
            found = [c for c in roots if f.code in ROOT_EXPLAINS.get(c, ()) and c in present
                     and not ((c, f.code) in EXPLAINS_NO_ERROR and f.severity is Severity.ERROR)]
        out.append(dataclasses.replace(f, caused_by=tuple(own + found)))
    return out


