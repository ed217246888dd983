"""convnet.io: save/load of models, weights and training state; damaged files; atomic writes.

Files are inspected with safetensors' own reader, and crafted with its own writer, so
the checks do not go through the code under test.
"""

import json
import math
import os
import stat

import numpy as np
import pytest
import safetensors.numpy
from safetensors import safe_open

import convnet
import convnet.io.atomic as atomic_module
import convnet.nn as nn
from convnet.io import (atomic_write, atomic_write_bytes, load, load_state, load_weights,
                        read_metadata, save, save_state, save_weights)


def many_layer_model():
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, stride=2, padding="same", rng=0),
        nn.BatchNorm2d(4),
        nn.LeakyReLU(0.2),
        nn.Conv2d(4, 5, 3, bias="untied", input_size=(4, 4), rng=1),
        nn.MaxPool2d(2, stride=1, padding=1, padding_mode="reflect"),
        nn.Flatten(),
        nn.Dropout(0.3, rng=2),
        nn.Linear(45, 6, rng=3))


def images(dtype=np.float32, shape=(2, 3, 8, 8), seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def train_two_steps(model, x):
    model.train()
    for _ in range(2):
        out = model(x)
        (out * out).mean().backward()
        for parameter in model.parameters():
            parameter.data -= 0.1 * parameter.grad
        model.zero_grad()


def assert_same_state(a, b):
    state_a, state_b = a.state_dict(), b.state_dict()
    assert list(state_a) == list(state_b)
    for key in state_a:
        assert state_a[key].dtype == state_b[key].dtype, key
        assert state_a[key].shape == state_b[key].shape, key
        np.testing.assert_array_equal(state_a[key], state_b[key], err_msg=key)


def file_metadata(path):
    with safe_open(path, framework="np") as handle:
        return handle.metadata()


def test_round_trip_many_layer_types(tmp_path):
    model, x = many_layer_model(), images()
    train_two_steps(model, x)
    path = tmp_path / "model.safetensors"
    save(model, path)
    loaded = load(path)
    assert_same_state(model, loaded)
    assert not any(module.training for module in loaded.modules())
    model.eval()
    np.testing.assert_array_equal(loaded(x).data, model(x).data)
    tracked = loaded[1].num_batches_tracked
    assert tracked.shape == () and tracked.dtype == np.int64 and int(tracked) == 2
    assert not np.array_equal(loaded[1].running_var, np.ones(4, np.float32))
    assert loaded[3].bias.shape == (5, 2, 2)
    assert loaded[4].padding_mode == "reflect" and loaded[0].padding == "same"


def test_file_layout_read_by_safetensors_itself(tmp_path):
    model = many_layer_model()
    path = tmp_path / "model.safetensors"
    save(model, path, metadata={"epochs": 3})
    tensors = safetensors.numpy.load_file(str(path))
    assert sorted(tensors) == sorted(model.state_dict())
    assert tensors["1.num_batches_tracked"].shape == ()
    metadata = file_metadata(path)
    assert metadata["format"] == "convnet.model/1"
    assert json.loads(metadata["metadata"]) == {"dict": {"epochs": 3}}
    architecture = json.loads(metadata["architecture"])
    assert architecture["class"] == "Sequential"
    assert architecture["args"]["modules"][0] == {"class": "Conv2d", "args": {
        "in_channels": 3, "out_channels": 4, "kernel_size": 3, "stride": 2, "padding": "same"}}
    assert architecture["args"]["modules"][3]["args"]["input_size"] == {"tuple": [4, 4]}
    assert architecture["args"]["modules"][6] == {"class": "Dropout", "args": {"p": 0.3}}


def test_float64_model(tmp_path):
    model = nn.Sequential(nn.Conv2d(2, 3, 3, dtype=np.float64, rng=0), nn.ReLU(), nn.Flatten(),
                          nn.Linear(3 * 4 * 4, 2, dtype=np.float64, rng=1))
    save(model, tmp_path / "m.safetensors")
    loaded = load(tmp_path / "m.safetensors")
    assert loaded[0].weight.dtype == np.float64 and loaded[3].bias.dtype == np.float64
    x = images(np.float64, (2, 2, 6, 6))
    np.testing.assert_array_equal(loaded(x).data, model(x).data)


def test_nested_sequential_and_appended_module(tmp_path):
    model = nn.Sequential(nn.Sequential(nn.Linear(4, 4, rng=0), nn.Tanh()),
                          nn.Sequential(nn.Sequential(nn.Linear(4, 3, rng=1))),
                          nn.Identity(54, flag=True))
    model[1].append(nn.Softmax(dim=1))
    save(model, tmp_path / "m.safetensors")
    loaded = load(tmp_path / "m.safetensors")
    assert list(loaded.state_dict()) == ["0.0.weight", "0.0.bias", "1.0.0.weight", "1.0.0.bias"]
    assert isinstance(loaded[1][1], nn.Softmax) and loaded[1][1].dim == 1
    assert loaded[2].init_args == {"args": (54,), "kwargs": {"flag": True}}
    x = images(shape=(5, 4))
    np.testing.assert_array_equal(loaded(x).data, model(x).data)
    layers = nn.ModuleList([nn.Linear(2, 2, rng=0)]).append(nn.BatchNorm1d(2))
    save(layers, tmp_path / "list.safetensors")
    assert_same_state(layers, load(tmp_path / "list.safetensors"))


class Net(nn.Module):
    def __init__(self, channels, hidden=8, *, activation=None, rng=None):
        super().__init__()
        self.conv = nn.Conv2d(channels, hidden, 3, padding="same", rng=rng)
        self.activation = activation if activation is not None else nn.ReLU()
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(hidden, 2, rng=rng))

    def forward(self, x):
        return self.head(self.activation(self.conv(x)))


def test_custom_class_needs_classes_and_round_trips(tmp_path):
    model = Net(3, hidden=6, activation=nn.LeakyReLU(0.3), rng=7)
    path = tmp_path / "net.safetensors"
    save(model, path)
    with pytest.raises(ValueError, match=r"'Net' module, which is not a convnet.nn class; "
                                         r"pass classes=\{'Net': Net\}"):
        load(path)
    loaded = load(path, classes={"Net": Net})
    assert isinstance(loaded, Net) and loaded.activation.negative_slope == 0.3
    assert_same_state(model, loaded)
    x = images()
    np.testing.assert_array_equal(loaded(x).data, model(x).data)


def test_classes_argument_is_checked(tmp_path):
    save(nn.ReLU(), tmp_path / "r.safetensors")
    with pytest.raises(TypeError, match="classes"):
        load(tmp_path / "r.safetensors", classes={"Net": print})


def test_models_save_cannot_describe(tmp_path):
    class Holder(nn.Module):
        def __init__(self, function):
            super().__init__()
            self.function = function

    class Grown(nn.Module):
        def __init__(self):
            super().__init__()

    class Conv2d(nn.Module):
        pass

    grown = Grown()
    grown.extra = nn.Parameter(np.zeros(3))
    path = tmp_path / "x.safetensors"
    with pytest.raises(ValueError, match=r"model\.function: cannot record a value of type function.*save_weights"):
        save(Holder(lambda x: x), path)
    with pytest.raises(ValueError, match=r"changed after construction.*save_weights"):
        save(grown, path)
    with pytest.raises(ValueError, match="has the name of convnet.nn.Conv2d"):
        save(nn.Sequential(Conv2d()), path)
    assert not path.exists()
    save_weights(grown, path)
    target = Grown()
    target.extra = nn.Parameter(np.ones(3))
    load_weights(target, path)
    np.testing.assert_array_equal(target.extra.data, np.zeros(3))


def test_load_leaves_library_rng_untouched(tmp_path):
    save(many_layer_model(), tmp_path / "m.safetensors")
    convnet.manual_seed(11)
    expected = convnet.random.default_rng().random(3)
    convnet.manual_seed(11)
    load(tmp_path / "m.safetensors")
    save(nn.Linear(5, 5, rng=0), tmp_path / "l.safetensors")
    np.testing.assert_array_equal(convnet.random.default_rng().random(3), expected)


def test_user_metadata(tmp_path):
    path = tmp_path / "m.safetensors"
    save(nn.Linear(2, 2), path, metadata={"epoch": 3, "classes": ("cat", "dog"), "loss": None})
    assert read_metadata(path) == {"epoch": 3, "classes": ("cat", "dog"), "loss": None}
    save(nn.Linear(2, 2), path)
    assert read_metadata(path) is None


# ---------------------------------------------------------------- damaged and foreign files
@pytest.fixture
def saved_bytes(tmp_path):
    path = tmp_path / "good.safetensors"
    save(many_layer_model(), path)
    return path.read_bytes()


def write(tmp_path, data, name="bad.safetensors"):
    (tmp_path / name).write_bytes(data)
    return tmp_path / name


def test_truncated_files(tmp_path, saved_bytes):
    with pytest.raises(ValueError, match=r"bad\.safetensors: truncated: the header lists \d+ bytes"):
        load(write(tmp_path, saved_bytes[:-10]))
    with pytest.raises(ValueError, match=r"bad\.safetensors: not a safetensors file, or truncated"):
        load(write(tmp_path, saved_bytes[:40]))
    with pytest.raises(ValueError, match="not a safetensors file"):
        load(write(tmp_path, b""))


def test_tampered_header(tmp_path, saved_bytes):
    broken = bytearray(saved_bytes)
    broken[8] ^= 0xFF  # the opening brace of the header JSON
    with pytest.raises(ValueError, match="bad.safetensors: damaged or not a safetensors file: "
                                         "its header is not valid JSON"):
        load(write(tmp_path, bytes(broken)))
    renamed = saved_bytes.replace(b"Conv2d", b"Conv9d")
    with pytest.raises(ValueError, match=r"model\.0: the file describes a 'Conv9d' module"):
        load(write(tmp_path, renamed))
    newer = saved_bytes.replace(b"convnet.model/1", b"convnet.model/9")
    with pytest.raises(ValueError, match="unknown format 'convnet.model/9'"):
        load(write(tmp_path, newer))


def test_random_damage_gives_value_errors_only(tmp_path, saved_bytes):
    header_end = 8 + int.from_bytes(saved_bytes[:8], "little")
    rng = np.random.default_rng(0)
    for trial in range(300):
        damaged = bytearray(saved_bytes)
        if trial % 3 == 0:
            damaged[rng.integers(8, header_end)] = rng.integers(0, 256)
        elif trial % 3 == 1:
            damaged[rng.integers(0, header_end)] ^= 1 << int(rng.integers(0, 8))
        else:
            damaged = damaged[:rng.integers(0, len(damaged))]
        try:
            load(write(tmp_path, bytes(damaged)))
        except ValueError as error:
            assert "bad.safetensors" in str(error)


def craft(tmp_path, tensors, metadata):
    path = tmp_path / "crafted.safetensors"
    safetensors.numpy.save_file(tensors, str(path), metadata=metadata)
    return path


LINEAR = json.dumps({"class": "Linear", "args": {"in_features": 3, "out_features": 2}})
MODEL_TAG = {"format": "convnet.model/1"}


@pytest.mark.parametrize("tensors, message", [
    ({"weight": np.zeros((2, 4), np.float32), "bias": np.zeros(2, np.float32)},
     r"wrong shapes: weight: expected \(2, 3\), got \(2, 4\)"),
    ({"weight": np.zeros((2, 3), np.float32)}, "missing keys: bias"),
    ({"weight": np.zeros((2, 3), np.float32), "bias": np.zeros(2, np.float32),
      "extra": np.zeros(1, np.float32)}, "unexpected keys: extra"),
    ({"weight": np.zeros((2, 3), np.int32), "bias": np.zeros(2, np.float32)},
     "wrong dtypes: weight: file has int32, model has float32"),
])
def test_crafted_weights_that_do_not_fit(tmp_path, tensors, message):
    with pytest.raises(ValueError, match="crafted.safetensors: .*" + message):
        load(craft(tmp_path, tensors, {**MODEL_TAG, "architecture": LINEAR}))


@pytest.mark.parametrize("metadata, message", [
    ({}, "no convnet 'format' tag.*load_weights"),
    ({"format": "convnet.state/1", "state": "null"}, "training state: use load_state"),
    (MODEL_TAG, "metadata has no 'architecture' entry"),
    ({**MODEL_TAG, "architecture": "{not json"}, "'architecture' metadata is not valid JSON"),
    ({**MODEL_TAG, "architecture": '{"class": "Linear"}'}, "expected an object with 'class' and 'args'"),
    ({**MODEL_TAG, "architecture": '{"class": "subprocess.Popen", "args": {}}'},
     "'subprocess.Popen' module, which is not a convnet.nn class"),
    ({**MODEL_TAG, "architecture": '{"class": "Linear", "args": {"in_features": {"exec": "x"}}}'},
     r"model\.in_features: unexpected JSON object"),
    ({**MODEL_TAG, "architecture": '{"class": "Linear", "args": {"in_features": 3, "colour": 1}}'},
     r"rebuilding Linear from the file's arguments failed: .*colour"),
])
def test_malformed_descriptions(tmp_path, metadata, message):
    with pytest.raises(ValueError, match=message):
        load(craft(tmp_path, {"weight": np.zeros((2, 3), np.float32)}, metadata))


def test_not_safetensors_and_missing_files(tmp_path):
    np.savez(tmp_path / "weights.npz", weight=np.zeros(3))
    with pytest.raises(ValueError, match=r"weights\.npz: not a safetensors file"):
        load(tmp_path / "weights.npz")
    with pytest.raises(ValueError, match="is a directory"):
        load(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"nothing\.safetensors: no such file"):
        load(tmp_path / "nothing.safetensors")
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_state(tmp_path / "nothing.safetensors")


def test_load_weights(tmp_path):
    path = tmp_path / "w.safetensors"
    save_weights(nn.Sequential(nn.Linear(3, 2, dtype=np.float64, rng=0)), path)
    source = safetensors.numpy.load_file(str(path))
    target = nn.Sequential(nn.Linear(3, 2, rng=1), nn.ReLU(), nn.Linear(2, 2, rng=2))
    assert load_weights(target, path, strict=False) == (["2.weight", "2.bias"], [])
    np.testing.assert_array_equal(target[0].weight.data, source["0.weight"].astype(np.float32))
    with pytest.raises(ValueError, match="missing keys: 2.weight, 2.bias"):
        load_weights(target, path)
    assert file_metadata(path) == {"format": "convnet.weights/1"}
    int_path = craft(tmp_path, {"0.weight": np.zeros((2, 3), np.int64)}, {})
    with pytest.raises(ValueError, match="wrong dtypes"):
        load_weights(nn.Sequential(nn.Linear(3, 2, bias=False)), int_path)


# ---------------------------------------------------------------- atomic writes
def files_in(folder):
    return sorted(os.listdir(folder))


def test_crash_in_serializer_keeps_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "model.safetensors"
    save(nn.Linear(3, 2, rng=0), path)
    good = path.read_bytes()

    def crash(*args, **kwargs):
        raise RuntimeError("simulated crash while serializing")

    monkeypatch.setattr(safetensors.numpy, "save", crash)
    with pytest.raises(RuntimeError, match="simulated crash"):
        save(nn.Linear(3, 2, rng=1), path)
    assert path.read_bytes() == good
    assert files_in(tmp_path) == ["model.safetensors"]


def test_crash_after_temporary_file_written(tmp_path, monkeypatch):
    path = tmp_path / "state.safetensors"
    save_state(path, {"epoch": 1})
    good = path.read_bytes()

    def crash(descriptor):
        raise OSError("simulated power cut before the data reached the disk")

    monkeypatch.setattr(atomic_module.os, "fsync", crash)
    with pytest.raises(OSError, match="simulated power cut"):
        save_state(path, {"epoch": 2, "weights": np.ones(1000)})
    assert path.read_bytes() == good
    assert files_in(tmp_path) == ["state.safetensors"]


def test_atomic_write_partial_write_then_error(tmp_path):
    path = tmp_path / "notes.txt"
    atomic_write_bytes(path, b"first version")
    with pytest.raises(KeyboardInterrupt):
        with atomic_write(path) as handle:
            handle.write(b"half of the sec")
            raise KeyboardInterrupt
    assert path.read_bytes() == b"first version"
    assert files_in(tmp_path) == ["notes.txt"]
    with atomic_write(tmp_path / "new.txt", "w") as handle:
        handle.write("caf\u00e9\n")
    assert (tmp_path / "new.txt").read_bytes() == b"caf\xc3\xa9\n"
    with open(tmp_path / "plain.txt", "w"):
        pass
    assert stat.S_IMODE(os.stat(tmp_path / "new.txt").st_mode) == \
        stat.S_IMODE(os.stat(tmp_path / "plain.txt").st_mode)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        atomic_write_bytes(tmp_path / "missing" / "x.bin", b"")
    with pytest.raises(ValueError, match="mode"):
        with atomic_write(path, "a"):
            pass


# ---------------------------------------------------------------- training state
def assert_identical(a, b, where="tree"):
    assert type(a) is type(b), f"{where}: {type(a)} vs {type(b)}"
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, where
        np.testing.assert_array_equal(a, b, err_msg=where)
    elif isinstance(a, np.generic):
        assert a.dtype == b.dtype and a == b, where
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for (key_a, value_a), key_b in zip(a.items(), b):
            assert type(key_a) is type(key_b), where
            assert_identical(value_a, b[key_b], f"{where}[{key_a!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for index, (item_a, item_b) in enumerate(zip(a, b)):
            assert_identical(item_a, item_b, f"{where}[{index}]")
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b), where
    else:
        assert a == b, where


def test_save_state_round_trip_is_exact(tmp_path):
    generator = np.random.default_rng(5)
    tree = {
        "optimizer": {
            "state": {0: {"momentum_buffer": np.arange(6, dtype=np.float32).reshape(2, 3)},
                      1: {"momentum_buffer": None, "step": np.int64(3)}},
            "param_groups": [{"lr": 0.1, "momentum": 0.9, "params": [0, 1], "nesterov": False}],
        },
        "epoch": 7, "best_loss": float("inf"), "worst": float("-inf"), "undefined": float("nan"),
        "history": [0.5, 1, None, "x", (1, 2.0), []],
        "rng": generator.bit_generator.state,
        "scale": np.float32(0.5), "flag": np.bool_(True),
        "empty": np.zeros((0, 3)), "zero_d": np.array(2.5), "small": np.array([-1, 2], np.int8),
        "fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
        (1, "pair"): "tuple key", 2.5: "float key",
    }
    path = tmp_path / "state.safetensors"
    save_state(path, tree)
    restored = load_state(path)
    assert_identical(tree, restored)
    assert restored["rng"]["state"]["state"] > 2 ** 64
    resumed = np.random.default_rng()
    resumed.bit_generator.state = restored["rng"]
    np.testing.assert_array_equal(resumed.random(4), generator.random(4))
    assert restored["optimizer"]["state"][0]["momentum_buffer"].flags.writeable
    assert file_metadata(path)["format"] == "convnet.state/1"


def test_save_state_errors(tmp_path):
    with pytest.raises(ValueError, match=r"state\['bad'\]: cannot record a value of type object"):
        save_state(tmp_path / "s.safetensors", {"bad": object()})
    with pytest.raises(ValueError, match="cannot record"):
        save_state(tmp_path / "s.safetensors", {"text": np.array(["a"])})
    assert not (tmp_path / "s.safetensors").exists()
    crafted = craft(tmp_path, {"t": np.zeros(2)},
                    {"format": "convnet.state/1", "state": '{"dict": {"a": {"tensor": "u"}}}'})
    with pytest.raises(ValueError, match=r"state\['a'\]: the file has no tensor 'u'"):
        load_state(crafted)
    crafted = craft(tmp_path, {"t": np.zeros(2)}, {"format": "convnet.state/1", "state": "1"})
    with pytest.raises(ValueError, match="tensors not referenced by the state"):
        load_state(crafted)
    save(nn.ReLU(), tmp_path / "model.safetensors")
    with pytest.raises(ValueError, match="expected a 'convnet.state/1' file, but it holds a whole model"):
        load_state(tmp_path / "model.safetensors")
