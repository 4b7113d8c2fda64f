"""The ``netdoctor`` command: ``main(argv) -> exit code``.

``app`` parses the arguments; ``check`` runs ``netdoctor check``.
"""

from typing import TYPE_CHECKING

from netdoctor._lazy import lazy_face

if TYPE_CHECKING:
    from netdoctor.cli.app import main

_EXPORTS = {
    "main": "app",
}
__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy_face(__name__, _EXPORTS)
