"""A module's submodules, parameters and mode, read without running any code of the program.

``module.parameters()``, ``module.modules()`` and ``module.training`` look their names up through the
module's class: a model whose class defines ``__getattribute__`` (a proxy, a logging aid, a counter) runs it
for each of them, and ``nn.Module``'s own walks look up ``self._modules`` and ``self._parameters`` through it at
every module they visit. Under ``netdoctor run`` that code would run where ``python`` never runs it. The
observer reads what ``nn.Module`` keeps in each instance's own ``__dict__`` instead (``_modules``,
``_parameters``, ``training``; see :func:`netdoctor.buffers.peek.own_dict`), which no code of the program can
intercept, and walks it as ``nn.Module`` does: submodules depth first, each once, in registration order;
parameters of each module once, ``None`` entries skipped.

PyTorch's own code still reads a module's attributes when it calls the module; with a global forward hook
installed it reads a few more (``Module._call_impl`` leaves its fast path): those are PyTorch's, not the observer's.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from netdoctor.buffers.peek import own_dict

__all__ = ["named_modules", "modules", "children", "named_parameters", "parameters", "is_training", "contains"]


def _slot(module: Any, name: str) -> dict:
    """``module.__dict__[name]`` (``_modules``, ``_parameters``), or an empty dict when the instance has none."""
    d = own_dict(module)
    got: Any = d.get(name) if d is not None else None
    return got if issubclass(type(got), dict) else {}


def children(module: Any) -> Iterator[Any]:
    """``module.children()``: the direct submodules, each once."""
    seen: set[int] = set()
    for sub in _slot(module, "_modules").values():
        if sub is not None and id(sub) not in seen:
            seen.add(id(sub))
            yield sub


def named_modules(module: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """``module.named_modules()``: (dotted name, module) of the module and every submodule, each once, depth first."""
    seen: set[int] = set()
    stack: list[tuple[str, Any]] = [(prefix, module)]
    while stack:
        name, m = stack.pop()
        if id(m) in seen:
            continue
        seen.add(id(m))
        yield name, m
        subs = [(f"{name}.{k}" if name else k, sub) for k, sub in _slot(m, "_modules").items() if sub is not None]
        stack.extend(reversed(subs))


def modules(module: Any) -> Iterator[Any]:
    """``module.modules()``."""
    for _, m in named_modules(module):
        yield m


def contains(module: Any, other: Any) -> bool:
    """``other`` is ``module`` or one of its submodules."""
    return any(m is other for m in modules(module))


def named_parameters(module: Any, recurse: bool = True) -> Iterator[tuple[str, Any]]:
    """``module.named_parameters(recurse=...)``: (dotted name, parameter), each parameter once."""
    seen: set[int] = set()
    for prefix, m in named_modules(module) if recurse else iter([("", module)]):
        for k, p in _slot(m, "_parameters").items():
            if p is not None and id(p) not in seen:
                seen.add(id(p))
                yield (f"{prefix}.{k}" if prefix else k), p


def parameters(module: Any, recurse: bool = True) -> Iterator[Any]:
    """``module.parameters(recurse=...)``."""
    for _, p in named_parameters(module, recurse):
        yield p


def is_training(module: Any) -> bool:
    """``module.training`` (True for an instance whose ``__dict__`` holds no mode: nn.Module's default)."""
    d = own_dict(module)
    return bool(d.get("training", True)) if d is not None else True
