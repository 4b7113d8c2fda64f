"""Load classification data (MNIST and alike, or any table of numeric features) from CSV, IDX or ``.npz``.

``load(path)`` returns a :class:`Dataset`: ``X`` float32 ``(N, D)`` on a
scale networks train on, and ``y`` int64 ``(N,)`` class labels 0, 1, 2, ...
(written ``3``, ``3.0`` or ``3.0000``). Features are any finite numbers,
scaled as the values need (:mod:`netdoctor.data.scaling`): pixels 0..255 are
divided by 255, values already in [0, 1] or otherwise small are used as they
are, non-negative counts are min-max scaled and other real-valued features
standardised; the summary says which.

Formats, recognised by content first and name second:

* CSV, plain or gzip-compressed: one image per line, the label in the first
  or last column (found automatically: the one holding only digits 0..9),
  optional header row, CRLF line ends, UTF-8 BOM and trailing blank lines.
* IDX pairs (``*-images-idx3-ubyte[.gz]`` + ``*-labels-idx1-ubyte[.gz]``):
  pass either file, the partner is found by name.
* ``.npz`` with arrays ``X`` and ``y`` (loaded with ``allow_pickle=False``).

Every problem raises :class:`~netdoctor.errors.DataFormatError` with one line
naming the file, the line and column (or byte offset) and what was expected.
CSV parsing lives in :mod:`netdoctor.data.csvparse`, IDX and ``.npz`` in
:mod:`netdoctor.data.idx`, the :class:`DataSummary` in :mod:`netdoctor.data.summary`.
Parsed files are cached (see :mod:`netdoctor.data.cache`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import field
from pathlib import Path
from typing import Any

import numpy as np

from netdoctor._lazy import dataclass
from netdoctor.data import cache as datacache
from netdoctor.data import idx
from netdoctor.data.csvparse import read_csv, read_csv_stream
from netdoctor.data.oddities import Oddities, OddPlaces, find_oddities
from netdoctor.data.scaling import Scaling, choose_scaling
from netdoctor.data.summary import DataSummary
from netdoctor.data.summary import summarise as _summarise
from netdoctor.errors import DataFormatError, InvalidArgument

__all__ = ["Dataset", "DataSummary", "load", "load_split", "load_sample", "sample_path", "split_indices"]


@dataclass(repr=False)
class Dataset:
    """Images and labels ready for training.

    Attributes:
        X: float32 ``(N, D)``, scaled (see ``scaling``).
        y: int64 ``(N,)`` class labels 0, 1, 2, ...
        summary: What the data looks like (counts, value range, scaling).
        source: The path it was loaded from (or a description).
        pixels_were_scaled: True if ``load`` divided the pixels by 255;
            False if they were already in [0, 1].
        scaling: How the raw values became ``X`` (``None``: used as given);
            ``load(test_file, scaling=train.scaling)`` puts a test file on the
            training file's scale.
    """

    X: np.ndarray
    y: np.ndarray
    summary: DataSummary
    source: str = ""
    pixels_were_scaled: bool = field(default=True)
    scaling: Scaling | None = None

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def __repr__(self) -> str:
        return (f"Dataset(rows={self.X.shape[0]}, features={self.X.shape[1]}, "
                f"source={self.source!r}, pixels_were_scaled={self.pixels_were_scaled})")

    def subset(self, idx, *, source: str | None = None) -> Dataset:
        """The rows ``idx`` (integer indices or a boolean mask) as a new Dataset."""
        X, y = self.X[idx], self.y[idx]
        if X.ndim != 2:
            raise InvalidArgument(f"subset index {idx!r} must select rows; got X of shape {X.shape}")
        return self._part(X, y, source or self.source)

    def _part(self, X: np.ndarray, y: np.ndarray, source: str) -> Dataset:
        """Rows of this data set (``X`` already cut out) as a Dataset of their own, on the same scale."""
        summary = _summarise(X, y, self.summary.pixel_min, self.summary.pixel_max,
                             self.summary.already_scaled, source, scaling=self.summary.scaling,
                             scaling_note=self.summary.scaling_note, kind=self.summary.kind)
        return Dataset(X, y, summary, source, self.pixels_were_scaled, self.scaling)

    def split(self, test_fraction: float = 0.2, *, seed: int = 0) -> tuple[Dataset, Dataset]:
        """Stratified, seeded train/test split.

        Each digit's rows are shuffled with ``np.random.default_rng(seed)``
        and ``round(test_fraction * n_k)`` of them go to the test part (at
        least one when the digit has two or more rows, never all of them).
        Both parts are shuffled again so digits are interleaved, not sorted.

        Returns:
            ``(train, test)``.
        """
        train_idx, test_idx = split_indices(self.y, test_fraction, seed=seed)
        return (self.subset(train_idx, source=f"{self.source} (train split)"),
                self.subset(test_idx, source=f"{self.source} (test split)"))


def split_indices(y: np.ndarray, test_fraction: float = 0.2, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The rows of a stratified, seeded split of labels ``y``: ``(train rows, test rows)`` (see :meth:`Dataset.split`)."""
    if isinstance(test_fraction, bool) or not 0.0 < float(test_fraction) < 1.0:
        raise InvalidArgument(f"test_fraction={test_fraction!r} must be between 0 and 1 "
                              "(exclusive), e.g. 0.2")
    rng = np.random.default_rng(seed)
    train, test = [], []
    for label in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == label))
        k = int(round(test_fraction * rows.size))
        if rows.size >= 2:
            k = min(max(k, 1), rows.size - 1)
        test.append(rows[:k])
        train.append(rows[k:])
    train_idx = rng.permutation(np.concatenate(train)) if train else np.array([], int)
    test_idx = rng.permutation(np.concatenate(test)) if test else np.array([], int)
    return train_idx, test_idx


def sample_path() -> Path:
    """Path of the bundled 2,000-image MNIST sample (200 per digit, shuffled)."""
    return Path(__file__).resolve().parent / "mnist_sample.csv.gz"


def load_sample(*, cache: bool = False, cache_dir: str | os.PathLike | None = None) -> Dataset:
    """Load the bundled MNIST sample (2,000 x 784, labels first); parses in ~0.1 s, so no cache."""
    return load(sample_path(), label_column="first", cache=cache, cache_dir=cache_dir)


def load(path: str | os.PathLike, *, label_column: str | int = "auto", cache: bool = True,
         cache_dir: str | os.PathLike | None = None, scaling: Scaling | None = None) -> Dataset:
    """Load a data file into a :class:`Dataset`.

    Args:
        path: CSV / CSV.gz, either file of an IDX pair, or ``.npz``.
        label_column: CSV only: ``"auto"`` (first or last column, whichever
            holds whole-number labels 0, 1, 2, ...), ``"first"``, ``"last"``
            or a column index.
        cache: Reuse / store the parsed arrays in the cache directory.
        cache_dir: Cache location; default ``$NETDOCTOR_CACHE_DIR``, else
            ``$XDG_CACHE_HOME/netdoctor``, else ``~/.cache/netdoctor``.
        scaling: apply this :class:`~netdoctor.data.scaling.Scaling` (the
            training file's) instead of choosing one from this file's values.

    Returns:
        The Dataset; ``X`` float32 (N, D), ``y`` int64 (N,).

    Raises:
        DataFormatError: unreadable file or bad content (one line: file, place, expectation).
        InvalidArgument: a bad ``label_column``.
    """
    return _load(path, label_column, cache, cache_dir, scaling)


def load_split(path: str | os.PathLike, test_fraction: float = 0.2, *, seed: int = 0, label_column: str | int = "auto",
               cache: bool = True, cache_dir: str | os.PathLike | None = None) -> tuple[Dataset, Dataset, DataSummary]:
    """``load(path).split(test_fraction, seed=seed)`` without the whole file's ``X``: ``(train, test, summary)``.

    The same arrays, scale and summaries (``summary`` is the whole file's, as
    ``load(path).summary``), but the scaled rows are written once, straight in
    split order (train then test, two views of one array), instead of a whole
    ``X`` and then a copy of every row: for 60,000 MNIST rows that copy was
    188 MB of fresh memory, a quarter of ``netdoctor check``'s time on a
    machine where fresh memory is expensive.

    Raises:
        DataFormatError, InvalidArgument: as :func:`load` and :meth:`Dataset.split`.
    """
    split_indices(np.zeros(0, np.int64), test_fraction)  # a bad fraction fails before the file is read
    parts: list[np.ndarray] = []

    def split_rows(y: np.ndarray) -> np.ndarray:
        parts.extend(split_indices(y, test_fraction, seed=seed))
        return np.concatenate(parts)

    both = _load(path, label_column, cache, cache_dir, None, split_rows)
    train_idx, test_idx = parts
    n = len(train_idx)
    train = both._part(both.X[:n], both.y[train_idx], f"{both.source} (train split)")
    test = both._part(both.X[n:], both.y[test_idx], f"{both.source} (test split)")
    return train, test, both.summary


def _load(path: str | os.PathLike, label_column: str | int, cache: bool, cache_dir: str | os.PathLike | None,
          scaling: Scaling | None, rows: Callable[[np.ndarray], np.ndarray] | None = None) -> Dataset:
    """:func:`load`; with ``rows``, ``X`` holds the rows in the order ``rows(labels)`` gives (see :func:`_make_dataset`)."""
    if not (label_column in ("auto", "first", "last")
            or (isinstance(label_column, (int, np.integer)) and not isinstance(label_column, bool))):
        raise InvalidArgument(f"label_column={label_column!r} must be 'auto', 'first', 'last' or "
                              "a column index such as 0 or -1")
    name = os.fspath(path)
    if isinstance(name, bytes):
        name = os.fsdecode(name)
    files = [name]
    if idx.is_idx_name(name):
        _check_file(name)
        files = list(idx.idx_partner(name))
    for f in files:
        _check_file(f)
    key = None
    if cache:
        try:
            key = datacache.cache_key(files, repr(label_column))
        except OSError:
            key = None
        table = datacache.get(key, cache_dir) if key else None
        if table is not None:
            try:
                _check_values(table[:, :-1], table[:, -1], _nowhere, _nowhere)
            except DataFormatError:
                table = None  # a damaged entry: parse the file again
            else:
                odd = find_oddities(table[:, :-1], table[:, -1])
                if not odd:
                    with _small_pages():
                        return _make_dataset(table[:, :-1], table[:, -1], name, scaling, rows=rows)
                # Odd values are named by their line and column: parse the file again for those places.
    streamed = _stream_csv(name, label_column) if len(files) == 1 and not name.lower().endswith(".npz") else None
    if streamed is not None:
        pixels, labels, pixel_at, label_at = streamed
    else:
        contents = [_read_bytes(f) for f in files]
        if len(files) == 2:
            pixels, labels, pixel_at, label_at = idx.read_idx_pair(contents[0], contents[1], files[0], files[1])
        elif contents[0][:6] == b"\x93NUMPY":
            raise DataFormatError(f"{name} is a single .npy array without labels; expected an .npz "
                                  "with X and y (np.savez(path, X=X, y=y)) or a CSV")
        elif contents[0][:4] == b"PK\x03\x04" or name.lower().endswith(".npz"):
            pixels, labels, pixel_at, label_at = idx.read_npz(contents[0], name)
        else:
            pixels, labels, pixel_at, label_at = read_csv(contents[0], name, label_column)
        del contents
    _check_values(pixels, labels, pixel_at, label_at)
    if key is not None:
        datacache.put(key, pixels, labels, cache_dir)
    with _small_pages():
        return _make_dataset(pixels, labels, name, scaling, find_oddities(pixels, labels), (pixel_at, label_at), rows=rows)


def _nowhere(*_args) -> str:
    return "cache entry"


def _check_file(name: str) -> None:
    """Fail early and clearly on a missing file, a directory or no read permission."""
    try:
        st = os.stat(name)
    except FileNotFoundError:
        raise DataFormatError(f"{name} does not exist; expected a CSV, IDX or .npz data "
                              "file") from None
    except PermissionError:
        raise DataFormatError(f"{name} cannot be reached (permission denied on a folder in "
                              "its path); expected a file you can read") from None
    except OSError as exc:
        raise DataFormatError(f"{name} cannot be read ({exc.strerror}); expected a data "
                              "file") from None
    if stat.S_ISDIR(st.st_mode):
        raise DataFormatError(f"{name} is a directory; expected a data file (CSV, IDX or .npz) "
                              "inside it")
    if not os.access(name, os.R_OK):
        raise DataFormatError(f"{name} is not readable (permission denied); expected a file "
                              "you can read")


def _stream_csv(name: str, label_column: str | int):
    """A plain CSV of whole numbers 0..255 parsed as it is read (:func:`~netdoctor.data.csvparse.read_csv_stream`).

    None for anything else (gzip, IDX, .npz, other numbers, a file that cannot
    be read): :func:`load` then reads the whole file, which parses it or names
    the problem, so either way the result and the errors are the same. (A
    gzip file decompressed as it is read measured no faster than decompressed
    whole: 0.095 s CPU against 0.093 s for the 10,000-row MNIST test set.)
    """
    try:
        with open(name, "rb", buffering=0) as fh:  # unbuffered: blocks are read straight into the parser's buffer
            return read_csv_stream(fh, name, label_column, os.fstat(fh.fileno()).st_size)
    except OSError:
        return None


def _read_bytes(name: str) -> bytes | bytearray:
    """The file's bytes, gunzipped when they start with the gzip magic 1f 8b."""
    try:
        with open(name, "rb") as fh:
            raw = fh.read()
    except PermissionError:
        raise DataFormatError(f"{name} is not readable (permission denied); expected a file "
                              "you can read") from None
    except OSError as exc:
        raise DataFormatError(f"{name} cannot be read ({exc.strerror}); expected a data file") \
            from None
    if raw[:2] == b"\x1f\x8b" or (name.lower().endswith(".gz") and len(raw) == 0):
        return idx.gunzip(raw, name)
    return raw


MAX_LABEL = 9999
"""Largest class label accepted: labels index classes 0..K-1, and a larger one is a value, not a class."""


def _check_values(pixels, labels, pixel_at, label_at) -> None:
    """Features finite; labels whole numbers 0, 1, 2, ... however written. Names the first offender."""
    if pixels.dtype != np.uint8:
        bad = ~np.isfinite(pixels)
        if bad.any():
            r, c = np.argwhere(bad)[0]
            raise DataFormatError(f"{pixel_at(r, c)} is {pixels[r, c]}; expected a finite number")
    if labels.dtype.kind == "f":
        bad = ~np.isfinite(labels) | (labels != np.rint(labels))
        bad |= (labels < 0) | (labels > MAX_LABEL)
    else:
        bad = (labels < 0) | (labels > MAX_LABEL)
    if bad.any():
        r = int(np.flatnonzero(bad)[0])
        raise DataFormatError(f"{label_at(r)} has label {labels[r]:g}; expected a whole number 0, 1, 2, ... "
                              f"(a class index up to {MAX_LABEL})")


def _make_dataset(pixels: np.ndarray, labels: np.ndarray, source: str, scaling: Scaling | None = None,
                  odd: Oddities | None = None, places: tuple[Any, Any] | None = None,
                  rows: Callable[[np.ndarray], np.ndarray] | None = None) -> Dataset:
    """Scale checked raw values into a Dataset (the scaling chosen from them, or the one given).

    ``odd`` cells (:mod:`netdoctor.data.oddities`) do not choose the scaling:
    it is the one the other cells call for, applied to every cell, and the
    summary's notes name each odd cell and label by ``places`` (the reader's
    ``pixel_at`` and ``label_at``).

    With ``rows``, ``X`` holds the rows in the order ``rows(y)`` gives (every
    row once) and ``y`` stays in the file's order: the scaling and the summary
    are the whole file's (``rows`` must take every row once, so the rows' range is
    the file's). The same arithmetic runs on fresh parses and cache hits, and on
    all rows or some, so all give bit-identical arrays. Pixels 0..255 go block
    by block (``_ROWS_PER_BLOCK`` rows) in one pass: each block is read once
    from memory for its range and its conversion, and the float32 block is
    divided while it is still in the CPU cache, instead of converting 188 MB
    and then reading and writing it all again.
    """
    n = pixels.shape[0]
    blocks = [slice(i, i + _ROWS_PER_BLOCK) for i in range(0, n, _ROWS_PER_BLOCK)]
    y = np.asarray(labels).astype(np.int64)
    picked = None if rows is None else np.asarray(rows(y), dtype=np.intp)
    if picked is not None and (picked.size != n or (n and not (0 <= picked.min() <= picked.max() < n
                                                               and np.bincount(picked, minlength=n).max() == 1))):
        raise InvalidArgument(f"rows must order all {n} rows, each once (the summary counts them); got {picked.size} "
                              "indices")
    if scaling is None and pixels.dtype == np.uint8:
        # Pixels 0..255 (the common case): block by block, each block read once from memory for its smallest and
        # largest value and its conversion (divided by 255 unless every pixel is 0 or 1: then converted again).
        X = np.empty(pixels.shape if picked is None else (picked.size, pixels.shape[1]), dtype=np.float32)
        parts: list[Any] = blocks if picked is None else [picked[b] for b in blocks]  # the rows of each block of X
        pmin, pmax = (255, 0) if n else (0, 0)
        for b, rows_b in zip(blocks, parts):
            p = pixels[rows_b]
            pmin, pmax = min(pmin, p.min()), max(pmax, p.max())  # every row once: the whole file's range
            # float32(p) / float32(255) in one ufunc pass (the cast is done in its buffer): 20% less than a cast, then /=
            np.true_divide(p, np.float32(255), out=X[b], dtype=np.float32)
        scale = bool(pmax > 1)
        if not scale:
            for b, rows_b in zip(blocks, parts):
                X[b] = pixels[rows_b]
        chosen = Scaling("divide-255" if scale else "none", np.float32(0), np.float32(255 if scale else 1),
                         float(pmin), float(pmax))
        notes, where = _notes(odd, places, chosen, None, source, y, pixels.shape)
        summary = _summarise(X, y, pmin, pmax, not scale, source, scaling=chosen.kind,
                             scaling_note=chosen.describe("pixels"), kind="images", notes=notes, oddities=where)
        return Dataset(X, y, summary, source, scale, chosen)
    pmin = pixels.min() if n else 0
    pmax = pixels.max() if n else 0
    bulk = odd.bulk_mask(pixels) if odd is not None and scaling is None else None
    if scaling is not None:
        chosen = scaling
    elif bulk is not None:
        # The scaling every other cell calls for, with the range of the whole file.
        chosen = dataclasses.replace(choose_scaling(bulk), raw_min=float(pmin), raw_max=float(pmax))
    else:
        chosen = choose_scaling(pixels)
    X = chosen.apply(pixels if picked is None else pixels[picked])
    bulk_unit = odd is not None and odd.pattern == "unit"
    pixels_like = chosen.kind == "divide-255" or (chosen.kind == "none" and ((pmin >= 0 and pmax <= 1) or bulk_unit))
    noun = "pixels" if pixels_like else "values"
    text = chosen.describe(noun) if scaling is None else (
        f"{noun} {float(pmin):g}..{float(pmax):g}: put on the training data's scale ({chosen.kind})")
    if bulk is not None and odd is not None:
        k = len(odd.cells)
        text += f", as every cell but {k} ({'see the note' if k == 1 else 'see the notes'}) calls for"
    notes, where = _notes(odd, places, chosen, scaling, source, y, pixels.shape)
    summary = _summarise(X, y, pmin, pmax, chosen.kind == "none", source, scaling=chosen.kind, scaling_note=text,
                         kind="images" if pixels_like else "rows", notes=notes, oddities=where)
    return Dataset(X, y, summary, source, chosen.kind == "divide-255", chosen)


@contextlib.contextmanager
def _small_pages() -> Iterator[None]:
    """Arrays allocated in the block get the kernel's default pages, not NumPy's huge-page advice.

    NumPy advises huge pages for large arrays (``madvise(MADV_HUGEPAGE)``);
    with Linux's default ``transparent_hugepage/defrag = madvise`` a fault in
    such memory compacts memory to find a free 2 MiB page when none is at
    hand. On a busy machine (load average 19-21 on 2 cores, measured side by
    side) the first writes to a 60,000 x 784 float32 ``X`` then cost 0.4-0.6 s
    of system time after a parse against 0.18 s with ordinary pages, and a
    cache hit in a fresh process took 1.3-1.5 s against 0.57-0.73 s (CPU
    0.15-0.38 s against 0.13 s). Only a process that frees and reallocates
    ``X`` in a loop finds its own huge pages free again (0.07 s against
    0.11 s of CPU). A pass over ``X`` in training batches is 7 ms slower per
    epoch with ordinary pages. NumPy's own switch (what
    ``NUMPY_MADVISE_HUGEPAGE=0`` sets) is put back when the block ends;
    without it this does nothing.
    """
    multiarray = getattr(np, "_core", None) or getattr(np, "core", None)  # NumPy 2 / NumPy 1
    switch = getattr(getattr(multiarray, "multiarray", None), "_set_madvise_hugepage", None)
    if switch is None:  # another NumPy layout: keep its default
        yield
        return
    previous = switch(False)
    try:
        yield
    finally:
        switch(previous)


_DONE = {"none": "used as they are", "divide-255": "divided by 255", "min-max": "min-max scaled per feature",
         "standardise": "standardised per feature"}


def _notes(odd: Oddities | None, places: tuple[Any, Any] | None, chosen: Scaling, given: Scaling | None, source: str,
           labels: np.ndarray, shape: tuple[int, int]) -> tuple[tuple[str, ...], OddPlaces | None]:
    """The data notes of odd cells and labels, each place as ``file:line:column``, and the same as :class:`OddPlaces`."""
    if not odd or places is None:
        return (), None
    pixel_at, label_at = places
    done = _DONE[chosen.kind] if given is None else f"put on the training data's scale ({chosen.kind})"
    k = len(odd.cells)
    scaled = _scaled_cells(chosen, odd)
    if k and chosen.kind in ("divide-255", "none"):
        done += f" like every other cell ({odd.values[0]:g} became {scaled[0]:.4g})" if k == 1 else " like every other cell"
    notes = tuple(odd.notes(lambda r, c: pixel_at(r, c, ref=True), lambda r: label_at(r, ref=True), scaled=done))
    where = odd.places(source, lambda r, c: pixel_at(r, c, ref=True), lambda r: label_at(r, ref=True), labels=labels,
                       shape=shape, scaled_values=scaled, scaled=done)
    return notes, where


def _scaled_cells(chosen: Scaling, odd: Oddities) -> np.ndarray:
    """The odd cells' values as the network sees them (float32 arithmetic of :meth:`Scaling.apply`)."""
    if not odd.cells:
        return np.zeros(0, np.float32)
    cols = np.asarray([c for _, c in odd.cells])
    x = np.asarray(odd.values, dtype=np.float32)
    offset, scale = np.asarray(chosen.offset, np.float32), np.asarray(chosen.scale, np.float32)
    if chosen.kind == "divide-255":
        return x / np.float32(255)
    if chosen.kind == "none":
        return x
    return (x - (offset[cols] if offset.ndim else offset)) / (scale[cols] if scale.ndim else scale)


_ROWS_PER_BLOCK = 1024
"""Rows converted at a time: 1024 x 784 float32 is 3 MB, about what a core's caches hold."""
