"""Public faces that load their modules on first use (PEP 562), and the compiled parts, checked against their sources.

A subpackage's ``__init__`` names what it exports and where each name lives;
nothing is imported until a name is asked for. This keeps ``import
netdoctor`` cheap (every pytest run imports it through the plugin) and means
that importing one module never imports its whole package and its siblings.

The compiled parts (``setup.py``'s extensions) are loaded the same way, on first use, by
:func:`compiled_part`: only when they were built from the C source beside them.

:func:`dataclass` is ``dataclasses.dataclass`` with its comparison, hash and repr made without compiling source
text: what building netdoctor's records costs ``netdoctor run`` at every start (see :func:`dataclass`).
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import os
import sys
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any


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


if TYPE_CHECKING:
    from dataclasses import dataclass
else:
    from _thread import get_ident

    def _recursive_repr(show: Callable[[Any], str]) -> Callable[[Any], str]:
        """``...`` for an object whose repr is already being made in this thread (dataclasses' own guard)."""
        running: set[tuple[int, int]] = set()

        @functools.wraps(show)
        def wrapper(self: Any) -> str:
            key = id(self), get_ident()
            if key in running:
                return "..."
            running.add(key)
            try:
                return show(self)
            finally:
                running.discard(key)

        return wrapper

    def _methods(cls: type, *, eq: bool, repr: bool, frozen: bool, explicit_hash: bool) -> None:  # noqa: A002
        fields = dataclasses.fields(cls)
        if repr and "__repr__" not in cls.__dict__:
            shown = tuple(f.name for f in fields if f.repr)

            def __repr__(self: Any) -> str:
                return self.__class__.__qualname__ + "(" + ", ".join(f"{n}={getattr(self, n)!r}" for n in shown) + ")"

            cls.__repr__ = _recursive_repr(__repr__)  # type: ignore[method-assign]
        if not eq:
            return
        if "__eq__" not in cls.__dict__:
            compared = tuple(f.name for f in fields if f.compare)

            def __eq__(self: Any, other: Any) -> Any:
                if other.__class__ is self.__class__:
                    return tuple(getattr(self, n) for n in compared) == tuple(getattr(other, n) for n in compared)
                return NotImplemented

            cls.__eq__ = __eq__  # type: ignore[method-assign,assignment]
        if explicit_hash:
            return
        if frozen:
            hashed = tuple(f.name for f in fields if (f.compare if f.hash is None else f.hash))

            def __hash__(self: Any) -> int:
                return hash(tuple(getattr(self, n) for n in hashed))

            cls.__hash__ = __hash__  # type: ignore[method-assign,assignment]
        else:
            cls.__hash__ = None  # type: ignore[assignment]

    def dataclass(cls: type | None = None, /, *, eq: bool = True, repr: bool = True, frozen: bool = False) -> Any:  # noqa: A002
        """``@dataclass`` as the standard library's, with ``__eq__``, ``__hash__`` and ``__repr__`` made without ``exec``.

        ``dataclasses.dataclass`` writes each method it adds as source text and compiles it: a frozen record gets
        six (``__init__``, ``__repr__``, ``__eq__``, ``__hash__``, ``__setattr__``, ``__delattr__``), about 0.1 ms
        each. ``netdoctor run`` builds ~80 dataclasses on its way through a program and its report: ~49 ms of CPU,
        39 ms of it those compilations, paid by every run. Here ``dataclasses.dataclass`` builds the class (fields,
        ``__init__`` and, for a frozen class, the guards on setting and deleting attributes) with ``eq=False,
        repr=False``, and the comparison, hash and repr are closures over the class's field names. They behave as
        those Python 3.11's dataclasses generate:

        * ``__eq__``: the tuples of the compared fields (``field(compare=...)``) when both objects are of the very
          same class, else ``NotImplemented``;
        * ``__hash__``: dataclasses' table for ``unsafe_hash=False``: the hash of the tuple of the hashed fields
          (``field(hash=...)``, else the compared ones) for a frozen class with ``eq``, ``None`` (unhashable) for a
          mutable one, left alone where the class body defines its own;
        * ``__repr__``: ``Name(a=1, b='x')`` over the ``repr=True`` fields, ``...`` for an object met again inside
          itself;
        * a method the class body defines itself is kept, as dataclasses keeps it.

        ``__dataclass_params__`` says ``eq=False, repr=False`` (what dataclasses was asked); ``fields``, ``asdict``,
        ``replace`` and ``is_dataclass`` read only the fields. For a type checker this is the standard decorator.
        """

        def wrap(cls: type) -> type:
            # dataclasses' test of a hash the class defines itself: a __hash__ in its body, other than the None that
            # Python puts there for a class that defines __eq__
            own_hash = cls.__dict__.get("__hash__", dataclasses.MISSING)
            explicit_hash = not (own_hash is dataclasses.MISSING or (own_hash is None and "__eq__" in cls.__dict__))
            made = dataclasses.dataclass(cls, eq=False, repr=False, frozen=frozen)
            _methods(made, eq=eq, repr=repr, frozen=frozen, explicit_hash=explicit_hash)
            return made

        return wrap if cls is None else wrap(cls)
