"""The velocity read from the steps (netdoctor/observe/numpy/velocity.py): windows written by the update rules
themselves, in every spelling of momentum, must give back the rule's own numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from netdoctor.observe.numpy.velocity import decay_only, effective_steps, fit_velocity, intakes


def _windows(rule: str, *, mu: float = 0.9, lr: float = 0.05, n: int = 12, size: int = 40, start: int = 4,
             skip: tuple[int, ...] = ()) -> list[dict]:
    """Windows of ``n`` consecutive updates (numbered from ``start``) of one rule on random gradients: ``delta`` the
    change of the parameters, ``A`` the gradient the window applied. ``skip``: updates left out (held)."""
    rng = np.random.default_rng(3)
    p, v = rng.normal(size=size), np.zeros(size)
    out = []
    for u in range(start, start + n):
        g = rng.normal(size=size)
        before = p.copy()
        if rule == "heavy":  # v = mu v - lr g; p += v
            v = mu * v - lr * g
            p += v
        elif rule == "heavy-b":  # v = mu v + g; p -= lr v
            v = mu * v + g
            p -= lr * v
        elif rule == "ema":  # v = mu v + (1 - mu) g; p -= lr v
            v = mu * v + (1 - mu) * g
            p -= lr * v
        elif rule == "nesterov":  # v = mu v - lr g; p += mu v - lr g
            v = mu * v - lr * g
            p += mu * v - lr * g
        else:  # plain SGD
            p -= lr * g
        if u not in skip:
            out.append({"update": u, "delta": p - before, "w": p.copy(), "A": g.copy()})
    return out


def applied(w: dict) -> np.ndarray | None:
    return w.get("A")


@pytest.mark.parametrize("rule, mu, step, rate", [
    ("heavy", 0.9, 0.05, 0.5), ("heavy-b", 0.5, 0.05, 0.1), ("ema", 0.9, 0.005, 0.05), ("nesterov", 0.9, 0.05, 0.5),
])
def test_every_spelling_of_momentum_gives_back_its_decay_step_and_effective_rate(rule, mu, step, rate):
    fit = fit_velocity(_windows(rule, mu=mu), applied)
    assert fit is not None
    assert fit.mu == pytest.approx(mu, rel=1e-9)
    assert fit.step == pytest.approx(step, rel=1e-9)  # what a window's gradient moves the weights by, at once
    assert fit.rate == pytest.approx(rate, rel=1e-9)  # lr / (1 - mu): the step of a gradient that stays
    assert fit.resid < 1e-9 and fit.plain > 0.05


def test_plain_sgd_is_no_velocity():
    assert fit_velocity(_windows("sgd"), applied) is None


def test_steps_that_repeat_themselves_are_no_velocity():
    """A weight decay's share of the weights taken at every update while the loss's gradient is ~0 (one output unit
    regressed onto a constant target, npw0604): each step is the last one again, which fits ``mu = 1`` to rounding and a
    rate ``(c + e) / (1 - mu)`` of noise. What was applied is a tiny gradient unrelated to the steps."""
    rng = np.random.default_rng(5)
    p = rng.normal(size=40)
    out = []
    for u in range(4, 16):
        before = p.copy()
        p -= 0.01 * 0.0005 * before  # lr * wd * W: the same step, to 5e-6 of itself, at every update
        out.append({"update": u, "delta": p - before, "A": rng.normal(size=40) * 1e-12})
    assert fit_velocity(out, applied) is None
    assert decay_only(1.0 - 1e-12) is None and decay_only(0.99) is not None


def test_too_few_consecutive_windows_give_no_velocity():
    # windows in pairs (held stretches between them): no window has the two before it
    ws = _windows("heavy", n=12, skip=(6, 9, 12))
    assert fit_velocity(ws, applied) is None


def test_the_step_per_window_is_read_from_each_window_and_the_effective_steps_are_the_rate_times_the_gradient():
    ws = _windows("heavy", mu=0.9, lr=0.05)
    fit = fit_velocity(ws, applied)
    assert fit is not None
    per = intakes(fit, ws, applied)
    assert len(per) == len(ws) - 2 and all(c == pytest.approx(0.05, rel=1e-9) and r < 1e-9 for _, c, r in per)
    eff = effective_steps(fit, ws, applied)
    assert len(eff) == len(ws)
    for w, s in eff:
        assert np.allclose(s, -0.5 * w["A"])


def test_without_the_gradient_the_effective_step_is_the_step_with_the_velocity_taken_out():
    ws = _windows("heavy", mu=0.9, lr=0.05)
    fit = decay_only(0.9)
    assert fit is not None and math.isnan(fit.rate)
    eff = effective_steps(fit, ws, lambda w: None)
    assert len(eff) == len(ws) - 2  # the windows with two before them
    for w, s in eff:  # (delta_t - mu delta_(t-1)) / (1 - mu) = -lr g / (1 - mu)
        assert np.allclose(s, -0.5 * w["A"])
    assert decay_only(0.0) is None and decay_only(1.0) is None and decay_only(math.nan) is None


def test_a_buffer_emptied_at_every_update_is_no_velocity():
    """A step that adds its gradient buffer (``b -= lr / n * nabla_b``) whose buffer starts from fresh zeros at every
    update keeps nothing of its last values (decay 0): it is read as a buffer, not as a velocity's intake (which read
    the whole buffer, not what the window added to it, and made the fixed forum program's right gradient a mismatch).
    A buffer that keeps a share of itself is a velocity."""
    from netdoctor.observe.numpy.steps import Steps

    steps = Steps(np.random.default_rng(0))
    steps.via = {"net.biases[1]": (-0.001, "net.bias_updates[1]"), "net.weights[1]": (1.0, "net.vel[1]")}
    steps.decays = {"net.bias_updates[1]": [0.0, 0.0, 0.0], "net.vel[1]": [0.9, 0.9]}
    assert steps.velocity_decays() == {"net.vel[1]": (0.9, 1.0)}


def _velocity_step(rule: str, mu: float, lr: float, v: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, float]:
    """The velocity after one step of ``rule`` and the factor ``f`` of the parameter's step ``p += f * v`` (None-free:
    Nesterov's step reads two arrays, its ``f`` is that of its velocity's own heavy ball)."""
    if rule in ("heavy", "nesterov"):  # v = mu v - lr g; p += v (Nesterov: p += mu v - lr g)
        return mu * v - lr * g, 1.0
    if rule == "heavy-b":  # v = mu v + g; p -= lr v
        return mu * v + g, -lr
    return mu * v + (1 - mu) * g, -lr  # ema: v = mu v + (1 - mu) g; p -= lr v


@pytest.mark.parametrize("mu", [0.5, 0.9])
@pytest.mark.parametrize("rule, taken_in, applied", [
    ("heavy", lambda mu, lr: -lr, lambda mu, lr: lr),
    ("heavy-b", lambda mu, lr: 1.0, lambda mu, lr: lr),
    ("ema", lambda mu, lr: 1 - mu, lambda mu, lr: lr * (1 - mu)),
    ("nesterov", lambda mu, lr: -lr, lambda mu, lr: lr),
])
def test_a_velocity_s_intake_is_its_rule_s_coefficient(rule, taken_in, applied, mu):
    """What a velocity takes in of the gradient (``c`` of ``v = mu * v + c * g``: ``steps.intake``) and what the step
    applies of it (``-f * (v - mu * v_before)`` with ``p += f * v``: ``update_window._intake``) against their closed
    forms: ``-lr``, 1 and ``1 - mu`` taken in; ``lr`` for both heavy balls and ``lr * (1 - mu)`` for a moving average
    applied. Only the sign was read before; ``mu - 1`` (the change's own share) has the sign of ``-lr``, a wrong
    coefficient fails here."""
    from netdoctor.observe.numpy.steps import decay, intake
    from netdoctor.observe.numpy.update_window import _intake

    rng = np.random.default_rng(7)
    lr = 0.03
    v_before, g = rng.normal(size=50), rng.normal(size=50)
    v, f = _velocity_step(rule, mu, lr, v_before, g)
    assert decay(v_before, v, g) == pytest.approx(mu, rel=1e-9)
    assert intake(v_before, v, g) == pytest.approx(taken_in(mu, lr), rel=1e-9)
    assert np.allclose(_intake(v, v_before, (mu, f)), applied(mu, lr) * g, rtol=1e-9, atol=1e-12)


def test_the_velocities_decays_carry_the_factor_their_steps_add_them_with():
    """``p += v`` adds its velocity with factor 1, ``p -= lr * v`` with ``-lr``: the factor itself, not its sign (what
    the step applies of the velocity's intake is ``-f * (v - mu * v_before)``, the learning rate in it)."""
    from netdoctor.observe.numpy.steps import Steps

    steps = Steps(np.random.default_rng(0))
    steps.via = {"W1": (1.0, "vel['W1']"), "W2": (-0.05, "vW2")}
    steps.decays = {"vel['W1']": [0.9, 0.9], "vW2": [0.8, 0.8, 0.8]}
    assert steps.velocity_decays() == {"vel['W1']": (0.9, 1.0), "vW2": (0.8, -0.05)}


@pytest.mark.parametrize("q, mu, batch, factor, read", [
    (20.0, 0.9, 20, 20.0, ""),  # a heavy ball of the sum: 20x the mean
    (1.0, 0.5, 20, 1.0, ""),  # a heavy ball of the mean
    (0.2, 0.8, 20, 0.2, ""),  # a moving average of the mean: (1 - mu) x the mean
    (4.0, 0.8, 20, 20.0, "moving average"),  # a moving average of the sum: (1 - mu) x 20 = 4x the mean
    (1.0, 0.9, 10, None, ""),  # 1 - mu = 1/10: a moving average of the sum of 10 rows is the heavy ball of their mean
    (2.0, 0.9, 20, None, ""),  # the same with the mean of a squared error without its 1/2 (q = 2)
    (1.0, 0.9, 20, 1.0, ""),  # a heavy ball of the mean: as a moving average, half the sum (no program's arithmetic)
])
def test_a_velocity_s_intake_per_row_is_read_as_a_heavy_ball_or_a_moving_average_or_neither(q, mu, batch, factor, read):
    from netdoctor.observe.numpy.verdicts import _velocity_intake_scale

    got = _velocity_intake_scale(q, mu, batch)
    if factor is None:
        assert got is None
        return
    assert got is not None and got[0] == pytest.approx(factor) and got[1].get("velocity", "") == read
