"""convnet conv1d/conv2d/conv3d against PyTorch (the oracle), forward and all gradients.

Every case runs convnet's forward, back-propagates a random upstream gradient ``g`` with
``y.backward(g)``, and compares the output and the gradients of input, weight and bias
with PyTorch's.  PyTorch always computes in float64 on the very same values (float32
data is exactly representable in float64), so the oracle is as exact as float64 allows
and float32 cases measure convnet's own float32 error.

Tolerances (scale-aware: the absolute part is multiplied by max(1, max|expected|)):
float64 rtol=atol=1e-10; float32 rtol=1e-4, atol=1e-5, with data ~ N(0, 1).

Grid (declared below, one pytest id per case): conv1d/2d/3d; float32 and float64;
stride 1..3 x dilation 1..2; int, per-dim tuple, 'valid', 'same' (stride 1: torch's
'same' only exists there), per-side (before, after) pairs (torch via F.pad); padding_mode
zeros/reflect/replicate/circular (torch via nn.ConvNd(padding_mode=...) or F.pad + conv
with padding 0); groups incl. depthwise (groups == in_channels, multiplier 1 and 2);
even kernels 2 and 4; batch 1; odd spatial sizes; bias None and tied.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

torch = pytest.importorskip(
    "torch", reason="PyTorch (CPU build) is the test-only oracle for convolution; not installed")
import torch.nn.functional as TF  # noqa: E402

import convnet  # noqa: E402
import convnet.functional as F  # noqa: E402

TOL = {
    np.float64: dict(rtol=1e-10, atol=1e-10),
    np.float32: dict(rtol=1e-4, atol=1e-5),
}

OURS = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
TORCH_F = {1: TF.conv1d, 2: TF.conv2d, 3: TF.conv3d}
TORCH_NN = {1: torch.nn.Conv1d, 2: torch.nn.Conv2d, 3: torch.nn.Conv3d}
# odd (and unequal) spatial sizes per dimensionality
SPATIAL = {1: (11,), 2: (9, 7), 3: (7, 5, 6)}


def assert_close(actual, expected, dtype, what):
    tol = TOL[dtype]
    expected = np.asarray(expected, dtype=np.float64)
    scale = max(1.0, float(np.max(np.abs(expected))) if expected.size else 1.0)
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64), expected,
                               rtol=tol["rtol"], atol=tol["atol"] * scale, err_msg=what)


# ---------------------------------------------------------------------------------------
# The declared grid
# ---------------------------------------------------------------------------------------

def case(nd, *, dtype=np.float64, n=2, cin=3, cout=4, kernel=3, stride=1, dilation=1,
         padding=0, mode="zeros", groups=1, bias="tied", spatial=None):
    kernel = (kernel,) * nd if isinstance(kernel, int) else tuple(kernel)
    return dict(nd=nd, dtype=dtype, n=n, cin=cin, cout=cout, kernel=kernel, stride=stride,
                dilation=dilation, padding=padding, mode=mode, groups=groups, bias=bias,
                spatial=tuple(spatial) if spatial is not None else SPATIAL[nd])


def case_id(c):
    dt = "f32" if c["dtype"] is np.float32 else "f64"
    pad = c["padding"]
    pad = pad if isinstance(pad, (str, int)) else str(pad).replace(" ", "")
    return (f"{c['nd']}d-{dt}-N{c['n']}-C{c['cin']}-O{c['cout']}-k{'x'.join(map(str, c['kernel']))}"
            f"-s{c['stride']}-d{c['dilation']}-p{pad}-{c['mode']}-g{c['groups']}-b{c['bias']}"
            f"-in{'x'.join(map(str, c['spatial']))}")


def per_dim(value, nd):
    return (value,) * nd if isinstance(value, int) else tuple(value)


CASES = []

# A. stride 1..3 x dilation 1..2 x dims x dtypes (odd kernel, int padding, tied bias)
for nd, dtype, s, d in itertools.product((1, 2, 3), (np.float32, np.float64), (1, 2, 3), (1, 2)):
    CASES.append(case(nd, dtype=dtype, stride=s, dilation=d, padding=1))

# B. padding forms x kernel sizes (odd and even) x dims; 'same' at stride 1 only
TUPLE_PAD = {1: (2,), 2: (2, 0), 3: (1, 0, 2)}
for nd, pad, k in itertools.product((1, 2, 3), (0, 2, "tuple", "valid", "same"), (2, 3, 4)):
    padding = TUPLE_PAD[nd] if pad == "tuple" else pad
    for s in ((1,) if pad == "same" else (1, 2)):
        dtype = np.float32 if (k + s) % 2 else np.float64
        CASES.append(case(nd, dtype=dtype, kernel=k, stride=s, padding=padding,
                          bias=None if k == 4 else "tied"))

# C. padding modes x padding forms x dims (torch: nn.ConvNd(padding_mode=...) / F.pad)
PAIRS = {1: ((2, 0),), 2: ((0, 2), (1, 0)), 3: ((1, 2), (0, 1), (2, 0))}
for nd, mode, pad, s in itertools.product((1, 2, 3), ("zeros", "reflect", "replicate", "circular"),
                                          (1, "tuple", "same", "pairs"), (1, 2)):
    if pad == "same" and s != 1:
        continue
    padding = {"tuple": TUPLE_PAD[nd], "pairs": PAIRS[nd]}.get(pad, pad)
    d = 2 if (pad in ("same", 1) and nd < 3) else 1
    CASES.append(case(nd, mode=mode, padding=padding, stride=s, dilation=d,
                      kernel=4 if pad == "same" else 3,
                      n=1 if mode == "circular" else 2))

# D. groups, incl. depthwise (groups == in_channels, channel multiplier 1 and 2)
GROUPS = [(4, 4, 1), (4, 6, 2), (6, 6, 3), (6, 3, 3), (4, 4, 4), (3, 6, 3)]
for nd, (cin, cout, g), bias in itertools.product((1, 2, 3), GROUPS, (None, "tied")):
    s = 2 if bias is None else 1
    CASES.append(case(nd, cin=cin, cout=cout, groups=g, bias=bias, stride=s, padding=1,
                      dilation=2 if cin == 6 else 1,
                      dtype=np.float32 if g in (2, 4) else np.float64))

# E. even kernels (2, 4) x stride 1..3 x dilation 1..2, batch 1, no bias / tied bias
for nd, k, s, d in itertools.product((1, 2), (2, 4), (1, 2, 3), (1, 2)):
    CASES.append(case(nd, n=1, kernel=k, stride=s, dilation=d,
                      padding="same" if s == 1 else k // 2,
                      bias=None if d == 2 else "tied", dtype=np.float32 if s == 2 else np.float64))
for k, s in itertools.product((2, 4), (1, 2)):
    CASES.append(case(3, n=1, kernel=k, stride=s, padding="same" if s == 1 else 1,
                      spatial=(5, 7, 6)))

# F. mixed per-dimension settings, batch 1 and 3, tiny and 1-wide inputs
CASES += [
    case(2, kernel=(3, 2), stride=(1, 2), dilation=(2, 1), padding=(1, 0)),
    case(2, kernel=(2, 3), stride=(3, 1), dilation=(1, 2), padding=((0, 1), (2, 1)), n=1),
    case(2, kernel=(1, 3), stride=(2, 3), padding=(0, 1), n=3, cin=2, cout=5),
    case(2, kernel=(4, 1), stride=1, dilation=(1, 1), padding="same", mode="reflect", n=3),
    case(3, kernel=(3, 1, 2), stride=(2, 1, 3), dilation=(1, 2, 1), padding=(1, 0, 1)),
    case(3, kernel=(2, 3, 1), padding="same", dilation=(2, 1, 1), mode="replicate", n=1),
    case(1, kernel=1, stride=2, padding=0, n=3, cin=5, cout=2),          # 1x1 conv, strided
    # 1x1 at stride 1: the channels-last image is the column matrix (no im2col)
    case(2, kernel=1, padding=0, n=3, cin=5, cout=7, bias="tied"),
    case(2, kernel=1, padding=1, n=2, cin=6, cout=20, bias="tied", dtype=np.float32),
    case(1, kernel=1, padding=0, n=3, cin=8, cout=3, bias=None),
    case(1, kernel=5, padding="valid", spatial=(5,)),                    # kernel == input
    case(2, kernel=3, padding="valid", spatial=(3, 3), n=1, cin=1, cout=1),
    case(2, kernel=3, padding=1, spatial=(1, 5), n=1),                   # 1-high input
    case(2, kernel=3, padding=2, stride=3, spatial=(5, 5), mode="circular"),
    case(1, kernel=3, padding=(3,), mode="reflect", spatial=(4,)),       # max reflect pad
    case(2, kernel=3, padding="same", mode="circular", dilation=2, spatial=(5, 5)),
]


def torch_same_pairs(c):
    """torch's 'same': total d*(k-1), the smaller half before, the rest after."""
    pairs = []
    for k, d in zip(c["kernel"], per_dim(c["dilation"], c["nd"])):
        total = d * (k - 1)
        pairs.append((total // 2, total - total // 2))
    return tuple(pairs)


# drop exact duplicates between the sub-grids (same id = same case)
CASES = list({case_id(c): c for c in CASES}.values())


def torch_forward(c, x, w, b):
    """Torch float64 forward for case ``c``: returns (y, x_leaf, w_leaf, b_leaf or None)."""
    nd = c["nd"]
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    bt = None if b is None else torch.tensor(b, dtype=torch.float64, requires_grad=True)
    pad, mode = c["padding"], c["mode"]
    stride, dilation, groups = c["stride"], c["dilation"], c["groups"]
    is_pairs = isinstance(pad, tuple) and any(isinstance(p, tuple) for p in pad)
    if is_pairs:
        flat = []
        for before, after in reversed(pad):  # F.pad lists the last dim first
            flat += [before, after]
        tmode = "constant" if mode == "zeros" else mode
        yt = TORCH_F[nd](TF.pad(xt, flat, mode=tmode), wt, bt, stride=stride, padding=0,
                         dilation=dilation, groups=groups)
    elif mode == "zeros":
        yt = TORCH_F[nd](xt, wt, bt, stride=stride, padding=pad, dilation=dilation, groups=groups)
    else:
        module = TORCH_NN[nd](c["cin"], c["cout"], c["kernel"], stride=stride, padding=pad,
                              dilation=dilation, groups=groups, bias=b is not None,
                              padding_mode=mode, dtype=torch.float64)
        module.weight = torch.nn.Parameter(wt)
        if bt is not None:
            module.bias = torch.nn.Parameter(bt)
        yt = module(xt)
        wt, bt = module.weight, module.bias
    return yt, xt, wt, bt


def make_data(c, seed):
    rng = np.random.default_rng(seed)
    dtype = c["dtype"]
    x = rng.standard_normal((c["n"], c["cin"]) + c["spatial"]).astype(dtype)
    w = rng.standard_normal((c["cout"], c["cin"] // c["groups"]) + c["kernel"]).astype(dtype)
    b = None if c["bias"] is None else rng.standard_normal(c["cout"]).astype(dtype)
    return rng, x, w, b


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel:UserWarning")
@pytest.mark.parametrize("c", CASES, ids=[case_id(c) for c in CASES])
def test_conv_matches_torch(c):
    dtype = c["dtype"]
    rng, x, w, b = make_data(c, seed=len(case_id(c)))
    yt, xt, wt, bt = torch_forward(c, x, w, b)
    y_ref = yt.detach().numpy()
    g = rng.standard_normal(y_ref.shape).astype(dtype)
    yt.backward(torch.tensor(g, dtype=torch.float64))
    gx_ref, gw_ref = xt.grad.numpy(), wt.grad.numpy()
    gb_ref = None if bt is None else bt.grad.numpy()

    xs = convnet.tensor(x.copy(), requires_grad=True)
    ws = convnet.tensor(w.copy(), requires_grad=True)
    bs = None if b is None else convnet.tensor(b.copy(), requires_grad=True)
    y = OURS[c["nd"]](xs, ws, bs, stride=c["stride"], padding=c["padding"],
                      dilation=c["dilation"], groups=c["groups"], padding_mode=c["mode"])

    assert isinstance(y, convnet.Tensor)
    assert tuple(y.shape) == y_ref.shape, f"output shape {tuple(y.shape)} != torch {y_ref.shape}"
    assert y.data.dtype == dtype, f"output dtype {y.data.dtype} != input dtype {np.dtype(dtype)}"
    assert_close(y.data, y_ref, dtype, "forward")

    y.backward(g.copy())
    for name, t, ref in (("input", xs, gx_ref), ("weight", ws, gw_ref), ("bias", bs, gb_ref)):
        if t is None:
            continue
        assert t.grad is not None, f"{name} received no gradient"
        assert t.grad.shape == ref.shape, f"{name} grad shape {t.grad.shape} != {ref.shape}"
        assert t.grad.dtype == dtype, f"{name} grad dtype {t.grad.dtype} != {np.dtype(dtype)}"
        assert_close(t.grad, ref, dtype, f"gradient wrt {name}")
    # inputs untouched
    np.testing.assert_array_equal(xs.data, x)
    np.testing.assert_array_equal(ws.data, w)


# ---------------------------------------------------------------------------------------
# A few behaviours around the grid
# ---------------------------------------------------------------------------------------

def test_grid_is_meaningful():
    """The declared grid covers what the brief asks for (guards against silent shrinkage)."""
    assert {c["nd"] for c in CASES} == {1, 2, 3}
    assert {c["dtype"] for c in CASES} == {np.float32, np.float64}
    assert {c["stride"] for c in CASES if isinstance(c["stride"], int)} >= {1, 2, 3}
    assert {c["dilation"] for c in CASES if isinstance(c["dilation"], int)} >= {1, 2}
    assert {c["mode"] for c in CASES} == {"zeros", "reflect", "replicate", "circular"}
    assert {"same", "valid"} <= {c["padding"] for c in CASES if isinstance(c["padding"], str)}
    assert any(c["groups"] == c["cin"] > 1 for c in CASES)
    assert any(c["groups"] == c["cin"] > 1 and c["cout"] == 2 * c["cin"] for c in CASES)
    assert {2, 4} <= {k for c in CASES for k in c["kernel"]}
    assert any(c["n"] == 1 for c in CASES) and {None, "tied"} == {c["bias"] for c in CASES}
    assert len(CASES) >= 250


def test_ndarray_arguments_and_no_grad_input():
    """ndarray weight/bias are accepted; an input without requires_grad gets no gradient."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 7, 6))
    w = rng.standard_normal((4, 3, 3, 2))
    b = rng.standard_normal(4)
    xt = torch.tensor(x)
    wt = torch.tensor(w, requires_grad=True)
    yt = TF.conv2d(xt, wt, torch.tensor(b), stride=(2, 1), padding=1)

    y_arr = F.conv2d(x, w, b, stride=(2, 1), padding=1)
    assert isinstance(y_arr, convnet.Tensor)
    assert_close(y_arr.data, yt.detach().numpy(), np.float64, "forward with ndarrays")

    xs = convnet.tensor(x)  # no grad
    ws = convnet.tensor(w, requires_grad=True)
    y = F.conv2d(xs, ws, b, stride=(2, 1), padding=1)
    g = rng.standard_normal(tuple(yt.shape))
    y.backward(g)
    yt.backward(torch.tensor(g))
    assert xs.grad is None
    assert_close(ws.grad, wt.grad.numpy(), np.float64, "weight gradient")


def test_gradients_accumulate_across_backward_calls():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((1, 2, 6))
    w = rng.standard_normal((3, 2, 2))
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(w, requires_grad=True)
    xs = convnet.tensor(x, requires_grad=True)
    ws = convnet.tensor(w, requires_grad=True)
    for seed in (3, 4):
        g = np.random.default_rng(seed).standard_normal((1, 3, 4))
        TF.conv1d(xt, wt, stride=2, padding=1).backward(torch.tensor(g))
        F.conv1d(xs, ws, stride=2, padding=1).backward(g)
    assert_close(xs.grad, xt.grad.numpy(), np.float64, "accumulated input gradient")
    assert_close(ws.grad, wt.grad.numpy(), np.float64, "accumulated weight gradient")
