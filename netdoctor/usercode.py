"""Calling the user's code: its exceptions as one line in the user's terms.

A floor below everything that calls user code (adapters/, buffers/,
gradients/, observe/): it imports only the standard library and
:mod:`netdoctor.errors`. An exception raised inside the user's code becomes a
:class:`~netdoctor.errors.UserCodeError` whose message names the user's own
frames (``examples/net.py line 42 in backprop: ValueError: ...``), never
netdoctor's, the standard library's or an installed package's.
"""

from __future__ import annotations

import os
import sysconfig
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from netdoctor.errors import NetdoctorError, UserCodeError

__all__ = ["call_user", "describe_user_error", "user_frames", "short_path"]

_PKG_DIR = os.path.join(str(Path(__file__).resolve().parent), "")  # the netdoctor package: its frames are not the user's
_LIB_DIRS = tuple(os.path.join(str(Path(p).resolve()), "") for p in {sysconfig.get_paths()[k] for k in ("stdlib", "purelib", "platlib")})
"""Folders whose files are not the user's, each ending in a separator: ``.../netdoctor_demo/train.py`` beside the
package is the user's."""


def short_path(filename: str) -> str:
    """A path relative to the working directory when it is below it, else as given."""
    try:
        rel = os.path.relpath(filename)
    except ValueError:
        return filename
    return filename if rel.startswith("..") else rel


def user_frames(exc: BaseException) -> list[traceback.FrameSummary]:
    """The traceback frames of ``exc`` that are the user's code (not netdoctor, stdlib or packages)."""
    frames = traceback.extract_tb(exc.__traceback__)
    out = []
    for f in frames:
        p = str(Path(f.filename).resolve()) if not f.filename.startswith("<") else f.filename
        if p.startswith(_PKG_DIR) or p.startswith(_LIB_DIRS) or p.startswith("<frozen"):  # folders: each ends in a separator
            continue
        out.append(f)
    return out


def describe_user_error(exc: BaseException, what: str = "") -> str:
    """One line: innermost user frame, exception type and message, then the calling user frames."""
    frames = user_frames(exc)
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    head = f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__
    if not frames:
        return f"{what} raised {head}" if what else head
    inner = frames[-1]
    line = f"{short_path(inner.filename)} line {inner.lineno} in {inner.name}: {head}"
    callers = [f"{short_path(f.filename)} line {f.lineno} in {f.name}" for f in frames[:-1]][-3:]
    if callers:
        line += f" (called from {' <- '.join(reversed(callers))})"
    return line


def call_user(fn: Callable, *args: Any, what: str = "", **kwargs: Any) -> Any:
    """Call the user's code; its exceptions become :class:`UserCodeError` (one line, user frames).

    netdoctor's own errors pass through unchanged.

    Args:
        fn: the user's callable.
        *args: passed to ``fn``.
        what: how the call reads in a message when no user frame is left (``"loss(X, y)"``).
        **kwargs: passed to ``fn``.

    Raises:
        UserCodeError: ``fn`` raised anything that is not a :class:`NetdoctorError`.
    """
    try:
        return fn(*args, **kwargs)
    except NetdoctorError:
        raise
    except Exception as exc:  # the user's bug, reported in the user's terms
        raise UserCodeError(describe_user_error(exc, what)) from exc
