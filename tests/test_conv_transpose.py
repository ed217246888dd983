"""Transposed convolution: PyTorch oracle, adjoint identities, finite differences, layers.

Oracle grid (one pytest id per case): conv_transpose1d/2d/3d; float32 and float64;
stride 1..3 x dilation 1..2 with output_padding up to max(stride, dilation) - 1; int,
per-dim tuple, 'valid', 'full' (torch: padding = dilation * (k - 1)) and per-side pairs
(torch: padding 0, then the crop sliced off); groups incl. depthwise; even kernels;
bias None and tied; batch 1 and 2. PyTorch runs in float64 on the same values; the
output and the gradients of input, weight and bias are compared (float64 rtol 1e-10,
float32 rtol 1e-4, atol 1e-5, the absolute part scaled by max(1, max|expected|)).

The extensions torch lacks ('same' at any stride, pairs, 'full') are also checked as
the exact adjoint of the matching convolution: <conv(x), y> == <x, conv_transpose(y)>.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

torch = pytest.importorskip(
    "torch", reason="PyTorch (CPU build) is the test-only oracle for convolution; not installed")
import torch.nn.functional as TF  # noqa: E402
from gradcheck import check_gradients  # noqa: E402

import convnet  # noqa: E402
import convnet.functional as F  # noqa: E402
import convnet.nn as nn  # noqa: E402
from convnet.summary import Field, summary  # noqa: E402

TOL = {np.float64: dict(rtol=1e-10, atol=1e-10), np.float32: dict(rtol=1e-4, atol=1e-5)}
OURS = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}
CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
TORCH_F = {1: TF.conv_transpose1d, 2: TF.conv_transpose2d, 3: TF.conv_transpose3d}
TORCH_NN = {1: torch.nn.ConvTranspose1d, 2: torch.nn.ConvTranspose2d, 3: torch.nn.ConvTranspose3d}
LAYERS = {1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}
SPATIAL = {1: (7,), 2: (5, 4), 3: (3, 4, 2)}


def assert_close(actual, expected, dtype, what):
    tol = TOL[dtype]
    expected = np.asarray(expected, dtype=np.float64)
    scale = max(1.0, float(np.max(np.abs(expected))) if expected.size else 1.0)
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64), expected,
                               rtol=tol["rtol"], atol=tol["atol"] * scale, err_msg=what)


def per_dim(value, nd):
    return (value,) * nd if isinstance(value, int) else tuple(value)


# ---------------------------------------------------------------------------------------
# The declared grid
# ---------------------------------------------------------------------------------------

def case(nd, *, dtype=np.float64, n=1, cin=3, cout=4, kernel=3, stride=1, dilation=1,
         padding=0, output_padding=0, groups=1, bias="tied", spatial=None):
    return dict(nd=nd, dtype=dtype, n=n, cin=cin, cout=cout, kernel=per_dim(kernel, nd),
                stride=stride, dilation=dilation, padding=padding,
                output_padding=output_padding, groups=groups, bias=bias,
                spatial=tuple(spatial) if spatial is not None else SPATIAL[nd])


def case_id(c):
    dt = "f32" if c["dtype"] is np.float32 else "f64"
    text = lambda v: v if isinstance(v, (str, int)) else str(v).replace(" ", "")  # noqa: E731
    return (f"{c['nd']}d-{dt}-N{c['n']}-C{c['cin']}-O{c['cout']}-k{'x'.join(map(str, c['kernel']))}"
            f"-s{text(c['stride'])}-d{text(c['dilation'])}-p{text(c['padding'])}"
            f"-op{text(c['output_padding'])}-g{c['groups']}-b{c['bias']}"
            f"-in{'x'.join(map(str, c['spatial']))}")


CASES = []
# A. stride 1..3 x dilation 1..2 x dims x dtypes, the largest output_padding allowed
for nd, dtype, s, d in itertools.product((1, 2, 3), (np.float32, np.float64), (1, 2, 3), (1, 2)):
    CASES.append(case(nd, dtype=dtype, stride=s, dilation=d, padding=1,
                      output_padding=max(s, d) - 1, n=2 if s == 2 else 1))

# B. padding forms x even/odd kernels x dims (pairs crop more than torch's padding can)
TUPLE_PAD = {1: (2,), 2: (2, 0), 3: (1, 0, 1)}
PAIRS = {1: ((2, 0),), 2: ((0, 3), (1, 0)), 3: ((1, 2), (0, 1), (2, 0))}
for nd, pad, k in itertools.product((1, 2, 3), (0, "tuple", "valid", "full", "pairs"), (2, 3, 4)):
    padding = {"tuple": TUPLE_PAD[nd], "pairs": PAIRS[nd]}.get(pad, pad)
    s = 1 if pad == "full" else 2
    CASES.append(case(nd, dtype=np.float32 if k == 3 else np.float64, kernel=k, stride=s,
                      padding=padding, output_padding=1 if pad == "pairs" else 0,
                      bias=None if k == 4 else "tied",
                      spatial={1: (9,), 2: (6, 5), 3: (5, 6, 4)}[nd] if pad == "full" else None))

# C. groups, incl. depthwise (groups == in_channels)
GROUPS = [(4, 4, 1), (4, 6, 2), (6, 6, 3), (4, 4, 4), (3, 6, 3), (6, 3, 3)]
for nd, (cin, cout, g), bias in itertools.product((1, 2, 3), GROUPS, (None, "tied")):
    CASES.append(case(nd, cin=cin, cout=cout, groups=g, bias=bias, stride=2 if bias else 1,
                      padding=1, dilation=2 if cin == 6 else 1,
                      dtype=np.float32 if g in (2, 4) else np.float64))

# D. mixed per-dimension settings, the U-Net up-convolution, 1x1 kernels, tiny inputs
CASES += [
    case(2, kernel=(3, 2), stride=(1, 2), dilation=(2, 1), padding=(1, 0), output_padding=(1, 1)),
    case(2, kernel=(2, 3), stride=(3, 1), dilation=(1, 2), padding=((0, 1), (2, 1)),
         output_padding=(2, 0), n=2),
    case(3, kernel=(3, 1, 2), stride=(2, 1, 3), dilation=(1, 2, 1), padding=(1, 0, 1),
         output_padding=(1, 1, 0)),
    case(2, kernel=2, stride=2, cin=8, cout=4, spatial=(3, 4)),           # U-Net up-conv
    case(2, kernel=2, stride=2, cin=8, cout=4, spatial=(3, 4), dtype=np.float32),
    case(1, kernel=1, stride=3, output_padding=2, cin=5, cout=2, n=3),     # 1x1, strided
    case(2, kernel=3, padding=0, spatial=(1, 1), cin=1, cout=1),           # one pixel in
    case(1, kernel=5, padding=4, spatial=(5,)),                            # crop to size 1
    case(3, kernel=2, stride=2, padding=0, cin=2, cout=2, spatial=(1, 2, 1), bias=None),
]
CASES = list({case_id(c): c for c in CASES}.values())


def torch_padding(c):
    """(torch padding, crop pairs applied afterwards) for case ``c``."""
    nd, pad = c["nd"], c["padding"]
    if pad == "valid":
        return 0, None
    if pad == "full":
        return tuple(d * (k - 1) for k, d in zip(c["kernel"], per_dim(c["dilation"], nd))), None
    if isinstance(pad, tuple) and isinstance(pad[0], tuple):
        return 0, pad
    return pad, None


def torch_forward(c, x, w, b):
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    bt = None if b is None else torch.tensor(b, dtype=torch.float64, requires_grad=True)
    padding, crop = torch_padding(c)
    yt = TORCH_F[c["nd"]](xt, wt, bt, stride=c["stride"], padding=padding,
                          output_padding=c["output_padding"], groups=c["groups"],
                          dilation=c["dilation"])
    if crop is not None:
        index = (slice(None), slice(None)) + tuple(
            slice(before, size - after) for (before, after), size in zip(crop, yt.shape[2:]))
        yt = yt[index]
    return yt, xt, wt, bt


def make_data(c, seed):
    rng = np.random.default_rng(seed)
    dtype = c["dtype"]
    x = rng.standard_normal((c["n"], c["cin"]) + c["spatial"]).astype(dtype)
    w = rng.standard_normal((c["cin"], c["cout"] // c["groups"]) + c["kernel"]).astype(dtype)
    b = None if c["bias"] is None else rng.standard_normal(c["cout"]).astype(dtype)
    return rng, x, w, b


@pytest.mark.parametrize("c", CASES, ids=[case_id(c) for c in CASES])
def test_conv_transpose_matches_torch(c):
    dtype = c["dtype"]
    rng, x, w, b = make_data(c, seed=len(case_id(c)))
    yt, xt, wt, bt = torch_forward(c, x, w, b)
    y_ref = yt.detach().numpy()
    g = rng.standard_normal(y_ref.shape).astype(dtype)
    yt.backward(torch.tensor(g, dtype=torch.float64))

    xc = convnet.tensor(x, requires_grad=True)
    wc = convnet.tensor(w, requires_grad=True)
    bc = None if b is None else convnet.tensor(b, requires_grad=True)
    y = OURS[c["nd"]](xc, wc, bc, stride=c["stride"], padding=c["padding"],
                      output_padding=c["output_padding"], groups=c["groups"],
                      dilation=c["dilation"])
    assert y.shape == y_ref.shape
    assert y.dtype == dtype
    assert_close(y.data, y_ref, dtype, "output")
    y.backward(g)
    for ours, theirs, what in ((xc, xt, "input"), (wc, wt, "weight"), (bc, bt, "bias")):
        if ours is None:
            continue
        assert ours.grad.dtype == dtype, what
        assert_close(ours.grad, theirs.grad.numpy(), dtype, f"grad of {what}")


# ---------------------------------------------------------------------------------------
# The adjoint identity <conv(x), y> == <x, conv_transpose(y)> for the extensions
# ---------------------------------------------------------------------------------------

ADJOINT = []
for nd, padding, s, d, k in itertools.product((1, 2, 3), ("same", "full", "pairs"), (1, 2, 3),
                                              (1, 2), (2, 3)):
    if nd == 3 and (d == 2 or s == 3):
        continue
    ADJOINT.append((nd, padding, s, d, k))


@pytest.mark.parametrize("nd,padding,stride,dilation,k", ADJOINT,
                         ids=[f"{nd}d-{p}-s{s}-d{d}-k{k}" for nd, p, s, d, k in ADJOINT])
def test_adjoint_of_conv(nd, padding, stride, dilation, k):
    rng = np.random.default_rng(nd * 100 + stride * 10 + dilation + k)
    groups = 2
    in_channels, out_channels = 4, 6          # of the convolution
    ke = dilation * (k - 1) + 1
    big = {1: (13,), 2: (9, 8), 3: (6, 7, 5)}[nd]
    if padding == "same":
        conv_in = tuple(stride * n for n in {1: (5,), 2: (4, 3), 3: (3, 2, 3)}[nd])
        conv_pad, transposed_pad = "same", "same"
    elif padding == "full":
        conv_in, conv_pad, transposed_pad = big, "full", "full"
    else:
        pairs = ((2, 1), (0, 3), (1, 0))[:nd]
        conv_in, conv_pad, transposed_pad = big, pairs, pairs
    w = rng.standard_normal((out_channels, in_channels // groups) + (k,) * nd)
    x = rng.standard_normal((2, in_channels) + conv_in)
    conv_out = CONV[nd](x, w, stride=stride, padding=conv_pad, dilation=dilation, groups=groups)
    y = rng.standard_normal(conv_out.shape)
    if padding == "same":
        output_padding = 0
        assert conv_out.shape[2:] == tuple(n // stride for n in conv_in)
    else:
        crops = conv_pad if padding == "pairs" else ((ke - 1, ke - 1),) * nd
        output_padding = tuple((n + b + a - ke) % stride for n, (b, a) in zip(conv_in, crops))
    back = OURS[nd](y, w, stride=stride, padding=transposed_pad, output_padding=output_padding,
                    dilation=dilation, groups=groups)
    assert back.shape == x.shape
    lhs = float(np.sum(conv_out.data * y))
    rhs = float(np.sum(x * back.data))
    assert lhs == pytest.approx(rhs, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("stride", [1, 2, 3])
def test_same_output_size_is_input_times_stride(stride):
    for k, d in itertools.product((1, 2, 3, 4, 5), (1, 2)):
        y = F.conv_transpose2d(np.zeros((1, 2, 5, 3)), np.zeros((2, 3, k, k)), stride=stride,
                               padding="same", dilation=d)
        assert y.shape == (1, 3, 5 * stride, 3 * stride)


def test_same_at_stride_1_matches_torch_conv_transpose():
    # at stride 1 'same' is torch's conv 'same', whose adjoint crops the same total
    rng = np.random.default_rng(5)
    x = rng.standard_normal((1, 2, 6, 5))
    w = rng.standard_normal((2, 3, 3, 3))
    expected = TF.conv_transpose2d(torch.tensor(x), torch.tensor(w), padding=1).numpy()
    np.testing.assert_allclose(F.conv_transpose2d(x, w, padding="same").data, expected,
                               rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------------------
# Finite differences (float64), untied bias
# ---------------------------------------------------------------------------------------

GRADCHECK = [
    (1, dict(stride=2, padding=((1, 0),), output_padding=1, groups=2), (1, 4, 4), (4, 1, 3)),
    (2, dict(stride=(2, 1), padding=1, output_padding=(1, 0), dilation=(1, 2)),
     (2, 2, 3, 2), (2, 3, 2, 3)),
    (2, dict(stride=2, padding="same", groups=2), (1, 4, 2, 3), (4, 1, 3, 2)),
    (2, dict(padding="full"), (1, 2, 4, 4), (2, 2, 2, 2)),
    (3, dict(stride=2, padding=(1, 0, 0), output_padding=(1, 0, 1)), (1, 2, 2, 2, 2),
     (2, 2, 2, 2, 2)),
]


@pytest.mark.parametrize("nd,kwargs,x_shape,w_shape", GRADCHECK,
                         ids=[f"{g[0]}d-{i}" for i, g in enumerate(GRADCHECK)])
def test_finite_differences(nd, kwargs, x_shape, w_shape):
    rng = np.random.default_rng(len(x_shape) + len(kwargs))
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[1] * kwargs.get("groups", 1))
    check_gradients(lambda x, w, b: OURS[nd](x, w, b, **kwargs), x, w, b)


def test_untied_bias_finite_differences_and_value():
    rng = np.random.default_rng(7)
    x, w = rng.standard_normal((2, 2, 3, 3)), rng.standard_normal((2, 3, 2, 2))
    b = rng.standard_normal((3, 6, 6))
    y = F.conv_transpose2d(x, w, b, stride=2)
    np.testing.assert_allclose(y.data, F.conv_transpose2d(x, w, stride=2).data + b[None],
                               rtol=0, atol=0)
    check_gradients(lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2), x, w, b)


# ---------------------------------------------------------------------------------------
# Seed 002: the U-Net up-convolution
# ---------------------------------------------------------------------------------------

def test_unet_up_convolution_doubles_the_size():
    """A 2x2 stride-2 up-convolution copies each pixel into a 2x2 block scaled by the kernel.

    With a kernel of ones it is upsampling by repetition (seed 002's reading of U-Net's
    "up-convolution"); the layer halves the channels and doubles height and width.
    """
    x = np.array([[[[1., 2.],
                    [3., 4.]]]])
    w = np.array([[[[1., 10.],
                    [100., 1000.]]]])
    expected = np.array([[[[1., 10., 2., 20.],
                           [100., 1000., 200., 2000.],
                           [3., 30., 4., 40.],
                           [300., 3000., 400., 4000.]]]])
    np.testing.assert_array_equal(F.conv_transpose2d(x, w, stride=2).data, expected)
    repeated = F.conv_transpose2d(x, np.ones((1, 1, 2, 2)), stride=2).data
    np.testing.assert_array_equal(repeated, x.repeat(2, axis=2).repeat(2, axis=3))

    up = nn.ConvTranspose2d(128, 64, 2, stride=2, rng=0)
    assert up(np.zeros((1, 128, 28, 28), dtype=np.float32)).shape == (1, 64, 56, 56)


# ---------------------------------------------------------------------------------------
# Errors: ValueError naming the argument
# ---------------------------------------------------------------------------------------

ERRORS = [
    ("output_padding", dict(stride=2, output_padding=2), (1, 4, 5, 5), (4, 2, 3, 3)),
    ("in_channels", dict(), (1, 3, 5, 5), (4, 2, 3, 3)),
    ("padding", dict(padding=-1), (1, 4, 5, 5), (4, 2, 3, 3)),
    ("groups", dict(groups=3), (1, 4, 5, 5), (4, 2, 3, 3)),
    ("output_padding", dict(stride=2, padding="same", output_padding=1), (1, 4, 5, 5),
     (4, 2, 3, 3)),
    ("padding", dict(padding=3), (1, 4, 1, 1), (4, 2, 3, 3)),
]


@pytest.mark.parametrize("name,kwargs,x_shape,w_shape", ERRORS,
                         ids=[f"{e[0]}-{i}" for i, e in enumerate(ERRORS)])
def test_errors_name_the_argument(name, kwargs, x_shape, w_shape):
    with pytest.raises(ValueError, match=name):
        F.conv_transpose2d(np.zeros(x_shape), np.zeros(w_shape), **kwargs)


def test_layer_errors():
    with pytest.raises(ValueError, match="padding_mode"):
        nn.ConvTranspose2d(2, 2, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match="groups"):
        nn.ConvTranspose2d(4, 6, 3, groups=4)
    with pytest.raises(ValueError, match="output_padding"):
        nn.ConvTranspose1d(2, 2, 3, stride=2, output_padding=2)
    with pytest.raises(ValueError, match="output_size"):
        nn.ConvTranspose2d(2, 2, 3, stride=2)(np.zeros((1, 2, 4, 4), np.float32),
                                              output_size=(11, 11))
    with pytest.raises(TypeError, match="input"):
        F.conv_transpose1d(np.zeros((1, 2, 4), dtype=np.int64), np.zeros((2, 2, 3)))


# ---------------------------------------------------------------------------------------
# Layers: parameters, init, state_dict, output_size, repr, summary
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("nd", [1, 2, 3])
def test_layer_matches_torch_module(nd):
    ours = LAYERS[nd](4, 6, 3, stride=2, padding=1, output_padding=1, groups=2, dilation=1,
                      dtype=np.float64, rng=nd)
    theirs = TORCH_NN[nd](4, 6, 3, stride=2, padding=1, output_padding=1, groups=2,
                          dtype=torch.float64)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for key, value in theirs.state_dict().items():
        assert ours.state_dict()[key].shape == tuple(value.shape)
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    x = np.random.default_rng(nd).standard_normal((2, 4) + SPATIAL[nd])
    np.testing.assert_allclose(ours(x).data, theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-12, atol=1e-12)
    size = tuple(2 * n for n in SPATIAL[nd])  # reachable only with output_padding=1
    smaller = LAYERS[nd](4, 6, 3, stride=2, padding=1, groups=2, dtype=np.float64)
    smaller.load_state_dict(ours.state_dict())
    np.testing.assert_allclose(smaller(x, output_size=size).data, ours(x).data,
                               rtol=0, atol=0)


def test_default_init_bounds_as_torch():
    # torch: kaiming_uniform_(a=sqrt(5)) with fan_in = weight.shape[1] * prod(k) = 4 * 9
    layer = nn.ConvTranspose2d(64, 8, 3, groups=2, rng=0)
    bound = 1 / np.sqrt(4 * 9)
    assert layer.weight.shape == (64, 4, 3, 3)
    assert np.abs(layer.weight.data).max() <= bound
    assert np.abs(layer.weight.data).max() > 0.95 * bound
    assert np.abs(layer.bias.data).max() <= bound
    assert layer.weight.dtype == np.float32
    t = torch.nn.ConvTranspose2d(64, 8, 3, groups=2)
    assert float(t.weight.detach().abs().max()) <= bound + 1e-7


def test_repr_uses_the_notes_notation():
    assert repr(nn.ConvTranspose2d(128, 64, 4, stride=2, padding=1)) == \
        "ConvTranspose2d([64 | 4x4 s 2]ᵀ, in_channels=128, padding=1)"
    assert repr(nn.ConvTranspose1d(8, 4, 3, stride=2, padding="same", bias=False, groups=2)) == \
        "ConvTranspose1d([4 | 3 s 2]ᵀ, in_channels=8, padding='same', groups=2, bias=False)"
    assert repr(nn.ConvTranspose3d(2, 2, (1, 2, 3), output_padding=(0, 1, 0), dilation=2)) == \
        ("ConvTranspose3d([2 | 1x2x3 s 1]ᵀ, in_channels=2, output_padding=(0, 1, 0), "
         "dilation=(2, 2, 2))")


def test_untied_bias_layer():
    layer = nn.ConvTranspose2d(2, 3, 2, stride=2, bias="untied", input_size=(4, 5))
    assert layer.bias.shape == (3, 8, 10)
    assert layer(np.zeros((2, 2, 4, 5), np.float32)).shape == (2, 3, 8, 10)


def test_layer_trains_with_autograd():
    layer = nn.ConvTranspose2d(2, 3, 3, stride=2, padding="same", dtype=np.float64, rng=1)
    x = convnet.tensor(np.random.default_rng(1).standard_normal((1, 2, 3, 3)), requires_grad=True)
    (layer(x) ** 2).sum().backward()
    assert layer.weight.grad.shape == layer.weight.shape
    assert layer.bias.grad.shape == (3,)
    assert x.grad.shape == x.shape


def test_summary_of_an_encoder_decoder():
    model = nn.Sequential(nn.Conv2d(1, 8, 3, stride=2, padding="same"), nn.ReLU(),
                          nn.ConvTranspose2d(8, 4, 2, stride=2),
                          nn.ConvTranspose2d(4, 2, 3, padding=1))
    info = summary(model, (1, 16, 16))
    up, same = info.rows[2], info.rows[3]
    assert up.notation == "[4 | 2x2 s 2]ᵀ"
    assert up.output_shape == (1, 4, 16, 16)
    assert up.params == 8 * 4 * 4 + 4
    assert up.mult_adds == 8 * 8 * 8 * 4 * 4      # input elements x (C_out/g x k)
    assert up.receptive_field is None              # stride 2: no uniform field
    assert same.mult_adds == 4 * 16 * 16 * 2 * 9
    assert same.receptive_field is None            # fed by a stride-2 transposed layer
    assert "?" in str(info)

    stride_one = summary(nn.Sequential(nn.ConvTranspose2d(1, 1, 3, padding=(0, 1))), (1, 8, 8))
    # output o sees inputs o + before - 2 .. o + before
    assert stride_one.rows[0].receptive_field == (Field(3, 1, -1.0), Field(3, 1, 0.0))
    assert stride_one.rows[0].output_shape == (1, 1, 10, 8)
