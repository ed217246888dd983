"""Every backend of batch normalisation, called directly: oneDNN's primitive (where it loads),
the compiled channels-last kernels and the NumPy formulas (the reference), each against
PyTorch's ``batch_norm`` in float64 (output, running statistics, every gradient), in training
and evaluation, with and without an affine weight/bias, in row-major, channels-last and
strided memory, 2-D to 5-D; plus NaN/inf and the cases oneDNN leaves to the others."""

from __future__ import annotations

import numpy as np
import pytest

from convnet.ops import batch_norm_onednn, layers
from convnet.ops.onednn import library as onednn_library

torch = pytest.importorskip("torch", reason="PyTorch is the oracle")

needs_onednn = pytest.mark.skipif(
    not onednn_library.available(),
    reason="oneDNN is not loaded or CONVNET_BACKEND=numpy (the suite's other run tests it)")

SHAPES = [(5, 3), (4, 3, 7), (3, 4, 5, 6), (2, 3, 3, 4, 2)]
LAYOUTS = ["row-major", "channels-last", "strided"]
AFFINE = ["weight+bias", "weight", "none"]


def arrange(array, layout):
    """The same values in channels-last memory or as a strided view."""
    if layout == "channels-last" and array.ndim > 2:
        return np.moveaxis(np.ascontiguousarray(np.moveaxis(array, 1, -1)), -1, 1)
    if layout == "strided":
        wide = np.zeros(array.shape[:-1] + (array.shape[-1] * 2,), array.dtype)
        wide[..., ::2] = array
        return wide[..., ::2]
    return array


def make(shape, affine, seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    channels = shape[1]
    x = (rng.standard_normal(shape) * 3 + 2).astype(dtype)
    weight = rng.standard_normal(channels).astype(dtype) if affine != "none" else None
    bias = rng.standard_normal(channels).astype(dtype) if affine == "weight+bias" else None
    mean = rng.standard_normal(channels).astype(dtype)
    var = (rng.random(channels) + 0.5).astype(dtype)
    dy = rng.standard_normal(shape).astype(dtype)
    return x, weight, bias, mean, var, dy


def torch_batch_norm(x, weight, bias, mean, var, dy, training, momentum=0.1, eps=1e-5):
    def t(a, grad=False):
        return None if a is None else torch.tensor(np.asarray(a), dtype=torch.float64,
                                                   requires_grad=grad)
    xt, wt, bt = t(x, True), t(weight, True), t(bias, True)
    mt, vt = t(mean), t(var)
    y = torch.nn.functional.batch_norm(xt, mt, vt, wt, bt, training, momentum, eps)
    y.backward(t(dy))
    grads = [None if a is None else a.grad.numpy() for a in (xt, wt, bt)]
    return y.detach().numpy(), mt.numpy(), vt.numpy(), grads


def run_backend(name, x, weight, bias, mean, var, dy, training, momentum=0.1, eps=1e-5):
    mean, var = mean.copy(), var.copy()
    if name == "onednn":
        y, saved = batch_norm_onednn.forward(x, mean, var, weight, bias, training, momentum, eps)
        grads = batch_norm_onednn.backward(dy, saved)
    else:   # the other backends as layers chooses them with oneDNN out of the way
        original = batch_norm_onednn.supports
        batch_norm_onednn.supports = lambda *args: False
        try:
            if name == "numpy":
                x = np.array(x, order="C")          # row-major: the NumPy formulas
            y, saved = layers.batch_norm_forward(x, mean, var, weight, bias, training,
                                                 momentum, eps)
            grads = layers.batch_norm_backward(dy, saved)
        finally:
            batch_norm_onednn.supports = original
    return y, mean, var, grads


def close(ours, theirs, dtype):
    if theirs is None:
        assert ours is None
        return
    tolerance = 2e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(ours, theirs, rtol=tolerance,
                               atol=tolerance * max(1.0, np.abs(theirs).max()))


def backends():
    names = ["compiled", "numpy"]
    return (["onednn"] if onednn_library.available() else []) + names


@pytest.mark.parametrize("backend", backends())
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("affine", AFFINE)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_each_backend_matches_torch(backend, training, layout, affine, shape):
    x, weight, bias, mean, var, dy = make(shape, affine)
    x = arrange(x, layout)
    y, new_mean, new_var, grads = run_backend(backend, x, weight, bias, mean, var, dy, training)
    ty, tmean, tvar, tgrads = torch_batch_norm(x, weight, bias, mean, var, dy, training)
    assert y.shape == x.shape
    close(y, ty, np.float32)
    close(new_mean, tmean, np.float32)
    close(new_var, tvar, np.float32)
    for ours, theirs in zip(grads, tgrads):
        close(ours, theirs, np.float32)


@needs_onednn
@pytest.mark.parametrize("training", [True, False])
def test_onednn_keeps_channels_last_memory(training):
    x, weight, bias, mean, var, dy = make((2, 16, 5, 6), "weight+bias")
    x, dy = arrange(x, "channels-last"), arrange(dy, "channels-last")
    y, _, _, (dx, _, _) = run_backend("onednn", x, weight, bias, mean, var, dy, training)
    for result in (y, dx):
        assert np.moveaxis(result, 1, -1).flags.c_contiguous


@needs_onednn
@pytest.mark.parametrize("training", [True, False])
def test_onednn_is_the_compiled_backend_to_float32_rounding(training):
    x, weight, bias, mean, var, dy = make((8, 32, 6, 6), "weight+bias", seed=3)
    x = arrange(x, "channels-last")
    ours = run_backend("onednn", x, weight, bias, mean, var, dy, training)
    theirs = run_backend("compiled", x, weight, bias, mean, var, dy, training)
    for a, b in zip(ours[:3] + tuple(ours[3]), theirs[:3] + tuple(theirs[3])):
        close(a, b, np.float32)


@needs_onednn
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("training", [True, False])
def test_onednn_spreads_nan_and_inf_like_torch(value, training):
    x, weight, bias, mean, var, dy = make((3, 4, 5, 5), "weight+bias", seed=5)
    x[1, 2, 3, 4] = value
    y, new_mean, new_var, grads = run_backend("onednn", x, weight, bias, mean, var, dy,
                                              training)
    ty, tmean, tvar, tgrads = torch_batch_norm(x, weight, bias, mean, var, dy, training)
    np.testing.assert_array_equal(np.isnan(y), np.isnan(ty))
    np.testing.assert_array_equal(np.isnan(new_mean), np.isnan(tmean))
    np.testing.assert_array_equal(np.isnan(grads[0]), np.isnan(tgrads[0]))
    finite = np.isfinite(ty)
    close(y[finite], ty[finite], np.float32)


@needs_onednn
def test_onednn_takes_its_jit_cases_and_leaves_few_channels_last_channels():
    many = arrange(np.ones((2, 16, 4, 4), np.float32), "channels-last")
    assert batch_norm_onednn.supports(many, None, None)
    assert batch_norm_onednn.supports(np.ones((2, 3, 4, 4), np.float32), None, None)
    few = arrange(np.ones((2, 3, 4, 4), np.float32), "channels-last")
    from convnet.ops.onednn.primitive import implementation_name
    kernel = implementation_name(batch_norm_onednn._plan(few.shape, True, True, True, True,
                                                         1e-5).forward.pd)
    assert batch_norm_onednn.supports(few, None, None) == (not kernel.startswith("nspc"))


def test_cases_onednn_leaves_to_the_other_backends():
    x = np.ones((2, 3, 4, 4), np.float32)
    assert not batch_norm_onednn.supports(x.astype(np.float64), None, None)   # float64
    assert not batch_norm_onednn.supports(x[:0], None, None)                  # empty batch
    assert not batch_norm_onednn.supports(np.ones((2, 3, 2, 2, 2, 2), np.float32), None, None)
    assert not batch_norm_onednn.supports(x, np.ones(3), None)                # float64 weight


def test_the_functional_form_runs_every_case_through_some_backend():
    import convnet
    import convnet.functional as F
    for dtype in (np.float32, np.float64):
        x, weight, bias, mean, var, dy = make((4, 3, 5, 5), "weight+bias", dtype=dtype)
        xc = convnet.from_numpy(arrange(x, "channels-last")).requires_grad_(True)
        running_mean, running_var = mean.copy(), var.copy()
        y = F.batch_norm(xc, running_mean, running_var, convnet.tensor(weight),
                         convnet.tensor(bias), training=True)
        y.backward(dy)
        ty, tmean, _, tgrads = torch_batch_norm(x, weight, bias, mean, var, dy, True)
        close(y.data, ty, dtype)
        close(running_mean, tmean, dtype)
        close(xc.grad, tgrads[0], dtype)
    empty = F.batch_norm(np.zeros((0, 3, 2, 2), np.float32), np.zeros(3, np.float32),
                         np.ones(3, np.float32), training=False)
    assert empty.shape == (0, 3, 2, 2)
