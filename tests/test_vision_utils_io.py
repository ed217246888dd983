"""convnet.vision.utils (make_grid, save_image, draw_segmentation_masks) against torchvision,
and convnet.vision.io's readers against Pillow, including the hostile-file guards."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import convnet
from convnet.vision import io as vio
from convnet.vision import utils
from torchvision_oracle import import_torchvision

torch = pytest.importorskip("torch", reason="PyTorch is the oracle")

RNG = np.random.default_rng(0)


@pytest.mark.parametrize("shape", [(10, 3, 5, 6), (1, 3, 4, 4), (7, 1, 5, 5), (3, 4, 4), (1, 4, 4),
                                   (4, 4)])
@pytest.mark.parametrize("options", [{}, {"nrow": 3, "padding": 1, "pad_value": 0.5},
                                     {"normalize": True}, {"normalize": True, "scale_each": True},
                                     {"normalize": True, "value_range": (-1.0, 1.0)}],
                         ids=["default", "layout", "normalize", "scale_each", "value_range"])
def test_make_grid_as_torchvision(shape, options):
    torchvision = import_torchvision()
    images = RNG.standard_normal(shape).astype(np.float32)
    expected = torchvision.utils.make_grid(torch.tensor(images), **options).numpy()
    actual = utils.make_grid(convnet.tensor(images), **options).data
    assert actual.shape == expected.shape and actual.dtype == expected.dtype
    np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-6)


def test_make_grid_of_a_list():
    torchvision = import_torchvision()
    images = [RNG.uniform(0, 1, (3, 4, 5)).astype(np.float32) for _ in range(5)]
    expected = torchvision.utils.make_grid([torch.tensor(i) for i in images], nrow=2).numpy()
    np.testing.assert_allclose(utils.make_grid([convnet.tensor(i) for i in images], nrow=2).data,
                               expected)


@pytest.mark.parametrize("name", ["grid.png", "grid.jpg"])
def test_save_image_as_torchvision(tmp_path, name):
    torchvision = import_torchvision()
    images = RNG.uniform(0, 1, (6, 3, 7, 9)).astype(np.float32)
    torchvision.utils.save_image(torch.tensor(images), tmp_path / f"theirs-{name}", nrow=3)
    utils.save_image(convnet.tensor(images), tmp_path / f"ours-{name}", nrow=3)
    theirs = np.asarray(Image.open(tmp_path / f"theirs-{name}"))
    ours = np.asarray(Image.open(tmp_path / f"ours-{name}"))
    np.testing.assert_array_equal(ours, theirs)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]   # atomic write


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
@pytest.mark.parametrize("colors", [None, "red", ["blue", (10, 200, 30), "#ffaa00"]],
                         ids=["palette", "one", "list"])
def test_draw_segmentation_masks_as_torchvision(dtype, colors):
    torchvision = import_torchvision()
    image = RNG.integers(0, 256, (3, 6, 7)).astype(np.uint8)
    if dtype == np.float32:
        image = (image / 255).astype(np.float32)
    masks = RNG.random((3, 6, 7)) > 0.6
    expected = torchvision.utils.draw_segmentation_masks(torch.tensor(image), torch.tensor(masks),
                                                         alpha=0.6, colors=colors).numpy()
    actual = utils.draw_segmentation_masks(convnet.tensor(image), convnet.tensor(masks),
                                           alpha=0.6, colors=colors).data
    assert actual.dtype == expected.dtype
    np.testing.assert_allclose(actual, expected, atol=1 if dtype == np.uint8 else 1e-6)


def test_draw_segmentation_masks_bad_input():
    image = convnet.zeros(3, 4, 4, dtype=convnet.uint8)
    with pytest.raises(ValueError):
        utils.draw_segmentation_masks(image, convnet.zeros(2, 4, 4))          # not bool
    with pytest.raises(ValueError):
        utils.draw_segmentation_masks(image, convnet.zeros(2, 5, 4, dtype=convnet.bool))


@pytest.mark.parametrize("mode", list(vio.ImageReadMode))
@pytest.mark.parametrize("pil_mode", ["RGB", "L", "RGBA"])
def test_read_image_as_pillow(tmp_path, mode, pil_mode):
    channels = {"RGB": 3, "L": 1, "RGBA": 4}[pil_mode]
    pixels = RNG.integers(0, 256, (5, 7, channels)).astype(np.uint8)
    path = tmp_path / "picture.png"
    Image.fromarray(pixels[:, :, 0] if channels == 1 else pixels, pil_mode).save(path)
    picture = Image.open(path)
    expected = picture if mode == vio.ImageReadMode.UNCHANGED else picture.convert(
        {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[mode.value])
    expected = np.asarray(expected)
    expected = expected[:, :, None] if expected.ndim == 2 else expected
    tensor = vio.read_image(path, mode)
    assert tensor.dtype == np.uint8
    np.testing.assert_array_equal(tensor.data, expected.transpose(2, 0, 1))
    np.testing.assert_array_equal(vio.decode_image(vio.read_file(path), mode).data, tensor.data)


def test_read_image_refuses_hostile_files(tmp_path, monkeypatch):
    garbage = tmp_path / "garbage.png"
    garbage.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    with pytest.raises(ValueError, match="garbage.png"):
        vio.read_image(garbage)
    big = tmp_path / "big.png"
    Image.new("L", (300, 300)).save(big)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(ValueError, match="too large"):
        vio.read_image(big)
    with pytest.raises(ValueError, match="too large"):
        vio.decode_image(vio.read_file(big))
    with pytest.raises(ValueError):
        vio.read_image(tmp_path)                                   # a folder
