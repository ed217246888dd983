"""The two memory layouts of convolution agree with PyTorch and with each other.

:func:`convnet.ops.conv.forward` runs 1-D and 2-D convolutions without groups in
channels-last memory (compiled im2col/col2im, :mod:`convnet.ops.conv.channels_last`) and
everything else in the reference (:mod:`convnet.ops.conv.reference`); each backend is called
here directly. The public API (tests/test_conv_torch.py) reaches only the first for those
convolutions, so this file checks both paths, at the ops level, against PyTorch in
float64 (forward, input, weight and bias gradients; tolerance 1e-10 scaled by the
largest value), the symmetric mode (which torch lacks) path against path, inputs that
arrive in channels-last memory, and the compiled kernels against the notes' im2col.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from convnet.ops import conv as conv_ops
from convnet.ops.conv import channels_last as conv_channels_last, kernels as conv_kernels
from convnet.ops.conv import direct, reference
from convnet.ops.padding import pad
from convnet.ops.windows import im2col

torch = pytest.importorskip(
    "torch", reason="PyTorch (CPU build) is the test-only oracle for convolution; not installed")
import torch.nn.functional as TF  # noqa: E402

TORCH_MODE = {"reflect": "reflect", "replicate": "replicate", "circular": "circular"}

CASES = []
for nd, stride, dilation, padding, mode, bias in itertools.product(
        (1, 2), (1, 2, 3), (1, 2), (0, 1, "same", "pairs"),
        ("zeros", "reflect", "symmetric"), ("none", "tied", "untied")):
    if mode != "zeros" and padding == 0:
        continue
    CASES.append((nd, stride, dilation, padding, mode, bias))


def make(nd, stride, dilation, padding, mode, bias, seed=0, kernel=3, channels=(3, 4)):
    rng = np.random.default_rng(seed)
    spatial = (9, 8)[:nd] if nd == 2 else (11,)
    cin, cout = channels
    x = rng.standard_normal((2, cin) + spatial)
    w = rng.standard_normal((cout, cin) + (kernel,) * nd)
    if padding == "pairs":
        padding = ((2, 1),) * nd
    spec = conv_ops.conv_spec(x.shape, x.dtype, w.shape, None, stride, padding, dilation, 1, mode)
    b = {"none": None, "tied": rng.standard_normal(cout),
         "untied": rng.standard_normal((cout,) + spec.out_sizes)}[bias]
    spec = conv_ops.conv_spec(x.shape, x.dtype, w.shape, None if b is None else b.shape, stride,
                              padding, dilation, 1, mode)
    g = rng.standard_normal(spec.output_shape)
    return x, w, b, spec, g


def run(x, w, b, spec, g, channels_last):
    backend = {True: conv_channels_last, False: reference}.get(channels_last, channels_last)
    assert backend.supports(spec, x, w)
    y, saved = backend.forward(x, w, b, spec)
    dx, dw, db = backend.backward(g, saved, spec)
    return y, dx, dw, db


def torch_conv(x, w, b, spec, g):
    """PyTorch's outputs and gradients (explicit F.pad, then an unpadded convolution)."""
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    bt = None if b is None else torch.tensor(b, requires_grad=True)
    flat = [v for before_after in reversed(spec.padding) for v in before_after]
    padded = TF.pad(xt, flat, mode="constant" if spec.padding_mode == "zeros"
                    else TORCH_MODE[spec.padding_mode])
    conv = TF.conv1d if x.ndim == 3 else TF.conv2d
    y = conv(padded, wt, None, spec.stride, 0, spec.dilation)
    if bt is not None:
        y = y + (bt.reshape((1, -1) + (1,) * (x.ndim - 2)) if bt.ndim == 1 else bt)
    y.backward(torch.tensor(g))
    return [y.detach().numpy(), xt.grad.numpy(), wt.grad.numpy(),
            None if bt is None else bt.grad.numpy()]


def assert_all_close(actual, expected, what):
    for name, a, e in zip(("y", "dx", "dw", "db"), actual, expected):
        if e is None:
            assert a is None, f"{what}: {name} should be None"
            continue
        scale = max(1.0, float(np.max(np.abs(e))))
        np.testing.assert_allclose(a, e, rtol=1e-10, atol=1e-10 * scale, err_msg=f"{what} {name}")


@pytest.mark.parametrize("channels_last", [True, False], ids=["channels_last", "numpy_path"])
@pytest.mark.parametrize("nd,stride,dilation,padding,mode,bias", CASES,
                         ids=["-".join(map(str, c)) for c in CASES])
def test_both_paths_against_torch_or_each_other(nd, stride, dilation, padding, mode, bias,
                                                channels_last):
    x, w, b, spec, g = make(nd, stride, dilation, padding, mode, bias)
    ours = run(x, w, b, spec, g, channels_last)
    assert ours[0].shape == spec.output_shape and ours[1].shape == x.shape
    if mode in TORCH_MODE or mode == "zeros":
        expected = torch_conv(x, w, b, spec, g)
    else:  # 'symmetric': no torch mode; the other path, itself checked against torch
        expected = run(x, w, b, spec, g, not channels_last)
    assert_all_close(ours, expected, f"{spec}")


@pytest.mark.parametrize("nd,stride,dilation,padding,mode,bias",
                         [case for case in CASES if case[1] == 1],
                         ids=["-".join(map(str, c)) for c in CASES if c[1] == 1])
def test_direct_backend_against_torch(nd, stride, dilation, padding, mode, bias):
    """The direct backend (first layers: few channels, stride 1) over the same grid; the
    symmetric mode against the channels-last path."""
    x, w, b, spec, g = make(nd, stride, dilation, padding, mode, bias)
    ours = run(x, w, b, spec, g, direct)
    assert ours[0].flags.c_contiguous                       # channels-first, as the data
    if mode in TORCH_MODE or mode == "zeros":
        expected = torch_conv(x, w, b, spec, g)
    else:
        expected = run(x, w, b, spec, g, True)
    assert_all_close(ours, expected, f"{spec}")


def test_dispatch_sends_first_layers_to_the_direct_backend():
    narrow = make(2, 1, 1, 1, "zeros", "tied")
    wide = make(2, 1, 1, 1, "zeros", "tied", channels=(3, direct.MAX_OUT_CHANNELS + 1))
    strided = make(2, 2, 1, 1, "zeros", "tied")
    chosen = [conv_ops.forward(*case[:4])[1][0] for case in (narrow, wide, strided)]
    assert chosen == [direct, conv_channels_last, conv_channels_last]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_channels_last_output_feeds_the_next_convolution_without_a_copy(dtype):
    x, w, b, spec, g = make(2, 1, 1, 1, "zeros", "tied")
    x, w, b = x.astype(dtype), w.astype(dtype), b.astype(dtype)
    y, _ = conv_channels_last.forward(x, w, b, spec)
    assert y.dtype == dtype
    assert np.moveaxis(y, 1, -1).flags.c_contiguous        # (N, H, W, C) in memory
    image = conv_channels_last.padded_channels_last(y, conv_ops.conv_spec(
        y.shape, y.dtype, (2, 4, 1, 1)))
    assert np.shares_memory(image, y)
    # a channels-last input gives the same result as its contiguous copy
    w2 = np.random.default_rng(1).standard_normal((5, 4, 3, 3)).astype(dtype)
    spec2 = conv_ops.conv_spec(y.shape, y.dtype, w2.shape, padding="same")
    from_view = conv_ops.forward(y, w2, None, spec2)[0]
    from_copy = conv_ops.forward(np.ascontiguousarray(y), w2, None, spec2)[0]
    np.testing.assert_array_equal(from_view, from_copy)


def test_dtype_mismatch_and_groups_take_the_numpy_path():
    x, w, b, spec, g = make(2, 1, 1, 1, "zeros", "none")
    assert conv_ops.forward(x.astype(np.float32), w, None, spec)[1][0] is reference
    x = np.zeros((1, 4, 5, 5))
    spec = conv_ops.conv_spec(x.shape, x.dtype, (4, 2, 3, 3), groups=2)
    assert conv_ops.forward(x, np.zeros((4, 2, 3, 3)), None, spec)[1][0] is reference


@pytest.mark.parametrize("stride,dilation", [(1, 1), (2, 1), (1, 2), (3, 2)])
def test_compiled_im2col_is_the_notes_im2col_reordered_and_col2im_its_adjoint(stride, dilation):
    rng = np.random.default_rng(stride * 10 + dilation)
    x = rng.standard_normal((2, 3, 10, 9))
    spec = conv_ops.conv_spec(x.shape, x.dtype, (1, 3, 3, 2), stride=stride, padding=1,
                              dilation=dilation)
    image = conv_channels_last.padded_channels_last(x, spec)
    geometry = conv_channels_last._geometry(spec, 3)
    kh, runs, run_length, *_, out_h, out_w = geometry
    cols = np.empty((2 * out_h * out_w, kh * runs * run_length))
    conv_kernels.im2col(image.reshape(2, image.shape[1], -1), *geometry, cols)
    notes = im2col(pad(x, spec.padding), (3, 2), spec.stride, spec.dilation, spec.out_sizes)
    # notes: rows (c, i, j), columns (n, y, x); here: rows (n, y, x), columns (i, j, c)
    reordered = notes.reshape(3, 3, 2, -1).transpose(3, 1, 2, 0).reshape(cols.shape)
    np.testing.assert_array_equal(cols, reordered)
    # adjoint: <im2col(a), c> == <a, col2im(c)>
    c = rng.standard_normal(cols.shape)
    back = np.empty_like(image)
    conv_kernels.col2im(c, *geometry, back.reshape(2, image.shape[1], -1))
    np.testing.assert_allclose(np.vdot(cols, c), np.vdot(image, back), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(2, 16, 32, 32), (2, 3, 16, 16), (3, 9, 8, 64), (2, 12, 1024)])
def test_channels_last_copy_including_the_4k_plane_kernel(shape, dtype):
    """Planes of 4 KiB multiples take the tiled compiled transpose; others NumPy's copy."""
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    expected = np.moveaxis(x, 1, -1)
    got = conv_channels_last.channels_last(x)
    assert got.flags.c_contiguous
    np.testing.assert_array_equal(got, expected)
    out = np.zeros(expected.shape[:1] + tuple(s + 2 for s in expected.shape[1:-1])
                   + expected.shape[-1:], dtype)
    interior = (slice(None),) + (slice(1, -1),) * (x.ndim - 2)
    conv_channels_last.channels_last(x, out=out[interior])
    np.testing.assert_array_equal(out[interior], expected)
    assert not out[:, 0].any() and not out[:, -1].any()


@pytest.mark.parametrize("shape", [(100352, 6), (12800, 16), (7, 3), (97, 64), (1, 5)])
def test_column_sums_of_the_bias_gradient(shape):
    rows = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    exact = rows.astype(np.float64).sum(axis=0)
    got = conv_channels_last.column_sums(rows)
    assert got.dtype == np.float32 and got.shape == shape[1:]
    # no worse than NumPy's own float32 sum (which adds one row at a time)
    own_error = np.abs(rows.sum(axis=0) - exact).max()
    assert np.abs(got - exact).max() <= max(own_error, 1e-5 * np.sqrt(shape[0]))


@pytest.mark.parametrize("shape", [(100352, 6), (7, 3), (96, 64)])
def test_add_to_rows_is_a_broadcast_add(shape):
    rng = np.random.default_rng(1)
    rows, vector = rng.standard_normal(shape), rng.standard_normal(shape[1:])
    expected = rows + vector
    conv_channels_last.add_to_rows(rows, vector)
    np.testing.assert_array_equal(rows, expected)


@pytest.mark.parametrize("channels,kernel,stride,dilation", [(1, 5, 1, 1), (3, 3, 2, 2)])
def test_specialised_im2col_for_narrow_large_column_matrices(channels, kernel, stride,
                                                             dilation):
    """First layers (C = 1 or 3) on big batches take an im2col compiled for their
    geometry; it must copy exactly what the generic kernel copies."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((48, channels, 40, 40)).astype(np.float32)
    spec = conv_ops.conv_spec(x.shape, x.dtype, (4, channels, kernel, kernel), stride=stride,
                              padding="same", dilation=dilation)
    image = conv_channels_last.padded_channels_last(x, spec)
    geometry = conv_channels_last._geometry(spec, channels)
    kh, runs, run_length, *_, out_h, out_w = geometry
    cols = np.empty((48 * out_h * out_w, kh * runs * run_length), np.float32)
    special = conv_kernels.im2col_for(kh, runs, run_length, conv_kernels.SMALL_MIN_VALUES)
    assert special is not conv_kernels.im2col
    flat = image.reshape(48, image.shape[1], -1)
    special(flat, *geometry, cols)
    expected = np.empty_like(cols)
    conv_kernels.im2col(flat, *geometry, expected)
    np.testing.assert_array_equal(cols, expected)


@pytest.mark.parametrize("nd,stride,dilation,padding", [(2, 1, 1, "same"), (2, 2, 2, 1),
                                                        (1, 3, 1, "pairs")])
@pytest.mark.parametrize("need_input_grad", [True, False])
def test_chunked_column_matrix_equals_torch(monkeypatch, nd, stride, dilation, padding,
                                            need_input_grad):
    """Column matrices are built and used a chunk of images at a time; a tiny CHUNK_BYTES
    forces one image per chunk (batch 5: five chunks)."""
    monkeypatch.setattr(conv_channels_last, "CHUNK_BYTES", 1)
    rng = np.random.default_rng(7)
    spatial = (9, 8) if nd == 2 else (11,)
    x = rng.standard_normal((5, 3) + spatial)
    w = rng.standard_normal((4, 3) + (3,) * nd)
    b = rng.standard_normal(4)
    pad_arg = ((2, 1),) * nd if padding == "pairs" else padding
    spec = conv_ops.conv_spec(x.shape, x.dtype, w.shape, b.shape, stride, pad_arg, dilation)
    g = rng.standard_normal(spec.output_shape)
    y, saved = conv_ops.forward(x, w, b, spec)
    dx, dw, db = conv_ops.backward(g, saved, spec, need_input_grad=need_input_grad)
    expected = torch_conv(x, w, b, spec, g)
    if not need_input_grad:
        assert dx is None
        dx, expected[1] = None, None
    assert_all_close((y, dx, dw, db), expected, f"chunked {spec}")


@pytest.mark.parametrize("nd", [1, 2])
def test_empty_batch_like_torch(nd):
    """A batch of 0 gives an empty output and zero weight and bias gradients, as torch."""
    rng = np.random.default_rng(2)
    x = np.zeros((0, 3) + (7,) * nd)
    w = rng.standard_normal((4, 3) + (3,) * nd)
    b = rng.standard_normal(4)
    spec = conv_ops.conv_spec(x.shape, x.dtype, w.shape, b.shape, 1, 1)
    g = np.zeros(spec.output_shape)
    y, saved = conv_ops.forward(x, w, b, spec)
    ours = (y,) + conv_ops.backward(g, saved, spec)
    for name, a, e in zip(("y", "dx", "dw", "db"), ours, torch_conv(x, w, b, spec, g)):
        assert a.shape == e.shape, name
        np.testing.assert_array_equal(a, e, err_msg=name)


def test_no_input_channels_give_the_bias():
    x = np.zeros((2, 0, 5, 5))
    b = np.array([1.0, -2.0])
    spec = conv_ops.conv_spec(x.shape, x.dtype, (2, 0, 3, 3), b.shape, padding=1)
    y, saved = conv_ops.forward(x, np.zeros((2, 0, 3, 3)), b, spec)
    np.testing.assert_array_equal(y, np.broadcast_to(b[None, :, None, None], (2, 2, 5, 5)))
    dx, dw, db = conv_ops.backward(np.ones(y.shape), saved, spec)
    assert dx.shape == x.shape and dw.shape == (2, 0, 3, 3)
    np.testing.assert_array_equal(db, [50.0, 50.0])


@pytest.mark.parametrize("padding", [0, 1])
@pytest.mark.parametrize("bias", ["none", "tied", "untied"])
def test_one_by_one_convolution_reads_the_image_as_its_column_matrix(padding, bias):
    """A 1x1 kernel at stride 1 takes no im2col copy: every gradient as PyTorch's."""
    x, w, b, spec, g = make(2, 1, 1, padding, "zeros", bias, kernel=1, channels=(6, 20))
    assert conv_channels_last._columns_are_pixels(spec)
    assert_all_close(run(x, w, b, spec, g, True), torch_conv(x, w, b, spec, g), f"{spec}")
