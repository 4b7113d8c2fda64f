"""The records of the PyTorch observer: one per module, parameter and optimizer the program used.

Plain data that the watch's parts fill while the program runs
(:mod:`netdoctor.observe.torch.registry` the modules, :mod:`netdoctor.observe.torch.watch`
the parameters and optimizers) and that :mod:`netdoctor.observe.torch.rules`
reads after it ended. Tensors kept here are samples of the program's own
(detached copies), references to the program's objects are weak.
"""

from __future__ import annotations

from collections import deque
from dataclasses import field
from typing import Any

from netdoctor._lazy import dataclass

__all__ = ["ModInfo", "ParamInfo", "OptInfo"]


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
    orphan_first: int = 0
    """The first of those steps (a model no optimizer holds can replace one that was trained before it): the first step
    of the run of training calls (:attr:`grad_run_first`) that reached the first sampled one."""
    grad_run_first: int = 0
    grad_last: int = 0
    """The optimizer steps (``loss_step``) of the first and the latest of its calls with gradients on since the last
    step without one: a model first called inside an L-BFGS closure at step 21 has its gradients read at the next
    sampled step (22), and the step it began training at is 21."""


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
    held_by: str | None = None
    """Where the optimizer that holds it was created (the latest sampled one)."""
    held_first: int = 0
    held_last: int = 0
    """The run's step counts of the first and the last sampled step of an optimizer holding it (0: none yet): loose
    tensors held until some step and then left for tensors first held after it belong to a dropped model."""
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
    first_step: int = 0
    """The run's step count at this optimizer's first step (a throwaway model's optimizer may step before it)."""
    closure_steps: int = 0
    """Steps called with a closure (L-BFGS: one step runs many forward/backward passes and a line search)."""
