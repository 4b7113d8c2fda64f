"""The layers of a PyTorch module as netdoctor's monitors read them: activations between parametrised modules.

:class:`~netdoctor.adapters.torch_model.TorchModel` calls :func:`layer_activations` for its ``activations(X)``:
forward hooks on the module's leaves record one eval-mode forward; the layers are the inputs of the second,
third, ... parametrised module (whatever activation, module or functional, sits between them), and the output
as the loss sees it (softmax of the logits for cross-entropy). Each layer is named by its activation module,
or, for a functional activation (``torch.relu`` in ``forward``) that leaves no module, by its values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from netdoctor.monitor.layer_stats import as_rows, infer_kind

__all__ = ["ACTIVATIONS", "parametrised_leaves", "layer_activations"]

ACTIVATIONS = {nn.Tanh: "tanh", nn.ReLU: "relu", nn.Sigmoid: "sigmoid", nn.LeakyReLU: "leaky_relu",
               nn.Identity: "identity", nn.Softmax: "softmax", nn.ReLU6: "relu", nn.ELU: "unknown",
               nn.GELU: "unknown", nn.SiLU: "unknown", nn.Softplus: "unknown"}
"""Activation modules the monitors know by name (saturation and dead-unit rules depend on it)."""


def parametrised_leaves(module: nn.Module) -> list[nn.Module]:
    """Leaf modules that own parameters (Linear, Conv, ...), in registration order."""
    return [m for m in module.modules() if next(m.children(), None) is None and
            any(True for _ in m.parameters(recurse=False))]


def layer_activations(module: nn.Module, forward: Callable[[], torch.Tensor], *,
                      cross_entropy: bool) -> tuple[list[np.ndarray], list[str]]:
    """Per-layer activations of one eval-mode ``forward()`` of ``module``, and each layer's activation name.

    Args:
        module: the module ``forward`` runs (its mode is restored afterwards).
        forward: runs the module on the batch and returns its output.
        cross_entropy: the loss applies a softmax: the output layer is the softmax of the logits.

    Returns:
        ``(activations, names)``: float64 copies, hidden layers then the output; names such as ``tanh``.
    """
    layered = set(map(id, parametrised_leaves(module)))
    calls: list[tuple[nn.Module, Any, Any]] = []

    def hook(mod, inp, out):
        calls.append((mod, inp[0] if inp and isinstance(inp[0], torch.Tensor) else None, out))

    leaves = [m for m in module.modules() if next(m.children(), None) is None]
    handles = [m.register_forward_hook(hook) for m in leaves]
    was = module.training
    module.eval()
    try:
        with torch.no_grad():
            out = forward()
    finally:
        for h in handles:
            h.remove()
        module.train(was)
    acts: list[np.ndarray] = []
    names: list[str | None] = []
    last_act: str | None = None
    seen_param = False
    for mod, inp, _ in calls:
        if id(mod) in layered:
            if seen_param and inp is not None:
                acts.append(inp.detach().to(torch.float64).numpy().copy())
                names.append(last_act)
            seen_param, last_act = True, None
        elif type(mod) in ACTIVATIONS:
            last_act = ACTIVATIONS[type(mod)]
    final = out.detach().to(torch.float64)
    if cross_entropy and final.dim() == 2:
        final = torch.softmax(final, dim=1)
        names.append("softmax")
    else:
        names.append(last_act)
    acts.append(final.numpy().copy())
    # Functional activations (torch.relu in forward) leave no module to name them: read them off the values.
    return acts, [n if n not in (None, "unknown") else infer_kind(as_rows(a, len(a)), output=i == len(acts) - 1)
                  for i, (n, a) in enumerate(zip(names, acts))]
