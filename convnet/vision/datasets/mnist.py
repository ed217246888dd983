"""MNIST-format datasets under torchvision's names and layout: :class:`MNIST`,
:class:`FashionMNIST`, :class:`KMNIST`, :class:`EMNIST`.

Files: ``root/<ClassName>/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte`` (EMNIST:
``root/EMNIST/raw/emnist-<split>-{train,test}-{images-idx3,labels-idx1}-ubyte``), each either
as is or gzipped with ``.gz`` appended (the uncompressed file wins when both are there).
torchvision's older ``root/<ClassName>/processed/{training,test}.pt`` files are read too (as
torchvision does, in preference to ``raw/``), without torch, by
:func:`convnet.io.torch_file.load_torch_file`. With ``download=True`` missing MNIST,
FashionMNIST and KMNIST files are fetched (through pooch, MD5 checked) from the official
mirrors into ``raw/``, EMNIST's from NIST's archive; files that are absent and not fetched
are a one-line :class:`DatasetNotFoundError` naming them, the folder, the
official source and why the download failed.

A sample is ``(PIL 'L' image, int target)``; ``.data`` is a uint8 Tensor ``(N, H, W)``,
``.targets`` an int64 Tensor ``(N,)``. A truncated IDX file, images whose count differs from
the labels', or a label outside ``0 .. len(classes) - 1`` is a one-line
:class:`~convnet.data.DatasetError` naming the file.

Example:
    >>> import os, tempfile
    >>> import numpy as np
    >>> from convnet.vision.datasets import MNIST
    >>> root = tempfile.TemporaryDirectory()
    >>> raw = os.path.join(root.name, 'MNIST', 'raw')
    >>> os.makedirs(raw)
    >>> with open(os.path.join(raw, 't10k-images-idx3-ubyte'), 'wb') as f:
    ...     _ = f.write(bytes([0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 28, 0, 0, 0, 28]) + bytes(784))
    >>> with open(os.path.join(raw, 't10k-labels-idx1-ubyte'), 'wb') as f:
    ...     _ = f.write(bytes([0, 0, 8, 1, 0, 0, 0, 1, 7]))
    >>> test = MNIST(root.name, train=False)
    >>> image, target = test[0]
    >>> len(test), image.mode, image.size, target, test.classes[target]
    (1, 'L', (28, 28), 7, '7 - seven')
    >>> root.cleanup()
"""

from __future__ import annotations

import os
import string
from typing import Any, Callable, Optional

import numpy as np

from ...data.download import DatasetError
from ...data.idx import read_idx
from .vision_base import (DatasetNotFoundError, VisionDataset, as_numpy, fetch,
                          missing_files_message)

__all__ = ["MNIST", "FashionMNIST", "KMNIST", "EMNIST"]


def _pil_gray(array: np.ndarray):
    from PIL import Image
    return Image.fromarray(np.ascontiguousarray(array, dtype=np.uint8))


class MNIST(VisionDataset):
    """`MNIST <http://yann.lecun.com/exdb/mnist/>`_: 28x28 handwritten digits, 10 classes.

    Args:
        root: the folder holding ``MNIST/raw/`` (see the module doc for the files).
        train: the training files (``train-*``) when True, else the test files (``t10k-*``).
        transform: applied to the PIL image; target_transform: applied to the int target.
        download: fetch the missing files from the official mirrors (see :meth:`download`);
            files already there are used as they are.

    Example (the error for missing files, one line):
        >>> MNIST('/nonexistent')  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        convnet.vision.datasets.vision_base.DatasetNotFoundError: MNIST: dataset not found: missing train-images-idx3-ubyte(.gz), ...
    """

    mirrors = ["https://ossci-datasets.s3.amazonaws.com/mnist/",
               "http://yann.lecun.com/exdb/mnist/"]
    resources = [("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
                 ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
                 ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
                 ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c")]
    training_file = "training.pt"
    test_file = "test.pt"
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six",
               "7 - seven", "8 - eight", "9 - nine"]

    def __init__(self, root, train: bool = True, transform: Optional[Callable] = None,
                 target_transform: Optional[Callable] = None, download: bool = False) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.train = train
        if self._check_legacy_exist():
            self.data, self.targets = self._load_legacy_data()
            return
        if download:
            self.download()
        missing = self._missing_files()
        if missing:
            raise DatasetNotFoundError(missing_files_message(
                type(self).__name__, self.raw_folder, [f"{stem}(.gz)" for stem in missing],
                self._source(), download))
        self.data, self.targets = self._load_data()

    # ------------------------------------------------------------------ files
    @property
    def raw_folder(self) -> str:
        """``root/<ClassName>/raw``, where the IDX files are.

        Example:
            >>> dataset = KMNIST.__new__(KMNIST)
            >>> dataset.root = '/data'
            >>> dataset.raw_folder, dataset.processed_folder
            ('/data/KMNIST/raw', '/data/KMNIST/processed')
        """
        return os.path.join(self.root, self.__class__.__name__, "raw")

    @property
    def processed_folder(self) -> str:
        """``root/<ClassName>/processed``, where torchvision's older ``.pt`` files are (see
        :attr:`raw_folder` for an example)."""
        return os.path.join(self.root, self.__class__.__name__, "processed")

    @property
    def class_to_idx(self) -> dict[str, int]:
        """``{class name: index}`` in the order of :attr:`classes`.

        Example:
            >>> KMNIST.class_to_idx.fget(KMNIST)['su']
            2
        """
        return {name: index for index, name in enumerate(self.classes)}

    def _file_stems(self) -> tuple[str, str]:
        prefix = "train" if self.train else "t10k"
        return f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"

    def _raw_path(self, stem: str) -> Optional[str]:
        for name in (stem, stem + ".gz"):
            path = os.path.join(self.raw_folder, name)
            if os.path.isfile(path):
                return path
        return None

    def _missing_files(self) -> list[str]:
        return [stem for stem in self._file_stems() if self._raw_path(stem) is None]

    def _source(self) -> str:
        names = " ".join(name for name, _ in self.resources)
        return (f"get {names} from {self.mirrors[0]} and put them there (gzipped or not)")

    def _check_exists(self) -> bool:
        return not self._missing_files()

    def _check_legacy_exist(self) -> bool:
        return all(os.path.isfile(os.path.join(self.processed_folder, name))
                   for name in (self.training_file, self.test_file))

    def download(self) -> None:
        """Fetch the missing IDX files (``.gz``, MD5 checked) from :attr:`mirrors` into
        :attr:`raw_folder`; nothing when they are there. Offline, or when every mirror fails,
        the one-line error says why and where to put the files by hand.

        Example:
            >>> import tempfile
            >>> dataset = MNIST.__new__(MNIST)
            >>> dataset.root, dataset.train = tempfile.mkdtemp(), False
            >>> dataset.mirrors = ['http://127.0.0.1:9/']    # a port that refuses
            >>> dataset.download()  # doctest: +ELLIPSIS
            Traceback (most recent call last):
            ...
            convnet.vision.datasets.vision_base.DatasetNotFoundError: MNIST: dataset not found: (download=True: could not download train-images-idx3-ubyte.gz (...)) missing t10k-images-idx3-ubyte(.gz), ...
        """
        missing = self._missing_files()
        if not missing:
            return
        for name, md5 in self.resources:
            if name.endswith(".gz") and self._raw_path(name[:-3]) is None:
                reason = fetch([mirror + name for mirror in self.mirrors],
                               os.path.join(self.raw_folder, name), md5)
                if reason is not None:
                    raise DatasetNotFoundError(missing_files_message(
                        type(self).__name__, self.raw_folder,
                        [f"{stem}(.gz)" for stem in missing], self._source(), reason))

    # ------------------------------------------------------------------ reading
    def _load_data(self):
        image_stem, label_stem = self._file_stems()
        image_path, label_path = self._raw_path(image_stem), self._raw_path(label_stem)
        return self._checked(read_idx(image_path), read_idx(label_path), image_path, label_path)

    def _load_legacy_data(self):
        from ...io.torch_file import load_torch_file
        path = os.path.join(self.processed_folder, self.training_file if self.train else
                            self.test_file)
        content = load_torch_file(path)
        if not (isinstance(content, (tuple, list)) and len(content) == 2
                and all(isinstance(part, np.ndarray) for part in content)):
            raise DatasetError(f"{path}: expected torchvision's (images, targets) pair of "
                               f"tensors, found {type(content).__name__}")
        return self._checked(content[0], content[1], path, path)

    def _checked(self, images, labels, image_path: str, label_path: str):
        from ... import from_numpy
        if images.dtype != np.uint8 or images.ndim != 3:
            raise DatasetError(f"{image_path}: expected (N, H, W) ubyte images, the header says "
                               f"{'x'.join(map(str, images.shape))} {images.dtype}")
        if labels.ndim != 1 or labels.dtype not in (np.uint8, np.int64):
            raise DatasetError(f"{label_path}: expected (N,) ubyte labels, the header says "
                               f"{'x'.join(map(str, labels.shape))} {labels.dtype}")
        if len(labels) != len(images):
            raise DatasetError(f"{label_path}: {len(labels)} labels for the {len(images)} images "
                               f"of {image_path}")
        if len(labels) and (labels.min() < 0 or labels.max() >= len(self.classes)):
            bad = int(labels.max() if labels.max() >= len(self.classes) else labels.min())
            raise DatasetError(f"{label_path}: label {bad} outside 0..{len(self.classes) - 1} "
                               f"({len(self.classes)} classes)")
        return (from_numpy(np.ascontiguousarray(images)),
                from_numpy(np.ascontiguousarray(labels, dtype=np.int64)))

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        image = _pil_gray(as_numpy(self.data)[index])
        target = int(as_numpy(self.targets)[index])
        return self._transformed(image, target)

    def __len__(self) -> int:
        return len(self.data)

    def extra_repr(self) -> str:
        """``Split: Train`` or ``Split: Test``.

        Example:
            >>> dataset = MNIST.__new__(MNIST)
            >>> dataset.train = False
            >>> dataset.extra_repr()
            'Split: Test'
        """
        return f"Split: {'Train' if self.train is True else 'Test'}"


class FashionMNIST(MNIST):
    """`Fashion-MNIST <https://github.com/zalandoresearch/fashion-mnist>`_: 28x28 images of
    clothes in 10 classes; files in ``root/FashionMNIST/raw/`` (as :class:`MNIST`).

    Example:
        >>> FashionMNIST.classes[9]
        'Ankle boot'
    """

    mirrors = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
    resources = [("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
                 ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
                 ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
                 ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310")]
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot"]


class KMNIST(MNIST):
    """`Kuzushiji-MNIST <https://github.com/rois-codh/kmnist>`_: 28x28 cursive Japanese
    characters in 10 classes; files in ``root/KMNIST/raw/`` (as :class:`MNIST`).

    Example:
        >>> KMNIST.classes[:3]
        ['o', 'ki', 'su']
    """

    mirrors = ["http://codh.rois.ac.jp/kmnist/dataset/kmnist/"]
    resources = [("train-images-idx3-ubyte.gz", "bdb82020997e1d708af4cf47b453dcf7"),
                 ("train-labels-idx1-ubyte.gz", "e144d726b3acfaa3e44228e80efcd344"),
                 ("t10k-images-idx3-ubyte.gz", "5c965bf0a639b31b8f53240b1b52f4d7"),
                 ("t10k-labels-idx1-ubyte.gz", "7320c461ea6c1c855c0b718fb2a4b134")]
    classes = ["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"]


class EMNIST(MNIST):
    """`EMNIST <https://www.nist.gov/itl/products-and-services/emnist-dataset>`_: handwritten
    digits and letters; ``split`` is one of ``byclass``, ``bymerge``, ``balanced``,
    ``letters``, ``digits``, ``mnist``. Files: ``root/EMNIST/raw/emnist-<split>-{train,test}-
    {images-idx3,labels-idx1}-ubyte`` (or ``.gz``), the files of NIST's ``gzip.zip``. As
    torchvision, the images are given as stored (transposed relative to MNIST's).

    Example:
        >>> len(EMNIST.classes_split_dict['balanced']), EMNIST.classes_split_dict['letters'][:3]
        (47, ['N/A', 'a', 'b'])
        >>> EMNIST('/nonexistent', split='digit')
        Traceback (most recent call last):
        ...
        ValueError: Unknown value 'digit' for argument split. Valid values are {'byclass', 'bymerge', 'balanced', 'letters', 'digits', 'mnist'}.
    """

    url = "https://biometrics.nist.gov/cs_links/EMNIST/gzip.zip"
    md5 = "58c8d27c78d21e728a6bc7b3cc06412e"
    splits = ("byclass", "bymerge", "balanced", "letters", "digits", "mnist")
    _merged_classes = {"c", "i", "j", "k", "l", "m", "o", "p", "s", "u", "v", "w", "x", "y", "z"}
    _all_classes = set(string.digits + string.ascii_letters)
    classes_split_dict = {
        "byclass": sorted(_all_classes),
        "bymerge": sorted(_all_classes - _merged_classes),
        "balanced": sorted(_all_classes - _merged_classes),
        "letters": ["N/A"] + list(string.ascii_lowercase),
        "digits": list(string.digits),
        "mnist": list(string.digits),
    }

    def __init__(self, root, split: str, **kwargs: Any) -> None:
        if not isinstance(split, str):
            raise ValueError(f"Expected type str for argument split, but got type {type(split)}.")
        if split not in self.splits:
            valid = ", ".join(f"'{name}'" for name in self.splits)
            raise ValueError(f"Unknown value '{split}' for argument split. Valid values are "
                             f"{{{valid}}}.")
        self.split = split
        self.training_file = f"training_{split}.pt"
        self.test_file = f"test_{split}.pt"
        self.classes = self.classes_split_dict[split]
        super().__init__(root, **kwargs)

    def _file_stems(self) -> tuple[str, str]:
        prefix = f"emnist-{self.split}-{'train' if self.train else 'test'}"
        return f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"

    def _source(self) -> str:
        return (f"get {self.url}, whose gzip/ folder holds the emnist-<split>-*-ubyte.gz files, "
                f"and put them there (gzipped or not)")

    def download(self) -> None:
        """Fetch NIST's ``gzip.zip`` (MD5 checked, 560 MB) into :attr:`raw_folder` and take
        every split's ``.gz`` files out of its ``gzip/`` folder (those names only); nothing
        when this split's files are there.

        Example:
            >>> import tempfile
            >>> dataset = EMNIST.__new__(EMNIST)
            >>> dataset.root, dataset.split, dataset.train = tempfile.mkdtemp(), 'digits', True
            >>> dataset.url = 'http://127.0.0.1:9/gzip.zip'    # a port that refuses
            >>> dataset.download()  # doctest: +ELLIPSIS
            Traceback (most recent call last):
            ...
            convnet.vision.datasets.vision_base.DatasetNotFoundError: EMNIST: dataset not found: (download=True: could not download gzip.zip (...)) missing emnist-digits-train-images-idx3-ubyte(.gz), ...
        """
        import zipfile
        missing = self._missing_files()
        if not missing:
            return
        archive = os.path.join(self.raw_folder, "gzip.zip")
        reason = fetch([self.url], archive, self.md5)
        if reason is not None:
            raise DatasetNotFoundError(missing_files_message(
                "EMNIST", self.raw_folder, [f"{stem}(.gz)" for stem in missing],
                self._source(), reason))
        from ...io.atomic import atomic_write
        try:
            with zipfile.ZipFile(archive) as zipped:
                for member in zipped.namelist():
                    name = member.rsplit("/", 1)[-1]
                    if (member == f"gzip/{name}" and name.startswith("emnist-")
                            and name.endswith("-ubyte.gz")):
                        with atomic_write(os.path.join(self.raw_folder, name), "wb") as out:
                            out.write(zipped.read(member))
        except (zipfile.BadZipFile, OSError, EOFError) as error:
            raise DatasetError(f"{archive}: cannot extract the EMNIST files ({error})") from None
        os.remove(archive)
