"""On-disk cache of parsed data files, so a second ``load`` skips parsing.

One entry is one ``.npy`` file holding the raw table ``(N, D + 1)``: the
pixels as read (``uint8`` when they are whole numbers 0..255, else
``float32``) with the label in the last column. Scaling to [0, 1] happens
after the cache, so a hit returns exactly what a fresh parse would.

The key hashes, for every file read (an IDX pair is two files), the absolute
path, the size and ``st_mtime_ns``, plus the loader options and a format
version. Editing or replacing a file changes its size or mtime, so the old
entry is never used again; it is deleted when the new one is written.

Entries are written to a temporary file and renamed into place
(``os.replace`` is atomic), so a reader never sees half an entry. Deleting
the directory at any time is safe. If it cannot be created or written, caching
is skipped silently: the cache is a speed-up, never a reason to fail.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["cache_directory", "cache_key", "get", "put"]

#: Bump when the entry layout or the parser's output changes.
FORMAT_VERSION = "1"


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


def cache_key(files: list[str], options: str) -> str:
    """Entry name for ``files`` read with ``options``: ``<path hash>-<version hash>``.

    The first half depends only on the paths, so a new version of the same
    file can find and delete the stale entry.
    """
    paths = [os.path.abspath(f) for f in files]
    where = hashlib.sha256("\0".join(paths).encode("utf-8", "surrogatepass")).hexdigest()
    stamp = [FORMAT_VERSION, options]
    for f in paths:
        st = os.stat(f)
        stamp += [str(st.st_size), str(st.st_mtime_ns)]
    version = hashlib.sha256("\0".join(stamp).encode()).hexdigest()
    return f"{where[:24]}-{version[:24]}"


def get(key: str, cache_dir: str | os.PathLike | None = None) -> np.ndarray | None:
    """The cached table for ``key`` (memory-mapped, read-only), or None on a miss.

    A damaged or foreign entry counts as a miss.
    """
    path = cache_directory(cache_dir) / f"{key}.npy"
    try:
        table = np.load(path, mmap_mode="r", allow_pickle=False)
    except Exception:  # noqa: BLE001 - a damaged entry is a miss, whatever np.load says
        return None
    if table.ndim != 2 or table.shape[1] < 2 or table.dtype not in (np.uint8, np.float32):
        return None
    return table


def put(key: str, pixels: np.ndarray, labels: np.ndarray,
        cache_dir: str | os.PathLike | None = None) -> bool:
    """Store ``pixels`` (N, D) and ``labels`` (N,) under ``key``; True if written.

    Pixels that are whole numbers 0..255 are stored as ``uint8`` (4x smaller
    than float32, and the fast reload path); anything else as ``float32``.
    Failures (read-only or full disk, races) are swallowed.
    """
    directory = cache_directory(cache_dir)
    dtype: type[np.uint8] | type[np.float32]
    if pixels.dtype == np.uint8:
        dtype = np.uint8
    elif np.array_equal(pixels, np.rint(pixels)) and pixels.min(initial=0) >= 0 \
            and pixels.max(initial=0) <= 255:
        dtype = np.uint8
    else:
        dtype = np.float32
    table = np.empty((pixels.shape[0], pixels.shape[1] + 1), dtype=dtype)
    table[:, :-1] = pixels
    table[:, -1] = labels
    # Not fileio.atomic_write_bytes: that takes finished bytes, so the table would be held
    # twice (np.save into memory, then written); here np.save streams into the temporary
    # file. A disposable cache also skips the fsync, and any OSError means "no entry".
    tmp = None
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{key}-", suffix=".tmp", dir=directory)
        with os.fdopen(fd, "wb") as fh:
            np.save(fh, table, allow_pickle=False)
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


def _drop_stale(directory: Path, key: str) -> None:
    """Delete older entries of the same file(s): same path hash, other version."""
    where = key.split("-", 1)[0]
    for old in directory.glob(f"{where}-*.npy"):
        if old.name != f"{key}.npy":
            try:
                old.unlink()
            except OSError:
                pass
