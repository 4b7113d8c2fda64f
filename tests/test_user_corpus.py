"""The corpus of independently written user nets runs through ``check --model`` with no training flags.

The full sweep (every style, five seeds, every planted bug) is ``python bench/reliability.py``
and its table is in docs/reliability.md; here a small part of it keeps CI fast.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
from pathlib import Path

import pytest
from user_nets import KIND, MNIST_BUGS, STYLES, factory_name

from netdoctor.cli import main
from netdoctor.diagnosis.settings import resolve_settings

NETS = Path(__file__).resolve().parent / "user_nets"


def check(style: str, factory: str, *extra: str) -> tuple[int, dict]:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(io.StringIO()):
        code = main(["check", "--model", f"{NETS / style}.py:{factory}", "--json", *extra])
    return code, json.loads(buf.getvalue())


def test_corpus_has_eight_styles_each_with_healthy_and_buggy_mnist_factories():
    assert len(STYLES) >= 8 and set(KIND) == set(STYLES)
    settings = set()
    for style in STYLES:
        module = importlib.import_module(f"user_nets.{style}")
        assert MNIST_BUGS[style], style
        for bug in [None, *MNIST_BUGS[style]]:
            assert callable(getattr(module, factory_name(bug))), (style, bug)
        own = resolve_settings(module.mnist())
        assert own["lr"].source != "default" and own["batch_size"].source != "default", style
        settings.add((own["lr"].value, own["batch_size"].value))
    assert len(settings) >= 6  # their own learning rates and batch sizes, not one shared configuration


def test_a_healthy_user_net_at_its_own_settings_has_no_error_and_exits_zero():
    code, rep = check("row_dict", "mnist", "--epochs", "1")
    assert code == 0 and not [f for f in rep["findings"] if f["severity"] == "error"], rep["findings"]
    assert "lr 0.2 (RowNet.lr)" in rep["context"]["training"] and "batch 16 (RowNet.batch_size)" in rep["context"]["training"]
    assert rep["context"]["model"] == "RowNet from row_dict.py:mnist"


@pytest.mark.parametrize("style, bug, first", [("row_dict", "grad-view", "aliased-buffers"),
                                               ("per_sample_loop", "stale", "stale-accumulator")])
def test_a_planted_bug_is_ranked_first(style, bug, first):
    code, rep = check(style, factory_name(bug), "--epochs", "1", "--quick")
    assert code == 1 and rep["findings"][0]["code"] == first and f"root cause: {first}" in rep["verdict"]
