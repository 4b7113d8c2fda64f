"""Do the examples of a batch interact? A probe on a private copy of the user's model.

Row 0 of the model's output must depend on row 0 of the input only. The probe
runs a deep copy of the model (the user's hooks removed, dropout switched
off: its per-element noise is not an interaction) on two batches of the
same size drawn from a real training batch, ``B = rows 0..n-1`` and
``B' = row 0 + other rows``, and compares row 0 of every submodule's output
between the two runs. The first module (in completion order, so the
innermost) whose row-0 input is the same in both runs but whose row-0 output
differs is where the rows meet: batch norm in training mode (expected: it
normalises over the batch) or anything else (a bug: normalisation over the
batch axis, a reshape that mixes rows). When a module's input already
differs, the mixing happened in functional code of its parent's forward.

Randomness inside the forward pass that is not a module (``F.dropout(x, p,
training=self.training)``, ``F.dropout(x, p)``, noise from ``torch.randn_like``)
would make the two runs differ in row 0 by chance alone. Both runs therefore
start from the same generator state (the same seed inside the fork), so
row 0 draws the same mask in both: the two batches have the same shape, and
row 0 comes first in each.

The copy runs under ``torch.no_grad()`` inside ``torch.random.fork_rng`` and
:func:`netdoctor.observe.isolation.quietly`, so neither the user's model, its
batch-norm running statistics, the random generators (torch's, NumPy's,
Python's), its output nor its files are touched.
"""

from __future__ import annotations

import copy
import random
from typing import Any

import numpy as np

from netdoctor.buffers.peek import own_dict
from netdoctor.observe.isolation import kept, namespaces_of, quietly
from netdoctor.observe.torch import tree

__all__ = ["probe_batch_leak", "LEAK_RTOL", "LEAK_SEED"]

LEAK_SEED = 0x1EA4
"""Seed of the generator at the start of each probe run (inside the fork: the program's generator is restored after)."""
LEAK_RTOL = 1e-4
"""Relative change of row 0's output that counts as interaction (float32 rounding of a row is ~1e-7)."""

_HOOK_DICTS = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks",
               "_forward_hooks_with_kwargs", "_forward_hooks_always_called", "_forward_pre_hooks_with_kwargs",
               "_state_dict_hooks", "_load_state_dict_pre_hooks")


def _rows(value: Any, torch: Any, n: int) -> list[Any]:
    if issubclass(type(value), torch.Tensor):
        return [value.detach()[0].float().clone()] if value.dim() and value.shape[0] == n and value.is_floating_point() else []
    if issubclass(type(value), (tuple, list)):
        return [r for v in value for r in _rows(v, torch, n)]
    return []


def _differs(a: list[Any], b: list[Any], torch: Any) -> float:
    """Largest relative difference between matching row tensors (0 when equal, inf when they do not match up)."""
    if len(a) != len(b):
        return float("inf")
    worst = 0.0
    for x, y in zip(a, b):
        if x.shape != y.shape:
            return float("inf")
        scale = float(x.abs().max()) if x.numel() else 0.0
        d = float((x - y).abs().max()) if x.numel() else 0.0
        worst = max(worst, d / max(scale, 1e-12))
    return worst


def _run_twice(clone: Any, batches: list[tuple], kwargs: dict, cuda: list[int], n: int) -> list[list[tuple[Any, list, list]]]:
    """Per batch, (submodule, its row-0 inputs, its row-0 outputs) in completion order, from the same generator state."""
    import torch

    records: list[list[tuple[Any, list, list]]] = [[], []]
    run = [0]

    def capture(sub: Any, inp: tuple, out: Any) -> None:
        records[run[0]].append((sub, _rows(inp, torch, n), _rows(out, torch, n)))

    handles = [sub.register_forward_hook(capture) for sub in tree.modules(clone)]
    try:
        # quietly(): the copy's prints and log records dropped, NumPy's and Python's random states put back, files
        # never written; kept(): a counter the forward keeps on its class or module is as the program left it
        with torch.random.fork_rng(devices=cuda), torch.no_grad(), quietly(), \
                kept(namespaces_of({}, list(tree.modules(clone)))):
            np_state, py_state = np.random.get_state(), random.getstate()
            for k, args in enumerate(batches):
                run[0] = k
                # The same draws in both runs (random masks are no interaction), on the generators forked above only;
                # NumPy's and Python's global states too (noise drawn with np.random in a forward: quietly() puts them
                # back after both runs)
                torch.default_generator.manual_seed(LEAK_SEED)
                np.random.set_state(np_state)
                random.setstate(py_state)
                for d in cuda:
                    with torch.cuda.device(d):
                        torch.cuda.manual_seed(LEAK_SEED)
                clone(*args, **kwargs)
    finally:
        for h in handles:
            h.remove()
    return records


def probe_batch_leak(module: Any, args: tuple, kwargs: dict, names: dict[int, str]) -> dict[str, Any] | None:
    """Compare row 0 of every submodule's output between two batches sharing only row 0.

    Args:
        module: the user's model (not modified).
        args, kwargs: the arguments of one of its training calls (tensors with a batch axis).
        names: id(module) -> dotted name in the user's model.

    Returns:
        None when the call cannot be probed (no batch of >= 4 rows, tensor
        keyword arguments); else ``leak`` (bool), ``module`` / ``module_type``
        (where the rows meet), ``batchnorm`` (it is batch norm in training
        mode), ``functional_in`` (the parent whose own code mixed them),
        ``rel_diff`` and ``rows``.
    """
    import torch

    tensors = [a for a in args if issubclass(type(a), torch.Tensor)]
    if not tensors or any(issubclass(type(v), torch.Tensor) for v in kwargs.values()):
        return None
    N = tensors[0].shape[0] if tensors[0].dim() else 0
    if N < 4 or any(t.dim() == 0 or t.shape[0] != N for t in tensors):
        return None
    n = min(8, N // 2)
    idx_a = torch.arange(n)
    idx_b = torch.cat([torch.zeros(1, dtype=torch.long), torch.arange(N - n + 1, N)])

    def batch(idx: Any) -> tuple:
        return tuple(a.detach()[idx.to(a.device)].clone() if issubclass(type(a), torch.Tensor) else a for a in args)

    # A torch.compile'd model (OptimizedModule) is probed through the module it wraps, and a copy of a model compiled
    # in place (model.compile()) runs uncompiled: a probe must not make Dynamo compile a second model.
    module = getattr(module, "_orig_mod", module) if type(module).__name__ == "OptimizedModule" else module
    # The copy, its set-up and its runs go through the classes' own attribute hooks (deepcopy asks __deepcopy__,
    # __reduce_ex__, ...): a counter they keep is put back as the program left it.
    with kept(namespaces_of({}, list(tree.modules(module)))):
        clone = copy.deepcopy(module)
        bn_type = torch.nn.modules.batchnorm._BatchNorm
        drop_type = torch.nn.modules.dropout._DropoutNd
        orig_names = {}
        for (name, sub), (_, orig) in zip(tree.named_modules(clone), tree.named_modules(module)):
            state = own_dict(sub) or {}
            for attr in _HOOK_DICTS:
                d = state.get(attr)
                if d is not None:
                    d.clear()
            if state.get("_compiled_call_impl") is not None:
                state["_compiled_call_impl"] = None
            if issubclass(type(sub), drop_type):
                state["training"] = False  # set directly: Module.eval() is watched, and dropout noise is no interaction
            orig_names[id(sub)] = names.get(id(orig)) or name or type(orig).__name__
        cuda = sorted({t.device.index or 0 for t in tensors if t.device.type == "cuda"})
        records = _run_twice(clone, [batch(idx_a), batch(idx_b)], kwargs, cuda, n)
    a, b = records
    if len(a) != len(b) or not a:
        return None
    result: dict[str, Any] = {"leak": False, "rows": n, "module": None, "module_type": None, "batchnorm": False,
                              "functional_in": None, "rel_diff": 0.0}
    for (sub, in_a, out_a), (_, in_b, out_b) in zip(a, b):
        d_out = _differs(out_a, out_b, torch)
        if d_out <= LEAK_RTOL:
            continue
        d_in = _differs(in_a, in_b, torch)
        result.update(leak=True, module=orig_names.get(id(sub)), module_type=type(sub).__name__, rel_diff=d_out,
                      batchnorm=issubclass(type(sub), bn_type) and tree.is_training(sub))
        if d_in > LEAK_RTOL:
            # The rows already differ on the way in: mixed by code in a parent's forward, not by a submodule.
            parent = next((p for p in tree.modules(clone) if any(c is sub for c in tree.children(p))), None)
            result["functional_in"] = orig_names.get(id(parent)) if parent is not None else None
        break
    return result
