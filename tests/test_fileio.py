"""Atomic writes give the file the permissions any file the user writes gets."""

import os
import stat

import pytest

from netdoctor.errors import InvalidArgument
from netdoctor.fileio import atomic_write_bytes, atomic_write_text, check_report_path, is_report, write_report


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


# -- reports: written where asked, never over what is not a report ---------------------------------
REPORT = '{\n  "schema_version": 1,\n  "findings": []\n}'


def test_a_symlink_is_followed_the_link_stays(tmp_path):
    target = tmp_path / "real.json"
    target.write_text(REPORT)
    link = tmp_path / "latest.json"
    link.symlink_to(target)
    write_report(link, REPORT.replace("[]", "[1]"), "json")
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text() == REPORT.replace("[]", "[1]")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs")
def test_a_fifo_is_written_in_place_not_replaced(tmp_path):
    import threading

    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()))
    reader.start()
    write_report(fifo, REPORT, "json")
    reader.join(timeout=30)
    assert got == [REPORT] and stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_dev_null_stays_a_device():
    before = os.stat(os.devnull)
    check_report_path(os.devnull, "json", "--json")
    write_report(os.devnull, REPORT, "json")
    after = os.stat(os.devnull)
    assert stat.S_ISCHR(after.st_mode) and after.st_ino == before.st_ino


@pytest.mark.parametrize("kind", ["json", "html"])
def test_a_file_that_is_not_a_report_is_never_replaced(tmp_path, kind):
    victim = tmp_path / "train.py"
    victim.write_text("print('precious')\n")
    with pytest.raises(InvalidArgument, match="train.py: the file exists and is not a netdoctor"):
        check_report_path(victim, kind, f"--{kind}")
    with pytest.raises(InvalidArgument):
        write_report(victim, REPORT, kind)
    assert victim.read_text() == "print('precious')\n"
    assert [p.name for p in tmp_path.iterdir()] == ["train.py"]  # no temporary file left


def test_an_empty_file_and_a_previous_report_may_be_replaced(tmp_path):
    from netdoctor.findings import Report
    from netdoctor.report.html import report_html

    empty = tmp_path / "new.json"
    empty.touch()
    write_report(empty, Report().to_json(), "json")
    assert is_report(empty, "json")
    page = tmp_path / "r.html"
    write_report(page, report_html(Report()), "html")
    assert is_report(page, "html") and not is_report(page, "json")
    write_report(page, report_html(Report(title="again")), "html")
    assert "again" in page.read_text()


@pytest.mark.parametrize("where, says", [
    ("missing/r.json", "no such directory"),
    (".", "it is a directory"),
], ids=["missing-folder", "a-directory"])
def test_unwritable_paths_are_refused_in_one_line(tmp_path, where, says):
    with pytest.raises(InvalidArgument, match=says):
        check_report_path(tmp_path / where, "json", "--json")
