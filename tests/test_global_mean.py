"""Global average pooling of channels-last memory (convnet.ops.pool.global_mean): against
PyTorch's adaptive_avg_pool (float32 and float64, which also sums in double on the CPU),
the same values as the NumPy float64 mean it replaces, NaN and inf, 1-D to 3-D, and the
layouts it declines."""

from __future__ import annotations

import numpy as np
import pytest

import convnet
import convnet.functional as F
from convnet.ops.layout import to_first, to_last
from convnet.ops.pool.global_mean import global_mean

torch = pytest.importorskip("torch", reason="PyTorch is the oracle")


def channels_last(x):
    return to_first(np.ascontiguousarray(to_last(x)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(3, 40, 17), (4, 24, 9, 11), (2, 8, 5, 6, 7), (16, 96, 28, 28)])
def test_matches_torch_and_the_numpy_mean(shape, dtype):
    rng = np.random.default_rng(0)
    x = channels_last((rng.standard_normal(shape) * 3 + 1).astype(dtype))
    got = global_mean(x)
    axes = tuple(range(2, x.ndim))
    np.testing.assert_array_equal(
        got, x.mean(axis=axes, keepdims=True, dtype=np.float64).astype(dtype))
    pool = {3: torch.nn.functional.adaptive_avg_pool1d, 4: torch.nn.functional.adaptive_avg_pool2d,
            5: torch.nn.functional.adaptive_avg_pool3d}[x.ndim]
    expected = pool(torch.from_numpy(np.ascontiguousarray(x)), 1).numpy()
    tol = dict(rtol=1e-6, atol=1e-7) if dtype == np.float32 else dict(rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(got, expected, **tol)


def test_non_finite_values_spread_to_their_channel_only():
    x = channels_last(np.ones((2, 5, 4, 4), np.float32))
    x[0, 1, 2, 3], x[1, 2, 0, 0], x[1, 3, 1, 1], x[1, 3, 2, 2] = np.nan, np.inf, np.inf, -np.inf
    got = global_mean(x)[:, :, 0, 0]
    expected = torch.nn.functional.adaptive_avg_pool2d(torch.from_numpy(x.copy()), 1).numpy()
    np.testing.assert_array_equal(got, expected[:, :, 0, 0])
    assert np.isnan(got[0, 1]) and got[1, 2] == np.inf and np.isnan(got[1, 3])
    assert np.isfinite(np.delete(got.ravel(), [1, 7, 8])).all()


def test_other_layouts_and_dtypes_are_declined():
    x = np.ones((2, 4, 3, 3), np.float32)
    assert global_mean(x) is None                              # row-major: NumPy's mean
    assert global_mean(channels_last(x).astype(np.float16)) is None
    assert global_mean(channels_last(x)[:, :, ::2]) is None    # strided
    assert global_mean(channels_last(x)[:0]) is None           # empty


def test_the_public_functions_use_it_and_agree_with_torch():
    rng = np.random.default_rng(1)
    x = channels_last(rng.standard_normal((8, 32, 7, 7)).astype(np.float32))
    t = convnet.from_numpy(x).requires_grad_(True)
    y = F.adaptive_avg_pool2d(t, 1)
    xt = torch.from_numpy(x.copy()).requires_grad_(True)
    yt = torch.nn.functional.adaptive_avg_pool2d(xt, 1)
    np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=1e-6, atol=1e-7)
    g = rng.standard_normal(y.shape).astype(np.float32)
    y.backward(g)
    yt.backward(torch.from_numpy(g))
    np.testing.assert_allclose(t.grad, xt.grad.numpy(), rtol=1e-6, atol=1e-7)
