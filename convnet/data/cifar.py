"""CIFAR-10, binary version (no pickle): ``data_batch_1.bin`` .. ``data_batch_5.bin``, ``test_batch.bin``.

Each file is a run of 3073-byte records: one label byte (0..9), then 3072 pixel bytes,
the 1024 red values of the 32x32 image in row-major order, then green, then blue; so a
record's pixels reshape directly to CHW ``(3, 32, 32)``. Class names come from
``batches.meta.txt`` (one per line) when present. The files are looked for directly in
the search directories or in their ``cifar-10-batches-bin/`` sub-folder (the archive's
layout). Only the archive has a published checksum; a batch file that does not hold
the published 10000 records is used with a one-line :class:`DatasetWarning`.

Example:
    >>> import numpy as np
    >>> record = bytes([3]) + bytes(3072)
    >>> images, labels = parse_cifar(record * 2, 'batch.bin')
    >>> images.shape, labels.tolist()
    ((2, 3, 32, 32), [3, 3])
"""

from __future__ import annotations

import os
import tarfile
import warnings

import numpy as np

from .download import (DatasetError, DatasetWarning, cache_dir, download_file, find_file,
                       missing_message)

__all__ = ["parse_cifar", "load_cifar10", "CIFAR10_CLASSES", "RECORD_BYTES"]

RECORD_BYTES = 1 + 3 * 32 * 32
RECORDS_PER_FILE = 10000
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck"]
ARCHIVE_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
# MD5 published on the dataset's page, https://www.cs.toronto.edu/~kriz/cifar.html
ARCHIVE_MD5 = "c32a1d4ab5d03f1284b67883e8d87530"
ARCHIVE_FOLDER = "cifar-10-batches-bin"
_SPLIT_FILES = {"train": [f"data_batch_{index}.bin" for index in range(1, 6)],
                "test": ["test_batch.bin"]}
_MEMBERS = _SPLIT_FILES["train"] + _SPLIT_FILES["test"] + ["batches.meta.txt"]


def parse_cifar(data: bytes, path: str = "<bytes>"):
    """``(images (N, 3, 32, 32) uint8, labels (N,) uint8)`` from CIFAR-10 binary records.

    Example:
        >>> parse_cifar(bytes(100), 'short.bin')
        Traceback (most recent call last):
        ...
        convnet.data.download.DatasetError: short.bin: truncated or malformed: 100 bytes is not a whole number of 3073-byte records
    """
    if len(data) == 0 or len(data) % RECORD_BYTES:
        raise DatasetError(f"{path}: truncated or malformed: {len(data)} bytes is not a whole "
                           f"number of {RECORD_BYTES}-byte records")
    records = np.frombuffer(data, np.uint8).reshape(-1, RECORD_BYTES)
    labels = records[:, 0]
    if labels.max() > 9:
        record = int(np.argmax(labels > 9))
        raise DatasetError(f"{path}: record {record} has label {labels[record]}, expected 0..9")
    return records[:, 1:].reshape(-1, 3, 32, 32), labels


def _read(path: str):
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        raise DatasetError(f"{path}: cannot be read ({error.strerror or error})") from None
    images, labels = parse_cifar(data, path)
    if len(labels) != RECORDS_PER_FILE:
        warnings.warn(f"{path}: {len(labels)} records instead of the published "
                      f"{RECORDS_PER_FILE} (a subset?); using it", DatasetWarning, stacklevel=4)
    return images, labels


def _fetch_archive(progress: bool) -> None:
    """Download the archive (MD5 checked) and extract the known members into the cache."""
    from ..io.atomic import atomic_write
    folder = cache_dir("cifar10")
    archive = download_file([ARCHIVE_URL], folder / "cifar-10-binary.tar.gz", ARCHIVE_MD5, progress)
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in _MEMBERS:
                # only the expected names are read: no path from the archive reaches the disk
                source = tar.extractfile(f"{ARCHIVE_FOLDER}/{member}")
                with atomic_write(folder / member) as handle:
                    handle.write(source.read())
    except (tarfile.TarError, KeyError, OSError) as error:
        raise DatasetError(f"{archive}: cannot extract the CIFAR-10 files ({error})") from None
    os.remove(archive)


def load_cifar10(split: str = "train", data_dir=None, download: bool = True, progress: bool = True):
    """``(images (N, 3, 32, 32) float32 in [0, 1], labels (N,) int64, classes)`` of CIFAR-10.

    Example (a one-record file of our own: used, with a warning that it is not 10000 records):
        >>> import os, tempfile, warnings
        >>> folder = tempfile.TemporaryDirectory()
        >>> with open(os.path.join(folder.name, 'test_batch.bin'), 'wb') as handle:
        ...     _ = handle.write(bytes([3]) + bytes(3072))
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter('ignore')
        ...     images, labels, classes = load_cifar10('test', data_dir=folder.name)
        >>> images.shape, labels.tolist(), classes[3]
        ((1, 3, 32, 32), [3], 'cat')
        >>> folder.cleanup()
    """
    subdirs = ("", ARCHIVE_FOLDER)
    names = _SPLIT_FILES[split]
    paths = [find_file("cifar10", [name], data_dir, subdirs) for name in names]
    if None in paths:
        missing = names[paths.index(None)]
        if not download:
            raise DatasetError(missing_message("cifar10", missing, data_dir, [ARCHIVE_URL],
                                               archive=True))
        try:
            _fetch_archive(progress)
        except DatasetError as error:
            raise DatasetError(missing_message("cifar10", missing, data_dir, [ARCHIVE_URL],
                                               reason=str(error), archive=True)) from None
        paths = [find_file("cifar10", [name], data_dir, subdirs) for name in names]
    parts = [_read(path) for path in paths]
    images = np.concatenate([part[0] for part in parts]).astype(np.float32) / np.float32(255)
    labels = np.concatenate([part[1] for part in parts]).astype(np.int64)
    classes = list(CIFAR10_CLASSES)
    meta = os.path.join(os.path.dirname(paths[0]), "batches.meta.txt")
    if os.path.isfile(meta):
        with open(meta, encoding="utf-8", errors="replace") as handle:
            names_in_file = [line.strip() for line in handle if line.strip()]
        if len(names_in_file) != 10:
            raise DatasetError(f"{meta}: expected 10 class names, one per line, found "
                               f"{len(names_in_file)}")
        classes = names_in_file
    return images, labels, classes
