"""``netdoctor run`` on a fixed sample of generated NumPy training programs (tests/generated/numpy_programs.py).

The sample is seven styles (each as its healthy twin plus up to two planted
bugs, 18 programs) chosen so that every bug and every value of every style
axis appears at least once, plus a healthy twin that once had a false alarm. Every program is first run with plain ``python``
and must behave as its writer says (a healthy twin learns; a bug has its
effect), so that a writer's mistake is never blamed on the observer. Then
``netdoctor run --json FILE`` must name each bug, stay quiet (no warning, no
error) on each healthy twin, and observe at least half of the program's real
updates or say that it did not.

What the observers cannot do yet is marked ``xfail(strict=True)`` per (bug,
style) cell, with what the report said: a fix flips the mark and the suite says
so. The large sweep is ``python bench/sweep.py`` (rates in docs/reliability.md).

Four more styles are drawn with the writer's extended axes (how the loop walks
the data, momentum, a third layer, Xavier/He initialisation, float32:
``EXTENDED_SAMPLE``), with their own strict xfails; the base styles must stay
exactly what they were, since sweeps of different rounds are compared on them.
Tutorial and wild styles (``TUTORIAL_SAMPLE``, ``WILD_SAMPLE``) add styles drawn with the writer's tutorial and
wild axes, chosen from the misses of their sweeps and to show the wild axes' values together.
"""

from __future__ import annotations

import ast
import hashlib

import generated.numpy_programs as writer
import pytest
from generated.harness import detail, fingerprint, fingerprint_elsewhere, sample_tests
from generated.numpy_programs import AXES, BUGS, N_TRAIN, applicable, sample_style, valid, write

SAMPLE: dict[int, tuple[str, ...]] = {
    33: ("frozen-parameters", "mutated-constant"),
    96: ("saturating-init", "lr-too-high"),
    1: ("aliased-buffers", "lr-too-low"),
    174: ("summed-gradient", "sign-flip"),
    144: ("stale-accumulator", "missing-derivative"),
    170: ("constant-targets",),
    326: (),  # module-level `for p, g in zip(...)`: the loop variables are no alias of the buffers
    # a closure training per sample on columns, its target helper's row (a view of the code table) reshaped into a column:
    # the helper fits no target layout, so on main ea72a2f it went untraced and the row smoothed in place was
    # never compared (no finding at all)
    666: ("mutated-constant",),
    # a list of Dense objects whose backward() each adds its own layer's gradient, one sample per update: the two calls
    # of an update were read as two samples summed (a false summed-gradient warning, main db1e5cd)
    1358: (),
    # a class over a list, one sample a step, the gradient applied inline, sigmoid: its rate 100x too high moves the
    # weights by 8.5x and 2.3x in the first steps, then the steps settle at 28% in a run at 10% training accuracy (58
    # rows a window): named only as saturation and class collapse on main db1e5cd
    1927: ("lr-too-high",),
    # module level, one sample at a time into buffers, targets smoothed toward the class prior (probability rows), the
    # forward storing its logits in the parameter dict: the smoothed target row beside the step was read as the
    # output, "training accuracy 100% -> 100%" at 12.7%, and the rate 1,000x too low gave "No problems found"
    2231: ("lr-too-low",),
    # layer objects adding each sample's gradient into their buffers, fresh zeros bound after the update, 20 samples a
    # step: the sign flipped blows the weights up to NaN by update 9, and the updates after it move nothing; their
    # buffers (NaN) emptied were not taken for a reset, so 23 of the 160 updates were counted (main ba9c83c)
    102: ("sign-flip",),
}
"""Style seed -> bugs planted in it (each style also runs as its healthy twin)."""

KNOWN: dict[tuple[int, str | None], str] = {}
"""(style seed, bug or None) -> what netdoctor run says instead (none with discovery by behaviour over main 96423cc, 12:57 UTC): a fix makes the
test XPASS, and then its mark goes."""
KNOWN_COVERAGE: dict[tuple[int, str | None], str] = {}
"""The same for the observed-update count."""

EXTENDED_SAMPLE: dict[int, tuple[str, ...]] = {
    # a thread over module globals, per sample, the gradient applied inside the backward by a zip loop with momentum
    # (a velocity per parameter), 3 layers, He init, float32, `for j in np.random.permutation(n)`
    482: ("frozen-parameters", "sign-flip"),
    # a closure over a parameter dict, per sample from a `yield` generator, 3 layers
    317: ("missing-derivative", "constant-targets"),
    # a class keeping its caches in the parameter dict, batches by a `while` counter, momentum in a helper, float32
    172: ("summed-gradient", "lr-too-high"),
    # module level, parameter lists, buffers emptied in place, momentum applied directly, float32
    212: ("stale-accumulator", "saturating-init"),
    # misses and false alarms of the extended sweep on seeds 1000-1011 (main ddb84da), each with momentum:
    # functions over a parameter dict, per sample by `for j in rng.permutation(n)`, 3 tanh layers (24 and 24 units)
    1009: ("lr-too-high",),
    # a class over Dense layers, per sample, the update inside the backward (zip loop with momentum), sigmoid, Xavier
    # uniform (its saturating-init: a limit of sqrt(6), the fan-in dropped)
    1016: ("saturating-init",),
    # functions over parameter lists, per sample, the update inside the backward (zip with momentum), 3 tanh layers
    1022: (),
    # a thread over Dense layer objects, batched by a `while` counter, the velocities in place (v *= mu; v -= lr * g;
    # p += v: the learning rate inside the velocity), sigmoid, float32: its summed gradient was named before round 7's
    # velocity reading and then only as class-collapse (what the velocity took in was read as a gradient, lr in it)
    1120: ("summed-gradient",),
    # a closure over a dict with its caches, batches of 16, the gradient applied inline through velocities (zip), sigmoid:
    # its lr-too-low drew a false summed-gradient from the output bias's step read as lr x its gradient (a velocity's
    # step is up to 1 / (1 - mu) = 10x that)
    1173: ("lr-too-low", "summed-gradient"),
    # rates 100x too high under momentum whose blow-up happened while discovering (main db1e5cd named no step size;
    # npx1125 too, whose twin learns only 39%: its numbers are in tests/test_rules_package.py):
    # module level, per sample summed into a batch, the velocity in place in a helper (v *= mu; v -= s * g; p += v),
    # sigmoid: 2.1x, 16x, 2.3x while discovering (saturation info and dead units only)
    1751: ("lr-too-high",),
    # a thread over globals, buffers, relu: the first applied steps 1.6x and 1.04x, then the weights grew 12x while
    # the windows' steps stayed small (dead units and class collapse only)
    1776: ("lr-too-high",),
    # functions over attributes, one sample a step, the velocity written whole with the gradient inline
    # (net.vW1 = mu * net.vW1 - scale * dW1; net.W1 += net.vW1), float32: the velocity was paired as the gradient
    # (its size read as the gradient's, 5e-6 of the weights) and a rate 1000x too low got no finding on main db1e5cd
    1758: ("lr-too-low",),
    # functions over a dict, batches of 20, 3 relu layers, float32: the gradient summed over the batch blows the
    # weights up by the fifth update; two windows read the output-bias gradient at 20.0x the batch's mean error
    # before it overflowed (three were asked for): learning-rate-too-high and non-finite only on main db1e5cd
    1764: ("summed-gradient",),
    # every weight matrix N(0, 1) * 0.01 (EXTENDED_BUGS): a class over attributes, columns, buffers emptied from a
    # template, tanh, two hidden layers (32, 24): W2 and W3 pass back 0.06 and 0.05 of the error; the twin learns 79%
    5004: ("tiny-init",),
}
"""Style seed -> bugs planted in it, for styles drawn with ``sample_style(seed, extended=True)`` (programs ``npx...``)."""
KNOWN_EXTENDED: dict[tuple[int, str | None], str] = {}
"""(style seed, bug or None) -> what netdoctor run says instead, for the extended styles."""
KNOWN_EXTENDED_COVERAGE: dict[tuple[int, str | None], str] = {}
"""The same for the observed-update count of the extended styles."""

TUTORIAL_SAMPLE: dict[int, tuple[str, ...]] = {
    # functions over an attribute object, the update inside the backward through an `sgd` helper, sigmoid, L2 weight
    # decay in the backward (dW = ... + wd * W), the best epoch's weights restored
    1519: ("frozen-parameters",),
    # module level over Dense layers, batch size 1, buffers emptied in place, an SGD object's step(grads), a decaying
    # rate handed to it, csv.reader, the best weights restored
    1505: ("stale-accumulator", "lr-too-low"),
    # functions over a parameter dict, batch size 1, an SGD object, leaky ReLU, L2 decay, the rate halved every 3 epochs
    1516: ("missing-derivative",),
    # L2 decay written into per-sample gradients summed over a batch (a closure over lists, columns, momentum in a
    # helper): the tensors' shared factor was read from a decayed weight's ratio (off by 1e-4), so weights[1]'s decay
    # fit failed and its right gradient was a gradient-mismatch warning (main db1e5cd)
    2407: (),
    # float32, three layers, L2 decay in the gradient: the update W_after - W_before in float32 is too coarse for the
    # decay's fit, the gradient returned is not (the same false warning on net.W2 and net.W3, main db1e5cd)
    2440: (),
    # a class over lists, L2 decay in per-sample gradients: the first layer's ratio read from one entry (spread 0) was
    # a decayed weight's, 5e-5 off, and taken for the shared factor (a false warning on main 576eb70 only)
    2416: (),
    # float32, a forward storing its output on a class instance, ReLU and a linear output, the loop in a thread: both bugs
    # blow the outputs up to ~100 by update 2, where a float64 replay is off by float32's rounding (~1e-5), which the
    # check's floor of 1e-7 took for another function (no update compared: learning-rate-too-high first, main 530e283)
    1809: ("summed-gradient", "sign-flip"),
    # batches yielded by a generator handed the data set, a sign flip with momentum: the generator's yields (the batch
    # and its targets) counted as a forward's outputs were dropped from what the backward is handed (a first draft of
    # round 22's rule that an output is never the next batch): the targets lost, squared error assumed, no finding
    1804: ("sign-flip",),
}
"""Style seed -> bugs planted in it, for styles drawn with ``sample_style(seed, tutorial=True)`` (programs ``npt...``,
chosen from the misses and false alarms of the tutorial sweep on seeds 1500-1599)."""
KNOWN_TUTORIAL: dict[tuple[int, str | None], str] = {}
"""(style seed, bug or None) -> what netdoctor run says instead, for the tutorial styles."""
KNOWN_TUTORIAL_COVERAGE: dict[tuple[int, str | None], str] = {}
"""The same for the observed-update count of the tutorial styles."""

WILD_SAMPLE: dict[int, tuple[str, ...]] = {
    # a fit/predict class over attributes, weights (out, in) applied as x @ W.T, RMSProp by hand (a helper), integer
    # labels made one-hot in loss_and_grads, standardised inputs, early stopping, the loss printed, per-sample sums
    77: ("frozen-parameters", "constant-targets"),
    # per-layer (W, b) tuples rebuilt by a comprehension each step in a train function that returns them,
    # loss_and_grads, integer labels, /255 then standardised, early stopping, the loss printed
    128: ("summed-gradient", "sign-flip"),
    # a fit/predict class over per-layer dicts, x @ W.T, the output width counted from the labels, buffers
    232: ("stale-accumulator",),
    # a fit/predict class over tuples, one sample a step, the smoothed one-hot table mutated in place
    73: ("mutated-constant", "lr-too-low"),
    # lists of (out, in) weights in a closure, float32, one sample a step in columns: the forward returns its hidden
    # layers' (24, 1) values, shaped like the biases, which a step that moves nothing (frozen) had read as gradients
    456: ("frozen-parameters",),
    464: ("sign-flip",),  # weights (out, in) beside the forward's results in one dict (twin: a false rate error before)
    1028: (),  # the same in module-level dicts, momentum (twin: a false learning-rate-too-high error before)
    # the forward's caches kept in the parameters' global dict (params['Z1'] = x @ W1.T + b1, one sample a step) beside
    # weights that never move: the caches were taken for parameters and their rebinding for updates (11 arrays,
    # learning-rate-too-high first, main 530e283)
    1218: ("frozen-parameters",),
    # samples as columns, 32 a batch, the second hidden layer 32 units wide: the training loop's batch xb (784, 32) was
    # taken for that layer's output, read as rows (a false dead-units error on the twin, main 530e283)
    1307: (),
}
"""Style seed -> bugs planted in it, for styles drawn with ``sample_style(seed, wild=True)`` (programs ``npw...``,
chosen from seeds 0-299 to show the wild axes' values together, and twins that got false findings)."""
KNOWN_WILD: dict[tuple[int, str | None], str] = {}
"""(style seed, bug or None) -> what netdoctor run says instead, for the wild styles."""
KNOWN_WILD_COVERAGE: dict[tuple[int, str | None], str] = {}
"""The same for the observed-update count of the wild styles."""


# The sample's coverage of bugs and axes, the plan, the plain runs and netdoctor run's verdicts and coverage:
# the tests every generated sample runs (generated.harness.sample_tests), here on the NumPy writer's programs.
PROGRAMS, RUNS = sample_tests(globals(), writer, SAMPLE, KNOWN, KNOWN_COVERAGE, "generated_numpy_",
                              extended=(EXTENDED_SAMPLE, KNOWN_EXTENDED, KNOWN_EXTENDED_COVERAGE),
                              tutorial=(TUTORIAL_SAMPLE, KNOWN_TUTORIAL, KNOWN_TUTORIAL_COVERAGE),
                              wild=(WILD_SAMPLE, KNOWN_WILD, KNOWN_WILD_COVERAGE))


def test_updates_of_weights_gone_nan_are_counted_from_the_buffers_they_empty():
    """Every update np0102_sign-flip's loops make is counted (its loops say 160) once its weights are NaN, and the
    header says how those were seen: they moved nothing, and are no steps too small to move a weight."""
    p = next(p for p in PROGRAMS if p.name == "np0102_sign-flip")
    o = RUNS.observed(p)
    ctx = o.report["context"]
    assert ctx["updates_observed"] == p.updates == 160, detail(p, o)
    assert "applied to weights already NaN or infinite" in ctx["training"], detail(p, o)
    assert "too small to change" not in ctx["training"], detail(p, o)


# -- the writer ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(0, 400, 7))
def test_every_drawn_style_is_valid_and_writes_a_program_that_compiles(seed):
    style = sample_style(seed)
    assert valid(style)
    for bug in (None, *BUGS):
        if applicable(style, bug):
            p = write(style, bug)
            ast.parse(p.source)
            assert p.updates > 0 and p.samples == style.epochs * N_TRAIN


def test_the_writer_is_deterministic():
    assert write(sample_style(5), "sign-flip").source == write(sample_style(5), "sign-flip").source
    assert sample_style(5) != sample_style(6)


def test_a_seed_writes_the_same_programs_in_another_process_with_other_string_hashes():
    assert fingerprint_elsewhere("generated.numpy_programs", 12, 800, "12345") == fingerprint(writer, 12, 800)


@pytest.mark.parametrize("p", [p for p in PROGRAMS if p.bug], ids=lambda p: p.name)
def test_a_bug_differs_from_its_twin_only_at_a_few_lines(p):
    assert p.bug_lines, f"{p.name} is identical to its twin"
    assert len(p.bug_lines) <= 8, f"{p.name} differs from its twin at lines {p.bug_lines}"


def test_inapplicable_bugs_and_invalid_styles_are_refused():
    style = sample_style(0)
    with pytest.raises(ValueError):
        write(style.__class__(grads="returned", reset="-"), "stale-accumulator")
    with pytest.raises(ValueError):
        write(style.__class__(place="class", container="globals"))


def test_the_base_styles_write_the_programs_they_wrote_before_the_extended_axes():
    # sweeps of different rounds are compared on the same seeds: the base writer's programs are pinned (this hash is
    # that of main ddb84da's writer, before the extended axes, on the same seeds)
    assert fingerprint(writer, 40, 1000) == "8da45046ecb674da99d7ecf82821d7dacf046deb3dfa5b27828f02a79717a773"


@pytest.mark.parametrize("tier, pinned", [
    ("extended", "d02802bfb5b6923cf0449684b9328305dffea71eb7419ddc2de74cbeadba0e94"),
    ("tutorial", "0f544c83ee91044b1ba21b630ae24357ad982bf66e1c884fc7306cc1e8ec9073"),
    ("wild", "9520323dca24acc9d2c5f7df2f5afacba6647a9c9300689036986d27bfaedbbd"),
])
def test_bugs_planted_only_when_asked_for_leave_every_plan_as_it_was(tier, pinned):
    # the hashes of main ec93379's plans, before EXTENDED_BUGS: a seed's programs are what they were
    h = hashlib.sha256()
    for p in writer.plan(24, start=1000, **{tier: True}):
        h.update(p.name.encode("utf-8") + b"\0" + p.source.encode("utf-8") + b"\0")
    assert h.hexdigest() == pinned
    assert not {p.bug for p in writer.plan(40, start=1000, extended=True)} & set(writer.EXTENDED_BUGS)


def test_tiny_init_draws_every_weight_matrix_at_a_hundredth_and_nothing_else():
    style = sample_style(5004, extended=True)
    p, twin = write(style, "tiny-init"), write(style)
    assert p.expect == "vanishing-gradients" and style.depth == "3"
    changed = [p.source.splitlines()[i - 1] for i in p.bug_lines]
    assert changed and all("* 0.01" in line for line in changed), changed
    assert p.source.count("* 0.01") - twin.source.count("* 0.01") == 3  # W1, W2, W3
    with pytest.raises(ValueError):
        write(sample_style(5001, extended=True, depth="2"), "tiny-init")


@pytest.mark.parametrize("seed", range(0, 400, 7))
def test_an_extended_style_draws_the_base_axes_as_the_base_style_does(seed):
    base, ext = sample_style(seed), sample_style(seed, extended=True)
    assert ext.extended and not base.extended
    assert {a: getattr(ext, a) for a in AXES} == {a: getattr(base, a) for a in AXES}
    assert (ext.batch_size, ext.hidden) == (base.batch_size, base.hidden)
    assert ext.lr == (round(base.lr * (1 - ext.mu), 6) if ext.optimizer == "momentum" else base.lr)
    assert ext.epochs >= base.epochs
    assert list(ext.axes())[: len(AXES)] == list(AXES) and len(ext.axes()) == len(AXES) + len(writer.EXTENDED_AXES)


TIERS = {"extended": ("npx", range(0, 400, 7)), "tutorial": ("npt", range(1500, 1600, 3)), "wild": ("npw", range(0, 300, 4))}
"""Tier -> the prefix of its programs' names and the style seeds whose programs must compile."""


@pytest.mark.parametrize(("tier", "seed"), [(tier, seed) for tier, (_, seeds) in TIERS.items() for seed in seeds])
def test_every_style_of_a_tier_writes_programs_that_compile(tier, seed):
    style = sample_style(seed, **{tier: True})
    assert valid(style)
    for bug in (None, *BUGS):
        if applicable(style, bug):
            p = write(style, bug)
            ast.parse(p.source)
            assert p.name.startswith(TIERS[tier][0]) and p.updates > 0
            assert not bug or 0 < len(p.bug_lines) <= 8, (p.name, p.bug_lines)


@pytest.mark.parametrize(("tier", "n_styles", "start"), [("tutorial", 100, 1500), ("wild", 150, 0)])
def test_a_tier_s_plan_shows_every_value_of_its_axes_and_plants_every_bug(tier, n_styles, start):
    planned = writer.plan(n_styles, start=start, **{tier: True})
    for axis, values in {"tutorial": writer.TUTORIAL_AXES, "wild": writer.WILD_AXES}[tier].items():
        assert {p.style.axes()[axis] for p in planned} == set(values), axis
    assert {p.bug for p in planned if p.bug} == set(BUGS)


def test_extended_axes_can_be_fixed_and_the_permutation_loop_counts_its_batches():
    style = sample_style(3, extended=True, loop="permutation", optimizer="momentum", depth="3", batching="batched",
                         batch_size=32)
    assert (style.loop, style.optimizer, style.depth, style.batch_size) == ("permutation", "momentum", "3", 32)
    source = write(style).source
    assert "np.array_split(" in source and "mu = " in source and "hidden2 = " in source
    # np.array_split(order, 400 // 32): 12 batches of 33-34 rows per epoch, not ceil(400 / 32) = 13
    assert write(style).updates == style.epochs * 12


# -- the tutorial axes ---------------------------------------------------------------------------------------

FIRST = {axis: values[0] for axis, values in writer.TUTORIAL_AXES.items()}
"""The value of every tutorial axis that writes what an extended style writes."""


@pytest.mark.parametrize("seed", range(1, 400, 9))
def test_a_tutorial_style_draws_the_extended_style_of_its_seed(seed):
    ext, tut = sample_style(seed, extended=True), sample_style(seed, tutorial=True)
    assert tut.tutorial and tut.extended and not ext.tutorial
    assert {a: getattr(tut, a) for a in (*AXES, *writer.EXTENDED_AXES)} == {a: getattr(ext, a) for a in (*AXES, *writer.EXTENDED_AXES)}
    assert (tut.lr, tut.batch_size, tut.hidden, tut.mu, tut.hidden2) == (ext.lr, ext.batch_size, ext.hidden, ext.mu, ext.hidden2)
    # a decaying rate gets a third more epochs
    assert tut.epochs == (ext.epochs if tut.schedule == "constant" else ext.epochs + max(1, ext.epochs // 3))
    assert list(tut.axes()) == [*AXES, *writer.EXTENDED_AXES, *writer.TUTORIAL_AXES]


@pytest.mark.parametrize("seed", range(1, 400, 9))
def test_the_first_value_of_every_tutorial_axis_writes_the_extended_program(seed):
    # the tutorial axes only add: with their first values a tutorial style writes its extended twin line for line
    ext = sample_style(seed, extended=True)
    plain = writer.replace(sample_style(seed, tutorial=True), **FIRST, epochs=ext.epochs, tutorial=False)
    for bug in (None, *BUGS):
        if applicable(ext, bug):
            assert write(plain, bug).source == write(ext, bug).source, (seed, bug)


@pytest.mark.parametrize(("fixed", "written", "absent"), [
    ({"loader": "csv"}, ["import csv", "csv.reader(f)"], ["np.loadtxt"]),
    ({"loader": "genfromtxt", "data": "lists"}, ['np.genfromtxt(DATA, delimiter=",").tolist()'], ["line.split"]),
    ({"schedule": "step"}, ["rate = lr * 0.5 ** (epoch // 3)"], []),
    ({"schedule": "inverse", "grads": "inline", "batching": "batched"}, ["rate = lr / (1.0 + 0.1 * epoch)", ", rate)"], []),
    ({"decay": "l2", "container": "dict", "place": "functions"}, ["wd = 0.0005", '+ wd * params["W1"]'], []),
    ({"decay": "l2", "container": "layers"}, ["+ wd * self.W"], []),
    ({"clip": "norm", "grads": "returned", "batching": "batched"}, ["def clip_norm(", "grads = clip_norm(grads, 5.0)"], []),
    ({"matmul": "einsum"}, ['np.einsum("ij,jk->ik", '], []),
    ({"matmul": "dot", "container": "layers", "layout": "rows"}, ["np.dot(x, self.W)"], []),
    ({"keep": "best"}, ["best_acc, best = -1.0, None", "p[...] = saved"], []),
    ({"stepper": "object", "grads": "buffers", "batching": "batched", "optimizer": "sgd", "schedule": "step"},
     ["class SGD:", "opt = SGD([", "opt.lr = rate", "opt.step(["], ["def sgd("]),
    ({"relu": "leaky", "act": "relu"}, ["np.where(z > 0, z, 0.01 * z)", "np.where(z > 0, 1.0, 0.01)"], ["np.maximum"]),
], ids=lambda v: "-".join(f"{k}={x}" for k, x in v.items()) if isinstance(v, dict) else None)
def test_a_fixed_tutorial_axis_writes_its_spelling(fixed, written, absent):
    style = sample_style(1500, tutorial=True, **fixed)
    assert {k: getattr(style, k) for k in fixed} == fixed
    source = write(style).source
    for text in written:
        assert text in source, text
    for text in absent:
        assert text not in source, text
    ast.parse(source)


def test_a_tutorial_value_that_does_not_fit_falls_back_and_a_misfit_is_refused():
    # the clip rescales returned gradients; the optimizer object does plain SGD on a step's gradients
    style = sample_style(1500, tutorial=True, clip="norm", stepper="object", grads="inline", batching="batched")
    assert (style.clip, style.stepper) == ("none", "plain")
    assert sample_style(1500, tutorial=True, act="tanh").relu == "-"
    for misfit in ({"clip": "norm"}, {"stepper": "object"}, {"relu": "leaky"}):
        with pytest.raises(ValueError):
            write(writer.replace(sample_style(1500, tutorial=True, grads="inline", batching="batched", act="tanh"), **misfit))


def test_a_summed_gradient_is_not_planted_under_a_clip_that_rescales_it():
    style = sample_style(1500, tutorial=True, clip="norm", grads="returned", batching="batched")
    assert style.clip == "norm" and not applicable(style, "summed-gradient")
    assert applicable(writer.replace(style, clip="none"), "summed-gradient")


def test_frozen_parameters_is_planted_in_the_optimizer_objects_step():
    style = sample_style(1500, tutorial=True, stepper="object", grads="returned", batching="batched", update="direct",
                         optimizer="sgd")
    assert applicable(style, "frozen-parameters")
    p = write(style, "frozen-parameters")
    assert [p.source.splitlines()[i - 1].strip() for i in p.bug_lines] == ["p = p - self.lr * g"]


# -- the wild axes -------------------------------------------------------------------------------------------

FIRST_WILD = {axis: values[0] for axis, values in writer.WILD_AXES.items()}
"""The value of every wild axis that writes what a tutorial style writes."""


@pytest.mark.parametrize("seed", range(2, 300, 11))
def test_a_wild_style_draws_the_tutorial_style_of_its_seed(seed):
    tut, wild = sample_style(seed, tutorial=True), sample_style(seed, wild=True)
    assert wild.wild and wild.tutorial and wild.extended and not tut.wild
    lower = (*AXES, *writer.EXTENDED_AXES, *writer.TUTORIAL_AXES)
    assert {a: getattr(wild, a) for a in lower} == {a: getattr(tut, a) for a in lower}
    assert (wild.batch_size, wild.hidden, wild.epochs, wild.mu, wild.hidden2) == (tut.batch_size, tut.hidden, tut.epochs, tut.mu,
                                                                                  tut.hidden2)
    # Adam and RMSProp take their own step size, standardised inputs half the rate
    if wild.adaptive != "none":
        assert wild.lr == writer.ADAPTIVE_LR[wild.adaptive] / (writer.ADAPTIVE_SINGLE[wild.adaptive] if wild.batching == "single" else 1)
    else:
        assert wild.lr == (tut.lr if wild.prep == "scale" else round(tut.lr / 2, 6))
    assert list(wild.axes()) == [*lower, *writer.WILD_AXES]


@pytest.mark.parametrize("seed", range(2, 300, 11))
def test_the_first_value_of_every_wild_axis_writes_the_tutorial_program(seed):
    # the wild axes only add: with their first values a wild style writes its tutorial twin line for line
    tut = sample_style(seed, tutorial=True)
    plain = writer.replace(sample_style(seed, wild=True), **FIRST_WILD, lr=tut.lr, wild=False)
    for bug in (None, *BUGS):
        if applicable(tut, bug):
            assert write(plain, bug).source == write(tut, bug).source, (seed, bug)


@pytest.mark.parametrize(("fixed", "written", "absent"), [
    ({"orient": "out_in", "layout": "rows", "container": "dict", "place": "functions", "matmul": "at",
      "depth": "2"},
     ['x @ params["W1"].T', "dW1 = dz1.T @ x", 'dh = d2 @ params["W2"]'], ["x.T @"]),
    ({"orient": "out_in", "layout": "rows", "container": "layers", "matmul": "at", "depth": "2"}, ["self.W.T", "dW = dz.T @ self.x", "dx = dz @ self.W"], []),
    ({"params": "tuples", "container": "list", "grads": "returned", "optimizer": "sgd", "stepper": "plain", "place": "functions",
      "clip": "none"},
     ["for (W, b), dW, db in zip(layers, grads[0::2], grads[1::2])]", "return layers", "layers = train("], ["weights"]),
    ({"params": "dicts", "container": "dict", "grads": "buffers", "reset": "fill", "place": "class"},
     ['self.layers[0]["W"]', 'self.grads[1]["b"][...] = 0.0'], ['params["W1"]']),
    ({"adaptive": "adam", "container": "dict", "grads": "returned", "update": "helper", "place": "class",
      "stepper": "plain", "params": "containers"},
     ["def adam(p, g, m, v, n_steps, lr):", 'self.m["W1"], self.v["W1"], n_steps', "n_steps += 1"], ["mu = "]),
    ({"adaptive": "rmsprop", "container": "list", "grads": "returned", "update": "zip", "stepper": "plain",
      "params": "containers"},
     ["for p, g, sq in zip(", "sq += (1.0 - rho) * g * g"], []),
    ({"adaptive": "adam", "container": "attrs", "grads": "buffers", "update": "direct", "stepper": "plain",
      "place": "module"},
     ["net.mW1 = beta1 * net.mW1 + (1.0 - beta1) * ", "beta2 ** n_steps"], []),
    ({"labels": "counted", "data": "arrays", "layout": "rows", "api": "script", "batching": "batched", "loop": "range"},
     ["n_out = int(y_train.max()) + 1", "T = np.eye(out.shape[1], dtype=out.dtype)[t]", "t = y_train["], ["target_for", "PRIOR"]),
    ({"labels": "int", "layout": "columns"}, ["np.eye(out.shape[0], dtype=out.dtype)[t].T"], ["target_for", "EYE"]),
    ({"api": "fit", "place": "class", "data": "arrays", "labels": "counted"},
     ["class Classifier:", "def fit(self, X_train, y_train):", "n_in = X_train", "n_out = int(y_train.max()) + 1",
      "def predict(self, X):", "model = Classifier(", ").fit(X_train, y_train)"], ["class Network"]),
    ({"combined": "loss_and_grads", "grads": "returned", "container": "dict", "place": "functions"},
     ["def loss_and_grads(params, x, t):", "loss, ", "= loss_and_grads(params, x, t)"], []),
    ({"prep": "standard", "data": "arrays"}, ["mean = pixels[:n_train].mean(axis=0)", "np.maximum(pixels[:n_train].std(axis=0), 1.0)"],
     ["scaled"]),
    ({"prep": "both", "data": "arrays"}, ["scaled = ", "pixels = scaled[:, 1:]", "std(axis=0), 0.05)"], []),
    ({"stop": "early"}, ["n_val = 50", "patience = 2", "X_val = ", "if waited >= patience:", "stopped early after epoch", "break"], []),
    ({"log": "loss"}, ["losses = []", "losses.append(", "loss {np.mean(losses):.4f}"], ["epoch {epoch + 1}: test accuracy"]),
    ({"log": "none", "keep": "last"}, ["final test accuracy"], ["epoch {epoch + 1}"]),
], ids=lambda v: "-".join(f"{k}={x}" for k, x in v.items()) if isinstance(v, dict) else None)
def test_a_fixed_wild_axis_writes_its_spelling(fixed, written, absent):
    style = sample_style(7, wild=True, **fixed)
    assert {k: getattr(style, k) for k in fixed} == fixed
    source = write(style).source
    for text in written:
        assert text in source, text
    for text in absent:
        assert text not in source, text
    ast.parse(source)


def test_a_wild_value_that_does_not_fit_falls_back_and_a_misfit_is_refused():
    assert sample_style(7, wild=True, layout="columns", orient="out_in").orient == "-"
    assert sample_style(7, wild=True, container="attrs", params="tuples").params == "containers"
    assert sample_style(7, wild=True, place="module", api="fit").api == "script"
    assert sample_style(7, wild=True, grads="inline", batching="batched", adaptive="adam").adaptive == "none"
    assert sample_style(7, wild=True, data="lists", prep="standard").prep == "scale"
    style = sample_style(7, wild=True, place="module", container="attrs", grads="buffers", batching="batched", layout="rows")
    for misfit in ({"params": "dicts"}, {"api": "fit"}, {"combined": "loss_and_grads"}, {"orient": "-"}):
        with pytest.raises(ValueError):
            write(writer.replace(style, **misfit))


def test_bugs_that_a_wild_value_cannot_hold_are_not_planted():
    adam = sample_style(7, wild=True, adaptive="adam", grads="returned", batching="batched", batch_size=32, clip="none",
                        params="containers", stepper="plain")
    assert adam.adaptive == "adam"
    assert not applicable(adam, "summed-gradient")  # Adam divides by the gradient's own scale: the factor cancels
    # ... and a buffer never emptied, or shared by the layers, only turns the step into a momentum's: they train alike
    buffers = sample_style(7, wild=True, adaptive="none", grads="buffers", reset="template", batching="batched", batch_size=32,
                           clip="none", params="containers", stepper="plain")
    assert buffers.adaptive == "none"
    for adaptive in ("adam", "rmsprop"):
        style = writer.replace(buffers, adaptive=adaptive)
        assert valid(style) and not applicable(style, "stale-accumulator") and not applicable(style, "aliased-buffers")
    assert applicable(buffers, "stale-accumulator") and applicable(buffers, "aliased-buffers")
    assert not applicable(sample_style(7, wild=True, labels="int"), "mutated-constant")
    tuples = sample_style(7, wild=True, params="tuples", container="list", grads="returned", optimizer="sgd", update="zip",
                          stepper="plain")
    assert tuples.params == "tuples" and applicable(tuples, "frozen-parameters")
    # in rebuilt tuples the parameters freeze when the new list is bound to a name the training never reads
    p = write(tuples, "frozen-parameters")
    assert [p.source.splitlines()[i - 1].strip()[:14] for i in p.bug_lines] == ["new_layers = ["]


def test_an_early_stop_counts_the_updates_of_the_epochs_run():
    from generated.harness import Run, updates_run

    p = write(sample_style(7, wild=True, stop="early"))
    per_epoch = p.updates // p.style.epochs
    assert updates_run(p, Run(0, "epoch 1: loss 1.0\nstopped early after epoch 2\nfinal test accuracy 0.5\n", "", 1.0)) == 2 * per_epoch
    assert updates_run(p, Run(0, "final test accuracy 0.8\n", "", 1.0)) == p.updates


def test_a_forwards_hidden_values_shaped_like_the_biases_are_no_gradients_of_a_step_that_moves_nothing():
    """npw0456 (frozen-parameters): the forward returns ``z1, h1, z2, h2, out``, its hidden values ``(24, 1)`` like the
    biases; with no update to say what was applied they were read as the biases' returned gradients, and a false
    ``gradient-mismatch`` error was ranked before the frozen parameters. Only the real cause is named, first."""
    p = next(p for p in PROGRAMS if p.style.seed == 456 and p.style.wild and p.bug == "frozen-parameters")
    codes = [f["code"] for f in RUNS.observed(p).report["findings"]]
    assert codes[:1] == ["frozen-parameters"] and "gradient-mismatch" not in codes, codes
