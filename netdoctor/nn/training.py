"""A training loop for any model that follows the protocol.

``train`` shuffles with a seeded generator every epoch (real files are often
sorted by label), calls ``model.train_step(Xb, yb, lr)`` per mini-batch and
records per-epoch loss and accuracy. Callbacks observe without changing
anything: objects with any of ``on_start(model, run)``,
``on_step(model, run, step, Xb, yb, loss)``, ``on_epoch(model, run, record)``
and ``on_end(model, run)``.

Ctrl-C ends the run cleanly: the history so far is returned with
``interrupted=True``. A callback that raises :class:`StopTraining` (a monitor
that saw NaN, say) ends it cleanly too, with ``stopped`` set to its reason.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import field
from typing import Any, TypedDict

import numpy as np

from netdoctor._lazy import dataclass
from netdoctor.errors import InvalidArgument
from netdoctor.protocol import TrainableModel

__all__ = ["History", "EpochRecord", "StopTraining", "train", "accuracy"]


class EpochRecord(TypedDict):
    """What :func:`train` measured at the end of one epoch (callbacks may fill ``test_accuracy``)."""

    epoch: int
    """1-based."""
    loss: float
    """Mean step loss (or the model's loss on the training rows when ``train_step`` returns nothing)."""
    train_accuracy: float | None
    test_accuracy: float | None


class StopTraining(Exception):
    """Raised by a callback to end training early and cleanly; the message is the reason."""


@dataclass
class History:
    """What a training run measured.

    Attributes:
        epochs: one dict per finished epoch: ``epoch`` (1-based), ``loss``
            (mean step loss, or the model's loss on the training set),
            ``train_accuracy``, ``test_accuracy`` (None when not measured).
        step_losses: the loss of every step, in order (NaN where the model's
            ``train_step`` returned nothing).
        interrupted: True when Ctrl-C ended the run early.
        stopped: the reason a callback gave for stopping early (:class:`StopTraining`), or None.
        steps: number of completed steps.
    """

    epochs: list[EpochRecord] = field(default_factory=list)
    step_losses: list[float] = field(default_factory=list)
    interrupted: bool = False
    steps: int = 0
    stopped: str | None = None
    config: dict[str, Any] = field(default_factory=dict)

    def metric(self, name: str) -> list[Any]:
        """One metric per epoch, e.g. ``history.metric("test_accuracy")``."""
        return [e.get(name) for e in self.epochs]

    @property
    def loss(self) -> list[float]:
        return self.metric("loss")

    @property
    def train_accuracy(self) -> list[float | None]:
        return self.metric("train_accuracy")

    @property
    def test_accuracy(self) -> list[float | None]:
        return self.metric("test_accuracy")

    def to_dict(self) -> dict[str, Any]:
        return {
            "epochs": self.epochs,
            "steps": self.steps,
            "interrupted": self.interrupted,
            "stopped": self.stopped,
            "config": self.config,
        }


def accuracy(model: Any, X: np.ndarray, y: np.ndarray, *, chunk: int = 8192) -> float | None:
    """Share of ``y`` that ``model.predict`` gets right, or None without ``predict``.

    Predicts in chunks so a 60,000-row set does not build one huge activation.
    """
    predict = getattr(model, "predict", None)
    if predict is None or len(y) == 0:
        return None
    correct = 0
    for i in range(0, len(y), chunk):
        pred = np.asarray(predict(X[i : i + chunk])).reshape(-1)
        correct += int(np.count_nonzero(pred == y[i : i + chunk]))
    return correct / len(y)


def _call(callbacks: Sequence[Any], hook: str, *args: Any) -> None:
    for cb in callbacks:
        fn = getattr(cb, hook, None)
        if fn is not None:
            fn(*args)


def train(
    model: TrainableModel,
    X: np.ndarray,
    y: np.ndarray,
    *,
    epochs: int = 3,
    lr: float = 0.1,
    batch_size: int = 32,
    X_test: np.ndarray | None = None,
    y_test: np.ndarray | None = None,
    seed: int | np.random.Generator | None = 0,
    callbacks: Sequence[Any] = (),
    train_accuracy_sample: int = 5000,
) -> History:
    """Mini-batch training of a protocol model.

    Args:
        model: anything with ``train_step(X, y, lr)``.
        X, y: training inputs (N, D) and integer labels (N,).
        epochs, lr, batch_size: the usual; ``batch_size`` is clipped to N.
        X_test, y_test: held-out data for ``test_accuracy`` per epoch.
        seed: seeds the per-epoch shuffles (an int or a Generator); the global
            NumPy random state is never touched.
        callbacks: observers (see the module docstring).
        train_accuracy_sample: training accuracy is measured on at most this
            many (seeded, fixed) training rows, to keep epochs cheap.

    Returns:
        the :class:`History`; on Ctrl-C the part measured so far, ``interrupted=True``.
    """
    if not hasattr(model, "train_step"):
        raise InvalidArgument("the model has no train_step(X, y, lr); training needs it (see docs/protocol.md).")
    if epochs < 1 or batch_size < 1 or not (lr > 0 and math.isfinite(lr)):
        raise InvalidArgument(
            f"epochs={epochs}, batch_size={batch_size}, lr={lr}: need epochs >= 1, batch_size >= 1, 0 < lr < inf."
        )
    n = len(X)
    if n == 0:
        raise InvalidArgument("no training samples: X is empty.")
    batch_size = min(batch_size, n)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    acc_idx = np.sort(rng.choice(n, size=min(n, train_accuracy_sample), replace=False))
    history = History(config={"epochs": epochs, "lr": lr, "batch_size": batch_size, "n_train": n})
    run = {"history": history, "epochs": epochs, "lr": lr, "batch_size": batch_size, "steps_per_epoch": math.ceil(n / batch_size)}
    _call(callbacks, "on_start", model, run)
    try:
        for epoch in range(1, epochs + 1):
            order = rng.permutation(n)
            first = len(history.step_losses)
            for i in range(0, n, batch_size):
                idx = order[i : i + batch_size]
                Xb, yb = X[idx], y[idx]
                value = model.train_step(Xb, yb, lr)
                loss = float(value) if value is not None and np.ndim(value) == 0 else math.nan
                history.step_losses.append(loss)
                history.steps += 1
                _call(callbacks, "on_step", model, run, history.steps, Xb, yb, loss)
            losses = np.asarray(history.step_losses[first:], dtype=float)
            if np.isnan(losses).all() and hasattr(model, "loss"):
                epoch_loss = float(model.loss(X[acc_idx], y[acc_idx])[0])
            else:
                epoch_loss = float(np.mean(losses)) if losses.size else math.nan
            record: EpochRecord = {
                "epoch": epoch,
                "loss": epoch_loss,
                "train_accuracy": accuracy(model, X[acc_idx], y[acc_idx]),
                "test_accuracy": accuracy(model, X_test, y_test) if X_test is not None and y_test is not None else None,
            }
            history.epochs.append(record)
            _call(callbacks, "on_epoch", model, run, record)
    except StopTraining as stop:
        history.stopped = str(stop) or "stopped by a callback"
    except KeyboardInterrupt:
        history.interrupted = True
    _call(callbacks, "on_end", model, run)
    return history
