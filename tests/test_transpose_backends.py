"""Every backend of the transposed convolution (convnet.ops.conv.transpose_dispatch.BACKENDS:
the NumPy reference and oneDNN where it loads), called directly, on the cases each supports:
PyTorch's conv_transpose (float64) for the output and every gradient, the reference for the
same values, a central-difference check, NaN/inf, an empty batch and non-contiguous input.
oneDNN computes in float32 and is held to float32 tolerances."""

from __future__ import annotations

import numpy as np
import pytest

from convnet.ops.conv import transpose as reference
from convnet.ops.conv import transpose_dispatch
from convnet.ops.conv.transpose import conv_transpose_spec
from convnet.ops.onednn import library as onednn_library

from gradcheck import numerical_gradient

torch = pytest.importorskip("torch", reason="PyTorch is the oracle")
TF = torch.nn.functional

BACKENDS = sorted((name, backend) for name, backend in transpose_dispatch.BACKENDS.items()
                  if name != "onednn" or onednn_library.available())

# (spatial, kernel, stride, padding, output_padding, dilation, groups, bias)
CASES = [
    ((5,), 3, 2, 1, 1, 1, 1, True),
    ((6, 5), 4, 2, 1, 0, 1, 1, True),              # DCGAN's up-convolution
    ((4, 5), 3, 2, 0, 1, 1, 1, False),             # output padding without a crop
    ((5, 4), 3, 1, 1, 0, 2, 2, True),              # dilation and groups
    ((4, 4), 2, 2, 0, 0, 1, 1, True),              # U-Net's 2x2 up-convolution
    ((3, 4), 3, 3, ((0, 2), (1, 1)), 2, 1, 1, True),   # asymmetric crops (convnet's pairs)
    ((3, 4, 3), 3, 2, 1, 1, 1, 1, True),           # 3-D
]


def dtype_of(name):
    return np.float32 if name == "onednn" else np.float64


def make(case, dtype, seed=0, batch=2, channels=(4, 6)):
    spatial, kernel, stride, padding, output_padding, dilation, groups, bias = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, channels[0]) + spatial).astype(dtype)
    w = rng.standard_normal((channels[0], channels[1] // groups) + (kernel,) * len(spatial)
                            ).astype(dtype)
    b = rng.standard_normal(channels[1]).astype(dtype) if bias else None
    spec = conv_transpose_spec(x.shape, x.dtype, w.shape, None if b is None else b.shape,
                               stride, padding, output_padding, groups, dilation)
    return x, w, b, spec


def torch_transpose(x, w, b, spec, dy):
    """PyTorch's conv_transpose with no crop, then convnet's (before, after) crop."""
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    bt = None if b is None else torch.tensor(b, dtype=torch.float64, requires_grad=True)
    function = (TF.conv_transpose1d, TF.conv_transpose2d, TF.conv_transpose3d)[x.ndim - 3]
    canvas = spec.canvas_shape[2:]
    full = function(xt, wt, None, spec.stride, 0, 0, spec.groups, spec.dilation)
    grow = [c - f for c, f in zip(canvas, full.shape[2:])]          # the output padding
    full = TF.pad(full, [v for g in reversed(grow) for v in (0, g)])
    index = (slice(None), slice(None)) + tuple(slice(b_, c - a) for c, (b_, a)
                                               in zip(canvas, spec.padding))
    y = full[index]
    if bt is not None:
        y = y + bt.reshape((1, -1) + (1,) * (x.ndim - 2))
    if dy is not None:
        y.backward(torch.tensor(dy, dtype=torch.float64))
    grads = [None if t is None or t.grad is None else t.grad.numpy() for t in (xt, wt, bt)]
    return y.detach().numpy(), grads


def close(ours, theirs, dtype):
    tolerance = 1e-10 if dtype == np.float64 else 3e-5
    np.testing.assert_allclose(ours, theirs, rtol=tolerance,
                               atol=tolerance * max(1.0, np.abs(theirs).max()))


def supported():
    return [pytest.param(name, backend, case, id=f"{name}-{len(case[0])}d-k{case[1]}-s{case[2]}"
                         f"-p{case[3]}-op{case[4]}-d{case[5]}-g{case[6]}")
            for name, backend in BACKENDS for case in CASES
            if backend.supports(make(case, dtype_of(name))[3], *make(case, dtype_of(name))[:2])]


def test_the_reference_supports_everything_and_onednn_the_float32_cases():
    for case in CASES:
        x, w, b, spec = make(case, np.float64)
        assert reference.supports(spec, x, w)
        if onednn_library.available():
            assert not transpose_dispatch.BACKENDS["onednn"].supports(spec, x, w)   # float64
            assert transpose_dispatch.BACKENDS["onednn"].supports(
                spec, x.astype(np.float32), w.astype(np.float32)), case


@pytest.mark.parametrize("name, backend, case", supported())
def test_against_torch_and_the_reference(name, backend, case):
    dtype = dtype_of(name)
    x, w, b, spec = make(case, dtype)
    dy = np.random.default_rng(1).standard_normal(spec.output_shape).astype(dtype)
    y, saved = backend.forward(x, w, b, spec)
    grads = backend.backward(dy, saved, spec)
    assert y.shape == spec.output_shape and y.dtype == dtype
    y_torch, grads_torch = torch_transpose(x, w, b, spec, dy)
    close(y, y_torch, dtype)
    for ours, theirs in zip(grads, grads_torch):
        assert (ours is None) == (theirs is None)
        if theirs is not None:
            assert ours.dtype == dtype
            close(ours, theirs, dtype)
    wide = [None if a is None else a.astype(np.float64) for a in (x, w, b)]
    close(y, reference.forward(*wide, spec)[0], dtype)
    dx, dw, _ = backend.backward(dy, saved, spec, need_input_grad=False, need_weight_grad=True)
    assert dx is None and dw is not None


@pytest.mark.parametrize("name, backend", BACKENDS)
def test_finite_differences(name, backend):
    dtype = dtype_of(name)
    x, w, b, spec = make(((3, 4), 3, 2, 1, 1, 1, 1, True), dtype, batch=1, channels=(2, 3))
    dy = np.random.default_rng(2).standard_normal(spec.output_shape).astype(dtype)
    dx, dw, db = backend.backward(dy, backend.forward(x, w, b, spec)[1], spec)

    def loss():
        return float((backend.forward(x, w, b, spec)[0].astype(np.float64) * dy).sum())
    eps, rtol, atol = (1e-6, 1e-6, 1e-7) if dtype == np.float64 else (1e-2, 2e-3, 2e-3)
    for analytic, array in ((dx, x), (dw, w), (db, b)):
        np.testing.assert_allclose(analytic, numerical_gradient(loss, array, eps), rtol=rtol,
                                   atol=atol)


@pytest.mark.parametrize("name, backend", BACKENDS)
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_input(name, backend, value):
    dtype = dtype_of(name)
    x, w, b, spec = make(((4, 4), 3, 2, 1, 1, 1, 1, True), dtype)
    x[0, 1, 2, 3] = value
    y, _ = backend.forward(x, w, b, spec)
    y_torch, _ = torch_transpose(x, w, b, spec, None)
    np.testing.assert_array_equal(np.isnan(y), np.isnan(y_torch))
    finite = np.isfinite(y_torch)
    np.testing.assert_array_equal(y[~finite], y_torch[~finite])
    close(y[finite], y_torch[finite], dtype)


@pytest.mark.parametrize("name, backend", BACKENDS)
def test_empty_batch_and_non_contiguous_input(name, backend):
    dtype = dtype_of(name)
    x, w, b, spec = make(((5, 6), 3, 2, 1, 1, 1, 1, True), dtype)
    empty = conv_transpose_spec((0,) + x.shape[1:], x.dtype, w.shape, b.shape, 2, 1, 1)
    if backend.supports(empty, x[:0], w):
        y, _ = backend.forward(x[:0], w, b, empty)
        assert y.shape == empty.output_shape
    view = np.random.default_rng(3).standard_normal((2, 4, 6, 5)).astype(dtype).transpose(
        0, 1, 3, 2)                                         # non-contiguous, x's shape
    assert backend.supports(spec, view, w)
    y, _ = backend.forward(view, w, b, spec)
    close(y, torch_transpose(np.ascontiguousarray(view), w, b, spec, None)[0], dtype)


def test_an_empty_batch_through_the_functional_form_as_torch():
    """Found by the grid above: the NumPy path failed on an empty batch (col2im of nothing)."""
    import convnet
    import convnet.functional as F
    x = convnet.tensor(np.zeros((0, 3, 4, 4)), requires_grad=True)
    w = convnet.tensor(np.random.default_rng(0).standard_normal((3, 2, 3, 3)), requires_grad=True)
    b = convnet.tensor(np.ones(2), requires_grad=True)
    y = F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1)
    expected = TF.conv_transpose2d(torch.zeros(0, 3, 4, 4, dtype=torch.float64),
                                   torch.tensor(w.data), torch.tensor(b.data), 2, 1, 1)
    assert y.shape == tuple(expected.shape) == (0, 2, 8, 8)
    y.sum().backward()
    assert x.grad.shape == (0, 3, 4, 4) and not w.grad.any() and not b.grad.any()
