"""Whole-factor nearest upsampling on oneDNN (convnet.ops.resample_onednn) and the NumPy
kernels against PyTorch's ``interpolate(mode='nearest')``: values and gradients (exact: a
copy and block sums), 1-3 spatial dims, factors 2 and 3, row-major and channels-last memory
(kept), NaN and inf; and the cases left to NumPy."""

from __future__ import annotations

import numpy as np
import pytest

import convnet
import convnet.functional as F
from convnet.ops import resample_onednn
from convnet.ops.onednn import library as onednn_library
from convnet.ops.resample import linear_axis, nearest_axis

torch = pytest.importorskip("torch", reason="PyTorch is the oracle")

CASES = [((2, 4, 9), 2), ((2, 4, 8, 8), 2), ((3, 16, 5, 7), 3), ((2, 4, 3, 4, 5), 2)]


def channels_last(array):
    return np.moveaxis(np.ascontiguousarray(np.moveaxis(array, 1, -1)), -1, 1)


@pytest.mark.parametrize("memory", ["row-major", "channels-last"])
@pytest.mark.parametrize("shape,factor", CASES, ids=str)
def test_nearest_upsampling_matches_torch(shape, factor, memory, monkeypatch):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    x.flat[:3] = [np.nan, np.inf, -np.inf]
    if memory == "channels-last":
        x = channels_last(x)
    calls = []
    original = resample_onednn.forward
    monkeypatch.setattr(resample_onednn, "forward",
                        lambda *args: calls.append(1) or original(*args))
    xc = convnet.from_numpy(x).requires_grad_(True)
    y = F.interpolate(xc, scale_factor=factor, mode="nearest")
    dy = rng.standard_normal(y.shape).astype(np.float32)
    y.backward(dy)
    xt = torch.tensor(np.ascontiguousarray(x), requires_grad=True)
    yt = torch.nn.functional.interpolate(xt, scale_factor=factor, mode="nearest")
    yt.backward(torch.tensor(dy))
    np.testing.assert_array_equal(y.data, yt.detach().numpy())
    np.testing.assert_allclose(xc.grad, xt.grad.numpy(), rtol=1e-6, atol=1e-6)
    if memory == "channels-last" and onednn_library.available():
        assert np.moveaxis(y.data, 1, -1).flags.c_contiguous        # layout kept
    assert calls == ([1] if onednn_library.available() else [])


def test_cases_left_to_numpy():
    x = np.ones((2, 3, 6, 6), np.float32)
    whole = tuple(nearest_axis(6, 12, None, np.float32) for _ in range(2))
    assert resample_onednn.supports(x, whole) == onednn_library.available()
    assert not resample_onednn.supports(x.astype(np.float64), whole)
    assert not resample_onednn.supports(x[:0], whole)
    fractional = tuple(nearest_axis(6, 9, None, np.float32) for _ in range(2))
    assert not resample_onednn.supports(x, fractional)
    linear = tuple(linear_axis(6, 12, None, False, np.float32) for _ in range(2))
    assert not resample_onednn.supports(x, linear)
