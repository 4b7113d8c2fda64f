"""Parse CSV bytes of images into a pixel table and labels, with one-line errors.

:func:`read_csv` takes the (already gunzipped) bytes of a CSV file with one
image per line and returns ``(pixels (N, D), labels (N,), pixel_at,
label_at)``; the two callables name a cell's line and column for messages
(``mnist.csv line 17 column 301``), or with ``ref=True`` as an editor's
reference (``mnist.csv:17:301``).
It handles a UTF-8 BOM, an optional header row, CRLF line ends and trailing
blank lines, and finds the label column (first or last, whichever holds only
digits 0..9; a header name or the spread of values breaks ties).

Fast path: MNIST-style files are whole numbers 0..255 separated by commas. We
parse them with array arithmetic on the raw bytes, in chunks of whole lines
small enough for the CPU cache: since each field has 1-3 digits, the value
ending before separator ``p`` is ``x[p-1] + 10 x[p-2] + 100 x[p-3]`` (``x``
the digit values, a digit of the previous field masked out), formed for all
bytes at once with shifted slices and then kept at the separators.
Anything else (floats, signs, spaces, errors)
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

_CHUNK = 1 << 17  # bytes per chunk: the ~12 byte-sized temporaries fit the L2 cache
_PAD = 3  # commas before each chunk: every field then has three bytes before its end
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

    def pixel_at(r: int, c: int, *, ref: bool = False) -> str:
        line, column = line0 + r, c + 1 + (c >= col)
        return f"{name}:{line}:{column}" if ref else f"{name} line {line} column {column}"

    def label_at(r: int, *, ref: bool = False) -> str:
        return f"{name}:{line0 + r}:{col + 1}" if ref else f"{name} line {line0 + r} column {col + 1}"

    return pixels, labels, pixel_at, label_at


def _is_binary(chunk: bytes) -> bool:
    """True if ``chunk`` is not UTF-8 text or has control bytes other than tab and CR."""
    try:
        chunk.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return _CONTROL.search(chunk) is not None


def _label_column(table, option, header, name, line0) -> int:
    """Index of the label column: given, or the first/last column holding only digits 0..9
    (else whole-number class labels 0..K-1, most of them present)."""
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

    def class_labels(c: int) -> bool:
        # Whole numbers 0..K-1 with most classes present: a label column of another data set
        # (labels written 3.0000 parse to the same numbers), not a feature that happens to be whole.
        v = table[:, c]
        if not np.all((v >= 0) & (v == np.rint(v))) or v.max() > 9999:
            return False
        distinct = np.unique(v).size
        return distinct >= 2 and 2 * distinct >= v.max() + 1

    def varies(c: int) -> bool:
        return bool(np.any(table[:, c] != table[0, c]))

    # A constant column (MNIST's blank corner pixel) holds digits too, but no classes: it is the label
    # column only when nothing else can be (a file of one class); a label 12 among digits must not lose to it.
    ends = (0, ncols - 1)
    cands = ([c for c in ends if digits_only(c) and varies(c)] or [c for c in ends if class_labels(c)]
             or [c for c in ends if digits_only(c)])
    if not cands:
        bad = [(c, int(np.flatnonzero(~((table[:, c] >= 0) & (table[:, c] == np.rint(table[:, c]))))[0])
                if not np.all((table[:, c] >= 0) & (table[:, c] == np.rint(table[:, c]))) else
                int(np.argmax(table[:, c]))) for c in (0, ncols - 1)]
        where = " and ".join(f"line {line0 + r} column {c + 1} has {table[r, c]:g}"
                             for c, r in bad)
        raise DataFormatError(f"{name} has no label column: expected the first or last column "
                              f"to hold whole-number class labels 0, 1, 2, ... (digits 0..9 for "
                              f"MNIST), but {where}")
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
    """Whole numbers 0..255, commas, LF or CRLF only: vectorised parse, else None.

    The bytes go through one reused buffer in chunks of whole lines (about
    :data:`_CHUNK` bytes), so every temporary of :func:`_parse_chunk` stays in
    the CPU cache and the peak memory is the file plus the table.
    """
    parts: list[np.ndarray] = []
    pos = start
    buf = np.empty(_CHUNK + (1 << 16) + _PAD, np.uint8)
    buf[:_PAD] = ord(",")
    while pos < end:
        stop = min(pos + _CHUNK, end)
        if stop < end:
            nl = data.find(b"\n", stop, end)
            stop = end if nl < 0 else nl + 1
        n = stop - pos
        if n + _PAD + 1 > buf.size:  # a line longer than the spare room
            buf = np.empty(n + _PAD + 1, np.uint8)
            buf[:_PAD] = ord(",")
        c = buf[:_PAD + n]
        c[_PAD:] = np.frombuffer(data, np.uint8, count=n, offset=pos)
        if c[-1] != 10:  # the last line of a file without a final newline
            c = buf[:_PAD + n + 1]
            c[-1] = 10
        part = _parse_chunk(c)
        if part is None or (parts and part.shape[1] != parts[0].shape[1]):
            return None
        parts.append(part)
        pos = stop
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _parse_chunk(c: np.ndarray) -> np.ndarray | None:
    """Whole lines as bytes -> uint8 table, or None if not plain 0..255 CSV.

    ``c[:_PAD]`` are commas put before the data (so every field has three
    bytes before its end) and ``c[-1]`` is a newline. With ``x`` the digit
    value of each byte (0 for a separator), the field that ends at separator
    ``p`` is ``100 x[p-3] [p-2 is a digit] + 10 x[p-2] + x[p-1]``: the missing
    digits of a short field are separators and add 0, and the mask keeps a
    digit of the previous field out. That sum is formed for *every* byte with
    shifted contiguous slices (SIMD passes over bytes, ~50x cheaper than
    gathering at the separators), then the separators' sums are kept. The
    rules that make it exact are checked on bytes too: only digits, commas
    and newlines; no empty field; no run of four digits; the kept sums <= 255.
    """
    cr = np.flatnonzero(c == 13)
    if cr.size:
        if np.any(c[cr + 1] != 10):
            return None
        c = np.delete(c, cr)
    n = c.size
    is_nl = c == 10
    sep = c == 44
    sep |= is_nl
    d = c - np.uint8(48)  # wraps to >= 10 for any non-digit byte
    dig = d < 10
    if np.count_nonzero(dig) + np.count_nonzero(sep) != n:  # disjoint sets that must cover every byte
        return None
    bad = dig[3:] & dig[2:-1]  # four digits in a row
    bad &= dig[1:-2]
    bad &= dig[:-3]
    bad |= sep[_PAD:] & sep[_PAD - 1:-1]  # an empty field: a separator right after one (or at the start)
    if bad.any():
        return None
    d *= dig  # digit values, 0 at separators
    x = d.astype(np.uint16)
    v = np.empty(n, np.uint16)
    v[:3] = 0
    w = v[3:]
    np.multiply(d[:-3], dig[1:-2], out=d[:-3])  # the hundreds digit only inside the field
    w[...] = d[:-3]  # (same-type arithmetic below: mixed uint8/uint16 loops are 2-3x slower)
    w *= np.uint16(10)
    w += x[1:-2]
    w *= np.uint16(10)
    w += x[2:-1]
    sep[:_PAD] = False
    ends = np.flatnonzero(sep)  # one gather per field from here on
    values = v.take(ends)
    if values.max() > 255:
        return None
    row_ends = np.flatnonzero(is_nl.take(ends))
    ncols = int(row_ends[0]) + 1
    if row_ends.size * ncols != values.size or np.any(np.diff(row_ends) != ncols):
        return None
    return values.astype(np.uint8).reshape(row_ends.size, ncols)


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
