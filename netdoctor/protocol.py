"""The model protocol as types: what netdoctor's checks ask of a model (docs/protocol.md).

A model is any object with ``params`` and ``loss(X, y)`` (:class:`Model`);
training, the update probe and the diagnosis also need
``train_step(X, y, lr)`` (:class:`TrainableModel`). ``predict`` and
``activations`` are optional capabilities (:class:`Predictor`,
:class:`LayerActivations`): the code that uses them asks ``hasattr`` first.
These are :class:`typing.Protocol` classes: nothing inherits from them, a
plain class with the right attributes (``self.params = {...}``) matches.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np

__all__ = ["Model", "TrainableModel", "Predictor", "LayerActivations"]


class Model(Protocol):
    """What a gradient check or a monitor needs: parameters and the loss with its gradient."""

    @property
    def params(self) -> Mapping[str, np.ndarray]:
        """Name -> the live array the model computes with (re-read after every step)."""
        ...

    def loss(self, X: np.ndarray, y: np.ndarray) -> tuple[float, Mapping[str, np.ndarray]]:
        """``(mean loss over the batch, gradient per entry of params)``, same names and shapes."""
        ...


class TrainableModel(Model, Protocol):
    """A :class:`Model` that also trains itself, one mini-batch at a time."""

    def train_step(self, X: np.ndarray, y: np.ndarray, lr: float) -> Any:
        """One in-place update with the batch's mean gradient times ``lr``; may return the batch loss."""
        ...


class Predictor(Protocol):
    """Optional: labels for accuracy, the confusion matrix and class collapse."""

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Labels (N,)."""
        ...


class LayerActivations(Protocol):
    """Optional: per-layer activations for the saturation and dead-unit monitors."""

    def activations(self, X: np.ndarray) -> Sequence[np.ndarray]:
        """Arrays (N, units) per layer, hidden layers first, output last."""
        ...
