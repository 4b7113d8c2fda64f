"""``netdoctor run`` names a learning rate that blew the weights up in its first steps, in styles the generated sample
does not draw: the momentum programs of generated npx1751 (a velocity in place in a helper, sigmoid) written as a class
over a dict and as functions over a list with batches, each with its healthy twin.

The fix they pin (``netdoctor.rules.learning_rate``): with a velocity, the steps the program applied while the
observer discovered it are judged too when one was larger than the weights (the effective-rate windows after it see
only the small steps of units it saturated). On main db1e5cd both bugs were named only as saturation and dead units.
"""

from __future__ import annotations

import generated.numpy_programs as writer
import pytest
from generated.harness import Sample, detail, judge

STYLES = [
    # (seed, fixed axes): npx1751's style with another place and container, and batched
    (1751, {"place": "class", "container": "dict"}),
    (1751, {"place": "functions", "container": "list", "batching": "batched"}),
]
PROGRAMS = [writer.write(style, bug) for seed, fixed in STYLES
            for style in (writer.sample_style(seed, extended=True, **fixed),) for bug in ("lr-too-high", None)]
RUNS = Sample(PROGRAMS, writer.N_TRAIN + writer.N_TEST, "lr_blowup_")


@pytest.mark.parametrize("p", PROGRAMS, ids=lambda p: f"{p.name}-{p.style.label.replace('/', '-')}")
def test_a_rate_that_blew_the_weights_up_while_discovering_is_named_and_the_twin_stays_quiet(p):
    o = RUNS.observed(p)
    j = judge(p.expect, p.updates, o, RUNS.plain(p))
    assert j.faithful, detail(p, o)
    if p.bug:
        codes = [f["code"] for f in o.report["findings"]]
        assert codes and codes[0] == "learning-rate-too-high", detail(p, o)
        f = o.report["findings"][0]
        assert "as the program applied it" in f["message"] and f["evidence"]["update_ratio"] > 1.0, detail(p, o)
    else:
        assert j.quiet, detail(p, o)
