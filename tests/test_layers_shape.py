"""linear, flatten, dropout, batch_norm, pad, interpolate, cat, stack.

PyTorch is the oracle (same arrays, same random upstream gradient, values and every
input gradient compared by tests/torch_compare.py); float64 rtol=atol=1e-10, float32
rtol=1e-4, atol=1e-5. What torch lacks (the notes' vec order, 'symmetric' padding,
padding more dims than torch allows) is checked against NumPy or a loop written from
the notes' formula. Float64 finite differences check every gradient.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import convnet
import convnet.functional as F
from gradcheck import check_gradients

torch = pytest.importorskip(
    "torch", reason="PyTorch (CPU build) is the test-only oracle for layers and resampling")
import torch.nn.functional as TF  # noqa: E402

from torch_compare import compare  # noqa: E402

DTYPES = [np.float32, np.float64]
TOL = {np.float32: dict(rtol=1e-4, atol=1e-5), np.float64: dict(rtol=1e-10, atol=1e-10)}


def dtype_id(dtype):
    return "f32" if dtype is np.float32 else "f64"


def data(shape, seed=0, scale=1.0):
    return np.random.default_rng(seed).standard_normal(shape) * scale


def run(fn, torch_fn, *arrays, dtype, requires_grad=None):
    return compare(fn, *arrays, torch_fn=torch_fn, dtype=dtype, requires_grad=requires_grad,
                   **TOL[dtype])


# -------------------------------------------------------------------- linear
@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("shape", [(5,), (4, 5), (2, 3, 5)], ids=str)
def test_linear_matches_torch(shape, bias, dtype):
    arrays = [data(shape), data((6, 5), seed=1)] + ([data(6, seed=2)] if bias else [])
    run(F.linear, TF.linear, *arrays, dtype=dtype)


def test_linear_gradcheck():
    check_gradients(F.linear, data((2, 3, 4)), data((5, 4), seed=1), data(5, seed=2))


# ------------------------------------------------------------------- flatten
@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
@pytest.mark.parametrize("start_dim, end_dim", [(1, -1), (0, -1), (1, 2), (2, 3), (-2, -1), (3, 3)])
def test_flatten_matches_torch(start_dim, end_dim, dtype):
    run(lambda x: F.flatten(x, start_dim, end_dim), lambda x: torch.flatten(x, start_dim, end_dim),
        data((2, 3, 4, 5)), dtype=dtype)


def notes_vec(feature_maps):
    """Seed 001 eq. 8.26, one sample: columns a_j of FM 1, then of FM 2, ... stacked."""
    column_stack = []
    for fm in feature_maps:                          # FM index 1 .. H^m
        for j in range(fm.shape[1]):                 # column index 1 .. S_c^m
            column_stack.extend(fm[:, j])            # (a_j^{m,fm})^T: the column top to bottom
    return np.array(column_stack)


def test_flatten_order_f_is_the_notes_vec():
    x = data((2, 3, 4, 5))
    expected = np.stack([notes_vec(sample) for sample in x])
    np.testing.assert_array_equal(F.flatten(x, order="F").data, expected)


def test_flatten_order_f_of_one_matrix_stacks_its_columns():
    matrix = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(F.flatten(matrix[None], order="F").data[0],
                                  [0.0, 3.0, 1.0, 4.0, 2.0, 5.0])


@pytest.mark.parametrize("order", ["C", "F"])
def test_flatten_gradcheck(order):
    check_gradients(lambda x: F.flatten(x, order=order), data((2, 3, 2, 3)))


# ------------------------------------------------------------------- dropout
def test_dropout_eval_is_identity():
    x = convnet.tensor(data((3, 4)), requires_grad=True)
    y = F.dropout(x, p=0.7, training=False)
    np.testing.assert_array_equal(y.data, x.data)
    y.backward(np.ones((3, 4)))
    np.testing.assert_array_equal(x.grad, np.ones((3, 4)))


@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_dropout_train_zeroes_about_p_and_scales(p, dtype):
    x = np.ones((200, 100), dtype=dtype)
    y = F.dropout(x, p=p, rng=np.random.default_rng(0)).data
    assert y.dtype == dtype
    dropped = np.mean(y == 0)
    assert abs(dropped - p) < 0.02                  # 20,000 draws: sd ~0.0035
    np.testing.assert_allclose(y[y != 0], 1 / (1 - p), rtol=1e-6)


def test_dropout_same_seed_same_mask():
    x = data((8, 9))
    first = F.dropout(x, p=0.5, rng=123).data
    np.testing.assert_array_equal(first, F.dropout(x, p=0.5, rng=123).data)
    np.testing.assert_array_equal(first, F.dropout(x, p=0.5, rng=np.random.default_rng(123)).data)
    convnet.manual_seed(7)
    a = F.dropout(x, p=0.5).data
    convnet.manual_seed(7)
    np.testing.assert_array_equal(a, F.dropout(x, p=0.5).data)


def test_dropout_gradient_is_mask_times_scale():
    x = convnet.tensor(np.ones((6, 7)), requires_grad=True)
    y = F.dropout(x, p=0.25, rng=5)
    upstream = data((6, 7), seed=1)
    y.backward(upstream)
    kept = y.data != 0
    np.testing.assert_allclose(x.grad, upstream * kept / 0.75, rtol=1e-15)


@pytest.mark.parametrize("p", [0.0, 1.0])
def test_dropout_extreme_probabilities(p):
    x = data((4, 4))
    expected = TF.dropout(torch.from_numpy(x), p=p).numpy()
    np.testing.assert_array_equal(F.dropout(x, p=p).data, expected)


def test_dropout_gradcheck():
    check_gradients(lambda x: F.dropout(x, p=0.4, rng=3), data((3, 5)))


# ---------------------------------------------------------------- batch norm
BN_GRID = list(itertools.product([(6, 3), (4, 3, 5), (2, 3, 4, 5)], [True, False],
                                 [True, False], [0.1, 0.5], DTYPES))


@pytest.mark.parametrize("shape, training, affine, momentum, dtype", BN_GRID,
                         ids=[f"{'x'.join(map(str, s))}-{'train' if t else 'eval'}-affine{a}"
                              f"-m{m}-{dtype_id(d)}" for s, t, a, m, d in BN_GRID])
def test_batch_norm_matches_torch_incl_running_stats(shape, training, affine, momentum, dtype):
    channels = shape[1]
    ours_mean, ours_var = np.linspace(-1, 1, channels).astype(dtype), np.linspace(0.5, 2, channels).astype(dtype)
    theirs_mean, theirs_var = torch.from_numpy(ours_mean.copy()), torch.from_numpy(ours_var.copy())
    arrays = [data(shape, scale=2.0) + 1.0] + ([data(channels, seed=1), data(channels, seed=2)]
                                               if affine else [])

    def ours(x, *wb):
        return F.batch_norm(x, ours_mean, ours_var, *wb, training=training, momentum=momentum)

    def theirs(x, *wb):
        return TF.batch_norm(x, theirs_mean, theirs_var, *wb, training=training, momentum=momentum)

    run(ours, theirs, *arrays, dtype=dtype)
    np.testing.assert_allclose(ours_mean, theirs_mean.numpy(), **TOL[dtype])
    np.testing.assert_allclose(ours_var, theirs_var.numpy(), **TOL[dtype])


def test_batch_norm_updates_tensor_buffers_in_place():
    x = data((5, 2, 3))
    mean, var = convnet.tensor(np.zeros(2)), convnet.tensor(np.ones(2))
    buffers = (mean.data, var.data)
    F.batch_norm(x, mean, var, training=True)
    theirs_mean, theirs_var = torch.zeros(2, dtype=torch.float64), torch.ones(2, dtype=torch.float64)
    TF.batch_norm(torch.from_numpy(x), theirs_mean, theirs_var, training=True)
    assert mean.data is buffers[0] and var.data is buffers[1]
    np.testing.assert_allclose(mean.data, theirs_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(var.data, theirs_var.numpy(), rtol=1e-12)


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_batch_norm_gradcheck(training):
    mean, var = np.array([0.1, -0.2, 0.3]), np.array([0.5, 1.5, 2.0])
    # training passes no running stats: every finite-difference probe must see the same call
    stats = (None, None) if training else (mean, var)
    check_gradients(lambda x, w, b: F.batch_norm(x, *stats, w, b, training=training),
                    data((4, 3, 2), scale=2.0), data(3, seed=1), data(3, seed=2))


# ----------------------------------------------------------------------- pad
TORCH_PAD_CASES = [  # (input shape, pad) within torch's support for every mode
    ((2, 3, 6), (2, 1)), ((2, 3, 6), (0, 3)), ((2, 2, 5, 6), (1, 2, 3, 0)),
    ((3, 5, 6), (2, 2, 1, 1)), ((1, 2, 4, 5, 6), (1, 0, 2, 1, 3, 2)),
]
PAD_GRID = list(itertools.product(TORCH_PAD_CASES, ["constant", "reflect", "replicate", "circular"],
                                  DTYPES))


@pytest.mark.parametrize("case, mode, dtype", PAD_GRID,
                         ids=[f"{'x'.join(map(str, s))}-{p}-{m}-{dtype_id(d)}".replace(" ", "")
                              for (s, p), m, d in PAD_GRID])
def test_pad_matches_torch(case, mode, dtype):
    shape, amounts = case
    run(lambda x: F.pad(x, amounts, mode=mode), lambda x: TF.pad(x, amounts, mode=mode),
        data(shape), dtype=dtype)


@pytest.mark.parametrize("amounts", [(1, 2), (2, 0, 1, 1), (-1, 2, 0, -2), (1, 1, 1, 1, 1, 1)])
def test_pad_constant_value_and_cropping_matches_torch(amounts):
    run(lambda x: F.pad(x, amounts, value=2.5), lambda x: TF.pad(x, amounts, value=2.5),
        data((2, 3, 4, 5)), dtype=np.float64)


NUMPY_MODES = {"symmetric": "symmetric", "reflect": "reflect", "replicate": "edge",
               "circular": "wrap"}


@pytest.mark.parametrize("mode", list(NUMPY_MODES))
@pytest.mark.parametrize("amounts", [(2, 1), (1, 3, 2, 0), (1, 1, 1, 1, 2, 2, 0, 1)])
def test_pad_modes_torch_lacks_match_numpy(amounts, mode):
    # 'symmetric' is not in torch, and torch pads only 1-3 trailing dims of 2-5-D inputs
    # in the non-constant modes (not the last dim alone of a 4-D input, nor 4 dims)
    x = data((2, 3, 4, 5))
    pairs = [(amounts[i], amounts[i + 1]) for i in range(0, len(amounts), 2)][::-1]
    expected = np.pad(x, [(0, 0)] * (x.ndim - len(pairs)) + pairs, mode=NUMPY_MODES[mode])
    np.testing.assert_array_equal(F.pad(x, amounts, mode=mode).data, expected)


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular", "symmetric"])
def test_pad_gradcheck(mode):
    amounts = (2, 1, 1, 3) if mode != "constant" else (2, -1, 1, 3)
    check_gradients(lambda x: F.pad(x, amounts, mode=mode), data((1, 2, 4, 3)))


# --------------------------------------------------------------- interpolate
NEAREST_CASES = [  # (input shape, size, scale_factor)
    ((2, 3, 7), 10, None), ((2, 3, 7), 14, None), ((2, 3, 7), 3, None), ((2, 3, 7), None, 1.7),
    ((2, 2, 5, 6), (8, 13), None), ((2, 2, 5, 6), (3, 4), None), ((2, 2, 5, 6), None, 2),
    ((2, 2, 5, 6), None, (1.5, 0.7)), ((2, 2, 5, 6), None, 1.1), ((2, 2, 5, 6), None, 2.3),
    ((1, 2, 3, 4, 5), (5, 3, 7), None), ((1, 2, 3, 4, 5), None, 1.6),
]
NEAREST_GRID = list(itertools.product(NEAREST_CASES, ["nearest", "nearest-exact"], DTYPES))


@pytest.mark.parametrize("case, mode, dtype", NEAREST_GRID,
                         ids=[f"{'x'.join(map(str, s))}-size{z}-scale{f}-{m}-{dtype_id(d)}"
                              .replace(" ", "") for (s, z, f), m, d in NEAREST_GRID])
def test_interpolate_nearest_matches_torch(case, mode, dtype):
    shape, size, scale_factor = case
    run(lambda x: F.interpolate(x, size=size, scale_factor=scale_factor, mode=mode),
        lambda x: TF.interpolate(x, size=size, scale_factor=scale_factor, mode=mode),
        data(shape), dtype=dtype)


LINEAR_CASES = [  # (input shape, size, scale_factor, recompute_scale_factor)
    ((2, 2, 5, 6), (9, 13), None, None), ((2, 2, 5, 6), (3, 4), None, None),
    ((2, 2, 5, 6), (1, 1), None, None), ((2, 2, 5, 6), (5, 11), None, None),
    ((2, 2, 5, 6), None, 2, None), ((2, 2, 5, 6), None, (1.7, 0.6), None),
    ((2, 2, 5, 6), None, 1.1, None), ((2, 2, 5, 6), None, 2.6, True),
    ((2, 3, 7), 12, None, None), ((2, 3, 7), None, 1.3, None),
    ((1, 2, 3, 4, 5), (4, 6, 3), None, None), ((1, 2, 3, 4, 5), None, 1.5, None),
]
LINEAR_MODE = {3: "linear", 4: "bilinear", 5: "trilinear"}
LINEAR_GRID = list(itertools.product(LINEAR_CASES, [False, True], DTYPES))


@pytest.mark.parametrize("case, align_corners, dtype", LINEAR_GRID,
                         ids=[f"{'x'.join(map(str, s))}-size{z}-scale{f}-rc{r}-ac{a}-{dtype_id(d)}"
                              .replace(" ", "") for (s, z, f, r), a, d in LINEAR_GRID])
def test_interpolate_linear_modes_match_torch(case, align_corners, dtype):
    shape, size, scale_factor, recompute = case
    options = dict(size=size, scale_factor=scale_factor, mode=LINEAR_MODE[len(shape)],
                   align_corners=align_corners, recompute_scale_factor=recompute)
    run(lambda x: F.interpolate(x, **options), lambda x: TF.interpolate(x, **options),
        data(shape), dtype=dtype)


def test_interpolate_linear_floors_the_source_in_float32_like_torch():
    # source position 2 - 1e-9: torch's floorf rounds it to 2 first, so the output is x[2]
    scale_factor = 4.5 / (2.5 - 1e-9)
    run(lambda x: F.interpolate(x, scale_factor=scale_factor, mode="linear"),
        lambda x: TF.interpolate(x, scale_factor=scale_factor, mode="linear"),
        np.array([[[0.0, 1.0, 100.0]]]), dtype=np.float64)


def test_interpolate_bilinear_align_corners_none_is_false():
    x = data((1, 2, 4, 5))
    np.testing.assert_allclose(F.interpolate(x, size=(7, 3), mode="bilinear").data,
                               TF.interpolate(torch.from_numpy(x), size=(7, 3), mode="bilinear",
                                              align_corners=False).numpy(), rtol=1e-12)


@pytest.mark.parametrize("mode, options", [
    ("nearest", dict(size=(5, 7))), ("nearest", dict(scale_factor=1.5)),
    ("bilinear", dict(size=(5, 7), align_corners=False)),
    ("bilinear", dict(size=(2, 3), align_corners=True)),
    ("bilinear", dict(scale_factor=1.7, align_corners=False))])
def test_interpolate_gradcheck(mode, options):
    check_gradients(lambda x: F.interpolate(x, mode=mode, **options), data((1, 2, 3, 4)))


# ---------------------------------------------------------------- cat, stack
@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cat_matches_torch(dim, dtype):
    shapes = [[2, 3, 4], [2, 3, 4], [2, 3, 4]]
    for shape, extra in zip(shapes, (1, 2, 3)):
        shape[dim] = extra
    run(lambda *t: F.cat(list(t), dim=dim), lambda *t: torch.cat(list(t), dim=dim),
        *[data(s, seed=i) for i, s in enumerate(shapes)], dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
@pytest.mark.parametrize("dim", [0, 1, 3, -1])
def test_stack_matches_torch(dim, dtype):
    run(lambda *t: F.stack(t, dim=dim), lambda *t: torch.stack(t, dim=dim),
        *[data((2, 3, 4), seed=i) for i in range(3)], dtype=dtype)


def test_cat_and_stack_gradcheck():
    check_gradients(lambda a, b: F.cat([a, b], dim=1), data((2, 3)), data((2, 1), seed=1))
    check_gradients(lambda a, b: F.stack([a, b], dim=1), data((2, 3)), data((2, 3), seed=1))


# ------------------------------------------------------------------- errors
def test_linear_weight_shape():
    with pytest.raises(ValueError, match=r"weight: expected shape \(out_features, 5\)"):
        F.linear(data((2, 5)), data((3, 4)))


def test_linear_bias_shape():
    with pytest.raises(ValueError, match=r"bias: expected shape \(3,\)"):
        F.linear(data((2, 5)), data((3, 5)), data(4))


def test_flatten_order():
    with pytest.raises(ValueError, match="order: expected 'C'"):
        F.flatten(data((2, 3)), order="A")


def test_flatten_start_after_end():
    with pytest.raises(ValueError, match="start_dim: must not come after end_dim"):
        F.flatten(data((2, 3, 4)), start_dim=2, end_dim=1)


def test_flatten_dim_out_of_range():
    with pytest.raises(ValueError, match="end_dim: expected a dimension in"):
        F.flatten(data((2, 3)), end_dim=2)


def test_dropout_probability():
    with pytest.raises(ValueError, match="p: dropout probability has to be between 0 and 1"):
        F.dropout(data(3), p=1.5)


def test_dropout_inplace_accepted():
    x = data(3)
    np.testing.assert_array_equal(F.dropout(x, inplace=True, rng=1).data,
                                  F.dropout(x, rng=1).data)


def test_dropout_rng_type():
    with pytest.raises(TypeError, match="rng: expected a numpy Generator"):
        F.dropout(data(3), rng="seed")


def test_batch_norm_eval_needs_running_stats():
    with pytest.raises(ValueError, match="running_mean: running_mean and running_var are required"):
        F.batch_norm(data((4, 3)), None, None, training=False)


def test_batch_norm_one_value_per_channel():
    with pytest.raises(ValueError, match="input: expected more than 1 value per channel"):
        F.batch_norm(data((1, 3)), None, None, training=True)


def test_batch_norm_running_stat_shape():
    with pytest.raises(ValueError, match=r"running_var: expected shape \(3,\)"):
        F.batch_norm(data((4, 3)), np.zeros(3), np.ones(2))


def test_batch_norm_running_stat_type():
    with pytest.raises(TypeError, match="running_mean: expected a floating ndarray"):
        F.batch_norm(data((4, 3)), [0.0, 0.0, 0.0], np.ones(3))


def test_batch_norm_momentum():
    with pytest.raises(ValueError, match="momentum: expected a non-negative number, got None"):
        F.batch_norm(data((4, 3)), np.zeros(3), np.ones(3), momentum=None)


def test_batch_norm_weight_shape():
    with pytest.raises(ValueError, match=r"weight: expected shape \(3,\)"):
        F.batch_norm(data((4, 3)), np.zeros(3), np.ones(3), weight=np.ones(2))


def test_batch_norm_input_dims():
    with pytest.raises(ValueError, match=r"input: expected \(N, C\)"):
        F.batch_norm(data(4), np.zeros(4), np.ones(4))


def test_pad_mode():
    with pytest.raises(ValueError, match="mode: expected one of"):
        F.pad(data((1, 4)), (1, 1), mode="zeros")


def test_pad_odd_length():
    with pytest.raises(ValueError, match="pad: expected an even number of ints"):
        F.pad(data((1, 4)), (1, 1, 1))


def test_pad_not_ints():
    with pytest.raises(TypeError, match="pad: expected a tuple of ints"):
        F.pad(data((1, 4)), (1.0, 1))


def test_pad_value_with_other_mode():
    with pytest.raises(ValueError, match="value: padding mode 'reflect' doesn't take a value"):
        F.pad(data((1, 4)), (1, 1), mode="reflect", value=3.0)


def test_pad_negative_needs_constant():
    with pytest.raises(ValueError, match="pad: negative padding"):
        F.pad(data((1, 4)), (-1, 1), mode="replicate")


def test_pad_reflect_too_large():
    with pytest.raises(ValueError, match="padding: 'reflect' padding must be smaller"):
        F.pad(data((1, 4)), (4, 0), mode="reflect")


def test_pad_crop_too_much():
    with pytest.raises(ValueError, match="pad: cropping 3 and 2"):
        F.pad(data((1, 4)), (-3, -2))


def test_interpolate_mode():
    with pytest.raises(ValueError, match="mode: expected one of"):
        F.interpolate(data((1, 1, 4, 4)), size=2, mode="bicubic")


def test_interpolate_bilinear_needs_4d():
    with pytest.raises(ValueError, match="input: mode 'bilinear' expects a 4-D input"):
        F.interpolate(data((1, 1, 4)), size=2, mode="bilinear")


def test_interpolate_align_corners_with_nearest():
    with pytest.raises(ValueError, match="align_corners: only the interpolating modes"):
        F.interpolate(data((1, 1, 4, 4)), size=2, align_corners=True)


def test_interpolate_size_and_scale_factor():
    with pytest.raises(ValueError, match="size: give exactly one of size and scale_factor"):
        F.interpolate(data((1, 1, 4, 4)), size=2, scale_factor=2)


def test_interpolate_size_length():
    with pytest.raises(ValueError, match=r"size: expected one value or 2"):
        F.interpolate(data((1, 1, 4, 4)), size=(2, 3, 4))


def test_interpolate_size_positive():
    with pytest.raises(ValueError, match="size: expected sizes of at least 1"):
        F.interpolate(data((1, 1, 4, 4)), size=(0, 3))


def test_interpolate_scale_factor_positive():
    with pytest.raises(ValueError, match="scale_factor: expected positive numbers"):
        F.interpolate(data((1, 1, 4, 4)), scale_factor=-2.0)


def test_interpolate_scale_factor_empty_output():
    with pytest.raises(ValueError, match="scale_factor: 0.1 gives an empty output"):
        F.interpolate(data((1, 1, 4, 4)), scale_factor=0.1)


def test_cat_shape_mismatch():
    with pytest.raises(ValueError, match=r"tensors: every shape must match \(2, 3\) except in dim 0"):
        F.cat([data((2, 3)), data((2, 4))])


def test_stack_shape_mismatch():
    with pytest.raises(ValueError, match=r"tensors: every shape must equal \(2, 3\)"):
        F.stack([data((2, 3)), data((3, 2))])


def test_cat_empty():
    with pytest.raises(ValueError, match="tensors: expected a non-empty sequence"):
        F.cat([])


def test_cat_dim_out_of_range():
    with pytest.raises(ValueError, match=r"dim: expected a dimension in \[-2, 1\]"):
        F.cat([data((2, 3))], dim=2)
