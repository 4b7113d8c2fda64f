"""Predicting evaluation data: labels, the confusion matrix and the per-epoch record.

The :class:`~netdoctor.monitor.callback.TrainingMonitor` predicts its evaluation data
once per epoch end with :func:`evaluate`; accuracy, the confusion matrix and
the prediction counts all come from that one pass.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from netdoctor.monitor.layer_stats import as_rows
from netdoctor.monitor.records import EvalRecord

__all__ = ["predict_labels", "confusion_matrix", "evaluate"]


def predict_labels(model: Any, X: np.ndarray, *, chunk: int = 8192) -> np.ndarray:
    """Labels (N,) from ``model.predict``, else the argmax of the last activation."""
    out = []
    for i in range(0, len(X), chunk):
        Xc = X[i : i + chunk]
        if hasattr(model, "predict"):
            out.append(np.asarray(model.predict(Xc)).reshape(-1))
        else:
            out.append(np.argmax(as_rows(model.activations(Xc)[-1], len(Xc)), axis=1))
    return np.concatenate(out) if out else np.zeros(0, dtype=np.intp)


def confusion_matrix(y: np.ndarray, pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts (C, C): rows true labels, columns predicted labels (out-of-range predictions dropped)."""
    y = np.asarray(y, dtype=np.intp)
    pred = np.asarray(pred, dtype=np.intp)
    ok = (pred >= 0) & (pred < n_classes)
    return np.bincount(n_classes * y[ok] + pred[ok], minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def evaluate(model: Any, X: np.ndarray, y: np.ndarray, *, n_classes: int | None, epoch: int) -> EvalRecord:
    """Predict ``X`` (N, D) once: accuracy, confusion matrix (C, C) and per-class counts.

    Args:
        model, X, y: the model and the evaluation data with its labels (N,).
        n_classes: C; default one more than the largest label or prediction.
        epoch: the epoch the record belongs to.
    """
    pred = predict_labels(model, X)
    C = n_classes or int(max(y.max(initial=0), pred.max(initial=0)) + 1)
    cm = confusion_matrix(y, pred, C)
    return {
        "epoch": epoch,
        "eval_accuracy": float(np.trace(cm) / max(1, len(y))),
        "confusion": cm.tolist(),
        "pred_counts": cm.sum(axis=0).tolist(),
        "label_counts": cm.sum(axis=1).tolist(),
    }
