"""On-disk cache of parsed data files, so a second ``load`` skips parsing.

One entry is one ``.npy`` file holding the raw table ``(N, D + 1)``: the
pixels as read (``uint8`` when they are whole numbers 0..255, else
``float64``, what the parser returns) with the label in the last column.
Scaling to [0, 1] happens after the cache, so a hit returns exactly what a
fresh parse would.

The key hashes the loader options, a format version and, for every file read
(an IDX pair is two files), its absolute path, device, inode, size,
``st_mtime_ns`` and ``st_ctime_ns``, plus a BLAKE2b digest of 18 sampled 4 KiB
blocks (head, tail and 16 evenly spaced): a reload costs one ``stat`` and
72 KiB of reads, never a pass over the file.

What that guarantees. A timestamp is as fine as the kernel's clock tick or the
filesystem's resolution (a few ms on ext4, 1 s on ext3 and HFS+, 2 s on FAT),
so a file rewritten at the same size within one tick of the previous write
keeps its size, inode, mtime and ctime. The key therefore only trusts files
that have *settled*: a file whose newest timestamp (mtime or ctime) is less
than :data:`SETTLE_NS` (2 s) old when its key is taken is not cached
(:func:`cache_key` returns None; git calls such index entries "racily
clean"). For a settled
file every later write stamps a ctime that is newer than the recorded one, so
the key changes; ``ctime`` cannot be set by programs (``touch -d``, ``cp -p``,
``rsync -t`` and ``tar`` restore mtime, but the kernel sets ctime to now), and
a replacement by rename changes the inode. The remaining assumptions are a
clock that does not jump back by more than the window and a filesystem that
keeps ctime (network filesystems take it from the server's clock); the
sampled blocks are a second line of defence there, not a guarantee. A new
version of a file makes a new key, and the old entry is deleted when the new
one is written.

Entries are written to a temporary file and renamed into place
(``os.replace`` is atomic), so a reader never sees half an entry. Deleting
the directory at any time is safe. If it cannot be created or written, caching
is skipped silently: the cache is a speed-up, never a reason to fail.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from pathlib import Path

import numpy as np

__all__ = ["cache_directory", "cache_key", "get", "put"]

#: Bump when the entry layout, the key or the parser's output changes.
FORMAT_VERSION = "3"

SETTLE_NS = 2 * 10**9
"""A file is cached only once its newest timestamp is this old (2 s: FAT's resolution)."""

_SAMPLE = 4096
_SAMPLES = 16
_clock_ns = time.time_ns  # the wall clock file timestamps are compared with (tests move it)


def cache_directory(cache_dir: str | os.PathLike | None = None) -> Path:
    """Where cache entries live.

    Args:
        cache_dir: Explicit directory; wins over the environment.

    Returns:
        ``cache_dir``, else ``$NETDOCTOR_CACHE_DIR``, else
        ``$XDG_CACHE_HOME/netdoctor``, else ``~/.cache/netdoctor``.
    """
    if cache_dir is not None:
        return Path(cache_dir)
    if os.environ.get("NETDOCTOR_CACHE_DIR"):
        return Path(os.environ["NETDOCTOR_CACHE_DIR"])
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]) / "netdoctor"
    return Path.home() / ".cache" / "netdoctor"


def cache_key(files: list[str], options: str) -> str | None:
    """Entry name for ``files`` read with ``options``: ``<path hash>-<version hash>``.

    The first half depends only on the paths, so a new version of the same
    file can find and delete the stale entry. The second half covers the
    identity, size and timestamps of each file and a digest of sampled blocks.

    Returns:
        The key, or None when a file has not *settled*: its newest timestamp
        (mtime or ctime) is less than :data:`SETTLE_NS` old by the wall clock.
        Such a file is neither looked up nor stored (see the module
        docstring: a same-size rewrite within its timestamp's resolution
        would keep its key).

    Raises:
        OSError: a file cannot be stat'ed or read.
    """
    paths = [os.path.abspath(f) for f in files]
    where = hashlib.sha256("\0".join(paths).encode("utf-8", "surrogatepass")).hexdigest()
    version = hashlib.blake2b(f"{FORMAT_VERSION}\0{options}".encode(), digest_size=16)
    for f in paths:
        with open(f, "rb") as fh:
            st = os.fstat(fh.fileno())
            # The stat that makes the key decides: a write after it stamps a newer ctime
            # only if this one is older than the timestamps' resolution.
            if max(st.st_mtime_ns, st.st_ctime_ns) > _clock_ns() - SETTLE_NS:
                return None
            version.update(f"\0{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}".encode())
            for offset in _sample_offsets(st.st_size):
                version.update(os.pread(fh.fileno(), _SAMPLE, offset))
    return f"{where[:24]}-{version.hexdigest()[:24]}"


def _sample_offsets(size: int) -> list[int]:
    """Where the sampled blocks start: the head, the tail and evenly in between."""
    if size <= (_SAMPLES + 2) * _SAMPLE:
        return list(range(0, size, _SAMPLE))
    step = (size - _SAMPLE) / (_SAMPLES + 1)
    return [0, *(int(k * step) for k in range(1, _SAMPLES + 1)), size - _SAMPLE]


def get(key: str, cache_dir: str | os.PathLike | None = None) -> np.ndarray | None:
    """The cached table for ``key`` (memory-mapped, read-only), or None on a miss.

    A damaged or foreign entry counts as a miss.
    """
    path = cache_directory(cache_dir) / f"{key}.npy"
    try:
        table = np.load(path, mmap_mode="r", allow_pickle=False)
    except Exception:  # noqa: BLE001 - a damaged entry is a miss, whatever np.load says
        return None
    if table.ndim != 2 or table.shape[1] < 2 or table.dtype not in (np.uint8, np.float64):
        return None
    return table


def put(key: str, pixels: np.ndarray, labels: np.ndarray,
        cache_dir: str | os.PathLike | None = None) -> bool:
    """Store ``pixels`` (N, D) and ``labels`` (N,) under ``key``; True if written.

    Pixels that are whole numbers 0..255 with labels up to 255 are stored as
    ``uint8`` (8x smaller, and the fast reload path); anything else as
    ``float64``, the parser's own type: a float32 entry rounded the values, so
    a cache hit chose another scaling than the parse (a standardised feature's
    mean and deviation, and every value of ``X``, differed in the last bits).
    The entry is streamed to its temporary file :data:`_BLOCK_BYTES` at a
    time: the ``(N, D + 1)`` table is never built in memory (for 60,000
    MNIST rows that copy cost as much as writing the file).
    Failures (read-only or full disk, races) are swallowed.
    """
    directory = cache_directory(cache_dir)
    n, d = pixels.shape
    rows = max(1, _BLOCK_BYTES // (d + 1))
    blocks = [slice(i, min(i + rows, n)) for i in range(0, n, rows)]
    # Labels go in the same table: uint8 only when they fit too (a class 300 would wrap to 44).
    small_labels = labels.size == 0 or int(labels.max()) <= 255
    dtype = np.dtype(np.uint8 if small_labels and (pixels.dtype == np.uint8 or all(_bytes_only(pixels[b]) for b in blocks))
                     else np.float64)
    header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": (n, d + 1)}
    # Not fileio.atomic_write_bytes: that takes finished bytes, so the table would be held
    # twice; here the rows stream into the temporary file through one small buffer. A
    # disposable cache also skips the fsync, and any OSError means "no entry".
    tmp = None
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{key}-", suffix=".tmp", dir=directory)
        with os.fdopen(fd, "wb") as fh:
            np.lib.format.write_array_header_1_0(fh, header)
            buf = np.empty((rows, d + 1), dtype)
            for b in blocks:
                k = b.stop - b.start
                buf[:k, :-1] = pixels[b]  # a block that stays in the CPU cache until it is written
                buf[:k, -1] = labels[b]
                fh.write(buf[:k].data)  # leading rows of a C-ordered array: contiguous
        os.replace(tmp, directory / f"{key}.npy")
        tmp = None
        _drop_stale(directory, key)
        return True
    except OSError:
        return False
    finally:
        # Also on KeyboardInterrupt: never leave a partial file behind.
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


_BLOCK_BYTES = 1 << 18
"""Bytes of the table written at a time (256 KiB: within a core's L2 cache)."""


def _bytes_only(p: np.ndarray) -> bool:
    """True if every value of ``p`` is a whole number 0..255 (kept exactly by ``uint8``)."""
    return bool(np.all((p >= 0) & (p <= 255) & (p == np.rint(p))))


def _drop_stale(directory: Path, key: str) -> None:
    """Delete older entries of the same file(s): same path hash, other version."""
    where = key.split("-", 1)[0]
    for old in directory.glob(f"{where}-*.npy"):
        if old.name != f"{key}.npy":
            try:
                old.unlink()
            except OSError:
                pass
