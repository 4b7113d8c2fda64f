"""PyTorch programs that update their tensors by hand (no ``torch.optim``): ``tests/torch_hand_programs/``.

Each buggy program has a healthy twin that differs by the bug alone. The styles: an ``nn.Module`` stepped with
``p -= lr * p.grad`` (``manual_sgd``), PyTorch's own tutorial of plain tensors and a hand-written loss
(``raw_tensors``), d2l's ``sgd(params, lr, batch_size)`` over a list with a summed loss (``d2l_sgd``), and a class
model stepped through ``p.data.add_`` by a trainer class with ``p.grad = None`` resets (``pdata_class``). They read
3,000 shuffled MNIST rows (``shared/``, skipped without it) and run in this process under the runner of
``netdoctor run`` (cached: one run per program and mode). The bugs must be named with their code, their tensors and
the user's line; the twins must be judged (their updates observed) and stay free of findings; observed runs print
what unobserved ones print.
"""

from __future__ import annotations

import contextlib
import io
import runpy
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from netdoctor.findings import Report  # noqa: E402
from netdoctor.observe import runner  # noqa: E402
from netdoctor.observe.options import ObserveOptions  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from shared_files import have_real_data, shuffled_train_csv  # noqa: E402

pytestmark = pytest.mark.skipif(not have_real_data(), reason="shared/ (MNIST data) not beside the repository")

PROGRAMS = Path(__file__).resolve().parent / "torch_hand_programs"
_RUNS: dict[tuple[str, bool], tuple[Report | None, str]] = {}


@pytest.fixture(scope="module")
def train_csv(tmp_path_factory) -> Path:
    return shuffled_train_csv(tmp_path_factory.mktemp("hand"), rows=3000)


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def run(name: str, csv: Path, observed: bool = True) -> tuple[Report | None, str]:
    """(report, printed output) of ``python tests/torch_hand_programs/NAME.py CSV`` (observed, or plainly)."""
    key = (name, observed)
    if key not in _RUNS:
        path = PROGRAMS / f"{name}.py"
        out = io.StringIO()
        report = None
        with contextlib.redirect_stdout(out):
            if observed:
                result = runner.run_script(str(path), [str(csv)], ObserveOptions())
                assert result.status == "finished", result.traceback
                report = result.report
            else:
                old_argv, old_path = sys.argv, list(sys.path)
                sys.argv, sys.path[:0] = [str(path), str(csv)], [str(path.parent)]
                try:
                    runpy.run_path(str(path), run_name="__main__")
                finally:
                    sys.argv, sys.path[:] = old_argv, old_path
        _RUNS[key] = (report, out.getvalue())
    return _RUNS[key]


def line_of(name: str, text: str) -> str:
    """``name.py:N``, N the first line of the program holding ``text`` (the oracle for the user's line)."""
    lines = (PROGRAMS / f"{name}.py").read_text().splitlines()
    return f"{name}.py:{next(k for k, line in enumerate(lines, 1) if text in line)}"


# program -> (tensors named, the line the finding names, words of the fix)
STALE = {
    "manual_sgd": (["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"], "loss.backward()", "model.zero_grad() on the MLP"),
    "raw_tensors": (["weights", "bias"], "loss.backward()", "weights.grad.zero_()"),
    "d2l_sgd": (["W", "b"], "l.sum().backward()", "W.grad.zero_()"),
    "pdata_class": (["hidden.weight", "hidden.bias", "out.weight", "out.bias"], "loss.backward()",
                    "model.zero_grad() on the Classifier"),
}


@pytest.mark.parametrize("name", sorted(STALE))
def test_gradients_never_emptied_by_a_hand_written_update_are_a_stale_accumulator(name, train_csv):
    report, _ = run(name, train_csv)
    tensors, backward, fix = STALE[name]
    stale = [f for f in report.findings if f.code == "stale-accumulator"]
    assert stale, f"{name}: {report.codes()}"
    f = stale[0]
    assert f.severity.value == "error" and report.root_cause().code == "stale-accumulator", report.codes()
    assert sorted(f.evidence["parameters"]) == sorted(tensors)
    # .grad before the next backward pass is exactly the previous one: weight 1 for every tensor
    for w in f.evidence["weights"].values():
        assert w == pytest.approx(1.0, abs=1e-5)
    assert line_of(name, backward) in f.where
    assert fix in f.fix and "optimizer" not in f.fix
    assert "hand-written updates observed" in report.context["training"]


@pytest.mark.parametrize("name", [f"{n}_ok" for n in sorted(STALE)])
def test_the_healthy_twins_are_judged_and_quiet(name, train_csv):
    report, _ = run(name, train_csv)
    assert report.findings == [], [(f.code, f.message) for f in report.findings]
    steps = report.context["optimizer_steps"]
    assert steps >= 100 and report.context["sampled_steps"] >= 10
    assert report.context["training"].startswith(f"{steps:,} hand-written updates observed")
    assert "model" in report.context


@pytest.mark.parametrize("name, lr", [("manual_sgd_ok", 0.1), ("raw_tensors_ok", 0.5), ("pdata_class_ok", 0.2),
                                      ("d2l_sgd_ok", 0.1 / 32)])
def test_the_learning_rate_is_read_from_the_update(name, lr, train_csv):
    # Oracle: the lr the program's source sets (d2l divides a summed gradient by the batch: lr / 32 per summed unit).
    report, _ = run(name, train_csv)
    (opt,) = report.context["optimizers"]
    assert f"lr={lr:.4g} read from the update" in opt


def test_the_hand_written_loss_that_overflows_is_placed_at_the_backward_line(train_csv):
    report, out = run("raw_tensors", train_csv)
    assert "nan" in out  # the program's own printout: the loss went NaN within the first epoch
    (nf,) = [f for f in report.findings if f.code == "non-finite"]
    assert line_of("raw_tensors", "loss.backward()") in nf.where
    assert "stale-accumulator" in {c for f in report.findings for c in f.caused_by} | set(nf.caused_by)


def test_tensors_without_a_module_are_named_as_the_program_names_them(train_csv):
    report, _ = run("raw_tensors_ok", train_csv)
    assert report.context["model"] == "tensors bias, weights (7,850 parameters, no nn.Module)"


def test_gradients_accumulated_over_several_backward_passes_are_one_step_not_a_stale_accumulator(train_csv):
    # Four backward passes per update (the loss divided by 4), then p.grad.zero_(): .grad carries over inside a step
    # on purpose. Oracle: the program's own loop, 2500 // 16 = 156 micro-batches per epoch, one update per 4 of them.
    report, _ = run("accumulate_ok", train_csv)
    assert report.findings == [], [(f.code, f.message) for f in report.findings]
    assert report.context["optimizer_steps"] == 3 * (156 // 4) - 1  # the first update is the one it is recognised by


@pytest.mark.parametrize("name", ["raw_tensors", "pdata_class_ok"])
def test_observation_changes_nothing_the_program_prints(name, train_csv):
    _, plain = run(name, train_csv, observed=False)
    _, observed = run(name, train_csv, observed=True)
    assert plain == observed and plain


@pytest.mark.parametrize("name", ["sanity_data", "sanity_data_ok"])
def test_a_model_trained_after_a_throwaway_one_is_followed_to_the_end(name, train_csv):
    """The throwaway model's 20 steps, then the real model's 150 (3 epochs of 50 batches): every one observed, not
    only the throwaway's (its unchanged tensors held every later step pending, unseen, before)."""
    report, _ = run(name, train_csv)
    text = report.context["training"]
    observed = int(text.split(" hand-written updates")[0].replace(",", ""))
    assert observed >= 150, text
    if name == "sanity_data":  # the real model's gradients never emptied, named as the loop names its tensors
        assert report.root_cause().code == "stale-accumulator", report.codes()
        stale = next(f for f in report.findings if f.code == "stale-accumulator")
        assert sorted(stale.evidence["parameters"]) == [f"model[{k}]" for k in range(4)], stale.evidence
    else:
        assert not [f for f in report.findings if f.severity.value in ("error", "warning")], report.codes()


@pytest.mark.parametrize("name", ["probe_head", "probe_head_ok"])
def test_a_throwaway_probe_whose_hidden_layer_is_never_stepped_is_not_judged(name, train_csv):
    """A probe of plain tensors of which only the output layer is stepped (its hidden layer's gradients computed, never
    applied, never emptied), then the real model: the probe's tensors are not the model judged, so their carried-over
    gradients and unchanged weights say nothing (pt1250 got a stale-accumulator error and a frozen-parameters warning on
    them); the real model's gradients never emptied are still named, on the real model's tensors."""
    report, _ = run(name, train_csv)
    probe = {f"probe[{k}]" for k in range(4)}
    for f in report.findings:
        named = set(f.evidence.get("parameters") or ()) | set(f.evidence.get("buffers") or ())
        assert not named & probe and "probe[" not in f.where, (f.code, f.where)
    if name == "probe_head":  # oracle: the program's loop over `model` never empties a gradient
        assert report.root_cause().code == "stale-accumulator", report.codes()
        stale = next(f for f in report.findings if f.code == "stale-accumulator")
        assert sorted(stale.evidence["parameters"]) == [f"model[{k}]" for k in range(4)], stale.evidence
        lines = (PROGRAMS / f"{name}.py").read_text().splitlines()
        real = max(k for k, line in enumerate(lines, 1) if "loss.backward()" in line)  # the real model's, not the probe's
        assert f"{name}.py:{real}" in stale.where
    else:
        assert report.findings == [], [(f.code, f.where) for f in report.findings]
        assert report.context["model"].startswith("tensors model[3], model[2], model[1], model[0] ")


def test_gradients_carried_in_a_tensor_no_update_moves_are_frozen_weights_not_a_stale_accumulator(train_csv):
    """The hidden layer gets a gradient at every backward pass, never emptied and never applied (the loop steps the
    output layer alone): the weights that never learn are said (frozen-parameters); its ``.grad`` carries over into no
    update, so no stale accumulator is."""
    report, _ = run("head_only", train_csv)
    assert "stale-accumulator" not in report.codes(), report.codes()
    (frozen,) = [f for f in report.findings if f.code == "frozen-parameters"]
    assert sorted(frozen.evidence["parameters"]) == ["model[0]", "model[1]"], frozen.evidence
