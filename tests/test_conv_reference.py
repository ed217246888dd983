"""Convolution cases PyTorch lacks, checked against the loop reference and finite differences.

What torch has no oracle for: the notes' strided 'same' (output (in - 1) // stride + 1,
filter centred on the first sample), 'full', per-side (before, after) padding pairs,
'symmetric' padding (and the other modes combined with strided 'same' / pairs / 'full'),
and untied bias (one bias per output unit).

Forward values are compared with :mod:`reference_loops` (plain loops written from the
notes' formula, float64, tight tolerance); gradients with central differences through
``gradcheck.check_gradients`` (convolution is linear in each argument, so central
differences have no truncation error; eps=1e-4 keeps round-off small).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import convnet
import convnet.functional as F
from gradcheck import check_gradients
from reference_loops import conv_reference, pad_reference, resolve_padding_reference, same_pair

OURS = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
MODES = ("zeros", "reflect", "replicate", "circular", "symmetric")
RTOL = ATOL = 1e-12  # float64 forward vs loops (absolute part scaled by max|expected|)


def assert_close(actual, expected, rtol=RTOL, atol=ATOL, what="forward"):
    expected = np.asarray(expected, dtype=np.float64)
    scale = max(1.0, float(np.max(np.abs(expected))))
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64), expected,
                               rtol=rtol, atol=atol * scale, err_msg=what)


def case(nd, *, spatial, kernel=3, stride=1, dilation=1, padding=0, mode="zeros", groups=1,
         bias="tied", n=2, cin=2, cout=3):
    kernel = (kernel,) * nd if isinstance(kernel, int) else tuple(kernel)
    return dict(nd=nd, spatial=tuple(spatial), kernel=kernel, stride=stride, dilation=dilation,
                padding=padding, mode=mode, groups=groups, bias=bias, n=n, cin=cin, cout=cout)


def case_id(c):
    pad = c["padding"]
    pad = pad if isinstance(pad, (str, int)) else str(pad).replace(" ", "")
    return (f"{c['nd']}d-k{'x'.join(map(str, c['kernel']))}-s{c['stride']}-d{c['dilation']}"
            f"-p{pad}-{c['mode']}-g{c['groups']}-b{c['bias']}-in{'x'.join(map(str, c['spatial']))}"
            f"-N{c['n']}C{c['cin']}O{c['cout']}")


def out_spatial(c):
    nd = c["nd"]
    stride = (c["stride"],) * nd if isinstance(c["stride"], int) else c["stride"]
    dilation = (c["dilation"],) * nd if isinstance(c["dilation"], int) else c["dilation"]
    pairs = resolve_padding_reference(c["padding"], c["spatial"], c["kernel"], stride, dilation)
    return tuple((n + b + a - (d * (k - 1) + 1)) // s + 1
                 for n, (b, a), k, s, d in zip(c["spatial"], pairs, c["kernel"], stride, dilation))


def make_data(c, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((c["n"], c["cin"]) + c["spatial"])
    w = rng.standard_normal((c["cout"], c["cin"] // c["groups"]) + c["kernel"])
    if c["bias"] is None:
        b = None
    elif c["bias"] == "tied":
        b = rng.standard_normal(c["cout"])
    else:  # untied: one per output unit
        b = rng.standard_normal((c["cout"],) + out_spatial(c))
    return x, w, b


def run_ours(c, x, w, b):
    return OURS[c["nd"]](x, w, b, stride=c["stride"], padding=c["padding"],
                         dilation=c["dilation"], groups=c["groups"], padding_mode=c["mode"])


def run_reference(c, x, w, b):
    return conv_reference(x, w, b, stride=c["stride"], padding=c["padding"],
                          dilation=c["dilation"], groups=c["groups"], padding_mode=c["mode"])


# ---------------------------------------------------------------------------------------
# Declared grid
# ---------------------------------------------------------------------------------------
SP = {1: (9,), 2: (7, 6), 3: (5, 4, 5)}
CASES = []

# strided 'same' (strides 2, 3; odd and even kernels; dilation 1, 2); every mode
for nd, s, k, d in itertools.product((1, 2), (2, 3), (2, 3, 4, 5), (1, 2)):
    mode = MODES[(s + k + d) % len(MODES)]
    if mode == "reflect" and d * (k - 1) // 2 >= min(SP[nd]):
        mode = "zeros"
    CASES.append(case(nd, spatial=SP[nd], kernel=k, stride=s, dilation=d, padding="same",
                      mode=mode, bias=("tied", "untied", None)[(k + d) % 3]))
for s, k in itertools.product((2, 3), (2, 3)):
    CASES.append(case(3, spatial=SP[3], kernel=k, stride=s, padding="same", n=1))
# strided 'same' on sizes divisible and not divisible by the stride, even input sizes
for size, s in itertools.product((6, 7, 8), (2, 3)):
    CASES.append(case(1, spatial=(size,), kernel=4, stride=s, padding="same"))

# 'full' (pad ke - 1 on both sides)
for nd, s, k, d in itertools.product((1, 2), (1, 2), (2, 3), (1, 2)):
    CASES.append(case(nd, spatial=SP[nd] if nd == 1 else (6, 5), kernel=k, stride=s,
                      dilation=d, padding="full", bias="untied" if s == 2 else "tied"))
CASES.append(case(3, spatial=(4, 3, 4), kernel=2, padding="full", n=1))

# per-side (before, after) pairs with every mode and strides
PAIRS = {1: ((3, 0),), 2: ((0, 2), (3, 1)), 3: ((1, 0), (0, 2), (2, 1))}
for nd, mode, s in itertools.product((1, 2, 3), MODES, (1, 2, 3)):
    CASES.append(case(nd, spatial=SP[nd], kernel=(3, 2, 3)[:nd], stride=s, padding=PAIRS[nd],
                      mode=mode, bias="untied" if s == 3 else "tied", n=1 if nd == 3 else 2))

# 'symmetric' with int / tuple / 'same' / 'full' padding and dilation; other modes with 'full'
for nd, pad, d in itertools.product((1, 2), (1, (2,) * 1, "same", "full", 3), (1, 2)):
    padding = pad if not isinstance(pad, tuple) else ((2,), (2, 1))[nd - 1]
    CASES.append(case(nd, spatial=SP[nd], kernel=3, dilation=d, padding=padding, mode="symmetric"))
for mode, s in itertools.product(MODES, (1, 2)):
    CASES.append(case(2, spatial=(7, 6), kernel=(3, 2), stride=s, padding="full", mode=mode))
# symmetric / circular padding equal to the input size (the largest allowed)
CASES.append(case(1, spatial=(3,), kernel=3, padding=3, mode="symmetric"))
CASES.append(case(1, spatial=(3,), kernel=3, padding=3, mode="circular"))
CASES.append(case(2, spatial=(3, 4), kernel=2, padding=((3, 0), (4, 4)), mode="symmetric", n=1))

# untied bias with groups / depthwise and the usual paddings
for nd, (cin, cout, g), pad in itertools.product((1, 2), ((4, 4, 4), (4, 6, 2), (2, 4, 2)),
                                                 (0, 1, "same")):
    CASES.append(case(nd, spatial=SP[nd], kernel=3, stride=2 if pad == "same" else 1,
                      padding=pad, groups=g, cin=cin, cout=cout, bias="untied"))
CASES.append(case(3, spatial=(4, 4, 3), kernel=2, padding=1, bias="untied", n=1))

# mixed per-dim stride / dilation with 'same' and pairs
CASES += [
    case(2, spatial=(8, 7), kernel=(4, 3), stride=(2, 3), dilation=(1, 2), padding="same",
         mode="symmetric"),
    case(2, spatial=(7, 9), kernel=(2, 5), stride=(3, 2), dilation=(2, 1), padding="same",
         mode="replicate", bias="untied"),
    case(2, spatial=(6, 5), kernel=(3, 2), stride=(1, 2), dilation=(2, 1),
         padding=((2, 0), (0, 1)), mode="reflect", bias="untied"),
    case(3, spatial=(5, 4, 6), kernel=(2, 3, 4), stride=(2, 1, 3), dilation=(1, 2, 1),
         padding="same", mode="circular", n=1),
]


@pytest.mark.parametrize("c", CASES, ids=[case_id(c) for c in CASES])
def test_forward_matches_loop_reference(c):
    x, w, b = make_data(c, seed=11)
    expected = run_reference(c, x, w, b)
    y = run_ours(c, convnet.tensor(x), convnet.tensor(w), None if b is None else convnet.tensor(b))
    assert tuple(y.shape) == expected.shape, f"shape {tuple(y.shape)} != reference {expected.shape}"
    assert y.data.dtype == np.float64
    assert_close(y.data, expected)


# gradients: a spread of the cases above (finite differences are costly; small shapes)
GRAD_CASES = [
    case(1, spatial=(9,), kernel=4, stride=2, padding="same", bias="untied"),
    case(1, spatial=(8,), kernel=3, stride=3, dilation=2, padding="same", mode="symmetric"),
    case(1, spatial=(7,), kernel=2, stride=2, padding="full", mode="reflect", bias="untied"),
    case(1, spatial=(7,), kernel=3, stride=2, padding=((3, 1),), mode="circular"),
    case(1, spatial=(6,), kernel=3, padding=((0, 4),), mode="replicate", bias="untied"),
    case(1, spatial=(5,), kernel=3, padding=3, mode="symmetric", bias=None),
    case(2, spatial=(6, 5), kernel=(2, 3), stride=(2, 3), padding="same", mode="symmetric",
         bias="untied"),
    case(2, spatial=(5, 6), kernel=4, stride=2, dilation=(1, 2), padding="same", mode="reflect"),
    case(2, spatial=(5, 4), kernel=2, padding="full", bias="untied"),
    case(2, spatial=(5, 5), kernel=3, stride=2, padding=((2, 0), (0, 3)), mode="symmetric",
         bias="untied"),
    case(2, spatial=(5, 5), kernel=3, stride=3, padding=((1, 2), (2, 1)), mode="circular"),
    case(2, spatial=(5, 5), kernel=3, padding="same", groups=2, cin=4, cout=4, bias="untied"),
    case(2, spatial=(4, 5), kernel=2, stride=2, padding="same", groups=2, cin=2, cout=4,
         mode="replicate", bias="untied"),
    case(3, spatial=(4, 3, 4), kernel=2, stride=(2, 1, 2), padding="same", mode="symmetric",
         bias="untied", n=1),
    case(3, spatial=(3, 4, 3), kernel=2, padding="full", bias="tied", n=1, cin=1),
]


@pytest.mark.parametrize("c", GRAD_CASES, ids=[case_id(c) for c in GRAD_CASES])
def test_gradients_finite_differences(c):
    x, w, b = make_data(c, seed=5)
    fn_kwargs = dict(stride=c["stride"], padding=c["padding"], dilation=c["dilation"],
                     groups=c["groups"], padding_mode=c["mode"])
    conv = OURS[c["nd"]]
    if b is None:
        check_gradients(lambda x_, w_: conv(x_, w_, None, **fn_kwargs), x, w, seed=3, eps=1e-4)
    else:
        check_gradients(lambda x_, w_, b_: conv(x_, w_, b_, **fn_kwargs), x, w, b, seed=3,
                        eps=1e-4)


def test_untied_bias_gradient_is_batch_sum_of_upstream():
    """d(loss)/d(untied bias)[o, i, j] = sum over the batch of g[n, o, i, j] (exact)."""
    rng = np.random.default_rng(8)
    x = rng.standard_normal((3, 2, 7, 5))
    w = rng.standard_normal((4, 2, 3, 3))
    b = convnet.tensor(rng.standard_normal((4, 4, 3)), requires_grad=True)
    y = F.conv2d(x, w, b, stride=2, padding="same", padding_mode="symmetric")
    g = rng.standard_normal((3, 4, 4, 3))
    y.backward(g)
    np.testing.assert_allclose(b.grad, g.sum(axis=0), rtol=1e-13, atol=1e-13)


def test_float32_in_float32_out_for_reference_only_cases():
    rng = np.random.default_rng(9)
    x = rng.standard_normal((2, 3, 9, 8)).astype(np.float32)
    w = rng.standard_normal((4, 3, 4, 3)).astype(np.float32)
    b = rng.standard_normal((4, 3, 3)).astype(np.float32)
    xt = convnet.tensor(x, requires_grad=True)
    y = F.conv2d(xt, w, b, stride=3, padding="same", padding_mode="symmetric")
    assert y.data.dtype == np.float32
    expected = conv_reference(x, w, b, stride=3, padding="same", padding_mode="symmetric")
    assert_close(y.data, expected, rtol=1e-4, atol=1e-5)
    y.backward(np.ones(y.shape, dtype=np.float32))
    assert xt.grad.dtype == np.float32


# ---------------------------------------------------------------------------------------
# The notes' 'same' rule: sizes, centring, the worked examples
# ---------------------------------------------------------------------------------------

def test_same_output_size_formula():
    """'same' gives (in - 1) // stride + 1 for every size, kernel, stride and dilation."""
    rng = np.random.default_rng(4)
    w_cache = {}
    for size, k, s, d in itertools.product(range(1, 11), range(1, 6), range(1, 5), range(1, 4)):
        expected = (size - 1) // s + 1
        pairs = resolve_padding_reference("same", (size,), (k,), (s,), (d,))
        ke = d * (k - 1) + 1
        assert (size + sum(pairs[0]) - ke) // s + 1 == expected  # the reference agrees
        w = w_cache.setdefault(k, rng.standard_normal((1, 1, k)))
        x = rng.standard_normal((1, 1, size))
        y = F.conv1d(x, w, stride=s, dilation=d, padding="same")
        assert y.shape == (1, 1, expected), (size, k, s, d, y.shape)


def test_same_output_size_formula_nd():
    rng = np.random.default_rng(6)
    for sizes, k, s, d in [((5, 8), (4, 3), (2, 3), (1, 2)), ((7, 6), (2, 5), (3, 2), (2, 1)),
                           ((4, 5, 6), (3, 2, 4), (2, 3, 4), (1, 2, 1)),
                           ((1, 9), (3, 4), (2, 2), (3, 1))]:
        conv = OURS[len(sizes)]
        x = rng.standard_normal((1, 2) + sizes)
        w = rng.standard_normal((3, 2) + k)
        y = conv(x, w, stride=s, dilation=d, padding="same")
        assert y.shape == (1, 3) + tuple((n - 1) // st + 1 for n, st in zip(sizes, s))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("k,s,d", [(1, 1, 1), (2, 1, 1), (3, 2, 1), (3, 2, 2), (5, 3, 1),
                                   (4, 3, 1), (2, 2, 1), (6, 3, 1), (5, 1, 2)])
def test_same_centres_filter_on_first_sample(mode, k, s, d):
    """A delta at the kernel's centre tap ((k-1)//2, the top-left of the middle for even k)
    makes 'same' return x[::stride] exactly, whatever the padding mode.  (Holds whenever the
    centre tap sits at the centre of the dilated extent: odd k, or dilation 1.)"""
    rng = np.random.default_rng(k * 100 + s * 10 + d)
    x = rng.standard_normal((2, 1, 9, 8))
    c = (k - 1) // 2
    w = np.zeros((1, 1, k, k))
    w[0, 0, c, c] = 1.0
    y = F.conv2d(x, w, stride=s, dilation=d, padding="same", padding_mode=mode)
    np.testing.assert_array_equal(y.data, x[:, :, ::s, ::s])


def test_same_even_kernel_even_dilation_pads_centre_of_extent():
    """api.md: before = (ke - 1) // 2 with ke = d*(k-1)+1.  k=2, d=2: ke=3, pad (1, 1), so tap 0
    reads x[i-1] and tap 1 reads x[i+1] (zeros outside)."""
    x = np.array([[[1.0, 2.0, 3.0, 4.0, 5.0]]])
    y0 = F.conv1d(x, np.array([[[1.0, 0.0]]]), dilation=2, padding="same")
    y1 = F.conv1d(x, np.array([[[0.0, 1.0]]]), dilation=2, padding="same")
    np.testing.assert_array_equal(y0.data, [[[0.0, 1.0, 2.0, 3.0, 4.0]]])
    np.testing.assert_array_equal(y1.data, [[[2.0, 3.0, 4.0, 5.0, 0.0]]])
    # k=4, d=2: ke=7, before=3: taps at padded offsets 0, 2, 4, 6 read x[i-3], x[i-1], x[i+1], x[i+3]
    y = F.conv1d(x, np.array([[[0.0, 1.0, 0.0, 0.0]]]), dilation=2, padding="same",
                 padding_mode="replicate")
    np.testing.assert_array_equal(y.data, [[[1.0, 1.0, 2.0, 3.0, 4.0]]])


def test_notes_strided_example():
    """Seed 'Padding a Strided Convolution': 3-tap filter, stride 2 on 5 samples -> 3 outputs
    [0*f0 + x0*f1 + x1*f2, x1*f0 + x2*f1 + x3*f2, x3*f0 + x4*f1 + 0*f2]."""
    x = np.array([[[1.0, 2.0, 3.0, 4.0, 5.0]]])
    f = np.array([[[10.0, 100.0, 1000.0]]])
    y = F.conv1d(x, f, stride=2, padding="same")
    np.testing.assert_array_equal(y.data, [[[2100.0, 4320.0, 540.0]]])
    # not padding: only two applications
    y = F.conv1d(x, f, stride=2, padding="valid")
    np.testing.assert_array_equal(y.data, [[[3210.0, 5430.0]]])


def test_notes_even_kernel_pads_at_end():
    """Seed 'Where To Pad Even Size Convolutions': length-2 filter, 'same' on 5 samples pads
    at the end: [x0f0 + x1f1, ..., x3f0 + x4f1, x4f0 + 0f1]."""
    x = np.array([[[1.0, 2.0, 3.0, 4.0, 5.0]]])
    f = np.array([[[10.0, 100.0]]])
    y = F.conv1d(x, f, padding="same")
    np.testing.assert_array_equal(y.data, [[[210.0, 320.0, 430.0, 540.0, 50.0]]])


def test_notes_4x4_filter_centre():
    """Seed 'For Your Homework': a 4x4 filter's centre is at (1, 1), over the top-left pixel."""
    x = np.arange(1.0, 26.0).reshape(1, 1, 5, 5)
    w = np.zeros((1, 1, 4, 4))
    w[0, 0, 1, 1] = 1.0
    w[0, 0, 0, 0] = 1000.0  # one row and column before the centre: falls in the padding at (0,0)
    y = F.conv2d(x, w, padding="same")
    assert y.shape == (1, 1, 5, 5)
    assert y.data[0, 0, 0, 0] == 1.0
    assert y.data[0, 0, 1, 1] == x[0, 0, 1, 1] + 1000.0 * x[0, 0, 0, 0]


def test_same_pairs_reference_values():
    """The reference's own 'same' pairs on hand-worked cases (guards the oracle)."""
    assert same_pair(5, 3, 2, 1) == (1, 1)   # notes: 3 s2 on 5 -> pad 1 each side
    assert same_pair(5, 2, 1, 1) == (0, 1)   # notes: even kernel pads at the end
    assert same_pair(5, 4, 1, 1) == (1, 2)   # centre = top-left of the middle
    assert same_pair(6, 1, 2, 1) == (0, 0)   # 1x1 never pads
    assert same_pair(8, 3, 3, 1) == (1, 0)   # out 3: windows at -1, 2, 5 -> last ends at 7
    assert same_pair(7, 3, 2, 2) == (2, 2)
    assert resolve_padding_reference("full", (5, 6), (3, 2), 1, (2, 1)) == [(4, 4), (1, 1)]


@pytest.mark.parametrize("mode", MODES)
def test_pad_reference_agrees_with_numpy(mode):
    """Guards the oracle: the index-arithmetic padding equals np.pad's documented modes."""
    np_mode = {"zeros": "constant", "reflect": "reflect", "replicate": "edge",
               "circular": "wrap", "symmetric": "symmetric"}[mode]
    rng = np.random.default_rng(12)
    for shape, pairs in [((2, 5), ((4, 3),)), ((1, 2, 4, 6), ((3, 0), (2, 5))),
                         ((1, 1, 3, 4, 5), ((2, 1), (0, 3), (4, 4))), ((1, 1, 1), ((0, 0),))]:
        if mode == "reflect":
            pairs = tuple((min(b, n - 1), min(a, n - 1)) for (b, a), n in zip(pairs, shape[-len(pairs):]))
        x = rng.standard_normal(shape)
        expected = np.pad(x, ((0, 0),) * (len(shape) - len(pairs)) + pairs, mode=np_mode)
        np.testing.assert_array_equal(pad_reference(x, pairs, mode), expected)


@pytest.mark.parametrize("nd", (1, 2, 3))
@pytest.mark.parametrize("k", (2, 4))
@pytest.mark.parametrize("d", (1, 2))
def test_same_stride1_equals_torch_even_kernels(nd, k, d):
    torch = pytest.importorskip("torch", reason="PyTorch is the oracle for stride-1 'same'")
    import torch.nn.functional as TF
    import warnings

    rng = np.random.default_rng(nd * 10 + k + d)
    sizes = {1: (9,), 2: (7, 8), 3: (5, 6, 5)}[nd]
    x = rng.standard_normal((2, 3) + sizes)
    w = rng.standard_normal((2, 3) + (k,) * nd)
    b = rng.standard_normal(2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        expected = {1: TF.conv1d, 2: TF.conv2d, 3: TF.conv3d}[nd](
            torch.tensor(x), torch.tensor(w), torch.tensor(b), padding="same", dilation=d).numpy()
    y = OURS[nd](x, w, b, padding="same", dilation=d)
    assert y.shape == expected.shape
    assert_close(y.data, expected)
