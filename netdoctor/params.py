"""A model's parameters as named arrays: listing, copying, norms and update ratios,
and the name of one entry (``W1[12, 3]``).

``model.params`` is a dict name -> array, or a list/tuple of arrays (named
``p0, p1, ...`` here). Some user models rebind their arrays at every update,
so callers read ``model.params`` afresh each time rather than keeping these
dicts around.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from netdoctor.errors import InvalidArgument

__all__ = ["format_index", "named_params", "copy_params", "norms", "update_ratios", "is_bias"]


def format_index(name: str, index: tuple[int, ...]) -> str:
    """``W1[12, 3]`` for a coordinate, ``b1[4]`` for a vector entry, ``x`` for a scalar."""
    if not index:
        return name
    return f"{name}[{', '.join(str(int(i)) for i in index)}]"


def named_params(params: Any) -> dict[str, np.ndarray]:
    """``model.params`` as name -> array, for dicts or lists/tuples (named ``p0, p1, ...``)."""
    items: Iterable[tuple[Any, Any]]
    if isinstance(params, Mapping):
        items = params.items()
    elif isinstance(params, (list, tuple)):
        items = ((f"p{i}", p) for i, p in enumerate(params))
    else:
        raise InvalidArgument(f"model.params is a {type(params).__name__}; expected a dict (or list) of arrays.")
    return {str(k): v for k, v in items if isinstance(v, np.ndarray)}


def copy_params(params: Any) -> dict[str, np.ndarray]:
    """A copy of every named array of ``model.params`` (see :func:`named_params`)."""
    return {k: v.copy() for k, v in named_params(params).items()}


def norms(arrays: Mapping[str, np.ndarray]) -> dict[str, float]:
    """Frobenius norm ``||A||`` of each array, computed in float64."""
    return {k: float(np.linalg.norm(np.asarray(v, dtype=float).ravel())) for k, v in arrays.items()}


def update_ratios(before: Mapping[str, np.ndarray], now: Mapping[str, np.ndarray]) -> dict[str, float]:
    """``||W_now - W_before|| / ||W_before||`` per tensor present in both with the same shape.

    Tensors that were exactly zero (biases at initialisation) have no
    meaningful ratio and are left out.
    """
    return {
        k: float(np.linalg.norm((now[k] - old).ravel()) / norm)
        for k, old in before.items()
        if k in now and now[k].shape == old.shape and (norm := np.linalg.norm(old.ravel())) > 0
    }


_BIAS = re.compile(r"^(b\d*|bias(es)?\d*|.*_b|.*bias.*|intercepts?_?)$", re.I)


def is_bias(name: str) -> bool:
    """Whether the last name in a tensor's name or path says bias (``b1``, ``biases[0]``, ``params['b2']``, ``fc1.bias``).

    The one test of "is this a bias" for every road (the monitors, the plots, the NumPy and PyTorch observers):
    ``bn.weight`` and ``beta_weights`` are not biases, ``layer.bias`` and ``out_b`` are.
    """
    names = re.findall(r"[A-Za-z_][A-Za-z_0-9]*", name)
    return bool(names) and bool(_BIAS.match(names[-1]))
