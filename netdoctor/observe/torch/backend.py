"""The PyTorch observer of ``netdoctor run``: every ``nn.Module`` and optimizer the program creates.

:class:`TorchBackend` implements :class:`netdoctor.observe.backend.Backend`.
It applies to every program: a program's entry script need not import torch
itself (``train.py`` may import its model and loop from sibling modules).
When torch is already imported the hooks go in at once; otherwise
:class:`TorchImportWatch` (one entry on ``sys.meta_path``) waits for the
first ``import torch`` by any module of the program and installs them as
soon as torch has finished importing, before the importing module goes on.
A program that never imports torch costs one string comparison per import
and reports nothing from this backend. :class:`~netdoctor.observe.torch.watch.TorchWatch`
holds the hooks and the records, :mod:`netdoctor.observe.torch.rules` the
findings. netdoctor never imports torch itself for a run; without it,
:func:`require_torch` says in one line how to install the extra.
"""

from __future__ import annotations

import importlib.machinery
import math
import re
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

from netdoctor.errors import NetdoctorError
from netdoctor.findings import Finding

if TYPE_CHECKING:
    from netdoctor.observe.options import ObserveOptions
    from netdoctor.observe.torch.watch import TorchWatch

__all__ = ["TorchBackend", "TorchImportWatch", "require_torch", "imports_torch", "INSTALL_HINT"]

INSTALL_HINT = "pip install 'netdoctor[torch]'"

_IMPORTS_TORCH = re.compile(r"^\s*(?:import\s+(?:[\w.]+(?:\s+as\s+\w+)?\s*,\s*)*torch\b(?!_)|from\s+torch(?:\.\w+)*\s+import\b)", re.MULTILINE)


def require_torch() -> Any:
    """The torch module, or a one-line :class:`~netdoctor.errors.NetdoctorError` naming the extra to install."""
    try:
        import torch
    except ImportError:
        raise NetdoctorError(f"this program uses PyTorch, which is not installed here; install it with {INSTALL_HINT}") from None
    return torch


def hand_lr(o: Any) -> float | None:
    """The median learning rate read from a hand-written update's sampled steps (None: not a plain gradient step)."""
    vals = sorted(v for _, lrs in o.lrs for v in lrs if isinstance(v, float) and math.isfinite(v))
    return vals[len(vals) // 2] if vals else None


def imports_torch(source: str) -> bool:
    """True when the text imports torch itself (``import torch``, ``from torch.nn import ...``)."""
    return bool(_IMPORTS_TORCH.search(source or ""))


class TorchImportWatch:
    """Call ``on_import`` once, right after the first ``import torch`` of the program has finished.

    A finder at the front of ``sys.meta_path`` that answers for ``torch``
    only: it asks the finders behind it for the real spec and wraps that
    spec's loader's ``exec_module`` for this one import, so the module object,
    its ``__loader__`` and ``__spec__`` are the ones Python would have made.
    If torch fails to import, nothing is called and the error is the program's.

    A plain class, not an ``importlib.abc.MetaPathFinder``: the import system asks a finder only for ``find_spec``
    (``invalidate_caches`` where it has one), and ``importlib.abc`` costs every run ~4 ms to import.
    """

    def __init__(self, on_import: Callable[[ModuleType], None], name: str = "torch") -> None:
        self.name = name
        self.on_import = on_import
        self.missing = False
        """The program imported torch and it is not installed."""
        self._asking = False

    def start(self) -> None:
        sys.meta_path.insert(0, self)

    def stop(self) -> None:
        if self in sys.meta_path:
            sys.meta_path.remove(self)

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != self.name or self._asking:
            return None
        self._asking = True
        try:
            spec = next((s for f in sys.meta_path if f is not self and hasattr(f, "find_spec")
                         and (s := f.find_spec(fullname, path, target)) is not None), None)
        finally:
            self._asking = False
        if spec is None:
            self.missing = True  # the program's own import raises, as without us; the report says what to install
        loader = spec.loader if spec is not None else None
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        # Not removed yet: importlib.util.find_spec("torch") (asked by libraries checking for torch) also lands here.
        orig = loader.exec_module
        watch = self

        def exec_module(module: ModuleType) -> None:
            try:
                orig(module)
            finally:
                try:
                    del loader.exec_module  # the instance attribute: the class's method is back
                except AttributeError:
                    pass
            watch.stop()  # once: later imports of torch are look-ups in sys.modules
            watch.on_import(module)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


class TorchBackend:
    """Watch the PyTorch training the program does (see :mod:`netdoctor.observe.torch.watch`).

    Args:
        options: the observation's settings: which files are the user's (for
            ``file:line``), ``max_updates`` (optimizer steps) and ``max_seconds``
            after which the program is stopped. A path is taken as the script's.
        every: statistics on every ``every``-th optimizer step after the first 6, less often from step 1,024 on
            (:data:`~netdoctor.observe.torch.watch.GROW_AFTER`; None: adapt to the time budget).
        min_steps: optimizer steps after which :meth:`verdict_ready` may say yes.
    """

    name = "torch"

    def __init__(self, options: ObserveOptions | str | None = None, *, every: int | None = 16, min_steps: int = 200) -> None:
        from netdoctor.observe.options import ObserveOptions

        if not isinstance(options, ObserveOptions):
            options = ObserveOptions(script=options)
        self.options = options
        self.every = every
        self.min_steps = min_steps
        self.watch: Any = None
        self.backward_check: Any = None
        """Custom autograd Functions against finite differences (:mod:`netdoctor.observe.torch.backward_check`)."""
        self._import_watch: TorchImportWatch | None = None
        self.errors: list[str] = []
        self.training_listeners: list[Callable[[str], None]] = []
        """Told once the program's first optimizer step has run (see :attr:`TorchWatch.training_listeners
        <netdoctor.observe.torch.watch.TorchWatch.training_listeners>`)."""

    @classmethod
    def applies(cls, script: str, source: str) -> bool:
        """Always: torch may be imported by any module of the program, not only by the script (see the module docstring)."""
        return True

    def install(self) -> None:
        """Hook torch now if the program's process has it already, else as soon as anything imports it."""
        if sys.modules.get("torch") is not None:
            self._install_watch()
            return
        if sys.modules.get("torch", False) is None:  # torch blocked (sys.modules["torch"] = None): nothing to watch
            return
        self._import_watch = TorchImportWatch(self._on_torch_import)
        self._import_watch.start()

    def _on_torch_import(self, _module: ModuleType) -> None:
        # Runs inside the program's `import torch`: our failure must not become its ImportError.
        try:
            self._install_watch()
        except Exception as exc:  # noqa: BLE001
            self.errors.append(f"installing the PyTorch hooks: {type(exc).__name__}: {exc}")

    def _install_watch(self) -> None:
        require_torch()
        from netdoctor.observe.torch.sites import UserSites
        from netdoctor.observe.torch.watch import TorchWatch

        o = self.options
        self.watch = TorchWatch(UserSites(o.is_user), every=self.every, max_steps=o.max_updates, max_seconds=o.max_seconds)
        from netdoctor.observe.torch.backward_check import BackwardCheck

        self.backward_check = BackwardCheck(self.watch)
        self.watch.forward_listeners.append(self.backward_check.listen)
        self.watch.training_listeners = self.training_listeners
        self.watch.install()

    def uninstall(self) -> None:
        if self._import_watch is not None:
            self._import_watch.stop()
        if self.watch is not None and self.watch.installed:
            self.watch.uninstall()

    def verdict_ready(self) -> bool:
        w = self.watch
        return bool(w is not None and w.steps >= self.min_steps and w.stats.closed >= 2 and (w.forward.leak_tried or not w.models.roots()))

    def _nothing_ran(self) -> bool:
        """torch was not imported, or nothing of it ran (no module, optimizer or loss): no rules to import."""
        w = self.watch
        return w is None or not (w.models.mods or w.opts or w.losses.loss_calls or w.losses.nonfinite)

    def findings(self) -> list[Finding]:
        if self._nothing_ran():
            return []
        from netdoctor.observe.torch.rules import torch_findings

        if self.watch.installed:
            self.watch.close_window()
        from netdoctor.rules.backprop import gradient_mismatch_in_modules

        return gradient_mismatch_in_modules(self.backward_check.records) + torch_findings(self.watch)

    def sections(self) -> dict[str, Any]:
        w = self.watch
        if w is None or self._nothing_ran():
            return {}
        from netdoctor.observe.torch.rules import activation_name, param_items

        rows: list[dict[str, Any]] = []
        for key, rec in (w.stats.act_last or {}).items():
            rows.append({"layer": activation_name(w, key, rec), "activation": rec["kind"], "units": rec["units"],
                         "saturation": rec.get("saturation"), "dead": rec.get("dead"), "act_std": rec.get("std")})
        for name, pi in param_items(w):
            if len(pi.shape) < 2:
                continue
            gn = pi.norms[-1][2] if pi.norms else None
            ratio = pi.ratios[-1][1] if pi.ratios else None
            rows.append({"layer": name, "activation": "-", "units": int(pi.shape[0]), "grad_norm": gn, "update_ratio": ratio})
        out: dict[str, Any] = {}
        if rows:
            out["layers"] = rows
        preds = (w.stats.loss_last or {}).get("pred_counts")
        if isinstance(preds, list) and sum(preds):
            out["predictions"] = {"counts": preds, "labels": list(range(len(preds))),
                                  "on": f"training batches of the last {w.stats.loss_last.get('steps')} sampled steps"}
        return out

    def context(self) -> dict[str, Any]:
        w = self.watch
        iw = self._import_watch
        if w is None:
            notes = [f"observer: {e}" for e in self.errors]
            if iw is not None and iw.missing:
                notes.append(f"PyTorch: the program imports torch, which is not installed here; install it with {INSTALL_HINT}")
            return {"notes": notes} if notes else {}
        unfollowed = w.hand.unfollowed()
        if not w.models.mods and not w.opts:
            # torch was imported but nothing of it ran (not a PyTorch run to describe), unless backward passes ran
            return {"notes": [unfollowed]} if unfollowed else {}
        dropped_loose = w.models.dropped_loose()
        models = _model_lines(w, dropped_loose)
        dropped = _dropped_models(w, dropped_loose)
        judged = judged_steps(w)
        opts, training = _optimizers(w, judged)
        steps, sampled, _ = judged
        ctx: dict[str, Any] = {
            "observer": "torch",
            "training": training,
            "backend": "torch",
            "models": models,
            "optimizers": opts,
            "optimizer_steps": steps,
            "sampled_steps": sampled,
            "observer_share": (w.cost / w.train_time) if w.train_time > 0 else None,
        }
        if models:
            ctx["model"] = models[0] if len(models) == 1 else models  # the session's sign that a network was observed
        else:
            ctx["notes"] = ["PyTorch: no nn.Module with parameters was called, so there was no PyTorch training to observe"]
        if dropped:
            ctx.setdefault("notes", []).extend(dropped)
        if unfollowed and not w.steps:
            ctx.setdefault("notes", []).append(unfollowed)
        if not w.steps and w.hand.unstepped:
            # gradients computed and never applied: what was observed is an optimizer that never steps, judged as such
            ctx["gradient_computations"] = w.hand.unstepped
        if w.notes:
            ctx.setdefault("notes", []).extend(w.notes)
        unread = w.losses.unread() if w.steps else ""
        if unread:
            ctx["unjudged"] = unread  # the verdict's, not the header's (the session takes it out)
        if w.errors:
            ctx.setdefault("notes", []).extend(f"observer: {e}" for e in w.errors)
        if models and self.backward_check is not None:
            ctx.setdefault("notes", []).extend(self.backward_check.notes())
        return ctx


def _created_lrs(o: Any) -> list | None:
    """The learning rates of an optimizer whose step no hook ever read (never stepped), from its parameter groups while
    it is alive (None when it is gone or holds none)."""
    opt = o.ref()
    lrs = [g.get("lr") for g in getattr(opt, "param_groups", ())] if opt is not None else []
    return lrs if lrs and all(lr is not None for lr in lrs) else None


def _optimizers(w: Any, judged: tuple[int, int, int]) -> tuple[list[str], str]:
    """The report's optimizers row (each optimizer, or the program's hand-written update) and its training line
    (``judged``: :func:`judged_steps`)."""
    opts = []
    hand = w.opts.get(id(w.hand.opt))
    for o in w.opts.values():
        if o is hand:
            lr = hand_lr(o)
            opts.append(f"{o.kind} of the tensors, by the program itself between backward passes"
                        + (f" (a plain gradient step, lr={lr:.4g} read from the update)" if lr is not None else "")
                        + f", {o.steps} updates (the backward pass at {o.step_site or '?'})")
            continue
        lrs = o.lrs[0][1] if o.lrs else _created_lrs(o)
        shown: Any = lrs[0] if lrs and len(set(map(str, lrs))) == 1 else lrs
        opts.append(f"{o.kind}({'' if shown is None else f'lr={shown}'}){' created at ' + o.created_at if o.created_at else ''}, "
                    f"{o.steps} steps")
    steps, sampled, before = judged
    model = " of the model judged" if before else ""
    if hand is not None:
        training = (f"{steps:,} hand-written updates{model} observed (no torch.optim optimizer: every change the program "
                    "made to its tensors between two backward passes, seen through backward() and the tensors' version "
                    f"counters), {sampled:,} of them measured in depth")
    else:
        training = (f"{steps:,} of {steps:,} optimizer steps{model} observed (every step() call, through PyTorch's "
                    f"optimizer hooks), {sampled:,} of them measured in depth")
    if before:
        training += (f"; {before:,} earlier step{'s' * (before != 1)} trained a model replaced after them (not judged, "
                     "not counted)")
    return opts, training


def judged_steps(w: Any) -> tuple[int, int, int]:
    """(optimizer steps from the judged model's first on, those of them measured in depth, the steps before it).

    A program that first trains a throwaway model (a sanity check overfitting one batch for 20 steps) and then the
    real one has the throwaway's steps counted by every optimizer hook; the run's training is the judged model's
    (:meth:`~netdoctor.observe.torch.registry.ModelRegistry.start_step`: 0 when no model was replaced), so its steps
    are counted from its first step on, and those before are said apart.
    """
    start = w.models.start_step()
    before = max(0, min(start - 1, w.steps)) if start > 1 else 0
    if before and w.hand.moved_on and id(w.hand.opt) in w.opts:
        # hand-written updates: the tensors they train are read at sampled steps, so the judged model's first one is
        # known only up to a sampling interval; the step count when the updates moved on to its tensors is exact
        before = min(before, w.hand.moved_on)
    return w.steps - before, sum(1 for s in w.sampled_at if s > before), before


def _model_lines(w: TorchWatch, dropped_loose: Any) -> list[str]:
    """The header's line per model judged (its parameters, where it was built and called), or the loose tensors an
    optimizer trained when no ``nn.Module`` with parameters was called."""
    models = []
    judged = w.models.judged_roots()
    several = sum(1 for i in w.models.mods.values() if i.has_params and not i.parent) > 1
    for key, info in w.models.mods.items():
        if info.parent or not info.has_params or (several and key not in judged and info.steps):
            continue
        models.append(f"{w.models.label(info)} ({info.nparams:,} parameters"
                      + (f", built at {info.built_at}" if info.built_at and several else "")
                      + (f", called at {info.site}" if info.site else "") + ")")
    if not models:
        # Plain tensors with requires_grad=True trained by an optimizer, no nn.Module.
        kept = [pi for k, pi in w.params.items() if pi.root is None and pi.in_optimizer and k not in dropped_loose]
        loose = [pi.name for pi in kept if pi.name]
        if loose:
            n = sum(math.prod(pi.shape) for pi in kept)
            models.append(f"tensors {', '.join(loose[:8])}{' ...' if len(loose) > 8 else ''} ({n:,} parameters, no nn.Module)")
    return models


def _dropped_models(w: TorchWatch, dropped_loose: Any) -> list[str]:
    """Notes on the models left out of the judging: replaced ``nn.Module``s and throwaway models of plain tensors
    (``dropped_loose``: their keys in ``w.params``)."""
    dropped = [f"{w.models.describe(i)} was trained for {i.steps} optimizer steps and then replaced by a model trained after it: "
               "its numbers are not judged" for i in w.models.discarded()]
    if dropped_loose:
        infos = [w.params[k] for k in dropped_loose]
        names = [pi.name for pi in sorted(infos, key=lambda pi: pi.order) if pi.name]
        shown = ", ".join(names[:8]) + (" ..." if len(names) > 8 else "")
        dropped.append(f"tensors {shown or f'({len(infos)})'} were updated for a while and then left for tensors updated "
                       "only after them (a throwaway model before the real one): their numbers are not judged")
    return dropped
