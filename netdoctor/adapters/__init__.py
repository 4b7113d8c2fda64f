"""Making other people's networks speak the model protocol.

:func:`adapt` wraps a hand-written network (lists of layers, its own forward,
backprop and update); :func:`load_user_model` imports ``file.py:factory``.
"""

from typing import TYPE_CHECKING

from netdoctor._lazy import lazy_face

if TYPE_CHECKING:
    from netdoctor.adapters.handwritten import adapt
    from netdoctor.adapters.usermodel import load_user_model

_EXPORTS = {
    "adapt": "handwritten",
    "load_user_model": "usermodel",
}
__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy_face(__name__, _EXPORTS)
