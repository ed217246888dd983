"""convnet.vision.datasets.SVHN against torchvision's SVHN (the oracle) on small MATLAB v5 files
written with SciPy, and the files it must refuse in one line naming the file."""

import os

import numpy as np
import pytest

from torchvision_oracle import import_torchvision

scipy_io = pytest.importorskip("scipy.io", reason="SciPy writes the MATLAB files")
tv = import_torchvision()

from convnet.data import DatasetError  # noqa: E402
from convnet.vision import datasets  # noqa: E402


def write_svhn(root, split="train", count=7, labels=None, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (32, 32, 3, count), dtype=np.uint8)
    labels = rng.integers(1, 11, (count, 1)) if labels is None else labels
    scipy_io.savemat(os.path.join(root, f"{split}_32x32.mat"), {"X": images, "y": labels})
    return images, labels


@pytest.mark.parametrize("split", ["train", "test", "extra"])
def test_svhn_matches_torchvision(tmp_path, monkeypatch, split):
    # torchvision checks the official files' MD5 sums; these files are small stand-ins
    monkeypatch.setattr(tv.datasets.SVHN, "_check_integrity", lambda self: True)
    write_svhn(tmp_path, split, count=5, labels=np.array([[10], [1], [9], [10], [5]]))
    ours = datasets.SVHN(str(tmp_path), split=split)
    theirs = tv.datasets.SVHN(str(tmp_path), split=split)
    assert len(ours) == len(theirs) == 5
    np.testing.assert_array_equal(ours.data, theirs.data)
    np.testing.assert_array_equal(ours.labels, theirs.labels)
    assert ours.labels.dtype == theirs.labels.dtype
    for index in range(len(theirs)):
        (image, target), (their_image, their_target) = ours[index], theirs[index]
        assert image.mode == their_image.mode and image.size == their_image.size
        np.testing.assert_array_equal(np.asarray(image), np.asarray(their_image))
        assert target == their_target and type(target) is type(their_target)
    assert ours.labels.tolist() == [0, 1, 9, 0, 5]           # 10 stands for the digit 0


def test_missing_file_and_bad_split(tmp_path):
    with pytest.raises(datasets.DatasetNotFoundError) as error:
        datasets.SVHN(str(tmp_path), split="test", download=True)
    assert "test_32x32.mat" in str(error.value) and "ufldl.stanford.edu" in str(error.value)
    with pytest.raises(ValueError, match="split"):
        datasets.SVHN(str(tmp_path), split="validation")


def matlab_73(path):
    """The header of a MATLAB 7.3 (HDF5) file: version 0x0200, which SciPy does not read."""
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64".ljust(116, b" ") + bytes(8)
    with open(path, "wb") as handle:
        handle.write(header + b"\x00\x02IM" + bytes(64))


@pytest.mark.parametrize("make, fragment", [
    (lambda root: write_svhn(root, labels=np.full((7, 1), 11)), "label 11 outside 1..10"),
    (lambda root: write_svhn(root, labels=np.ones((6, 1))), "'y' should hold 7 labels"),
    (lambda root: scipy_io.savemat(os.path.join(root, "train_32x32.mat"),
                                   {"X": np.zeros((28, 28, 3, 2), np.uint8), "y": np.ones(2)}),
     "'X' should be a (32, 32, 3, N) uint8 array"),
    (lambda root: open(os.path.join(root, "train_32x32.mat"), "wb").write(b"not a mat file"),
     "not a readable MATLAB file"),
    (lambda root: matlab_73(os.path.join(root, "train_32x32.mat")), "MATLAB 7.3"),
])
def test_bad_files_are_one_line_errors_naming_the_file(tmp_path, make, fragment):
    make(str(tmp_path))
    with pytest.raises(DatasetError) as error:
        datasets.SVHN(str(tmp_path))
    message = str(error.value)
    assert "\n" not in message and "train_32x32.mat" in message and fragment in message
