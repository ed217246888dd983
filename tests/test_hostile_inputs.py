"""Hostile files and odd arguments: each a one-line error (exit status 2) or an exact result.

Model files are built here byte by byte with the safetensors package, so each case is a file
a user could be handed. The worst cases also run in a child process whose address space is
capped a few hundred MB above what importing convnet takes, so a file that made the process
allocate for it would fail there with a MemoryError instead of a clean message.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import safetensors.numpy
from PIL import Image

import convnet
import convnet.nn as nn
from convnet.io import load, read_metadata, save
from test_cli import FAST, assert_user_error, offline, run  # noqa: F401  (offline: a fixture)

pytestmark = pytest.mark.usefixtures("offline")

MODEL_FORMAT = "convnet.model/1"


def linear_file(path, architecture=None, metadata=None, tensors=None):
    """A convnet model file holding a Linear(4, 3), or any architecture JSON and tensors."""
    layer = nn.Linear(4, 3, rng=0)
    if tensors is None:
        tensors = {key: np.asarray(value) for key, value in layer.state_dict().items()}
    header = {"format": MODEL_FORMAT, "architecture": json.dumps(
        architecture or {"class": "Linear", "args": {"in_features": 4, "out_features": 3}})}
    if metadata is not None:
        header["metadata"] = json.dumps(metadata)
    safetensors.numpy.save_file(tensors, str(path), metadata=header)
    return str(path)


@pytest.fixture
def conv_model(tmp_path):
    """A 2-class 1x6x6 classifier saved as convnet train would, and a 6x6 image."""
    model = nn.Sequential(nn.Conv2d(1, 2, 3, rng=0), nn.ReLU(), nn.Flatten(), nn.Linear(32, 2, rng=0))
    path = tmp_path / "model.safetensors"
    save(model, path, metadata={"classes": ["a", "b"], "input_shape": [1, 6, 6]})
    image = tmp_path / "image.png"
    Image.fromarray(np.arange(36, dtype=np.uint8).reshape(6, 6) * 7).save(image)
    return model, str(path), str(image)


# ----------------------------------------------------------------------------- model files
def test_metadata_that_is_a_list_is_one_line_for_every_command(capsys, tmp_path):
    path = linear_file(tmp_path / "m.safetensors", metadata={"tuple": [1, 2]})
    assert read_metadata(path) == (1, 2)
    for argv in (["evaluate", path, "--dataset", "digits"], ["predict", path, "x.png"],
                 ["summary", path]):
        code, _, err = run(capsys, *argv)
        assert_user_error(code, err, "metadata is a tuple")


def test_fewer_class_names_than_outputs(capsys, conv_model, tmp_path):
    model, _, image = conv_model
    path = tmp_path / "short.safetensors"
    save(model, path, metadata={"classes": ["only"], "input_shape": [1, 6, 6]})
    for argv in (["evaluate", path, "--dataset", "digits"], ["predict", path, image]):
        code, _, err = run(capsys, *argv)
        assert_user_error(code, err, "gives 2 class scores", "names 1 classes")


def test_evaluate_on_a_dataset_with_other_classes(capsys, conv_model):
    _, path, _ = conv_model
    code, _, err = run(capsys, "evaluate", path, "--dataset", "digits")
    assert_user_error(code, err, "digits has 10 classes", "knows 2")


@pytest.mark.parametrize("command", ["predict", "summary", "show"])
def test_a_huge_input_shape_in_the_metadata_is_refused(capsys, conv_model, tmp_path, command):
    model, _, image = conv_model
    path = tmp_path / "huge.safetensors"
    save(model, path, metadata={"classes": ["a", "b"], "input_shape": [1, 100000, 100000]})
    argv = {"predict": [path, image], "summary": [path], "show": [path, image, "-o", "inside.png"]}[command]
    code, _, err = run(capsys, command, *argv)
    assert_user_error(code, err, "1x100000x100000", "16,777,216")


def test_an_architecture_larger_than_its_tensors_is_refused_before_it_is_filled(tmp_path):
    path = linear_file(tmp_path / "big.safetensors",
                       {"class": "Linear", "args": {"in_features": 20000, "out_features": 10000}})
    state = convnet.random.default_rng().bit_generator.state
    with pytest.raises(ValueError, match="do not fit the model"):
        load(path)
    # no initial weights were drawn: the library's generator did not move
    assert convnet.random.default_rng().bit_generator.state == state


def test_more_modules_than_a_model_may_have(tmp_path):
    relus = [{"class": "ReLU", "args": {}}] * 10_001
    path = linear_file(tmp_path / "relus.safetensors",
                       {"class": "Sequential", "args": {"modules": relus}}, tensors={})
    with pytest.raises(ValueError, match="declares 10,002 modules, more than the 10,000"):
        load(path)


@pytest.mark.parametrize("special", ["/dev/zero", "fifo", "directory"])
def test_only_regular_files_are_read(capsys, tmp_path, special):
    if special == "fifo":
        special = str(tmp_path / "pipe.safetensors")
        os.mkfifo(special)
    elif special == "directory":
        special = str(tmp_path)
    code, _, err = run(capsys, "evaluate", special, "--dataset", "digits")
    assert_user_error(code, err, special)
    assert "regular file" in err or "directory" in err


def test_bf16_tensors_name_the_supported_dtypes(tmp_path):
    path = tmp_path / "bf16.safetensors"
    header = json.dumps({"w": {"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]},
                         "__metadata__": {"format": MODEL_FORMAT}}).encode()
    path.write_bytes(len(header).to_bytes(8, "little") + header + b"\0" * 4)
    with pytest.raises(ValueError, match="dtype 'BF16'.*supported: F16, F32, F64"):
        load(path)


def test_save_refuses_a_non_module_and_a_directory(tmp_path):
    with pytest.raises(TypeError, match="expected a convnet.nn.Module as the model, got str"):
        save("abc", tmp_path / "x.safetensors")
    with pytest.raises(IsADirectoryError, match="is a directory; give a file name inside it"):
        save(nn.ReLU(), tmp_path)
    assert os.listdir(tmp_path) == []  # no temporary file left anywhere


def test_batch_norm_needs_channels():
    with pytest.raises(ValueError, match="num_features: expected a positive int"):
        nn.BatchNorm2d(0)


WORST_CASES = textwrap.dedent("""
    import json, resource, sys
    import numpy as np, safetensors.numpy
    from convnet.cli import main
    folder = sys.argv[1]
    def status(key):
        for line in open('/proc/self/status'):
            if line.startswith(key):
                return int(line.split()[1]) * 1024
    limit = status('VmSize:') + 400 * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    cases = {
        'linear': {'class': 'Linear', 'args': {'in_features': 20000, 'out_features': 10000}},
        'relus': {'class': 'Sequential', 'args': {'modules': [{'class': 'ReLU', 'args': {}}] * 200000}},
    }
    for name, architecture in cases.items():
        path = f'{folder}/{name}.safetensors'
        safetensors.numpy.save_file({'weight': np.zeros((3, 4), np.float32)}, path, metadata={
            'format': 'convnet.model/1', 'architecture': json.dumps(architecture)})
        print(name, main(['summary', path]), flush=True)
    print('zero', main(['evaluate', '/dev/zero', '--dataset', 'digits']), flush=True)
""")


def test_worst_files_stay_within_a_memory_cap(tmp_path):
    result = subprocess.run([sys.executable, "-c", WORST_CASES, str(tmp_path)], text=True,
                            capture_output=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["linear", "2", "relus", "2", "zero", "2"]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith("convnet ") for line in lines), lines
    assert "Traceback" not in result.stderr and "MemoryError" not in result.stderr


# ----------------------------------------------------------------------------- images
def test_a_decompression_bomb_is_refused(capsys, conv_model, monkeypatch, tmp_path):
    _, path, _ = conv_model
    bomb = tmp_path / "bomb.png"
    Image.new("L", (300, 200)).save(bomb)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 20_000)  # 60,000 pixels > twice the guard
    code, _, err = run(capsys, "predict", path, bomb)
    assert_user_error(code, err, str(bomb), "too large to decode safely")
    folder = tmp_path / "classes"
    for label in ("a", "b"):
        os.makedirs(folder / label)
        Image.new("L", (300, 200)).save(folder / label / "x.png")
    code, _, err = run(capsys, "train", "--dataset", f"folder:{folder}", "--epochs", "1", *FAST)
    assert_user_error(code, err, "too large to decode safely")


def test_sixteen_bit_and_float_images_keep_their_values(tmp_path):
    from convnet.data.image_file import read_image
    deep = np.array([[0, 1000, 32768, 65535]], np.uint16)
    Image.fromarray(deep).save(tmp_path / "deep.tif")
    np.testing.assert_allclose(read_image(str(tmp_path / "deep.tif"), "L")[0], deep / 65535.0,
                               rtol=1e-6)
    floats = np.array([[0.0, 0.25, 0.5, 1.0]], np.float32)
    Image.fromarray(floats, mode="F").save(tmp_path / "float.tif")
    np.testing.assert_array_equal(read_image(str(tmp_path / "float.tif"), "RGB"),
                                  np.repeat(floats[None], 3, axis=0))
    Image.fromarray(floats * 300, mode="F").save(tmp_path / "radiance.tif")
    with pytest.raises(ValueError, match=r"values in \[0, 300\].*\[0, 1\]"):
        read_image(str(tmp_path / "radiance.tif"), "L")


# ----------------------------------------------------------------------------- arguments
@pytest.mark.parametrize("argv, fragments", [
    (["--arch", "fc100000000"], ["6,400,000,000 weights", "fc100000000"]),
    (["--limit", "-5"], ["--limit", "-5"]),
    (["--limit", "0"], ["--limit", "0"]),
    (["--patience", "-1"], ["--patience", "-1"]),
    (["--arch", ""], ["arch", "got ''"]),
    (["--lr", "0"], ["--lr", "0"]),
])
def test_train_arguments(capsys, argv, fragments):
    code, _, err = run(capsys, "train", "--epochs", "1", *argv, *FAST)
    assert_user_error(code, err, *fragments)


def test_summary_of_a_huge_input_and_predict_top_k_zero(capsys, conv_model):
    code, _, err = run(capsys, "summary", "digits-cnn", "--input-shape", "1,100000,100000")
    assert_user_error(code, err, "--input-shape", "1x100000x100000")
    _, path, image = conv_model
    code, _, err = run(capsys, "predict", path, image, "--top-k", "0")
    assert_user_error(code, err, "--top-k", "got 0")


@pytest.mark.filterwarnings("ignore::convnet.data.DatasetWarning")  # our files are not the published ones
def test_an_idx_file_of_zero_images(capsys, tmp_path):
    from data_writers import write_mnist_split
    write_mnist_split(tmp_path / "empty", "train", count=0)
    write_mnist_split(tmp_path / "empty", "test", count=0)
    code, _, err = run(capsys, "train", "--dataset", "fashion-mnist", "--data-dir",
                       tmp_path / "empty", "--epochs", "1", *FAST)
    errors = [line for line in err.splitlines() if "DatasetWarning" not in line
              and not line.startswith("  ")]  # our files are not the published ones: warned
    assert_user_error(code, "\n".join(errors), "holds no images")


def image_folder(root, classes, count=6, size=6):
    rng = np.random.default_rng(0)
    for label in classes:
        os.makedirs(root / label, exist_ok=True)
        for index in range(count):
            pixels = rng.integers(0, 256, (size, size), dtype=np.uint8)
            Image.fromarray(pixels).save(root / label / f"{index}.png")


def test_a_one_class_folder_is_refused(capsys, tmp_path):
    image_folder(tmp_path / "one", ["cat"])
    code, _, err = run(capsys, "train", "--dataset", f"folder:{tmp_path / 'one'}", *FAST)
    assert_user_error(code, err, "1 class(es)", "at least two")


def test_a_folder_with_a_test_split_is_tested_on_it(capsys, tmp_path):
    image_folder(tmp_path / "data" / "train", ["cat", "dog"], count=10)
    image_folder(tmp_path / "data" / "test", ["cat", "dog"], count=3)
    os.chdir(tmp_path / "data")  # a relative path must still be found by evaluate later
    code, out, err = run(capsys, "train", "--dataset", "folder:.", "--epochs", "1", "--augment",
                         "--hflip", "--arch", "[2|3x3] relu gap fc{classes}", *FAST)
    assert code == 0, err
    assert "test accuracy" in out and "on 6 test images" in out
    model_path = os.path.abspath("runs/folder/model.safetensors")
    assert read_metadata(model_path)["dataset"] == "folder:" + str(tmp_path / "data")
    os.chdir(tmp_path)
    code, out, err = run(capsys, "evaluate", model_path)
    assert code == 0, err
    assert "(6 images)" in out


def test_a_folder_without_test_split_says_validation(capsys, tmp_path):
    image_folder(tmp_path / "flat", ["cat", "dog"], count=10)
    code, out, err = run(capsys, "train", "--dataset", f"folder:{tmp_path / 'flat'}",
                         "--epochs", "1", "--arch", "[2|3x3] relu gap fc{classes}", *FAST)
    assert code == 0, err
    assert "validation accuracy" in out and "2 validation images" in out


@pytest.mark.parametrize("header_metadata", [[], [1, 2], "text"])
def test_a_header_metadata_that_is_not_an_object(capsys, tmp_path, header_metadata):
    path = tmp_path / "odd.safetensors"
    header = json.dumps({"__metadata__": header_metadata}).encode()
    path.write_bytes(len(header).to_bytes(8, "little") + header)
    code, _, err = run(capsys, "evaluate", path, "--dataset", "digits")
    assert_user_error(code, err, str(path), "damaged safetensors file")
