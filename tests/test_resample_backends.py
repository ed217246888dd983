"""Whole-factor nearest upsampling and half-pixel linear resampling on oneDNN
(convnet.ops.resample_onednn) and the NumPy kernels against PyTorch's ``interpolate``:
values and gradients, 1-3 spatial dims, row-major and channels-last memory (kept), NaN and
inf; and the cases left to NumPy.

Nearest is exact (a copy and block sums). Linear: oneDNN forms the source position
``(o + 0.5) * in / out - 0.5`` in another order than PyTorch (``scale * (o + 0.5) - 0.5``
with ``scale = in / out`` rounded first), so a weight may differ by an ulp of the position
(2**-19 below 32); the tolerance is that times the largest neighbour difference."""

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


@pytest.fixture
def calls(monkeypatch):
    """The calls of oneDNN's resampling forward pass, counted."""
    made = []
    original = resample_onednn.forward
    monkeypatch.setattr(resample_onednn, "forward",
                        lambda *args: made.append(1) or original(*args))
    return made


def channels_last(array):
    return np.moveaxis(np.ascontiguousarray(np.moveaxis(array, 1, -1)), -1, 1)


@pytest.mark.parametrize("memory", ["row-major", "channels-last"])
@pytest.mark.parametrize("shape,factor", CASES, ids=str)
def test_nearest_upsampling_matches_torch(shape, factor, memory, calls):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    x.flat[:3] = [np.nan, np.inf, -np.inf]
    if memory == "channels-last":
        x = channels_last(x)
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


LINEAR_CASES = [((2, 4, 9), (20,), "linear"), ((2, 4, 9), (4,), "linear"),
                ((2, 3, 8, 8), (16, 16), "bilinear"), ((2, 3, 7, 5), (3, 11), "bilinear"),
                ((3, 16, 5, 7), (15, 21), "bilinear"), ((2, 3, 8, 8), (8, 16), "bilinear"),
                ((2, 4, 3, 4, 5), (6, 7, 5), "trilinear")]


@pytest.mark.parametrize("memory", ["row-major", "channels-last"])
@pytest.mark.parametrize("shape,size,mode", LINEAR_CASES, ids=str)
def test_linear_resampling_matches_torch(shape, size, mode, memory, calls):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape).astype(np.float32)
    if memory == "channels-last":
        x = channels_last(x)
    xc = convnet.from_numpy(x).requires_grad_(True)
    y = F.interpolate(xc, size=size, mode=mode, align_corners=False)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    y.backward(dy)
    xt = torch.tensor(np.ascontiguousarray(x), requires_grad=True)
    yt = torch.nn.functional.interpolate(xt, size=size, mode=mode, align_corners=False)
    yt.backward(torch.tensor(dy))
    ulp, axes = 2.0 ** -19, len(size)        # an ulp of a source position below 32
    rounding = 1e-6 * max(1.0, np.abs(x).max())
    np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=0,
                               atol=axes * ulp * np.ptp(x) + rounding)
    readers = np.prod([2 * -(-o // i) + 1 for o, i in zip(size, shape[2:])])  # per input
    np.testing.assert_allclose(xc.grad, xt.grad.numpy(), rtol=0,
                               atol=axes * ulp * readers * np.abs(dy).max()
                               + 1e-6 * np.abs(xt.grad.numpy()).max())
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
    assert resample_onednn.supports(x, linear) == onednn_library.available()
    corners = tuple(linear_axis(6, 12, None, True, np.float32) for _ in range(2))
    assert not resample_onednn.supports(x, corners)
    other_ratio = tuple(linear_axis(6, 9, 1.6, False, np.float32) for _ in range(2))
    assert not resample_onednn.supports(x, other_ratio)          # scale 1/1.6, not 6/9
    assert not resample_onednn.supports(x, (linear[0], whole[1]))   # mixed algorithms
    for bad in (np.nan, np.inf):              # PyTorch spreads them one sample further
        y = x.copy()
        y[1, 2, 3, 4] = bad
        assert not resample_onednn.supports(y, linear)
        assert resample_onednn.supports(y, whole) == onednn_library.available()


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_linear_resampling_of_nan_and_inf_matches_torch(bad):
    x = np.random.default_rng(2).standard_normal((2, 3, 5, 7)).astype(np.float32)
    x[0, 1, 2, 3], x[1, 0, 0, 0] = bad, -bad
    y = F.interpolate(convnet.from_numpy(x), size=(15, 14), mode="bilinear")
    expected = torch.nn.functional.interpolate(torch.tensor(x), size=(15, 14), mode="bilinear")
    np.testing.assert_allclose(y.data, expected.numpy(), rtol=1e-6, atol=1e-6)
