"""Hypothesis strategies for property-testing neural-network code.

Build random (small) architectures, reference MLPs, batches matched to a
model, weight arrays and parameter perturbations, then let hypothesis search
for the network on which your gradients, updates or invariants break::

    from hypothesis import given
    from netdoctor import strategies as nds

    @given(data=st.data(), model=nds.mlps(allow_kinks=False))
    def test_gradients(data, model):
        X, y = data.draw(nds.batches(model))
        assert_model_gradients(model, X, y)

Conventions follow ``hypothesis.extra.numpy``: every strategy takes keyword
arguments that bound sizes, validates them when called (raising
:class:`InvalidArgument`, which is both netdoctor's and hypothesis's error),
and shrinks toward the smallest case: one input, one hidden layer with one
hidden unit, two classes, one sample, zero weights, seed 0, ``tanh`` and
``cross_entropy`` (the first names listed).

Inside: ``models`` (architectures and reference MLPs), ``data`` (batches,
weight arrays, perturbations) and ``args`` (argument checks); every strategy
is imported from here. This module imports hypothesis; ``import netdoctor`` does not
import it.
"""

from typing import TYPE_CHECKING

from netdoctor._lazy import lazy_face

if TYPE_CHECKING:
    from netdoctor.strategies.args import InvalidArgument
    from netdoctor.strategies.data import batches, perturbations, weight_arrays
    from netdoctor.strategies.models import activation_names, architectures, layer_sizes, loss_names, mlps

_EXPORTS = {
    "InvalidArgument": "args",
    "batches": "data",
    "perturbations": "data",
    "weight_arrays": "data",
    "activation_names": "models",
    "architectures": "models",
    "layer_sizes": "models",
    "loss_names": "models",
    "mlps": "models",
}
__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy_face(__name__, _EXPORTS)
