"""The command line end to end: exit codes, one-line errors, JSON, HTML, silencing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from netdoctor.cli import main

FAST = ["--epochs", "1", "--quick"]


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, NO_COLOR="1", COLUMNS="80")
    return subprocess.run(
        [sys.executable, "-m", "netdoctor.cli", *args],
        capture_output=True, text=True, env=env, cwd=cwd, timeout=300,
    )


def tiny_csv(path: Path, rows: int = 300, seed: int = 0) -> Path:
    """A learnable 10-class CSV (label first, 0..255 pixels): class k lights pixel block k."""
    rng = np.random.default_rng(seed)
    y = np.arange(rows) % 10
    X = rng.integers(0, 40, size=(rows, 64))
    for k in range(10):
        X[y == k, 6 * k : 6 * k + 6] = 250
    np.savetxt(path, np.column_stack([y, X]), fmt="%d", delimiter=",")
    return path


def test_default_run_on_bundled_sample_is_healthy_and_exits_zero():
    proc = run_cli("check", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["ok"] is True and data["schema_version"] == 1
    assert not [f for f in data["findings"] if f["severity"] == "error"]
    assert data["sections"]["history"][-1]["test_accuracy"] >= 0.85


def test_stalling_configuration_exits_one_with_ranked_findings(tmp_path):
    code = main(["check", *FAST, "--hidden", "30", "--loss", "mse", "--init", "normal",
                 "--reduce", "sum", "--batch-size", "100", "--json", "--html", str(tmp_path / "r.html")])
    assert code == 1
    assert (tmp_path / "r.html").read_text().lstrip().lower().startswith("<!doctype html")


def test_json_output_lists_codes_and_ignore_silences_them(tmp_path, capsys):
    path = tiny_csv(tmp_path / "tiny.csv")
    args = ["check", str(path), *FAST, "--hidden", "8", "--loss", "mse", "--init", "normal",
            "--sigma", "30", "--reduce", "sum", "--json"]
    main(args)
    first = json.loads(capsys.readouterr().out)
    codes = {f["code"] for f in first["findings"]}
    assert codes, "a sigma=30 initialisation with a summed gradient must produce findings"
    main([*args, *sum((["--ignore", c] for c in codes), [])])
    second = json.loads(capsys.readouterr().out)
    assert second["findings"] == []


def test_same_seed_gives_identical_json_apart_from_timings(tmp_path, capsys):
    path = tiny_csv(tmp_path / "tiny.csv")
    outputs = []
    for _ in range(2):
        main(["check", str(path), *FAST, "--hidden", "8", "--json"])
        data = json.loads(capsys.readouterr().out)
        for key in ("seconds", "monitor_overhead"):
            data["context"].pop(key, None)
        outputs.append(data)
    assert outputs[0] == outputs[1]


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["check", "/nonexistent/mnist.csv"], "/nonexistent/mnist.csv does not exist"),
        (["check", "--test-fraction", "1.5"], "--test-fraction 1.5"),
        (["check", "--model", "/nonexistent/net.py:build"], "/nonexistent/net.py"),
        (["check", "--momentum", "1.5", *FAST], "momentum"),
    ],
    ids=["missing-data-file", "test-fraction-out-of-range", "missing-model-file", "momentum-out-of-range"],
)
def test_bad_input_is_one_line_exit_two_no_traceback(args, fragment):
    proc = run_cli(*args)
    assert proc.returncode == 2
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1 and fragment in err[0], proc.stderr
    assert "Traceback" not in proc.stderr


def test_malformed_row_names_file_and_line(tmp_path):
    path = tiny_csv(tmp_path / "tiny.csv", rows=20)
    lines = path.read_text().splitlines()
    lines[6] = lines[6].rsplit(",", 1)[0]
    path.write_text("\n".join(lines) + "\n")
    proc = run_cli("check", str(path))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "tiny.csv line 7" in proc.stderr


def test_usage_errors_exit_two():
    assert run_cli("check", "--lr", "-1").returncode == 2
    assert run_cli().returncode == 2


def test_unwritable_html_path_is_a_clear_error_and_leaves_nothing(tmp_path):
    target = tmp_path / "no-such-dir" / "r.html"
    proc = run_cli("check", str(tiny_csv(tmp_path / "t.csv")), *FAST, "--html", str(target))
    assert proc.returncode == 2 and "cannot write" in proc.stderr and "Traceback" not in proc.stderr
    assert not target.parent.exists()


def _interruptible() -> None:
    """In the child before it runs: SIGINT at its default, whatever the test process inherited. A command started in
    the background by a shell without job control (`cmd &` in a script) ignores SIGINT, its children too, and Python
    then never turns Ctrl-C into KeyboardInterrupt: the interrupt tests failed that way, not by a lost signal."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_during_training_prints_a_partial_report_and_exits_130(tmp_path):
    import signal

    env = dict(os.environ, NO_COLOR="1", COLUMNS="80")
    html = tmp_path / "r.html"
    proc = subprocess.Popen(
        [sys.executable, "-m", "netdoctor.cli", "check", "--epochs", "500", "--quick", "--html", str(html)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, preexec_fn=_interruptible,
    )
    # Wait until training has really started (an epoch line), then interrupt.
    for line in proc.stderr:
        if "epoch 1/500" in line:
            break
    proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:  # it must not outlive the test when it ignored the interrupt
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert "partial" in out and "Traceback" not in err
    assert "epoch 500/500" not in err
    page = html.read_text()  # written whole, through the atomic rename
    assert "partial" in page and page.rstrip().endswith("</html>")


def test_terminal_output_shows_the_data_summary_once(tmp_path):
    proc = run_cli("check", str(tiny_csv(tmp_path / "t.csv")), *FAST, "--hidden", "8", "--no-color")
    assert proc.stdout.count("t.csv: 300 images") == 1, proc.stdout


def test_a_path_with_an_emoji_code_is_printed_as_written(tmp_path):
    """rich replaces ``:x:`` in plain strings by an emoji unless told not to: a file named ``a:x:b.csv`` must be named
    as written in the report, not as ``a\N{CROSS MARK}b.csv``."""
    proc = run_cli("check", str(tiny_csv(tmp_path / "a:x:b.csv")), *FAST, "--hidden", "8", "--no-color")
    assert "a:x:b.csv: 300 images" in proc.stdout and "\N{CROSS MARK}" not in proc.stdout, proc.stdout


def test_user_model_diagnosis_is_reproducible(capsys):
    """The aliasing, probe and experiment findings on a user's network carry no run-dependent values."""
    model = str(Path(__file__).resolve().parents[1] / "examples" / "handwritten_mnist.py") + ":build"
    outputs = []
    for _ in range(2):  # on the bundled sample: the example network takes 784 pixels
        main(["check", "--model", model, "--epochs", "1", "--batch-size", "100", "--json"])
        data = json.loads(capsys.readouterr().out)
        for key in ("seconds", "monitor_overhead"):
            data["context"].pop(key, None)
        outputs.append(data)
    assert "aliased-buffers" in {f["code"] for f in outputs[0]["findings"]}
    assert outputs[0] == outputs[1]


# -- --json FILE, one meaning in check and run (`-` is stdout) -------------------------------------
QUICK = [*FAST, "--no-gradcheck", "--hidden", "8"]


def test_json_dash_prints_json_on_stdout_without_a_note(tmp_path, capsys):
    assert main(["check", str(tiny_csv(tmp_path / "t.csv")), *QUICK, "--json", "-"]) in (0, 1)
    captured = capsys.readouterr()
    assert json.loads(captured.out)["schema_version"] == 1
    assert "deprecated" not in captured.err


def test_json_file_writes_the_report_and_keeps_the_terminal_one(tmp_path, capsys):
    assert main(["check", str(tiny_csv(tmp_path / "t.csv")), *QUICK, "--no-color", "--json", str(tmp_path / "r.json")]) in (0, 1)
    out = capsys.readouterr().out
    assert "verdict" in out and not out.lstrip().startswith("{")
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["context"]["command"].startswith("netdoctor check ") and report["context"]["command"].endswith("r.json")


@pytest.mark.parametrize("form", ["flag-last", "flag-before-data"])
def test_the_old_json_flag_still_prints_json_with_a_deprecation_note(tmp_path, capsys, form):
    data = tiny_csv(tmp_path / "t.csv")
    before = data.read_bytes()
    argv = ["check", str(data), *QUICK, "--json"] if form == "flag-last" else ["check", "--json", str(data), *QUICK]
    assert main(argv) in (0, 1)
    captured = capsys.readouterr()
    assert json.loads(captured.out)["sections"]["data"]["source"].endswith("t.csv")
    assert "`--json` without a FILE is deprecated" in captured.err
    assert ("is read as the DATA" in captured.err) == (form == "flag-before-data")
    assert data.read_bytes() == before


def test_check_json_on_an_existing_file_without_data_reads_it_as_data_and_leaves_it_alone(tmp_path):
    victim = tmp_path / "victim.py"
    victim.write_text("print('precious')\n")
    proc = run_cli("check", "--json", str(victim), *QUICK)
    assert proc.returncode == 2 and victim.read_text() == "print('precious')\n"
    note, error = proc.stderr.splitlines()
    assert f"{victim} is read as the DATA" in note and error.startswith("netdoctor: error: ") and "victim.py" in error


def test_check_refuses_a_json_file_that_is_not_a_report_before_training(tmp_path):
    victim = tmp_path / "victim.py"
    victim.write_text("print('precious')\n")
    proc = run_cli("check", str(tiny_csv(tmp_path / "t.csv")), *QUICK, "--json", str(victim))
    assert proc.returncode == 2 and proc.stdout == "" and len(proc.stderr.splitlines()) == 1
    assert victim.read_text() == "print('precious')\n"


def test_ignore_knows_exactly_the_codes_of_the_findings_catalogue(capsys):
    import re

    from netdoctor.cli.app import FINDING_CODES

    docs = Path(__file__).resolve().parents[1] / "docs" / "findings.md"
    listed = set()
    for line in docs.read_text().splitlines():
        if line.startswith("| `"):
            listed |= set(re.findall(r"`([a-z][a-z-]+)`", line.split("|")[1]))
    assert set(FINDING_CODES) == listed
    with pytest.raises(SystemExit) as exit_:
        main(["check", "--ignore", "stale-accumulatr"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "--ignore stale-accumulatr: no such finding code" in err and "stale-accumulator" in err


@pytest.mark.parametrize("columns", [None, "57", "200", "0", "wide"])
def test_help_is_laid_out_at_the_width_argparse_picks(monkeypatch, columns):
    """The parsers' formatter reads the terminal's width without shutil, and gets argparse's own figure."""
    import argparse

    from netdoctor.cli.app import _Formatter, build_parser

    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    assert _Formatter("netdoctor")._width == argparse.HelpFormatter("netdoctor")._width
    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    for p in (parser, sub.choices["run"], sub.choices["check"]):
        ours = p.format_help()
        p.formatter_class = argparse.HelpFormatter
        assert ours == p.format_help()
