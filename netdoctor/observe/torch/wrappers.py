"""Where the program calls a few torch methods: :class:`ProgramCalls`, one part of :class:`~netdoctor.observe.torch.watch.TorchWatch`.

``nn.Module.train`` (and so ``eval``), ``Optimizer.__init__`` and
``LRScheduler.step`` are wrapped to remember the user's line of each
``model.train()`` / ``model.eval()``, of each optimizer's creation (and the
program's names for the loose tensors it is given) and of each
``scheduler.step()``; the wrapped method then runs as without us.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from netdoctor.observe.torch.records import OptInfo
from netdoctor.observe.torch.sampling import opt_params

if TYPE_CHECKING:
    from netdoctor.observe.torch.watch import TorchWatch

__all__ = ["ProgramCalls"]


class ProgramCalls:
    """The wrappers and the sites they record (see the module docstring).

    Args:
        watch: the :class:`~netdoctor.observe.torch.watch.TorchWatch` it belongs to.
    """

    def __init__(self, watch: TorchWatch) -> None:
        self.w = watch
        self.created_opts: dict[int, str | None] = {}
        """id(optimizer) -> the user's line that created it."""
        self.mode_sites: dict[int, tuple[bool, str | None]] = {}
        """id(module) -> (mode, the user's line) of its latest train()/eval()."""
        self.sched_sites: dict[str, int] = {}
        """User line of each ``scheduler.step()`` -> calls."""

    def train(self, orig: Callable) -> Callable:
        watch, calls = self.w, self

        @functools.wraps(orig)
        def train(module: Any, mode: bool = True) -> Any:
            if not watch.busy and watch.installed and not watch.compiling():
                try:
                    calls.mode_sites[id(module)] = (bool(mode), watch.sites.site())
                except Exception as exc:  # noqa: BLE001
                    watch.note_failure("Module.train wrapper", exc)
            return orig(module, mode)

        return train

    def optimizer_init(self, orig: Callable) -> Callable:
        watch, calls = self.w, self

        @functools.wraps(orig)
        def __init__(opt: Any, *args: Any, **kwargs: Any) -> None:
            orig(opt, *args, **kwargs)
            if not watch.busy:
                try:
                    calls.created_opts[id(opt)] = watch.sites.site()
                    watch.opts[id(opt)] = OptInfo(weakref.ref(opt), type(opt).__name__, calls.created_opts[id(opt)])
                    watch.models.book.name_loose(watch.sites.user_frame(), watch.torch, opt_params(opt))
                    watch.models.version += 1  # names now include its loose tensors
                except Exception as exc:  # noqa: BLE001
                    watch.note_failure("Optimizer.__init__ wrapper", exc)

        return __init__

    def scheduler_step(self, orig: Callable) -> Callable:
        watch, calls = self.w, self

        @functools.wraps(orig)
        def step(sched: Any, *args: Any, **kwargs: Any) -> Any:
            if not watch.busy and watch.installed and watch.steps:  # not the step() every scheduler's __init__ makes
                try:
                    site = watch.sites.site() or "?"
                    calls.sched_sites[site] = calls.sched_sites.get(site, 0) + 1
                except Exception as exc:  # noqa: BLE001
                    watch.note_failure("LRScheduler.step wrapper", exc)
            return orig(sched, *args, **kwargs)

        return step
