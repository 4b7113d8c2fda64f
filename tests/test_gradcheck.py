"""Gradient checks against closed forms, brute force, planted errors and hostile models."""

import importlib.util
import json
import re
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from oracles import central_differences

from netdoctor import MLP
from netdoctor.errors import GradientMismatch, InvalidArgument, ProtocolError, UserCodeError
from netdoctor.gradients import GradcheckResult, check_gradients, gradcheck
from netdoctor.gradients.mlp_fast import mlp_numeric
from netdoctor.nn.losses import encode_targets


def f_sin(x):
    return float(np.sum(np.sin(x) ** 2))


def g_sin(x):
    return 2 * np.sin(x) * np.cos(x)


# -- closed forms ---------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["central", "complex", "directional", "auto"])
def test_correct_closed_form_gradient_passes(method):
    x = np.random.default_rng(0).standard_normal((3, 4))
    f = (lambda x: np.sum(np.sin(x) ** 2)) if method == "complex" else f_sin
    result = gradcheck(f, x, g_sin, method=method)
    assert result.ok, result.summary()
    assert result.method == method if method != "auto" else result.method == "central"
    if method == "complex":
        assert result.worst_rel_error < 1e-12


def test_wrong_closed_form_gradient_fails_at_the_right_entry():
    x = np.array([[0.3, -1.2], [0.7, 2.0]])

    def bad(x):
        g = g_sin(x)
        g[1, 0] *= 1.5
        return g

    result = gradcheck(f_sin, x, bad)
    assert not result.ok
    (t,) = result.failed
    assert t.n_failed == 1 and t.worst[0].index == (1, 0)
    assert result.findings[0].where == "x[1, 0]"
    assert np.isclose(result.findings[0].evidence["numeric"], g_sin(x)[1, 0], rtol=1e-8)


def test_structured_inputs_dict_list_tuple_and_scalar():
    a, b = np.array([1.0, 2.0]), np.array([[0.5], [-0.5]])

    def f(p):
        return float(np.sum(p["a"] ** 2) + np.sum(p["a"][:, None] * p["b"]))

    def g(p):
        return {"a": 2 * p["a"] + p["b"][:, 0], "b": p["a"][:, None].copy()}

    assert gradcheck(f, {"a": a, "b": b}, g).ok
    fl = lambda p: f({"a": p[0], "b": p[1]})  # noqa: E731
    gl = lambda p: [g({"a": p[0], "b": p[1]})[k] for k in "ab"]  # noqa: E731
    assert gradcheck(fl, [a, b], gl).ok
    assert gradcheck(fl, (a, b), lambda p: tuple(gl(p))).ok
    assert gradcheck(lambda x: x ** 3, 2.0, lambda x: 3 * x ** 2).ok
    bad = gradcheck(fl, [a, b], lambda p: [gl(p)[0], 2 * gl(p)[1]])
    assert [t.name for t in bad.failed] == ["x[1]"]


def test_input_is_never_modified_and_f_gets_copies():
    x = np.linspace(-1, 1, 6)
    before = x.copy()
    gradcheck(f_sin, x, g_sin)
    assert np.array_equal(x, before)


# -- no false alarms (property) -------------------------------------------------------------
architectures = st.lists(st.integers(1, 6), min_size=2, max_size=4)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sizes=architectures,
    activation=st.sampled_from(["tanh", "sigmoid", "relu", "leaky_relu", "identity"]),
    loss=st.sampled_from(["cross_entropy", "mse"]),
    n=st.integers(1, 12),
    sigma=st.sampled_from([0.3, 0.7, 1.0, 3.0, 8.0]),
    seed=st.integers(0, 2**16),
)
@example(sizes=[28, 5, 10], activation="tanh", loss="mse", n=12, sigma=8.0, seed=1)  # saturated tanh
@example(sizes=[1, 5, 2, 1], activation="identity", loss="cross_entropy", n=1, sigma=1.0, seed=6004)  # p_y = 1 - 1e-6
def test_no_false_alarms_on_the_reference_mlp(sizes, activation, loss, n, sigma, seed):
    if sizes[-1] < 2:
        sizes = sizes[:-1] + [2]
    rng = np.random.default_rng(seed)
    model = MLP(sizes, activation=activation, loss=loss, init="normal", sigma=sigma, seed=seed)
    X, y = rng.random((n, sizes[0])), rng.integers(0, sizes[-1], n)
    central = check_gradients(model, X, y, method="central", max_coords=None)
    assert central.ok, central.summary()
    assert central.worst_rel_error <= 1e-6
    if all(model.layer_activation(l).analytic for l in range(1, model.n_layers + 1)):
        cx = check_gradients(model, X, y, method="complex", max_coords=None)
        assert cx.method == "complex" and cx.ok, cx.summary()
        if sigma <= 1.0:
            # Exact to rounding: typical entries agree to 1e-12 or better; an entry that is a
            # near-cancelling sum over samples is known only to eps * sum|terms| on either side
            # (worst seen in 1,500 random nets: 2e-12). Every entry also carries the rounding of
            # the output error out - target, relative eps / |out - target| on an output that is
            # already almost right (a softmax at 1 - 1e-6 of its label: 2e-10 on every entry).
            rounding = np.finfo(np.float64).eps * _output_error_condition(model, X, y)
            assert np.median([t.median_rel_error for t in cx.tensors]) <= 1e-12 + 16 * rounding
            assert cx.worst_rel_error <= 1e-10 + 64 * rounding, cx.summary()


def _output_error_condition(model, X, y) -> float:
    """Condition number of the output error ``out - t``: ``max (|out| + |t|) / |out - t|`` over its nonzero entries.

    The error's relative rounding is about ``eps`` times this, and every gradient entry inherits it."""
    out = model.output(X)
    t = np.eye(out.shape[1])[y] if model.loss_name == "cross_entropy" else encode_targets(
        y, model.n_classes, model.output_activation, dtype=out.dtype)
    diff = np.abs(out - t)
    nonzero = diff > 0
    if not nonzero.any():
        return 1.0
    kappa = float(np.max((np.abs(out) + np.abs(t))[nonzero] / diff[nonzero]))
    return kappa


CONFIGS = [
    dict(activation="tanh", loss="cross_entropy"), dict(activation="sigmoid", loss="mse"),
    dict(activation="relu", loss="cross_entropy"), dict(activation="leaky_relu", loss="mse"),
    dict(activation="tanh", loss="mse", output_activation="identity"),
]
FAST_CASES = [(c, m) for c in CONFIGS for m in ("central", "complex")
              if m == "central" or c["activation"] not in ("relu", "leaky_relu")]  # complex needs analytic


@pytest.mark.parametrize("cfg,method", FAST_CASES, ids=[f"{'-'.join(c.values())}-{m}" for c, m in FAST_CASES])
def test_batched_mlp_numbers_equal_brute_force(cfg, method):
    rng = np.random.default_rng(4)
    model = MLP((5, 4, 3, 3), seed=2, **cfg)
    X, y = rng.random((6, 5)), rng.integers(0, 3, 6)
    X[0, 1] = 0.0  # zero inputs are skipped by the sparse path: they must still come out right
    coords = {k: np.arange(v.size) for k, v in model.params.items()}
    fast = mlp_numeric(model, X, y, model.params, coords, method=method, h=1e-5)
    brute = central_differences(model, X, y)
    for k in model.params:
        np.testing.assert_allclose(fast[k]["numeric"], brute[k].reshape(-1), rtol=1e-6, atol=1e-9, err_msg=k)


def test_generic_and_batched_paths_agree_on_the_same_network():
    class Wrapped:  # not an MLP instance: takes the generic per-entry path
        def __init__(self, m):
            self.params, self.loss = m.params, m.loss

    rng = np.random.default_rng(5)
    model = MLP((4, 6, 3), activation="sigmoid", loss="mse", seed=0)
    X, y = rng.random((8, 4)), rng.integers(0, 3, 8)
    a = check_gradients(model, X, y, method="central", max_coords=None)
    b = check_gradients(Wrapped(model), X, y, method="central", max_coords=None)
    assert a.context["path"] == "batched reference MLP" and "path" not in b.context
    assert a.ok and b.ok and [t.n_checked for t in a.tensors] == [t.n_checked for t in b.tensors]


# -- kinks ----------------------------------------------------------------------------------------
def test_abs_kink_is_skipped_not_failed():
    x = np.array([1e-8, 0.5, -0.3])
    result = gradcheck(lambda x: float(np.sum(np.abs(x))), x, np.sign)
    assert result.ok, result.summary()
    (t,) = result.tensors
    assert t.n_skipped == 1 and t.skipped[0].index == (0,)
    assert "kink" in t.skipped[0].skipped_reason


def test_directional_check_of_a_plain_function_localises():
    x = {"a": np.linspace(-1, 1, 6), "b": np.array([0.3, 0.9])}

    def f(p):
        return float(np.sum(np.sin(p["a"]) ** 2) + np.sum(p["b"] ** 3))

    def g(p):
        return {"a": g_sin(p["a"]), "b": 3 * p["b"] ** 2 * [1.0, 1.01]}

    r = gradcheck(f, x, g, method="directional", n_directions=2)
    assert not r.ok and r.method == "directional" and len(r.directions) == 2
    assert [t.name for t in r.failed] == ["b"] and r.findings[0].where == "b[1]"


def test_abs_kink_does_not_hide_a_wrong_gradient_elsewhere():
    x = np.array([1e-8, 0.5, -0.3])
    result = gradcheck(lambda x: float(np.sum(np.abs(x))), x, lambda x: np.sign(x) * [1, 1, 2])
    assert [c.index for c in result.failed[0].worst if c.rel_error > 1e-5] == [(2,)]


def test_relu_mlp_step_across_the_kink_is_skipped():
    rng = np.random.default_rng(0)
    model = MLP((3, 4, 2), activation="relu", seed=0)
    X, y = rng.random((5, 3)), rng.integers(0, 2, 5)
    # Put sample 0's pre-activation of unit 1 a hair above 0: perturbing b1[1] by h crosses it.
    z = X[0] @ model.params["W1"][:, 1] + model.params["b1"][1]
    model.params["b1"][1] -= z - 1e-9
    result = check_gradients(model, X, y, method="central", max_coords=None)
    assert result.ok, result.summary()
    b1 = next(t for t in result.tensors if t.name == "b1")
    assert b1.n_skipped >= 1 and "relu kink" in b1.skip_reasons[0]


class ScaledW2(MLP):
    """The reference MLP with one gradient slightly too large (a wrong constant in a hand-edited backward)."""

    tensor, factor = "W2", 1.01

    def backward(self, dout, cache):
        grads = super().backward(dout, cache)
        grads[self.tensor] = grads[self.tensor] * self.factor
        return grads


def _tiny(model, scale=1e-3):
    for p in model.params.values():
        p *= scale
    return model


def test_directional_skips_directions_through_a_relu_kink():
    """A relu unit exactly on its kink (zero input, zero bias): every random direction crosses it.

    Found by hypothesis (tests/test_no_false_alarms.py): the whole-model check used to
    report a mismatch of 4.7e-05..4.5e-04 that no entry could be blamed for.
    """
    model = _tiny(MLP((1, 1, 2), activation="relu", loss="cross_entropy", seed=0))
    result = check_gradients(model, np.zeros((1, 1)), np.array([0]), method="directional")
    assert result.ok and result.findings == [], result.summary()
    assert all(d.skipped and "kink" in d.skipped and d.rel_error > 1e-5 for d in result.directions)
    assert "skipped: the gradient itself jumps within the step" in result.summary()
    assert result.to_dict()["directions"][0]["skipped"] == result.directions[0].skipped
    assert result.worst_rel_error < 1e-5  # skipped directions are not judged
    assert any("every random direction crosses a kink" in n for n in result.notes)
    if importlib.util.find_spec("rich"):
        from rich.console import Console

        console = Console(width=400, record=True)
        console.print(result)
        assert "skipped: the gradient itself jumps within the step" in console.export_text()


@pytest.mark.parametrize("on_kink", [False, True], ids=["off-kink", "half-the-samples-on-the-kink"])
def test_directional_still_catches_a_wrong_gradient_in_a_relu_net(on_kink):
    X = np.random.default_rng(0).random((6, 4))
    if on_kink:
        X[:3] = 0.0  # zero inputs and zero biases: these samples' hidden units sit on the kink
    y = np.arange(6) % 3
    result = check_gradients(_tiny(ScaledW2((4, 5, 3), activation="relu", seed=0)), X, y, method="directional")
    assert [t.name for t in result.failed] == ["W2"], result.summary()
    assert any(not d.ok for d in result.directions)
    healthy = check_gradients(_tiny(MLP((4, 5, 3), activation="relu", seed=0)), X, y, method="directional")
    assert healthy.ok, healthy.summary()


def test_every_direction_skipped_still_checks_entries():
    """Directions through a kink give no verdict; the per-entry pass that follows does."""
    model = _tiny(ScaledW2((1, 1, 2), activation="relu", loss="cross_entropy", seed=0))
    model.tensor, model.factor = "b2", 1 + 1e-4  # smaller than the kink's effect on every direction
    result = check_gradients(model, np.zeros((1, 1)), np.array([0]), method="directional")
    assert all(d.skipped for d in result.directions)
    assert [t.name for t in result.failed] == ["b2"], result.summary()


# -- restoring and copying ---------------------------------------------------------------------------
class Toy:
    """A tiny protocol model (linear least squares) with hooks for hostile behaviour."""

    def __init__(self, values, *, raise_after=None, rebind=False, reuse_buffers=False):
        self.params = {"W": np.array(values, dtype=float).reshape(2, 2), "b": np.array([0.1, -0.2])}
        self.calls, self.raise_after, self.rebind, self.reuse = 0, raise_after, rebind, reuse_buffers
        self._buf = {k: np.zeros_like(v) for k, v in self.params.items()}

    def loss(self, X, y):
        self.calls += 1
        if self.raise_after is not None and self.calls > self.raise_after:
            raise RuntimeError("boom")
        W, b = self.params["W"], self.params["b"]
        r = X @ W + b - np.eye(2)[y]
        g = {"W": X.T @ r / len(X), "b": r.sum(0) / len(X)}
        if self.rebind:  # some user code rebinds its arrays on every call
            self.params = {k: v.copy() for k, v in self.params.items()}
        if self.reuse:  # hands back buffers that the next call overwrites
            for k in g:
                self._buf[k][...] = g[k]
            g = self._buf
        return 0.5 * np.sum(r * r) / len(X), g


XT, YT = np.array([[0.2, 0.4], [0.9, -0.1], [0.5, 0.5]]), np.array([0, 1, 1])
finite = st.floats(-1e3, 1e3, allow_nan=False, width=64)


@settings(max_examples=30, deadline=None)
@given(values=st.lists(finite, min_size=4, max_size=4), raise_after=st.sampled_from([None, 1, 2, 3, 7]),
       rebind=st.booleans())
@example(values=[-0.0, 0.0, 1e-300, -5.0], raise_after=3, rebind=False)
def test_parameters_restored_bit_for_bit(values, raise_after, rebind):
    model = Toy(values, raise_after=raise_after, rebind=rebind)
    params_obj = model.params
    objs = dict(model.params)
    before = {k: v.tobytes() for k, v in model.params.items()}
    try:
        check_gradients(model, XT, YT, method="central")
    except UserCodeError as exc:
        assert raise_after is not None and "RuntimeError: boom" in str(exc)
    assert model.params is params_obj
    assert all(model.params[k] is objs[k] and model.params[k].tobytes() == before[k] for k in objs)


def test_returned_buffers_that_are_overwritten_do_not_fool_the_checker():
    result = check_gradients(Toy([1.0, 0.5, -0.5, 2.0], reuse_buffers=True), XT, YT, method="central")
    assert result.ok, result.summary()
    assert any("overwrites" in n for n in result.notes)


def test_global_random_state_is_untouched():
    np.random.seed(123)
    state = np.random.get_state()[1].copy()
    model = MLP((4, 3, 2), seed=0)
    X, y = np.random.default_rng(0).random((5, 4)), np.array([0, 1, 0, 1, 1])
    for method in ("central", "directional", "complex"):
        check_gradients(model, X, y, method=method, max_coords=3)
    assert np.array_equal(np.random.get_state()[1], state)


class Scaled(Toy):
    """Toy with one planted bug: the gradient multiplied by ``factor(N)`` (N = batch size)."""

    def __init__(self, values, factor):
        super().__init__(values)
        self.factor = factor

    def loss(self, X, y):
        value, g = super().loss(X, y)
        return value, {k: v * self.factor(len(X)) for k, v in g.items()}


@pytest.mark.parametrize("rows,factor,expected,absent", [
    # N = 2: x2 is both the factor 2 of a squared error and the batch sum instead of the mean
    (2, lambda n: n, ["2x numerical", "a factor 2 too many", "or the batch size N=2: the gradient is summed"], []),
    (2, lambda n: 2.0, ["a factor 2 too many", "N=2"], []),
    (2, lambda n: 1 / n, ["0.5x numerical", "a factor 2 lost", "or 1 / batch size (N=2)"], []),
    # N = 3: the two readings no longer coincide, so only one is named
    (3, lambda n: n, ["3x numerical", "the batch size N=3: the gradient is summed"], ["factor 2"]),
    (3, lambda n: 2.0, ["a factor 2 too many"], ["batch size", "N=3"]),
    (3, lambda n: 1 / n, ["1 / batch size (N=3)"], ["factor 2"]),
], ids=["N2-sum", "N2-x2", "N2-half", "N3-sum", "N3-x2", "N3-mean-twice"])
def test_ratio_hint_names_every_reading_that_fits(rows, factor, expected, absent):
    X, y = np.vstack([XT, XT[:1] + 0.3])[:rows], np.array([0, 1, 1])[:rows]
    result = check_gradients(Scaled([1.0, 0.5, -0.5, 2.0], factor), X, y, method="central", max_coords=None)
    assert {t.name for t in result.failed} == {"W", "b"}
    for t in result.failed:
        assert all(e in t.hint for e in expected), t.hint
        assert not any(a in t.hint for a in absent), t.hint
    assert result.findings[0].fix == result.failed[0].hint


def test_auto_note_says_whether_every_entry_or_a_sample_was_checked():
    """The note on the automatic choice matches the per-tensor counts: all entries, or a sample."""
    def note(r):
        return next(n for n in r.notes if n.startswith("auto chose"))

    # Generic model, every tensor smaller than max_coords: nothing was sampled.
    r = check_gradients(Toy([1.0, 0.5, -0.5, 2.0]), XT, YT)
    assert r.method == "central" and r.n_checked == 6
    assert "every entry of every tensor checked (6 entries)" in note(r) and "sampled" not in note(r)
    r = check_gradients(Toy([1.0, 0.5, -0.5, 2.0]), XT, YT, max_coords=3)
    assert [t.n_checked for t in r.tensors] == [3, 2]
    assert "sampled 3 of 4 entries of W (max_coords=3); every entry of b" in note(r)
    # Reference MLP (batched path): the note no longer claims "all entries" when it sampled.
    m, X = MLP((20, 10, 3), seed=0), np.random.default_rng(0).random((4, 20))
    y = np.array([0, 1, 2, 0])
    r = check_gradients(m, X, y, max_coords=7)
    assert [t.n_checked for t in r.tensors] == [7, 7, 7, 3]
    assert "all entries" not in note(r)
    assert "sampled 7 of 200 entries of W1, 7 of 10 entries of b1, 7 of 30 entries of W2 (max_coords=7); " \
           "every entry of b2" in note(r)
    assert "every entry of every tensor checked (243 entries)" in note(check_gradients(m, X, y, max_coords=None))
    # Plain functions.
    f, g = (lambda v: float(np.sum(v ** 3))), (lambda v: 3 * v ** 2)
    assert "every entry of every tensor checked (5 entries)" in note(gradcheck(f, np.ones(5), g))
    assert "sampled 4 of 5 entries of x (max_coords=4)" in note(gradcheck(f, np.ones(5), g, max_coords=4))


def test_result_html_for_jupyter_names_tensors_and_worst_error():
    """``_repr_html_``: every tensor name, the worst relative error, and per tensor its worst entry's two derivatives."""
    pytest.importorskip("rich")
    import html as html_lib

    from netdoctor.report.terminal import plain_text

    r = check_gradients(Scaled([1.0, 0.5, -0.5, 2.0], lambda n: 1.0 + (n == 3)), XT, YT, method="central")
    page = r._repr_html_()
    text = html_lib.unescape(re.sub(r"<[^>]+>", " ", page))
    flat = " ".join(text.split())
    assert f"worst rel_error {r.worst_rel_error:.1e}" in flat and r.worst_rel_error == pytest.approx(0.5)
    rows = {ln.split()[0]: ln for ln in plain_text(r, width=140).splitlines() if ln.split()}
    for t in r.tensors:
        assert t.name in flat and f"{t.max_rel_error:.1e}" in rows[t.name]
        worst = f"{t.worst[0].analytic:.3e} vs {t.worst[0].numeric:.3e}"
        assert worst in rows[t.name] and worst in flat


# -- methods, fallbacks, dtypes -------------------------------------------------------------------
class NoComplex(Toy):
    def loss(self, X, y):
        value, g = super().loss(X, y)
        # float() of a Python complex raises TypeError, as in much user code that reports float(loss).
        return (float(value) if np.isrealobj(value) else float(complex(value))), g


def test_complex_falls_back_to_central_and_says_why():
    result = check_gradients(NoComplex([1.0, 0.5, -0.5, 2.0]), XT, YT, method="complex")
    assert result.method == "central" and result.ok
    assert any(n.startswith("complex step not possible: the model raised TypeError on complex input") and "fell back to central" in n
               for n in result.notes), result.notes


def test_relu_mlp_complex_falls_back():
    result = check_gradients(MLP((3, 2, 2), activation="relu"), XT.repeat(1, 1)[:, :2].repeat(2, 1)[:, :3],
                             YT, method="complex")
    assert result.method == "central" and "relu has a kink" in result.notes[0]


def test_auto_says_what_it_chose():
    m = MLP((3, 2, 2), activation="tanh")
    X = np.random.default_rng(0).random((4, 3))
    r = check_gradients(m, X, np.array([0, 1, 1, 0]))
    assert r.method == "complex" and "auto chose the complex step" in r.notes[0]
    r = check_gradients(Toy([1.0, 0.5, -0.5, 2.0]), XT, YT)
    assert r.method == "central" and "auto chose central" in r.notes[0]
    r = check_gradients(MLP((3, 2, 2), activation="relu"), X, np.array([0, 1, 1, 0]))
    assert r.method == "central" and r.notes[0].startswith(
        "auto chose central differences (relu has a kink at 0, so the complex step does not apply), batched on "
        "the reference MLP: every entry of every tensor checked (14 entries)."), r.notes


def test_float32_mlp_is_checked_in_float64():
    rng = np.random.default_rng(1)
    model = MLP((5, 4, 3), dtype="float32", seed=0)
    X, y = rng.random((6, 5)).astype(np.float32), rng.integers(0, 3, 6)
    result = check_gradients(model, X, y, method="central", max_coords=None)
    assert result.ok and any("copied to float64" in n for n in result.notes), result.summary()
    assert all(v.dtype == np.float32 for v in model.params.values())


class Float32Held:
    """Holds float32 arrays outside the params dict, so float64 copies are never used."""

    def __init__(self, factor=1.0):
        rng = np.random.default_rng(0)
        self.layers = [rng.standard_normal((3, 2)).astype(np.float32), np.zeros(2, np.float32)]
        self.params = {"W": self.layers[0], "b": self.layers[1]}
        self.factor = factor

    def loss(self, X, y):
        W, b = self.layers
        X = X.astype(np.float32)
        r = np.tanh(X @ W + b) - np.eye(2, dtype=np.float32)[y]
        dz = r * (1 - np.tanh(X @ W + b) ** 2) / len(X)
        return 0.5 * float(np.sum(r * r)) / len(X), {"W": self.factor * (X.T @ dz), "b": dz.sum(0)}


def test_float32_model_that_ignores_copies_is_checked_in_float32():
    X = np.random.default_rng(2).random((6, 3))
    y = np.array([0, 1, 0, 1, 1, 0])
    ok = check_gradients(Float32Held(), X, y, method="central", max_coords=None)
    assert ok.ok, ok.summary()
    assert any("checked in float32" in n for n in ok.notes) and ok.rtol == 1e-2
    bad = check_gradients(Float32Held(factor=1.5), X, y, method="central", max_coords=None)
    assert [t.name for t in bad.failed] == ["W"]



def _float32_note(result):
    """The note on float32 parameters the model would not compute with in float64, parsed."""
    note = next(n for n in result.notes if "does not compute with float64 copies" in n)
    dtype = re.search(r"checked (?:in|against) (float\d+)", note)
    step = re.search(r"with step (\S+?),", note)
    tol = re.search(r"rtol (\S+?)(?: to (\S+) \(per tensor\))?, atol (\S+?)\.$", note)
    assert dtype and step and tol, note
    return note, dtype[1], float(step[1]), float(tol[1]), tol[2] and float(tol[2]), float(tol[3])


@pytest.mark.parametrize("h", [None, 3e-6])
def test_float32_mlp_on_the_batched_path_notes_the_float64_step_it_used(h):
    """A dead relu layer: perturbing float64 copies of W1 changes nothing, so the float32 arrays stay.

    The batched MLP path still computes the numerical side in float64 with its own small
    step; the note must say that (not the float32 generic path's step 1e-3).
    """
    from netdoctor.gradients.model import BATCHED_H

    rng = np.random.default_rng(0)
    X, y = rng.random((20, 6)), rng.integers(0, 3, 20)
    model = MLP((6, 5, 3), dtype="float32", activation="relu", loss="mse", seed=0)
    model.params["b1"][:] = -100.0
    r = check_gradients(model, X, y, h=h, rtol={"W2": 3e-2})
    d = r.to_dict()
    assert d["context"]["path"] == "batched reference MLP" and d["method"] == "central", r.summary()
    note, dtype, step, rtol_lo, rtol_hi, atol = _float32_note(r)
    assert "batched on the reference MLP" in note and "step 1e-3" not in note
    assert dtype == d["context"]["dtype"] == "float64"
    assert step == d["h"] == (BATCHED_H if h is None else h)
    assert (rtol_lo, rtol_hi) == (d["rtol"], 3e-2) == (1e-2, 3e-2)  # float32 limits, W2's override
    assert sorted({t["limit"] for t in d["tensors"]}) == [rtol_lo, rtol_hi] and atol == d["atol"] == 1e-4


def test_float32_generic_path_notes_the_float32_step_it_used():
    X = np.random.default_rng(2).random((6, 3))
    r = check_gradients(Float32Held(), X, np.array([0, 1, 0, 1, 1, 0]), method="central", max_coords=None)
    note, dtype, step, rtol, rtol_hi, atol = _float32_note(r)
    assert "batched" not in note and dtype == r.context["dtype"] == "float32"
    assert (step, rtol, rtol_hi, atol) == (r.h, r.rtol, None, r.atol) == (1e-3, 1e-2, None, 1e-4)

def test_directional_check_on_the_reference_mlp():
    model = MLP((6, 5, 3), activation="tanh", seed=0)
    X, y = np.random.default_rng(0).random((7, 6)), np.arange(7) % 3
    r = check_gradients(model, X, y, method="directional", n_directions=4)
    assert r.ok and r.method == "directional" and len(r.directions) == 4 and r.tensors == []


def test_sampling_is_seeded_and_covers_every_tensor():
    model = MLP((20, 10, 3), seed=0)
    X, y = np.random.default_rng(0).random((4, 20)), np.array([0, 1, 2, 0])
    a = check_gradients(model, X, y, method="central", max_coords=7, seed=3)
    b = check_gradients(model, X, y, method="central", max_coords=7, seed=3)
    assert [t.n_checked for t in a.tensors] == [7, 7, 7, 3]
    assert [c.index for t in a.tensors for c in t.worst] == [c.index for t in b.tensors for c in t.worst]


def test_rtol_dict_overrides_per_tensor():
    def bad(x):
        return {"a": 2 * x["a"] * 1.5, "b": 2 * x["b"]}

    x = {"a": np.array([1.0, 2.0]), "b": np.array([3.0])}
    f = lambda x: float(np.sum(x["a"] ** 2) + np.sum(x["b"] ** 2))  # noqa: E731
    assert [t.name for t in gradcheck(f, x, bad).failed] == ["a"]
    assert gradcheck(f, x, bad, rtol={"a": 0.5}).ok


# -- result API --------------------------------------------------------------------------------
def test_messages_summary_findings_and_dict():
    x = np.linspace(0.1, 1.0, 40).reshape(8, 5)

    def bad(x):
        g = g_sin(x)
        g[2, 3] *= 1.1
        return g

    r = gradcheck(lambda p: f_sin(p["W1"]), {"W1": x}, lambda p: {"W1": bad(p["W1"])})
    assert isinstance(r, GradcheckResult) and not r.ok and r.n_checked == 40
    with pytest.raises(GradientMismatch) as info:
        r.raise_for_failures()
    first = str(info.value).splitlines()[0]
    assert re.fullmatch(
        r"gradient of W1 disagrees at 1 of 40 entries \(2\.5%\); worst W1\[2, 3\]: analytic -?\d\.\d\de[-+]\d\d, "
        r"numeric -?\d\.\d\de[-+]\d\d, rel_error \d\.\de[-+]\d\d > limit 1e-05\.", first), first
    text = r.summary()
    assert "W1 (8x5): FAIL, 1/40 failed" in text and "[2, 3]" in text and "analytic" in text
    (f,) = r.findings
    assert f.where == "W1[2, 3]" and f.evidence["limit"] == 1e-5 and f.fix
    d = json.loads(json.dumps(r.to_dict()))
    assert d["ok"] is False and d["tensors"][0]["worst"][0]["index"] == [2, 3]
    assert d["findings"][0]["code"] == "gradient-mismatch"


def test_rich_rendering_is_lazy_and_works():
    rich = pytest.importorskip("rich")
    from rich.console import Console

    r = gradcheck(f_sin, np.ones(3), g_sin)
    console = Console(width=80, color_system=None, record=True)
    console.print(r)
    assert "gradients OK" in console.export_text()
    assert rich


# -- bad arguments -----------------------------------------------------------------------------------
def _model():
    return Toy([1.0, 0.5, -0.5, 2.0])


BAD_CALLS = [
    ("gradcheck(method='forward')", lambda: gradcheck(f_sin, np.ones(2), g_sin, method="forward"), "not known"),
    ("gradcheck(h=0.5)", lambda: gradcheck(f_sin, np.ones(2), g_sin, h=0.5),
     re.escape("h=0.5 is too large for a finite-difference step; use 1e-8 to 1e-2 (default 1e-5).")),
    ("gradcheck(h=1e-12)", lambda: gradcheck(f_sin, np.ones(2), g_sin, h=1e-12), "too small"),
    ("gradcheck(h='a')", lambda: gradcheck(f_sin, np.ones(2), g_sin, h="a"), "not a number"),
    ("gradcheck(h=nan)", lambda: gradcheck(f_sin, np.ones(2), g_sin, h=float("nan")), "not a number"),
    ("gradcheck(rtol=0)", lambda: gradcheck(f_sin, np.ones(2), g_sin, rtol=0), "rtol=0 must be"),
    ("gradcheck(rtol=2)", lambda: gradcheck(f_sin, np.ones(2), g_sin, rtol=2), "in \\(0, 1\\)"),
    ("gradcheck(rtol={'W1': -1})", lambda: gradcheck(f_sin, np.ones(2), g_sin, rtol={"W1": -1}), "rtol\\['W1'\\]"),
    ("gradcheck(atol=-1)", lambda: gradcheck(f_sin, np.ones(2), g_sin, atol=-1), "atol=-1"),
    ("gradcheck(max_coords=0)", lambda: gradcheck(f_sin, np.ones(2), g_sin, max_coords=0), "max_coords=0"),
    ("gradcheck(max_coords=2.5)", lambda: gradcheck(f_sin, np.ones(2), g_sin, max_coords=2.5), "positive integer"),
    ("gradcheck(seed=-1)", lambda: gradcheck(f_sin, np.ones(2), g_sin, seed=-1), "seed=-1"),
    ("gradcheck(n_directions=0)", lambda: gradcheck(f_sin, np.ones(2), g_sin, n_directions=0), "n_directions"),
    ("gradcheck(x=[])", lambda: gradcheck(f_sin, np.array([]), g_sin), "no entries"),
    ("gradcheck(x=nan)", lambda: gradcheck(f_sin, np.array([np.nan]), g_sin), "nan or inf"),
    ("gradcheck(f=None)", lambda: gradcheck(None, np.ones(2), g_sin), "must be a callable"),
    ("check_gradients(X, y of other length)", lambda: check_gradients(_model(), XT, YT[:2]), "3 rows but y has 2"),
    ("check_gradients(h=0.02)", lambda: check_gradients(_model(), XT, YT, h=0.02), "too large"),
]


@pytest.mark.parametrize("call,pattern", [(c, p) for _, c, p in BAD_CALLS], ids=[i for i, _, _ in BAD_CALLS])
def test_bad_arguments_raise_invalid_argument(call, pattern):
    with pytest.raises(InvalidArgument, match=pattern):
        call()


@pytest.mark.parametrize("model,pattern", [
    (type("NoParams", (), {"loss": lambda self, X, y: (0.0, {})})(), "model.params must be"),
    (type("NoLoss", (), {"params": {"W": np.zeros(2)}})(), "no loss"),
    (type("Missing", (), {"params": {"W": np.zeros(2)}, "loss": lambda self, X, y: (0.0, {})})(),
     "no gradient for 'W'"),
    (type("Triple", (), {"params": {"W": np.zeros(2)}, "loss": lambda self, X, y: (0.0, {}, 1)})(),
     "must return \\(loss, grads\\)"),
], ids=["no-params", "no-loss", "missing-gradient", "loss-returns-triple"])
def test_protocol_errors(model, pattern):
    with pytest.raises(ProtocolError, match=pattern):
        check_gradients(model, XT, YT)


def test_no_warnings_escape():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_gradients(NoComplex([1.0, 0.5, -0.5, 2.0]), XT, YT, method="complex")


# -- benchmark smoke run ---------------------------------------------------------------------------
def test_bench_tiny_mode_runs_and_catches_the_planted_derivative():
    import sys
    from pathlib import Path

    root = str(Path(__file__).resolve().parent.parent)
    if root not in sys.path:  # bench/ is not an installed package
        sys.path.insert(0, root)
    from bench import ROW_KEYS
    from bench.bench_gradcheck import run

    rows = run(small=True)
    assert all(tuple(r) == ROW_KEYS for r in rows)
    detect = rows[-1]
    assert detect["ours"] is True and detect["met"] is True and "W1" in detect["note"]
    assert rows[0]["floor"] > 0 and rows[0]["ours"] > 0


def _tanh_difference_50_digits(z: float, d: float) -> float:
    """tanh(z + d) - tanh(z) in 50-digit decimal arithmetic (an oracle independent of numpy)."""
    import decimal

    with decimal.localcontext() as ctx:
        ctx.prec = 50
        def th(x):
            e = (2 * x).exp()
            return (e - 1) / (e + 1)
        zd, dd = decimal.Decimal(z), decimal.Decimal(d)
        return float(th(zd + dd) - th(zd))


@pytest.mark.parametrize("name", ["tanh", "sigmoid", "identity"])
def test_output_series_is_the_exact_difference_to_rounding(name):
    from netdoctor.gradients.mlp_fast import _taylor

    z = np.array([-7.0, -2.5, -0.6, 0.0, 0.3, 1.1, 4.0, 9.0])
    c = _taylor(name, z)
    for d in (1e-4, -1e-4, 3e-6, -1e-7, 2e-9):
        got = sum(ck * d ** (k + 1) for k, ck in enumerate(c))
        if name == "tanh":
            want = [_tanh_difference_50_digits(zi, d) for zi in z]
        elif name == "sigmoid":  # sigmoid(x) = (1 + tanh(x / 2)) / 2
            want = [0.5 * _tanh_difference_50_digits(zi / 2, d / 2) for zi in z]
        else:
            want = [d] * len(z)
        np.testing.assert_allclose(got, want, rtol=1e-14, atol=0, err_msg=f"d={d}")


@pytest.mark.parametrize("output", ["tanh", "sigmoid", "identity"])
def test_series_and_exact_output_paths_give_the_same_numbers(output, monkeypatch):
    from netdoctor.gradients import mlp_fast

    rng = np.random.default_rng(11)
    model = MLP((12, 7, 5, 4), activation="tanh", output_activation=output, loss="mse", seed=3)
    X, y = rng.random((9, 12)), rng.integers(0, 4, 9)
    coords = {k: np.arange(v.size) for k, v in model.params.items()}
    calls = []
    original = mlp_fast._series_loss_change
    monkeypatch.setattr(mlp_fast, "_series_loss_change", lambda *a: calls.append(1) or original(*a))
    series = mlp_numeric(model, X, y, model.params, coords, method="central", h=1e-7)
    assert calls  # the series path ran
    monkeypatch.setattr(mlp_fast, "SERIES_MAX_STEP", 0.0)  # every block takes the exact path
    exact = mlp_numeric(model, X, y, model.params, coords, method="central", h=1e-7)
    for k in model.params:
        np.testing.assert_allclose(series[k]["numeric"], exact[k]["numeric"], rtol=1e-9, atol=1e-13, err_msg=k)


# -- the analytic gradient given as an array (its value at x) -----------------------------
def test_gradient_given_as_an_array_is_checked_like_a_callable():
    from netdoctor.testing import assert_gradients_match

    rng = np.random.default_rng(3)
    A = rng.normal(size=(4, 4))
    x = rng.normal(size=4)

    def f(v):
        return float(np.sum(np.sin(A @ v)))

    g = A.T @ np.cos(A @ x)  # the value at x, as users often have it in hand
    for method in ("central", "complex", "directional"):
        assert gradcheck(f, x, g, method=method).ok
        assert gradcheck(f, x, g, method=method).ok == gradcheck(f, x, lambda v: A.T @ np.cos(A @ v), method=method).ok
    assert_gradients_match(f, x, g)
    assert_gradients_match(lambda p: f(p["w"]), {"w": x}, {"w": g})
    assert_gradients_match(lambda p: f(p[0]) + float(p[1] ** 2), (x, np.array(1.5)), (g, 3.0))
    bad = g.copy()
    bad[2] += 0.5
    with pytest.raises(GradientMismatch, match=r"\[2\]"):
        assert_gradients_match(f, x, bad)
    result = gradcheck(f, x, bad)
    assert not result.ok and any("array" in n for n in result.notes)


def test_gradient_array_of_the_wrong_shape_is_named_as_with_a_callable():
    x = np.ones(3)
    given, called = gradcheck(lambda v: float(v @ v), x, np.ones(4)), gradcheck(lambda v: float(v @ v), x, lambda v: np.ones(4))
    assert not given.ok and given.tensors[0].problem == called.tensors[0].problem and "shape (4,)" in given.tensors[0].problem
    with pytest.raises(ProtocolError, match="the gradient given"):
        gradcheck(lambda p: float(p["w"] @ p["w"]), {"w": x}, [2 * x])
    with pytest.raises(InvalidArgument, match="f must be"):
        gradcheck(np.ones(3), x, 2 * x)
