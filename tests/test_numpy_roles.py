"""The NumPy observer's role tests on arrays (netdoctor/observe/numpy/roles.py)."""

from __future__ import annotations

import numpy as np
import pytest

from netdoctor.observe.numpy.roles import one_top


@pytest.mark.parametrize("rows, coded", [
    (np.eye(4)[[2, 0, 3]], True),  # one-hot
    (np.eye(4)[[1, 1]] * 0.95 + 0.005, True),  # 0.005/0.955 codes
    (np.where(np.eye(3)[[0, 2]] > 0, 1.0, -1.0), True),  # +-1 codes
    (np.zeros((5, 4)), False),  # the delta of dead units: no class
    (np.array([[0.0, 0.0, -0.3, 0.0]]), False),  # the largest value shared by three entries
    (np.array([[0.2, 0.2, 0.1]]), False),  # a tie at the top
])
def test_one_top_tells_target_codes_from_deltas_with_few_values(rows, coded):
    assert one_top(rows) is coded
