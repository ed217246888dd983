"""``convnet filter``, ``convnet match`` and ``convnet show`` on a photograph-like image
(gradients, shapes, noise, drawn with Pillow), run in-process; errors are one line, exit 2."""

from __future__ import annotations

import os

import numpy as np
import pytest

from convnet.cli import main
from convnet.cli.image_commands import heat_colours, scale_for_viewing
from convnet.filters import correlate, kernels

PIL = pytest.importorskip("PIL")
from PIL import Image, ImageDraw, ImageFilter  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
WIDTH, HEIGHT = 96, 72


def make_photo(path, width=WIDTH, height=HEIGHT, seed=0):
    """An RGB scene: a vertical colour gradient, a disc, a rectangle, a triangle, blur, noise."""
    rng = np.random.default_rng(seed)
    rows = np.linspace(0, 1, height)[:, None, None]
    sky = (1 - rows) * np.array([30, 80, 160]) + rows * np.array([180, 210, 230])
    picture = Image.fromarray(np.broadcast_to(sky, (height, width, 3)).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(picture)
    draw.ellipse([60, 6, 84, 30], fill=(250, 220, 90))
    draw.rectangle([10, 30, 40, 60], fill=(200, 160, 120))
    draw.polygon([(6, 30), (44, 30), (25, 14)], fill=(140, 40, 40))
    draw.rectangle([0, 60, width, height], fill=(60, 120, 50))
    picture = picture.filter(ImageFilter.GaussianBlur(0.7))
    pixels = np.asarray(picture, np.float64) + rng.normal(0, 5, (height, width, 3))
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB").save(path)
    return path


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    return str(make_photo(tmp_path_factory.mktemp("photo") / "photo.png"))


@pytest.fixture(scope="module")
def trained_model(tmp_path_factory):
    """A small model written by `convnet train` (bundled digits, one short epoch)."""
    runs = tmp_path_factory.mktemp("runs")
    code = main(["train", "--dataset", "digits", "--arch", "[4|3x3] relu maxpool [6|3x3] relu "
                 "gap fc{classes}", "--epochs", "1", "--limit", "200", "--runs-dir", str(runs),
                 "--name", "small", "--no-progress", "--no-plots"])
    assert code == 0
    return str(runs / "small" / "model.safetensors")


def run(capsys, *argv):
    code = main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return code, out, err


def png_size(path):
    with open(path, "rb") as handle:
        assert handle.read(8) == PNG_SIGNATURE
    with Image.open(path) as picture:
        picture.verify()
    with Image.open(path) as picture:
        return picture.size, picture.mode


def assert_one_line_error(code, err, *words):
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "error" in lines[0]
    for word in words:
        assert word in lines[0], lines[0]


# ----------------------------------------------------------------------------- filter
@pytest.mark.parametrize("kernel", ["high_pass", "box", "sobel_x", "Sobel-Y", "highpass", "box5",
                                    "laplacian", "seed000_multichannel"])
def test_filter_named_kernels(capsys, photo, tmp_path, kernel):
    out_path = tmp_path / "out.png"
    code, out, err = run(capsys, "filter", photo, "--kernel", kernel, "-o", out_path)
    assert code == 0, err
    assert png_size(out_path) == ((WIDTH, HEIGHT), "L")
    assert str(out_path) in out


@pytest.mark.parametrize("mode, size", [("same", (WIDTH, HEIGHT)),
                                        ("valid", (WIDTH - 2, HEIGHT - 2)),
                                        ("full", (WIDTH + 2, HEIGHT + 2))])
@pytest.mark.parametrize("boundary", ["zero", "clamp", "wrap", "mirror", "mirror-edge"])
def test_filter_modes_and_boundaries(capsys, photo, tmp_path, mode, size, boundary):
    out_path = tmp_path / "out.png"
    code, _, err = run(capsys, "filter", photo, "--kernel", "sobel_x", "--mode", mode,
                       "--boundary", boundary, "-o", out_path)
    assert code == 0, err
    assert png_size(out_path) == (size, "L")


def test_filter_pixels_are_the_abs_scaled_correlation(capsys, tmp_path):
    image = np.zeros((12, 16), np.uint8)
    image[:, 8:] = 200
    image_path = tmp_path / "step.png"
    Image.fromarray(image).save(image_path)
    out_path = tmp_path / "dx.png"
    code, _, _ = run(capsys, "filter", image_path, "--kernel", "sobel_x", "--boundary", "zero",
                     "-o", out_path)
    assert code == 0
    expected = np.abs(correlate(image / 255.0, kernels.SOBEL_X, boundary="zero"))
    expected = np.round(expected / expected.max() * 255)
    np.testing.assert_array_equal(np.asarray(Image.open(out_path)), expected)


def test_convolve_flips_the_kernel(capsys, tmp_path):
    rng = np.random.default_rng(3)
    image_path = tmp_path / "noise.png"
    Image.fromarray(rng.integers(0, 256, (10, 11), dtype=np.uint8)).save(image_path)
    kernel = rng.normal(size=(3, 2))
    np.save(tmp_path / "k.npy", kernel)
    np.savetxt(tmp_path / "flipped.txt", kernel[::-1, ::-1])
    for name, flag in (("a.png", ["--convolve"]), ("b.png", [])):
        source = "k.npy" if flag else "flipped.txt"
        code, _, err = run(capsys, "filter", image_path, "--kernel", tmp_path / source,
                           "--mode", "valid", "--scale", "minmax", *flag, "-o", tmp_path / name)
        assert code == 0, err
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "a.png")),
                                  np.asarray(Image.open(tmp_path / "b.png")))
    assert np.asarray(Image.open(tmp_path / "a.png")).shape == (8, 10)


def test_orientation(capsys, photo, tmp_path):
    out_path = tmp_path / "orientation.png"
    code, _, err = run(capsys, "filter", photo, "--orientation", "-o", out_path)
    assert code == 0, err
    assert png_size(out_path) == ((WIDTH, HEIGHT), "RGB")
    pixels = np.asarray(Image.open(out_path)).astype(int)
    assert pixels.max() == 255  # the strongest edge is at full brightness
    assert len({tuple(p) for p in pixels.reshape(-1, 3)[pixels.reshape(-1, 3).max(1) > 128]}) > 20


def test_scalings():
    values = np.array([[-2.0, 0.0, 1.0]])
    np.testing.assert_allclose(scale_for_viewing(values, "abs"), [[1, 0, 0.5]])
    np.testing.assert_allclose(scale_for_viewing(values, "minmax"), [[0, 2 / 3, 1]])
    np.testing.assert_allclose(scale_for_viewing(values, "clip"), [[0, 0, 1]])
    np.testing.assert_array_equal(scale_for_viewing(np.full((2, 2), 3.0), "minmax"), 0)
    np.testing.assert_allclose(heat_colours(np.array([0.0, 1.0])), [[0, 0, 0], [1, 1, 1]])


# ----------------------------------------------------------------------------- match
@pytest.mark.parametrize("method", ["ncc", "ssd", "correlation"])
def test_match_finds_a_crop(capsys, photo, tmp_path, method):
    template_path = tmp_path / "sun.png"
    with Image.open(photo) as picture:
        picture.crop((58, 4, 86, 32)).save(template_path)  # (left, top, right, bottom)
    out_path = tmp_path / "match.png"
    code, out, err = run(capsys, "match", photo, template_path, "--method", method, "-o", out_path)
    assert code == 0, err
    assert png_size(out_path) == ((2 * WIDTH + 4, HEIGHT), "RGB")
    assert "score" in out
    if method != "correlation":  # the plain inner product prefers bright regions, not the crop
        assert "row 4, column 58" in out


# ----------------------------------------------------------------------------- show
@pytest.mark.parametrize("layer, maps", [("0", 4), ("1", 4), ("3", 6)])
def test_show(capsys, photo, tmp_path, trained_model, layer, maps):
    out_path = tmp_path / "show.png"
    code, out, err = run(capsys, "show", trained_model, photo, "--layer", layer, "-o", out_path)
    assert code == 0, err
    cell = 8 * 12  # an 8x8 digit enlarged 12 times (about 96 pixels)
    columns = max(2, min(maps, 8))
    rows = 1 + -(-maps // columns)
    size = (columns * cell + (columns - 1) * 4, rows * cell + (rows - 1) * 4)
    assert png_size(out_path) == (size, "RGB")
    assert "predicted" in out


# ----------------------------------------------------------------------------- errors
def test_errors_are_one_line(capsys, photo, tmp_path, trained_model):
    out_path = tmp_path / "out.png"
    cases = [
        (["filter", tmp_path / "missing.png", "--kernel", "box", "-o", out_path],
         ["no such file", "missing.png"]),
        (["filter", photo, "--kernel", "no_such_kernel", "-o", out_path],
         ["--kernel", "no_such_kernel", "sobel_x"]),
        (["filter", photo, "--kernel", "box", "--mode", "middle", "-o", out_path],
         ["--mode", "middle"]),
        (["filter", photo, "--kernel", "box", "--boundary", "reflect101", "-o", out_path],
         ["--boundary"]),
        (["filter", photo, "--kernel", tmp_path / "missing.npy", "-o", out_path],
         ["--kernel", "no such file"]),
        (["filter", photo, "--kernel", "box", "-o", tmp_path / "no-dir" / "out.png"],
         ["no-dir"]),
        (["match", photo, photo, "--method", "sad", "-o", out_path], ["--method", "sad"]),
        (["show", trained_model, photo, "--layer", "99", "-o", out_path], ["--layer"]),
        (["show", trained_model, photo, "--layer", "-1", "-o", out_path], ["--layer", "Linear"]),
    ]
    for argv, words in cases:
        code, _, err = run(capsys, *argv)
        assert_one_line_error(code, err, *words)
        assert not out_path.exists()


def test_template_larger_than_image(capsys, photo, tmp_path):
    small = tmp_path / "small.png"
    Image.new("L", (20, 10), 128).save(small)
    code, _, err = run(capsys, "match", small, photo, "-o", tmp_path / "out.png")
    assert_one_line_error(code, err, "template", "larger")
    assert not (tmp_path / "out.png").exists()


def test_file_that_is_not_an_image(capsys, tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("not a picture\n")
    code, _, err = run(capsys, "filter", text, "--kernel", "box", "-o", tmp_path / "out.png")
    assert_one_line_error(code, err, "cannot read", "notes.png")


@pytest.mark.parametrize("content, why", [("1 2\n3\n", "cannot read"), ("", "kernel")])
def test_bad_kernel_files(capsys, photo, tmp_path, content, why):
    kernel = tmp_path / "kernel.txt"
    kernel.write_text(content)
    code, _, err = run(capsys, "filter", photo, "--kernel", kernel, "-o", tmp_path / "out.png")
    assert_one_line_error(code, err, "--kernel", why)


@pytest.mark.parametrize("content", [b"not a model at all", b"\x10\x00\x00\x00\x00\x00\x00\x00{}"])
def test_model_file_that_is_not_convnets(capsys, photo, tmp_path, content):
    bogus = tmp_path / "model.safetensors"
    bogus.write_bytes(content + b" " * 16)
    code, _, err = run(capsys, "show", bogus, photo, "-o", tmp_path / "out.png")
    assert_one_line_error(code, err, "model.safetensors")
    code, _, err = run(capsys, "show", tmp_path / "absent.safetensors", photo,
                       "-o", tmp_path / "out.png")
    assert_one_line_error(code, err, "no such file")


def test_existing_output_survives_an_error(capsys, photo, tmp_path):
    out_path = tmp_path / "out.png"
    out_path.write_bytes(b"previous")
    code, _, _ = run(capsys, "filter", photo, "--kernel", "nope", "-o", out_path)
    assert code == 2 and out_path.read_bytes() == b"previous"
    assert [name for name in os.listdir(tmp_path) if name.endswith(".tmp")] == []
