"""The benchmark runner runs at tiny sizes and its baselines compute what they claim.

No timing is asserted here (the machine is shared); the per-sample baseline is
checked against the reference MLP, so the speed comparison compares equal work.
"""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # bench/ is not an installed package
    sys.path.insert(0, str(ROOT))

from bench import ROW_KEYS  # noqa: E402
from bench.bench_train import flops_per_sample, synth_mnist  # noqa: E402
from bench.handwritten_per_sample import PerSampleNet  # noqa: E402
from bench.run import _suite_rows, normalise, render_markdown  # noqa: E402
from netdoctor import MLP  # noqa: E402


def _batch(seed=0, n=10, d=6, c=3):
    rng = np.random.default_rng(seed)
    return rng.random((n, d)), rng.integers(0, c, n)


def test_per_sample_net_makes_the_reference_update():
    X, y = _batch()
    model = MLP((6, 5, 4, 3), activation="tanh", loss="mse", seed=1)
    net = PerSampleNet.from_mlp(model)
    net.update_mini_batch(X, y, 0.3)
    model.train_step(X, y, 0.3)
    for l in range(1, 4):
        np.testing.assert_allclose(net.weights[l - 1], model.params[f"W{l}"].T, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(net.biases[l - 1].ravel(), model.params[f"b{l}"], rtol=1e-12, atol=1e-14)


def test_per_sample_net_differs_from_a_summed_step():
    # The agreement above is not vacuous: a 10x larger (summed) step is told apart.
    X, y = _batch()
    model = MLP((6, 5, 3), activation="tanh", loss="mse", seed=1, reduce="sum")
    net = PerSampleNet.from_mlp(model)
    net.update_mini_batch(X, y, 0.3)
    model.train_step(X, y, 0.3)
    assert not np.allclose(net.weights[0], model.params["W1"].T)


def test_flops_per_sample_closed_form():
    # 3 GEMMs per layer, no input gradient for the first: 3*2*(784*30 + 30*10) - 2*784*30.
    assert flops_per_sample((784, 30, 10)) == 95_880
    assert flops_per_sample((4, 3)) == 2 * 2 * 4 * 3


def test_synth_mnist_shapes_and_seed():
    X1, y1, source = synth_mnist(120, seed=3)
    X2, y2, _ = synth_mnist(120, seed=3)
    assert X1.shape == (120, 784) and X1.dtype == np.uint8 and y1.shape == (120,)
    assert np.array_equal(X1, X2) and np.array_equal(y1, y2)
    assert y1.min() >= 0 and y1.max() <= 9 and source


def test_normalise_adapts_foreign_rows():
    rows = normalise([
        {"method": "np.loadtxt", "rows": 10, "median_s": 2.0, "speedup": 1.0},
        {"method": "netdoctor first load", "rows": 10, "median_s": 0.5, "speedup": 4.0, "peak_mb": 3.0,
         "peak_over_array": 1.5},
        {"what": "x", "ours": 1.0, "extra_key": 7},
        {"anything": 1},
    ], "load")
    assert all(set(ROW_KEYS) <= set(r) for r in rows)
    assert rows[1]["peer"] == 2.0 and rows[1]["ratio"] == 4.0 and rows[1]["unit"] == "s"
    assert "extra_key=7" in rows[2]["note"]
    assert "anything=1" in rows[3]["note"]


def test_missing_suite_is_a_skipped_row():
    (r,) = _suite_rows("no_such_suite", small=True)
    assert r["met"] is None and r["note"].startswith("skipped: not available")


def test_markdown_has_machine_table_and_notes():
    rows = normalise([{"what": "w", "ours": 2.0, "peer": 1.0, "ratio": 2.0, "unit": "s", "met": True,
                       "note": "n1"}], "x")
    text = render_markdown(rows, {"CPU": "c"}, started="2026-01-01 00:00", loads=("1", "2"), elapsed=3.0)
    assert "## Physical floors" in text and "| CPU | c |" in text
    assert "| 1 | w | - | - | 2 | 1 | 2.00x | - | s | **yes** |" in text
    assert "1. n1" in text


@pytest.mark.parametrize("suite", ["train", "check", "load", "gradcheck"])
def test_runner_runs_small(tmp_path, suite):
    out = tmp_path / "bench.md"
    proc = subprocess.run([sys.executable, "-m", "bench", "--small", "--only", suite, "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    text = out.read_text()
    assert "## Results" in text and "## Machine and run" in text
    if suite == "train":
        # both nets against PyTorch and both precisions against the per-sample net, per thread setting
        for what in ("| train 784-30-10 tanh/MSE, float32", "| train 784-64-64-10 tanh/MSE, float32",
                     "netdoctor float32 vectorised vs per sample", "netdoctor float64 vectorised vs per sample"):
            assert what in text
    elif suite == "check":
        assert "netdoctor check, 1,000-row CSV" in text and "busy <= 1.3x alone" in text
    elif suite == "load":
        for what in ("load CSV (real): read() of the file, the floor", "load CSV (random): netdoctor first load",
                     "load CSV (random): netdoctor cached reload"):
            assert what in text
    else:
        assert "full central check 20-8-4 tanh/MSE, 10 dense random inputs" in text
    # the printed table: each ratio with its target and a verdict, and the load average
    assert "judged targets met" in proc.stdout and "load average (1, 5, 15 min) before:" in proc.stdout


def test_only_selects_by_the_start_of_a_name_else_by_what_it_contains():
    from bench.bench_observe import _selects

    names = ["784-64-10 batched", "full batch 4000", "full batch 4000 x180", "torch 784-512-512-10", "generated 102"]
    assert [n for n in names if _selects("784", n, names)] == ["784-64-10 batched"]  # not the PyTorch row
    assert [n for n in names if _selects("full batch", n, names)] == ["full batch 4000", "full batch 4000 x180"]
    assert [n for n in names if _selects("x180", n, names)] == ["full batch 4000 x180"]
    assert [n for n in names if _selects("512", n, names)] == ["torch 784-512-512-10"]


def test_a_per_step_rows_loop_is_split_into_its_cost_per_step_and_its_one_offs():
    from bench.bench_observe import Case, loop_split

    # oracle: loops whose CPU is exactly one-offs + per-step x steps, printed as the program prints them (per step)
    def printed(one_offs, per_step, steps):
        return [(0.0, (one_offs + per_step * steps) / steps)]

    case = Case("torch", ["x.py"], 1.2, per_step=True, real=96, short_updates=32)
    case.steps = {"plain": printed(0.0, 0.005, 96), "short plain": printed(0.0, 0.005, 32),
                  "observed": printed(0.030, 0.0052, 96), "short observed": printed(0.030, 0.0052, 32),
                  "against": printed(0.045, 0.0055, 96), "short against": printed(0.045, 0.0055, 32)}
    line = loop_split(case)
    assert "per step 5.00 ms plain, 5.20 ms run (1.040x), one-offs +0.030 s" in line
    assert "against 5.50 ms (1.100x), one-offs +0.045 s" in line
    del case.steps["short observed"]
    assert loop_split(case) == ""  # one length only: nothing to split


def test_the_cost_breakdown_adds_up_to_the_observed_runs_extra_cpu():
    from bench.cost_breakdown import PHASES, breakdown_lines

    spent = {row: [0.01 * (k + 1), 10 * (k + 1)] for k, row in enumerate(PHASES)}
    spent["update check"] = [0.05, 3]  # (inside the handlers' rows: not added again)
    spent["forwards replayed"] = [0.04, 33]
    lines = breakdown_lines(1.0, 2.0, spent)
    rows = {line[2:16].strip(): float(line[16:24]) for line in lines[1:]}  # (name, then seconds, in columns)
    assert sum(rows[row] for row in PHASES) + rows["rest"] == pytest.approx(1.0)  # observed - plain
    assert rows["rest"] == pytest.approx(1.0 - sum(0.01 * (k + 1) for k in range(len(PHASES))))
    assert "3 check(s), 33 forwards replayed" in "\n".join(lines)
    assert "(1.00x)" not in lines[0] and "(2.00x)" in lines[0]


def test_the_cost_breakdown_runs_a_program_under_netdoctor_run(tmp_path):
    from bench.cost_breakdown import PHASES

    script = tmp_path / "train.py"
    script.write_text("import numpy as np\n"
                      "W = np.zeros((3, 2))\n"
                      "for _ in range(40):\n"
                      "    W -= 0.1 * (W - 1.0)\n")
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "cost_breakdown.py"), str(script)], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    rows = [line[2:16].strip() for line in out.stdout.splitlines()[1:]]
    assert rows == [*PHASES, "(update check", "rest"]
    assert float(out.stdout.splitlines()[1][16:24]) > 0  # the observer's modules were loaded and timed
