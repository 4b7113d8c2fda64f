"""A PyTorch ``nn.Module`` seen through the model protocol (``netdoctor check --model file.py:build``).

``build()`` returns a module, ``(module, optimizer)`` or ``(module, optimizer,
loss_fn)``; the defaults are cross-entropy on logits and plain SGD. The
adapter, :class:`TorchModel`, gives netdoctor what it reads from any model:

* ``params``: name -> NumPy view of each parameter (``fc1.weight``), zero-copy
  (``p.detach().numpy()``), rebuilt on every access: netdoctor's snapshots,
  perturbations and restores act on the module's own storage;
* ``loss(X, y)``: the mean loss and autograd's gradient of every parameter
  (parameters with ``requires_grad=False`` get the true gradient too, taken
  with the flag switched on for the call; a parameter autograd does not reach
  gets zeros); batch-norm running statistics are put back afterwards;
* ``train_step(X, y, lr)``: ``zero_grad``, forward in train mode, backward,
  ``optimizer.step()`` with every parameter group's learning rate scaled so
  that the first group's is ``lr``;
* ``predict`` and ``activations`` in eval mode: the layers are the inputs of
  the second, third, ... parametrised module (whatever activation, module or
  functional, sits between them) and the output as the loss sees it (softmax
  of the logits for cross-entropy);
* ``__netdoctor_findings__(X, y)``: what the module shows about itself
  (``double-softmax``: probabilities fed to a loss that applies its own
  softmax or sigmoid), ``frozen_reasons(names)`` (why a parameter does not
  learn, for the training probe) and ``update_rule`` (``"sgd"`` or the
  optimizer's name: adaptive steps are not fitted as multiples of the gradient).

Dropout masks come from a generator seeded by the batch, so ``loss(X, y)``
and the ``train_step(X, y, lr)`` after it see the same mask (the training
probe compares the two); the global torch random state is left as found.
"""

from __future__ import annotations

import copy
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from netdoctor.adapters.torch_layers import layer_activations
from netdoctor.errors import InvalidArgument, ProtocolError
from netdoctor.findings import Finding
from netdoctor.rules.evidence import LossInputs
from netdoctor.rules.losses import double_softmax

__all__ = ["TorchModel", "adapt_module", "is_module_result"]

_ADAPTIVE = (torch.optim.Adam, torch.optim.AdamW, torch.optim.RMSprop, torch.optim.Adagrad, torch.optim.Adadelta,
             torch.optim.Adamax, torch.optim.NAdam, torch.optim.RAdam)
PROB_TOL = 1e-4
"""Rows within this of summing to 1 (probabilities) or of logsumexp 0 (log-probabilities); logits never are."""


def is_module_result(obj: Any) -> bool:
    """True for what a ``--model`` factory may return for PyTorch: a module, or a tuple starting with one."""
    if isinstance(obj, nn.Module):
        return True
    return isinstance(obj, tuple) and bool(obj) and isinstance(obj[0], nn.Module)


def adapt_module(module: Any, optimizer: Any = None, loss_fn: Any = None) -> TorchModel:
    """A :class:`TorchModel` for ``module`` (or for the tuple a factory returned, passed as ``module``)."""
    if isinstance(module, tuple):
        if not 1 <= len(module) <= 3 or optimizer is not None or loss_fn is not None:
            raise InvalidArgument(f"expected (module,), (module, optimizer) or (module, optimizer, loss_fn); got a "
                                  f"tuple of {len(module)}.")
        return adapt_module(*module)
    return TorchModel(module, optimizer, loss_fn)


def _name_of(loss_fn: Any) -> str:
    return getattr(loss_fn, "__name__", None) or type(loss_fn).__name__


class TorchModel:
    """An ``nn.Module`` (with its optimizer and loss) as a protocol model; build it with :func:`adapt_module`.

    Attributes:
        module, optimizer, loss_fn: the user's objects (``optimizer`` is ``optim.SGD`` over every
            parameter at the first ``train_step``'s lr when none was given).
        loss_name: ``"cross_entropy"`` for cross-entropy on logits, else the loss's name.
        update_rule: ``"sgd"`` (plain or momentum), else the optimizer's class name.
        notes: what was assumed, in plain sentences.
    """

    def __init__(self, module: Any, optimizer: Any = None, loss_fn: Any = None) -> None:
        if not isinstance(module, nn.Module):
            raise InvalidArgument(f"expected an nn.Module; got {type(module).__name__}.")
        if optimizer is not None and not isinstance(optimizer, torch.optim.Optimizer):
            if loss_fn is None and callable(optimizer):  # (module, loss_fn): the optimizer left out
                optimizer, loss_fn = None, optimizer
            else:
                raise InvalidArgument(f"the second item must be a torch.optim optimizer; got {type(optimizer).__name__}.")
        if loss_fn is not None and not callable(loss_fn):
            raise InvalidArgument(f"the loss must be callable as loss_fn(output, target); got {type(loss_fn).__name__}.")
        self.module, self.optimizer = module, optimizer
        self.notes: list[str] = []
        self._check_tensors()
        self.loss_fn = loss_fn if loss_fn is not None else nn.CrossEntropyLoss()
        ce = loss_fn is None or isinstance(loss_fn, nn.CrossEntropyLoss) or loss_fn is F.cross_entropy
        self.loss_name = "cross_entropy" if ce else _name_of(loss_fn)
        if loss_fn is None:
            self.notes.append("loss: cross-entropy on the module's output as logits (nn.CrossEntropyLoss); return "
                              "(module, optimizer, loss_fn) from the factory for another.")
        self.update_rule = "sgd"
        self._base_lrs: list[float] = []
        if optimizer is None:
            self.notes.append("optimizer: plain SGD over every parameter at the run's learning rate.")
        else:
            self._base_lrs = [float(g["lr"]) for g in optimizer.param_groups]
            if isinstance(optimizer, _ADAPTIVE):
                self.update_rule = type(optimizer).__name__
        self._random = any(isinstance(m, nn.modules.dropout._DropoutNd) for m in module.modules())
        if self._random:
            self.notes.append("dropout masks are drawn from a generator seeded by the batch, so loss(X, y) and the "
                              "train_step(X, y, lr) after it use the same mask.")
        self._out_width: int | None = None
        self._act_names: list[str] | None = None
        self._sample: tuple[torch.Tensor, torch.Tensor] | None = None

    # -- structure ------------------------------------------------------------------------
    def _check_tensors(self) -> None:
        named = list(self.module.named_parameters())
        if not named:
            raise ProtocolError(f"{type(self.module).__name__} has no parameters; nothing to train or check.")
        for name, p in named:
            if p.device.type != "cpu":
                raise InvalidArgument(f"{name} is on {p.device}; netdoctor check runs on the CPU: build the module "
                                      "on the CPU (or return module.cpu()).")
            if p.dtype not in (torch.float32, torch.float64):
                raise InvalidArgument(f"{name} is {str(p.dtype).replace('torch.', '')}; netdoctor check needs float32 "
                                      "or float64 parameters (return module.float()).")

    @property
    def __netdoctor_wrapped__(self) -> nn.Module:
        return self.module

    @property
    def __netdoctor_torch__(self) -> tuple[nn.Module, Any, bool]:
        """``(module, loss_fn, train_mode)`` for the gradient check of :mod:`netdoctor.gradients.torch_check`."""
        return self.module, self.loss_fn, True

    @property
    def params(self) -> dict[str, np.ndarray]:
        """Zero-copy NumPy views of every parameter, by name (rebuilt on each access)."""
        return {name: p.detach().numpy() for name, p in self.module.named_parameters()}

    def as_float64(self) -> TorchModel:
        """A float64 twin (copies of the module and loss; no optimizer) for measurements that float32 roundoff spoils."""
        twin = TorchModel(copy.deepcopy(self.module).double(), None, copy.deepcopy(self.loss_fn))
        twin.notes = list(self.notes)
        return twin

    @property
    def lr(self) -> float | None:
        """The learning rate of the optimizer the factory returned (its first parameter group), else None."""
        return None if getattr(self, "_own_optimizer", False) or not self._base_lrs else self._base_lrs[0]

    @property
    def dtype(self) -> torch.dtype:
        return next(self.module.parameters()).dtype

    @property
    def n_classes(self) -> int | None:
        """Width of the output: the last ``nn.Linear``'s ``out_features``, or what a forward pass returned."""
        if self._out_width is None:
            last = [m for m in self.module.modules() if isinstance(m, nn.Linear)]
            return last[-1].out_features if last else None
        return self._out_width

    def _X(self, X: Any) -> torch.Tensor:
        X = np.asarray(X)
        if X.dtype != np.dtype(str(self.dtype).replace("torch.", "")):
            X = X.astype(str(self.dtype).replace("torch.", ""))
        return torch.from_numpy(np.ascontiguousarray(X))

    def _y(self, y: Any) -> torch.Tensor:
        y = np.asarray(y)
        if np.issubdtype(y.dtype, np.floating) and self.loss_name != "cross_entropy":
            return torch.from_numpy(np.ascontiguousarray(y)).to(self.dtype)
        return torch.from_numpy(np.ascontiguousarray(y.astype(np.int64)))

    # -- calling the module ------------------------------------------------------------------
    def _forward(self, Xt: torch.Tensor) -> torch.Tensor:
        out = self.module(Xt)
        if not isinstance(out, torch.Tensor):
            raise ProtocolError(f"{type(self.module).__name__}.forward returned {type(out).__name__}; expected one "
                                "tensor of outputs (N, classes).")
        if out.dim() == 2:
            self._out_width = int(out.shape[1])
        return out

    def _seeded(self, Xt: torch.Tensor) -> Any:
        """A forked torch RNG seeded by the batch's bytes (dropout models), else nothing to do."""
        if not self._random:
            return _Null()
        rng = torch.random.fork_rng(devices=[])
        seed = zlib.crc32(Xt.numpy().tobytes()[:1 << 16]) ^ len(Xt)
        return _Seeded(rng, seed)

    def _loss_value(self, out: torch.Tensor, yt: torch.Tensor) -> torch.Tensor:
        value = self.loss_fn(out, yt)
        if not isinstance(value, torch.Tensor) or value.numel() != 1:
            raise ProtocolError(f"the loss returned {type(value).__name__} of shape "
                                f"{tuple(getattr(value, 'shape', ()))}; expected one number (the batch mean).")
        return value.reshape(())

    def loss(self, X: Any, y: Any) -> tuple[float, dict[str, np.ndarray]]:
        """Mean loss in train mode and autograd's gradient of every parameter (float64 copies of the dtype's values)."""
        Xt, yt = self._X(X), self._y(y)
        self._remember(Xt, yt)
        named = list(self.module.named_parameters())
        frozen = [p for _, p in named if not p.requires_grad]
        buffers = [(b, b.detach().clone()) for b in self.module.buffers()]
        was_training = self.module.training
        try:
            for p in frozen:
                p.requires_grad_(True)
            self.module.train()
            with self._seeded(Xt), torch.enable_grad():
                value = self._loss_value(self._forward(Xt), yt)
                grads = torch.autograd.grad(value, [p for _, p in named], allow_unused=True)
        finally:
            for p in frozen:
                p.requires_grad_(False)
            with torch.no_grad():
                for b, saved in buffers:
                    b.copy_(saved)
            self.module.train(was_training)
        out = {}
        for (name, p), g in zip(named, grads):
            out[name] = np.zeros(tuple(p.shape), dtype=p.detach().numpy().dtype) if g is None else g.detach().numpy()
        return float(value.detach()), out

    def _optimizer(self, lr: float) -> torch.optim.Optimizer:
        if self.optimizer is None:
            self.optimizer = torch.optim.SGD(self.module.parameters(), lr=lr)
            self._base_lrs = [lr]
            self._own_optimizer = True
        base = self._base_lrs[0] or 1.0
        for group, b in zip(self.optimizer.param_groups, self._base_lrs):
            group["lr"] = lr * (b / base)
        return self.optimizer

    def train_step(self, X: Any, y: Any, lr: float) -> float:
        """One optimizer step on the batch in train mode; returns the batch loss before it."""
        Xt, yt = self._X(X), self._y(y)
        self._remember(Xt, yt)
        opt = self._optimizer(float(lr))
        self.module.train()
        opt.zero_grad(set_to_none=True)
        with self._seeded(Xt):
            value = self._loss_value(self._forward(Xt), yt)
            value.backward()
        opt.step()
        return float(value.detach())

    def _remember(self, Xt: torch.Tensor, yt: torch.Tensor) -> None:
        if self._sample is None or len(self._sample[0]) < min(len(Xt), 64):
            self._sample = (Xt[:64].clone(), yt[:64].clone())

    def predict(self, X: Any) -> np.ndarray:
        """Labels (N,): argmax of the output in eval mode."""
        was = self.module.training
        self.module.eval()
        try:
            with torch.no_grad():
                out = self._forward(self._X(X))
        finally:
            self.module.train(was)
        return out.argmax(dim=1).numpy() if out.dim() == 2 else (out.reshape(-1) > 0).long().numpy()

    # -- layers ----------------------------------------------------------------------------
    def activations(self, X: Any) -> list[np.ndarray]:
        """Per-layer activations in eval mode: inputs of the 2nd, 3rd, ... parametrised modules, then the output
        (the loss's view of it: softmax of the logits for cross-entropy); see :func:`~netdoctor.adapters.torch_layers.layer_activations`."""
        Xt = self._X(X)
        acts, self._act_names = layer_activations(self.module, lambda: self._forward(Xt),
                                                  cross_entropy=self.loss_name == "cross_entropy")
        return acts

    def layer_activations(self) -> list[str]:
        """Activation name per layer (hidden then output) as seen in the last :meth:`activations` call, or []."""
        return list(self._act_names or [])

    # -- what the module shows about itself ----------------------------------------------------
    def __netdoctor_findings__(self, X: Any, y: Any) -> list[Finding]:
        """``double-softmax`` when the values reaching the loss are already probabilities."""
        Xt = self._X(X)
        was = self.module.training
        self.module.eval()
        try:
            with torch.no_grad():
                out = self._forward(Xt).detach().to(torch.float64)
        finally:
            self.module.train(was)
        found = _double_softmax(out, self.loss_fn, self.loss_name, type(self.module).__name__)
        return [found] if found is not None else []

    def frozen_reasons(self, names: list[str]) -> dict[str, str]:
        """Why each named parameter did not change in training: ``name -> reason`` (a key of
        :data:`netdoctor.rules.frozen.FROZEN_REASONS`, which words it)."""
        params = dict(self.module.named_parameters())
        in_opt = ({id(p) for g in self.optimizer.param_groups for p in g["params"]} if self.optimizer is not None
                  else {id(p) for p in self.module.parameters()})
        unreached = self._unreached([n for n in names if n in params and params[n].requires_grad])
        out = {}
        for n in names:
            p = params.get(n)
            if p is None:
                continue
            if not p.requires_grad:
                out[n] = "requires_grad_off"
            elif id(p) not in in_opt:
                out[n] = "not_in_optimizer"
            elif n in unreached:
                out[n] = unreached[n]
            else:
                out[n] = "not_changed"
        return out

    def _unreached(self, names: list[str]) -> dict[str, str]:
        """Parameters autograd gives no gradient: cut off (the loss depends on them) or unused (it does not)."""
        if not names or self._sample is None:
            return {}
        Xt, yt = self._sample
        params = dict(self.module.named_parameters())
        was = self.module.training
        out = {}
        try:
            self.module.train()
            with self._seeded(Xt), torch.enable_grad():
                value = self._loss_value(self._forward(Xt), yt)
                grads = torch.autograd.grad(value, [params[n] for n in names], allow_unused=True)
            for n, g in zip(names, grads):
                if g is not None and bool(g.abs().sum() > 0):
                    continue
                if self._moves_loss(params[n], Xt, yt):
                    out[n] = "cut"
                else:
                    out[n] = "never_used"
        finally:
            self.module.train(was)
        return out

    def _moves_loss(self, p: torch.Tensor, Xt: torch.Tensor, yt: torch.Tensor) -> bool:
        """A real step of 1e-3 of the parameter's scale along a random direction changes the loss."""
        saved = p.detach().clone()
        g = torch.Generator().manual_seed(7)
        d = torch.randn(p.shape, generator=g, dtype=p.dtype) * (1e-2 * (float(saved.abs().max()) + 1e-2))
        vals = []
        with torch.no_grad(), self._seeded(Xt):
            for s in (1.0, -1.0):
                p.add_(s * d)
                try:
                    vals.append(float(self._loss_value(self._forward(Xt), yt)))
                finally:
                    p.copy_(saved)
        return vals[0] != vals[1]

    def __repr__(self) -> str:
        shapes = ", ".join(f"{n} {'x'.join(map(str, p.shape))}" for n, p in list(self.module.named_parameters())[:6])
        opt = type(self.optimizer).__name__ if self.optimizer is not None else "SGD"
        return f"torch {type(self.module).__name__}({shapes}; {_name_of(self.loss_fn)}; {opt})"


class _Null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        return None


class _Seeded:
    """Inside a forked torch RNG, seeded: the global generator's state is restored on exit."""

    def __init__(self, fork: Any, seed: int) -> None:
        self.fork, self.seed = fork, seed

    def __enter__(self) -> None:
        self.fork.__enter__()
        torch.manual_seed(self.seed)

    def __exit__(self, *exc: Any) -> Any:
        return self.fork.__exit__(*exc)


def _double_softmax(out: torch.Tensor, loss_fn: Callable, loss_name: str, owner: str) -> Finding | None:
    """What reaches a softmax/sigmoid loss on the gradient-check batch, judged by :func:`netdoctor.rules.losses.double_softmax`."""
    if out.dim() != 2 or len(out) < 2 or not bool(torch.isfinite(out).all()):
        return None
    lo, hi = float(out.min()), float(out.max())
    logits_bce = isinstance(loss_fn, nn.BCEWithLogitsLoss) or loss_fn is F.binary_cross_entropy_with_logits
    if not logits_bce and (loss_name != "cross_entropy" or out.shape[1] < 2):
        return None
    sums_err = float((out.sum(dim=1) - 1).abs().max())
    lse_err = float(torch.logsumexp(out, dim=1).abs().max())
    return double_softmax(LossInputs(
        where=f"{owner}.forward output -> {_name_of(loss_fn)}",
        loss="binary_cross_entropy_with_logits" if logits_bce else "cross_entropy", batches=1, rows=len(out),
        probabilities=int(lo >= -PROB_TOL and hi <= 1 + PROB_TOL and sums_err <= PROB_TOL),
        log_probabilities=int(hi <= PROB_TOL and lse_err <= PROB_TOL), unit_interval=int(lo >= 0.0 and hi <= 1.0),
        values=out.numel(), classes=out.shape[1], producer=f"{owner}.forward",
        details={"min": lo, "max": hi, "max_row_sum_error": sums_err, "max_logsumexp": lse_err}))
