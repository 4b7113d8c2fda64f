"""Where in the user's code something happened: the first stack frame in the user's own files.

A hook of the torch observer runs deep inside PyTorch (``Module._call_impl``,
the autograd engine, ``Optimizer.step``'s wrapper); the line worth showing is
the user's ``loss.backward()`` or ``x = self.fc1(x)``. :class:`UserSites`
walks the stack outwards to the first frame whose file belongs to the user's
program (as :func:`netdoctor.observe.tracer.is_user_file` decides: not the
standard library, an installed package or netdoctor). Whether a code object
is the user's is cached, so a walk costs a few attribute reads per frame.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from types import CodeType, FrameType

from netdoctor.observe.tracer import is_user_file

__all__ = ["UserSites"]


class UserSites:
    """Name call sites in the user's code as ``file:line``.

    Args:
        is_user: file name -> whether it is the user's (default: :func:`~netdoctor.observe.tracer.is_user_file`).
    """

    def __init__(self, is_user: Callable[[str], bool] = is_user_file) -> None:
        self.is_user_file = is_user
        self._is_user: dict[CodeType, bool] = {}
        self.cwd = os.getcwd()
        self._names: dict[tuple[str, int], str] = {}
        """(file, line) -> ``file:line`` said so far (``os.path.relpath`` costs tens of microseconds a call)."""

    def user_frame(self, frame: FrameType | None = None) -> FrameType | None:
        """The innermost frame, from ``frame`` (default: the caller's) outwards, that is user code."""
        f: FrameType | None = frame if frame is not None else sys._getframe(1)
        cache = self._is_user
        while f is not None:
            code = f.f_code
            mine = cache.get(code)
            if mine is None:
                mine = cache[code] = self.is_user_file(code.co_filename)
            if mine:
                return f
            f = f.f_back
        return None

    def site(self, frame: FrameType | None = None) -> str | None:
        """``"train.py:31"`` for the first user frame outwards from ``frame`` (default: the caller's), or None."""
        f = self.user_frame(frame if frame is not None else sys._getframe(1))
        return None if f is None else self.name(f.f_code.co_filename, f.f_lineno)

    def name(self, filename: str, line: int) -> str:
        """``file:line`` with the file relative to the working directory when it lies inside it."""
        said = self._names.get((filename, line))
        if said is None:
            rel = os.path.relpath(filename, self.cwd)
            said = f"{filename if rel.startswith('..') else rel}:{line}"
            if len(self._names) < 4096:
                self._names[(filename, line)] = said
        return said
