"""convnet.vision.datasets against torchvision.datasets (the oracle) on small files in the real
formats: IDX (plain, gzipped), CIFAR's Python-2 pickles, PNG/JPEG folders; then hostile
pickles, truncated files, mismatched counts, labels out of range and missing files."""

import os
import pickle
import struct

import numpy as np
import pytest
from PIL import Image

from data_writers import idx_bytes, write_bytes, write_idx
from torchvision_oracle import import_torchvision

tv = import_torchvision()
import torch  # noqa: E402
import torchvision.transforms as TT  # noqa: E402

import convnet  # noqa: E402
import convnet.vision as vision  # noqa: E402
import convnet.vision.transforms as T  # noqa: E402
from convnet.data import DatasetError  # noqa: E402
from convnet.utils.data import DataLoader  # noqa: E402
from convnet.vision import datasets  # noqa: E402

RNG = np.random.default_rng(3)
CIFAR10_NAMES = "airplane automobile bird cat deer dog frog horse ship truck".split()


def same_samples(ours, theirs):
    assert len(ours) == len(theirs)
    for index in range(len(theirs)):
        (image, target), (their_image, their_target) = ours[index], theirs[index]
        assert image.mode == their_image.mode and image.size == their_image.size
        np.testing.assert_array_equal(np.asarray(image), np.asarray(their_image))
        assert target == their_target and type(target) is type(their_target)


def fails(make, *parts, kind=DatasetError):
    """The error ``make()`` raises: of ``kind``, one line, holding each of ``parts``."""
    with pytest.raises(kind) as error:
        make()
    message = str(error.value)
    assert "\n" not in message, message
    for part in parts:
        assert str(part) in message, (part, message)
    return error.value


# ----------------------------------------------------------------- MNIST family
def write_mnist(folder, stems, count=5, classes=10, gz=False, seed=0):
    rng = np.random.default_rng(seed)
    arrays = (rng.integers(0, 256, (count, 28, 28), dtype=np.uint8),
              rng.integers(0, classes, count, dtype=np.uint8))
    for stem, array in zip(stems, arrays):
        write_idx(os.path.join(folder, stem + (".gz" if gz else "")), array, compress=gz)
    return arrays


def stems(train, prefix=""):
    split = ("train" if train else ("test" if prefix else "t10k"))
    return f"{prefix}{split}-images-idx3-ubyte", f"{prefix}{split}-labels-idx1-ubyte"


@pytest.mark.parametrize("name", ["MNIST", "FashionMNIST", "KMNIST"])
@pytest.mark.parametrize("gz,train", [(False, True), (True, False)])
def test_mnist_family_matches_torchvision(tmp_path, name, gz, train):
    plain, packed = tmp_path / "plain", tmp_path / "packed"
    write_mnist(plain / name / "raw", stems(not train), seed=1)  # torchvision needs both splits
    write_mnist(plain / name / "raw", stems(train))
    write_mnist((packed if gz else plain) / name / "raw", stems(train), gz=gz)
    theirs = getattr(tv.datasets, name)(str(plain), train=train)
    ours = getattr(datasets, name)(str(packed if gz else plain), train=train)
    same_samples(ours, theirs)
    assert ours.classes == theirs.classes and ours.class_to_idx == theirs.class_to_idx
    assert isinstance(ours.data, convnet.Tensor) and ours.data.dtype == np.uint8
    assert ours.targets.dtype == np.int64 and ours.data.shape == (5, 28, 28)
    np.testing.assert_array_equal(ours.data.numpy(), theirs.data.numpy())
    np.testing.assert_array_equal(ours.targets.numpy(), theirs.targets.numpy())
    assert repr(ours) == repr(theirs).replace(str(plain), str(packed if gz else plain))


@pytest.mark.parametrize("split,classes", [("balanced", 47), ("letters", 27), ("digits", 10)])
def test_emnist_matches_torchvision(tmp_path, split, classes):
    raw = tmp_path / "EMNIST" / "raw"
    write_mnist(raw, stems(False, f"emnist-{split}-"), classes=classes)
    theirs = tv.datasets.EMNIST(str(tmp_path), split=split, train=False)
    ours = datasets.EMNIST(str(tmp_path), split=split, train=False)
    same_samples(ours, theirs)
    assert ours.classes == theirs.classes and ours.class_to_idx == theirs.class_to_idx
    np.testing.assert_array_equal(ours.targets.numpy(), theirs.targets.numpy())


def test_mnist_transforms_and_dataloader(tmp_path):
    write_mnist(tmp_path / "MNIST" / "raw", stems(False))  # torchvision needs both splits
    write_mnist(tmp_path / "MNIST" / "raw", stems(True), count=7)
    theirs = tv.datasets.MNIST(str(tmp_path), transform=TT.Compose(
        [TT.ToTensor(), TT.Normalize((0.5,), (0.5,))]), target_transform=lambda t: t + 100)
    ours = vision.datasets.MNIST(str(tmp_path), transform=T.Compose(
        [T.ToTensor(), T.Normalize((0.5,), (0.5,))]), target_transform=lambda t: t + 100)
    for index in range(7):
        np.testing.assert_allclose(ours[index][0].numpy(), theirs[index][0].numpy(), atol=1e-6)
        assert ours[index][1] == theirs[index][1]
    batches = list(DataLoader(ours, batch_size=4))
    assert [tuple(x.shape) for x, _ in batches] == [(4, 1, 28, 28), (3, 1, 28, 28)]
    for (x, y), (tx, ty) in zip(batches, torch.utils.data.DataLoader(theirs, batch_size=4)):
        assert y.dtype == np.int64
        np.testing.assert_allclose(x.numpy(), tx.numpy(), atol=1e-6)
        np.testing.assert_array_equal(y.numpy(), ty.numpy())


def test_mnist_reads_torchvision_processed_files(tmp_path):
    processed = tmp_path / "MNIST" / "processed"
    processed.mkdir(parents=True)
    for name, count in (("training.pt", 4), ("test.pt", 3)):
        images = torch.from_numpy(RNG.integers(0, 256, (count, 28, 28), dtype=np.uint8))
        torch.save((images, torch.arange(count)), processed / name)
    for train in (True, False):
        theirs = tv.datasets.MNIST(str(tmp_path), train=train)
        same_samples(datasets.MNIST(str(tmp_path), train=train), theirs)


def test_download_true_with_files_present_fetches_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(convnet.data.download, "_retrieve", None)  # any download would fail
    write_mnist(tmp_path / "MNIST" / "raw", stems(True), gz=True)
    write_cifar(tmp_path, datasets.CIFAR10)
    assert len(datasets.MNIST(str(tmp_path), download=True)) == 5
    assert len(datasets.CIFAR10(str(tmp_path), train=False, download=True)) == 3


@pytest.mark.parametrize("download", [False, True])
def test_missing_files_say_what_to_put_where(tmp_path, download):
    root = str(tmp_path)
    for make, folder, names, url in [
            (lambda: datasets.MNIST(root, download=download), "MNIST/raw",
             ["train-images-idx3-ubyte", "train-labels-idx1-ubyte"], "ossci-datasets"),
            (lambda: datasets.EMNIST(root, "letters", download=download), "EMNIST/raw",
             ["emnist-letters-train-images-idx3-ubyte"], "biometrics.nist.gov"),
            (lambda: datasets.CIFAR100(root, train=False, download=download),
             "cifar-100-python", ["test, meta"], "cifar-100-python.tar.gz")]:
        error = fails(make, tmp_path / folder, url, *names, kind=RuntimeError)
        assert isinstance(error, DatasetError)
    with pytest.raises(RuntimeError):  # torchvision's type for the same situation
        tv.datasets.MNIST(root)


def test_bad_idx_files_are_one_line_errors_naming_the_file(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    images, labels = write_mnist(raw, stems(True), gz=True)
    image_file, label_file = raw / "train-images-idx3-ubyte.gz", raw / "train-labels-idx1-ubyte.gz"
    mnist = lambda: datasets.MNIST(str(tmp_path))  # noqa: E731
    write_bytes(image_file, write_idx(tmp_path / "x.gz", images).read_bytes()[:-20])
    fails(mnist, image_file, "truncated")
    write_bytes(image_file, idx_bytes(images)[:-5])  # not gzipped, same name: still detected
    fails(mnist, image_file, "truncated")
    write_idx(image_file, images)
    write_idx(label_file, labels[:4])
    fails(mnist, label_file, "4 labels", "5 images")
    write_idx(label_file, np.array([1, 2, 10, 3, 4], np.uint8))
    fails(mnist, label_file, "label 10", "0..9")
    stem = "emnist-letters-train-labels-idx1-ubyte"
    write_mnist(tmp_path / "EMNIST" / "raw", stems(True, "emnist-letters-"), classes=27)
    write_idx(tmp_path / "EMNIST" / "raw" / stem, np.array([1, 27, 3, 4, 5], np.uint8))
    fails(lambda: datasets.EMNIST(str(tmp_path), "letters"), stem, "label 27", "0..26")


# ----------------------------------------------------------------- CIFAR
def py2_pickle(item) -> bytes:
    """Protocol 2 as Python 2 wrote CIFAR's batches: str as BINSTRING, ints as BININT,
    arrays as numpy.core.multiarray._reconstruct(ndarray, (0,), 'b') + BUILD of latin1 data."""
    def string(raw):
        return b"T" + struct.pack("<I", len(raw)) + raw

    def save(item):
        if isinstance(item, (dict, list, tuple)):
            kind = type(item)
            values = sum(item.items(), ()) if kind is dict else item
            return ({dict: b"}(", list: b"](", tuple: b"("}[kind] + b"".join(map(save, values))
                    + {dict: b"u", list: b"e", tuple: b"t"}[kind])
        if isinstance(item, str):
            return string(item.encode("latin1"))
        if isinstance(item, int):
            return b"J" + struct.pack("<i", item)
        return (b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85" + string(b"b")
                + b"\x87R(K\x01" + save(item.shape) + b"cnumpy\ndtype\n"
                + string(item.dtype.str[1:].encode()) + b"K\x00K\x01\x87R(K\x03"
                + string(item.dtype.str[:1].encode())
                + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb\x89" + string(item.tobytes())
                + b"tb")
    return b"\x80\x02" + save(item) + b"."


def py3_pickle(obj, protocol=2) -> bytes:
    """What Python 3 writes for the same content: bytes keys and names (b'data', ...)."""
    def encode(item):
        if isinstance(item, dict):
            return {encode(key): encode(value) for key, value in item.items()}
        return ([encode(value) for value in item] if isinstance(item, list) else
                item.encode() if isinstance(item, str) else item)
    return pickle.dumps(encode(obj), protocol=protocol)


def write_cifar(root, cls, writer=py2_pickle, count=3, labels=None, names=None):
    folder = root / cls.base_folder
    hundred = cls is datasets.CIFAR100
    names = names or ([f"class{index}" for index in range(100)] if hundred else CIFAR10_NAMES)
    key = "fine_labels" if hundred else "labels"
    for offset, (name, _) in enumerate(cls.train_list + cls.test_list):
        data = RNG.integers(0, 256, (count, 3072), dtype=np.uint8)
        targets = labels or [int(x) for x in RNG.integers(0, len(names), count)]
        batch = {"batch_label": f"batch {offset}", key: targets, "data": data,
                 "filenames": [f"img{index}.png" for index in range(count)]}
        if hundred:
            batch["coarse_labels"] = [target // 5 for target in targets]
        write_bytes(folder / name, writer(batch))
    meta = ({"fine_label_names": names, "coarse_label_names": names[::5]} if hundred else
            {"label_names": names, "num_cases_per_batch": count, "num_vis": 3072})
    write_bytes(folder / cls.meta["filename"], writer(meta))
    return folder


def torchvision_cifar(monkeypatch, name):
    cls = getattr(tv.datasets, name)  # our files are not the published ones: no checksums
    monkeypatch.setattr(cls, "train_list", [[n, None] for n, _ in cls.train_list])
    monkeypatch.setattr(cls, "test_list", [[n, None] for n, _ in cls.test_list])
    monkeypatch.setattr(cls, "meta", {**cls.meta, "md5": None})
    return cls


@pytest.mark.parametrize("name", ["CIFAR10", "CIFAR100"])
@pytest.mark.parametrize("train", [True, False])
def test_cifar_matches_torchvision(tmp_path, monkeypatch, name, train):
    write_cifar(tmp_path, getattr(datasets, name))
    theirs = torchvision_cifar(monkeypatch, name)(str(tmp_path), train=train,
                                                  transform=TT.ToTensor())
    ours = getattr(datasets, name)(str(tmp_path), train=train, transform=T.ToTensor())
    assert ours.classes == theirs.classes and ours.class_to_idx == theirs.class_to_idx
    assert type(ours.data) is np.ndarray and ours.data.dtype == np.uint8
    np.testing.assert_array_equal(ours.data, theirs.data)
    assert ours.data.shape == ((15 if name == "CIFAR10" else 3) if train else 3, 32, 32, 3)
    assert ours.targets == theirs.targets and all(type(t) is int for t in ours.targets)
    for index in range(len(theirs)):
        np.testing.assert_allclose(ours[index][0].numpy(), theirs[index][0].numpy(), atol=1e-6)
    images, targets = next(iter(DataLoader(ours, batch_size=2)))
    assert images.shape == (2, 3, 32, 32) and targets.dtype == np.int64
    ours.transform = theirs.transform = ours.transforms = theirs.transforms = None
    same_samples(ours, theirs)
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_cifar_written_by_python3_reads_the_same(tmp_path, protocol):
    folder = write_cifar(tmp_path / "py2", datasets.CIFAR10)
    for name in ("test_batch", "batches.meta"):
        content = pickle.loads((folder / name).read_bytes(), encoding="latin1")
        write_bytes(tmp_path / "py3" / folder.name / name, py3_pickle(content, protocol))
    py2 = datasets.CIFAR10(str(tmp_path / "py2"), train=False)
    py3 = datasets.CIFAR10(str(tmp_path / "py3"), train=False)
    np.testing.assert_array_equal(py2.data, py3.data)
    assert (py2.targets, py2.classes) == (py3.targets, py3.classes)


class Call:
    def __init__(self, *reduce):
        self.reduce = reduce

    def __reduce__(self):  # pickled as reduce[0](*reduce[1])
        return self.reduce


ATTACKS = {  # (file, content); MARKER is a file that the attack would create
    "os.system": ("test_batch", b"cos\nsystem\n(S'touch MARKER'\ntR."),
    "eval": ("batches.meta", b"c__builtin__\neval\n(S\"open('MARKER', 'w')\"\ntR."),
    "exec-after-data": ("test_batch", pickle.dumps({"data": np.zeros((1, 3072), np.uint8),
                        "labels": [Call(exec, ("open('MARKER', 'w').close()",))]}, protocol=2)),
    "object-dtype": ("test_batch", pickle.dumps({"data": np.array([None])}, protocol=2))}


@pytest.mark.parametrize("attack", ATTACKS)
def test_hostile_cifar_pickles_are_refused_and_nothing_runs(tmp_path, attack):
    folder = write_cifar(tmp_path, datasets.CIFAR10)
    marker = tmp_path / "marker"
    name, content = ATTACKS[attack]
    (folder / name).write_bytes(content.replace(b"MARKER", str(marker).encode()))
    error = fails(lambda: datasets.CIFAR10(str(tmp_path), train=False), folder / name)
    assert not marker.exists()
    if attack != "object-dtype":
        assert isinstance(error, datasets.UnsafePickleError)  # a pickle.UnpicklingError too
        assert "refused (nothing was run)" in str(error) and attack.split("-")[0] in str(error)


def test_bad_cifar_batches_are_one_line_errors(tmp_path):
    cifar = lambda: datasets.CIFAR10(str(tmp_path), train=False)  # noqa: E731
    batch = write_cifar(tmp_path, datasets.CIFAR10, labels=[1, 2]) / "test_batch"  # 3 images
    fails(cifar, batch, "2 labels for 3 images")
    write_cifar(tmp_path, datasets.CIFAR10, labels=[0, 10, 1])
    fails(cifar, batch, "label 10", "0..9")
    batch.write_bytes(py2_pickle({"labels": [0]})[:-9])
    fails(cifar, batch)


# ----------------------------------------------------------------- folders
def image_tree(root):
    shapes = {"cat/a.png": "RGB", "cat/b.jpg": "RGB", "cat/deep/c.png": "L",
              "dog/x.png": "RGBA", "dog/y.JPEG": "L", "dog/z.bmp": "P", "emu/q.webp": "RGB",
              "dog/notes.txt": None, "emu/.hidden.png": "RGB"}
    for index, (name, mode) in enumerate(shapes.items()):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        if mode is None:
            (root / name).write_text("not an image")
            continue
        pixels = RNG.integers(0, 256, (4 + index % 3, 5 + index, 3), dtype=np.uint8)
        Image.fromarray(pixels).convert(mode).save(root / name)
    return root


def test_image_folder_matches_torchvision(tmp_path):
    root = str(image_tree(tmp_path / "images"))
    theirs = tv.datasets.ImageFolder(root)
    ours = datasets.ImageFolder(root)
    assert (ours.classes, ours.class_to_idx) == (theirs.classes, theirs.class_to_idx)
    assert ours.samples == theirs.samples and ours.imgs == theirs.imgs
    assert ours.targets == theirs.targets and len(ours) == 8  # .hidden.png too, as torchvision
    same_samples(ours, theirs)
    assert repr(ours) == repr(theirs)
    ours = datasets.ImageFolder(root, transform=T.Compose([T.Resize((6, 6)), T.ToTensor()]))
    images, targets = next(iter(DataLoader(ours, batch_size=8)))
    assert images.shape == (8, 3, 6, 6) and targets.numpy().tolist() == theirs.targets


def test_dataset_folder_options_match_torchvision(tmp_path):
    root = image_tree(tmp_path / "images")
    (root / "empty").mkdir()
    for kwargs in [dict(extensions=(".png",), allow_empty=True),
                   dict(is_valid_file=lambda path: "deep" not in path, allow_empty=True)]:
        ours = datasets.DatasetFolder(str(root), os.path.basename, **kwargs)
        theirs = tv.datasets.DatasetFolder(str(root), os.path.basename, **kwargs)
        assert ours.samples == theirs.samples and ours.classes == theirs.classes
        assert [ours[i] for i in range(len(ours))] == [theirs[i] for i in range(len(theirs))]
    for library in (datasets, tv.datasets):
        with pytest.raises(FileNotFoundError, match="Found no valid file for the classes empty"):
            library.DatasetFolder(str(root), os.path.basename, extensions=(".png",))
        with pytest.raises(FileNotFoundError, match="Couldn't find any class folder"):
            library.ImageFolder(str(root / "empty"))


def test_unreadable_image_is_a_one_line_error_naming_the_file(tmp_path):
    root = image_tree(tmp_path / "images")
    broken = root / "cat" / "a.png"
    broken.write_bytes(broken.read_bytes()[:40])
    folder = datasets.ImageFolder(str(root))
    fails(lambda: folder[0], broken, "not a readable image")
    (root / "cat" / "b.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    fails(lambda: folder[1], root / "cat" / "b.jpg")


# ----------------------------------------------------------------- FakeData
@pytest.mark.parametrize("image_size", [(3, 7, 5), (1, 4, 6)])
def test_fake_data_is_deterministic_per_index_and_shaped_as_torchvision(image_size):
    ours, theirs = (library.FakeData(size=4, image_size=image_size, num_classes=3)
                    for library in (datasets, tv.datasets))
    pixels = lambda dataset, index: np.asarray(dataset[index][0])  # noqa: E731
    assert len(ours) == len(theirs) == 4
    for index in range(4):
        (image, target), (their_image, _) = ours[index], theirs[index]
        assert (image.mode, image.size) == (their_image.mode, their_image.size)
        assert type(target) is int and 0 <= target < 3
        np.testing.assert_array_equal(np.asarray(image), pixels(ours, index))
    convnet.manual_seed(1)  # the global seed plays no part
    np.testing.assert_array_equal(pixels(ours, 2), pixels(datasets.FakeData(4, image_size), 2))
    moved = datasets.FakeData(size=4, image_size=image_size, random_offset=10)
    assert not np.array_equal(pixels(moved, 0), pixels(ours, 0))
    with pytest.raises(IndexError):
        ours[4]
    ours.transform = T.ToTensor()
    images, targets = next(iter(DataLoader(ours, batch_size=4)))
    assert images.shape == (4, *image_size) and targets.dtype == np.int64
    assert vision.datasets.FakeData is datasets.FakeData
