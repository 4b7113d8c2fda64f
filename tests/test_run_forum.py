"""``netdoctor run`` on the forum program that started the project (``shared/seed/``), run as its author runs it.

The program trains a 784-30-10 tanh network one sample at a time and applies
buffered updates every 100 samples, inline in ``train()``. Its four problems
(see the seed's README) are each measured, not read from names: every target
is class 0's because the label went through the pixel scaling, the buffers
hold the sum of 100 gradients, the "reset" keeps the buffers (aliased to the
templates, then scaled in place by the learning rate), and the N(0, 1)
initialisation saturates tanh. The ``--fixed`` variant keeps only the last.

Skipped when ``shared/`` (the data and the program) is not beside the repository.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from shared_files import MNIST_TEST, SEED, have_real_data, shuffled_train_csv

pytestmark = pytest.mark.skipif(not (have_real_data() and (SEED / "train.py").exists()),
                                reason="shared/ (MNIST data and the forum program) not beside the repository")

TIMEOUT = 600
ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", NO_COLOR="1", COLUMNS="120")


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = dict(ENV)
    env.pop("PYTHONPATH", None)
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT)


@pytest.fixture(scope="module")
def csvs(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("forum")
    train = shuffled_train_csv(folder)  # all 5,000 rows: 50 updates of 100 samples
    test = folder / "test.csv"
    np.savetxt(test, np.loadtxt(MNIST_TEST, delimiter=",", max_rows=500), delimiter=",", fmt="%d")
    return train, test


def _observe(csvs: tuple[Path, Path], *extra: str) -> tuple[subprocess.CompletedProcess, subprocess.CompletedProcess, dict]:
    train, test = csvs
    args = [str(SEED / "train.py"), str(train), str(test), "1", *extra]
    plain = _run(args, train.parent)
    report = train.parent / f"report{''.join(extra)}.json"
    observed = _run(["-m", "netdoctor.cli", "run", "--json", str(report), *args], train.parent)
    return plain, observed, json.loads(report.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def buggy(csvs):
    return _observe(csvs)


@pytest.fixture(scope="module")
def fixed(csvs):
    return _observe(csvs, "--fixed")


def _lines(finding: dict, name: str) -> set[int]:
    return {int(n) for n in re.findall(rf"{re.escape(name)}:(\d+)", finding["where"])}


def _line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1) if text in line)


def test_the_run_is_the_plain_run(buggy, fixed):
    for plain, observed, _ in (buggy, fixed):
        assert observed.stdout.startswith(plain.stdout) and plain.returncode == 0
        assert observed.stderr.startswith(plain.stderr)


def test_every_update_is_counted_and_the_samples_trained_on_are_said(buggy):
    _, observed, report = buggy
    ctx = report["context"]
    # 5,000 rows, an update every 100 samples, applied inline in the long-running train()
    assert ctx["updates_observed"] == 50, ctx
    assert ctx["samples_trained"] == 5000, ctx
    # the targets read: nearly all, or those of the windows read when the step ran held in the others (said so); at
    # least the first deep windows' (10 of 100 samples) and the pairs after them
    sampled = "update windows, the others counted only)" in ctx["training"]
    assert (1000 if sampled else 4000) <= ctx["samples_observed"] <= 5000, ctx
    # its step runs held between deep windows, as other per-sample programs' do (its resets scale the buffers,
    # g *= lr: seen at the update loop's heads, each counted once though a saturated net moves one layer at a time)
    assert sampled, ctx["training"]
    # (the rows of the windows run held are not seen: the 5,000 is an estimate from the windows read, said so)
    assert f"targets of {ctx['samples_observed']:,} of about 5,000 samples trained on" in ctx["training"]
    assert "50 updates observed" in observed.stdout
    # the program's own count, read from its loops: 5,000 rows walked once, one update every 100 of them
    assert ctx["updates_expected"] == 50 and ctx["training"].startswith("50 of 50 updates observed"), ctx
    assert "for row in file at " in ctx["loops"] and "one update every 100 iterations" in ctx["loops"], ctx


def test_constant_targets_is_the_root_cause_with_the_lines_of_the_scaling_and_the_pop(buggy):
    _, observed, report = buggy
    findings = report["findings"]
    assert findings[0]["code"] == "constant-targets", [f["code"] for f in findings]
    ct = findings[0]
    assert set(ct["evidence"]["target_classes"]) == {"0"}
    assert "divided by 255" in ct["explanation"]
    network = SEED / "network.py"
    scaling, pop = _line_of(network, "data.append([item / 255])"), _line_of(network, "data.pop(0)")
    assert {scaling, pop} <= _lines(ct, "network.py"), ct["where"]
    assert observed.returncode == 1


def test_the_summed_gradient_and_the_carried_over_buffers_are_measured(buggy):
    _, _, report = buggy
    by_code = {f["code"]: f for f in report["findings"]}
    summed = by_code["summed-gradient"]
    factor = next(v for k, v in summed["evidence"].items() if "factor" in k or k == "ratio")
    assert 80 <= factor <= 120, summed["evidence"]  # the sum of 100 per-sample gradients
    assert "aliased-buffers" in by_code, list(by_code)
    stale = by_code.get("stale-accumulator")
    assert stale is not None, list(by_code)
    # the buffers are scaled in place by the learning rate (0.1) and never emptied: that is the carry-over
    carry = next(v for k, v in stale["evidence"].items() if "carry" in k or "decay" in k)
    assert carry == pytest.approx(0.1, abs=0.03), stale["evidence"]


def test_the_saturation_of_the_normal_initialisation_is_named(buggy, fixed):
    for _, _, report in (buggy, fixed):
        sat = next(f for f in report["findings"] if f["code"] == "saturated-activations")
        assert sat["evidence"]["saturation"] >= 0.5 and sat["evidence"]["at_start"] >= 0.5, sat["evidence"]


def test_the_fixed_program_gets_no_code_bug_finding(fixed):
    _, observed, report = fixed
    codes = [f["code"] for f in report["findings"]]
    assert codes == ["saturated-activations"], codes
    assert report["context"]["updates_observed"] == 50
    assert observed.returncode == 0


LAUNCHER = """import sys
from netdoctor.cli import main
sys.exit(main())
"""


@pytest.fixture(scope="module")
def test_2000(csvs) -> Path:
    """2,000 test rows: where the old period put the discovery's last look on another function (500 did not)."""
    path = csvs[0].parent / "test2000.csv"
    np.savetxt(path, np.loadtxt(MNIST_TEST, delimiter=",", max_rows=2000), delimiter=",", fmt="%d")
    return path


def test_the_fixed_program_gets_no_code_bug_finding_when_the_network_is_found_in_the_middle_of_a_step(csvs, test_2000):
    """With 2,000 test rows the discovery ends in the middle of a sample's backpropagation(): a window opened there
    saw only the calls after its start (the pre-activation ``feedforward2()`` instead of the forward's output), and the
    fixed program's right gradient was called a mismatch of ``self.weights[1]``. Windows open at a step's start."""
    train = csvs[0]
    report = train.parent / "report_fixed_2000.json"
    observed = _run(["-m", "netdoctor.cli", "run", "--json", str(report), str(SEED / "train.py"), str(train),
                     str(test_2000), "1", "--fixed"], train.parent)
    found = json.loads(report.read_text(encoding="utf-8"))
    assert [f["code"] for f in found["findings"]] == ["saturated-activations"], found["findings"]
    assert any("update check: 3 update(s) compared" in n for n in found["context"]["notes"]), found["context"]["notes"]
    assert observed.returncode == 0


def test_the_findings_do_not_depend_on_how_netdoctor_was_started(csvs, test_2000):
    """The installed ``netdoctor`` command is a script file that calls the command line: its frame is one more
    user-looking frame, and one more event, before the program's. What is observed must not move with it (a period
    counted over all events once put the discovery's last look on another function: the predictions were read on
    ``backpropagation()`` (1 row) instead of ``accuracy()``, and class-collapse came and went)."""
    train = csvs[0]
    launcher = train.parent / "netdoctor_launcher.py"
    launcher.write_text(LAUNCHER, encoding="utf-8")
    reports = []
    for start in (["-m", "netdoctor.cli"], [str(launcher)]):
        report = train.parent / f"report_started_{len(reports)}.json"
        _run([*start, "run", "--json", str(report), str(SEED / "train.py"), str(train), str(test_2000), "1"], train.parent)
        reports.append(json.loads(report.read_text(encoding="utf-8")))
    direct, launched = reports
    assert [f["code"] for f in launched["findings"]] == [f["code"] for f in direct["findings"]]
    assert launched["sections"].get("predictions") == direct["sections"].get("predictions")
    assert launched["context"]["updates_observed"] == direct["context"]["updates_observed"]
