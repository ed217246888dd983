"""select_or_zero (the ReLU backward) returns exactly np.where(mask, values, 0).

Bit-for-bit, including NaN and inf values under a False mask (which must give +0.0, not
NaN) and -0.0 values, for every memory layout the network produces (contiguous,
channels-last, mixed, sliced) and the dtype and layout of the values.
"""

import numpy as np
import pytest

from convnet.ops.elementwise_kernels import select_or_zero


def layouts(array):
    yield "contiguous", array
    yield "channels_last", np.moveaxis(np.ascontiguousarray(np.moveaxis(array, 1, -1)), -1, 1)
    yield "sliced", np.repeat(array, 2, axis=-1)[..., ::2]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_exactly_np_where_in_every_layout(dtype):
    rng = np.random.default_rng(0)
    values = rng.standard_normal((3, 4, 5, 6)).astype(dtype)
    values.flat[:4] = [np.nan, np.inf, -np.inf, -0.0]
    mask = rng.random(values.shape) < 0.5
    mask.flat[:4] = False
    expected = np.where(mask, values, dtype(0))
    for value_name, v in layouts(values):
        for mask_name, m in layouts(mask):
            got = select_or_zero(v, m)
            assert got.dtype == dtype, (value_name, mask_name)
            np.testing.assert_array_equal(got, expected)
            assert not np.signbit(got[~mask]).any(), (value_name, mask_name)
            if value_name == mask_name == "channels_last":
                assert np.moveaxis(got, 1, -1).flags.c_contiguous


def test_empty_and_integer_fall_back_to_numpy():
    assert select_or_zero(np.zeros((0, 3)), np.zeros((0, 3), bool)).shape == (0, 3)
    np.testing.assert_array_equal(select_or_zero(np.arange(4), np.array([1, 0, 1, 0], bool)),
                                  [0, 0, 2, 0])


@pytest.mark.parametrize("layout", ["contiguous", "channels_last", "strided"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_and_mask_is_numpys_relu_and_torchs_mask_in_any_layout(layout, dtype):
    from convnet.ops.elementwise_kernels import relu_and_mask
    x = np.random.default_rng(0).standard_normal((2, 3, 6, 5)).astype(dtype)
    x.reshape(-1)[::7] = np.nan
    x.reshape(-1)[::11] = -0.0
    if layout == "channels_last":
        x = np.moveaxis(np.ascontiguousarray(np.moveaxis(x, 1, -1)), -1, 1)
    elif layout == "strided":
        x = x[:, :, ::2]
    y, passes = relu_and_mask(x)
    np.testing.assert_array_equal(y, np.maximum(x, dtype(0)))
    np.testing.assert_array_equal(passes, ~(x <= 0))
    assert y.dtype == dtype and (layout == "strided" or y.strides == x.strides)


def test_select_with_a_mask_in_another_layout_equals_np_where():
    """A channels-last mask with an NCHW gradient (a ReLU's backward after an op that
    returns NCHW): the compiled 4-D path, NaN and -0.0 as np.where gives them."""
    rng = np.random.default_rng(5)
    values = rng.standard_normal((3, 4, 5, 6)).astype(np.float32)
    values[0, 1, 2, 3], values[1, 0, 0, 0] = np.nan, -0.0
    mask = np.ascontiguousarray(np.moveaxis(rng.random((3, 5, 6, 4)) > 0.5, -1, 1))
    out = select_or_zero(values, mask)
    expected = np.where(mask, values, np.float32(0))
    np.testing.assert_array_equal(out, expected)
    assert np.array_equal(np.signbit(out), np.signbit(expected))
    assert out.strides == values.strides


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_compiled_add_is_numpys_add_in_the_same_memory_order(dtype):
    """elementwise_kernels.add (residual sums, gradient accumulation): the same IEEE sums as
    NumPy (NaN, inf - inf, -0.0 + -0.0), in the operands' memory order, 64-byte aligned;
    NumPy's own sum where the compiled pass does not apply."""
    from convnet.ops.elementwise_kernels import MIN_COMPILED_SIZE, _compiled_sum, add
    rng = np.random.default_rng(1)
    shape = (4, 16, 33, 32)
    assert np.prod(shape) >= MIN_COMPILED_SIZE
    a, b = (rng.standard_normal(shape).astype(dtype) for _ in range(2))
    a.flat[:5], b.flat[:5] = [np.nan, np.inf, np.inf, -0.0, 1e38], [1, -np.inf, 1, -0.0, 1e38]
    for name, x in layouts(a):
        if name == "sliced":
            continue
        y = dict(layouts(b))[name]
        with np.errstate(invalid="ignore", over="ignore"):
            got = add(x, y)
            expected = x + y
        assert got.strides == expected.strides and got.ctypes.data % 64 == 0, name
        np.testing.assert_array_equal(got, expected)
        assert np.array_equal(np.signbit(got), np.signbit(expected))
    sliced_a, sliced_b = dict(layouts(a))["sliced"], dict(layouts(b))["sliced"]
    channels_last_b = dict(layouts(b))["channels_last"]
    other_dtype = b.astype(np.float64 if dtype == np.float32 else np.float32)
    with np.errstate(invalid="ignore", over="ignore"):
        for x, y in ((a, channels_last_b),                      # two memory orders
                     (a, b[:1]),                                # broadcasting
                     (a, other_dtype),                          # mixed dtypes
                     (a[:1, :1], b[:1, :1]),                    # small
                     (sliced_a, sliced_b)):                     # not dense
            assert _compiled_sum(x, y) is None
            np.testing.assert_array_equal(add(x, y), x + y)


def test_tensor_addition_and_gradient_accumulation_use_it():
    """A residual block's sum and the gradient of a tensor used twice, through the Tensor
    API: the same values as NumPy's, channels-last kept."""
    import convnet
    rng = np.random.default_rng(2)
    x = rng.standard_normal((8, 32, 16, 16)).astype(np.float32)
    channels_last = np.moveaxis(np.ascontiguousarray(np.moveaxis(x, 1, -1)), -1, 1)
    t = convnet.from_numpy(channels_last).requires_grad_(True)
    y = t * 2.0 + t                                   # t is used twice
    np.testing.assert_array_equal(y.data, channels_last * np.float32(2.0) + channels_last)
    g = rng.standard_normal(x.shape).astype(np.float32)
    y.backward(g)
    np.testing.assert_array_equal(t.grad, g * np.float32(2.0) + g)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_in_place_is_numpys_maximum(dtype):
    """The fused inference path's ReLU: exactly np.maximum(x, 0) (NaN kept, -0.0 -> 0.0,
    inf kept) in every layout, written into the array itself."""
    from convnet.ops.elementwise_kernels import relu_in_place
    rng = np.random.default_rng(4)
    values = rng.standard_normal((4, 16, 33, 32)).astype(dtype)
    values.flat[:5] = [np.nan, np.inf, -np.inf, -0.0, 0.0]
    for name, v in layouts(values):
        expected = np.maximum(v, 0)
        work = v.copy(order="K") if name != "sliced" else np.repeat(v, 2, axis=-1)[..., ::2]
        out = relu_in_place(work)
        assert out is work, name
        np.testing.assert_array_equal(out, expected)
        assert not np.signbit(out).any(), name


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_clip_in_place_is_numpys_clip(dtype):
    """The fused inference path's ReLU6: exactly np.clip(x, 0, 6) (NaN kept, -0.0 kept,
    +-inf clipped) in every layout, written into the array itself."""
    from convnet.ops.elementwise_kernels import clip_in_place
    rng = np.random.default_rng(5)
    values = (rng.standard_normal((4, 16, 33, 32)) * 5).astype(dtype)
    values.flat[:6] = [np.nan, np.inf, -np.inf, -0.0, 0.0, 6.0]
    for name, v in layouts(values):
        expected = np.clip(v, 0, 6)
        work = v.copy(order="K") if name != "sliced" else np.repeat(v, 2, axis=-1)[..., ::2]
        out = clip_in_place(work, 0, 6)
        assert out is work, name
        np.testing.assert_array_equal(out, expected)
        assert np.array_equal(np.signbit(out), np.signbit(expected)), name


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_channel_gates_are_numpys_products(dtype):
    """multiply's compiled case (a squeeze-and-excitation gate on channels-last memory):
    the same products as NumPy's broadcast ``*`` (NaN, inf * 0), in either operand order,
    the result channels-last; NumPy's own product for what it does not take."""
    from convnet.ops.elementwise_kernels import _gated_product, multiply
    rng = np.random.default_rng(6)
    x = dict(layouts(rng.standard_normal((4, 24, 26, 27)).astype(dtype)))["channels_last"]
    gate = rng.random((4, 24, 1, 1)).astype(dtype)
    x[0, 0, 0, :3], gate[1, 2] = [np.nan, np.inf, -np.inf], 0.0
    x[1, 2, 0, 0] = np.inf                                    # inf * 0 = NaN
    with np.errstate(invalid="ignore"):
        for got, expected in ((multiply(x, gate), x * gate), (multiply(gate, x), gate * x)):
            np.testing.assert_array_equal(got, expected)
            assert np.moveaxis(got, 1, -1).flags.c_contiguous and got.ctypes.data % 64 == 0
    with np.errstate(invalid="ignore"):
        for y, z in ((np.ascontiguousarray(x), gate),               # row-major
                     (x, gate.astype(np.float16)),                  # mixed dtypes
                     (x, gate[:1]),                                 # one gate for all images
                     (x[:1, :1], gate[:1, :1]),                     # small
                     (x, x)):
            assert _gated_product(y, z) is None
            np.testing.assert_array_equal(multiply(y, z), y * z)


def test_a_gated_product_through_tensors_matches_torch():
    import convnet
    torch = pytest.importorskip("torch", reason="PyTorch is the oracle")
    rng = np.random.default_rng(7)
    x = dict(layouts(rng.standard_normal((8, 32, 16, 16)).astype(np.float32)))["channels_last"]
    gate = rng.random((8, 32, 1, 1)).astype(np.float32)
    xc, gc = (convnet.from_numpy(a).requires_grad_(True) for a in (x, gate))
    xt, gt = (torch.from_numpy(a.copy()).requires_grad_(True) for a in (x, gate))
    y, yt = gc * xc, gt * xt
    np.testing.assert_array_equal(y.data, yt.detach().numpy())
    g = rng.standard_normal(y.shape).astype(np.float32)
    y.backward(g)
    yt.backward(torch.from_numpy(g))
    np.testing.assert_array_equal(xc.grad, xt.grad.numpy())
    np.testing.assert_allclose(gc.grad, gt.grad.numpy(), rtol=1e-5, atol=1e-5)
