"""convnet.filters: correlate/convolve, named kernels, Sobel gradients (seeds 000, 001, 004).

Oracles and tolerances:
- scipy.ndimage.correlate/convolve (every boundary), correlate1d/convolve1d,
  scipy.signal.correlate2d/convolve2d (valid/full, wrap/symm), numpy.convolve, all in
  float64: 1e-12 absolute (values are O(10)).
- cv2.filter2D and cv2.Sobel in float32: 1e-5 absolute (float32 rounding of O(10) sums).
- The seeds' examples: exact.
"""


import numpy as np
import pytest

from convnet import filters
from convnet.filters import kernels
from convnet.viz import orientation_image as viz_orientation_image

ndimage = pytest.importorskip("scipy.ndimage", reason="scipy is the oracle for filters")
signal = pytest.importorskip("scipy.signal", reason="scipy is the oracle for filters")

NDIMAGE_MODE = {"zero": "constant", "clamp": "nearest", "wrap": "wrap", "mirror": "mirror",
                "mirror-edge": "reflect"}
BOUNDARIES = list(NDIMAGE_MODE)
KERNEL_SHAPES = [(1, 1), (1, 2), (2, 1), (2, 2), (3, 3), (2, 3), (4, 4), (3, 5), (5, 2)]


# the package's ``correlate`` function shadows its module of the same name
from convnet.filters import correlation as correlate_module


def rng(seed):
    return np.random.default_rng(seed)


def even_origin(shape):
    """scipy.ndimage origin that puts its centre on convnet's: top-left of an even kernel's centre."""
    return [0 if k % 2 else -1 for k in shape]


# ---------------------------------------------------------------- oracles: scipy

@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("kernel_shape", KERNEL_SHAPES)
def test_same_matches_scipy_ndimage(boundary, kernel_shape):
    image = rng(0).standard_normal((9, 11))
    kernel = rng(1).standard_normal(kernel_shape)
    mode = NDIMAGE_MODE[boundary]
    expected = ndimage.correlate(image, kernel, mode=mode, cval=0.0, origin=even_origin(kernel_shape))
    np.testing.assert_allclose(filters.correlate(image, kernel, "same", boundary), expected,
                               rtol=0, atol=1e-12)
    # true convolution: ndimage.convolve with origin 0, for odd and even kernels alike
    expected = ndimage.convolve(image, kernel, mode=mode, cval=0.0)
    np.testing.assert_allclose(filters.convolve(image, kernel, "same", boundary), expected,
                               rtol=0, atol=1e-12)


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_kernel_larger_than_image_repeats_the_boundary_rule(boundary):
    image = rng(2).standard_normal((4, 5))
    kernel = rng(3).standard_normal((11, 9))
    expected = ndimage.correlate(image, kernel, mode=NDIMAGE_MODE[boundary], cval=0.0)
    np.testing.assert_allclose(filters.correlate(image, kernel, "same", boundary), expected,
                               rtol=0, atol=1e-12)


@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("size", [1, 2, 3, 4, 7])
def test_one_d_matches_scipy_ndimage_and_numpy(boundary, size):
    signal_1d = rng(4).standard_normal(13)
    kernel = rng(5).standard_normal(size)
    mode = NDIMAGE_MODE[boundary]
    origin = 0 if size % 2 else -1
    np.testing.assert_allclose(filters.correlate(signal_1d, kernel, "same", boundary),
                               ndimage.correlate1d(signal_1d, kernel, mode=mode, origin=origin),
                               rtol=0, atol=1e-12)
    np.testing.assert_allclose(filters.convolve(signal_1d, kernel, "same", boundary),
                               ndimage.convolve1d(signal_1d, kernel, mode=mode), rtol=0, atol=1e-12)
    np.testing.assert_allclose(filters.convolve(signal_1d, kernel, "full"),
                               np.convolve(signal_1d, kernel, "full"), rtol=0, atol=1e-12)
    np.testing.assert_allclose(filters.correlate(signal_1d, kernel, "valid"),
                               np.correlate(signal_1d, kernel, "valid"), rtol=0, atol=1e-12)


def test_one_d_kernel_filters_the_last_axis_of_any_array():
    rows = rng(6).standard_normal((3, 4, 10))
    kernel = np.array([1.0, -2.0, 0.5])
    out = filters.correlate(rows, kernel, "same", "clamp")
    assert out.shape == rows.shape
    np.testing.assert_allclose(out, ndimage.correlate1d(rows, kernel, axis=-1, mode="nearest"),
                               rtol=0, atol=1e-12)


@pytest.mark.parametrize("mode", ["valid", "full"])
@pytest.mark.parametrize("kernel_shape", KERNEL_SHAPES)
def test_valid_and_full_match_scipy_signal(mode, kernel_shape):
    image = rng(7).standard_normal((8, 10))
    kernel = rng(8).standard_normal(kernel_shape)
    np.testing.assert_allclose(filters.correlate(image, kernel, mode),
                               signal.correlate2d(image, kernel, mode), rtol=0, atol=1e-12)
    np.testing.assert_allclose(filters.convolve(image, kernel, mode),
                               signal.convolve2d(image, kernel, mode), rtol=0, atol=1e-12)


@pytest.mark.parametrize("boundary, signal_boundary", [("zero", "fill"), ("wrap", "wrap"),
                                                       ("mirror-edge", "symm")])
@pytest.mark.parametrize("mode", ["full", "same"])
def test_scipy_signal_boundaries(boundary, signal_boundary, mode):
    image = rng(9).standard_normal((7, 9))
    kernel = rng(10).standard_normal((3, 5))     # odd: scipy.signal's 'same' centre is ours
    np.testing.assert_allclose(filters.convolve(image, kernel, mode, boundary),
                               signal.convolve2d(image, kernel, mode, boundary=signal_boundary),
                               rtol=0, atol=1e-12)


@pytest.mark.parametrize("kernel_shape", [(2, 2), (4, 3), (3, 3)])
def test_even_kernel_same_is_a_crop_of_full(kernel_shape):
    """The stated convention: 'same' is full[k//2 : k//2 + n] for both operations."""
    image = rng(11).standard_normal((6, 7))
    kernel = rng(12).standard_normal(kernel_shape)
    crop = tuple(slice(k // 2, k // 2 + n) for k, n in zip(kernel_shape, image.shape))
    np.testing.assert_allclose(filters.convolve(image, kernel),
                               signal.convolve2d(image, kernel, "full")[crop], rtol=0, atol=1e-12)
    np.testing.assert_allclose(filters.correlate(image, kernel),
                               signal.correlate2d(image, kernel, "full")[crop], rtol=0, atol=1e-12)


@pytest.mark.parametrize("anchor", [(0, 0), (1, 2), (2, 0)])
def test_anchor_is_scipy_origin_shifted(anchor):
    image = rng(13).standard_normal((7, 8))
    kernel = rng(14).standard_normal((3, 4))
    origin = [a - k // 2 for a, k in zip(anchor, kernel.shape)]
    np.testing.assert_allclose(filters.correlate(image, kernel, anchor=anchor),
                               ndimage.correlate(image, kernel, mode="constant", origin=origin),
                               rtol=0, atol=1e-12)
    # convolve's anchor indexes the unflipped kernel: correlate with both flipped
    flipped_anchor = tuple(k - 1 - a for k, a in zip(kernel.shape, anchor))
    np.testing.assert_allclose(filters.convolve(image, kernel, anchor=anchor),
                               filters.correlate(image, kernel[::-1, ::-1], anchor=flipped_anchor),
                               rtol=0, atol=1e-12)


def test_channels_and_multichannel_kernels():
    image = rng(15).standard_normal((3, 6, 7))
    kernel = rng(16).standard_normal((3, 3))
    per_channel = filters.correlate(image, kernel, "same", "mirror")
    assert per_channel.shape == (3, 6, 7)
    for channel in range(3):
        np.testing.assert_allclose(per_channel[channel],
                                   filters.correlate(image[channel], kernel, "same", "mirror"),
                                   rtol=0, atol=1e-12)
    stack = rng(17).standard_normal((3, 3, 2))
    summed = filters.convolve(image, stack, "full", "zero")
    assert summed.shape == (8, 8)
    expected = sum(signal.convolve2d(image[c], stack[c], "full") for c in range(3))
    np.testing.assert_allclose(summed, expected, rtol=0, atol=1e-12)


def test_fft_path_equals_im2col_path(monkeypatch):
    image = rng(18).standard_normal((2, 20, 17))
    kernel = rng(19).standard_normal((2, 6, 5))
    direct = filters.correlate(image, kernel, "same", "mirror")
    monkeypatch.setattr(correlate_module, "_IM2COL_LIMIT", 0)
    np.testing.assert_allclose(filters.correlate(image, kernel, "same", "mirror"), direct,
                               rtol=0, atol=1e-12)
    np.testing.assert_allclose(filters.convolve(image[0], kernel[0], "valid"),
                               signal.convolve2d(image[0], kernel[0], "valid"), rtol=0, atol=1e-12)


def test_dtypes_and_names():
    image32 = rng(20).random((5, 5)).astype(np.float32)
    assert filters.correlate(image32, kernels.HIGH_PASS).dtype == np.float32
    assert filters.correlate(image32.astype(np.float64), [[1, 2]]).dtype == np.float64
    assert filters.correlate([1, 2, 3], [1, 1]).dtype == np.float32
    np.testing.assert_array_equal(filters.correlate(image32, kernels.SOBEL_X, boundary="mirror"),
                                  filters.correlate(image32, kernels.SOBEL_X, boundary="reflect"))


def test_image_paths_are_read_as_floats_in_0_1(tmp_path):
    Image = pytest.importorskip("PIL.Image", reason="Pillow reads image files")
    grey = (rng(21).random((6, 5)) * 255).astype(np.uint8)
    colour = (rng(22).random((6, 5, 3)) * 255).astype(np.uint8)
    Image.fromarray(grey).save(tmp_path / "grey.png")
    Image.fromarray(colour).save(tmp_path / "colour.png")
    out = filters.correlate(str(tmp_path / "grey.png"), kernels.box(3))
    np.testing.assert_allclose(out, filters.correlate(grey / np.float32(255), kernels.box(3)),
                               rtol=0, atol=1e-6)
    assert out.dtype == np.float32
    rgb = filters.read_image(tmp_path / "colour.png")
    assert rgb.shape == (3, 6, 5) and rgb.dtype == np.float32
    np.testing.assert_allclose(rgb, np.moveaxis(colour, -1, 0) / 255, rtol=0, atol=1e-6)


@pytest.mark.parametrize("call, message", [
    (lambda: filters.correlate(np.ones((4, 4)), np.ones((3, 3)), mode="middle"), "mode"),
    (lambda: filters.correlate(np.ones((4, 4)), np.ones((3, 3)), boundary="edge"), "boundary"),
    (lambda: filters.correlate(np.ones((4, 4)), np.ones((3, 3)), "valid", anchor=(0, 0)), "anchor"),
    (lambda: filters.correlate(np.ones((4, 4)), np.ones((3, 3)), anchor=(3, 0)), "anchor"),
    (lambda: filters.correlate(np.ones((4, 4)), np.ones((5, 3)), "valid"), "larger"),
    (lambda: filters.correlate(np.ones((2, 4, 4)), np.ones((3, 3, 3))), "multi-channel"),
    (lambda: filters.correlate(np.ones(4), np.ones((3, 3))), "image"),
    (lambda: filters.correlate(np.ones((4, 4)), np.ones((1, 1, 1, 1))), "kernel"),
])
def test_errors_name_the_argument(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ---------------------------------------------------------------- oracles: OpenCV

@pytest.mark.parametrize("boundary", ["zero", "clamp", "mirror", "mirror-edge"])
@pytest.mark.parametrize("kernel_shape", [(3, 3), (2, 2), (4, 3), (5, 2)])
def test_filter2d_matches(boundary, kernel_shape):
    cv2 = pytest.importorskip("cv2", reason="OpenCV is an optional oracle")
    # BORDER_WRAP is not tested: cv2.filter2D rejects it
    border = {"zero": cv2.BORDER_CONSTANT, "clamp": cv2.BORDER_REPLICATE,
              "mirror": cv2.BORDER_REFLECT_101, "mirror-edge": cv2.BORDER_REFLECT}[boundary]
    image = rng(23).random((12, 15)).astype(np.float32)
    kernel = rng(24).standard_normal(kernel_shape).astype(np.float32)
    kh, kw = kernel_shape
    # filter2D correlates; its default anchor is k // 2, convnet's (k - 1) // 2: pass ours
    expected = cv2.filter2D(image, -1, kernel, anchor=((kw - 1) // 2, (kh - 1) // 2),
                            borderType=border)
    np.testing.assert_allclose(filters.correlate(image, kernel, "same", boundary), expected,
                               rtol=0, atol=1e-5)
    expected = cv2.filter2D(image, -1, kernel, anchor=(0, kh - 1), borderType=border)
    np.testing.assert_allclose(filters.correlate(image, kernel, "same", boundary,
                                                 anchor=(kh - 1, 0)), expected, rtol=0, atol=1e-5)


def test_sobel_matches_cv2_and_scipy():
    image = rng(25).random((10, 13))
    gx, gy = filters.gradient(image)
    np.testing.assert_allclose(gx, ndimage.sobel(image, axis=1, mode="mirror"), rtol=0, atol=1e-12)
    np.testing.assert_allclose(gy, ndimage.sobel(image, axis=0, mode="mirror"), rtol=0, atol=1e-12)
    np.testing.assert_allclose(filters.gradient_magnitude(image), np.hypot(gx, gy), rtol=0, atol=0)
    np.testing.assert_allclose(filters.gradient_orientation(image), np.arctan2(gy, gx), rtol=0, atol=0)
    cv2 = pytest.importorskip("cv2", reason="OpenCV is an optional oracle")
    image32 = image.astype(np.float32)
    gx32, gy32 = filters.gradient(image32)
    np.testing.assert_allclose(gx32, cv2.Sobel(image32, cv2.CV_32F, 1, 0, ksize=3), rtol=0, atol=1e-5)
    np.testing.assert_allclose(gy32, cv2.Sobel(image32, cv2.CV_32F, 0, 1, ksize=3), rtol=0, atol=1e-5)


# ---------------------------------------------------------------- the seeds' examples

def test_seed000_high_pass_1d():
    m = [0, 1, 2, 3, 2, 5, 6, 7, 8, 14, 10, 11, 12, 8, 14]
    notes = [0, 0, 2, -4, 2, 0, 0, -5, 10, -5, 0, 5, -10]
    np.testing.assert_array_equal(filters.correlate(m, kernels.HIGH_PASS_1D, "valid"), notes)
    # 'same' keeps 15 samples: the notes' 13 plus one window at each end ([0, 0, 1], [8, 14, 0])
    np.testing.assert_array_equal(filters.correlate(m, kernels.HIGH_PASS_1D), [-1] + notes + [20])
    # symmetric kernel: convolution and correlation agree
    np.testing.assert_array_equal(filters.convolve(m, kernels.HIGH_PASS_1D, "valid"), notes)


def test_p8_1_convolution_flips_the_kernel():
    w = np.arange(1.0, 10.0).reshape(3, 3)
    impulse = np.zeros((5, 5))
    impulse[2, 2] = 1
    # a convolution's impulse response is the kernel; a correlation's is the kernel flipped
    np.testing.assert_array_equal(filters.convolve(impulse, w)[1:4, 1:4], w)
    np.testing.assert_array_equal(filters.correlate(impulse, w)[1:4, 1:4], w[::-1, ::-1])
    image = rng(26).standard_normal((6, 6))
    np.testing.assert_allclose(filters.convolve(image, w, "valid"),
                               filters.correlate(image, w[::-1, ::-1], "valid"), rtol=0, atol=1e-12)


E84_IMAGE = np.array([[0, 0, 0, 0, 0],
                      [0, 0, 0, 0, 0],
                      [0, 0, 1, 0, 0],
                      [0, 1, 1, 0, 0],
                      [0, 0, 0, 0, 0]], dtype=np.float64)
E84_SHIFTED = np.array([[0, 0, 0, 0, 0],      # one pixel right and one up
                        [0, 0, 0, 1, 0],
                        [0, 0, 1, 1, 0],
                        [0, 0, 0, 0, 0],
                        [0, 0, 0, 0, 0]], dtype=np.float64)


def test_p8_2_e8_4_shift_kernel():
    np.testing.assert_array_equal(kernels.SHIFT_RIGHT_UP, [[0, 1], [0, 0]])
    shifted = filters.convolve(E84_IMAGE, kernels.SHIFT_RIGHT_UP,
                               anchor=kernels.SHIFT_RIGHT_UP_ANCHOR)
    np.testing.assert_array_equal(shifted, E84_SHIFTED)
    np.testing.assert_array_equal(filters.convolve(E84_IMAGE, kernels.shift_kernel(1, 1)), E84_SHIFTED)
    # the kernel is an impulse response: convolving the impulse gives it back
    impulse = np.zeros((3, 3))
    impulse[1, 1] = 1
    np.testing.assert_array_equal(filters.convolve(impulse, kernels.shift_kernel(1, 1)),
                                  kernels.shift_kernel(1, 1))
    # correlating with the same kernel moves the other way (P8.1: the kernel is flipped)
    np.testing.assert_array_equal(filters.correlate(E84_SHIFTED, kernels.shift_kernel(1, 1)),
                                  E84_IMAGE)


def test_seed000_multichannel_kernel_sees_red_vertical_and_green_horizontal_only():
    def edge(channel, vertical):
        image = np.zeros((3, 9, 9))
        if vertical:
            image[channel, :, 5:] = 1
        else:
            image[channel, 5:, :] = 1
        return np.abs(filters.correlate(image, kernels.SEED000_MULTICHANNEL, "valid")).max()

    assert edge(0, vertical=True) == 4 and edge(1, vertical=False) == 4
    assert edge(2, vertical=True) == 0 and edge(2, vertical=False) == 0
    assert edge(0, vertical=False) == 0 and edge(1, vertical=True) == 0


def test_sobel_responds_to_vertical_lines_not_constants():
    image = np.zeros((9, 9))
    image[:, 4] = 1                                      # a vertical line
    gx, gy = filters.gradient(image)
    assert np.abs(gx).max() == 4 and np.abs(gy).max() == 0
    np.testing.assert_array_equal(gx[:, 3], 4)           # rising edge left of the line
    np.testing.assert_array_equal(gx[:, 5], -4)          # falling edge right of it
    for boundary in ["clamp", "wrap", "mirror", "mirror-edge"]:
        gx, gy = filters.gradient(np.full((6, 7), 0.7), boundary)
        assert np.abs(gx).max() < 1e-12 and np.abs(gy).max() < 1e-12
    gx, _ = filters.gradient(np.full((6, 7), 0.7), "zero")
    assert np.abs(gx[1:-1, 1:-1]).max() < 1e-12 and np.abs(gx[:, 0]).min() > 0   # the frame


def test_seed004_vertical_edge_detectors():
    image = np.zeros((6, 8))
    image[:, 4:] = 1                                     # dark left, bright right
    for width in (2, 3):
        detector = kernels.vertical_edge(4, width)
        assert detector.shape == (4, width)
        response = filters.correlate(image, detector, "valid")
        assert response.max() == 4 and response.min() == 0
        assert filters.correlate(1 - image, detector, "valid").min() == -4
        assert np.abs(filters.correlate(image.T, detector, "valid")).max() == 0   # horizontal edge


def outline(kind, size=15, radius=5):
    dy, dx = np.mgrid[:size, :size] - size // 2
    if kind == "square":
        return (np.maximum(abs(dy), abs(dx)) == radius).astype(float)
    return (abs(dy) + abs(dx) == radius).astype(float)


def test_fig_8_5_line_kernels_tell_squares_from_diamonds():
    square, diamond = outline("square"), outline("diamond")

    def peak(image, name):
        return filters.correlate(image, kernels.LINE_KERNELS[name], "valid").max()

    for straight in ("horizontal", "vertical"):
        assert peak(square, straight) == 3 and peak(diamond, straight) < 3
    for slanted in ("diagonal", "antidiagonal"):
        assert peak(diamond, slanted) == 3 and peak(square, slanted) < 3


def test_named_kernels():
    assert kernels.HIGH_PASS.sum() == 0 and kernels.HIGH_PASS_1D.sum() == 0
    assert kernels.LAPLACIAN.sum() == 0 and kernels.SHARPEN.sum() == 1
    np.testing.assert_array_equal(kernels.SOBEL_Y, kernels.SOBEL_X.T)
    np.testing.assert_array_equal(kernels.SEED000_MULTICHANNEL[2], 0)
    assert kernels.box(3).shape == (3, 3) and kernels.box((2, 5)).sum() == pytest.approx(1)
    np.testing.assert_allclose(kernels.box(3, ndim=1), [1 / 3] * 3)
    for name, kernel in kernels.KERNELS.items():
        assert not kernel.flags.writeable, name
    with pytest.raises(ValueError, match="size"):
        kernels.gaussian(1.0, size=4)
    with pytest.raises(ValueError, match="width"):
        kernels.vertical_edge(3, 4)


@pytest.mark.parametrize("sigma", [0.6, 1.5])
def test_gaussian_matches_scipy_gaussian_filter(sigma):
    image = rng(27).random((16, 18))
    smoothed = filters.correlate(image, kernels.gaussian(sigma), boundary="mirror")
    np.testing.assert_allclose(smoothed, ndimage.gaussian_filter(image, sigma, mode="mirror"),
                               rtol=0, atol=1e-12)
    line = image[0]
    np.testing.assert_allclose(filters.correlate(line, kernels.gaussian(sigma, ndim=1), boundary="clamp"),
                               ndimage.gaussian_filter1d(line, sigma, mode="nearest"), rtol=0, atol=1e-12)


def test_box_blur_matches_uniform_filter():
    image = rng(28).random((9, 10))
    np.testing.assert_allclose(filters.correlate(image, kernels.box(3), boundary="mirror-edge"),
                               ndimage.uniform_filter(image, 3, mode="reflect"), rtol=0, atol=1e-12)


def test_orientation_image_reuses_viz_and_picks_the_strongest_channel():
    image = rng(29).random((8, 9))
    gx, gy = filters.gradient(image)
    np.testing.assert_array_equal(filters.orientation_image(image), viz_orientation_image(gx, gy))
    rgb = np.zeros((3, 8, 9))
    rgb[1, :, 5:] = 1                                    # green vertical edge
    rgb[2, 4:, :] = 0.5                                  # weaker blue horizontal edge
    picture = filters.orientation_image(rgb)
    assert picture.shape == (8, 9, 3)
    np.testing.assert_allclose(picture[1, 4], [1, 0, 0], atol=1e-12)        # green wins: angle 0
    # blue wins where green is flat: angle pi/2 (hue 1/4), brightness 2 / 4 of the strongest edge
    np.testing.assert_allclose(picture[4, 1], [0.25, 0.5, 0], atol=1e-12)
    assert picture[0, 0].max() == 0
