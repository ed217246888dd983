"""Fully connected layers on oneDNN's inner product (convnet.ops.linear_onednn) and on
NumPy's matmul against PyTorch's ``linear`` in float64: outputs and the three gradients,
with and without bias, leading dims, non-contiguous inputs, NaN and inf, and the cases left
to NumPy (small layers, float64, an empty batch).

The tolerance is the textbook bound of a float32 dot product of length K:
``K * eps * (|a| @ |b|)`` element by element."""

from __future__ import annotations

import numpy as np
import pytest

import convnet
import convnet.functional as F
from convnet.ops import linear_onednn
from convnet.ops.onednn import library as onednn_library

torch = pytest.importorskip("torch", reason="PyTorch is the oracle")

EPS = np.finfo(np.float32).eps


def bound(a, b):
    """Error bound of float32 ``a @ b`` (inner dim K)."""
    return a.shape[-1] * EPS * (np.abs(a.astype(np.float64)) @ np.abs(b.astype(np.float64)))


def run_both(x, w, b):
    """convnet's (y, dx, dw, db) and PyTorch's in float64, for output gradient dy."""
    rng = np.random.default_rng(5)
    xc = convnet.from_numpy(x).requires_grad_(True)
    wc = convnet.from_numpy(w).requires_grad_(True)
    bc = None if b is None else convnet.from_numpy(b).requires_grad_(True)
    y = F.linear(xc, wc, bc)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    y.backward(dy)
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    bt = None if b is None else torch.tensor(b, dtype=torch.float64, requires_grad=True)
    yt = torch.nn.functional.linear(xt, wt, bt)
    yt.backward(torch.tensor(dy, dtype=torch.float64))
    ours = (y.data, xc.grad, wc.grad, None if b is None else bc.grad)
    theirs = (yt.detach().numpy(), xt.grad.numpy(), wt.grad.numpy(),
              None if b is None else bt.grad.numpy())
    return ours, theirs, dy


def check(x, w, b):
    """Finite inputs: each result within the float32 bound of PyTorch's float64 one."""
    (y, dx, dw, db), (y64, dx64, dw64, db64), dy = run_both(x, w, b)
    rows_x, rows_dy = x.reshape(-1, x.shape[-1]), dy.reshape(-1, dy.shape[-1])
    bias_rounding = 0 if b is None else 2 * EPS * (np.abs(y64) + np.abs(b))
    assert (np.abs(y - y64) <= bound(x, w.T) + bias_rounding).all()
    assert (np.abs(dx - dx64) <= bound(dy, w)).all()
    assert (np.abs(dw - dw64) <= bound(rows_dy.T, rows_x)).all()
    if b is not None:
        assert (np.abs(db - db64) <= bound(rows_dy.T, np.ones((len(rows_dy), 1)))[:, 0]).all()
    assert y.dtype == dx.dtype == dw.dtype == np.float32


CASES = [((256, 1024), 512, True), ((128, 2048), 256, False), ((4, 64, 512), 1024, True)]


@pytest.mark.parametrize("x_shape,out_features,has_bias", CASES, ids=str)
def test_large_layers_match_torch(x_shape, out_features, has_bias, monkeypatch):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = (rng.standard_normal((out_features, x_shape[-1])) * 0.05).astype(np.float32)
    b = rng.standard_normal(out_features).astype(np.float32) if has_bias else None
    calls = []
    original = linear_onednn.forward
    monkeypatch.setattr(linear_onednn, "forward",
                        lambda *args: calls.append(1) or original(*args))
    check(x, w, b)
    assert calls == ([1] if onednn_library.available() else [])


def test_non_contiguous_input_matches_torch():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1024, 256)).astype(np.float32).T      # a transposed view
    w = rng.standard_normal((512, 1024)).astype(np.float32)
    assert linear_onednn.supports(x, w, None) == onednn_library.available()
    check(x, w, None)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_and_inf_spread_as_in_torch(bad):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((256, 1024)).astype(np.float32)
    x[3, 7], x[50, 0] = bad, -bad
    w = rng.standard_normal((512, 1024)).astype(np.float32)
    y = F.linear(convnet.from_numpy(x), convnet.from_numpy(w)).data
    expected = torch.nn.functional.linear(torch.tensor(x), torch.tensor(w)).numpy()
    np.testing.assert_array_equal(np.isnan(y), np.isnan(expected))
    np.testing.assert_array_equal(np.isinf(y), np.isinf(expected))
    assert not np.isfinite(y[[3, 50]]).any() and np.isfinite(np.delete(y, [3, 50], 0)).all()


def test_cases_left_to_numpy():
    x, w = np.ones((256, 1024), np.float32), np.ones((512, 1024), np.float32)
    assert linear_onednn.supports(x, w, None) == onednn_library.available()
    assert not linear_onednn.supports(x[:, :10], w[:, :10], None)          # small: NumPy
    assert not linear_onednn.supports(x.astype(np.float64), w.astype(np.float64), None)
    assert not linear_onednn.supports(x[:0], w, None)                       # empty batch
    y = F.linear(convnet.from_numpy(x[:0]), convnet.from_numpy(w))
    assert y.shape == (0, 512)


def test_small_layer_on_numpy_matches_torch():
    rng = np.random.default_rng(3)
    check(rng.standard_normal((16, 50)).astype(np.float32),
          rng.standard_normal((10, 50)).astype(np.float32),
          rng.standard_normal(10).astype(np.float32))
