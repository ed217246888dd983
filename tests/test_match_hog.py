"""convnet.filters template matching and HOG.

Oracles and tolerances:
- loop references written from the definitions (match.py / hog.py docstrings), float64:
  1e-10 (matching), 1e-12 (HOG).
- cv2.matchTemplate (float32 inside OpenCV): NCC 1e-4 absolute (a score in [-1, 1]);
  SSD and plain correlation 2e-5 relative to the largest score.
- skimage.feature.hog (float64 image): 1e-7 absolute on features in [0, 1]; skimage sums
  each cell's votes in float32, convnet in float64 (observed differences ~1e-8).
"""

import numpy as np
import pytest

from convnet import filters

METHODS = ["ncc", "ssd", "correlation"]


def rng(seed):
    return np.random.default_rng(seed)


# ---------------------------------------------------------------- template matching

def match_loop(image, template, method):
    """Slow reference: every window scored with the formula of its definition."""
    if image.ndim == 2:
        image, template = image[None], template[None]
    _, h, w = template.shape
    out = np.empty((image.shape[1] - h + 1, image.shape[2] - w + 1))
    centred = template - template.mean(axis=(1, 2), keepdims=True)
    for r in range(out.shape[0]):
        for c in range(out.shape[1]):
            window = image[:, r:r + h, c:c + w]
            if method == "correlation":
                out[r, c] = (window * template).sum()
            elif method == "ssd":
                out[r, c] = ((window - template) ** 2).sum()
            else:
                window = window - window.mean(axis=(1, 2), keepdims=True)
                out[r, c] = (window * centred).sum() / np.sqrt((window ** 2).sum() * (centred ** 2).sum())
    return out


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("channels", [None, 3])
def test_match_template_matches_loop_reference(method, channels):
    shape = (14, 17) if channels is None else (channels, 14, 17)
    image = rng(0).random(shape)
    template = rng(1).random(shape[:-2] + (4, 6))
    np.testing.assert_allclose(filters.match_template(image, template, method),
                               match_loop(image, template, method), rtol=0, atol=1e-10)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("channels", [None, 3])
def test_match_template_matches_opencv(method, channels):
    cv2 = pytest.importorskip("cv2", reason="OpenCV is an optional oracle")
    code = {"ncc": cv2.TM_CCOEFF_NORMED, "ssd": cv2.TM_SQDIFF, "correlation": cv2.TM_CCORR}[method]
    shape = (40, 50) if channels is None else (channels, 40, 50)
    image = rng(2).random(shape).astype(np.float32)
    template = image[..., 10:19, 20:27] + 0.1 * rng(3).random(shape[:-2] + (9, 7)).astype(np.float32)
    if channels is None:
        expected = cv2.matchTemplate(image, template, code)
    else:                                    # OpenCV wants channels last
        expected = cv2.matchTemplate(np.moveaxis(image, 0, -1).copy(),
                                     np.moveaxis(template, 0, -1).copy(), code)
    scores = filters.match_template(image, template, method)
    assert scores.shape == (32, 44) and scores.dtype == np.float32
    tolerance = 1e-4 if method == "ncc" else 2e-5 * np.abs(expected).max()
    np.testing.assert_allclose(scores, expected, rtol=0, atol=tolerance)
    best = filters.best_match(image, template, method)
    if method != "correlation":
        assert best == (10, 20)


def test_planted_template_is_found_exactly():
    image = rng(4).random((60, 70))
    template = rng(5).random((8, 11))
    image[23:31, 41:52] = template
    assert filters.best_match(image, template, "ncc") == (23, 41)
    assert filters.best_match(image, template, "ssd") == (23, 41)
    assert filters.match_template(image, template, "ncc")[23, 41] == pytest.approx(1, abs=1e-12)
    assert filters.match_template(image, template, "ssd")[23, 41] == pytest.approx(0, abs=1e-10)
    # the matched filter of seed 001: a pattern on a dark, slightly noisy background
    dark = 0.05 * rng(6).random((60, 70))
    pattern = (rng(7).random((5, 5)) > 0.5).astype(float)
    dark[7:12, 30:35] += pattern
    assert filters.best_match(dark, pattern, "correlation") == (7, 30)
    # NCC does not care about brightness and contrast
    assert filters.best_match(3 * image + 2, template, "ncc") == (23, 41)


def test_ncc_degenerate_windows_and_templates_follow_opencv():
    image = rng(8).random((12, 12))
    image[:6, :6] = 0.5                          # a flat corner
    scores = filters.match_template(image, rng(9).random((3, 3)), "ncc")
    np.testing.assert_array_equal(scores[:4, :4], 0)
    assert np.all(np.abs(scores) <= 1)
    np.testing.assert_array_equal(filters.match_template(image, np.full((3, 3), 0.2), "ncc"), 1)
    assert filters.match_template(image, -image[6:9, 6:9], "ncc")[6, 6] == pytest.approx(-1)


def test_large_template_goes_through_the_fft(monkeypatch):
    import sys
    from convnet.filters import correlation as correlate_module
    image = rng(10).random((30, 40))
    template = image[5:25, 10:30].copy()
    direct = {method: filters.match_template(image, template, method) for method in METHODS}
    monkeypatch.setattr(correlate_module, "_IM2COL_LIMIT", 0)
    for method in METHODS:
        np.testing.assert_allclose(filters.match_template(image, template, method), direct[method],
                                   rtol=0, atol=1e-9)


@pytest.mark.parametrize("call, message", [
    (lambda: filters.match_template(np.ones((5, 5)), np.ones((2, 2)), "sad"), "method"),
    (lambda: filters.match_template(np.ones((5, 5)), np.ones((6, 2))), "template"),
    (lambda: filters.match_template(np.ones((3, 5, 5)), np.ones((2, 2))), "image, template"),
])
def test_match_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ---------------------------------------------------------------- HOG

def hog_loop(image, orientations=9, cell=(8, 8), block=(2, 2), norm="L2-Hys"):
    """Slow reference from hog.py's definition: per-pixel votes, per-block normalisation."""
    height, width = image.shape
    g_row, g_col = np.zeros_like(image), np.zeros_like(image)
    for r in range(1, height - 1):
        g_row[r] = image[r + 1] - image[r - 1]
    for c in range(1, width - 1):
        g_col[:, c] = image[:, c + 1] - image[:, c - 1]
    cells = np.zeros((height // cell[0], width // cell[1], orientations))
    for r in range(cells.shape[0] * cell[0]):
        for c in range(cells.shape[1] * cell[1]):
            angle = np.degrees(np.arctan2(g_row[r, c], g_col[r, c])) % 180
            bin_index = int(angle // (180 / orientations))
            if bin_index < orientations:
                cells[r // cell[0], c // cell[1], bin_index] += np.hypot(g_row[r, c], g_col[r, c])
    cells /= cell[0] * cell[1]
    features = []
    for r in range(cells.shape[0] - block[0] + 1):
        for c in range(cells.shape[1] - block[1] + 1):
            v = cells[r:r + block[0], c:c + block[1]]
            if norm == "L1":
                v = v / (np.abs(v).sum() + 1e-5)
            else:
                v = v / np.sqrt((v ** 2).sum() + 1e-10)
                v = np.minimum(v, 0.2)
                v = v / np.sqrt((v ** 2).sum() + 1e-10)
            features.append(v.ravel())
    return np.concatenate(features)


@pytest.mark.parametrize("shape, cell, norm", [((32, 40), (8, 8), "L2-Hys"), ((21, 26), (5, 6), "L1"),
                                               ((24, 24), (4, 4), "L2-Hys")])
def test_hog_matches_loop_reference(shape, cell, norm):
    image = rng(11).random(shape)
    np.testing.assert_allclose(filters.hog(image, pixels_per_cell=cell, block_norm=norm),
                               hog_loop(image, cell=cell, norm=norm), rtol=0, atol=1e-12)


def test_hog_seed000_counts_36_numbers_per_block():
    features = filters.hog(rng(12).random((16, 16)), feature_vector=False)
    assert features.shape == (1, 1, 2, 2, 9) and features.size == 36
    assert filters.hog(rng(13).random((64, 64))).size == 7 * 7 * 36
    assert np.linalg.norm(features) == pytest.approx(1, abs=1e-6)     # L2-Hys renormalises
    np.testing.assert_array_equal(filters.hog(np.full((16, 16), 0.3)), 0)


def test_hog_vertical_edge_votes_bin_zero():
    step = np.zeros((16, 16))
    step[:, 7:] = 1                                # brighter to the right: angle 0
    cells = filters.cell_histograms(step)
    assert cells[..., 1:].sum() == 0 and cells[:, 0, 0].min() > 0


@pytest.mark.parametrize("norm", ["L1", "L1-sqrt", "L2", "L2-Hys"])
@pytest.mark.parametrize("shape, orientations, cell, block", [
    ((64, 64), 9, (8, 8), (2, 2)),
    ((50, 77), 9, (8, 8), (2, 2)),
    ((45, 52), 7, (7, 5), (3, 2)),
    ((40, 40), 12, (6, 6), (1, 1)),
])
def test_hog_matches_skimage(norm, shape, orientations, cell, block):
    skimage_feature = pytest.importorskip("skimage.feature", reason="scikit-image is an optional oracle")
    image = rng(14).random(shape)
    expected = skimage_feature.hog(image, orientations=orientations, pixels_per_cell=cell,
                                   cells_per_block=block, block_norm=norm, feature_vector=True)
    got = filters.hog(image, orientations, cell, block, norm)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-7)


def test_hog_colour_and_real_image_match_skimage():
    pytest.importorskip("skimage", reason="scikit-image is an optional oracle")
    from skimage import data, feature
    rgb = rng(15).random((40, 48, 3))
    np.testing.assert_allclose(filters.hog(np.moveaxis(rgb, -1, 0)),
                               feature.hog(rgb, cells_per_block=(2, 2), channel_axis=-1),
                               rtol=0, atol=1e-7)
    camera = data.camera()[::4, ::4] / 255.0     # a real photograph, with flat regions
    np.testing.assert_allclose(filters.hog(camera), feature.hog(camera, cells_per_block=(2, 2)),
                               rtol=0, atol=1e-7)


@pytest.mark.parametrize("call, message", [
    (lambda: filters.hog(np.ones((15, 16))), "too small"),
    (lambda: filters.hog(np.ones((16, 16)), block_norm="L3"), "block_norm"),
    (lambda: filters.hog(np.ones((16, 16)), pixels_per_cell=0), "pixels_per_cell"),
    (lambda: filters.hog(np.ones(16)), "image"),
])
def test_hog_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()
