"""``netdoctor run`` on every program of the user-script corpus (tests/user_scripts/manifest.py).

Each script runs once under ``netdoctor run --json`` (two at a time, cached
for the module) from the repository root, as the manifest says a user runs
it. The report must name every expected code, none of the forbidden ones
(healthy twins: no problem at all), and point each planted bug's finding at
one of the lines the bug sits on. The run must be faithful: the script's
stdout and stderr are those of its plain run (the report only follows them),
and the files it writes are the same bytes.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from test_user_scripts import run as plain_run
from user_scripts.manifest import CODE_BUGS, ROOT, SCRIPTS, Script, bug_lines, command

TIMEOUT = 300


@dataclass
class Observed:
    returncode: int
    stdout: str
    stderr: str
    report: dict
    tmp: Path


_RUNS: dict[str, Observed] = {}
_LOCK = threading.Lock()
_TMP = Path(tempfile.mkdtemp(prefix="run_scripts_"))


def _observe(script: Script) -> Observed:
    tmp = _TMP / script.name
    tmp.mkdir(exist_ok=True)
    out = tmp / "report.json"
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONHASHSEED="0",
               NO_COLOR="1", COLUMNS="100")
    env.pop("PYTHONPATH", None)
    proc = subprocess.run([sys.executable, "-m", "netdoctor.cli", "run", "--json", str(out), *command(script, tmp)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    report = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}
    return Observed(proc.returncode, proc.stdout, proc.stderr, report, tmp)


def observed(script: Script) -> Observed:
    """The script's run under ``netdoctor run`` (the first call runs every script, two at a time)."""
    with _LOCK:
        if not _RUNS:
            with ThreadPoolExecutor(max_workers=2) as pool:
                for s, result in zip(SCRIPTS, pool.map(_observe, SCRIPTS)):
                    _RUNS[s.path] = result
    return _RUNS[script.path]


def _detail(script: Script, o: Observed) -> str:
    found = [(f["code"], f["where"]) for f in o.report.get("findings", [])]
    return f"{script.path}: findings {found}\nnotes {o.report.get('context', {}).get('notes')}\n{o.stdout[-2500:]}\n{o.stderr[-1500:]}"


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda s: s.name)
def test_the_report_names_what_the_manifest_expects_and_nothing_it_forbids(script):
    o = observed(script)
    assert o.report, _detail(script, o)
    codes = {f["code"] for f in o.report["findings"]}
    assert set(script.expect) <= codes, _detail(script, o)
    assert not codes & set(script.forbid), _detail(script, o)
    errors = [f for f in o.report["findings"] if f["severity"] == "error"]
    if script.behaviour == "crashes":
        assert o.returncode == 1
    elif not script.network or script.unfollowed:  # said so, with the exit status of "not enough observed"
        assert o.returncode == 3 and o.report["unobserved"] and not errors, _detail(script, o)
    elif script.healthy or script.behaviour == "runs":
        assert o.returncode == 0 and not errors, _detail(script, o)
    else:
        assert o.returncode == (1 if errors else 0), _detail(script, o)


@pytest.mark.parametrize("script", [s for s in SCRIPTS if s.bug in CODE_BUGS or s.locate], ids=lambda s: s.name)
def test_each_code_bug_points_at_a_line_it_sits_on(script):
    o = observed(script)
    name = Path(script.path).name
    for code, lines in bug_lines(script).items():
        if code not in CODE_BUGS and code != "saturated-activations":
            continue
        hits = [f for f in o.report["findings"] if f["code"] == code]
        assert hits, _detail(script, o)
        said = {int(n) for f in hits for n in re.findall(rf"{re.escape(name)}:(\d+)", f["where"])}
        assert said & lines, f"{code}: report says lines {sorted(said)}, the bug is on {sorted(lines)}\n" + _detail(script, o)


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda s: s.name)
def test_the_run_is_faithful_to_the_plain_run(script):
    """Same stdout (the report follows it), same stderr (a crash's traceback included), same files."""
    o, plain = observed(script), plain_run(script)
    same = lambda text, tmp: text.replace(str(tmp), "TMP")  # noqa: E731 - each run writes into its own scratch folder
    out, plain_out = same(o.stdout, o.tmp), same(plain.stdout, plain.tmp)
    err, plain_err = same(o.stderr, o.tmp), same(plain.stderr, plain.tmp)
    assert out.startswith(plain_out), f"{script.path}\n--- plain ---\n{plain_out[-800:]}\n--- run ---\n{out[:800]}"
    if script.behaviour == "crashes":
        assert err == plain_err, f"{script.path}\n--- plain ---\n{plain_err}\n--- run ---\n{err}"
    else:
        assert err.startswith(plain_err), f"{script.path}\n{plain_err}\n---\n{err}"
    for f in plain.tmp.iterdir():
        mine = o.tmp / f.name
        assert mine.is_file() and f.read_bytes().replace(str(plain.tmp).encode(), b"") == mine.read_bytes().replace(
            str(o.tmp).encode(), b""), f"{script.path}: {f.name} differs"


def test_the_stalling_example_names_the_cause_of_the_plateau_and_the_share_of_zeros():
    (script,) = [s for s in SCRIPTS if s.name == "mnist_network"]
    o = observed(script)
    findings = o.report["findings"]
    assert findings[0]["code"] == "constant-targets", _detail(script, o)
    ct = findings[0]
    assert set(ct["evidence"]["target_classes"]) == {"0"} and "divided by 255" in ct["explanation"]
    collapse = next(f for f in findings if f["code"] == "class-collapse")
    causes, todo = set(), list(collapse["caused_by"])
    while todo:  # the causes of the collapse, followed back to their roots
        code = todo.pop()
        causes.add(code)
        todo += [c for f in findings if f["code"] == code for c in f["caused_by"] if c not in causes]
    assert "constant-targets" in causes, collapse
    # the example evaluates on the bundled sample: 200 of its 2,000 digits are 0s
    assert "10.00% = 200/2000" in collapse["message"], collapse["message"]
