"""``netdoctor run`` names what made the first steps too large when they blew the weights up, in styles the generated
sample does not draw, each with its healthy twin:

* a learning rate: the momentum programs of generated npx1751 (a velocity in place in a helper, sigmoid) written as a
  class over a dict and as functions over a list with batches. With a velocity, the steps the program applied while
  the observer discovered it are judged too when one was larger than the weights (the effective-rate windows after it
  see only the small steps of units it saturated). On main db1e5cd both were named only as saturation and dead units.
* a gradient summed over the batch: generated npx1764's style (batches of 20, 3 relu layers, float32) written as a
  class over a list. Its weights overflow by the fifth update; two windows read the output-bias gradient at 20x the
  batch's mean error, which decides when the run went non-finite (main db1e5cd: learning-rate-too-high, non-finite).
"""

from __future__ import annotations

from dataclasses import replace

import generated.numpy_programs as writer
import pytest
from generated.harness import Sample, detail, judge

STYLES = [
    # (seed, fixed axes, bug): npx1751's style with another place and container, and batched; npx1764's as a class
    (1751, {"place": "class", "container": "dict"}, "lr-too-high"),
    (1751, {"place": "functions", "container": "list", "batching": "batched"}, "lr-too-high"),
    (1764, {"place": "class", "container": "list"}, "summed-gradient"),
]
# each style's programs under a name of its own: a run is kept by its program's name, and the two npx1751 styles
# would share theirs (only the last written ran)
PROGRAMS = [replace(p, name=f"{p.name}_{i}") for i, (seed, fixed, planted) in enumerate(STYLES)
            for style in (writer.sample_style(seed, extended=True, **fixed),)
            for p in (writer.write(style, planted), writer.write(style))]
RUNS = Sample(PROGRAMS, writer.N_TRAIN + writer.N_TEST, "lr_blowup_")


@pytest.mark.parametrize("p", PROGRAMS, ids=lambda p: f"{p.name}-{p.style.label.replace('/', '-')}")
def test_what_blew_the_weights_up_is_named_first_and_the_twin_stays_quiet(p):
    o = RUNS.observed(p)
    j = judge(p.expect, p.updates, o, RUNS.plain(p))
    assert j.faithful, detail(p, o)
    if p.bug:
        codes = [f["code"] for f in o.report["findings"]]
        assert codes and codes[0] == p.expect, detail(p, o)
        f = o.report["findings"][0]
        if p.bug == "lr-too-high":
            assert "as the program applied it" in f["message"] and f["evidence"]["update_ratio"] > 1.0, detail(p, o)
        else:
            assert f["evidence"]["batch"] == p.style.batch_size and f["evidence"]["windows"] == 2, detail(p, o)
    else:
        assert j.quiet, detail(p, o)
