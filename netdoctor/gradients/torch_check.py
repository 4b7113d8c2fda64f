"""Gradient checks of PyTorch code: functions, ``nn.Module`` s and custom ``autograd.Function`` s.

The analytic side is autograd's (``torch.autograd.grad``); the numerical side
is netdoctor's engine (central differences, judged by
:mod:`netdoctor.gradients.judge`, with its hints and its kink tests), on
*copies*: the user's module, tensors and torch random state stay exactly as
they were.

* **float64 on a copy.** Floating tensors and modules are copied to float64
  before anything is evaluated, so float32 code is checked without float32
  roundoff (and without false alarms). Code that keeps computing in float32 on
  the copies (a hard-coded ``.float()``, float32 constants) is checked in float32
  instead, with float32 steps and tolerances and the loss's measured roundoff;
  ``result.notes`` says which of the two happened.
* **Batched perturbations.** ``f(x + t_b e_{k_b})`` for a block of entries
  ``k_b`` is one ``torch.func.vmap`` call. A weight ``W`` of an ``nn.Linear``
  enters the loss only through the layer's output ``z = a W^T + b``, so a step
  ``t`` on ``W[j, i]`` changes ``z[..., j]`` by exactly ``t a[..., i]``: the
  batch then carries ``(N, out)`` output changes instead of perturbed copies of
  ``W`` (checked once per layer along a random direction against a real
  perturbation of ``W``; a layer whose weight is also used elsewhere takes the
  general path). Other tensors are stacked as perturbed copies. Code that vmap
  cannot batch (old-style ``autograd.Function`` s inside a module, in-place
  updates of buffers) is evaluated one perturbation at a time, noted.
* **Scalar functions.** A tensor output ``y`` is reduced to ``sum(r * y)`` with
  a fixed seeded ``r ~ N(0, 1)`` of ``y``'s shape: its gradient is the
  vector-Jacobian product that ``backward`` computes for the upstream gradient
  ``r``, so every entry of a wrong backward shows.
* **Which tensors.** Parameters that require grad; inputs that require grad,
  or every floating input when none does (torch's convention, with a default
  that checks something). Integer tensors (labels, indices) pass through.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from netdoctor.errors import InvalidArgument, ProtocolError, UserCodeError
from netdoctor.gradients.engine import NOISE_FACTOR, Problem, steps
from netdoctor.gradients.judge import checked_note
from netdoctor.gradients.options import Options, rng_from
from netdoctor.gradients.result import GradcheckResult
from netdoctor.usercode import call_user, describe_user_error

__all__ = ["check_function", "check_module", "is_function_class", "TorchSubject", "CHUNK_ELEMENTS"]

CHUNK_ELEMENTS = 1 << 18
"""Elements of one batched perturbation block (2 MB in float64): stays in cache, still amortises a vmap call."""
LOOP_SIZE = 1 << 14
"""Tensors without an output-change shortcut and more entries than this are perturbed one entry per
evaluation: stacked copies cost ``size^2`` elements, a loop ``size`` forward passes."""

_SHAPE_ERROR = re.compile(r"Function (\w+) returned an invalid gradient at index (\d+) - got \[([\d, ]*)\] but "
                          r"expected shape compatible with \[([\d, ]*)\]")


def is_function_class(obj: Any) -> bool:
    """True for a subclass of ``torch.autograd.Function`` (the class itself, called through ``apply``)."""
    return isinstance(obj, type) and issubclass(obj, torch.autograd.Function)


class _Ctx:
    """Stands in for ``ctx`` when an old-style Function's ``forward`` is called directly (no backward follows)."""

    def __init__(self, n: int) -> None:
        self.needs_input_grad = (False,) * n
        self.saved_tensors = ()

    def save_for_backward(self, *tensors: Any) -> None:
        self.saved_tensors = tensors

    def mark_dirty(self, *args: Any) -> None:
        pass

    def mark_non_differentiable(self, *args: Any) -> None:
        pass

    def set_materialize_grads(self, value: bool) -> None:
        pass


def _floating(t: Any) -> bool:
    return isinstance(t, torch.Tensor) and (t.is_floating_point() or t.is_complex())


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


class TorchSubject:
    """A scalar computed from named leaf tensors (working copies), evaluated plainly, by autograd or batched.

    Args:
        names: display names of the checked tensors (``fc1.weight``, ``x[0]``).
        leaves: the working leaf tensors, same order; perturbed in place through
            their NumPy views (``arrays``).
        call: ``call(numeric, params, args)``: the scalar from the current leaves,
            with an optional ``{param name: tensor}`` and ``{arg slot: tensor}``
            replacing some of them (under vmap a replacement is batched);
            ``numeric=True`` asks for the forward only (a Function's ``forward``
            called directly, which vmap can batch).
        slots: per leaf, ``("param", name)`` or ``("arg", slot)``: how to replace it.
        module: the working module whose ``nn.Linear`` layers may use output changes.
    """

    def __init__(self, names: list[str], leaves: Sequence[torch.Tensor], call: Callable[..., torch.Tensor],
                 slots: list[tuple[str, Any]], module: nn.Module | None = None) -> None:
        self.names, self.leaves, self.call, self.slots, self.module = names, list(leaves), call, slots, module
        self.arrays = [t.detach().numpy() for t in leaves]  # zero-copy: writes move the tensors
        self.none_grads: set[int] = set()
        self.shape_problems: dict[int, str] = {}
        self.notes: list[str] = []
        self.paths: dict[int, str] = {}
        self._linear: dict[int, tuple[nn.Module, str]] = {}
        self._vmap_failed: str | None = None
        self._largest = 1
        self.function_inputs: dict[int, int] = {}
        """For a Function class: autograd's input position -> checked tensor (to name a wrong-shaped gradient)."""

    # -- plain evaluations -----------------------------------------------------------
    def value(self) -> float:
        with torch.no_grad():
            return float(call_user(self.call, False, None, None, what="evaluating the function"))

    def gradient(self) -> list[np.ndarray]:
        """Autograd's gradient at the current values: float64 copies, zeros where no gradient arrives."""
        live = [k for k in range(len(self.leaves)) if k not in self.shape_problems]
        while True:
            # A tensor whose gradient came back with the wrong shape is held constant for the others' sake.
            for k in self.shape_problems:
                self.leaves[k].requires_grad_(False)
            try:
                with torch.enable_grad():
                    out = call_user(self.call, False, None, None, what="evaluating the function")
                    grads = torch.autograd.grad(out, [self.leaves[k] for k in live], allow_unused=True)
                break
            except RuntimeError as exc:
                bad = self._shape_problem(exc, live)
                if bad is None:
                    raise UserCodeError(describe_user_error(exc, "backward")) from exc
                live.remove(bad)
            finally:
                for k in self.shape_problems:
                    self.leaves[k].requires_grad_(True)
        result = [np.zeros(a.shape) for a in self.arrays]
        for k, g in zip(live, grads):
            if g is None:
                self.none_grads.add(k)
            else:
                result[k] = g.detach().to(torch.float64).numpy().copy().reshape(self.arrays[k].shape)
        return result

    def _shape_problem(self, exc: RuntimeError, live: list[int]) -> int | None:
        """The checked tensor whose gradient a Function returned with the wrong shape (recorded), or None."""
        m = _SHAPE_ERROR.search(str(exc))
        if m is None:
            return None
        index = int(m[2])
        got = tuple(int(s) for s in m[3].split(",") if s.strip())
        # The index counts the Function's inputs; it names a checked tensor when those are our leaves.
        k = self.function_inputs.get(index)
        if k is None or k not in live:
            return None
        shape = tuple(self.arrays[k].shape)
        name = self.names[k]
        self.shape_problems[k] = (f"has shape {got}, the transpose of {name}'s shape {shape}: a missing .T"
                                  if len(got) == 2 and got == shape[::-1] else
                                  f"has shape {got}; {name} has shape {shape} (a sum over the wrong axis?)")
        return k

    # -- the output-change shortcut for nn.Linear ----------------------------------------
    def find_linear_layers(self) -> None:
        """Map parameter leaves of ``nn.Linear`` layers called once per evaluation to their layer."""
        if self.module is None:
            return
        owners = {}
        for path, sub in self.module.named_modules():
            if type(sub) is nn.Linear:
                for pname in ("weight", "bias"):
                    p = getattr(sub, pname)
                    if p is not None:
                        owners[id(p)] = (sub, pname, path)
        calls: dict[int, int] = {}
        sizes = [1]

        def count(mod, inp, out):
            calls[id(mod)] = calls.get(id(mod), 0) + 1
            if isinstance(out, torch.Tensor):
                sizes.append(out.numel())

        handles = [m.register_forward_hook(count) for m in self.module.modules()]
        try:
            self.value()
        finally:
            for h in handles:
                h.remove()
        self._largest = max(sizes)
        used: dict[int, list[int]] = {}
        for k, t in enumerate(self.leaves):
            if id(t) in owners:
                used.setdefault(id(t), []).append(k)
        for k, t in enumerate(self.leaves):
            own = owners.get(id(t))
            if own is None or len(used[id(t)]) != 1 or calls.get(id(own[0]), 0) != 1:
                continue
            self._linear[k] = (own[0], own[1])
            self.paths[k] = own[2]
        for sub in {id(m): m for m, _ in self._linear.values()}.values():
            if not self._linear_verified(sub):
                for k in [k for k, (m, _) in self._linear.items() if m is sub]:
                    del self._linear[k]

    def _capture(self, sub: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
        seen = {}

        def hook(mod, inp, out):
            seen["a"], seen["z"] = inp[0].detach(), out.detach()

        h = sub.register_forward_hook(hook)
        try:
            self.value()
        finally:
            h.remove()
        return seen["a"], seen["z"]

    def _with_change(self, sub: nn.Module, dz: torch.Tensor | None, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` with ``dz`` added to ``sub``'s output (batched under vmap)."""
        def hook(mod, inp, out):
            return out + dz

        h = sub.register_forward_hook(hook)
        try:
            return fn()
        finally:
            h.remove()

    def _linear_verified(self, sub: nn.Module) -> bool:
        """A real step along a random direction of W and b moves the loss as the output change does.

        Both are the same function of the step when the layer's parameters reach the loss only
        through its output (exactly, up to rounding); a weight also used elsewhere (tied, read
        directly) makes them differ at first order.
        """
        rng = rng_from(20240)
        a, _ = self._capture(sub)
        W: torch.Tensor = sub.weight  # type: ignore[assignment]
        b: torch.Tensor | None = sub.bias  # type: ignore[assignment]
        U = torch.from_numpy(rng.standard_normal(tuple(W.shape))).to(W.dtype)
        u = torch.from_numpy(rng.standard_normal(tuple(b.shape))).to(b.dtype) if b is not None else None
        # A large step: both sides are the same function of it, so only rounding separates them,
        # while a second use of W separates them at first order.
        eps = (1e-3 if W.dtype == torch.float64 else 3e-2) * (float(W.detach().abs().max()) + 1e-3)
        real, shortcut = [], []
        tensors = [W] if b is None else [W, b]
        moves = [U] if u is None else [U, u]
        saved = [t.detach().clone() for t in tensors]
        with torch.no_grad():
            for s in (eps, -eps):
                for t, d in zip(tensors, moves):
                    t.add_(s * d)
                try:
                    real.append(self.value())
                finally:
                    for t, old in zip(tensors, saved):
                        t.copy_(old)
                dz = s * (a @ U.T) + (s * u if u is not None else 0.0)
                shortcut.append(float(self._with_change(sub, dz, lambda: self.call(False, None, None))))
        d_real, d_short = real[0] - real[1], shortcut[0] - shortcut[1]
        noise = 4 * NOISE_FACTOR * self.eps() * max(abs(real[0]), abs(real[1]), 1.0)
        return abs(d_real - d_short) <= 1e-6 * max(abs(d_real), abs(d_short)) + noise

    def eps(self) -> float:
        return float(torch.finfo(self.leaves[0].dtype).eps)

    # -- batched central differences ---------------------------------------------------
    def central_batch(self, k: int, idx: np.ndarray, h: float) -> dict[str, np.ndarray] | None:
        """Central differences of entries ``idx`` of leaf ``k``, batched; None to let the engine loop."""
        arr = self.arrays[k]
        if self._vmap_failed is not None or (k not in self._linear and arr.size > LOOP_SIZE and len(idx) > 64):
            return None
        old = arr.reshape(-1)[idx].copy()
        xp, xm = steps(old, h)
        try:
            fp = self._perturbed(k, idx, xp, old)
            fm = self._perturbed(k, idx, xm, old)
        except Exception as exc:  # noqa: BLE001 - any failure to batch: the engine evaluates one by one
            self._vmap_failed = _first_line(exc)
            self.notes.append(f"the numerical side was evaluated one perturbation at a time: torch.func.vmap could "
                              f"not batch this code ({self._vmap_failed}).")
            return None
        step = xp.astype(np.float64) - xm.astype(np.float64)
        numeric = (fp - fm) / step
        noise = NOISE_FACTOR * self.eps() * np.maximum(np.maximum(np.abs(fp), np.abs(fm)), self.scale) / step
        return {"numeric": numeric, "noise": noise, "fp": fp, "fm": fm, "step": step}

    scale = 0.0

    def _perturbed(self, k: int, idx: np.ndarray, new: np.ndarray, old: np.ndarray) -> np.ndarray:
        """The scalar with entry ``idx[b]`` of leaf ``k`` set to ``new[b]``, for every b."""
        leaf = self.leaves[k]
        out = np.empty(len(idx))
        dtype = leaf.dtype
        if k in self._linear:
            sub, pname = self._linear[k]
            a, z = self._capture(sub)
            t = torch.from_numpy(new.astype(np.float64) - old.astype(np.float64)).to(dtype)
            block = max(1, CHUNK_ELEMENTS // max(z.numel(), self._largest))
            J = z.shape[-1]
            for s in range(0, len(idx), block):
                ib, tb = torch.from_numpy(idx[s:s + block]), t[s:s + block]
                B = len(ib)
                dz = torch.zeros((B, *z.shape), dtype=dtype)
                rows = torch.arange(B)
                if pname == "weight":
                    j, i = ib // a.shape[-1], ib % a.shape[-1]
                    dz[rows, ..., j] = (a[..., i] * tb).movedim(-1, 0)
                else:
                    dz[rows, ..., ib % J] = tb.reshape((B,) + (1,) * (z.dim() - 1)).expand((B, *z.shape[:-1]))
                with torch.no_grad():
                    vals = torch.func.vmap(lambda d: self._with_change(sub, d, lambda: self.call(True, None, None)))(dz)
                out[s:s + B] = vals.detach().to(torch.float64).numpy()
            return out
        kind, key = self.slots[k]
        base = leaf.detach()
        block = max(1, CHUNK_ELEMENTS // max(base.numel(), self._largest))
        newt = torch.from_numpy(np.asarray(new)).to(dtype)
        for s in range(0, len(idx), block):
            ib = torch.from_numpy(idx[s:s + block])
            B = len(ib)
            V = base.reshape(1, -1).repeat(B, 1)
            V[torch.arange(B), ib] = newt[s:s + B]
            V = V.reshape((B, *base.shape))
            if kind == "param":
                fn = lambda v: self.call(True, {key: v}, None)  # noqa: E731
            else:
                fn = lambda v: self.call(True, None, {key: v})  # noqa: E731
            with torch.no_grad():
                vals = torch.func.vmap(fn)(V)
            out[s:s + B] = vals.detach().to(torch.float64).numpy()
        return out

    def problem(self) -> Problem:
        return Problem(list(self.names), self.arrays, self.value, None, self.gradient, eps=self.eps(),
                       scale=self.scale, subject="the function", batched=self.central_batch)


# -- building subjects ------------------------------------------------------------------------
def cross_entropy(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of logits ``z`` (N, C) against labels ``y`` (N,): ``mean(logsumexp(z_n) - z_n[y_n])``.

    The same number as ``F.cross_entropy(z, y)``, written with ops that vmap batches natively
    (its ``nll_loss`` is batched by decomposition, which costs seconds of set-up per process).
    """
    if z.dim() != 2 or y.dim() != 1 or len(z) != len(y):
        raise ProtocolError(f"cross-entropy needs logits (N, C) and labels (N,); the module returned "
                            f"{tuple(z.shape)} for labels {tuple(y.shape)}.")
    return (torch.logsumexp(z, -1) - z.gather(-1, y[:, None])[:, 0]).mean()


def _plain_cross_entropy(loss_fn: Any) -> bool:
    """``nn.CrossEntropyLoss()`` with its defaults (mean, no weights, no smoothing, no ignored label)."""
    return (type(loss_fn) is nn.CrossEntropyLoss and loss_fn.reduction == "mean" and loss_fn.weight is None
            and loss_fn.label_smoothing == 0.0 and loss_fn.ignore_index == -100)


def _as_tensor(v: Any, what: str) -> torch.Tensor:
    if isinstance(v, torch.Tensor):
        return v
    try:
        return torch.as_tensor(np.asarray(v))
    except (TypeError, ValueError):
        raise InvalidArgument(f"{what} must be an array or a tensor; got {type(v).__name__}.") from None


def _copy_module(module: nn.Module, dtype: torch.dtype | None) -> nn.Module:
    try:
        work = copy.deepcopy(module)
    except Exception as exc:  # noqa: BLE001
        raise InvalidArgument(f"the module cannot be copied ({_first_line(exc)}); netdoctor checks a copy so that "
                              "yours stays as it is: keep files and locks out of the module.") from exc
    for p in list(work.parameters()) + list(work.buffers()):
        if p.device.type != "cpu":
            raise InvalidArgument(f"the module has tensors on {p.device}; gradient checks run on the CPU: pass "
                                  "module.cpu() (a copy is checked either way).")
    if dtype is not None:
        work = work.to(dtype)
    return work


def _inputs(x: Any) -> tuple[list[Any], dict[str, Any], list[tuple[str, Any, str]]]:
    """Positional args, keyword args and the (slot kind, key, name) of every tensor in ``x``.

    ``x`` is one tensor (``f(x)``), a list/tuple (``f(*x)``) or a dict (``f(**x)``);
    NumPy arrays among them become tensors.
    """
    conv = lambda v: torch.from_numpy(np.array(v)) if isinstance(v, np.ndarray) else v  # noqa: E731
    if isinstance(x, Mapping):
        kwargs = {str(k): conv(v) for k, v in x.items()}
        return [], kwargs, [("kw", k, k) for k, v in kwargs.items() if isinstance(v, torch.Tensor)]
    if isinstance(x, (list, tuple)):
        args = [conv(v) for v in x]
        return args, {}, [("pos", i, f"x[{i}]") for i, v in enumerate(args) if isinstance(v, torch.Tensor)]
    return [_as_tensor(x, "x")], {}, [("pos", 0, "x")]


def _checked_inputs(args, kwargs, slots) -> tuple[list[tuple[str, Any, str]], str | None]:
    """The input tensors to check, and a note when the choice needs saying."""
    get = lambda s: args[s[1]] if s[0] == "pos" else kwargs[s[1]]  # noqa: E731
    floating = [s for s in slots if _floating(get(s))]
    wanted = [s for s in floating if get(s).requires_grad]
    if wanted:
        held = [s[2] for s in floating if s not in wanted]
        return wanted, (f"inputs checked: those with requires_grad=True; {', '.join(held)} held constant." if held
                        else None)
    return floating, None


def _reducer(seed: Any, notes: list[str]) -> Callable[[Any], torch.Tensor]:
    """``out -> scalar``: a scalar as it is; tensors through ``sum(r * out)`` with fixed seeded weights."""
    weights: list[torch.Tensor] = []

    def reduce(out: Any) -> torch.Tensor:
        outs = [o for o in (out if isinstance(out, (tuple, list)) else (out,)) if _floating(o)]
        if not outs:
            raise ProtocolError(f"the function returned {type(out).__name__}; expected a tensor (or a tuple of tensors).")
        if len(outs) == 1 and outs[0].numel() == 1 and not weights:
            return outs[0].reshape(())
        if not weights:
            rng = rng_from(seed)
            for o in outs:
                weights.append(torch.from_numpy(rng.standard_normal(tuple(o.shape))).to(o.dtype))
            shapes = ", ".join(str(tuple(o.shape)) for o in outs)
            note = (f"the output {shapes} is reduced to the scalar sum(r * out) with fixed random weights r ~ N(0, 1) "
                    "(seeded): its gradient is the vector-Jacobian product backward computes for the upstream "
                    "gradient r, so every entry of a wrong backward shows.")
            if note not in notes:
                notes.append(note)
        return sum((o * w).sum() for o, w in zip(outs, weights))

    return reduce


def _function_call(fn: Any, module: nn.Module | None, args: list[Any], kwargs: dict[str, Any],
                   reduce: Callable[[Any], torch.Tensor]) -> Callable[..., torch.Tensor]:
    """``call(numeric, params, replace)`` for a function, a module or a Function class."""
    forward = None
    if is_function_class(fn):
        # New-style Functions (own setup_context) take no ctx in forward; old-style ones get a stand-in.
        own_ctx = fn.setup_context is not torch.autograd.Function.setup_context

        def forward(*a):
            return fn.forward(*a) if own_ctx else fn.forward(_Ctx(len(a)), *a)

    def call(numeric: bool, params: dict | None, replace: dict | None) -> torch.Tensor:
        a, kw = list(args), dict(kwargs)
        for key, v in (replace or {}).items():
            if isinstance(key, int):
                a[key] = v
            else:
                kw[key] = v
        if module is not None and params:
            out = torch.func.functional_call(module, params, tuple(a), kw)
        elif forward is not None:
            out = forward(*a) if numeric else fn.apply(*a)
        else:
            out = (module if module is not None else fn)(*a, **kw)
        return reduce(out)

    return call


def _subject_for_function(fn: Any, x: Any, dtype: torch.dtype | None, seed: Any, notes: list[str]
                          ) -> tuple[TorchSubject, str | None]:
    module = _copy_module(fn, dtype) if isinstance(fn, nn.Module) else None
    args, kwargs, slots = _inputs(x)
    checked, note = _checked_inputs(args, kwargs, slots)
    names, leaves, leaf_slots = [], [], []
    # Working copies of every tensor input (never the user's), float64 unless told otherwise.
    for kind, key, name in slots:
        v = args[key] if kind == "pos" else kwargs[key]
        w = v.detach().clone()
        if dtype is not None and w.is_floating_point():
            w = w.to(dtype)
        if (kind, key, name) in checked:
            w.requires_grad_(True)
            names.append(name)
            leaves.append(w)
            leaf_slots.append(("arg", key))
        if kind == "pos":
            args[key] = w
        else:
            kwargs[key] = w
    if module is not None:
        for pname, p in module.named_parameters():
            if p.requires_grad:
                names.append(pname)
                leaves.append(p)
                leaf_slots.append(("param", pname))
    if not leaves:
        raise InvalidArgument("nothing to check: no floating-point input tensor and no parameter that requires grad.")
    subject = TorchSubject(names, leaves, _function_call(fn, module, args, kwargs, _reducer(seed, notes)),
                           leaf_slots, module)
    if is_function_class(fn):
        # Autograd names a Function's inputs by position: map them to the checked tensors.
        subject.function_inputs = {key: k for k, (kind, key) in enumerate(leaf_slots) if kind == "arg"}
    return subject, note


def _subject_for_module(module: nn.Module, X: Any, y: Any, loss_fn: Any, dtype: torch.dtype | None,
                        train: bool | None) -> TorchSubject:
    work = _copy_module(module, dtype)
    if train is not None:
        work.train(train)
    Xt = _as_tensor(X, "X").detach().clone()
    if _floating(Xt):
        Xt = Xt.to(dtype if dtype is not None else next((p.dtype for p in work.parameters()), Xt.dtype))
    yt = _as_tensor(y, "y").detach().clone()
    if not yt.is_floating_point():
        yt = yt.long()
    loss = cross_entropy if loss_fn is None or _plain_cross_entropy(loss_fn) else loss_fn
    names, leaves, slots = [], [], []
    for pname, p in work.named_parameters():
        if p.requires_grad:
            names.append(pname)
            leaves.append(p)
            slots.append(("param", pname))
    if not leaves:
        raise InvalidArgument("the module has no parameter that requires grad; nothing to check.")

    def call(numeric: bool, params: dict | None, replace: dict | None) -> torch.Tensor:
        out = torch.func.functional_call(work, params, (Xt,)) if params else work(Xt)
        value = loss(out, yt)
        if not isinstance(value, torch.Tensor) or value.numel() != 1:
            raise ProtocolError(f"the loss returned {type(value).__name__} of shape {tuple(getattr(value, 'shape', ()))}; "
                                "expected one number (reduction='mean' or 'sum').")
        return value.reshape(())

    subject = TorchSubject(names, leaves, call, slots, work)
    subject.scale = 1.0
    return subject


# -- running a check -----------------------------------------------------------------------------
def _checked(make: Callable[[torch.dtype | None], TorchSubject], dtypes: set[torch.dtype], notes: list[str]
             ) -> tuple[TorchSubject, str]:
    """Build and evaluate the subject in float64; fall back to the code's own dtype when it refuses.

    Returns the subject and the dtype name the check runs in (``"float64"`` or ``"float32"``).
    """
    low = sorted(str(d).replace("torch.", "") for d in dtypes if d != torch.float64)
    try:
        subject = make(torch.float64)
        with torch.no_grad():
            out = subject.call(False, None, None)
        if out.dtype == torch.float64:
            if low:
                notes.append(f"{', '.join(low)} tensors were copied to float64 for the check (the code computes in "
                             "float64 on the copies), so the float32 rounding of your code is not judged.")
            return subject, "float64"
        why = f"the code computes in {str(out.dtype).replace('torch.', '')} even on float64 copies"
    except (InvalidArgument, ProtocolError):
        raise
    except Exception as exc:  # noqa: BLE001 - float64 copies refused (mixed dtypes): check the code as it is
        cause: BaseException = exc.__cause__ if isinstance(exc, UserCodeError) and exc.__cause__ is not None else exc
        why = f"the code does not run on float64 copies ({_first_line(cause)})"
    subject = make(None)
    dtype = "float64" if subject.leaves[0].dtype == torch.float64 else "float32"
    if dtype == "float32":
        notes.append(f"{why}: checked in float32 with float32 steps and tolerances, judged against the loss's "
                     "measured roundoff.")
    return subject, dtype


def _run_subject(subject: TorchSubject, opts: Options, run: Callable, notes: list[str], *, dtype: str,
                 batch_size: int | None, what: str) -> GradcheckResult:
    from netdoctor.gradients.model import _same_as

    f0 = subject.value()
    if not math.isfinite(f0):
        raise InvalidArgument(f"{what} is {f0} at this point; gradients of a non-finite loss cannot be checked.")
    if subject.value() != f0:
        notes.append(f"{what} returned different values for identical calls (dropout, sampling): a random function "
                     "cannot be checked by finite differences; put the module in eval() or switch the randomness off.")
    analytic = subject.gradient()
    problems: list[str | None] = [subject.shape_problems.get(k) for k in range(len(subject.names))]
    subject.find_linear_layers()
    same_as = _same_as({n: object() for n in subject.names}, dict(zip(subject.names, analytic)))
    chosen = "central" if opts.method in ("auto", "complex") else opts.method
    if opts.method == "complex":
        notes.append("the complex step is not used for PyTorch code (relu, max and most kernels are not analytic); "
                     "central differences instead.")
    at = len(notes)
    result = run(subject.problem(), analytic, problems, f0, opts, chosen, notes, batch_size=batch_size, dtype=dtype,
                 same_as=same_as)
    for t in result.tensors:
        k = subject.names.index(t.name)
        if k in subject.none_grads and not t.ok:
            t.hint = (f"autograd returns no gradient at all for {t.name} although the loss depends on it: it is cut "
                      "off from the loss by .detach(), .data, torch.no_grad() or a NumPy round trip in the forward pass")
    if opts.method == "auto":
        result.notes.insert(at, checked_note("auto chose central differences", result.tensors, opts.max_coords))
    shortcut = sorted({subject.paths[k] for k in subject._linear})
    how = ("vmap-batched" if subject._vmap_failed is None else "one perturbation at a time")
    result.context.update(path=f"torch ({how})", linear_shortcut=shortcut)
    return result


def check_function(fn: Any, x: Any, opts: Options, run: Callable) -> GradcheckResult:
    """Gradient check of a torch function, module or ``autograd.Function`` class at ``x`` (see module doc)."""
    if not callable(fn):
        raise InvalidArgument(f"f must be a callable, an nn.Module or an autograd.Function class; got {type(fn).__name__}.")
    notes: list[str] = []
    values = x.values() if isinstance(x, Mapping) else x if isinstance(x, (list, tuple)) else [x]
    dtypes = {v.dtype for v in values if isinstance(v, torch.Tensor) and v.is_floating_point()}
    if isinstance(fn, nn.Module):
        dtypes |= {p.dtype for p in fn.parameters()}
    chosen: list[str | None] = []

    def make(dtype):
        subject, note = _subject_for_function(fn, x, dtype, opts.seed if isinstance(opts.seed, int) else 0, notes)
        chosen[:] = [note]
        return subject

    with torch.random.fork_rng(devices=[]):
        subject, dtype = _checked(make, dtypes, notes)
        notes.extend(n for n in chosen if n)
        result = _run_subject(subject, opts, run, notes, dtype=dtype, batch_size=None, what="the function")
    result.notes.extend(n for n in subject.notes if n not in result.notes)
    return result


def check_module(module: nn.Module, X: Any, y: Any, opts: Options, run: Callable, *, loss_fn: Any = None,
                 train: bool | None = None) -> GradcheckResult:
    """Gradient check of ``loss_fn(module(X), y)`` (default cross-entropy on logits) over the module's parameters."""
    notes: list[str] = []
    dtypes = {p.dtype for p in module.parameters()}
    with torch.random.fork_rng(devices=[]):
        subject, dtype = _checked(lambda d: _subject_for_module(module, X, y, loss_fn, d, train), dtypes, notes)
        result = _run_subject(subject, opts, run, notes, dtype=dtype, batch_size=len(X), what="the loss")
    result.notes.extend(n for n in subject.notes if n not in result.notes)
    return result

