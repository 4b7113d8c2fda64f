"""A float32 program's own rounding is no wrong derivative: generated npx1794 and npx1805 (saturating-init: 72-73% of
the hidden sigmoids in their flat ends, float32) got a ``gradient-mismatch`` warning ranked before the planted
saturation on main f580c69 (npx1794: ``self.biases[0]``'s update off by 0.7% at entries whose derivative is 1e-6,
below what a float32 forward resolves). The update check now allows a float32 program its two roundings (the update
read as ``W_before - W_after``, and derivatives below ``eps32 |f| / 2h``) and nothing else: npx1029's missing
derivative (a float32 buffer off at derivatives the forward resolves) must stay a mismatch, and npx1794's healthy
twin stays quiet.
"""

from __future__ import annotations

import generated.numpy_programs as writer
import pytest
from generated.harness import Sample, detail, judge

CASES = [(1794, "saturating-init"), (1794, None), (1805, "saturating-init"), (1029, "missing-derivative")]
PROGRAMS = [writer.write(writer.sample_style(seed, extended=True), bug) for seed, bug in CASES]
RUNS = Sample(PROGRAMS, writer.N_TRAIN + writer.N_TEST, "float32_rounding_")


@pytest.mark.parametrize("p", PROGRAMS, ids=lambda p: p.name)
def test_float32_rounding_is_no_mismatch_and_a_wrong_derivative_still_is(p):
    o = RUNS.observed(p)
    j = judge(p.expect, p.updates, o, RUNS.plain(p))
    assert j.faithful, detail(p, o)
    codes = [f["code"] for f in o.report["findings"]]
    if p.bug is None:
        assert j.quiet, detail(p, o)
    elif p.bug == "missing-derivative":
        assert codes and codes[0] == "gradient-mismatch", detail(p, o)
    else:
        assert "gradient-mismatch" not in codes and codes and codes[0] == p.expect, detail(p, o)
