"""Atomic writes give the file the permissions any file the user writes gets."""

import os
import stat

import pytest

from netdoctor.fileio import atomic_write_bytes, atomic_write_text


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_new_file_gets_the_umask_permissions_not_0600(tmp_path, umask):
    old = os.umask(umask)
    try:
        atomic_write_text(tmp_path / "report.html", "<html></html>")
        with open(tmp_path / "plain.txt", "w") as fh:  # what open() gives, the oracle
            fh.write("x")
    finally:
        os.umask(old)
    got = stat.S_IMODE(os.stat(tmp_path / "report.html").st_mode)
    want = stat.S_IMODE(os.stat(tmp_path / "plain.txt").st_mode)
    assert got == want == 0o666 & ~umask
    assert (tmp_path / "report.html").read_text() == "<html></html>"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_overwriting_keeps_the_existing_files_mode(tmp_path):
    target = tmp_path / "plot.png"
    target.write_bytes(b"old")
    target.chmod(0o640)
    atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o640
