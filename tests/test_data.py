"""convnet.data datasets: formats, validation, checksums, search order, downloads, generators."""

from __future__ import annotations

import gzip
import hashlib
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
import requests

import convnet.data as data
from convnet.data import DatasetError, DatasetWarning, load_dataset
from convnet.data import cifar, download, idx

import data_writers as writers
from http_mirror import Mirror

REAL_RETRIEVE = download._retrieve

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
# MD5 of the decompressed Fashion-MNIST files (see convnet/data/idx.py for the sources),
# written out here so the test does not take them from the code under test.
FASHION_RAW_MD5 = {"train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
                   "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
                   "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
                   "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965"}


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No real home cache, no $CONVNET_DATA, an empty system folder, and no network."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CONVNET_DATA", raising=False)
    monkeypatch.setattr(download, "SYSTEM_DIR", str(tmp_path / "system"))

    def no_network(url, *args, **kwargs):
        raise requests.exceptions.ConnectionError("network disabled in tests")
    monkeypatch.setattr(download, "_retrieve", no_network)
    return tmp_path


def cache(tmp_path, name):
    return tmp_path / "home" / ".cache" / "convnet" / name


def publish(monkeypatch, name, stem, gz=None, raw=None):
    """Pretend (gz, raw) are the published MD5s of ``stem``."""
    table = {**idx.IDX_DATASETS[name]["md5"], stem: (gz, raw)}
    monkeypatch.setitem(idx.IDX_DATASETS[name], "md5", table)


# ---- IDX ---------------------------------------------------------------------------------

@pytest.mark.parametrize("compress", [True, False])
def test_idx_files_load_as_float_nchw(tmp_path, compress):
    images, labels = writers.write_mnist_split(tmp_path / "d", "test", count=5, compress=compress)
    with pytest.warns(DatasetWarning, match="not the published one"):
        dataset = load_dataset("mnist", "test", data_dir=tmp_path / "d")
    assert dataset.images.shape == (5, 1, 28, 28) and dataset.images.dtype == np.float32
    assert dataset.labels.dtype == np.int64
    np.testing.assert_array_equal(dataset.images[:, 0], images / np.float32(255))
    np.testing.assert_array_equal(dataset.labels, labels)
    assert dataset.classes == [str(d) for d in range(10)] and len(dataset) == 5


def test_parse_idx_other_types_and_byte_order():
    values = np.array([[1.5, -2.0, 3.25]], dtype=np.float32)
    parsed = idx.parse_idx(writers.idx_bytes(values.astype(">f4")))
    assert parsed.dtype == np.float32 and parsed.dtype.isnative
    np.testing.assert_array_equal(parsed, values)
    shorts = np.array([1, -300, 7000], dtype=">i2")
    np.testing.assert_array_equal(idx.parse_idx(writers.idx_bytes(shorts)), [1, -300, 7000])


@pytest.mark.parametrize("damage, message", [
    (lambda raw: raw[:-10], "truncated"),
    (lambda raw: raw + b"\x00", "trailing bytes"),
    (lambda raw: raw[:10], "truncated IDX header"),
    (lambda raw: b"\x01\x02" + raw[2:], "not an IDX file"),
    (lambda raw: raw[:2] + b"\x07" + raw[3:], "not an IDX file"),
    (lambda raw: gzip.compress(raw)[:200], "corrupt or truncated gzip"),
])
def test_malformed_files_are_errors_naming_the_file(tmp_path, damage, message):
    writers.write_mnist_split(tmp_path, "train", count=4)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(damage(gzip.decompress(path.read_bytes())))
    with pytest.raises(DatasetError, match=message) as error:
        load_dataset("mnist", data_dir=tmp_path)
    assert str(path) in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize("images, labels, message", [
    (np.zeros((3, 27, 28), np.uint8), np.zeros(3, np.uint8), r"expected \(N, 28, 28\) ubyte"),
    (np.zeros((3, 28, 28), np.int8), np.zeros(3, np.uint8), r"expected \(N, 28, 28\) ubyte"),
    (np.zeros((3, 28, 28), np.uint8), np.zeros(4, np.uint8), "4 labels for the 3 images"),
    (np.zeros((3, 28, 28), np.uint8), np.zeros((3, 1), np.uint8), r"expected \(N,\) ubyte labels"),
    (np.zeros((3, 28, 28), np.uint8), np.array([0, 10, 1], np.uint8), "label 10 outside 0..9"),
])
def test_headers_and_sizes_are_validated(tmp_path, images, labels, message):
    writers.write_idx(tmp_path / "train-images-idx3-ubyte", images)
    writers.write_idx(tmp_path / "train-labels-idx1-ubyte", labels)
    with pytest.raises(DatasetError, match=message), warnings.catch_warnings():
        warnings.simplefilter("ignore", DatasetWarning)
        load_dataset("mnist", data_dir=tmp_path)


def test_published_checksums_of_file_or_of_decompressed_bytes_are_silent(tmp_path, monkeypatch):
    images, labels = writers.mnist_like(3)
    image_raw, label_raw = writers.idx_bytes(images), writers.idx_bytes(labels)
    original = writers.gzip_bytes(image_raw, mtime=1)
    repacked = writers.gzip_bytes(image_raw, mtime=2, name=b"x")  # Debian-style new header
    assert md5(original) != md5(repacked)
    publish(monkeypatch, "mnist", "train-images-idx3-ubyte", md5(original), md5(image_raw))
    publish(monkeypatch, "mnist", "train-labels-idx1-ubyte", "0" * 32, md5(label_raw))
    writers.write_bytes(tmp_path / "train-labels-idx1-ubyte", label_raw)
    for content in (original, repacked):
        writers.write_bytes(tmp_path / "train-images-idx3-ubyte.gz", content)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert len(load_dataset("mnist", data_dir=tmp_path)) == 3
    # a subset: valid headers, other checksum -> used, with one warning naming the file
    writers.write_idx(tmp_path / "train-images-idx3-ubyte.gz", images[:2])
    writers.write_idx(tmp_path / "train-labels-idx1-ubyte", labels[:2])
    with pytest.warns(DatasetWarning) as caught:
        assert len(load_dataset("mnist", data_dir=tmp_path)) == 2
    assert len(caught) == 2 and all("\n" not in str(w.message) for w in caught)
    assert str(tmp_path / "train-images-idx3-ubyte.gz") in str(caught[0].message)


# ---- search order ------------------------------------------------------------------------

def test_search_order_data_dir_then_env_then_cache_then_system(tmp_path, monkeypatch):
    places = {"data_dir": tmp_path / "mine", "env": tmp_path / "env" / "mnist",
              "cache": cache(tmp_path, "mnist"), "system": tmp_path / "system" / "mnist"}
    written = {}
    for seed, (place, folder) in enumerate(places.items()):
        written[place] = writers.write_mnist_split(folder, "test", count=2 + seed, seed=seed)[1]
    monkeypatch.setenv("CONVNET_DATA", str(tmp_path / "env"))

    def labels(**kwargs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DatasetWarning)
            return load_dataset("mnist", "test", **kwargs).labels
    np.testing.assert_array_equal(labels(data_dir=places["data_dir"]), written["data_dir"])
    np.testing.assert_array_equal(labels(), written["env"])
    monkeypatch.delenv("CONVNET_DATA")
    np.testing.assert_array_equal(labels(), written["cache"])
    for path in places["cache"].iterdir():
        path.unlink()
    np.testing.assert_array_equal(labels(), written["system"])


# ---- downloads ---------------------------------------------------------------------------

@pytest.fixture
def serve(monkeypatch):
    """``serve(files, cut_after=None)``: every dataset's mirror becomes a real HTTP server on
    127.0.0.1 serving ``files`` (name -> bytes); returns the list of names asked for."""
    mirrors = []

    def start(files: dict, cut_after=None) -> list:
        mirror = Mirror(files, cut_after).__enter__()
        mirrors.append(mirror)
        monkeypatch.setattr(download, "_retrieve", REAL_RETRIEVE)
        for name in idx.IDX_DATASETS:
            monkeypatch.setitem(idx.IDX_DATASETS[name], "mirrors", [mirror.url])
        monkeypatch.setattr(cifar, "ARCHIVE_URL", mirror.url + "cifar-10-binary.tar.gz")
        return mirror.asked
    yield start
    for mirror in mirrors:
        mirror.__exit__()


def gz_split(count=4, seed=0, split="t10k"):
    images, labels = writers.mnist_like(count, seed)
    return {f"{split}-images-idx3-ubyte.gz": writers.gzip_bytes(writers.idx_bytes(images)),
            f"{split}-labels-idx1-ubyte.gz": writers.gzip_bytes(writers.idx_bytes(labels))}, labels


def test_download_with_good_checksum_is_cached_atomically(tmp_path, monkeypatch, serve):
    files, labels = gz_split()
    for name, content in files.items():
        publish(monkeypatch, "kmnist", name[:-3], md5(content), None)
    asked = serve(files)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dataset = load_dataset("kmnist", "test", progress=False)
    np.testing.assert_array_equal(dataset.labels, labels)
    assert asked == list(files)
    assert sorted(os.listdir(cache(tmp_path, "kmnist"))) == sorted(files)  # no temporary left
    for name, content in files.items():
        assert (cache(tmp_path, "kmnist") / name).read_bytes() == content
    asked.clear()
    load_dataset("kmnist", "test")
    assert asked == []  # served from the cache now


def test_download_with_bad_checksum_is_discarded(tmp_path, serve):
    files, _ = gz_split()
    serve(files)  # the published MD5s are the real ones: these bytes fail them
    with pytest.raises(DatasetError, match="discarded") as error:
        load_dataset("mnist", "test", progress=False)
    message = str(error.value)
    assert "\n" not in message and "t10k-images-idx3-ubyte.gz" in message
    assert idx.IDX_DATASETS["mnist"]["md5"]["t10k-images-idx3-ubyte"][0] in message
    folder = cache(tmp_path, "mnist")
    assert not folder.exists() or os.listdir(folder) == []


def test_download_broken_mid_stream_leaves_nothing(tmp_path, serve):
    files, _ = gz_split()
    serve(files, cut_after=100)
    with pytest.raises(DatasetError, match="IncompleteRead"):
        load_dataset("fashion-mnist", "test", progress=False)
    folder = cache(tmp_path, "fashion-mnist")
    assert not folder.exists() or os.listdir(folder) == []


def test_download_with_progress_bar_and_a_dead_first_mirror(tmp_path, monkeypatch, serve, capsys):
    files, labels = gz_split(count=3, seed=5)
    for name, content in files.items():
        publish(monkeypatch, "kmnist", name[:-3], md5(content), None)
    asked = serve(files)
    mirrors = ["http://127.0.0.1:9/", *idx.IDX_DATASETS["kmnist"]["mirrors"]]  # 9: refused
    monkeypatch.setitem(idx.IDX_DATASETS["kmnist"], "mirrors", mirrors)
    np.testing.assert_array_equal(load_dataset("kmnist", "test").labels, labels)
    assert sorted(os.listdir(cache(tmp_path, "kmnist"))) == sorted(files)
    assert asked == list(files)
    assert "t10k-images-idx3-ubyte.gz" in capsys.readouterr().err  # tqdm's bar


def test_offline_gives_one_clear_message(tmp_path):
    with pytest.raises(DatasetError) as error:
        load_dataset("fashion-mnist", "train", data_dir=tmp_path / "nowhere")
    message = str(error.value)
    assert "\n" not in message
    for part in ("train-images-idx3-ubyte.gz not found", "network disabled",
                 "apt-get install dataset-fashion-mnist", str(cache(tmp_path, "fashion-mnist")),
                 "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/train-images-idx3-ubyte.gz",
                 str(tmp_path / "nowhere")):
        assert part in message


def test_no_download_when_disabled(tmp_path, serve):
    asked = serve({})
    with pytest.raises(DatasetError, match="not found"):
        load_dataset("mnist", download=False)
    with pytest.raises(DatasetError, match="download and extract"):
        load_dataset("cifar10", download=False)
    assert asked == []


# ---- real Fashion-MNIST ------------------------------------------------------------------

@pytest.mark.skipif(not FASHION_DIR.is_dir(), reason=f"{FASHION_DIR} absent: apt-get install "
                    "dataset-fashion-mnist to run this test on the real data")
def test_real_fashion_mnist_matches_the_published_checksums(monkeypatch):
    for stem, expected in FASHION_RAW_MD5.items():
        assert md5(gzip.decompress((FASHION_DIR / f"{stem}.gz").read_bytes())) == expected, stem
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the published checksums match: no warning
        train = load_dataset("fashion-mnist", data_dir=FASHION_DIR)
        monkeypatch.setattr(download, "SYSTEM_DIR", str(FASHION_DIR.parent))  # found by default
        test = load_dataset("fashion-mnist", "test")
    assert train.images.shape == (60000, 1, 28, 28) and test.images.shape == (10000, 1, 28, 28)
    assert train.images.min() == 0.0 and train.images.max() == 1.0
    assert np.bincount(train.labels).tolist() == [6000] * 10
    assert np.bincount(test.labels).tolist() == [1000] * 10
    assert train.classes[0] == "T-shirt/top" and train.classes[9] == "Ankle boot"


# ---- CIFAR-10 ----------------------------------------------------------------------------

def test_cifar_records_are_label_then_red_green_blue_planes(tmp_path):
    record = bytes([7]) + bytes([10] * 1024 + [20] * 1024 + [30] * 1023 + [255])
    names = [f"data_batch_{i}.bin" for i in range(1, 6)]
    for name in names:
        writers.write_bytes(tmp_path / "cifar-10-batches-bin" / name, record * 2)
    with pytest.warns(DatasetWarning, match="2 records instead of the published 10000"):
        dataset = load_dataset("cifar10", data_dir=tmp_path)
    assert dataset.images.shape == (10, 3, 32, 32) and dataset.labels.tolist() == [7] * 10
    first = dataset.images[0] * 255
    assert np.allclose(first[0], 10) and np.allclose(first[1], 20)
    assert np.allclose(first[2].ravel()[:-1], 30) and first[2, 31, 31] == pytest.approx(255)
    assert dataset.classes[7] == "horse"


def test_cifar_split_files_and_meta(tmp_path):
    written = writers.write_cifar(tmp_path, count_per_file=2,
                                  meta=[f"class{i}" for i in range(10)])
    with pytest.warns(DatasetWarning):
        train = load_dataset("cifar10", data_dir=tmp_path)
        test = load_dataset("cifar10", "test", data_dir=tmp_path)
    expected = np.concatenate([written[f"data_batch_{i}.bin"][0] for i in range(1, 6)])
    np.testing.assert_array_equal(train.images, expected / np.float32(255))
    np.testing.assert_array_equal(test.labels, written["test_batch.bin"][1])
    assert train.classes == [f"class{i}" for i in range(10)]


@pytest.mark.parametrize("content, message", [
    (bytes(3073 + 5), "not a whole number of 3073-byte records"),
    (bytes([10]) + bytes(3072), "record 0 has label 10"),
])
def test_malformed_cifar_names_the_file(tmp_path, content, message):
    writers.write_cifar(tmp_path, count_per_file=1)
    writers.write_bytes(tmp_path / "test_batch.bin", content)
    with pytest.raises(DatasetError, match=message) as error:
        load_dataset("cifar10", "test", data_dir=tmp_path)
    assert str(tmp_path / "test_batch.bin") in str(error.value)


def test_cifar_download_extracts_into_the_cache(tmp_path, monkeypatch, serve):
    written = writers.write_cifar(tmp_path / "src", count_per_file=1, meta=list("abcdefghij"))
    archive = writers.cifar_archive(tmp_path / "src")
    monkeypatch.setattr(cifar, "ARCHIVE_MD5", md5(archive))
    serve({"cifar-10-binary.tar.gz": archive})
    with pytest.warns(DatasetWarning):
        test = load_dataset("cifar10", "test", progress=False)
    np.testing.assert_array_equal(test.labels, written["test_batch.bin"][1])
    assert test.classes == list("abcdefghij")
    assert sorted(os.listdir(cache(tmp_path, "cifar10"))) == sorted(list(written) + ["batches.meta.txt"])


# ---- digits, shapes ----------------------------------------------------------------------

def test_digits_split_sizes_range_and_determinism():
    sklearn = pytest.importorskip("sklearn.datasets")
    train, test = load_dataset("digits"), load_dataset("digits", "test")
    assert train.images.shape == (1437, 1, 8, 8) and test.images.shape == (360, 1, 8, 8)
    assert train.images.dtype == np.float32 and train.images.min() == 0 and train.images.max() == 1
    everything = np.concatenate([train.images, test.images]).reshape(1797, 64) * 16
    reference = sklearn.load_digits().data
    as_rows = lambda a: sorted(map(tuple, np.round(a).astype(int).tolist()))
    assert as_rows(everything) == as_rows(reference)  # a partition of the 1797 images
    np.testing.assert_array_equal(load_dataset("digits", "test").labels, test.labels)


def square_outline(mask: np.ndarray) -> bool:
    """True when the on pixels are exactly the border of a square of side >= 3."""
    rows, cols = np.nonzero(mask)
    top, bottom, left, right = rows.min(), rows.max(), cols.min(), cols.max()
    if bottom - top != right - left or bottom - top < 2:
        return False
    box = mask[top:bottom + 1, left:right + 1]
    sides = box[0].all() and box[-1].all() and box[:, 0].all() and box[:, -1].all()
    return bool(sides and not box[1:-1, 1:-1].any() and mask.sum() == box.sum())


def diamond_outline(mask: np.ndarray) -> bool:
    """True when each row holds the two ends of a slanted line pair widening by 1 per row."""
    rows = np.flatnonzero(mask.any(axis=1))
    half = (len(rows) - 1) // 2
    if len(rows) != 2 * half + 1 or half < 1 or np.any(np.diff(rows) != 1):
        return False
    centre = np.flatnonzero(mask[rows[0]])
    if len(centre) != 1:
        return False
    for step, row in enumerate(rows):
        width = half - abs(step - half)
        expected = sorted({int(centre[0]) - width, int(centre[0]) + width})
        if np.flatnonzero(mask[row]).tolist() != expected:
            return False
    return True


def has_horizontal_run(mask: np.ndarray, length: int = 3) -> bool:
    runs = np.lib.stride_tricks.sliding_window_view(mask, length, axis=1)
    return bool(runs.all(axis=-1).any())


def test_shapes_default_is_squares_and_diamonds_of_figure_8_4():
    dataset = load_dataset("shapes", num_samples=200)
    assert dataset.images.shape == (200, 1, 15, 15) and dataset.classes == ["square", "diamond"]
    assert set(np.unique(dataset.images).tolist()) == {0.0, 1.0}
    assert np.bincount(dataset.labels).tolist() == [100, 100]
    masks = dataset.images[:, 0].astype(bool)
    for mask, label in zip(masks, dataset.labels):
        if label == 0:
            assert square_outline(mask) and not diamond_outline(mask)
            assert has_horizontal_run(mask) and has_horizontal_run(mask.T)  # Figure 8.5's lines
        else:
            assert diamond_outline(mask) and not square_outline(mask)
            assert not has_horizontal_run(mask, 2) and not has_horizontal_run(mask.T, 2)
    sizes = {int(mask.any(axis=1).sum()) for mask in masks}
    positions = {tuple(np.argwhere(mask)[0]) for mask in masks}
    assert len(sizes) >= 4 and len(positions) >= 30  # varied size and position


def test_shapes_are_seeded():
    a = load_dataset("shapes", num_samples=50, seed=3)
    b = load_dataset("shapes", num_samples=50, seed=3)
    c = load_dataset("shapes", num_samples=50, seed=4)
    test = load_dataset("shapes", "test", num_samples=50, seed=3)
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert not np.array_equal(a.images, c.images) and not np.array_equal(a.images, test.images)


def test_shapes_more_classes_and_sizes():
    dataset = load_dataset("shapes", num_samples=70, classes=7, image_size=21)
    assert dataset.images.shape == (70, 1, 21, 21) and len(dataset.classes) == 7
    assert np.bincount(dataset.labels).tolist() == [10] * 7
    masks = dataset.images[:, 0].astype(bool)
    for mask, label in zip(masks, dataset.labels):
        name, rows, cols = dataset.classes[label], *np.nonzero(mask)
        if name == "hbar":
            assert len(set(rows)) == 1 and np.all(np.diff(cols) == 1) and len(cols) >= 5
        if name == "vbar":
            assert len(set(cols)) == 1 and len(rows) >= 5
        if name == "cross":
            assert np.sum(mask.sum(axis=1) > 1) == 1 and np.sum(mask.sum(axis=0) > 1) == 1
        if name == "triangle":
            row_counts = mask.sum(axis=1)[mask.any(axis=1)]
            assert row_counts[0] == 1 and row_counts[-1] == row_counts.max() >= 5
        if name == "x":
            assert mask.sum(axis=1)[mask.any(axis=1)].max() == 2
    two = load_dataset("shapes", num_samples=4, classes=["cross", "x"])
    assert two.classes == ["cross", "x"]
    for bad in ({"classes": 1}, {"classes": ["square", "blob"]}, {"image_size": 3}):
        with pytest.raises(DatasetError):
            load_dataset("shapes", num_samples=4, **bad)


# ---- folders -----------------------------------------------------------------------------

def save_png(path: Path, array: np.ndarray, mode: str):
    from PIL import Image
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array.astype(np.uint8), mode).save(path)


def test_folder_of_pngs_majority_mode_and_resize(tmp_path):
    pytest.importorskip("PIL")
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    save_png(tmp_path / "b_dogs" / "1.png", gray, "L")
    save_png(tmp_path / "b_dogs" / "2.png", np.zeros((6, 8), np.uint8), "L")  # resized
    save_png(tmp_path / "a_cats" / "1.png", gray, "L")
    save_png(tmp_path / "a_cats" / "2.png", np.full((3, 4, 3), 255, np.uint8), "RGB")
    (tmp_path / "a_cats" / "notes.txt").write_text("not an image")
    dataset = load_dataset(f"folder:{tmp_path}")
    assert dataset.classes == ["a_cats", "b_dogs"] and dataset.labels.tolist() == [0, 0, 1, 1]
    assert dataset.images.shape == (4, 1, 3, 4) and dataset.images.dtype == np.float32
    np.testing.assert_allclose(dataset.images[0, 0], gray / 255)
    np.testing.assert_allclose(dataset.images[1, 0], 1.0)  # white RGB -> white gray
    np.testing.assert_allclose(dataset.images[3, 0], 0.0)
    rgb = load_dataset(f"folder:{tmp_path}", mode="RGB", size=(5, 5))
    assert rgb.images.shape == (4, 3, 5, 5)


def test_folder_rgb_channel_order_and_splits(tmp_path):
    pytest.importorskip("PIL")
    red = np.zeros((2, 2, 3), np.uint8)
    red[..., 0] = 255
    for split in ("train", "test"):
        save_png(tmp_path / split / "red" / "a.png", red, "RGB")
        save_png(tmp_path / split / "blue" / "a.png", red[..., ::-1], "RGB")
    test = load_dataset(f"folder:{tmp_path}", "test")
    assert test.classes == ["blue", "red"] and test.images.shape == (2, 3, 2, 2)
    np.testing.assert_array_equal(test.images[1, :, 0, 0], [1, 0, 0])
    np.testing.assert_array_equal(test.images[0, :, 0, 0], [0, 0, 1])
    with pytest.raises(DatasetError, match="no 'test' split"):
        load_dataset(f"folder:{tmp_path / 'train'}", "test")


def test_folder_errors_name_the_problem(tmp_path):
    pytest.importorskip("PIL")
    save_png(tmp_path / "one" / "a.png", np.zeros((2, 2), np.uint8), "L")
    (tmp_path / "one" / "b.png").write_bytes(b"not a png")
    with pytest.raises(DatasetError, match="b.png: not a readable image"):
        load_dataset(f"folder:{tmp_path}")
    (tmp_path / "one" / "b.png").unlink()
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="'empty' has no images"):
        load_dataset(f"folder:{tmp_path}")
    with pytest.raises(DatasetError, match="not a directory"):
        load_dataset(f"folder:{tmp_path / 'missing'}")


# ---- load_dataset ------------------------------------------------------------------------

@pytest.mark.parametrize("args, kwargs, message", [
    (("imagenet",), {}, "unknown dataset 'imagenet'"),
    (("digits", "valid"), {}, "split: expected 'train' or 'test'"),
    (("digits",), {"seed": 1}, r"unknown option\(s\) seed"),
    (("folder:",), {}, "needs a path"),
])
def test_load_dataset_errors(args, kwargs, message):
    with pytest.raises(DatasetError, match=message) as error:
        load_dataset(*args, **kwargs)
    assert isinstance(error.value, ValueError) and "\n" not in str(error.value)


def test_public_names():
    assert {"digits", "shapes", "mnist", "fashion-mnist", "kmnist", "cifar10"} <= set(data.DATASETS)
    with pytest.raises(DatasetError, match="^fashion-mnist: "):  # an alias of fashion-mnist
        load_dataset("Fashion_MNIST", download=False)
