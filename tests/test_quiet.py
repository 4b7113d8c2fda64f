"""netdoctor's own warnings and float errors kept off the program: ``observe.quiet``, checked against NumPy's
``errstate`` (the form it stands for) and the ``warnings`` module's own state."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from netdoctor.observe.quiet import _SetErr, float_errors_ignored, warnings_ignored

STATES = [{"all": "raise"}, {"all": "warn"}, {"divide": "ignore", "over": "raise", "under": "warn", "invalid": "print"}]


def _forms():
    var, ignore = float_errors_ignored()
    return [("context variable", var, ignore), ("np.seterr", _SetErr(np), {"all": "ignore"})]


@pytest.mark.parametrize("state", STATES, ids=["raise", "warn", "mixed"])
@pytest.mark.parametrize("form", range(2), ids=["context variable", "np.seterr"])
def test_ignored_float_errors_are_errstate_ignore_and_the_programs_state_comes_back(form, state):
    _, var, ignore = _forms()[form]
    before = np.seterr(**state)
    try:
        program = np.geterr()
        with np.errstate(all="ignore"):
            expected = np.geterr()
        token = var.set(ignore)
        try:
            assert np.geterr() == expected
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                assert np.float32(3e38) * np.float32(10) == np.inf
                assert np.isnan(np.float32(np.inf) - np.float32(np.inf))
        finally:
            var.reset(token)
        assert np.geterr() == program
    finally:
        np.seterr(**before)


def test_the_program_inside_its_own_errstate_finds_it_again():
    var, ignore = float_errors_ignored()
    with np.errstate(over="raise"):
        token = var.set(ignore)
        np.float32(3e38) * np.float32(10)  # ignored here
        var.reset(token)
        with pytest.raises(FloatingPointError):
            np.float32(3e38) * np.float32(10)


def test_ignored_warnings_leave_the_programs_shown_once_alone():
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("once")
        warnings.warn("the program's", UserWarning, stacklevel=1)
        with warnings_ignored():
            warnings.warn("netdoctor's", RuntimeWarning, stacklevel=1)
        warnings.warn("the program's", UserWarning, stacklevel=1)  # shown once already: not again
    assert [str(w.message) for w in seen] == ["the program's"]
