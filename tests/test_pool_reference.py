"""Pooling cases PyTorch lacks, checked against the loop reference and finite differences.

What torch has no oracle for: the notes' strided 'same' padding (output (in - 1) // stride
+ 1, window centred on the first sample), padding_mode reflect / replicate / circular /
symmetric / zeros in pooling, per-side (before, after) pairs, padding larger than half the
kernel, Lp pooling with padding, avg_pool1d's divisor_override, maxout, and the tie rule
(the gradient goes to the FIRST maximum in row-major window order).

Forward values and input gradients (a random upstream gradient back-propagated with
``y.backward(g)``) are compared with :mod:`reference_pool` (loops written from the
formulas, float64; rtol 1e-10, atol 1e-12 scaled by max|expected|); float64 gradient
checks use central differences (``gradcheck.check_gradients``). The notes' worked
examples (seed 000's uwnet max pool, seed 001 Fig 8.8, seed 002's quadrant summary) are
here with their exact shapes.
"""

from __future__ import annotations

import itertools
import zlib

import numpy as np
import pytest

import convnet
import convnet.functional as F
from gradcheck import check_gradients
from reference_pool import (avg_pool_reference, lp_pool_reference, max_pool_backward_reference,
                            max_pool_reference, maxout_reference, padding_pairs)

RTOL, ATOL = 1e-10, 1e-12
MODES = ("zeros", "reflect", "replicate", "circular", "symmetric")


def assert_close(actual, expected, what):
    expected = np.asarray(expected, dtype=np.float64)
    scale = max(1.0, float(np.max(np.abs(expected[np.isfinite(expected)]), initial=0.0)))
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64), expected, rtol=RTOL,
                               atol=ATOL * scale, err_msg=what)


def randn(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def as_array(value):
    return np.asarray(getattr(value, "data", value))


def forward_backward(fn, x, seed=1):
    """Run ``fn`` on a float64 leaf built from ``x``; back-propagate a random ``g``.

    Returns (output values, input gradient, g).
    """
    t = convnet.tensor(np.array(x, dtype=np.float64), requires_grad=True)
    out = fn(t)
    assert isinstance(out, convnet.Tensor), f"expected a convnet.Tensor, got {type(out).__name__}"
    g = np.random.default_rng(seed).standard_normal(out.shape)
    out.backward(g.copy())
    assert t.grad is not None, "input received no gradient"
    return as_array(out.data), np.asarray(t.grad), g


def check_max(x, padding_mode=None, **kwargs):
    """F.max_poolNd against the loop reference: values, indices and the input gradient."""
    nd = x.ndim - 2
    pool = getattr(F, f"max_pool{nd}d")
    extra = {} if padding_mode is None else dict(padding_mode=padding_mode)
    ref, ref_indices = max_pool_reference(x, padding_mode=padding_mode, **kwargs)
    out, grad, g = forward_backward(lambda t: pool(t, **kwargs, **extra), x)
    assert out.shape == ref.shape, f"output shape {out.shape} != reference {ref.shape}"
    assert_close(out, ref, "forward")
    assert_close(grad, max_pool_backward_reference(x.shape, ref_indices, g), "input gradient")
    if padding_mode is None:  # indices into the input plane are meaningful without a mode
        _, indices = pool(x, **kwargs, return_indices=True)
        np.testing.assert_array_equal(as_array(indices), ref_indices, err_msg="indices")
    return out, grad


def check_avg(x, padding_mode=None, **kwargs):
    """F.avg_poolNd against the loop reference: values and the input gradient."""
    nd = x.ndim - 2
    pool = getattr(F, f"avg_pool{nd}d")
    extra = {} if padding_mode is None else dict(padding_mode=padding_mode)
    out, grad, g = forward_backward(lambda t: pool(t, **kwargs, **extra), x)
    ref, ref_grad = avg_pool_reference(x, padding_mode=padding_mode, grad_output=g, **kwargs)
    assert out.shape == ref.shape, f"output shape {out.shape} != reference {ref.shape}"
    assert_close(out, ref, "forward")
    assert_close(grad, ref_grad, "input gradient")
    return out, grad


def check_lp(x, norm_type, padding_mode=None, **kwargs):
    nd = x.ndim - 2
    pool = getattr(F, f"lp_pool{nd}d")
    extra = {} if padding_mode is None else dict(padding_mode=padding_mode)
    out, grad, g = forward_backward(lambda t: pool(t, norm_type, **kwargs, **extra), x)
    ref, ref_grad = lp_pool_reference(x, norm_type, padding_mode=padding_mode, grad_output=g,
                                      **kwargs)
    assert out.shape == ref.shape, f"output shape {out.shape} != reference {ref.shape}"
    assert_close(out, ref, "forward")
    assert_close(grad, ref_grad, "input gradient")


def fmt(value):
    return str(value).replace(" ", "")


# ------------------------------------------------------------------------ 'same' padding
SAME_SPATIAL = {1: [(10,), (11,)], 2: [(8, 9), (7, 6)], 3: [(5, 6, 4)]}
SAME_CASES = [
    dict(nd=nd, spatial=spatial, k=k, s=s, d=d)
    for nd in (1, 2)
    for spatial in SAME_SPATIAL[nd]
    for k, s, d in itertools.product((2, 3, 4), (1, 2, 3), (1, 2))
] + [dict(nd=3, spatial=SAME_SPATIAL[3][0], k=k, s=s, d=1) for k, s in ((2, 2), (3, 1), (3, 3))]


def same_id(c):
    return f"{c['nd']}d-in{'x'.join(map(str, c['spatial']))}-k{c['k']}-s{c['s']}-d{c['d']}"


@pytest.mark.parametrize("c", SAME_CASES, ids=same_id)
def test_max_pool_same_padding(c):
    x = randn((2, 2) + c["spatial"], seed=zlib.crc32(same_id(c).encode()))
    out, _ = check_max(x, kernel_size=c["k"], stride=c["s"], padding="same", dilation=c["d"])
    expected = tuple((n - 1) // c["s"] + 1 for n in c["spatial"])
    assert out.shape[2:] == expected, f"'same' output size {out.shape[2:]} != (in-1)//s+1 {expected}"


@pytest.mark.parametrize("count_include_pad", [True, False], ids=["cip1", "cip0"])
@pytest.mark.parametrize("c", [c for c in SAME_CASES if c["d"] == 1], ids=same_id)
def test_avg_pool_same_padding(c, count_include_pad):
    x = randn((2, 2) + c["spatial"], seed=zlib.crc32(same_id(c).encode()))
    out, _ = check_avg(x, kernel_size=c["k"], stride=c["s"], padding="same",
                       count_include_pad=count_include_pad)
    expected = tuple((n - 1) // c["s"] + 1 for n in c["spatial"])
    assert out.shape[2:] == expected


def test_same_rule_puts_extra_padding_of_even_kernels_after():
    """Kernel 2, stride 1 on [a, b, c]: windows (a,b), (b,c), (c,-inf) -> [max(a,b), max(b,c), c]."""
    x = np.array([[[1.0, -2.0, -3.0]]])
    out = as_array(F.max_pool1d(x, 2, stride=1, padding="same").data)
    np.testing.assert_array_equal(out, [[[1.0, -2.0, -3.0]]])
    x = np.array([[[-1.0, 2.0, -3.0, 5.0, 4.0]]])
    # kernel 3, stride 2: windows centred on samples 0, 2, 4 -> (-inf,-1,2), (2,-3,5), (5,4,-inf)
    out = as_array(F.max_pool1d(x, 3, stride=2, padding="same").data)
    np.testing.assert_array_equal(out, [[[2.0, 5.0, 5.0]]])


def test_valid_string_is_no_padding():
    x = randn((1, 2, 7, 8), seed=3)
    check_max(x, kernel_size=3, stride=2, padding="valid")
    check_avg(x, kernel_size=3, stride=2, padding="valid")


# ---------------------------------------------------------------------- padding modes
MODE_PADDINGS = {
    1: [1, ((2, 0),), "same", 2],
    2: [1, ((2, 0), (1, 2)), "same", (2, 1), ((0, 3), (3, 0))],
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("nd,padding", [(nd, p) for nd in (1, 2) for p in MODE_PADDINGS[nd]],
                         ids=lambda v: fmt(v))
def test_max_pool_padding_modes(mode, nd, padding):
    spatial = {1: (7,), 2: (5, 6)}[nd]
    x = randn((2, 2) + spatial, seed=11)
    for k, s in ((3, 1), (3, 2), (4, 3)):
        check_max(x, padding_mode=mode, kernel_size=k, stride=s, padding=padding)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("nd,padding", [(nd, p) for nd in (1, 2) for p in MODE_PADDINGS[nd]],
                         ids=lambda v: fmt(v))
def test_avg_pool_padding_modes(mode, nd, padding):
    """With a padding_mode every window is full: the divisor is the kernel area."""
    spatial = {1: (7,), 2: (5, 6)}[nd]
    x = randn((2, 2) + spatial, seed=12)
    for k, s in ((3, 1), (2, 2), (4, 3)):
        check_avg(x, padding_mode=mode, kernel_size=k, stride=s, padding=padding)


@pytest.mark.parametrize("mode", MODES)
def test_padding_modes_3d(mode):
    x = randn((1, 2, 4, 5, 3), seed=13)
    check_max(x, padding_mode=mode, kernel_size=3, stride=2, padding=1)
    check_avg(x, padding_mode=mode, kernel_size=(2, 3, 2), stride=1,
              padding=((1, 0), (1, 1), (0, 1)))


def test_avg_pool_zeros_mode_counts_padding_even_without_count_include_pad():
    """padding_mode='zeros' pads real zeros first: divisor = kernel area whatever count_include_pad."""
    x = randn((1, 1, 4, 4), seed=14)
    out, _ = check_avg(x, padding_mode="zeros", kernel_size=3, stride=1, padding=1,
                       count_include_pad=False)
    assert_close(out[0, 0, 0, 0], x[0, 0, :2, :2].sum() / 9, "corner divisor 9")


def test_max_pool_zeros_mode_pads_with_zero_when_asked():
    x = -np.random.default_rng(15).uniform(1.0, 2.0, (1, 1, 4, 4))
    out, _ = check_max(x, padding_mode="zeros", kernel_size=3, stride=1, padding=1)
    border = np.ones((4, 4), dtype=bool)
    border[1:-1, 1:-1] = False  # windows touching the padding
    assert np.all(out[0, 0][border] == 0.0), "explicitly requested zero padding wins over negatives"
    assert np.all(out[0, 0][~border] < 0.0)


# ---------------------------------------------------------- pairs and padding > k/2
LARGE_PADDING_CASES = [  # (kernel, stride, padding); pads up to k - 1 so every window overlaps
    (k, s, p)
    for k, s, paddings in [
        (3, 1, [((1, 0), (0, 2)), ((2, 2), (1, 0)), 2, (2, 1), ((0, 2), (2, 0))]),
        (4, 2, [((1, 0), (0, 2)), ((3, 3), (1, 0)), 3, (3, 2), ((0, 3), (3, 0))]),
        (4, 3, [((2, 1), (1, 3)), 3, (3, 2)]),
    ]
    for p in paddings
]


@pytest.mark.parametrize("k,s,padding", LARGE_PADDING_CASES, ids=fmt)
def test_max_pool_pairs_and_large_padding(padding, k, s):
    """-inf implicit padding; pads up to k-1 per side (every window still overlaps the input)."""
    x = randn((2, 2, 6, 7), seed=16)
    check_max(x, kernel_size=k, stride=s, padding=padding)


@pytest.mark.parametrize("count_include_pad", [True, False], ids=["cip1", "cip0"])
@pytest.mark.parametrize("k,s,padding", LARGE_PADDING_CASES, ids=fmt)
def test_avg_pool_pairs_and_large_padding(padding, k, s, count_include_pad):
    x = randn((2, 2, 6, 7), seed=17)
    check_avg(x, kernel_size=k, stride=s, padding=padding, count_include_pad=count_include_pad)


def test_max_pool_dilation_with_pairs():
    x = randn((1, 2, 9, 8), seed=18)
    check_max(x, kernel_size=(3, 2), stride=(2, 1), padding=((2, 1), (0, 1)), dilation=(2, 3))
    check_max(x[..., 0], kernel_size=3, stride=1, padding=((4, 3),), dilation=2)


@pytest.mark.parametrize("divisor", [1, 3, 5])
def test_avg_pool1d_divisor_override(divisor):
    """torch's avg_pool1d has no divisor_override; the contract gives all three."""
    x = randn((2, 3, 9), seed=19)
    check_avg(x, kernel_size=3, stride=2, padding=1, divisor_override=divisor)
    check_avg(x, kernel_size=2, stride=1, padding="same", divisor_override=divisor)


# ------------------------------------------------------------------------ lp pooling
@pytest.mark.parametrize("norm_type", [1, 2, 3, 1.5])
@pytest.mark.parametrize("padding,mode", [(1, None), ("same", None), (((1, 0), (2, 1)), None),
                                          (1, "reflect"), ("same", "symmetric"),
                                          (((0, 2), (1, 1)), "circular"), (2, "replicate")],
                         ids=fmt)
def test_lp_pool_padding(norm_type, padding, mode):
    x = np.random.default_rng(20).uniform(0.2, 2.0, (2, 2, 5, 6))
    check_lp(x, norm_type, padding_mode=mode, kernel_size=3, stride=2, padding=padding)


def test_lp_pool1d_and_3d_with_padding():
    x = np.random.default_rng(21).uniform(0.2, 2.0, (2, 2, 7))
    check_lp(x, 2, kernel_size=2, stride=1, padding="same")
    x = np.random.default_rng(22).uniform(0.2, 2.0, (1, 2, 4, 5, 3))
    check_lp(x, 3, padding_mode="reflect", kernel_size=2, stride=1, padding=1)


# ---------------------------------------------------------------------------- maxout
@pytest.mark.parametrize("shape,pool_size", [((2, 6, 4, 5), 2), ((2, 6, 4, 5), 3), ((3, 8), 4),
                                             ((1, 6, 7), 6), ((2, 4, 3, 2, 2), 2), ((2, 5, 3), 1)],
                         ids=fmt)
def test_maxout(shape, pool_size):
    x = randn(shape, seed=23)
    out, grad, g = forward_backward(lambda t: F.maxout(t, pool_size), x)
    ref, ref_grad = maxout_reference(x, pool_size, grad_output=g)
    assert out.shape == (shape[0], shape[1] // pool_size) + shape[2:]
    assert_close(out, ref, "forward")
    assert_close(grad, ref_grad, "input gradient")


def test_maxout_groups_are_consecutive_channels():
    x = np.zeros((1, 4, 1, 1))
    x[0, :, 0, 0] = [1.0, 4.0, 3.0, 2.0]  # groups (1, 4) and (3, 2), not (1, 3) and (4, 2)
    np.testing.assert_array_equal(as_array(F.maxout(x, 2).data)[0, :, 0, 0], [4.0, 3.0])


def test_maxout_float32_stays_float32():
    out = F.maxout(randn((2, 4, 3), seed=24).astype(np.float32), 2)
    assert out.dtype == np.float32


# ------------------------------------------------------------------------------ ties
def test_ties_all_equal_windows_gradient_goes_to_first_element():
    x = np.full((1, 1, 4, 6), 2.5)
    out, grad, g = forward_backward(lambda t: F.max_pool2d(t, 2), x)
    np.testing.assert_array_equal(out, np.full((1, 1, 2, 3), 2.5))
    expected = np.zeros_like(x)
    expected[0, 0, ::2, ::2] = g[0, 0]  # top-left of every 2x2 window
    np.testing.assert_array_equal(grad, expected)
    _, indices = F.max_pool2d(x, 2, return_indices=True)
    np.testing.assert_array_equal(as_array(indices)[0, 0], [[0, 2, 4], [12, 14, 16]])


def test_ties_overlapping_windows_accumulate_on_first_real_element():
    """Constant map, 3x3 stride 1 padding 1 (-inf fill): window (i, j) starts at input
    (max(i-1, 0), max(j-1, 0)), its first real sample in row-major order."""
    x = np.full((1, 1, 4, 5), -1.0)
    out, grad, g = forward_backward(lambda t: F.max_pool2d(t, 3, stride=1, padding=1), x)
    np.testing.assert_array_equal(out, x)
    expected = np.zeros_like(x)
    for i, j in itertools.product(range(4), range(5)):
        expected[0, 0, max(i - 1, 0), max(j - 1, 0)] += g[0, 0, i, j]
    assert_close(grad, expected, "tie gradient")
    ref, ref_indices = max_pool_reference(x, 3, 1, 1)
    assert_close(grad, max_pool_backward_reference(x.shape, ref_indices, g), "vs reference")


def test_ties_later_equal_values_do_not_win():
    x = np.array([[[1.0, 5.0, 5.0, 2.0, 3.0, 3.0, 3.0, 0.0, 7.0, 1.0, 7.0, 7.0]]])
    out, grad, g = forward_backward(lambda t: F.max_pool1d(t, 4), x)
    np.testing.assert_array_equal(out, [[[5.0, 3.0, 7.0]]])
    expected = np.zeros_like(x)
    expected[0, 0, [1, 4, 8]] = g[0, 0]
    np.testing.assert_array_equal(grad, expected)
    _, indices = F.max_pool1d(x, 4, return_indices=True)
    np.testing.assert_array_equal(as_array(indices), [[[1, 4, 8]]])


@pytest.mark.parametrize("kwargs", [
    dict(kernel_size=2, stride=1), dict(kernel_size=3, stride=2, padding="same"),
    dict(kernel_size=2, stride=1, dilation=2), dict(kernel_size=3, stride=1, padding=((2, 0), (0, 2))),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
], ids=lambda v: "-".join(f"{k}{fmt(w)}" for k, w in v.items()))
def test_ties_integer_valued_map_vs_reference(kwargs):
    """Many ties (values in {0, 1, 2}): every output's gradient lands on the first maximum."""
    x = np.random.default_rng(25).integers(0, 3, (2, 2, 6, 7)).astype(np.float64)
    check_max(x, **kwargs)


def test_ties_3d_constant():
    x = np.zeros((1, 1, 2, 4, 4))
    out, grad, g = forward_backward(lambda t: F.max_pool3d(t, 2), x)
    expected = np.zeros_like(x)
    expected[0, 0, 0, ::2, ::2] = g[0, 0, 0]
    np.testing.assert_array_equal(grad, expected)


# ------------------------------------------------------------------- gradient checks
@pytest.mark.parametrize("kwargs", [
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=2, stride=1, padding="same", count_include_pad=False),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    dict(kernel_size=(2, 3), stride=(1, 2), padding=((1, 0), (2, 1)), divisor_override=4),
    dict(kernel_size=3, stride=1, padding=2, padding_mode="reflect"),
    dict(kernel_size=2, stride=2, padding="same", padding_mode="symmetric"),
], ids=lambda v: "-".join(f"{k}{fmt(w)}" for k, w in v.items()))
def test_gradcheck_avg_pool(kwargs):
    check_gradients(lambda t: F.avg_pool2d(t, **kwargs), randn((2, 2, 5, 4), seed=26))


@pytest.mark.parametrize("norm_type", [2, 3, 1.5])
@pytest.mark.parametrize("kwargs", [
    dict(kernel_size=2, stride=1), dict(kernel_size=3, stride=2, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding="same"),
    dict(kernel_size=2, stride=1, padding=1, padding_mode="circular"),
], ids=lambda v: "-".join(f"{k}{fmt(w)}" for k, w in v.items()))
def test_gradcheck_lp_pool(norm_type, kwargs):
    x = np.random.default_rng(27).uniform(0.3, 1.5, (1, 2, 5, 4))
    check_gradients(lambda t: F.lp_pool2d(t, norm_type, **kwargs), x)


@pytest.mark.parametrize("pool_size", [2, 3])
def test_gradcheck_maxout(pool_size):
    check_gradients(lambda t: F.maxout(t, pool_size), randn((2, 6, 3, 2), seed=28))


@pytest.mark.parametrize("kwargs", [
    dict(kernel_size=2), dict(kernel_size=3, stride=1, padding=1),
    dict(kernel_size=3, stride=2, padding="same", dilation=2),
    dict(kernel_size=2, stride=2, padding=1, padding_mode="replicate"),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
], ids=lambda v: "-".join(f"{k}{fmt(w)}" for k, w in v.items()))
def test_gradcheck_max_pool_no_ties(kwargs):
    check_gradients(lambda t: F.max_pool2d(t, **kwargs), randn((2, 2, 5, 6), seed=29))


def test_gradcheck_max_pool_1d_3d_and_adaptive():
    check_gradients(lambda t: F.max_pool1d(t, 3, 2, padding="same"), randn((2, 2, 7), seed=30))
    check_gradients(lambda t: F.max_pool3d(t, 2, 1), randn((1, 2, 3, 3, 4), seed=31))
    check_gradients(lambda t: F.adaptive_max_pool2d(t, (3, 5)), randn((1, 2, 5, 4), seed=32))
    check_gradients(lambda t: F.adaptive_avg_pool2d(t, (3, 5)), randn((1, 2, 5, 4), seed=33))


# -------------------------------------------------------------------- notes' examples
def test_seed001_fig_8_8_15x15_with_3x3_windows_stride_3_gives_5x5():
    x = randn((1, 1, 15, 15), seed=34)
    out, grad, g = forward_backward(lambda t: F.max_pool2d(t, 3, stride=3), x)
    assert out.shape == (1, 1, 5, 5)
    blocks = x[0, 0].reshape(5, 3, 5, 3)
    np.testing.assert_array_equal(out[0, 0], blocks.max(axis=(1, 3)))
    expected = np.zeros((5, 3, 5, 3))
    for i, j in itertools.product(range(5), range(5)):
        a, b = np.unravel_index(np.argmax(blocks[i, :, j, :]), (3, 3))
        expected[i, a, j, b] = g[0, 0, i, j]
    np.testing.assert_array_equal(grad[0, 0], expected.reshape(15, 15))


@pytest.mark.parametrize("shape", [(1, 16, 32, 64), (2, 16, 33, 63)], ids=fmt)
@pytest.mark.parametrize("size", [2, 3])
def test_uwnet_max_pool_same_padding(shape, size):
    """Seed 000's max pool layer: window `size` centred on the pixel, stride 2, 'same'
    sizing out = (in - 1) // 2 + 1, -inf padding; forward and backward vs the loops."""
    x = randn(shape, seed=35)
    out, _ = check_max(x, kernel_size=size, stride=2, padding="same")
    assert out.shape == shape[:2] + ((shape[2] - 1) // 2 + 1, (shape[3] - 1) // 2 + 1)
    # the rule itself: before = (size - 1) // 2; one extra sample after on odd sizes
    assert padding_pairs("same", shape[2:], size, 2) == [((size - 1) // 2, n % 2) for n in shape[2:]]


def test_seed002_one_summary_per_quadrant_is_adaptive_max_pool_2():
    x = randn((2, 3, 6, 8), seed=36)
    out, grad, g = forward_backward(lambda t: F.adaptive_max_pool2d(t, 2), x)
    quadrants = np.empty((2, 3, 2, 2))
    expected_grad = np.zeros_like(x)
    for qi, qj in itertools.product(range(2), range(2)):
        block = x[:, :, qi * 3:(qi + 1) * 3, qj * 4:(qj + 1) * 4]
        quadrants[:, :, qi, qj] = block.max(axis=(2, 3))
        for n, c in itertools.product(range(2), range(3)):
            a, b = np.unravel_index(np.argmax(block[n, c]), block.shape[2:])
            expected_grad[n, c, qi * 3 + a, qj * 4 + b] += g[n, c, qi, qj]
    np.testing.assert_array_equal(out, quadrants)
    np.testing.assert_array_equal(grad, expected_grad)


def test_quadrants_of_odd_map_overlap_by_torch_rule():
    """in 7 -> out 2: windows [floor(0), ceil(3.5)) = [0, 4) and [floor(3.5), 7) = [3, 7)."""
    x = randn((1, 2, 7, 5), seed=37)
    rows, cols = [(0, 4), (3, 7)], [(0, 3), (2, 5)]
    expected = np.empty((1, 2, 2, 2))
    for (i, (r0, r1)), (j, (c0, c1)) in itertools.product(enumerate(rows), enumerate(cols)):
        expected[:, :, i, j] = x[:, :, r0:r1, c0:c1].max(axis=(2, 3))
    np.testing.assert_array_equal(as_array(F.adaptive_max_pool2d(x, 2).data), expected)


@pytest.mark.parametrize("nd,kwargs", [
    (2, dict(kernel_size=3, stride=1, padding=1)), (2, dict(kernel_size=2, stride=2, padding="same")),
    (2, dict(kernel_size=3, stride=2, padding="same")), (2, dict(kernel_size=4, stride=1, padding=3)),
    (1, dict(kernel_size=3, stride=1, padding=1)), (3, dict(kernel_size=3, stride=2, padding=1)),
], ids=lambda v: fmt(v) if not isinstance(v, dict) else "-".join(f"{k}{fmt(w)}" for k, w in v.items()))
def test_all_negative_map_with_padding_stays_negative(nd, kwargs):
    """Seed 000: 'you shouldn't zero pad, some patches may all be negative'."""
    shape = (2, 2) + (5, 6, 3)[:nd] if nd < 3 else (1, 2, 5, 4, 3)
    x = -np.random.default_rng(38).uniform(0.5, 2.0, shape)
    out = as_array(getattr(F, f"max_pool{nd}d")(x, **kwargs).data)
    assert np.all(out < 0), "padding leaked a 0 into a max over an all-negative map"
    check_max(x, **kwargs)
