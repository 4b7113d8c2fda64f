"""Findings from what :class:`~netdoctor.observe.torch.watch.TorchWatch` recorded.

One function per finding code, each reading the watch's plain records and
returning findings with the parameter names, the user's ``file:line`` and
the numbers seen. Thresholds shared with the NumPy monitors come from
:mod:`netdoctor.diagnosis.rules_training` / ``rules_outputs`` (the same
healthy-run measurements stand behind them); the torch-only ones are module
constants here, with where each comes from.
"""

from __future__ import annotations

import dataclasses
import linecache
import math
import re
import statistics
from collections.abc import Callable
from typing import Any

from netdoctor.findings import Finding, Severity
from netdoctor.observe.torch.counts import Segment
from netdoctor.observe.torch.first_seen import Block
from netdoctor.observe.torch.hand import HAND_KIND
from netdoctor.observe.torch.watch import ADAPTIVE_OPTIMIZERS, TorchWatch
from netdoctor.params import is_bias
from netdoctor.rules.activations import dead_units, saturated_activations
from netdoctor.rules.backprop import gradient_ascent_by_hand
from netdoctor.rules.batches import unshuffled_batches
from netdoctor.rules.causes import CAUSES, link_causes
from netdoctor.rules.coupling import batch_leak
from netdoctor.rules.evidence import (
    BatchCoupling,
    BatchScale,
    CarryOver,
    FrozenGroup,
    FrozenParameters,
    GradientScale,
    LayerActivity,
    LearningRateHistory,
    LossInputs,
    NonFinite,
    NormTrace,
    OutputSpread,
    Predictions,
    TargetCounts,
    UpdateSizes,
    largest_growth,
)
from netdoctor.rules.frozen import frozen_parameters
from netdoctor.rules.learning_rate import learning_rate_decayed, learning_rate_too_high, learning_rate_too_low
from netdoctor.rules.losses import double_softmax, missing_log_softmax
from netdoctor.rules.modes import DropoutCalls, ModeSteps, TrainModeForwards, eval_mode_training, train_mode_evaluation
from netdoctor.rules.outputs import class_collapse, constant_output, memorised_labels, no_learning
from netdoctor.rules.policy import (
    LR_HIGH_DIVERGE,
    NO_LEARNING_ROWS,
    STALE_SCALED,
    VANISHING_RATIO,
    Framework,
)
from netdoctor.rules.stability import exploding_gradients, non_finite, vanishing_gradients
from netdoctor.rules.targets import constant_targets
from netdoctor.rules.updates import stale_accumulator, summed_gradient

__all__ = ["torch_findings", "RULES", "param_items", "activation_name"]

def _names(w: TorchWatch) -> dict[int, str]:
    return w.models.names()[0]


def param_items(w: TorchWatch):
    """(name, ParamInfo) in the models' parameter order (names are kept after the program has freed its model)."""
    if w.installed:
        w.models.names()
    judged, dropped = w.models.judged_roots(), w.models.dropped_loose()
    # A model trained for a while and replaced by a later one (a sanity check) is not the model being judged; nor are
    # the plain tensors of such a model.
    items = sorted((pi for k, pi in w.params.items() if pi.name and (pi.root in judged if pi.root is not None else k not in dropped)),
                   key=lambda pi: pi.order)
    return [(pi.name, pi) for pi in items]


def _list(names: list[str], limit: int = 6) -> str:
    return ", ".join(names) if len(names) <= limit else ", ".join(names[:limit]) + f" and {len(names) - limit} more"


def _losses(w: TorchWatch) -> list[float]:
    """Finite loss values of the judged model's steps (not those of a model trained before it and dropped), in step
    order: every step's (:class:`~netdoctor.observe.torch.counts.StepLosses`) when at least 6 steps have one, else the
    sampled steps' (a loss that is no scalar: ``reduction='none'``, reduced by the program)."""
    start = w.models.start_step()
    every = w.losses.curve.between(start)
    if len(every) >= 6:
        return every
    return [v for s, v in w.losses.loss_values if math.isfinite(v) and s >= start]


END_STEPS = 16
"""The loss at the end of a run is the median over its last steps: a quarter of them, at least 3, at most this many."""


def _loss_ends(w: TorchWatch, least: int = 6) -> tuple[float, float] | None:
    """(the loss at the start, at the end) of the judged model's training; None with fewer than ``least`` values.

    The start is the mean of the first 3 steps; the end the median of the last ``k`` (``k`` a quarter of the steps, 3 to
    :data:`END_STEPS`): where the loss settled, not one step that overshot and recovered at the next (pt0928: an
    L-BFGS step at 16.7 among steps at 0.8-0.9, the run's accuracy 84%)."""
    vals = _losses(w)
    if len(vals) < least:
        return None
    k = max(3, min(END_STEPS, len(vals) // 4))
    return statistics.mean(vals[:3]), statistics.median(vals[-k:])


def _diverged(w: TorchWatch) -> bool:
    ends = _loss_ends(w)
    # a negative start is no loss (a log-likelihood maximised by hand climbs towards 0): nothing diverges from it
    return ends is not None and ends[0] > 0 and ends[1] > LR_HIGH_DIVERGE * ends[0]


def _main_opt(w: TorchWatch):
    opts = [o for o in w.opts.values() if o.steps]
    return max(opts, key=lambda o: o.steps) if opts else None


def _lr(o) -> Any:
    if o is None or not o.lrs:
        return None
    lrs = o.lrs[0][1]
    return lrs[0] if len(set(map(str, lrs))) == 1 else lrs


# -- code bugs in the training loop -------------------------------------------------
def rule_stale(w: TorchWatch) -> list[Finding]:
    """What ``.grad`` still holds at the first backward pass after a step, per parameter (0 after zero_grad())."""
    hits, weights, shares = [], {}, {}
    hit_infos = []
    n_meas = 0
    for name, pi in param_items(w):
        ws = [a for a, _ in pi.stale if math.isfinite(a)]
        if len(ws) < 2 or (pi.changed and not any(c for _, c in pi.changed)):
            continue  # too few reads, or a tensor no step moved: what its .grad carries over is applied to nothing
        n_meas = max(n_meas, len(ws))
        weights[name] = statistics.median(ws)
        shares[name] = statistics.median([s for a, s in pi.stale if math.isfinite(s)])
        if weights[name] >= STALE_SCALED:
            hits.append(name)
            hit_infos.append(pi)
    if not hits:
        return []
    o = _main_opt(w)
    step_site = o.step_site if o else None
    backward_site = w.sampler.backward_site_of(hit_infos)
    found = stale_accumulator(CarryOver(
        where=f"{_list(hits, 3)} at {backward_site or '?'}", framework=Framework.TORCH,
        weight=statistics.median([weights[n] for n in hits]), windows=n_meas, buffers=tuple(hits), momentum_possible=False,
        unit="step", step_site=step_site or "", fix=_hand_zero_fix(w, hit_infos, hits, backward_site) if _hand(w) else "",
        details={"weights": weights, "stale_to_fresh": shares, "steps_measured": n_meas, "backward_site": backward_site,
                 "step_site": step_site, "parameters": hits}))
    return [found] if found else []


ASCENT_SHARE = 2 / 3
"""Share of the sampled hand-written updates (at least :data:`ASCENT_LEAST`) that must move the tensors along ``+g``
(cosine at least :data:`ASCENT_COSINE`) for the update to be read as gradient ascent."""
ASCENT_LEAST = 2
ASCENT_COSINE = 0.3
"""An update whose cosine with ``+g`` is at least this climbs the loss to first order. ``p += lr * p.grad`` reads 1;
accumulated over two micro-batches (``g`` read after the first backward pass, the step applying the sum of two) about
0.7; a descent step, with momentum or accumulation too, reads below 0."""


def _climbs_a_loss(w: TorchWatch) -> bool:
    """The run does not learn: its training-batch accuracy stays at chance, or (no class targets counted) the scalar
    ``backward()`` was called on starts positive, as a loss does, and grows or goes non-finite (a log-likelihood, at
    most 0, climbs on purpose)."""
    learns = run_learns(w)
    if learns is not None:
        return not learns
    vals = _losses(w)
    if not vals or vals[0] <= 0:
        return False
    return w.losses.nonfinite is not None or max(vals) > vals[0]


def rule_ascent(w: TorchWatch) -> list[Finding]:
    """A hand-written update that adds the gradient (``p += lr * p.grad``): gradient ascent on what ``backward()`` was
    called on.

    ``.grad`` is autograd's derivative of the backward pass's scalar, so the update's direction is measured, not
    assumed: its cosine with ``+g`` over the sampled entries of every tensor is +1 for ``p += lr * g`` and -1 for a
    plain descent step (:data:`ASCENT_COSINE`). A program may climb on purpose (a log-likelihood backpropagated and maximised): then its accuracy
    rises, and nothing is said (:func:`run_learns`)."""
    reads, climbs = _ascent_reads(w)
    if not _ascends(reads, climbs) or not _climbs_a_loss(w):
        return []
    names = [n for n, pi in param_items(w) if pi.in_optimizer] or ["the tensors"]
    factor = float(f"{statistics.median(f for _, _, f in climbs):.4g}")
    site = w.hand.first_site or w.sampler.backward_site
    after = f"after the backward pass at {site}" if site else "after the backward pass"
    return [gradient_ascent_by_hand(
        f"{_list(names, 3)} {after}", names, climbing=len(climbs), read=len(reads), factor=factor,
        cosine=min(cos for _, cos, _ in climbs), steps=[step for step, _, _ in climbs[:8]], backward_site=site)]


def _ascent_reads(w: TorchWatch) -> tuple[list[tuple[int, float, float]], list[tuple[int, float, float]]]:
    """The sampled hand-written updates' (step, cosine with ``+g``, factor) from the judged steps on, and those of them
    that move the tensors along ``+g`` (:data:`ASCENT_COSINE`); none without a hand-written update."""
    if not _hand(w):
        return [], []
    reads = [(step, cos, factor) for step, cos, factor in w.hand.directions if step >= w.models.start_step()]
    return reads, [(step, cos, factor) for step, cos, factor in reads if cos >= ASCENT_COSINE]


def _ascends(reads: list[Any], climbs: list[Any]) -> bool:
    """At least :data:`ASCENT_LEAST` and :data:`ASCENT_SHARE` of the read updates climb (:func:`_ascent_reads`)."""
    return len(climbs) >= ASCENT_LEAST and len(climbs) >= ASCENT_SHARE * len(reads)


def _hand(w: TorchWatch) -> bool:
    """The program updates its tensors by hand (no torch.optim optimizer: :mod:`netdoctor.observe.torch.hand`)."""
    o = _main_opt(w)
    return o is not None and o.kind == HAND_KIND


def _hand_zero_fix(w: TorchWatch, infos: list[Any], names: list[str], backward_site: str | None) -> str:
    """How to empty ``.grad`` in a program that updates its tensors itself: the model's zero_grad(), or each tensor's."""
    roots = {pi.root for pi in infos}
    before = f" before the next loss.backward() (at {backward_site})" if backward_site else " before the next loss.backward()"
    if None not in roots and len(roots) == 1 and (info := w.models.mods.get(next(iter(roots)))) is not None:
        return (f"Empty the gradients after every update{before}: call model.zero_grad() on the {info.kind} (or, in the "
                "update loop, p.grad.zero_() / p.grad = None for each parameter p).")
    return (f"Empty the gradients after every update{before}: {_list([f'{n}.grad.zero_()' for n in names], 3)} "
            "(or set each tensor's .grad to None) right after the tensors are changed.")


def _clear_gradient(pi: Any) -> bool:
    """Every sampled gradient finite, non-zero and not vanishingly small next to the weights (so a step must show)."""
    rows = [(wn, gn) for _, wn, gn in pi.norms]
    return bool(rows) and all(math.isfinite(gn) and gn > 0 and (wn == 0 or gn / wn >= VANISHING_RATIO) for wn, gn in rows)


def _cleared_group(w: TorchWatch, o: Any) -> FrozenGroup | None:
    """Every parameter, when the gradients were empty at step() although a backward pass ran: in which order, and why."""
    if not (w.sampler.cleared_before_step >= 2 and w.sampler.cleared_before_step * 2 >= w.sampler.cleared_checked):
        return None
    trained = [(n, pi) for n, pi in param_items(w) if pi.in_optimizer and pi.requires_grad]
    names = tuple(n for n, _ in trained)
    reason = "step_before_backward" if w.sampler.step_before_backward * 2 >= w.sampler.cleared_before_step else "zero_grad_before_step"
    return FrozenGroup(names, reason, site=(o.step_site if o else None) or "",
                       numbers={"backward_site": w.sampler.backward_site_of([pi for _, pi in trained]), "cleared": w.sampler.cleared_before_step,
                                "checked": w.sampler.cleared_checked, "before": w.sampler.step_before_backward})


def _no_backward_group(w: TorchWatch, o: Any) -> FrozenGroup | None:
    """Every parameter the optimizer holds, when it stepped and no backward pass ever ran (``loss.backward`` named
    without its call): no gradient was computed, not one cut off on its way."""
    if o is None or not w.steps or w.hand.passes or w.hand.grad_calls:
        return None
    held = [(n, pi) for n, pi in param_items(w) if pi.in_optimizer and pi.requires_grad]
    if not held or any(pi.sampled < 2 or pi.grad_none < pi.sampled for _, pi in held):
        return None  # a gradient seen (set by hand, ``p.grad = ...``) or too few steps sampled to say none came
    return FrozenGroup(tuple(n for n, _ in held), "no_backward", site=o.step_site or "",
                       numbers={"steps": w.steps, "created": _created(o)})


def _created(o: Any) -> str:
    """`` (SGD, created at train.py:12)``: an optimizer's kind and line, for a sentence about it."""
    return f" ({o.kind}, created at {o.created_at})" if o.created_at else f" ({o.kind})"


def _orphan_numbers(w: TorchWatch, orphan: Any, o: Any) -> dict[str, Any]:
    """What the optimizer holds instead of a model no optimizer holds (for its sentence)."""
    held = 0
    others: list[str] = []
    if o is not None and (opt := o.ref()) is not None:
        held = sum(len(g["params"]) for g in opt.param_groups)
        others = [w.models.describe(w.models.mods[r]) for r in o.roots if r in w.models.mods]
    return {"orphan_steps": orphan.orphan_steps, "created": f" created at {o.created_at}" if o and o.created_at else "",
            "holds": (f"holds {held} tensor(s) of {', '.join(others)}" if others else
                      f"holds {held} tensor(s) of no model the program calls (a model built earlier and replaced?)")}


def rule_frozen(w: TorchWatch) -> list[Finding]:
    """Why each parameter that never changed never learned: a reason key per parameter, grouped."""
    o = _main_opt(w)
    opt_site = o.created_at if o else None
    groups: dict[tuple[str, str, str], list[str]] = {}
    numbers: dict[tuple[str, str, str], dict[str, Any]] = {}

    def add(reason: str, name: str, module: str = "", site: str | None = None, **nums: Any) -> None:
        key = (reason, module, site or "")
        groups.setdefault(key, []).append(name)
        numbers.setdefault(key, nums)

    cleared_group = _cleared_group(w, o) or _no_backward_group(w, o)
    cleared = cleared_group is not None
    orphans = any(i.orphan_steps and not i.steps for i in w.models.mods.values())
    unheld = sorted((u for u in w.sampler.unheld.values() if u.steps >= 2),
                    key=lambda u: [int(x) if x.isdigit() else x for x in re.split(r"(\d+)", u.name)])
    stale = [n for n, pi in param_items(w) if pi.root is None and pi.owner is None and pi.sampled >= 2 and pi.grad_none == pi.sampled]
    if unheld and stale:
        # Plain tensors rebuilt after the optimizer was made from the first ones: the optimizer's never get a gradient.
        for u in unheld:
            add("tensors_not_in_optimizer", u.name, unheld_steps=max(v.steps for v in unheld), stale=len(stale),
                created=f" (created at {o.created_at})" if o and o.created_at else "")
    for name, pi in param_items(w):
        if pi.sampled < 2:
            continue
        if (orphans or (unheld and stale)) and pi.root is None and pi.owner is None and pi.grad_none == pi.sampled:
            continue  # the replaced model's tensors the optimizer still holds: said with the model no optimizer holds
        got_grad = pi.grad_none < pi.sampled or cleared  # emptied before step(): the gradient was there
        if not pi.requires_grad:
            # Both switched off and left out of the optimizer: a choice (fine-tuning), unless the run does not learn.
            if pi.in_optimizer:  # the optimizer given them (of several, not necessarily the one that steps most)
                add("requires_grad", name, optimizer_created_at=pi.held_by or opt_site)
            else:
                add("requires_grad_unused", name)
        elif not pi.in_optimizer:
            orphan = w.models.mods.get(pi.root) if pi.root is not None else None
            if orphan is not None and orphan.orphan_steps and not orphan.steps:
                add("model_not_in_optimizer", name, w.models.describe(orphan), orphan.built_at or opt_site, **_orphan_numbers(w, orphan, o))
            elif got_grad:
                add("not_in_optimizer", name, site=opt_site)
            else:
                add("unused", name)
        elif not got_grad:
            info = w.models.mods.get(pi.owner) if pi.owner is not None else None
            oname = (info.name or info.kind) if info is not None else "?"
            if info is None or (info.calls_grad == 0 and info.calls_nograd == 0):
                add("never_called", name, oname)
            elif info.calls_grad == 0:
                add("no_grad", name, oname, info.site)
            elif info.out_cut * 2 >= info.calls_grad:
                add("cut_inside", name, oname, info.site)
            else:
                add("cut_after", name, oname, cut_site(w, info.site), **cut_numbers(w, info.site))
        elif pi.changed and not any(c for _, c in pi.changed) and _clear_gradient(pi) and not cleared:
            add("not_changed", name)
    found = tuple(FrozenGroup(tuple(names), key[0], key[1], key[2], numbers[key]) for key, names in groups.items())
    trained = tuple(n for n, pi in param_items(w) if pi.in_optimizer and any(c for _, c in pi.changed))
    unused = any(key[0] == "requires_grad_unused" for key in groups)
    return frozen_parameters(FrozenParameters(
        framework=Framework.TORCH, groups=((cleared_group,) if cleared_group else ()) + found, updated=trained,
        learns=not rule_no_learning(w) if unused else None, details={"optimizer_created_at": opt_site}))


CUTS = (".detach(", ".data", ".item(", ".numpy(", ".tolist(")
"""What a line that cuts a tensor from the graph holds (only to choose which of the lines seen to show)."""


def cut_site(w: TorchWatch, site: str | None) -> str | None:
    """The user's line where a module's output is cut off on the way to the loss: its own call's line when that line
    cuts (``h = F.relu(self.fc1(x)).detach()``), else the line where a module was handed the cut tensor
    (``return self.head(x.detach())`` after ``x = block(x)`` in a loop), when one was seen and holds a cut."""
    def cuts(s: str | None) -> bool:
        if not s or ":" not in s:
            return False
        path, _, line = s.rpartition(":")
        return line.isdigit() and any(c in linecache.getline(path, int(line)) for c in CUTS)

    if cuts(site):
        return site
    counts = w.forward.cut_sites
    seen = sorted(counts, key=lambda s: counts[s], reverse=True)
    return next((s for s in seen if cuts(s)), site)


def cut_numbers(w: TorchWatch, site: str | None) -> dict[str, str]:
    """The ``cut_after`` reason's numbers: the line calling the layer, and where its output is cut when elsewhere."""
    cut = cut_site(w, site)
    return {"called": site or "?", "cut_at": f" at {cut}" if cut != site else ""}


NEVER_STEPPED_PASSES = 10
"""Backward passes without a single ``optimizer.step()`` after which the program is said never to step (as many as
a NumPy network's gradient computations that never moved it: ``FROZEN_COMPUTATIONS``)."""


def rule_never_stepped(w: TorchWatch) -> list[Finding]:
    """An optimizer exists and backward() ran, but no optimizer ever stepped: every parameter it holds stays as it was."""
    if w.steps or w.hand.unstepped < NEVER_STEPPED_PASSES:
        return []
    held = [o for o in w.opts.values() if o.kind != HAND_KIND]
    if not held:
        return []
    names = tuple(n for n, pi in param_items(w) if pi.in_optimizer) or tuple(_names(w).values())
    o = held[0]
    group = FrozenGroup(names, "never_stepped", site=w.hand.unstepped_site or "",
                        numbers={"backward_passes": w.hand.unstepped, "optimizer": o.kind, "created": _created(o)})
    return frozen_parameters(FrozenParameters(framework=Framework.TORCH, groups=(group,),
                                              details={"optimizer_created_at": o.created_at}))


def _loss_model(w: TorchWatch, rec: dict) -> int | None:
    """The model whose output reached a loss call site most often (None: plain tensors, or not seen)."""
    roots: dict[int, int] = rec.get("roots") or {}
    return max(roots.items(), key=lambda kv: kv[1])[0] if roots else None


def rule_double_softmax(w: TorchWatch) -> list[Finding]:
    """Probabilities into a loss that applies its own softmax, per call site; a site that trained only a model dropped
    for a later one (a sanity check's throwaway model) is said in the evidence of the judged model's finding, not as a
    finding of its own."""
    judged, start = w.models.judged_roots(), w.models.start_step()
    several = sum(1 for i in w.models.mods.values() if i.has_params and not i.parent) > 1
    found: list[tuple[Finding, dict, int | None]] = []
    for (name, site), rec in w.losses.loss_calls.items():
        if rec["checked"] < 1 or rec["rows"] < 8:
            continue
        root = _loss_model(w, rec)
        info = w.models.mods.get(root) if root is not None else None
        model = w.models.describe(info) if info is not None else None
        inputs = LossInputs(
            where=f"{name} at {site}" + (f" ({model})" if several and model else ""), loss=name, batches=rec["checked"],
            rows=rec["rows"], probabilities=rec["probs"],
            log_probabilities=rec["logprobs"], unit_interval=rec["sigmoid"], log_softmax_of_softmax=rec["softmax_logs"],
            values=rec["rows"] * max(1, rec.get("classes") or 1),
            classes=rec.get("classes"),
            producer=", ".join(sorted(rec["grad_fns"], key=rec["grad_fns"].get, reverse=True)[:2]) or "unknown",
            details={"grad_fn": rec["grad_fns"], "site": site, "model": model})
        f = double_softmax(inputs) or missing_log_softmax(inputs)
        if f is not None:
            found.append((f, rec, root))
    if len(found) < 2:
        return [f for f, _, _ in found]

    def judged_site(rec: dict, root: int | None) -> bool:
        return root in judged if root is not None else rec.get("last_step", 0) >= start

    # The judged model's site first (then the one trained last); the dropped models' sites go into its evidence.
    found.sort(key=lambda x: (judged_site(x[1], x[2]), x[1].get("last_step", 0)), reverse=True)
    main: list[tuple[Finding, dict, int | None]] = []
    for x in [x for x in found if judged_site(x[1], x[2])] or found[:1]:
        if not any(m[2] == x[2] for m in main):  # one finding per model (models trained side by side keep theirs)
            main.append(x)
    rest = [x for x in found if all(x is not m for m in main)]
    if not rest:
        return [f for f, _, _ in main]
    also = [{"where": f.where, "model": f.evidence.get("model"), "steps": [r.get("first_step"), r.get("last_step")],
             "severity": f.severity.value} for f, r, _ in rest]
    first = main[0][0]
    return [dataclasses.replace(first, evidence={**first.evidence, "also_seen": also})] + [f for f, _, _ in main[1:]]


def rule_modes(w: TorchWatch) -> list[Finding]:
    """The model's mode on the sampled steps and its train-mode evaluations, as records for :mod:`netdoctor.rules.modes`."""
    out = []
    if w.eval_roots:
        rid = max(w.eval_roots, key=lambda r: w.eval_roots[r])
        info = w.models.mods.get(rid)
        mode, site = w.calls.mode_sites.get(rid, (None, None))
        functional = (f"F.dropout at {w.dropout.mode_roots[rid]} (training=self.training)",) if rid in w.dropout.mode_roots else ()
        out.append(eval_mode_training(ModeSteps(
            model=info.kind if info else "model", eval_steps=w.eval_roots[rid], steps_checked=w.mode_reads.get(rid, 0),
            layers=tuple(f"{n} ({d})" for n, d in (info.norm_layers if info else [])) + functional, mode_site=site,
            left_in_eval=mode is False)))
    for site, rec in w.forward.train_eval_sites.items():
        info = w.models.mods.get(rec["root"])
        out.append(train_mode_evaluation(TrainModeForwards(
            model=info.kind if info else "model", site=site,
            layers=tuple(f"{n} ({d})" for n, d in (info.norm_layers if info else [])),
            # A no-grad forward pass that fed the optimizer step after it is the training step's (no-grad-forward's
            # frozen parameters), not an evaluation.
            nograd_calls=rec["nograd"] - rec["stepped"], grad_calls=rec["grad"], backward_calls=rec["backward"])))
    return [f for f in out if f is not None]


def rule_functional_dropout(w: TorchWatch) -> list[Finding]:
    """``F.dropout`` calls, as records: :func:`netdoctor.rules.modes.train_mode_evaluation` judges those made in evaluation."""
    out = []
    for use in w.dropout.uses.values():
        info = w.models.mods.get(use.root) if use.root is not None else None
        out.append(train_mode_evaluation(DropoutCalls(
            function=use.function, site=use.site, p=use.p, calls=use.calls, eval_calls=use.eval_calls,
            nograd_calls=use.nograd_calls - use.nograd_stepped, model=info.kind if info else "the model")))
    return [f for f in out if f is not None]


def rule_summed(w: TorchWatch) -> list[Finding]:
    """The gradient reaching the loss input against that of the batch-mean loss (a one-shot hook on sampled steps)."""
    scales = [s for _, s, _ in w.losses.grad_scale if math.isfinite(s)]
    if not scales:
        return []
    o = _main_opt(w)
    ups = _first_weight_ratios(w)
    top = max(ups.items(), key=lambda kv: kv[1]) if ups else ("", math.nan)
    name = w.losses.grad_scale[0][0]
    site = next((s for (n, s) in w.losses.loss_calls if n == name), None)
    reductions = {k: v for (n, s), rec in w.losses.loss_calls.items() if n == name for k, v in rec["reductions"].items()}
    lr = _lr(o)
    found = summed_gradient(BatchScale(
        where=f"{name} at {site}", framework=Framework.TORCH, measured="loss-input", factor=statistics.median(scales),
        batch=statistics.median([n for _, _, n in w.losses.grad_scale]), windows=len(scales), lr=lr,
        optimizer=o.kind if o else "", adaptive=o is not None and o.kind in ADAPTIVE_OPTIMIZERS,
        first_update=top[1] if math.isfinite(top[1]) else None, update_tensor=top[0],
        blew_up=bool(w.losses.nonfinite) or _diverged(w), learns=run_learns(w), function=f"{name} at {site}",
        reduction=_list([repr(r) for r in reductions]),
        details={"reductions": reductions, "site": site}))
    return [found] if found else []


# -- learning rate, gradients -------------------------------------------------------
def _weights(w: TorchWatch):
    return [(n, pi) for n, pi in param_items(w) if len(pi.shape) >= 2]


def _closure_steps(w: TorchWatch) -> bool:
    """The main optimizer's steps take a closure (L-BFGS): one step() is many iterations with a line search, so the
    change of the weights over one step() is no per-update size and is not judged as one."""
    o = _main_opt(w)
    return o is not None and o.closure_steps * 2 >= o.steps


def _first_weight_ratios(w: TorchWatch) -> dict[str, float]:
    out: dict[str, float] = {}
    if _closure_steps(w):
        return out
    for n, pi in _weights(w):
        if not (pi.norms and pi.norms[0][1] > 0):
            continue  # a zero-initialised tensor (an output layer started at 0): no size to compare its update with
        vals = [r for _, r in pi.ratios[:3] if math.isfinite(r)]
        if vals:
            out[n] = max(vals)
    return out


def _weight_growth(w: TorchWatch) -> float | None:
    """The largest growth of a weight tensor's norm over the sampled steps (last / first; inf when it went non-finite), as
    the NumPy recorder measures it over its windows; None with too few samples (or closure steps: see
    :func:`_closure_steps`)."""
    if _closure_steps(w):
        return None
    return largest_growth(pi.norms[-1][1] / pi.norms[0][1] for _, pi in _weights(w)
                          if len(pi.norms) >= 2 and math.isfinite(pi.norms[0][1]) and pi.norms[0][1] > 0)


def _gradient_ratio(w: TorchWatch) -> float | None:
    """Typical |g| / |W| of the weight tensors: per sampled step the largest over them, the median over at least five
    steps (as the NumPy recorder's per-window figure); None with fewer (or closure steps)."""
    if _closure_steps(w):
        return None
    by_step: dict[int, float] = {}
    for _, pi in _weights(w):
        if not pi.in_optimizer:
            continue
        for s, wn, gn in pi.norms:
            if math.isfinite(gn) and math.isfinite(wn) and wn > 0:
                by_step[s] = max(by_step.get(s, 0.0), gn / wn)
    return statistics.median(by_step.values()) if len(by_step) >= 5 else None


def _update_sizes(w: TorchWatch) -> UpdateSizes:
    """Each weight tensor's update/weight ratios on the sampled steps, with the loss and the last window's accuracy."""
    o = _main_opt(w)
    ups = _first_weight_ratios(w)
    name = max(ups, key=lambda n: ups[n]) if ups else ""
    by_step: dict[int, float] = {}
    meds, count = {}, 0
    for n, pi in _weights(w) if not _closure_steps(w) else []:
        for s, r in pi.ratios:
            if math.isfinite(r):
                by_step[s] = max(by_step.get(s, 0.0), r)
        vals = [r for _, r in pi.ratios if math.isfinite(r)]
        if len(vals) >= 8:
            meds[n], count = statistics.median(vals), max(count, len(vals))
    vals = _losses(w)
    ends = _loss_ends(w)
    if ends is not None and ends[0] <= 0:
        ends = None  # a scalar that starts at or below 0 is no loss (a log-likelihood maximised by hand): no curve to judge
    last = w.stats.loss_last or {}
    correct, valid = last.get("correct"), last.get("valid")
    typical = max(meds.items(), key=lambda kv: kv[1]) if meds and len(vals) >= 8 and not w.losses.nonfinite and not _vanishing(w) else None
    growth, gradient = _weight_growth(w), _gradient_ratio(w)
    return UpdateSizes(
        where=f"{typical[0] if typical else name}{' at ' + o.step_site if o and o.step_site else ''}", framework=Framework.TORCH,
        first=tuple(by_step[s] for s in sorted(by_step)[:5]), tensor=typical[0] if typical else name,
        typical=typical[1] if typical else None, typical_count=count, lr=_lr(o), optimizer=o.kind if o else "",
        adaptive=o is not None and o.kind in ADAPTIVE_OPTIMIZERS,
        loss_first=ends[0] if ends else None,
        loss_last=ends[1] if ends else None, growth=growth, gradient=gradient, climbs=_ascends(*_ascent_reads(w)),
        weights_nonfinite=bool(w.losses.nonfinite and w.losses.nonfinite.get("nonfinite_params_all")),
        accuracy=correct / valid if isinstance(correct, (int, float)) and valid else None)


def _lr_history(w: TorchWatch) -> LearningRateHistory | None:
    """The main optimizer's learning rate (largest over its groups) on the sampled steps, with the scheduler's line.

    Steps are counted in the optimizer's own steps: a sanity check's optimizer stepping first must not dilute the share
    of the judged optimizer's steps that ran at a collapsed rate."""
    o = _main_opt(w)
    if o is None:
        return None
    base = max(o.first_step - 1, 0)
    hist = [(s - base, max(v for v in lrs if isinstance(v, (int, float)))) for s, lrs in o.lrs
            if any(isinstance(v, (int, float)) for v in lrs)]
    site, calls = max(w.calls.sched_sites.items(), key=lambda kv: kv[1]) if w.calls.sched_sites else (None, 0)
    return LearningRateHistory(
        where=f"{o.kind} learning rate" + (f" at {site}" if site else ""), framework=Framework.TORCH,
        steps=tuple(s for s, _ in hist), rates=tuple(float(v) for _, v in hist), total_steps=o.steps, optimizer=o.kind,
        scheduler_site=site, scheduler_steps=calls)


def rule_lr(w: TorchWatch) -> list[Finding]:
    u = _update_sizes(w)
    high = learning_rate_too_high(u)
    if high is not None:
        return [high]
    hist = _lr_history(w)
    decayed = learning_rate_decayed(hist) if hist is not None else None
    if decayed is not None:
        return [decayed]
    low = learning_rate_too_low(u) if u.typical is not None else None
    return [low] if low is not None else []


def _gradient_scales(w: TorchWatch) -> list[GradientScale]:
    """|grad| / |W| of each weight tensor at its first and last sampled step, with the loss at the start and the end."""
    ends = _loss_ends(w, least=4)
    if ends is None:
        return []
    first, last = ends
    out = []
    for n, pi in _weights(w):
        rows = [(wn, gn) for _, wn, gn in pi.norms if math.isfinite(gn) and wn > 0]
        if len(rows) < 2 or pi.grad_none == pi.sampled or not pi.in_optimizer:
            continue
        out.append(GradientScale(n, rows[0][1] / rows[0][0], rows[-1][1] / rows[-1][0], first, last))
    return out


def _vanishing(w: TorchWatch) -> bool:
    return vanishing_gradients(_gradient_scales(w), Framework.TORCH) is not None


GRAD_FLOOR = 1e-2
"""Gradient growth is measured from at least this share of the tensor's norm (of its layer's largest tensor for a zero
bias): ||dL/dW|| / ||W|| ~ 1e-2 is a healthy step's gradient (VANISHING_RATIO's docstring), so growth by
EXPLODING_GRAD_GROWTH from there means a gradient larger than the weights, while a first gradient near 0 (a zero-
initialised layer above it, constant targets already met) cannot make an ordinary gradient look like an explosion."""


def _start_norm(w: TorchWatch, pi: Any) -> float:
    """The tensor's norm at its first sample; for a tensor that starts at 0 (a bias), that of its module's largest tensor."""
    own = pi.norms[0][1] if pi.norms else 0.0
    if math.isfinite(own) and own > 0:
        return own
    sib = [q.norms[0][1] for q in w.params.values() if q is not pi and q.owner == pi.owner and q.norms and math.isfinite(q.norms[0][1])]
    return max(sib, default=0.0)


def rule_gradients(w: TorchWatch) -> list[Finding]:
    traces = []
    closure = _closure_steps(w)
    vals = _losses(w)
    loss_start, loss_end = (statistics.mean(vals[:3]), statistics.mean(vals[-3:])) if len(vals) >= 6 else (None, None)
    for n, pi in param_items(w):
        # A tensor no optimizer holds: its gradient is never applied, nor emptied by optimizer.zero_grad(), so it grows
        # by one batch's gradient per step (the optimizer left holding an earlier model's tensors): frozen-parameters.
        if len(pi.norms) >= 2 and pi.in_optimizer:
            # L-BFGS grows the weights over its many iterations per step() toward its solution: that is its convergence,
            # so only gradient growth is judged there (the weight norms go in as constant).
            wns = tuple(wn for _, wn, _ in pi.norms) if not closure else (pi.norms[0][1],) * len(pi.norms)
            traces.append(NormTrace(n, tuple(s for s, _, _ in pi.norms), wns, tuple(gn for _, _, gn in pi.norms),
                                    is_weight=len(pi.shape) >= 2 and not is_bias(n), grad_floor=GRAD_FLOOR * _start_norm(w, pi),
                                    loss_start=loss_start, loss_end=loss_end, shape=tuple(pi.shape)))
    found = (exploding_gradients(traces, Framework.TORCH), vanishing_gradients(_gradient_scales(w), Framework.TORCH))
    return [f for f in found if f is not None]


# -- activations and outputs ----------------------------------------------------------
def activation_name(w: TorchWatch, key: tuple[int, str], rec: dict) -> str:
    info = w.models.mods.get(key[0])
    if info is None:
        return "?"
    name = info.name or info.kind
    # (the rules add the activation's kind themselves: "units of the input of fc2 (relu, 54.7%)")
    return f"{name} ({info.kind})" if key[1] == "out" and name != info.kind else name if key[1] == "out" else f"the input of {name}"


def activation_where(w: TorchWatch, key: tuple[int, str], rec: dict) -> str:
    """:func:`activation_name` as the activation findings say it: without the module's class when that class is the
    activation the finding names anyway ("units of layer 1 (relu, 100%)", not "1 (ReLU) (relu, 100%)"); a module
    named by its position in a container is called "layer N"."""
    info = w.models.mods.get(key[0])
    if info is None or key[1] != "out" or info.kind.lower() != rec["kind"]:
        return activation_name(w, key, rec)
    name = info.name or info.kind
    return f"layer {name}" if name.rpartition(".")[2].isdigit() else name


def _before_nonfinite(w: TorchWatch) -> bool:
    """False when the latest statistics window saw non-finite values (its dead units and spreads are NaN artefacts)."""
    return not w.losses.nonfinite or (w.stats.loss_last or {}).get("end_step", 0) < w.losses.nonfinite["step"]


def _activity(w: TorchWatch) -> list[LayerActivity]:
    """The activations the program computed (per module output or activation input), as the activation rules read them."""
    last, first = w.stats.act_last or {}, w.stats.act_first or {}
    out = []
    for key, rec in last.items():
        if key in w.forward.output_keys:
            continue
        name = activation_where(w, key, rec)
        start = first.get(key, {})
        out.append(LayerActivity(
            where=name, layer=name, activation=rec["kind"], units=rec["units"], saturation=rec.get("saturation"),
            dead=rec.get("dead"), window=f"on the last {rec['rows']} training rows sampled", framework=Framework.TORCH,
            rows=rec["rows"], saturation_at_start=start.get("saturation"), dead_at_start=start.get("dead")))
    return out


def rule_activations(w: TorchWatch) -> list[Finding]:
    if not _before_nonfinite(w):
        return []
    layers = _activity(w)
    return [f for f in (dead_units(layers), saturated_activations(layers)) if f is not None]


def _loss_site(w: TorchWatch) -> str | None:
    calls = sorted(w.losses.loss_calls.items(), key=lambda kv: -kv[1]["rows"])
    return f"{calls[0][0][0]} at {calls[0][0][1]}" if calls else None


def rule_outputs(w: TorchWatch) -> list[Finding]:
    if not _before_nonfinite(w):
        return []
    last = w.stats.loss_last or {}
    where = _loss_site(w) or "loss input"
    out: list[Finding | None] = []
    spread, scale = last.get("spread"), last.get("scale")
    if isinstance(spread, float) and isinstance(scale, float):
        out.append(constant_output(OutputSpread(
            where=where, spread=spread, scale=scale,
            window=f"across the rows of a batch reaching the loss (last {last.get('steps')} sampled steps)",
            framework=Framework.TORCH, spread_at_start=(w.stats.loss_first or {}).get("spread"))))
    preds, targets = last.get("pred_counts"), last.get("target_counts")
    if isinstance(preds, list) and len(preds) >= 2 and not fits_below_chance(w):
        total = sum(preds)
        correct, valid = last.get("correct"), last.get("valid")
        out.append(class_collapse(Predictions(
            where=where, on=f"last {total} training rows sampled", predicted=tuple(preds), framework=Framework.TORCH,
            labels=tuple(targets) if isinstance(targets, list) and len(targets) == len(preds) else None,
            correct=correct if correct is not None and valid == total else None, label_noun="targets of class",
            evaluated=False)))
    return [f for f in out if f is not None]


def fits_below_chance(w: TorchWatch) -> bool:
    """The judged run's mean classification loss over its end (:func:`end_loss`) is below the labels' entropy there
    (the loss of the best answer that ignores the input) by :data:`LOSS_BELOW_CHANCE`: its output depends on its
    input, so training batches answered with one class are a slow learner's largest score lagging behind its
    probabilities, not a collapse (ptw1116_healthy: 97% of the last 464 rows sampled answered 3, its loss 2.138
    against 2.292 at the end, 36% held-out and rising)."""
    ends = run_ends(w)
    if ends is None or not ends[1].rows:
        return False
    loss = end_loss(w, ends[1])
    return loss is not None and loss < (1 - LOSS_BELOW_CHANCE) * label_entropy(ends[1])


def rule_unshuffled(w: TorchWatch) -> list[Finding]:
    """The classes of the judged model's sampled training batches against those of random batches of their size, the
    labels' spread read from every step's counters (the sampled steps' targets when there are none)."""
    judged = w.models.judged_roots()
    mine = [(rows, k) for root, rows, k in w.losses.batch_classes if root is None or not judged or root in judged]
    if not mine:
        return []
    labels = [0] * w.counts.classes
    for seg in w.counts.segments:
        labels = [a + b for a, b in zip(labels, seg.all_labels())]
    segs, read = w.counts.segments, {}
    if sum(labels):
        read = {"labels_read": f"every training row of optimizer steps {segs[0].first} to {segs[-1].last} "
                               f"({sum(labels):,} rows, every step's counters)"}
    elif w.losses.target_counts is not None:
        labels = [int(c) for c in w.losses.target_counts.tolist()]
        read = {"labels_read": f"the training rows of the sampled steps ({sum(labels):,} rows)"}
    found = unshuffled_batches(_loss_site(w) or "training batches", mine, labels, Framework.TORCH, read)
    return [found] if found else []


def rule_targets(w: TorchWatch) -> list[Finding]:
    """The targets of the sampled steps, with the labels every step's counters saw added (rows sorted by label and fed
    in order show few classes on the sampled steps alone, though the run trains on all of them)."""
    tc = w.losses.target_counts
    if tc is None:
        return []
    counts, rows = [int(c) for c in tc.tolist()], int(w.losses.target_rows)
    if w.counts.classes == len(counts) and w.counts.segments:
        # Every step's counters hold the sampled steps' rows too: their labels alone, not added to the sampled ones.
        counts = [0] * len(counts)
        for seg in w.counts.segments:
            counts = [a + b for a, b in zip(counts, seg.all_labels())]
        rows = sum(counts)
    found = constant_targets(TargetCounts(where=_loss_site(w) or "loss", framework=Framework.TORCH,
                                          counts=tuple(counts), rows=rows))
    return [found] if found else []


def _between(w: TorchWatch, bad: list[str]) -> tuple[str, str] | None:
    """Where, in backward order, values went non-finite: after the last module (in forward order) whose parameters stayed finite."""
    items = param_items(w)
    order = [n for n, _ in items]
    last_bad = max((order.index(n) for n in bad if n in order), default=-1)
    after = next((pi for n, pi in items[last_bad + 1:] if n not in bad), None) if last_bad >= 0 else None
    if after is None or after.owner not in w.models.mods:
        return None
    finite, last = w.models.mods[after.owner].name or w.models.mods[after.owner].kind, order[last_bad].rsplit(".", 1)[0]
    # one module's weight non-finite beside its finite bias (fc2.weight = input x error overflowed, fc2.bias = the error
    # did not): no span of the backward pass to name ("between fc2 and fc2")
    return None if finite == last else (finite, last)


def rule_nonfinite(w: TorchWatch) -> list[Finding]:
    nf = w.losses.nonfinite
    gn = w.sampler.grad_nonfinite
    if not nf and gn and gn["grads"]:
        # The loss stayed finite (so far, or for good: NaN weights can still give a finite, constant output).
        loss = gn.get("loss")
        found = non_finite(NonFinite(
            origin="backward", step=gn["step"], where=gn["grads"][0], framework=Framework.TORCH, tensors=tuple(gn["grads"]),
            last_finite_loss=loss if isinstance(loss, float) else None, backward_between=_between(w, gn["grads"]),
            details={"nonfinite_grads": gn["grads"], "nonfinite_weights": gn["weights"], "backward_site": w.sampler.backward_site}))
        return [found] if found else []
    if not nf:
        return []
    step = nf["step"]
    bad_all = nf.get("nonfinite_params_all") or []
    mod, msite = nf.get("module"), nf.get("module_site")
    common = {"step": step, "framework": Framework.TORCH, "loss": str(nf["loss"]), "loss_site": f"{nf['loss_fn']} at {nf.get('site')}",
              "details": {k: nf.get(k) for k in ("loss_fn", "site", "module", "module_type", "module_site", "nonfinite_params",
                                                  "nonfinite_params_all", "input_nonfinite", "target_nonfinite") if k in nf}}
    last = nf.get("last_finite_loss")
    last = last if isinstance(last, (int, float)) else None
    if bad_all:
        rec = NonFinite(origin="parameters", where=bad_all[0], tensors=tuple(bad_all), last_finite_loss=last,
                        backward_between=None if _diverged(w) else _between(w, bad_all), **common)
    elif mod:
        place = f"{mod} ({nf['module_type']})" + (f" at {msite}" if msite else "")
        rec = NonFinite(origin="layer", where=place, layer=place, last_finite_loss=last, **common)
    elif nf.get("input_nonfinite"):
        rec = NonFinite(origin="between", where=nf.get("site") or "loss", last_finite_loss=last, **common)
    elif nf.get("target_nonfinite"):
        rec = NonFinite(origin="targets", where=nf.get("site") or "targets", last_finite_loss=last, **common)
    else:
        rec = NonFinite(origin="loss", where=nf.get("site") or "loss", last_finite_loss=last, **common)
    found = non_finite(rec)
    return [found] if found else []


def rule_batch_leak(w: TorchWatch) -> list[Finding]:
    found = []
    lk = w.forward.leak
    if lk and lk.get("leak"):
        found.append(batch_leak(BatchCoupling(
            kind="batchnorm" if lk["batchnorm"] else "module", where=f"{lk['module']} ({lk['module_type']})", rows=lk["rows"],
            change=lk["rel_diff"], inside=lk.get("functional_in") or "", details=dict(lk))))
    for mm in w.losses.shape_mismatch[:1]:
        found.append(batch_leak(BatchCoupling(
            kind="broadcast", where=f"mse_loss at {mm['site']}",
            shapes=(tuple(mm["input"]), tuple(mm["target"]), tuple(mm["broadcast"])), details=dict(mm))))
    return [f for f in found if f is not None]


# -- whether the run learns at all ----------------------------------------------------------
def _gather(segments: list[Segment], rows: int) -> Segment | None:
    """The segments merged in order until they hold ``rows`` rows (all of them if they hold fewer)."""
    out = None
    for s in segments:
        out = s if out is None else out.merged(s)
        if out.rows >= rows:
            break
    return out


def run_ends(w: TorchWatch) -> tuple[Segment, Segment] | None:
    """(the start, the end) of the judged model's training, from the counters of every step (not sampled steps alone).

    The end is the second half of its optimizer steps, stretched back towards the start until it holds
    :data:`NO_LEARNING_ROWS` rows; the start, its first segments holding as many (or all before the end).
    """
    segs = w.counts.since(w.models.start_step())
    if len(segs) < 2:
        return None
    mid = (segs[0].first + segs[-1].last) / 2
    k = next((i for i, s in enumerate(segs) if s.first >= mid), len(segs) - 1)
    k = max(k, 1)
    end = _gather(segs[k:], 1 << 62)
    while end is not None and end.rows < NO_LEARNING_ROWS and k > 1:
        k -= 1
        end = segs[k].merged(end)
    start = _gather(segs[:k], NO_LEARNING_ROWS)
    return (start, end) if start is not None and end is not None else None


NO_LEARNING_MOVED = 0.05
"""A run is judged as not learning only once its weights have moved: some weight tensor of the judged model ends at
least this far from where it started (``||W - W_start|| / ||W_start||``, on the sampled entries). Updates that do
nothing are then not what keeps it at chance. Measured: a 784-512-512-10 MLP under SGD at lr 0.01 is still at
chance after 40 steps of 128 rows (drift 0.023; 0.06 after 100 steps, by then at 23% and rising), while features
and labels shuffled apart keep generated MLPs at chance with drifts of 0.14-0.33 (SGD, momentum, L-BFGS, 12-209
steps) and 0.64 (Adam)."""
RISING_SE = 3.0
"""Standard errors by which the end's accuracy must beat both the start's and chance to count as a run still
learning (slowly): a slow healthy run climbs (9% -> 22% over 80 steps) and leaves chance behind; a shuffled one
wobbles by a few points around it (7% -> 15% over 48 steps of a generated program, against 13% for the most common
label of the same rows: a start below chance is no baseline to climb from)."""
LOSS_BELOW_CHANCE = 0.05
"""A cross-entropy at the end of the run more than this share below its chance value (the entropy of the end's
labels: the loss of the best answer that ignores the input, ln K for K balanced classes) is a network fitting
something. Measured on the end of 48-step runs: features and labels shuffled apart 2.28-2.32 against 2.29-2.30
(within 1%); a healthy run at 15-20% training accuracy already below 2.1 (9% under)."""


def chance_level(seg: Segment) -> tuple[float, float]:
    """(the accuracy of always answering the most common label of ``seg``'s rows, at least 1/K; its binomial
    standard error over those rows)."""
    labels = seg.labels()
    n = max(seg.rows, 1)
    chance = max(max(labels) / n, 1 / max(len(labels), 1))
    return chance, math.sqrt(chance * (1 - chance) / n)


def label_entropy(seg: Segment) -> float:
    """The entropy of ``seg``'s labels (nats): the cross-entropy of the best answer that ignores the input."""
    n = max(seg.rows, 1)
    return -sum(c / n * math.log(c / n) for c in seg.labels() if c)


def still_rising(start: Segment, end: Segment) -> bool:
    """The end's training-batch accuracy is significantly above the start's *and* above chance (binomial standard
    errors, :data:`RISING_SE`): climbing back to chance from an unlucky start is no learning."""
    if not start.rows or not end.rows:
        return False
    a, b = start.correct / start.rows, end.correct / end.rows
    p = (start.correct + end.correct) / (start.rows + end.rows)
    se = math.sqrt(max(p * (1 - p), 1e-12) * (1 / start.rows + 1 / end.rows))
    chance, chance_se = chance_level(end)
    return b - a > RISING_SE * se and b - chance > RISING_SE * chance_se


LOSS_FALL_SE = 4.0
"""Standard errors by which the least-squares slope of the per-step losses over the end of the run must be below zero
(and the end's mean loss below its chance value) for a run still learning slowly. Measured: the bench's 784-512-512-10
MLP under SGD at lr 0.01 (96 steps of 128 rows, its training batches at 12.0% against 11.5% for the most common label,
81% of its answers one class, its held-out accuracy 16.6% and rising) falls 2.275 -> 2.242 over steps 49-96, a slope
of about 7 standard errors; the same program with its labels shuffled apart stays at 2.30 (slope within 1 standard
error). A loss that falls *towards* the chance value from above (a poor initialisation forgetting its bias) is no
learning, hence the second condition: an answer that ignores the input cannot score below the labels' entropy."""


def loss_falling(w: TorchWatch, end: Segment, loss: float | None, loss_chance: float) -> bool:
    """The run is still learning by its loss: over the steps of ``end`` the per-step loss (:class:`StepLosses`, every
    step's) falls, its least-squares slope below zero by :data:`LOSS_FALL_SE` standard errors (from the residuals
    about the line), and its mean ``loss`` is below ``loss_chance`` (the cross-entropy of the best answer that ignores
    the input). The accuracy is a coarse reading of a slow start: the largest score can stay on one class for many
    steps while the probabilities move towards the labels."""
    if loss is None or not loss < loss_chance:
        return False
    rows = w.losses.curve.points(end.first, end.last)
    n = len(rows)
    if n < 8:
        return False
    ms = sum(s for s, _ in rows) / n
    mv = sum(v for _, v in rows) / n
    sxx = sum((s - ms) ** 2 for s, _ in rows)
    if sxx <= 0:
        return False
    slope = sum((s - ms) * (v - mv) for s, v in rows) / sxx
    resid = sum((v - mv - slope * (s - ms)) ** 2 for s, v in rows) / (n - 2)
    return slope < 0 and -slope > LOSS_FALL_SE * math.sqrt(resid / sxx)


def run_learns(w: TorchWatch) -> bool | None:
    """The judged model's training-batch accuracy at the end of the run is above chance and not below the start's, each
    by :data:`RISING_SE` binomial standard errors (None: too few counted rows to say)."""
    ends = run_ends(w)
    if ends is None or not ends[0].rows or not ends[1].rows:
        return None
    start, end = ends
    a, b = start.correct / start.rows, end.correct / end.rows
    p = (start.correct + end.correct) / (start.rows + end.rows)
    se = math.sqrt(max(p * (1 - p), 1e-12) * (1 / start.rows + 1 / end.rows))
    chance, chance_se = chance_level(end)
    return b - chance > RISING_SE * chance_se and a - b <= RISING_SE * se


def end_loss(w: TorchWatch, end: Segment) -> float | None:
    """The mean classification loss over the steps of ``end`` (every step's loss; without it, the sampled steps', the
    last three sampled if none fall in it), when every sampled loss call was a batch-mean ``cross_entropy`` or
    ``nll_loss`` (None otherwise: no chance value)."""
    calls = w.losses.loss_calls
    if not calls or any(name not in ("cross_entropy", "nll_loss") or set(rec["reductions"]) != {"mean"}
                        for (name, _), rec in calls.items()):
        return None
    inside = w.losses.curve.between(end.first, end.last)
    if len(inside) < 2:
        start = w.models.start_step()
        vals = [(s, v) for s, v in w.losses.loss_values if math.isfinite(v) and s >= start]
        inside = [v for s, v in vals if s >= end.first]
        inside = inside if len(inside) >= 2 else [v for _, v in vals[-3:]]
    return statistics.mean(inside) if inside else None


def weights_moved(w: TorchWatch) -> float | None:
    """The largest drift of a weight tensor of the judged model from its first sampled step to its last (None: not known)."""
    vals = [pi.drift[-1][1] for _, pi in _weights(w) if pi.drift and math.isfinite(pi.drift[-1][1])]
    return max(vals) if vals else None


def rule_no_learning(w: TorchWatch) -> list[Finding]:
    """The training-batch accuracy at the end of the run against always answering the most common label, once the
    weights have moved by :data:`NO_LEARNING_MOVED` (before that a run may simply not have learned *yet*); not while
    it is still climbing above chance (:func:`still_rising`), nor while its cross-entropy is clearly below the chance
    value (:data:`LOSS_BELOW_CHANCE`) or still falling below it (:func:`loss_falling`). Rows seen before answered better than rows seen for the first time
    (:func:`memorised`) are judged whatever the drift: that gap is itself what the training changed."""
    ends = run_ends(w)
    moved = weights_moved(w)
    if ends is None or moved is None:
        return []
    if moved < NO_LEARNING_MOVED or still_rising(*ends):
        return memorised(w, ends[1], moved)
    start, end = ends
    loss, loss_chance = end_loss(w, end), label_entropy(end)
    if loss is not None and loss < (1 - LOSS_BELOW_CHANCE) * loss_chance or loss_falling(w, end, loss, loss_chance):
        return memorised(w, end, moved)
    found = no_learning(Predictions(
        where=_loss_site(w) or "training batches",
        on=f"training batches of optimizer steps {end.first}-{end.last} ({end.rows:,} rows)",
        predicted=tuple(end.predicted()), framework=Framework.TORCH, labels=tuple(end.labels()), correct=end.correct,
        evaluated=False), after=f"After {end.last} optimizer steps", start_accuracy=start.correct / start.rows if start.rows else None)
    if found is None:
        return memorised(w, end, moved)
    chance, chance_se = chance_level(end)
    return [dataclasses.replace(found, evidence={
        **found.evidence, "weights_moved": moved, "chance": chance, "chance_standard_error": chance_se,
        "classes": len(end.labels()), "loss_at_end": loss, "loss_at_chance": loss_chance})]


MEMORISED_SE = 2.0
"""Standard errors by which the training accuracy at the end must beat that on rows seen for the first time, and
within which the latter must stay of always answering their most common label, for ``no-learning`` by memorisation.
Measured on generated programs with shuffled labels (AdamW at 0.002, batches of 16, 1,000 rows): 11.1% on 416 rows
seen for the first time (their most common label 12.0%), 18.0% on 512 rows seen before at the end (3.0 standard
errors apart); a healthy twin answers rows it has not been trained on at 60-90% late in its first pass."""


FIRST_PASS_BATCHES = 8
"""Training batches from the judged model's start before the later half of its rows seen for the first time begins: a
full-batch run (or one of a few batches) sees every row first at its first step, before any training. Counted as the
optimizer steps before it times the batches of a step (:func:`batches_per_step`): a program that accumulates the
gradients of 2 batches per step (ptw1089: its later half begins 7 steps, 14 batches, in) has a pass of as many
batches as one that steps at each."""


def batches_per_step(early: Block, late: Block) -> int:
    """Training batches (counted loss calls that brought new rows) per optimizer step over the first pass, rounded (at
    least 1): 1 for a program that steps at each batch, ``k`` for one that accumulates the gradients of ``k`` batches."""
    steps = late.last - early.first + 1
    return max(1, round((early.calls + late.calls) / max(steps, 1)))


FIRST_PASS_SHARE = 0.1
"""The first pass must end at this share of the judged model's steps or later: a first pass of 16 steps in a run of
240 (512 rows, batches of 32, 15 epochs) leaves a healthy network that learns its task slowly at chance on its
first-seen rows (17% with six classes) on its way to 78%; the memorising programs measured ended theirs at 1/8 to 1/3
of their runs."""


SMALL_DRIFT_SHARE = 1 / 3
"""A run whose weights moved less than :data:`NO_LEARNING_MOVED` is judged by its rows seen for the first time only
when, by the end of the later half of its first pass, the weights had already moved this share of their drift over
the whole run (the last sampled drift at or before that step): they had done a good part of their learning by the
time those rows were answered at chance. A slow learner moves its weights steadily over many passes (a share of
about one pass in the run's passes) and is at chance early for lack of training. Measured: rows shifted by one
against the labels, plain SGD at lr 0.1, three epochs of 1,000 rows (ptw0305): drift 0.016 of 0.045 (36%) by step 6
of the later half's 8-15.

Under steady training the drift grows about linearly with the steps, so the share reads the number of epochs (about
1/E), not memory: shuffled labels under plain SGD at lr 0.1 over five epochs (``shuffled_sgd_epochs``, 23%) fall
under it as a slow learner does (ptw1116_healthy: right labels, plain SGD at lr 0.1, three epochs, 36% held-out at the
end, its weights 23% moved by the pass's end). What tells them apart is whether the labels follow the inputs at all
(:func:`neighbour_z`): the guard is passed over when a row's nearest neighbour has its label no more often than
chance (:data:`NEIGHBOUR_CHANCE_SE`). Not the accuracy by the gap since a row's last presentation: plain SGD keeps
what it memorised over a pass (shuffled labels, five epochs of 500 rows: 22.0% on rows seen again within a pass, 20.9%
on rows last seen longer ago; the rows of each 64 compared among themselves, 0.5 standard errors the wrong way)."""
NEIGHBOUR_SE = 4.0
"""Standard errors (binomial, over the rows kept) by which a row's nearest neighbour must have its label more often
than chance for the labels to follow the inputs (:meth:`~netdoctor.observe.torch.first_seen.FirstSeenRows.neighbours`):
then rows seen first at chance are a network that has not learned yet, never labels that carry no signal. Measured on
MNIST rows (64 most varying pixels): 256-1,000 rows with their labels 34-73 standard errors above chance; shuffled
apart or shifted by a row, -1 to +0.4 (2.8 once, over all 784 pixels)."""
NEIGHBOUR_CHANCE_SE = 2.0
"""Standard errors within which the nearest neighbour's label must match no more often than chance for the drift
guard (:data:`SMALL_DRIFT_SHARE`) to be passed over: the labels, not the pace of training, are what the first pass
shows."""
NEIGHBOUR_MIN_ROWS = 100
"""Rows kept before the nearest-neighbour reading counts (a few rows read no chance level)."""


def neighbour_z(w: TorchWatch) -> tuple[float, int, float, float] | None:
    """(standard errors by which a first-pass row's nearest other row has its label more often than chance, rows, that
    share, chance's) from :meth:`~netdoctor.observe.torch.first_seen.FirstSeenRows.neighbours`; None under
    :data:`NEIGHBOUR_MIN_ROWS` rows or with one label."""
    read = w.first_seen.neighbours()
    if read is None or read[0] < NEIGHBOUR_MIN_ROWS or not 0 < read[2] < 1:
        return None
    n, hits, chance = read
    return (hits / n - chance) / math.sqrt(chance * (1 - chance) / n), n, hits / n, chance


def drift_by(w: TorchWatch, step: int) -> float:
    """The largest drift of a weight tensor of the judged model by ``step`` (0: none sampled by then).

    Drift is sampled on the bounded schedule (every 16th step, then every 32nd, ...), so ``step`` usually falls between
    two samples: the drift there is read on the line between the last sample at or before it and the first after it
    (the last before it alone when none follows). The last sample before alone reads up to a whole sampling interval
    early: ptw1075's first pass ends at step 31, its drift sampled at steps 16 (0.056) and 32 (0.080) of 0.211 moved
    in all; read at step 16 the pass had done 27% of the run's drift (a slow learner's one pass in four), at step 31
    it had done 37%."""
    return max((drift_at(pi.drift, step) for _, pi in _weights(w)), default=0.0)


def drift_at(drift: list[tuple[int, float]], step: int) -> float:
    """The largest of the drifts ``(step, value)`` sampled at or before ``step`` and of the drift at ``step`` on the
    line to the next sample (0: none at or before ``step``)."""
    seen = [(s, v) for s, v in drift if math.isfinite(v)]
    before = [(s, v) for s, v in seen if s <= step]
    if not before:
        return 0.0
    s0, v0 = before[-1]
    after = next(((s, v) for s, v in seen if s > step), None)
    here = v0 if after is None else v0 + (after[1] - v0) * (step - s0) / (after[0] - s0)
    return max(max(v for _, v in before), here)


def _z(k1: int, n1: int, k2: int, n2: int) -> float:
    """Standard errors by which the share ``k2 / n2`` beats ``k1 / n1`` (difference of two binomial proportions)."""
    p = (k1 + k2) / (n1 + n2)
    return (k2 / n2 - k1 / n1) / math.sqrt(max(p * (1 - p), 1e-12) * (1 / n1 + 1 / n2))


def memorised(w: TorchWatch, end: Segment, moved: float) -> list[Finding]:
    """``no-learning`` of a run whose training accuracy rose on rows seen again while rows seen for the first time
    (the later half of them: late in the first pass, after the early updates) stay at chance (see
    :mod:`netdoctor.observe.torch.first_seen`, :func:`first_pass_at_chance`); when rows seen again were trained on
    within the later half's own steps (at least :data:`NO_LEARNING_ROWS` of them: batches that overlap, a pass shorter
    than the run's span), they must beat its first-seen rows by :data:`MEMORISED_SE` standard errors too: the same
    network answers both, so only memory can set them apart; the later half begins :data:`FIRST_PASS_BATCHES` batches
    or more after the start, and ends at :data:`FIRST_PASS_SHARE` of the run or later. Never when a row's nearest
    neighbour carries its label (:data:`NEIGHBOUR_SE`: the labels follow the inputs); the drift guard
    (:data:`SMALL_DRIFT_SHARE`) stands unless the neighbours match at chance (:data:`NEIGHBOUR_CHANCE_SE`)."""
    fs = w.first_seen
    since = w.models.start_step()
    halves = fs.halves(since)
    if halves is None or not end.rows:
        return []
    early, late = halves
    if ((late.first - since) * batches_per_step(early, late) < FIRST_PASS_BATCHES
            or late.last - since < FIRST_PASS_SHARE * (end.last - since)
            or not early.new_rows or not late.new_rows):
        return []  # a first pass of a few steps (a full batch) has its first-seen rows before any training
    near = neighbour_z(w)
    if near is not None and near[0] > NEIGHBOUR_SE:
        return []  # the labels follow the inputs (a row's neighbour carries its label): it has not learned yet
    unrelated = near is not None and near[0] <= NEIGHBOUR_CHANCE_SE
    if not first_pass_at_chance(early, late, end, unrelated):
        return []
    again = [b for b in fs.blocks if late.first <= b.first and b.last <= late.last]
    again_rows, again_correct = sum(b.old_rows for b in again), sum(b.old_correct for b in again)
    if again_rows >= NO_LEARNING_ROWS and _z(late.new_correct, late.new_rows, again_correct, again_rows) <= MEMORISED_SE:
        # rows seen again during the same steps, answered by the same network, score no better than the rows seen
        # first: the end's lead is a network a little better later (the cost bench's 40-step loop: 10.4% of 1,872 rows
        # seen again at steps 16-30 against 9.3% of 944 first seen at steps 9-30), not rows learned by heart
        return []
    if drift_by(w, late.last) < SMALL_DRIFT_SHARE * moved and not unrelated:
        return []  # weights that moved little and mostly after the first pass: a slow learner, not yet judged
    found = _memorised_finding(w, end, late, near)
    if found is None:
        return []
    more = {} if near is None else {"neighbour_rows": near[1], "neighbour_accuracy": near[2], "neighbour_chance": near[3]}
    return [dataclasses.replace(found, evidence={**found.evidence, "weights_moved": moved, "pass_over": fs.pass_over,
                                                 "earlier_first_seen_accuracy": early.new_correct / early.new_rows,
                                                 "earlier_first_seen_rows": early.new_rows, **more})]


def first_pass_at_chance(early: Block, late: Block, end: Segment, unrelated: bool) -> bool:
    """The end's training accuracy beats the later half's first-seen rows' by :data:`MEMORISED_SE` standard errors of
    the difference, theirs is within one binomial standard error of their most common label's share (a network
    answering at chance scores at most that share; a slow learner at 13.5% over 600 rows against 11% is above it), and
    it does not beat the earlier half's by :data:`MEMORISED_SE` standard errors (a slow learner climbs through its first
    pass: 9% -> 14%). With labels ``unrelated`` to the inputs (their neighbours match at chance), within
    :data:`MEMORISED_SE` standard errors of that share, climbing or not: a climb to the most common label's share is
    the labels' frequencies learned, not the inputs (ptw1099, labels rolled by a row: 8.7% -> 15.1% of 352 rows whose
    most common label is 12.5%, 1.5 standard errors above it, its held-out accuracy 9-11%)."""
    first_acc = late.new_correct / late.new_rows
    chance = max(late.new_labels.values(), default=0) / late.new_rows
    spread = (MEMORISED_SE if unrelated else 1.0) * math.sqrt(max(chance * (1 - chance), 1e-12) / late.new_rows)
    return (_z(late.new_correct, late.new_rows, end.correct, end.rows) > MEMORISED_SE and first_acc - chance <= spread
            and (unrelated or _z(early.new_correct, early.new_rows, late.new_correct, late.new_rows) <= MEMORISED_SE))


def _memorised_finding(w: TorchWatch, end: Segment, late: Block,
                       near: tuple[float, int, float, float] | None) -> Finding | None:
    """:func:`netdoctor.rules.outputs.memorised_labels` on the later half's first-seen rows against the end's (``near``:
    :func:`neighbour_z`, said when its neighbours match at chance)."""
    fs = w.first_seen
    z = _z(late.new_correct, late.new_rows, end.correct, end.rows)
    seen_before = fs.seen_before(end.first, end.last)
    classes = max(late.new_labels, default=0) + 1
    first = Predictions(
        where=_loss_site(w) or (f"the loss of backward() at {w.losses.hand_site}" if w.losses.hand_site else "training batches"),
        framework=Framework.TORCH,
        on=f"the {late.new_rows:,} rows seen for the first time (optimizer steps {late.first}-{late.last}, each counted "
           "before a step trained on it)",
        predicted=(), labels=tuple(late.new_labels.get(k, 0) for k in range(classes)), correct=late.new_correct,
        evaluated=False)
    return memorised_labels(first, seen_accuracy=end.correct / end.rows, seen_rows=end.rows, z=round(z, 1),
                            seen_on=f"{'rows seen before' if seen_before else 'the training batches'} (optimizer "
                                    f"steps {end.first}-{end.last}, {end.rows:,} rows)",
                            neighbours=near[1:] if near is not None and near[0] <= NEIGHBOUR_CHANCE_SE else None)


RULES: tuple[Callable[[TorchWatch], list[Finding]], ...] = (
    rule_nonfinite, rule_targets, rule_stale, rule_ascent, rule_frozen, rule_never_stepped, rule_double_softmax, rule_modes, rule_functional_dropout, rule_summed, rule_lr,
    rule_gradients, rule_activations, rule_outputs, rule_batch_leak, rule_unshuffled, rule_no_learning,
)


def torch_findings(w: TorchWatch) -> list[Finding]:
    """Every rule on the watch's records, causes linked (see :data:`netdoctor.rules.causes.CAUSES`)."""
    found: list[Finding] = []
    for rule in RULES:
        try:
            found.extend(rule(w))
        except Exception as exc:  # noqa: BLE001 - one broken rule must not hide the others
            w.note_failure(rule.__name__, exc)
    # Rows seen first answered at chance blame the labels only when no error found can explain a network that
    # generalises nothing (a head on fixed random features, .detach()ed, fits what it sees first and climbs slowly):
    # beside such a finding, that one speaks and the first pass's numbers are no evidence of the labels.
    if any(f.severity is Severity.ERROR and f.code in CAUSES["no-learning"] for f in found):
        found = [f for f in found if not (f.code == "no-learning" and f.evidence.get("kind") == "labels")]
    return link_causes(found)
