"""FFT convolution (``algorithm='fft'``) against im2col, torch and finite differences,
and the ``algorithm='auto'`` choice (the decision function, never a timing)."""

from __future__ import annotations

import numpy as np
import pytest

import convnet
import convnet.functional as F
from convnet.ops import conv as conv_ops
from convnet.ops.conv import dispatch as conv_algorithms
from convnet.ops.conv import fft as fft_ops
from gradcheck import check_gradients

CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}

# (spatial input size, C_in, C_out, kernel, keyword arguments); batch 2 unless 'batch'
CASES = [
    # 1-D
    ((17,), 3, 4, (5,), dict()),
    ((17,), 3, 4, (5,), dict(stride=2, padding="same")),
    ((16,), 2, 2, (4,), dict(stride=3, padding="same", dilation=2)),
    ((19,), 4, 6, (3,), dict(groups=2, padding=((2, 5),), padding_mode="reflect")),
    ((20,), 1, 1, (15,), dict(padding="full")),
    ((64,), 2, 3, (31,), dict(padding="same", padding_mode="circular", batch=1)),
    # 2-D
    ((9, 11), 3, 5, (3, 3), dict()),
    ((9, 11), 3, 5, (3, 3), dict(stride=2, padding="same")),
    ((10, 12), 2, 4, (4, 2), dict(stride=(3, 2), padding="same")),
    ((12, 12), 4, 4, (3, 3), dict(dilation=2, padding="same", padding_mode="symmetric")),
    ((11, 13), 4, 6, (3, 4), dict(stride=(1, 3), dilation=(2, 1), groups=2,
                                  padding=((1, 0), (2, 3)))),
    ((8, 9), 6, 6, (3, 3), dict(groups=6, padding=1, padding_mode="replicate")),
    ((8, 8), 2, 3, (5, 5), dict(padding="full", stride=2)),
    ((7, 9), 3, 2, (2, 2), dict(padding=(1, 2), padding_mode="circular", batch=1)),
    ((10, 10), 2, 2, (6, 6), dict(padding="same", padding_mode="reflect")),
    ((24, 24), 1, 2, (15, 15), dict(padding="same", batch=1)),
    ((40, 36), 2, 2, (31, 31), dict(padding="same", batch=1)),
    ((16, 16), 17, 16, (3, 3), dict(padding=1)),                  # batched-matmul channel sums
    ((12, 12), 16, 16, (5, 5), dict(stride=2, padding="same", batch=16)),
    # 3-D
    ((5, 6, 7), 2, 3, (3, 3, 3), dict(padding="same")),
    ((6, 7, 5), 4, 4, (2, 3, 2), dict(stride=(2, 1, 3), dilation=(1, 2, 1), groups=2,
                                     padding=((0, 1), (2, 2), (1, 0)),
                                     padding_mode="replicate")),
    ((9, 9, 9), 1, 2, (5, 5, 5), dict(stride=2, padding="same", padding_mode="reflect")),
]


def _case_id(case):
    size, c_in, c_out, kernel, kwargs = case
    extras = ",".join(f"{k}={v}" for k, v in kwargs.items())
    return f"{len(size)}d{size}-{c_in}to{c_out}-k{kernel}" + (f"-{extras}" if extras else "")


def _run(case, dtype, algorithm, rng_seed=0, bias="tied"):
    size, c_in, c_out, kernel, kwargs = case
    kwargs = dict(kwargs)
    batch = kwargs.pop("batch", 2)
    groups = kwargs.get("groups", 1)
    rng = np.random.default_rng(rng_seed)
    x = rng.standard_normal((batch, c_in) + size).astype(dtype)
    w = rng.standard_normal((c_out, c_in // groups) + kernel).astype(dtype)
    spec = conv_ops.conv_spec(x.shape, x.dtype, w.shape, None, kwargs.get("stride", 1),
                              kwargs.get("padding", 0), kwargs.get("dilation", 1), groups,
                              kwargs.get("padding_mode", "zeros"))
    b = rng.standard_normal((c_out,) if bias == "tied" else (c_out,) + spec.out_sizes)
    b = b.astype(dtype)
    dy = rng.standard_normal(spec.output_shape).astype(dtype)
    xt, wt, bt = (convnet.tensor(a, requires_grad=True) for a in (x, w, b))
    y = CONV[len(size)](xt, wt, bt, algorithm=algorithm, **kwargs)
    y.backward(dy)
    return y.data, xt.grad, wt.grad, bt.grad


def _assert_close(actual, expected, dtype, label):
    assert actual.shape == expected.shape, label
    assert actual.dtype == np.dtype(dtype), f"{label}: dtype {actual.dtype}"
    scale = max(1.0, float(np.max(np.abs(expected))))
    if dtype == np.float64:
        np.testing.assert_allclose(actual, expected, rtol=1e-9, atol=1e-9 * scale, err_msg=label)
    else:
        error = float(np.max(np.abs(actual.astype(np.float64) - expected))) / scale
        assert error < 1e-4, f"{label}: scaled error {error:.2e}"


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_fft_equals_im2col(case, dtype):
    by_fft = _run(case, dtype, "fft")
    by_im2col = _run(case, dtype, "im2col")
    for label, a, e in zip(("y", "dx", "dweight", "dbias"), by_fft, by_im2col):
        _assert_close(a, e.astype(np.float64), dtype, label)


@pytest.mark.parametrize("case", [CASES[1], CASES[10]], ids=["1d-strided", "2d-mixed"])
def test_untied_bias_fft(case):
    by_fft = _run(case, np.float64, "fft", bias="untied")
    by_im2col = _run(case, np.float64, "im2col", bias="untied")
    for label, a, e in zip(("y", "dx", "dweight", "dbias"), by_fft, by_im2col):
        _assert_close(a, e, np.float64, label)


def test_auto_equals_im2col_on_a_large_kernel():
    case = ((48, 48), 1, 1, (31, 31), dict(padding="same", batch=1))
    spec = conv_ops.conv_spec((1, 1, 48, 48), np.float32, (1, 1, 31, 31), padding="same")
    assert conv_algorithms.choose_algorithm(spec) == "fft"
    for a, e in zip(_run(case, np.float32, "auto"), _run(case, np.float32, "im2col")):
        _assert_close(a, e.astype(np.float64), np.float32, "auto")


# -------------------------------------------------------------------- torch as oracle
TORCH_CASES = [
    ((1, 2, 64, 60), (3, 2, 31, 31), dict(padding=15)),
    ((1, 1, 40, 40), (2, 1, 15, 15), dict(stride=2, padding=3, dilation=2)),
    ((2, 2, 200), (2, 2, 63), dict(padding="same")),
]


@pytest.mark.parametrize("x_shape,w_shape,kwargs", TORCH_CASES, ids=["2d-k31", "2d-k15-s2-d2",
                                                                     "1d-k63-same"])
def test_fft_against_torch(x_shape, w_shape, kwargs):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0])
    xt, wt, bt = (convnet.tensor(a, requires_grad=True) for a in (x, w, b))
    conv = CONV[len(x_shape) - 2]
    y = conv(xt, wt, bt, algorithm="fft", **kwargs)
    dy = rng.standard_normal(y.shape)
    y.backward(dy)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    torch_conv = getattr(torch.nn.functional, f"conv{len(x_shape) - 2}d")
    ty = torch_conv(tx, tw, tb, **kwargs)
    ty.backward(torch.tensor(dy))
    for label, a, e in zip(("y", "dx", "dweight", "dbias"), (y.data, xt.grad, wt.grad, bt.grad),
                           (ty, tx.grad, tw.grad, tb.grad)):
        _assert_close(a, e.detach().numpy(), np.float64, label)


# -------------------------------------------------------------------- finite differences
GRADCHECK_CASES = [
    (F.conv1d, (2, 2, 9), (3, 2, 4), dict(stride=2, padding="same", dilation=2,
                                          padding_mode="reflect")),
    (F.conv2d, (1, 4, 6, 5), (4, 2, 3, 2), dict(stride=(2, 1), groups=2,
                                                padding=((1, 0), (0, 2)),
                                                padding_mode="symmetric")),
    (F.conv2d, (2, 1, 7, 7), (2, 1, 5, 5), dict(padding="full", padding_mode="zeros")),
    (F.conv3d, (1, 2, 4, 5, 3), (2, 2, 2, 3, 2), dict(stride=2, padding=1,
                                                     padding_mode="circular")),
]


@pytest.mark.parametrize("conv,x_shape,w_shape,kwargs", GRADCHECK_CASES,
                         ids=["1d", "2d-groups", "2d-full", "3d"])
def test_fft_finite_differences(conv, x_shape, w_shape, kwargs):
    rng = np.random.default_rng(7)
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0])
    check_gradients(lambda x, w, b: conv(x, w, b, algorithm="fft", **kwargs), x, w, b,
                    rtol=1e-5, atol=1e-7)


def test_numpy_fft_fallback(monkeypatch):
    """Without SciPy the kernels use numpy.fft and plain 2/3/5-smooth lengths."""
    case = CASES[10]
    expected = _run(case, np.float32, "im2col")
    monkeypatch.setattr(fft_ops, "_scipy_fft", None)
    for dtype in (np.float32, np.float64):
        by_numpy = _run(case, dtype, "fft")
        for label, a, e in zip(("y", "dx", "dweight", "dbias"), by_numpy, expected):
            if dtype == np.float32:
                _assert_close(a, e.astype(np.float64), dtype, label)
            else:
                assert a.dtype == np.float64
    assert fft_ops.fast_length(97) == 100


def test_fast_lengths():
    for n in list(range(1, 200)) + [509, 1021, 4097]:
        regular = fft_ops._next_regular(n)
        assert regular >= n
        rest = regular
        for prime in (2, 3, 5):
            while rest % prime == 0:
                rest //= prime
        assert rest == 1
        assert not any(_is_smooth(m) for m in range(n, regular))
        assert fft_ops.fast_length(n) >= n


def _is_smooth(m):
    for prime in (2, 3, 5):
        while m % prime == 0:
            m //= prime
    return m == 1


# -------------------------------------------------------------------- choosing
def _spec(batch, c_in, c_out, size, kernel, **kwargs):
    return conv_ops.conv_spec((batch, c_in, size, size), np.float32,
                              (c_out, c_in, kernel, kernel), padding="same", **kwargs)


@pytest.mark.parametrize("batch,c_in,c_out", [(1, 1, 1), (1, 3, 16), (8, 16, 16), (64, 3, 64)])
def test_auto_picks_im2col_for_3x3_on_32x32(batch, c_in, c_out):
    assert conv_algorithms.choose_algorithm(_spec(batch, c_in, c_out, 32, 3)) == "im2col"


@pytest.mark.parametrize("batch,c_in,c_out", [(1, 1, 1), (1, 3, 16), (1, 8, 8), (4, 16, 16)])
def test_auto_picks_fft_for_31x31_on_128x128(batch, c_in, c_out):
    assert conv_algorithms.choose_algorithm(_spec(batch, c_in, c_out, 128, 31)) == "fft"


def test_cost_model_orders_kernels():
    """FFT time grows only with the padded size, im2col time with the kernel area."""
    small, large = _spec(1, 8, 8, 128, 3), _spec(1, 8, 8, 128, 31)
    assert conv_algorithms.fft_seconds(large) < 2 * conv_algorithms.fft_seconds(small)
    assert conv_algorithms.im2col_seconds(large) > 50 * conv_algorithms.im2col_seconds(small)
    strided = _spec(1, 8, 8, 128, 7, stride=4)
    assert conv_algorithms.choose_algorithm(strided) == "im2col"


@pytest.mark.parametrize("explicit", ["im2col", "fft"])
def test_explicit_algorithm_wins(explicit, monkeypatch):
    calls = []
    # 'im2col' names the spatial algorithm: the direct backend (first layers) and oneDNN's
    # kernels compute the same sums without a column matrix
    for name, module in (("im2col", conv_algorithms.channels_last),
                         ("im2col", conv_algorithms.direct),
                         ("im2col", conv_algorithms.onednn),
                         ("im2col", conv_algorithms.reference), ("fft", fft_ops)):
        original = module.forward

        def spy(*args, _original=original, _name=name):
            calls.append(_name)
            return _original(*args)
        monkeypatch.setattr(module, "forward", spy)
    # a 3x3 kernel (auto: im2col) and a 31x31 one (auto: fft), each forced the other way
    x_small, w_small = np.ones((1, 1, 32, 32), np.float32), np.ones((1, 1, 3, 3), np.float32)
    x_large, w_large = np.ones((1, 1, 128, 128), np.float32), np.ones((1, 1, 31, 31), np.float32)
    F.conv2d(x_small, w_small, algorithm=explicit)
    F.conv2d(x_large, w_large, algorithm=explicit)
    assert calls == [explicit, explicit]
    calls.clear()
    F.conv2d(x_small, w_small)
    F.conv2d(x_large, w_large)
    assert calls == ["im2col", "fft"]


def test_backward_follows_the_forward_algorithm():
    x = convnet.tensor(np.ones((1, 1, 16, 16)), requires_grad=True)
    w = convnet.tensor(np.ones((1, 1, 3, 3)), requires_grad=True)
    y, saved = conv_algorithms.forward(x.data, w.data, None,
                                       conv_ops.conv_spec(x.shape, x.dtype, w.shape), "fft")
    assert saved[0] is fft_ops


@pytest.mark.parametrize("bad", ["FFT", "winograd", None, 3])
def test_bad_algorithm_names_the_argument(bad):
    with pytest.raises(ValueError, match="algorithm"):
        F.conv2d(np.ones((1, 1, 5, 5), np.float32), np.ones((1, 1, 3, 3), np.float32),
                 algorithm=bad)


def test_float32_stays_float32_and_no_grad_works():
    x = np.random.default_rng(0).standard_normal((1, 2, 20, 20)).astype(np.float32)
    w = np.random.default_rng(1).standard_normal((3, 2, 9, 9)).astype(np.float32)
    with convnet.no_grad():
        y = F.conv2d(convnet.tensor(x, requires_grad=True), w, algorithm="fft", padding="same")
    assert y.dtype == np.float32 and not y.requires_grad and y.shape == (1, 3, 20, 20)


def test_nn_conv_passes_algorithm():
    import convnet.nn as nn
    layer = nn.Conv2d(2, 3, 9, padding="same", algorithm="fft", rng=0)
    assert "algorithm='fft'" in repr(layer)
    x = np.random.default_rng(0).standard_normal((1, 2, 20, 20)).astype(np.float32)
    reference = F.conv2d(x, layer.weight.data, layer.bias.data, padding="same",
                         algorithm="im2col")
    _assert_close(layer(x).data, reference.data.astype(np.float64), np.float32, "nn")
    with pytest.raises(ValueError, match="algorithm"):
        nn.Conv1d(1, 1, 3, algorithm="direct")
