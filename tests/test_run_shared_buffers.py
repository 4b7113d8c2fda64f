"""``netdoctor run`` on small NumPy programs whose buffers or constants are shared or written where they must not be.

Each program in ``tests/numpy_programs/`` listed here trains on synthetic blobs in about a second, in a style the
program generator (``tests/generated/``) does not write. A buggy variant differs from its healthy twin at the lines
marked ``# BUG: code``: its report must name that code first among the code bugs, at a marked line, and the twin's
report must hold no warning or error.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent / "numpy_programs"
TIMEOUT = 300
CODE_BUGS = ("aliased-buffers", "mutated-constant", "stale-accumulator", "summed-gradient", "constant-targets")

PROGRAMS = [
    # a list of gradient buffers on a network object, per-sample accumulation; the target a row of a +-1 code table
    # softened by a helper: in place on the mutated variant (the table is written by the helper, not by the gradient
    # computation: it is no gradient buffer, and its rows change between uses)
    "codes_on_net",
    "codes_on_net_mutated",
    # the gradient sums "reset" by re-binding them to zero templates the program keeps: one object under two names, so
    # the sums are added into the templates and each reset hands them back. A dict re-bound whole on a class
    # (`self.sums = self.zeros`), a layer's attribute re-bound to an optimizer object's template
    # (`layer.gsum = self.zero[i]`), a closure's list (`acc = fresh`, reached through cells), module-level lists
    # applied by the module's own `for p, g in zip(params, grads)`; each twin resets with fresh arrays, and the
    # twins' loop variables, helper arguments and local names of the buffers are never taken for a second name
    "template_dict",
    "template_dict_aliased",
    "optimizer_template",
    "optimizer_template_aliased",
    "closure_template",
    "closure_template_aliased",
    "module_zip",
    "module_zip_aliased",
    # gradients returned per sample and summed where the batch is trained, into a local bound to a list the network
    # keeps (`total = self.store`): the function that binds the second name is the gradient function itself
    "returned_store",
    "returned_store_aliased",
    # the sums reset with a shallow copy of the templates (`dict(self.zeros)`, `dict(zero_grads)`): a new dict holding
    # the templates' own arrays, so every `+=` adds into them (template_dict is the first one's healthy twin); the
    # second at module level, its buffers summed by a function and bound by the loop (a loop name, looked at as a copy)
    "template_dict_copied",
    "copied_zeros_module",
    "copied_zeros_module_copied",
    # the same run in a thread, its buffers a local of the thread's function (the copy's source a module global)
    "copied_zeros_thread",
    "copied_zeros_thread_copied",
    # a data table shuffled in place every epoch is not a mutated constant (the same rows in another order); the
    # mutated twin rescales the batch, a view of the table, in place in the step (`x *= 0.9`)
    "shuffled_rows",
    "shuffled_rows_mutated",
]


def _bugs(path: Path) -> dict[str, set[int]]:
    out: dict[str, set[int]] = {}
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        for code in re.findall(r"# BUG: ([a-z-]+)", line):
            out.setdefault(code, set()).add(i)
    return out


def _report(name: str, tmp_path: Path) -> tuple[dict, str]:
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", NO_COLOR="1")
    env.pop("PYTHONPATH", None)
    out = tmp_path / f"{name}.json"
    proc = subprocess.run([sys.executable, "-m", "netdoctor.cli", "run", "--json", str(out), str(HERE / f"{name}.py")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    report = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}
    found = [(f["code"], f["severity"], f["where"], f["message"][:200]) for f in report.get("findings", [])]
    return report, f"findings {found}\ncontext {report.get('context')}\n{proc.stderr[-1500:]}"


@pytest.mark.parametrize("name", PROGRAMS)
def test_the_bug_is_named_first_at_its_line_and_the_twin_is_quiet(name, tmp_path):
    report, detail = _report(name, tmp_path)
    assert report, detail
    findings = report["findings"]
    bugs = _bugs(HERE / f"{name}.py")
    if not bugs:
        assert not [f for f in findings if f["severity"] in ("error", "warning")], detail
        return
    said = [f["code"] for f in findings if f["code"] in CODE_BUGS]
    for code, lines in bugs.items():
        assert said and said[0] == code, detail
        at = {int(n) for f in findings if f["code"] == code for n in re.findall(rf"{name}\.py:(\d+)", f["where"])}
        assert at & lines, f"{code}: report says lines {sorted(at)}, the bug is on {sorted(lines)}\n{detail}"
