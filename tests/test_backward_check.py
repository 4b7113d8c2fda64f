"""The backward check of ``netdoctor run`` on PyTorch programs: custom autograd Functions against finite differences.

``tests/backprop_programs/torch_custom.py`` trains a classifier whose hidden activation is a custom
``autograd.Function`` (a softplus written by hand): its healthy backward, a flipped sign, a missing
derivative factor (the program still learns to ~94%: only a gradient check tells), a rounding forward with
a straight-through backward on purpose (a surrogate gradient: no mismatch), and torch's own softplus
(built-in autograd only: one note, no check).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from netdoctor.rules.backprop import (  # noqa: E402
    CheckedEntry,
    CheckedTensor,
    GradientComparison,
    ModuleBackwardCheck,
    gradient_mismatch_in_modules,
)

PROGRAM = Path(__file__).parent / "backprop_programs" / "torch_custom.py"
VARIANTS = ("", "sign", "no-derivative", "straight-through", "builtin")


def _run(variant: str) -> dict:
    out = Path(os.environ.get("TMPDIR", "/tmp")) / f"backward_check_{os.getpid()}_{variant or 'healthy'}.json"
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", NO_COLOR="1", COLUMNS="100")
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)  # this checkout's code, whatever is installed
    proc = subprocess.run([sys.executable, "-m", "netdoctor.cli", "run", "--json", str(out), str(PROGRAM),
                           *([variant] if variant else [])], capture_output=True, text=True, env=env, timeout=600)
    try:
        report = json.loads(out.read_text(encoding="utf-8"))
    finally:
        out.unlink(missing_ok=True)
    report["stdout"] = proc.stdout
    return report


@cache
def _reports() -> dict[str, dict]:
    with ThreadPoolExecutor(2) as pool:
        return dict(zip(VARIANTS, pool.map(_run, VARIANTS)))


def _mismatches(report: dict) -> list[dict]:
    return [f for f in report["findings"] if f["code"] == "gradient-mismatch"]


@pytest.mark.parametrize("variant", ["sign", "no-derivative"])
def test_a_wrong_hand_written_backward_is_named_with_its_function_and_module(variant):
    report = _reports()[variant]
    (finding,) = _mismatches(report)
    assert finding["severity"] == "error" and finding["where"].startswith("Classifier: ")
    assert finding["evidence"]["functions"] == ["Softplus"]
    assert finding["evidence"]["backward_at"].endswith("torch_custom.py:25")  # the backward's def line
    # the hidden layer's tensors are below the custom Function: their gradients go through its backward
    assert {"hidden.weight", "hidden.bias"} <= set(finding["evidence"]["tensors"])
    assert "out.weight" not in finding["evidence"]["tensors"]  # above it: autograd's own, and right
    worst = finding["evidence"]["tensors"]["hidden.bias"]["worst"][0]
    if variant == "sign":
        assert worst["analytic"] == pytest.approx(-worst["numeric"], rel=1e-6)
        assert report["findings"][0]["code"] == "gradient-mismatch"  # the root cause comes first


@pytest.mark.parametrize("variant", ["", "straight-through"])
def test_a_right_or_surrogate_backward_is_checked_and_gets_no_mismatch(variant):
    report = _reports()[variant]
    assert _mismatches(report) == []
    notes = report["context"]["notes"]
    assert any(n.startswith("backward check: 1 module(s) with custom autograd Functions") for n in notes), notes


def test_built_in_autograd_only_gets_one_note_and_no_check():
    report = _reports()["builtin"]
    notes = [n for n in report["context"]["notes"] if "backward check" in n]
    assert len(notes) == 1 and "built-in autograd only" in notes[0], notes
    assert _mismatches(report) == []


def test_the_run_is_the_programs_own():
    plain = subprocess.run([sys.executable, str(PROGRAM), "no-derivative"], capture_output=True, text=True,
                           env=dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1"), timeout=600)
    assert _reports()["no-derivative"]["stdout"].startswith(plain.stdout)  # the check's copies leave no trace


def test_the_rule_leaves_surrogate_tensors_alone_and_names_the_output_side_first():
    def tensor(name: str, failed: int, numeric: float) -> CheckedTensor:
        return CheckedTensor(name, 4, failed, 2.0 if failed else 0.0, 1e-5,
                             (CheckedEntry((0,), 0.5, numeric, 2.0 if failed else 0.0),))

    flat = GradientComparison("central", 1e-5, 1e-5, (tensor("hidden.weight", 4, 0.0),))
    check = ModuleBackwardCheck("net", ("RoundSTE",), "net.py:9", flat, coords=4, surrogate=("hidden.weight",))
    assert gradient_mismatch_in_modules([check]) == []
    wrong = GradientComparison("central", 1e-5, 1e-5, (tensor("x[0]", 4, -0.5), tensor("l1.weight", 4, -0.5),
                                                        tensor("l2.weight", 0, 0.5)))
    (finding,) = gradient_mismatch_in_modules([ModuleBackwardCheck("net", ("F",), "net.py:9", wrong, coords=12)])
    assert finding.where == "net: l1.weight[0]" and "Also x[0]" in finding.message
