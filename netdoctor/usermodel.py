"""Load a user's model from ``path/to/file.py:factory`` and check it speaks the protocol.

The file is imported as a fresh module (its directory on ``sys.path`` only
while importing), the factory is called, and the result is either a protocol
model or a hand-written network that :func:`netdoctor.adapter.adapt` can wrap
(lists ``weights``/``biases`` and no ``params``: adapted automatically, and
``model.notes`` says so).

Errors read as one line: a missing file, a syntax error with file and line, an
exception inside the user's code with the user's own frames
(``examples/net.py line 42 in backprop: ValueError: ...``).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import sysconfig
import traceback
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .errors import InvalidArgument, NetdoctorError, ProtocolError, UserCodeError

__all__ = ["load_user_model", "verify_protocol", "require_protocol", "call_user", "user_frames"]

_PKG_DIR = str(Path(__file__).resolve().parent)
_LIB_DIRS = tuple(str(Path(p).resolve()) for p in {sysconfig.get_paths()[k] for k in ("stdlib", "purelib", "platlib")})

_REQUIRED = {
    "params": "a dict name -> NumPy array of the weights the model computes with",
    "loss": "loss(X, y) -> (mean loss, dict of gradients named like params)",
}
_OPTIONAL = {
    "train_step": "train_step(X, y, lr): one in-place mini-batch update (training and the training probe need it)",
    "predict": "predict(X) -> labels (accuracy needs it)",
    "activations": "activations(X) -> per-layer arrays (saturation and dead-unit monitors need it)",
}


def _short(path: str) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


def user_frames(exc: BaseException) -> list[traceback.FrameSummary]:
    """The traceback frames of ``exc`` that are the user's code (not netdoctor, stdlib or packages)."""
    frames = traceback.extract_tb(exc.__traceback__)
    out = []
    for f in frames:
        p = str(Path(f.filename).resolve()) if not f.filename.startswith("<") else f.filename
        if p.startswith(_PKG_DIR) or p.startswith(_LIB_DIRS) or p.startswith("<frozen"):
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
    line = f"{_short(inner.filename)} line {inner.lineno} in {inner.name}: {head}"
    callers = [f"{_short(f.filename)} line {f.lineno} in {f.name}" for f in frames[:-1]][-3:]
    if callers:
        line += f" (called from {' <- '.join(reversed(callers))})"
    return line


def call_user(fn: Callable, *args: Any, what: str = "", **kwargs: Any) -> Any:
    """Call the user's code; its exceptions become :class:`UserCodeError` (one line, user frames).

    netdoctor's own errors pass through unchanged.
    """
    try:
        return fn(*args, **kwargs)
    except NetdoctorError:
        raise
    except Exception as exc:  # the user's bug, reported in the user's terms
        raise UserCodeError(describe_user_error(exc, what)) from exc
