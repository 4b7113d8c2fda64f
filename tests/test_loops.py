"""The update count a program's loops make (netdoctor.observe.loops), against the count the program really makes.

Each program below calls ``update()`` where a training program would apply
its step; ``update()`` counts the calls (the oracle) and hands the frame to a
:class:`LoopProgress`, as the NumPy observer does at each update it sees.
"""

from __future__ import annotations

import runpy
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

from netdoctor.observe.loops import LoopPlace, LoopProgress, fraction, in_loops, loops_at


def _place(index: int | None, length: int | None, line: int = 1) -> LoopPlace:
    return LoopPlace(("f.py", line), length, index, "for ...")


def test_the_fraction_reads_the_loops_outer_first_and_stops_at_the_first_unread_one():
    assert fraction([_place(2, 4), _place(10, 20)]) == (pytest.approx((2 + 10 / 20) / 4), 2)
    assert fraction([_place(1, 3), _place(None, 20), _place(5, 10)]) == (pytest.approx(1 / 3), 1)
    assert fraction([_place(0, None)]) == (0.0, 0)


def _run(tmp_path: Path, source: str, stop_after: int | None = None) -> tuple[int, LoopProgress]:
    """Run ``source`` (which calls ``update()``); the updates it made and the progress read at them."""
    path = tmp_path / "prog.py"
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    progress = LoopProgress(lambda code: code.co_filename == str(path))
    made = [0]

    class Stop(Exception):
        pass

    def update():
        made[0] += 1
        progress.at_update(sys._getframe(1), made[0])
        if stop_after is not None and made[0] >= stop_after:
            raise Stop

    try:
        runpy.run_path(str(path), init_globals={"update": update, "np": np, "threading": threading})
    except Stop:
        pass
    return made[0], progress


PROGRAMS = {
    # epochs of mini-batches over an array's rows, in a function
    "function": """
        X = np.zeros((403, 5))
        def train(X, epochs, bs):
            for epoch in range(epochs):
                for start in range(0, len(X), bs):
                    update()
        train(X, 7, 20)
        """,
    # module level: one sample at a time through a permutation, per-sample loop inside a batch
    "module": """
        rng = np.random.default_rng(0)
        n, bs = 300, 16
        for epoch in range(3):
            order = rng.permutation(n)
            for start in range(0, n, bs):
                idx = order[start:start + bs]
                for j in idx:
                    pass
                update()
        """,
    # a method that walks an array's rows and updates every 50 of them (the forum program's train())
    "class": """
        class Net:
            def train(self, data, every):
                count = 0
                for row in data:
                    count += 1
                    if count % every == 0:
                        for n in range(2):
                            update() if n == 0 else None
        net = Net()
        for epoch in range(1, 4):
            net.train(np.zeros((1000, 3)), 50)
        """,
    # a closure over a list of (x, y) pairs, zipped with their labels
    "closure": """
        def make():
            data = [np.zeros(3) + k for k in range(90)]
            labels = list(range(90))
            def train(epochs):
                for e in range(epochs):
                    for x, y in zip(data, labels):
                        update()
            return train
        make()(4)
        """,
    # a thread's target, enumerate over lists of batches
    "thread": """
        batches = [np.zeros((8, 3)) for _ in range(25)]
        def train():
            for epoch in range(6):
                for i, b in enumerate(batches):
                    update()
        t = threading.Thread(target=train)
        t.start()
        t.join()
        """,
    # enumerate from 1 (the only keyword a loop's size does not depend on), an update every 30 items
    "enumerate-start": """
        data = [np.zeros(2) for _ in range(120)]
        def train():
            for epoch in range(3):
                for i, x in enumerate(data, start=1):
                    if i % 30 == 0:
                        update()
        train()
        """,
    # the loops' iterators, read from the frames' value stacks: what a header does not tell
    "permutation": """
        rng = np.random.default_rng(0)
        def train():
            for epoch in range(4):
                for i in rng.permutation(50):
                    update()
        train()
        """,
    "np-random-permutation": """
        np.random.seed(0)
        X = np.zeros((64, 3))
        for epoch in range(3):
            for k, i in enumerate(np.random.permutation(len(X))):
                x = X[i]
                update()
        """,
    "array-split": """
        order = np.arange(203)
        def train(epochs):
            for epoch in range(epochs):
                for idx in np.array_split(order, 203 // 10):
                    update()
        train(5)
        """,
    "batch-generator": """
        X, Y = np.zeros((130, 4)), np.zeros((130, 2))
        def batches(X, Y, size):
            for start in range(0, len(X), size):
                yield X[start:start + size], Y[start:start + size]
        class Trainer:
            def fit(self, epochs):
                for epoch in range(epochs):
                    for xb, yb in batches(X, Y, 16):
                        update()
        Trainer().fit(3)
        """,
    "while-counter": """
        def train(n_steps):
            step = 0
            while step < n_steps:
                update()
                step += 1
        epoch = 1
        while epoch <= 3:
            epoch += 1
            train(40)
        """,
    "zip-rows": """
        X, Y = np.zeros((75, 4)), np.zeros((75, 2))
        for epoch in range(2):
            for x, y in zip(X, Y):
                update()
        """,
    # the loop variable bound again in the body (row = list(row / 255)): the iterator still tells its place
    "rebound-variable": """
        data = np.zeros((60, 3))
        for epoch in range(3):
            for row in data:
                row = list(row / 255)
                update()
        """,
}


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_the_update_count_read_from_the_loops_is_the_programs(tmp_path, name):
    made, progress = _run(tmp_path, PROGRAMS[name])
    est = progress.estimate()
    assert est is not None, progress.unknown
    assert est.updates == made
    coverage = progress.coverage(made, cut=False)
    assert coverage.expected == made and not coverage.note


def test_progress_bars_yield_what_they_wrap(tmp_path, monkeypatch):
    # a stand-in for tqdm (told by the module that defines the callee): trange(n) is a range, tqdm(x) yields x's items
    (tmp_path / "tqdm.py").write_text("def tqdm(iterable, desc=None, **kw):\n    yield from iterable\n\n\n"
                                      "def trange(*args, **kw):\n    return tqdm(range(*args), **kw)\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "tqdm", raising=False)
    made, progress = _run(tmp_path, """
        from tqdm import tqdm, trange
        batches = [np.zeros((4, 2)) for _ in range(30)]
        for epoch in trange(3, desc="epochs"):
            for b in tqdm(batches, leave=False):
                update()
        """)
    est = progress.estimate()
    assert made == 90 and est is not None and est.updates == 90, progress.unknown
    assert [p.text for p in est.loops] == ["for epoch in trange(3, desc='epochs')", "for b in tqdm(batches, leave=False)"]


def test_a_run_stopped_early_is_held_against_the_whole_count(tmp_path):
    made, progress = _run(tmp_path, PROGRAMS["function"], stop_after=60)
    assert made == 60
    coverage = progress.coverage(made, cut=True)
    assert coverage.expected == 7 * 21
    assert "only 60 of the 147 updates" in coverage.note


def test_a_loop_left_early_is_described_not_held_against_the_count(tmp_path):
    made, progress = _run(tmp_path, """
        for epoch in range(100):
            for start in range(0, 200, 10):
                update()
            if epoch == 9:
                break
        """)
    assert made == 200
    coverage = progress.coverage(made, cut=False)
    assert coverage.expected is None
    assert "allow 2,000" in coverage.note and "left them early, or was not followed" in coverage.note


def test_updates_not_counted_while_the_loops_went_on_are_said(tmp_path):
    # the observer counts only the first 30 updates (weights that stopped moving), the loops' positions at the
    # gradient computations after that show the program went on
    path = tmp_path / "prog.py"
    path.write_text(textwrap.dedent("""
        for epoch in range(5):
            for start in range(0, 400, 20):
                gradient()
                update()
        """), encoding="utf-8")
    progress = LoopProgress(lambda code: code.co_filename == str(path))
    made = [0]

    def update():
        made[0] += 1
        if made[0] <= 30:
            progress.at_update(sys._getframe(1), made[0])

    def gradient():
        progress.at_gradient(sys._getframe(1), min(made[0], 30))

    runpy.run_path(str(path), init_globals={"update": update, "gradient": gradient})
    coverage = progress.coverage(30, cut=False)
    assert coverage.expected == 100 and "only 30 of the 100 updates" in coverage.note


@pytest.mark.parametrize("source, why", [
    ("""
        def batches():
            yield from range(40)
        for b in batches():
            update()
        """, "does not tell its length (it iterates a generator with no loop of its own around its yield)"),
    ("""
        epoch = 0
        while True:
            update()
            epoch += 1
            if epoch == 30:
                break
        """, "(while True) does not tell its length (it runs until a `break`)"),
    # an iterator of the program's own class: its state is not read (reading it could run its code)
    ("""
        class Batches:
            def __init__(self, n):
                self.i, self.n = 0, n
            def __iter__(self):
                return self
            def __next__(self):
                self.i += 1
                if self.i > self.n:
                    raise StopIteration
                return self.i
        for epoch in range(3):
            for b in Batches(20):
                update()
        """, "(for b in Batches(20)) does not tell its length (it iterates a Batches object, whose state is not read"),
    # updates missed at random (steps that changed no sampled entry): the rate is no steady one, no count is claimed
    ("""
        rng = np.random.default_rng(3)
        for epoch in range(3):
            for i in range(200):
                if rng.random() < 0.7:
                    update()
        """, "no steady rate"),
], ids=["generator", "while-true", "iterator-class", "unsteady"])
def test_no_count_is_made_when_the_loops_do_not_tell(tmp_path, source, why):
    _, progress = _run(tmp_path, source)
    assert progress.estimate() is None
    assert why in progress.unknown
    assert progress.coverage(10, cut=True).expected is None


def test_reading_the_loops_runs_none_of_the_programs_code(tmp_path):
    path = tmp_path / "prog.py"
    path.write_text(textwrap.dedent("""
        class Data:
            calls = 0
            def __len__(self):
                Data.calls += 1
                return 5
            @property
            def n(self):
                Data.calls += 1
                return 5
        data = Data()
        for i in range(len(data)):
            for j in range(data.n):
                seen.append(loops_at(sys._getframe(), lambda c: c.co_filename == __file__))
        """), encoding="utf-8")
    seen: list = []
    runpy.run_path(str(path), init_globals={"seen": seen, "loops_at": loops_at, "sys": sys})
    places = seen[-1]
    # len() of a user object and a property are not called: the ranges' iterators tell what they were given
    assert [(p.length, p.index) for p in places] == [(5, 4), (5, 4)]
    assert runpy.run_path(str(path), init_globals={"seen": [], "loops_at": loops_at, "sys": sys})["Data"].calls == 6  # the program's own calls only


_CALLED_IN_AND_OUT = """
    def helper(v):
        w = v * 2
        return w + 1
    helper(1)
    for k in range(3):
        helper(k)
        for g in (x for x in range(2)):
            helper(g)
    helper(5)
    update()
    """


@pytest.mark.parametrize("name", [*PROGRAMS, "called in and out of loops"])
def test_in_loops_says_whether_loops_at_finds_a_loop(tmp_path, name):
    """At every line of the program (in its functions, at module level, in a helper called from inside a loop and from
    outside every loop), the cheap answer is the one the loops' full reading gives."""
    path = tmp_path / "prog.py"
    path.write_text(textwrap.dedent(PROGRAMS.get(name, _CALLED_IN_AND_OUT)), encoding="utf-8")

    def user(code):
        return code.co_filename == str(path)

    seen: dict[bool, int] = {True: 0, False: 0}
    wrong = []

    def trace(frame, event, arg):
        if not user(frame.f_code):
            return None
        if event == "line":
            found = bool(loops_at(frame, user))
            seen[found] += 1
            if in_loops(frame, user) != found:
                wrong.append((frame.f_code.co_name, frame.f_lineno, found))
        return trace

    previous = sys.gettrace()
    sys.settrace(trace)
    threading.settrace(trace)  # (the program that trains in a thread)
    try:
        runpy.run_path(str(path), init_globals={"update": lambda: None, "np": np, "threading": threading})
    finally:
        threading.settrace(None)  # type: ignore[arg-type]
        sys.settrace(previous)
    assert not wrong
    assert seen[True] and seen[False], seen
