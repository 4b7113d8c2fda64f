"""netdoctor: find out why a neural network does not learn.

The core (reference MLP, gradient checks, aliasing detectors, monitors,
diagnosis) needs only NumPy; rich, pytest, hypothesis and matplotlib are
imported by the modules that use them, when they are used. Public names are
loaded on first access so that ``import netdoctor`` (which every pytest run
does through the plugin) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

from netdoctor.errors import (
    DataFormatError,
    GradientMismatch,
    InvalidArgument,
    NetdoctorError,
    ProtocolError,
    UserCodeError,
)
from netdoctor.findings import Finding, Report, Severity
from netdoctor.report import bridge as _bridge  # noqa: F401 - installs the renderers the results display through

__version__ = "0.1.0"

# public name -> subpackage (or module) whose public face defines it
_LAZY = {
    "MLP": "nn",
    "History": "nn",
    "train": "nn",
    "load": "data",
    "load_sample": "data",
    "Dataset": "data",
    "gradcheck": "gradients",
    "check_gradients": "gradients",
    "GradcheckResult": "gradients",
    "find_aliasing": "buffers",
    "probe_training": "buffers",
    "adapt": "adapters",
    "load_user_model": "adapters",
    "diagnose": "diagnosis",
    "watch": "notebook",
    "observing": "observe",
}

__all__ = [
    "__version__",
    *_LAZY,
    "Finding",
    "Report",
    "Severity",
    "NetdoctorError",
    "InvalidArgument",
    "GradientMismatch",
    "DataFormatError",
    "ProtocolError",
    "UserCodeError",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'netdoctor' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
