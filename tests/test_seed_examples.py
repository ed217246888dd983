"""The notes' worked examples, with their exact numbers (seeds 000-004).

Expected values are the notes' own numbers or hand derivations from their
formulas, never convnet's output.
"""

import numpy as np
import pytest

import convnet.functional as F
from convnet.ops.padding import pad
from convnet.ops.windows import im2col, output_size, same_padding

SIGNAL = np.array([0, 1, 2, 3, 2, 5, 6, 7, 8, 14, 10, 11, 12, 8, 14], dtype=np.float64)
HIGH_PASS = np.array([-1, 2, -1], dtype=np.float64)
NOTES_OUTPUT = [0, 0, 2, -4, 2, 0, 0, -5, 10, -5, 0, 5, -10]


def conv1d_values(x, f, **kwargs):
    return F.conv1d(x[None, None], f[None, None], **kwargs).data.ravel()


def test_high_pass_1d_seed000():
    np.testing.assert_array_equal(conv1d_values(SIGNAL, HIGH_PASS), NOTES_OUTPUT)


@pytest.mark.parametrize("mode, first_window, last_window", [
    # seed 000 "Padding": the sample before m[0] and after m[14]
    ("zeros", [0, 0, 1], [8, 14, 0]),        # zero-padding
    ("replicate", [0, 0, 1], [8, 14, 14]),   # clamp
    ("circular", [14, 0, 1], [8, 14, 0]),    # wrap
    ("reflect", [1, 0, 1], [8, 14, 8]),      # mirror, edge not repeated
    ("symmetric", [0, 0, 1], [8, 14, 14]),   # mirror, edge repeated
])
def test_padding_modes_keep_15_samples(mode, first_window, last_window):
    y = conv1d_values(SIGNAL, HIGH_PASS, padding="same", padding_mode=mode)
    expected = [np.dot(first_window, HIGH_PASS)] + NOTES_OUTPUT + [np.dot(last_window, HIGH_PASS)]
    np.testing.assert_array_equal(y, expected)


def test_stride2_on_five_samples_padded_and_unpadded():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(5)
    f0, f1, f2 = f = rng.standard_normal(3)
    padded = conv1d_values(x, f, stride=2, padding=1)
    np.testing.assert_allclose(padded, [0 * f0 + x[0] * f1 + x[1] * f2,
                                        x[1] * f0 + x[2] * f1 + x[3] * f2,
                                        x[3] * f0 + x[4] * f1 + 0 * f2], rtol=1e-12)
    unpadded = conv1d_values(x, f, stride=2)
    np.testing.assert_allclose(unpadded, [x[0] * f0 + x[1] * f1 + x[2] * f2,
                                          x[2] * f0 + x[3] * f1 + x[4] * f2], rtol=1e-12)
    # the notes' homework rule gives the larger output: (5 - 1) // 2 + 1 = 3
    np.testing.assert_allclose(conv1d_values(x, f, stride=2, padding="same"), padded, rtol=1e-12)


def test_even_filter_padded_at_start_or_end():
    rng = np.random.default_rng(1)
    x = rng.standard_normal(5)
    f0, f1 = f = rng.standard_normal(2)
    start = conv1d_values(x, f, padding=((1, 0),))
    np.testing.assert_allclose(start, [0 * f0 + x[0] * f1] + [x[i - 1] * f0 + x[i] * f1
                                                               for i in range(1, 5)], rtol=1e-12)
    end = conv1d_values(x, f, padding=((0, 1),))
    np.testing.assert_allclose(end, [x[i] * f0 + x[i + 1] * f1 for i in range(4)]
                               + [x[4] * f0 + 0 * f1], rtol=1e-12)
    # 'same': the centre of an even filter is its first central sample, so the pad goes at the end
    np.testing.assert_allclose(conv1d_values(x, f, padding="same"), end, rtol=1e-12)


def test_centre_of_even_4x4_filter_is_top_left_of_central_square():
    # seed 000: |o|o|o|o| / |o|X|o|o| ...: the X (row 1, col 1) sits on the output pixel
    image = np.zeros((1, 1, 6, 6))
    image[0, 0, 2, 3] = 1.0
    kernel = np.zeros((1, 1, 4, 4))
    kernel[0, 0, 1, 1] = 1.0
    np.testing.assert_array_equal(F.conv2d(image, kernel, padding="same").data, image)
    assert same_padding(6, 4, stride=1, dilation=1) == (1, 2)


# seed 000, "Convolutions as Matrix Operations": the red block of col2im(f, size=3, stride=1)
# for a 3x4 (rows x columns) channel, transcribed from the notes; 0 marks padding.
NOTES_RED_3X3 = """
0   0   0   0   0   r00 r01 r02 0   r10 r11 r12
0   0   0   0   r00 r01 r02 r03 r10 r11 r12 r13
0   0   0   0   r01 r02 r03 0   r11 r12 r13 0
0   r00 r01 r02 0   r10 r11 r12 0   r20 r21 r22
r00 r01 r02 r03 r10 r11 r12 r13 r20 r21 r22 r23
r01 r02 r03 0   r11 r12 r13 0   r21 r22 r23 0
0   r10 r11 r12 0   r20 r21 r22 0   0   0   0
r10 r11 r12 r13 r20 r21 r22 r23 0   0   0   0
r11 r12 r13 0   r21 r22 r23 0   0   0   0   0
"""
NOTES_2X2_STRIDE2 = """
r00 r02 r20 r22
r01 r03 r21 r23
r10 r12 0   0
r11 r13 0   0
"""


def _decode(table: str, image: np.ndarray, channel: int) -> np.ndarray:
    rows = []
    for line in table.strip().splitlines():
        rows.append([0.0 if token == "0" else image[channel, int(token[1]), int(token[2])]
                     for token in line.split()])
    return np.array(rows)


def test_im2col_seed000_rgb_3x3_stride1():
    rgb = np.arange(1, 37, dtype=np.float64).reshape(3, 3, 4)  # r, g, b planes of 3 rows x 4 cols
    cols = im2col(pad(rgb[None], ((1, 1), (1, 1))), (3, 3), (1, 1), (1, 1), (3, 4))
    assert cols.shape == (3 * 3 * 3, 12)  # C*S*S rows, one column per output pixel
    for channel in range(3):
        # the notes print the green and blue blocks with the red block's pattern
        # (their green block has typos mixing g and b labels); same layout per channel
        np.testing.assert_array_equal(cols[9 * channel:9 * (channel + 1)],
                                      _decode(NOTES_RED_3X3, rgb, channel))


def test_im2col_seed000_rgb_2x2_stride2():
    rgb = np.arange(1, 37, dtype=np.float64).reshape(3, 3, 4)
    top, bottom = same_padding(3, 2, stride=2, dilation=1)
    left, right = same_padding(4, 2, stride=2, dilation=1)
    assert (top, bottom, left, right) == (0, 1, 0, 0)
    cols = im2col(pad(rgb[None], ((top, bottom), (left, right))), (2, 2), (2, 2), (1, 1), (2, 2))
    assert cols.shape == (12, 4)
    for channel in range(3):
        np.testing.assert_array_equal(cols[4 * channel:4 * (channel + 1)],
                                      _decode(NOTES_2X2_STRIDE2, rgb, channel))


def test_e8_7_output_sizes():
    # i. 15x15 input, 3x3 kernel, stride 2, zero padding 1 -> 8x8
    y = F.conv2d(np.zeros((1, 1, 15, 15)), np.zeros((1, 1, 3, 3)), stride=2, padding=1)
    assert y.shape == (1, 1, 8, 8)
    assert output_size(15, 3, stride=2, dilation=1, before=1, after=1) == 8
    # ii. stride 1: padding 1 keeps 15x15, and it is what 'same' picks
    assert F.conv2d(np.zeros((1, 1, 15, 15)), np.zeros((1, 1, 3, 3)), padding=1).shape[2:] == (15, 15)
    assert same_padding(15, 3, stride=1, dilation=1) == (1, 1)


def test_p8_2_shift_kernel_applied_as_in_e8_4():
    # P8.2: W = [[0, 1], [0, 0]] is the convolution (not correlation) kernel that shifts an
    # image one pixel right and one pixel up. True convolution = correlation with the kernel
    # rotated by 180 degrees (P8.1); 'full' keeps every output, and the kernel's origin is its
    # bottom-left element (the textbook draws the row index upward), i.e. full-output row 1, col 0.
    image = np.array([[0, 0, 0, 0, 0],
                      [0, 0, 0, 0, 0],
                      [0, 0, 1, 0, 0],
                      [0, 1, 1, 0, 0],
                      [0, 0, 0, 0, 0]], dtype=np.float64)
    kernel = np.array([[0, 1], [0, 0]], dtype=np.float64)
    full = F.conv2d(image[None, None], kernel[::-1, ::-1].copy()[None, None], padding="full")
    shifted = full.data[0, 0, 1:6, 0:5]
    expected = np.array([[0, 0, 0, 0, 0],
                         [0, 0, 0, 1, 0],
                         [0, 0, 1, 1, 0],
                         [0, 0, 0, 0, 0],
                         [0, 0, 0, 0, 0]], dtype=np.float64)
    np.testing.assert_array_equal(shifted, expected)


def test_weight_sharing_matrix_eq_8_12():
    # seed 001: a 2x2 kernel on a 3x3 image is a 4x9 matrix with the kernel repeated on each row
    rng = np.random.default_rng(2)
    p = rng.standard_normal((3, 3))
    w = rng.standard_normal((2, 2))
    (w11, w12), (w21, w22) = w
    matrix = np.array([[w11, w21, 0, w12, w22, 0, 0, 0, 0],
                       [0, w11, w21, 0, w12, w22, 0, 0, 0],
                       [0, 0, 0, w11, w21, 0, w12, w22, 0],
                       [0, 0, 0, 0, w11, w21, 0, w12, w22]])
    z_columns = matrix @ p.T.ravel()          # the notes stack columns: p11, p21, p31, p12, ...
    z = F.conv2d(p[None, None], w[None, None]).data[0, 0]
    np.testing.assert_allclose(z.T.ravel(), z_columns, rtol=1e-12)


def test_parameter_counts_seed002_seed003():
    # seed 002: ten 5x5 filters on a 32x32x3 input: (5*5*3 + 1) * 10 = 760 parameters
    weight, bias = np.zeros((10, 3, 5, 5)), np.zeros(10)
    assert F.conv2d(np.zeros((1, 3, 32, 32)), weight, bias).shape == (1, 10, 28, 28)
    assert weight.size + bias.size == 760
    # seed 003: sixteen 4x4 stride-2 filters on 28x28 -> 13x13x16 maps with 256 weights
    weight = np.zeros((16, 1, 4, 4))
    y = F.conv2d(np.zeros((1, 1, 28, 28)), weight, stride=2)
    assert y.shape == (1, 16, 13, 13) and weight.size == 256
    assert y.data[0].size * 10 == 27040  # the 10-way output layer's weights


def test_strided_multichannel_pseudocode_seed004():
    # seed 004: out_c[x/s, y/s] = sum_c sum(I_c[x:x+w, y:y+h] * G_c), output floor(1 + (W-w)/s)
    rng = np.random.default_rng(3)
    image = rng.standard_normal((3, 11, 9))
    g = rng.standard_normal((3, 3, 2))
    s = 2
    W, H = image.shape[1:]
    w, h = g.shape[1:]
    out = np.zeros((1 + (W - w) // s, 1 + (H - h) // s))
    for x in range(0, W - w + 1, s):
        for y in range(0, H - h + 1, s):
            out[x // s, y // s] = sum(np.sum(image[c, x:x + w, y:y + h] * g[c]) for c in range(3))
    np.testing.assert_allclose(F.conv2d(image[None], g[None], stride=s).data[0, 0], out, rtol=1e-12)
