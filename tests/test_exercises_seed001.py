"""Every solved problem (P8.1-P8.4) and exercise (E8.1-E8.10) of seed 001, each with its answer.

Figures the text lost (E8.1's 8x8 image and kernel, E8.3's typeface, E8.6's kernel,
Fig. 8.5's kernels) are replaced by the documented readings of
:mod:`convnet.filters.exercise_images` and :mod:`convnet.filters.kernels`; the answers
are then checked against independent oracles (loops written from the notes' equations,
scipy.signal, torch, finite differences) rather than against numbers copied from convnet.
"""

import itertools

import numpy as np
import pytest
import scipy.signal
import torch

import convnet
import convnet.functional as F
from convnet.data.shapes import make_shapes
from convnet.designed import predict, squares_vs_diamonds_network
from convnet.filters import convolve, correlate, kernels
from convnet.filters.exercise_images import (E8_1_IMAGE, E8_1_KERNEL, E8_3_LETTERS, E8_4_IMAGE,
                                             E8_6_KERNEL)
from gradcheck import check_gradients

LINE_STACK = np.stack([kernels.LINE_HORIZONTAL, kernels.LINE_VERTICAL, kernels.LINE_DIAGONAL,
                       kernels.LINE_ANTIDIAGONAL])


def convolution_loop(p, w, padding):
    """Eq. 8.8 with the kernel's origin at its centre: z[m, n] = sum_{i,j} w[i, j] p[m-i, n-j]."""
    half_h, half_w = w.shape[0] // 2, w.shape[1] // 2
    height, width = p.shape
    out_h, out_w = height + 2 * padding - w.shape[0] + 1, width + 2 * padding - w.shape[1] + 1
    z = np.zeros((out_h, out_w))
    for m, n in itertools.product(range(out_h), range(out_w)):
        centre_m, centre_n = m - padding + half_h, n - padding + half_w
        for i, j in itertools.product(range(-half_h, half_h + 1), range(-half_w, half_w + 1)):
            row, col = centre_m - i, centre_n - j
            if 0 <= row < height and 0 <= col < width:
                z[m, n] += w[i + half_h, j + half_w] * p[row, col]
    return z


def e8_1_output():
    return convolve(E8_1_IMAGE, E8_1_KERNEL, mode="same")


# ------------------------------------------------------------------ solved problems
def test_p8_1_convolution_is_correlation_with_the_flipped_kernel():
    # the notes' figures, the j axis drawn upwards: w[i, j] for i = 0..2 (columns), j = 2..0 (rows)
    w_as_printed = np.array([[7, 8, 9], [4, 5, 6], [1, 2, 3]], dtype=float)
    # w[-i, j]: left-right flip, printed over i = -2..0 as rows "9 8 7 / 6 5 4 / 3 2 1"
    np.testing.assert_array_equal(np.fliplr(w_as_printed), [[9, 8, 7], [6, 5, 4], [3, 2, 1]])
    # w[-i, -j]: then upside down, printed over j = 0..-2 as rows "3 2 1 / 6 5 4 / 9 8 7"
    np.testing.assert_array_equal(np.flipud(np.fliplr(w_as_printed)),
                                  [[3, 2, 1], [6, 5, 4], [9, 8, 7]])
    p = np.random.default_rng(0).standard_normal((6, 7))
    w = np.random.default_rng(1).standard_normal((3, 3))
    np.testing.assert_allclose(convolution_loop(p, w, 0),
                               correlate(p, w[::-1, ::-1], mode="valid"), rtol=1e-12)


def test_p8_2_impulse_response_of_the_shift_is_the_printed_kernel():
    impulse = np.zeros((5, 5))
    impulse[2, 2] = 1  # rows are drawn top-down here: "up" is row - 1
    shifted = np.zeros_like(impulse)
    shifted[:-1, 1:] = impulse[1:, :-1]  # one pixel right and one up
    # the 2x2 patch from the origin, printed with its j axis upwards (bottom-left = w[0, 0])
    np.testing.assert_array_equal(shifted[1:3, 2:4], kernels.SHIFT_RIGHT_UP)


def test_p8_3_average_pooling_input_path_is_lw_expanded():
    a = np.random.default_rng(2).standard_normal((1, 2, 4, 6))
    lw, dlz = np.array([0.5, -2.0]), np.random.default_rng(3).standard_normal((1, 2, 2, 3))
    a_t = convnet.tensor(a, requires_grad=True)
    F.weighted_sum_pool2d(a_t, lw, None, 2).backward(dlz)
    expected = np.kron(dlz, np.ones((2, 2))) * lw[None, :, None, None]  # dA = lw expand(dLZ)
    np.testing.assert_allclose(a_t.grad, expected, rtol=1e-12)
    check_gradients(lambda x: F.weighted_sum_pool2d(x, lw, None, 2), a)


def test_p8_4_average_pooling_weight_path_is_a_double_reduction():
    a = np.random.default_rng(4).standard_normal((1, 2, 4, 6))
    lw, dlz = np.array([0.5, -2.0]), np.random.default_rng(5).standard_normal((1, 2, 2, 3))
    lw_t = convnet.tensor(lw, requires_grad=True)
    F.weighted_sum_pool2d(a, lw_t, None, 2).backward(dlz)
    window_sums = a.reshape(1, 2, 2, 2, 3, 2).sum(axis=(3, 5))  # sum over each 2x2 window
    np.testing.assert_allclose(lw_t.grad, (dlz * window_sums).sum(axis=(0, 2, 3)), rtol=1e-12)
    check_gradients(lambda w: F.weighted_sum_pool2d(a, w, None, 2), lw)


# ------------------------------------------------------------------ exercises
def test_e8_1_convolution_with_zero_padding_and_what_the_kernel_detects():
    z = e8_1_output()
    np.testing.assert_allclose(z, convolution_loop(E8_1_IMAGE, E8_1_KERNEL, 1), rtol=1e-12)
    np.testing.assert_allclose(z, scipy.signal.convolve2d(E8_1_IMAGE, E8_1_KERNEL, mode="same"))
    # the answer: the kernel detects "\" lines; the full response 3 is exactly on the
    # interior of the image's "\" stroke, never on the "/" stroke or the horizontal bar
    assert set(map(tuple, np.argwhere(z == 3))) == {(2, 2), (3, 3), (4, 4), (5, 5)}
    assert z.max() == E8_1_KERNEL.sum()


def test_e8_2_max_pooling_of_e8_1_output():
    z = e8_1_output()
    pooled = F.max_pool2d(z[None, None], 2, 2).data[0, 0]
    np.testing.assert_array_equal(pooled, z.reshape(4, 2, 4, 2).max(axis=(1, 3)))
    np.testing.assert_array_equal(pooled, torch.nn.functional.max_pool2d(
        torch.tensor(z[None, None]), 2, 2).numpy()[0, 0])
    assert pooled.shape == (4, 4) and pooled[1, 1] == pooled[2, 2] == 3  # the "\" survives


def test_e8_3_four_line_kernels_are_a_minimal_set_for_a_stroke_font():
    def strokes(glyph, kernel_indices):
        response = F.conv2d(glyph[None, None], LINE_STACK[kernel_indices][:, None],
                            padding="same").data[0]
        return tuple((response.max(axis=(1, 2)) >= 3).astype(int))

    every = [0, 1, 2, 3]
    codes = {letter: strokes(glyph, every) for letter, glyph in E8_3_LETTERS.items()}
    assert len(set(codes.values())) == len(codes)  # the four kernels tell every letter apart
    for dropped in every:  # and none can be dropped: two letters then look alike
        kept = [index for index in every if index != dropped]
        reduced = [strokes(glyph, kept) for glyph in E8_3_LETTERS.values()]
        assert len(set(reduced)) < len(reduced), f"kernel {dropped} was not needed"


def test_e8_4_shift_kernel_moves_the_image_right_and_up():
    z = convolve(E8_4_IMAGE, kernels.SHIFT_RIGHT_UP, anchor=kernels.SHIFT_RIGHT_UP_ANCHOR)
    expected = np.zeros((5, 5))
    expected[:-1, 1:] = E8_4_IMAGE[1:, :-1]
    np.testing.assert_array_equal(z, expected)


def test_e8_5_averaging_kernel_and_its_correlation_kernel():
    # reading of "average adjacent pixels": out[m, n] = mean of p[m..m+1, n..n+1]; its impulse
    # response is 1/4 at offsets (0, -1) x (0, -1), i.e. a 2x2 box whose origin is the
    # bottom-right element; the correlation kernel is the same box flipped: origin top-left
    box = np.full((2, 2), 0.25)
    loop = np.array([[E8_1_IMAGE[m:m + 2, n:n + 2].mean() for n in range(7)] for m in range(7)])
    convolved = convolve(E8_1_IMAGE, box, anchor=(1, 1))[:7, :7]
    correlated = correlate(E8_1_IMAGE, box, anchor=(0, 0))[:7, :7]
    np.testing.assert_allclose(convolved, loop, rtol=1e-12)
    np.testing.assert_allclose(correlated, loop, rtol=1e-12)
    impulse = np.zeros((5, 5))
    impulse[2, 2] = 1
    response = convolve(impulse, box, anchor=(1, 1))
    np.testing.assert_array_equal(np.argwhere(response), [[1, 1], [1, 2], [2, 1], [2, 2]])


def test_e8_6_convolution_against_correlation():
    w = np.asarray(E8_6_KERNEL)
    conv = convolve(E8_1_IMAGE, w, mode="valid")
    corr = correlate(E8_1_IMAGE, w, mode="valid")
    np.testing.assert_allclose(conv, scipy.signal.convolve2d(E8_1_IMAGE, w, mode="valid"))
    np.testing.assert_allclose(corr, scipy.signal.correlate2d(E8_1_IMAGE, w, mode="valid"))
    assert conv.shape == (6, 6) and not np.allclose(conv, corr)  # an asymmetric kernel differs
    flipped = np.flip(w, (0, 1))  # the correlation kernel of part iii (P8.1)
    np.testing.assert_array_equal(flipped, [[3, 2, 1], [6, 5, 4], [9, 8, 7]])
    np.testing.assert_allclose(correlate(E8_1_IMAGE, flipped, mode="valid"), conv)


def test_e8_7_output_sizes():
    image = np.zeros((1, 1, 15, 15))
    # i. (15 + 2*1 - 3) // 2 + 1 = 8
    assert F.conv2d(image, np.ones((1, 1, 3, 3)), stride=2, padding=1).shape[2:] == (8, 8)
    # ii. 15 + 2P - 3 + 1 = 15  ->  P = 1
    sizes = {p: F.conv2d(image, np.ones((1, 1, 3, 3)), padding=p).shape[2] for p in range(3)}
    assert [p for p, size in sizes.items() if size == 15] == [1]


def test_e8_8_max_pooling_sends_the_gradient_to_the_winner():
    a = np.random.default_rng(6).standard_normal((1, 2, 4, 6))
    dlz = np.random.default_rng(7).standard_normal((1, 2, 2, 3))
    a_t = convnet.tensor(a, requires_grad=True)
    F.max_pool2d(a_t, 2).backward(dlz)
    expected = np.zeros_like(a)
    for c, i, j in itertools.product(range(2), range(2), range(3)):
        window = a[0, c, 2 * i:2 * i + 2, 2 * j:2 * j + 2]
        u, v = np.unravel_index(np.argmax(window), (2, 2))
        expected[0, c, 2 * i + u, 2 * j + v] = dlz[0, c, i, j]  # dA = dLZ at the argmax, 0 elsewhere
    np.testing.assert_array_equal(a_t.grad, expected)
    check_gradients(lambda x: F.max_pool2d(x, 2), a)


def test_e8_9_product_net_input_paths():
    z = np.random.default_rng(8).standard_normal((2, 3, 4, 4))
    b = np.array([2.0, -0.5, 1.5])
    dn = np.random.default_rng(9).standard_normal(z.shape)
    z_t, b_t = convnet.tensor(z, requires_grad=True), convnet.tensor(b, requires_grad=True)
    F.product_net_input(z_t, b_t).backward(dn)
    np.testing.assert_allclose(z_t.grad, dn * b[None, :, None, None], rtol=1e-12)  # dN -> dLZ
    np.testing.assert_allclose(b_t.grad, (dn * z).sum(axis=(0, 2, 3)), rtol=1e-12)  # dN -> db
    check_gradients(F.product_net_input, z, b)


def test_e8_10_designed_network_tells_squares_from_diamonds():
    images, labels, names = make_shapes(200, image_size=15, seed=3)
    assert names == ["square", "diamond"]
    model = squares_vs_diamonds_network()
    np.testing.assert_array_equal(predict(model, images), labels)
    np.testing.assert_array_equal(model[0].weight.data[:, 0], LINE_STACK)  # Fig. 8.5's kernels


@pytest.mark.parametrize("exercise", ["E8.1", "E8.3", "E8.6"])
def test_lost_figures_are_documented(exercise):
    import convnet.filters.exercise_images as images
    assert exercise.replace(".", "_") in images.__doc__ and "Lost" in images.__doc__
