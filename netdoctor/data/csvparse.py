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
bytes at once with shifted slices and then kept at the separators. Where the
optional compiled scan was built (``netdoctor/data/_csvscan.c``, see
:func:`compiled_scan`), it does the same in one pass over each chunk, 32 or 16
bytes at a time (AVX2, SSSE3; byte by byte on other CPUs), straight into the
table; it declines exactly what the NumPy parser declines, and the tests hold
both to the same oracles.
Anything else (floats, signs, spaces, errors)
goes to ``np.loadtxt``, and if that fails a line-by-line Python scan finds the
first bad line for the message. Every problem raises
:class:`~netdoctor.errors.DataFormatError` naming the file, line and column.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable
from typing import Any

import numpy as np

from netdoctor._lazy import compiled_part
from netdoctor.errors import DataFormatError, InvalidArgument

__all__ = ["read_csv", "read_csv_stream"]

_CHUNK = 1 << 17  # bytes per chunk: the ~12 byte-sized temporaries fit the L2 cache
_PAD = 4  # commas before each chunk: every field has three bytes before its end, and the data starts on an even byte
_CONTROL = re.compile(rb"[\x00-\x08\x0a-\x0c\x0e-\x1f]")
_WHOLE_NUMBERS = re.compile(rb"\d+(?:,\d+)*")
_NUMBER = re.compile(rb"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*|\s*[-+]?(nan|inf)\s*", re.I)


def read_csv(data: bytes | bytearray, name: str, label_column):
    """Parse CSV bytes into ``(pixels (N, D), labels (N,), pixel_at, label_at)``."""
    start, end, header, line0 = _rows_start(data, name)
    table = _parse_uint8(data, start, end)
    if table is None:
        table = _parse_general(data, start, end, name, line0)
    return _columns(table, header, name, line0, label_column)


def read_csv_stream(fh: Any, name: str, label_column, size: int):
    """:func:`read_csv` of an open binary file, read block by block; None where it does not apply.

    ``fh`` has ``read`` and ``readinto``; ``size`` is about its length in
    bytes (it sizes the table; a longer stream only costs a reallocation).

    The fast path (whole numbers 0..255) parses each block as it is read into
    one reused buffer, so the file's bytes are never held whole: for a
    110 MB CSV that buffer was as costly as the parse on a machine where fresh
    memory is expensive (a VM handing free pages back to its host). Anything
    else (a binary or empty file, one line, any row the fast path declines, a
    read error) returns None, and the caller reads the whole file and calls
    :func:`read_csv`, which parses it or names the problem: both give the same
    arrays and the same errors.
    """
    head = bytearray()
    while b"\n" not in head:
        try:
            more = fh.read(_CHUNK)
        except OSError:
            return None
        if not more:
            return None  # one line or none: the whole-file reader
        head += more
    if head[:6] == b"\x93NUMPY" or head[:4] == b"PK\x03\x04" or head[:2] == b"\x1f\x8b":
        return None
    try:
        start, _, header, line0 = _rows_start(head, name)
    except DataFormatError:
        return None
    table = _parse_blocks(fh, memoryview(head)[start:], size)
    if table is None:
        return None
    return _columns(table, header, name, line0, label_column)


def _rows_start(data, name: str) -> tuple[int, int, list[str] | None, int]:
    """Where the rows start and end in ``data`` (BOM, header and trailing blank lines aside), the header, the first row's line.

    Raises:
        DataFormatError: an empty file, semicolons, binary bytes, a header without rows.
    """
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
    # A header is mostly names; a data row with one bad cell is reported, not skipped. (A line of
    # whole numbers, the usual first row, is no header: one regex call instead of one per field.)
    if _WHOLE_NUMBERS.fullmatch(first) is None and 2 * sum(_NUMBER.fullmatch(f) is None for f in fields) >= len(fields):
        header = [f.strip().strip(b'"').decode("utf-8", "replace") for f in first.split(b",")]
        start, line0 = first_end + 1, 2
        if start >= end:
            raise DataFormatError(f"{name} has a header row but no data rows; expected "
                                  "one image per line after it")
    return start, end, header, line0


def _columns(table: np.ndarray, header: list[str] | None, name: str, line0: int, label_column):
    """The parsed table as ``(pixels, labels, pixel_at, label_at)``: the label column found, the others the pixels."""
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

    def whole(v: np.ndarray) -> bool:
        # uint8 (the fast parser's table) is whole and >= 0 already: np.rint would make float16 of it, slowly
        return v.dtype == np.uint8 or bool(np.all((v >= 0) & (v == np.rint(v))))

    def digits_only(c: int) -> bool:
        v = table[:, c]
        return bool(v.max() <= 9) and whole(v)

    def class_labels(c: int) -> bool:
        # Whole numbers 0..K-1 with most classes present: a label column of another data set
        # (labels written 3.0000 parse to the same numbers), not a feature that happens to be whole.
        v = table[:, c]
        if not whole(v) or v.max() > 9999:
            return False
        distinct = np.unique(v).size
        return distinct >= 2 and 2 * distinct >= int(v.max()) + 1  # int: a uint8 255 + 1 would wrap to 0

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
    """Whole numbers 0..255, commas, LF or CRLF only: vectorised parse of ``data[start:end]``, else None."""
    return _parse_blocks(_ViewReader(memoryview(data)[start:end]), b"", end - start)


def _parse_blocks(fh: Any, head, size: int) -> np.ndarray | None:
    """The fast parse of ``head`` (bytes already read) and then of the rest of ``fh``, else None.

    ``size`` is the bytes of ``head`` and the rest together (or more): every
    field takes at least two bytes, so the table has at most
    ``size // (2 * columns) + 1`` rows, and the blocks' values are written
    straight into a table of that many rows (the pages of the rows never
    written are never touched), without a copy per block and a concatenation.

    The bytes go through one reused buffer in blocks of whole lines (about
    :data:`_CHUNK` bytes, read straight into it), so every temporary of
    :func:`_parse_chunk` stays in the CPU cache and the peak memory is the
    table. Trailing blank lines at the end are dropped; a line without its
    final newline gets one.
    """
    scan = compiled_scan()
    room = max(_CHUNK, len(head))
    s = _Scratch(room)
    buf = s.bytes
    filled = _PAD + len(head)
    buf[_PAD:filled] = np.frombuffer(head, np.uint8)
    eof = False
    table: np.ndarray | None = None
    done = 0
    while True:
        while not eof and filled < _PAD + room:
            try:
                n = fh.readinto(buf.data[filled:_PAD + room])
            except OSError:
                return None
            eof = not n
            filled += n or 0
        if eof:
            stop = filled
            while stop > _PAD and buf[stop - 1] in _BLANK:
                stop -= 1
            if stop == _PAD:
                break
            buf[stop] = 10  # the last line of a file without a final newline
            cut = stop + 1
        else:
            cut = _after_last_newline(buf, _PAD, filled)
            if not cut:  # a line longer than the room: a bigger buffer
                room *= 2
                bigger = _Scratch(room)
                bigger.bytes[:filled] = buf[:filled]
                s, buf = bigger, bigger.bytes
                continue
        added = _add_block(buf[:cut], s, scan, table, done, size)
        if added is None:
            return None
        table, done = added
        if eof:
            break
        rest = filled - cut
        buf[_PAD:_PAD + rest] = buf[cut:filled]  # the next block's start (numpy copies overlapping ranges safely)
        filled = _PAD + rest
    return None if table is None else table[:done]


_BLANK = frozenset(b" \t\r\n\x00")


def _add_block(block: np.ndarray, s: _Scratch, scan: Callable[[Any, int, Any, int], Any] | None, table: np.ndarray | None,
               done: int, size: int) -> tuple[np.ndarray, int] | None:
    """The values of ``block`` (:data:`_PAD` commas, then whole lines) written into ``table`` after its first ``done`` rows.

    Returns ``(table, rows done)``: the table made at the first block (sized
    for ``size`` bytes, see :func:`_parse_blocks`) and grown when the file is
    longer; None if the block is not plain 0..255 CSV, or its lines have
    another length than the table's rows. With the compiled ``scan``, blocks
    after the first are parsed straight into the table's free rows.
    """
    if table is not None and scan is not None:
        got = scan(block, _PAD, table[done:].reshape(-1), table.shape[1])
        while got == _NO_ROOM:  # longer than ``size`` said: twice the rows, then the same block again
            table = np.concatenate([table[:done], np.empty_like(table)])
            got = scan(block, _PAD, table[done:].reshape(-1), table.shape[1])
        return None if got == _DECLINE else (table, done + got[0])
    part = _parse_chunk(block, s) if scan is None else _scan_first(scan, block, s)
    if part is None or (table is not None and part.shape[1] != table.shape[1]):
        return None
    if table is None:
        table = np.empty((size // (2 * part.shape[1]) + 1, part.shape[1]), np.uint8)
    if done + len(part) > len(table):  # longer than ``size`` said: twice the rows
        table = np.concatenate([table[:done], np.empty((max(len(part), len(table)), table.shape[1]), np.uint8)])
    table[done:done + len(part)] = part  # uint16 values checked <= 255: the cast keeps them
    return table, done + len(part)


_DECLINE, _NO_ROOM = -1, -2  # what the compiled scan returns instead of (rows, columns)


def compiled_scan() -> Callable[[Any, int, Any, int], Any] | None:
    """The compiled one-pass scan (``netdoctor/data/_csvscan.c``), or None where it was not built or is switched off.

    ``NETDOCTOR_PURE_CSV=1`` in the environment switches it off: the NumPy
    parser then does the same work (the tests run both on the same inputs). A scan built from another version of
    ``_csvscan.c`` than the one beside it is not used (:func:`~netdoctor._lazy.compiled_part`; with
    ``NETDOCTOR_REQUIRE_CSVSCAN`` set it fails instead).
    """
    if os.environ.get("NETDOCTOR_PURE_CSV", "") not in ("", "0"):
        return None
    part = compiled_part("netdoctor.data._csvscan", "NETDOCTOR_REQUIRE_CSVSCAN")
    return part.scan if part is not None else None


def _scan_first(scan: Callable[[Any, int, Any, int], Any], block: np.ndarray, s: _Scratch) -> np.ndarray | None:
    """The first block's table by the compiled scan (its first line decides the column count), in ``s``; None if declined.

    ``block`` is the read buffer up to a line end: :data:`_PAD` commas, then the lines.
    """
    out = s.values.view(np.uint8)  # every field takes two bytes or more: room for all of them
    got = scan(block, _PAD, out, 0)
    if got in (_DECLINE, _NO_ROOM):
        return None
    rows, ncols = got
    return out[:rows * ncols].reshape(rows, ncols)


def _after_last_newline(buf: np.ndarray, lo: int, hi: int) -> int:
    """The index just past the last newline of ``buf[lo:hi]``, 0 if there is none (it is nearly always in the last 8 KiB)."""
    for start in (max(lo, hi - 8192), lo):
        found = np.flatnonzero(buf[start:hi] == 10)
        if found.size:
            return start + int(found[-1]) + 1
    return 0


class _ViewReader:
    """``readinto`` over bytes already in memory (``io.BytesIO`` would copy them first)."""

    def __init__(self, view: memoryview) -> None:
        self.view, self.pos = view, 0

    def readinto(self, out: memoryview) -> int:
        n = min(len(out), len(self.view) - self.pos)
        out[:n] = self.view[self.pos:self.pos + n]
        self.pos += n
        return n


class _Scratch:
    """The working arrays of :func:`_parse_chunk` for blocks of up to ``size`` bytes, allocated once per file.

    ``bytes`` is the read buffer itself: ``_PAD`` commas, then the block, then
    room for a final newline and for one byte that rounds the block up to whole
    byte pairs.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        n = size + _PAD + 2  # + 1: a final newline where the file has none; + 1: whole pairs
        self.bytes = np.empty(n, np.uint8)
        self.bytes[:_PAD] = ord(",")
        self.digit = np.empty(n, np.uint8)
        self.is_digit = np.empty(n, bool)
        self.is_nl = np.empty(n, bool)
        self.is_sep = np.empty(n, bool)
        self.ok = np.empty(n, bool)
        self.two = np.empty(n, bool)
        self.near = np.empty(n, np.uint8)
        self.values = np.empty(n // 2, np.uint16)
        self.wide = np.empty(n // 2, np.uint16)
        self.tens = np.empty(n, np.uint8)
        self.hundreds = np.empty(n, np.uint8)
        self.pair = np.empty(n // 2, bool)


def _parse_chunk(c: np.ndarray, s: _Scratch | None = None) -> np.ndarray | None:
    """Whole lines as bytes -> ``(rows, ncols)`` table of values 0..255, or None if not plain 0..255 CSV.

    The table is uint16 whose low byte is the value (the high byte is not
    cleared); it lives in ``s`` and the caller casts it into its uint8 table
    before the next block.

    ``c[:_PAD]`` are commas put before the data (so every field has three
    bytes before its end, and the data starts on an even byte) and ``c[-1]``
    is a newline. With ``x`` the digit value of each byte (0 for a separator),
    the field that ends at separator ``p`` is ``100 x[p-3] [p-2 is a digit] +
    10 x[p-2] + x[p-1]``: the missing digits of a short field are separators
    and add 0, and the mask keeps a digit of the previous field out. That sum
    is formed for *every* byte with shifted contiguous slices (SIMD passes over
    bytes), in uint8: the tens and units ``t = 10 x[p-2] + x[p-1]`` (<= 99) and
    the hundreds digit ``h`` apart, both zeroed off the separators, so a field
    over 255 is caught without a wider type (``h > 2``, or ``64 h + t >= 184``).

    Gathering the fields is the one step that is not a SIMD pass
    (``np.flatnonzero`` writes one index per element it scans, ~1 ns each).
    A field takes at least two bytes (a digit and its separator), so each
    aligned byte pair holds at most one separator: the scan runs over pairs,
    half the elements, and the pair's two value bytes (one of them the zero
    of a non-separator) are gathered as one uint16 and OR-ed.

    The rules that make it exact are checked on bytes: only digits, commas and
    newlines; no empty field (two separators in a row); no run of four digits
    (every four bytes hold a separator); the fields <= 255; each line the same
    number of fields. Every pass writes into the arrays of ``s`` (see
    :class:`_Scratch`).

    Long because the passes are one pipeline over the same scratch arrays:
    split, each stage would take and return half a dozen views of them.
    """
    if s is None or s.size + _PAD + 2 < c.size:
        s = _Scratch(c.size)
    n = c.size
    n2 = n + (n & 1)  # whole byte pairs: the last one gets a zero byte
    d, dig, nl, sep, ok = s.digit[:n], s.is_digit[:n], s.is_nl[:n2], s.is_sep[:n2], s.ok[:n]
    np.subtract(c, np.uint8(48), out=d)  # wraps to >= 10 for any non-digit byte
    np.less(d, np.uint8(10), out=dig)
    np.equal(c, 10, out=nl[:n])
    np.equal(c, 44, out=sep[:n])
    sep[:n] |= nl[:n]
    np.logical_or(dig, sep[:n], out=ok)
    if not ok.all():
        # Another byte: CRLF line ends are parsed without their CRs; anything else is not for this parser.
        cr = np.flatnonzero(np.equal(c, 13, out=ok))
        if not cr.size or np.any(c[cr + 1] != 10):  # c ends with a newline: cr + 1 is in range
            return None
        return _parse_chunk(np.delete(c, cr), s)
    s8, g8 = sep[:n].view(np.uint8), dig.view(np.uint8)
    two = s.two[:n - 1]
    np.logical_and(sep[_PAD:n], sep[_PAD - 1:n - 1], out=two[:n - _PAD])
    if two[:n - _PAD].any():  # two separators in a row: an empty field (the pad's own commas aside)
        return None
    np.logical_and(dig[1:], dig[:-1], out=two)  # two digits in a row
    four = s.ok[:n - 3]
    np.logical_and(two[2:], two[:-2], out=four)
    if four.any():  # four digits in a row
        return None
    d *= g8  # digit values, 0 at separators
    t, h = s.tens[:n2], s.hundreds[:n]
    t[:2] = 0
    np.multiply(d[:-2], np.uint8(10), out=t[2:n])
    t[2:n] += d[1:-1]  # t[p] = 10 x[p-2] + x[p-1]
    h[:3] = 0
    np.multiply(d[:-3], g8[1:-2], out=h[3:])  # the hundreds digit only inside the field
    h *= s8
    t[:n] *= s8  # both only at separators
    # A field over 255 has a hundreds digit over 2, or 2 and tens and units over 55: with h <= 2, 64 h + t >= 184.
    if h.max() > 2:
        return None
    near = s.near[:n]
    np.multiply(h, np.uint8(64), out=near)
    near += t[:n]
    if near.max() >= 184:
        return None
    h *= np.uint8(100)
    t[:n] += h  # the fields' values at their separators (<= 255 checked), 0 elsewhere
    t[n:] = 0
    sep[n:] = False
    nl[n:] = False
    sep[:_PAD] = False
    pair = s.pair[:n2 // 2]
    np.not_equal(sep.view(np.uint16), 0, out=pair)
    at = np.flatnonzero(pair)  # the byte pair of each field's separator
    fields = at.size
    rows = np.count_nonzero(nl)
    ncols = fields // rows
    # ``rows`` newlines among the fields and every ncols-th field one of them: each line has ncols fields.
    if rows * ncols != fields or not nl.view(np.uint16)[at[ncols - 1::ncols]].all():
        return None
    # (value, 0) or (0, value) byte pairs; mode="wrap": an unbuffered take (every index is in range)
    values = t.view(np.uint16).take(at, out=s.values[:fields], mode="wrap")
    values |= np.right_shift(values, 8, out=s.wide[:fields])
    return values.reshape(rows, ncols)


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
