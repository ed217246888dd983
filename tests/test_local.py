"""Locally connected (unshared) and tiled convolution: seed 002 eqs. 9.9 and 9.10.

torch has neither op, so the oracles are: slow loop references written from the two
equations below (explicit loops over batch, channel and output position), the special
cases that reduce to ``conv2d`` (all positions' filters equal; one tile) or to each
other (tiles as large as the output), float64 finite differences, and torch's
unfold-and-einsum formulation of a locally connected layer.
"""

import math

import numpy as np
import pytest

import convnet
import convnet.functional as F
import convnet.nn as nn
from convnet.summary import Field, summary
from gradcheck import check_gradients

F64 = np.float64
NUMPY_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "edge",
               "circular": "wrap", "symmetric": "symmetric"}


# ---------------------------------------------------------------- loop references
def reference_padding(padding, in_sizes, kernel, stride, dilation):
    """(before, after) per dim, written from the notes' rules (independent of convnet)."""
    ndim = len(in_sizes)
    if padding == "valid":
        return [(0, 0)] * ndim
    if padding == "full":
        return [(d * (k - 1),) * 2 for k, d in zip(kernel, dilation)]
    if padding == "same":
        pairs = []
        for n, k, s, d in zip(in_sizes, kernel, stride, dilation):
            span = d * (k - 1) + 1
            out = (n - 1) // s + 1
            before = (span - 1) // 2
            pairs.append((before, max(0, (out - 1) * s + span - n - before)))
        return pairs
    if isinstance(padding, int):
        return [(padding, padding)] * ndim
    if isinstance(padding[0], int):
        return [(p, p) for p in padding]
    return [tuple(p) for p in padding]


def _pad_and_size(x, kernel, stride, padding, dilation, mode):
    pairs = reference_padding(padding, x.shape[2:], kernel, stride, dilation)
    padded = np.pad(x, [(0, 0), (0, 0)] + pairs, mode=NUMPY_MODES[mode])
    out = tuple((n - d * (k - 1) - 1) // s + 1
                for n, k, s, d in zip(padded.shape[2:], kernel, stride, dilation))
    return padded, out


def loop_reference_2d(x, weight_at, kernel, out_channels, stride=(1, 1), padding=0,
                      dilation=(1, 1), mode="zeros"):
    """Eq. 9.9 / 9.10: Z[n, o, y, x] = sum_{c,i,j} V[n, c, y*s+i*d, x*s+j*d] K(y, x)[o, c, i, j].

    ``weight_at(y, x)`` returns the (C_out, C_in, k_h, k_w) kernel used at output (y, x).
    """
    x = np.asarray(x, F64)
    padded, (out_h, out_w) = _pad_and_size(x, kernel, stride, padding, dilation, mode)
    n_batch, channels = x.shape[:2]
    y = np.zeros((n_batch, out_channels, out_h, out_w))
    for n in range(n_batch):
        for o in range(out_channels):
            for row in range(out_h):
                for col in range(out_w):
                    kernel_here = weight_at(row, col)[o]
                    total = 0.0
                    for c in range(channels):
                        for i in range(kernel[0]):
                            for j in range(kernel[1]):
                                total += (padded[n, c, row * stride[0] + i * dilation[0],
                                                 col * stride[1] + j * dilation[1]]
                                          * kernel_here[c, i, j])
                    y[n, o, row, col] = total
    return y


def local_reference_2d(x, w, b=None, stride=(1, 1), padding=0, dilation=(1, 1), mode="zeros"):
    """Eq. 9.9, weight (out_h, out_w, C_out, C_in, k_h, k_w), bias per output unit."""
    y = loop_reference_2d(x, lambda r, c: w[r, c], w.shape[4:], w.shape[2], stride, padding,
                          dilation, mode)
    return y if b is None else y + b


def tiled_reference_2d(x, w, b=None, stride=(1, 1), padding=0, dilation=(1, 1), mode="zeros"):
    """Eq. 9.10, weight (t_h, t_w, C_out, C_in, k_h, k_w): output (y, x) uses (y % t_h, x % t_w)."""
    t_h, t_w = w.shape[:2]
    y = loop_reference_2d(x, lambda r, c: w[r % t_h, c % t_w], w.shape[4:], w.shape[2], stride,
                          padding, dilation, mode)
    if b is None:
        return y
    return y + (b[None, :, None, None] if b.ndim == 1 else b)


def local_reference_1d(x, w, b=None, stride=1, padding=0, dilation=1, mode="zeros"):
    """Eq. 9.9 in 1-D, weight (out_l, C_out, C_in, k)."""
    x = np.asarray(x, F64)
    padded, (out_l,) = _pad_and_size(x, w.shape[3:], (stride,), padding, (dilation,), mode)
    y = np.zeros((x.shape[0], w.shape[1], out_l))
    for n in range(x.shape[0]):
        for o in range(w.shape[1]):
            for p in range(out_l):
                for c in range(x.shape[1]):
                    for i in range(w.shape[3]):
                        y[n, o, p] += padded[n, c, p * stride + i * dilation] * w[p, o, c, i]
    return y if b is None else y + b


def out_size(n, k, s, d, pairs):
    return (n + pairs[0] + pairs[1] - d * (k - 1) - 1) // s + 1


# ---------------------------------------------------------------- grid vs the loops
# (padding, stride, dilation, padding_mode, kernel)
GRID = [
    (0, 1, 1, "zeros", (3, 3)),
    (1, 1, 1, "zeros", (3, 3)),
    ((1, 2), 2, 1, "zeros", (3, 2)),
    (((1, 0), (0, 2)), (1, 2), 1, "zeros", (2, 3)),
    ("valid", 2, 1, "zeros", (3, 3)),
    ("same", 1, 1, "zeros", (3, 3)),
    ("same", 2, 1, "zeros", (3, 3)),
    ("same", 2, 1, "zeros", (2, 2)),
    ("same", 2, 2, "zeros", (3, 3)),
    ("same", (2, 3), 1, "zeros", (4, 3)),
    ("full", 1, 1, "zeros", (2, 3)),
    ("same", 2, 1, "reflect", (3, 3)),
    ("same", 2, 1, "replicate", (3, 3)),
    ("same", 2, 1, "circular", (3, 3)),
    ("same", 2, 1, "symmetric", (3, 3)),
    (2, 1, (1, 2), "reflect", (2, 2)),
]


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


@pytest.mark.parametrize("padding, stride, dilation, mode, kernel", GRID)
def test_locally_connected2d_matches_eq_9_9_loops(padding, stride, dilation, mode, kernel):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 2, 7, 6))
    stride, dilation = _pair(stride), _pair(dilation)
    pairs = reference_padding(padding, x.shape[2:], kernel, stride, dilation)
    out = tuple(out_size(n, k, s, d, p) for n, k, s, d, p
                in zip(x.shape[2:], kernel, stride, dilation, pairs))
    w = rng.standard_normal(out + (3, 2) + kernel)
    b = rng.standard_normal((3,) + out)
    y = F.locally_connected2d(x, w, b, stride, padding, dilation, padding_mode=mode)
    expected = local_reference_2d(x, w, b, stride, padding, dilation, mode)
    assert y.shape == expected.shape
    np.testing.assert_allclose(y.data, expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("tiles", [(2, 2), (2, 3), (3, 1)])
@pytest.mark.parametrize("padding, stride, dilation, mode, kernel", GRID[::2] + [GRID[-1]])
def test_tiled_conv2d_matches_eq_9_10_loops(padding, stride, dilation, mode, kernel, tiles):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 2, 7, 6))
    stride, dilation = _pair(stride), _pair(dilation)
    w = rng.standard_normal(tiles + (3, 2) + kernel)
    b = rng.standard_normal(3)
    y = F.tiled_conv2d(x, w, b, stride, padding, dilation, padding_mode=mode)
    expected = tiled_reference_2d(x, w, b, stride, padding, dilation, mode)
    np.testing.assert_allclose(y.data, expected, rtol=1e-10, atol=1e-10)


def test_tiled_conv2d_untied_bias_and_more_tiles_than_outputs():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 2, 5, 5))
    w = rng.standard_normal((4, 5, 2, 2, 3, 3))          # output is 3x3: some tiles unused
    b = rng.standard_normal((2, 3, 3))
    y = F.tiled_conv2d(x, w, b)
    np.testing.assert_allclose(y.data, tiled_reference_2d(x, w, b), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("padding, stride, dilation, mode",
                         [(0, 1, 1, "zeros"), ("same", 2, 1, "zeros"), ("same", 2, 2, "reflect"),
                          (((2, 1),), 3, 1, "circular"), ("full", 1, 1, "symmetric")])
def test_locally_connected1d_matches_loops(padding, stride, dilation, mode):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 9))
    pairs = reference_padding(padding, (9,), (3,), (stride,), (dilation,))[0]
    out = out_size(9, 3, stride, dilation, pairs)
    w = rng.standard_normal((out, 2, 3, 3))
    b = rng.standard_normal((2, out))
    y = F.locally_connected1d(x, w, b, stride, padding, dilation, padding_mode=mode)
    np.testing.assert_allclose(y.data, local_reference_1d(x, w, b, stride, padding, dilation,
                                                          mode), rtol=1e-10, atol=1e-10)


# ---------------------------------------------------------------- reductions to each other
@pytest.mark.parametrize("padding, stride, mode", [(1, 1, "zeros"), ("same", 2, "reflect"),
                                                   ("valid", (2, 1), "zeros")])
def test_locally_connected_with_equal_filters_is_conv2d(padding, stride, mode):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 4, 9, 8))
    kernel = rng.standard_normal((5, 4, 3, 3))
    conv = F.conv2d(x, kernel, None, stride, padding, padding_mode=mode)
    weight = np.broadcast_to(kernel, conv.shape[2:] + kernel.shape).copy()
    local = F.locally_connected2d(x, weight, None, stride, padding, padding_mode=mode)
    np.testing.assert_allclose(local.data, conv.data, rtol=1e-12, atol=1e-12)


def test_locally_connected1d_with_equal_filters_is_conv1d():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 3, 11))
    kernel = rng.standard_normal((4, 3, 3))
    conv = F.conv1d(x, kernel, stride=2, padding="same")
    weight = np.broadcast_to(kernel, (conv.shape[2],) + kernel.shape).copy()
    local = F.locally_connected1d(x, weight, stride=2, padding="same")
    np.testing.assert_allclose(local.data, conv.data, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("padding, stride, dilation", [(0, 1, 1), ("same", 2, 1), (2, 1, 2)])
def test_tiled_with_one_tile_is_conv2d(padding, stride, dilation):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 3, 8, 9))
    kernel = rng.standard_normal((4, 3, 3, 3))
    b = rng.standard_normal(4)
    conv = F.conv2d(x, kernel, b, stride, padding, dilation)
    tiled = F.tiled_conv2d(x, kernel[None, None], b, stride, padding, dilation)
    np.testing.assert_allclose(tiled.data, conv.data, rtol=1e-12, atol=1e-12)


def test_tiled_with_tiles_equal_to_output_size_is_locally_connected():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 3, 9, 7))
    w = rng.standard_normal((5, 4, 4, 3, 3, 3))     # 'same' at stride 2: 9x7 -> 5x4
    b = rng.standard_normal((4, 5, 4))
    args = dict(stride=2, padding="same", padding_mode="replicate")
    tiled = F.tiled_conv2d(x, w, b, **args)
    local = F.locally_connected2d(x, w, b, **args)
    np.testing.assert_allclose(tiled.data, local.data, rtol=1e-12, atol=1e-12)
    xt = convnet.tensor(x, requires_grad=True)
    wt = convnet.tensor(w, requires_grad=True)
    xl = convnet.tensor(x, requires_grad=True)
    wl = convnet.tensor(w, requires_grad=True)
    g = rng.standard_normal(tiled.shape)
    F.tiled_conv2d(xt, wt, b, **args).backward(g)
    F.locally_connected2d(xl, wl, b, **args).backward(g)
    np.testing.assert_allclose(xt.grad, xl.grad, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(wt.grad, wl.grad, rtol=1e-12, atol=1e-12)


def test_locally_connected_matches_torch_unfold_einsum():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(9)
    x = rng.standard_normal((2, 3, 8, 8))
    w = rng.standard_normal((4, 4, 5, 3, 3, 3))             # stride 2, padding 1: 8 -> 4
    tx = torch.from_numpy(x)
    cols = torch.nn.functional.unfold(tx, 3, padding=1, stride=2)      # (N, CKK, L)
    expected = torch.einsum("ncl,lkc->nkl", cols, torch.from_numpy(w).reshape(16, 5, 27))
    y = F.locally_connected2d(x, w, stride=2, padding=1)
    np.testing.assert_allclose(y.data, expected.reshape(2, 5, 4, 4).numpy(), rtol=1e-12,
                               atol=1e-12)


# ---------------------------------------------------------------- finite differences (float64)
@pytest.mark.parametrize("padding, stride, mode", [(1, 1, "zeros"), ("same", 2, "reflect"),
                                                   ("same", 2, "circular")])
def test_locally_connected2d_gradients(padding, stride, mode):
    rng = np.random.default_rng(10)
    x = rng.standard_normal((2, 2, 5, 4))
    out = F.conv2d(x, np.zeros((1, 2, 3, 2)), stride=stride, padding=padding).shape[2:]
    w = rng.standard_normal(out + (2, 2, 3, 2))
    b = rng.standard_normal((2,) + out)
    check_gradients(lambda x, w, b: F.locally_connected2d(x, w, b, stride, padding,
                                                          padding_mode=mode), x, w, b)


def test_locally_connected2d_tied_bias_gradients():
    rng = np.random.default_rng(11)
    x = rng.standard_normal((2, 2, 4, 4))
    w = rng.standard_normal((2, 2, 3, 2, 3, 3))
    b = rng.standard_normal(3)
    check_gradients(lambda x, w, b: F.locally_connected2d(x, w, b), x, w, b)


def test_locally_connected1d_gradients():
    rng = np.random.default_rng(12)
    x = rng.standard_normal((2, 3, 7))
    w = rng.standard_normal((4, 2, 3, 3))                   # 'same' stride 2: 7 -> 4
    b = rng.standard_normal((2, 4))
    check_gradients(lambda x, w, b: F.locally_connected1d(x, w, b, 2, "same", 1,
                                                          padding_mode="symmetric"), x, w, b)


@pytest.mark.parametrize("tiles, bias_shape, padding, stride, mode",
                         [((2, 2), (2,), 1, 1, "zeros"),
                          ((2, 3), (2, 3, 3), "same", 2, "reflect"),
                          ((3, 1), (2,), (1, 0), (1, 2), "replicate")])
def test_tiled_conv2d_gradients(tiles, bias_shape, padding, stride, mode):
    rng = np.random.default_rng(13)
    x = rng.standard_normal((2, 2, 5, 5))
    w = rng.standard_normal(tiles + (2, 2, 3, 3))
    b = rng.standard_normal(bias_shape)
    check_gradients(lambda x, w, b: F.tiled_conv2d(x, w, b, stride, padding,
                                                   padding_mode=mode), x, w, b)


def test_input_gradient_skipped_for_plain_arrays_weight_still_trains():
    rng = np.random.default_rng(14)
    w = convnet.tensor(rng.standard_normal((3, 3, 2, 1, 2, 2)), requires_grad=True)
    F.locally_connected2d(rng.standard_normal((1, 1, 4, 4)), w).sum().backward()
    assert w.grad.shape == w.shape


def test_float32_in_float32_out():
    x = np.ones((1, 2, 5, 5), np.float32)
    assert F.locally_connected2d(x, np.ones((3, 3, 4, 2, 3, 3), np.float32)).dtype == np.float32
    assert F.tiled_conv2d(x, np.ones((2, 2, 4, 2, 3, 3), np.float32)).dtype == np.float32


# ---------------------------------------------------------------- errors, one test each
def test_error_local_weight_positions_do_not_match_output():
    with pytest.raises(ValueError, match=r"weight: .*\(3, 3\).*expected weight shape \(2, 2,"):
        F.locally_connected2d(np.ones((1, 2, 5, 5)), np.ones((3, 3, 4, 2, 3, 3)), stride=2)


def test_error_local_weight_wrong_number_of_dims():
    with pytest.raises(ValueError, match=r"weight: expected 6 dims"):
        F.locally_connected2d(np.ones((1, 2, 5, 5)), np.ones((4, 2, 3, 3)))


def test_error_local_in_channels_mismatch():
    with pytest.raises(ValueError, match=r"in_channels: input has 2 channels"):
        F.locally_connected2d(np.ones((1, 2, 5, 5)), np.ones((3, 3, 4, 3, 3, 3)))


def test_error_local_bias_shape():
    with pytest.raises(ValueError, match=r"bias: expected shape \(4,\) .* or \(4, 3, 3\) .*got \(4, 5, 5\)"):
        F.locally_connected2d(np.ones((1, 2, 5, 5)), np.ones((3, 3, 4, 2, 3, 3)),
                              np.ones((4, 5, 5)))


def test_error_local_input_dims():
    with pytest.raises(ValueError, match=r"input: expected 3 dims"):
        F.locally_connected1d(np.ones((1, 2, 5, 5)), np.ones((3, 4, 2, 3)))


def test_error_local_integer_input():
    with pytest.raises(TypeError, match=r"input: expected a floating-point"):
        F.locally_connected2d(np.ones((1, 2, 5, 5), int), np.ones((3, 3, 4, 2, 3, 3)))


def test_error_local_stride_zero():
    with pytest.raises(ValueError, match=r"stride"):
        F.locally_connected2d(np.ones((1, 2, 5, 5)), np.ones((3, 3, 4, 2, 3, 3)), stride=0)


def test_error_local_unknown_padding_mode():
    with pytest.raises(ValueError, match=r"padding_mode"):
        F.locally_connected2d(np.ones((1, 2, 5, 5)), np.ones((5, 5, 4, 2, 3, 3)), padding=1,
                              padding_mode="mirror")


def test_error_local_kernel_larger_than_input():
    with pytest.raises(ValueError, match=r"kernel_size"):
        F.locally_connected2d(np.ones((1, 2, 2, 2)), np.ones((1, 1, 4, 2, 3, 3)))


def test_error_tiled_zero_tiles():
    with pytest.raises(ValueError, match=r"weight: .*tiles.*>= 1"):
        F.tiled_conv2d(np.ones((1, 2, 5, 5)), np.ones((0, 2, 4, 2, 3, 3)))


def test_error_tiled_bias_shape():
    with pytest.raises(ValueError, match=r"bias: expected shape \(4,\) .* or \(4, 3, 3\) .*got \(2,\)"):
        F.tiled_conv2d(np.ones((1, 2, 5, 5)), np.ones((2, 2, 4, 2, 3, 3)), np.ones(2))


def test_error_tiled_reflect_padding_too_large():
    with pytest.raises(ValueError, match=r"padding: 'reflect'"):
        F.tiled_conv2d(np.ones((1, 2, 3, 3)), np.ones((2, 2, 4, 2, 3, 3)), padding=3,
                       padding_mode="reflect")


def test_error_layer_tiles_below_one():
    with pytest.raises(ValueError, match=r"tiles: every value must be >= 1"):
        nn.TiledConv2d(3, 4, 3, tiles=0)


def test_error_layer_input_size_missing():
    with pytest.raises(ValueError, match=r"input_size"):
        nn.LocallyConnected2d(3, 4, 3, input_size=None)


def test_error_layer_input_of_other_size():
    layer = nn.LocallyConnected2d(3, 4, 3, input_size=(8, 8))
    with pytest.raises(ValueError, match=r"input: LocallyConnected2d was built for input_size "
                                         r"\(8, 8\), got .* \(9, 8\)"):
        layer(np.zeros((1, 3, 9, 8), np.float32))


def test_error_layer_bias_value():
    with pytest.raises(ValueError, match=r"bias: expected True"):
        nn.TiledConv2d(3, 4, 3, bias="untied")


def test_error_layer_bad_padding_at_construction():
    with pytest.raises(ValueError, match=r"padding: unknown padding string"):
        nn.LocallyConnected2d(3, 4, 3, input_size=8, padding="half")


# ---------------------------------------------------------------- layers
def test_locally_connected2d_layer_parameters_and_state_dict():
    layer = nn.LocallyConnected2d(3, 16, 3, input_size=(10, 12), stride=2, padding="same")
    assert list(layer.state_dict()) == ["weight", "bias"]
    assert layer.weight.shape == (5, 6, 16, 3, 3, 3)
    assert layer.bias.shape == (16, 5, 6)
    assert sum(p.data.size for p in layer.parameters()) == 5 * 6 * 16 * 27 + 16 * 30
    assert layer.weight.dtype == np.float32
    clone = nn.LocallyConnected2d(3, 16, 3, input_size=(10, 12), stride=2, padding="same")
    clone.load_state_dict(layer.state_dict())
    x = np.random.default_rng(0).standard_normal((2, 3, 10, 12)).astype(np.float32)
    np.testing.assert_array_equal(clone(x).data, layer(x).data)


def test_tiled_conv2d_layer_parameters_and_state_dict():
    layer = nn.TiledConv2d(3, 8, (3, 2), tiles=(2, 3), bias=False, dtype=np.float64)
    assert list(layer.state_dict()) == ["weight"]
    assert layer.weight.shape == (2, 3, 8, 3, 3, 2) and layer.bias is None
    assert layer.weight.dtype == np.float64
    assert nn.TiledConv2d(3, 8, 3).state_dict()["bias"].shape == (8,)


@pytest.mark.parametrize("make", [
    lambda rng: nn.LocallyConnected2d(4, 8, 3, input_size=6, rng=rng),
    lambda rng: nn.LocallyConnected1d(4, 8, 3, input_size=6, rng=rng),
    lambda rng: nn.TiledConv2d(4, 8, 3, tiles=2, rng=rng),
])
def test_default_init_bound_and_seed(make):
    bound = 1 / math.sqrt(4 * 9) if "2d" in type(make(0)).__name__ else 1 / math.sqrt(4 * 3)
    layer = make(0)
    for p in (layer.weight, layer.bias):
        assert np.abs(p.data).max() <= bound
        assert np.abs(p.data).max() > 0.8 * bound      # drawn over the whole range
    assert np.abs(layer.weight.data.mean()) < 0.1 * bound
    np.testing.assert_array_equal(make(0).weight.data, layer.weight.data)
    np.testing.assert_array_equal(make(np.random.default_rng(0)).bias.data, layer.bias.data)
    assert not np.array_equal(make(1).weight.data, layer.weight.data)


def test_reprs_in_the_notes_notation():
    assert repr(nn.LocallyConnected2d(3, 16, 3, input_size=32)) == (
        "LocallyConnected2d([16 | 3x3 s 1] unshared, in_channels=3, input_size=(32, 32))")
    assert repr(nn.LocallyConnected2d(3, 16, 5, input_size=(32, 30), stride=2, padding="same",
                                      dilation=2, padding_mode="reflect", bias=False)) == (
        "LocallyConnected2d([16 | 5x5 s 2] unshared, in_channels=3, input_size=(32, 30), "
        "padding='same', dilation=(2, 2), padding_mode='reflect', bias=False)")
    assert repr(nn.LocallyConnected1d(2, 4, 3, input_size=10, bias="tied")) == (
        "LocallyConnected1d([4 | 3 s 1] unshared, in_channels=2, input_size=10, bias='tied')")
    assert repr(nn.TiledConv2d(3, 8, 3, tiles=2, stride=2, padding=1)) == (
        "TiledConv2d([8 | 3x3 s 2] tiled 2x2, in_channels=3, padding=1)")


def test_layers_train_through_backward():
    rng = np.random.default_rng(15)
    model = nn.Sequential(nn.LocallyConnected2d(2, 3, 3, input_size=6, padding="same", rng=0),
                          nn.ReLU(), nn.TiledConv2d(3, 2, 3, tiles=2, stride=2, rng=1))
    x = rng.standard_normal((4, 2, 6, 6)).astype(np.float32)
    out = model(x)
    assert out.shape == (4, 2, 2, 2)
    out.sum().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.shape == p.shape, name


def test_summary_rows_params_mult_adds_and_receptive_field():
    model = nn.Sequential(nn.LocallyConnected2d(3, 4, 3, input_size=8, stride=2, padding="same"),
                          nn.ReLU(), nn.TiledConv2d(4, 5, 3, tiles=2), nn.Flatten(),
                          nn.Linear(20, 2))
    info = summary(model, (3, 8, 8))
    local, _, tiled = info.rows[:3]
    assert local.notation == "[4 | 3x3 s 2] unshared"
    assert tiled.notation == "[5 | 3x3 s 1] tiled 2x2"
    assert local.output_shape == (1, 4, 4, 4) and tiled.output_shape == (1, 5, 2, 2)
    assert local.params == 4 * 4 * 4 * 3 * 9 + 4 * 16
    assert tiled.params == 2 * 2 * 5 * 4 * 9 + 5
    assert local.mult_adds == 4 * 16 * 3 * 9 and tiled.mult_adds == 5 * 4 * 4 * 9
    # as Conv2d layers of the same geometry
    assert local.receptive_field == (Field(3, 2, 0.0),) * 2
    assert tiled.receptive_field == (Field(7, 2, 2.0),) * 2


def test_layers_rebuild_from_their_description():
    from convnet.io.architecture import build, describe
    model = nn.Sequential(
        nn.LocallyConnected2d(3, 4, 3, input_size=(8, 6), stride=2, padding="same", bias="tied"),
        nn.TiledConv2d(4, 2, 2, tiles=(2, 1), dtype=np.float64))
    rebuilt = build(describe(model)[0])
    assert repr(rebuilt) == repr(model)
    assert ({k: v.shape for k, v in rebuilt.state_dict().items()}
            == {k: v.shape for k, v in model.state_dict().items()})
    assert rebuilt[1].weight.dtype == np.float64
