"""Does the run learn: the training accuracy of ``netdoctor run`` on NumPy programs (``observe/numpy/learning.py``),
against the same accuracy counted independently, and the rules that read it (``rules/learning.py``)."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from netdoctor.findings import Severity
from netdoctor.observe.numpy.learning import EARLY_ROWS, LATE_ROWS, MIN_CURVE_ROWS, TrainingAccuracy
from netdoctor.rules.activations import saturated_activations
from netdoctor.rules.evidence import LayerActivity, NormTrace, TrainingCurve
from netdoctor.rules.learning import learns, learns_well
from netdoctor.rules.policy import Framework
from netdoctor.rules.stability import exploding_gradients


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _steps(rng: np.random.Generator, n_steps: int, batch: int, classes: int):
    """Per step: logits (batch, classes) and integer labels (batch,)."""
    return [(rng.normal(size=(batch, classes)) * 3, rng.integers(0, classes, batch)) for _ in range(n_steps)]


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 40), st.integers(2, 12), st.integers(1, 120), st.integers(0, 2**32 - 1),
       st.sampled_from(["labels", "rows", "one"]))
@example(22, 10, 3, 0, "labels")  # 66 rows, but halves of whole steps of 22 and 44 rows: no curve (once flaky)
@example(16, 10, 4, 0, "rows")  # halves of exactly 32 rows: a curve
def test_the_accuracy_and_cross_entropy_equal_those_counted_row_by_row(batch, classes, n_steps, seed, kind):
    rng = np.random.default_rng(seed)
    if kind == "one":
        batch = 1
    steps = _steps(rng, n_steps, batch, classes)
    rec = TrainingAccuracy()
    for u, (z, y) in enumerate(steps):
        p = _softmax(z)
        truth = int(y[0]) if kind == "one" else y.copy() if kind == "labels" else np.eye(classes)[y] * 0.98 + 0.01
        if u % 2:  # output first (forward, then the loss handed the targets), or targets first (step(x, t) calls forward)
            rec.output(p, u)
            rec.targets(truth, u)
        else:
            rec.targets(truth, u)
            rec.output(p, u)
        p[:] = 0.0  # the program writes into its output after: the recorder kept a copy
        if isinstance(truth, np.ndarray):
            truth[:] = 0
    c = rec.curve("forward()")
    if (n_steps // 2) * batch < MIN_CURVE_ROWS:
        # a short run is split into halves of whole steps: a half of fewer rows than a window needs gives no curve
        # (3 steps of 22 rows are 66 rows, but their first half is one step of 22)
        assert c is None
        return
    assert c is not None
    # the oracle: the windows' steps, counted row by row in a Python loop, the loss by log-sum-exp of the logits
    early_steps = [s for u, s in enumerate(steps) if c.early_updates[0] <= u <= c.early_updates[1]]
    late_steps = [s for u, s in enumerate(steps) if c.late_updates[0] <= u <= c.late_updates[1]]

    def oracle(chosen):
        right = n = 0
        loss = 0.0
        for z, y in chosen:
            for row, label in zip(z, y):
                right += int(np.argmax(row) == label)
                loss += float(np.log(np.sum(np.exp(row - row.max()))) + row.max() - row[label])
                n += 1
        return right / n, loss / n, n

    assert c.early_read == (c.early_updates,) and c.late_read == (c.late_updates,)  # every step read
    a0, l0, n0 = oracle(early_steps)
    a1, l1, n1 = oracle(late_steps)
    assert (c.early_rows, c.late_rows) == (n0, n1)
    assert c.early == pytest.approx(a0) and c.late == pytest.approx(a1)
    assert c.loss == "cross-entropy"
    assert c.loss_early == pytest.approx(l0, rel=1e-9) and c.loss_late == pytest.approx(l1, rel=1e-9)
    late_labels = np.concatenate([y for _, y in late_steps])
    assert c.chance == pytest.approx(np.bincount(late_labels).max() / len(late_labels))


def test_the_windows_are_the_first_and_the_last_rows_and_stay_bounded():
    rng = np.random.default_rng(1)
    rec = TrainingAccuracy()
    for u in range(5000):
        z, y = rng.normal(size=(10, 4)), rng.integers(0, 4, 10)
        rec.targets(y, u)
        rec.output(z, u)
    c = rec.curve("f()")
    assert c is not None
    assert c.early_updates == (0, EARLY_ROWS // 10 - 1 + (EARLY_ROWS % 10 > 0))
    assert c.late_updates[1] == 4999 and LATE_ROWS <= c.late_rows < LATE_ROWS + 10
    assert len(rec.early) + len(rec.late) <= (EARLY_ROWS + LATE_ROWS) // 10 + 2
    assert rec.pairs == 50_000


def test_a_window_read_in_stretches_names_its_updates_and_counts_only_their_rows():
    # a held step: the forward heard in traced windows of 3 updates every 20 (and every update of the first 30)
    rng = np.random.default_rng(3)
    steps = _steps(rng, 600, 8, 4)
    heard = [u for u in range(600) if u < 30 or u % 20 < 3]
    rec = TrainingAccuracy()
    for u in heard:
        z, y = steps[u]
        rec.targets(y, u)
        rec.output(_softmax(z), u)
    c = rec.curve("f()")
    assert c is not None
    assert c.early_read == ((0, 29), (40, 41)) and c.early_updates == (0, 41)  # 256 rows: 32 updates of 8
    late = heard[-64:]  # the last 512 rows
    assert late[0] == 162 and c.late_updates == (162, 582)
    assert c.late_read == ((162, 162), *((u, u + 2) for u in range(180, 600, 20)))
    right = sum(int((steps[u][0].argmax(axis=1) == steps[u][1]).sum()) for u in late)
    assert (c.late_rows, c.late) == (8 * len(late), pytest.approx(right / (8 * len(late))))


def test_an_output_without_targets_of_its_step_is_never_paired():
    rec = TrainingAccuracy()
    eye = np.eye(3)
    for u in range(0, 80, 2):
        rec.targets(np.array([0, 1, 2, 0]), u)
        rec.output(eye[[0, 1, 2, 0]], u)  # right
        rec.output(eye[[1, 2, 0]], u)  # an evaluation of 3 rows after the step: no targets with 3 rows
        rec.output(eye[[1, 2, 0, 1]], u + 1)  # an output after an update whose targets are never read
        rec.targets(np.array([2, 2, 2, 2]), u + 3)  # targets two updates on: the output waiting is not theirs
    c = rec.curve("f()")
    assert c is not None and c.early == 1.0 and c.late == 1.0
    assert rec.pairs == 160


def test_too_few_rows_give_no_curve():
    rec = TrainingAccuracy()
    for u in range(60):
        rec.targets(u % 3, u)
        rec.output(np.eye(3)[[u % 3]], u)
    assert rec.curve("f()") is None  # 30 rows a window


def _curve(early: float, late: float, chance: float, rows: int = 512) -> TrainingCurve:
    return TrainingCurve("forward()", early, 256, (0, 10), late, rows, (300, 320), chance)


@pytest.mark.parametrize(("early", "late", "chance", "learns_", "well"), [
    (0.27, 1.00, 0.27, True, True),    # tiny_init
    (0.39, 0.93, 0.34, True, True),    # pure_params
    (0.10, 0.60, 0.12, True, False),   # a saturating initialisation: learns, worse than it could
    (0.10, 0.15, 0.12, False, False),  # a learning rate 100x too high
    (1.00, 1.00, 1.00, False, False),  # every target one class: answering it is no learning
    (0.95, 0.50, 0.10, False, False),  # it fell: no learning run
    (0.78, 0.75, 0.22, False, False),  # a stale accumulator holding what its first steps reached (global_grads_stale)
    (0.80, 0.98, 0.25, True, True),    # a fast learner, most of it in the early window
])
def test_a_run_learns_when_its_late_accuracy_goes_well_past_chance(early, late, chance, learns_, well):
    c = _curve(early, late, chance)
    assert learns(c) is learns_ and learns_well(c) is well
    assert not learns(_curve(early, late, chance, rows=20))  # too few rows to say
    assert not learns(None)


def test_a_run_whose_cross_entropy_ends_above_a_uniform_guess_does_not_learn():
    # einsum_rows_fast (a learning rate 300x too high, 4 classes): 58% -> 72% right, cross-entropy 90 -> 46
    fast = TrainingCurve("forward()", 0.58, 256, (2, 11), 0.72, 528, (210, 227), 0.27, 90.4, 46.4, "cross-entropy", 4)
    assert not learns(fast)
    healthy = TrainingCurve("forward()", 0.58, 256, (2, 11), 0.72, 528, (210, 227), 0.27, 1.2, 0.7, "cross-entropy", 4)
    assert learns(healthy)
    assert not learns(dataclasses.replace(healthy, loss_late=float("nan")))


def test_weights_that_grow_in_a_run_that_learns_are_no_explosion_but_a_growing_gradient_is():
    trace = NormTrace("W2", (0, 240), (0.089, 2.93), grad_norms=None)
    found = exploding_gradients([trace], Framework.NUMPY, unit="update", curve=_curve(0.1, 0.15, 0.12))
    assert found is not None and "training accuracy 10% -> 15%" in found.message
    assert exploding_gradients([trace], Framework.NUMPY, unit="update", curve=_curve(0.27, 1.0, 0.27)) is None
    grad = NormTrace("W2", (0, 1, 2), (1.0, 1.1, 1.2), grad_norms=(1.0, 5.0, 500.0))
    assert exploding_gradients([grad], Framework.NUMPY, unit="update", curve=_curve(0.27, 1.0, 0.27)) is not None


def test_saturation_in_a_run_that_learns_well_is_info_and_says_the_accuracy():
    layer = LayerActivity(where="layer 1 (sigmoid)", layer="hidden layer 1", activation="sigmoid", units=12,
                          saturation=0.61, dead=None, window="over the last 500 samples", framework=Framework.NUMPY, rows=500)
    assert saturated_activations([layer]).severity is Severity.WARNING
    info = saturated_activations([layer], curve=_curve(0.39, 0.93, 0.34))
    assert info.severity is Severity.INFO and "93%" in info.message
    warned = saturated_activations([layer], curve=_curve(0.10, 0.60, 0.12))
    assert warned.severity is Severity.WARNING and "60%" in warned.message


# -- end to end: a program that counts its own training accuracy ------------------------------------------------------
PROGRAM = textwrap.dedent('''
    """Softmax regression with one hidden relu layer, integer labels, batches of 16; it prints, per step, how many of
    its batch's rows its own output classified right (computed before the step's update)."""
    import numpy as np

    rng = np.random.default_rng(7)
    C, D, N = 5, 12, 960
    centers = rng.normal(0, 1.2, (C, D))
    y_all = rng.integers(0, C, N)
    X = centers[y_all] + rng.normal(0, 1.0, (N, D))


    class Model:
        def __init__(self):
            self.W1 = rng.normal(0, 1, (D, 24)) * np.sqrt(2 / D)
            self.b1 = np.zeros(24)
            self.W2 = rng.normal(0, 1, (24, C)) * np.sqrt(1 / 24)
            self.b2 = np.zeros(C)

        def probabilities(self, x):
            self.h = np.maximum(0, x @ self.W1 + self.b1)
            z = self.h @ self.W2 + self.b2
            e = np.exp(z - z.max(axis=1, keepdims=True))
            return e / e.sum(axis=1, keepdims=True)

        def train_step(self, x, y, lr):
            p = self.probabilities(x)
            right = int((p.argmax(axis=1) == y).sum())
            d = p.copy()
            d[np.arange(len(y)), y] -= 1
            d /= len(y)
            dh = d @ self.W2.T * (self.h > 0)
            self.W2 -= lr * self.h.T @ d
            self.b2 -= lr * d.sum(axis=0)
            self.W1 -= lr * x.T @ dh
            self.b1 -= lr * dh.sum(axis=0)
            return right


    model = Model()
    step = 0
    for epoch in range(4):
        order = rng.permutation(N)
        for s in range(0, N, 16):
            idx = order[s:s + 16]
            right = model.train_step(X[idx], y_all[idx], 0.05)
            print(f"step {step} right {right} of {len(idx)}")
            step += 1
''')


MODULE_LOOP = textwrap.dedent('''
    """A module-level loop (np2963's style): forward() keeps its output on an object and returns nothing, backward()
    sums the gradients into a dict, the loop steps each tensor inline; one sigmoid hidden layer, one-hot targets
    smoothed toward the classes' prior, batches of 20 at a rate of 1.25. It prints, per step, how many of its batch's
    rows its own output classified right (before the step's update)."""
    import numpy as np

    rng = np.random.default_rng(2963)
    C, D, N = 6, 16, 600
    centers = rng.normal(0, 1.0, (C, D))
    labels = rng.integers(0, C, N)
    X = centers[labels] + rng.normal(0, 1.0, (N, D))
    PRIOR = np.bincount(labels, minlength=C) / N


    class State:
        pass


    state = State()
    params = {"W1": rng.normal(0, 1, (D, 24)) / np.sqrt(D), "b1": np.zeros(24),
              "W2": rng.normal(0, 1, (24, C)) / np.sqrt(24), "b2": np.zeros(C)}
    grads = {k: np.zeros_like(v) for k, v in params.items()}


    def forward(x):
        state.h = 1.0 / (1.0 + np.exp(-(x @ params["W1"] + params["b1"])))
        z = state.h @ params["W2"] + params["b2"]
        e = np.exp(z - z.max(axis=1, keepdims=True))
        state.out = e / e.sum(axis=1, keepdims=True)


    def backward(x, t):
        d2 = (state.out - t) / len(x)
        dh = d2 @ params["W2"].T * state.h * (1.0 - state.h)
        grads["W2"] += state.h.T @ d2
        grads["b2"] += d2.sum(axis=0)
        grads["W1"] += x.T @ dh
        grads["b1"] += dh.sum(axis=0)


    step = 0
    for epoch in range(6):
        order = rng.permutation(N)
        for s in range(0, N, 20):
            idx = order[s:s + 20]
            x, t = X[idx], np.eye(C)[labels[idx]] * 0.9 + 0.1 * PRIOR
            forward(x)
            print(f"step {step} right {int((state.out.argmax(axis=1) == labels[idx]).sum())} of {len(idx)}")
            backward(x, t)
            for p, g in zip((params["W1"], params["b1"], params["W2"], params["b2"]),
                            (grads["W1"], grads["b1"], grads["W2"], grads["b2"])):
                p -= 1.25 * g
                g[...] = 0.0
            step += 1
''')


WHILE_LOOP = textwrap.dedent('''
    """A module-level ``while`` loop over shuffled index batches: the parameters a list, forward() returns its output
    and its hidden layer, gradients() returns a list the loop steps from (plain SGD, momentum-free), tanh hidden layer,
    integer labels; it prints, per step, how many of its batch's rows its own output classified right (before the
    step's update)."""
    import numpy as np

    rng = np.random.default_rng(41)
    C, D, N, B = 4, 10, 480, 12
    centers = rng.normal(0, 1.0, (C, D))
    labels = rng.integers(0, C, N)
    X = centers[labels] + rng.normal(0, 1.0, (N, D))
    params = [rng.normal(0, 1, (D, 20)) / np.sqrt(D), np.zeros(20), rng.normal(0, 1, (20, C)) / np.sqrt(20), np.zeros(C)]


    def forward(x):
        h = np.tanh(x @ params[0] + params[1])
        z = h @ params[2] + params[3]
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True), h


    def gradients(x, y, p, h):
        d = p.copy()
        d[np.arange(len(y)), y] -= 1.0
        d /= len(y)
        dh = d @ params[2].T * (1.0 - h * h)
        return [x.T @ dh, dh.sum(axis=0), h.T @ d, d.sum(axis=0)]


    step = 0
    while step < 200:
        order = rng.permutation(N)
        i = 0
        while i < N and step < 200:
            idx = order[i:i + B]
            p, h = forward(X[idx])
            print(f"step {step} right {int((p.argmax(axis=1) == labels[idx]).sum())} of {len(idx)}")
            g = gradients(X[idx], labels[idx], p, h)
            for k in range(4):
                params[k] -= 0.3 * g[k]
            i += B
            step += 1
''')


@pytest.mark.parametrize("source", [PROGRAM, MODULE_LOOP, WHILE_LOOP], ids=["train_step", "module_loop", "while_loop"])
def test_the_accuracy_reported_is_the_one_the_program_counts_itself(tmp_path: Path, source: str):
    """The report's training accuracy over the updates it names is the program's own count over them. In a module loop
    whose steps run unwatched between windows, an update is first seen at the backward's call, after the forward of
    the next batch returned: that output is still paired with its own batch's targets (np2963 read 28% -> 24%, trained
    at 99%)."""
    script = tmp_path / "counts_itself.py"
    script.write_text(source, encoding="utf-8")
    out = tmp_path / "report.json"
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", NO_COLOR="1")
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)  # this checkout's code, whatever is installed
    proc = subprocess.run([sys.executable, "-m", "netdoctor.cli", "run", "--json", str(out), str(script)], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=300)
    report = json.loads(out.read_text(encoding="utf-8"))
    c = report["sections"]["observed"]["training_accuracy"]
    assert c is not None, proc.stdout[-2000:] + proc.stderr[-2000:]
    counts = {}
    for line in proc.stdout.splitlines():
        if line.startswith("step "):
            _, step, _, right, _, n = line.split()
            counts[int(step)] = (int(right), int(n))

    def own(runs: list[list[int]]) -> tuple[float, int]:
        """The program's own count over exactly the updates the report names (its step s runs after s updates)."""
        chosen = [counts[s] for first, last in runs for s in range(first, last + 1)]
        return sum(r for r, _ in chosen) / sum(n for _, n in chosen), sum(n for _, n in chosen)

    for window in ("early", "late"):
        runs = c[f"{window}_read"]
        first, last = c[f"{window}_updates"]
        assert runs and runs[0][0] == first and runs[-1][1] == last, (window, c)
        assert all(a <= b < runs[i + 1][0] - 1 for i, (a, b) in enumerate(runs[:-1])), (window, c)  # in order, apart
        acc, rows = own(runs)
        assert c[f"{window}_rows"] == rows, (window, c)
        assert c[window] == pytest.approx(acc), (window, c)
        # the header says the same updates: every one when the window read every update of its span, else how many
        read = sum(b - a + 1 for a, b in runs)
        said = f"updates {first}-{last}" if read == last - first + 1 else f"{read:,} of the updates {first}-{last} ("
        assert f"{c[f'{window}_rows']:,} rows, {said}" in report["context"]["training"], (window, c)
    assert c["late"] > 0.8 and not [f for f in report["findings"] if f["severity"] in ("error", "warning")]
    assert "training accuracy" in report["context"]["training"]
