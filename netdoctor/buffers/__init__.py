"""Buffers a network keeps, and what its update really does with them.

``reach`` walks every object reachable from a network (and snapshots it bit
for bit), ``roles`` reads what a name says it holds, ``aliasing`` finds names
that share one buffer, and ``probe`` / ``probe_fit`` watch real training
steps and fit the applied update as a combination of gradients.
"""

from typing import TYPE_CHECKING

from netdoctor._lazy import lazy_face

if TYPE_CHECKING:
    from netdoctor.buffers.aliasing import find_aliasing
    from netdoctor.buffers.probe import ProbeResult, probe_training

_EXPORTS = {
    "find_aliasing": "aliasing",
    "ProbeResult": "probe",
    "probe_training": "probe",
}
__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy_face(__name__, _EXPORTS)
