"""Public faces that load their modules on first use (PEP 562).

A subpackage's ``__init__`` names what it exports and where each name lives;
nothing is imported until a name is asked for. This keeps ``import
netdoctor`` cheap (every pytest run imports it through the plugin) and means
that importing one module never imports its whole package and its siblings.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_face(package: str, exports: dict[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Module ``__getattr__`` and ``__dir__`` for ``package``.

    Args:
        package: the package's ``__name__``.
        exports: public name -> module (relative to ``package``) defining it.

    Returns:
        ``(__getattr__, __dir__)`` to assign in the package's ``__init__``.
    """
    namespace = importlib.import_module(package).__dict__

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        namespace[name] = value  # later lookups are plain attribute reads
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(exports))

    return __getattr__, __dir__
