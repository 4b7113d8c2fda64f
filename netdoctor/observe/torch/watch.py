"""What the torch observer records while the user's PyTorch program trains.

:class:`TorchWatch` installs PyTorch's own global hooks, keeps the step
bookkeeping (which steps are sampled, the time budget, ``--max-updates``)
and hands each hook to the part that records it; every part records plain
numbers into typed records (:mod:`netdoctor.observe.torch.records`) and
:mod:`netdoctor.observe.torch.rules` turns them into findings. The parts:

* :class:`~netdoctor.observe.torch.forward.ForwardRecorder`: the global module
  forward hook (every ``nn.Module`` call): discovery, calls with and without
  gradients, the outputs of the current forward pass, activation statistics
  on sampled steps, evaluation in train mode, the batch-leak probe;
* :class:`~netdoctor.observe.torch.registry.ModelRegistry`: which modules are
  models, their names, which model is judged (a sanity-check model is not);
* :class:`~netdoctor.observe.torch.sampling.ParameterSampler`: the global
  optimizer step pre/post hooks on sampled steps: gradient and weight norms,
  a fixed sample of at most :data:`SAMPLE` entries per parameter before and
  after the step (update/weight ratios, parameters that never change, the
  drift from the start), and one-shot hooks on the parameters for the next
  backward pass (``.grad`` at that moment is what earlier steps left in it);
* :class:`~netdoctor.observe.torch.losses.LossWatch`: wrappers of
  ``torch.nn.functional.cross_entropy``, ``nll_loss``,
  ``binary_cross_entropy(_with_logits)`` and ``mse_loss`` (the loss modules
  call these): what reaches the loss, its finiteness on every call, the
  gradient scale at its input;
* :class:`~netdoctor.observe.torch.counts.StepCounts`: every training step's
  predictions against its labels (light counters);
* :class:`~netdoctor.observe.torch.windows.StatisticsWindows`: the sampled
  steps' statistics, window by window;
* :class:`~netdoctor.observe.torch.wrappers.ProgramCalls`: ``nn.Module.train``,
  ``Optimizer.__init__`` and ``LRScheduler.step`` wrapped to remember the
  user's line of each call.

A full module backward hook (``register_module_full_backward_hook``) is not
used: it wraps module outputs in a custom autograd Function, and an in-place
op on such an output (``nn.ReLU(inplace=True)`` after a ``Linear``) then
raises; the program would not behave as without us.

Cost: the per-step work is a few dictionary look-ups per module call and one
finiteness check of the loss; statistics are computed on sampled steps only
(the first :data:`DENSE_STEPS`, then every :data:`EVERY`-th step, less often from
:data:`GROW_AFTER` on) and kept as
tensors until a window of :data:`WINDOW` sampled steps closes, so host syncs
are rare. Everything of ours that could draw random numbers runs inside
``torch.random.fork_rng`` (the batch-leak probe), and nothing the program
computes is changed: hooks return None.
"""

from __future__ import annotations

import functools
import math
import time
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any

from netdoctor.observe.torch import tree
from netdoctor.observe.torch.calls import DROPOUTS, CallAs, FunctionalDropout
from netdoctor.observe.torch.counts import StepCounts
from netdoctor.observe.torch.first_seen import FirstSeenRows
from netdoctor.observe.torch.forward import ForwardRecorder
from netdoctor.observe.torch.hand import HAND_KIND, HandSteps, HandUpdates
from netdoctor.observe.torch.losses import LOSSES, LossWatch
from netdoctor.observe.torch.records import OptInfo, ParamInfo
from netdoctor.observe.torch.registry import ModelRegistry
from netdoctor.observe.torch.sampling import SAMPLE, ParameterSampler, opt_params
from netdoctor.observe.torch.sites import UserSites
from netdoctor.observe.torch.windows import WINDOW, StatisticsWindows
from netdoctor.observe.torch.wrappers import ProgramCalls

__all__ = ["TorchWatch", "dynamo_skips_netdoctor", "SAMPLE", "WINDOW", "DENSE_STEPS", "EVERY", "GROW_AFTER", "BUDGET"]

DENSE_STEPS = 6
"""The first optimizer steps are all sampled (first updates, stale gradients, early non-finite values)."""
EVERY = 16
"""After the dense start, every EVERY-th step is sampled (a fixed schedule: the same run gives the same report)."""
GROW_AFTER = 1024
"""From this optimizer step on, the interval doubles each time the step count quadruples (every 32nd step from 1,024,
every 64th from 4,096, ...): a sampled step costs a few ms (full norms of every parameter and gradient), so a long run's
sampled steps grow like the square root of its steps, not in proportion (a fixed schedule still)."""
BUDGET = 0.03
"""With ``every=None``: share of the training time the sampled measurements may take (the interval adapts to it)."""
MIN_EVERY = 5
"""With ``every=None``: sample at most every MIN_EVERY-th step after the dense start."""

_ADAPTIVE = ("Adam", "AdamW", "Adamax", "NAdam", "RAdam", "Adagrad", "Adadelta", "RMSprop", "SparseAdam", "Adafactor", "LBFGS")
ADAPTIVE_OPTIMIZERS = _ADAPTIVE
"""Optimizers whose steps do not scale with the gradient (Adam-like), by class name: public for the rules' evidence."""


def _global_hooks_but(module_mod: Any, hook_id: Callable[[], int]) -> Callable[[], bool]:
    """``torch.nn.modules.module._has_any_global_hook`` that does not count netdoctor's forward hook (its id now)."""

    def has_any_global_hook() -> bool:
        m = module_mod
        ours = hook_id()
        return bool(m._global_backward_pre_hooks or m._global_backward_hooks or m._global_forward_pre_hooks
                    or any(k != ours for k in m._global_forward_hooks) or m._global_forward_hooks_always_called
                    or any(k != ours and k in m._global_forward_hooks for k in m._global_forward_hooks_with_kwargs))

    return has_any_global_hook


def dynamo_skips_netdoctor() -> str:
    """Put netdoctor's files on Dynamo's skip list; "" when done, else a note saying why not.

    Every frame of netdoctor's must run as plain Python, never traced by Dynamo: the NumPy tracer's handlers are
    called from inside compiled frames, and Dynamo compiling them failed on our objects' guards (an
    InternalTorchDynamoError logged on the program's stderr). PyTorch has no public API for a skip list:
    ``torch._dynamo.trace_rules.add`` is private (present from 2.2 to at least 2.13) and may move, so a torch
    without it degrades to a note in the report, never an error in the program.
    """
    try:
        from torch._dynamo import trace_rules
    except Exception as exc:  # noqa: BLE001 - a private module of PyTorch's: any failure to import it is only a note
        return f"PyTorch: netdoctor could not put its own frames on Dynamo's skip list (torch._dynamo.trace_rules: {type(exc).__name__}: {exc})"
    add = getattr(trace_rules, "add", None)
    if not callable(add):
        return ("PyTorch: this torch has no torch._dynamo.trace_rules.add, so netdoctor's own frames are not on Dynamo's "
                "skip list: Dynamo may trace them while it compiles the program's model")
    try:
        add("netdoctor")
    except Exception as exc:  # noqa: BLE001 - a private API of PyTorch's that may change its contract
        return f"PyTorch: netdoctor could not put its own frames on Dynamo's skip list ({type(exc).__name__}: {exc})"
    return ""


class TorchWatch:
    """The hooks, the step bookkeeping and the parts that record (see the module docstring).

    Long because the step bookkeeping every part reads (which step runs, whether it is sampled, inside ``step()`` or
    not) lives beside the hooks that advance it, and the constructor declares the parts and their shared records.

    Args:
        sites: which files are the user's (for ``file:line``).
        every: sampling interval after the dense start (None: adapt to :data:`BUDGET`, which
            makes the sampled steps, and so the report, depend on the machine's speed).
    """

    def __init__(self, sites: UserSites, *, every: int | None = EVERY, max_steps: int | None = None,
                 max_seconds: float | None = None) -> None:
        """Every piece of state the watch keeps between the program's calls, one line each.

        Long because it is a list of declarations: splitting it would scatter where each attribute is introduced.
        """
        import torch

        self.torch = torch
        self.sites = sites
        self.max_steps = max_steps
        self.max_seconds = max_seconds
        self.stopped_because = ""
        self._t_install = time.perf_counter()
        self.fixed_every = every
        self.every = every or MIN_EVERY
        self.busy = False
        self.installed = False
        self._handles: list[Any] = []
        self._patched: list[tuple[Any, str, Any]] = []
        self.errors: list[str] = []
        self.notes: list[str] = []
        """What the report should say about how the observation went (not an error of ours)."""
        # discovered objects
        self.params: dict[int, ParamInfo] = {}
        self.opts: dict[int, OptInfo] = {}
        self.models = ModelRegistry(torch, sites, self.params, self.opts)
        """The program's modules, their names, and which model is judged (see :mod:`netdoctor.observe.torch.registry`)."""
        self.calls = ProgramCalls(self)
        """Where the program calls train()/eval(), creates optimizers, steps schedulers (see :mod:`netdoctor.observe.torch.wrappers`)."""
        # step bookkeeping
        self.steps = 0
        self.stepping = False
        """Between an optimizer step's pre- and post-hook (a closure's loss is computed inside step())."""
        self._models_version = 0
        """The model registry's version when the running step began (a model met inside the step changes it)."""
        self.closure_losses = 0
        """Losses computed inside the running step() so far."""
        self.sample_now = True
        self.sampled_at: list[int] = []
        """The steps measured in depth (a few dozen: the bounded schedule), to count those of the judged model."""
        self.cost = 0.0
        self._t_last_step: float | None = None
        self.train_time = 0.0
        self._step_times: deque = deque(maxlen=16)
        self.iter_cost = 0.0
        # windows of statistics (tensors until closed)
        self.stats = StatisticsWindows(self)
        """Sampled steps' statistics, window by window (see :mod:`netdoctor.observe.torch.windows`)."""
        # loss-side records
        self.losses = LossWatch(self)
        """What reaches the losses (see :mod:`netdoctor.observe.torch.losses`)."""
        self.counts = StepCounts(torch)
        """Every training step's predictions against its labels (see :mod:`netdoctor.observe.torch.counts`)."""
        self.first_seen = FirstSeenRows(torch)
        """Training rows split by whether the network was trained on them before (see :mod:`netdoctor.observe.torch.first_seen`)."""
        self.sampler = ParameterSampler(self)
        """What sampled steps do to the parameters (see :mod:`netdoctor.observe.torch.sampling`)."""
        # modes
        self.eval_roots: dict[int, int] = {}
        """Model (id) -> optimizer steps it trained in eval mode (its layers depending on the mode)."""
        self.mode_reads: dict[int, int] = {}
        """Model (id) -> optimizer steps at which its mode was read."""
        # calls on the program's behalf, functional dropout, step() before backward()
        self.call_as = CallAs()
        self.dropout = FunctionalDropout(self.sites.site, self.models.root_of, lambda: not self.busy and self.installed and not self.compiling())
        self.forward_listeners: list[Callable[[Any, tuple, dict, Any], None]] = []
        """Called as ``fn(module, args, kwargs, output)`` for every module call of a sampled step with gradients on
        (other recorders, e.g. a check of custom autograd Functions against finite differences, plug in here; ``busy``
        is not set for them: one that runs the model itself sets it, as the batch-leak probe does)."""
        self.forward = ForwardRecorder(self)
        """The forward hook and its records (see :mod:`netdoctor.observe.torch.forward`)."""
        self.dropout.nograd_seen = self.forward.pend_nograd
        self._forward_handle: Any = None
        self.compile_seen = False
        """The program called torch.compile (the forward hook is then one Dynamo never traces)."""
        self.hand = HandUpdates(self)
        """A program's own updates of its tensors between backward passes (see :mod:`netdoctor.observe.torch.hand`)."""
        self.training_listeners: list[Callable[[str], None]] = []
        """Called once, as ``fn(what)``, after the program's first optimizer step: its training is recognised as
        PyTorch's (the session tells the NumPy observer, which then stands down)."""

    # -- install / uninstall --------------------------------------------------
    def install(self) -> None:
        """Register the global hooks and wrap the loss functions (restored by :meth:`uninstall`)."""
        torch = self.torch
        import torch.nn.functional as F
        from torch.nn.modules import module as module_mod
        from torch.optim import optimizer as optim_mod

        self._forward_handle = module_mod.register_module_forward_hook(self.forward.hook, with_kwargs=True)
        # torch.compile(module) warns about global module hooks at every call: ours is not the program's.
        self._patch(module_mod, "_has_any_global_hook", _global_hooks_but(module_mod, lambda: self._forward_handle.id))
        self._patch(torch, "compile", self._wrap_compile(torch.compile))
        self._handles.append(optim_mod.register_optimizer_step_pre_hook(self._pre_step))
        self._handles.append(optim_mod.register_optimizer_step_post_hook(self._post_step))
        for name in LOSSES:
            self._patch(F, name, self.losses.wrap(name, getattr(F, name)))
        for name in DROPOUTS:
            if name in F.__dict__:
                self._patch(F, name, self.dropout.wrap(name, getattr(F, name), torch))
        self._patch(torch.nn.Module, "train", self.calls.train(torch.nn.Module.train))
        self._patch(torch.nn.Module, "__init__", self.models.book.wrap_init(torch.nn.Module.__init__, torch, lambda: not self.busy and not self.compiling()))
        from torch.optim import lr_scheduler

        if "step" in vars(lr_scheduler.LRScheduler):
            self._patch(lr_scheduler.LRScheduler, "step", self.calls.scheduler_step(lr_scheduler.LRScheduler.step))
        self._patch(optim_mod.Optimizer, "__init__", self.calls.optimizer_init(optim_mod.Optimizer.__init__))
        self._patch(torch.autograd, "backward", self.hand.wrap_backward(torch.autograd.backward))
        self._patch(torch.autograd, "grad", self.hand.wrap_grad(torch.autograd.grad))
        self._t_last_step = None
        self._t_install = time.perf_counter()
        self.installed = True

    def uninstall(self) -> None:
        """Remove every hook and restore every wrapped function, in reverse order."""
        self.hand.finish()
        self._forward_handle.remove()
        from torch.nn.modules import module as module_mod

        module_mod._global_forward_hooks_with_kwargs.pop(self._forward_handle.id, None)  # remove() leaves it behind
        for h in self._handles:
            h.remove()
        self._handles.clear()
        self.sampler.remove_hooks()
        for owner, name, orig in reversed(self._patched):
            setattr(owner, name, orig)
        self._patched.clear()
        self.forward.end_step()
        self.installed = False
        self.errors.extend(self.dropout.errors[: max(0, 10 - len(self.errors))])
        self.close_window(final=True)

    def _wrap_compile(self, orig: Callable) -> Callable:
        """``torch.compile`` that first makes the forward hook one Dynamo never traces (``model.compile()`` calls it too).

        Only then: ``torch.compiler.disable`` costs ~0.1 ms per call, too much for every module call of every program.
        """
        watch = self

        @functools.wraps(orig)
        def compile(*args: Any, **kwargs: Any) -> Any:
            if watch.installed and not watch.compile_seen:
                watch.compile_seen = True
                try:
                    from torch.nn.modules import module as module_mod

                    watch._forward_handle.remove()
                    module_mod._global_forward_hooks_with_kwargs.pop(watch._forward_handle.id, None)  # remove() leaves it
                    hook = watch.torch.compiler.disable(watch.forward.hook, recursive=True)
                    watch._forward_handle = module_mod.register_module_forward_hook(hook, with_kwargs=True)
                except Exception as exc:  # noqa: BLE001
                    watch._fail("torch.compile wrapper", exc)
                missing = dynamo_skips_netdoctor()
                if missing:
                    watch.notes.append(missing)
            return orig(*args, **kwargs)

        return compile

    @property
    def sampled_steps(self) -> int:
        """The steps measured in depth so far."""
        return len(self.sampled_at)

    def names(self) -> tuple[dict[int, str], dict[int, str]]:
        """(id(param) -> name, id(module) -> name), as :meth:`ModelRegistry.names` (for ``forward_listeners``)."""
        return self.models.names()

    def compiling(self) -> bool:
        """torch.compile is tracing (constant-folded by Dynamo, so code behind it is not traced)."""
        return bool(self.torch.compiler.is_compiling())

    def _patch(self, owner: Any, name: str, new: Any) -> None:
        self._patched.append((owner, name, owner.__dict__[name]))
        setattr(owner, name, new)

    def note_failure(self, where: str, exc: BaseException) -> None:
        """Note an error of netdoctor's own (a rule that failed): reported, never raised into the program."""
        self._fail(where, exc)

    def _fail(self, where: str, exc: BaseException) -> None:
        # Our bug must never become the user's: note it and keep the program running.
        if len(self.errors) < 10:
            self.errors.append(f"{where}: {type(exc).__name__}: {exc}")

    # -- optimizer --------------------------------------------------------------
    def _pre_step(self, opt: Any, args: tuple, kwargs: dict) -> None:
        if self.busy:
            return None
        try:
            now = time.perf_counter()
            if self._t_last_step is not None:
                # Whole periods, step() included: L-BFGS runs its forward and backward passes inside step().
                dt = now - self._t_last_step
                self.train_time += dt
                self._step_times.append(dt)
            self._t_last_step = now
            self.steps += 1
            self.stepping, self.closure_losses = True, 0
            self._models_version = self.models.version
            oi = self.opts.get(id(opt))
            if oi is None or oi.ref() is not opt:
                kind = HAND_KIND if isinstance(opt, HandSteps) else type(opt).__name__
                oi = self.opts[id(opt)] = OptInfo(weakref.ref(opt), kind, self.calls.created_opts.get(id(opt)), self.sites.site())
            if oi.step_site is None:
                oi.step_site = self.sites.site()
            oi.steps += 1
            if any(callable(a) for a in args) or callable(kwargs.get("closure")):  # args: (optimizer, closure) for opt.step(closure)
                oi.closure_steps += 1
            if oi.steps == 1:
                oi.first_step = self.steps
                oi.roots = self.models.roots_holding({id(p) for p in opt_params(opt)})
                if any(id(p) not in self.params for p in opt_params(opt)):
                    self.first_seen.new_tensors_trained()
                self.sample_now = True  # a new optimizer's first updates are measured, whenever it starts
            if self.forward.nograd_pending:
                self.forward.settle(oi.roots)
            for rid in oi.roots:
                info = self.models.mods.get(rid)
                if info is not None:
                    # A model first met inside a step (an L-BFGS closure runs its forward there) has been trained since
                    # the optimizer's first step: the optimizer held its parameters from then on.
                    # A hand-written update is one stand-in for every model the program steps by hand: a model's
                    # training starts at the first update that reaches it, not at the stand-in's first.
                    info.first_step = info.first_step or (self.steps if isinstance(opt, HandSteps) else oi.first_step) or self.steps
                    info.last_step = self.steps
                    info.steps += 1
                    if info.norm_layers or rid in self.dropout.mode_roots:
                        self._count_mode(rid, info)
            if self.sample_now:
                t0 = time.perf_counter()
                self._sample_pre(opt, oi)
                self.iter_cost += time.perf_counter() - t0
        except Exception as exc:  # noqa: BLE001
            self._fail("optimizer pre-step hook", exc)
        return None

    def step_begins(self, opt: Any) -> None:
        """A step of ``opt`` begins (what the optimizer's pre-step hook records; a hand-written update's stand-in calls it)."""
        self._pre_step(opt, (), {})

    def step_ends(self, opt: Any) -> None:
        """A step of ``opt`` has ended (the post-step hook's records); may raise StopObserving at ``--max-updates``."""
        self._post_step(opt, (), {})

    def first_loss_of_step(self) -> bool:
        """Whether a loss computed now is the first one computed inside the running ``step()`` (or outside any): a
        closure's later evaluations inside one step re-read the same batch at the weights its iterations reached."""
        if not self.stepping:
            return True
        self.closure_losses += 1
        return self.closure_losses == 1

    def loss_step(self) -> int:
        """The optimizer step a loss computed now is for: the next step, or the running one inside ``step()`` (an
        L-BFGS closure evaluates the loss there, after the pre-step hook)."""
        return self.steps if self.stepping else self.steps + 1

    def _sample_pre(self, opt: Any, oi: OptInfo) -> None:
        """The learning rates, the parameters' side (:class:`ParameterSampler`), the loss's step."""
        oi.lrs.append((self.steps, [g.get("lr") for g in opt.param_groups]))
        if len(oi.lrs) > 64:
            del oi.lrs[1::2]
        self.sampler.before_step(opt, oi)

    def _count_mode(self, rid: int, info: Any) -> None:
        """Train/eval mode of a model this step trains whose layers depend on it (dropout, batch norm, a functional
        dropout passed ``training=self.training``): read at every step, one attribute (the sampled steps alone, dense
        at the start, over-weight the first epoch, before any evaluation switched the model to eval mode)."""
        m = info.ref()
        if m is None:
            return
        self.mode_reads[rid] = self.mode_reads.get(rid, 0) + 1
        if not tree.is_training(m):
            self.eval_roots[rid] = self.eval_roots.get(rid, 0) + 1

    def _post_step(self, opt: Any, args: tuple, kwargs: dict) -> None:
        if self.busy:
            return
        self.stepping = False
        try:
            t0 = time.perf_counter()
            oi = self.opts.get(id(opt))
            if oi is not None and self.models.version != self._models_version and not isinstance(opt, HandSteps):
                self._met_inside(opt, oi)
            if self.sample_now:
                self.counts.close(self.steps)
                self.sampler.after_step(opt)
                if isinstance(opt, HandSteps) and oi is not None and oi.lrs:
                    oi.lrs[-1] = (oi.lrs[-1][0], [self.hand.read_lr(self.sampler.last_updates)])
                self.sampled_at.append(self.steps)
                self.stats.add_step()
                self.cost += self.iter_cost + (time.perf_counter() - t0)
                self._adapt(self.iter_cost + (time.perf_counter() - t0))
            self.iter_cost = 0.0
            self.sampler.backward_since_step = False
            self.sample_now = (self.steps < DENSE_STEPS or (self.steps + 1) % self._interval() == 0
                               or (oi is not None and oi.steps < DENSE_STEPS))  # a later model's first steps too
            self.forward.end_step()
            if self.steps == 1:
                self._recognised(opt)
        except Exception as exc:  # noqa: BLE001
            self._fail("optimizer post-step hook", exc)
        self._limits()

    def _met_inside(self, opt: Any, oi: OptInfo) -> None:
        """Models first met inside this step (an L-BFGS closure runs their forward pass there, after the pre-step hook
        counted the models it knew) whose parameters ``opt`` holds: this step trained them too."""
        new = [r for r in self.models.roots_holding({id(p) for p in opt_params(opt)}) if r not in oi.roots]
        for rid in new:
            info = self.models.mods.get(rid)
            if info is not None:
                info.first_step = info.first_step or self.steps
                info.last_step = self.steps
                info.steps += 1
        oi.roots = [*oi.roots, *new]

    def _interval(self) -> int:
        """Steps between sampled ones for the next step: :attr:`every`, doubled per quadrupling from :data:`GROW_AFTER`
        (a fixed ``every`` only: the adaptive one follows its time budget)."""
        interval, grown = self.every, GROW_AFTER
        while self.fixed_every and self.steps + 1 >= grown:
            interval, grown = 2 * interval, 4 * grown
        return interval

    def _recognised(self, opt: Any) -> None:
        """The first optimizer step has run: tell :attr:`training_listeners` (once)."""
        oi = self.opts.get(id(opt))
        where = f" at {oi.step_site}" if oi is not None and oi.step_site else ""
        what = (f"the first hand-written update of PyTorch tensors (after the backward pass{where})" if isinstance(opt, HandSteps)
                else f"the first PyTorch optimizer step ({type(opt).__name__}.step(){where})")
        for listen in self.training_listeners:
            listen(what)

    def _limits(self) -> None:
        """End the program (``--max-updates`` / ``--max-seconds``) by raising StopObserving out of ``optimizer.step()``."""
        if self.max_steps is not None and self.steps >= self.max_steps:
            self.stopped_because = f"stopped after {self.steps} optimizer steps (--max-updates)"
        elif self.max_seconds is not None and time.perf_counter() - self._t_install > self.max_seconds:
            self.stopped_because = f"stopped after {self.max_seconds:g} s (--max-seconds)"
        else:
            return
        self.close_window(final=True)
        from netdoctor.observe.tracer import StopObserving  # here: an import statement at every step costs a call

        raise StopObserving(self.stopped_because)

    def _adapt(self, cost: float) -> None:
        if self.fixed_every or not self._step_times:
            return
        step = sorted(self._step_times)[len(self._step_times) // 2]
        # k such that one sampled step's cost spread over k steps stays within the budget.
        self.every = max(MIN_EVERY, math.ceil(cost / max(BUDGET * step, 1e-9)))

    # -- windows ------------------------------------------------------------------

    def close_window(self, final: bool = False) -> None:
        """Close the current statistics window (see :class:`~netdoctor.observe.torch.windows.StatisticsWindows`)."""
        self.stats.close(final)
