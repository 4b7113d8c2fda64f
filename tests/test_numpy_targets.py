"""How the NumPy observer tells targets from the other arrays handed with them (``observe/numpy/targets.py``): codes
of a few values, and rows of many values that name a class and come back (label smoothing toward the class prior, a
fixed teacher's distributions), never the forward's output, collapsed or not."""

from __future__ import annotations

from collections import Counter
from types import SimpleNamespace

import numpy as np
import pytest

from netdoctor.observe.numpy.arrays import ArrayMemo, weak
from netdoctor.observe.numpy.order import BlockClasses
from netdoctor.observe.numpy.roles import soft_targets
from netdoctor.observe.numpy.tallies import ClassTally
from netdoctor.observe.numpy.targets import (
    LABEL_AGREE,
    LABEL_TRIALS,
    SOFT_ROWS,
    ScalarLabels,
    SoftRows,
    TargetRead,
    _count_targets,
    _encodes_classes,
    _error_at,
    _is_output,
    _label_column,
    _label_row,
    _linear_error,
    _scalar_label,
    _scalar_label_return,
    _soft_class,
    _soft_read,
    label_values,
)

C = 5
PRIOR = np.array([0.35, 0.25, 0.2, 0.12, 0.08])
SMOOTH = 0.8 * np.eye(C) + 0.2 * PRIOR
"""Label smoothing toward the class prior: a distribution of five distinct values per class."""


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def batch(rng: np.random.Generator, n: int = 25) -> np.ndarray:
    return SMOOTH[rng.integers(0, C, n)]


@pytest.mark.parametrize("rows, several, encodes", [
    (np.eye(C)[[0, 3, 1, 1]], True, True),
    (np.where(np.eye(C)[[0, 3, 1]] > 0, 0.9, -0.9), True, True),  # a +-0.9 margin
    (np.where(np.eye(C)[[0, 3, 1]] > 0, 0.91, 0.01), True, True),  # uniform smoothing: two values
    (np.array([2, 0, 4]), True, True),  # integer labels
    (SMOOTH[[0, 3, 1]], True, False),  # smoothing toward the prior: read only once the rows come back
    (softmax(np.random.default_rng(0).normal(size=(4, C))) - np.eye(C)[[0, 1, 2, 3]], True, False),  # an error
    (np.array([[1.0, 1, 0, 0, 0], [0, 1, 0, 1, 0]]), True, True),  # multi-hot rows (T[:, y] = 1)
    (np.array([[1.0, 1, 0, 0, 0], [0, 1, 0, 1, 0]]), False, False),  # beside the output: a mask, not targets
], ids=["one-hot", "margin", "uniform-smoothing", "labels", "prior-smoothing", "output-error", "multi-hot",
        "multi-hot-beside-output"])
def test_codes_of_a_few_values_encode_classes(rows, several, encodes):
    assert _encodes_classes(rows, several=several) is encodes


def test_smoothed_rows_are_read_once_they_came_back_after_an_update():
    rng = np.random.default_rng(1)
    soft = SoftRows()
    first = batch(rng)
    assert not soft.known("t", first, 1)  # first seen
    assert not soft.known("t", first, 1)  # again, but the weights have not moved since
    assert soft.known("t", first[::-1], 2)
    assert not soft.known("t", np.vstack([first, [[0.2, 0.2, 0.2, 0.2, 0.2]]]), 3)  # a row never seen before
    assert soft.known("t", first, 3)
    assert not soft.known("other", first, 4)  # each name has its own table


def test_a_collapsed_output_moving_with_each_update_never_comes_back():
    """Every row of a collapsed network's output is one row; it moves with the output layer at every update."""
    rng = np.random.default_rng(2)
    soft = SoftRows()
    b = rng.normal(size=C)
    for update in range(200):
        b -= 0.1 * (softmax(b[None])[0] - PRIOR)  # the output bias descending toward the prior
        assert not soft.known("probs", np.repeat(softmax(b[None]), 25, axis=0), update)


def test_outputs_filling_the_table_make_room_for_targets_that_come_back():
    rng = np.random.default_rng(3)
    soft = SoftRows()
    for update in range(1, 8):
        assert not soft.known("x", softmax(rng.normal(size=(40, C))), update)  # never the same row twice
    t = batch(rng)
    assert not soft.known("x", t, 8)
    assert not soft.known("x", softmax(rng.normal(size=(40, C))), 9)
    assert soft.known("x", t, 10)
    assert len(soft.tables["x"][0]) <= SOFT_ROWS


def backend(out: np.ndarray | None, updates: int = 0) -> SimpleNamespace:
    """What :func:`_soft_read` reads of the observer: the forward's last output (weakly, with its first row)."""
    b = SimpleNamespace(soft_rows=SoftRows(), updates=updates,
                        _last_out=(weak(out), out[0].astype(float)) if out is not None else None)
    b._is_output = lambda v, rows: _is_output(b, v, rows)
    return b


def test_a_frozen_collapsed_output_is_never_taken_for_targets():
    """A collapsed network whose output never moves: identical rows at every update, handed to the gradient function
    as a distribution like the targets. It is the forward's output, by identity and by value (a copy, or the softmax of
    its logits computed outside the forward)."""
    logits = np.repeat(np.array([[2.0, 0.5, 0.1, -1.0, 0.0]]), 25, axis=0)
    probs = softmax(logits)
    for out, handed in ((probs, probs), (probs, probs.copy()), (logits, probs)):
        b = backend(out)
        for update in range(1, 6):
            b.updates = update
            assert not _soft_read(b, "p", handed, handed), (out is logits, handed is probs)
    # the same rows as targets of a network whose output is elsewhere: read once they come back
    b = backend(softmax(np.random.default_rng(4).normal(size=(25, C))))
    assert not _soft_read(b, "t", probs, probs)
    b.updates = 1
    assert _soft_read(b, "t", probs.copy(), probs.copy())


def test_smoothed_targets_beside_a_healthy_output_are_read():
    rng = np.random.default_rng(5)
    b = backend(softmax(rng.normal(size=(25, C))))
    t = batch(rng)
    assert not _soft_read(b, "t", t, t)
    b.updates = 1
    assert _soft_read(b, "t", t, t)
    e = t - 0.01  # not a distribution: never read this way
    assert not _soft_read(b, "e", e, e) and not _soft_read(b, "e", e, e)


def softmax_error(z: np.ndarray, label: int) -> np.ndarray:
    p = softmax(z[None])[0]
    p[label] -= 1.0
    return p


@pytest.mark.parametrize("value, read", [(2, 2), (np.int64(0), 0), (np.int32(4), 4), (True, None), (5, None), (-1, None),
                                         (2.0, None), (np.float64(1.0), None)])
def test_a_class_handed_as_one_integer_is_an_int_below_the_output_width(value, read):
    assert _scalar_label(value, C) == read


def test_the_output_error_of_a_class_is_negative_there_only():
    """Told from what the function computes with the integer: ``p - onehot(t)``, a sigmoid's squared error, a tanh's
    under +-1 codes; never the logits, a bias or an error of another class."""
    rng = np.random.default_rng(6)
    z = rng.normal(size=C)
    assert _error_at({"z": z, "d": softmax_error(z, 3)}, None, 3, C)
    o = 1 / (1 + np.exp(-z))
    assert _error_at({}, (np.outer(z, z), (o - np.eye(C)[1]) * o * (1 - o)), 1, C)  # in what the function returned
    y = np.tanh(z)
    assert _error_at({"dy": ((y - (2 * np.eye(C)[0] - 1)) * (1 - y ** 2)).reshape(C, 1)}, None, 0, C)  # a column
    assert not _error_at({"z": z, "b": rng.normal(size=C)}, None, int(np.argmin(z)), C)  # signs of both kinds
    assert not _error_at({"d": softmax_error(z, 2)}, None, 3, C)  # another class's error


def test_an_integer_the_function_computes_no_error_of_is_rejected():
    """An epoch or a layer index handed beside the sample (``step(x, t, epoch)``): tried on a few calls, never read."""
    rng = np.random.default_rng(7)
    b = SimpleNamespace(scalar_labels=ScalarLabels(), layout=(None, [6, 4, C]), target_arg="", counted=[])
    b._label_rows = {}
    b._label_row = lambda k, n: _label_row(b, k, n)
    b._count_one_target = lambda k, row: b.counted.append(k)
    frame = SimpleNamespace(f_locals={})
    for call in range(LABEL_TRIALS):
        label, epoch = int(rng.integers(0, C)), call // 4
        frame.f_locals = {"t": label, "epoch": epoch, "d": softmax_error(rng.normal(size=C), label)}
        for name, value in (("epoch", epoch), ("t", label)):
            if name not in b.scalar_labels.rejected and not b.scalar_labels.name:
                b.scalar_labels.pending = (name, value)
                _scalar_label_return(b, frame, None)
    assert "epoch" in b.scalar_labels.rejected
    assert b.scalar_labels.name == "t" == b.target_arg and len(b.counted) == LABEL_AGREE


def test_the_data_s_labels_are_read_as_they_are_or_times_255_when_scaled_with_the_pixels():
    """A table of n_in + 1 columns whose first column holds the labels: as they are, or (asked with 255) as k / 255, the
    whole table divided by 255; a one-unit network (sized from labels of one class) takes any small integer labels."""
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 4, 120)
    table = np.column_stack([labels, rng.uniform(0, 255, (120, 6))])
    counts = np.bincount(labels, minlength=4).tolist()
    assert _label_column({"table": table}, 4, 6, 1.0) == ("table", counts, 120)
    assert _label_column({"table": table / 255.0}, 4, 6, 1.0) is None  # fractions are no labels
    assert _label_column({"table": table / 255.0}, 1, 6, 255.0) == ("table", counts, 120)
    assert _label_column({"table": table}, 1, 6, 1.0) == ("table", counts, 120)  # (one unit: labels past its width)
    assert _label_column({"table": np.column_stack([np.zeros(120), table[:, 1:]])}, 1, 6, 1.0) is None  # one class


_SIGMOID_COLUMNS = '''
import numpy as np

rng = np.random.default_rng(5)
C, D, H = 3, 12, 8
centres = rng.normal(0, 1, (C, D))
ys = rng.integers(0, C, 300)
data = [((centres[y] + 0.3 * rng.normal(0, 1, D)).reshape(-1, 1), np.eye(C)[y].reshape(-1, 1)) for y in ys]


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


class Net:
    def __init__(self):
        self.weights = [rng.normal(0, 1, (H, D)) / np.sqrt(D), rng.normal(0, 1, (C, H)) / np.sqrt(H)]
        self.biases = [np.zeros((H, 1)), np.zeros((C, 1))]

    def feedforward(self, a):
        for w, b in zip(self.weights, self.biases):
            a = sigmoid(w @ a + b)
        return a

    def backprop(self, x, y):
        a1 = sigmoid(self.weights[0] @ x + self.biases[0])
        a2 = sigmoid(self.weights[1] @ a1 + self.biases[1])
        d2 = (a2 - y) * a2 * (1 - a2)
        d1 = (self.weights[1].T @ d2) * a1 * (1 - a1)
        return [d1, d2], [d1 @ x.T, d2 @ a1.T]

    def step(self, batch, eta):
        nb = [np.zeros(b.shape) for b in self.biases]
        nw = [np.zeros(w.shape) for w in self.weights]
        for x, y in batch:
            db, dw = self.backprop(x, y)
            nb = [n + d for n, d in zip(nb, db)]
            nw = [n + d for n, d in zip(nw, dw)]
        self.weights = [w - eta / len(batch) * n for w, n in zip(self.weights, nw)]
        self.biases = [b - eta / len(batch) * n for b, n in zip(self.biases, nb)]


net = Net()
for epoch in range(4):
    for k in range(0, len(data), 10):
        net.step(data[k:k + 10], 3.0)
print(np.mean([np.argmax(net.feedforward(x)) == np.argmax(y) for x, y in data]))
'''


def test_the_look_for_probability_rows_stops_where_the_output_is_no_distribution(tmp_path, monkeypatch):
    """The textbook's per-sample mini-batches: the forward function is called only to evaluate, so the output rows are
    looked for beside the targets at the gradient function's returns; a sigmoid output never sums to 1 and none are
    found. The look stops after :data:`BESIDE_TRIES` that found none (it tested every array of the locals at every deep
    return: 640 looks here)."""
    import sys

    from netdoctor.observe import runner
    from netdoctor.observe.numpy import targets
    from netdoctor.observe.options import ObserveOptions

    looks = []
    search = targets.class_rows

    def spy(v, n_out, n_in, **kw):
        looks.append(kw.get("outputs", False))
        return search(v, n_out, n_in, **kw)

    monkeypatch.setattr(targets, "class_rows", spy)
    path = tmp_path / "sigmoid_columns.py"
    path.write_text(_SIGMOID_COLUMNS, encoding="utf-8")
    monkeypatch.setattr(sys, "argv", [str(path)])
    result = runner.run_script(str(path), [], ObserveOptions())
    assert result.status == "finished", result.traceback
    assert result.report.context["updates_observed"] == 120
    searched = looks.count(True)  # class_rows(..., outputs=True): one array tested beside the targets
    # 120 updates of 10 samples, the first 64 windows deep: 640 deep returns, each testing the 8 arrays of the
    # output's shape among the step's locals and objects (6,240 tests in all without the bound); 64 looks, 512 tests
    assert targets.BESIDE_TRIES == 64
    assert 0 < searched <= 8 * 64, searched


def _linear_error_oracle(loc, targets):
    """The output error among the locals, as round 14 read it (every product and norm a temporary array)."""
    def one(t):
        same = [v for v in list(loc.values())[:64] if isinstance(v, np.ndarray) and v.shape == t.shape
                and v.dtype.kind == "f" and v is not t and np.isfinite(v).all()]
        for o in same:
            E = o - t
            ee = float(np.sum(E * E))
            if ee == 0 or not np.isfinite(ee):
                continue
            for d in same:
                if d is not o:
                    k = float(np.sum(d * E)) / ee
                    if k != 0 and float(np.linalg.norm(d - k * E)) <= 1e-9 * max(float(np.linalg.norm(d)), 1e-300):
                        return E
        return None
    if targets.shape[0] != targets.shape[1]:
        for t in (targets, targets.T):
            E = one(t)
            if E is not None:
                return E if t is targets else E.T
        return None
    return one(targets)


@pytest.mark.parametrize("seed", range(12))
def test_the_output_error_among_the_locals_is_the_one_a_product_by_product_reading_finds(seed):
    # a full batch's locals in either layout, the error scaled by 1, 1/n or 2/n, a near miss, a NaN, the targets
    # themselves among the locals: the same array found (or none) as the oracle's temporaries find it
    rng = np.random.default_rng(seed)
    n, c = int(rng.integers(3, 300)), int(rng.integers(2, 11))
    T = np.eye(c)[rng.integers(0, c, n)]
    z = rng.normal(size=(n, c))
    O = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    k = [1.0, 1.0 / n, 2.0 / n][seed % 3]
    D = k * (O - T)
    if seed % 4 == 1:
        D = D + 1e-6 * rng.normal(size=D.shape)  # no multiple: nothing is the error
    if seed % 5 == 2:
        O[0, 0] = np.nan  # not finite: never a candidate
    columns = seed % 2 == 1
    loc = {"Z": z.T if columns else z, "O": O.T if columns else O, "Y": T.T if columns else T,
           "D": (np.ascontiguousarray(D.T) if seed % 3 else D.T) if columns else D, "W": rng.normal(size=(c, 7)), "m": n}
    targets = T.T if columns else T
    got, want = _linear_error(loc, targets), _linear_error_oracle(loc, targets)
    assert (got is None) == (want is None)
    if want is not None:
        np.testing.assert_array_equal(got, want)


def test_the_output_error_is_read_without_blas(monkeypatch):
    # the observer's own sums run on its thread: np.dot and np.linalg.norm would hand a full batch's 40,000 entries to
    # BLAS, whose threads are the program's (each call waited on OpenBLAS's second thread on a busy machine)
    rng = np.random.default_rng(3)
    T = np.eye(10)[rng.integers(0, 10, 4000)].T
    z = rng.normal(size=(10, 4000))
    O = np.exp(z) / np.exp(z).sum(axis=0)
    loc = {"Z": z, "A": O, "Y": T, "d": (O - T) / 4000}

    def no_blas(*args, **kwargs):
        raise AssertionError("BLAS called")

    monkeypatch.setattr(np, "dot", no_blas)
    monkeypatch.setattr(np.linalg, "norm", no_blas)
    np.testing.assert_array_equal(_linear_error(loc, T), O - T)


@pytest.mark.parametrize("columns", [False, True])
@pytest.mark.parametrize("n", [20, 4000])
@pytest.mark.parametrize("size", [0.0, 1e-11, 1e-10, 1e-8, 1e-7, 1e-5, 1e-2])
@pytest.mark.parametrize("where", ["head", "tail", "all"])
def test_the_leading_entries_reject_only_what_the_whole_test_rejects(columns, n, size, where):
    # an error multiple off by a deviation of a given size (relative to its norm) in its leading entries, past them,
    # or everywhere: the locals' heads tell it apart only where the whole test would, so the same error is read
    # (or none) as by the product-by-product reading, on either side of the test's 1e-9 limit
    rng = np.random.default_rng(int(size * 1e12) % 97 + n)
    c = 10
    T = np.eye(c)[rng.integers(0, c, n)]
    z = rng.normal(size=(n, c))
    O = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    D = (O - T) / n
    dev = np.zeros(D.size)
    span = {"head": slice(0, 40), "tail": slice(D.size - 40, D.size), "all": slice(0, D.size)}[where]
    dev[span] = rng.normal(size=dev[span].size)
    dev *= size * np.linalg.norm(D) / max(np.linalg.norm(dev), 1e-300)
    D = D + dev.reshape(D.shape)
    loc = {"O": O.T if columns else O, "Y": T.T if columns else T, "D": np.ascontiguousarray(D.T) if columns else D}
    targets = T.T if columns else T
    got, want = _linear_error(loc, targets), _linear_error_oracle(loc, targets)
    assert (got is None) == (want is None)
    if size <= 1e-11:
        assert got is not None  # the error itself is found
    if size >= 1e-8:
        assert got is None


# -- a target array handed again unchanged: what its values decide is read once (TargetRead) ---------------------------
def _counting_backend(n_out: int) -> SimpleNamespace:
    """What ``_count_targets`` touches of the backend: real tallies, a learning record that keeps nothing."""
    return SimpleNamespace(layout=("rows", [784, 32, n_out]), updates=0, learning=SimpleNamespace(targets=lambda *a: None),
                           block_classes=BlockClasses(), _window_rows=0, target_samples=0, _targets=ClassTally(),
                           target_values={}, _count_labels=None)


def _count_every_row(batches: list[np.ndarray], n_out: int) -> tuple[Counter, list[list[int]]]:
    """The oracle: each row's class (its argmax, one row at a time) counted on arrival, and the classes of each batch."""
    counts: Counter = Counter()
    present = []
    for rows in batches:
        classes = [int(np.argmax(np.asarray(row))) for row in rows]
        counts.update(classes)
        present.append(sorted(set(classes)))
    return counts, present


def _target_batch(rng: np.random.Generator, kind: str, n: int, c: int) -> np.ndarray:
    labels = rng.integers(0, c, n)
    if kind == "one-hot":
        return np.eye(c)[labels]
    if kind == "codes":  # 0.01/0.99
        return np.where(np.eye(c, dtype=bool)[labels], 0.99, 0.01)
    if kind == "ties":  # rows whose largest value is shared: argmax takes the first
        out = np.eye(c)[labels]
        out[:, 0] = 1.0
        return out
    if kind == "nan":
        out = np.eye(c)[labels]
        out[rng.integers(0, n), rng.integers(0, c)] = np.nan
        return out
    if kind == "inf":  # equal to itself: the memo keeps it, its counts must not be cached as finite rows'
        out = np.eye(c)[labels]
        out[rng.integers(0, n), rng.integers(0, c)] = np.inf
        return out
    return np.eye(c, dtype=np.int64)[labels]  # integer codes


@pytest.mark.parametrize("seed", range(6))
def test_target_rows_handed_again_are_counted_as_counting_each_row_on_arrival(seed):
    """Batches of target rows (one-hot, 0.01/0.99 codes, ties, NaN, inf, integer codes; as rows and as the transpose of
    a column layout; small and 4,000 rows), each handed several times unchanged and some written into between two
    steps (single rows too), through the memo and :class:`TargetRead` into ``_count_targets``: the class tally, its
    finiteness and the classes per block are those of counting every row with its own argmax."""
    rng = np.random.default_rng(seed)
    c = 10
    memo, b = ArrayMemo(), _counting_backend(c)
    handed = []
    for step in range(40):
        if step % 8 == 0:
            kind = ["one-hot", "codes", "ties", "nan", "inf", "int"][int(rng.integers(0, 6))]
            n = [1, 30, 200, 4000][int(rng.integers(0, 4))]
            v = _target_batch(rng, kind, n, c)
            if rng.random() < 0.5:
                v = np.ascontiguousarray(v.T).T  # a column layout's rows: (classes, N) seen transposed
        elif step % 8 == 5 and v.dtype.kind == "f":
            v[int(rng.integers(0, len(v)))] = np.roll(np.eye(c)[0], int(rng.integers(0, c)))  # written in place
        rows = v
        read = memo.decided(v, ("read", c, 784, True), TargetRead)
        b.updates = step
        _count_targets(b, rows, v, counts=read.counts(rows))
        handed.append(rows.copy())
    counts, present = _count_every_row(handed, c)
    assert b._targets.counter() == counts
    # (a single row is counted by its class alone, as one target vector is: the tally's finiteness is its batches')
    assert b._targets.finite() == all(np.isfinite(r).all() for r in handed if len(r) > 1)
    oracle = BlockClasses()
    for step, classes in enumerate(present):
        oracle.add(step, classes, len(handed[step]))
    assert (b.block_classes.blocks, b.block_classes.alone) == (oracle.blocks, oracle.alone)


def test_an_unchanged_target_array_is_read_once_and_read_again_once_written_into():
    """The memo hands one :class:`TargetRead` back while the array is unchanged: its decisions, one-hot rows and
    counts are worked out once (the counts from the second step, when the memo keeps it), and afresh after the
    program writes into the array."""
    rng = np.random.default_rng(0)
    Y = np.eye(10)[rng.integers(0, 10, 4000)].T  # a full batch's targets, one column a sample
    rows = Y.T
    memo = ArrayMemo()
    reads = [memo.decided(Y, ("read", 10, 784, False), TargetRead) for _ in range(4)]
    assert reads[1] is reads[2] is reads[3] and reads[0] is not reads[1]  # (kept from its second coming)
    first = reads[1]
    assert first.counts(rows) is None  # (the first time asked: the tallies count it as it comes)
    counts = first.counts(rows)
    assert counts is not None and counts.tolist() == np.bincount(rows.argmax(axis=1), minlength=10).tolist()
    assert first.counts(rows) is counts and first.one_hot(rows, 10) is first.one_hot(rows, 10)
    assert first.codes(rows) and first.one_top(rows)
    Y[3, 0] = 0.5  # written in place: decided again, from its values now
    again = memo.decided(Y, ("read", 10, 784, False), TargetRead)
    assert again is not first
    assert again.one_hot(rows, 10)[0, 3] == 0.5


def _soft_class_as_before(b: SimpleNamespace, name: str, v: np.ndarray, rows: np.ndarray) -> int:
    """Round 16's reading of a vector that encodes no class by its few values (the oracle of :func:`_soft_class`)."""
    return int(np.argmax(rows[0])) if _soft_read(b, name, v, rows) else -1 if not soft_targets(rows) else -2


@pytest.mark.parametrize("seed", range(4))
def test_a_handed_vector_of_many_values_is_read_as_before(seed):
    """Per-sample vectors handed to the gradient's function (smoothed targets per class, output errors of any sign, the
    forward's own output and its softmax, probabilities that never come back, integer and NaN vectors), one after
    another over updates: :func:`_soft_class` gives the class, -1 or -2 as round 16's order of the same tests did, and
    leaves the same table of rows seen (two observers in lockstep, one per reading)."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(1, C))
    mine, before = backend(logits), backend(logits)
    said = []
    for update in range(60):
        mine.updates = before.updates = update // 3
        kind = int(rng.integers(0, 7))
        if kind == 0:
            v = SMOOTH[int(rng.integers(0, C))].copy()
        elif kind == 1:
            v = softmax(logits)[0] - SMOOTH[int(rng.integers(0, C))]  # an output error: either sign
        elif kind == 2:
            v = softmax(logits)[0].copy()  # the output's softmax: never targets
        elif kind == 3:
            v = softmax(rng.normal(size=(1, C)))[0]  # a new distribution each time
        elif kind == 4:
            v = np.eye(C, dtype=np.int64)[int(rng.integers(0, C))] * 2
        elif kind == 5:
            v = SMOOTH[0].copy()
            v[int(rng.integers(0, C))] = np.nan
        else:
            v = logits[0].copy()  # the last output itself, by value
        v = v.reshape(-1, 1) if rng.random() < 0.5 else v
        rows = v.reshape(1, -1)
        name = ["t", "d"][int(rng.integers(0, 2))]
        got, expected = _soft_class(mine, name, v, rows), _soft_class_as_before(before, name, v, rows)
        assert got == expected, (update, kind)
        said.append(got)
        assert mine.soft_rows.tables.keys() == before.soft_rows.tables.keys()
        for key, table in mine.soft_rows.tables.items():
            assert all(np.array_equal(x, y) for x, y in zip(table, before.soft_rows.tables[key]))
    assert {-2, -1}.issubset(said) and any(s >= 0 for s in said)  # every answer met


@pytest.mark.parametrize("v, labels", [
    ([2, 0, 3], [2, 0, 3]),                                  # a list of ints
    (np.array([[1], [3], [0]]), [1, 3, 0]),                  # a column of ints
    (np.array([1.0, 3.0, 0.0]), [1, 3, 0]),                  # floats of integer value (a CSV's label column)
    (np.array([1.5, 3.0]), None),                            # not integers
    (np.array([1.0, 4.0]), None),                            # a class the output does not have (4 classes)
    (np.array([-1, 2]), None),
    (np.ones((2, 3)), None),                                 # rows, not labels
    ([0.0, 1.0], None),                                      # a list of floats: not read
    ("012", None),
])
def test_labels_are_read_in_the_forms_programs_hand_them(v, labels):
    got = label_values(v, 4)
    assert (got is None) == (labels is None)
    if labels is not None:
        assert got.dtype.kind == "i" and got.tolist() == labels
