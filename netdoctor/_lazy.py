"""Public faces that load their modules on first use (PEP 562), and the compiled parts, checked against their sources.

A subpackage's ``__init__`` names what it exports and where each name lives;
nothing is imported until a name is asked for. This keeps ``import
netdoctor`` cheap (every pytest run imports it through the plugin) and means
that importing one module never imports its whole package and its siblings.

The compiled parts (``setup.py``'s extensions) are loaded the same way, on first use, by
:func:`compiled_part`: only when they were built from the C source beside them.

:func:`dataclass` is ``dataclasses.dataclass`` with its comparison, hash and repr made without compiling source
text, and the methods it still writes as text compiled once per interpreter version and kept beside netdoctor's
bytecode (:class:`CompiledMethods`): what building netdoctor's records costs ``netdoctor run`` at every start (see
:func:`dataclass`).
"""

from __future__ import annotations

import atexit
import builtins
import contextlib
import dataclasses
import functools
import importlib
import importlib.util
import marshal
import os
import stat
import sys
import threading
from collections.abc import Callable, Iterator
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


class CompiledMethods:
    """The methods ``dataclasses`` writes as source text for netdoctor's classes, compiled once and kept on disk.

    ``dataclasses.dataclass`` writes a class's ``__init__`` (and a frozen class's ``__setattr__`` and
    ``__delattr__``) as text and compiles it with ``exec`` at every import: ~200 compilations, 20-25 ms of every
    ``netdoctor run``, for texts that are the same at every run. Compiling is the only costly part: the code object
    of a text depends on nothing but the text and the interpreter (``exec`` of a text in ``dataclasses``, whose
    module has no ``from __future__`` imports, compiles it as ``compile(text, "<string>", "exec",
    dont_inherit=True)``). So the code of each text is kept in a file beside netdoctor's own bytecode
    (``__pycache__/_lazy.dataclass-methods.<tag>.bin``, read once, ~0.5 ms), whose first bytes are the
    interpreter's bytecode magic number and optimisation level, and ``exec`` runs the kept code object with the
    globals and namespace ``dataclasses`` passes, as it would run the text: the same functions, closures and
    defaults. A text not in the file is compiled as ``dataclasses`` compiles it and the file is written again when
    the process exits (unless Python writes no bytecode: ``PYTHONDONTWRITEBYTECODE``, ``-B``). A file that is
    missing, unreadable, corrupt or of another interpreter is as an empty one.

    Only the calls made while :func:`dataclass` builds a class in this thread go through here (``dataclasses``
    finds :meth:`exec` as a global of its module meanwhile, before the builtin): a class the program builds with
    the standard decorator is compiled as always, and its text never kept.
    """

    LIMIT = 2048
    """Texts kept at most: beyond it, a rewrite keeps only the texts this process used (old versions' go)."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self.codes: dict[str, Any] | None = None
        self.used: set[str] = set()
        self.compiled = 0
        """Texts compiled by this process (not found in the file)."""
        self.owner: int | None = None
        self.depth = 0
        self._saving = False

    @staticmethod
    def default_path() -> str | None:
        """Where the file lives: beside ``_lazy``'s own bytecode (``sys.pycache_prefix`` honoured); None when this
        interpreter keeps no bytecode cache."""
        try:
            pyc = importlib.util.cache_from_source(__file__)
        except (NotImplementedError, ValueError):
            return None
        tag = sys.implementation.cache_tag
        return os.path.join(os.path.dirname(pyc), f"_lazy.dataclass-methods.{tag}.bin")

    def _header(self) -> bytes:
        return importlib.util.MAGIC_NUMBER + bytes([min(sys.flags.optimize, 255)])

    def _load(self) -> dict[str, Any]:
        if self.codes is not None:
            return self.codes
        self.codes = {}
        if self.path is None:
            return self.codes
        try:
            # opened without blocking, read only if it is a regular file: a FIFO, a folder, a socket there is nothing
            # of ours (opening a FIFO for reading waits for a writer)
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
            with open(fd, "rb") as fh:
                if not stat.S_ISREG(os.fstat(fd).st_mode):
                    return self.codes
                data = fh.read()
            header = self._header()
            if data.startswith(header):
                codes = marshal.loads(data[len(header):])
                if isinstance(codes, dict):
                    self.codes = codes
        except (OSError, ValueError, EOFError, TypeError):
            pass  # no file yet, or not one of ours: every text is compiled
        return self.codes

    @contextlib.contextmanager
    def building(self) -> Iterator[None]:
        """While ``dataclasses`` builds a class of ours in this thread: its ``exec`` calls come here."""
        me = threading.get_ident()
        if self.owner not in (None, me):  # another thread is building one: compile as dataclasses does
            yield
            return
        self.owner = me
        self.depth += 1
        dataclasses.exec = self.exec  # type: ignore[attr-defined]
        try:
            yield
        finally:
            self.depth -= 1
            if not self.depth:
                self.owner = None
                if dataclasses.__dict__.get("exec") == self.exec:
                    del dataclasses.exec  # type: ignore[attr-defined]

    def exec(self, source: Any, globals: Any = None, locals: Any = None) -> None:  # noqa: A002 - builtins.exec's signature
        """``exec(source, globals, locals)`` with the code of a text taken from the file when it is there."""
        if not isinstance(source, str) or threading.get_ident() != self.owner:
            builtins.exec(source, globals, locals)
            return
        codes = self._load()
        code = codes.get(source)
        if code is None:
            code = compile(source, "<string>", "exec", dont_inherit=True)
            codes[source] = code
            self.compiled += 1
            if not self._saving and not sys.dont_write_bytecode and self.path is not None:
                self._saving = True
                atexit.register(self.save)
        self.used.add(source)
        builtins.exec(code, globals, locals)

    def save(self) -> None:
        """Write the file again (atomically: another process reads the old one or the new one, whole)."""
        if self.path is None or self.codes is None:
            return
        codes = self.codes if len(self.codes) <= self.LIMIT else {t: self.codes[t] for t in self.used}
        tmp = f"{self.path}.{os.getpid()}.tmp"
        made = False
        try:
            if os.path.lexists(self.path) and not stat.S_ISREG(os.lstat(self.path).st_mode):
                return  # a link or anything but a regular file where ours would go: never replaced
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            with open(tmp, "xb") as fh:  # a file of that name that is not ours is left as it is
                made = True
                fh.write(self._header() + marshal.dumps(codes))
            os.replace(tmp, self.path)
        except (OSError, ValueError):
            if made:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)


COMPILED_METHODS = CompiledMethods(CompiledMethods.default_path())
"""The compiled methods of this process's netdoctor classes (see :class:`CompiledMethods`)."""


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
        repr=False``, and the comparison, hash and repr are closures over the class's field names; the methods it
        still writes as text are compiled once and kept (:class:`CompiledMethods`). They behave as those Python
        3.11's dataclasses generate:

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
            with COMPILED_METHODS.building():
                made = dataclasses.dataclass(cls, eq=False, repr=False, frozen=frozen)
            _methods(made, eq=eq, repr=repr, frozen=frozen, explicit_hash=explicit_hash)
            return made

        return wrap if cls is None else wrap(cls)
