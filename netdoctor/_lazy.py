"""Public faces that load their modules on first use (PEP 562), and the compiled parts, checked against their sources.

A subpackage's ``__init__`` names what it exports and where each name lives;
nothing is imported until a name is asked for. This keeps ``import
netdoctor`` cheap (every pytest run imports it through the plugin) and means
that importing one module never imports its whole package and its siblings.

The compiled parts (``setup.py``'s extensions) are loaded the same way, on first use, by
:func:`compiled_part`: only when they were built from the C source beside them.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from types import ModuleType
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


def source_stamp(source: bytes) -> str:
    """The stamp of a compiled part's C source: the first 16 hex digits of its SHA-256, line ends read as ``\\n``.

    ``setup.py`` compiles the same stamp of the source it builds into the part (its ``SOURCE``), so that a part left
    from an older source is told at import (:func:`compiled_part`).
    """
    try:  # the interpreter's own SHA-256 (``_sha256``; ``_sha2`` from 3.12): hashlib loads OpenSSL (~2 ms a run)
        from _sha256 import sha256  # type: ignore[import-not-found]
    except ImportError:
        try:
            from _sha2 import sha256  # type: ignore[import-not-found]
        except ImportError:
            from hashlib import sha256

    return sha256(source.replace(b"\r\n", b"\n")).hexdigest()[:16]


_PARTS: dict[str, ModuleType | None] = {}


def compiled_part(name: str, require_env: str) -> ModuleType | None:
    """The compiled extension module ``name`` (``netdoctor.observe._ctrace``), or None where it is not built or was
    built from another version of its C source than the one beside it.

    A checkout that git moved on keeps the part compiled from the older source until it is rebuilt; that part would
    observe differently from what the Python side expects of it, without a word. So where the C source sits beside
    the part (an editable install, a source tree), its stamp (:func:`source_stamp`) must equal the ``SOURCE`` compiled
    in; else one line goes to stderr and the caller's pure-Python code is used, or, with the environment variable
    ``require_env`` set to anything but "" or "0", :class:`ImportError` is raised. An installed wheel holds no C
    source: its part is used as built. Checked once per process.
    """
    if name in _PARTS:
        return _PARTS[name]
    from pathlib import Path  # here: ``import netdoctor`` stays cheap

    try:
        module: ModuleType | None = importlib.import_module(name)
    except ImportError:
        module = None
    if module is not None:
        built = getattr(module, "__file__", None) or ""
        source = Path(built).with_name(name.rsplit(".", 1)[-1] + ".c")
        try:
            stamp = source_stamp(source.read_bytes())
        except OSError:
            stamp = None  # no source beside it (an installed wheel): used as built
        if stamp is not None and getattr(module, "SOURCE", None) != stamp:
            why = (f"{built} was built from another version of {source.name} than the one beside it (stamp "
                   f"{getattr(module, 'SOURCE', None) or 'none'}, the source's {stamp}): rebuild it with `pip install -e .`")
            if os.environ.get(require_env, "") not in ("", "0"):
                raise ImportError(f"{name}: {why} ({require_env} is set)")
            sys.stderr.write(f"netdoctor: {why}; using the pure-Python code meanwhile\n")
            module = None
    _PARTS[name] = module
    return module
