"""The update check of ``netdoctor run``: applied updates against finite differences of the program's forward.

Two layers. The engine (:func:`check_update`) on a small sigmoid network written here, with its
gradient from the closed form and planted bugs: a right update is explained by one factor (the
learning rate times the loss's own constant), a wrong tensor is named with its pattern, and update
rules (momentum, weight decay, clipping) are not mismatches. Then whole programs in five styles
(``tests/backprop_programs/``, one planted bug per variant and healthy twins) under ``netdoctor run``:
every bug named on the tensor it sits in, no ``gradient-mismatch`` on a twin, and the check ran.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from netdoctor.findings import Severity
from netdoctor.observe.numpy.update_check import (
    DIRECTIONS,
    Applied,
    LossChoice,
    assumed_losses,
    check_update,
    compared,
    weight_decay,
)
from netdoctor.rules.backprop import gradient_mismatch_in_updates as update_check_findings

HERE = Path(__file__).parent
PROGRAMS = HERE / "backprop_programs"


# -- the engine on a closed-form network -----------------------------------------------------------------
def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _net(seed: int = 0) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    params = {"W1": rng.normal(size=(6, 5)), "b1": rng.normal(size=(6, 1)),
              "W2": rng.normal(size=(3, 6)), "b2": rng.normal(size=(3, 1))}
    x = rng.normal(size=(5, 4))  # four column samples
    t = np.eye(3)[:, [0, 2, 1, 0]]
    return params, x, t


def _forward(P: dict[str, np.ndarray], x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    h = _sigmoid(P["W1"] @ x + P["b1"])
    return _sigmoid(P["W2"] @ h + P["b2"]), h


def _gradient(P: dict[str, np.ndarray], x: np.ndarray, t: np.ndarray, bug: str = "") -> dict[str, np.ndarray]:
    """The gradient of 1/2 sum (out - t)^2, by hand (the closed form the engine must agree with)."""
    out, h = _forward(P, x)
    d2 = (out - t) * out * (1 - out)
    d1 = (P["W2"].T @ d2) * h * (1 - h)
    if bug == "skip-output-sigma":
        d1 = (P["W2"].T @ (out - t)) * h * (1 - h)
    g = {"W1": d1 @ x.T, "b1": d1.sum(axis=1, keepdims=True), "W2": d2 @ h.T, "b2": d2.sum(axis=1, keepdims=True)}
    if bug == "sign":
        g["W2"] = -g["W2"]
    if bug == "scalar":
        g["W1"] = np.full_like(g["W1"], np.sum(d1 * h[:, :1]))
    return g


def _check(applied: list[Applied], losses: list[LossChoice] | None = None, seed: int = 0, **how):
    P, x, t = _net(seed)
    work = {k: v.copy() for k, v in P.items()}
    losses = losses if losses is not None else assumed_losses(_forward(work, x)[0], t)
    result = check_update(lambda: _forward(work, x)[0], work, applied, losses, biases=("b1", "b2"), where="net.py:9",
                          **how)
    assert all(np.array_equal(work[k], P[k]) for k in P), "the working copies must come back exactly"
    return result


@pytest.mark.parametrize("directions", [DIRECTIONS, 0], ids=["directions-first", "entries-only"])
def test_a_right_update_is_explained_by_one_factor_the_learning_rate_times_the_losss_constant(directions):
    P, x, t = _net()
    lr = 0.3
    result = _check([Applied("update", {k: lr * g for k, g in _gradient(P, x, t).items()})], directions=directions)
    assert result.ok and result.loss_assumed
    # the assumed loss is sum (out - t)^2, the gradient is of half of it: the factor is lr / 2
    assert result.factor == pytest.approx(lr / 2, rel=1e-6)
    if directions:  # decided by the directional pass alone: two forwards per direction (and the joint one), no entry
        assert (result.directions, result.coords) == (directions * len(P) + 1, 0)
        assert result.evaluations == 2 * (directions * len(P) + 1)
        assert all(v.n_checked == directions and v.ratio == pytest.approx(lr / 2, rel=1e-6) for v in result.tensors)
    else:
        assert result.coords == sum(min(v.size, 12) for v in P.values())
    assert update_check_findings([result]) == []


def test_the_hidden_error_skipping_the_output_sigma_is_named_on_the_hidden_layer():
    P, x, t = _net()
    result = _check([Applied("returned", _gradient(P, x, t, "skip-output-sigma"))])
    assert {v.name for v in result.failed} == {"W1", "b1"}
    (finding,) = update_check_findings([result])
    assert finding.code == "gradient-mismatch" and finding.where.startswith("W1[")
    assert finding.severity == Severity.WARNING  # assumed loss, but W2 and b2 agree with it
    assert set(finding.evidence["agree"]) == {"W2", "b2"}


def test_a_sign_flip_on_one_tensor_is_a_mismatch_of_that_tensor_with_its_pattern():
    P, x, t = _net()
    result = _check([Applied("returned", _gradient(P, x, t, "sign"))])
    (bad,) = result.failed
    assert bad.name == "W2" and bad.ratio == pytest.approx(-result.factor, rel=1e-6)
    assert "sign of the gradient flipped" in bad.pattern


@pytest.mark.parametrize("bug", ["", "skip-output-sigma"])
def test_a_momentum_steps_locals_are_judged_by_the_function_whose_other_locals_are_the_gradient(bug):
    """A step that computes its gradients as locals and applies them through a velocity in the same call: the update
    (no multiple of the batch's gradient) is taken out, and only the locals are left. Locals that are the derivative
    for some tensors are that function's gradients; the local it holds for another tensor is judged too (a wrong
    hidden derivative: W1 and b1 were dropped unjudged and the report said nothing, npt1792_missing-derivative), and a
    tensor nothing was read for is said not to be compared."""
    P, x, t = _net()
    g = _gradient(P, x, t, bug)
    step = {k: 0.3 * v + 0.01 * np.ones_like(v) for k, v in g.items()}  # a velocity's step: no multiple of g
    result = _check([Applied("update", step), Applied("local", dict(g))], adaptive=True)
    assert {v.name for v in result.tensors} == set(P) and not result.unjudged
    assert {v.name for v in result.failed} == ({"W1", "b1"} if bug else set())
    assert [f.code for f in update_check_findings([result])] == (["gradient-mismatch"] if bug else [])
    # a local read for one tensor only, which no other tensor's local explains: a guess, not judged, and said so
    lone = _check([Applied("update", step), Applied("returned", {k: g[k] for k in ("W2", "b2")}),
                   Applied("local", {"W1": g["W1"] + 1.0})], adaptive=True)
    assert {v.name for v in lone.tensors} == {"W2", "b2"} and set(lone.unjudged) == {"W1", "b1"}


def test_one_scalar_for_a_whole_tensor_is_named_as_such():
    P, x, t = _net()
    result = _check([Applied("returned", _gradient(P, x, t, "scalar"))])
    assert [v.name for v in result.failed] == ["W1"]
    assert "same number" in result.failed[0].pattern


def test_the_programs_own_loss_makes_the_finding_an_error():
    P, x, t = _net()
    own = LossChoice("cost() (net.py:3)", lambda y: 0.5 * float(np.sum((y - t) ** 2)), assumed=False)
    result = _check([Applied("returned", _gradient(P, x, t, "skip-output-sigma"))], [own])
    assert result.factor == pytest.approx(1.0, rel=1e-6)
    (finding,) = update_check_findings([result])
    assert finding.severity == Severity.ERROR and "own loss" in finding.message


@pytest.mark.parametrize("bug", ["skip-output-sigma", "sign", "scalar"])
def test_a_wrong_tensor_disagrees_along_the_directions_and_is_then_named_at_entries(bug):
    P, x, t = _net()
    result = _check([Applied("update", {k: 0.1 * g for k, g in _gradient(P, x, t, bug).items()})])
    # the directional pass ran (the applied signs of each tensor), found a disagreement there (the joint direction is
    # then not run), and the entries were sampled
    assert result.directions == DIRECTIONS * len(P) and result.coords == sum(min(v.size, 12) for v in P.values())
    assert result.evaluations >= 2 * result.directions + 2 * result.coords  # (the judge measures noise where entries fail)
    assert not result.ok and all(v.worst for v in result.failed)


def test_one_tensors_step_added_beside_right_gradients_is_left_to_the_entries():
    # every gradient returned is right (the directions explain every tensor by it), but W2's update adds its gradient:
    # the entries' pass names that tensor's step (a climb of one tensor)
    P, x, t = _net()
    g = _gradient(P, x, t)
    update = {k: (-0.1 if k == "W2" else 0.1) * v for k, v in g.items()}
    result = _check([Applied("update", update), Applied("returned", g)])
    assert result.coords and [v.name for v in result.failed] == ["W2"]
    assert result.failed[0].worst and "climbs the loss" in result.failed[0].pattern


def test_without_the_update_among_the_readings_the_directional_pass_is_not_run():
    # a gradient of the opposite sign returned, not yet applied: which way it is applied is read later (the sign
    # watch), from the entries compared here
    P, x, t = _net()
    result = _check([Applied("returned", {k: -v for k, v in _gradient(P, x, t).items()})])
    assert result.ok and result.factor < 0 and result.directions == 0 and result.coords
    assert all(v.worst for v in result.tensors)


def _relu_columns(rows: int, seed: int = 3) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """A relu net in columns (``W @ x``) over a whole batch of ``rows`` columns: many units near their kink."""
    rng = np.random.default_rng(seed)
    P = {"W1": rng.normal(size=(32, 60)) / np.sqrt(60), "b1": np.zeros((32, 1)),
         "W2": rng.normal(size=(10, 32)) / np.sqrt(32), "b2": np.zeros((10, 1))}
    x = rng.random((60, rows))
    t = np.eye(10)[:, rng.integers(0, 10, rows)]
    return P, x, t


def _relu_forward(P: dict[str, np.ndarray], x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    z1 = P["W1"] @ x + P["b1"]
    h = np.maximum(z1, 0)
    z2 = P["W2"] @ h + P["b2"]
    e = np.exp(z2 - z2.max(axis=0))
    return e / e.sum(axis=0), h, z1


def _relu_gradient(P: dict[str, np.ndarray], x: np.ndarray, t: np.ndarray, relu_derivative: bool = True):
    """The gradient of the mean cross-entropy of softmax, by hand."""
    out, h, z1 = _relu_forward(P, x)
    d2 = (out - t) / x.shape[1]
    d1 = (P["W2"].T @ d2) * ((z1 > 0) if relu_derivative else 1.0)
    return {"W1": d1 @ x.T, "b1": d1.sum(axis=1, keepdims=True), "W2": d2 @ h.T, "b2": d2.sum(axis=1, keepdims=True)}


def _relu_check(rows: int, relu_derivative: bool = True, crash_at: int | None = None):
    P, x, t = _relu_columns(rows)
    work = {k: v.copy() for k, v in P.items()}
    g = _relu_gradient(P, x, t, relu_derivative)
    calls = [0]

    def forward() -> np.ndarray:
        calls[0] += 1
        if calls[0] == crash_at:
            raise FloatingPointError("the program's forward failed on the copies")
        return _relu_forward(work, x)[0]

    def own(y: np.ndarray) -> float:
        return float(-np.sum(t * np.log(y)) / rows)

    try:
        return check_update(forward, work, [Applied("update", {k: 0.5 * v for k, v in g.items()})],
                            [LossChoice("cost() (net.py:4)", own, assumed=False)], biases=("b1", "b2"))
    finally:
        assert all(np.array_equal(work[k], P[k]) for k in P), "the working copies must come back bit for bit"


def test_a_full_batch_relu_step_is_decided_by_the_directions_in_a_fraction_of_the_entries_forwards():
    # 2,000 columns through 32 relu units: tens of units sit within a step of their kink, which a step moving every
    # entry at once by the entries' h crosses (the difference then errs by ~3e-4 of the derivative)
    result = _relu_check(2000)
    assert result.ok and result.factor == pytest.approx(0.5, rel=1e-6)
    assert (result.coords, result.directions) == (0, 4 * DIRECTIONS + 1)  # no entry sampled
    assert result.evaluations == 2 * (4 * DIRECTIONS + 1)  # against 2 * (12 + 12 + 10 + 10) entries' forwards
    assert "one of all tensors at once" in compared([result]) and "sampled entries" not in compared([result])


def _hidden_from_the_signs(g: np.ndarray, x: np.ndarray, lr: float, size: float, seed: int) -> np.ndarray:
    """``lr (g + e)`` with ``e`` of norm ``size |g|`` in random directions but orthogonal to the direction the pass
    moves the tensor along first (the signs of the update itself, times ``max(1, |x|)``): along it the update is
    exactly ``lr`` times the derivative."""
    rng = np.random.default_rng(seed)
    r = rng.normal(size=g.shape)
    a = lr * g
    for _ in range(20):  # (the signs of the update move with e: to a fixed point)
        d = np.sign(a) * np.maximum(1.0, np.abs(x))
        e = r - (np.sum(r * d) / np.sum(d * d)) * d
        e *= size * np.linalg.norm(g) / np.linalg.norm(e)
        a = lr * (g + e)
        if np.array_equal(np.sign(a) * np.maximum(1.0, np.abs(x)), d):
            return a
    raise AssertionError("no fixed point")


def test_an_error_the_applied_signs_cannot_see_is_caught_by_the_joint_direction():
    # W1's update is lr times its derivative plus a 5% error orthogonal to the signs of the update: along the signs
    # alone every tensor is explained by one factor; the random direction of all tensors at once sees the error, and
    # the entries name W1
    P, x, t = _net()
    g = _gradient(P, x, t)
    update = {k: (_hidden_from_the_signs(v, P[k], 0.3, 0.05, 1) if k == "W1" else 0.3 * v) for k, v in g.items()}
    result = _check([Applied("update", update)])
    assert result.directions == 4 * DIRECTIONS + 1 and result.coords, "the directions must not settle it"
    assert not result.ok and [v.name for v in result.failed] == ["W1"]


def test_the_joint_direction_moves_no_tensor_more_than_its_own_direction_would():
    # b2's derivative is tiny beside W1's: the joint move scales W1's down to b2's size, never b2's up
    from netdoctor.observe.numpy import update_check as uc

    P, x, t = _net()
    work = {k: v.copy() for k, v in P.items()}
    seen: list[dict[str, float]] = []

    def forward() -> np.ndarray:
        seen.append({k: float(np.max(np.abs(work[k] - P[k]) / np.maximum(1.0, np.abs(P[k])))) for k in P})
        return _forward(work, x)[0]

    g = _gradient(P, x, t)
    applied = [Applied("update", {k: 0.3 * v for k, v in g.items()})]
    outputs = uc._Outputs(forward, list(work.values()))
    losses = assumed_losses(_forward(P, x)[0], t)
    best = uc._screen(outputs, list(work), applied, losses, 1e-5, 0, DIRECTIONS)
    assert best is not None and outputs.joint == 1
    joint = seen[-2:]  # (plus, then minus)
    step = 1e-5 * uc.DIRECTION_STEP
    for move in joint:
        assert all(v <= step * (1 + 1e-9) for v in move.values()) and any(v >= step * (1 - 1e-9) for v in move.values())
        assert all(v > 0 for v in move.values())  # every tensor moves


def test_a_forgotten_relu_derivative_over_a_full_batch_is_named_at_entries():
    result = _relu_check(2000, relu_derivative=False)
    assert result.coords and [v.name for v in result.failed] == ["W1", "b1"]
    assert "which the directions did not settle" in compared([result])


@pytest.mark.parametrize("crash_at", [1, 4, 6])
def test_the_directional_pass_puts_the_parameters_back_bit_for_bit_when_the_forward_fails(crash_at):
    with pytest.raises(FloatingPointError):
        _relu_check(300, crash_at=crash_at)  # (the copies are compared in _relu_check's finally)


@pytest.mark.parametrize("rule", ["momentum", "weight-decay", "clip-value"])
def test_update_rules_change_the_update_not_the_gradient(rule):
    P, x, t = _net()
    g = _gradient(P, x, t)
    lr = 0.1
    rng = np.random.default_rng(5)
    if rule == "momentum":  # the velocity carries earlier steps; the gradient is among the locals
        update = {k: lr * v + 0.9 * rng.normal(size=v.shape) * 1e-2 for k, v in g.items()}
        applied = [Applied("update", update), Applied("local", g, names={k: f"d{k}" for k in g})]
    elif rule == "weight-decay":
        applied = [Applied("update", {k: lr * (v + 1e-3 * P[k]) for k, v in g.items()}), Applied("returned", g)]
    else:  # np.clip(g, -c, c) with c hit by a few entries of W1
        c = np.sort(np.abs(g["W1"]).ravel())[-3]
        applied = [Applied("update", {k: lr * (np.clip(v, -c, c) if k == "W1" else v) for k, v in g.items()})]
    result = _check(applied)
    assert result.ok, [(v.name, v.worst) for v in result.failed]


@pytest.mark.parametrize("c", [5e-4, 1e-2, 0.3])
def test_weight_decay_is_read_from_a_residual_that_is_a_multiple_of_the_weights(c):
    # oracle: a synthetic derivative (with dead entries, as MNIST's border pixels give), plus c * W, plus rounding-sized
    # noise; the fit must give c back, and a derivative that is wrong in another way must not fit
    rng = np.random.default_rng(7)
    w = rng.normal(0, 0.1, 12)
    n = rng.normal(0, 1e-2, 12) * (rng.random(12) > 0.3)
    a = (n + c * w) * (1 + 1e-7 * rng.normal(size=12))
    assert weight_decay(a, n, w) == pytest.approx(c, rel=1e-4)
    assert weight_decay(n - c * w, n, w) is None  # pushes the weights away from zero: no decay
    assert weight_decay(-n + c * w, n, w) is None  # the sign flipped as well: the residual is -2n + cW
    assert weight_decay(1.3 * n + c * w, n, w) is None  # a factor wrong in this tensor
    assert weight_decay(n * (1 + 0.5 * rng.random(12)) + c * w, n, w) is None  # a derivative that varies
    assert weight_decay(n + c * w + 1e-2 * np.abs(w).max() * c * rng.normal(size=12), n, w) is None  # not one multiple
    # gradient ascent measured through noisy differences (a loss grown large, pytree-style MLP at update 3): the noise
    # term of the tolerance covers the residual -2n, but an update against the derivative is never read as decay
    assert weight_decay(-n + 1e-9 * w, n, w, noise=np.full(12, np.abs(n).max())) is None
    assert weight_decay(n + 1e-9 * w, n, w) is None  # the derivative itself: nothing to read as decay


def test_decay_written_into_the_gradient_is_no_mismatch_but_a_wrong_derivative_with_it_is():
    P, x, t = _net()
    g = _gradient(P, x, t)
    lr, wd = 0.1, 5e-3
    decayed = {k: lr * (v + (wd * P[k] if k.startswith("W") else 0)) for k, v in g.items()}
    result = _check([Applied("update", decayed)])
    assert result.ok, [(v.name, v.pattern) for v in result.failed]
    assert "weight decay read on W1, W2" in result.decay and "0.01 x W" in result.decay  # wd in units of the sum (the ½ in the factor)
    wrong = _gradient(P, x, t, "skip-output-sigma")
    bad = {k: lr * (v + (wd * P[k] if k.startswith("W") else 0)) for k, v in wrong.items()}
    assert not _check([Applied("update", bad)]).ok
    pushed = {k: lr * (v - (wd * P[k] if k.startswith("W") else 0)) for k, v in g.items()}
    assert {v.name for v in _check([Applied("update", pushed)]).failed} == {"W1", "W2"}


def test_the_shared_factor_is_read_from_the_tightest_ratios_not_a_decayed_weights():
    """Biases first and weights last (a program's own order): a small decay shifts each weight's ratio by ~1e-4, within
    the 1% the tensors agree to; the factor must still be the biases' exact one (lr times the loss's ½), or every fit of
    the decay on it is off by that shift."""
    P0, x, t = _net()
    P = {k: P0[k] for k in ("b1", "b2", "W1", "W2")}
    g = _gradient(P, x, t)
    work = {k: v.copy() for k, v in P.items()}
    applied = {k: g[k] + (1e-5 * P[k] if k.startswith("W") else 0) for k in P}
    result = check_update(lambda: _forward(work, x)[0], work, [Applied("returned", applied)],
                          assumed_losses(_forward(work, x)[0], t), biases=("b1", "b2"))
    assert result.ok and result.factor == pytest.approx(0.5, rel=1e-8)


@pytest.mark.parametrize("lr, wd", [(0.004, 5e-4), (0.001, 5e-4)])
def test_decay_is_read_in_the_gradient_when_a_float32_update_is_too_coarse_for_the_fit(lr, wd):
    """A float32 step ``W - lr * g`` keeps ~1e-3 of the step's bits beside W's rounding: the update reading cannot be
    fitted to derivative + c W, the float32 gradient the program returned can (c: the decay in units of the sum)."""
    P, x, t = _net()
    P32 = {k: v.astype(np.float32) for k, v in P.items()}
    g = _gradient({k: v.astype(np.float64) for k, v in P32.items()}, x, t)
    grads = {k: (g[k] + (wd * P32[k] if k.startswith("W") else 0)).astype(np.float32) for k in P}
    update = {k: (P32[k] - (P32[k] - np.float32(lr) * grads[k])).astype(np.float64) for k in P}
    work = {k: v.astype(np.float64) for k, v in P32.items()}
    result = check_update(lambda: _forward(work, x)[0], work,
                          [Applied("update", update), Applied("returned", {k: v.astype(np.float64) for k, v in grads.items()})],
                          assumed_losses(_forward(work, x)[0], t), biases=("b1", "b2"))
    assert result.ok, [(v.name, v.pattern) for v in result.failed]
    assert result.decay.startswith("weight decay read on W1, W2") and f"{2 * wd:.3g} x W" in result.decay
    assert f"taking {lr * wd:.3g} of every weight" in result.decay
    wrong = _gradient({k: v.astype(np.float64) for k, v in P32.items()}, x, t, "skip-output-sigma")
    bad = {k: (wrong[k] + (wd * P32[k] if k.startswith("W") else 0)).astype(np.float32) for k in P}
    bad_update = {k: (P32[k] - (P32[k] - np.float32(lr) * bad[k])).astype(np.float64) for k in P}
    assert not check_update(lambda: _forward(work, x)[0], work,
                            [Applied("update", bad_update), Applied("returned", {k: v.astype(np.float64) for k, v in bad.items()})],
                            assumed_losses(_forward(work, x)[0], t), biases=("b1", "b2")).ok


def test_class_index_targets_give_the_cross_entropies_and_squared_error():
    out = np.log(np.full((5, 4), 0.25))  # log-softmax rows
    names = [loss.name for loss in assumed_losses(out, np.array([0, 3, 1, 2, 0]))]
    assert names[0].startswith("squared error")
    assert any("softmax of the output" in n for n in names) and any("log-softmax" in n for n in names)
    assert assumed_losses(out, np.array([0, 7, 1, 2, 0])) == []  # a label beyond the classes fits nothing


def test_cross_entropy_on_softmax_matches_its_closed_form_gradient():
    rng = np.random.default_rng(3)
    W = rng.normal(size=(3, 4))
    x = rng.normal(size=(6, 4))
    y = np.array([0, 2, 1, 1, 0, 2])
    work = {"W": W.copy()}
    logits = x @ W.T
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    grad = (p - np.eye(3)[y]).T @ x / len(y)  # mean cross-entropy
    result = check_update(lambda: x @ work["W"].T, work, [Applied("returned", {"W": grad})],
                          assumed_losses(logits, y))
    assert result.ok and "softmax" in result.loss
    assert result.factor == pytest.approx(1 / len(y), rel=1e-6)  # summed loss assumed, mean gradient given


def _softmax_sample(seed: int = 4) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray]:
    """One sample through a softmax layer: (parameters, input, probabilities, its one-hot target)."""
    rng = np.random.default_rng(seed)
    P = {"W": rng.normal(size=(4, 6)), "b": rng.normal(size=4)}
    x = rng.normal(size=6)
    z = P["W"] @ x + P["b"]
    p = np.exp(z - z.max())
    return P, x, p / p.sum(), np.eye(4)[2]


def _softmax_out(P: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    z = P["W"] @ x + P["b"]
    e = np.exp(z - z.max())
    return e / e.sum()


def test_an_output_error_handed_along_stands_for_the_targets_it_was_computed_from():
    """A per-sample loop computes the cross-entropy's output error inline (``err = probs - onehot``) and hands it to
    its backward: taken as the targets, the squared error on the probabilities has a derivative that is exactly
    ``-2 p_y`` times the cross-entropy's (the softmax's Jacobian maps the one-hot target onto ``-p_y (p - t)``), so the
    right update read as a climb. The output minus the error is the one-hot target the program used."""
    from netdoctor.observe.numpy.update_window import target_rank

    P, x, p, onehot = _softmax_sample()
    err = p - onehot
    lr = 0.05
    applied = [Applied("update", {"W": lr * np.outer(err, x), "b": lr * err})]
    work = {k: v.copy() for k, v in P.items()}
    trap = check_update(lambda: _softmax_out(work, x), work, applied, assumed_losses(p, err))
    assert trap.climbs and abs(trap.factor) == pytest.approx(lr / (2 * p[2]), rel=1e-6)
    tier, targets = target_rank(err, p)
    assert tier == 1 and np.array_equal(targets, onehot)
    assert target_rank(onehot - p, p)[1].tolist() == onehot.tolist()  # t - out, the other sign
    right = check_update(lambda: _softmax_out(work, x), work, applied, assumed_losses(p, targets))
    assert right.ok and not right.climbs and "cross-entropy" in right.loss
    assert right.factor == pytest.approx(lr, rel=1e-6)


@pytest.mark.parametrize("guessed, severity", [(False, Severity.ERROR), (True, Severity.INFO)])
def test_a_climb_against_an_assumed_loss_is_an_error_only_when_its_targets_look_like_targets(guessed, severity):
    P, x, p, onehot = _softmax_sample()
    lr = 0.05
    applied = [Applied("update", {"W": -lr * np.outer(p - onehot, x), "b": -lr * (p - onehot)})]  # gradient ascent
    work = {k: v.copy() for k, v in P.items()}
    result = check_update(lambda: _softmax_out(work, x), work, applied, assumed_losses(p, onehot, guessed=guessed))
    assert result.climbs and result.targets_guessed is guessed
    (finding,) = update_check_findings([result])
    assert finding.severity == severity



def _squared_error_only(p: np.ndarray, onehot: np.ndarray, *, assumed: bool = True) -> list[LossChoice]:
    name = "squared error (assumed)" if assumed else "cost() (net.py:3)"
    return [LossChoice(name, lambda y: 0.5 * float(np.sum((y - onehot) ** 2)), assumed=assumed)]


@pytest.mark.parametrize("assumed, found", [(True, []), (False, [Severity.ERROR])], ids=["assumed", "own"])
def test_an_assumed_loss_that_no_tensor_follows_is_contradicted_not_reported(assumed, found):
    """A softmax layer trained on its cross-entropy (p - t), checked against squared error only: W and b disagree
    with it at every entry. Assumed, the program contradicts the assumption (nothing to report); the program's own
    loss disagreeing is an error."""
    P, x, p, onehot = _softmax_sample()
    lr = 0.05
    applied = [Applied("update", {"W": lr * np.outer(p - onehot, x), "b": lr * (p - onehot)})]  # right for CE
    work = {k: v.copy() for k, v in P.items()}
    result = check_update(lambda: _softmax_out(work, x), work, applied, _squared_error_only(p, onehot, assumed=assumed))
    assert not result.ok and not any(t.ok for t in result.tensors) and not result.climbs
    assert [f.severity for f in update_check_findings([result])] == found


def test_a_climb_of_an_assumed_loss_in_a_run_that_learns_is_contradicted():
    """Gradient ascent on the assumed cross-entropy is an error; the same check in a run whose training accuracy rises
    from chance to every row right says the program minimises another loss: nothing to report."""
    from netdoctor.rules.evidence import TrainingCurve

    P, x, p, onehot = _softmax_sample()
    applied = [Applied("update", {"W": -0.05 * np.outer(p - onehot, x), "b": -0.05 * (p - onehot)})]
    work = {k: v.copy() for k, v in P.items()}
    result = check_update(lambda: _softmax_out(work, x), work, applied, assumed_losses(p, onehot))
    assert result.climbs and result.loss_assumed
    learning = TrainingCurve(where="forward()", early=0.3, early_rows=256, early_updates=(2, 9), late=1.0,
                             late_rows=512, late_updates=(106, 179), chance=0.26, classes=4)
    stuck = dataclasses.replace(learning, late=0.3)
    assert [f.severity for f in update_check_findings([result], curve=stuck)] == [Severity.ERROR]
    assert update_check_findings([result], curve=learning) == []

def _batch_softmax_check(scale: float, at_update: int, w_factor: float = 1.0):
    """One update of a softmax layer on a batch of 16 rows, checked against the program's own clipped cross-entropy
    ``-mean(log(p_t + 1e-12))``: its weights ``scale`` times their first draw (large: half the rows' true class has
    probability 0 in float64, where the clipped loss is flat; the other half, small inputs, still move it), the update ``0.1 (p - t)`` as the formula gives it
    (``w_factor`` times that for W: a wrong weight gradient)."""
    rng = np.random.default_rng(11)
    P = {"W": scale * rng.normal(size=(16, 4)), "b": 0.3 * rng.normal(size=4)}
    x, t = rng.normal(size=(16, 16)), rng.integers(0, 4, 16)
    x[8:] *= 1e-3  # (rows whose logits stay moderate on large weights: the loss still moves there)
    T = np.eye(4)[t]

    def out(Q: dict[str, np.ndarray]) -> np.ndarray:
        z = x @ Q["W"] + Q["b"]
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    p = out(P)
    d = (p - T) / 16
    applied = [Applied("returned", {"W": w_factor * x.T @ d, "b": d.sum(axis=0)})]
    own = LossChoice("loss() (net.py:9)", lambda y: float(-np.mean(np.log(np.sum(y * T, axis=1) + 1e-12))),
                     assumed=False)
    work = {k: v.copy() for k, v in P.items()}
    result = check_update(lambda: out(work), work, applied, [own], biases=["b"])
    return dataclasses.replace(result, at_update=at_update), p[np.arange(16), t]


def test_a_mismatch_read_where_the_loss_went_flat_at_the_output_is_no_error():
    """The same right formula, checked twice: on moderate weights it agrees; on weights 200 times larger some rows'
    true class has probability 0 exactly, the clipped log is flat there while ``p - t`` is not, and every tensor
    disagrees, the output bias too (the loss's own derivative at the output). Read only there, the mismatch is info
    and says why; a weight gradient that is wrong while the output bias agrees stays an error."""
    early, _ = _batch_softmax_check(0.3, at_update=1)
    late, p_true = _batch_softmax_check(200.0, at_update=40)
    assert early.ok and (p_true == 0).any()  # (the oracle: rows whose clipped loss is flat exist)
    assert not late.ok and not next(v for v in late.tensors if v.name == "b").ok
    (finding,) = update_check_findings([early, late])
    assert finding.severity == Severity.INFO and finding.evidence["after_blow_up"]
    assert "gone flat at the output" in finding.message and "agreed at update 1" in finding.message
    wrong, _ = _batch_softmax_check(0.3, at_update=40, w_factor=3.0)
    assert [v.name for v in wrong.failed] == ["W"]
    (finding,) = update_check_findings([early, wrong])
    assert finding.severity == Severity.ERROR and not finding.evidence["after_blow_up"]


def _sigmoid_mlp_check(missing: bool, w2_factor: float = 1.0, at_update: int = 2, sign: float = 1.0):
    """One update of a sigmoid MLP 6 -> 8 -> 3 with a linear output on a batch of 16 rows, checked against the
    program's own squared error ``sum((out - T) ** 2) / (2 N)``: the returned gradients are those a right
    backward computes, or those without the hidden layer's ``h * (1 - h)`` (``missing``: a missing derivative), or with
    the output weight's gradient ``w2_factor`` times too large (a wrong output-layer gradient); ``sign`` -1: every
    gradient with its sign flipped (``t - out``) and subtracted at rate 0.1 (the step climbs)."""
    rng = np.random.default_rng(5)
    P = {"W1": rng.normal(size=(8, 6)), "b1": 0.1 * rng.normal(size=8),
         "W2": 0.5 * rng.normal(size=(3, 8)), "b2": 0.1 * rng.normal(size=3)}
    x, T = rng.normal(size=(16, 6)), rng.normal(size=(16, 3))

    def out(Q: dict[str, np.ndarray]) -> np.ndarray:
        h = 1.0 / (1.0 + np.exp(-(x @ Q["W1"].T + Q["b1"])))
        return h @ Q["W2"].T + Q["b2"]

    h = 1.0 / (1.0 + np.exp(-(x @ P["W1"].T + P["b1"])))
    d2 = (out(P) - T) / 16
    dz1 = d2 @ P["W2"] * (1.0 if missing else h * (1.0 - h))
    grads = {"W1": dz1.T @ x, "b1": dz1.sum(axis=0), "W2": w2_factor * d2.T @ h, "b2": d2.sum(axis=0)}
    applied = [Applied("returned", {k: sign * g for k, g in grads.items()})]
    if sign < 0:  # the step the program applies, 0.1 x the flipped gradient subtracted
        applied.insert(0, Applied("update", {k: 0.1 * sign * g for k, g in grads.items()}))
    own = LossChoice("loss() (net.py:9)", lambda y: float(np.sum((y - T) ** 2) / 32), assumed=False)
    work = {k: v.copy() for k, v in P.items()}
    result = check_update(lambda: out(work), work, applied, [own], biases=["b1", "b2"])
    return dataclasses.replace(result, at_update=at_update)


def test_a_hidden_mismatch_beside_an_agreeing_output_layer_is_no_blow_up():
    """A missing hidden derivative makes the hidden layer's step several times larger (sigmoid' <= 1/4 left out), so
    the first steps can exceed the weights' own size and count as a blow-up (np2429: update/weight 1.05 at update 2).
    Blown-up weights saturate the loss at the output, where the output layer's gradients disagree first; an output
    layer that agrees while only the hidden one disagrees is the wrong derivative itself: an error, not info. A
    wrong output-layer gradient read after the blow-up stays info, and the healthy twin has no finding."""
    right = _sigmoid_mlp_check(missing=False)
    assert right.ok and update_check_findings([right], blown_at=1) == []
    missing = _sigmoid_mlp_check(missing=True)
    assert [v.name for v in missing.failed] == ["W1", "b1"]  # (the oracle: the output layer's tensors agree)
    (finding,) = update_check_findings([missing], blown_at=1)
    assert finding.severity == Severity.ERROR and not finding.evidence["after_blow_up"]
    assert "blew up" not in finding.message and finding.where.startswith("W1")
    wrong_out = _sigmoid_mlp_check(missing=False, w2_factor=3.0)
    assert "W2" in [v.name for v in wrong_out.failed]
    (finding,) = update_check_findings([wrong_out], blown_at=1)
    assert finding.severity == Severity.INFO and finding.evidence["after_blow_up"]
    (finding,) = update_check_findings([missing], blown_at=None)  # (no blow-up: the same error)
    assert finding.severity == Severity.ERROR


def test_a_climb_read_after_a_blow_up_is_still_a_climb():
    """Gradient ascent grows its own steps: the step after update 1 can exceed the weights' size (np2523: 1.2x at
    update 2, then every tensor of the next step at -0.0045 of its derivative, spread 1e-7), which counts as a blow-up.
    Blown-up weights saturate the loss, whose finite differences then read ~0 where the formula is not: ratios huge or
    scattered, never one negative factor every tensor shares. A climb read there is an error, as without the blow-up;
    a wrong output-layer gradient read there stays info."""
    flipped = _sigmoid_mlp_check(missing=False, sign=-1.0)
    assert flipped.climbs and all(v.ratio < 0 for v in flipped.tensors)  # (the oracle: one negative factor)
    (finding,) = update_check_findings([flipped], blown_at=1)
    assert finding.severity == Severity.ERROR and not finding.evidence["after_blow_up"]
    assert "blew up" not in finding.message
    (unblown,) = update_check_findings([flipped], blown_at=None)
    assert unblown.severity == finding.severity and unblown.where == finding.where
    wrong_out = _sigmoid_mlp_check(missing=False, w2_factor=3.0)
    (finding,) = update_check_findings([wrong_out], blown_at=1)
    assert finding.severity == Severity.INFO and finding.evidence["after_blow_up"]


def test_a_velocity_s_intake_against_class_0_of_one_output_unit_is_read_as_its_one_hot_row():
    """Labels all 0 size a one-unit output, and ``np.eye(1)[t]`` makes each target the value 1. A heavy ball's intake
    (``v = mu * v - lr * g``: ``lr * g`` taken in) is then ``lr`` times the derivative against that row, and, read
    against the value 0, a multiple of the other loss's derivative whose sign is the output's: negative for an output
    in (0, 1). Both losses explain every tensor; the one it descends is taken (npw1125: read against 0, a false
    gradient-mismatch error, "the update climbs the loss")."""
    rng = np.random.default_rng(3)
    P, x = {"W": 0.1 * rng.normal(size=(1, 5)), "b": np.array([0.3])}, rng.normal(size=5)
    lr = 0.05

    def out(Q: dict[str, np.ndarray]) -> np.ndarray:
        return (Q["W"] @ x + Q["b"]).reshape(1, 1)

    y = out(P)
    assert 0 < y.item() < 1  # (the oracle: the two readings' factors have opposite signs here)
    d = y.item() - 1.0  # the derivative of (out - 1)^2 / 2 at the output: the one-hot row of class 0
    applied = [Applied("velocity", {"W": lr * d * x.reshape(1, 5), "b": np.array([lr * d])})]
    work = {k: v.copy() for k, v in P.items()}
    result = check_update(lambda: out(work), work, applied, assumed_losses(y, np.array([0])), biases=["b"])
    assert "one-hot row of class 0" in result.loss and result.ok
    assert result.factor == pytest.approx(lr / 2, rel=1e-4) and not result.climbs  # (the squared error's sum: 2 d)


# -- the replay: the program's call again, on copies ---------------------------------------------------
class _Net:
    def __init__(self) -> None:
        self.W = np.ones((3, 4))
        self.samples = [np.zeros((4, 1)) for _ in range(12_000)]  # a data set kept one array per sample

    def forward(self, x: np.ndarray) -> np.ndarray:
        np.random.rand()  # draws from the global generator: the replay must put its state back
        print("forward")  # the program's own output: swallowed in a replay
        return self.W @ x


def test_a_replay_computes_with_the_working_copy_and_leaves_the_program_alone(capsys):
    from netdoctor.observe.numpy.replay import CallSite, Replay

    net, sites = _Net(), []

    def tracer(frame, event, arg):
        if event == "call" and frame.f_code is _Net.forward.__code__:
            sites.append(CallSite.of(frame))

    sys.settrace(tracer)
    try:
        net.forward(np.ones((4, 1)))
    finally:
        sys.settrace(None)
    capsys.readouterr()
    work = np.full((3, 4), 2.0)
    state = np.random.get_state()[1].copy()
    replay = Replay(sites[0], {id(net.W): work})
    assert np.array_equal(replay.call(), np.full((3, 1), 8.0))  # 2 * 4 ones: the working copy, not W
    assert np.array_equal(np.random.get_state()[1], state) and capsys.readouterr().out == ""
    assert np.array_equal(net.W, np.ones((3, 4)))
    samples = replay.args["self"].samples  # a long list of samples: its items shared, never copied; the list itself
    assert samples is not net.samples and all(a is b for a, b in zip(samples, net.samples))  # is (an append lands there)


class _State:
    def __getattr__(self, name: str):  # the program's own hook: a copy must not ask it anything
        _STATE_ASKED.append(name)
        raise AttributeError(name)


_STATE_ASKED: list[str] = []
_W = np.ones((2, 3))
_STATE = _State()
_STATE.out = np.zeros((2, 1))


def _stores(x: np.ndarray) -> None:
    _STATE.out = _W @ x  # a forward that keeps its output on a global object and returns nothing


def test_a_replayed_forward_writes_into_copies_and_its_output_is_read_where_it_stored_it():
    from netdoctor.observe.numpy.replay import CallSite, Replay, float_arrays

    _STATE_ASKED.clear()  # (pytest's collection asks module objects for __test__)
    sites = []

    def tracer(frame, event, arg):
        if event == "call" and frame.f_code is _stores.__code__:
            sites.append(CallSite.of(frame))

    sys.settrace(tracer)
    try:
        _stores(np.ones((3, 1)))
    finally:
        sys.settrace(None)
    program_out = _STATE.out
    before = {p: id(a) for p, a in float_arrays(sites[0].roots()).items()}
    assert (("global", "_STATE"), ("attr", "out")) in before
    replay = Replay(sites[0], {id(_W): np.full((2, 3), 2.0)})
    assert replay.call() is None
    assert np.array_equal(replay.read((("global", "_STATE"), ("attr", "out"))), np.full((2, 1), 6.0))
    assert _STATE.out is program_out and np.array_equal(program_out, np.full((2, 1), 3.0))  # the program's, untouched
    assert _STATE_ASKED == []


# -- whole programs under netdoctor run -----------------------------------------------------------------
CASES = {
    # (program, variant): tensor the finding must name (prefix of ``where``), or None for a twin
    ("column_class", ""): None,
    ("column_class", "no-output-sigma"): "self.weights[1]",
    ("column_class", "hidden-skips-output-sigma"): "self.weights[0]",
    ("column_class", "summed"): None,
    ("dict_notebook", ""): None,
    ("dict_notebook", "scalar-gradient"): "params['W1']",
    ("dict_notebook", "sign-flip"): "params['W1']",
    ("dict_notebook", "momentum"): None,
    ("dict_notebook", "weight-decay"): None,
    ("layer_objects", ""): None,
    ("layer_objects", "input-grad-after-step"): "weights",
    ("layer_objects", "clip-value"): None,
    ("layer_objects", "clip-norm"): None,
    ("module_loop", ""): None,
    ("module_loop", "stale-weights"): "W1",
    ("module_loop", "summed"): None,
    ("delta_rule", ""): None,
    ("delta_rule", "ascent"): "W2",
}
PATTERNS = {("dict_notebook", "scalar-gradient"): "same number", ("dict_notebook", "sign-flip"): "opposite sign",
            ("delta_rule", "ascent"): "flip the sign of the output error"}


def _run(case: tuple[str, str]) -> dict:
    program, variant = case
    out = Path(os.environ.get("TMPDIR", "/tmp")) / f"update_check_{os.getpid()}_{program}_{variant or 'healthy'}.json"
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", NO_COLOR="1", COLUMNS="100")
    env.pop("PYTHONPATH", None)
    args = [sys.executable, "-m", "netdoctor.cli", "run", "--json", str(out), str(PROGRAMS / f"{program}.py")]
    subprocess.run(args + ([variant] if variant else []), capture_output=True, text=True, env=env, timeout=300)
    try:
        return json.loads(out.read_text(encoding="utf-8"))
    finally:
        out.unlink(missing_ok=True)


@cache
def _reports() -> dict[tuple[str, str], dict]:
    with ThreadPoolExecutor(2) as pool:
        return dict(zip(CASES, pool.map(_run, CASES)))


@pytest.mark.parametrize("case", list(CASES), ids=[f"{p}-{v or 'healthy'}" for p, v in CASES])
def test_each_bug_is_named_on_its_tensor_and_no_twin_gets_a_mismatch(case):
    report = _reports()[case]
    notes = report.get("context", {}).get("notes", [])
    assert any(n.startswith("update check:") for n in notes), notes  # the check ran: silence is earned
    mismatches = [f for f in report["findings"] if f["code"] == "gradient-mismatch"]
    tensor = CASES[case]
    if tensor is None:
        assert mismatches == [], mismatches
        return
    (finding,) = mismatches
    assert tensor in finding["where"], finding["where"]
    assert finding["severity"] == "error"  # each program has a loss function of its own
    if case in PATTERNS:
        assert PATTERNS[case] in finding["fix"], finding["fix"]


# -- the forum program (shared/seed/, beside the repository) --------------------------------------------
def _forum(tmp_path: Path, *extra: str) -> dict:
    from shared_files import MNIST_TEST, SEED, have_real_data, shuffled_train_csv

    if not (have_real_data() and (SEED / "train.py").exists()):
        pytest.skip("shared/ (MNIST data and the forum program) not beside the repository")
    train = shuffled_train_csv(tmp_path, rows=1500)
    test = tmp_path / "test.csv"
    np.savetxt(test, np.loadtxt(MNIST_TEST, delimiter=",", max_rows=200), delimiter=",", fmt="%d")
    out = tmp_path / "report.json"
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", NO_COLOR="1")
    env.pop("PYTHONPATH", None)
    subprocess.run([sys.executable, "-m", "netdoctor.cli", "run", "--json", str(out), str(SEED / "train.py"),
                    str(train), str(test), "1", *extra], cwd=tmp_path, env=env, capture_output=True, text=True,
                   timeout=600)
    return json.loads(out.read_text(encoding="utf-8"))


def test_the_forum_programs_backprop_is_not_called_a_mismatch(tmp_path):
    report = _forum(tmp_path)
    codes = {f["code"] for f in report["findings"]}
    # its backpropagation is the gradient of its squared error; what it applies differs in named ways
    assert "gradient-mismatch" not in codes
    assert {"summed-gradient", "aliased-buffers"} <= codes, codes
    notes = report["context"].get("notes", [])
    # checked, or why not: by the time the network is found its tanh units are saturated flat
    assert any(n.startswith("update check") for n in notes), notes


def test_the_forum_programs_backprop_checked_where_its_gradient_lives(tmp_path):
    """``--fixed`` keeps the same backpropagation() (only train() differs): its updates are checked, and agree."""
    report = _forum(tmp_path, "--fixed")
    assert "gradient-mismatch" not in {f["code"] for f in report["findings"]}
    notes = report["context"].get("notes", [])
    assert any(n.startswith("update check: ") and "update(s) compared" in n for n in notes), notes


# -- a trainer in closure cells (tests/backprop_programs/closure_cells.py) --------------------------------
CLOSURE = ("", "ascent", "no-tanh-derivative", "summed")


@cache
def _closure_reports() -> dict[str, dict]:
    with ThreadPoolExecutor(2) as pool:
        return dict(zip(CLOSURE, pool.map(_run, [("closure_cells", v) for v in CLOSURE])))


@pytest.mark.parametrize("variant", CLOSURE, ids=[v or "healthy" for v in CLOSURE])
def test_a_trainer_in_closure_cells_is_checked_on_the_output_it_stored_and_the_step_it_applied(variant):
    """The forward stores its output in a dict held by a closure cell, the targets reach only the gradient
    function (not the forward: it keeps the batch in that dict), and the loop hands each parameter to a helper
    that applies the step: the window spans the whole step and the update is compared with the output's
    cross-entropy (the program has no loss function: the finding is a warning)."""
    report = _closure_reports()[variant]
    notes = report.get("context", {}).get("notes", [])
    assert any(n.startswith("update check: 3 update(s) compared") for n in notes), notes
    assert not any(n.startswith("update check not run") for n in notes), notes
    by_code = {f["code"]: f for f in report["findings"]}
    if variant == "":
        assert [f for f in report["findings"] if f["severity"] != "info"] == [], report["findings"]
    elif variant == "ascent":
        f = by_code["gradient-mismatch"]
        assert f["severity"] == "error" and f["evidence"]["climbs"], f
        assert f["evidence"]["factor"] == pytest.approx(0.5 / 25, rel=1e-6)  # the learning rate of the mean
    elif variant == "no-tanh-derivative":
        f = by_code["gradient-mismatch"]
        assert f["where"].startswith("theta['W1']") and not f["evidence"]["climbs"], f
    else:
        f = by_code["summed-gradient"]
        assert f["evidence"]["lr_factor"] == 25 and f["evidence"]["batch"] == 25, f["evidence"]
        assert "gradient-mismatch" not in by_code


# -- a run that diverges: the update count stops, and the header says so ------------------------------------
@pytest.mark.parametrize("variant", ["", "ascent"], ids=["healthy", "ascent"])
def test_a_run_whose_weights_became_nan_says_from_which_update_on_the_count_stopped(variant):
    """diverging.py makes 200 steps. Ascending, its weights are NaN within a few dozen, and a NaN weight stays NaN:
    the steps after that move nothing the count can see. The header says from which update on and why (issue 21:
    no run that saw fewer than half the updates without a note); the healthy twin counts all 200 and says nothing."""
    from generated.harness import SAYS_TOO_FEW

    report = _run(("diverging", variant))
    ctx = report["context"]
    stopped = [n for n in ctx.get("notes", []) if "updates were not counted" in n]
    if variant == "":
        assert ctx["updates_observed"] == 200 and stopped == [], ctx
        assert [f["code"] for f in report["findings"]] == []
        return
    assert ctx["updates_observed"] < 100
    (note,) = stopped
    assert note.startswith(f"from update {ctx['updates_observed']} on, updates were not counted: the weights became "
                           "non-finite (self.W1, self.b1, self.W2, ...: NaN or Inf first seen at update "), note
    assert SAYS_TOO_FEW.search(note)
    assert {"gradient-mismatch", "non-finite"} <= {f["code"] for f in report["findings"]}


# -- one sample at a time, gradients accumulated and applied per mini-batch (outer_products.py) -------------------
@pytest.mark.parametrize("variant", ["", "summed", "ascent"], ids=["healthy", "summed", "ascent"])
def test_per_sample_gradients_are_followed_to_the_update_that_applies_the_batch(variant):
    """Each sample is a 1-D vector handed with its class index (an int: the target), its gradient added into a dict
    of buffers; an update inline in the module applies them per mini-batch of 16. The check compares one sample's
    buffer increment, then follows the buffers to the update: their scale there measures the batch (summed: 16x
    the mean's step), their direction tells a step added from one subtracted."""
    report = _run(("outer_products", variant))
    notes = report.get("context", {}).get("notes", [])
    assert any(n.startswith("update check: ") and "compared" in n for n in notes), notes
    by_code = {f["code"]: f for f in report["findings"]}
    if variant == "":
        assert [f for f in report["findings"] if f["severity"] != "info"] == [], report["findings"]
    elif variant == "summed":
        f = by_code["summed-gradient"]
        assert f["evidence"]["measured"] == "update" and f["evidence"]["batch"] == 16, f["evidence"]
        assert f["evidence"]["lr_factor"] == pytest.approx(16, rel=0.05)
        assert "gradient-mismatch" not in by_code
    else:
        f = by_code["gradient-mismatch"]
        assert f["severity"] == "error" and f["evidence"]["climbs"], f
        assert "added by the program" in f["message"] and f["fix"].startswith("subtract the step"), f


def test_windows_open_only_in_deep_windows():
    """Between the tracer's deep windows the step may run untraced (held): the check asks for no window there, so it
    never keeps the step traced while it waits for a boundary; whether it may still want one later is asked apart (the
    observer stops tracing functions it followed only for the check when it may not)."""
    from netdoctor.observe.numpy.update_recorder import UpdateCheckRecorder

    rec = UpdateCheckRecorder(updates=lambda: 10)
    assert rec.wants(10) and rec.near(10) and rec.may_want()
    rec.deep = False
    assert not rec.wants(10) and rec.near(10) and rec.may_want()  # (near: the forward's template is still taken)
    rec.deep = True
    rec.done = "stopped looking"
    assert not rec.wants(10) and not rec.near(10) and not rec.may_want()


def test_an_idle_check_is_one_the_observers_entry_test_would_ask_nothing_of():
    """The observer ends its entry test at every call where :meth:`UpdateCheckRecorder.idle` says so: there every
    question it would ask must be answered no (no window to feed, none to offer, no forward template to take); over
    the recorder's states (boundary, attempts, stopped, template, a step waiting, a watch) and the update counts."""
    import itertools

    from netdoctor.observe.numpy.update_recorder import CHECK_AT, UpdateCheckRecorder

    rec = UpdateCheckRecorder(updates=lambda: 0)
    idle = 0
    states = itertools.product(range(len(CHECK_AT) + 1), (0, 30), ("", "stopped"), (None, "template"), ((), ("step",)),
                               (None, "watch"), (True, False))
    for nxt, attempts, done, template, pending, watch, deep in states:
        rec._next, rec._attempts, rec.done, rec.deep = nxt, attempts, done, deep
        rec.template, rec.pending, rec.watch = template, list(pending), watch  # type: ignore[assignment]
        for updates in range(0, 60):
            if rec.idle(updates):
                idle += 1
                asked = (rec.busy, rec.wants(updates), rec.pending, rec.template is None, rec.near(updates + 2))
                assert not any(asked), (nxt, attempts, done, template, pending, watch, deep, updates, asked)
    assert idle > 500  # (the waits between boundaries, and after the last one)


def test_a_call_site_that_opened_no_window_is_offered_once_per_update():
    """The recorder's entry test (the observer offers it every call of the program while a check may open): a call
    site (this function called from that one) whose offer opened no window is not looked at again until the update
    count moves; another call site is looked at, and at the next update the first one is again."""
    from netdoctor.observe.numpy.update_recorder import TrackedArray, UpdateCheckRecorder

    W = np.zeros((4, 3))
    updates = [1]
    rec = UpdateCheckRecorder(updates=lambda: updates[0])
    params = [TrackedArray("W", lambda: W)]

    def act(z):  # handed no batch of width 4: no window
        rec.offer(sys._getframe(), lambda: list(params), 4)

    def loop(n):
        for _ in range(n):
            act(np.ones(3))

    def other():
        act(np.ones(3))

    loop(50)
    assert rec.offers == 1 and rec.window is None
    other()
    assert rec.offers == 2  # act() called from other(): another site
    updates[0] = 2
    loop(50)
    assert rec.offers == 3


def test_the_update_check_stops_looking_once_chances_in_a_row_compared_nothing():
    """A window wanted at every update and none opening (no call handed a batch): after ``GIVE_UP_AFTER`` updates in a
    row the check stops for good (``wants`` False even for the last boundary, so the observer can stop tracing what
    it followed only for it), and its note says so; a step waiting for the program's forward holds it back."""
    from netdoctor.observe.numpy.update_recorder import GIVE_UP_AFTER, TrackedArray, UpdateCheckRecorder

    W = np.zeros((4, 3))
    for waiting in (False, True):
        updates = [0]
        rec = UpdateCheckRecorder(updates=lambda updates=updates: updates[0])
        params = [TrackedArray("W", lambda: W)]
        if waiting:
            rec.pending = [(0, None, [])]  # type: ignore[list-item]

        def act(z, rec=rec, params=params):  # handed no batch of width 4: no window
            rec.offer(sys._getframe(), lambda: list(params), 4)

        for u in range(GIVE_UP_AFTER):
            updates[0] = u
            act(np.ones(3))
            assert rec.wants(u) and not rec.done, (u, rec.done)
        updates[0] = GIVE_UP_AFTER
        act(np.ones(3))
        if waiting:
            assert rec.wants(GIVE_UP_AFTER) and not rec.done
            continue
        assert not rec.wants(GIVE_UP_AFTER) and not rec.wants(sys.maxsize)
        rec.pending = []
        (note,) = [n for n in rec.notes() if "stopped looking" in n]
        assert f"at update {GIVE_UP_AFTER}" in note and "0 step(s) compared in all" in note, note
        assert note.startswith("update check stopped looking at update"), note


def test_the_checks_cpu_time_is_counted_once_when_its_work_nests():
    """A window closed from inside a call the recorder hears (and checked there) is timed by both: only the outermost
    counts, in CPU time (the note says "N s of CPU"; it was counted twice, partly in wall time)."""
    import time

    from netdoctor.observe.numpy.update_recorder import UpdateCheckRecorder

    rec = UpdateCheckRecorder(updates=lambda: 0)
    before = time.process_time()
    outer = rec._clock_in()
    inner = rec._clock_in()
    assert outer is not None and inner is None
    # (the loop's clock starts after the recorder's: its 0.2 s lie inside what the recorder counts, whatever the clock's
    # granularity; the bound above starts before it)
    start = time.process_time()
    x = np.random.default_rng(0).normal(size=(200, 200))
    while time.process_time() - start < 0.2:
        x = np.tanh(x @ x.T / 200)
    rec._clock_out(inner)
    rec._clock_out(outer)
    spent = time.process_time() - before
    assert 0.2 <= rec.seconds <= spent
    again = rec._clock_in()  # the outermost ended: the next work is counted again
    assert again is not None
    rec._clock_out(again)


def test_the_nan_forwards_run_only_for_copies_the_checks_own_forwards_did_not_show_read():
    # a forward that computes with W1, b1, W2, b2 and not with a fifth copy: the check's directional forwards move each
    # of the four alone and change the output, so only the fifth gets its NaN forward (four forwards fewer, each as
    # costly as a training step on a full batch), and it is still found unread
    from netdoctor.observe.numpy.update_closing import _deaf, _Heard

    P, x, t = _net()
    work = {**{k: v.copy() for k, v in P.items()}, "unused": np.ones((2, 3))}
    calls = []

    def forward() -> np.ndarray:
        calls.append(1)
        return _forward(work, x)[0]

    kept = {k: v.copy() for k, v in work.items()}
    base = forward()
    heard = _Heard(forward, base, work, kept)
    g = _gradient(P, x, t)
    check_update(heard, work, [Applied("update", {k: 0.3 * v for k, v in g.items()})], assumed_losses(base, t))
    assert heard.heard == {"W1", "b1", "W2", "b2"}
    before = len(calls)
    assert _deaf(forward, work, heard.heard) == ["unused"] and len(calls) - before == 1
    assert all(np.array_equal(work[k], kept[k]) for k in work)
    assert _deaf(forward, work) == ["unused"] and len(calls) - before == 1 + 5  # (every copy, without what was heard)


def test_the_note_of_a_check_without_targets_says_what_was_not_seen():
    """With no targets seen in the whole run, the forward may well take the step's batch: the note says the targets
    were missing ("forward() does not take the batch of step()" was shown when no targets were found)."""
    from netdoctor.observe.numpy.backend import _no_targets_note

    note = _no_targets_note("update check not run: forward() does not take the batch of step()")
    assert "does not take" not in note and "targets of step()'s steps were never seen" in note and "forward()" in note
    other = "update check not run: the network's input width is not known (its layers were not found in order)"
    assert _no_targets_note(other) == other


def _window(work: dict[str, np.ndarray]) -> object:
    """What the closing of a window reads of it: the working copies."""
    from types import SimpleNamespace

    return SimpleNamespace(work=work)


def _settled_check() -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, object]:
    """A healthy step decided along the directions alone: the working copies, the batch, its targets, the check."""
    P, x, t = _net()
    work = {k: v.copy() for k, v in P.items()}
    base = _forward(work, x)[0]
    g = _gradient(P, x, t)
    check = check_update(lambda: _forward(work, x)[0], work, [Applied("update", {k: 0.3 * v for k, v in g.items()})],
                         assumed_losses(base, t))
    assert check.ok and check.directions and not check.coords  # (the premise: the directions settled it)
    return work, x, t, check


def test_the_forward_is_called_again_only_for_a_check_the_directions_did_not_settle():
    # the second call at the kept copies tells a forward that draws anew at each call (dropout); a check settled along
    # its directions (every tensor right, no entry compared) rules that out already: one forward fewer, as costly as a
    # training step on a full batch
    from netdoctor.observe.numpy.update_closing import _unsettled

    work, x, _, check = _settled_check()
    calls = []

    def forward() -> np.ndarray:
        calls.append(1)
        return _forward(work, x)[0]

    base = forward()
    kept = {k: v.copy() for k, v in work.items()}
    assert _unsettled(forward, base, check, _window(work), kept) == "" and len(calls) == 1
    entries = dataclasses.replace(check, coords=12)  # compared at entries: the forward is called once more
    assert _unsettled(forward, base, entries, _window(work), kept) == "" and len(calls) == 2


def test_a_forward_that_draws_anew_at_every_call_is_never_settled_and_is_named_by_its_second_call():
    # dropout drawn at each call moves the loss by far more than a step of h: the directions explain no step of it,
    # so the second call is made, and its other output drops the check ("another output at every call")
    from netdoctor.observe.numpy.update_closing import _NOISY, _unsettled

    P, x, t = _net()
    work = {k: v.copy() for k, v in P.items()}
    masks = np.random.default_rng(5)

    def forward() -> np.ndarray:
        h = _sigmoid(work["W1"] @ x + work["b1"]) * (masks.random((6, 4)) < 0.8) / 0.8
        return _sigmoid(work["W2"] @ h + work["b2"])

    base = forward()
    g = _gradient(P, x, t)  # (what its backward computes without the masks)
    check = check_update(forward, work, [Applied("update", {k: 0.3 * v for k, v in g.items()})], assumed_losses(base, t))
    assert not (check.tensors and check.ok and check.directions and not check.coords)
    kept = {k: v.copy() for k, v in work.items()}
    assert _unsettled(forward, base, check, _window(work), kept) == _NOISY


def test_a_forward_that_wrote_into_its_copies_during_a_settled_check_drops_it_and_they_are_put_back():
    from netdoctor.observe.numpy.update_closing import _WRITES, _unsettled

    work, x, _, check = _settled_check()
    kept = {k: v.copy() for k, v in work.items()}
    work["b2"] -= 0.1  # a training step run by one of the check's calls
    assert _unsettled(lambda: _forward(work, x)[0], _forward(kept, x)[0], check, _window(work), kept) == _WRITES
    assert all(np.array_equal(work[k], kept[k]) for k in work)
