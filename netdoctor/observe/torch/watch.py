"""What the torch observer records while the user's PyTorch program trains.

:class:`TorchWatch` installs PyTorch's own global hooks and records plain
numbers; :mod:`netdoctor.observe.torch.rules` turns them into findings. Hooks:

* a global module forward hook (every ``nn.Module`` call): discovers models
  (root modules with parameters), names parameters (``fc1.weight``), keeps a
  reference to each output of the current forward pass (to name the first
  non-finite one), records on sampled steps the activation statistics
  (relu never firing, tanh/sigmoid in their flat ends) and on every root call
  its train/eval mode and whether gradients are on;
* global optimizer step pre/post hooks: on sampled steps, gradient and weight
  norms and a fixed sample of at most :data:`SAMPLE` entries per parameter
  before and after the step (update/weight ratios, parameters that never
  change), and then one-shot hooks on the parameters for the next backward
  pass: a leaf tensor's ``register_hook`` sees the fresh gradient *before* it
  is accumulated, and ``.grad`` at that moment is what earlier steps left in it;
* wrappers of ``torch.nn.functional.cross_entropy``, ``nll_loss``,
  ``binary_cross_entropy(_with_logits)`` and ``mse_loss`` (the loss modules
  call these): the values and targets that reach the loss, the loss value
  (every call: its finiteness), and on sampled steps a one-shot hook on the
  loss input that measures the gradient scale against the mean-reduced loss;
* ``nn.Module.train`` and ``Optimizer.__init__`` wrapped to remember the
  user's line of each ``model.eval()`` and of each optimizer's creation.

A full module backward hook (``register_module_full_backward_hook``) is not
used: it wraps module outputs in a custom autograd Function, and an in-place
op on such an output (``nn.ReLU(inplace=True)`` after a ``Linear``) then
raises; the program would not behave as without us.

Cost: the per-step work is a few dictionary look-ups per module call and one
finiteness check of the loss; statistics are computed on sampled steps only
(the first :data:`DENSE_STEPS`, then every :data:`EVERY`-th step) and kept as
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
from dataclasses import dataclass, field
from typing import Any

from netdoctor.observe.torch.calls import DROPOUTS, CallAs, FunctionalDropout
from netdoctor.observe.torch.counts import StepCounts
from netdoctor.observe.torch.losses import LOSSES, LossWatch, bounded_append
from netdoctor.observe.torch.models import ModelBook
from netdoctor.observe.torch.sites import UserSites

__all__ = ["TorchWatch", "SAMPLE", "WINDOW", "DENSE_STEPS", "EVERY", "BUDGET"]

SAMPLE = 4096
"""Entries per parameter kept before/after a sampled step (evenly spaced; all for smaller tensors)."""
WINDOW = 8
"""Sampled steps per statistics window (activations, predictions, targets)."""
DENSE_STEPS = 6
"""The first optimizer steps are all sampled (first updates, stale gradients, early non-finite values)."""
EVERY = 16
"""After the dense start, every EVERY-th step is sampled (a fixed schedule: the same run gives the same report)."""
BUDGET = 0.03
"""With ``every=None``: share of the training time the sampled measurements may take (the interval adapts to it)."""
MIN_EVERY = 5
"""With ``every=None``: sample at most every MIN_EVERY-th step after the dense start."""

# grad_fn class name -> activation kind, for activations computed functionally (F.relu) or by modules.
_ACT_FNS = {
    "ReluBackward0": "relu", "ReluBackward1": "relu", "ThresholdBackward0": "relu", "ThresholdBackward1": "relu",
    "HardtanhBackward0": "relu6", "HardtanhBackward1": "relu6", "TanhBackward0": "tanh", "SigmoidBackward0": "sigmoid",
    "GeluBackward0": "gelu", "SiluBackward0": "silu",
}
_COMPILED = "_orig_mod."
"""The prefix torch.compile's OptimizedModule puts before the names of the model it wraps (left out of ours)."""
_ADAPTIVE = ("Adam", "AdamW", "Adamax", "NAdam", "RAdam", "Adagrad", "Adadelta", "RMSprop", "SparseAdam", "Adafactor", "LBFGS")
ADAPTIVE_OPTIMIZERS = _ADAPTIVE
"""Optimizers whose steps do not scale with the gradient (Adam-like), by class name: public for the rules' evidence."""


@dataclass
class ModInfo:
    """One module the program called."""

    ref: Any
    kind: str
    site: str | None = None
    name: str | None = None
    """Dotted name in its model (kept when the module is gone: the report is made after the program ends)."""
    nparams: int = 0
    parent: bool = False
    """Contained in another module the program called (so not a root)."""
    has_params: bool = False
    calls_grad: int = 0
    calls_nograd: int = 0
    out_cut: int = 0
    """Calls with gradients on and trainable parameters whose output did not require grad (.data / .detach inside)."""
    norm_layers: list[tuple[str, str]] = field(default_factory=list)
    """For roots: dropout and batch-norm submodules as (name, description)."""
    built_at: str | None = None
    """The user's line that built it (``model = MLP()``), when it was built while we watched."""
    seq: int = 1 << 30
    """Construction number (orders models of one class)."""
    first_step: int = 0
    last_step: int = 0
    steps: int = 0
    """Optimizer steps that held some of its parameters (first and last of them)."""
    orphan_steps: int = 0
    """Sampled steps on which its parameters had gradients while no optimizer held any of them."""


@dataclass
class ParamInfo:
    """One parameter of a model the program trains."""

    ref: Any
    idx: Any = None
    name: str | None = None
    shape: tuple = ()
    owner: int | None = None
    """id of the module holding it directly."""
    root: int | None = None
    """id of the model it belongs to (None: a loose tensor given to an optimizer)."""
    order: int = 0
    before: Any = None
    g_sample: Any = None
    sampled: int = 0
    grad_none: int = 0
    in_optimizer: bool = False
    requires_grad: bool = True
    changed: list = field(default_factory=list)
    ratios: list = field(default_factory=list)
    """(step, update/weight ratio tensor) of sampled steps, bounded."""
    norms: list = field(default_factory=list)
    """(step, weight norm, grad norm) of sampled steps, bounded."""
    first: Any = None
    """The sampled entries at its first sampled step (the start the drift is measured from)."""
    drift: list = field(default_factory=list)
    """(step, ||W - W_first|| / ||W_first|| over the sampled entries) of sampled steps, bounded."""
    stale: deque = field(default_factory=lambda: deque(maxlen=32))
    """(weight of the previous step's gradient in .grad before this backward, |before| / |fresh|)."""


@dataclass
class OptInfo:
    """One optimizer the program created or stepped."""

    ref: Any
    kind: str
    created_at: str | None = None
    step_site: str | None = None
    steps: int = 0
    lrs: list = field(default_factory=list)
    roots: list[int] = field(default_factory=list)
    """ids of the models some of whose parameters it holds (found at its first step and on sampled steps)."""
    closure_steps: int = 0
    """Steps called with a closure (L-BFGS: one step runs many forward/backward passes and a line search)."""


def _global_hooks_but(module_mod: Any, hook_id: Callable[[], int]) -> Callable[[], bool]:
    """``torch.nn.modules.module._has_any_global_hook`` that does not count netdoctor's forward hook (its id now)."""

    def has_any_global_hook() -> bool:
        m = module_mod
        ours = hook_id()
        return bool(m._global_backward_pre_hooks or m._global_backward_hooks or m._global_forward_pre_hooks
                    or any(k != ours for k in m._global_forward_hooks) or m._global_forward_hooks_always_called
                    or any(k != ours and k in m._global_forward_hooks for k in m._global_forward_hooks_with_kwargs))

    return has_any_global_hook


class TorchWatch:
    """The hooks and the numbers they record (see the module docstring).

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
        self._oneshot: dict[int, Any] = {}
        self.errors: list[str] = []
        # discovered objects
        self.mods: dict[int, ModInfo] = {}
        self.params: dict[int, ParamInfo] = {}
        self.opts: dict[int, OptInfo] = {}
        self.created_opts: dict[int, str | None] = {}
        self.mode_sites: dict[int, tuple[bool, str | None]] = {}
        self.param_owner: dict[int, int] = {}
        self.book = ModelBook(self.sites.user_frame, lambda f: self.sites.name(f.f_code.co_filename, f.f_lineno))
        self.sched_sites: dict[str, int] = {}
        """User line of each ``scheduler.step()`` -> calls."""
        self.loss_windows: list[dict[str, Any]] = []
        """Every closed statistics window's loss-side numbers (bounded), with its end_step."""
        self._roots_version = 0
        self._names_cache: tuple[int, dict[int, str], dict[int, str]] | None = None
        # step bookkeeping
        self.steps = 0
        self.sample_now = True
        self.sampled_steps = 0
        self.backward_site: str | None = None
        self._backward_since_step = False
        self.cleared_before_step = 0
        self.cleared_checked = 0
        self.cost = 0.0
        self._t_last_step: float | None = None
        self.train_time = 0.0
        self._step_times: deque = deque(maxlen=16)
        self.iter_cost = 0.0
        # forward pass state
        self.outputs: deque = deque(maxlen=512)
        self._act_seen: dict[int, tuple[Any, tuple[int, str]]] = {}
        """id(tensor) -> (weak reference, statistics key): the reference tells a reused id from the same tensor."""
        # windows of statistics (tensors until closed)
        self.act_window: dict[tuple[int, str], dict] = {}
        self.act_first: dict[tuple[int, str], dict] | None = None
        self.act_last: dict[tuple[int, str], dict] | None = None
        self.output_keys: set[tuple[int, str]] = set()
        self.loss_first: dict[str, Any] | None = None
        self.loss_last: dict[str, Any] | None = None
        self.window_steps = 0
        self.windows = 0
        # loss-side records
        self.losses = LossWatch(self)
        """What reaches the losses (see :mod:`netdoctor.observe.torch.losses`)."""
        self.counts = StepCounts(torch)
        """Every training step's predictions against its labels (see :mod:`netdoctor.observe.torch.counts`)."""
        self.grad_nonfinite: dict | None = None
        """The first sampled step whose gradients or weights are non-finite (also while the loss stays finite)."""
        # modes
        self.eval_steps = 0
        self.mode_checked_steps = 0
        self.eval_roots: dict[int, int] = {}
        self.train_eval_sites: dict[str, dict] = {}
        self.leak: dict | None = None
        self.leak_tried = False
        # calls on the program's behalf, functional dropout, step() before backward()
        self.call_as = CallAs()
        self.dropout = FunctionalDropout(self.sites.site, self._root_of, lambda: not self.busy and self.installed and not self.compiling())
        self.forward_listeners: list[Callable[[Any, tuple, dict, Any], None]] = []
        """Called as ``fn(module, args, kwargs, output)`` for every module call of a sampled step with gradients on
        (other recorders, e.g. a check of custom autograd Functions against finite differences, plug in here; ``busy``
        is not set for them: one that runs the model itself sets it, as the batch-leak probe does)."""
        self._forward_handle: Any = None
        self._compile_seen = False
        self.step_before_backward = 0
        """Checked steps whose step() ran before the backward pass of the loss computed for them."""

    # -- install / uninstall --------------------------------------------------
    def install(self) -> None:
        """Register the global hooks and wrap the loss functions (restored by :meth:`uninstall`)."""
        torch = self.torch
        import torch.nn.functional as F
        from torch.nn.modules import module as module_mod
        from torch.optim import optimizer as optim_mod

        self._forward_handle = module_mod.register_module_forward_hook(self._forward_hook, with_kwargs=True)
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
        self._patch(torch.nn.Module, "train", self._wrap_train(torch.nn.Module.train))
        self._patch(torch.nn.Module, "__init__", self.book.wrap_init(torch.nn.Module.__init__, torch, lambda: not self.busy and not self.compiling()))
        from torch.optim import lr_scheduler

        if "step" in vars(lr_scheduler.LRScheduler):
            self._patch(lr_scheduler.LRScheduler, "step", self._wrap_sched_step(lr_scheduler.LRScheduler.step))
        self._patch(optim_mod.Optimizer, "__init__", self._wrap_opt_init(optim_mod.Optimizer.__init__))
        self._t_last_step = None
        self._t_install = time.perf_counter()
        self.installed = True

    def uninstall(self) -> None:
        """Remove every hook and restore every wrapped function, in reverse order."""
        self._forward_handle.remove()
        from torch.nn.modules import module as module_mod

        module_mod._global_forward_hooks_with_kwargs.pop(self._forward_handle.id, None)  # remove() leaves it behind
        for h in self._handles:
            h.remove()
        self._handles.clear()
        for h in list(self._oneshot.values()):
            h.remove()
        self._oneshot.clear()
        for owner, name, orig in reversed(self._patched):
            setattr(owner, name, orig)
        self._patched.clear()
        self.outputs.clear()
        self._act_seen.clear()
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
            if watch.installed and not watch._compile_seen:
                watch._compile_seen = True
                try:
                    from torch.nn.modules import module as module_mod

                    watch._forward_handle.remove()
                    module_mod._global_forward_hooks_with_kwargs.pop(watch._forward_handle.id, None)  # remove() leaves it
                    hook = watch.torch.compiler.disable(watch._forward_hook, recursive=True)
                    watch._forward_handle = module_mod.register_module_forward_hook(hook, with_kwargs=True)
                except Exception as exc:  # noqa: BLE001
                    watch._fail("torch.compile wrapper", exc)
                try:
                    # Every frame of netdoctor's runs as Python, never traced by Dynamo: the NumPy tracer's handlers
                    # are called from inside compiled frames, and Dynamo compiling them failed on our objects'
                    # guards (an InternalTorchDynamoError logged on the program's stderr).
                    from torch._dynamo import trace_rules

                    trace_rules.add("netdoctor")
                except Exception as exc:  # noqa: BLE001 - a private API of PyTorch's that may move
                    watch._fail("torch.compile wrapper (Dynamo skip list)", exc)
            return orig(*args, **kwargs)

        return compile

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

    # -- the loss side's records, as the rules read them ---------------------------------
    @property
    def loss_calls(self) -> dict[tuple[str, str | None], dict]:
        return self.losses.loss_calls

    @property
    def loss_values(self) -> list[tuple[int, float]]:
        return self.losses.loss_values

    @property
    def target_counts(self) -> Any:
        return self.losses.target_counts

    @property
    def target_rows(self) -> int:
        return self.losses.target_rows

    @property
    def grad_scale(self) -> list[tuple[str, float, int]]:
        return self.losses.grad_scale

    @property
    def shape_mismatch(self) -> list[dict]:
        return self.losses.shape_mismatch

    @property
    def nonfinite(self) -> dict | None:
        return self.losses.nonfinite

    # -- names ----------------------------------------------------------------
    def roots(self) -> list[tuple[ModInfo, Any]]:
        """Models: modules the program called that are not inside another one and hold parameters."""
        out = []
        for info in self.mods.values():
            m = info.ref()
            if m is not None and not info.parent and info.has_params:
                out.append((info, m))
        return out

    def names(self) -> tuple[dict[int, str], dict[int, str]]:
        """(id(param) -> "fc1.weight", id(module) -> "fc1"), prefixed with the class name when there are several models."""
        if self._names_cache and self._names_cache[0] == self._roots_version:
            return self._names_cache[1], self._names_cache[2]
        pnames: dict[int, str] = {}
        mnames: dict[int, str] = {}
        roots = self.roots()
        for info, m in roots:
            prefix = f"{self.label(info).replace(' ', '')}." if len(roots) > 1 else ""
            for n, p in m.named_parameters():
                pnames.setdefault(id(p), prefix + n.removeprefix(_COMPILED))
            for n, sub in m.named_modules():
                mnames.setdefault(id(sub), (prefix + n.removeprefix(_COMPILED)) if n and n != _COMPILED[:-1] else self.label(info))
        # Tensors an optimizer trains outside any model: the program's own names for them.
        for o in self.opts.values():
            opt = o.ref()
            if opt is None:
                continue
            for g, group in enumerate(opt.param_groups):
                for k, p in enumerate(group["params"]):
                    if id(p) not in pnames:
                        pnames[id(p)] = self.book.loose.get(id(p)) or f"param_groups[{g}][{k}]"
        for k, (pid, n) in enumerate(pnames.items()):
            pi = self.params.get(pid)
            if pi is not None:
                pi.name, pi.order = n, k
        for mid, n in mnames.items():
            mi = self.mods.get(mid)
            if mi is not None:
                mi.name = n
        self._names_cache = (self._roots_version, pnames, mnames)
        return pnames, mnames

    def label(self, info: ModInfo) -> str:
        """``MLP``, or ``MLP #2`` when the program called several models of that class (numbered in construction order)."""
        same = sorted((i.seq, k) for k, i in self.mods.items() if i.kind == info.kind and i.has_params and not i.parent)
        if len(same) < 2:
            return info.kind
        mine = next((n for n, (_, k) in enumerate(same, 1) if self.mods[k] is info), 0)
        return f"{info.kind} #{mine}"

    def describe(self, info: ModInfo) -> str:
        """``MLP #2, built at train.py:40`` (or ``called at`` when it was built before we watched)."""
        where = f"built at {info.built_at}" if info.built_at else f"called at {info.site}" if info.site else ""
        return self.label(info) + (f", {where}" if where else "")

    def judged_roots(self) -> set[int]:
        """Models whose numbers the rules judge: trained ones (minus those dropped for a later model) and untrained ones that got gradients."""
        models = {k: i for k, i in self.mods.items() if i.has_params and not i.parent}
        trained = {k: i for k, i in models.items() if i.steps}
        out = {k for k, i in models.items() if i.orphan_steps and not i.steps}
        for k, i in trained.items():
            if not any(j.first_step > i.last_step for j in trained.values() if j is not i):
                out.add(k)
        return out

    def discarded(self) -> list[ModInfo]:
        """Models trained for a while and then replaced by a model trained after them (a sanity check, an earlier attempt)."""
        judged = self.judged_roots()
        return [i for k, i in self.mods.items() if i.steps and k not in judged]

    def start_step(self) -> int:
        """The first optimizer step of the models that are judged (earlier steps trained a model that was dropped)."""
        judged = self.judged_roots()
        firsts = [self.mods[k].first_step for k in judged if self.mods[k].steps]
        return min(firsts) if firsts and self.discarded() else 0

    def module_name(self, key: int) -> str:
        info = self.mods.get(key)
        return self.names()[1].get(key) or (info.kind if info else "?")

    # -- discovery ------------------------------------------------------------
    def _discover(self, module: Any) -> ModInfo:
        torch = self.torch
        kind = type(module).__name__
        if kind == "OptimizedModule" and hasattr(module, "_orig_mod"):
            kind = f"{type(module._orig_mod).__name__} (torch.compile)"
        info = ModInfo(weakref.ref(module), kind, site=self.sites.site())
        built = self.book.of(module)
        if built is not None:
            info.built_at, info.seq = built.site, built.seq
        info.has_params = any(True for _ in module.parameters())
        for sub in module.modules():
            if sub is module:
                continue
            child = self.mods.get(id(sub))
            if child is not None and not child.parent:
                child.parent = True
        # A module seen later inside a known root is not a root either.
        for other in self.mods.values():
            m = other.ref()
            if m is not None and not other.parent and any(s is module for s in m.modules()):
                info.parent = True
                break
        self.mods[id(module)] = info
        if not info.parent and info.has_params:
            drop, bn = torch.nn.modules.dropout._DropoutNd, torch.nn.modules.batchnorm._BatchNorm
            for n, sub in module.named_modules():
                if isinstance(sub, drop) and sub.p > 0:
                    info.norm_layers.append((n or info.kind, f"{type(sub).__name__}(p={sub.p:g})"))
                elif isinstance(sub, bn):
                    info.norm_layers.append((n or info.kind, type(sub).__name__))
        for p in module.parameters(recurse=False):
            self.param_owner[id(p)] = id(module)
        info.nparams = sum(p.numel() for p in module.parameters())
        self._roots_version += 1
        return info

    # -- hooks ------------------------------------------------------------------
    def _forward_hook(self, module: Any, args: tuple, kwargs: dict, output: Any) -> None:
        # Inside torch.compile's tracing the hook is a no-op Dynamo folds away: no graph breaks, no warnings of ours.
        if self.busy or self.compiling():
            return
        try:
            info = self.mods.get(id(module))
            if info is None or info.ref() is not module:
                info = self._discover(module)
            torch = self.torch
            grad_on = torch.is_grad_enabled()
            if info.has_params:
                if grad_on:
                    info.calls_grad += 1
                    if (isinstance(output, torch.Tensor) and not output.requires_grad
                            and any(p.requires_grad for p in module.parameters(recurse=False))):
                        info.out_cut += 1
                else:
                    info.calls_nograd += 1
            if isinstance(output, torch.Tensor):
                self.outputs.append((module, output))
            if not info.parent and info.has_params:
                self._root_call(info, module, args, kwargs, output, grad_on)
            if self.sample_now and grad_on:
                t0 = time.perf_counter()
                self._activations(module, args, output)
                for listen in self.forward_listeners:
                    listen(module, args, kwargs, output)
                self.iter_cost += time.perf_counter() - t0
        except Exception as exc:  # noqa: BLE001 - never break the user's forward pass
            self._fail("forward hook", exc)

    def _root_call(self, info: ModInfo, module: Any, args: tuple, kwargs: dict, output: Any, grad_on: bool) -> None:
        if info.norm_layers and module.training:
            site = self.sites.site() or info.site or "?"
            rec = self.train_eval_sites.setdefault(site, {"nograd": 0, "grad": 0, "backward": 0, "root": id(module)})
            if not grad_on:
                rec["nograd"] += 1
            else:
                rec["grad"] += 1
                if isinstance(output, self.torch.Tensor) and output.requires_grad and rec["backward"] == 0:
                    # One-shot: does this training-mode forward pass ever reach a backward pass?
                    def seen(_g: Any, rec: dict = rec) -> None:
                        rec["backward"] += 1
                    output.register_hook(seen)
        if grad_on and self.sample_now and not self.leak_tried and self.steps >= 1:
            self.leak_tried = True
            t0 = time.perf_counter()
            from netdoctor.observe.torch.leak import probe_batch_leak

            # After torch.compile, the probe's copy runs eagerly: Dynamo compiling it would cost the program seconds.
            probe = self.torch.compiler.disable(probe_batch_leak, recursive=True) if self._compile_seen else probe_batch_leak
            self.busy = True
            try:
                self.leak = probe(module, args, kwargs, self.names()[1])
            except Exception as exc:  # noqa: BLE001 - a module we cannot copy or re-run is simply not probed
                self._fail("batch-leak probe", exc)
            finally:
                self.busy = False
            self.iter_cost += time.perf_counter() - t0

    def _activations(self, module: Any, args: tuple, output: Any) -> None:
        torch = self.torch
        cands = []
        if isinstance(output, torch.Tensor) and output.grad_fn is not None and not any(True for _ in module.children()):
            kind = _ACT_FNS.get(type(output.grad_fn).__name__)
            if kind is not None and not any(True for _ in module.parameters(recurse=False)):
                cands.append((output, "out", kind))
        if args and isinstance(args[0], torch.Tensor) and args[0].grad_fn is not None and not any(True for _ in module.children()):
            kind = _ACT_FNS.get(type(args[0].grad_fn).__name__)
            if kind is not None:
                cands.append((args[0], "in", kind))
        for t, role, kind in cands:
            if self.seen_key(t) is not None or t.dim() < 2 or t.shape[0] < 2:
                continue
            key = (id(module), role)
            self._act_seen[id(t)] = (weakref.ref(t), key)
            a = t.detach()
            dims = [0, *range(2, a.dim())]
            rec = self.act_window.get(key)
            if rec is None:
                rec = self.act_window[key] = {"module": weakref.ref(module), "kind": kind, "units": int(a.shape[1]),
                                              "fired": None, "sat": [], "std": [], "rows": 0}
            if kind in ("relu", "relu6", "gelu", "silu"):
                fired = a.amax(dim=dims) > 0
                rec["fired"] = fired if rec["fired"] is None else (rec["fired"] | fired)
            elif kind == "tanh":
                rec["sat"].append((a.abs() > 0.99).float().mean())
            elif kind == "sigmoid":
                rec["sat"].append(((a < 0.01) | (a > 0.99)).float().mean())
            rec["std"].append(a.float().std())
            rec["rows"] += int(a.shape[0])

    def seen_key(self, t: Any) -> tuple[int, str] | None:
        """The statistics key of a tensor already measured in this step (an id freed and reused by a new tensor is not)."""
        hit = self._act_seen.get(id(t))
        return hit[1] if hit is not None and hit[0]() is t else None

    def _root_of(self, module: Any) -> int | None:
        """id of the model (root module we know) containing ``module``."""
        for _info, m in self.roots():
            if m is module or any(s is module for s in m.modules()):
                return id(m)
        return None

    # -- optimizer --------------------------------------------------------------
    def _opt_params(self, opt: Any) -> list[Any]:
        return [p for g in opt.param_groups for p in g["params"]]

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
            oi = self.opts.get(id(opt))
            if oi is None or oi.ref() is not opt:
                oi = self.opts[id(opt)] = OptInfo(weakref.ref(opt), type(opt).__name__, self.created_opts.get(id(opt)), self.sites.site())
            if oi.step_site is None:
                oi.step_site = self.sites.site()
            oi.steps += 1
            if any(callable(a) for a in args) or callable(kwargs.get("closure")):  # args: (optimizer, closure) for opt.step(closure)
                oi.closure_steps += 1
            if oi.steps == 1:
                oi.roots = self._roots_holding({id(p) for p in self._opt_params(opt)})
                self.sample_now = True  # a new optimizer's first updates are measured, whenever it starts
            for rid in oi.roots:
                info = self.mods.get(rid)
                if info is not None:
                    info.first_step = info.first_step or self.steps
                    info.last_step = self.steps
                    info.steps += 1
            if self.sample_now:
                t0 = time.perf_counter()
                self._sample_pre(opt, oi)
                self.iter_cost += time.perf_counter() - t0
        except Exception as exc:  # noqa: BLE001
            self._fail("optimizer pre-step hook", exc)
        return None

    def _roots_holding(self, pids: set[int]) -> list[int]:
        """ids of the models some of whose parameters are in ``pids``."""
        return [id(m) for _info, m in self.roots() if any(id(p) in pids for p in m.parameters())]

    def _models_to_sample(self, oi: OptInfo, mine: set[int], in_any: set[int]) -> tuple[list[Any], dict[int, int]]:
        """The parameters of the models this optimizer trains and of the models with gradients that no optimizer holds
        (their ``orphan_steps`` counted), and id(param) -> id(model) for them; ``oi.roots`` refreshed."""
        model_params = []
        root_of: dict[int, int] = {}
        oi.roots = []
        for info, m in self.roots():
            ps = list(m.parameters())
            if any(id(p) in mine for p in ps):
                oi.roots.append(id(m))
            elif any(id(p) in in_any for p in ps) or not any(p.grad is not None for p in ps):
                continue
            else:
                info.orphan_steps += 1
            model_params.extend(ps)
            root_of.update((id(p), id(m)) for p in ps)
        return model_params, root_of

    def _sample_pre(self, opt: Any, oi: OptInfo) -> None:
        torch = self.torch
        oi.lrs.append((self.steps, [g.get("lr") for g in opt.param_groups]))
        if len(oi.lrs) > 64:
            del oi.lrs[1::2]
        params = self._opt_params(opt)
        pnames, _ = self.names()
        in_any = {id(p) for o in self.opts.values() if (om := o.ref()) is not None for p in self._opt_params(om)}
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
            pi = self.params.get(id(p))
            if pi is None or pi.ref() is not p:
                n = p.numel()
                idx = None if n <= SAMPLE else torch.linspace(0, n - 1, SAMPLE, device=p.device).long()
                pi = self.params[id(p)] = ParamInfo(weakref.ref(p), idx, pnames.get(id(p)), tuple(p.shape), owner=self.param_owner.get(id(p)),
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
                flat = w.reshape(-1)
                pi.before = (flat if pi.idx is None else flat[pi.idx]).clone()
                if g is not None:
                    gf = g.detach().reshape(-1)
                    pi.g_sample = (gf if pi.idx is None else gf[pi.idx]).clone()
                else:
                    pi.g_sample = None
            ws.append(w)
            if g is not None:
                gs.append(g.detach())
            slots.append((pi, len(gs) - 1 if g is not None else -1, id(p) in mine))
        if ws:
            self._sample_norms(ws, gs, slots)
        self._count_modes(mine)
        if self.losses.loss_values and self.losses.loss_values[-1][0] == -1:
            self.losses.loss_values[-1] = (self.steps, self.losses.loss_values[-1][1])

    def _sample_norms(self, ws: list[Any], gs: list[Any], slots: list[tuple[ParamInfo, int, bool]]) -> None:
        """||W|| and ||g|| of every sampled parameter (``slots``: its info, its gradient's index in ``gs``
        or -1, whether this optimizer holds it); the first non-finite ones; gradients emptied before step()."""
        # One fused norm kernel per list and one host read for all of them.
        norms = self.torch._foreach_norm(ws + gs)
        values = self.torch.stack([n.float().to(norms[0].device) for n in norms]).tolist()
        nw = len(ws)
        for k, (pi, gk, _) in enumerate(slots):
            bounded_append(pi.norms, (self.steps, values[k], values[nw + gk] if gk >= 0 else math.nan))
        if self.grad_nonfinite is None:
            bad_g = [pi.name for pi, gk, _ in slots if gk >= 0 and not math.isfinite(values[nw + gk])]
            bad_w = [pi.name for k, (pi, _, _) in enumerate(slots) if not math.isfinite(values[k])]
            if bad_g or bad_w:
                last = self.losses.loss_values[-1][1] if self.losses.loss_values else None
                self.grad_nonfinite = {"step": self.steps, "grads": bad_g, "weights": bad_w, "loss": last}
        if self._backward_since_step:
            # A backward pass ran since the last step, yet every gradient this step applies is empty:
            # something cleared them between backward() and step().
            self.cleared_checked += 1
            trained = [(pi, gk) for pi, gk, in_opt in slots if pi.requires_grad and in_opt]
            if trained and all(gk < 0 or values[nw + gk] == 0 for _, gk in trained):
                self.cleared_before_step += 1
                if self.losses.pending:
                    # ...and the loss computed for this step has not been through backward() yet: step() comes first.
                    self.step_before_backward += 1

    def _count_modes(self, mine: set[int]) -> None:
        """Train/eval mode of the models holding the parameters ``mine`` (ids) this optimizer trains."""
        # Train/eval mode of the models this optimizer trains: dropout and batch norm frozen?
        for info, m in self.roots():
            if info.norm_layers and any(id(p) in mine for p in m.parameters()):
                self.mode_checked_steps += 1
                if not m.training:
                    self.eval_steps += 1
                    self.eval_roots[id(m)] = self.eval_roots.get(id(m), 0) + 1

    def _post_step(self, opt: Any, args: tuple, kwargs: dict) -> None:
        if self.busy:
            return
        try:
            t0 = time.perf_counter()
            if self.sample_now:
                self.counts.close(self.steps)
                self._sample_post(opt)
                self.sampled_steps += 1
                self.window_steps += 1
                if self.window_steps >= WINDOW:
                    self.close_window()
                self.cost += self.iter_cost + (time.perf_counter() - t0)
                self._adapt(self.iter_cost + (time.perf_counter() - t0))
            self.iter_cost = 0.0
            self._backward_since_step = False
            oi = self.opts.get(id(opt))
            self.sample_now = (self.steps < DENSE_STEPS or (self.steps + 1) % self.every == 0
                               or (oi is not None and oi.steps < DENSE_STEPS))  # a later model's first steps too
            self.outputs.clear()
            self._act_seen.clear()
        except Exception as exc:  # noqa: BLE001
            self._fail("optimizer post-step hook", exc)
        self._limits()

    def _limits(self) -> None:
        """End the program (``--max-updates`` / ``--max-seconds``) by raising StopObserving out of ``optimizer.step()``."""
        from netdoctor.observe.tracer import StopObserving

        if self.max_steps is not None and self.steps >= self.max_steps:
            self.stopped_because = f"stopped after {self.steps} optimizer steps (--max-updates)"
        elif self.max_seconds is not None and time.perf_counter() - self._t_install > self.max_seconds:
            self.stopped_because = f"stopped after {self.max_seconds:g} s (--max-seconds)"
        else:
            return
        self.close_window(final=True)
        raise StopObserving(self.stopped_because)

    def _adapt(self, cost: float) -> None:
        if self.fixed_every or not self._step_times:
            return
        step = sorted(self._step_times)[len(self._step_times) // 2]
        # k such that one sampled step's cost spread over k steps stays within the budget.
        self.every = max(MIN_EVERY, math.ceil(cost / max(BUDGET * step, 1e-9)))

    def _sample_post(self, opt: Any) -> None:
        torch = self.torch
        ratios, changed, drifts, slots = [], [], [], []
        for p in self._opt_params(opt):
            pi = self.params.get(id(p))
            if pi is None or pi.before is None:
                continue
            flat = p.detach().reshape(-1)
            after = flat if pi.idx is None else flat[pi.idx]
            delta = (after - pi.before).float()
            ratios.append(torch.linalg.vector_norm(delta) / torch.linalg.vector_norm(pi.before.float()).clamp_min(1e-30))
            changed.append((delta != 0).any().float())
            if pi.first is None:
                pi.first = pi.before
            drifts.append(torch.linalg.vector_norm((after - pi.first).float()) / torch.linalg.vector_norm(pi.first.float()).clamp_min(1e-30))
            slots.append(pi)
            self._arm_stale(p, pi)
            pi.before = None
        if slots:
            values = torch.stack(ratios + changed + drifts).tolist()
            n = len(slots)
            for k, pi in enumerate(slots):
                bounded_append(pi.ratios, (self.steps, values[k]))
                bounded_append(pi.changed, (self.steps, bool(values[n + k])))
                bounded_append(pi.drift, (self.steps, values[2 * n + k]))

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
            if self.busy:
                return
            self._backward_since_step = True
            try:
                if self.backward_site is None:
                    self.backward_site = self.sites.site()
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
                torch = self.torch
                w = torch.dot(bs, gp) / torch.dot(gp, gp).clamp_min(1e-30)
                share = torch.linalg.vector_norm(bs) / torch.linalg.vector_norm(fs).clamp_min(1e-30)
                pi.stale.append(tuple(torch.stack([w, share]).tolist()))
            except Exception as exc:  # noqa: BLE001
                self._fail("gradient hook", exc)

        self._oneshot[id(pi)] = p.register_hook(hook)

    # -- wrapped torch methods ---------------------------------------------------
    def _wrap_train(self, orig: Callable) -> Callable:
        watch = self

        @functools.wraps(orig)
        def train(module: Any, mode: bool = True) -> Any:
            if not watch.busy and watch.installed and not watch.compiling():
                try:
                    watch.mode_sites[id(module)] = (bool(mode), watch.sites.site())
                except Exception as exc:  # noqa: BLE001
                    watch._fail("Module.train wrapper", exc)
            return orig(module, mode)

        return train

    def _wrap_opt_init(self, orig: Callable) -> Callable:
        watch = self

        @functools.wraps(orig)
        def __init__(opt: Any, *args: Any, **kwargs: Any) -> None:
            orig(opt, *args, **kwargs)
            if not watch.busy:
                try:
                    watch.created_opts[id(opt)] = watch.sites.site()
                    watch.opts[id(opt)] = OptInfo(weakref.ref(opt), type(opt).__name__, watch.created_opts[id(opt)])
                    watch.book.name_loose(watch.sites.user_frame(), watch.torch, watch._opt_params(opt))
                    watch._roots_version += 1  # names now include its loose tensors
                except Exception as exc:  # noqa: BLE001
                    watch._fail("Optimizer.__init__ wrapper", exc)

        return __init__

    def _wrap_sched_step(self, orig: Callable) -> Callable:
        watch = self

        @functools.wraps(orig)
        def step(sched: Any, *args: Any, **kwargs: Any) -> Any:
            if not watch.busy and watch.installed and watch.steps:  # not the step() every scheduler's __init__ makes
                try:
                    site = watch.sites.site() or "?"
                    watch.sched_sites[site] = watch.sched_sites.get(site, 0) + 1
                except Exception as exc:  # noqa: BLE001
                    watch._fail("LRScheduler.step wrapper", exc)
            return orig(sched, *args, **kwargs)

        return step

    # -- windows ------------------------------------------------------------------
    def close_window(self, final: bool = False) -> None:
        """Turn the current window's tensors into plain numbers; keep the first and the latest window."""
        self.counts.close(self.steps)
        if not self.act_window and not self.losses.window:
            return
        if final and self.act_last is not None and self.window_steps < WINDOW // 2:
            # A short tail has seen too few rows to say that a unit never fires.
            return
        acts = {}
        for key, rec in self.act_window.items():
            out = {"module": rec["module"], "kind": rec["kind"], "units": rec["units"], "rows": rec["rows"]}
            if rec["fired"] is not None:
                out["dead"] = 1.0 - float(rec["fired"].float().mean())
            if rec["sat"]:
                out["saturation"] = float(self.torch.stack(rec["sat"]).mean())
            if rec["std"]:
                out["std"] = float(self.torch.stack(rec["std"]).mean())
            acts[key] = out
        loss: dict[str, Any] = {}
        for k, v in self.losses.window.items():
            if k.endswith("_n"):
                continue
            if k == "loss":
                loss[k] = list(v)
            elif hasattr(v, "tolist"):
                n = self.losses.window.get(k + "_n", 1)
                val = v.tolist()
                loss[k] = [x / n for x in val] if k in ("spread", "scale") and isinstance(val, list) else (val / n if k in ("spread", "scale") else val)
        loss["steps"] = self.window_steps
        loss["end_step"] = self.steps
        bounded_append(self.loss_windows, loss, limit=32)
        if self.act_first is None:
            self.act_first, self.loss_first = acts, loss
        self.act_last, self.loss_last = acts, loss
        self.windows += 1
        self.act_window = {}
        self.losses.window = {}
        self.window_steps = 0
