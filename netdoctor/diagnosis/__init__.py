"""The diagnosis: run every check on a network and rank what was found.

``pipeline`` holds :func:`diagnose`; ``rules*`` turn the evidence of a
monitored run into findings; ``experiments`` and ``fixes`` run the confirming
experiments; ``reference`` compares the user's network with the reference MLP.
"""

from typing import TYPE_CHECKING

from netdoctor._lazy import lazy_face

if TYPE_CHECKING:
    from netdoctor.diagnosis.pipeline import diagnose

_EXPORTS = {
    "diagnose": "pipeline",
}
__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy_face(__name__, _EXPORTS)
