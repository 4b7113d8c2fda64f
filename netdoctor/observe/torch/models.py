"""Which model is which: where each module was built, and what the program calls its loose tensors.

A program may build several models of one class (a throwaway model that
overfits one batch as a sanity check, then the real one), or train plain
tensors with ``requires_grad=True`` and no ``nn.Module`` at all. Findings
must say which model they are about, in the program's own words.

:class:`ModelBook` wraps ``nn.Module.__init__`` to remember, per module, the
user's line that built it (``model = MLP()``, not the ``super().__init__()``
line inside ``MLP``) and a construction number, and reads the names the
program gives the tensors it passes to an optimizer (``W1``, ``params[2]``)
from the variables of the frame that creates the optimizer. Both run only
when a module or an optimizer is created, never per step.
"""

from __future__ import annotations

import functools
import linecache
import weakref
from collections.abc import Callable
from types import FrameType
from typing import Any

from netdoctor._lazy import dataclass
from netdoctor.observe.source import function_loop_names, loop_names

__all__ = ["ModelBook", "Built", "tensor_names"]


@dataclass
class Built:
    """Where one module was created."""

    ref: Any
    site: str | None
    seq: int
    """Construction number over the whole run (orders models of one class: the first built is #1)."""


def tensor_names(frame: FrameType | None, torch: Any, wanted: set[int]) -> dict[int, str]:
    """id(tensor) -> the name the code at ``frame`` gives it: a variable (``W1``), or an item of a list, tuple or dict variable.

    Locals first, then the module's globals; only the tensors whose ids are in ``wanted``.
    """
    out: dict[int, str] = {}
    if frame is None:
        return out
    code = frame.f_code
    # a loop variable (``for p in model: p.data.add_(...)``) names whichever tensor the loop ended on: a list's or a
    # dict's item name says which one it is, so it is the loop variable's name only when nothing else names it
    looped = (loop_names(code.co_filename) if code.co_name == "<module>"
              else function_loop_names(code.co_filename, code.co_firstlineno))
    last: dict[int, str] = {}
    for scope in (frame.f_locals, frame.f_globals):
        for var, value in list(scope.items()):
            if var.startswith("__"):
                continue
            if issubclass(type(value), torch.Tensor):
                if id(value) in wanted:
                    (last if var in looped else out).setdefault(id(value), var)
            elif issubclass(type(value), (list, tuple)) and len(value) <= 256:
                for k, item in enumerate(value):
                    if issubclass(type(item), torch.Tensor) and id(item) in wanted:
                        out.setdefault(id(item), f"{var}[{k}]")
            elif issubclass(type(value), dict) and len(value) <= 256:
                for key, item in value.items():
                    if issubclass(type(item), torch.Tensor) and id(item) in wanted:
                        out.setdefault(id(item), f"{var}[{key!r}]")
    for key, var in last.items():
        out.setdefault(key, var)
    return out


def _returns_at(frame: FrameType) -> bool:
    """The frame's current line is a ``return`` statement (read from the source; False when it cannot be read)."""
    return linecache.getline(frame.f_code.co_filename, frame.f_lineno).lstrip().startswith("return ")


class ModelBook:
    """Construction sites of modules and the program's names for loose tensors.

    Args:
        user_frame: frame -> the first frame outwards that is the user's (or None).
        site_of: frame -> ``file:line``.
    """

    def __init__(self, user_frame: Callable[[FrameType | None], FrameType | None], site_of: Callable[[FrameType], str]) -> None:
        self.user_frame = user_frame
        self.site_of = site_of
        self.built: dict[int, Built] = {}
        self.loose: dict[int, str] = {}
        """id(tensor) -> name, for the tensors optimizers were given (names from the creating frame)."""
        self._seq = 0

    def wrap_init(self, orig: Callable[..., None], torch: Any, active: Callable[[], bool]) -> Callable[..., None]:
        """``nn.Module.__init__`` that also records where the module was built."""
        book = self

        @functools.wraps(orig)
        def __init__(module: Any, *args: Any, **kwargs: Any) -> None:
            orig(module, *args, **kwargs)
            if active():
                try:
                    book.record(module, torch)
                except Exception:  # noqa: BLE001 - a module we cannot place is simply unplaced
                    pass

        return __init__

    def record(self, module: Any, torch: Any) -> None:
        import sys

        if id(module) in self.built and self.built[id(module)].ref() is module:
            return  # Module.__init__ run twice on one object
        f = self.user_frame(sys._getframe(2))
        # Out of the model's own __init__ (super().__init__(), self.fc1 = nn.Linear(...)): to the line that built the model.
        while f is not None and f.f_code.co_name == "__init__" and issubclass(type(f.f_locals.get("self")), torch.nn.Module):
            f = self.user_frame(f.f_back) if f.f_back is not None else None
        # Out of a factory (def make_model(): return Net()): to the line that called it, where the model gets its name.
        while f is not None and f.f_back is not None and f.f_code.co_name != "<module>" and _returns_at(f):
            outer = self.user_frame(f.f_back)
            if outer is None:
                break
            f = outer
        self._seq += 1
        self.built[id(module)] = Built(weakref.ref(module), self.site_of(f) if f is not None else None, self._seq)

    def of(self, module: Any) -> Built | None:
        b = self.built.get(id(module))
        return b if b is not None and b.ref() is module else None

    def name_loose(self, frame: FrameType | None, torch: Any, params: list[Any]) -> None:
        """Remember the creating frame's names for the optimizer's tensors."""
        wanted = {id(p) for p in params} - set(self.loose)
        if wanted:
            self.loose.update(tensor_names(frame, torch, wanted))
