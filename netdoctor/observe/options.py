"""What an observation is told: the network when the user names it, limits, which files are the user's."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import field
from types import FrameType
from typing import Any

from netdoctor._lazy import dataclass
from netdoctor.observe.tracer import is_user_file

__all__ = ["ObserveOptions"]


@dataclass
class ObserveOptions:
    """Settings shared by every backend of one observation.

    Attributes:
        net: the network when discovery is wrong: the object itself, or a name
            (``"net"``, ``"model.layers"``) looked up in the program's frames
            and module globals while it runs (:meth:`find_net`). None: discover it.
        max_updates: stop the program after this many observed updates.
        max_seconds: stop the program after this many seconds.
        is_user: file name -> whether it is the user's code (watched).
        script: the script's path (``netdoctor run``), for messages.
        net_found: whether a name given as ``net`` was found in the program (set by :meth:`find_net`).
        names_seen: names of the program's variables seen while looking ``net`` up, for the message
            when it is never found.
    """

    net: Any = None
    max_updates: int | None = None
    max_seconds: float | None = None
    is_user: Callable[[str], bool] = field(default=is_user_file)
    script: str | None = None
    net_found: bool = False
    names_seen: set[str] = field(default_factory=set)
    _scopes_seen: set[int] = field(default_factory=set, repr=False)
    _lookups: int = field(default=0, repr=False)

    def find_net(self, frame: FrameType | None) -> Any:
        """The object ``net`` names, looked up in ``frame``'s locals and globals and its caller's; None if absent.

        A dotted name (``model.layers``) follows attributes from the first
        part. The names of every scope looked in are remembered
        (:attr:`names_seen`) so that a mistyped name can be answered with the
        ones that exist.
        """
        if not isinstance(self.net, str):
            return self.net
        head, *rest = self.net.split(".")
        for f in (frame, frame.f_back if frame is not None else None):
            if f is None or not self.is_user(f.f_code.co_filename):
                continue  # netdoctor's own frames (the runner's) are not the program's
            for scope in (f.f_locals, f.f_globals):
                self._lookups += 1
                if id(scope) not in self._scopes_seen or self._lookups % 256 == 0:  # names defined later are seen too
                    self._scopes_seen.add(id(scope))
                    self.names_seen.update(k for k, v in list(scope.items()) if not k.startswith("__") and _data_like(v))
                if head in scope:
                    obj = scope[head]
                    for attr in rest:
                        obj = getattr(obj, attr, None)
                    if obj is not None:
                        self.net_found = True
                        return obj
        return None

    def net_root(self, frame: FrameType | None) -> tuple[Any, str, bool] | None:
        """Where discovery starts for ``net``: ``(object, prefix, is_globals)``, or None while it is not found.

        A name of a module-level array (``--net W1`` on a script whose
        weights are globals ``W1, b1, W2, b2``) stands for the module's
        globals: the arrays beside it are the network's too.
        """
        obj = self.find_net(frame)
        if obj is None:
            return None
        if isinstance(self.net, str) and "." not in self.net and type(obj).__name__ == "ndarray":
            for f in (frame, frame.f_back if frame is not None else None):
                if f is not None and f.f_globals.get(self.net) is obj:
                    return f.f_globals, "", True
        return obj, self.net if isinstance(self.net, str) else "net", False

    def net_missing(self) -> str:
        """One line for a ``net`` name never found in the program ("" when it was found or not given by name)."""
        if not isinstance(self.net, str) or self.net_found:
            return ""
        names = sorted(self.names_seen)
        shown = ", ".join(names[:20]) + (f", ... ({len(names)} in all)" if len(names) > 20 else "")
        return (f"--net {self.net}: no variable of that name was seen in the program's functions or module globals"
                + (f"; names that hold data or objects: {shown}" if names else "; the program's code was never seen running"))


def _data_like(v: Any) -> bool:
    """A value a network could be: not a module, function or class (those are code, not the network's state)."""
    kind = type(v).__name__
    return kind not in ("module", "function", "builtin_function_or_method", "type", "method", "ABCMeta")
