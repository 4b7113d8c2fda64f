"""The compiled parts are used only when built from the C source beside them (netdoctor/_lazy.py).

A checkout that git moved on keeps the parts compiled from the older sources until they are rebuilt; such a part
observed differently and made tests fail without a word. Each part carries the stamp of its source (setup.py compiles
it in); the Python side computes the stamp of the source it ships and uses its pure-Python code on a mismatch.
"""

from __future__ import annotations

import importlib
import os
import runpy
import sys
from pathlib import Path

import pytest
import setuptools

from netdoctor._lazy import compiled_part, source_stamp

ROOT = Path(__file__).resolve().parent.parent
PARTS = [("netdoctor.observe._ctrace", "NETDOCTOR_REQUIRE_CTRACE"), ("netdoctor.data._csvscan", "NETDOCTOR_REQUIRE_CSVSCAN")]


def _source_of(name: str) -> Path:
    return ROOT / Path(*name.split(".")).with_suffix(".c")


@pytest.mark.parametrize("name, require", PARTS, ids=[n for n, _ in PARTS])
def test_each_built_part_carries_the_stamp_of_the_source_beside_it(name, require):
    try:
        module = importlib.import_module(name)
    except ImportError:
        if os.environ.get(require, "") not in ("", "0"):
            pytest.fail(f"{require} is set but {name} was not built")
        pytest.skip(f"{name} is not built here")
    source = Path(module.__file__).with_name(_source_of(name).name)
    if not source.exists():
        pytest.skip(f"{name} is installed without its C source: it is used as built")
    assert module.SOURCE == source_stamp(source.read_bytes()), (
        f"{module.__file__} is stale: built from another {source.name}; rebuild with pip install -e .")
    assert compiled_part(name, require) is module


def test_setup_compiles_in_the_stamp_the_python_side_computes(monkeypatch):
    monkeypatch.setattr(setuptools, "setup", lambda **kw: None)  # read setup.py's extensions, build nothing
    extensions = runpy.run_path(str(ROOT / "setup.py"))["EXTENSIONS"]
    assert sorted(ext.name for ext in extensions) == sorted(name for name, _ in PARTS)
    for ext in extensions:
        (source,) = ext.sources
        assert ext.define_macros == [("NETDOCTOR_SOURCE", source_stamp((ROOT / source).read_bytes()))]
        assert ext.optional


def test_the_stamp_is_the_sources_digest_whatever_its_line_ends():
    assert source_stamp(b"int x;\n") == source_stamp(b"int x;\r\n")
    assert source_stamp(b"int x;\n") != source_stamp(b"int y;\n")
    assert len(source_stamp(b"")) == 16 and int(source_stamp(b""), 16) >= 0


def _fake_part(tmp_path: Path, monkeypatch, package: str, stamp: str | None, *, with_source: bool = True) -> str:
    """A stand-in for a built part: a module with ``SOURCE`` (none when ``stamp`` is None) and a C file beside it."""
    folder = tmp_path / package
    folder.mkdir()
    (folder / "__init__.py").write_text("")
    (folder / "_part.py").write_text("" if stamp is None else f"SOURCE = {stamp!r}\n")
    if with_source:
        (folder / "_part.c").write_bytes(b"static int answer = 42;\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("NETDOCTOR_REQUIRE_FAKE", raising=False)
    return f"{package}._part"


def test_a_part_built_from_its_source_is_used_quietly(tmp_path, monkeypatch, capsys):
    name = _fake_part(tmp_path, monkeypatch, "fresh_part_pkg", source_stamp(b"static int answer = 42;\n"))
    assert compiled_part(name, "NETDOCTOR_REQUIRE_FAKE") is sys.modules[name]
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("stamp", ["0123456789abcdef", "", None], ids=["another-source", "built-without-stamp", "no-SOURCE"])
def test_a_stale_part_is_left_for_the_pure_code_with_one_line_on_stderr(tmp_path, monkeypatch, capsys, stamp):
    name = _fake_part(tmp_path, monkeypatch, f"stale_part_pkg_{len(stamp or 'x')}_{stamp is None}", stamp)
    assert compiled_part(name, "NETDOCTOR_REQUIRE_FAKE") is None
    assert compiled_part(name, "NETDOCTOR_REQUIRE_FAKE") is None  # decided once per process
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("netdoctor: "), err
    assert "_part.py was built from another version of _part.c" in err and "pip install -e ." in err
    assert source_stamp(b"static int answer = 42;\n") in err


def test_a_stale_part_fails_the_import_where_it_is_required(tmp_path, monkeypatch, capsys):
    name = _fake_part(tmp_path, monkeypatch, "required_part_pkg", "0123456789abcdef")
    monkeypatch.setenv("NETDOCTOR_REQUIRE_FAKE", "1")
    with pytest.raises(ImportError, match="NETDOCTOR_REQUIRE_FAKE is set"):
        compiled_part(name, "NETDOCTOR_REQUIRE_FAKE")
    assert capsys.readouterr().err == ""


def test_a_part_installed_without_its_source_is_used_as_built(tmp_path, monkeypatch, capsys):
    name = _fake_part(tmp_path, monkeypatch, "wheel_part_pkg", "0123456789abcdef", with_source=False)
    assert compiled_part(name, "NETDOCTOR_REQUIRE_FAKE") is sys.modules[name]
    assert capsys.readouterr().err == ""


def test_a_part_that_is_not_built_is_none(capsys):
    assert compiled_part("netdoctor.no_such_part", "NETDOCTOR_REQUIRE_FAKE") is None
    assert capsys.readouterr().err == ""
