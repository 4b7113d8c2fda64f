"""Targets read after the weights went non-finite are not judged: generated npx1783 (a closure over lists, one sample
a step, momentum, 3 relu layers, float32, label-smoothed targets) at a rate 100x too high goes NaN at update 4 of
3,200. No update is counted after that, and smoothed targets are read only once they come back at a later update, so
the 999 targets read afterwards were those of the first three samples' classes: main f580c69 ranked a false
``constant-targets`` error ("encode only 3 of 10 classes") first. The same blow-up written as a class over a dict and
as functions over lists in batches, each with its healthy twin (which must stay quiet). The NaN weights must not make
netdoctor's own measurements print a RuntimeWarning into the program's stderr either (main f580c69 did, from the
layer-flow norms).
"""

from __future__ import annotations

from dataclasses import replace

import generated.numpy_programs as writer
import pytest
from generated.harness import Sample, detail, judge

STYLES = [
    (1783, {}),
    (1783, {"place": "class", "container": "dict"}),
    (1783, {"place": "functions", "container": "list", "batching": "batched"}),
]
# each style's programs under a name of its own (a run is kept by its program's name)
PROGRAMS = [replace(p, name=f"{p.name}_{i}") for i, (seed, fixed) in enumerate(STYLES)
            for style in (writer.sample_style(seed, extended=True, **fixed),)
            for p in (writer.write(style, "lr-too-high"), writer.write(style))]
RUNS = Sample(PROGRAMS, writer.N_TRAIN + writer.N_TEST, "blowup_targets_")


@pytest.mark.parametrize("p", PROGRAMS, ids=lambda p: f"{p.name}-{p.style.label.replace('/', '-')}")
def test_targets_read_after_the_blow_up_make_no_finding_and_the_rate_is_named_first(p):
    o = RUNS.observed(p)
    j = judge(p.expect, p.updates, o, RUNS.plain(p))
    assert j.faithful, detail(p, o)
    # the overflow warnings on stderr are the program's own: none of netdoctor's measurements of NaN weights adds one
    plain = RUNS.plain(p)
    assert [l for l in o.stderr.splitlines() if "Warning" in l and l not in plain.stderr] == [], o.stderr
    codes = [f["code"] for f in o.report["findings"]]
    if p.bug:
        assert "constant-targets" not in codes, detail(p, o)
        assert codes and codes[0] == "learning-rate-too-high", detail(p, o)
    else:
        assert j.quiet, detail(p, o)
