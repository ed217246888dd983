"""SVHN (Street View House Numbers, cropped digits) under torchvision's name and layout:
``root/train_32x32.mat``, ``root/test_32x32.mat``, ``root/extra_32x32.mat`` (the files of
http://ufldl.stanford.edu/housenumbers/), MATLAB v5 files read with SciPy's ``loadmat``, which
builds arrays and never runs code. ``X`` is ``(32, 32, 3, N)`` uint8 and ``y`` ``(N, 1)`` with
the digit 0 stored as 10, which becomes 0, as torchvision does.

A sample is ``(PIL RGB image, int target)``; ``.data`` is ``(N, 3, 32, 32)`` uint8 and
``.labels`` an int64 array, as torchvision's.

Example:
    >>> import os, tempfile
    >>> import numpy as np, scipy.io
    >>> root = tempfile.TemporaryDirectory()
    >>> scipy.io.savemat(os.path.join(root.name, 'test_32x32.mat'),
    ...                  {'X': np.zeros((32, 32, 3, 2), np.uint8), 'y': np.array([[10], [3]])})
    >>> test = SVHN(root.name, split='test')
    >>> image, target = test[0]
    >>> len(test), test.data.shape, image.mode, target, test.labels.tolist()
    (2, (2, 3, 32, 32), 'RGB', 0, [0, 3])
    >>> root.cleanup()
"""

from __future__ import annotations

import os
from typing import Any, Callable, Optional

import numpy as np

from ...data.download import DatasetError
from .vision_base import DatasetNotFoundError, VisionDataset, fetch, missing_files_message

__all__ = ["SVHN"]

SOURCE = "http://ufldl.stanford.edu/housenumbers/"


class SVHN(VisionDataset):
    """The cropped-digit SVHN: 32x32 colour images of the digits 0-9 (see the module doc).

    Args:
        root: the folder holding ``{split}_32x32.mat``.
        split: 'train' (73,257 images), 'test' (26,032) or 'extra' (531,131).
        transform: applied to the PIL image; target_transform: applied to the int target.
        download: fetch the split's file (MD5 checked) into ``root`` when it is missing.
    """

    split_files = {"train": "train_32x32.mat", "test": "test_32x32.mat",
                   "extra": "extra_32x32.mat"}
    split_md5 = {"train": "e26dedcc434d2e4c54c9b2d4a06d8373",
                 "test": "eb5a983be6a315427106f1b164d9cef3",
                 "extra": "a93ce644f1a588dc4d68dda5feec44a7"}

    def __init__(self, root, split: str = "train", transform: Optional[Callable] = None,
                 target_transform: Optional[Callable] = None, download: bool = False) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        if split not in self.split_files:
            raise ValueError(f"Unknown value '{split}' for argument split. Valid values are "
                             f"{{{', '.join(repr(name) for name in self.split_files)}}}.")
        self.split, self.filename = split, self.split_files[split]
        path = os.path.join(self.root, self.filename)
        if not os.path.isfile(path) and download:
            download = fetch([SOURCE + self.filename], path, self.split_md5[split]) or True
        if not os.path.isfile(path):
            raise DatasetNotFoundError(missing_files_message(
                "SVHN", self.root, [self.filename], f"download {SOURCE}{self.filename} into "
                f"{os.fspath(self.root)}", download))
        self.data, self.labels = _read(path)
        self.classes = [str(digit) for digit in range(10)]

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        from PIL import Image
        image = Image.fromarray(np.transpose(self.data[index], (1, 2, 0)))
        return self._transformed(image, int(self.labels[index]))

    def __len__(self) -> int:
        return len(self.data)

    def extra_repr(self) -> str:
        """``Split: train`` (or test, extra)."""
        return f"Split: {self.split}"


def _read(path: str) -> tuple[np.ndarray, np.ndarray]:
    """``(data (N, 3, 32, 32) uint8, labels (N,) int64 in 0..9)`` of one SVHN file."""
    try:
        import scipy.io
    except ImportError:
        raise DatasetError(f"{path}: reading SVHN's MATLAB files needs SciPy "
                           f"(pip install scipy)") from None
    try:
        contents = scipy.io.loadmat(path)
    except NotImplementedError:   # MATLAB 7.3 (HDF5) files
        raise DatasetError(f"{path}: a MATLAB 7.3 (HDF5) file; SVHN's files are MATLAB v5, "
                           f"download them again from {SOURCE}") from None
    except Exception as error:    # what a damaged file makes SciPy's reader raise
        raise DatasetError(f"{path}: not a readable MATLAB file "
                           f"({type(error).__name__}: {str(error)[:120]})") from None
    images, labels = contents.get("X"), contents.get("y")
    if not (isinstance(images, np.ndarray) and images.dtype == np.uint8 and images.ndim == 4
            and images.shape[:3] == (32, 32, 3)):
        found = "nothing" if images is None else f"{getattr(images, 'shape', '?')}"
        raise DatasetError(f"{path}: 'X' should be a (32, 32, 3, N) uint8 array, found {found}")
    if not (isinstance(labels, np.ndarray) and labels.size == images.shape[3]
            and labels.dtype.kind in "iuf"):
        raise DatasetError(f"{path}: 'y' should hold {images.shape[3]} labels, one per image")
    labels = labels.astype(np.int64).reshape(-1)
    bad = labels[(labels < 1) | (labels > 10)]
    if bad.size:
        raise DatasetError(f"{path}: label {int(bad[0])} outside 1..10 (10 stands for the "
                           f"digit 0)")
    labels[labels == 10] = 0
    return np.ascontiguousarray(np.transpose(images, (3, 2, 0, 1))), labels
