"""The reference comparison's measurement: the user's network against the reference MLP on the same run.

When :func:`netdoctor.diagnosis.pipeline.diagnose` is given ``baseline=`` (the CLI does for ``--model``), the
reference MLP is trained with the same learning rate, batch size, epochs and seed on the same data and
evaluated on the same rows. :func:`reference_comparison` turns the two accuracies and the evaluation labels
into a :class:`~netdoctor.rules.reference.ReferenceRun`; the rule
:func:`netdoctor.rules.reference.reference_comparison` decides and words ``reference-comparison``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import numpy as np

from netdoctor.findings import Finding
from netdoctor.rules.reference import ReferenceRun
from netdoctor.rules.reference import reference_comparison as compare_with_reference

__all__ = ["reference_comparison"]


def reference_comparison(
    user_accuracy: float | None, baseline: Mapping[str, Any] | None, y_eval: Any, *,
    present: Collection[str] = (), epochs: int, lr: float, batch_size: int, on: str = "test data",
) -> Finding | None:
    """The ``reference-comparison`` finding of one run, or None when either accuracy is unknown.

    Args:
        user_accuracy: the user's model's accuracy on ``y_eval`` after training.
        baseline: ``sections["baseline"]``: at least ``accuracy`` and ``model``
            (the reference's architecture).
        y_eval: the labels both accuracies were measured on (for the
            majority share ``max_k n_k / n``).
        present: codes of the other findings; the user-code ones among them
            become the warning's ``caused_by``.
        epochs, lr, batch_size: the shared training configuration (evidence).
        on: what the accuracies were measured on ("test data").
    """
    ref = (baseline or {}).get("accuracy")
    if user_accuracy is None or ref is None:
        return None
    counts = np.bincount(np.asarray(y_eval, dtype=np.intp).reshape(-1))
    run = ReferenceRun(
        user_accuracy=float(user_accuracy), reference_accuracy=float(ref), majority_label=int(np.argmax(counts)),
        majority_share=float(counts.max() / counts.sum()), reference=(baseline or {}).get("model"), epochs=epochs,
        lr=lr, batch_size=batch_size, on=on)
    return compare_with_reference(run, present)
