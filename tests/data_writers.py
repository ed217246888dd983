"""Test helpers: small dataset files in the real formats, written byte by byte.

Written with ``struct`` from the format descriptions (IDX: yann.lecun.com/exdb/mnist;
CIFAR-10 binary: www.cs.toronto.edu/~kriz/cifar.html), independently of convnet.data.
"""

from __future__ import annotations

import gzip
import io
import struct
import tarfile
from pathlib import Path

import numpy as np

IDX_TYPE_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09, np.dtype(">i2"): 0x0B,
                  np.dtype(">i4"): 0x0C, np.dtype(">f4"): 0x0D, np.dtype(">f8"): 0x0E}


def idx_bytes(array: np.ndarray) -> bytes:
    """IDX encoding: 0, 0, type code, ndim, big-endian uint32 dims, big-endian values."""
    array = np.asarray(array)
    big = array.astype(array.dtype.newbyteorder(">")) if array.dtype.itemsize > 1 else array
    header = struct.pack(">BBBB", 0, 0, IDX_TYPE_CODES[big.dtype], array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + big.tobytes()


def gzip_bytes(data: bytes, mtime: int = 0, name: bytes = b"") -> bytes:
    """Gzip ``data``; ``mtime``/``name`` change the header only (as Debian's repacking does)."""
    buffer = io.BytesIO()
    with gzip.GzipFile(filename=name.decode(), mode="wb", fileobj=buffer, mtime=mtime) as handle:
        handle.write(data)
    return buffer.getvalue()


def write_bytes(path, data: bytes) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def write_idx(path, array: np.ndarray, compress: bool | None = None) -> Path:
    """Write ``array`` as IDX at ``path``, gzipped when ``compress`` (default: path ends .gz)."""
    data = idx_bytes(array)
    if compress if compress is not None else str(path).endswith(".gz"):
        data = gzip_bytes(data)
    return write_bytes(path, data)


def mnist_like(count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``count`` random 28x28 uint8 images and labels 0..9."""
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 256, (count, 28, 28), dtype=np.uint8),
            rng.integers(0, 10, count, dtype=np.uint8))


def write_mnist_split(folder, split: str = "train", count: int = 6, seed: int = 0,
                      compress: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Write ``{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]`` into ``folder``."""
    prefix = "train" if split == "train" else "t10k"
    suffix = ".gz" if compress else ""
    images, labels = mnist_like(count, seed)
    write_idx(Path(folder) / f"{prefix}-images-idx3-ubyte{suffix}", images)
    write_idx(Path(folder) / f"{prefix}-labels-idx1-ubyte{suffix}", labels)
    return images, labels


def cifar_bytes(images: np.ndarray, labels: np.ndarray) -> bytes:
    """CIFAR-10 binary records: label byte, then the R, G, B planes of 32x32 each."""
    records = [struct.pack("B", int(label)) + np.asarray(image, np.uint8).tobytes()
               for image, label in zip(images, labels)]
    return b"".join(records)


def cifar_like(count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 256, (count, 3, 32, 32), dtype=np.uint8),
            rng.integers(0, 10, count, dtype=np.uint8))


def write_cifar(folder, count_per_file: int = 3, seed: int = 0, meta: list[str] | None = None):
    """Write data_batch_1..5.bin and test_batch.bin; returns {file name: (images, labels)}."""
    written = {}
    names = [f"data_batch_{index}.bin" for index in range(1, 6)] + ["test_batch.bin"]
    for offset, name in enumerate(names):
        images, labels = cifar_like(count_per_file, seed + offset)
        write_bytes(Path(folder) / name, cifar_bytes(images, labels))
        written[name] = (images, labels)
    if meta is not None:
        write_bytes(Path(folder) / "batches.meta.txt", ("\n".join(meta) + "\n\n").encode())
    return written


def cifar_archive(folder) -> bytes:
    """A .tar.gz holding ``folder``'s files under cifar-10-batches-bin/, as the real archive."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path in sorted(Path(folder).iterdir()):
            tar.add(path, arcname=f"cifar-10-batches-bin/{path.name}")
    return buffer.getvalue()
