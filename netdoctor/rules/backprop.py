"""``gradient-mismatch``: a gradient that is not the derivative of the loss, from either of its two measurements.

* ``netdoctor run``: the program's applied updates against its own loss. The evidence records of the update
  check (:mod:`netdoctor.observe.numpy.update_check` measures them on the program's own forward, batch and
  loss, with the gradient judge), worded by :func:`gradient_mismatch_in_updates`.
* ``netdoctor run`` on PyTorch programs: the hand-written backward of custom ``autograd.Function`` s against
  finite differences of the module that runs them (:class:`ModuleBackwardCheck`, measured by
  :mod:`netdoctor.observe.torch.backward_check`), worded by :func:`gradient_mismatch_in_modules`.
* ``gradcheck`` and ``check``'s gradient stage: the returned gradient against finite differences of the
  returned loss, per tensor and along random directions (:class:`GradientComparison`, which
  :class:`netdoctor.gradients.result.GradcheckResult` hands over), worded by
  :func:`gradient_mismatch_in_gradients`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import field
from typing import TYPE_CHECKING, Any

from netdoctor._lazy import dataclass
from netdoctor.findings import Finding, Severity
from netdoctor.params import format_index
from netdoctor.rules.learning import learns
from netdoctor.rules.policy import BLOWN_UP_GROWTH

if TYPE_CHECKING:  # (the records' module is not imported while a program runs: the update check imports this then)
    from netdoctor.rules.evidence import TrainingCurve

__all__ = [
    "gradient_ascent_by_hand",
    "WorstEntry", "TensorVerdict", "UpdateCheck", "gradient_mismatch_in_updates",
    "CheckedEntry", "CheckedTensor", "CheckedDirection", "GradientComparison", "gradient_mismatch_in_gradients",
    "ModuleBackwardCheck", "gradient_mismatch_in_modules",
]


STEP_ADDED = "step added"
"""The hint of a tensor whose right gradient the step adds (``W += lr * dW``) while the other tensors' steps subtract
theirs: its update alone climbs the loss (``netdoctor.observe.numpy.update_check``)."""


@dataclass(frozen=True)
class WorstEntry:
    """One sampled entry of a tensor: the applied value over the factor against the derivative."""

    index: tuple[int, ...]
    applied: float
    derivative: float
    rel_error: float


@dataclass(frozen=True)
class TensorVerdict:
    """One tensor: the reading compared, its ratio to the numerical gradient and the judge's verdict."""

    name: str
    kind: str
    """The reading judged: ``returned``, ``buffer``, ``update`` or ``local``
    (:class:`netdoctor.observe.numpy.update_check.Applied`)."""
    ratio: float
    """Median of applied / numerical over the sampled entries (nan when the derivative is ~0 there)."""
    spread: float
    """Relative spread of those ratios (0 for an exact multiple)."""
    ok: bool
    n_checked: int
    """Entries the judge compared (kinks skipped)."""
    n_failed: int
    worst: tuple[WorstEntry, ...] = ()
    """Up to three entries with the largest error against ``factor`` times the derivative, worst first."""
    hint: str | None = None
    """The gradient judge's reading of the error pattern (constant ratio, transposed, ...)."""
    pattern: str = ""
    """What the wrong entries look like (sign flipped, one scalar for the tensor, ...)."""
    local_name: str = ""
    """The program's own name of the array compared."""
    bias: bool = False
    source: str = ""
    """Where the reading judged was computed (``backprop() at net.py:33``)."""


@dataclass
class UpdateCheck:
    """Evidence: one update of the program checked against finite differences of its own forward."""

    where: str
    """file:line of the update (and of the function that computed it, when different)."""
    loss: str
    loss_assumed: bool
    factor: float
    """The factor shared by the tensors that agree, for the reading applied (lr, 1, a batch size...)."""
    kind: str
    """The reading ``factor`` belongs to."""
    tensors: list[TensorVerdict] = field(default_factory=list)
    coords: int = 0
    """Entries compared over all tensors (0 when the directional pass alone found every tensor right)."""
    directions: int = 0
    """Directions compared over all tensors in the directional pass run first (every entry of a tensor moved at
    once; 0 when it was not run)."""
    evaluations: int = 0
    """Forward passes run for this check."""
    note: str = ""
    """Why the check could not judge, or what was assumed."""
    unjudged: list[str] = field(default_factory=list)
    """Tensors of the check that were not compared: no reading said what was applied to them (at most a local array of
    their shape, in a function whose other locals were no gradient)."""
    readings: list[str] = field(default_factory=list)
    """The kinds of reading that were compared (the applied update first)."""
    computed_in: str = ""
    """The function (file:line) in which the program computed the update, when known."""
    gradient_by: str = ""
    """The function that computed the gradients the update applied (``loss_and_grads() at net.py:30``): where a
    returned gradient, or one held in a function's locals, was read, else the function that wrote them into the
    buffers; "" when not known."""
    forward: str = ""
    """The program's function that was run again as the forward (file:line)."""
    climbs: bool = False
    """The whole update is ``-factor`` times the derivative in every tensor that agrees on a factor: gradient
    ascent (the output error's sign flipped), whatever loss among the assumed ones the program meant."""
    added: bool = False
    """The climb comes from the program *adding* gradients that are the derivative (``W += lr * dW``), not from
    subtracting a negative multiple of it."""
    velocity: str = ""
    """The climb comes through a velocity the steps add (``v = mu * v + lr * g; p += v``): the gradients are the
    derivative, the velocity takes them in with the sign that climbs. Its name and line (``self.vel['W1'] at
    net.py:27``)."""
    decay: str = ""
    """The weight decay read in the update (``weight decay 0.0005 read on W1, W2: ...``): the update is the loss's
    gradient plus ``c * W`` in those tensors (L2 regularisation, part of the objective), so their gradient is right."""
    targets_guessed: bool = False
    """The assumed loss compares the output with an array that looks like no targets (see
    :attr:`~netdoctor.observe.numpy.update_check.LossChoice.guessed`): a climb is then not known to be one."""
    at_update: int = -1
    """The updates applied before the checked one (the window opened after them); -1 when not known."""
    weight_norms: dict[str, float] = field(default_factory=dict)
    """The Frobenius norm of each weight matrix at the checked step (what its gradient belongs to)."""
    own_scale: tuple[str, float] | None = None
    """The program's own loss as an assumed loss over ``r`` (``(name, r)``: ``r`` the batch size for a mean over the
    rows), measured on the step's output; None when not measured or no multiple of one."""

    @property
    def ok(self) -> bool:
        return all(t.ok for t in self.tensors)

    @property
    def failed(self) -> list[TensorVerdict]:
        return [t for t in self.tensors if not t.ok]


# -- the rule -------------------------------------------------------------------------------------------
def _contradicted(c: UpdateCheck, curve: TrainingCurve | None) -> bool:
    """The program contradicts the loss the check assumed: no tensor moved along its derivative (and the update does
    not climb it as a whole), or the run learns although the update would climb it."""
    if not c.loss_assumed:
        return False
    if c.climbs:
        return learns(curve)
    return not any(t.ok for t in c.tensors)



_READING = {"returned": "the gradient returned", "buffer": "what was added to the buffer",
            "written": "what was written into the buffer", "update": "the update",
            "velocity": "what the velocity took in", "local": "the gradient computed"}


def failures(c: UpdateCheck) -> list[TensorVerdict]:
    """The tensors of a check that are not the derivative, but for a "gradient" the forward itself returned: a
    per-sample forward in columns returns its hidden layers' ``(H, 1)`` activations, shaped like the biases, and in a
    step that moves nothing (frozen parameters: no update to say what was applied) they were read as returned
    gradients (npw0456: ``forward() -> z1, h1, z2, h2, out`` taken for ``biases[0]``, ``biases[1]``)."""
    return [t for t in c.failed if not (t.bias and t.kind == "returned" and t.source and t.source == c.forward)]


def _update_sentence(c: UpdateCheck, first: TensorVerdict, whose: str, numbers: str, agree: list[str]) -> str:
    """The finding's message: the whole update climbing the loss, or one tensor that is not its derivative."""
    bad = failures(c)
    if c.climbs:
        held = 'whose buffers hold' if c.kind in ('buffer', 'written') else 'whose gradients are'
        if c.velocity:
            return (f"the update climbs {whose}: {', '.join(v.name for v in bad)} {held} {c.factor:.3g}x the "
                    f"derivative, and the velocity {c.velocity} takes them in with the sign that climbs (each step "
                    f"adds them to the weights: gradient ascent){numbers}.")
        # the factor is the rate over whatever the assumed loss sums (lr / 64 against a summed cross-entropy): the sign
        # is the finding, not the factor's name
        moved = (f"each moved by -{c.factor:.3g}x the derivative (the step added to the weights, not subtracted"
                 if c.kind == "update" else
                 f"{held} {c.factor:.3g}x the derivative, added by the program (the sign flipped" if c.added else
                 f"{held} -{c.factor:.3g}x the derivative, subtracted by the program (the sign flipped")
        return f"the update climbs {whose}: {', '.join(v.name for v in bad)} {moved}: gradient ascent){numbers}."
    up = [v.name for v in bad if v.hint == STEP_ADDED]
    if first.hint == STEP_ADDED and agree:  # some tensors' steps add their (right) gradient, the others subtract theirs
        return (f"the update climbs {whose} through {', '.join(up)}: each moved along its derivative (the step adds "
                f"the gradient, W += lr * dW, where {', '.join(agree)} moved against theirs: gradient ascent on "
                f"{'those tensors' if len(up) > 1 else 'that tensor'}){numbers}.")
    own = f" (`{first.local_name}`)" if first.local_name else ""
    others = [v.name for v in bad if v is not first]
    return (f"{_READING.get(first.kind, first.kind)} for {first.name}{own} is not the derivative of {whose}: "
            f"{first.n_failed} of {first.n_checked} sampled entries disagree{numbers}"
            + (f"; also {', '.join(others)}" if others else "") + ".")


def _computed_by(c: UpdateCheck, first: TensorVerdict) -> str:
    """Where the failing tensor's gradient was computed: the update reading's source is where the step is applied, a
    buffer's or a velocity's the function that handed the batch down; the gradient was computed by the function that
    returned it, held it in its locals, or wrote it into the buffers (:attr:`UpdateCheck.gradient_by`)."""
    return c.gradient_by if first.kind in ("update", "buffer", "written", "velocity") and c.gradient_by else first.source


def blown_up(c: UpdateCheck, start: dict[str, float], blown_at: int | None = None) -> bool:
    """Whether the weights had blown up at the checked step: an update larger than the weights it moved came before
    it (``blown_at``: the first such, see :data:`~netdoctor.rules.policy.BLOWN_UP_STEP`), or a weight matrix is non-finite there, or
    :data:`BLOWN_UP_GROWTH` times its norm ``start`` (when watching began) or more."""
    if blown_at is not None and c.at_update >= blown_at:
        return True
    return any(not math.isfinite(n) or start.get(k, 0) > 0 and n >= BLOWN_UP_GROWTH * start[k]
               for k, n in c.weight_norms.items())


def output_layer_agrees(c: UpdateCheck) -> bool:
    """Whether the output layer's tensors (the last weight matrix and the last bias, parameters in the program's order,
    input side first) were checked and agree while an earlier tensor does not.

    What blown-up weights do to a right formula happens at the output: a saturated loss (a clipped log, a softmax at 0
    or 1) is flat where the formula still gives ``out - t``, and the output layer's gradients are that error times the
    last activations (the output bias's is the error itself), so they disagree first. Hidden units at their limits
    cannot make a right formula disagree: it multiplies by the activation's derivative read from the same saturated
    values, ~0 like the finite difference. An output layer that agrees with only earlier layers wrong is a wrong hidden
    derivative (a missing ``sigmoid'``: the step itself is then larger, which is what made it count as a blow-up)."""
    weights = [v for v in c.tensors if not v.bias]
    biases = [v for v in c.tensors if v.bias]
    out = weights[-1:] + biases[-1:]
    return bool(weights) and all(v.ok for v in out) and any(not v.ok for v in c.tensors)


def _grown(c: UpdateCheck, start: dict[str, float]) -> float:
    """The largest growth of a weight matrix's norm at the checked step over its norm ``start`` (inf: non-finite)."""
    return max((n / start[k] if math.isfinite(n) else math.inf for k, n in c.weight_norms.items()
                if start.get(k, 0) > 0), default=math.nan)


def flat_output(c: UpdateCheck, judged: Sequence[UpdateCheck]) -> UpdateCheck | None:
    """The earlier check that agreed on every tensor, when ``c`` is read where the loss had gone flat at the output.

    The output bias's gradient is the loss's own derivative at the output (the mean of ``out - t`` for a softmax with
    cross-entropy), whatever the hidden layers compute: a missing or wrong hidden derivative never moves it. When it
    was right at an earlier check of the same code and disagrees now, the loss itself changed: outputs saturated (a
    softmax at exactly 0 or 1, a clipped ``log(p + 1e-12)``) move the loss by nothing where the formula still gives
    ``out - t``, and every tensor's comparison inherits that. None when ``c`` is no such check (no bias, the output
    bias right, or no earlier check that agreed everywhere)."""
    biases = [v for v in c.tensors if v.bias]
    if not biases or biases[-1].ok:
        return None
    return next((d for d in judged if d.at_update < c.at_update and d.tensors and d.ok
                 and any(v.name == biases[-1].name for v in d.tensors)), None)


def _after_blow_up(c: UpdateCheck, judged: Sequence[UpdateCheck], grown: float, blown_at: int | None,
                   start: dict[str, float]) -> str:
    """The end of the message of a mismatch read only after the weights blew up: when, how, and why it says nothing.
    A loss saturated there (a clipped log, a softmax at 0 or 1) has finite differences of 0 where the program's formula
    is right, exactly as dead units with a missing derivative have, so such steps tell nothing about the gradient."""
    passed = [d.at_update for d in judged if not failures(d)]
    flat = None if blown_up(c, start, blown_at) else flat_output(c, judged)
    if flat is not None:
        bias = next(v.name for v in reversed(c.tensors) if v.bias)
        return (f"; this was read only where the loss had gone flat at the output (checked at update {c.at_update:,}: "
                f"the output bias {bias}'s gradient, the loss's own derivative at the output, agreed at update "
                f"{flat.at_update:,} and disagrees here"
                + (f", the weights {grown:.3g}x their norm when watching began" if math.isfinite(grown) else "")
                + "): saturated outputs (a softmax at 0 or 1, a clipped log) move the loss by nothing where the "
                "program's formula still gives out - t, so this does not say the gradient is wrong.")
    how = (f"update {blown_at:,} moved the weights by more than their own size" if blown_at is not None
           and c.at_update >= blown_at else "a weight matrix non-finite" if not math.isfinite(grown)
           else f"a weight matrix {grown:.3g}x its norm when watching began")
    return (f"; this was read only after the weights blew up (checked at update {c.at_update:,}: {how}"
            + (f"; the step checked at update {passed[0]:,} agreed" if passed else "")
            + "): on weights that blew up, the loss and the units saturate (a clipped log, a softmax at 0 or 1, "
            "units at their limits), and their derivative is 0 where the program's formula is not, so this does not "
            "say the gradient is wrong.")


def _update_fix(c: UpdateCheck, first: TensorVerdict, agree: list[str], partial: bool) -> str:
    """The fix of an update check's ``gradient-mismatch``: which sign to flip for a climb, else the tensor's pattern."""
    if c.climbs and c.velocity:
        return ("take the gradient into the velocity with the opposite sign (v = mu * v - lr * g with p += v, or "
                "v = mu * v + lr * g with p -= v): the gradients are the derivative of the loss; then every tensor "
                "descends")
    if c.climbs and c.added:
        return ("subtract the step where the gradients are applied (W -= lr * dW, not W += lr * dW): they are the "
                "derivative of the loss; then every tensor descends")
    if c.climbs:
        return ("flip the sign of the output error where the backward pass starts (out - t, not t - out), or of the "
                "step (W -= lr * dW, not +=); then every tensor descends")
    if partial:
        return (f"subtract {first.name}'s step where it is applied ({first.local_name or first.name} -= lr * "
                f"gradient, not +=), as {', '.join(agree)} {'is' if len(agree) == 1 else 'are'}: its gradient is "
                "right, its update climbs the loss while the others descend")
    return ((first.pattern or first.hint or "the backward pass of this tensor is wrong")
            + "; re-derive it step by step from the loss and compare each intermediate with a finite difference "
              "(netdoctor.gradcheck).")


def gradient_mismatch_in_updates(checks: Sequence[UpdateCheck], *, curve: TrainingCurve | None = None,
                                 start_norms: dict[str, float] | None = None,
                                 blown_at: int | None = None) -> list[Finding]:
    """One ``gradient-mismatch`` for the tensors no checked update explains; nothing for a right program.

    The finding points at the failing tensor nearest the output (errors flow backwards: it is the one to
    fix first) and lists the others. Severity: error when the loss is the program's own, or when the
    whole update climbs the loss (every tensor moved by one negative multiple of its derivative: gradient
    ascent, whichever of the assumed losses was meant, compared with targets that look like targets); warning
    when the loss was assumed and other
    tensors agree with it. Nothing when the loss was assumed and the program contradicts the assumption: no
    tensor agrees with it (a softmax net checked against squared error disagrees everywhere; the program minimises
    another loss, and nothing says its gradient is wrong), or the training ``curve`` shows the run learning
    (:func:`~netdoctor.rules.learning.learns`) while the update would climb the assumed loss: a run that climbed
    its loss would not learn.

    A mismatch read only after the weights blew up (:func:`blown_up`, from ``start_norms`` and ``blown_at``), or only
    where the loss had gone flat at the output (:func:`flat_output`), is info: see :func:`_after_blow_up` (the book's
    style at lr 60: its clip binds after update 1); not a mismatch of earlier layers alone where the output layer
    agrees (:func:`output_layer_agrees`: a wrong hidden derivative whose larger step counted as the blow-up), nor a
    climb: a loss saturated by blown-up weights has finite differences of ~0 where the formula is not, which gives
    ratios that are huge or scattered, never one negative factor that every tensor's step shares; that is gradient
    ascent, whose own growing steps counted as the blow-up (np2523: every tensor at -0.0045 with a spread of 1e-7 on
    the step after an update of 1.2x the weights).

    Long because the finding's evidence, fix and explanation are written out in place, one reading of the check each.
    """
    judged = [c for c in checks if c.tensors]
    failing = [c for c in judged if failures(c) and not _contradicted(c, curve)]
    if not failing:
        return []
    after = all((bool(start_norms) or blown_at is not None) and blown_up(d, start_norms or {}, blown_at)
                and not output_layer_agrees(d) and not d.climbs or flat_output(d, judged) is not None for d in failing)
    c = failing[0]
    bad = failures(c)
    # parameters come in the program's order, input side first: the last failing weight is nearest the output
    first = next((v for v in reversed(bad) if not v.bias), bad[-1])
    w = first.worst[0] if first.worst else None
    at = format_index(first.name, w.index) if w else first.name
    loss = c.loss.replace(" (assumed)", "")
    scaled = "" if abs(c.factor - 1) < 1e-9 else f"/{c.factor:.3g}"
    numbers = (f"; worst {at}: {'update' if first.kind == 'update' else 'value'}{scaled} {w.applied:.3e}, "
               f"derivative {w.derivative:.3e}" if w else "")
    agree = [v.name for v in c.tensors if v.ok]
    # a climb is a fact of the loss assumed when its targets are targets; against an array that only has their shape
    # (an output error handed along, a cache), the direction is a guess too
    # (info only for a climb against guessed targets: which way their loss goes is not known)
    # one tensor's update a negative multiple of the derivative while the others' are positive ones: that tensor's
    # step adds its gradient, a fact of signs whichever assumed loss the others agree with
    partial = first.hint == STEP_ADDED and not c.climbs and bool(agree)
    severity = (Severity.INFO if after else Severity.ERROR if not c.loss_assumed or (c.climbs or partial)
                and not c.targets_guessed else Severity.WARNING if agree else Severity.INFO)
    whose = f"the program's own loss {loss}" if not c.loss_assumed else f"the loss (assumed: {loss})"
    msg = _update_sentence(c, first, whose, numbers, agree)
    grown = _grown(c, start_norms or {})
    if after:
        msg = msg[:-1] + _after_blow_up(c, judged, grown, blown_at, start_norms or {})
    again = sum(1 for d in judged if failures(d))
    where_lines = list(dict.fromkeys(x for x in (_computed_by(c, first), c.where) if x))
    velocity_line = c.velocity.rpartition(" at ")[2] if c.climbs and " at " in c.velocity else ""
    return [Finding(
        "gradient-mismatch", severity, velocity_line or at, msg,
        {"tensors": {v.name: {"reading": v.kind, "program_name": v.local_name, "ratio": v.ratio,
                              "ratio_spread": v.spread, "n_checked": v.n_checked, "n_failed": v.n_failed,
                              "worst": [{"index": list(x.index), "applied": x.applied, "derivative": x.derivative,
                                        "rel_error": x.rel_error} for x in v.worst], "pattern": v.pattern}
                     for v in bad},
         "agree": agree, "factor": c.factor, "loss": c.loss, "loss_assumed": c.loss_assumed, "climbs": c.climbs,
         "computed_by": _computed_by(c, first), "update_at": c.where, "step_in": c.computed_in, "forward": c.forward,
         "updates_failing": again, "updates_checked": len(judged), "entries_per_update": c.coords,
         "at_update": c.at_update, "after_blow_up": after, "weight_growth": grown, "blown_at": blown_at,
         **({"velocity": c.velocity} if c.velocity else {})},
        fix=_update_fix(c, first, agree, partial),
        explanation=(f"netdoctor ran the program's own forward ({c.forward or 'its forward'}) again on a copy of "
                     f"the batch it had just trained on, moved sampled entries of each parameter by a small step "
                     f"and measured how the loss changed. "
                     + (f"{', '.join(agree)} moved by {c.factor:.3g}x those derivatives; " if agree else "")
                     + (f"The velocity {c.velocity} takes those gradients in with the sign that climbs, so each "
                        "step makes the loss larger, not smaller" if c.climbs and c.velocity else
                        f"{'every other' if agree else 'Every'} tensor moved against them, so each step makes the loss "
                        "larger, not smaller" if c.climbs else f"{first.name} did not, so training follows another "
                        "direction than the loss's")
                     + (f" ({again} of {len(judged)} checked updates)" if len(judged) > 1 else "") + "."
                     + (" The loss is assumed from the output and targets; if the program minimises another loss, "
                        "this may be right for it." if c.loss_assumed else "")
                     + (f" Computed by {where_lines[0]}" + (f", applied in {where_lines[1]}" if len(where_lines) > 1 else "")
                        + "." if where_lines else "")),
    )]


# -- the gradient checker's comparison (gradcheck, check's gradient stage) ---------------------------------
@dataclass(frozen=True)
class CheckedEntry:
    """One entry of a tensor: the gradient the code returned against the finite-difference derivative."""

    index: tuple[int, ...]
    """Position in the tensor."""
    analytic: float
    """The gradient the code under test returned."""
    numeric: float
    """The finite-difference (or complex-step) derivative."""
    rel_error: float
    """Symmetric relative error ``|a - n| / max(|a|, |n|, floor)``."""


@dataclass(frozen=True)
class CheckedTensor:
    """Evidence: one parameter tensor's returned gradient, compared entry by entry by the gradient checker."""

    name: str
    n_checked: int
    n_failed: int
    max_rel_error: float
    limit: float
    """The rtol the entries were judged against (per-dtype tolerances, docs/gradcheck.md)."""
    worst: tuple[CheckedEntry, ...] = ()
    """The entries with the largest relative error, worst first."""
    hint: str | None = None
    """The judge's reading of the error pattern (constant ratio, transposed, ...)."""
    problem: str | None = None
    """A failure that is not about values (wrong shape, changing between calls)."""

    @property
    def ok(self) -> bool:
        return self.n_failed == 0 and self.problem is None


@dataclass(frozen=True)
class CheckedDirection:
    """Evidence: the gradient's dot product with one seeded random direction against the loss's slope along it."""

    seed: int
    scope: str
    """``model`` (all tensors at once) or a tensor name."""
    analytic: float
    numeric: float
    rel_error: float
    ok: bool
    skipped: str | None = None
    """Why the direction was not judged (the line crosses a kink)."""


@dataclass(frozen=True)
class GradientComparison:
    """Evidence: a gradient check of the code's returned gradient against finite differences of its own loss."""

    method: str
    """``central``, ``complex`` or ``directional``."""
    h: float
    rtol: float
    tensors: tuple[CheckedTensor, ...]
    """Every tensor checked, in the model's order."""
    directions: tuple[CheckedDirection, ...] = ()


def tensor_sentence(t: CheckedTensor) -> str:
    """One sentence: ``gradient of W1 disagrees at 3 of 784 entries (0.4%); worst ...``."""
    if t.problem is not None:
        return f"gradient of {t.name}: {t.problem}"
    share = 100.0 * t.n_failed / max(t.n_checked, 1)
    w = t.worst[0]
    return (
        f"gradient of {t.name} disagrees at {t.n_failed} of {t.n_checked} entries ({share:.1f}%); "
        f"worst {format_index(t.name, w.index)}: analytic {w.analytic:.2e}, numeric {w.numeric:.2e}, "
        f"rel_error {w.rel_error:.1e} > limit {t.limit:.0e}."
    )


def output_first(names: Sequence[str], failing: Sequence[str]) -> list[str]:
    """The failing tensor names, output layer first (by trailing layer number, else reverse order)."""

    def key(name: str) -> tuple[int, int]:
        # "W2" and "b2" belong to layer 2; names without a number keep dict order.
        tail = name[len(name.rstrip("0123456789")):]
        layer = int(tail) if tail else names.index(name)
        return (-layer, names.index(name))

    return sorted(failing, key=key)


def gradient_mismatch_in_gradients(c: GradientComparison) -> list[Finding]:
    """One ``gradient-mismatch`` error per failing tensor, and one for a failing direction no tensor localises."""
    out: list[Finding] = []
    failed = [t for t in c.tensors if not t.ok]
    order = output_first([t.name for t in c.tensors], [t.name for t in failed])
    for t in failed:
        where = format_index(t.name, t.worst[0].index) if (t.worst and t.problem is None) else t.name
        evidence: dict[str, Any] = {"tensor": t.name, "n_checked": t.n_checked, "n_failed": t.n_failed,
                                    "max_rel_error": t.max_rel_error, "limit": t.limit, "h": c.h, "method": c.method}
        if t.worst:
            w = t.worst[0]
            evidence.update(index=list(w.index), analytic=w.analytic, numeric=w.numeric, rel_error=w.rel_error)
        explanation = ("The gradient your code returns is not the derivative of the loss it returns, so training "
                       "follows the wrong direction or the wrong step size.")
        if len(order) > 1:
            explanation += (f" Failing tensors from the output backwards: {', '.join(order)}; errors flow backwards, "
                            f"so fix {order[0]} first and check again.")
        out.append(Finding(
            code="gradient-mismatch", severity=Severity.ERROR, where=where, message=tensor_sentence(t), evidence=evidence,
            fix=t.hint or "Re-derive the backward pass of this tensor step by step and compare each "
            "intermediate with a finite difference.",
            explanation=explanation,
        ))
    localised = {t.name for t in failed}
    for d in c.directions:
        if not d.ok and not localised and d.scope not in localised:
            out.append(Finding(
                code="gradient-mismatch", severity=Severity.ERROR, where=d.scope,
                message=(f"directional derivative (direction seed {d.seed}) disagrees: analytic "
                         f"{d.analytic:.3e}, numeric {d.numeric:.3e}, rel_error {d.rel_error:.1e} > limit {c.rtol:.0e}."),
                evidence={"seed": d.seed, "scope": d.scope, "analytic": d.analytic, "numeric": d.numeric,
                          "rel_error": d.rel_error, "ok": d.ok, "skipped": d.skipped, "limit": c.rtol, "h": c.h},
                fix="Run a per-coordinate check (method='central') to find the tensor and entries.",
                explanation="The gradient is not the derivative of the loss along a random direction.",
            ))
            break
    return out


# -- hand-written backward code in a PyTorch program (netdoctor run) ------------------------------------------
@dataclass(frozen=True)
class ModuleBackwardCheck:
    """Evidence: a module whose forward runs custom autograd Functions, its autograd gradient (through their
    hand-written backward) against finite differences of the module on a float64 copy."""

    module: str
    """The module's name in the model (``net.act1``)."""
    functions: tuple[str, ...]
    """The custom Functions found in its forward (``MyReLU``)."""
    defined: str
    """file:line of the first one's ``backward``."""
    comparison: GradientComparison | None
    """The gradient checker's comparison; None when the module could not be checked (``note`` says why)."""
    coords: int = 0
    """Entries compared over all tensors."""
    surrogate: tuple[str, ...] = ()
    """Tensors whose finite differences are ~0 at every sampled entry while the backward passes a gradient: a
    flat forward (rounding, sign) with a surrogate gradient on purpose (straight-through), not a mismatch."""
    note: str = ""


def gradient_mismatch_in_modules(checks: Sequence[ModuleBackwardCheck]) -> list[Finding]:
    """One ``gradient-mismatch`` error per checked module whose gradient disagrees (surrogate tensors aside)."""
    out: list[Finding] = []
    for c in checks:
        if c.comparison is None:
            continue
        bad = [t for t in c.comparison.tensors if not t.ok and t.name not in c.surrogate]
        if not bad:
            continue
        order = output_first([t.name for t in c.comparison.tensors], [t.name for t in bad])
        first = next(t for t in bad if t.name == order[0])
        where = format_index(first.name, first.worst[0].index) if first.worst and first.problem is None else first.name
        fns = ", ".join(c.functions)
        kind = "custom autograd Function" + ("s" if len(c.functions) > 1 else "")
        out.append(Finding(
            "gradient-mismatch", Severity.ERROR, f"{c.module}: {where}",
            f"the backward of {fns} ({kind}, backward at {c.defined}) in {c.module} is not the derivative of its "
            f"forward: {tensor_sentence(first)}"
            + (f" Also {', '.join(t.name for t in bad if t is not first)}." if len(bad) > 1 else ""),
            {"module": c.module, "functions": list(c.functions), "backward_at": c.defined, "method": c.comparison.method,
             "h": c.comparison.h, "limit": c.comparison.rtol, "entries_checked": c.coords,
             "tensors": {t.name: {"n_checked": t.n_checked, "n_failed": t.n_failed, "max_rel_error": t.max_rel_error,
                                  "worst": [{"index": list(e.index), "analytic": e.analytic, "numeric": e.numeric,
                                             "rel_error": e.rel_error} for e in t.worst[:3]]} for t in bad}},
            fix=(first.hint + "; " if first.hint else "")
            + f"re-derive {c.functions[0]}.backward: it must return grad_output times the derivative of forward at "
              f"the saved inputs, one gradient per input; check it alone with netdoctor.gradcheck({c.functions[0]}, x).",
            explanation=(f"netdoctor copied {c.module} to float64 (eval mode), ran it on the inputs of a training step, "
                         f"and compared autograd's gradient of sum(r * output), which goes through the hand-written "
                         f"backward, with central differences of the forward at {c.coords} sampled entries. "
                         f"Built-in operations differentiate themselves; this backward is written by hand, and "
                         f"training follows it."),
        ))
    return out


def gradient_ascent_by_hand(where: str, tensors: Sequence[str], *, climbing: int, read: int, factor: float,
                            cosine: float, steps: Sequence[int], backward_site: str | None) -> Finding:
    """``gradient-mismatch`` (error) for a hand-written PyTorch update that adds the gradient autograd computed
    (``p += lr * p.grad``): on ``climbing`` of ``read`` sampled updates the tensors moved along ``+g`` (cosine at
    least ``cosine``), by ``factor`` times it (``<dW, g> / <g, g>``)."""
    names = ", ".join(tensors[:3]) + (f" and {len(tensors) - 3} more" if len(tensors) > 3 else "")
    return Finding(
        "gradient-mismatch", Severity.ERROR, where,
        f"The hand-written update climbs the loss: on {climbing} of {read} sampled updates {names} moved by "
        f"+{factor:.4g} x their gradient (the update adds the gradient to the weights: gradient ascent).",
        {"climbing_updates": climbing, "updates_read": read, "factor": factor, "cosine": cosine, "steps": list(steps),
         "tensors": list(tensors), "backward_site": backward_site, "kind": "ascent"},
        fix="Subtract the gradient: p -= lr * p.grad (or p.data.add_(p.grad, alpha=-lr)), not p += lr * p.grad.",
        explanation="The gradient points to where the loss grows; a step along it makes every update worse than the "
        "last, until the weights blow up or the outputs saturate.")
