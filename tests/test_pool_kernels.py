"""The compiled max-pooling kernels give exactly what the NumPy implementation gives.

Both paths are oracled elsewhere (PyTorch and the loop references run through the default
path); this pins the other path to it: the forward pass (maxima and winners) bit for bit,
the backward pass up to the order of additions, over padding forms and modes, dilation,
ceil_mode, ties and 1-3 spatial dims.
"""

import itertools

import numpy as np
import pytest

from convnet.ops import pool
from convnet.ops.pool import kernels as pool_kernels, reference


CASES = [
    # (spatial shape, kernel, stride, padding, dilation, ceil_mode, padding_mode)
    ((9,), 3, 2, 1, 1, False, None),
    ((10,), 2, None, "same", 1, True, None),
    ((9, 10), 3, 2, "same", 1, False, None),
    ((9, 10), 2, 2, 0, 1, True, None),
    ((8, 11), (3, 2), (2, 1), ((1, 0), (0, 1)), (2, 1), False, None),
    ((9, 10), 3, 2, "same", 1, False, "reflect"),
    ((9, 10), 3, 3, 2, 1, True, "symmetric"),
    ((7, 7), 4, 1, "same", 1, False, "circular"),
    ((5, 6, 7), 2, 2, 1, 1, False, None),
    ((5, 6, 7), 3, (1, 2, 3), "same", (1, 1, 2), True, "replicate"),
]


@pytest.mark.parametrize("shape, kernel, stride, padding, dilation, ceil_mode, mode", CASES)
@pytest.mark.parametrize("dtype, ties", [(np.float32, False), (np.float64, False),
                                         (np.float64, True)])
def test_compiled_max_pool_equals_numpy(shape, kernel, stride, padding, dilation, ceil_mode,
                                        mode, dtype, ties):
    rng = np.random.default_rng(len(shape) * 7 + (mode is not None))
    x = rng.standard_normal((2, 3) + shape).astype(dtype)
    if ties:  # few distinct values: many windows hold equal maxima
        x = np.round(x).astype(dtype)
    spec = pool.pool_spec(x.shape, x.dtype, kernel, stride, padding, dilation, ceil_mode, mode)
    values, winner = pool.max_forward(x, spec)
    values_np, winner_np = reference.max_forward(x, spec)
    np.testing.assert_array_equal(values, values_np)
    np.testing.assert_array_equal(winner, winner_np)
    dy = rng.standard_normal(values.shape).astype(dtype)
    # the same terms reach each input cell; where windows overlap they are added in another
    # order (output order vs window-offset order), so only rounding may differ
    tolerance = 4 * np.finfo(dtype).eps
    np.testing.assert_allclose(pool.max_backward(dy, winner, spec),
                               reference.max_backward(dy, winner_np, spec),
                               rtol=tolerance, atol=tolerance)


def test_all_negative_input_with_implicit_padding_keeps_negative_maxima():
    x = -1.0 - np.arange(2 * 4 * 4, dtype=np.float64).reshape(1, 2, 4, 4)
    spec = pool.pool_spec(x.shape, x.dtype, 3, 2, "same")
    values, _ = pool.max_forward(x, spec)
    assert (values < 0).all()
    np.testing.assert_array_equal(values, reference.max_forward(x, spec)[0])
