"""Calls netdoctor makes on the program's behalf, and functional calls it records.

:class:`CallAs` calls a wrapped torch function *as if from the user's line*:
PyTorch's warnings use ``stacklevel=2`` ("the caller of ``F.mse_loss``"), and
with a wrapper in between that caller would be netdoctor's wrapper. A small
trampoline function whose code carries the caller's file, line and module
globals takes the wrapper's place, so the warning names the user's line, is
shown once per *that* line under Python's default filter, and obeys the
program's own ``warnings`` filters for its module.

:class:`FunctionalDropout` records ``F.dropout(x, p)`` calls made in the
program's own code (``nn.Dropout`` modules are seen through their module):
where they are, and whether they drop units while the model calling them is
in eval mode or runs under ``torch.no_grad()``. ``F.dropout``'s ``training``
argument defaults to True, so ``F.dropout(x, 0.5)`` in a ``forward`` keeps
dropping units after ``model.eval()``.
"""

from __future__ import annotations

import functools
import sys
import types
from collections.abc import Callable
from types import FrameType
from typing import Any

from netdoctor._lazy import dataclass
from netdoctor.observe.torch import tree

__all__ = ["CallAs", "FunctionalDropout", "DropoutUse", "DROPOUTS"]

DROPOUTS = ("dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout")
"""``torch.nn.functional`` dropouts whose ``training`` argument defaults to True (third positional argument)."""


class CallAs:
    """Call functions from a trampoline that carries a given frame's file, line and globals (cached per line)."""

    LIMIT = 512
    """Trampolines kept (one per calling line); beyond it, calls go through the plain path."""

    def __init__(self) -> None:
        self._cache: dict[tuple[types.CodeType, int], Callable[..., Any]] = {}

    def call(self, frame: FrameType, fn: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
        """``fn(*args, **kwargs)`` called from a function whose code sits at ``frame``'s file and line."""
        key = (frame.f_code, frame.f_lineno)
        tramp = self._cache.get(key)
        if tramp is None:
            if len(self._cache) >= self.LIMIT:
                return fn(*args, **kwargs)
            src = "\n" * (max(frame.f_lineno, 1) - 1) + "def _call(fn, args, kwargs): return fn(*args, **kwargs)\n"
            module = compile(src, frame.f_code.co_filename, "exec", dont_inherit=True)
            code = next(c for c in module.co_consts if isinstance(c, types.CodeType))
            # Named as the caller, so a traceback through it reads as the user's own line.
            code = code.replace(co_name=frame.f_code.co_name)
            tramp = self._cache[key] = types.FunctionType(code, frame.f_globals)
        return tramp(fn, args, kwargs)


@dataclass
class DropoutUse:
    """One line of the program that calls a functional dropout."""

    site: str
    function: str
    p: float
    root: int | None = None
    """id of the model whose forward it is in (None: not inside a model we know)."""
    calls: int = 0
    eval_calls: int = 0
    """Calls that dropped units while the calling module was in eval mode (``training`` left at its default)."""
    nograd_calls: int = 0
    """Calls that dropped units under ``torch.no_grad()`` (an evaluation in train mode)."""
    nograd_stepped: int = 0
    """Of those, calls in a forward pass that fed the optimizer step after it (the model trained from a forward pass
    under ``no_grad``, its loss made to require grad: that forward pass is the training step's, not an evaluation)."""


class FunctionalDropout:
    """Wrap ``torch.nn.functional``'s dropouts to record :class:`DropoutUse` per calling line.

    Args:
        site: frame -> ``file:line`` of the first user frame outwards (None: not the user's code).
        root_of: module -> id of the model (root module) containing it, or None.
        active: whether to record now (False while netdoctor itself runs the model).
    """

    def __init__(self, site: Callable[[FrameType], str | None], root_of: Callable[[Any], int | None], active: Callable[[], bool]) -> None:
        self.nograd_seen: Callable[[int, Any], None] | None = None
        """Told ``(model id, use)`` of a call under ``no_grad`` in train mode inside the model's forward pass (see
        :meth:`netdoctor.observe.torch.forward.ForwardRecorder.pend_nograd`)."""
        self.site = site
        self.root_of = root_of
        self.active = active
        self.uses: dict[str, DropoutUse] = {}
        self.mode_roots: dict[int, str] = {}
        """Models (ids) whose forward passes a functional dropout its ``training`` argument (``training=self.training``):
        its dropping then follows the model's mode, as an ``nn.Dropout`` does -> the call's line."""
        self._mode_modules: set[int] = set()
        self.errors: list[str] = []

    def wrap(self, name: str, orig: Callable[..., Any], torch: Any) -> Callable[..., Any]:
        torch_file = sys.modules[orig.__module__].__file__

        @functools.wraps(orig)
        def dropout(*args: Any, **kwargs: Any) -> Any:
            if self.active():
                try:
                    self._record(name, sys._getframe(1), torch_file, args, kwargs, torch)
                except Exception as exc:  # noqa: BLE001 - never break the user's forward pass
                    if len(self.errors) < 5:
                        self.errors.append(f"{name} wrapper: {type(exc).__name__}: {exc}")
            return orig(*args, **kwargs)

        return dropout

    def _record(self, name: str, caller: FrameType, torch_file: str | None, args: tuple, kwargs: dict, torch: Any) -> None:
        if caller.f_code.co_filename == torch_file or caller.f_globals.get("__name__", "").startswith("torch."):
            return  # nn.Dropout's forward: the module is watched as a module
        p = args[1] if len(args) > 1 else kwargs.get("p", 0.5)
        training = args[2] if len(args) > 2 else kwargs.get("training", True)
        if (len(args) > 2 or "training" in kwargs) and issubclass(type(p), (int, float)) and p > 0:
            self._follows_mode(caller, torch)
        if not (training and issubclass(type(p), (int, float)) and p > 0):
            return
        site = self.site(caller)
        if site is None:
            return
        use = self.uses.get(site)
        owner = caller.f_locals.get("self")
        module = owner if issubclass(type(owner), torch.nn.Module) else None
        if use is None:
            use = self.uses[site] = DropoutUse(site, name, float(p), self.root_of(module) if module is not None else None)
        elif use.root is None and module is not None:
            use.root = self.root_of(module)  # the model is known once its first forward pass has returned
        use.calls += 1
        if module is not None and not tree.is_training(module):
            use.eval_calls += 1
        elif not torch.is_grad_enabled():
            use.nograd_calls += 1
            root = use.root if use.root is not None else (self.root_of(module) if module is not None else None)
            if root is not None and self.nograd_seen is not None:
                self.nograd_seen(root, use)

    def _follows_mode(self, caller: FrameType, torch: Any) -> None:
        """A call passed ``training``: note the model of the calling module's forward (once per module) in :attr:`mode_roots`."""
        owner = caller.f_locals.get("self")
        if not issubclass(type(owner), torch.nn.Module) or id(owner) in self._mode_modules:
            return
        root = self.root_of(owner)
        if root is None:
            return  # not known yet (its first forward pass has not returned): asked again at the next call
        self._mode_modules.add(id(owner))
        site = self.site(caller)
        if site is not None:
            self.mode_roots.setdefault(root, site)
