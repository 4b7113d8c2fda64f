"""Which models the program has: discovery of modules, their names, and which model is judged.

:class:`ModelRegistry` is the part of :class:`~netdoctor.observe.torch.watch.TorchWatch`
that knows the program's modules: a module met for the first time in the
forward hook is *discovered* (its class, where it was built, whether it is
a model, i.e. a root holding parameters, its dropout and batch-norm
layers); parameters and submodules are named as the program's model names
them (``fc1.weight``, ``MLP #2.fc1.weight`` when there are several models,
the program's variable names for loose tensors); and models trained and then
replaced by a later one (a sanity check) are told apart from the judged one.
"""

from __future__ import annotations

import sys
import weakref
from types import FrameType
from typing import Any

from netdoctor.observe.torch import tree
from netdoctor.observe.torch.models import ModelBook
from netdoctor.observe.torch.records import ModInfo, OptInfo, ParamInfo
from netdoctor.observe.torch.sites import UserSites

__all__ = ["ModelRegistry"]

_COMPILED = "_orig_mod."
"""The prefix torch.compile's OptimizedModule puts before the names of the model it wraps (left out of ours)."""


class ModelRegistry:
    """The program's modules and their names (see the module docstring).

    Args:
        torch: the torch module.
        sites: which files are the user's.
        params, opts: the watch's parameter and optimizer records (names are written into ``params``; the tensors
            optimizers hold outside any model are named too).
    """

    def __init__(self, torch: Any, sites: UserSites, params: dict[int, ParamInfo], opts: dict[int, OptInfo]) -> None:
        self.torch = torch
        self.sites = sites
        self.params = params
        self.opts = opts
        self.mods: dict[int, ModInfo] = {}
        """id(module) -> its record, for every module the program called."""
        self.param_owner: dict[int, int] = {}
        """id(parameter) -> id of the module holding it directly."""
        self.book = ModelBook(sites.user_frame, lambda f: sites.name(f.f_code.co_filename, f.f_lineno))
        self.version = 0
        """Bumped when the models or the loose tensors' names change (the names are cached per version)."""
        self._names_cache: tuple[int, dict[int, str], dict[int, str]] | None = None
        self._call_codes: set[Any] | None = None

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
        if self._names_cache and self._names_cache[0] == self.version:
            return self._names_cache[1], self._names_cache[2]
        pnames: dict[int, str] = {}
        mnames: dict[int, str] = {}
        roots = self.roots()
        for info, m in roots:
            prefix = f"{self.label(info).replace(' ', '')}." if len(roots) > 1 else ""
            for n, p in tree.named_parameters(m):
                pnames.setdefault(id(p), prefix + n.removeprefix(_COMPILED))
            for n, sub in tree.named_modules(m):
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
        self._names_cache = (self.version, pnames, mnames)
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
        # A later model replaces an earlier one whether an optimizer trains it or (the bug) none holds it.
        starts = [j.first_step for j in trained.values()] + [models[k].orphan_first for k in out]
        for k, i in trained.items():
            if not any(s > i.last_step for s in starts):
                out.add(k)
        return out

    def discarded(self) -> list[ModInfo]:
        """Models trained for a while and then replaced by a model trained after them (a sanity check, an earlier attempt)."""
        judged = self.judged_roots()
        return [i for k, i in self.mods.items() if i.steps and k not in judged]

    def dropped_loose(self) -> set[int]:
        """Loose tensors (no model holds them) that updates held for a while and then left for loose tensors first held
        after them: a throwaway model of plain tensors (a sanity probe fitted to one batch), then the real one. Decided
        from the sampled steps that held each tensor, as :meth:`judged_roots` decides for models; ids of the dropped."""
        held = [(k, pi) for k, pi in self.params.items() if pi.root is None and pi.held_last]
        latest = max((pi.held_first for _, pi in held), default=0)
        return {k for k, pi in held if latest > pi.held_last}

    def start_step(self) -> int:
        """The first optimizer step of the models that are judged (earlier steps trained a model that was dropped)."""
        judged = self.judged_roots()
        firsts = [self.mods[k].first_step or self.mods[k].orphan_first for k in judged]
        start = min(firsts) if firsts and self.discarded() else 0
        dropped = self.dropped_loose()
        if dropped:
            kept = [pi.held_first for k, pi in self.params.items() if pi.root is None and pi.held_last and k not in dropped]
            start = max(start, min(kept, default=0))
        return start

    def module_name(self, key: int) -> str:
        info = self.mods.get(key)
        return self.names()[1].get(key) or (info.kind if info else "?")

    def discover(self, module: Any) -> ModInfo:
        torch = self.torch
        kind = type(module).__name__
        if kind == "OptimizedModule" and hasattr(module, "_orig_mod"):
            kind = f"{type(module._orig_mod).__name__} (torch.compile)"
        info = ModInfo(weakref.ref(module), kind, site=self.sites.site())
        built = self.book.of(module)
        if built is not None:
            info.built_at, info.seq = built.site, built.seq
        info.has_params = any(True for _ in tree.parameters(module))
        # Inside a model's first forward pass its submodules return, and are met, before it: a module called from a
        # module that holds it is no model either.
        outer = self.calling_root(module)
        if outer is not None and outer is not module:
            info.parent = True
        for sub in tree.modules(module):
            if sub is module:
                continue
            child = self.mods.get(id(sub))
            if child is not None and not child.parent:
                child.parent = True
        # A module seen later inside a known root is not a root either.
        for other in self.mods.values():
            m = other.ref()
            if m is not None and not other.parent and tree.contains(m, module):
                info.parent = True
                break
        self.mods[id(module)] = info
        if not info.parent and info.has_params:
            drop, bn = torch.nn.modules.dropout._DropoutNd, torch.nn.modules.batchnorm._BatchNorm
            for n, sub in tree.named_modules(module):
                if issubclass(type(sub), drop) and sub.p > 0:
                    info.norm_layers.append((n or info.kind, f"{type(sub).__name__}(p={sub.p:g})"))
                elif issubclass(type(sub), bn):
                    info.norm_layers.append((n or info.kind, type(sub).__name__))
        for p in tree.parameters(module, recurse=False):
            self.param_owner[id(p)] = id(module)
        info.nparams = sum(p.numel() for p in tree.parameters(module))
        self.version += 1
        return info

    def root_of(self, module: Any) -> int | None:
        """id of the model containing ``module``: a root module we know, or during a model's first forward pass (before
        its hook has met it) the outermost module being called that holds ``module``."""
        for _info, m in self.roots():
            if tree.contains(m, module):
                return id(m)
        outer = self.calling_root(module)
        return id(outer) if outer is not None else None

    def calling_root(self, module: Any) -> Any | None:
        """The outermost module whose call (``Module._call_impl``) is on the stack and holds ``module`` (itself
        included), or None. Read from the frames' locals: asked when a module is met for the first time, not per call."""
        calls = self._call_codes
        if calls is None:
            m = self.torch.nn.Module
            calls = self._call_codes = {getattr(m, n).__code__ for n in ("_call_impl", "_wrapped_call_impl") if hasattr(m, n)}
        mod_type, outer = self.torch.nn.Module, None
        f: FrameType | None = sys._getframe(1)
        while f is not None:
            if f.f_code in calls:
                s = f.f_locals.get("self")
                if issubclass(type(s), mod_type) and tree.contains(s, module):
                    outer = s
            f = f.f_back
        return outer

    def roots_holding(self, pids: set[int]) -> list[int]:
        """ids of the models some of whose parameters are in ``pids``."""
        return [id(m) for _info, m in self.roots() if any(id(p) in pids for p in tree.parameters(m))]
