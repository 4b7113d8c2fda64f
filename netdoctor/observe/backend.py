"""What an observer backend does: watch one kind of training code, report what it saw.

``netdoctor run script.py`` (and ``netdoctor.observe``) run the user's program
unmodified. Each backend that :meth:`Backend.applies` to the program is
installed before the program starts and uninstalled after it ends (normally,
by an exception, or by Ctrl-C); then its findings, sections and context are
merged into one :class:`~netdoctor.findings.Report`, ranked as ``check`` ranks.

Rules every backend keeps (the program must behave exactly as without us):

* never change a value the program computes, nor any array it owns;
* never draw from the program's random generators (``np.random``'s global
  state, ``torch``'s default generator): use a private ``np.random.Generator``;
* keep bounded memory: running statistics and small samples, not every
  activation;
* leave BLAS/torch thread settings as the program set them;
* ``uninstall`` restores every hook, wrapper and trace function it installed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from netdoctor.findings import Finding

__all__ = ["Backend", "BACKENDS"]


@runtime_checkable
class Backend(Protocol):
    """One kind of training code an observer can watch."""

    name: str
    """Short name shown in the report header (``"numpy"``, ``"torch"``)."""

    @classmethod
    def applies(cls, script: str, source: str) -> bool:
        """Whether to install this backend for the program at path ``script`` with text ``source``."""
        ...

    def install(self) -> None:
        """Start observing (hooks, wrappers, tracing) before the program runs."""
        ...

    def uninstall(self) -> None:
        """Stop observing and restore everything :meth:`install` changed."""
        ...

    def verdict_ready(self) -> bool:
        """True once enough has been seen for the findings to be final (early stop)."""
        ...

    def findings(self) -> list[Finding]:
        """What was seen, each with file:line of the user's code in ``where`` and the numbers in ``evidence``."""
        ...

    def sections(self) -> dict[str, Any]:
        """Report sections (``history``, ``layers``, ``confusion``, ...) as :mod:`netdoctor.report.sections` renders them."""
        ...

    def context(self) -> dict[str, Any]:
        """Header facts: what was found and observed (networks, updates seen, settings the program used)."""
        ...


def _numpy_backend() -> Any:
    from netdoctor.observe.numpy.backend import NumpyBackend

    return NumpyBackend


def _torch_backend() -> Any:
    # imports only netdoctor's side; torch itself is imported when the backend is installed
    from netdoctor.observe.torch.backend import TorchBackend

    return TorchBackend


BACKENDS: list[tuple[str, Callable[[], Any]]] = [
    ("numpy", _numpy_backend),
    ("torch", _torch_backend),
]
"""Backends as ``(name, loader)``: each loader imports its observer's class when a program is observed."""
