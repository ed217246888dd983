"""Softmax and log-softmax on oneDNN (convnet.ops.softmax_onednn: along the dimension innermost
in memory) and on NumPy (every other) against PyTorch: values and gradients along every
dimension, in row-major and channels-last memory
(float64 oracle); -inf, +inf and NaN in a row and NaN in the upstream gradient (PyTorch's
float32 answers); cross-entropy over a segmentation output, which runs on log-softmax."""

from __future__ import annotations

import numpy as np
import pytest

import convnet
import convnet.functional as F
from convnet.ops import softmax_onednn
from convnet.ops.onednn import library as onednn_library

torch = pytest.importorskip("torch", reason="PyTorch is the oracle")

needs_onednn = pytest.mark.skipif(
    not onednn_library.available(),
    reason="oneDNN is not loaded or CONVNET_BACKEND=numpy (the suite's other run tests it)")

CASES = [((8, 10, 16, 16), 1), ((4, 6, 8, 16), 3), ((4, 6, 8, 16), 0), ((64, 100), 1),
         ((64, 100), 0), ((3, 4, 5, 6, 7), 1), ((4096,), 0)]


def channels_last(array):
    return np.moveaxis(np.ascontiguousarray(np.moveaxis(array, 1, -1)), -1, 1)


def public(x, dim, log, dy):
    tensor = convnet.from_numpy(x).requires_grad_(True)
    y = (F.log_softmax if log else F.softmax)(tensor, dim=dim)
    y.backward(dy)
    return y.data, tensor.grad


def torch_result(x, dim, log, dy, dtype):
    xt = torch.tensor(np.ascontiguousarray(x), dtype=dtype, requires_grad=True)
    y = (torch.log_softmax if log else torch.softmax)(xt, dim)
    y.backward(torch.tensor(np.ascontiguousarray(dy), dtype=dtype))
    return y.detach().numpy(), xt.grad.numpy()


LAYOUT_CASES = [(shape, dim, memory) for shape, dim in CASES
                for memory in ("row-major", "channels-last")
                if memory == "row-major" or len(shape) >= 3]     # channels-last: (N, C, ...)


@pytest.mark.parametrize("log", [False, True], ids=["softmax", "log_softmax"])
@pytest.mark.parametrize("shape,dim,memory", LAYOUT_CASES, ids=lambda v: str(v))
def test_values_and_gradients_match_torch(shape, dim, memory, log, monkeypatch):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(shape) * 4).astype(np.float32)
    dy = rng.standard_normal(shape).astype(np.float32)
    if memory == "channels-last":
        x = channels_last(x)
    calls = []
    original = softmax_onednn.forward
    monkeypatch.setattr(softmax_onednn, "forward",
                        lambda *args, **kw: calls.append(1) or original(*args, **kw))
    y, dx = public(x, dim, log, dy)
    assert y.strides == x.strides                    # the input's layout
    ty, tdx = torch_result(x, dim, log, dy, torch.float64)
    # each value rounds at the scale of the inputs (x - max - log(sum)): float32's epsilon
    # times a few times the largest |x|
    scale = 8 * np.finfo(np.float32).eps * max(1.0, float(np.abs(x).max()))
    np.testing.assert_allclose(y, ty, rtol=1e-5, atol=scale)
    # the gradients subtract sums of up to 100 terms: float32 rounding of those sums
    np.testing.assert_allclose(dx, tdx, rtol=1e-5, atol=2e-5 * np.abs(tdx).max())
    innermost = dim == (1 if memory == "channels-last" else len(shape) - 1)
    assert calls == ([1] if onednn_library.available() and innermost else [])


@pytest.mark.parametrize("log", [False, True], ids=["softmax", "log_softmax"])
@pytest.mark.parametrize("values", [[-np.inf, 0, 1], [-np.inf] * 3, [np.inf, 0, 1],
                                    [np.nan, 0, 1], [np.inf, -np.inf, 0], [np.inf, np.inf, 2]],
                         ids=lambda v: str(v))
def test_special_values_like_torch(values, log):
    x = np.zeros((4, 2048), np.float32)
    x[1, :3] = values
    dy = np.ones_like(x)
    dy[3, 7] = np.nan                                   # a NaN gradient spreads in its row
    y, dx = public(x, 1, log, dy)
    ty, tdx = torch_result(x, 1, log, dy, torch.float32)
    for ours, theirs in ((y, ty), (dx, tdx)):
        np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
        finite = np.isfinite(theirs)
        np.testing.assert_array_equal(ours[~finite & ~np.isnan(theirs)],
                                      theirs[~finite & ~np.isnan(theirs)])
        np.testing.assert_allclose(ours[finite], theirs[finite], rtol=1e-5, atol=1e-5)


@needs_onednn
def test_rows_with_nan_or_plus_inf_stay_on_numpy():
    x = np.zeros((4, 2048), np.float32)
    assert softmax_onednn.supports(x, 1)
    x[0, 0] = -np.inf
    assert softmax_onednn.supports(x, 1)
    for value in (np.nan, np.inf):
        x[0, 0] = value
        assert not softmax_onednn.supports(x, 1)
    assert not softmax_onednn.supports(np.zeros((4, 8), np.float32), 1)      # small
    assert not softmax_onednn.supports(np.zeros((64, 64)), 1)               # float64
    assert not softmax_onednn.supports(np.zeros((64, 128), np.float32)[:, ::2], 1)
    # along a dimension that is not innermost in memory oneDNN has only its reference kernel
    assert not softmax_onednn.supports(np.zeros((64, 100), np.float32), 0)
    assert not softmax_onednn.supports(np.zeros((8, 21, 16, 16), np.float32), 1)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_segmentation_cross_entropy_matches_torch(weighted, reduction):
    rng = np.random.default_rng(1)
    weight = rng.random(5).astype(np.float32) + 0.5 if weighted else None
    logits = channels_last((rng.standard_normal((4, 5, 16, 16)) * 3).astype(np.float32))
    target = rng.integers(0, 5, (4, 16, 16))
    target[0, :2] = 255
    x = convnet.from_numpy(logits).requires_grad_(True)
    loss = F.cross_entropy(x, convnet.tensor(target), ignore_index=255, reduction=reduction,
                           weight=None if weight is None else convnet.tensor(weight))
    loss.backward()
    xt = torch.tensor(np.ascontiguousarray(logits), dtype=torch.float64, requires_grad=True)
    tloss = torch.nn.functional.cross_entropy(
        xt, torch.tensor(target), ignore_index=255, reduction=reduction,
        weight=None if weight is None else torch.tensor(weight, dtype=torch.float64))
    tloss.backward()
    np.testing.assert_allclose(float(loss.data), tloss.item(), rtol=1e-5)
    tgrad = xt.grad.numpy()
    np.testing.assert_allclose(x.grad, tgrad, rtol=1e-4, atol=1e-5 * np.abs(tgrad).max())
