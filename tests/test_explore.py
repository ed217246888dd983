"""The explorer: its JSON API through HTTP against a real server (every endpoint and bad
input), each unit's numbers against an independent computation (PyTorch's conv2d on the
same input, the layer's own output, finite differences for Grad-CAM), the page in headless
Chromium driven by Playwright (draw, click a unit, the sum shown equals the library's forward
value, a screenshot kept), and the command on the command line."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pytest

import convnet
from convnet.explore import ExploreSession
from convnet.models import build_model

pytest.importorskip("starlette", reason="Starlette serves the page")
pytest.importorskip("uvicorn", reason="uvicorn runs the server")
torch = pytest.importorskip("torch", reason="PyTorch is the oracle for the unit view")
from explore_server import Server  # noqa: E402

@pytest.fixture(scope="module")
def session():
    from convnet.data import load_dataset
    convnet.manual_seed(0)
    model = build_model("digits-cnn", (1, 8, 8), 10, rng=0)
    test = load_dataset("digits", "test")
    mean, std = float(test.images.mean()), float(test.images.std())
    metadata = {"input_shape": [1, 8, 8], "classes": [str(i) for i in range(10)],
                "normalize": {"mean": [mean], "std": [std]}, "dataset": "digits",
                "arch": "digits-cnn"}
    return ExploreSession(model, metadata)


@pytest.fixture(scope="module")
def server(session):
    running = Server(session)
    yield running
    running.stop()


def normalized(session, image):
    return session._normalized(np.asarray(image, np.float32))


def test_model_and_samples(server, session):
    status, model = server.request("/api/model")
    assert status == 200 and model["input_shape"] == [1, 8, 8] and model["samples"] == 24
    assert [layer["type"] for layer in model["layers"]][:2] == ["Conv2d", "ReLU"]
    status, sample = server.request("/api/sample/3")
    np.testing.assert_allclose(sample["pixels"], session.samples[3], atol=1e-7)


def test_forward_gives_the_models_probabilities(server, session):
    status, answer = server.request("/api/forward", {"sample": 5})
    assert status == 200
    with convnet.no_grad():
        logits = session.model.eval()(normalized(session, session.samples[5])).data[0]
    expected = torch.softmax(torch.tensor(logits, dtype=torch.float64), 0).numpy()
    np.testing.assert_allclose(answer["probabilities"], expected, rtol=1e-6)
    assert answer["predicted"] == int(np.argmax(logits))
    assert len(answer["layers"]) == len(session.rows)
    assert np.array(answer["layers"][0]["maps"]).shape == (16, 8, 8)


@pytest.mark.parametrize("channel, y, x", [(0, 0, 0), (7, 3, 5), (15, 7, 7)])
def test_conv_unit_equals_torch_and_the_forward_pass(server, session, channel, y, x):
    status, unit = server.request("/api/unit", {"image": {"sample": 2}, "layer": 0,
                                                "channel": channel, "y": y, "x": x})
    assert status == 200
    conv = session.model[0]
    image = normalized(session, session.samples[2])
    expected = torch.nn.functional.conv2d(torch.tensor(image, dtype=torch.float64),
                                          torch.tensor(conv.weight.data, dtype=torch.float64),
                                          torch.tensor(conv.bias.data, dtype=torch.float64),
                                          padding=1)[0, channel, y, x].item()
    assert unit["sum"] == pytest.approx(expected, abs=1e-6)
    assert unit["forward_value"] == pytest.approx(expected, abs=1e-5)
    assert unit["after_relu"] == max(unit["forward_value"], 0.0)
    window = np.array(unit["window"])
    assert window.shape == (1, 3, 3)
    np.testing.assert_allclose(np.array(unit["products"]), window * conv.weight.data[channel],
                               rtol=1e-6)
    assert unit["field"] == [y - 1, x - 1, y + 1, x + 1]   # 3x3 around the unit


def test_pool_and_linear_units(server, session):
    calls_input = normalized(session, session.samples[4])
    with convnet.no_grad():
        before_pool = session.model[:4](calls_input).data[0]
        before_fc = session.model[:9](calls_input).data[0]
        logits = session.model(calls_input).data[0]
    status, unit = server.request("/api/unit", {"image": {"sample": 4}, "layer": 4,
                                                "channel": 3, "y": 1, "x": 2})
    assert status == 200 and unit["kind"] == "maxpool"
    expected = before_pool[3, 2:4, 4:6].max()
    assert unit["sum"] == unit["forward_value"] == pytest.approx(float(expected))
    status, unit = server.request("/api/unit", {"image": {"sample": 4}, "layer": 9, "channel": 6})
    assert unit["kind"] == "linear"
    linear = session.model[9]
    full = float(np.dot(linear.weight.data[6].astype(np.float64), before_fc) + linear.bias.data[6])
    assert unit["sum"] == pytest.approx(full, abs=1e-6)
    assert unit["forward_value"] == pytest.approx(float(logits[6]), abs=1e-6)


def test_average_pool_unit_divides_as_torch():
    from convnet.explore.units import pool_unit
    import convnet.nn as nn
    x = np.random.default_rng(0).standard_normal((2, 5, 5)).astype(np.float32)
    for include in (False, True):
        pool = nn.AvgPool2d(3, 2, padding=1, ceil_mode=True, count_include_pad=include)
        out = pool(x[None]).data[0]
        expected = torch.nn.functional.avg_pool2d(torch.tensor(x[None]), 3, 2, 1, ceil_mode=True,
                                                  count_include_pad=include)[0]
        for y, xx in ((0, 0), (2, 2), (1, 2)):
            unit = pool_unit(pool, x, out, 1, y, xx)
            assert unit["sum"] == pytest.approx(float(expected[1, y, xx]), abs=1e-6)


def test_filters_saliency_and_gradcam(server, session):
    status, filters = server.request("/api/filters", {"layer": 2})
    assert status == 200 and filters["shape"] == [32, 16, 3, 3]
    np.testing.assert_allclose(filters["filters"], session.model[2].weight.data, rtol=1e-6)
    status, answer = server.request("/api/saliency", {"image": {"sample": 0}, "target": 4})
    assert status == 200 and np.array(answer["saliency"]).shape == (8, 8)
    assert answer["gradcam"]["layer"] == "6"


def test_gradcam_weights_equal_finite_differences():
    """Grad-CAM's channel weights are mean d score / d A_k: checked by central differences of
    the tail of a float64 model."""
    import convnet.nn as nn
    model = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1, dtype=np.float64, rng=0), nn.ReLU(),
                          nn.Flatten(), nn.Linear(3 * 4 * 4, 2, dtype=np.float64, rng=1))
    session = ExploreSession(model, {"input_shape": [1, 4, 4]}, samples=[])
    image = np.random.default_rng(2).random((1, 4, 4))
    cam = np.array(session._gradcam(image, 1)["map"])
    maps = model[:2](image[None]).data[0]
    tail = model[2:]
    grad = np.zeros_like(maps)
    for index in np.ndindex(maps.shape):
        step = np.zeros_like(maps)
        step[index] = 1e-6
        grad[index] = (tail((maps + step)[None]).data[0, 1] - tail((maps - step)[None]).data[0, 1]) / 2e-6
    expected = np.maximum((grad.mean(axis=(1, 2))[:, None, None] * maps).sum(axis=0), 0)
    np.testing.assert_allclose(cam, expected, rtol=1e-5, atol=1e-9)   # 4x4 to 4x4: no resizing


def test_playground_follows_the_notes_rule_and_torch(server):
    for size, kernel, stride, padding, dilation in [(7, 3, 2, "same", 1), (6, 4, 3, "valid", 1),
                                                    (5, 3, 1, "full", 2), (8, 2, 2, 1, 1)]:
        status, answer = server.request("/api/playground", {
            "size": size, "kernel": kernel, "stride": stride, "padding": padding,
            "dilation": dilation, "padding_mode": "zeros"})
        assert status == 200
        if padding == "same":
            assert answer["output_size"] == (size - 1) // stride + 1
        before, after = answer["pads"]
        image = torch.arange(1, size * size + 1, dtype=torch.float64).reshape(1, 1, size, size)
        padded = torch.nn.functional.pad(image, (before, after, before, after))
        expected = torch.nn.functional.conv2d(padded, torch.ones(1, 1, kernel, kernel,
                                                                 dtype=torch.float64),
                                              stride=stride, dilation=dilation)[0, 0]
        np.testing.assert_array_equal(answer["output"], expected.numpy())
        np.testing.assert_array_equal(answer["padded"], padded[0, 0].numpy())
    status, answer = server.request("/api/playground", {"size": 5, "kernel": 3, "padding": 1,
                                                        "padding_mode": "symmetric"})
    assert np.array(answer["padded"])[0, 1] == 1.0   # c b a | a b c: the edge repeated


@pytest.mark.parametrize("path, body, fragment", [
    ("/api/forward", {"sample": 99}, "sample: expected an index"),
    ("/api/forward", {"pixels": [[[0.5] * 8] * 8]}, None),
    ("/api/forward", {"pixels": [[[0.5] * 7] * 8]}, "expected shape (1, 8, 8)"),
    ("/api/forward", {"pixels": [[[2.0] * 8] * 8]}, "values in [0, 1]"),
    ("/api/forward", [1, 2], "expected a JSON object"),
    ("/api/unit", {"image": {"sample": 0}, "layer": 99, "channel": 0}, "layer: expected"),
    ("/api/unit", {"image": {"sample": 0}, "layer": 0, "channel": 16}, "channel: expected"),
    ("/api/unit", {"image": {"sample": 0}, "layer": 1, "channel": 0}, "not ReLU"),
    ("/api/filters", {"layer": 1}, "is not a 2-D convolution"),
    ("/api/saliency", {"image": {"sample": 0}, "target": 10}, "target"),
    ("/api/playground", {"size": 100}, "size: expected"),
    ("/api/playground", {"colour": 1}, "unexpected keyword"),
])
def test_bad_requests_are_messages(server, path, body, fragment):
    status, answer = server.request(path, body)
    if fragment is None:
        assert status == 200
        return
    assert status == 400 and fragment in answer["error"], answer


def test_uploads_and_paths(server):
    from PIL import Image
    buffer = io.BytesIO()
    Image.fromarray(np.full((20, 30), 200, np.uint8)).save(buffer, format="PNG")
    status, answer = server.request("/api/upload", raw=buffer.getvalue())
    assert status == 200 and np.allclose(answer["pixels"], 200 / 255, atol=1e-6)
    status, answer = server.request("/api/upload", raw=b"not an image at all")
    assert status == 400 and "not an image" in answer["error"]
    status, answer = server.request("/api/upload", raw=b"\0" * (5 * 2**20 + 1))
    assert status == 400 and "larger than 5 MB" in answer["error"]
    for path in ("/../../etc/passwd", "/static/../app.py", "/explore.js/../../x", "/index.html"):
        status, _ = server.request(path)
        assert status == 404, path
    status, page = server.request("/")
    assert status == 200 and b"convnet explore" in page


def test_the_page_in_a_browser(server, session, tmp_path):
    from browser import chromium_browser, open_explorer
    with chromium_browser() as browser:
        page, errors = open_explorer(browser, server.url, height=1800)
        box = page.locator("#draw").bounding_box()   # a stroke on the canvas
        page.mouse.move(box["x"] + 60, box["y"] + 40)
        page.mouse.down()
        for step in range(20):
            page.mouse.move(box["x"] + 60 + step * 5, box["y"] + 40 + step * 7)
        page.mouse.up()
        page.wait_for_function("document.body.dataset.drawingShown === '1'")  # its answers
        page.locator("canvas.map[data-layer='0'][data-channel='5']").click(
            position={"x": 23, "y": 30})
        page.wait_for_selector("#unit-sum")
        shown = float(page.locator("#unit-equation").get_attribute("data-sum"))
        forward = float(page.locator("#unit-equation").get_attribute("data-forward"))
        # the drawn image, as the page sent it: the library's own forward value there
        drawn = page.evaluate("state.image")
        clicked = page.evaluate("state.unit")
        assert (clicked["y"], clicked["x"]) == (30 // 7, 23 // 7)   # 7 px a cell
        unit = session.unit(drawn, 0, 5, clicked["y"], clicked["x"])
        assert shown == pytest.approx(forward, abs=1e-5)
        assert forward == unit["forward_value"]
        assert page.locator("#unit-sum").inner_text() != ""
        path = tmp_path / "explore.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 10_000 and errors == []
        print(f"screenshot: {path}")


def test_an_onnx_model_shows_its_nodes(tmp_path):
    pytest.importorskip("onnx", reason="onnx writes the file")
    from convnet.onnx import export, load
    model = build_model("digits-cnn", (1, 8, 8), 10, rng=0)
    path = tmp_path / "digits.onnx"
    export(model, np.zeros((1, 1, 8, 8), np.float32), str(path))
    session = ExploreSession(load(str(path)), {"input_shape": [1, 8, 8]}, samples=[])
    layers = session.describe()["layers"]
    image = {"pixels": np.random.default_rng(0).random((1, 8, 8)).tolist()}
    answer = session.forward(image)
    assert len(answer["layers"]) == len(layers) == 10 and layers[0]["type"] == "Conv"
    with convnet.no_grad():
        expected = model.eval()(np.asarray(image["pixels"], np.float32)[None]).data[0]
    np.testing.assert_allclose(np.log(answer["probabilities"]) - np.log(answer["probabilities"][0]),
                               expected - expected[0], rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="unit view"):
        session.unit(image, 0, 0, 0, 0)


def test_a_segmentation_model_shows_its_mask():
    model = build_model("unet depth=1 width=4", (1, 12, 12), 3, rng=0)
    session = ExploreSession(model, {"input_shape": [1, 12, 12], "task": "segmentation",
                                     "classes": ["background", "a", "b"]}, samples=[])
    image = np.random.default_rng(0).random((1, 12, 12))
    answer = session.forward({"pixels": image.tolist()})
    with convnet.no_grad():
        expected = model.eval()(image[None].astype(np.float32)).data[0].argmax(axis=0)
    np.testing.assert_array_equal(answer["mask"], expected)
    assert len(answer["palette"]) == 3 and sum(answer["shares"]) == pytest.approx(1.0)


def test_the_command_serves_on_loopback(tmp_path):
    from convnet.io import save
    model = build_model("digits-cnn", (1, 8, 8), 10, rng=0)
    path = tmp_path / "model.safetensors"
    save(model, str(path), metadata={"input_shape": [1, 8, 8], "classes": list("0123456789"),
                                     "arch": "digits-cnn"})
    process = subprocess.Popen([sys.executable, "-m", "convnet", "explore", str(path),
                                "--no-browser", "--port", "0"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        assert "at http://127.0.0.1:" in line, process.stderr.read() if process.poll() else line
        url = line.split(" at ")[1].split()[0]
        import urllib.request
        with urllib.request.urlopen(url + "api/model", timeout=30) as response:
            assert b"digits-cnn" in response.read()
    finally:
        process.terminate()
        process.wait(10)


def test_gradcam_of_a_residual_network_is_its_class_activation_map():
    """For a network that ends in global average pooling and one linear layer, Grad-CAM's
    weights are the linear layer's row for the class over the map's area, so Grad-CAM is the
    class activation map (Zhou et al. 2016) of the last stage, taken after its additions."""
    import convnet.nn as nn
    model = nn.CifarResNet(8, num_classes=4, in_channels=1, rng=0)
    model.eval()
    session = ExploreSession(model, {"input_shape": [1, 8, 8]}, samples=[])
    image = np.random.default_rng(3).random((1, 8, 8)).astype(np.float32)
    answer = session._gradcam(image, 2)
    assert answer["layer"] == "layer3"
    kept = {}
    handle = model.layer3.register_forward_hook(lambda m, args, out: kept.update(maps=out))
    model(convnet.tensor(image[None]))
    handle.remove()
    maps = kept["maps"].detach().numpy()[0]                      # (64, 2, 2)
    weights = model.fc.weight.detach().numpy()[2] / (maps.shape[1] * maps.shape[2])
    cam = np.maximum((weights[:, None, None] * maps).sum(axis=0), 0)
    expected = convnet.functional.interpolate(convnet.tensor(cam[None, None]), size=(8, 8),
                                              mode="bilinear").numpy()[0, 0]
    np.testing.assert_allclose(answer["map"], expected, rtol=1e-5, atol=1e-6)
    assert all(p.grad is None for p in model.parameters())     # the model's gradients untouched
