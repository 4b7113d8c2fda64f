"""netdoctor: find out why a neural network does not learn.

The core (reference MLP, gradient checks, aliasing detectors, monitors,
diagnosis) needs only NumPy; rich, pytest and hypothesis are imported by the
modules that use them, when they are used.
"""

from __future__ import annotations

from .errors import (
    DataFormatError,
    GradientMismatch,
    InvalidArgument,
    NetdoctorError,
    ProtocolError,
    UserCodeError,
)
from .findings import Finding, Report, Severity
from .mlp import MLP
from .training import History, train

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "MLP",
    "History",
    "train",
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
