"""netdoctor._lazy.dataclass behaves as ``dataclasses.dataclass``: the oracle is the standard library's.

Each case defines the same class body twice, once under each decorator (same name, so the reprs can be compared
as text), and compares what the two classes do: construction, equality with equal, unequal and foreign objects,
hashing (or refusing to), repr (recursive ones too), immutability, ``fields``/``asdict``/``replace`` and
``__match_args__``.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import marshal
import os
import re
import subprocess
import sys
from dataclasses import field

import pytest

from netdoctor import _lazy
from netdoctor._lazy import dataclass as ours


def _behaviour(make) -> dict:
    """What a class made by ``make(decorator)`` does, as plain data."""
    a, b, c = make(1, "x"), make(1, "x"), make(2, "y")
    cls = type(a)
    out: dict = {
        "eq": (a == b, a == c, a != b, a == object(), a == (1, "x")),
        "repr": (repr(a), repr(c)),
        "fields": [(f.name, f.compare, f.hash, f.repr) for f in dataclasses.fields(cls)],
        "asdict": dataclasses.asdict(a),
        "replace": repr(dataclasses.replace(a, a=5)),
        "match_args": cls.__match_args__,
        "hash_attr": cls.__hash__ is None,
        "eq_own": "__eq__" in cls.__dict__,
        "repr_own": "__repr__" in cls.__dict__,
    }
    try:
        out["hash"] = (hash(a) == hash(b), hash(a) == hash(make(1, "x")))
    except TypeError as exc:
        out["hash"] = f"TypeError: {exc}"
    try:
        a.a = 3
        out["set"] = "set"
    except dataclasses.FrozenInstanceError as exc:
        out["set"] = f"frozen: {exc}"
    try:
        del a.b
        out["del"] = "deleted"
    except dataclasses.FrozenInstanceError as exc:
        out["del"] = f"frozen: {exc}"
    return json_safe(out)


def json_safe(out: dict) -> dict:
    """The behaviour with objects' addresses masked (a class without a generated repr shows ``<Record object at 0x..>``)."""
    return {k: re.sub(r" at 0x[0-9a-f]+", "", v) if isinstance(v, str) else
            tuple(re.sub(r" at 0x[0-9a-f]+", "", x) if isinstance(x, str) else x for x in v) if isinstance(v, tuple) else v
            for k, v in out.items()}


def _case(options: dict, body: str):
    """``make(a, b)`` for the class body under each decorator: ``{"ours": make, "stdlib": make}``."""
    makers = {}
    for side, deco in (("ours", ours), ("stdlib", dataclasses.dataclass)):
        namespace: dict = {"deco": deco, "field": field, "options": options}
        exec(f"@deco(**options)\nclass Record:\n{body}\n", namespace)
        makers[side] = namespace["Record"]
    return makers


BODIES = {
    "plain": "    a: int\n    b: str = 'z'\n",
    "factory and flags": ("    a: int\n    b: str = field(default='z', repr=False)\n"
                          "    c: list = field(default_factory=list, compare=False)\n    d: float = field(default=0.5, hash=False)\n"),
    "hash only on b": "    a: int = field(hash=False)\n    b: str = field(default='z', hash=True, compare=False)\n",
    "own eq": "    a: int\n    b: str = 'z'\n    def __eq__(self, other):\n        return isinstance(other, Record) and self.a == other.a\n",
    "own hash": "    a: int\n    b: str = 'z'\n    def __hash__(self):\n        return 7\n",
    "own repr": "    a: int\n    b: str = 'z'\n    def __repr__(self):\n        return 'mine'\n",
    "class var": "    a: int\n    b: str = 'z'\n    kind: 'ClassVar[int]' = 3\n",
}
OPTIONS = [{}, {"frozen": True}, {"frozen": True, "eq": False}, {"repr": False}, {"eq": False}]


@pytest.mark.parametrize("options", OPTIONS, ids=[str(o) or "default" for o in OPTIONS])
@pytest.mark.parametrize("body", list(BODIES), ids=list(BODIES))
def test_each_class_behaves_as_the_standard_librarys(body, options):
    makers = _case(options, BODIES[body])
    assert _behaviour(makers["ours"]) == _behaviour(makers["stdlib"])


def test_subclasses_and_nesting_behave_as_the_standard_librarys():
    def family(deco):
        @deco(frozen=True)
        class Base:
            a: int

        @deco(frozen=True)
        class Child(Base):
            b: str = "z"

        @deco
        class Holder:
            items: list

        return Base, Child, Holder

    ob, oc, oh = family(ours)
    sb, sc, sh = family(dataclasses.dataclass)
    assert repr(oc(1, "x")) == repr(sc(1, "x"))
    assert (oc(1, "x") == oc(1, "x"), oc(1, "x") == ob(1), hash(oc(1, "x")) == hash(oc(1, "x"))) == (
        sc(1, "x") == sc(1, "x"), sc(1, "x") == sb(1), hash(sc(1, "x")) == hash(sc(1, "x")))
    h_ours, h_std = oh([]), sh([])
    h_ours.items.append(h_ours)
    h_std.items.append(h_std)
    assert repr(h_ours) == repr(h_std) == "test_subclasses_and_nesting_behave_as_the_standard_librarys.<locals>.family" \
        ".<locals>.Holder(items=[...])"
    with pytest.raises(TypeError):
        hash(h_ours)


def test_no_method_is_compiled():
    calls = []
    original = dataclasses._create_fn
    try:
        dataclasses._create_fn = lambda name, *a, **k: calls.append(name) or original(name, *a, **k)

        @ours(frozen=True)
        class Record:
            a: int
            b: str = "z"
    finally:
        dataclasses._create_fn = original
    assert sorted(calls) == ["__delattr__", "__init__", "__setattr__"]
    assert Record(1) == Record(1) and repr(Record(1)).endswith("Record(a=1, b='z')")


# -- the methods dataclasses writes as text, compiled once and kept (netdoctor._lazy.CompiledMethods) --------------

KEPT_BODY = "    a: int\n    b: str = 'z'\n    c: list = field(default_factory=list)\n"


def _kept_case(monkeypatch, path, options):
    """The class of KEPT_BODY under our decorator with a fresh cache at ``path``, and under the standard library's."""
    kept = _lazy.CompiledMethods(str(path))
    monkeypatch.setattr(_lazy, "COMPILED_METHODS", kept)
    return kept, _case(options, KEPT_BODY)


@pytest.mark.parametrize("options", OPTIONS, ids=[str(o) or "default" for o in OPTIONS])
def test_kept_methods_are_the_code_the_standard_library_compiles(monkeypatch, tmp_path, options):
    path = tmp_path / "methods.bin"
    first, makers = _kept_case(monkeypatch, path, options)
    written = first.compiled
    assert written == (3 if options.get("frozen") else 1)  # __init__, and a frozen class's two guards
    first.save()
    again, kept = _kept_case(monkeypatch, path, options)
    assert again.compiled == 0 and len(again.used) == written
    for name in ("__init__", "__setattr__", "__delattr__"):
        ours_fn, std_fn = kept["ours"].__dict__.get(name), kept["stdlib"].__dict__.get(name)
        assert (ours_fn is None) == (std_fn is None)
        if ours_fn is not None:
            assert ours_fn.__code__ == std_fn.__code__
            assert ours_fn.__defaults__ == std_fn.__defaults__ and ours_fn.__kwdefaults__ == std_fn.__kwdefaults__
    assert _behaviour(kept["ours"]) == _behaviour(kept["stdlib"]) == _behaviour(makers["stdlib"])


@pytest.mark.parametrize("content", [b"", b"not marshal data", importlib.util.MAGIC_NUMBER + b"\x00" + b"\xff" * 40,
                                     importlib.util.MAGIC_NUMBER + b"\x00" + marshal.dumps(["a list"])],
                         ids=["empty", "text", "corrupt after the header", "not a table"])
def test_a_file_that_is_not_a_usable_cache_is_as_none(monkeypatch, tmp_path, content):
    path = tmp_path / "methods.bin"
    path.write_bytes(content)
    kept, makers = _kept_case(monkeypatch, path, {"frozen": True})
    assert kept.compiled == 3
    assert _behaviour(makers["ours"]) == _behaviour(makers["stdlib"])


@pytest.mark.parametrize("byte", [0, len(importlib.util.MAGIC_NUMBER)], ids=["magic number", "optimisation level"])
def test_a_file_of_another_interpreter_or_optimisation_level_is_not_read(monkeypatch, tmp_path, byte):
    path = tmp_path / "methods.bin"
    first, _ = _kept_case(monkeypatch, path, {"frozen": True})
    first.save()
    data = bytearray(path.read_bytes())
    data[byte] ^= 0x01
    path.write_bytes(bytes(data))
    again, makers = _kept_case(monkeypatch, path, {"frozen": True})
    assert again.compiled == 3
    assert _behaviour(makers["ours"]) == _behaviour(makers["stdlib"])


def test_a_class_of_the_standard_decorator_is_compiled_as_always_and_never_kept(monkeypatch, tmp_path):
    kept, _ = _kept_case(monkeypatch, tmp_path / "methods.bin", {})

    @dataclasses.dataclass
    class Other:
        x: int

    assert kept.compiled == 1 and "x" not in "".join(kept.used)  # only the class of KEPT_BODY went through it
    assert "exec" not in vars(dataclasses)


def test_a_second_process_compiles_nothing_and_no_file_is_written_without_bytecode(tmp_path):
    script = ("import netdoctor._lazy as L, netdoctor.rules.evidence\n"
              "print(L.COMPILED_METHODS.compiled, len(L.COMPILED_METHODS.used))")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(tmp_path / "pyc")

    def run(**extra):
        out = subprocess.run([sys.executable, "-c", script], env={**env, **extra}, capture_output=True, text=True,
                             check=True, timeout=120)
        return tuple(map(int, out.stdout.split()))

    compiled, used = run(PYTHONDONTWRITEBYTECODE="1")
    assert compiled == used > 20 and not list((tmp_path / "pyc").rglob("*.bin"))
    assert run() == (used, used)
    assert len(list((tmp_path / "pyc").rglob("_lazy.dataclass-methods.*.bin"))) == 1
    assert run() == (0, used)


@pytest.mark.parametrize("kind", ["link", "folder"])  # a FIFO: the test below (its read would hang, not fail)
def test_anything_but_a_regular_file_where_the_cache_goes_is_left_as_it_is(monkeypatch, tmp_path, kind):
    path, target = tmp_path / "methods.bin", tmp_path / "elsewhere.txt"
    target.write_bytes(b"the user's")
    path.symlink_to(target) if kind == "link" else path.mkdir()
    kept, _ = _kept_case(monkeypatch, path, {"frozen": True})
    kept.save()
    assert path.is_symlink() if kind == "link" else path.is_dir()
    assert target.read_bytes() == b"the user's" and sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["methods.bin", "elsewhere.txt"])


def test_a_temporary_file_of_the_same_name_that_is_not_ours_is_left_as_it_is(monkeypatch, tmp_path):
    path = tmp_path / "methods.bin"
    foreign = tmp_path / f"methods.bin.{os.getpid()}.tmp"
    foreign.write_bytes(b"someone's")
    kept, _ = _kept_case(monkeypatch, path, {"frozen": True})
    kept.save()
    assert foreign.read_bytes() == b"someone's" and not path.exists()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_named_pipe_where_the_cache_goes_is_never_opened(monkeypatch, tmp_path):
    import threading

    path = tmp_path / "methods.bin"
    os.mkfifo(path)
    built: list = []
    # opening a FIFO for reading blocks until a writer comes: the class is built in a thread that may hang
    builder = threading.Thread(target=lambda: built.append(_kept_case(monkeypatch, path, {"frozen": True})), daemon=True)
    builder.start()
    builder.join(timeout=20)
    assert len(built) == 1 and path.is_fifo()
    kept, makers = built[0]
    kept.save()
    assert path.is_fifo()  # and never replaced
    assert kept.compiled == 3 and _behaviour(makers["ours"]) == _behaviour(makers["stdlib"])
