"""Other people's classification data: any finite numeric features, whole-number labels however written,
a header row; the scale found is described and the features are scaled as the data needs."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest

from netdoctor.data import load
from netdoctor.errors import DataFormatError


def write_csv(path, X, y, *, header=True, label_fmt="{:.4f}", label_last=True):
    cols = [f"f{i}" for i in range(X.shape[1])]
    lines = [",".join(cols + ["class"] if label_last else ["class"] + cols)] if header else []
    for row, label in zip(X, y):
        vals = [f"{v:.3f}" for v in row]
        lab = label_fmt.format(label)
        lines.append(",".join(vals + [lab] if label_last else [lab] + vals))
    path.write_text("\n".join(lines) + "\n")
    return path


def banknote_like(n=200, seed=0):
    """Four real-valued features around 300 (spread ~10), two classes written 0.0000 / 1.0000."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    X = 300 + rng.normal(0, 10, (n, 4)) + 15 * y[:, None] * np.array([1, -1, 0.5, 0])
    return X, y


def test_real_valued_features_and_float_written_labels_load_standardised(tmp_path):
    X, y = banknote_like()
    ds = load(write_csv(tmp_path / "bank.csv", X, y), cache=False)
    np.testing.assert_array_equal(ds.y, y)
    Xr = np.round(X, 3)  # as written in the file
    expect = (Xr - Xr.mean(axis=0)) / Xr.std(axis=0)  # the oracle: per-feature z-scores
    np.testing.assert_allclose(ds.X, expect, rtol=1e-4, atol=1e-4)
    text = " ".join(ds.summary.lines())
    assert "standardised" in text and f"{Xr.min():g}" in text and f"{Xr.max():g}" in text
    assert ds.summary.scaling == "standardise"


def test_already_standardised_data_is_used_as_it_is(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.normal(0, 1, (120, 3))
    y = np.arange(120) % 3
    ds = load(write_csv(tmp_path / "z.csv", X, y, label_fmt="{:d}", label_last=False), cache=False)
    np.testing.assert_allclose(ds.X, np.round(X, 3), atol=1e-6)
    assert ds.summary.scaling == "none" and "used as they are" in " ".join(ds.summary.lines())


def test_non_negative_counts_are_min_max_scaled(tmp_path):
    rng = np.random.default_rng(2)
    X = rng.integers(0, 5000, (150, 5)).astype(float)
    X[0] = 0  # every feature starts at 0: counts
    y = np.arange(150) % 3
    ds = load(write_csv(tmp_path / "counts.csv", X, y, label_fmt="{:d}"), cache=False)
    np.testing.assert_allclose(ds.X, X / X.max(axis=0), rtol=1e-6)
    assert ds.summary.scaling == "min-max" and "min-max" in " ".join(ds.summary.lines())


def test_pixels_are_still_divided_by_255(tmp_path):
    rng = np.random.default_rng(3)
    X = rng.integers(0, 256, (60, 16)).astype(float)
    y = np.arange(60) % 10
    ds = load(write_csv(tmp_path / "px.csv", X, y, label_fmt="{:d}", label_last=False, header=False), cache=False)
    np.testing.assert_array_equal(ds.X, (X / 255).astype(np.float32))
    assert ds.summary.scaling == "divide-255" and ds.pixels_were_scaled


def test_more_than_ten_classes_and_the_test_file_uses_the_training_scaling(tmp_path):
    rng = np.random.default_rng(4)
    y = np.arange(240) % 12
    X = 50 + rng.normal(0, 20, (240, 6)) + y[:, None]
    train = load(write_csv(tmp_path / "a.csv", X[:200], y[:200]), cache=False)
    test = load(write_csv(tmp_path / "b.csv", X[200:], y[200:]), cache=False, scaling=train.scaling)
    assert train.y.max() == 11 and len(train.summary.label_counts) == 12
    Xr = np.round(X, 3)
    mu, sd = Xr[:200].mean(axis=0), Xr[:200].std(axis=0)
    np.testing.assert_allclose(test.X, (Xr[200:] - mu) / sd, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("label, expected", [("2.5000", "has label 2.5"), ("-1", "has label -1")])
def test_genuinely_bad_labels_are_one_line_errors(tmp_path, label, expected):
    X, y = banknote_like(20)
    path = write_csv(tmp_path / "bad.csv", X, y)
    lines = path.read_text().splitlines()
    lines[3] = ",".join(lines[3].split(",")[:-1] + [label])
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFormatError) as info:
        load(path, cache=False, label_column="last")
    assert expected in str(info.value) and "line 4" in str(info.value) and "\n" not in str(info.value)


def test_non_finite_feature_is_still_an_error(tmp_path):
    X, y = banknote_like(20)
    X[5, 2] = np.nan
    with pytest.raises(DataFormatError, match="line 7 column 3 is nan"):
        load(write_csv(tmp_path / "nan.csv", X, y), cache=False)


def test_cli_diagnoses_such_a_file_instead_of_refusing_it(tmp_path):
    from netdoctor.cli import main

    X, y = banknote_like(400)
    path = write_csv(tmp_path / "bank.csv", X, y)
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(io.StringIO()):
        code = main(["check", str(path), "--epochs", "2", "--quick", "--hidden", "8", "--json"])
    assert code in (0, 1)
    rep = json.loads(buf.getvalue())
    assert rep["sections"]["data"]["scaling"] == "standardise" and rep["context"]["n_classes"] == 2
    assert rep["sections"]["history"][-1]["test_accuracy"] > 0.8


def test_user_model_given_the_raw_features_gets_unscaled_inputs(tmp_path):
    from netdoctor.cli import main

    X, y = banknote_like(400)
    path = write_csv(tmp_path / "bank.csv", X, y)
    (tmp_path / "net.py").write_text(
        "from netdoctor import MLP\n\ndef build():\n    return MLP((4, 8, 2), seed=0)\n")
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(io.StringIO()):
        main(["check", str(path), "--model", f"{tmp_path / 'net.py'}:build", "--raw-pixels", "--epochs", "1",
              "--quick", "--no-gradcheck", "--json"])
    rep = json.loads(buf.getvalue())
    (f,) = [f for f in rep["findings"] if f["code"] == "unscaled-inputs"]
    assert "standardise" in f["fix"].lower() and "255" not in f["fix"]
