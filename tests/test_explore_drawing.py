"""A drawing on the explorer's canvas is prepared as the model's training images were
(convnet/explore/drawing.py), and the README's first command gives a model that recognises
ten digits drawn on the page, with the mouse, in headless Chromium.

Oracles: a loop reference of optdigits' 4x4 block counts, the centre of mass of MNIST's
recipe, and the trained model's answers on ten drawn digits (each must be recognised; the
whole canvas resized, as the page did before, recognised five of the same ten).
"""

from __future__ import annotations

import io
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from convnet.explore.drawing import (digits_style, mnist_style, prepare_drawing,
                                     recipe_for)

pytest.importorskip("PIL", reason="Pillow scales the drawing")

CANVAS = 224            # the page's canvas (index.html) and its brush radius (explore.js)
BRUSH = 12


def _arc(cx, cy, rx, ry, start, end, count):
    return [(cx + rx * math.cos(math.radians(a)), cy + ry * math.sin(math.radians(a)))
            for a in np.linspace(start, end, count)]


# ten digits as pen strokes in a unit box (x to the right, y down), drawn as a person would
STROKES = {
    0: [_arc(0.5, 0.5, 0.28, 0.42, 0, 360, 40)],
    1: [[(0.35, 0.25), (0.55, 0.08), (0.55, 0.92)]],
    2: [_arc(0.5, 0.3, 0.28, 0.22, 190, 360, 16) + [(0.78, 0.32), (0.25, 0.9), (0.8, 0.9)]],
    3: [_arc(0.48, 0.28, 0.26, 0.2, 200, 450, 20) + _arc(0.48, 0.7, 0.3, 0.22, 270, 500, 20)],
    4: [[(0.6, 0.08), (0.2, 0.62), (0.82, 0.62)], [(0.62, 0.3), (0.62, 0.92)]],
    5: [[(0.75, 0.1), (0.3, 0.1), (0.27, 0.45)] + _arc(0.48, 0.65, 0.3, 0.25, 230, 500, 22)],
    6: [[(0.68, 0.08), (0.38, 0.35), (0.24, 0.62)] + _arc(0.5, 0.68, 0.26, 0.24, 180, 540, 30)],
    7: [[(0.2, 0.1), (0.8, 0.1), (0.4, 0.92)]],
    8: [_arc(0.5, 0.28, 0.22, 0.2, 0, 360, 30), _arc(0.5, 0.7, 0.27, 0.22, 0, 360, 30)],
    9: [_arc(0.5, 0.32, 0.25, 0.22, 0, 360, 30), [(0.75, 0.32), (0.7, 0.92)]],
}
BOX = (40, 30, 150, 190)   # where on the canvas the digits are drawn: off-centre, not filling it


def stroke_points(digit: int, box=BOX, steps: int = 12):
    """The digit's strokes as canvas points, ``steps`` per segment (as a mouse moves)."""
    x0, y0, x1, y1 = box
    for line in STROKES[digit]:
        points = [(x0 + x * (x1 - x0), y0 + y * (y1 - y0)) for x, y in line]
        yield [(ax + t * (bx - ax), ay + t * (by - ay))
               for (ax, ay), (bx, by) in zip(points, points[1:])
               for t in np.linspace(0, 1, steps)]


def render(digit: int) -> np.ndarray:
    """The canvas after drawing ``digit`` with the page's round brush, grey in [0, 1]."""
    from PIL import Image, ImageDraw
    picture = Image.new("L", (CANVAS, CANVAS), 0)
    pen = ImageDraw.Draw(picture)
    for line in stroke_points(digit):
        for x, y in line:
            pen.ellipse((x - BRUSH, y - BRUSH, x + BRUSH, y + BRUSH), fill=255)
    return np.asarray(picture, np.float32) / 255


def block_counts_by_loops(bitmap: np.ndarray) -> np.ndarray:
    """optdigits' reduction, written as the UCI description says: ink pixels per 4x4 block."""
    counts = np.zeros((8, 8))
    for row in range(8):
        for col in range(8):
            for dy in range(4):
                for dx in range(4):
                    counts[row, col] += bitmap[4 * row + dy, 4 * col + dx]
    return counts


def test_the_digits_recipe_counts_ink_per_block_of_the_centred_bitmap():
    from PIL import Image
    canvas = render(2)
    image = digits_style(canvas)
    rows, cols = np.nonzero(canvas > 0.5)
    crop = canvas[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    h, w = crop.shape
    size = (round(w * 32 / max(h, w)), round(h * 32 / max(h, w)))
    scaled = np.asarray(Image.fromarray(np.rint(crop * 255).astype(np.uint8)).resize(
        size, Image.Resampling.BOX), np.float32) / 255 > 0.5
    bitmap = np.zeros((32, 32))
    top, left = (32 - scaled.shape[0]) // 2, (32 - scaled.shape[1]) // 2
    bitmap[top:top + scaled.shape[0], left:left + scaled.shape[1]] = scaled
    np.testing.assert_array_equal(image * 16, block_counts_by_loops(bitmap))
    assert image[0].any() and image[-1].any()          # the digit fills the height, as optdigits


def test_the_mnist_recipe_fits_20_pixels_and_centres_the_mass():
    canvas = np.zeros((300, 300), np.float32)
    canvas[40:200, 200:230] = 1                        # a tall bar far to the right
    image = mnist_style(canvas)
    rows, cols = np.nonzero(image > 0.05)
    assert rows.max() - rows.min() + 1 == 20 and cols.max() - cols.min() + 1 <= 5
    grid_y, grid_x = np.mgrid[0:28, 0:28]
    centre = ((grid_y * image).sum() / image.sum(), (grid_x * image).sum() / image.sum())
    np.testing.assert_allclose(centre, (13.5, 13.5), atol=0.5)


def test_recipes_by_dataset_and_the_plain_resize():
    assert recipe_for("digits") == "digits" and recipe_for("MNIST") == "mnist"
    assert recipe_for("fashion-mnist") is None and recipe_for(None) is None
    empty = np.zeros((50, 50), np.float32)
    assert not prepare_drawing(empty, "digits", (1, 8, 8))[0].any()
    assert not prepare_drawing(empty, "mnist", (1, 28, 28))[0].any()
    image, how = prepare_drawing(np.ones((64, 32), np.float32), None, (3, 16, 8))
    assert image.shape == (3, 16, 8) and np.allclose(image, 1) and "resized" in how
    # a recipe whose size is not the model's falls back to the plain resize
    assert prepare_drawing(render(1), "digits", (1, 28, 28))[0].shape == (1, 28, 28)


@pytest.fixture(scope="module")
def readme_model(tmp_path_factory):
    """The model the README's first command trains (``convnet train``, its defaults)."""
    folder = tmp_path_factory.mktemp("readme")
    done = subprocess.run([sys.executable, "-m", "convnet", "train", "--no-progress"],
                          cwd=folder, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return os.path.join(folder, "runs", "digits", "model.safetensors")


def _session(path):
    from convnet.cli.model_file import load_model
    from convnet.explore.session import ExploreSession
    model, metadata = load_model(path)
    return ExploreSession(model, metadata)


def _png(canvas: np.ndarray) -> bytes:
    from PIL import Image
    buffer = io.BytesIO()
    Image.fromarray(np.rint(canvas * 255).astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_the_readme_model_recognises_ten_drawn_digits(readme_model):
    session = _session(readme_model)
    answers, plain = [], []
    for digit in range(10):
        prepared = session.upload(_png(render(digit)), drawing=True)
        assert "as scikit-learn's digits were made" in prepared["preprocessing"]
        probabilities = session.forward({"pixels": prepared["pixels"]})["probabilities"]
        answers.append(int(np.argmax(probabilities)))
        resized = session.upload(_png(render(digit)))          # a file upload: resized whole
        plain.append(int(np.argmax(session.forward({"pixels": resized["pixels"]})
                                   ["probabilities"])))
    assert answers == list(range(10)), f"drawn 0-9, recognised as {answers}"
    print(f"whole canvas resized instead: {sum(a == d for d, a in enumerate(plain))} of 10")


def test_ten_digits_drawn_with_the_mouse_in_the_page(readme_model, tmp_path):
    pytest.importorskip("uvicorn", reason="uvicorn runs the server")
    from browser import chromium_browser, open_explorer
    from explore_server import Server
    server = Server(_session(readme_model))
    try:
        with chromium_browser() as browser:
            page, errors = open_explorer(browser, server.url)
            box = page.locator("#draw").bounding_box()

            def shown(drawings):   # the page shows the answers to its n-th drawing
                page.wait_for_function(f"document.body.dataset.drawingShown === '{drawings}'")

            recognised = []
            for digit in range(10):
                page.locator("#clear").click()            # clearing sends the empty canvas
                shown(page.evaluate("state.drawings"))
                strokes = list(stroke_points(digit))
                expected = page.evaluate("state.drawings") + len(strokes)
                for line in strokes:
                    page.mouse.move(box["x"] + line[0][0], box["y"] + line[0][1])
                    page.mouse.down()
                    for x, y in line[1:]:
                        page.mouse.move(box["x"] + x, box["y"] + y)
                    page.mouse.up()
                shown(expected)
                assert page.locator("#preprocessing").inner_text().startswith("the drawing was")
                probabilities = page.evaluate("state.forward.probabilities")
                recognised.append(int(np.argmax(probabilities)))
                if digit == 3:
                    page.screenshot(path=str(tmp_path / "drawn-3.png"), full_page=True)
    finally:
        server.stop()
    assert recognised == list(range(10)), f"drawn 0-9 with the mouse, recognised {recognised}"
    assert errors == []
