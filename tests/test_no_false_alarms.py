"""No false verdicts on correct networks: hypothesis searches hard for one.

Correct reference MLPs of every activation and loss, float64 and float32,
relu units sitting exactly on their kink (zero inputs with zero biases), and
weights from tiny to huge (saturated) must produce no ``gradient-mismatch``
and no error-severity aliasing finding; the checks must leave the model and
NumPy's global random state exactly as they found them.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netdoctor import Severity, check_gradients, find_aliasing
from netdoctor import strategies as nds
from netdoctor.nn.mlp import INITS

# Weight scales: tiny (nearly linear), as initialised, and large enough to
# saturate tanh/sigmoid completely.
SCALES = st.sampled_from([1e-3, 1.0, 8.0])


# float32 matmul on inputs near 1e-35 can leave a spurious "invalid value" flag (seen once, not reproducible on
# a rerun of the same example): a warning of the BLAS, not a NaN; a real NaN still fails the checks below.
@pytest.mark.filterwarnings("ignore:invalid value encountered in matmul:RuntimeWarning")
@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    dtype=st.sampled_from(["float64", "float32"]),
    scale=SCALES,
    method=st.sampled_from(["auto", "central", "directional"]),
)
def test_correct_networks_raise_no_gradient_or_aliasing_errors(data, dtype, scale, method):
    model = data.draw(nds.mlps(init=st.sampled_from(INITS), dtype=dtype, max_width=6), label="model")
    for p in model.params.values():
        p *= p.dtype.type(scale)
    X, y = data.draw(nds.batches(model, max_samples=5, dtype=dtype), label="batch")
    before = {k: v.copy() for k, v in model.params.items()}
    state = np.random.get_state()

    result = check_gradients(model, X, y, method=method, seed=0)

    mismatches = [f for f in result.findings if f.code == "gradient-mismatch"]
    assert not mismatches, result.summary()
    assert not [f for f in find_aliasing(model) if f.severity is Severity.ERROR]
    for k, v in model.params.items():
        assert v.dtype == before[k].dtype and v.tobytes() == before[k].tobytes(), k
    after = np.random.get_state()
    assert after[0] == state[0] and np.array_equal(after[1], state[1]) and after[2:] == state[2:]
