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

import generated.torch_programs as writer  # noqa: E402
from generated.harness import fingerprint, fingerprint_elsewhere, sample_tests  # noqa: E402
from generated.torch_programs import (  # noqa: E402
    AXES,
    BUGS,
    EXTENDED_BUGS,
    STEPPER_FROM,
    STEPPERS,
    applicable,
    sample_style,
    valid,
    write,
)

SAMPLE: dict[int, tuple[str, ...]] = {
    236: ("scheduler-every-batch", "zero-grad-per-epoch"),
    265: ("dropout-at-eval", "softmax-into-ce"),
    295: ("zero-grad-missing", "stale-optimizer"),
    266: ("step-before-backward", "shuffled-labels"),
    264: ("requires-grad-false",),
    200: (),  # cosine annealing to 0 over the run, stepped every batch: quiet
    1059: ("zero-grad-missing", "dropout-at-eval"),  # stepped by hand: param -= lr * param.grad under no_grad
    1071: ("zero-grad-per-epoch",),  # stepped by hand through param.data.add_, a multi-file project, nn.Parameter tensors
    203: ("scheduler-every-batch",),  # a per-epoch ExponentialLR
    221: (),  # a multi-file project with a custom Dataset (the entry script never imports torch)
    3007: ("gradient-ascent",),  # stepped by hand through .data: param.data.add_(param.grad.data, alpha=lr)
}
"""Style seed -> bugs planted in it (each style also runs as its healthy twin)."""

EXTENDED_SAMPLE: dict[int, tuple[str, ...]] = {
    0: ("zero-grad-after-backward", "no-grad-forward"),  # batch norm, one-hot targets, a summed loss, model.zero_grad()
    9: ("unshuffled-sorted", "summed-loss"),  # rows sorted by digit, nll_loss of log_softmax, p.grad = None
    8: ("eval-left-on",),  # F.dropout(training=self.training) in a multi-file project, nn.CrossEntropyLoss()
}
"""Extended style seed (``sample_style(seed, extended=True)``) -> bugs planted in it: every value of every extended
axis and every bug of ``EXTENDED_BUGS``."""

KNOWN: dict[tuple[int, str | None], str] = {}
"""(style seed, bug or None) -> what netdoctor run says instead, measured on main 27dc6bc (09:35-09:58 UTC): a
fix makes the test XPASS, and then its mark goes."""
KNOWN_COVERAGE: dict[tuple[int, str | None], str] = {}
"""The same for the observed optimizer steps (the header's ``optimizer_steps``)."""


# The sample's coverage of bugs and axes, the plan, the plain runs and netdoctor run's verdicts and coverage:
# the tests every generated sample runs (generated.harness.sample_tests), here on the PyTorch writer's programs.
PROGRAMS, RUNS = sample_tests(globals(), writer, SAMPLE, KNOWN, KNOWN_COVERAGE, "generated_torch_",
                              extended=(EXTENDED_SAMPLE, {}, {}))


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


def test_a_seed_writes_the_same_programs_in_another_process_with_other_string_hashes():
    assert fingerprint_elsewhere("generated.torch_programs", 12, 700, "12345") == fingerprint(writer, 12, 700)


@pytest.mark.parametrize("seed", range(0, 300, 7))
def test_every_drawn_extended_style_is_valid_and_writes_a_program_that_compiles(seed):
    style = sample_style(seed, extended=True)
    assert valid(style) and style.extended
    for bug in (None, *BUGS, *EXTENDED_BUGS):
        if applicable(style, bug):
            p = write(style, bug)
            for text in (p.source, *(t for _, t in p.modules)):
                ast.parse(text)
            assert (p.bug_lines != ()) == (bug is not None), f"{p.name}: bug lines {p.bug_lines}"
            assert len(p.bug_lines) <= 6, f"{p.name} differs from its twin at lines {p.bug_lines}"
    base = sample_style(seed)
    assert not any(applicable(base, bug) for bug in EXTENDED_BUGS)  # planted only where the extended axes are drawn


def test_the_base_styles_write_the_programs_they_wrote_before_the_extended_axes():
    # sweeps of different rounds are compared on the same seeds: the base writer's programs are pinned (this hash is
    # that of main d49a5e2's writer, before the extended axes, on the same seeds)
    assert fingerprint(writer, 40, 700) == "dcf6e143c687d15b267b0a374bf1f1007a079707435631180c62deb11942ee62"


@pytest.mark.parametrize("seed", range(0, 300, 11))
def test_an_extended_style_draws_the_base_axes_as_the_base_style_does(seed):
    base, ext = sample_style(seed), sample_style(seed, extended=True)
    assert {a: getattr(ext, a) for a in AXES} == {a: getattr(base, a) for a in AXES}
    assert (ext.batch_size, ext.hidden, ext.epochs) == (base.batch_size, base.hidden, base.epochs)
    assert ext.lr == (base.lr / base.batch_size if ext.reduction == "sum" and base.optim != "adam" else base.lr)


def test_an_extended_plan_plants_every_bug_and_names_its_programs_ptx():
    planned = writer.plan(21, start=300, extended=True)
    assert {p.bug for p in planned if p.bug} == set(BUGS) | set(EXTENDED_BUGS)
    assert all(p.name.startswith("ptx") and p.style.extended for p in planned)


def test_the_stepper_is_drawn_from_its_seed_on_and_hand_steppers_write_no_optimizer():
    # Earlier seeds keep their optimizer (the pinned fingerprint above holds them); from STEPPER_FROM on every stepper
    # is drawn, in base and extended styles alike, and a hand-stepped program updates its tensors itself.
    assert {sample_style(seed).stepper for seed in range(STEPPER_FROM - 60, STEPPER_FROM)} == {"optimizer"}
    drawn = {}
    for seed in range(STEPPER_FROM, STEPPER_FROM + 60):
        for extended in (False, True):
            style = sample_style(seed, extended=extended)
            drawn.setdefault(style.stepper, style)
            assert style.label.endswith("/" + style.stepper)
    assert set(drawn) == set(STEPPERS)
    for stepper, style in drawn.items():
        assert valid(style)
        p = write(style)
        text = "\n".join((p.source, *(t for _, t in p.modules)))
        ast.parse(p.source)
        assert ("torch.optim." in text) == (stepper == "optimizer"), text
        if stepper == "manual":
            assert "param -= lr * param.grad" in text
        elif stepper == "raw":
            assert "param.data.add_(param.grad.data, alpha=-lr)" in text
        for bug in (*BUGS, *EXTENDED_BUGS):
            if applicable(style, bug):
                buggy = write(style, bug)
                assert 0 < len(buggy.bug_lines) <= 6, (buggy.name, buggy.bug_lines)
        if stepper != "optimizer":
            assert not applicable(style, "stale-optimizer") and not applicable(style, "step-before-backward")
        assert applicable(style, "gradient-ascent") == (stepper != "optimizer")


def test_the_hand_stepped_plan_steps_by_hand_and_plants_the_bugs_that_need_no_optimizer():
    planned = writer.plan(24, start=3000, steppers=("manual", "raw"))
    assert {p.style.stepper for p in planned} == {"manual", "raw"}
    assert all(p.style.stepper == ("manual", "raw")[p.style.seed % 2] for p in planned)
    assert "gradient-ascent" in {p.bug for p in planned}
    assert not {p.bug for p in planned} & set(writer._OPTIMIZER_ONLY)
    ascent = next(p for p in planned if p.bug == "gradient-ascent")
    assert ("param += lr * param.grad" if ascent.style.stepper == "manual" else "alpha=lr)") in ascent.source
    # the plans of the yardsticks stay as they were
    assert [p.bug for p in writer.plan(12, start=1100)] == [p.bug for p in writer.plan(12, start=1100, steppers=None)]
