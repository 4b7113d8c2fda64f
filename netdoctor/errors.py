"""The exception family of netdoctor.

Every error a user can cause derives from :class:`NetdoctorError`; the CLI
turns them into one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

__all__ = [
    "NetdoctorError",
    "InvalidArgument",
    "GradientMismatch",
    "DataFormatError",
    "ProtocolError",
    "UserCodeError",
]


class NetdoctorError(Exception):
    """Base class of every error raised on purpose by netdoctor."""


class InvalidArgument(NetdoctorError, ValueError):
    """An argument is out of range or of the wrong kind.

    The message says what was passed, what is needed and what to do.
    """


class GradientMismatch(NetdoctorError, AssertionError):
    """Analytic and numerical gradients disagree.

    An ``AssertionError`` as well, so pytest reports it as a failed assertion.
    """


class DataFormatError(NetdoctorError, ValueError):
    """A data file cannot be read: the message names the file, the line and what was expected."""


class ProtocolError(NetdoctorError, TypeError):
    """A user's model lacks part of the model protocol, or returns the wrong thing."""


class UserCodeError(NetdoctorError):
    """The user's own code raised; ``__cause__`` holds the original exception."""
