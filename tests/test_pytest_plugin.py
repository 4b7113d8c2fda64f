"""The pytest plugin, run for real with pytester: options, fixture, marker, summary, failure text.

Runs that must go through the ``pytest11`` entry point (``--help``,
``-p no:netdoctor``, the example) use subprocesses; when netdoctor is not
pip-installed a ``.dist-info`` carrying the entry point from pyproject.toml is
written next to the test files, so the real registration is what is tested.
The other runs are in-process and fast.
"""

import importlib.metadata
import os
import re
import shutil
from pathlib import Path

import pytest

import netdoctor.gradients  # noqa: F401

# In-process runs restore sys.modules afterwards; numpy cannot be imported twice
# in one process, so what the plugin loads is imported here, once.
import netdoctor.pytest_plugin  # noqa: F401
import netdoctor.testing  # noqa: F401

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]


def _entry_point_installed() -> bool:
    return any(ep.name == "netdoctor" for ep in importlib.metadata.entry_points(group="pytest11"))


def _plugin_args() -> list[str]:
    # With the entry point installed, "-p netdoctor.pytest_plugin" would register the module twice.
    return [] if _entry_point_installed() else ["-p", "netdoctor.pytest_plugin"]


def _pyproject_entry_points() -> dict[str, str]:
    """The pytest11 entry points declared in pyproject.toml (no tomllib on Python 3.10)."""
    text = (ROOT / "pyproject.toml").read_text()
    section = re.search(r"^\[project\.entry-points\.pytest11\]\n(.*?)(?:^\[|\Z)", text, re.M | re.S)
    assert section, "pyproject.toml declares no pytest11 entry point"
    pairs = re.findall(r'^(\w+)\s*=\s*"([^"]+)"', section.group(1), re.M)
    return dict(pairs)


def test_pyproject_registers_the_plugin():
    assert _pyproject_entry_points() == {"netdoctor": "netdoctor.pytest_plugin"}


@pytest.fixture
def pt(pytester, monkeypatch):
    """A pytester whose subprocesses import this checkout of netdoctor and see its entry point."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
    monkeypatch.delenv("MY_LAYER_BUG", raising=False)
    if not _entry_point_installed():
        eps = _pyproject_entry_points()
        info = pytester.path / "netdoctor_checkout-0.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: netdoctor-checkout\nVersion: 0.0\n")
        (info / "entry_points.txt").write_text("[pytest11]\n" + "".join(f"{k} = {v}\n" for k, v in eps.items()))
    return pytester


def run_inprocess(pt, *args):
    # The plugin module is imported already (see above), which pytest warns about.
    return pt.runpytest_inprocess(
        *_plugin_args(), "-p", "no:cacheprovider", "-W", "ignore::pytest.PytestAssertRewriteWarning", *args
    )


MODELS = '''
import numpy as np
import pytest
from netdoctor import MLP
from netdoctor.testing import assert_model_gradients, assert_gradients_match


class Scaled:
    """The reference MLP with one gradient multiplied by a factor (a planted bug)."""

    def __init__(self, name, factor):
        self.inner = MLP((3, 4, 2), activation="tanh", seed=3)
        self.params, self.name, self.factor = self.inner.params, name, factor

    def loss(self, X, y):
        value, grads = self.inner.loss(X, y)
        grads[self.name] = grads[self.name] * self.factor
        return value, grads


X = np.linspace(0.1, 0.9, 15).reshape(5, 3)
y = np.array([0, 1, 1, 0, 1])
'''


def test_passing_and_failing_checks_read_like_pytest(pt):
    pt.makepyfile(
        models=MODELS,
        test_grads='''
from models import *

def test_healthy(gradcheck):
    result = gradcheck.model(Scaled("W2", 1.0), X, y)
    assert result.ok

def test_function(gradcheck):
    x = np.array([0.3, -1.2, 2.0])
    gradcheck(lambda v: float(np.sum(v ** 3)), x, lambda v: 3 * v ** 2)

def test_doubled_w2(gradcheck):
    gradcheck.model(Scaled("W2", 2.0), X, y)

def test_helper_halved_b1():
    assert_model_gradients(Scaled("b1", 0.5), X, y)

def test_expected_mismatch():
    with pytest.raises(AssertionError):
        assert_model_gradients(Scaled("b2", -1.0), X, y)
''',
    )
    result = run_inprocess(pt, "--strict-markers")
    result.assert_outcomes(passed=3, failed=2)
    out = result.stdout.str()
    result.stdout.fnmatch_lines([
        "*GradientMismatch: gradient of W2 disagrees at 8 of 8 entries (100.0%); worst W2*",
        "*index*analytic*numerical*rel error*",
        "*hint: analytic is 2x numerical in every checked entry of W2: a factor 2 too many*",
        "*W1, b1, b2 agree; method*",
    ])
    assert "gradient of b1 disagrees" in out and "analytic is 0.5x numerical" in out
    # __tracebackhide__: the traceback stops at the user's line, no netdoctor frames.
    assert "netdoctor/testing.py" not in out and "netdoctor/gradcheck.py" not in out
    result.stdout.fnmatch_lines([
        "*= netdoctor gradient checks =*",
        "5 gradient check(s) in 5 test(s): 2 passed, 3 failed",
        "1 of the failed checks ran in tests that passed (expected mismatches, e.g. pytest.raises)",
        "worst relative error: 2.00e+00 (b2 in test_grads.py::test_expected_mismatch)",
    ])


def test_options_come_from_ini_then_command_line_then_marker(pt, monkeypatch):
    pt.makeini("[pytest]\nnetdoctor_rtol = 1e-3\nnetdoctor_method = central\nnetdoctor_seed = 7\n")
    pt.makepyfile(
        models=MODELS,
        test_opts='''
import os, json, pytest
from models import *

def test_session(gradcheck):
    assert gradcheck.options == json.loads(os.environ["EXPECTED"])

@pytest.mark.netdoctor(rtol=0.02, max_coords=3)
def test_marker(gradcheck):
    assert gradcheck.options["rtol"] == 0.02 and gradcheck.options["max_coords"] == 3
    # 1% off: over the session's limit, within the marker's.
    gradcheck.model(Scaled("W1", 1.01), X, y)

def test_tight(gradcheck):
    gradcheck.model(Scaled("W1", 1.01), X, y)
''',
    )
    monkeypatch.setenv("EXPECTED", '{"rtol": 0.001, "method": "central", "seed": 7}')
    run_inprocess(pt).assert_outcomes(passed=2, failed=1)
    monkeypatch.setenv("EXPECTED", '{"rtol": 0.05, "method": "central", "seed": 7, "atol": 1e-06}')
    run_inprocess(pt, "--netdoctor-rtol=0.05", "--netdoctor-atol", "1e-6").assert_outcomes(passed=3)


@pytest.mark.parametrize(
    "arg, message",
    [
        ("--netdoctor-rtol=abc", "--netdoctor-rtol='abc' is not valid; use a number in (0, 1), e.g. 1e-5."),
        ("--netdoctor-rtol=0", "--netdoctor-rtol='0' is not valid; use a number in (0, 1), e.g. 1e-5."),
        ("--netdoctor-rtol=1.5", "--netdoctor-rtol='1.5' is not valid; use a number in (0, 1), e.g. 1e-5."),
        ("--netdoctor-atol=-1", "--netdoctor-atol='-1' is not valid; use a number in [[]0, 1), e.g. 1e-8."),
        ("--netdoctor-max-coords=0", "--netdoctor-max-coords='0' is not valid; use an integer >= 1, e.g. 200."),
        ("--netdoctor-seed=x", "--netdoctor-seed='x' is not valid; use an integer >= 0, e.g. 0."),
        ("--netdoctor-method=sideways",
         "--netdoctor-method='sideways' is not valid; use one of auto, central, complex, directional."),
    ],
    ids=["rtol-not-a-number", "rtol-zero", "rtol-above-one", "atol-negative", "max-coords-zero", "seed-not-int", "method-unknown"],
)
def test_bad_option_values_are_usage_errors(pt, arg, message):
    pt.makepyfile(test_x="def test_x(): pass")
    result = run_inprocess(pt, arg)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {message}"])


def test_bad_ini_value_names_the_ini_key(pt):
    pt.makefile(".ini", tox="[pytest]\nnetdoctor_max_coords = many\n")
    pt.makepyfile(test_x="def test_x(): pass")
    result = run_inprocess(pt)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: netdoctor_max_coords='many' in tox.ini is not valid; use an integer >= 1, e.g. 200."])


def test_bad_marker_options_fail_the_test_clearly(pt):
    pt.makepyfile(
        test_m='''
import pytest

@pytest.mark.netdoctor(rtoll=1e-3)
def test_typo(gradcheck):
    gradcheck.options

@pytest.mark.netdoctor(rtol="loose")
def test_value(gradcheck):
    gradcheck.options
''',
    )
    result = run_inprocess(pt)
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines([
        "*@pytest.mark.netdoctor got unknown option 'rtoll'; use method, rtol, atol, max_coords, seed.*",
        "*@pytest.mark.netdoctor(rtol='loose') is not valid; use a number in (0, 1), e.g. 1e-5.",
    ])


def test_no_summary_without_checks(pt):
    pt.makepyfile(test_x="def test_x(): pass")
    result = run_inprocess(pt)
    result.assert_outcomes(passed=1)
    assert "netdoctor gradient checks" not in result.stdout.str()


# -- through the installed entry point (subprocesses) ------------------------------
def test_help_lists_options_ini_keys_and_marker(pt):
    result = pt.runpytest_subprocess("--help")
    result.stdout.fnmatch_lines([
        "netdoctor gradient checks:",
        "*--netdoctor-method=METHOD*",
        "*--netdoctor-rtol=RTOL*",
        "*--netdoctor-atol=ATOL*",
        "*--netdoctor-max-coords=MAX_COORDS*",
        "*--netdoctor-seed=SEED*",
    ])
    for key in ("netdoctor_method", "netdoctor_rtol", "netdoctor_atol", "netdoctor_max_coords", "netdoctor_seed"):
        assert key in result.stdout.str()
    markers = pt.runpytest_subprocess("--markers")
    markers.stdout.fnmatch_lines(["@pytest.mark.netdoctor(**options): gradient-check options*"])


def test_disabled_with_p_no_netdoctor(pt):
    pt.makepyfile(test_x="def test_x(gradcheck): pass")
    on = pt.runpytest_subprocess("-p", "no:cacheprovider")
    on.assert_outcomes(passed=1)
    off = pt.runpytest_subprocess("-p", "no:netdoctor", "-p", "no:cacheprovider")
    off.assert_outcomes(errors=1)
    off.stdout.fnmatch_lines(["*fixture 'gradcheck' not found*"])
    bad = pt.runpytest_subprocess("-p", "no:netdoctor", "--netdoctor-rtol=1e-3")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    bad.stderr.fnmatch_lines(["*unrecognized arguments: --netdoctor-rtol=1e-3*"])


def _copy_example(pt):
    for name in ("my_layer.py", "test_my_layer.py"):
        shutil.copy(ROOT / "examples" / name, pt.path / name)


def test_example_passes_without_the_bug(pt):
    _copy_example(pt)
    result = pt.runpytest_subprocess("-p", "no:cacheprovider", "test_my_layer.py")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*= netdoctor gradient checks =*", "* gradient check(s) in 2 test(s): * passed, 0 failed"])


def test_example_with_planted_bug_shrinks_to_minimal_network(pt, monkeypatch):
    _copy_example(pt)
    monkeypatch.setenv("MY_LAYER_BUG", "1")
    result = pt.runpytest_subprocess("-p", "no:cacheprovider", "test_my_layer.py")
    # The layer itself is right; the sign error is in the network's output error.
    result.assert_outcomes(passed=1, failed=1)
    # Hypothesis' minimal failing case: one input, one hidden unit, two classes, one sample.
    # Hypothesis calls it "Falsifying example" before 6.16x and "Failing test case" after.
    result.stdout.re_match_lines([
        r".*(Falsifying example|Failing test case): test_tiny_net_gradients\(",
        r".*sizes=\(1, 1, 2\),",
    ])
    assert "Draw 2 (batch): (array([[0.]]), array([0]))" in result.stdout.str()
    result.stdout.fnmatch_lines([
        "*GradientMismatch: gradient of b2 disagrees at 2 of 2 entries (100.0%)*",
        "*hint: analytic is -1x numerical in every checked entry of b2: a sign error*",
    ])


# -- the assertions themselves (no pytester) ------------------------------------------
def test_unknown_assertion_option_is_invalid_argument():
    from netdoctor import InvalidArgument
    from netdoctor.testing import GradientChecker, assert_gradients_match

    with pytest.raises(InvalidArgument, match=r"unknown gradient-check option\(s\) \['rtoll'\]"):
        GradientChecker(rtoll=1e-3)
    with pytest.raises(InvalidArgument, match="rtoll"):
        assert_gradients_match(lambda v: 0.0, [1.0], lambda v: [0.0], rtoll=1e-3)


def test_transposed_gradient_names_the_shape_problem():
    import numpy as np

    from netdoctor import GradientMismatch
    from netdoctor.testing import assert_gradients_match

    W = np.arange(6.0).reshape(2, 3) / 10
    with pytest.raises(GradientMismatch) as info:
        assert_gradients_match(lambda w: float(np.sum(w["W"] ** 2)), {"W": W}, lambda w: {"W": 2 * w["W"].T})
    text = str(info.value)
    assert text.startswith("gradient of W: has shape (3, 2), the transpose of W's shape (2, 3): a missing .T")
    assert "index" not in text  # no value table for a shape problem
    assert np.array_equal(W, np.arange(6.0).reshape(2, 3) / 10)
