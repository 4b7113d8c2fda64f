"""Property tests of the hand-written layer in my_layer.py, with netdoctor.

Run them with ``pytest examples/test_my_layer.py`` (netdoctor installed, or add
``-p netdoctor.pytest_plugin``). Hypothesis draws layer sizes, weights and
batches; netdoctor compares the backward pass with finite differences. Plant
the bug with ``MY_LAYER_BUG=1`` (the output error computed as target - output)
and hypothesis shrinks to the smallest network and batch that show it: one
input, one hidden unit, two classes, one sample; netdoctor's hint calls it a
sign error.
"""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from my_layer import DenseTanh, TinyNet

from netdoctor import strategies as nds
from netdoctor.testing import assert_gradients_match

EXAMPLES = settings(max_examples=40, deadline=None)


@EXAMPLES
@given(data=st.data(), n=st.integers(1, 5), d=st.integers(1, 4), h=st.integers(1, 4))
def test_dense_tanh_backward(data, n, d, h):
    """Every gradient of the layer, inputs included, against finite differences.

    The trick for a layer with a vector output: check the scalar
    ``sum(forward(x) * R)`` for a random upstream gradient ``R``, whose
    gradient is exactly what ``backward(R)`` must return.
    """
    layer = DenseTanh(d, h, seed=data.draw(st.integers(0, 2**16), label="seed"))
    x = data.draw(nds.weight_arrays((n, d), max_magnitude=1.0), label="x")
    R = data.draw(nds.weight_arrays((n, h), max_magnitude=1.0), label="R")
    point = {"x": x, **layer.params}

    def f(p):
        out, _ = layer.forward(p["x"], p)
        return float(np.sum(out * R))

    def grad(p):
        _, cache = layer.forward(p["x"], p)
        dx, grads = layer.backward(R, cache)
        return {"x": dx, **grads}

    assert_gradients_match(f, point, grad)


@EXAMPLES
@given(data=st.data(), sizes=nds.architectures(min_layers=1, max_layers=1, max_width=5, max_classes=4))
def test_tiny_net_gradients(gradcheck, data, sizes):
    """The whole network through the plugin's fixture (session tolerances, marker overrides)."""
    net = TinyNet(*sizes, seed=data.draw(st.integers(0, 2**16), label="seed"))
    X, y = data.draw(nds.batches(net, max_samples=6), label="batch")
    gradcheck.model(net, X, y)
