"""The depthwise backend (convnet.ops.conv.depthwise) in both memory layouts, as models use it:
channels-last arrays (what convnet's oneDNN and channels-last convolutions return) and plain
channels-first ones, float32 and float64, through F.conv2d and autograd, against PyTorch's
conv2d(groups=C) in float64. The shared grid in tests/test_backends.py holds the backend to
the reference and to finite differences."""

from __future__ import annotations

import numpy as np
import pytest

import convnet
import convnet.functional as F
from convnet.ops.conv import conv_spec, depthwise, dispatch, onednn
from convnet.ops.conv.depthwise_kernels import MAX_TAPS, forward_kernel, forward_source

torch = pytest.importorskip("torch", reason="PyTorch is the oracle")


def channels_last(array):
    return np.ascontiguousarray(array.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


def torch_depthwise(x, w, b, stride, padding, dilation, dy):
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    bt = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    y = torch.nn.functional.conv2d(xt, wt, bt, stride, padding, dilation, groups=x.shape[1])
    y.backward(torch.tensor(dy, dtype=torch.float64))
    return [t.detach().numpy() for t in (y, xt.grad, wt.grad, bt.grad)]


# (N, C, H, W, kernel, stride, padding, dilation): MobileNet/EfficientNet layers and odd ones
CASES = [
    (2, 16, 12, 12, 3, 1, 1, 1), (2, 16, 13, 11, 3, 2, 1, 1), (3, 8, 9, 10, 5, 1, 2, 1),
    (2, 8, 15, 15, 5, 2, 2, 1), (1, 24, 7, 9, 3, 1, 2, 2), (2, 3, 6, 6, 7, 1, 3, 1),
    (2, 32, 20, 4, 3, 1, 0, 1), (2, 4, 9, 9, 3, 3, 0, 1),
]


@pytest.mark.parametrize("backend", ["numpy", "default"])
@pytest.mark.parametrize("layout", ["nchw", "nhwc"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES, ids=lambda c: "x".join(map(str, c)))
def test_through_autograd_in_both_layouts_against_torch(case, dtype, layout, backend,
                                                        monkeypatch):
    """CONVNET_BACKEND=numpy: the depthwise backend; the default: oneDNN where it is loaded
    (float32), else the depthwise backend."""
    if backend == "numpy":
        monkeypatch.setenv("CONVNET_BACKEND", "numpy")
    n, c, h, w, k, stride, padding, dilation = case
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    weight = rng.standard_normal((c, 1, k, k)).astype(dtype)
    bias = rng.standard_normal(c).astype(dtype)
    if layout == "nhwc":
        x = channels_last(x)
    spec = conv_spec(x.shape, x.dtype, weight.shape, bias.shape, stride, padding, dilation, c)
    chosen = dispatch.choose_backend(x, weight, spec)
    assert chosen is depthwise or (backend == "default" and chosen is onednn)
    xt = convnet.from_numpy(x).requires_grad_(True)
    wt, bt = convnet.tensor(weight, requires_grad=True), convnet.tensor(bias, requires_grad=True)
    y = F.conv2d(xt, wt, bt, stride, padding, dilation, c)
    dy = rng.standard_normal(y.shape)
    if layout == "nhwc":
        dy = channels_last(dy)
        if chosen is depthwise:
            assert depthwise.is_channels_last(y.data)   # the output keeps the input's layout
    y.backward(dy.astype(dtype))
    expected = torch_depthwise(x, weight, bias, stride, padding, dilation, dy)
    tolerance = 1e-12 if dtype == np.float64 else 2e-5
    for ours, theirs in zip((y.data, xt.grad, wt.grad, bt.grad), expected):
        assert ours.dtype == dtype and ours.shape == theirs.shape
        np.testing.assert_allclose(ours, theirs, rtol=tolerance,
                                   atol=tolerance * max(1.0, np.abs(theirs).max()))


def test_what_it_declines_goes_elsewhere():
    x = np.zeros((1, 4, 8, 8), np.float32)
    cases = [  # (weight shape, kwargs): each computed by another backend
        ((8, 1, 3, 3), {"groups": 4}),                       # channel multiplier 2
        ((4, 1, 3, 3), {"groups": 4, "padding_mode": "reflect", "padding": 1}),
        ((4, 1, 3, 3), {"groups": 4, "stride": (1, 2)}),      # one stride per axis
        ((4, 1, 9, 9), {"groups": 4, "padding": 4}),          # more than MAX_TAPS taps
        ((4, 2, 3, 3), {"groups": 2}),                        # grouped, not depthwise
    ]
    assert 81 > MAX_TAPS
    for shape, kwargs in cases:
        spec = conv_spec(x.shape, x.dtype, shape, **kwargs)
        assert not depthwise.supports(spec, x, np.zeros(shape, np.float32)), (shape, kwargs)
    spec = conv_spec(x.shape, x.dtype, (4, 1, 3, 3), groups=4)
    assert not depthwise.supports(spec, x, np.zeros((4, 1, 3, 3)))   # mixed dtypes
    assert not depthwise.supports(spec, x.astype(np.float16), np.zeros((4, 1, 3, 3), np.float16))


def test_one_compiled_forward_per_geometry_with_every_tap_written_out():
    text = forward_source("nhwc", (2, 3), 2, (1, 2))
    assert text.count("w[") == 6 and "r_1 = s[oy * 2 + 1]" in text and "ox * 2 + 4" in text
    assert forward_kernel("nchw", (3, 3), 1, (1, 1)) is forward_kernel("nchw", (3, 3), 1, (1, 1))
    with pytest.raises(ValueError, match="at most 49 taps"):
        forward_kernel("nchw", (8, 8), 1, (1, 1))
    with pytest.raises(ValueError, match="layout"):
        forward_kernel("nwhc", (3, 3), 1, (1, 1))
