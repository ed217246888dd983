"""Every registered backend of every op family, held to the same grid.

For each backend of ``convnet.ops.conv.dispatch.BACKENDS`` (reference, direct, channels_last, fft,
depthwise, onednn)
and ``convnet.ops.pool.dispatch.BACKENDS`` (reference, compiled, onednn), called directly with the
signature every backend shares, on each case it supports:

- PyTorch (float64) is the oracle for the output and every gradient;
- the family's reference computes the same values (the backend is code, not new maths);
- a float64 central-difference check of ``sum(out * g)`` for a random ``g``;
- NaN and +-inf inputs, ties, an empty batch and non-contiguous inputs.

The other families with a oneDNN backend (transposed convolution, batch normalisation,
activations, softmax, resampling, fully connected layers) have their grid in
test_backend_families.py.

A non-finite input spreads through a transform over the whole output, so for the FFT
backend a NaN case checks that every output torch makes NaN is NaN (it makes more).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from convnet.ops.conv import conv_spec
from convnet.ops.conv import dispatch as conv_dispatch
from convnet.ops.conv import reference as conv_reference
from convnet.ops.onednn import library as onednn_library
from convnet.ops.pool import dispatch as pool_dispatch
from convnet.ops.pool import pool_spec
from convnet.ops.pool import reference as pool_reference
from gradcheck import numerical_gradient

torch = pytest.importorskip("torch", reason="PyTorch is the oracle")
TF = torch.nn.functional

# oneDNN's backend where it is in use (not installed, or CONVNET_BACKEND=numpy: the run
# that holds the NumPy backends to these tests, tests/test_suite_without_onednn.py)
CONV_BACKENDS = sorted((name, backend) for name, backend in conv_dispatch.BACKENDS.items()
                       if name != "onednn" or onednn_library.available())
POOL_BACKENDS = sorted((name, backend) for name, backend in pool_dispatch.BACKENDS.items()
                       if name != "onednn" or onednn_library.available())

# (spatial, kernel, stride, padding, dilation, groups, bias)
CONV_CASES = [
    ((9,), 3, 1, 1, 1, 1, True),
    ((10,), 4, 2, "same", 1, 1, False),        # even kernel, strided 'same' (the notes' rule)
    ((7, 8), 3, 1, 0, 1, 1, True),
    ((9, 9), 3, 2, "same", 1, 1, True),
    ((8, 7), 2, 1, ((1, 0), (0, 1)), 2, 1, False),
    ((8, 8), 3, 1, 1, 1, 2, True),             # groups: the reference and the FFT only
    ((5, 6, 5), 3, 1, 1, 1, 1, True),          # 3-D
    # depthwise ("dw": groups = channels = 5, one filter each): the depthwise backend's cases
    ((9, 9), 3, 1, 1, 1, "dw", True),
    ((10, 9), 3, 2, "same", 1, "dw", False),
    ((8, 7), 2, 1, ((1, 0), (0, 1)), 2, "dw", True),
    ((11, 12), 5, 3, 2, 1, "dw", True),
]


def for_backend(name: str, case):
    """The depthwise backend computes only depthwise convolutions: the same geometry, with
    one filter per channel."""
    return case[:5] + ("dw",) + case[6:] if name == "depthwise" else case


# backends that compute in float32 only (oneDNN's kernels) are held to float32 tolerances
FLOAT32_ONLY = {"onednn"}


def dtype_of(name: str):
    return np.float32 if name in FLOAT32_ONLY else np.float64


def conv_case(case, seed=0, batch=2, channels=(4, 6), dtype=np.float64):
    spatial, kernel, stride, padding, dilation, groups, bias = case
    if groups == "dw":
        channels, groups = (5, 5), 5
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, channels[0]) + spatial).astype(dtype)
    w = rng.standard_normal((channels[1], channels[0] // groups) + (kernel,) * len(spatial)
                            ).astype(dtype)
    b = rng.standard_normal(channels[1]).astype(dtype) if bias else None
    spec = conv_spec(x.shape, x.dtype, w.shape, None if b is None else b.shape, stride, padding,
                     dilation, groups)
    return x, w, b, spec


def torch_conv(x, w, b, spec, dy):
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    bt = None if b is None else torch.tensor(b, requires_grad=True)
    pads = [v for pair in reversed(spec.padding) for v in pair]
    conv = (TF.conv1d, TF.conv2d, TF.conv3d)[len(spec.kernel_size) - 1]
    y = conv(TF.pad(xt, pads), wt, bt, spec.stride, 0, spec.dilation, spec.groups)
    if dy is not None:
        y.backward(torch.tensor(dy))
    grads = (xt.grad, wt.grad, None if bt is None else bt.grad)
    return y.detach().numpy(), [None if g is None else g.numpy() for g in grads]


def run_conv(backend, x, w, b, spec, dy):
    y, saved = backend.forward(x, w, b, spec)
    return y, backend.backward(dy, saved, spec)


def assert_close(ours, expected, scale=1.0, dtype=np.float64):
    tolerance = 1e-9 if dtype == np.float64 else 2e-5
    np.testing.assert_allclose(ours, expected, rtol=tolerance, atol=tolerance * scale)


def supported_conv_cases():
    """(backend name, backend, case) for every case each backend computes (the dispatch
    never sends it the others: groups and 3-D do not go to channels_last)."""
    return [pytest.param(name, backend, case, id=f"{name}-{len(case[0])}d-k{case[1]}-s{case[2]}"
                         f"-p{case[3]}-d{case[4]}-g{case[5]}")
            for name, backend in CONV_BACKENDS for case in CONV_CASES
            if backend.supports(conv_case(case, dtype=dtype_of(name))[3],
                                *conv_case(case, dtype=dtype_of(name))[:2])]


@pytest.mark.parametrize("name, backend, case", supported_conv_cases())
def test_conv_backend_against_torch_and_the_reference(name, backend, case):
    dtype = dtype_of(name)
    x, w, b, spec = conv_case(case, dtype=dtype)
    dy = np.random.default_rng(1).standard_normal(spec.output_shape).astype(dtype)
    y, grads = run_conv(backend, x, w, b, spec, dy)
    wide = [None if a is None else a.astype(np.float64) for a in (x, w, b, dy)]
    y_torch, grads_torch = torch_conv(*wide[:3], spec, wide[3])
    scale = np.abs(y_torch).max()
    assert y.dtype == dtype and all(g is None or g.dtype == dtype for g in grads)
    assert_close(y, y_torch, scale, dtype)
    for ours, theirs in zip(grads, grads_torch):
        if theirs is not None:
            assert_close(ours, theirs, np.abs(theirs).max(), dtype)
    y_ref, grads_ref = run_conv(conv_reference, *wide[:3], spec, wide[3])
    assert_close(y, y_ref, scale, dtype)


@pytest.mark.parametrize("name, backend", CONV_BACKENDS)
def test_conv_backend_finite_differences(name, backend):
    dtype = dtype_of(name)
    x, w, b, spec = conv_case(for_backend(name, ((5, 4), 3, 2, "same", 1, 1, True)), batch=1,
                              channels=(2, 3), dtype=dtype)
    if not backend.supports(spec, x, w):                  # the direct backend: stride 1 only
        x, w, b, spec = conv_case(((5, 4), 3, 1, "same", 2, 1, True), batch=1, channels=(2, 3),
                                  dtype=dtype)
    assert backend.supports(spec, x, w)
    dy = np.random.default_rng(2).standard_normal(spec.output_shape).astype(dtype)
    _, (dx, dw, db) = run_conv(backend, x, w, b, spec, dy)

    def loss():
        return float((backend.forward(x, w, b, spec)[0].astype(np.float64) * dy).sum())
    # float32 kernels: a wider step (the truncation error is ~eps^2, rounding ~1e-7 / eps)
    eps, rtol, atol = (1e-6, 1e-6, 1e-7) if dtype == np.float64 else (1e-2, 2e-3, 2e-3)
    for analytic, array in ((dx, x), (dw, w), (db, b)):
        np.testing.assert_allclose(analytic, numerical_gradient(loss, array, eps), rtol=rtol,
                                   atol=atol)


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # inf - inf in a transform
@pytest.mark.parametrize("name, backend", CONV_BACKENDS)
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_conv_backend_non_finite_input(name, backend, value):
    dtype = dtype_of(name)
    x, w, b, spec = conv_case(for_backend(name, ((8, 8), 3, 1, 1, 1, 1, True)), dtype=dtype)
    x[0, 1, 2, 5] = value
    y, _ = backend.forward(x, w, b, spec)
    y_torch, _ = torch_conv(x.astype(np.float64), w.astype(np.float64), b.astype(np.float64),
                            spec, None)
    if name == "fft":  # a transform spreads the non-finite value over the whole image
        assert np.all(~np.isfinite(y[~np.isfinite(y_torch)]))
        return
    np.testing.assert_array_equal(np.isnan(y), np.isnan(y_torch))
    finite = np.isfinite(y_torch)
    np.testing.assert_array_equal(y[~finite], y_torch[~finite])
    assert_close(y[finite], y_torch[finite], np.abs(y_torch[finite]).max(), dtype)


@pytest.mark.parametrize("name, backend", CONV_BACKENDS)
def test_conv_backend_empty_batch_and_non_contiguous_input(name, backend):
    dtype = dtype_of(name)
    x, w, b, spec = conv_case(for_backend(name, ((6, 7), 3, 1, 1, 1, 1, True)), dtype=dtype)
    empty = conv_spec((0,) + x.shape[1:], x.dtype, w.shape, b.shape, padding=1,
                      groups=spec.groups)
    if backend.supports(empty, x[:0], w):
        y, saved = backend.forward(x[:0], w, b, empty)
        assert y.shape == empty.output_shape
    wide = np.random.default_rng(3).standard_normal(x.shape[:2] + (x.shape[3], x.shape[2]))
    view = wide.astype(dtype).transpose(0, 1, 3, 2)         # non-contiguous, same shape as x
    spec = conv_spec(view.shape, view.dtype, w.shape, b.shape, padding=1, groups=spec.groups)
    assert backend.supports(spec, view, w) or name in ("direct", "fft")
    if backend.supports(spec, view, w):
        y, _ = backend.forward(view, w, b, spec)
        expected = torch_conv(np.ascontiguousarray(view, np.float64), w.astype(np.float64),
                              b.astype(np.float64), spec, None)[0]
        assert_close(y, expected, 10.0, dtype)


# ---------------------------------------------------------------------------- pooling
# (spatial, kernel, stride, padding, dilation, ceil_mode)
POOL_CASES = [
    ((9,), 3, 2, 1, 1, False),
    ((8, 8), 2, 2, 0, 1, False),
    ((9, 9), 3, 2, 1, 1, True),
    ((8, 9), 3, 1, 1, 2, False),
    ((5, 6, 5), 2, 2, 0, 1, False),
]


def torch_max_pool(x, spec_args, dy):
    spatial, kernel, stride, padding, dilation, ceil_mode = spec_args
    pool = (TF.max_pool1d, TF.max_pool2d, TF.max_pool3d)[len(spatial) - 1]
    xt = torch.tensor(np.ascontiguousarray(x), requires_grad=True)
    y = pool(xt, kernel, stride, padding, dilation, ceil_mode)
    y.backward(torch.tensor(dy))
    return y.detach().numpy(), xt.grad.numpy()


def pool_input(case, seed=0, ties=False, dtype=np.float64):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 3) + case[0])
    if ties:
        x = np.round(x)  # many equal values: the first maximum must win, as torch
    x = x.astype(dtype)
    spec = pool_spec(x.shape, x.dtype, *case[1:])
    return x, spec


def pool_gradient(spec, dtype, seed=1):
    return np.random.default_rng(seed).standard_normal(spec.output_shape).astype(dtype)


@pytest.mark.parametrize("name, backend", POOL_BACKENDS)
@pytest.mark.parametrize("case", POOL_CASES, ids=lambda c: f"{len(c[0])}d-k{c[1]}-s{c[2]}")
@pytest.mark.parametrize("ties", [False, True])
def test_max_pool_backend_against_torch_and_the_reference(name, backend, case, ties):
    dtype = dtype_of(name)
    x, spec = pool_input(case, ties=ties, dtype=dtype)
    assert backend.supports(spec, x)
    dy = pool_gradient(spec, dtype)
    y, winner = backend.max_forward(x, spec)
    dx = backend.max_backward(dy, winner, spec)
    y_torch, dx_torch = torch_max_pool(x, case, dy)
    np.testing.assert_array_equal(y, y_torch)
    assert_close(dx, dx_torch, dtype=dtype)
    y_ref, winner_ref = pool_reference.max_forward(x, spec)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(winner, winner_ref)


@pytest.mark.parametrize("name, backend", POOL_BACKENDS)
def test_max_pool_backend_finite_differences(name, backend):
    dtype = dtype_of(name)
    x, spec = pool_input(((5, 6), 3, 2, 1, 1, False), seed=4, dtype=dtype)
    x[...] = np.random.default_rng(4).permutation(x.size).reshape(x.shape) * 0.1  # no ties
    dy = pool_gradient(spec, dtype, seed=2)
    dx = backend.max_backward(dy, backend.max_forward(x, spec)[1], spec)

    def loss():  # max pooling is piecewise linear: float32 differences are exact enough
        return float((backend.max_forward(x, spec)[0].astype(np.float64) * dy).sum())
    eps = 1e-6 if dtype == np.float64 else 1e-2
    np.testing.assert_allclose(dx, numerical_gradient(loss, x, eps), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name, backend", POOL_BACKENDS)
@pytest.mark.parametrize("values", list(itertools.product([np.nan, np.inf, -np.inf], repeat=2)))
def test_max_pool_backend_non_finite(name, backend, values):
    dtype = dtype_of(name)
    case = ((6, 6), 2, 2, 0, 1, False)
    x, spec = pool_input(case, dtype=dtype)
    x[0, 0, 0, 1], x[1, 2, 3, 3] = values
    x[0, 1, :2, :2] = values[0]
    dy = pool_gradient(spec, dtype)
    y, winner = backend.max_forward(x, spec)
    dx = backend.max_backward(dy, winner, spec)
    y_torch, dx_torch = torch_max_pool(x, case, dy)
    np.testing.assert_array_equal(y, y_torch)
    np.testing.assert_array_equal(dx, dx_torch)


@pytest.mark.parametrize("name, backend", POOL_BACKENDS)
def test_max_pool_backend_empty_batch_and_non_contiguous(name, backend):
    dtype = dtype_of(name)
    x, spec = pool_input(((6, 7), 3, 2, 1, 1, False), dtype=dtype)
    empty = pool_spec((0,) + x.shape[1:], x.dtype, 3, 2, 1)
    if backend.supports(empty, x[:0]):   # oneDNN leaves empty batches to the others
        y, winner = backend.max_forward(x[:0], empty)
        assert y.shape == empty.output_shape
        assert backend.max_backward(np.zeros(y.shape, dtype), winner, empty).shape == \
            (0,) + x.shape[1:]
    else:
        assert name == "onednn"
    wide = np.random.default_rng(5).standard_normal((2, 7, 6, 3)).astype(dtype)
    case = ((6, 7), 3, 2, 1, 1, False)
    for view in (wide.transpose(0, 3, 2, 1), wide.transpose(0, 3, 1, 2)):  # strided; NHWC
        spec = pool_spec(view.shape, view.dtype, *case[1:])
        dy = pool_gradient(spec, dtype, seed=6)
        y, winner = backend.max_forward(view, spec)
        y_torch, dx_torch = torch_max_pool(view, case, dy)
        np.testing.assert_array_equal(y, y_torch)
        assert_close(backend.max_backward(dy, winner, spec), dx_torch, dtype=dtype)


# (spatial, kernel, stride, padding, ceil_mode, count_include_pad)
AVERAGE_CASES = [
    ((9,), 3, 2, 1, False, True),
    ((8, 8), 2, 2, 0, False, True),
    ((9, 9), 3, 2, 1, False, False),
    ((10, 10), 3, 2, 1, True, False),           # ceil_mode windows past the padding
    ((7, 8), 3, 1, 1, False, True),
    ((5, 6, 5), 2, 2, 1, False, True),
]


@pytest.mark.skipif(not onednn_library.available(), reason="oneDNN is not loaded in this run")
@pytest.mark.parametrize("case", AVERAGE_CASES, ids=str)
@pytest.mark.parametrize("channels_last", [False, True])
def test_onednn_average_pool_against_torch(case, channels_last):
    from convnet.ops.pool import onednn as pool_onednn
    spatial, kernel, stride, padding, ceil_mode, include = case
    x = np.random.default_rng(7).standard_normal((2, 5) + spatial).astype(np.float32)
    if channels_last:
        x = np.ascontiguousarray(np.moveaxis(x, 1, -1))
        x = np.moveaxis(x, -1, 1)
    spec = pool_spec(x.shape, x.dtype, kernel, stride, padding, 1, ceil_mode)
    assert pool_onednn.supports_average(spec, x, include, None)
    dy = pool_gradient(spec, np.float32)
    y = pool_onednn.avg_forward(x, spec, include)
    dx = pool_onednn.avg_backward(dy, spec, include)
    pool = (TF.avg_pool1d, TF.avg_pool2d, TF.avg_pool3d)[len(spatial) - 1]
    xt = torch.tensor(np.ascontiguousarray(x), requires_grad=True)
    yt = pool(xt, kernel, stride, padding, ceil_mode, include)
    yt.backward(torch.tensor(dy))
    assert_close(y, yt.detach().numpy(), dtype=np.float32)
    assert_close(dx, xt.grad.numpy(), dtype=np.float32)
    divisor = pool_reference.window_counts(spec, include)
    assert_close(y, pool_reference.avg_forward(x.astype(np.float64), spec, divisor),
                 dtype=np.float32)


@pytest.mark.skipif(not onednn_library.available(), reason="oneDNN is not loaded in this run")
def test_onednn_average_pool_declines_what_it_would_compute_differently():
    from convnet.ops.pool import onednn as pool_onednn
    x = np.zeros((1, 1, 10, 10), np.float32)
    ceil = pool_spec(x.shape, x.dtype, 3, 2, 1, 1, True)
    assert ceil.overhang == (1, 1)
    assert not pool_onednn.supports_average(ceil, x, True, None)    # overhang would count
    assert pool_onednn.supports_average(ceil, x, False, None)
    plain = pool_spec(x.shape, x.dtype, 3, 2, 1)
    assert not pool_onednn.supports_average(plain, x, True, 4)       # divisor_override
    assert not pool_onednn.supports_average(plain, x.astype(np.float64), True, None)
    mirrored = pool_spec(x.shape, x.dtype, 3, 2, 1, padding_mode="reflect")
    assert not pool_onednn.supports_average(mirrored, x, True, None)
