"""2-D max pooling of channels-last inputs (a convolution's output) equals the NumPy path
and keeps the layout.

:mod:`convnet.ops.pool.kernels2d` runs when the input's channel axis is its
fastest-varying one; the other paths are oracled against PyTorch and loop references
elsewhere (tests/test_pool_torch.py, tests/test_pool_reference.py,
tests/test_pool_kernels.py). Here the same values in channels-last memory must give the
NumPy path's maxima and winners bit for bit and its input gradient up to the order of
additions, over padding forms and modes, stride, dilation, ceil_mode, ties and NaNs, and
the outputs and gradient must be channels-last in memory.
"""

import numpy as np
import pytest

from convnet.ops import pool
from convnet.ops.pool import kernels as pool_kernels, kernels2d as pool2d_kernels, reference


CASES = [
    # (spatial shape, kernel, stride, padding, dilation, ceil_mode, padding_mode)
    ((8, 8), 2, 2, 0, 1, False, None),
    ((9, 10), 3, 2, "same", 1, False, None),
    ((9, 10), 2, 2, 0, 1, True, None),
    ((8, 11), (3, 2), (2, 1), ((1, 0), (0, 1)), (2, 1), False, None),
    ((9, 10), 3, 2, "same", 1, False, "reflect"),
    ((7, 7), 4, 1, "same", 1, False, "circular"),
    ((15, 15), 3, 3, 0, 1, False, None),
]


def channels_last_copy(x):
    return np.moveaxis(np.ascontiguousarray(np.moveaxis(x, 1, -1)), -1, 1)


@pytest.mark.parametrize("shape, kernel, stride, padding, dilation, ceil_mode, mode", CASES)
@pytest.mark.parametrize("dtype, values", [(np.float32, "normal"), (np.float64, "normal"),
                                           (np.float64, "ties"), (np.float64, "nan")])
def test_channels_last_max_pool_equals_numpy_path(shape, kernel, stride, padding, dilation,
                                                  ceil_mode, mode, dtype, values):
    rng = np.random.default_rng(len(CASES) + shape[0])
    x = rng.standard_normal((2, 5) + shape).astype(dtype)
    if values == "ties":
        x = np.round(x).astype(dtype)
    if values == "nan":
        x[0, 1, 2, 3] = np.nan
    spec = pool.pool_spec(x.shape, x.dtype, kernel, stride, padding, dilation, ceil_mode, mode)
    x_last = channels_last_copy(x)
    assert pool2d_kernels.is_channels_last(x_last)
    out, winner = pool.max_forward(x_last, spec)
    # with a padding_mode the padded copy is channel-major and takes the plane kernel
    assert np.moveaxis(out, 1, -1).flags.c_contiguous == (mode is None)
    assert winner.dtype == np.int8
    expected, expected_winner = pool.max_forward(x, spec)        # the plane-wise kernel
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(winner, expected_winner)
    if values != "nan":                       # the NumPy path does not rank NaNs
        out_np, winner_np = reference.max_forward(x, spec)
        np.testing.assert_array_equal(out, out_np)
        np.testing.assert_array_equal(winner, winner_np)
    dy = rng.standard_normal(out.shape).astype(dtype)
    grad = pool.max_backward(channels_last_copy(dy), winner, spec)
    assert grad.shape == x.shape
    assert np.moveaxis(grad, 1, -1).flags.c_contiguous == (mode is None)
    tolerance = 4 * np.finfo(dtype).eps
    np.testing.assert_allclose(grad, reference.max_backward(dy, expected_winner, spec),
                               rtol=tolerance, atol=tolerance)


def test_single_channel_input_takes_the_plane_kernel():
    x = np.zeros((2, 1, 4, 4))
    assert not pool2d_kernels.is_channels_last(x)
    assert not pool2d_kernels.is_channels_last(np.zeros((2, 3, 4, 4)))


@pytest.mark.parametrize("shape, kernel", [((8, 8), 2), ((15, 12), 3), ((6, 8), (3, 2)),
                                           ((9, 8), 2)])
@pytest.mark.parametrize("values", ["normal", "ties", "nan"])
def test_channel_major_windows_that_tile_the_input(shape, kernel, values):
    """Stride == kernel on sizes the kernel divides: the backward pass writes every cell
    once (no zeroing); (9, 8) with k=2 does not tile and takes the scatter kernel."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3) + shape)
    if values == "ties":
        x = np.round(x)
    if values == "nan":
        x[1, 2, 0, 1] = np.nan
    spec = pool.pool_spec(x.shape, x.dtype, kernel, kernel)
    out, winner = pool.max_forward(x, spec)
    assert out.flags.c_contiguous and winner.dtype == np.int8
    if values != "nan":
        out_np, winner_np = reference.max_forward(x, spec)
        np.testing.assert_array_equal(out, out_np)
        np.testing.assert_array_equal(winner, winner_np)
    else:
        assert np.isnan(out[1, 2, 0, 0])
    dy = rng.standard_normal(out.shape)
    np.testing.assert_array_equal(pool.max_backward(dy, winner, spec),
                                  reference.max_backward(dy, winner, spec))


@pytest.mark.parametrize("channels", [6, 8, 16])
@pytest.mark.parametrize("shape, kernel", [((8, 8), 2), ((15, 12), 3), ((9, 8), 2)])
@pytest.mark.parametrize("values", ["ties", "nan"])
def test_channels_last_windows_that_tile_the_input(channels, shape, kernel, values):
    """The channels-last backward of tiling windows writes each channel vector once (from 8
    channels; fewer take the scatter kernel); gradients and layout as the reference's."""
    rng = np.random.default_rng(5)
    x = np.round(rng.standard_normal((3, channels) + shape))
    if values == "nan":
        x[1, channels - 1, 0, 1] = np.nan
    spec = pool.pool_spec(x.shape, x.dtype, kernel, kernel)
    out, winner = pool.max_forward(channels_last_copy(x), spec)
    assert pool2d_kernels.is_channels_last(winner)
    dy = rng.standard_normal(out.shape)
    grad = pool.max_backward(channels_last_copy(dy), winner, spec)
    assert np.moveaxis(grad, 1, -1).flags.c_contiguous
    np.testing.assert_array_equal(grad, reference.max_backward(dy, reference.max_forward(
        x, spec)[1], spec))


@pytest.mark.parametrize("kernel, stride, padding", [(2, 2, 0), (3, 2, "same"), (3, 1, 1),
                                                     ((2, 3), (1, 2), 0)])
def test_specialised_inside_kernel_on_large_channel_major_inputs(kernel, stride, padding):
    """Large channel-major inputs send the windows inside the input to a kernel compiled
    for their size and stride; the result equals the NumPy path's, borders included."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((16, 32, 34, 33)).astype(np.float32)
    spec = pool.pool_spec(x.shape, x.dtype, kernel, stride, padding)
    out, winner = pool.max_forward(x, spec)
    assert out.size >= 2 * pool2d_kernels.SPECIALISE_MIN_OUTPUTS
    out_np, winner_np = reference.max_forward(x, spec)
    np.testing.assert_array_equal(out, out_np)
    np.testing.assert_array_equal(winner, winner_np)


@pytest.mark.parametrize("kernel, stride, padding", [(2, 2, 0), (3, 2, 0), ((2, 3), (1, 2), 0),
                                                     (3, 2, 1), (3, 1, (1, 0))])
def test_specialised_inside_kernel_on_large_channels_last_inputs(kernel, stride, padding):
    """Large channels-last inputs go to the channels-last kernel compiled for their size and
    stride for the windows inside (with padding: from an offset, the border windows to the
    general kernel): values and winners equal the NumPy path's, with ties and NaNs (a larger
    value or a NaN takes over, as in the general kernel)."""
    rng = np.random.default_rng(6)
    planes = rng.integers(-3, 4, (8, 32, 33, 35)).astype(np.float32)   # many ties
    planes[rng.random(planes.shape) < 0.01] = np.nan
    x = np.moveaxis(np.ascontiguousarray(np.moveaxis(planes, 1, -1)), -1, 1)  # channels-last
    spec = pool.pool_spec(x.shape, x.dtype, kernel, stride, padding)
    out, winner = pool.max_forward(x, spec)
    assert pool2d_kernels._specialised_inside(x.shape, spec.kernel_size, spec.stride,
                                              spec.dilation, [b for b, _ in spec.padding],
                                              spec.out_sizes) is not None
    out_np, winner_np = reference.max_forward(np.ascontiguousarray(x), spec)
    np.testing.assert_array_equal(out, out_np)
    np.testing.assert_array_equal(winner, winner_np)
    dy = rng.standard_normal(out.shape).astype(np.float32)
    # overlapping windows add up to 4 gradients per cell, in another order than the
    # reference's: float32 rounding apart
    np.testing.assert_allclose(pool.max_backward(dy, winner, spec),
                               reference.max_backward(dy, winner_np, spec), rtol=1e-6, atol=1e-6)
