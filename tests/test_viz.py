"""convnet.viz: PNGs written atomically, feature maps, saliency, edge-orientation colours.

Expectations come from outside the code under test: the PNG signature and Pillow's
decoder, sub-models run by hand, central finite differences in float64, and the
standard library's ``colorsys`` for hues.
"""

import colorsys
import os
import subprocess
import sys

import numpy as np
import pytest

import convnet
import convnet.nn as nn
from convnet import viz

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def matplotlib_figure():
    pytest.importorskip("matplotlib", reason="matplotlib is not installed: "
                        'pip install "convnet[viz]" to run the plotting tests')
    import matplotlib.figure
    return matplotlib.figure


@pytest.fixture
def pillow():
    return pytest.importorskip("PIL.Image", reason="Pillow is not installed (comes with "
                               "matplotlib): needed to decode the PNGs")


def small_cnn(in_channels=2, seed=0):
    """(1, C, 8, 8) -> conv 4x8x8 -> relu -> pool 4x4x4 -> conv 3x2x2 -> relu -> 12 -> 5."""
    convnet.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(in_channels, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(4, 3, 3), nn.ReLU(), nn.Flatten(), nn.Linear(12, 5))


def random_image(shape, seed=1, dtype=np.float32):
    return np.random.default_rng(seed).random(shape).astype(dtype)


HISTORY = {"train_loss": [2.3, 1.2, 0.8, 0.6], "val_loss": [2.2, 1.4, 1.0, None],
           "train_accuracy": [0.2, 0.6, 0.75, 0.8], "val_accuracy": [0.25, 0.5, 0.6, 0.62],
           "lr": [0.1, 0.1, 0.01, 0.01]}

PLOTS = {
    "training_curves": lambda path: viz.plot_training_curves(HISTORY, path),
    "loss_only_curves": lambda path: viz.plot_training_curves({"train_loss": [1.0]}, path),
    "rgb_filters": lambda path: viz.plot_filters(nn.Conv2d(3, 16, 5).weight, path, "conv1"),
    "gray_filters": lambda path: viz.plot_filters(random_image((8, 4, 3, 3)) - 0.5, path),
    "many_filters": lambda path: viz.plot_filters(random_image((100, 1, 3, 3)), path),
    "confusion_matrix": lambda path: viz.plot_confusion_matrix(
        [[5, 1, 0], [2, 7, 1], [0, 0, 0]], ["cat", "dog", "bird"], path),
    "confusion_counts": lambda path: viz.plot_confusion_matrix(
        np.eye(4) * 3 + 1, None, path, normalize=False),
    "feature_maps": lambda path: viz.plot_feature_maps(small_cnn(), random_image((2, 8, 8)),
                                                       "1", path),
    "saliency": lambda path: viz.plot_saliency(small_cnn(3), random_image((3, 8, 8)), path),
}


# ------------------------------------------------------------------------- PNG output
@pytest.mark.parametrize("name", sorted(PLOTS))
def test_plot_writes_one_valid_png_and_returns_its_path(name, tmp_path, matplotlib_figure, pillow):
    path = tmp_path / f"{name}.png"
    assert PLOTS[name](path) == path
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    with pillow.open(path) as picture:
        picture.load()
        width, height = picture.size
    assert 150 <= width <= 4000 and 150 <= height <= 4000, picture.size
    assert os.listdir(tmp_path) == [path.name]  # no temporary file left behind


@pytest.mark.parametrize("name", sorted(PLOTS))
def test_failure_while_saving_keeps_the_previous_file(name, tmp_path, monkeypatch,
                                                      matplotlib_figure):
    path = tmp_path / "plot.png"
    path.write_bytes(b"the previous good plot")

    def half_written_then_crash(self, target, *args, **kwargs):
        target.write(PNG_SIGNATURE + b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(matplotlib_figure.Figure, "savefig", half_written_then_crash)
    with pytest.raises(OSError, match="disk full"):
        PLOTS[name](path)
    assert path.read_bytes() == b"the previous good plot"
    assert os.listdir(tmp_path) == ["plot.png"]


def test_failure_while_saving_an_image_keeps_the_previous_file(tmp_path, monkeypatch, pillow):
    path = tmp_path / "image.png"
    path.write_bytes(b"old")

    def crash(self, target, *args, **kwargs):
        target.write(b"\x89PN")
        raise RuntimeError("killed")

    monkeypatch.setattr(pillow.Image, "save", crash)
    with pytest.raises(RuntimeError, match="killed"):
        viz.save_image(np.zeros((4, 4)), path)
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["image.png"]


@pytest.mark.parametrize("layout", ["HW", "HWC", "CHW", "1HW"])
def test_save_image_round_trips_the_pixels(layout, tmp_path, pillow):
    values = random_image((5, 7, 3), seed=3, dtype=np.float64)
    values[0, 0] = [0.0, 1.0, 0.5]
    if layout == "HW":
        array, expected = values[..., 0], np.round(values[..., 0] * 255)
    elif layout == "HWC":
        array, expected = values, np.round(values * 255)
    elif layout == "CHW":
        array, expected = values.transpose(2, 0, 1), np.round(values * 255)
    else:
        array, expected = values[None, ..., 1], np.round(values[..., 1] * 255)
    path = viz.save_image(array, tmp_path / "picture.png")
    with pillow.open(path) as picture:
        assert picture.size == (7, 5)
        np.testing.assert_array_equal(np.asarray(picture), expected.astype(np.uint8))
    assert os.listdir(tmp_path) == ["picture.png"]


def test_save_image_rejects_bad_ranges_and_shapes(tmp_path):
    with pytest.raises(ValueError, match=r"expected values in \[0, 1\]"):
        viz.save_image(np.full((3, 3), 255.0), tmp_path / "a.png")
    with pytest.raises(ValueError, match="shape"):
        viz.save_image(np.zeros((2, 3, 4, 5)), tmp_path / "b.png")
    assert os.listdir(tmp_path) == []


def test_import_convnet_and_viz_does_not_import_matplotlib():
    code = "import sys, convnet, convnet.viz; print('matplotlib' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"


def test_plot_without_matplotlib_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    with pytest.raises(ImportError, match=r'pip install "convnet\[viz\]"'):
        viz.plot_training_curves({"train_loss": [1.0]}, tmp_path / "c.png")


def test_plot_errors_name_the_argument(tmp_path, matplotlib_figure):
    with pytest.raises(ValueError, match="history"):
        viz.plot_training_curves({"epoch_time": [1.0]}, tmp_path / "c.png")
    with pytest.raises(ValueError, match="weight"):
        viz.plot_filters(np.zeros((3, 3)), tmp_path / "f.png")
    with pytest.raises(ValueError, match="classes"):
        viz.plot_confusion_matrix(np.eye(3), ["a", "b"], tmp_path / "m.png")
    with pytest.raises(ValueError, match="feature maps need"):
        viz.plot_feature_maps(small_cnn(), random_image((2, 8, 8)), "5", tmp_path / "x.png")
    assert os.listdir(tmp_path) == []


# ----------------------------------------------------------------------- feature maps
def test_feature_maps_are_exactly_the_output_of_each_layer_of_a_sequential():
    model = small_cnn()
    image = random_image((2, 8, 8))
    for index in range(len(model)):
        by_hand = model[:index + 1](image[None]).data[0]
        np.testing.assert_array_equal(viz.feature_maps(model, image, str(index)), by_hand)
        np.testing.assert_array_equal(viz.feature_maps(model, image[None], index), by_hand)
    assert viz.feature_maps(model, image, "1").shape == (4, 8, 8)
    assert viz.feature_maps(model, image, "2").shape == (4, 4, 4)
    assert viz.feature_maps(model, image, -1).shape == (5,)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(),
                                      nn.Dropout(0.9), nn.Conv2d(3, 2, 3))
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(2 * 4 * 4, 3))

    def forward(self, x):
        return self.classifier(self.features(x))


def test_feature_maps_by_dotted_name_and_leaf_index_in_a_nested_model():
    model = Net().train()
    image = random_image((1, 6, 6))
    by_hand = model.features[:4].eval()(image[None]).data[0]  # dropout off, as in eval mode
    model.train()
    np.testing.assert_array_equal(viz.feature_maps(model, image, "features.3"), by_hand)
    np.testing.assert_array_equal(viz.feature_maps(model, image, 3), by_hand)  # 4th leaf
    relu = np.maximum(model.features[0](image[None]).data[0], 0)
    np.testing.assert_array_equal(viz.feature_maps(model, image, "features.2"), relu)
    assert all(module.training for module in model.modules())  # mode given back


def test_feature_maps_restore_forward_even_when_the_model_raises():
    model = Net()
    target = model.features[3]
    with pytest.raises(ValueError, match="channels"):
        viz.feature_maps(model, random_image((2, 6, 6)), "features.3")  # 2 channels, conv wants 1
    assert "forward" not in target.__dict__
    assert model.training
    custom = lambda x: x  # noqa: E731  (an instance-level forward must survive too)
    model.features[1].forward = custom
    viz.feature_maps(model, random_image((1, 6, 6)), "features.1")
    assert model.features[1].__dict__["forward"] is custom


def test_feature_maps_errors():
    model = small_cnn()
    image = random_image((2, 8, 8))
    with pytest.raises(ValueError, match="no module named 'features.9'"):
        viz.feature_maps(model, image, "features.9")
    with pytest.raises(ValueError, match="out of range"):
        viz.feature_maps(model, image, 7)
    with pytest.raises(TypeError, match="layer"):
        viz.feature_maps(model, image, 1.5)
    with pytest.raises(ValueError, match="image"):
        viz.feature_maps(model, random_image((2, 2, 8, 8)), "0")


# ---------------------------------------------------------------------------- saliency
def float64_model():
    convnet.manual_seed(4)
    model = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.Tanh(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(3 * 3 * 3, 4))
    for parameter in model.parameters():
        parameter.data = parameter.data.astype(np.float64)
    return model


def finite_difference_saliency(model, image, target, eps=1e-6):
    def score(x):
        with convnet.no_grad():
            return float(model(x[None]).data[0, target])
    gradient = np.zeros_like(image)
    for index in np.ndindex(image.shape):
        plus, minus = image.copy(), image.copy()
        plus[index] += eps
        minus[index] -= eps
        gradient[index] = (score(plus) - score(minus)) / (2 * eps)
    return np.abs(gradient).max(axis=0)


@pytest.mark.parametrize("target", [None, 0, 3])
def test_saliency_matches_central_differences(target):
    model = float64_model()
    image = random_image((2, 6, 6), seed=5, dtype=np.float64)
    with convnet.no_grad():
        predicted = int(np.argmax(model(image[None]).data[0]))
    expected = finite_difference_saliency(model, image, predicted if target is None else target)
    saliency = viz.saliency_map(model, image, target)
    assert saliency.shape == (6, 6)
    np.testing.assert_allclose(saliency, expected, rtol=1e-6, atol=1e-9)


def test_saliency_leaves_the_model_as_it_was():
    model = float64_model().train()
    viz.saliency_map(model, random_image((2, 6, 6), dtype=np.float64))
    assert all(parameter.grad is None and parameter.requires_grad
               for parameter in model.parameters())
    assert all(module.training for module in model.modules())
    with pytest.raises(ValueError, match="target"):
        viz.saliency_map(model, random_image((2, 6, 6)), target=4)


# ----------------------------------------------------------------- orientation colours
def hsv(pixel):
    return colorsys.rgb_to_hsv(*(float(channel) for channel in pixel))


@pytest.mark.parametrize("gx, gy, hue", [(1.0, 0.0, 0.0), (0.0, 1.0, 0.25),
                                         (-1.0, 0.0, 0.5), (0.0, -1.0, 0.75),
                                         (1.0, 1.0, 0.125)])
def test_orientation_hue_is_the_gradient_angle(gx, gy, hue):
    rgb = viz.orientation_image(np.full((2, 3), gx), np.full((2, 3), gy))
    assert rgb.shape == (2, 3, 3)
    h, s, v = hsv(rgb[1, 2])
    assert h == pytest.approx(hue, abs=1e-7) and s == pytest.approx(1) and v == pytest.approx(1)


def test_orientation_pure_x_is_red_and_brightness_is_relative_magnitude():
    gx = np.array([[2.0, 1.0, 0.0]])
    gy = np.zeros((1, 3))
    rgb = viz.orientation_image(gx, gy)
    np.testing.assert_allclose(rgb[0], [[1, 0, 0], [0.5, 0, 0], [0, 0, 0]], atol=1e-7)


def test_orientation_of_zero_gradient_is_black():
    rgb = viz.orientation_image(np.zeros((4, 4)), np.zeros((4, 4)))
    assert rgb.shape == (4, 4, 3) and np.all(rgb == 0)
