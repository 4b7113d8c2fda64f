"""Binary data formats: gzip streams, IDX image/label pairs and ``.npz`` archives.

Each reader takes the file's bytes and returns ``(pixels, labels, pixel_at,
label_at)``: pixels ``(N, D)``, labels ``(N,)`` and two functions that turn a
row (and column) into a location for error messages (a byte offset for IDX,
``X[r, c]`` for npz; ``ref=True``, which asks the CSV reader for ``file:line:column``,
gives the same text: these formats have no lines). Range checks on the values happen in ``netdoctor.data``.

IDX (the original MNIST distribution format, all integers big-endian)::

    bytes 0-1  zero
    byte  2    element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
               0x0D float32, 0x0E float64
    byte  3    number of dimensions n
    then n int32 sizes, then the elements in C order.

so ``train-images-idx3-ubyte`` starts with magic 0x00000803 and sizes
(60000, 28, 28); ``train-labels-idx1-ubyte`` with 0x00000801 and (60000,).
"""

from __future__ import annotations

import io
import math
import os
import re
import zlib

import numpy as np

from netdoctor.errors import DataFormatError

__all__ = ["gunzip", "is_idx_name", "idx_partner", "read_idx_pair", "read_npz"]

_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_IDX_NAME = re.compile(r"(images|labels)([.\-_])idx([13])", re.IGNORECASE)
_GZIP_STEP = 1 << 16  # decompress in 64 KiB pieces so a corrupt spot has an offset


def gunzip(raw: bytes, name: str) -> bytearray:
    """Decompress a (possibly multi-member) gzip stream, naming where it breaks.

    Raises:
        DataFormatError: empty file, corrupt data (with a byte offset) or a
            stream that ends before its end marker (truncated download).
    """
    if len(raw) == 0:
        raise DataFormatError(f"{name} is empty (0 bytes); expected gzip-compressed data")
    out = bytearray()
    pos = 0
    view = memoryview(raw)
    while True:
        stream = zlib.decompressobj(wbits=31)  # 31: gzip header and CRC check
        member = pos
        while not stream.eof:
            if pos >= len(raw):
                raise DataFormatError(
                    f"{name} is truncated: the gzip stream stops at byte {len(raw):,} before "
                    "its end marker; the download or copy is incomplete")
            piece = view[pos:pos + _GZIP_STEP]
            try:
                out += stream.decompress(piece)
            except zlib.error as exc:
                where = _locate_corruption(view, member, pos, len(piece))
                reason = str(exc).split(": ", 1)[-1]
                raise DataFormatError(
                    f"{name} has corrupt gzip data at byte offset {where:,} ({reason}); "
                    "expected a valid gzip stream: re-download or re-compress the file") from None
            pos += len(piece)
        pos -= len(stream.unused_data)
        rest = view[pos:]
        if not bytes(rest[:2]) == b"\x1f\x8b":
            if any(rest):  # zero padding after the stream is harmless
                raise DataFormatError(
                    f"{name} has {len(rest):,} bytes of non-gzip data after the gzip stream "
                    f"at byte offset {pos:,}; expected the file to end there")
            return out


def _locate_corruption(view: memoryview, member: int, pos: int, size: int) -> int:
    """Exact offset of the first bad byte in ``view[pos:pos+size]`` (error path only).

    Replays the member up to ``pos`` (known good), then feeds one byte at a time.
    """
    stream = zlib.decompressobj(wbits=31)
    for at in range(member, pos, _GZIP_STEP):
        stream.decompress(view[at:min(at + _GZIP_STEP, pos)])
    for at in range(pos, pos + size):
        try:
            stream.decompress(view[at:at + 1])
        except zlib.error:
            return at
    return pos


def is_idx_name(path: str) -> bool:
    """True for names like ``train-images-idx3-ubyte`` or ``t10k-labels.idx1-ubyte.gz``."""
    return _IDX_NAME.search(os.path.basename(path)) is not None


def idx_partner(path: str) -> tuple[str, str]:
    """``(images_path, labels_path)`` for either file of an IDX pair.

    The partner swaps ``images``/``idx3`` for ``labels``/``idx1`` (or back);
    with or without ``.gz``, whichever exists.

    Raises:
        DataFormatError: the partner is not there.
    """
    folder, base = os.path.split(path)
    match = _IDX_NAME.search(base)
    if match is None:
        raise DataFormatError(f"{path} is not named like an IDX file; expected e.g. train-images-idx3-ubyte or "
                              "train-labels-idx1-ubyte.")
    is_images = match.group(1).lower() == "images"

    def swap(m: re.Match) -> str:
        word = ("labels" if is_images else "images")
        if m.group(1).isupper():
            word = word.upper()
        return f"{word}{m.group(2)}idx{'1' if is_images else '3'}"

    other = _IDX_NAME.sub(swap, base, count=1)
    stem = other[:-3] if other.lower().endswith(".gz") else other
    tried = [stem, stem + ".gz"]
    for cand in tried:
        full = os.path.join(folder, cand)
        if os.path.isfile(full):
            return (path, full) if is_images else (full, path)
    kind = "labels" if is_images else "images"
    raise DataFormatError(
        f"{path} is an IDX {'images' if is_images else 'labels'} file but its {kind} partner "
        f"is missing; expected {os.path.join(folder, tried[0])} (or .gz) next to it")


def _read_idx(data: bytes | bytearray, name: str, want_ndim: int) -> tuple[np.ndarray, int]:
    """Elements of one IDX file as an array, plus its header length in bytes."""
    kind = "images" if want_ndim == 3 else "labels"
    expected = f"0x0000080{want_ndim} (IDX {kind}: unsigned bytes, {want_ndim} dimension" \
               f"{'s' if want_ndim > 1 else ''})"
    if len(data) < 4:
        raise DataFormatError(f"{name} has only {len(data)} bytes; expected an IDX header "
                              f"starting with magic number {expected}")
    magic = int.from_bytes(data[:4], "big")
    ndim = data[3]
    if data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES or ndim != want_ndim:
        raise DataFormatError(f"{name} starts with magic number 0x{magic:08X} at byte offset 0; "
                              f"expected {expected}")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataFormatError(f"{name} ends at byte {len(data)} inside its {header}-byte "
                              "IDX header; the file is truncated")
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    dtype = np.dtype(_IDX_TYPES[data[2]])
    need = math.prod(dims) * dtype.itemsize
    if len(data) - header != need:
        shape = " x ".join(f"{d:,}" for d in dims)
        raise DataFormatError(
            f"{name} header says {shape} elements = {need:,} bytes after the {header}-byte "
            f"header, but the file has {len(data) - header:,}; the sizes are inconsistent "
            "(truncated or wrong file)")
    arr = np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)
    return arr.astype(dtype.newbyteorder("=")), header


def read_idx_pair(images: bytes | bytearray, labels: bytes | bytearray, images_name: str, labels_name: str):
    """Read an IDX images file and its labels file.

    Returns:
        ``(pixels (N, rows*cols), labels (N,), pixel_at, label_at)``.

    Raises:
        DataFormatError: wrong magic number, sizes that disagree with the
            header, or a different number of images and labels.
    """
    img, img_header = _read_idx(images, images_name, 3)
    lab, lab_header = _read_idx(labels, labels_name, 1)
    if img.shape[0] != lab.shape[0]:
        raise DataFormatError(
            f"{images_name} holds {img.shape[0]:,} images but {labels_name} holds "
            f"{lab.shape[0]:,} labels; expected one label per image")
    n, d = img.shape[0], img.shape[1] * img.shape[2]
    if n == 0 or d == 0:
        raise DataFormatError(f"{images_name} holds {n} images of {img.shape[1]} x {img.shape[2]} "
                              "pixels; expected at least one non-empty image")
    size = img.dtype.itemsize

    def pixel_at(r: int, c: int, *, ref: bool = False) -> str:
        return f"{images_name} byte offset {img_header + (r * d + c) * size:,} (image {r}, pixel {c})"

    def label_at(r: int, *, ref: bool = False) -> str:
        return f"{labels_name} byte offset {lab_header + r * lab.dtype.itemsize:,} (label {r})"

    return img.reshape(n, d), lab, pixel_at, label_at


def read_npz(data: bytes | bytearray, name: str):
    """Read arrays ``X`` (N, ...) and ``y`` (N,) from an ``.npz``; never unpickles.

    Returns:
        ``(pixels (N, D), labels (N,), pixel_at, label_at)``.
    """
    if data[:4] not in (b"PK\x03\x04", b"PK\x05\x06"):
        raise DataFormatError(f"{name} is not an .npz archive (it starts with bytes "
                              f"{bytes(data[:4]).hex(' ') or 'nothing'}); expected a zip file "
                              "written by np.savez, with arrays X and y")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            keys = list(archive.keys())
            xk = next((k for k in ("X", "x") if k in keys), None)
            if xk is None or "y" not in keys:
                raise DataFormatError(f"{name} holds arrays {keys}; expected 'X' (images) and "
                                      "'y' (labels), e.g. np.savez(path, X=X, y=y)")
            X, y = archive[xk], archive["y"]
    except DataFormatError:
        raise
    except ValueError as exc:
        if "pickle" in str(exc):
            raise DataFormatError(f"{name} holds Python objects that need unpickling, which "
                                  "netdoctor never does; expected numeric arrays X and y") from None
        raise DataFormatError(f"{name} is not a readable .npz archive ({exc})") from None
    except Exception as exc:  # noqa: BLE001 - zipfile/zlib/numpy raise many kinds on bad bytes
        raise DataFormatError(f"{name} is not a readable .npz archive ({exc}); expected "
                              "a file written by np.savez") from None
    for key, arr in ((xk, X), ("y", y)):
        if arr.dtype.kind not in "biuf":
            raise DataFormatError(f"{name} array '{key}' has dtype {arr.dtype}; expected "
                                  "integer or float numbers")
    if X.ndim < 2 or X.shape[0] == 0 or X.size == 0:
        raise DataFormatError(f"{name} array '{xk}' has shape {X.shape}; expected "
                              "(N, D) or (N, rows, cols) with N >= 1")
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise DataFormatError(f"{name} array 'y' has shape {y.shape}; expected "
                              f"({X.shape[0]},), one label per row of '{xk}'")
    shape = X.shape
    X = X.reshape(shape[0], -1)

    def pixel_at(r: int, c: int, *, ref: bool = False) -> str:
        return f"{name} {xk}[{', '.join(map(str, np.unravel_index(r * X.shape[1] + c, shape)))}]"

    def label_at(r: int, *, ref: bool = False) -> str:
        return f"{name} y[{r}]"

    return X, y, pixel_at, label_at
