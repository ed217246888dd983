"""oneDNN's element-wise activations (convnet.ops.eltwise_onednn) against PyTorch: values and
gradients on random inputs against float64, and on kinks (-3, 0, 3), huge magnitudes, NaN and
inf against PyTorch's own float32 (which overflows where float64 does not, as convnet's
float32 does), in row-major, channels-last and transposed memory, with an upstream gradient
in another layout; the public functions both through oneDNN and through NumPy (small
inputs)."""

from __future__ import annotations

import numpy as np
import pytest

import convnet
import convnet.functional as F
from convnet.ops import eltwise_onednn
from convnet.ops.onednn import library as onednn_library

torch = pytest.importorskip("torch", reason="PyTorch is the oracle")
TF = torch.nn.functional

needs_onednn = pytest.mark.skipif(
    not onednn_library.available(),
    reason="oneDNN is not loaded or CONVNET_BACKEND=numpy (the suite's other run tests it)")

FUNCTIONS = {   # name -> (convnet's public function, torch's)
    "silu": (F.silu, TF.silu),
    "gelu": (F.gelu, TF.gelu),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"),
                  lambda x: TF.gelu(x, approximate="tanh")),
    "hardswish": (F.hardswish, TF.hardswish),
    "hardsigmoid": (F.hardsigmoid, TF.hardsigmoid),
    "sigmoid": (F.sigmoid, torch.sigmoid),
}
SPECIAL = [-3.0, 3.0, 0.0, -0.0, 1e-8, -60.0, 60.0, 1e30, -1e30, np.inf, -np.inf]


def make(shape=(4, 8, 9, 10), seed=0, special=True):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 3).astype(np.float32)
    if special:
        x.flat[:len(SPECIAL)] = SPECIAL
    dy = rng.standard_normal(shape).astype(np.float32)
    return x, dy


def layout(array, name):
    if name == "channels-last":
        return np.moveaxis(np.ascontiguousarray(np.moveaxis(array, 1, -1)), -1, 1)
    if name == "transposed":
        return np.asfortranarray(array)
    return array


def torch_result(name, x, dy, dtype=torch.float32):
    """PyTorch's answer, computed at the head of a 4096-value vector: PyTorch's vectorised
    loop and its scalar tail disagree at NaN and inf (hardswish's gradient at NaN is NaN in
    the loop, 1 in the tail), and the loop is what it computes for nearly every value."""
    padded = np.zeros(max(4096, x.size + 64), np.float64)
    padded_dy = padded.copy()
    padded[:x.size], padded_dy[:x.size] = np.ravel(x), np.ravel(dy)
    xt = torch.tensor(padded, dtype=dtype, requires_grad=True)
    y = FUNCTIONS[name][1](xt)
    y.backward(torch.tensor(padded_dy, dtype=dtype))
    return (y.detach().numpy()[:x.size].reshape(x.shape),
            xt.grad.numpy()[:x.size].reshape(x.shape))


def same(ours, theirs):
    """Elementwise: both NaN, equal (infinities included), or float32-close."""
    with np.errstate(invalid="ignore", over="ignore"):
        return ((np.isnan(ours) & np.isnan(theirs)) | (ours == theirs)
                | (np.isfinite(theirs) & (np.abs(ours - theirs) <= 2e-6 * (1 + np.abs(theirs)))))


def assert_like_torch(name, x, dy, y, dx):
    """Each value as PyTorch computes it in float32 or in float64 (they differ where float32
    overflows, e.g. the gradient of GELU's tanh form at 1e30, and PyTorch's float32 GELU
    gives NaN at inf); the random (non-special) values as float64 does."""
    t32, t64 = torch_result(name, x, dy), torch_result(name, x, dy, torch.float64)
    plain = np.arange(x.size).reshape(x.shape) >= len(SPECIAL)
    for ours, a, b in zip((y, dx), t32, t64):
        bad = ~(same(ours, a) | same(ours, b))
        assert not bad.any(), f"{name}: at x = {x[bad][:5]}: {ours[bad][:5]}, torch {a[bad][:5]}"
        np.testing.assert_allclose(ours[plain], b[plain], rtol=2e-6, atol=2e-6)


@needs_onednn
@pytest.mark.parametrize("memory", ["row-major", "channels-last", "transposed"])
@pytest.mark.parametrize("name", sorted(eltwise_onednn.ALGORITHMS))
def test_backend_matches_torch(name, memory):
    x, dy = make()
    x = layout(x, memory)
    assert eltwise_onednn.supports(x, name)
    y = eltwise_onednn.forward(x, name)
    dx = eltwise_onednn.backward(layout(dy, "channels-last"), x, name)
    assert y.strides == x.strides and dx.strides == x.strides     # the input's memory order
    assert_like_torch(name, x, dy, y, dx)


@needs_onednn
def test_broadcast_upstream_gradient():
    x, _ = make(special=False)
    dy = np.broadcast_to(np.float32(0.5), x.shape)
    dx = eltwise_onednn.backward(dy, x, "silu")
    _, tdx = torch_result("silu", x, np.full(x.shape, 0.5, np.float32), torch.float64)
    np.testing.assert_allclose(dx, tdx, rtol=2e-6, atol=2e-6)


@pytest.mark.parametrize("shape", [(2, 8, 9, 10), (3, 5)], ids=["onednn-size", "numpy-size"])
@pytest.mark.parametrize("nan", [False, True])
@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_public_functions_match_torch_on_either_path(name, nan, shape, monkeypatch):
    x, dy = make(shape, special=len(SPECIAL) <= np.prod(shape))
    if nan:
        x.flat[-1] = np.nan
        dy.flat[-2] = np.nan
    calls = []
    original = eltwise_onednn.forward
    monkeypatch.setattr(eltwise_onednn, "forward",
                        lambda *args: calls.append(args[1]) or original(*args))
    xc = convnet.tensor(x, requires_grad=True)
    y = FUNCTIONS[name][0](xc)
    y.backward(dy)
    assert_like_torch(name, x, dy, y.data, xc.grad)
    expect_onednn = (onednn_library.available() and x.size >= eltwise_onednn.MIN_SIZE
                     and not (nan and name in eltwise_onednn.NAN_TO_NUMPY))
    assert calls == ([name] if expect_onednn else [])


def test_cases_left_to_numpy():
    x = np.ones((64, 64), np.float32)
    assert not eltwise_onednn.supports(x.astype(np.float64), "silu")
    assert not eltwise_onednn.supports(x[:, ::2], "silu")            # not dense
    assert not eltwise_onednn.supports(x[:4, :4], "silu")            # small
    assert "mish" not in eltwise_onednn.ALGORITHMS
