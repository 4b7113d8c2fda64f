"""Write the corpus of malformed and unusual data files and its EXPECTED.tsv.

Run from anywhere: ``python3 tests/bad_data/make_corpus.py``. The output is
deterministic (gzip mtime 0), so re-running it leaves git clean.

Every file encodes (or breaks) the same tiny data set: 3 images of 4 pixels,
labels 3, 0, 7. EXPECTED.tsv has one row per case: file name, the
``label_column`` to load it with, and either ``OK`` (must load to that data
set) or a fragment the one-line DataFormatError message must contain.
"""

from __future__ import annotations

import gzip
import io
import struct
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
LABELS = [3, 0, 7]
PIXELS = [[0, 128, 255, 17], [5, 0, 0, 9], [255, 255, 1, 0]]


def rows(label_last: bool = False, pixels=PIXELS, labels=LABELS, fmt=str) -> list[str]:
    out = []
    for lab, pix in zip(labels, pixels):
        cells = [fmt(p) for p in pix]
        out.append(",".join(cells + [str(lab)] if label_last else [str(lab)] + cells))
    return out


def good(sep: str = "\n") -> str:
    return sep.join(rows()) + sep


def gz(data: bytes) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0) as fh:
        fh.write(data)
    return buf.getvalue()


def idx(magic_type: int, dims: list[int], payload: bytes) -> bytes:
    return bytes([0, 0, magic_type, len(dims)]) + b"".join(struct.pack(">i", d) for d in dims) \
        + payload


def npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


IMAGES = bytes(np.array(PIXELS, dtype=np.uint8).ravel())
LABEL_BYTES = bytes(LABELS)
HEADER = "label,p0,p1,p2,p3\n"

# (file name, contents, label_column, expected fragment or "OK")
CASES: list[tuple[str, bytes | str, str, str]] = [
    # --- accepted: unusual but valid ---
    ("ok_plain.csv", good(), "auto", "OK"),
    ("ok_header.csv", HEADER + good(), "auto", "OK"),
    ("ok_crlf.csv", good("\r\n"), "auto", "OK"),
    ("ok_bom.csv", "\ufeff" + good(), "auto", "OK"),
    ("ok_bom_crlf_header.csv", "\ufeff" + (HEADER + good()).replace("\n", "\r\n"), "auto", "OK"),
    ("ok_trailing_blank_lines.csv", good() + "\n\n \n\r\n", "auto", "OK"),
    ("ok_no_final_newline.csv", good().rstrip("\n"), "auto", "OK"),
    ("ok_label_last.csv", "\n".join(rows(label_last=True)) + "\n", "auto", "OK"),
    ("ok_label_last_header.csv", "p0,p1,p2,p3,label\n" + "\n".join(rows(True)) + "\n",
     "auto", "OK"),
    ("ok_floats_scaled.csv", "\n".join(rows(fmt=lambda p: repr(p / 255))) + "\n", "auto", "OK"),
    ("ok_float_ints.csv", "\n".join(rows(fmt=lambda p: f"{p:.1f}")) + "\n", "auto", "OK"),
    ("ok_spaces_around_values.csv", good().replace(",", " , "), "auto", "OK"),
    ("ok_gzip.csv.gz", gz(good().encode()), "auto", "OK"),
    ("ok_multimember.csv.gz", gz(good().encode()[:9]) + gz(good().encode()[9:]), "auto", "OK"),
    ("ok_gzip_without_gz_name.csv", gz(good().encode()), "auto", "OK"),
    ("ok_label_first_forced.csv", good(), "first", "OK"),
    ("ok-images-idx3-ubyte", idx(0x08, [3, 2, 2], IMAGES), "auto", "OK"),
    ("ok-labels-idx1-ubyte", idx(0x08, [3], LABEL_BYTES), "auto", "OK"),
    ("ok.npz", npz(X=np.array(PIXELS, np.uint8).reshape(3, 2, 2), y=np.array(LABELS)),
     "auto", "OK"),
    # --- rejected: CSV structure ---
    ("too_few_columns.csv", good().replace("5,0,0,9\n", "5,0,9\n"), "auto",
     "line 2 has 3 pixel columns; expected 4 after the label"),
    ("too_many_columns.csv", good().replace("0,5,0,0,9\n", "0,5,0,0,9,9\n"), "auto",
     "line 2 has 5 pixel columns; expected 4"),
    ("non_numeric_cell.csv", good().replace("5,0,0,9", "5,0,abc,9"), "auto",
     "line 2 column 4 has 'abc'; expected a number"),
    ("empty_cell.csv", good().replace("5,0,0,9", "5,,0,9"), "auto",
     "line 2 column 3 is empty; expected a number"),
    ("bad_first_row.csv", good().replace("0,128", "0,x28"), "auto",
     "line 1 column 3 has 'x28'"),
    ("blank_line_in_middle.csv", good().replace("9\n", "9\n\n"), "auto", "line 3 is blank"),
    ("semicolons.csv", good().replace(",", ";"), "auto", "uses semicolons (;)"),
    ("semicolons_after_header.csv", HEADER + good().replace(",", ";"), "auto",
     "line 2 uses semicolons (;)"),
    ("tabs.csv", good().replace(",", "\t"), "auto", "uses tabs"),
    ("bare_cr_line_ends.csv", good("\r"), "auto", "bare carriage return"),
    ("quoted_numbers.csv", good().replace("128", '"128"'), "auto", "has '\"128\"'; expected a number"),
    ("not_text.csv", b"\xff\xfe\x00\x01" * 8, "auto", "line 1 holds binary (non-text) bytes"),
    ("binary_in_second_line.csv", good().replace("5,0,0,9", "5,0,\x01\x02,9"), "auto",
     "line 2 column 4 holds binary (non-text) bytes"),
    ("header_mismatch.csv", "label,p0,p1\n" + good(), "auto",
     "header) names 3 columns but the data rows have 5"),
    ("header_only.csv", HEADER, "auto", "header row but no data rows"),
    ("single_column.csv", "3\n0\n7\n", "auto", "expected a label and pixel values"),
    ("empty.csv", b"", "auto", "is empty"),
    ("whitespace_only.csv", "\n \r\n\n", "auto", "is empty"),
    # --- valid: features that are not 0..255 pixels are scaled, not refused ---
    ("ok_negative_value.csv", good().replace("5,0,0,9", "5,0,-3,9"), "auto", "OK"),
    ("ok_value_256.csv", good().replace("5,0,0,9", "5,0,256,9"), "auto", "OK"),
    ("ok_value_1000_5.csv", good().replace("5,0,0,9", "5,0,1000.5,9"), "auto", "OK"),
    # --- rejected: values ---
    ("nan_pixel.csv", good().replace("5,0,0,9", "5,0,nan,9"), "auto", "line 2 column 4 is nan"),
    ("inf_pixel.csv", good().replace("5,0,0,9", "5,0,inf,9"), "auto", "line 2 column 4 is inf"),
    ("label_huge.csv", good().replace("7,255", "100000,255"), "first",
     "line 3 column 1 has label 100000; expected a whole number 0, 1, 2, ..."),
    ("label_fraction.csv", good().replace("0,5,", "2.5,5,"), "first",
     "line 2 column 1 has label 2.5"),
    ("label_negative.csv", good().replace("0,5,", "-1,5,"), "first", "has label -1"),
    ("no_label_column.csv", "\n".join(rows(labels=[30, 40, 50])) + "\n", "auto",
     "has no label column"),
    # --- rejected: gzip ---
    ("empty.csv.gz", b"", "auto", "is empty (0 bytes)"),
    ("truncated.csv.gz", gz((good() * 50).encode())[:40], "auto", "is truncated"),
    ("corrupt.csv.gz", gz(good().encode())[:12] + b"\xff\xff\xff" + gz(good().encode())[15:],
     "auto", "corrupt gzip data at byte offset"),
    ("bad_crc.csv.gz", gz(good().encode())[:-8] + b"\0\0\0\0" + gz(good().encode())[-4:],
     "auto", "corrupt gzip data"),
    ("trailing_garbage.csv.gz", gz(good().encode()) + b"garbage", "auto",
     "non-gzip data after the gzip stream"),
    # --- rejected: IDX ---
    ("badmagic-images-idx3-ubyte", idx(0x08, [3, 2], IMAGES[:6]) + IMAGES[6:], "auto",
     "magic number 0x00000802 at byte offset 0; expected 0x00000803"),
    ("badmagic-labels-idx1-ubyte", idx(0x08, [3], LABEL_BYTES), "auto", "OK-partner"),
    ("short-images-idx3-ubyte", idx(0x08, [3, 2, 2], IMAGES[:-1]), "auto",
     "sizes are inconsistent"),
    ("short-labels-idx1-ubyte", idx(0x08, [3], LABEL_BYTES), "auto", "OK-partner"),
    ("count-images-idx3-ubyte", idx(0x08, [3, 2, 2], IMAGES), "auto",
     "holds 3 images but"),
    ("count-labels-idx1-ubyte", idx(0x08, [2], LABEL_BYTES[:2]), "auto", "OK-partner"),
    ("lonely-images-idx3-ubyte", idx(0x08, [3, 2, 2], IMAGES), "auto", "partner is missing"),
    ("tiny-images-idx3-ubyte", b"\x00\x00\x08\x03\x00\x00", "auto",
     "inside its 16-byte IDX header"),
    ("tiny-labels-idx1-ubyte", idx(0x08, [3], LABEL_BYTES), "auto", "OK-partner"),
    ("csv-not-idx-images-idx3-ubyte", good(), "auto", "expected 0x00000803"),
    ("csv-not-idx-labels-idx1-ubyte", idx(0x08, [3], LABEL_BYTES), "auto", "OK-partner"),
    # --- rejected: npz / npy ---
    ("wrong_keys.npz", npz(images=np.zeros((3, 4)), labels=np.zeros(3)), "auto",
     "expected 'X' (images) and 'y' (labels)"),
    ("label_count_mismatch.npz", npz(X=np.zeros((3, 4)), y=np.zeros(2, int)), "auto",
     "one label per row"),
    ("nan_pixel.npz", npz(X=np.array([[0, np.nan], [1, 0]]), y=np.array([1, 2])), "auto",
     "X[0, 1] is nan"),
    ("string_labels.npz", npz(X=np.zeros((2, 4)), y=np.array(["a", "b"])), "auto",
     "array 'y' has dtype <U1"),
    ("truncated.npz", npz(X=np.zeros((3, 4)), y=np.zeros(3, int))[:100], "auto",
     "is not a readable .npz archive"),
    ("just_an_array.npy", None, "auto", "single .npy array without labels"),
    ("npy_named_npz.npz", None, "auto", "single .npy array without labels"),
    ("text_named_npz.npz", "hello", "auto", "is not an .npz archive (it starts with bytes 68 65 6c 6c)"),
]


def _npy() -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.zeros((3, 4)))
    return buf.getvalue()


def _pickled_npz() -> bytes:
    buf = io.BytesIO()
    np.savez(buf, X=np.array([[1, "a"]], dtype=object), y=np.array([1]))
    return buf.getvalue()


CASES.append(("pickled_objects.npz", _pickled_npz(), "auto", "never does"))


def main() -> None:
    lines = ["# file\tlabel_column\texpected (OK = loads to labels 3,0,7 and the 3x4 pixels)"]
    for name, content, label_column, expected in CASES:
        if content is None:
            content = _npy()
        if isinstance(content, str):
            content = content.encode("utf-8")
        (HERE / name).write_bytes(content)
        if expected != "OK-partner":  # partners are data, not cases
            lines.append(f"{name}\t{label_column}\t{expected}")
    (HERE / "EXPECTED.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
