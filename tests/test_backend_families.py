"""The shared grid for every oneDNN backend beyond convolution and pooling (those two are in
test_backends.py): transposed convolution, batch normalisation, element-wise activations,
softmax and log-softmax, resampling and fully connected layers.

Each family is called through its public function twice, once as installed (oneDNN where it
loads and the case is supported) and once with ``CONVNET_BACKEND=numpy`` (the family's NumPy
path, the reference), on one grid of inputs: finite values, NaN, +-inf, ties, an empty batch,
a strided (non-contiguous) view and channels-last memory. Both answers, the output and every
gradient, are held to PyTorch: its float32 run says where the results are NaN or infinite
(as convnet's float32 does: float64 would not overflow where float32 does), its float64 run
gives the finite values. Where the grid says oneDNN runs, the test sees the oneDNN backend's
``forward`` called; where the family sends a case to NumPy (linear resampling and some
activations with NaN or inf, batch normalisation with no batch), that is asserted too.
The families' own test files go deeper (every activation, every layout of the gradient,
every mode): this grid is what every backend must survive alike.
"""

from __future__ import annotations

import numpy as np
import pytest

import convnet
import convnet.functional as F
from convnet.ops import (batch_norm_onednn, eltwise_onednn, linear_onednn, resample_onednn,
                         softmax_onednn)
from convnet.ops.conv import transpose_onednn
from convnet.ops.onednn import library as onednn_library

torch = pytest.importorskip("torch", reason="PyTorch is the oracle")
TF = torch.nn.functional


def _batch_norm(lib):
    """Training-mode batch norm with fresh running statistics each call."""
    functional = F if lib is convnet else TF

    def call(x, weight, bias):
        channels = x.shape[1]
        mean, var = lib.zeros(channels, dtype=x.dtype), lib.ones(channels, dtype=x.dtype)
        return functional.batch_norm(x, mean, var, weight, bias, training=True, momentum=0.1)
    return call


# name -> (oneDNN backend module, input shape, parameter shapes,
#          convnet's call, torch's call, which conditions run on oneDNN)
FAMILIES = {
    "conv_transpose2d": (
        transpose_onednn, (3, 4, 7, 6), [(4, 5, 3, 3), (5,)],
        lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1),
        lambda x, w, b: TF.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1),
        {"finite", "nan", "inf", "ties", "strided", "channels-last"}),
    "batch_norm": (
        batch_norm_onednn, (4, 16, 5, 6), [(16,), (16,)],   # 16 channels: not nspc_bnorm
        _batch_norm(convnet), _batch_norm(torch),
        {"finite", "nan", "inf", "ties", "strided", "channels-last"}),
    "silu": (
        eltwise_onednn, (3, 8, 9, 10), [], F.silu, TF.silu,
        {"finite", "nan", "inf", "ties", "channels-last"}),
    "gelu": (
        eltwise_onednn, (3, 8, 9, 10), [], F.gelu, TF.gelu,
        {"finite", "nan", "inf", "ties", "channels-last"}),
    "softmax": (
        softmax_onednn, (3, 8, 9, 10), [],
        lambda x: F.softmax(x, dim=-1), lambda x: TF.softmax(x, dim=-1),
        {"finite", "ties"}),                    # NaN and +inf rows: NumPy (softmax_onednn)
    "log_softmax": (
        softmax_onednn, (3, 8, 9, 10), [],
        lambda x: F.log_softmax(x, dim=1), lambda x: TF.log_softmax(x, dim=1),
        {"channels-last"}),
    "bilinear": (
        resample_onednn, (2, 4, 7, 9), [],
        lambda x: F.interpolate(x, size=(10, 15), mode="bilinear"),
        lambda x: TF.interpolate(x, size=(10, 15), mode="bilinear"),
        {"finite", "ties", "strided", "channels-last"}),
    "nearest": (
        resample_onednn, (2, 4, 7, 9), [],
        lambda x: F.interpolate(x, scale_factor=2, mode="nearest"),
        lambda x: TF.interpolate(x, scale_factor=2, mode="nearest"),
        {"finite", "nan", "inf", "ties", "strided", "channels-last"}),
    "linear": (
        linear_onednn, (6, 5, 12), [(7, 12), (7,)], F.linear, TF.linear,
        {"finite", "nan", "inf", "ties", "strided", "channels-last"}),
}
CONDITIONS = ["finite", "nan", "inf", "ties", "empty", "strided", "channels-last"]


def make_inputs(family: str, condition: str, seed: int = 0) -> list[np.ndarray]:
    """The input (in the condition's memory and values) followed by the parameters."""
    _, shape, parameter_shapes, *_ = FAMILIES[family]
    rng = np.random.default_rng(seed)
    if condition == "empty":
        shape = (0,) + shape[1:]
    if condition == "strided":     # every other element of the last axis of a larger array
        x = rng.standard_normal(shape[:-1] + (2 * shape[-1],)).astype(np.float32)[..., ::2]
    else:
        x = rng.standard_normal(shape).astype(np.float32)
    if condition == "ties":        # values repeat: a quarter of the entries are 0.5 or -1
        x = np.where(rng.random(shape) < 0.5, np.round(x * 2) / 2, x).astype(np.float32)
    if condition == "nan" and x.size:
        x.reshape(-1)[rng.choice(x.size, 3, replace=False)] = np.nan
    if condition == "inf" and x.size:
        positions = rng.choice(x.size, 4, replace=False)
        x.reshape(-1)[positions[:2]], x.reshape(-1)[positions[2:]] = np.inf, -np.inf
    if condition == "channels-last":
        x = np.moveaxis(np.ascontiguousarray(np.moveaxis(x, 1, -1)), -1, 1)
    assert condition != "strided" or not x.flags.c_contiguous
    assert condition != "channels-last" or not x.flags.c_contiguous
    parameters = [(rng.standard_normal(s) / np.sqrt(max(s[-1], 1))).astype(np.float32)
                  for s in parameter_shapes]
    return [x] + parameters


def convnet_result(family: str, arrays, upstream_seed: int = 1):
    """(output, [gradient of each input]) of ``sum(out * g)`` for a random ``g``."""
    call = FAMILIES[family][3]
    tensors = [convnet.from_numpy(a).requires_grad_(True) for a in arrays]
    out = call(*tensors)
    g = np.random.default_rng(upstream_seed).standard_normal(out.shape).astype(np.float32)
    out.backward(g)
    return out.data, [t.grad for t in tensors], g


def torch_result(family: str, arrays, g, dtype):
    call = FAMILIES[family][4]
    tensors = [torch.tensor(np.asarray(a), dtype=dtype, requires_grad=True) for a in arrays]
    out = call(*tensors)
    out.backward(torch.tensor(g, dtype=dtype))
    return out.detach().numpy(), [t.grad.numpy() for t in tensors]


def assert_like_torch(ours, float32, float64, what):
    """NaN and infinite where PyTorch is, the finite values within float32 rounding of
    PyTorch's float64.

    PyTorch's float32 (its oneDNN kernel) and float64 runs disagree in one place: a NaN or
    inf input whose product with a padding zero a sum either skips (float32: the sum runs
    over the valid positions only, the notes' formula) or takes (float64: a column matrix
    of a zero-padded gradient, 0 * NaN = NaN), e.g. a transposed convolution's weight
    gradient for an input on the border. There either answer is PyTorch's; everywhere else
    the two agree and ours must match them."""
    assert ours.shape == float64.shape, what
    agreed = np.isnan(float32) == np.isnan(float64)
    assert np.array_equal(np.isnan(ours)[agreed], np.isnan(float32)[agreed]), \
        f"{what}: NaN at {np.argwhere(agreed & (np.isnan(ours) != np.isnan(float32)))[:4]}"
    infinite = np.isinf(float32) & agreed
    assert np.array_equal(ours[infinite], float32[infinite]), what
    finite = np.isfinite(float32) & np.isfinite(float64)
    assert np.isfinite(ours[finite]).all(), what
    scale = np.abs(float64[finite]).max(initial=1.0)
    np.testing.assert_allclose(ours[finite], float64[finite], rtol=1e-4, atol=1e-5 * scale,
                               err_msg=what)


@pytest.fixture
def onednn_calls(monkeypatch):
    """Which oneDNN backends' forward passes ran, by module name."""
    calls = []
    for module in {spec[0] for spec in FAMILIES.values()}:
        original = module.forward
        monkeypatch.setattr(module, "forward", lambda *a, _o=original, _m=module, **k: (
            calls.append(_m.__name__), _o(*a, **k))[1])
    return calls


@pytest.fixture
def small_linear_on_onednn(monkeypatch):
    """The grid's fully connected layer is small: let it reach oneDNN's inner product."""
    monkeypatch.setattr(linear_onednn, "MIN_WORK", 1)


@pytest.mark.parametrize("condition", CONDITIONS)
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_both_paths_match_torch(family, condition, onednn_calls, small_linear_on_onednn,
                                monkeypatch):
    module, *_, on_onednn = FAMILIES[family]
    arrays = make_inputs(family, condition)
    expect = onednn_library.available() and condition in on_onednn
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        installed = convnet_result(family, arrays)
        ran_onednn = list(onednn_calls)
        monkeypatch.setenv("CONVNET_BACKEND", "numpy")
        onednn_calls.clear()
        numpy_path = convnet_result(family, arrays)
        assert onednn_calls == [], "CONVNET_BACKEND=numpy must keep oneDNN out"
        g = installed[2]
        float32 = torch_result(family, arrays, g, torch.float32)
        float64 = torch_result(family, arrays, g, torch.float64)
    assert (module.__name__ in ran_onednn) == expect, \
        f"{family}/{condition}: oneDNN ran {ran_onednn}, expected {expect}"
    for path, (out, grads, _) in (("installed", installed), ("numpy", numpy_path)):
        assert_like_torch(out, float32[0], float64[0], f"{family}/{condition}/{path}: output")
        for index, (ours, a, b) in enumerate(zip(grads, float32[1], float64[1])):
            assert_like_torch(ours, a, b, f"{family}/{condition}/{path}: gradient {index}")


def test_grid_covers_every_onednn_family():
    """Every oneDNN backend module of convnet.ops is held to a grid: here, or (convolution,
    pooling) in test_backends.py."""
    import pkgutil

    import convnet.ops
    import convnet.ops.conv
    modules = {f"convnet.ops.{m.name}" for m in pkgutil.iter_modules(convnet.ops.__path__)}
    modules |= {f"convnet.ops.conv.{m.name}"
                for m in pkgutil.iter_modules(convnet.ops.conv.__path__)}
    backends = {name for name in modules if name.endswith("_onednn")}
    covered = {spec[0].__name__ for spec in FAMILIES.values()}
    assert backends == covered, backends ^ covered
