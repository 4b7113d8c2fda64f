"""The observer's walks of a PyTorch model (netdoctor.observe.torch.tree) against nn.Module's own methods."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402

from netdoctor.observe.torch import tree  # noqa: E402


def _model() -> nn.Module:
    """Nested containers, a submodule registered twice, a None submodule and a None parameter."""
    shared = nn.Linear(4, 4)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Sequential(shared, nn.Dropout(0.2), shared), nn.Linear(4, 2))
    model.head = nn.ModuleDict({"a": nn.Linear(2, 2), "b": shared})
    model.register_module("missing", None)
    model[0].register_parameter("unused", None)
    model.scale = nn.Parameter(torch.ones(1))
    return model


def test_the_walks_give_what_nn_modules_methods_give_in_their_order():
    model = _model()
    assert [(n, id(m)) for n, m in tree.named_modules(model)] == [(n, id(m)) for n, m in model.named_modules()]
    assert [id(m) for m in tree.modules(model)] == [id(m) for m in model.modules()]
    assert [id(m) for m in tree.children(model)] == [id(m) for m in model.children()]
    assert [(n, id(p)) for n, p in tree.named_parameters(model)] == [(n, id(p)) for n, p in model.named_parameters()]
    assert [id(p) for p in tree.parameters(model)] == [id(p) for p in model.parameters()]
    assert [id(p) for p in tree.parameters(model, recurse=False)] == [id(p) for p in model.parameters(recurse=False)]
    assert tree.contains(model, model[2][0]) and not tree.contains(model[2], model[0])


def test_the_mode_is_the_modules_own():
    model = _model()
    model.eval()
    assert [tree.is_training(m) for m in tree.modules(model)] == [False] * len(list(model.modules()))
    model[2].train()
    assert [tree.is_training(m) for m in tree.modules(model)] == [m.training for m in model.modules()]
