"""Watching an unmodified program train: ``netdoctor run script.py`` and ``observe()``.

A *backend* watches one kind of training code (NumPy arrays, PyTorch
modules) while the program runs, and hands back findings, report sections and
context; ``backend`` defines that protocol and the registry of backends.
"""

from typing import TYPE_CHECKING

from netdoctor._lazy import lazy_face

if TYPE_CHECKING:
    from netdoctor.observe.backend import BACKENDS, Backend
    from netdoctor.observe.options import ObserveOptions
    from netdoctor.observe.runner import RunResult, run_script
    from netdoctor.observe.session import Observation, observing

_EXPORTS = {
    "BACKENDS": "backend",
    "Backend": "backend",
    "ObserveOptions": "options",
    "Observation": "session",
    "observing": "session",
    "RunResult": "runner",
    "run_script": "runner",
}
__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy_face(__name__, _EXPORTS)
