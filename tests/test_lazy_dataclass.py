"""netdoctor._lazy.dataclass behaves as ``dataclasses.dataclass``: the oracle is the standard library's.

Each case defines the same class body twice, once under each decorator (same name, so the reprs can be compared
as text), and compares what the two classes do: construction, equality with equal, unequal and foreign objects,
hashing (or refusing to), repr (recursive ones too), immutability, ``fields``/``asdict``/``replace`` and
``__match_args__``.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import field

import pytest

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
