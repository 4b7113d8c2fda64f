"""The generated-program sweep (bench/sweep.py) renders what its rows say and runs the subset it is asked for.

No program is run here: the rows are written by hand, the plans come from the seeded writers.
"""

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # bench/ is not an installed package
    sys.path.insert(0, str(ROOT))

from generated import numpy_programs  # noqa: E402

from bench import sweep  # noqa: E402


def _row(name: str, bug: str | None, **extra) -> dict:
    row = {"kind": "numpy", "name": name, "seed": 1, "bug": bug, "variant": "", "expect": numpy_programs.BUGS.get(bug or ""),
           "behaviour": numpy_programs.BEHAVIOUR[bug], "axes": {"place": "module", "loss": "ce"}, "lr": 0.1,
           "batch_size": 20, "behaves": True, "why": "", "accuracy": 0.8, "twin_accuracy": 0.8, "updates": 60,
           "plain_s": 0.5, "bug_lines": [], "judged": True, "codes": [], "named": False, "first": False, "quiet": True,
           "observed": 60, "coverage_ok": True, "notes": [], "exit": 0, "faithful": True, "verdict": "", "timeout": False,
           "observed_s": 1.0}
    row.update(extra)
    return row


def test_loaded_rows_are_rendered_with_the_commit_time_and_load_they_recorded(tmp_path, capsys):
    rows = [_row("np0001_healthy", None, commit="abc1234", date="2026-12-05 10:01:00", load=3.0, workers=2),
            _row("np0001_sign-flip", "sign-flip", accuracy=0.1, codes=[["gradient-mismatch", "error"]], named=True,
                 first=True, quiet=False, commit="abc1234", date="2026-12-05 10:07:00", load=7.5, workers=2)]
    saved = tmp_path / "rows.jsonl"
    saved.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert sweep.main(["--load", str(saved)]) == 0
    out = capsys.readouterr().out
    assert "commit `abc1234`" in out and "2026-12-05 10:01-10:07 UTC" in out and "load average 3.0-7.5" in out
    head = sweep.measured_commit().removesuffix("-dirty")
    if head != "abc1234":  # the checkout's own commit is not what the rows measured
        assert head not in out


def test_rows_of_two_commits_say_so_and_rows_without_a_stamp_say_it_was_not_recorded():
    note = sweep.rows_note([_row("a", None, commit="abc1234"), _row("b", None, commit="abc1234"), _row("c", None, commit="def5678")])
    assert "`abc1234` (2 programs), `def5678` (1 programs)" in note
    assert sweep.rows_note([_row("a", None)]) == "commit `not recorded`, time not recorded, load not recorded"


def test_the_commit_comes_from_the_environment_in_a_snapshot(monkeypatch):
    monkeypatch.setenv(sweep.COMMIT_ENV, "feedbee")
    assert sweep.measured_commit() == "feedbee"


def test_healthy_alone_keeps_only_the_twins_and_judges_them():
    programs = numpy_programs.plan(3, start=800)
    kept, judged = sweep.selected(programs, {sweep.HEALTHY})
    assert [p.name for p in kept] == [p.name for p in programs if p.bug is None]
    assert all(judged(p) for p in kept)


def test_a_chosen_bug_keeps_its_twin_as_a_yardstick_that_is_not_judged():
    programs = numpy_programs.plan(8, start=800)
    bug = next(p.bug for p in programs if p.bug)
    kept, judged = sweep.selected(programs, {bug})
    seeds = {p.style.seed for p in programs if p.bug == bug}
    assert {p.name for p in kept} == {p.name for p in programs if p.style.seed in seeds and p.bug in (None, bug)}
    assert [judged(p) for p in kept] == [p.bug is not None for p in kept]


def test_rates_leave_out_a_twin_run_only_as_a_yardstick_and_count_its_writer_problem():
    rows = [_row("np0001_healthy", None, judged=False, behaves=False, why="accuracy 0.500 < 0.6", accuracy=0.5),
            _row("np0001_sign-flip", "sign-flip", named=True)]
    text = sweep.render(rows, "numpy", "head")
    assert "1 programs (0 healthy twins) run under `netdoctor run`; 1 did not behave" in text
    assert "np0001_healthy (healthy" in text


def test_plain_only_rows_render_the_writer_problems_and_margins():
    rows = [_row("np0001_healthy", None, judged=False, accuracy=0.7),
            _row("np0001_lr-too-low", "lr-too-low", judged=False, accuracy=0.65, behaves=False,
                 why="accuracy 0.650, twin 0.700", twin_accuracy=0.7),
            _row("np0002_healthy", None, judged=False, accuracy=0.55, behaves=False, why="accuracy 0.550 < 0.6")]
    text = sweep.render_plain(rows, "numpy", "head")
    assert "3 programs run with plain `python` (2 healthy twins): 2 did not behave as labelled" in text
    assert "| healthy | learns | 2 | 1/2 (50%) | -0.050, +0.100 |" in text
    assert "| lr-too-low | worse | 1 | 1/1 (100%) | -0.050, -0.050 |" in text


@pytest.mark.parametrize("argv", [["--bugs", "nosuch"], ["--bugs", ","], ["--plain-only", "--write"]],
                         ids=["unknown-bug", "empty-list", "plain-only-write"])
def test_bad_options_are_refused_before_anything_runs(argv, capsys):
    with pytest.raises(SystemExit) as stop:
        sweep.main(["--numpy", "1", *argv])
    assert stop.value.code == 2
    assert "--" in capsys.readouterr().err


def test_tutorial_sweeps_the_tutorial_styles_of_the_seeds_asked_for(monkeypatch, capsys):
    seen: list = []

    def record(programs, kind, workers, log=None, timeout=300, *, judged=lambda p: True, commit=None):
        seen.extend(programs)
        return []

    monkeypatch.setattr(sweep, "sweep", record)
    assert sweep.main(["--numpy", "2", "--start", "1500", "--tutorial", "--plain-only"]) == 0
    assert [p.name for p in seen] == [p.name for p in numpy_programs.plan(2, start=1500, tutorial=True)]
    assert all(p.name.startswith("npt15") and p.style.tutorial for p in seen)
