"""Call and return events of the user's own functions, and nothing else.

``sys.settrace`` on every line would slow a NumPy training loop several
times. :class:`CallTracer` installs a global trace function that answers, per
code object and once, whether the code is the user's (not the standard
library, not an installed package, not netdoctor); for other code it returns
``None`` at once, so their frames run untraced. For the user's frames it turns
line events off (``frame.f_trace_lines = False``) and keeps only the
``return`` event. The cost is one dictionary lookup per Python call, and the
handler's own work on the user's calls.

A handler can stop the program (``--max-updates``, ``--max-seconds``) by
raising :class:`StopObserving` from an event: Python then removes the trace
function and the exception unwinds the program like any other. It derives
from ``BaseException`` so that the program's ``except Exception`` does not
swallow it.
"""

from __future__ import annotations

import os
import sys
import sysconfig
import threading
from collections.abc import Callable
from types import CodeType, FrameType
from typing import Any

__all__ = ["CallTracer", "StopObserving", "is_user_file"]


class StopObserving(BaseException):  # noqa: N818 - a control-flow signal, like StopIteration
    """Raised inside the program to end it early (the verdict is clear, or a limit was reached)."""


def _library_roots() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    roots = {paths.get(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    roots |= {sys.base_prefix, sys.prefix, sys.exec_prefix}
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the netdoctor package
    roots.add(here)
    return tuple(sorted({os.path.normcase(os.path.abspath(r)) + os.sep for r in roots if r}))


_LIBRARY_ROOTS = _library_roots()


def is_user_file(filename: str) -> bool:
    """True for a file of the user's program: not the standard library, an installed package or netdoctor.

    ``<string>``, ``<frozen ...>`` and other pseudo files are not the user's;
    notebook cells (ipykernel writes them to real temporary files) are.
    """
    if not filename or filename.startswith("<"):
        return False
    path = os.path.normcase(os.path.abspath(filename))
    if "site-packages" in path or "dist-packages" in path:
        return False
    # A virtualenv inside the project lives under sys.prefix: a script next to it is still the user's.
    return not any(path.startswith(root) for root in _LIBRARY_ROOTS)


class CallTracer:
    """Deliver call/return events of user code to ``on_call(frame)`` / ``on_return(frame, value)``.

    Args:
        on_call: called with the new frame of a user function; returns False to
            not watch this frame's return (saves an event).
        on_return: called with the frame and the returned value (None also when
            the frame exits by an exception).
        is_user: file name -> whether it is the user's (default :func:`is_user_file`).
    """

    def __init__(self, on_call: Callable[[FrameType], bool], on_return: Callable[[FrameType, Any], None],
                 *, is_user: Callable[[str], bool] = is_user_file) -> None:
        self._on_call = on_call
        self._on_return = on_return
        self._is_user = is_user
        self._user_code: dict[CodeType, bool] = {}
        self._previous: Any = None
        self.failed: BaseException | None = None
        """The observer's own error, if one happened: tracing stopped there and the program ran on untouched."""
        self._thread: int | None = None
        self.installed = False

    def install(self) -> None:
        """Start tracing new calls in the current thread (the previous trace function is kept to restore)."""
        self._previous = sys.gettrace()
        self._thread = threading.get_ident()
        sys.settrace(self._global)
        self.installed = True

    def uninstall(self) -> None:
        """Stop tracing and put back whatever trace function was there before (a debugger, coverage)."""
        if self.installed and threading.get_ident() == self._thread:
            sys.settrace(self._previous)
        self.installed = False

    def user_code(self, code: CodeType) -> bool:
        """Whether ``code`` belongs to the user's program (cached per code object)."""
        known = self._user_code.get(code)
        if known is None:
            known = self._user_code[code] = self._is_user(code.co_filename)
        return known

    def _global(self, frame: FrameType, event: str, arg: Any):
        if event != "call":
            return None
        code = frame.f_code
        known = self._user_code.get(code)
        if known is None:
            known = self.user_code(code)
        if not known:
            return None
        frame.f_trace_lines = False
        try:
            watch = self._on_call(frame)
        except Exception as exc:  # noqa: BLE001 - our bug must never become the program's
            self._fail(exc)
            return None
        return None if watch is False else self._local

    def _local(self, frame: FrameType, event: str, arg: Any):
        if event == "return" and self.failed is None:
            try:
                self._on_return(frame, arg)
            except Exception as exc:  # noqa: BLE001 - see _global
                self._fail(exc)
                return None
        return self._local

    def _fail(self, exc: Exception) -> None:
        """Stop observing after an error of our own; the program continues as without us."""
        self.failed = exc
        sys.settrace(self._previous)
        self.installed = False
