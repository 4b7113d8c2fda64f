"""The call filter under netdoctor's tracer, compiled from ``_ctrace.c`` (optional: see ``tracer.py``)."""

from collections.abc import Callable, Iterable
from types import CodeType, FrameType
from typing import Any

API: int
"""The interface's version: ``tracer.py`` uses a build whose API it knows, and its pure-Python tracer otherwise."""
SUPPORTED: int
"""1 where this build has :class:`CallFilter` (CPython 3.11), else 0."""
SOURCE: str
"""The stamp of the ``_ctrace.c`` it was built from (``netdoctor._lazy.source_stamp``; "" when not built by setup.py)."""

class CallFilter:
    """A trace function in C: calls of skipped code end there, and line events of frames traced by ``local`` away
    from their code's registered loop heads (and, while ``holding``, at its muted ones); every other event goes on as ``sys.settrace(call)`` would send it (a
    call to ``call``, other events to the frame's ``f_trace``)."""

    call: Callable[[FrameType, str, Any], Any]
    local: Callable[[FrameType, str, Any], Any] | None
    holding: bool
    """While true, line events at a code's muted loop heads end in C too (:meth:`mute`)."""
    def __init__(self, call: Callable[[FrameType, str, Any], Any], local: Callable[[FrameType, str, Any], Any] | None = None) -> None: ...
    def __call__(self, frame: FrameType, event: str, arg: Any) -> Any: ...
    def skip(self, code: CodeType) -> None: ...
    def unskip(self, code: CodeType) -> None: ...
    def skips(self, code: CodeType) -> bool: ...
    def heads(self, code: CodeType, lines: Iterable[int]) -> None: ...
    def mute(self, code: CodeType, lines: Iterable[int]) -> None: ...
    def install(self) -> None: ...
