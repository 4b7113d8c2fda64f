"""Element-wise activation functions as forward/backward pairs.

Each activation ``a = f(z)`` has ``forward(z) -> a`` and
``backward(da, z, a) -> dz = da * f'(z)``. The backward pass receives both
``z`` and ``a`` so each derivative uses the cheapest exact form
(``1 - a**2`` for tanh, ``a (1 - a)`` for sigmoid).

All functions accept complex input where the function is analytic (tanh,
sigmoid, identity), which is what complex-step gradient checks need.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np

from netdoctor._lazy import dataclass
from netdoctor.errors import InvalidArgument

__all__ = ["Activation", "ActivationName", "ACTIVATIONS", "get_activation", "LEAKY_SLOPE"]

ActivationName = Literal["tanh", "sigmoid", "relu", "leaky_relu", "identity"]
"""The names of :data:`ACTIVATIONS` (``softmax`` is an output of the losses, not an element-wise activation)."""

LEAKY_SLOPE = 0.01


@dataclass(frozen=True)
class Activation:
    """An element-wise activation and what netdoctor needs to know about it."""

    name: str
    forward: Callable[[np.ndarray], np.ndarray]
    backward: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
    low: float
    """Lower end of the output range (-inf when unbounded)."""
    high: float
    """Upper end of the output range (inf when unbounded)."""
    has_kink: bool
    """True when f' jumps at z = 0 (relu family): finite differences straddling 0 are unreliable."""
    analytic: bool
    """True when f extends to complex input (complex-step derivatives apply)."""


def _sigmoid(z: np.ndarray) -> np.ndarray:
    # 1/(1+exp(-z)) overflows exp for z << 0 in float; the tanh form is stable
    # everywhere and analytic for complex z.
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _relu(z):
    return np.maximum(z, 0)


def _relu_back(da, z, a):
    return da * (z > 0)


def _leaky(z):
    return np.where(z > 0, z, LEAKY_SLOPE * z)


def _leaky_back(da, z, a):
    return da * np.where(z > 0, 1.0, LEAKY_SLOPE).astype(da.dtype, copy=False)


ACTIVATIONS: dict[str, Activation] = {
    "tanh": Activation("tanh", np.tanh, lambda da, z, a: da * (1 - a * a), -1.0, 1.0, False, True),
    "sigmoid": Activation("sigmoid", _sigmoid, lambda da, z, a: da * a * (1 - a), 0.0, 1.0, False, True),
    "relu": Activation("relu", _relu, _relu_back, 0.0, np.inf, True, False),
    "leaky_relu": Activation("leaky_relu", _leaky, _leaky_back, -np.inf, np.inf, True, False),
    "identity": Activation("identity", lambda z: z, lambda da, z, a: da, -np.inf, np.inf, False, True),
}


def get_activation(name: str) -> Activation:
    """Look up an activation by name.

    Raises:
        InvalidArgument: for an unknown name, listing the known ones.
    """
    try:
        return ACTIVATIONS[name]
    except KeyError:
        known = ", ".join(ACTIVATIONS)
        raise InvalidArgument(f"activation={name!r} is not known; use one of {known}.") from None
