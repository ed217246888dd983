"""A Python number in Tensor arithmetic takes the tensor's floating dtype: float64 tensors
compute with the exact double (it used to be rounded to float32), float32 stays float32."""

from __future__ import annotations

import numpy as np
import pytest

import convnet


@pytest.mark.parametrize("op", ["__add__", "__radd__", "__sub__", "__rsub__", "__mul__",
                                "__rmul__", "__truediv__", "__rtruediv__"])
def test_a_python_number_keeps_float64_precision_and_float32_stays_float32(op):
    x64 = convnet.tensor(np.array([3.0, 7.0]))
    exact = getattr(np.array([3.0, 7.0]), op)(0.1)                     # NumPy, in double
    np.testing.assert_array_equal(getattr(x64, op)(0.1).data, exact)
    x32 = convnet.tensor(np.array([3.0, 7.0], np.float32))
    assert getattr(x32, op)(0.1).dtype == np.float32
