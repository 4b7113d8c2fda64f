"""Data that is almost right: one odd pixel or label is loaded, scaled with the others, and named by file:line:column.

Every file here is a few real MNIST rows (the bundled sample) with one planted
value. The oracle for each place is the file itself: the line and column a
note names are read back with plain ``str.split`` and must hold the value.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import io
import json
import re

import numpy as np
import pytest

from netdoctor.data import load, load_sample, sample_path
from netdoctor.data.oddities import find_oddities

ROWS = 120


def sample_lines(n: int = ROWS) -> list[str]:
    with gzip.open(sample_path(), "rt") as fh:
        return [next(fh).rstrip("\n") for _ in range(n)]


def plant(path, edits: dict[tuple[int, int], str], *, header: str | None = None, n: int = ROWS) -> str:
    """Write the sample's first ``n`` rows with ``edits[(row, field)] = text`` (0-based row and field)."""
    lines = sample_lines(n)
    for (r, f), text in edits.items():
        fields = lines[r].split(",")
        fields[f] = text
        lines[r] = ",".join(fields)
    path.write_text("\n".join(([header] if header else []) + lines) + "\n")
    return str(path)


def raw_table(path: str, skip: int = 0) -> np.ndarray:
    return np.loadtxt(path, delimiter=",", skiprows=skip)


def cell_at(ref: str) -> str:
    """The text at ``file:line:column`` (1-based), read back from the file."""
    name, line, column = re.fullmatch(r"(.+):(\d+):(\d+)", ref).groups()
    with open(name) as fh:
        return fh.read().splitlines()[int(line) - 1].split(",")[int(column) - 1]


def refs(note: str) -> list[str]:
    return re.findall(r"(\S+?:\d+:\d+)", note)


@pytest.mark.parametrize("value", ["-7", "300", "12.5"])
def test_one_odd_pixel_is_named_and_the_file_still_scaled_as_pixels(tmp_path, value):
    path = plant(tmp_path / "mnist.csv", {(16, 301): value})
    ds = load(path, cache=False)
    raw = raw_table(path)
    # Scaled like every other cell: x / 255, the odd one included (the oracle: the file's numbers over 255).
    np.testing.assert_allclose(ds.X, (raw[:, 1:] / 255).astype(np.float32), rtol=1e-6)
    np.testing.assert_array_equal(ds.y, raw[:, 0].astype(int))
    assert ds.summary.scaling == "divide-255" and ds.summary.kind == "images"
    [note] = ds.summary.notes
    assert refs(note) == [f"{path}:17:302"] and cell_at(refs(note)[0]) == value
    assert f"holds {float(value):g}" in note and "every other cell is a whole number 0..255" in note
    assert f"{float(value):g} became {float(value) / 255:.4g}" in note
    assert "as every cell but 1" in ds.summary.scaling_text()
    assert ds.summary.to_dict()["notes"] == [note]


def test_one_odd_label_is_named_and_its_classes_added(tmp_path):
    path = plant(tmp_path / "mnist.csv", {(9, 0): "12"})
    ds = load(path, cache=False)
    raw = raw_table(path)
    np.testing.assert_array_equal(ds.y, raw[:, 0].astype(int))  # the label column is still the first
    assert set(ds.summary.label_counts) == set(range(13)) and ds.summary.label_counts[12] == 1
    [note] = ds.summary.notes
    assert refs(note) == [f"{path}:10:1"] and cell_at(refs(note)[0]) == "12"
    assert "every other row's label is 0..9" in note and "classes 10..12 are added" in note
    assert "10 and 11 with no rows" in note


def test_a_label_just_above_the_others_adds_one_class(tmp_path):
    path = plant(tmp_path / "mnist.csv", {(3, 0): "10"})
    [note] = load(path, cache=False).summary.notes
    assert refs(note) == [f"{path}:4:1"] and "class 10 is added" in note and "no rows" not in note


def test_a_few_odd_cells_are_listed_then_counted_and_a_header_shifts_the_lines(tmp_path):
    edits = {(r, 100 + r): "-1" for r in (2, 5, 8, 11, 14)}
    header = ",".join(["label"] + [f"p{i}" for i in range(784)])
    path = plant(tmp_path / "mnist.csv", edits, header=header, n=600)  # 5 rows of 600: under 1% of the rows
    ds = load(path, cache=False)
    [note] = ds.summary.notes
    shown = refs(note)
    assert shown == [f"{path}:{r + 2}:{100 + r + 1}" for r in (2, 5, 8)]  # line 1 is the header
    assert all(cell_at(ref) == "-1" for ref in shown) and "and 2 more cells" in note
    np.testing.assert_allclose(ds.X, (raw_table(path, skip=1)[:, 1:] / 255).astype(np.float32), rtol=1e-6)


def test_pixels_already_in_the_unit_interval_with_one_odd_cell_are_used_as_they_are(tmp_path):
    lines = sample_lines()
    rows = []
    for line in lines:
        v = np.array(line.split(","), dtype=float)
        rows.append(",".join([str(int(v[0]))] + [f"{p / 255:.4f}" for p in v[1:]]))
    fields = rows[20].split(",")
    fields[400] = "300"
    rows[20] = ",".join(fields)
    path = tmp_path / "unit.csv"
    path.write_text("\n".join(rows) + "\n")
    ds = load(str(path), cache=False)
    assert ds.summary.scaling == "none" and ds.summary.kind == "images"
    np.testing.assert_allclose(ds.X, raw_table(str(path))[:, 1:], rtol=1e-6)
    [note] = ds.summary.notes
    assert refs(note) == [f"{path}:21:401"] and "every other cell is a number in [0, 1]" in note


def test_a_cache_hit_names_the_same_places(tmp_path, monkeypatch):
    path = plant(tmp_path / "mnist.csv", {(16, 301): "-7", (9, 0): "12"})
    import netdoctor.data.cache as cache

    monkeypatch.setattr(cache, "_clock_ns", lambda: 10**30)  # the file counts as settled: it is cached
    first = load(path, cache_dir=tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir())
    second = load(path, cache_dir=tmp_path / "cache")
    assert second.summary.notes == first.summary.notes and len(first.summary.notes) == 2
    np.testing.assert_array_equal(second.X, first.X)


def test_healthy_and_real_valued_data_have_no_notes(tmp_path):
    assert load_sample().summary.notes == ()
    rng = np.random.default_rng(0)
    X = 300 + rng.normal(0, 10, (200, 4))
    path = tmp_path / "bank.csv"
    path.write_text("\n".join(",".join(f"{v:.3f}" for v in row) + f",{i % 2}" for i, row in enumerate(X)) + "\n")
    ds = load(str(path), cache=False)
    assert ds.summary.scaling == "standardise" and ds.summary.notes == ()


def test_many_odd_cells_are_a_different_kind_of_data_not_a_typo():
    """Beyond 0.1% of the cells (or 1% of the rows) the values are not pixels with typos: no note."""
    rng = np.random.default_rng(1)
    P = rng.integers(0, 256, (400, 50)).astype(np.float32)
    y = np.arange(400) % 10
    P[:30, 0] = -3  # 30 rows of 400 (7.5%)
    assert not find_oddities(P, y)
    P[:30, 0] = 0
    P[7, 3] = -3
    found = find_oddities(P, y)
    assert found.cells == [(7, 3)] and found.values == [-3.0] and found.pattern == "pixels"


def test_a_rare_class_in_the_middle_is_imbalance_not_an_odd_label():
    y = np.repeat(np.arange(10), 100)
    y[500:597] = 4  # class 5 keeps 3 rows of 100: rare, but not above the others
    assert not find_oddities(np.zeros((1000, 2), np.uint8), y)
    y[0] = 40
    found = find_oddities(np.zeros((1000, 2), np.uint8), y)
    assert found.label_rows == [0] and found.labels == [40] and found.main_labels == 9


def test_npz_odd_cells_are_named_by_array_index(tmp_path):
    rng = np.random.default_rng(2)
    X = rng.integers(0, 256, (100, 16)).astype(np.float32)
    X[3, 5] = -7
    path = tmp_path / "d.npz"
    np.savez(path, X=X, y=np.arange(100) % 10)
    [note] = load(str(path), cache=False).summary.notes
    assert f"{path} X[3, 5] holds -7" in note


def test_check_reports_the_odd_value_at_its_line_in_every_medium(tmp_path, monkeypatch):
    """``netdoctor check`` on a file with one odd pixel: the terminal, JSON and HTML reports all point at the line."""
    from netdoctor.cli import main

    monkeypatch.chdir(tmp_path)
    path = plant(tmp_path / "mnist.csv", {(16, 301): "-7"})
    path = "mnist.csv"  # as typed: the report names the file as the user did
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["check", path, "--quick", "--no-gradcheck", "--epochs", "1", "--no-color",
                     "--html", str(tmp_path / "r.html")])
    assert code in (0, 1), err.getvalue()
    text = " ".join(out.getvalue().split())
    report = text[text.index("netdoctor diagnosis"):]  # the report itself, not only the summary before training
    assert f"@ {path}:17:302" in report and f"{path}:17:302 holds -7" in report  # the finding's place and message
    assert "odd-values" in report and "No problems found" not in report
    page = (tmp_path / "r.html").read_text()
    assert f"{path}:17:302 holds -7" in page
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        main(["check", path, "--quick", "--no-gradcheck", "--epochs", "1", "--json", "-"])
    data = json.loads(out.getvalue())
    [odd] = [f for f in data["findings"] if f["code"] == "odd-values"]
    # -7 divided by 255 like every other pixel is an input of -0.027: worth a look, not an error.
    assert odd["severity"] == "info" and odd["where"] == f"{path}:17:302"
    [place] = odd["evidence"]["places"]
    assert cell_at(place["where"]) == "-7" and place["value"] == -7
    assert np.isclose(place["scaled"], np.float32(-7) / np.float32(255))
    assert any(f"{path}:17:302" in n for n in data["sections"]["data"]["notes"])


def _check_json(args: list[str]) -> dict:
    from netdoctor.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        main(["check", *args, "--quick", "--no-gradcheck", "--epochs", "1", "--json", "-"])
    return json.loads(out.getvalue())


def test_an_odd_label_is_a_warning_naming_the_classes_it_adds(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    plant(tmp_path / "mnist.csv", {(40, 0): "12"})
    data = _check_json(["mnist.csv"])
    [odd] = [f for f in data["findings"] if f["code"] == "odd-values"]
    assert odd["severity"] == "warning" and cell_at(odd["where"]) == "12"
    ev = odd["evidence"]
    assert ev["classes_added"] == [10, 11, 12] and ev["classes_without_rows"] == [10, 11]
    assert data["context"]["n_classes"] == 13 and "No problems found" not in data["verdict"]


def test_an_odd_cell_left_far_outside_the_others_range_is_a_warning(tmp_path, monkeypatch):
    # Pixels already in [0, 1] are used as they are: a 300 reaches the network as 300.
    monkeypatch.chdir(tmp_path)
    rows = []
    for line in sample_lines():
        v = np.array(line.split(","), dtype=float)
        rows.append(",".join([str(int(v[0]))] + [f"{p / 255:.4f}" for p in v[1:]]))
    fields = rows[20].split(",")
    fields[400] = "300"
    rows[20] = ",".join(fields)
    (tmp_path / "unit.csv").write_text("\n".join(rows) + "\n")
    [odd] = [f for f in _check_json(["unit.csv"])["findings"] if f["code"] == "odd-values"]
    assert odd["severity"] == "warning" and odd["where"] == "unit.csv:21:401"
    assert odd["evidence"]["largest_scaled"] == 300 and odd["evidence"]["others"] == "a number in [0, 1]"


def test_the_test_files_odd_values_are_shown_and_reported(tmp_path, monkeypatch):
    from netdoctor.cli import main

    monkeypatch.chdir(tmp_path)
    plant(tmp_path / "train.csv", {})
    plant(tmp_path / "test.csv", {(5, 200): "300"}, n=100)
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        main(["check", "train.csv", "--test", "test.csv", "--quick", "--no-gradcheck", "--epochs", "1", "--no-color"])
    before = out.getvalue().split("netdoctor diagnosis")[0]
    assert "test.csv:6:201 holds 300" in " ".join(before.split())  # shown with the data, before training
    data = _check_json(["train.csv", "--test", "test.csv"])
    [odd] = [f for f in data["findings"] if f["code"] == "odd-values"]
    assert odd["where"] == "test.csv:6:201" and "of the test file" in odd["message"]


def test_healthy_files_have_no_odd_values_finding(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    plant(tmp_path / "train.csv", {})
    plant(tmp_path / "test.csv", {}, n=100)
    data = _check_json(["train.csv", "--test", "test.csv"])
    assert "odd-values" not in [f["code"] for f in data["findings"]]


def test_the_odd_values_rule_from_records_alone():
    """The rule's severity policy and wording, driven by evidence records (no file, no training)."""
    from netdoctor.data.oddities import OddPlaces
    from netdoctor.rules.evidence import OddValues
    from netdoctor.rules.oddities import odd_values

    assert odd_values(None) == []
    cells = tuple((f"d.csv:{i + 2}:5", 300.0, 300.0 / 255) for i in range(5))
    quiet = OddValues(OddPlaces("d.csv", "a whole number 0..255", cells, cell_count=7, cell_rows=7, cells_total=7840,
                                largest_scaled=10.0, scaled="divided by 255 like every other cell"),
                      scaling="pixels 0..300: ...")
    [f] = odd_values(quiet)
    assert f.code == "odd-values" and f.severity.value == "info" and f.where == "d.csv:2:5"
    assert "and 4 more cells" in f.message and "7 of the file's 7,840 cells break" in f.explanation
    assert len(f.evidence["places"]) == 5 and f.evidence["odd_cells"] == 7
    loud = dataclasses.replace(quiet, places=dataclasses.replace(quiet.places, largest_scaled=10.5), role="test")
    [f] = odd_values(loud)
    assert f.severity.value == "warning" and "of the test file" in f.message and "10.5" in f.explanation
    labels = OddValues(OddPlaces("d.csv", labels=(("d.csv:9:1", 13),), label_count=1, main_labels=9, class_rows=(40, 60),
                                 rows=501))
    [f] = odd_values(labels)
    assert f.severity.value == "warning" and f.evidence["classes_added"] == [10, 11, 12, 13]
    assert f.evidence["classes_without_rows"] == [10, 11, 12] and "14 classes instead of 10" in f.explanation
