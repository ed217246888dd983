"""The ``convnet`` command, run in-process: train, resume, evaluate, predict, summary, errors.

No test reaches the network: every test runs with HOME, $CONVNET_DATA and the system
dataset directory pointed at empty folders, and with ``convnet.data.download._retrieve``
replaced by one that fails like an offline machine. Expected numbers come from hand
arithmetic or from running the saved model's forward pass here.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys

import numpy as np
import pytest
import requests
import safetensors.numpy

import convnet
import convnet.data.download as download
from convnet.cli import main
from convnet.io import load, load_state, read_metadata, save, save_weights
from convnet.data import load_dataset

from data_writers import write_mnist_split

FAST = ["--no-progress", "--no-plots"]
SMALL_ARCH = "[4|3x3] relu maxpool dropout0.5 fc{classes}"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class Offline:
    """Stands in for the download (convnet.data.download._retrieve, pooch underneath): every
    URL fails as with no network."""

    def __init__(self):
        self.urls = []

    def __call__(self, url, *args, **kwargs):
        self.urls.append(url)
        raise requests.exceptions.ConnectionError(
            "[Errno -3] Temporary failure in name resolution")


@pytest.fixture(autouse=True)
def offline(tmp_path, monkeypatch):
    """Work in tmp_path, find no dataset files anywhere, and never download."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CONVNET_DATA", raising=False)
    monkeypatch.setattr(download, "SYSTEM_DIR", str(tmp_path / "no-system-datasets"))
    opener = Offline()
    monkeypatch.setattr(download, "_retrieve", opener)
    return opener


def run(capsys, *argv):
    code = main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_user_error(code, err, *fragments):
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {err!r}"
    assert lines[0].startswith("convnet ")
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def model_weights(path) -> dict:
    """The tensors of a safetensors file, read with the safetensors package itself."""
    return safetensors.numpy.load_file(str(path))


def assert_same_file_weights(expected_path, actual_path):
    expected, actual = model_weights(expected_path), model_weights(actual_path)
    assert sorted(expected) == sorted(actual)
    for key in expected:
        assert expected[key].dtype == actual[key].dtype
        assert np.array_equal(expected[key], actual[key]), f"{key} differs"


# ----------------------------------------------------------------------------- a trained model
@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """A model trained once on 300 of the 8x8 digits: model file and its arch."""
    runs = tmp_path_factory.mktemp("runs")
    arch = "[8|3x3] relu maxpool fc{classes}"
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = main(["train", "--dataset", "digits", "--arch", arch, "--epochs", "2",
                     "--limit", "300", "--runs-dir", str(runs), "--name", "digits", *FAST])
    assert code == 0
    return runs / "digits" / "model.safetensors"


def forward_probabilities(model_path, images: np.ndarray) -> np.ndarray:
    """Softmax of the saved model's logits, normalised as its metadata says, in float64."""
    metadata = read_metadata(str(model_path))
    mean = np.asarray(metadata["normalize"]["mean"], np.float32).reshape(1, -1, 1, 1)
    std = np.asarray(metadata["normalize"]["std"], np.float32).reshape(1, -1, 1, 1)
    model = load(str(model_path))
    with convnet.no_grad():
        logits = model(convnet.tensor((images - mean) / std)).data.astype(np.float64)
    shifted = logits - logits.max(axis=1, keepdims=True)
    return np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)


# ----------------------------------------------------------------------------- train
def test_train_writes_a_run_folder(capsys):
    code, out, err = run(capsys, "train", "--dataset", "shapes", "--arch", SMALL_ARCH,
                         "--epochs", "2", "--limit", "120", *FAST)
    assert code == 0, err
    folder = "runs/shapes"
    assert sorted(os.listdir(folder)) == ["checkpoint.safetensors", "metrics.json",
                                          "model.onnx", "model.safetensors"]
    assert "test accuracy" in out
    with open(f"{folder}/metrics.json") as handle:
        metrics = json.load(handle)
    assert metrics["epochs"] == 2 and len(metrics["history"]["train_loss"]) == 2
    assert len(metrics["history"]["val_loss"]) == 2  # 12 of the 120 images held out
    test_labels = load_dataset("shapes", "test").labels
    confusion = np.array(metrics["test"]["confusion_matrix"])
    assert confusion.shape == (2, 2)
    assert confusion.sum(axis=1).tolist() == np.bincount(test_labels, minlength=2).tolist()
    assert metrics["test"]["count"] == len(test_labels)
    assert metrics["test"]["accuracy"] == pytest.approx(np.trace(confusion) / confusion.sum())
    per_class = metrics["test"]["per_class_accuracy"]
    assert list(per_class) == ["square", "diamond"]
    assert [per_class[name] for name in per_class] == pytest.approx(
        list(np.diag(confusion) / confusion.sum(axis=1)))
    assert load_state(f"{folder}/checkpoint.safetensors")["epoch"] == 2


def test_train_pictures_are_valid_pngs(capsys):
    pytest.importorskip("matplotlib")
    Image = pytest.importorskip("PIL.Image")
    code, out, err = run(capsys, "train", "--dataset", "shapes", "--arch", SMALL_ARCH,
                         "--epochs", "1", "--limit", "60", "--no-progress")
    assert code == 0, err
    for name in ("curves.png", "filters.png", "confusion.png"):
        path = os.path.join("runs", "shapes", name)
        with open(path, "rb") as handle:
            assert handle.read(8) == PNG_SIGNATURE, name
        with Image.open(path) as image:
            image.verify()
        with Image.open(path) as image:
            assert image.format == "PNG" and min(image.size) > 16
        assert path in out


TRAIN_RESUME = ["train", "--dataset", "shapes", "--arch", SMALL_ARCH, "--augment",
                "--optimizer", "adam", "--schedule", "cosine", "--limit", "160", *FAST]


def test_resume_after_a_shorter_run_matches_an_uninterrupted_run(capsys):
    assert run(capsys, *TRAIN_RESUME, "--epochs", "3", "--name", "full")[0] == 0
    assert run(capsys, *TRAIN_RESUME, "--epochs", "1", "--name", "part")[0] == 0
    code, out, err = run(capsys, *TRAIN_RESUME, "--epochs", "3", "--name", "part", "--resume")
    assert code == 0, err
    assert "after epoch 1" in out
    assert_same_file_weights("runs/full/model.safetensors", "runs/part/model.safetensors")
    assert_same_file_weights("runs/full/checkpoint.safetensors", "runs/part/checkpoint.safetensors")
    with open("runs/full/metrics.json") as full, open("runs/part/metrics.json") as part:
        full, part = json.load(full), json.load(part)
    for key in ("train_loss", "val_loss", "lr"):
        assert full["history"][key] == part["history"][key], key
    assert full["test"] == part["test"]


def test_resume_after_an_interrupted_run_matches_an_uninterrupted_run(capsys, monkeypatch):
    assert run(capsys, *TRAIN_RESUME, "--epochs", "3", "--name", "full")[0] == 0

    from convnet.train import Trainer
    original = Trainer.save_checkpoint

    def save_then_interrupt(self):
        original(self)
        raise KeyboardInterrupt  # Ctrl-C right after the first epoch's checkpoint

    with monkeypatch.context() as patch:
        patch.setattr(Trainer, "save_checkpoint", save_then_interrupt)
        code, out, err = run(capsys, *TRAIN_RESUME, "--epochs", "3", "--name", "part")
    assert code == 130
    assert err.strip().splitlines() == ["convnet: interrupted (continue with --resume)"]
    assert load_state("runs/part/checkpoint.safetensors")["epoch"] == 1
    assert not os.path.exists("runs/part/model.safetensors")

    code, out, err = run(capsys, *TRAIN_RESUME, "--epochs", "3", "--name", "part", "--resume")
    assert code == 0, err
    assert_same_file_weights("runs/full/model.safetensors", "runs/part/model.safetensors")


def test_resume_without_a_checkpoint(capsys):
    code, _, err = run(capsys, "train", "--dataset", "shapes", "--epochs", "1", "--resume", *FAST)
    assert_user_error(code, err, "no checkpoint", "runs/shapes")


def test_divergence_in_the_first_epoch(capsys):
    code, _, err = run(capsys, "train", "--dataset", "shapes", "--limit", "96", "--epochs", "2",
                       "--optimizer", "sgd", "--lr", "1e30", *FAST)
    assert_user_error(code, err, "at epoch 1, batch", "no checkpoint was written")
    assert not os.path.exists("runs/shapes/checkpoint.safetensors")


def test_divergence_later_keeps_the_last_good_checkpoint(capsys, monkeypatch):
    import convnet.functional as F
    import convnet.train

    checkpoint = os.path.join("runs", "shapes", "checkpoint.safetensors")
    seen = {"batches": 0, "checkpoint": None}

    def nan_in_epoch_two(logits, labels):
        loss = F.cross_entropy(logits, labels)
        if not convnet.train.Trainer.current.model.training:
            return loss  # validation
        seen["batches"] += 1
        if seen["batches"] == 4:  # epoch 2, batch 1 (3 batches of 32 per epoch)
            with open(checkpoint, "rb") as handle:
                seen["checkpoint"] = handle.read()
        return loss * float("nan") if seen["batches"] >= 5 else loss

    class NanTrainer(convnet.train.Trainer):
        current = None

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.loss_fn = nan_in_epoch_two
            NanTrainer.current = self

    monkeypatch.setattr(convnet.train, "Trainer", NanTrainer)
    code, _, err = run(capsys, "train", "--dataset", "shapes", "--arch", SMALL_ARCH,
                       "--limit", "96", "--val-split", "0", "--epochs", "3", *FAST)
    assert_user_error(code, err, "nan at epoch 2, batch 2", "epoch 1", checkpoint)
    with open(checkpoint, "rb") as handle:
        assert handle.read() == seen["checkpoint"]
    state = load_state(checkpoint)
    assert state["epoch"] == 1
    assert all(np.isfinite(value).all() for value in state["model"].values())


# ----------------------------------------------------------------------------- data offline
def test_fashion_mnist_missing_offline_is_one_line(capsys, offline, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run(capsys, "train", "--dataset", "fashion-mnist", "--data-dir", empty,
                       "--epochs", "1", *FAST)
    assert_user_error(code, err, "fashion-mnist", "not found", str(empty))
    assert offline.urls, "the download was not even attempted"
    assert not any(path.is_file() for path in (tmp_path / "home").rglob("*"))  # nothing cached


@pytest.mark.filterwarnings("ignore::convnet.data.DatasetWarning")  # our files are not the published ones
def test_fashion_mnist_from_small_files_trains_offline(capsys, offline, tmp_path):
    folder = tmp_path / "fashion"
    write_mnist_split(folder, "train", count=24, seed=1)
    write_mnist_split(folder, "test", count=8, seed=2)
    code, out, err = run(capsys, "train", "--dataset", "fashion-mnist", "--data-dir", folder,
                         "--arch", "[4|5x5 s2] relu gap fc{classes}", "--epochs", "1", *FAST)
    assert code == 0, err
    assert "8 test images" in out and offline.urls == []
    code, out, err = run(capsys, "evaluate", "runs/fashion-mnist/model.safetensors",
                         "--data-dir", folder)
    assert code == 0, err
    assert "(8 images)" in out

    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run(capsys, "evaluate", "runs/fashion-mnist/model.safetensors",
                       "--data-dir", empty)
    assert_user_error(code, err, "fashion-mnist", "not found")


# ----------------------------------------------------------------------------- evaluate
def test_evaluate_reports_the_models_own_accuracy(capsys, digits_run):
    code, out, err = run(capsys, "evaluate", digits_run)
    assert code == 0, err
    test = load_dataset("digits", "test")
    predicted = forward_probabilities(digits_run, test.images).argmax(axis=1)
    accuracy = float((predicted == test.labels).mean())
    assert f"accuracy {accuracy:.2%}" in out
    for digit in range(10):
        mask = test.labels == digit
        line = next(line for line in out.splitlines() if line.split()[:1] == [str(digit)])
        assert line.split()[1] == f"{float((predicted[mask] == digit).mean()):.2%}"


# ----------------------------------------------------------------------------- predict
def parse_predictions(out: str) -> dict:
    parsed = {}
    for line in out.strip().splitlines():
        path, guesses = line.rsplit(": ", 1)
        parsed[path] = [(name, float(percent.rstrip("%")) / 100)
                        for name, percent in (guess.rsplit(" ", 1) for guess in guesses.split(", "))]
    return parsed


def test_predict_top_k_on_png_files(capsys, digits_run, tmp_path):
    Image = pytest.importorskip("PIL.Image")
    test = load_dataset("digits", "test")
    paths = []
    for index in range(4):
        pixels = np.round(test.images[index, 0] * 255).astype(np.uint8)
        path = tmp_path / f"digit{index}.png"
        Image.fromarray(pixels, mode="L").save(path)
        paths.append(str(path))
    code, out, err = run(capsys, "predict", digits_run, *paths, "--top-k", "3")
    assert code == 0, err
    predictions = parse_predictions(out)
    assert list(predictions) == paths

    images = np.stack([np.asarray(Image.open(path), np.float32)[None] / 255 for path in paths])
    probabilities = forward_probabilities(digits_run, images)
    for path, row in zip(paths, probabilities):
        top = predictions[path]
        assert len(top) == 3
        assert sum(p for _, p in top) <= 1 + 3 * 0.0005  # each printed to 0.1%
        order = np.argsort(-row)[:3]
        assert top[0][0] == str(row.argmax())
        assert [name for name, _ in top] == [str(i) for i in order]
        for (name, printed), i in zip(top, order):
            assert abs(printed - row[i]) <= 0.0005 + 1e-9


def test_predict_converts_and_resizes_other_images(capsys, digits_run, tmp_path):
    Image = pytest.importorskip("PIL.Image")
    path = tmp_path / "big.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (40, 30, 3), dtype=np.uint8),
                    mode="RGB").save(path)
    code, out, err = run(capsys, "predict", digits_run, path, "--top-k", "20")
    assert code == 0, err
    (top,) = parse_predictions(out).values()
    assert len(top) == 10  # k is capped at the number of classes
    assert sorted(name for name, _ in top) == [str(d) for d in range(10)]
    assert abs(sum(p for _, p in top) - 1) <= 10 * 0.0005
    assert [p for _, p in top] == sorted((p for _, p in top), reverse=True)


# ----------------------------------------------------------------------------- summary
def test_summary_of_a_model_name(capsys):
    code, out, err = run(capsys, "summary", "lenet")
    assert code == 0, err
    # 1x28x28, 'same' 5x5 conv, pool to 14, 'valid' 5x5 conv to 10, pool to 5
    total = (6 * 25 + 6) + (16 * 6 * 25 + 16) + (400 * 120 + 120) + (120 * 84 + 84) + (84 * 10 + 10)
    assert f"Total params: {total:,}" in out
    assert "Input shape: 1x1x28x28" in out


def test_summary_of_a_cifar_resnet_sees_colour_32x32(capsys):
    code, out, err = run(capsys, "summary", "resnet20")
    assert code == 0, err
    assert "Input shape: 1x3x32x32" in out
    # He et al.'s ResNet-20: 3x3 convolutions 16-32-64 (option A shortcuts: no parameters),
    # batch norm after each, a 64 -> 10 linear head
    widths = [16] * 7 + [32] * 6 + [64] * 6
    inputs = [3] + widths[:-1]
    convolutions = sum(9 * c_in * c_out for c_in, c_out in zip(inputs, widths))
    total = convolutions + sum(2 * c for c in widths) + 64 * 10 + 10
    assert f"Total params: {total:,}" in out
    assert "81x81" in out  # the last 3x3 convolution's receptive field, through the additions


def test_summary_of_an_architecture_string(capsys):
    code, out, err = run(capsys, "summary", "[4|3x3] relu fc3", "--input-shape", "1,8,8")
    assert code == 0, err
    assert f"Total params: {(4 * 9 + 4) + (4 * 8 * 8 * 3 + 3):,}" in out
    assert "1x4x8x8" in out and "1x3" in out


def test_summary_of_a_saved_model(capsys, digits_run):
    code, out, err = run(capsys, "summary", digits_run)
    assert code == 0, err
    # [8|3x3] on 1x8x8 ('same'), maxpool to 4x4, fc10
    assert f"Total params: {(8 * 9 + 8) + (8 * 4 * 4 * 10 + 10):,}" in out
    assert "Input shape: 1x1x8x8" in out


# ----------------------------------------------------------------------------- user errors
def test_unknown_dataset(capsys):
    code, _, err = run(capsys, "train", "--dataset", "imagenet", *FAST)
    assert_user_error(code, err, "imagenet", "digits")


def test_unknown_model_name(capsys):
    code, _, err = run(capsys, "train", "--dataset", "shapes", "--model", "resnet50", *FAST)
    assert_user_error(code, err, "resnet50", "lenet")


def test_unknown_model_name_in_summary(capsys):
    code, _, err = run(capsys, "summary", "resnet50")
    assert_user_error(code, err, "resnet50")


@pytest.mark.parametrize("arch, bad", [
    ("[8|3x3] relu maxpol fc10", "maxpol"),
    ("[8|3x3 q2] relu fc10", "[8|3x3 q2]"),
    ("fc10 [8|3x3]", "[8|3x3]"),
])
def test_malformed_arch_points_at_the_bad_token(capsys, arch, bad):
    column = arch.index(bad) + 1
    code, _, err = run(capsys, "train", "--dataset", "shapes", "--arch", arch, *FAST)
    assert_user_error(code, err, repr(bad), f"column {column}")
    code, _, err = run(capsys, "summary", arch, "--input-shape", "1,8,8")
    assert_user_error(code, err, repr(bad), f"column {column}")


@pytest.mark.parametrize("command", ["evaluate", "predict", "summary"])
def test_missing_model_file(capsys, command, tmp_path):
    missing = str(tmp_path / "nowhere" / "model.safetensors")
    extra = ["image.png"] if command == "predict" else []
    code, _, err = run(capsys, command, missing, *extra)
    assert_user_error(code, err, "no such file", missing)


def foreign_files(tmp_path) -> dict:
    random_bytes = tmp_path / "random.safetensors"
    random_bytes.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, np.uint8).tobytes())
    plain = tmp_path / "plain.safetensors"  # a valid safetensors file, not from convnet
    safetensors.numpy.save_file({"weight": np.ones((3, 3), np.float32)}, str(plain),
                                metadata={"author": "someone else"})
    text = tmp_path / "notes.txt"
    text.write_text("not a model\n")
    return {"random bytes": random_bytes, "foreign safetensors": plain, "text": text}


@pytest.mark.parametrize("command", ["evaluate", "predict", "summary"])
@pytest.mark.parametrize("kind", ["random bytes", "foreign safetensors", "text"])
def test_a_file_that_is_not_a_convnet_model(capsys, tmp_path, command, kind):
    path = str(foreign_files(tmp_path)[kind])
    extra = ["image.png"] if command == "predict" else []
    code, _, err = run(capsys, command, path, *extra)
    assert_user_error(code, err, path)


def test_a_weights_only_file_or_model_without_metadata_cannot_predict(capsys, tmp_path):
    weights_only = tmp_path / "weights.safetensors"
    save_weights(convnet.nn.Linear(64, 10), str(weights_only))
    code, _, err = run(capsys, "predict", weights_only, "image.png")
    assert_user_error(code, err, str(weights_only), "load_weights")

    bare = tmp_path / "bare.safetensors"
    save(convnet.nn.Sequential(convnet.nn.Flatten(), convnet.nn.Linear(64, 10)), str(bare))
    code, _, err = run(capsys, "predict", bare, "image.png")
    assert_user_error(code, err, str(bare), "input shape")
    code, _, err = run(capsys, "evaluate", bare)
    assert_user_error(code, err, "--dataset")


@pytest.mark.parametrize("kind", ["garbage", "missing", "directory", "truncated"])
def test_an_unreadable_image(capsys, digits_run, tmp_path, kind):
    Image = pytest.importorskip("PIL.Image")
    good = tmp_path / "good.png"
    Image.fromarray(np.zeros((8, 8), np.uint8), mode="L").save(good)
    bad = tmp_path / "bad.png"
    if kind == "garbage":
        bad.write_bytes(b"this is no picture" * 10)
    elif kind == "directory":
        bad.mkdir()
    elif kind == "truncated":
        data = good.read_bytes()
        bad.write_bytes(data[:len(data) // 2])
    code, out, err = run(capsys, "predict", digits_run, good, bad)
    assert_user_error(code, err, str(bad))


def test_predict_without_pillow_is_one_line(capsys, digits_run, monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)  # import PIL now raises ImportError
    code, _, err = run(capsys, "predict", digits_run, "image.png")
    assert_user_error(code, err, "Pillow")


@pytest.mark.parametrize("argv, fragment", [
    (["train", "--dataset", "shapes", "--epochs", "0"], "--epochs"),
    (["train", "--dataset", "shapes", "--batch-size", "0"], "--batch-size"),
    (["train", "--dataset", "shapes", "--lr", "-1"], "lr"),
    (["train", "--dataset", "shapes", "--val-split", "1.5"], "--val-split"),
    (["train", "--dataset", "folder:"], "folder:"),
    (["train", "--dataset", "folder:/no/such/folder"], "/no/such/folder"),
    (["summary", "lenet", "--input-shape", "1,x,28"], "--input-shape"),
    (["summary", "lenet", "--input-shape", "1,28"], "--input-shape"),
    (["evaluate", "MODEL", "--dataset", "imagenet"], "imagenet"),
])
def test_other_user_errors(capsys, digits_run, argv, fragment):
    argv = [str(digits_run) if arg == "MODEL" else arg for arg in argv]
    code, _, err = run(capsys, *argv, *([] if argv[0] != "train" else FAST))
    assert_user_error(code, err, fragment)


def test_demo_runs(capsys):
    code, out, err = run(capsys, "demo")
    assert code == 0 and err == ""
    # seed 000's high-pass example: [-1, 2, -1] correlated with m, valid part
    m = [0, 1, 2, 3, 2, 5, 6, 7, 8, 14, 10, 11, 12, 8, 14]
    expected = [-m[i] + 2 * m[i + 1] - m[i + 2] for i in range(len(m) - 2)]
    assert f"m * f   = {expected}" in out
