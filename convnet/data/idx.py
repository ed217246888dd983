"""MNIST-format datasets (IDX files): ``mnist``, ``fashion-mnist``, ``kmnist``.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of
dimensions), one big-endian uint32 per dimension, then the values in C order. The
images file is ``(N, 28, 28)`` of type 0x08 (ubyte), the labels file ``(N,)`` ubyte.
Both may be gzipped (detected from the content, whatever the file is called).

Checksums. A file is accepted silently when its MD5 is the published one, either of the
file as distributed (``.gz``) or of its decompressed bytes (Debian's package rewrites
the gzip header, so only the decompressed bytes match there). Any other file with valid
headers (a subset, a re-packed copy) is used with a one-line :class:`DatasetWarning`.
A truncated or malformed file is a :class:`DatasetError` naming the file.

Example:
    >>> import gzip, io
    >>> raw = bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9])
    >>> parse_idx(gzip.compress(raw), 'labels.gz').tolist()
    [7, 8, 9]
"""

from __future__ import annotations

import gzip
import warnings
import zlib

import numpy as np

from .download import (DatasetError, DatasetWarning, cache_dir, download_file, find_file,
                       md5_hex, missing_message)

__all__ = ["parse_idx", "read_idx", "load_idx_dataset", "IDX_DATASETS"]

# type code -> big-endian dtype (the IDX format description on yann.lecun.com/exdb/mnist)
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}

_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
          "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}

# Published MD5s, per file: (of the .gz as distributed, of the decompressed bytes or None).
# .gz MD5s: torchvision/datasets/mnist.py `resources` for all three (the same values are in
# github.com/zalandoresearch/fashion-mnist README "Get the Data" and github.com/rois-codh/kmnist
# README). Decompressed MD5s of MNIST and Fashion-MNIST: the `raw_data` lists that several
# independent repositories publish next to the torchvision values (e.g. the qal project's
# scripts/prepare_datasets.py "MD5 checksums of the uncompressed files"); the Fashion-MNIST
# ones match the files of Debian's dataset-fashion-mnist. No decompressed MD5s are published
# for KMNIST: a re-compressed KMNIST file is used with the warning.
IDX_DATASETS = {
    "mnist": {
        "mirrors": ["https://ossci-datasets.s3.amazonaws.com/mnist/",
                    "http://yann.lecun.com/exdb/mnist/"],
        "classes": [str(digit) for digit in range(10)],
        "hint": "",
        "md5": {"train-images-idx3-ubyte": ("f68b3c2dcbeaaa9fbdd348bbdeb94873",
                                            "6bbc9ace898e44ae57da46a324031adb"),
                "train-labels-idx1-ubyte": ("d53e105ee54ea40749a09fcbcd1e9432",
                                            "a25bea736e30d166cdddb491f175f624"),
                "t10k-images-idx3-ubyte": ("9fb629c4189551a2d022fa330f9573f3",
                                           "2646ac647ad5339dbf082846283269ea"),
                "t10k-labels-idx1-ubyte": ("ec29112dd5afa0611ce80d1b7f02629c",
                                           "27ae3e4e09519cfbb04c329615203637")},
    },
    "fashion-mnist": {
        "mirrors": ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
        "classes": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                    "Sneaker", "Bag", "Ankle boot"],
        "hint": "install Debian's package (apt-get install dataset-fashion-mnist)",
        "md5": {"train-images-idx3-ubyte": ("8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                                            "f4a8712d7a061bf5bd6d2ca38dc4d50a"),
                "train-labels-idx1-ubyte": ("25c81989df183df01b3e8a0aad5dffbe",
                                            "9018921c3c673c538a1fc5bad174d6f9"),
                "t10k-images-idx3-ubyte": ("bef4ecab320f06d8554ea6380940ec79",
                                           "8181f5470baa50b63fa0f6fddb340f0a"),
                "t10k-labels-idx1-ubyte": ("bb300cfdad3c16e7a12a480ee83cd310",
                                           "15d484375f8d13e6eb1aabb0c3f46965")},
    },
    "kmnist": {
        "mirrors": ["http://codh.rois.ac.jp/kmnist/dataset/kmnist/"],
        "classes": ["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"],
        "hint": "",
        "md5": {"train-images-idx3-ubyte": ("bdb82020997e1d708af4cf47b453dcf7", None),
                "train-labels-idx1-ubyte": ("e144d726b3acfaa3e44228e80efcd344", None),
                "t10k-images-idx3-ubyte": ("5c965bf0a639b31b8f53240b1b52f4d7", None),
                "t10k-labels-idx1-ubyte": ("7320c461ea6c1c855c0b718fb2a4b134", None)},
    },
}


def _decompress(data: bytes, path: str) -> bytes:
    if data[:2] != b"\x1f\x8b":
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as error:
        raise DatasetError(f"{path}: corrupt or truncated gzip data ({error})") from None


def parse_idx(data: bytes, path: str = "<bytes>") -> np.ndarray:
    """The array stored in IDX bytes (gzipped or not), in native byte order.

    Raises :class:`DatasetError` naming ``path`` for a bad magic number, an unknown type,
    or a payload whose size disagrees with the header.

    Example:
        >>> parse_idx(bytes([0, 0, 8, 2, 0, 0, 0, 1, 0, 0, 0, 2, 5, 6])).tolist()
        [[5, 6]]
    """
    data = _decompress(data, path)
    if len(data) < 4:
        raise DatasetError(f"{path}: truncated IDX file ({len(data)} bytes, no complete header)")
    if data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES:
        raise DatasetError(f"{path}: not an IDX file (magic number {data[:4].hex()}, expected "
                           "00 00 <type 08..0e> <dims>)")
    ndim, dtype = data[3], np.dtype(_IDX_TYPES[data[2]])
    header_bytes = 4 + 4 * ndim
    if len(data) < header_bytes:
        raise DatasetError(f"{path}: truncated IDX header ({len(data)} bytes, {ndim} dimensions "
                           f"need {header_bytes})")
    shape = tuple(int(size) for size in np.frombuffer(data, ">u4", ndim, offset=4))
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    found = len(data) - header_bytes
    if found != expected:
        problem = "truncated" if found < expected else "has trailing bytes"
        raise DatasetError(f"{path}: {problem}: header says {'x'.join(map(str, shape))} "
                           f"{dtype.name} values ({expected} bytes), found {found} bytes")
    return np.frombuffer(data, dtype, offset=header_bytes).reshape(shape).astype(dtype.newbyteorder("="))


def read_idx(path: str, published_md5: tuple | None = None) -> np.ndarray:
    """Read an IDX file; warn when it is not the published file (see the module doc).

    Example:
        >>> import os, tempfile
        >>> folder = tempfile.TemporaryDirectory()
        >>> path = os.path.join(folder.name, 'labels')
        >>> _ = open(path, 'wb').write(bytes([0, 0, 8, 1, 0, 0, 0, 2, 1, 2]))
        >>> read_idx(path).tolist()
        [1, 2]
        >>> folder.cleanup()
    """
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        raise DatasetError(f"{path}: cannot be read ({error.strerror or error})") from None
    raw = _decompress(data, path)
    array = parse_idx(raw, path)
    if published_md5 is not None:
        gz_md5, raw_md5 = published_md5
        raw_digest = md5_hex(raw)
        if raw_digest != raw_md5 and (raw is data or md5_hex(data) != gz_md5):
            warnings.warn(f"{path}: valid IDX file but not the published one (MD5 differs: a "
                          "subset or a re-packed copy?); using it", DatasetWarning, stacklevel=3)
    return array


def _locate(name: str, stem: str, data_dir, download: bool, progress: bool) -> str:
    spec = IDX_DATASETS[name]
    path = find_file(name, [stem + ".gz", stem], data_dir)
    if path is not None:
        return path
    urls = [mirror + stem + ".gz" for mirror in spec["mirrors"]]
    if not download:
        raise DatasetError(missing_message(name, stem + ".gz", data_dir, urls[:1], spec["hint"]))
    try:
        return download_file(urls, cache_dir(name) / (stem + ".gz"), spec["md5"][stem][0], progress)
    except DatasetError as error:
        raise DatasetError(missing_message(name, stem + ".gz", data_dir, urls[:1], spec["hint"],
                                           reason=str(error))) from None


def load_idx_dataset(name: str, split: str = "train", data_dir=None, download: bool = True,
                     progress: bool = True):
    """``(images (N, 1, 28, 28) float32 in [0, 1], labels (N,) int64, classes)`` of an IDX set.

    Example (a one-image file of our own: used, with a warning that it is not the published one):
        >>> import os, tempfile, warnings
        >>> folder = tempfile.TemporaryDirectory()
        >>> def write(name, data):
        ...     with open(os.path.join(folder.name, name), 'wb') as handle:
        ...         _ = handle.write(bytes(data))
        >>> write('t10k-images-idx3-ubyte', [0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 28, 0, 0, 0, 28] + [0] * 784)
        >>> write('t10k-labels-idx1-ubyte', [0, 0, 8, 1, 0, 0, 0, 1, 7])
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter('ignore')
        ...     images, labels, classes = load_idx_dataset('mnist', 'test', data_dir=folder.name)
        >>> images.shape, labels.tolist()
        ((1, 1, 28, 28), [7])
        >>> folder.cleanup()
    """
    spec = IDX_DATASETS[name]
    image_stem, label_stem = _FILES[split]
    image_path = _locate(name, image_stem, data_dir, download, progress)
    label_path = _locate(name, label_stem, data_dir, download, progress)
    images = read_idx(image_path, spec["md5"][image_stem])
    labels = read_idx(label_path, spec["md5"][label_stem])
    if images.ndim != 3 or images.shape[1:] != (28, 28) or images.dtype != np.uint8:
        raise DatasetError(f"{image_path}: expected (N, 28, 28) ubyte images, the header says "
                           f"{images.shape} {images.dtype}")
    if labels.ndim != 1 or labels.dtype != np.uint8:
        raise DatasetError(f"{label_path}: expected (N,) ubyte labels, the header says "
                           f"{labels.shape} {labels.dtype}")
    if len(labels) != len(images):
        raise DatasetError(f"{label_path}: {len(labels)} labels for the {len(images)} images "
                           f"of {image_path}")
    if len(labels) and labels.max() >= len(spec["classes"]):
        raise DatasetError(f"{label_path}: label {labels.max()} outside 0..{len(spec['classes']) - 1}")
    pixels = (images.astype(np.float32) / np.float32(255))[:, None]
    return pixels, labels.astype(np.int64), list(spec["classes"])
