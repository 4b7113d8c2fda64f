"""``netdoctor run`` on a fixed sample of generated PyTorch training programs (tests/generated/torch_programs.py).

Eight styles (each as its healthy twin plus up to two planted bugs, 18
programs) chosen so that every bug of issue 23 and every value of every style
axis appears at least once. As for the NumPy sample: each program must first
behave as labelled under plain ``python``; then ``netdoctor run --json FILE``
must name each bug, stay quiet (no warning, no error) on each healthy twin
(L-BFGS and intentional fine-tuning included), and observe at least half of
the optimizer steps or say that it did not. What the observer cannot do yet is
``xfail(strict=True)`` per (bug, style) cell. The large sweep is
``python bench/sweep.py --torch N``.
"""

from __future__ import annotations

import ast

import pytest

pytest.importorskip("torch")

from generated.harness import Sample, behaves, detail, judge
from generated.torch_programs import AXES, BUGS, N_TEST, N_TRAIN, Program, applicable, plan, sample_style, valid, write

SAMPLE: dict[int, tuple[str, ...]] = {
    236: ("scheduler-every-batch", "zero-grad-per-epoch"),
    265: ("dropout-at-eval", "softmax-into-ce"),
    295: ("zero-grad-missing", "stale-optimizer"),
    266: ("step-before-backward", "shuffled-labels"),
    264: ("requires-grad-false",),
    200: (),  # cosine annealing to 0 over the run, stepped every batch: quiet
    203: ("scheduler-every-batch",),  # a per-epoch ExponentialLR
    221: (),  # a multi-file project with a custom Dataset (the entry script never imports torch)
}
"""Style seed -> bugs planted in it (each style also runs as its healthy twin)."""

PROGRAMS: list[Program] = [p for seed, bugs in SAMPLE.items() for p in (write(sample_style(seed)),
                                                                         *(write(sample_style(seed), b) for b in bugs))]

KNOWN: dict[tuple[int, str | None], str] = {}
"""(style seed, bug or None) -> what netdoctor run says instead, measured on main 27dc6bc (09:35-09:58 UTC): a
fix makes the test XPASS, and then its mark goes."""
KNOWN_COVERAGE: dict[tuple[int, str | None], str] = {}
"""The same for the observed optimizer steps (the header's ``optimizer_steps``)."""


def _param(p: Program, known: dict):
    reason = known.get((p.style.seed, p.bug))
    return pytest.param(p, id=f"{p.name}-{p.style.label.replace('/', '-')}",
                        marks=[pytest.mark.xfail(strict=True, reason=reason)] if reason else [])


def test_the_sample_covers_every_bug_and_every_axis_value():
    assert {p.bug for p in PROGRAMS if p.bug} == set(BUGS)
    for axis, values in AXES.items():
        seen = {getattr(p.style, axis) for p in PROGRAMS}
        assert seen == set(values), f"{axis}: {sorted(set(values) - seen)} not in the sample"


@pytest.mark.parametrize("seed", range(0, 300, 7))
def test_every_drawn_style_is_valid_and_writes_a_program_that_compiles(seed):
    style = sample_style(seed)
    assert valid(style)
    for bug in (None, *BUGS):
        if applicable(style, bug):
            p = write(style, bug)
            ast.parse(p.source)
            assert p.updates > 0
            assert (p.bug_lines != ()) == (bug is not None), f"{p.name}: bug lines {p.bug_lines}"
            assert len(p.bug_lines) <= 6, f"{p.name} differs from its twin at lines {p.bug_lines}"


def test_the_plan_plants_every_bug_and_keeps_a_twin_per_style():
    programs = plan(30)
    assert {p.bug for p in programs if p.bug} == set(BUGS)
    assert sum(p.bug is None for p in programs) == 30


RUNS = Sample(PROGRAMS, N_TRAIN + N_TEST, "generated_torch_")


@pytest.mark.parametrize("p", PROGRAMS, ids=lambda p: p.name)
def test_the_plain_run_behaves_as_labelled(p):
    run = RUNS.plain(p)
    ok, why = behaves(p.behaviour, run, RUNS.twin(p))
    assert ok, f"{p.name} should {p.behaviour}: {why}\n{run.stdout[-800:]}\n{run.stderr[-800:]}\n{p.source}"


@pytest.mark.parametrize("p", [_param(p, KNOWN) for p in PROGRAMS])
def test_netdoctor_run_names_the_bug_or_stays_quiet(p):
    o = RUNS.observed(p)
    j = judge(p.expect, p.updates, o, RUNS.plain(p))
    assert o.report, detail(p, o)
    assert j.faithful, f"{p.name}: the program's output under netdoctor run differs from its plain output"
    if p.bug:
        assert j.named, detail(p, o)
    else:
        assert j.quiet, detail(p, o)


@pytest.mark.parametrize("p", [_param(p, KNOWN_COVERAGE) for p in PROGRAMS])
def test_the_header_counts_the_updates_or_says_it_saw_too_few(p):
    o = RUNS.observed(p)
    j = judge(p.expect, p.updates, o, RUNS.plain(p))
    assert j.coverage_ok, f"{p.name}: {j.updates_observed} of {p.updates} updates observed, notes {j.notes}\n" + detail(p, o)
