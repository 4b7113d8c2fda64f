"""Parse CSV bytes of images into a pixel table and labels, with one-line errors.

:func:`read_csv` takes the (already gunzipped) bytes of a CSV file with one
image per line and returns ``(pixels (N, D), labels (N,), pixel_at,
label_at)``; the two callables name a cell's line and column for messages.
It handles a UTF-8 BOM, an optional header row, CRLF line ends and trailing
blank lines, and finds the label column (first or last, whichever holds only
digits 0..9; a header name or the spread of values breaks ties).

Fast path: MNIST-style files are whole numbers 0..255 separated by commas. We
parse them with array arithmetic on the raw bytes, in 1 MiB chunks cut at line
ends (so temporaries stay small): find the separators, and since each field
has 1-3 digits, its value is ``d[end-1] + 10 d[end-2] + 100 d[end-3]`` with
the missing digits masked out. Anything else (floats, signs, spaces, errors)
goes to ``np.loadtxt``, and if that fails a line-by-line Python scan finds the
first bad line for the message. Every problem raises
:class:`~netdoctor.errors.DataFormatError` naming the file, line and column.
"""

from __future__ import annotations

import io
import re

import numpy as np

from netdoctor.errors import DataFormatError, InvalidArgument

__all__ = ["read_csv"]

_CHUNK = 1 << 20
_CONTROL = re.compile(rb"[\x00-\x08\x0a-\x0c\x0e-\x1f]")
_NUMBER = re.compile(rb"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*|\s*[-+]?(nan|inf)\s*", re.I)


def read_csv(data: bytes | bytearray, name: str, label_column):
    """Parse CSV bytes into ``(pixels (N, D), labels (N,), pixel_at, label_at)``."""
    start = 3 if data[:3] == b"\xef\xbb\xbf" else 0
    end = len(data)
    while end > start and data[end - 1] in b" \t\r\n\x00":
        end -= 1  # trailing blank lines (and NULs from padded copies) are harmless
    if end == start:
        raise DataFormatError(f"{name} is empty; expected comma-separated rows of a label "
                              "and pixel values")
    first_end = data.find(b"\n", start, end)
    first_end = end if first_end < 0 else first_end
    first = bytes(data[start:first_end]).rstrip(b"\r")
    if first.count(b";") > first.count(b","):
        raise DataFormatError(f"{name} line 1 uses semicolons (;) between values; expected "
                              "commas (,): re-export the file as comma-separated")
    header = None
    line0 = 1
    if _is_binary(first):
        raise DataFormatError(f"{name} line 1 holds binary (non-text) bytes; expected a text "
                              "CSV, a gzip-compressed CSV, an IDX pair or an .npz")
    fields = first.split(b",")
    # A header is mostly names; a data row with one bad cell is reported, not skipped.
    if 2 * sum(_NUMBER.fullmatch(f) is None for f in fields) >= len(fields):
        header = [f.strip().strip(b'"').decode("utf-8", "replace") for f in first.split(b",")]
        start, line0 = first_end + 1, 2
        if start >= end:
            raise DataFormatError(f"{name} has a header row but no data rows; expected "
                                  "one image per line after it")
    table = _parse_uint8(data, start, end)
    if table is None:
        table = _parse_general(data, start, end, name, line0)
    if header is not None and len(header) != table.shape[1]:
        raise DataFormatError(f"{name} line 1 (header) names {len(header)} columns but the "
                              f"data rows have {table.shape[1]}; expected one name per column")
    if table.shape[1] < 2:
        raise DataFormatError(f"{name} line {line0} has {table.shape[1]} value; expected a "
                              "label and pixel values separated by commas")
    col = _label_column(table, label_column, header, name, line0)
    ncols = table.shape[1]
    labels = table[:, col]
    pixels = np.delete(table, col, axis=1) if 0 < col < ncols - 1 else \
        (table[:, 1:] if col == 0 else table[:, :-1])

    def pixel_at(r: int, c: int) -> str:
        return f"{name} line {line0 + r} column {c + 1 + (c >= col)}"

    def label_at(r: int) -> str:
        return f"{name} line {line0 + r} column {col + 1}"

    return pixels, labels, pixel_at, label_at


def _is_binary(chunk: bytes) -> bool:
    """True if ``chunk`` is not UTF-8 text or has control bytes other than tab and CR."""
    try:
        chunk.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return _CONTROL.search(chunk) is not None


def _label_column(table, option, header, name, line0) -> int:
    """Index of the label column: given, or the first/last column holding only digits 0..9."""
    ncols = table.shape[1]
    if option == "first":
        return 0
    if option == "last":
        return ncols - 1
    if option != "auto":
        if not -ncols <= int(option) < ncols:
            raise InvalidArgument(f"label_column={option} is outside the {ncols} columns of "
                                  f"{name}; use 0..{ncols - 1} or -1")
        return int(option) % ncols

    def digits_only(c: int) -> bool:
        v = table[:, c]
        return bool(np.all((v >= 0) & (v <= 9) & (v == np.rint(v))))

    cands = [c for c in (0, ncols - 1) if digits_only(c)]
    if not cands:
        bad = [(c, int(np.flatnonzero(~((table[:, c] >= 0) & (table[:, c] <= 9)
                                         & (table[:, c] == np.rint(table[:, c]))))[0]))
               for c in (0, ncols - 1)]
        where = " and ".join(f"line {line0 + r} column {c + 1} has {table[r, c]:g}"
                             for c, r in bad)
        raise DataFormatError(f"{name} has no label column: expected the first or last column "
                              f"to hold only digits 0..9, but {where}")
    if len(cands) == 2 and header is not None:
        named = [c for c in cands if re.search(r"label|target|class|digit|^y$", header[c], re.I)]
        cands = named or cands
    if len(cands) == 2:
        # MNIST's corner pixels are always 0, so a pixel column can look like labels too;
        # the real labels vary. Ties go to the first column (the classic mnist_train.csv).
        spread = [np.unique(table[:, c]).size for c in cands]
        return cands[1] if spread[1] > spread[0] else cands[0]
    return cands[0]


def _parse_uint8(data, start: int, end: int) -> np.ndarray | None:
    """Whole numbers 0..255, commas, LF or CRLF only: vectorised parse, else None."""
    parts: list[np.ndarray] = []
    pos = start
    while pos < end:
        stop = min(pos + _CHUNK, end)
        if stop < end:
            nl = data.find(b"\n", stop, end)
            stop = end if nl < 0 else nl + 1
        part = _parse_chunk(np.frombuffer(data, np.uint8, count=stop - pos, offset=pos))
        if part is None or (parts and part.shape[1] != parts[0].shape[1]):
            return None
        parts.append(part)
        pos = stop
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _parse_chunk(c: np.ndarray) -> np.ndarray | None:
    """One run of whole lines as bytes -> uint8 table, or None if not plain 0..255 CSV."""
    if c[-1] != 10:
        c = np.append(c, np.uint8(10))
    cr = np.flatnonzero(c == 13)
    if cr.size:
        if np.any(c[cr + 1] != 10):
            return None
        c = np.delete(c, cr)
    is_nl = c == 10
    is_sep = is_nl | (c == 44)
    d = c - np.uint8(48)  # wraps to >= 10 for any non-digit byte
    if not np.all((d < 10) | is_sep):
        return None
    ends = np.flatnonzero(is_sep)
    lens = np.empty_like(ends)
    lens[0] = ends[0]
    np.subtract(ends[1:], ends[:-1] + 1, out=lens[1:])
    if lens.min() < 1 or lens.max() > 3:
        return None
    # Indices end-2 / end-3 may point into the previous field (or wrap to the chunk's end);
    # the masks zero those terms.
    v = d[ends - 1].astype(np.uint16)
    for k, scale in ((2, 10), (3, 100)):
        t = d[ends - k].astype(np.uint16)
        t *= np.uint16(scale)
        t *= lens >= k
        v += t
    if v.max() > 255:
        return None
    rows = np.flatnonzero(is_nl[ends])
    ncols = int(rows[0]) + 1
    if rows.size * ncols != ends.size or np.any(rows[1:] - rows[:-1] != ncols):
        return None
    return v.astype(np.uint8).reshape(rows.size, ncols)


def _parse_general(data, start: int, end: int, name: str, line0: int) -> np.ndarray:
    """Any numbers via np.loadtxt; on failure find and name the first bad line."""
    body = bytes(data[start:end])
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        _raise_first_bad_line(body, name, line0)
    text = text.replace("\r\n", "\n")
    if "\n\n" not in text and "\r" not in text:
        try:
            table = np.loadtxt(io.StringIO(text), delimiter=",", dtype=np.float64,
                               ndmin=2, comments=None, encoding=None)
        except Exception:  # noqa: BLE001 - any loadtxt failure: locate it line by line below
            pass
        else:
            if table.shape[0] == text.count("\n") + 1:
                return table
    _raise_first_bad_line(body, name, line0)
    raise AssertionError("unreachable")  # pragma: no cover


def _raise_first_bad_line(body: bytes, name: str, line0: int):
    """Scan line by line (slow, only on the error path) and raise for the first bad one."""
    ncols = None
    for i, raw in enumerate(body.split(b"\n")):
        line = raw[:-1] if raw.endswith(b"\r") else raw
        where = f"{name} line {line0 + i}"
        if not line.strip():
            raise DataFormatError(f"{where} is blank; expected {ncols or 'comma-separated'} "
                                  "values (blank lines are allowed only at the end)")
        fields = line.split(b",")
        for j, f in enumerate(fields):
            if _NUMBER.fullmatch(f):
                continue
            for sep, word in ((b";", "semicolons (;)"), (b"\t", "tabs")):
                if sep in f:
                    raise DataFormatError(f"{where} uses {word} between values; expected "
                                          "commas (,): re-export the file as comma-separated")
            if b"\r" in f:
                raise DataFormatError(f"{where} column {j + 1} contains a bare carriage return "
                                      "(\\r); expected lines to end with \\n or \\r\\n")
            if _is_binary(f):
                raise DataFormatError(f"{where} column {j + 1} holds binary (non-text) bytes; "
                                      "expected a number")
            shown = f.decode("utf-8", "backslashreplace")[:20]
            if not f.strip():
                raise DataFormatError(f"{where} column {j + 1} is empty; expected a number")
            raise DataFormatError(f"{where} column {j + 1} has {shown!r}; expected a number")
        if ncols is None:
            ncols = len(fields)
        elif len(fields) != ncols:
            raise DataFormatError(f"{where} has {len(fields) - 1} pixel columns; expected "
                                  f"{ncols - 1} after the label ({ncols} values, as on line "
                                  f"{line0})")
    raise DataFormatError(f"{name} could not be parsed as CSV; expected comma-separated numbers")
