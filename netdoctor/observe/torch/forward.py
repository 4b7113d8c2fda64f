"""What the program's forward passes do: :class:`ForwardRecorder`, one part of :class:`~netdoctor.observe.torch.watch.TorchWatch`.

A global module forward hook sees every ``nn.Module`` call: it discovers
modules (through the watch's :class:`~netdoctor.observe.torch.registry.ModelRegistry`),
counts calls with and without gradients and outputs cut from the graph,
keeps a reference to each output of the current forward pass (to name the
first non-finite one), and on sampled steps records activation statistics
(relu never firing, tanh/sigmoid in their flat ends) into the current
statistics window. A model called in train mode is followed to its backward
pass (evaluation in train mode), and the batch-leak probe runs once, on a
copy, at the first sampled training call after a step. Other recorders
listen through the watch's ``forward_listeners``.
"""

from __future__ import annotations

import time
import weakref
from collections import deque
from typing import TYPE_CHECKING, Any

from netdoctor.observe.torch import tree
from netdoctor.observe.torch.records import ModInfo

if TYPE_CHECKING:
    from netdoctor.observe.torch.watch import TorchWatch

__all__ = ["ForwardRecorder", "ACTIVATIONS"]

# grad_fn class name -> activation kind, for activations computed functionally (F.relu) or by modules.
ACTIVATIONS = {
    "ReluBackward0": "relu", "ReluBackward1": "relu", "ThresholdBackward0": "relu", "ThresholdBackward1": "relu",
    "HardtanhBackward0": "relu6", "HardtanhBackward1": "relu6", "TanhBackward0": "tanh", "SigmoidBackward0": "sigmoid",
    "GeluBackward0": "gelu", "SiluBackward0": "silu",
}


def _spread(a: Any) -> Any:
    """``a.std()`` (the sample standard deviation of every entry, a 0-d tensor) in two passes, the mean and then the
    norm of the deviations from it: ``||a - mean(a)|| / sqrt(n - 1)``. The same number to float rounding, at a fifth
    of the cost of PyTorch's ``std`` on a (128, 512) batch of activations on the CPU (measured 180 us against 35 us)."""
    n = a.numel()
    return a.sub(a.mean()).norm() / max(n - 1, 1) ** 0.5


class ForwardRecorder:
    """The forward hook and what it records (see the module docstring).

    Args:
        watch: the :class:`~netdoctor.observe.torch.watch.TorchWatch` it belongs to (its step bookkeeping and models).
    """

    def __init__(self, watch: TorchWatch) -> None:
        self.w = watch
        self.outputs: deque = deque(maxlen=512)
        """(module, output) of the current forward pass, in completion order."""
        self._act_seen: dict[int, tuple[Any, tuple[int, str]]] = {}
        """id(tensor) -> (weak reference, statistics key): the reference tells a reused id from the same tensor."""
        self.act_window: dict[tuple[int, str], dict] = {}
        """The current statistics window's activation sums (tensors until the watch closes the window)."""
        self.output_keys: set[tuple[int, str]] = set()
        """Statistics keys of tensors that reached a loss (outputs, not hidden activations)."""
        self.train_eval_sites: dict[str, dict] = {}
        """User line of a model call in train mode -> calls under no_grad, with grad, and how many reached backward()."""
        self.nograd_pending: dict[int, tuple[int, list[Any]]] = {}
        """Model (id) -> (its call number, the records it counted): its latest forward pass in train mode under
        ``no_grad``. An optimizer step that trains the model before its next call was fed by that forward pass (its
        loss made to require grad): :meth:`settle` counts it as the step's forward, not an evaluation."""
        self.leak: dict | None = None
        self.leak_tried = False
        self.cut_sites: dict[str, int] = {}
        """User line -> calls of a module handed an input cut from the graph after earlier outputs of the same forward
        pass had gradients (see :meth:`_cut_input`)."""
        self._last_output: Any = None
        """Weak reference to the output of the latest forward pass of a model with gradients on."""
        torch = watch.torch
        self._mods = watch.models.mods
        self._is_compiling = torch.compiler.is_compiling
        self._grad_enabled = torch.is_grad_enabled
        self._tensor = torch.Tensor

    def last_output(self) -> Any:
        """The output of the latest forward pass of a model with gradients on, while it is alive (else None)."""
        return self._last_output() if self._last_output is not None else None

    def end_step(self) -> None:
        """A step ended: its outputs and measured tensors are no longer this forward pass's."""
        self.outputs.clear()
        self._act_seen.clear()

    def hook(self, module: Any, args: tuple, kwargs: dict, output: Any) -> None:
        # Called for every module call of the program (a deep model makes a hundred per step): the names it needs are
        # bound once in __init__ (each attribute chain or extra call here costs every step that much per module).
        # Inside torch.compile's tracing the hook is a no-op Dynamo folds away: no graph breaks, no warnings of ours.
        w = self.w
        if w.busy or self._is_compiling():
            return
        try:
            info = self._mods.get(id(module))
            if info is None or info.ref() is not module:
                info = w.models.discover(module)
            grad_on = self._grad_enabled()
            tensor = issubclass(type(output), self._tensor)
            if info.has_params:
                if grad_on:
                    info.calls_grad += 1
                    if tensor and not output.requires_grad and any(p.requires_grad for p in tree.parameters(module, recurse=False)):
                        info.out_cut += 1
                    if self.outputs and args and issubclass(type(args[0]), self._tensor) and not args[0].requires_grad:
                        self._cut_input(module)
                else:
                    info.calls_nograd += 1
            if tensor:
                self.outputs.append((module, output))
            if info.has_params and not info.parent:
                self._root_call(info, module, args, kwargs, output, grad_on)
            if grad_on and w.sample_now:
                t0 = time.perf_counter()
                self._activations(module, args, output)
                for listen in self.w.forward_listeners:
                    listen(module, args, kwargs, output)
                self.w.iter_cost += time.perf_counter() - t0
        except Exception as exc:  # noqa: BLE001 - never break the user's forward pass
            self.w.note_failure("forward hook", exc)

    def _cut_input(self, module: Any) -> None:
        """A module with parameters is handed an input cut from the graph (no gradient), while an earlier module of
        the same forward pass returned an output that had one: the user's line of this call is where the cut is
        consumed (``self.head(x.detach())``), counted in :attr:`cut_sites` (a few lines at most). The outputs of the
        module's own submodules, which return before it (a model handed its batch), came after its input: not earlier."""
        if len(self.cut_sites) >= 8 or not any(o.requires_grad for _, o in self.outputs):
            return
        last = self.outputs[-1][0]
        if any(sub is last for sub in tree.children(module)):
            return
        site = self.w.sites.site()
        if site is not None:
            self.cut_sites[site] = self.cut_sites.get(site, 0) + 1

    def _root_call(self, info: ModInfo, module: Any, args: tuple, kwargs: dict, output: Any, grad_on: bool) -> None:
        if grad_on:
            step = self.w.loss_step()
            if not info.grad_last or step - info.grad_last > 1:
                info.grad_run_first = step  # a step without a training call before: a new run of them begins
            info.grad_last = step
        if grad_on and issubclass(type(output), self._tensor):
            self._last_output = weakref.ref(output)
            if args:
                self.w.first_seen.note_forward(args[0], output, module, self.w.loss_step())
        if info.norm_layers and tree.is_training(module):
            site = self.w.sites.site() or info.site or "?"
            rec = self.train_eval_sites.setdefault(site, {"nograd": 0, "grad": 0, "backward": 0, "stepped": 0, "root": id(module)})
            if not grad_on:
                rec["nograd"] += 1
                self.pend_nograd(id(module), rec, inside=False)
            else:
                rec["grad"] += 1
                if issubclass(type(output), self.w.torch.Tensor) and output.requires_grad and rec["backward"] == 0:
                    # One-shot: does this training-mode forward pass ever reach a backward pass?
                    def seen(_g: Any, rec: dict = rec) -> None:
                        rec["backward"] += 1
                    output.register_hook(seen)
        if grad_on and self.w.sample_now and not self.leak_tried and self.w.steps >= 1:
            self.leak_tried = True
            t0 = time.perf_counter()
            from netdoctor.observe.torch.leak import probe_batch_leak

            # After torch.compile, the probe's copy runs eagerly: Dynamo compiling it would cost the program seconds.
            probe = self.w.torch.compiler.disable(probe_batch_leak, recursive=True) if self.w.compile_seen else probe_batch_leak
            self.w.busy = True
            try:
                self.leak = probe(module, args, kwargs, self.w.models.names()[1])
            except Exception as exc:  # noqa: BLE001 - a module we cannot copy or re-run is simply not probed
                self.w.note_failure("batch-leak probe", exc)
            finally:
                self.w.busy = False
            self.w.iter_cost += time.perf_counter() - t0

    def pend_nograd(self, root: int, rec: Any, inside: bool = True) -> None:
        """A record (a site's dict, a :class:`~netdoctor.observe.torch.calls.DropoutUse`) counted a call under
        ``no_grad`` in train mode of model ``root``'s forward pass: the one running (``inside``) or the one that just
        returned."""
        info = self._mods.get(root)
        call = (info.calls_grad + info.calls_nograd if info is not None else 0) + (1 if inside else 0)
        cur = self.nograd_pending.get(root)
        if cur is None or cur[0] != call:
            self.nograd_pending[root] = (call, [rec])
        elif len(cur[1]) < 64:
            cur[1].append(rec)

    def settle(self, roots: list[int]) -> None:
        """An optimizer step trains ``roots``: the pending no-grad forward pass of each, if it is the model's latest
        call, fed this step (counted as ``stepped``, not as an evaluation)."""
        for rid in roots:
            cur = self.nograd_pending.pop(rid, None)
            info = self._mods.get(rid)
            if cur is None or info is None or info.calls_grad + info.calls_nograd != cur[0]:
                continue
            for rec in cur[1]:
                if issubclass(type(rec), dict):
                    rec["stepped"] += 1
                else:
                    rec.nograd_stepped += 1

    def _activations(self, module: Any, args: tuple, output: Any) -> None:
        torch = self.w.torch
        cands = []
        # The activation's kind first (a dictionary look-up): most module calls (a Linear's output, a container's)
        # are no activation, and their submodules and parameters are then never walked.
        if issubclass(type(output), torch.Tensor) and output.grad_fn is not None:
            kind = ACTIVATIONS.get(type(output.grad_fn).__name__)
            if (kind is not None and not any(True for _ in tree.children(module))
                    and not any(True for _ in tree.parameters(module, recurse=False))):
                cands.append((output, "out", kind))
        if args and issubclass(type(args[0]), torch.Tensor) and args[0].grad_fn is not None:
            kind = ACTIVATIONS.get(type(args[0].grad_fn).__name__)
            if kind is not None and not any(True for _ in tree.children(module)):
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
            rec["std"].append(_spread(a.float()))
            rec["rows"] += int(a.shape[0])

    def seen_key(self, t: Any) -> tuple[int, str] | None:
        """The statistics key of a tensor already measured in this step (an id freed and reused by a new tensor is not)."""
        hit = self._act_seen.get(id(t))
        return hit[1] if hit is not None and hit[0]() is t else None
