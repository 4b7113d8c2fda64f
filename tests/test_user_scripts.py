"""The user-script corpus is what tests/user_scripts/manifest.py says it is, checked with plain ``python``.

Every script runs once (two at a time, shared by all tests through a module
cache) as a subprocess from the repository root, exactly as a user would run
it, with no netdoctor involved. Healthy scripts must learn, buggy variants
must show the behaviour the manifest records (stall, rising loss, NaN, crash),
and each variant must differ from its healthy twin only at its marked bug.
These tests prove the corpus right; the tests of ``netdoctor run`` use it.
"""

from __future__ import annotations

import atexit
import difflib
import importlib.util
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from user_scripts.manifest import (
    BY_NAME,
    CODE_BUGS,
    HERE,
    PROBLEMS,
    ROOT,
    SAMPLE,
    SCRIPTS,
    STYLES,
    Script,
    accuracies,
    bug_lines,
    command,
    losses,
    raising_line,
)

LEARNS = 0.6
"""A learning script ends at >= 60% test accuracy (chance: 10%; the healthy twins reach 84-89%)."""
STALLS = 0.3
"""A stalled script ends at <= 30% (one class's share of the test rows is 9-12%)."""
TIMEOUT = 180  # seconds per script: generous for a busy machine; each takes ~1 s alone


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    tmp: Path


_RUNS: dict[str, Run] = {}
_LOCK = threading.Lock()
_TMP = Path(tempfile.mkdtemp(prefix="user_scripts_"))
atexit.register(shutil.rmtree, _TMP, ignore_errors=True)


def _run(script: Script) -> Run:
    tmp = _TMP / script.name
    tmp.mkdir(exist_ok=True)
    # One BLAS thread: scripts run two at a time on a shared machine; the numbers do not depend on it.
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONHASHSEED="0")
    env.pop("PYTHONPATH", None)
    proc = subprocess.run([sys.executable, *command(script, tmp)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=TIMEOUT)
    return Run(proc.returncode, proc.stdout, proc.stderr, tmp)


def run(script: Script) -> Run:
    """The script's plain run, from the cache (the first call runs every script, two at a time)."""
    with _LOCK:
        if not _RUNS:
            with ThreadPoolExecutor(max_workers=2) as pool:
                for s, result in zip(SCRIPTS, pool.map(_run, SCRIPTS)):
                    _RUNS[s.path] = result
    return _RUNS[script.path]


# -- the manifest itself ------------------------------------------------------------------------
def test_the_manifest_lists_every_script_of_the_folder():
    listed = {s.path for s in SCRIPTS}
    on_disk = {f"tests/user_scripts/{p.name}" for p in HERE.glob("*.py") if p.name not in ("manifest.py", "__init__.py")}
    assert on_disk - listed == set(), f"scripts missing from the manifest: {sorted(on_disk - listed)}"
    assert all(s.file.is_file() for s in SCRIPTS), [s.path for s in SCRIPTS if not s.file.is_file()]
    assert len(BY_NAME) == len(SCRIPTS), "two scripts share a name"


def test_every_bug_in_two_styles_every_style_has_a_twin_and_no_style_has_every_bug():
    planted = [s for s in SCRIPTS if s.bug]
    bugs = {s.bug for s in planted}
    assert {"constant-targets", "aliased-buffers", "stale-accumulator", "summed-gradient", "frozen-parameters",
            "mutated-constant", "saturated-activations", "learning-rate-too-high", "learning-rate-too-low"} <= bugs
    for bug in bugs:
        styles = {s.style for s in planted if s.bug == bug}
        assert len(styles) >= 2, f"{bug} is planted in one style only: {styles}"
    for style in STYLES:
        assert BY_NAME[style].healthy, f"{style} has no healthy twin"
        mine = {s.bug for s in planted if s.style == style}
        assert 2 <= len(mine) < len(bugs), f"{style}: {mine}"
    assert len(STYLES) >= 6
    learning_rates = {s.lr for s in SCRIPTS if s.healthy and s.style in STYLES}
    batch_sizes = {s.batch_size for s in SCRIPTS if s.healthy and s.style in STYLES}
    assert len(learning_rates) == len(STYLES) == len(batch_sizes), "each style should have its own lr and batch size"


def test_expectations_are_consistent():
    for s in SCRIPTS:
        assert not set(s.expect) & set(s.forbid), s.name
        assert set(s.expect) | set(s.forbid) | set(s.tolerate) <= set(PROBLEMS), s.name
        assert not set(s.tolerate) & (set(s.expect) | set(s.forbid)), s.name
        if s.healthy:  # every problem forbidden, but for a known false alarm that the note explains
            assert set(s.forbid) | set(s.tolerate) == set(PROBLEMS) and not s.expect, s.name
            assert not s.tolerate or s.note, s.name
        else:
            assert not s.tolerate, s.name
        if s.bug:
            assert s.bug in s.expect and set(CODE_BUGS) - {s.bug} & set(s.expect) == set(), s.name


@pytest.mark.parametrize("script", [s for s in SCRIPTS if s.bug or s.locate], ids=lambda s: s.name)
def test_the_bug_is_marked_where_it_sits(script):
    lines = bug_lines(script)
    wanted = set(script.locate) if script.locate else {script.bug}
    assert set(lines) == wanted, f"{script.path}: marked codes {sorted(lines)}, expected {sorted(wanted)}"
    assert all(lines.values())


@pytest.mark.parametrize("script", [s for s in SCRIPTS if not s.bug and not s.locate], ids=lambda s: s.name)
def test_healthy_and_special_scripts_carry_no_bug_marker(script):
    assert bug_lines(script) == {}


@pytest.mark.parametrize("script", [s for s in SCRIPTS if s.twin], ids=lambda s: s.name)
def test_a_variant_is_its_twin_changed_only_at_the_bug(script):
    """Every line that differs from the healthy twin carries the bug's marker or sits next to one."""
    mine = script.file.read_text(encoding="utf-8").splitlines()
    twin = (ROOT / script.twin).read_text(encoding="utf-8").splitlines()
    marked = bug_lines(script)[script.bug]
    changed = []
    for tag, _, _, j1, j2 in difflib.SequenceMatcher(a=twin, b=mine, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        # a deletion leaves no line of its own: it belongs to the lines around the gap
        changed.extend(range(j1 + 1, j2 + 1) if j2 > j1 else [j1, j1 + 1])
    assert changed, f"{script.path} is identical to its twin"
    far = [n for n in changed if min(abs(n - m) for m in marked) > 4]
    assert not far, f"{script.path}: lines {far} differ from {script.twin} away from the marked bug (lines {sorted(marked)})"


def test_the_crashing_script_marks_the_line_that_raises():
    (crash,) = [s for s in SCRIPTS if s.behaviour == "crashes"]
    assert raising_line(crash) is not None


# -- behaviour under plain python ------------------------------------------------------------------
def _final(script: Script, result: Run) -> float:
    accs = accuracies(script, result.stdout)
    assert accs, f"{script.path} printed no accuracy:\n{result.stdout[-1500:]}\n{result.stderr[-1500:]}"
    return accs[-1]


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda s: s.name)
def test_plain_run_behaves_as_the_manifest_says(script):
    result = run(script)
    detail = f"{script.path}\n--- stdout ---\n{result.stdout[-1500:]}\n--- stderr ---\n{result.stderr[-2500:]}"
    if script.behaviour == "crashes":
        assert result.returncode != 0, detail
        last = result.stderr.strip().splitlines()[-1]
        assert last.startswith(f"{script.raises}:"), detail
        assert f'{script.name}.py", line {raising_line(script)}' in result.stderr, detail
        assert _final(script, result) >= LEARNS, "it learns until it crashes\n" + detail
        return
    assert result.returncode == 0 and "Traceback" not in result.stderr, detail
    if script.behaviour == "runs":
        assert result.stdout.strip() and not script.network, detail
        return
    final = _final(script, result)
    if script.behaviour == "learns":
        assert final >= LEARNS, detail
    elif script.behaviour == "stalls":
        assert final <= STALLS, detail
    elif script.behaviour == "loss-rises":
        seen = losses(script, result.stdout)
        assert seen and seen[-1] > 1.5 * min(seen), detail
    elif script.behaviour == "non-finite":
        assert any(math.isnan(v) for v in losses(script, result.stdout)) and final <= STALLS, detail
    else:
        raise AssertionError(f"unknown behaviour {script.behaviour!r}")
    if script.twin:
        assert final < _final(BY_NAME[Path(script.twin).stem], run(BY_NAME[Path(script.twin).stem])), \
            f"{script.name} ends no worse than its healthy twin\n{detail}"


def test_the_stalling_example_scores_exactly_the_share_of_digit_0():
    """Every target is digit 0's: the accuracy is the share of 0 in the test file, every epoch."""
    script = BY_NAME["mnist_network"]
    labels = np.loadtxt(ROOT / SAMPLE, delimiter=",", usecols=0)
    share = np.mean(labels == 0)
    accs = accuracies(script, run(script).stdout)
    assert len(accs) == 2 and all(a == pytest.approx(share, abs=1e-12) for a in accs), (accs, share)


def test_the_argv_script_wrote_its_file_from_its_own_arguments():
    import json

    script = BY_NAME["argv_writes_file"]
    result = run(script)
    summary = json.loads((result.tmp / "summary.json").read_text(encoding="utf-8"))
    assert summary["argv"] == command(script, result.tmp)[1:]
    assert len(summary["accuracy"]) == 2 and "writing" in result.stderr


def test_the_fixes_of_the_example_turn_it_into_its_fixed_twin():
    """measure_fixes.py's four edits applied to mnist_network.py give mnist_network_fixed.py (docstring aside)."""
    folder = ROOT / "examples" / "stalling_mnist"
    spec = importlib.util.spec_from_file_location("measure_fixes", folder / "measure_fixes.py")
    measure = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(measure)
    fixed = measure.patched_source(list(measure.FIXES))
    twin = (folder / "mnist_network_fixed.py").read_text(encoding="utf-8")
    body = lambda text: text.split('"""', 2)[2]  # noqa: E731 - everything after the module docstring
    assert body(fixed) == body(twin)
    for name in measure.FIXES:  # each fix applies on its own and changes the program
        assert measure.patched_source([name]) != (folder / "mnist_network.py").read_text(encoding="utf-8")
