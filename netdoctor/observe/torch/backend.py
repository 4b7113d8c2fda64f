"""The PyTorch observer of ``netdoctor run``: every ``nn.Module`` and optimizer the program creates.

:class:`TorchBackend` implements :class:`netdoctor.observe.backend.Backend`.
It applies to programs that import torch; :class:`~netdoctor.observe.torch.watch.TorchWatch`
holds the hooks and the records, :mod:`netdoctor.observe.torch.rules` the
findings. torch is imported only when the backend is installed; without it,
:func:`require_torch` says in one line how to install the extra.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from netdoctor.errors import NetdoctorError
from netdoctor.findings import Finding

if TYPE_CHECKING:
    from netdoctor.observe.options import ObserveOptions

__all__ = ["TorchBackend", "require_torch", "INSTALL_HINT"]

INSTALL_HINT = "pip install 'netdoctor[torch]'"

_IMPORTS_TORCH = re.compile(r"^\s*(?:import\s+(?:[\w.]+(?:\s+as\s+\w+)?\s*,\s*)*torch\b(?!_)|from\s+torch(?:\.\w+)*\s+import\b)", re.MULTILINE)


def require_torch() -> Any:
    """The torch module, or a one-line :class:`~netdoctor.errors.NetdoctorError` naming the extra to install."""
    try:
        import torch
    except ImportError:
        raise NetdoctorError(f"this program uses PyTorch, which is not installed here; install it with {INSTALL_HINT}") from None
    return torch


class TorchBackend:
    """Watch the PyTorch training the program does (see :mod:`netdoctor.observe.torch.watch`).

    Args:
        options: the observation's settings: which files are the user's (for
            ``file:line``), ``max_updates`` (optimizer steps) and ``max_seconds``
            after which the program is stopped. A path is taken as the script's.
        every: statistics on every ``every``-th optimizer step after the first 6 (None: adapt to the time budget).
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

    @classmethod
    def applies(cls, script: str, source: str) -> bool:
        """True when the program's text imports torch (``import torch``, ``from torch.nn import ...``)."""
        return bool(_IMPORTS_TORCH.search(source or ""))

    def install(self) -> None:
        require_torch()
        from netdoctor.observe.torch.sites import UserSites
        from netdoctor.observe.torch.watch import TorchWatch

        o = self.options
        self.watch = TorchWatch(UserSites(o.is_user), every=self.every, max_steps=o.max_updates, max_seconds=o.max_seconds)
        self.watch.install()

    def uninstall(self) -> None:
        if self.watch is not None and self.watch.installed:
            self.watch.uninstall()

    def verdict_ready(self) -> bool:
        w = self.watch
        return bool(w is not None and w.steps >= self.min_steps and w.windows >= 2 and (w.leak_tried or not w.roots()))

    def findings(self) -> list[Finding]:
        if self.watch is None:
            return []
        from netdoctor.observe.torch.rules import torch_findings

        if self.watch.installed:
            self.watch.close_window()
        return torch_findings(self.watch)

    def sections(self) -> dict[str, Any]:
        w = self.watch
        if w is None:
            return {}
        from netdoctor.observe.torch.rules import _act_name, _param_items

        rows: list[dict[str, Any]] = []
        for key, rec in (w.act_last or {}).items():
            rows.append({"layer": _act_name(w, key, rec), "activation": rec["kind"], "units": rec["units"],
                         "saturation": rec.get("saturation"), "dead": rec.get("dead"), "act_std": rec.get("std")})
        for name, pi in _param_items(w):
            if len(pi.shape) < 2:
                continue
            gn = pi.norms[-1][2] if pi.norms else None
            ratio = pi.ratios[-1][1] if pi.ratios else None
            rows.append({"layer": name, "activation": "-", "units": int(pi.shape[0]), "grad_norm": gn, "update_ratio": ratio})
        out: dict[str, Any] = {}
        if rows:
            out["layers"] = rows
        preds = (w.loss_last or {}).get("pred_counts")
        if isinstance(preds, list) and sum(preds):
            out["predictions"] = {"counts": preds, "labels": list(range(len(preds))),
                                  "on": f"training batches of the last {w.loss_last.get('steps')} sampled steps"}
        return out

    def context(self) -> dict[str, Any]:
        w = self.watch
        if w is None:
            return {}
        models = []
        for info in w.mods.values():
            if info.parent or not info.has_params:
                continue
            models.append(f"{info.kind} ({info.nparams:,} parameters{', called at ' + info.site if info.site else ''})")
        opts = []
        for o in w.opts.values():
            lrs = o.lrs[0][1] if o.lrs else None
            lr = lrs[0] if lrs and len(set(map(str, lrs))) == 1 else lrs
            opts.append(f"{o.kind}(lr={lr}){' created at ' + o.created_at if o.created_at else ''}, {o.steps} steps")
        ctx: dict[str, Any] = {
            "backend": "torch",
            "models": models,
            "optimizers": opts,
            "optimizer_steps": w.steps,
            "sampled_steps": w.sampled_steps,
            "observer_share": (w.cost / w.train_time) if w.train_time > 0 else None,
        }
        if models:
            ctx["model"] = models[0] if len(models) == 1 else models  # the session's sign that a network was observed
        else:
            ctx["notes"] = ["PyTorch: no nn.Module with parameters was called, so there was no PyTorch training to observe"]
        if w.errors:
            ctx.setdefault("notes", []).extend(f"observer: {e}" for e in w.errors)
        return ctx
