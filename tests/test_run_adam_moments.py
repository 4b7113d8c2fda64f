"""Adam's moments are no stale gradient buffers: generated npw0012 (wild tier: a closure over attributes, columns, one
sample at a time summed into a batch, ``adam(p, g, m, v, n_steps, lr)`` in a helper with ``m *= beta1; m += (1 -
beta1) * g``) got a false ``stale-accumulator`` error on its healthy twin (main 1506d0a): the output bias's moment
``net.mb3`` starts at zero and was not seen decaying while discovering, and was paired as the bias's buffer, while
``net.mb1`` and ``net.mb2`` were seen decaying. A moment numbered like moments seen decaying is one of them. The
same style written as functions and as a class (``self.mb3``), each healthy and quiet.
"""

from __future__ import annotations

from dataclasses import replace

import generated.numpy_programs as writer
import pytest
from generated.harness import Sample, detail, judge

STYLES = [{}, {"place": "functions", "adaptive": "adam", "params": "containers"},
          {"place": "class", "adaptive": "adam", "params": "containers"}]
PROGRAMS = [replace(p, name=f"{p.name}_{i}") for i, fixed in enumerate(STYLES)
            for p in (writer.write(writer.sample_style(12, wild=True, **fixed)),)]
RUNS = Sample(PROGRAMS, writer.N_TRAIN + writer.N_TEST, "adam_moments_")


@pytest.mark.parametrize("p", PROGRAMS, ids=lambda p: p.name)
def test_adam_moments_are_no_stale_accumulator(p):
    assert "m *= beta1" in p.source and "mb3" in p.source  # the style still writes Adam's moments per tensor
    o = RUNS.observed(p)
    j = judge(p.expect, p.updates, o, RUNS.plain(p))
    assert j.faithful, detail(p, o)
    assert j.quiet, detail(p, o)
