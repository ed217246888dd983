"""Activations and losses against PyTorch (the oracle) and finite differences.

Every torch case runs the same expression in convnet and torch on the same arrays,
back-propagates one random upstream gradient through both (tests/torch_compare.py)
and compares the value and every input gradient. Targets are closed over, so class
indices never ask for a gradient. Tolerances: float64 rtol=atol=1e-10; float32
rtol=1e-4, atol=1e-5.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import convnet
import convnet.functional as F
from gradcheck import check_gradients

torch = pytest.importorskip(
    "torch", reason="PyTorch (CPU build) is the test-only oracle for activations and losses")
import torch.nn.functional as TF  # noqa: E402

from torch_compare import compare  # noqa: E402

DTYPES = [np.float32, np.float64]
TOL = {np.float32: dict(rtol=1e-4, atol=1e-5), np.float64: dict(rtol=1e-10, atol=1e-10)}
REDUCTIONS = ["mean", "sum", "none"]


def dtype_id(dtype):
    return "f32" if dtype is np.float32 else "f64"


def data(shape, seed=0, scale=1.0):
    return np.random.default_rng(seed).standard_normal(shape) * scale


def run(fn, torch_fn, *arrays, dtype, requires_grad=None):
    return compare(fn, *arrays, torch_fn=torch_fn, dtype=dtype, requires_grad=requires_grad,
                   **TOL[dtype])


# ------------------------------------------------------------------ activations
ACTIVATIONS = {
    "relu": (F.relu, TF.relu),
    "leaky_relu-0.01": (F.leaky_relu, TF.leaky_relu),
    "leaky_relu-0.2": (lambda x: F.leaky_relu(x, negative_slope=0.2),
                       lambda x: TF.leaky_relu(x, negative_slope=0.2)),
    "sigmoid": (F.sigmoid, torch.sigmoid),
    "tanh": (F.tanh, torch.tanh),
}
for _dim in (0, 1, -1):
    ACTIVATIONS[f"softmax-dim{_dim}"] = (lambda x, d=_dim: F.softmax(x, dim=d),
                                         lambda x, d=_dim: TF.softmax(x, dim=d))
    ACTIVATIONS[f"log_softmax-dim{_dim}"] = (lambda x, d=_dim: F.log_softmax(x, dim=d),
                                             lambda x, d=_dim: TF.log_softmax(x, dim=d))


@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
@pytest.mark.parametrize("scale", [1.0, 40.0], ids=["unit", "large"])
@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_matches_torch(name, scale, dtype):
    ours, theirs = ACTIVATIONS[name]
    run(ours, theirs, data((3, 4, 5), seed=1, scale=scale), dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_is_stable_for_huge_logits(name, dtype):
    x = np.array([[1000.0, 1000.0, -1000.0], [-1e4, 0.0, 1e4]])
    out, _ = run(lambda t: getattr(F, name)(t, dim=1), lambda t: getattr(TF, name)(t, dim=1),
                 x, dtype=dtype)
    assert np.all(np.isfinite(out.data))


def test_softmax_without_dim_uses_torchs_implicit_choice():
    x = data((2, 3))
    with pytest.warns(UserWarning, match="Implicit dimension"):
        ours = F.softmax(x).data
    with pytest.warns(UserWarning):
        expected = TF.softmax(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours, expected, rtol=1e-12)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_gradcheck(name):
    x = data((2, 3, 4), seed=2)
    x[np.abs(x) < 1e-3] = 0.5                      # keep relu's kink away from the probes
    check_gradients(ACTIVATIONS[name][0], x)


# ----------------------------------------------------------------- cross entropy
# (input shape, target shape): plain, per-pixel (N, H, W), 1-D sequence (N, L)
CE_SHAPES = {"NC": ((6, 4), (6,)), "NCHW": ((2, 3, 4, 5), (2, 4, 5)), "NCL": ((3, 5, 4), (3, 4))}


def class_targets(input_shape, target_shape, ignore, seed=3):
    rng = np.random.default_rng(seed)
    target = rng.integers(0, input_shape[1], size=target_shape).astype(np.int64)
    if ignore is not None:
        target.reshape(-1)[::3] = ignore
    return target


CE_GRID = list(itertools.product(CE_SHAPES, [False, True], [None, -100, 1], REDUCTIONS,
                                 [0.0, 0.2], DTYPES))


@pytest.mark.parametrize("shape, weighted, ignore, reduction, smoothing, dtype", CE_GRID,
                         ids=[f"{s}-w{w}-ign{i}-{r}-ls{ls}-{dtype_id(d)}"
                              for s, w, i, r, ls, d in CE_GRID])
def test_cross_entropy_class_indices(shape, weighted, ignore, reduction, smoothing, dtype):
    input_shape, target_shape = CE_SHAPES[shape]
    target = class_targets(input_shape, target_shape, ignore)
    weight = np.linspace(0.5, 2.0, input_shape[1]).astype(dtype) if weighted else None
    options = dict(ignore_index=-100 if ignore is None else ignore, reduction=reduction,
                   label_smoothing=smoothing)
    run(lambda x: F.cross_entropy(x, target, weight=weight, **options),
        lambda x: TF.cross_entropy(x, torch.from_numpy(target),
                                   weight=None if weight is None else torch.from_numpy(weight),
                                   **options),
        data(input_shape, seed=4, scale=2.0), dtype=dtype)


PROB_GRID = list(itertools.product(["NC", "NCHW"], [False, True], REDUCTIONS, [0.0, 0.3], DTYPES))


@pytest.mark.parametrize("shape, weighted, reduction, smoothing, dtype", PROB_GRID,
                         ids=[f"{s}-w{w}-{r}-ls{ls}-{dtype_id(d)}" for s, w, r, ls, d in PROB_GRID])
def test_cross_entropy_probabilities_with_target_gradient(shape, weighted, reduction, smoothing,
                                                          dtype):
    input_shape, _ = CE_SHAPES[shape]
    probabilities = np.random.default_rng(5).random(input_shape)
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    weight = np.linspace(0.5, 2.0, input_shape[1]).astype(dtype) if weighted else None
    options = dict(reduction=reduction, label_smoothing=smoothing)
    run(lambda x, t: F.cross_entropy(x, t, weight=weight, **options),
        lambda x, t: TF.cross_entropy(x, t, weight=None if weight is None
                                      else torch.from_numpy(weight), **options),
        data(input_shape, seed=6), probabilities, dtype=dtype)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_unbatched(reduction):
    target = np.array(2)
    run(lambda x: F.cross_entropy(x, target, reduction=reduction, label_smoothing=0.1),
        lambda x: TF.cross_entropy(x, torch.from_numpy(target), reduction=reduction,
                                   label_smoothing=0.1),
        data((5,)), dtype=np.float64)


def test_cross_entropy_all_ignored_mean_is_nan_like_torch():
    target = np.full(3, -100)
    ours = F.cross_entropy(data((3, 2)), target).item()
    expected = TF.cross_entropy(torch.from_numpy(data((3, 2))), torch.from_numpy(target)).item()
    assert np.isnan(expected) and np.isnan(ours)


def test_cross_entropy_is_stable_for_huge_logits():
    x = np.array([[1e4, -1e4, 0.0]], dtype=np.float32)
    run(lambda t: F.cross_entropy(t, np.array([1])),
        lambda t: TF.cross_entropy(t, torch.tensor([1])), x, dtype=np.float32)


def test_cross_entropy_accepts_a_tensor_of_integer_indices_without_gradient():
    x = convnet.tensor(data((4, 3)), requires_grad=True)
    target = convnet.Tensor(np.zeros(4))
    target.data = np.array([0, 1, 2, 1])           # integer data (e.g. from a loader)
    loss = F.cross_entropy(x, target)
    loss.backward()
    expected = TF.cross_entropy(torch.from_numpy(data((4, 3))), torch.tensor([0, 1, 2, 1]))
    np.testing.assert_allclose(loss.item(), expected.item(), rtol=1e-12)
    assert target.grad is None


# -------------------------------------------------------------------- nll_loss
NLL_GRID = list(itertools.product(["NC", "NCHW"], [False, True], [None, 2], REDUCTIONS, DTYPES))


@pytest.mark.parametrize("shape, weighted, ignore, reduction, dtype", NLL_GRID,
                         ids=[f"{s}-w{w}-ign{i}-{r}-{dtype_id(d)}" for s, w, i, r, d in NLL_GRID])
def test_nll_loss_matches_torch(shape, weighted, ignore, reduction, dtype):
    input_shape, target_shape = CE_SHAPES[shape]
    target = class_targets(input_shape, target_shape, ignore)
    weight = np.linspace(2.0, 0.5, input_shape[1]).astype(dtype) if weighted else None
    options = dict(ignore_index=-100 if ignore is None else ignore, reduction=reduction)
    run(lambda x: F.nll_loss(x, target, weight=weight, **options),
        lambda x: TF.nll_loss(x, torch.from_numpy(target),
                              weight=None if weight is None else torch.from_numpy(weight), **options),
        data(input_shape, seed=7), dtype=dtype)


# ---------------------------------------------------------- mse, bce with logits
@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(7,), (2, 3, 4)])
def test_mse_loss_matches_torch(shape, reduction, dtype):
    run(lambda x, t: F.mse_loss(x, t, reduction=reduction),
        lambda x, t: TF.mse_loss(x, t, reduction=reduction),
        data(shape, seed=8), data(shape, seed=9), dtype=dtype)


BCE_GRID = list(itertools.product([None, "full", "row"], [False, True], REDUCTIONS, DTYPES))


@pytest.mark.parametrize("weight_kind, with_pos_weight, reduction, dtype", BCE_GRID,
                         ids=[f"w{w}-pw{p}-{r}-{dtype_id(d)}" for w, p, r, d in BCE_GRID])
def test_bce_with_logits_matches_torch(weight_kind, with_pos_weight, reduction, dtype):
    shape = (4, 5)
    logits = data(shape, seed=10, scale=3.0)
    logits[0, :2] = [60.0, -60.0]                  # saturated logits stay finite
    arrays = [logits, np.random.default_rng(11).random(shape)]
    weight_shape = {"full": shape, "row": (1, 5)}.get(weight_kind)
    if weight_shape:
        arrays.append(np.random.default_rng(12).random(weight_shape) + 0.5)
    if with_pos_weight:
        arrays.append(np.linspace(0.5, 3.0, shape[1]))

    def call(module, x, t, *rest):
        rest = list(rest)
        weight = rest.pop(0) if weight_shape else None
        pos_weight = rest.pop(0) if with_pos_weight else None
        return module.binary_cross_entropy_with_logits(x, t, weight=weight, reduction=reduction,
                                                       pos_weight=pos_weight)

    # torch differentiates neither weight nor pos_weight (the gradcheck below covers convnet's)
    requires_grad = [True, True] + [False] * (len(arrays) - 2)
    run(lambda *a: call(F, *a), lambda *a: call(TF, *a), *arrays, dtype=dtype,
        requires_grad=requires_grad)


# ---------------------------------------------------------------- gradchecks
def test_cross_entropy_gradcheck_per_pixel_weighted_smoothed_ignored():
    target = class_targets((2, 3, 3, 2), (2, 3, 2), ignore=-100)
    weight = np.array([0.5, 1.0, 2.0])
    check_gradients(lambda x: F.cross_entropy(x, target, weight=weight, label_smoothing=0.1),
                    data((2, 3, 3, 2)))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_gradcheck_probabilities_input_and_target(reduction):
    probabilities = np.random.default_rng(13).random((3, 4))
    check_gradients(lambda x, t: F.cross_entropy(x, t, weight=np.array([1.0, 2.0, 0.5, 1.5]),
                                                 reduction=reduction, label_smoothing=0.2),
                    data((3, 4)), probabilities)


def test_nll_loss_gradcheck():
    target = class_targets((4, 3), (4,), ignore=None)
    check_gradients(lambda x: F.nll_loss(x, target, weight=np.array([1.0, 3.0, 0.5])),
                    data((4, 3)))


def test_mse_loss_gradcheck_input_and_target():
    check_gradients(lambda x, t: F.mse_loss(x, t), data((3, 4)), data((3, 4), seed=1))


def test_bce_with_logits_gradcheck_every_argument():
    check_gradients(lambda x, t, w, pw: F.binary_cross_entropy_with_logits(
        x, t, weight=w, pos_weight=pw, reduction="sum"),
        data((3, 4), scale=2.0), np.random.default_rng(14).random((3, 4)),
        np.random.default_rng(15).random((1, 4)) + 0.5, np.array([0.5, 1.0, 2.0, 3.0]))


# ------------------------------------------------------------------- errors
def test_cross_entropy_wrong_target_shape():
    with pytest.raises(ValueError, match=r"target: expected class indices of shape \(2, 4, 5\)"):
        F.cross_entropy(data((2, 3, 4, 5)), np.zeros((2, 4), dtype=np.int64))


def test_cross_entropy_class_index_out_of_range():
    with pytest.raises(ValueError, match=r"target: class index 5 is out of range.*\[0, 2\]"):
        F.cross_entropy(data((2, 3)), np.array([0, 5]))


def test_cross_entropy_negative_class_index():
    with pytest.raises(ValueError, match=r"target: class index -1 is out of range"):
        F.cross_entropy(data((2, 3)), np.array([-1, 0]))


def test_cross_entropy_float_class_indices():
    with pytest.raises(TypeError, match="target: class indices must be integers"):
        F.cross_entropy(data((2, 3)), np.array([0.0, 1.0]))


def test_cross_entropy_integer_tensor_indices():
    # convnet.tensor keeps integers as int64 (as torch.tensor does): class indices as a Tensor
    logits = data((2, 3))
    as_tensor = F.cross_entropy(logits, convnet.tensor([0, 1])).item()
    assert as_tensor == F.cross_entropy(logits, np.array([0, 1])).item()


def test_cross_entropy_weight_shape():
    with pytest.raises(ValueError, match=r"weight: expected one weight per class, shape \(3,\)"):
        F.cross_entropy(data((2, 3)), np.array([0, 1]), weight=np.ones(4))


def test_loss_unknown_reduction():
    with pytest.raises(ValueError, match="reduction: expected one of"):
        F.nll_loss(data((2, 3)), np.array([0, 1]), reduction="average")


def test_cross_entropy_label_smoothing_range():
    with pytest.raises(ValueError, match="label_smoothing: expected a number in"):
        F.cross_entropy(data((2, 3)), np.array([0, 1]), label_smoothing=1.5)


def test_cross_entropy_scalar_input():
    with pytest.raises(ValueError, match="input: expected"):
        F.cross_entropy(np.array(1.0), np.array(0))


def test_ignore_index_type():
    with pytest.raises(TypeError, match="ignore_index: expected an int"):
        F.cross_entropy(data((2, 3)), np.array([0, 1]), ignore_index=1.5)


def test_mse_loss_shapes_that_do_not_broadcast():
    with pytest.raises(ValueError, match=r"target: shape \(3,\) does not broadcast"):
        F.mse_loss(data((2, 4)), data((3,)))


def test_bce_target_shape():
    with pytest.raises(ValueError, match=r"target: expected the input's shape \(2, 4\)"):
        F.binary_cross_entropy_with_logits(data((2, 4)), data((1, 4)))


def test_bce_pos_weight_shape():
    with pytest.raises(ValueError, match="pos_weight: shape"):
        F.binary_cross_entropy_with_logits(data((2, 4)), data((2, 4)), pos_weight=np.ones(3))


def test_softmax_dim_out_of_range():
    with pytest.raises(ValueError, match=r"dim: expected a dimension in \[-2, 1\]"):
        F.softmax(data((2, 3)), dim=2)


def test_leaky_relu_slope_type():
    with pytest.raises(TypeError, match="negative_slope: expected a real number"):
        F.leaky_relu(data(3), negative_slope="0.1")


def test_activation_integer_input():
    with pytest.raises(TypeError, match="input: expected a floating-point array"):
        F.relu(np.array([1, 2]))


def test_activation_inplace_accepted_same_values():
    x = data(3)
    np.testing.assert_array_equal(F.relu(x, inplace=True).data, F.relu(x).data)


@pytest.mark.parametrize("dtype", DTYPES)
def test_binary_cross_entropy_at_saturated_probabilities(dtype):
    """Probabilities exactly 0 and 1 (a saturated sigmoid in a GAN's discriminator): the loss
    clamps its logs at -100 and the input gradient is torch's (x - y) / max(x (1 - x), 1e-12),
    finite, where the chain rule through the clamped logs gives NaN; the target gradient is
    torch's unclamped log(1 - x) - log(x)."""
    x = np.array([0.0, 1.0, 0.0, 1.0, 0.3, 1e-30, 1 - 1e-7, 0.5], dtype=dtype)
    y = np.array([1.0, 0.0, 0.0, 1.0, 0.7, 0.0, 1.0, 0.2], dtype=dtype)
    upstream = np.linspace(0.5, 2.0, x.size).astype(dtype)
    ours_x = convnet.tensor(x, requires_grad=True)
    ours_y = convnet.tensor(y, requires_grad=True)
    loss = F.binary_cross_entropy(ours_x, ours_y, reduction="none")
    loss.backward(convnet.tensor(upstream))
    theirs_x = torch.tensor(x, requires_grad=True)
    theirs_y = torch.tensor(y, requires_grad=True)
    expected = TF.binary_cross_entropy(theirs_x, theirs_y, reduction="none")
    expected.backward(torch.tensor(upstream))
    np.testing.assert_allclose(loss.detach().numpy(), expected.detach().numpy(), **TOL[dtype])
    assert np.all(np.isfinite(np.asarray(ours_x.grad)))
    np.testing.assert_allclose(np.asarray(ours_x.grad), theirs_x.grad.numpy(), **TOL[dtype])
    np.testing.assert_allclose(np.asarray(ours_y.grad), theirs_y.grad.numpy(), **TOL[dtype])
