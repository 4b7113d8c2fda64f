"""``netdoctor run`` observes the same program alike however netdoctor was started.

The installed ``netdoctor`` command is a small script in the environment's
``bin/`` (``Scripts\\`` on Windows): a file outside every library folder, so
by its place alone it looks like the user's, and its frame lies below the
program's. ``python -m netdoctor.cli`` starts through ``runpy`` instead.
Neither is the program: the runner marks where the program starts
(:func:`netdoctor.observe.tracer.runs_program`) and the command is no user
file (:data:`netdoctor.observe.tracer.LAUNCHERS`). The oracle is the run
started the other way: the findings and everything the header counts must
agree. ``tests/test_run_forum.py`` compares the forum program the same way,
through a launcher file of its own.

Skipped when the environment has no ``netdoctor`` command (netdoctor not installed, only on the path).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

PROGRAMS = Path(__file__).resolve().parent / "numpy_programs"
COMMAND = Path(sysconfig.get_paths()["scripts"]) / ("netdoctor.exe" if os.name == "nt" else "netdoctor")

pytestmark = pytest.mark.skipif(not COMMAND.is_file(), reason=f"no installed netdoctor command at {COMMAND}")


def _observed(folder: Path, start: list[str], program: Path) -> dict:
    out = folder / f"report_{len(list(folder.glob('report_*.json')))}.json"
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", NO_COLOR="1")
    env.pop("PYTHONPATH", None)  # the installed package, as a user runs it
    proc = subprocess.run([*start, "run", "--json", str(out), str(program)], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=600)
    assert out.exists(), proc.stderr[-2000:]
    return json.loads(out.read_text(encoding="utf-8"))


def _seen(report: dict) -> dict:
    ctx = report["context"]
    return {
        "findings": [(f["code"], f["severity"], f.get("where")) for f in report["findings"]],
        "predictions": report["sections"].get("predictions"),
        **{k: ctx.get(k) for k in ("updates_observed", "samples_observed", "windows_sampled", "unobserved")},
    }


@pytest.mark.parametrize("name, updates", [
    ("module_zip", 440),  # training at module level: the command's own module-level frame lies below it
    ("thread_inline_relu", 252),  # training in a thread's target, which calls the program's functions
])
def test_the_installed_command_and_python_m_observe_alike(tmp_path, name, updates):
    program = PROGRAMS / f"{name}.py"
    start_command = [str(COMMAND)] if COMMAND.suffix == ".exe" else [sys.executable, str(COMMAND)]  # as its #! line
    by_command = _seen(_observed(tmp_path, start_command, program))
    by_module = _seen(_observed(tmp_path, [sys.executable, "-m", "netdoctor.cli"], program))
    assert by_command == by_module
    assert by_module["updates_observed"] >= updates - 2  # all the program's updates (discovery may take two)
