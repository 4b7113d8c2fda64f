"""What an observation is told: the network when the user names it, limits, which files are the user's."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from netdoctor.observe.tracer import is_user_file

__all__ = ["ObserveOptions"]


@dataclass
class ObserveOptions:
    """Settings shared by every backend of one observation.

    Attributes:
        net: the network when discovery is wrong: the object itself, or a name
            (``"net"``, ``"model.layers"``) looked up in the program's frames
            and module globals while it runs. None: discover it.
        max_updates: stop the program after this many observed updates.
        max_seconds: stop the program after this many seconds.
        is_user: file name -> whether it is the user's code (watched).
        script: the script's path (``netdoctor run``), for messages.
    """

    net: Any = None
    max_updates: int | None = None
    max_seconds: float | None = None
    is_user: Callable[[str], bool] = field(default=is_user_file)
    script: str | None = None
