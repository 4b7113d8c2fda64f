"""What a sampled optimizer step does to the parameters: :class:`ParameterSampler`, one part of :class:`~netdoctor.observe.torch.watch.TorchWatch`.

Before a sampled ``step()``: the norms of every parameter of the models the
optimizer trains (and of models whose gradients no optimizer holds), a fixed
sample of at most :data:`~netdoctor.observe.torch.watch.SAMPLE` entries of
each tensor and of its gradient; the first non-finite gradient or weight;
gradients emptied between ``backward()`` and ``step()``. After it: the
update against the weights, whether anything changed, how far the weights
are from where they started, and one-shot hooks on the parameters for the
next backward pass (``.grad`` at that moment is what earlier steps left in
it: a gradient never emptied). The records are :class:`~netdoctor.observe.torch.records.ParamInfo`.
"""

from __future__ import annotations

import math
import sys
import weakref
from typing import TYPE_CHECKING, Any

from netdoctor._lazy import dataclass
from netdoctor.observe.torch import tree
from netdoctor.observe.torch.losses import bounded_append
from netdoctor.observe.torch.models import tensor_names
from netdoctor.observe.torch.records import OptInfo, ParamInfo

if TYPE_CHECKING:
    from netdoctor.observe.torch.watch import TorchWatch

__all__ = ["ParameterSampler", "Unheld", "autograd_leaves", "opt_params", "SAMPLE"]

SAMPLE = 4096
"""Entries per parameter kept before/after a sampled step (evenly spaced; all for smaller tensors)."""


def _sample(t: Any, idx: Any) -> Any:
    """A copy of the entries ``idx`` of ``t`` flattened (all of them when ``idx`` is None)."""
    flat = t.reshape(-1)
    return flat.clone() if idx is None else flat.index_select(0, idx)


def _wide(t: Any) -> Any:
    """``t`` itself in float32 or float64, else as float32 (a float16 norm overflows at 65,504)."""
    return t if t.dtype.itemsize >= 4 and t.is_floating_point() else t.float()


@dataclass
class Unheld:
    """A tensor outside any model that backward() reaches and no optimizer holds."""

    ref: Any
    name: str
    shape: tuple
    order: int
    steps: int = 0
    """Sampled steps on which it was found."""


def autograd_leaves(fn: Any, limit: int = 20000) -> list[Any]:
    """The leaf tensors (``AccumulateGrad`` nodes) reachable from the autograd node ``fn``; at most ``limit`` nodes visited."""
    out: list[Any] = []
    seen: set[int] = set()
    stack = [fn]
    while stack and len(seen) < limit:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        var = getattr(node, "variable", None)
        if var is not None:
            out.append(var)
            continue
        stack.extend(n for n, _ in node.next_functions)
    return out


def opt_params(opt: Any) -> list[Any]:
    """Every tensor an optimizer holds, over its parameter groups."""
    return [p for g in opt.param_groups for p in g["params"]]


class ParameterSampler:
    """The parameters' side of sampled optimizer steps (see the module docstring).

    Args:
        watch: the :class:`~netdoctor.observe.torch.watch.TorchWatch` it belongs to (its step count, models and records).
    """

    def __init__(self, watch: TorchWatch) -> None:
        self.w = watch
        self._oneshot: dict[int, Any] = {}
        self.grad_nonfinite: dict | None = None
        """The first sampled step whose gradients or weights are non-finite (also while the loss stays finite)."""
        self.backward_site: str | None = None
        """The user's line of the first backward pass seen by a parameter hook."""
        self.backward_sites: dict[int | None, tuple[int, str | None]] = {}
        """Per model (id of its root; None: loose tensors): (step, the user's line) of the latest sampled backward pass
        into its parameters. A throwaway model trained first (a sanity check) has a line of its own: the judged model's
        findings name the line of its own backward pass, not the first one of the run."""
        self.backward_since_step = False
        self.cleared_before_step = 0
        """Sampled steps whose trained gradients were all empty although a backward pass ran since the last step."""
        self.cleared_checked = 0
        self.step_before_backward = 0
        """Checked steps whose step() ran before the backward pass of the loss computed for them."""
        self.last_updates: list[tuple[Any, Any]] = []
        """(update, gradient) samples of each tensor of the latest sampled step that had a gradient (a hand-written
        update's learning rate is read from them)."""
        self.unheld: dict[int, Unheld] = {}
        """Tensors outside any model that the sampled losses' backward passes reach and no optimizer holds, found on
        sampled steps at which a tensor the optimizer holds had no gradient (an optimizer built from tensors that the
        program then replaced)."""

    def backward_site_of(self, params: list[ParamInfo]) -> str | None:
        """The user's line of the backward pass into ``params`` (of the first of them whose model was seen), else the run's first."""
        for pi in params:
            if (seen := self.backward_sites.get(pi.root)) is not None and seen[1]:
                return seen[1]
        return self.backward_site

    def remove_hooks(self) -> None:
        for h in list(self._oneshot.values()):
            h.remove()
        self._oneshot.clear()

    def before_step(self, opt: Any, oi: OptInfo) -> set[int]:
        """Before a sampled ``step()``: norms and samples of the parameters it trains and of the models beside them;
        the ids of the parameters this optimizer holds."""
        torch = self.w.torch
        params = opt_params(opt)
        pnames, _ = self.w.models.names()
        in_any = {id(p) for o in self.w.opts.values() if (om := o.ref()) is not None for p in opt_params(om)}
        # Every parameter of the models this optimizer trains, including those it was not given, and of the
        # models no optimizer holds a parameter of whose gradients are there (the optimizer holds another model's).
        mine = {id(p) for p in params}
        model_params, root_of = self._models_to_sample(oi, mine, in_any)
        seen = set()
        ws: list[Any] = []
        gs: list[Any] = []
        slots: list[tuple[ParamInfo, int, bool]] = []
        for p in [*params, *model_params]:
            if id(p) in seen:
                continue
            seen.add(id(p))
            pi = self.w.params.get(id(p))
            if pi is None or pi.ref() is not p:
                n = p.numel()
                idx = None if n <= SAMPLE else torch.linspace(0, n - 1, SAMPLE, device=p.device).long()
                pi = self.w.params[id(p)] = ParamInfo(weakref.ref(p), idx, pnames.get(id(p)), tuple(p.shape), owner=self.w.models.param_owner.get(id(p)),
                                                    order=list(pnames).index(id(p)) if id(p) in pnames else 1 << 30)
            pi.in_optimizer = id(p) in in_any
            pi.root = root_of.get(id(p), pi.root)
            pi.requires_grad = bool(p.requires_grad)
            pi.sampled += 1
            g = p.grad
            if g is None:
                pi.grad_none += 1
            w = p.detach()
            if id(p) in mine:
                pi.held_by = oi.created_at
                pi.held_first = pi.held_first or self.w.steps
                pi.held_last = self.w.steps
                pi.before = _sample(w, pi.idx)
                pi.g_sample = _sample(g.detach(), pi.idx) if g is not None else None
            ws.append(w)
            if g is not None:
                gs.append(g.detach())
            slots.append((pi, len(gs) - 1 if g is not None else -1, id(p) in mine))
        if ws:
            self._norms(ws, gs, slots)
        if any(p.requires_grad and p.grad is None for p in params):
            self._find_unheld(in_any)
        return mine

    def _find_unheld(self, in_any: set[int]) -> None:
        """The leaf tensors of the latest sampled backward pass's graph that no optimizer holds and no model owns, named as the
        user's frame that steps names them (only when a tensor the optimizer holds went without a gradient)."""
        fn = self.w.losses.backward_fn
        if fn is None:
            return
        owner = self.w.models.param_owner
        found = [t for t in autograd_leaves(fn) if id(t) not in in_any and id(t) not in owner and t.requires_grad]
        if not found:
            return
        fresh = {id(t) for t in found if id(t) not in self.unheld or self.unheld[id(t)].ref() is not t}
        names = tensor_names(self.w.sites.user_frame(sys._getframe(1)), self.w.torch, fresh) if fresh else {}
        for t in found:
            u = self.unheld.get(id(t))
            if u is None or u.ref() is not t:
                u = self.unheld[id(t)] = Unheld(weakref.ref(t), names.get(id(t)) or f"a tensor of shape {tuple(t.shape)}",
                                                tuple(t.shape), len(self.unheld))
            u.steps += 1

    def _models_to_sample(self, oi: OptInfo, mine: set[int], in_any: set[int]) -> tuple[list[Any], dict[int, int]]:
        """The parameters of the models this optimizer trains and of the models with gradients that no optimizer holds
        (their ``orphan_steps`` counted), and id(param) -> id(model) for them; ``oi.roots`` refreshed."""
        model_params = []
        root_of: dict[int, int] = {}
        oi.roots = []
        for info, m in self.w.models.roots():
            ps = list(tree.parameters(m))
            if any(id(p) in mine for p in ps):
                oi.roots.append(id(m))
            elif any(id(p) in in_any for p in ps) or not any(p.grad is not None for p in ps):
                continue
            else:
                info.orphan_steps += 1
                # gradients are read at sampled steps only; the training calls that produced them began earlier
                info.orphan_first = info.orphan_first or min(self.w.steps, info.grad_run_first or self.w.steps)
            model_params.extend(ps)
            root_of.update((id(p), id(m)) for p in ps)
        return model_params, root_of

    def _norms(self, ws: list[Any], gs: list[Any], slots: list[tuple[ParamInfo, int, bool]]) -> None:
        """||W|| and ||g|| of every sampled parameter (``slots``: its info, its gradient's index in ``gs``
        or -1, whether this optimizer holds it); the first non-finite ones; gradients emptied before step()."""
        # One fused norm kernel per list and one host read for all of them.
        norms = self.w.torch._foreach_norm(ws + gs)
        values = self._host(norms, self.w.torch.float32)
        nw = len(ws)
        for k, (pi, gk, _) in enumerate(slots):
            bounded_append(pi.norms, (self.w.steps, values[k], values[nw + gk] if gk >= 0 else math.nan))
        if self.grad_nonfinite is None:
            bad_g = [pi.name for pi, gk, _ in slots if gk >= 0 and not math.isfinite(values[nw + gk])]
            bad_w = [pi.name for k, (pi, _, _) in enumerate(slots) if not math.isfinite(values[k])]
            if bad_g or bad_w:
                last = self.w.losses.loss_values[-1][1] if self.w.losses.loss_values else None
                self.grad_nonfinite = {"step": self.w.steps, "grads": bad_g, "weights": bad_w, "loss": last}
        if self.backward_since_step:
            # A backward pass ran since the last step, yet every gradient this step applies is empty:
            # something cleared them between backward() and step().
            self.cleared_checked += 1
            trained = [(pi, gk) for pi, gk, in_opt in slots if pi.requires_grad and in_opt]
            if trained and all(gk < 0 or values[nw + gk] == 0 for _, gk in trained):
                self.cleared_before_step += 1
                if self.w.losses.pending:
                    # ...and the loss computed for this step has not been through backward() yet: step() comes first.
                    self.step_before_backward += 1

    def after_step(self, opt: Any) -> None:
        """After a sampled ``step()``: the update against the weights, the drift from the start; stale-gradient hooks armed.

        The arithmetic runs on all parameters at once (``torch._foreach_*``: a few kernels and one host read per
        step, whatever the number of parameters), in the parameters' own dtype (a float64 update smaller than
        float32's resolution still counts as a change), norms in at least float32.
        """
        torch = self.w.torch
        slots, afters, befores, firsts = [], [], [], []
        self.last_updates = []
        for p in opt_params(opt):
            pi = self.w.params.get(id(p))
            if pi is None or pi.before is None:
                continue
            if pi.first is None:
                pi.first = pi.before
            flat = p.detach().reshape(-1)
            afters.append(flat if pi.idx is None else flat.index_select(0, pi.idx))
            befores.append(pi.before)
            firsts.append(pi.first)
            slots.append(pi)
            self._arm_stale(p, pi)
            pi.before = None
        if not slots:
            return
        deltas = [_wide(d) for d in torch._foreach_sub(afters, befores)]
        self.last_updates = [(d, pi.g_sample) for d, pi in zip(deltas, slots) if pi.g_sample is not None]
        moves = [_wide(d) for d in torch._foreach_sub(afters, firsts)]
        # One call per norm order (the same kernel per tensor as one call per list: the same values).
        norms = (torch._foreach_norm([*deltas, *(_wide(b) for b in befores), *moves, *(_wide(f) for f in firsts)])
                 + torch._foreach_norm(deltas, ord=math.inf))
        values = self._host(norms, torch.float64)
        n = len(slots)
        for k, pi in enumerate(slots):
            step, before, move, first, largest = (values[j * n + k] for j in range(5))
            bounded_append(pi.ratios, (self.w.steps, step / max(before, 1e-30) if before == before else math.nan))
            bounded_append(pi.changed, (self.w.steps, not largest == 0))  # a NaN change is a change
            bounded_append(pi.drift, (self.w.steps, move / max(first, 1e-30) if first == first else math.nan))

    def _host(self, norms: Any, dtype: Any) -> list[float]:
        """The scalar tensors ``norms`` as Python floats of ``dtype``'s precision, in one host read: stacked as they are
        when they share a dtype that ``dtype`` holds exactly and a device (one kernel), else each made ``dtype`` on the
        first one's device first (a kernel more each)."""
        torch = self.w.torch
        first = norms[0]
        exact = first.dtype == dtype or (first.dtype == torch.float32 and dtype == torch.float64)
        if exact and all(v.dtype == first.dtype and v.device == first.device for v in norms):
            return torch.stack(norms).tolist()
        return torch.stack([v.to(first.device, dtype) for v in norms]).tolist()

    def _arm_stale(self, p: Any, pi: ParamInfo) -> None:
        """One-shot hook for the next backward into ``p``: what does ``.grad`` hold before the fresh gradient is added?"""
        if not p.requires_grad or id(p) in self._oneshot:
            return
        g_prev = pi.g_sample
        p_ref = weakref.ref(p)

        def hook(fresh: Any, p_ref: Any = p_ref, pi: ParamInfo = pi, g_prev: Any = g_prev) -> None:
            h = self._oneshot.pop(id(pi), None)
            if h is not None:
                h.remove()
            if self.w.busy:
                return
            self.backward_since_step = True
            try:
                seen = self.backward_sites.get(pi.root)
                if seen is None or seen[0] != self.w.steps:  # one look at the stack per model and sampled step
                    site = self.w.sites.site()
                    self.backward_sites[pi.root] = (self.w.steps, site)
                    if self.backward_site is None:
                        self.backward_site = site
                param = p_ref()
                before = None if param is None else param.grad
                if before is None or g_prev is None:
                    pi.stale.append((0.0, 0.0) if before is None else (math.nan, math.nan))
                    return
                bf = before.detach().reshape(-1)
                ff = fresh.detach().reshape(-1)
                bs = (bf if pi.idx is None else bf[pi.idx]).float()
                fs = (ff if pi.idx is None else ff[pi.idx]).float()
                gp = g_prev.float()
                torch = self.w.torch
                w = torch.dot(bs, gp) / torch.dot(gp, gp).clamp_min(1e-30)
                share = torch.linalg.vector_norm(bs) / torch.linalg.vector_norm(fs).clamp_min(1e-30)
                pi.stale.append(tuple(torch.stack([w, share]).tolist()))
            except Exception as exc:  # noqa: BLE001
                self.w.note_failure("gradient hook", exc)

        self._oneshot[id(pi)] = p.register_hook(hook)
