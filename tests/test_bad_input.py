"""Bad and unusual data files: one clear DataFormatError line, or a correct load.

The corpus lives in tests/bad_data/ (written by make_corpus.py); EXPECTED.tsv
lists each file with the label_column to use and either OK or a fragment the
message must contain. Fuzzing checks that no input makes ``load`` raise
anything but DataFormatError, or leave a partial cache entry behind.
"""

from __future__ import annotations

import gzip
import io
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from netdoctor.data import cache as datacache
from netdoctor.data import load
from netdoctor.errors import DataFormatError

BAD = Path(__file__).resolve().parent / "bad_data"
CASES = [tuple(line.rstrip("\n").split("\t"))
         for line in (BAD / "EXPECTED.tsv").read_text(encoding="utf-8").splitlines()
         if line and not line.startswith("#")]
LABELS = np.array([3, 0, 7])
PIXELS = np.array([[0, 128, 255, 17], [5, 0, 0, 9], [255, 255, 1, 0]])


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    """Never touch the user's cache from tests; files written here count as settled.

    The cache stores only files whose timestamps are 2 s old (see
    netdoctor.data.cache); a test's files are milliseconds old, so the cache's
    clock runs a minute ahead. The tests of that rule put it back.
    """
    monkeypatch.setattr(datacache, "_clock_ns", lambda: time.time_ns() + 60 * 10**9)
    monkeypatch.setenv("NETDOCTOR_CACHE_DIR", str(tmp_path / "default-cache"))


def test_corpus_is_big_enough_and_complete():
    rejected = [c for c in CASES if c[2] != "OK"]
    assert len(rejected) >= 30
    for name, _, _ in CASES:
        assert (BAD / name).is_file(), name


@pytest.mark.parametrize(("name", "label_column", "expected"),
                         [c for c in CASES if c[2] != "OK"], ids=[c[0] for c in CASES if c[2] != "OK"])
def test_bad_file_gives_one_clear_line(name, label_column, expected, tmp_path):
    with pytest.raises(DataFormatError) as info:
        load(BAD / name, label_column=label_column, cache_dir=tmp_path)
    message = str(info.value)
    assert expected in message
    assert "\n" not in message
    assert name in message  # names the file
    assert not list(tmp_path.iterdir())  # nothing cached for a failed load


@pytest.mark.parametrize(("name", "label_column"),
                         [c[:2] for c in CASES if c[2] == "OK"], ids=[c[0] for c in CASES if c[2] == "OK"])
def test_unusual_but_valid_file_loads_exactly(name, label_column, tmp_path):
    ds = load(BAD / name, label_column=label_column, cache_dir=tmp_path)
    np.testing.assert_array_equal(ds.y, LABELS)
    assert ds.X.dtype == np.float32 and ds.y.dtype == np.int64
    if name.startswith(("ok_negative", "ok_value")):
        # not 0..255 pixels: scaled per feature as the values need, never refused
        raw = PIXELS.astype(np.float64)
        raw[1, 2] = {"ok_negative_value.csv": -3, "ok_value_256.csv": 256, "ok_value_1000_5.csv": 1000.5}[name]
        if ds.summary.scaling == "min-max":
            expect = raw / raw.max(axis=0)
        else:
            sd = raw.std(axis=0)
            expect = (raw - raw.mean(axis=0)) / np.where(sd > 0, sd, 1)
            assert ds.summary.scaling == "standardise"
        np.testing.assert_allclose(ds.X, expect, rtol=1e-5, atol=1e-5)
        assert not ds.pixels_were_scaled and not ds.summary.already_scaled
    elif "floats_scaled" in name:
        # written as repr(p / 255) in float64; float32 rounding differs by at most an ulp
        np.testing.assert_allclose(ds.X, PIXELS / 255, rtol=0, atol=1e-7)
        assert not ds.pixels_were_scaled and ds.summary.already_scaled
    else:
        np.testing.assert_array_equal(ds.X, PIXELS.astype(np.float32) / np.float32(255))
        assert ds.pixels_were_scaled and not ds.summary.already_scaled


def test_missing_file(tmp_path):
    with pytest.raises(DataFormatError, match=r"nope\.csv does not exist"):
        load(tmp_path / "nope.csv")


def test_directory_instead_of_file(tmp_path):
    with pytest.raises(DataFormatError, match="is a directory; expected a data file"):
        load(tmp_path)


def test_missing_idx_partner_names_the_expected_file(tmp_path):
    (tmp_path / "t10k-labels.idx1-ubyte").write_bytes(b"\0\0\x08\x01\0\0\0\x01\x05")
    with pytest.raises(DataFormatError, match=r"expected .*t10k-images\.idx3-ubyte \(or \.gz\)"):
        load(tmp_path / "t10k-labels.idx1-ubyte")


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_no_read_permission(tmp_path):
    path = tmp_path / "secret.csv"
    path.write_text("3,0,128\n")
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running with privileges that read any file (root)")
        with pytest.raises(DataFormatError, match=r"secret\.csv is not readable \(permission denied\)"):
            load(path)
    finally:
        path.chmod(0o600)


def test_unwritable_cache_dir_is_skipped_silently(tmp_path):
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("a file where the cache directory should be")
    ds = load(BAD / "ok_plain.csv", cache_dir=blocker / "cache")
    np.testing.assert_array_equal(ds.y, LABELS)


def test_damaged_cache_entry_is_ignored_and_rewritten(tmp_path):
    src = tmp_path / "d.csv"
    src.write_bytes((BAD / "ok_plain.csv").read_bytes())
    cache = tmp_path / "cache"
    first = load(src, cache_dir=cache)
    (entry,) = cache.glob("*.npy")
    entry.write_bytes(entry.read_bytes()[:-5])  # truncated entry
    again = load(src, cache_dir=cache)
    np.testing.assert_array_equal(again.X, first.X)
    np.testing.assert_array_equal(again.y, first.y)


@pytest.mark.parametrize("failure", [KeyboardInterrupt, OSError], ids=["interrupt", "disk_full"])
def test_failed_cache_write_leaves_no_partial_file(tmp_path, monkeypatch, failure):
    real_fdopen = os.fdopen

    class HalfFile:
        """The entry's file: its first write lands (the header), the next one fails."""

        def __init__(self, fh):
            self.fh, self.writes = fh, 0

        def write(self, data):
            self.writes += 1
            if self.writes > 1:
                raise failure("stopped while writing the cache entry")
            return self.fh.write(data)

        def __getattr__(self, name):
            return getattr(self.fh, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

    monkeypatch.setattr(datacache.os, "fdopen", lambda fd, mode="r": HalfFile(real_fdopen(fd, mode)))
    cache = tmp_path / "cache"
    if failure is KeyboardInterrupt:
        with pytest.raises(KeyboardInterrupt):
            load(BAD / "ok_plain.csv", cache_dir=cache)
    else:  # a cache that cannot be written is skipped: the load itself succeeds
        np.testing.assert_array_equal(load(BAD / "ok_plain.csv", cache_dir=cache).y, LABELS)
    assert list(cache.iterdir()) == []


# --- fuzzing ---------------------------------------------------------------------------

VALID = (BAD / "ok_header.csv").read_bytes()
NAMES = ["f.csv", "f.csv.gz", "f.npz", "f-images-idx3-ubyte", "f.npy"]


def _gz(data: bytes) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0) as fh:
        fh.write(data)
    return buf.getvalue()


def _load_only_data_errors(content: bytes, name: str) -> None:
    """load() either succeeds with sane arrays or raises DataFormatError; cache stays whole."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(content)
        if name.endswith("idx3-ubyte"):
            (Path(tmp) / "f-labels-idx1-ubyte").write_bytes(content[:64])
        cache = Path(tmp) / "cache"
        try:
            ds = load(path, cache_dir=cache)
        except DataFormatError as exc:
            assert "\n" not in str(exc)
        else:
            assert ds.X.dtype == np.float32 and ds.X.ndim == 2
            assert np.all((ds.X >= 0) & (ds.X <= 1))
            assert ds.y.dtype == np.int64 and np.all((ds.y >= 0) & (ds.y <= 9))
        entries = list(cache.iterdir()) if cache.exists() else []
        assert not [e for e in entries if not e.name.endswith(".npy")]  # no temp files
        for entry in entries:
            np.load(entry, allow_pickle=False)  # complete, readable


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(content=st.binary(max_size=300), name=st.sampled_from(NAMES))
@example(content=b"\x1f\x8b", name="f.csv")
@example(content=b"PK\x03\x04", name="f.npz")
@example(content=b"\x00\x00\x08\x03\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",
         name="f-images-idx3-ubyte")
@example(content=b"1,2\n\xff", name="f.csv")
def test_random_bytes_raise_only_data_format_errors(content, name):
    _load_only_data_errors(content, name)


@st.composite
def mutations(draw):
    """A valid CSV (plain or gzip) with a few bytes flipped, inserted, deleted or cut."""
    data = bytearray(draw(st.sampled_from([VALID, _gz(VALID)])))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=4))
        elif kind == "delete" and data:
            del data[at]
        else:
            del data[at:]
    return bytes(data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(content=mutations())
def test_mutated_valid_files_raise_only_data_format_errors(content):
    _load_only_data_errors(content, "f.csv")
