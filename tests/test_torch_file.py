"""Files written by torch.save, read by convnet.load without torch; save/load of state dicts.

Every torch file here is written by the real ``torch.save``; hostile files are torch files
with one member replaced, or pickles written by Python's own pickler.
"""

import collections
import io
import os
import pickle
import zipfile

import numpy as np
import pytest

import convnet
import convnet.io.limits as limits
import convnet.nn as nn
from convnet.io import load_state, load_weights
from convnet.io.torch_file import TorchFileError, load_torch_file, parse_torch_file

torch = pytest.importorskip("torch")

DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.int8, torch.int16,
          torch.int32, torch.int64, torch.uint8, torch.bool, torch.complex64, torch.complex128,
          torch.uint16, torch.uint32, torch.uint64]


def torch_file(tmp_path, obj, name="saved.pth", **options):
    path = tmp_path / name
    torch.save(obj, path, **options)
    return path


def expected(tensor):
    tensor = tensor.detach().resolve_conj().resolve_neg()
    return (tensor.float() if tensor.dtype == torch.bfloat16 else tensor).numpy()


def assert_same(loaded, original):
    """``loaded`` (from convnet) equals ``original`` (torch objects), types and dtypes too."""
    if isinstance(original, torch.Tensor):
        want = expected(original)
        assert isinstance(loaded, np.ndarray) and loaded.dtype == want.dtype
        assert loaded.shape == want.shape and loaded.flags.c_contiguous
        np.testing.assert_array_equal(loaded, want)
    elif isinstance(original, dict):
        assert type(loaded) is type(original) and list(loaded) == list(original)
        for key in original:
            assert_same(loaded[key], original[key])
    elif isinstance(original, (list, tuple)):
        assert type(loaded) is (tuple if isinstance(original, torch.Size) else type(original))
        assert len(loaded) == len(original)
        for item, want in zip(loaded, original):
            assert_same(item, want)
    else:
        assert type(loaded) is type(original) and loaded == original


def small_torch_net():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.BatchNorm2d(4),
                              torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
                              torch.nn.Linear(4 * 4 * 4, 5))
    net(torch.randn(6, 3, 8, 8))  # BatchNorm's running statistics move
    return net.eval()


def small_convnet():
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 4 * 4, 5))


# ----------------------------------------------------------------- what torch writes
def test_state_dict_of_a_conv_net_loads_into_a_convnet_model(tmp_path):
    net = small_torch_net()
    state = net.state_dict()
    path = torch_file(tmp_path, state, "net.pth")
    loaded = convnet.load(path)
    assert_same(loaded, state)
    assert loaded._metadata == state._metadata  # torch's per-module versions come along
    assert loaded["1.num_batches_tracked"].dtype == np.int64
    model = small_convnet()
    assert model.load_state_dict(convnet.load(path, map_location="cpu")) == ([], [])
    model.eval()
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        want = net(x).numpy()
    np.testing.assert_allclose(model(x.numpy()).data, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_every_dtype(tmp_path, dtype):
    values = torch.arange(-6, 6).reshape(3, 4) * 1.25 + 0.5
    if dtype.is_complex:
        values = values + 1j * values.flip(0)
    if dtype == torch.bool:
        values = values > 0
    elif not dtype.is_floating_point and not dtype.is_complex:
        values = values.abs() if str(dtype).startswith("torch.uint") else values
    tensor = values.to(dtype)
    loaded = convnet.load(torch_file(tmp_path, {"t": tensor, "view": tensor[1:, ::2]}))
    assert_same(loaded, {"t": tensor, "view": tensor[1:, ::2]})
    assert loaded["t"].dtype == (np.float32 if dtype == torch.bfloat16 else tensor.numpy().dtype)


def test_views_share_a_storage_and_read_as_torch_reads_them(tmp_path):
    base = torch.arange(48, dtype=torch.float64).reshape(6, 8)
    views = [base, base.t(), base[2:5, 1:7:3], base.permute(1, 0)[::2], base.view(-1)[7:30],
             base.narrow(1, 3, 2), base[4], base[5, 6], base.expand(2, 6, 8), base.unsqueeze(1),
             base.as_strided((3, 3), (9, 1), 5), base.flip(1).contiguous().t()]
    assert not views[1].is_contiguous() and views[2].storage_offset() == 17
    path = torch_file(tmp_path, views)
    with zipfile.ZipFile(path) as archive:  # one storage for all but the copy
        assert sum("/data/" in name for name in archive.namelist()) == 2
    loaded = convnet.load(path)
    assert_same(loaded, views)
    loaded[0][0, 0] = 99  # copies: no array aliases another
    assert loaded[1][0, 0] == 0 and loaded[3][0, 0] == 0


def test_the_same_tensor_twice_is_one_array(tmp_path):
    tensor = torch.ones(3)
    loaded = convnet.load(torch_file(tmp_path, {"a": tensor, "b": [tensor]}))
    assert loaded["a"] is loaded["b"][0]


def test_containers_and_plain_values(tmp_path):
    obj = {"ordered": collections.OrderedDict([("z", torch.zeros(2)), ("a", torch.ones(1))]),
           "nested": [1, 2.5, "text", None, True, (torch.tensor(3), [torch.zeros(0, 4)])],
           "scalar": torch.tensor(-1.5), "empty": torch.empty(0), "size": torch.Size([2, 3]),
           "dtype": torch.float16, "set": {1, 2}, "frozen": frozenset("ab"), "bytes": b"\x00\xff",
           "no_bytes": b"", "complex": 1 - 2j, 7: "int key", ("a", 1): "tuple key",
           "parameter": torch.nn.Parameter(torch.full((2,), 2.0))}
    loaded = convnet.load(torch_file(tmp_path, obj))
    for key in ("ordered", "nested", "scalar", "empty", "size", "set", "frozen", "bytes",
                "no_bytes", "complex", 7, ("a", 1), "parameter"):
        assert_same(loaded[key], obj[key])
    assert loaded["scalar"].shape == () and loaded["empty"].shape == (0,)
    assert loaded["dtype"] == np.dtype("float16") and list(loaded) == list(obj)


def test_conjugate_and_negative_views(tmp_path):
    values = torch.tensor([1 + 2j, -3j], dtype=torch.complex64)
    obj = [values.conj(), torch.tensor([1.0, -2.0])._neg_view()]
    assert obj[0].is_conj() and obj[1].is_neg()
    assert_same(convnet.load(torch_file(tmp_path, obj)), obj)


def test_big_endian_files(tmp_path):
    tensors = {"f": torch.linspace(-1, 1, 5), "i": torch.arange(-3, 3), "h": torch.ones(2).half(),
               "b": torch.tensor([0.5, -7.0], dtype=torch.bfloat16)}
    path = torch_file(tmp_path, tensors)
    sizes = {"f": 4, "i": 8, "h": 2, "b": 2}
    order = {key: str(n) for n, key in enumerate(tensors)}  # storage keys in pickling order
    width = {order[key]: size for key, size in sizes.items()}

    def swap(name, data):
        if name.endswith("/byteorder"):
            return b"big"
        if "/data/" in name:
            size = width[name.rsplit("/", 1)[1]]
            return np.frombuffer(data, f"<u{size}").astype(f">u{size}").tobytes()
        return data
    assert_same(convnet.load(rewrite(path, swap)), tensors)


def test_torch_arguments_and_file_objects(tmp_path):
    path = torch_file(tmp_path, {"w": torch.ones(2)})
    for map_location in (None, "cpu", "cuda:0", torch.device("cpu"), {"cuda:0": "cpu"}):
        assert_same(convnet.load(path, map_location=map_location), {"w": torch.ones(2)})
    assert_same(convnet.load(path, weights_only=False), {"w": torch.ones(2)})
    with open(path, "rb") as handle:
        assert_same(convnet.load(handle), {"w": torch.ones(2)})
    assert_same(convnet.load(io.BytesIO(path.read_bytes())), {"w": torch.ones(2)})
    with pytest.raises(TypeError, match="map_location: expected None, a device name"):
        convnet.load(path, map_location=lambda storage, location: storage)


# ----------------------------------------------------------------- hostile and damaged files
def rewrite(path, change, name="changed.pth", extra=()):
    """A copy of the zip ``path`` with each member's bytes through ``change(name, data)``."""
    target = path.parent / name
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(target, "w") as copy:
        for member in source.namelist():
            data = change(member, source.read(member))
            if data is not None:
                copy.writestr(member, data)
        for member, data in extra:
            copy.writestr(member, data)
    return target


def with_pickle(tmp_path, payload: bytes, extra=()):
    """A torch file whose data.pkl is ``payload``."""
    path = torch_file(tmp_path, {"w": torch.ones(2)})
    return rewrite(path, lambda name, data: payload if name.endswith("/data.pkl") else data,
                   extra=extra)


def assert_refused(path, match):
    for reader in (convnet.load, load_torch_file):
        with pytest.raises(TorchFileError, match=match) as caught:
            reader(path)
        message = str(caught.value)
        assert "\n" not in message and message.startswith(str(path)), message
        assert isinstance(caught.value, ValueError)
        assert isinstance(caught.value, pickle.UnpicklingError)


class Runs:
    """Unpickling an instance calls ``function(*arguments)``."""

    def __init__(self, function, *arguments):
        self.function, self.arguments = function, arguments

    def __reduce__(self):
        return self.function, self.arguments


@pytest.mark.parametrize("protocol", [0, 2, 4])
def test_a_pickle_that_calls_os_system_runs_nothing(tmp_path, protocol):
    marker = tmp_path / "ran"
    payload = pickle.dumps({"w": Runs(os.system, f"touch {marker}")}, protocol=protocol)
    assert_refused(with_pickle(tmp_path, payload), r"asks for posix\.system.*refused")
    assert not marker.exists()


def test_a_pickle_that_calls_eval_and_other_globals_runs_nothing(tmp_path):
    marker = tmp_path / "ran"
    for function, arguments, named in [
            (eval, (f"open({str(marker)!r}, 'w')",), r"(builtins|__builtin__)\.eval"),
            (exec, (f"open({str(marker)!r}, 'w')",), r"(builtins|__builtin__)\.exec"),
            (open, (str(marker), "w"), r"io\.open"),
            (getattr, ("abc", "upper"), r"(builtins|__builtin__)\.getattr"),
            (torch.load, (str(marker),), r"torch\.serialization\.load"),
            (np.array, ([1],), r"numpy.*array")]:
        assert_refused(with_pickle(tmp_path, pickle.dumps(Runs(function, *arguments), protocol=2)),
                       f"asks for {named}")
    assert not marker.exists()


@pytest.mark.parametrize("payload, match", [
    # BUILD (__setstate__) on a whitelisted global, on a tensor, and a list APPEND onto one
    (b"ccollections\nOrderedDict\n(S'__call__'\nI1\ndb.", "sets the state of a collections.Ordered"),
    (b"ctorch\nFloatStorage\n}b.", "sets the state of a storage type float32"),
    (b"ctorch._utils\n_rebuild_tensor_v2\n(I1\nI0\n(t(tI00\n}tR.",
     "storage is a int, not a storage"),
    (b"ctorch\nSize\n((I1\nI-3\nttR.", r"torch\.Size: expected a tuple of at most 64 ints >= 0"),
    (b"c__builtin__\nset\n(I1\ntR.", r"set called with \(1,\)"),
    (b"(ccollections\nOrderedDict\nl.", "the object holds collections.OrderedDict, not data"),
    (b"(S'storage'\nctorch\nFloatStorage\nS'0'\nS'cpu'\nI-1\ntQ.", "unexpected persistent id"),
    (b"(S'storage'\nS'FloatStorage'\nS'0'\nS'cpu'\nI2\ntQ.", "unexpected persistent id"),
    (b"(S'storage'\nctorch\nFloatStorage\nS'../data.pkl'\nS'cpu'\nI2\ntQ.",
     "storage key '../data.pkl' escapes"),
    (b"(S'storage'\nctorch\nFloatStorage\nS'7'\nS'cpu'\nI2\ntQ.", "has no member 'saved/data/7'"),
    (b"(S'storage'\nctorch\nFloatStorage\nS'0'\nS'cpu'\nI3\ntQ.",
     "holds 8 bytes, shorter than the 3 float32"),
    (b"ccopyreg\n_reconstructor\n(ctorch\nSize\nc__builtin__\nobject\nNtR.",
     r"copyreg\._reconstructor"),
    (b"\x80\x02]q\x00(K\x01K\x02e", "data.pkl: .*(UnpicklingError|EOFError)"),
    (b"ctorch\nfloat32\n.", None),
])
def test_crafted_pickles(tmp_path, payload, match):
    path = with_pickle(tmp_path, payload)
    if match is None:  # a dtype alone is fine data
        assert convnet.load(path) == np.dtype("float32")
        return
    assert_refused(path, match)


def crafted_tensor(tmp_path, offset, size, stride, numel, storage="FloatStorage", metadata=None):
    """A torch file holding one tensor with these numbers, over a storage of 4 float32 values."""
    hooks = b"ccollections\nOrderedDict\n)R"
    numbers = lambda values: b"(" + b"".join(b"I%d\n" % value for value in values) + b"t"
    pid = b"(S'storage'\nctorch\n" + storage.encode() + b"\nS'0'\nS'cpu'\nI%d\ntQ" % numel
    extra = b"" if metadata is None else metadata
    payload = (b"ctorch._utils\n_rebuild_tensor_v2\n(" + pid + b"I%d\n" % offset + numbers(size)
               + numbers(stride) + b"I00\n" + hooks + extra + b"tR.")
    path = torch_file(tmp_path, torch.arange(4.0))
    return rewrite(path, lambda name, data: payload if name.endswith("/data.pkl") else data)


@pytest.mark.parametrize("numbers, match", [
    ((1, (2, 2), (2, 1), 4),
     r"holds 4 float32 values, a tensor of size \(2, 2\) at offset 1 needs 5"),
    ((0, (5,), (1,), 4), "needs 5"),
    ((4, (1,), (1,), 4), "needs 5"),
    ((0, (2, 2), (1,), 4), r"has size \(2, 2\) but stride \(1,\)"),
    ((0, (2,), (-1,), 4), ">= 0"),
    ((0, (2 ** 40,), (0,), 4), "its tensors would take more than"),
])
def test_tensors_that_do_not_fit_their_storage(tmp_path, numbers, match):
    assert_refused(crafted_tensor(tmp_path, *numbers), match)


def test_crafted_tensor_reads_and_bad_metadata(tmp_path):
    np.testing.assert_array_equal(convnet.load(crafted_tensor(tmp_path, 1, (3,), (1,), 4)),
                                  [1, 2, 3])
    np.testing.assert_array_equal(convnet.load(crafted_tensor(tmp_path, 0, (2, 2), (0, 1), 4)),
                                  [[0, 1], [0, 1]])
    assert_refused(crafted_tensor(tmp_path, 0, (2,), (1,), 4, metadata=b"(dS'x'\nI1\ns"),
                   "unsupported tensor metadata")
    assert_refused(crafted_tensor(tmp_path, 0, (2,), (1,), 4, storage="QInt8Storage"),
                   r"asks for torch\.QInt8Storage")


def test_member_names_that_escape_the_archive(tmp_path):
    path = torch_file(tmp_path, {"w": torch.ones(2)})
    for evil in ("../evil", "archive/data/../../evil", "/etc/passwd", "archive\\..\\x"):
        assert_refused(rewrite(path, lambda name, data: data, extra=[(evil, b"x")]),
                       "escapes the archive")


def test_damaged_archives(tmp_path):
    path = torch_file(tmp_path, {"w": torch.ones(1000)})
    data = path.read_bytes()
    truncated = tmp_path / "truncated.pth"
    for length in (len(data) // 2, len(data) - 30, 60):
        truncated.write_bytes(data[:length])
        assert_refused(truncated, "not a torch.save file, or truncated")
    missing = rewrite(path, lambda name, data: None if "/data/" in name else data)
    assert_refused(missing, "has no member 'saved/data/0'")
    short = rewrite(path, lambda name, data: data[:100] if "/data/" in name else data)
    assert_refused(short, "storage '0' holds 100 bytes, shorter than the 1000 float32 values")
    script = rewrite(path, lambda name, data: data, extra=[("saved/code/__torch__.py", b"")])
    assert_refused(script, "TorchScript archive")
    flipped = bytearray(data)
    flipped[data.index(b"\x00\x00\x80?")] ^= 1  # a stored value: the zip's CRC fails
    (tmp_path / "flipped.pth").write_bytes(bytes(flipped))
    assert_refused(tmp_path / "flipped.pth", "member 'saved/data/0' is damaged")


def test_oversized_file(tmp_path, monkeypatch):
    path = torch_file(tmp_path, {"w": torch.ones(1000)})
    monkeypatch.setattr(limits, "MAX_FILE_BYTES", 2000)
    for reader in (convnet.load, load_torch_file):
        with pytest.raises(ValueError, match=r"saved\.pth: \d[\d,]* bytes, more than the 2,000"):
            reader(path)
    with pytest.raises(TorchFileError, match="members hold .* more than the 2,000"):
        parse_torch_file(path.read_bytes(), "saved.pth")


def test_random_bytes_and_other_files(tmp_path):
    noise = tmp_path / "noise.pth"
    noise.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, np.uint8).tobytes())
    with pytest.raises(TorchFileError, match=r"noise\.pth: not a torch\.save file: not a zip"):
        load_torch_file(noise)
    with pytest.raises(ValueError, match=r"noise\.pth: not a safetensors file"):
        convnet.load(noise)
    legacy = torch_file(tmp_path, {"w": torch.ones(2)}, "legacy.pth",
                        _use_new_zipfile_serialization=False)
    assert_refused(legacy, "legacy format .* not supported")
    no_pickle = rewrite(torch_file(tmp_path, {}),
                        lambda name, data: None if name.endswith("/data.pkl") else data)
    with pytest.raises(TorchFileError, match="expected one '<name>/data.pkl' member, found 0"):
        load_torch_file(no_pickle)


def test_random_damage_gives_one_line_torch_file_errors(tmp_path):
    data = torch_file(tmp_path, small_torch_net().state_dict()).read_bytes()
    rng = np.random.default_rng(1)
    damaged_path = tmp_path / "damaged.pth"
    for trial in range(200):
        damaged = bytearray(data)
        for _ in range(1 + trial % 3):
            damaged[rng.integers(0, len(damaged))] = rng.integers(0, 256)
        damaged_path.write_bytes(bytes(damaged))
        try:
            load_torch_file(damaged_path)
        except TorchFileError as error:
            assert "\n" not in str(error) and "damaged.pth" in str(error)


# ----------------------------------------------------------------- convnet.save of objects
def test_state_dict_round_trip(tmp_path):
    model = small_convnet()
    model(np.random.default_rng(0).standard_normal((4, 3, 8, 8)).astype(np.float32))
    path = tmp_path / "weights.safetensors"
    convnet.save(model.state_dict(), path)
    loaded = convnet.load(path)
    assert type(loaded) is collections.OrderedDict and list(loaded) == list(model.state_dict())
    for key, value in model.state_dict().items():
        assert loaded[key].dtype == value.dtype
        np.testing.assert_array_equal(loaded[key], value)
    target = small_convnet()
    assert target.load_state_dict(loaded) == ([], [])
    assert load_weights(small_convnet(), path) == ([], [])  # tensors named by the keys
    with pytest.raises(ValueError, match="holds a state_dict or container saved by save"):
        load_state(path)


def test_torch_state_dict_saved_again_by_convnet(tmp_path):
    state = small_torch_net().state_dict()
    loaded = convnet.load(torch_file(tmp_path, state))
    convnet.save(loaded, tmp_path / "again.safetensors")
    assert_same(convnet.load(tmp_path / "again.safetensors"), state)


def test_optimizer_state_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3, 8, 8)).astype(np.float32)

    def step(model, optimizer):
        optimizer.zero_grad()
        out = model(x)
        (out * out).mean().backward()
        optimizer.step()

    model = small_convnet()
    optimizer = convnet.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    step(model, optimizer)
    convnet.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": 3},
                 tmp_path / "checkpoint.safetensors")
    checkpoint = convnet.load(tmp_path / "checkpoint.safetensors")
    assert checkpoint["epoch"] == 3 and type(checkpoint["model"]) is collections.OrderedDict
    saved = optimizer.state_dict()
    assert checkpoint["optimizer"]["param_groups"] == saved["param_groups"]
    assert list(checkpoint["optimizer"]["state"]) == list(saved["state"])
    resumed = small_convnet()
    resumed.load_state_dict(checkpoint["model"])
    resumed_optimizer = convnet.optim.SGD(resumed.parameters(), lr=0.5)
    resumed_optimizer.load_state_dict(checkpoint["optimizer"])
    step(model, optimizer)
    step(resumed, resumed_optimizer)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(resumed.state_dict()[key], value, err_msg=key)


def test_saving_plain_containers(tmp_path):
    path = tmp_path / "object.safetensors"
    obj = [convnet.tensor(np.arange(3.0)), (1, "a", None), {2: np.float32(1.5)}, np.zeros((0, 2))]
    convnet.save(obj, path)
    loaded = convnet.load(path)
    np.testing.assert_array_equal(loaded[0], np.arange(3.0))
    assert loaded[1:3] == [(1, "a", None), {2: np.float32(1.5)}] and loaded[3].shape == (0, 2)
    with pytest.raises(ValueError, match=r"save: .*cannot record a value of type object"):
        convnet.save({"bad": object()}, path)
    with pytest.raises(TypeError, match="expected a convnet.nn.Module as the model, got int"):
        convnet.save(3, path)
    with open(path, "rb") as handle:  # the file is safetensors, never pickle
        assert b"convnet.object/1" in handle.read(2000)


def test_load_keeps_classes_positional(tmp_path):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(2, 2)

        def forward(self, x):
            return self.linear(x)

    convnet.save(Net(), tmp_path / "net.safetensors")
    assert isinstance(convnet.load(tmp_path / "net.safetensors", {"Net": Net}), Net)
    assert isinstance(convnet.load(tmp_path / "net.safetensors", classes={"Net": Net}), Net)
