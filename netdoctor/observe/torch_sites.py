"""Where in the user's code something happened: the first stack frame in the user's own files.

A hook of the torch observer runs deep inside PyTorch (``Module._call_impl``,
the autograd engine, ``Optimizer.step``'s wrapper); the line worth showing is
the user's ``loss.backward()`` or ``x = self.fc1(x)``. :class:`UserSites`
walks the stack outwards to the first frame whose file belongs to the user's
program: the script's folder and below, minus installed packages and
netdoctor itself. Whether a code object is the user's is cached, so a walk
costs a few attribute reads per frame.
"""

from __future__ import annotations

import os
import sys
from types import CodeType, FrameType

__all__ = ["UserSites"]

_NETDOCTOR_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class UserSites:
    """Decide which files are the user's and name call sites as ``file:line``.

    Args:
        script: path of the user's program; its folder (and below) is user code.
        extra_roots: more folders holding user code (e.g. a package the script imports).
    """

    def __init__(self, script: str | None, extra_roots: tuple[str, ...] = ()) -> None:
        roots = [os.path.dirname(os.path.abspath(script))] if script else [os.getcwd()]
        self.roots = tuple(os.path.join(os.path.realpath(r), "") for r in (*roots, *extra_roots))
        self._is_user: dict[CodeType, bool] = {}
        self.cwd = os.getcwd()

    def is_user_file(self, filename: str) -> bool:
        """True for a file under one of the roots that is neither installed nor netdoctor's."""
        if not filename or filename.startswith("<"):
            return False
        path = os.path.realpath(filename)
        if path.startswith(os.path.join(_NETDOCTOR_DIR, "")) or "site-packages" in path or "dist-packages" in path:
            return False
        return path.startswith(self.roots)

    def user_frame(self, frame: FrameType | None = None) -> FrameType | None:
        """The innermost frame, from ``frame`` (default: the caller's) outwards, that is user code."""
        f = frame if frame is not None else sys._getframe(1)
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
        rel = os.path.relpath(filename, self.cwd)
        return f"{filename if rel.startswith('..') else rel}:{line}"
