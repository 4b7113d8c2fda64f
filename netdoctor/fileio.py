"""Writing files so that a crash never leaves a truncated one behind, and never where it must not.

A report goes to the path the user named: a regular file is replaced through
a temporary file and an atomic rename; anything else (``/dev/null``, a FIFO,
a terminal) is written in place, as ``open(path, "w")`` would; a symbolic
link is followed (its target is written, the link stays). An existing file
is replaced only when it is empty or a previous netdoctor report of the same
kind: ``netdoctor run --json train.py other.py`` must not destroy
``train.py``.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from netdoctor.errors import InvalidArgument

__all__ = ["atomic_write_bytes", "atomic_write_text", "check_report_path", "is_report", "write_report"]

REPORT_MARKS = {
    "json": (b"{", b'"schema_version"'),
    "html": (b"<!doctype html", b'<meta name="generator" content="netdoctor'),
}
"""How a previous report of each kind starts: its first bytes and a mark within its first kilobytes."""

_HEAD = 4096


def _umask() -> int:
    """The process umask, read without changing it where the system allows."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # no read-only query elsewhere: set and put back at once
    os.umask(mask)
    return mask


def _mode_for(target: Path) -> int:
    """The mode ``open(target, "w")`` would leave: the existing file's, else 0o666 minus the umask."""
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        return 0o666 & ~_umask()


_NEW_FILE_FLAGS = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)


def _new_file_beside(target: Path) -> tuple[int, str]:
    """A new file ``.NAME.RANDOM.tmp`` in ``target``'s folder, created exclusively with mode 0600, open for writing:
    what ``tempfile.mkstemp`` makes, without importing ``tempfile`` (it imports ``shutil``, ``bz2``, ``lzma`` and
    ``random``: ~5 ms of the report of every ``netdoctor run --json``)."""
    for _ in range(100):
        name = os.path.abspath(os.path.join(target.parent, f".{target.name}.{os.urandom(6).hex()}.tmp"))
        try:
            return os.open(name, _NEW_FILE_FLAGS, 0o600), name
        except FileExistsError:
            continue  # taken: draw another name, as mkstemp does
    raise FileExistsError(f"no free temporary name beside {target}")


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it over ``path``.

    The rename is atomic on POSIX and Windows: readers see the old file or the
    whole new one, never a part. The file gets the permissions a plain
    ``open(path, "w")`` would give it (an existing file's mode, else 0o666
    minus the umask), not the 0600 of the temporary file. The temporary file
    is removed on failure.
    """
    target = Path(path)
    fd, tmp = _new_file_beside(target)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if hasattr(os, "fchmod"):
                os.fchmod(fh.fileno(), _mode_for(target))
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """:func:`atomic_write_bytes` for UTF-8 text."""
    atomic_write_bytes(path, text.encode("utf-8"))


def is_report(path: str | os.PathLike, kind: str) -> bool:
    """Whether ``path`` holds a netdoctor report of ``kind`` (``"json"`` or ``"html"``); only its head is read."""
    start, mark = REPORT_MARKS[kind]
    try:
        with open(path, "rb") as fh:
            head = fh.read(_HEAD)
    except OSError:
        return False
    return head.lstrip().lower().startswith(start.lower()) and mark.lower() in head.lower()


def _target(path: str | os.PathLike) -> str:
    """The file a write to ``path`` lands in: a symbolic link's target, else ``path`` itself."""
    return os.path.realpath(path) if os.path.islink(path) else os.fspath(path)


def check_report_path(path: str | os.PathLike, kind: str, option: str) -> None:
    """Fail at once, before any work, when a ``kind`` report could not or must not be written to ``path``.

    Args:
        path: where the user asked for the report.
        kind: ``"json"`` or ``"html"``.
        option: the flag that named it (``"--json"``), for the message.

    Raises:
        InvalidArgument: one line naming the path and the reason: a missing or
            unwritable folder, a directory, or an existing file that is not an
            empty file nor a previous netdoctor report of that kind.
    """
    try:
        st: os.stat_result | None = os.stat(path)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise InvalidArgument(f"cannot write {option} {path}: {exc.strerror or exc}") from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise InvalidArgument(f"cannot write {option} {path}: it is a directory; name a file, e.g. {os.path.join(path, 'report.' + kind)}")
    if st is not None and not stat.S_ISREG(st.st_mode):
        if not os.access(path, os.W_OK):
            raise InvalidArgument(f"cannot write {option} {path}: permission denied")
        return  # a device or a FIFO: written in place
    if st is not None and st.st_size and not is_report(path, kind):
        raise InvalidArgument(f"{option} {path}: the file exists and is not a netdoctor {kind.upper()} report; "
                              f"netdoctor replaces only its own reports (name a new file, or delete this one first)")
    folder = os.path.dirname(os.path.abspath(_target(path)))
    if not os.path.isdir(folder):
        raise InvalidArgument(f"cannot write {option} {path}: no such directory {folder}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InvalidArgument(f"cannot write {option} {path}: permission denied in {folder}")


def write_report(path: str | os.PathLike, text: str, kind: str) -> None:
    """Write a ``kind`` report to ``path``: atomically for a regular file, in place for anything else.

    A symbolic link is followed (the target is written, the link kept); a
    device node or FIFO is opened and written as ``open(path, "w")`` would
    (never replaced by a regular file); an existing regular file is replaced
    only when it is empty or a previous report of the same kind.

    Raises:
        InvalidArgument: the file exists and is not a report of that kind.
        OSError: the file could not be written.
    """
    data = text.encode("utf-8")
    try:
        st: os.stat_result | None = os.stat(path)
    except FileNotFoundError:
        st = None
    if st is not None and not stat.S_ISREG(st.st_mode) and not stat.S_ISDIR(st.st_mode):
        with open(path, "wb") as fh:
            fh.write(data)
        return
    if st is not None and stat.S_ISREG(st.st_mode) and st.st_size and not is_report(path, kind):
        check_report_path(path, kind, f"--{kind}")  # raises the one-line refusal
    atomic_write_bytes(_target(path), data)
