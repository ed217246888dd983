"""``download=True`` of convnet.vision.datasets over real HTTP (a mirror on 127.0.0.1,
tests/http_mirror.py): the files land in torchvision's layout and read as torchvision reads
them; a second construction fetches nothing; a wrong checksum, a broken connection or no
network is one line and leaves no file behind; an archive's other members never reach the
disk."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
import zipfile

import numpy as np
import pytest

from data_writers import gzip_bytes, idx_bytes
from http_mirror import Mirror
from test_vision_datasets import CIFAR10_NAMES, same_samples, torchvision_cifar, write_cifar
from test_vision_svhn import write_svhn
from torchvision_oracle import import_torchvision

tv = import_torchvision()

from convnet.vision import datasets  # noqa: E402
from convnet.vision.datasets.vision_base import DatasetNotFoundError  # noqa: E402


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def mnist_files(count=6, seed=0) -> dict:
    rng = np.random.default_rng(seed)
    files = {}
    for split in ("train", "t10k"):
        images = rng.integers(0, 256, (count, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, count, dtype=np.uint8)
        files[f"{split}-images-idx3-ubyte.gz"] = gzip_bytes(idx_bytes(images))
        files[f"{split}-labels-idx1-ubyte.gz"] = gzip_bytes(idx_bytes(labels))
    return files


def publish(monkeypatch, cls, files: dict, mirror: Mirror, wrong: bool = False) -> None:
    """Point ``cls`` at ``mirror`` with the served files' MD5s as the published ones."""
    monkeypatch.setattr(cls, "mirrors", [mirror.url])
    monkeypatch.setattr(cls, "resources", [(name, "0" * 32 if wrong else md5(content))
                                           for name, content in files.items()])


@pytest.mark.parametrize("name", ["MNIST", "FashionMNIST", "KMNIST"])
def test_mnist_family_downloads_and_reads_as_torchvision(tmp_path, monkeypatch, name):
    files = mnist_files()
    cls = getattr(datasets, name)
    with Mirror(files) as mirror:
        publish(monkeypatch, cls, files, mirror)
        ours = cls(str(tmp_path), train=False, download=True)
        assert sorted(mirror.asked) == sorted(files)
        raw = tmp_path / name / "raw"
        assert sorted(os.listdir(raw)) == sorted(files)
        cls(str(tmp_path), train=True, download=True)
        assert len(mirror.asked) == len(files)  # present now: nothing fetched again
    for gz in files:  # torchvision reads the uncompressed files it would have extracted
        (raw / gz[:-3]).write_bytes(gzip.decompress((raw / gz).read_bytes()))
    same_samples(ours, getattr(tv.datasets, name)(str(tmp_path), train=False))


@pytest.mark.parametrize("cut_after, wrong, fragment", [
    (None, True, "does not have the published MD5"), (50, False, "IncompleteRead")])
def test_failed_downloads_leave_nothing_and_say_why(tmp_path, monkeypatch, cut_after, wrong,
                                                   fragment):
    files = mnist_files()
    with Mirror(files, cut_after=cut_after) as mirror:
        publish(monkeypatch, datasets.MNIST, files, mirror, wrong=wrong)
        with pytest.raises(DatasetNotFoundError) as error:
            datasets.MNIST(str(tmp_path), download=True)
    message = str(error.value)
    assert "\n" not in message and fragment in message, message
    assert "train-images-idx3-ubyte.gz" in message and str(tmp_path) in message
    raw = tmp_path / "MNIST" / "raw"
    assert not raw.exists() or os.listdir(raw) == []


def test_offline_is_one_line_naming_the_source(tmp_path, monkeypatch):
    monkeypatch.setattr(datasets.FashionMNIST, "mirrors", ["http://127.0.0.1:9/"])  # refused
    with pytest.raises(DatasetNotFoundError) as error:
        datasets.FashionMNIST(str(tmp_path), download=True)
    message = str(error.value)
    assert "\n" not in message and "could not download" in message
    assert "127.0.0.1:9" in message and "put them there" in message


def cifar_archive(folder, cls) -> bytes:
    """A .tar.gz of ``folder/<base_folder>`` plus members that must never be written."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(folder, arcname=cls.base_folder)
        for name in ("../escaped.txt", f"{cls.base_folder}/readme.html"):
            info = tarfile.TarInfo(name)
            info.size = 5
            tar.addfile(info, io.BytesIO(b"owned"))
    return buffer.getvalue()


@pytest.mark.parametrize("name", ["CIFAR10", "CIFAR100"])
def test_cifar_download_extracts_only_the_batches(tmp_path, monkeypatch, name):
    cls = getattr(datasets, name)
    source = write_cifar(tmp_path / "source", cls, names=None if name == "CIFAR100" else
                         CIFAR10_NAMES)
    archive = cifar_archive(source, cls)
    root = tmp_path / "root"
    with Mirror({cls.filename: archive}) as mirror:
        monkeypatch.setattr(cls, "url", mirror.url + cls.filename)
        monkeypatch.setattr(cls, "tgz_md5", md5(archive))
        ours = cls(str(root), train=True, download=True)
        cls(str(root), train=False, download=True)
        assert mirror.asked == [cls.filename]
    assert sorted(os.listdir(root / cls.base_folder)) == sorted(os.listdir(source))
    assert not (tmp_path / "escaped.txt").exists() and not (root / "escaped.txt").exists()
    same_samples(ours, torchvision_cifar(monkeypatch, name)(str(root), train=True))


def test_svhn_download(tmp_path, monkeypatch):
    (tmp_path / "source").mkdir()
    write_svhn(str(tmp_path / "source"), "test", count=5)
    content = (tmp_path / "source" / "test_32x32.mat").read_bytes()
    with Mirror({"test_32x32.mat": content}) as mirror:
        monkeypatch.setattr("convnet.vision.datasets.svhn.SOURCE", mirror.url)
        monkeypatch.setitem(datasets.SVHN.split_md5, "test", md5(content))
        ours = datasets.SVHN(str(tmp_path / "root"), split="test", download=True)
        assert mirror.asked == ["test_32x32.mat"]
    assert len(ours) == 5
    url, name, _ = tv.datasets.SVHN.split_list["test"]  # our file is not the published one
    monkeypatch.setitem(tv.datasets.SVHN.split_list, "test", [url, name, None])
    np.testing.assert_array_equal(np.asarray(ours[0][0]),
                                  np.asarray(tv.datasets.SVHN(str(tmp_path / "root"),
                                                              split="test")[0][0]))


def test_emnist_download_takes_the_split_files_out_of_the_archive(tmp_path, monkeypatch):
    rng = np.random.default_rng(4)
    buffer = io.BytesIO()
    written = {}
    with zipfile.ZipFile(buffer, "w") as zipped:
        for part in ("train", "test"):
            images = rng.integers(0, 256, (4, 28, 28), dtype=np.uint8)
            labels = rng.integers(0, 10, 4, dtype=np.uint8)
            for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
                name = f"emnist-digits-{part}-{kind}-ubyte"
                written[name] = idx_bytes(array)
                zipped.writestr(f"gzip/{name}.gz", gzip_bytes(written[name]))
        zipped.writestr("../escaped.txt", "owned")
        zipped.writestr("gzip/readme.txt", "not a split file")
    archive = buffer.getvalue()
    with Mirror({"gzip.zip": archive}) as mirror:
        monkeypatch.setattr(datasets.EMNIST, "url", mirror.url + "gzip.zip")
        monkeypatch.setattr(datasets.EMNIST, "md5", md5(archive))
        ours = datasets.EMNIST(str(tmp_path), split="digits", train=False, download=True)
        datasets.EMNIST(str(tmp_path), split="digits", train=True, download=True)
        assert mirror.asked == ["gzip.zip"]
    raw = tmp_path / "EMNIST" / "raw"
    assert sorted(os.listdir(raw)) == sorted(f"{name}.gz" for name in written)
    assert not (tmp_path / "escaped.txt").exists()
    assert not (tmp_path / "EMNIST" / "escaped.txt").exists()
    for name, content in written.items():  # torchvision reads the uncompressed files
        (raw / name).write_bytes(content)
    same_samples(ours, tv.datasets.EMNIST(str(tmp_path), split="digits", train=False))
