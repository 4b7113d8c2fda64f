"""Programs that update their tensors by hand: :class:`HandUpdates`, one part of :class:`~netdoctor.observe.torch.watch.TorchWatch`.

Many PyTorch programs step no ``torch.optim`` optimizer: they call
``loss.backward()`` and then change the tensors themselves, under
``torch.no_grad()`` (``p -= lr * p.grad``, ``p.data.add_(p.grad, alpha=-lr)``,
d2l's ``sgd(params, lr, batch_size)``, ``p.data = p.data - lr * p.grad``).
Their network is the set of leaf tensors with ``requires_grad`` that every
backward pass reaches (an ``nn.Module``'s parameters, or tensors the program
made itself); their steps are whatever changes those tensors between one
backward pass and the next.

``torch.autograd.backward`` (which ``Tensor.backward`` calls) is wrapped.
While no optimizer exists, each backward pass's leaves are noted with their
version counter (bumped by every in-place write through the tensor itself),
their storage and a few of their entries (a write through ``.data`` bumps no
counter of the tensor's). When the next backward pass finds one of the
leaves it reached before changed, the program steps by hand: from then on,
the end of each backward pass is the "pre-step" of an update and the start
of the next backward pass (or the end of the program) its "post-step". Both
are handed to the watch exactly as an optimizer's hooks are, with
:class:`HandSteps` standing in for the optimizer (its ``param_groups`` hold
the leaves), so every measurement and rule of optimizer programs applies:
the update against the weights, ``.grad`` at the next backward pass (never
zeroed: the previous gradient is still there), parameters that never change,
non-finite values.

The learning rate of a plain gradient step is read from what the step did:
``lr = -<dW, g> / <g, g>`` over the sampled entries of every tensor (to 4
significant digits), given
when the update is a multiple of the gradient (cosine of ``dW`` and ``-g``
above :data:`SGD_COSINE`); otherwise (momentum, a hand-written Adam) it is
left unknown.

Nothing the program computes changes: the wrapper calls PyTorch's backward
with the program's own arguments and returns its result; the graph walk reads
``next_functions`` only (no extra autograd work, no retained graph).
"""

from __future__ import annotations

import functools
import math
import sys
import weakref
from typing import TYPE_CHECKING, Any

from netdoctor.observe.torch.models import tensor_names
from netdoctor.observe.torch.sampling import autograd_leaves

if TYPE_CHECKING:
    from netdoctor.observe.torch.watch import TorchWatch

__all__ = ["HandSteps", "HandUpdates", "HAND_KIND", "PROBE", "UNDECIDED_LIMIT", "SGD_COSINE"]

VERSION = "_version"
"""A tensor's in-place write counter (PyTorch's attribute: bumped by every in-place op through the tensor itself)."""
HAND_KIND = "hand-written update"
"""The kind of the stand-in optimizer (the report's word for a program's own update)."""
PROBE = 64
"""Entries per leaf compared across one interval to see a write through ``.data`` (evenly spaced)."""
UNDECIDED_LIMIT = 64
"""Backward passes after which a program whose leaves never changed between two of them is no longer probed."""
SGD_COSINE = 0.999
"""An update whose cosine with ``-g`` is at least this is a plain gradient step ``-lr * g`` (its lr is read off)."""


class HandSteps:
    """Stands in for an optimizer: ``param_groups`` holds the leaf tensors the program updates itself."""

    kind = HAND_KIND

    def __init__(self) -> None:
        self.param_groups: list[dict[str, Any]] = [{"params": [], "lr": None}]


def _roots(tensors: Any, torch: Any) -> list[Any]:
    """The tensors a backward call starts from (one tensor, or a sequence of them)."""
    if issubclass(type(tensors), torch.Tensor):
        return [tensors]
    if isinstance(tensors, (list, tuple)):
        return [t for t in tensors if issubclass(type(t), torch.Tensor)]
    return []


class HandUpdates:
    """Recognises a program's own updates and drives the watch's step hooks with them (see the module docstring).

    Args:
        watch: the :class:`~netdoctor.observe.torch.watch.TorchWatch` it belongs to.
    """

    def __init__(self, watch: TorchWatch) -> None:
        self.w = watch
        self.opt = HandSteps()
        self.on = False
        """The program steps by hand (an interval between backward passes changed a tensor they reach)."""
        self.pending = False
        """A pre-step ran at the end of the latest backward pass; its update ends at the next one."""
        self.probed: dict[int, tuple[Any, int, int, Any]] = {}
        """Before the program is recognised: id(leaf) -> (weakref, version, storage address, a few entries)."""
        self.walked: dict[int, Any] = {}
        """id(leaf) -> weakref, of the latest sampled backward pass's leaves (the network is what persists)."""
        self.moved_on = 0
        """The step count when the updates last moved on to other tensors (a throwaway model's, then the real one's):
        the updates counted by then trained the tensors left behind."""
        self.backwards = 0
        self.passes = 0  # backward passes run while watched, however the program steps
        self.first_site: str | None = None
        """The user's line of the first backward pass of a recognised hand-stepping program."""
        self.grad_calls = 0
        """Calls of ``torch.autograd.grad`` (gradients returned, not stored in ``.grad``): such updates are not followed."""
        self.data_writes = False
        """The program was recognised by changed entries under unchanged version counters (writes through ``.data``)."""
        self.at_step: list[tuple[int, int, Any]] = []
        """Per tensor of the network at the latest pre-step: (version, storage address, probe entries or None)."""
        self.unstepped = 0
        """Backward passes run while an optimizer of the program's existed and had not stepped yet (all of them, in a
        program that never calls ``optimizer.step()``)."""
        self.unstepped_site: str | None = None
        """The user's line of the first of them."""
        self.directions: list[tuple[int, float, float]] = []
        """Per sampled update with finite numbers: (step, cosine of the update with ``+g``, ``<dW, g> / <g, g>``). A
        plain descent step reads cosine -1; ``p += lr * p.grad`` (gradient ascent) reads +1."""

    def unfollowed(self) -> str:
        """Why a program that ran backward passes (or ``torch.autograd.grad``) without an optimizer had no step followed
        ("" when its steps were followed, or it ran none)."""
        if self.on or self.w.opts:
            return ""
        if self.grad_calls and self.backwards < 2:
            return (f"PyTorch: the program takes its gradients with torch.autograd.grad ({self.grad_calls:,} calls) and no "
                    "torch.optim optimizer: what it does with them is not followed (only updates between backward() "
                    "calls are), so its training was not observed")
        if self.backwards >= 2:
            probed = min(self.backwards, UNDECIDED_LIMIT)
            return (f"PyTorch: backward() ran {self.backwards:,} times and no torch.optim optimizer exists, yet none of the "
                    f"tensors the backward passes reach changed between two of them (the first {probed:,} compared): "
                    "no training step was seen. If the program means to train them, its update leaves them as they "
                    "were (a gradient emptied before it is applied, a step on a copy of the tensors)")
        return ""

    # -- the wrapped functions ------------------------------------------------------
    def wrap_backward(self, orig: Any) -> Any:
        """``torch.autograd.backward`` that also closes and opens the program's hand steps around PyTorch's own."""
        hand = self

        @functools.wraps(orig)
        def backward(tensors: Any, *args: Any, **kwargs: Any) -> Any:
            w = hand.w
            if w.installed and not w.busy:
                hand.passes += 1
            if w.installed and not w.busy and not w.compiling():
                try:
                    w.losses.before_backward(_roots(tensors, w.torch))
                except Exception as exc:  # noqa: BLE001
                    w.note_failure("backward wrapper", exc)
            if not hand.active():
                w = hand.w
                if w.installed and not w.busy and not w.steps and w.opts:
                    hand.note_unstepped()
                return orig(tensors, *args, **kwargs)
            roots = []
            try:
                roots = _roots(tensors, hand.w.torch)
                hand.before(roots)
            except Exception as exc:  # noqa: BLE001
                if type(exc).__name__ == "StopObserving":
                    raise
                hand.w.note_failure("backward wrapper", exc)
            out = orig(tensors, *args, **kwargs)
            try:
                hand.after(roots)
            except Exception as exc:  # noqa: BLE001
                hand.w.note_failure("backward wrapper", exc)
            return out

        return backward

    def wrap_grad(self, orig: Any) -> Any:
        """``torch.autograd.grad`` counted: its gradients go to the program, not to ``.grad``, so its steps are not followed."""
        hand = self

        @functools.wraps(orig)
        def grad(*args: Any, **kwargs: Any) -> Any:
            if hand.active() and torch_grad_enabled(hand.w.torch) and not kwargs.get("create_graph"):
                hand.grad_calls += 1
            return orig(*args, **kwargs)

        return grad

    def note_unstepped(self) -> None:
        """A backward pass while an optimizer of the program's exists and has never stepped (counted; its line once)."""
        self.unstepped += 1
        if self.unstepped_site is None:
            try:
                self.unstepped_site = self.w.sites.site()
            except Exception as exc:  # noqa: BLE001
                self.w.note_failure("backward wrapper", exc)

    def active(self) -> bool:
        """Watching, not inside our own work or a compiled graph, and no optimizer of the program's exists."""
        w = self.w
        if not w.installed or w.busy or (w.opts and (len(w.opts) > 1 or id(self.opt) not in w.opts)):
            return False
        return not w.compiling()

    # -- around each backward pass ----------------------------------------------------
    def before(self, roots: list[Any]) -> None:
        """Start of a backward pass: the update since the previous one ends (post-step), or is recognised."""
        if self.on:
            if self.pending and self._stepped():
                self.pending = False
                self.w.step_ends(self.opt)  # may raise StopObserving (--max-updates), as optimizer.step() would
            elif self.pending and _none_followed(leaves := self._leaves(roots), self.opt):
                # a backward pass that reaches none of the tensors followed: the program moved on to another model (a
                # sanity check's throwaway model, then the real one) and the step begun on the old one never came;
                # unchanged old tensors would otherwise hold every later step pending (unseen) to the end
                self.pending = False
                # the step begun at the previous backward pass (counted) was the new tensors' first update: their
                # first backward pass came before it, the old tensors were still the ones followed
                self.moved_on = self.w.steps - 1
                self.walked = {id(t): weakref.ref(t) for t in leaves}
                self._set_params(leaves)
                self.w.sample_now = True  # the new tensors' first update is measured (where their training starts)
            return
        if not self.probed:
            return
        changed, kept = self._changed(roots)
        if changed:
            self.on = True
            # Changed values under unchanged counters: the program writes through .data; its steps are told by entries.
            self.data_writes = not any(getattr(t, VERSION) != self.probed[id(t)][1] or t.data_ptr() != self.probed[id(t)][2]
                                       for t in kept)
            self.first_site = self.w.sites.site()
            self.walked = {id(t): weakref.ref(t) for t in kept}
            self._set_params(kept)
        self.probed.clear()

    def after(self, roots: list[Any]) -> None:
        """End of a backward pass: fresh gradients, weights not yet updated: the pre-step of the program's update."""
        self.backwards += 1
        if not self.on:
            if self.backwards <= UNDECIDED_LIMIT:
                self._probe(roots)
            return
        if self.pending:
            return  # nothing changed since the last backward pass: gradients accumulated over several (one update)
        if self.w.sample_now:
            self._set_params(self._persisting(self._leaves(roots)))
        self._loss_value(roots)
        params = self.opt.param_groups[0]["params"]
        with self.w.torch.no_grad():
            self.at_step = [(getattr(t, VERSION), t.data_ptr(), self._probe_entries(t) if self.data_writes else None)
                            for t in params]
        self.w.step_begins(self.opt)
        self.w.stepping = False  # the program's next forward pass computes the loss of the next step
        self.pending = True

    def _stepped(self) -> bool:
        """Some tensor of the network changed since the pre-step (else the program accumulates gradients: no step yet)."""
        torch = self.w.torch
        params = self.opt.param_groups[0]["params"]
        if len(params) != len(self.at_step):
            return True
        with torch.no_grad():
            for t, (version, ptr, entries) in zip(params, self.at_step):
                if getattr(t, VERSION) != version or t.data_ptr() != ptr:
                    return True
                if entries is not None and not bool(torch.equal(self._probe_entries(t), entries)):
                    return True
        return False

    def finish(self) -> None:
        """The program ended: its last update (after the last backward pass) is a step too."""
        if self.on and self.pending and self.w.installed and self._stepped():
            self.pending = False
            try:
                self.w.step_ends(self.opt)
            except Exception as exc:  # noqa: BLE001 - StopObserving at the very end changes nothing
                if type(exc).__name__ != "StopObserving":
                    self.w.note_failure("last hand-written update", exc)

    # -- the leaves -------------------------------------------------------------------
    def _leaves(self, roots: list[Any]) -> list[Any]:
        """The leaf tensors with ``requires_grad`` that a backward pass from ``roots`` reaches (the graph is only read)."""
        out: list[Any] = []
        seen: set[int] = set()
        for r in roots:
            for t in autograd_leaves(r.grad_fn) if r.grad_fn is not None else ([r] if r.requires_grad else []):
                if id(t) not in seen and t.requires_grad:
                    seen.add(id(t))
                    out.append(t)
        return out

    def _probe_entries(self, t: Any) -> Any:
        flat = t.detach().reshape(-1)
        n = flat.numel()
        if n <= PROBE:
            return flat.clone()
        idx = self.w.torch.linspace(0, n - 1, PROBE, device=flat.device).long()
        return flat.index_select(0, idx)

    def _probe(self, roots: list[Any]) -> None:
        with self.w.torch.no_grad():
            self.probed = {id(t): (weakref.ref(t), getattr(t, VERSION), t.data_ptr(), self._probe_entries(t)) for t in self._leaves(roots)}

    def _changed(self, roots: list[Any]) -> tuple[bool, list[Any]]:
        """(some leaf reached by both backward passes changed in between, those leaves)."""
        torch = self.w.torch
        kept, changed = [], False
        with torch.no_grad():
            for t in self._leaves(roots):
                rec = self.probed.get(id(t))
                if rec is None or rec[0]() is not t:
                    continue  # a tensor made anew for this pass (an input with requires_grad): not the network
                kept.append(t)
                if not changed:
                    changed = (getattr(t, VERSION) != rec[1] or t.data_ptr() != rec[2]
                               or not bool(torch.equal(self._probe_entries(t), rec[3])))
        return changed, kept

    def _persisting(self, leaves: list[Any]) -> list[Any]:
        """Of a sampled backward pass's ``leaves``, those the previous sampled pass reached too (the network, not a
        tensor made anew for each batch); all of them when none persists (a new model replaced the one trained before:
        a sanity check's, or an earlier attempt's)."""
        kept = [t for t in leaves if (ref := self.walked.get(id(t))) is not None and ref() is t]
        self.walked = {id(t): weakref.ref(t) for t in leaves}
        return kept or leaves

    def _set_params(self, leaves: list[Any]) -> None:
        """The stand-in optimizer's tensors: ``leaves``, named as the user's frame names them when new."""
        group = self.opt.param_groups[0]
        fresh = {id(t) for t in leaves} - {id(p) for p in group["params"]}
        group["params"] = list(leaves)
        if fresh:
            book = self.w.models.book
            want = fresh - set(book.loose)
            if want:
                book.loose.update(tensor_names(self.w.sites.user_frame(sys._getframe(1)), self.w.torch, want))
            self.w.models.version += 1

    # -- the loss a hand-written loss function gave -----------------------------------------
    def _loss_value(self, roots: list[Any]) -> None:
        """The scalar the backward pass started from, as the step's loss, when no wrapped loss function gave one."""
        if len(roots) != 1 or roots[0].numel() != 1:
            return
        losses = self.w.losses
        step = self.w.loss_step()
        if losses.curve.current_step == step or losses.nonfinite is not None:
            return
        v = float(roots[0].detach().float().item())
        if math.isfinite(v):
            losses.curve.add(step, v)
            if self.w.sample_now:
                losses.loss_values.append((step, v))
            return
        pnames, _ = self.w.models.names()
        torch = self.w.torch
        bad = [pnames.get(id(p), f"a tensor of shape {tuple(p.shape)}") for p in self.opt.param_groups[0]["params"]
               if not bool(torch.isfinite(p.detach()).all())]
        losses.nonfinite = {"step": step, "loss_fn": "the loss", "loss": v, "site": self.w.sites.site(), "module": None,
                            "last_finite_loss": next((x for _, x in reversed(losses.loss_values) if math.isfinite(x)), None),
                            "nonfinite_params_all": bad}

    # -- the step's learning rate and direction ---------------------------------------------
    def _products(self, pairs: list[tuple[Any, Any]]) -> tuple[float, float, float] | None:
        """(<dW, g>, <g, g>, <dW, dW>) over (update, gradient) sample pairs; None when empty, zero or not finite."""
        torch = self.w.torch
        if not pairs:
            return None
        d = torch.cat([a.reshape(-1).double() for a, _ in pairs])
        g = torch.cat([b.reshape(-1).double() for _, b in pairs])
        dg, gg, dd = (float(v) for v in torch.stack([torch.dot(d, g), torch.dot(g, g), torch.dot(d, d)]).tolist())
        if not (gg > 0 and dd > 0 and math.isfinite(dg) and math.isfinite(gg) and math.isfinite(dd)):
            return None
        return dg, gg, dd

    def read_lr(self, pairs: list[tuple[Any, Any]]) -> float | None:
        """``-<dW, g> / <g, g>`` over (update, gradient) sample pairs when the update is ``-lr * g`` (else None).

        Also notes the step's direction (:attr:`directions`): the cosine of the update with ``+g``, and ``<dW, g> /
        <g, g>``, the factor of the gradient the update added (negative for a descent step)."""
        products = self._products(pairs)
        if products is None:
            return None
        dg, gg, dd = products
        cosine = dg / math.sqrt(gg * dd)
        self.directions.append((self.w.steps, cosine, dg / gg))
        if -cosine < SGD_COSINE:
            return None
        return float(f"{-dg / gg:.4g}")  # read off float32 arithmetic: 4 digits are what it tells (0.5, not 0.5000000007)


def torch_grad_enabled(torch: Any) -> bool:
    return bool(torch.is_grad_enabled())


def _none_followed(leaves: list[Any], opt: HandSteps) -> bool:
    """Whether ``leaves`` (those a backward pass reaches) are some and none of them a tensor ``opt``'s steps follow."""
    followed = {id(t) for t in opt.param_groups[0]["params"]}
    return bool(leaves) and not any(id(t) in followed for t in leaves)
