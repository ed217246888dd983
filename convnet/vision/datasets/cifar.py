"""CIFAR-10 and CIFAR-100, "python version", under torchvision's names and layout:
:class:`CIFAR10` reads ``root/cifar-10-batches-py/{data_batch_1..5, test_batch, batches.meta}``,
:class:`CIFAR100` reads ``root/cifar-100-python/{train, test, meta}`` (the archives from
https://www.cs.toronto.edu/~kriz/cifar.html, extracted into ``root``).

Those files are Python pickles: a dict holding ``data`` (a uint8 NumPy array ``(N, 3072)``,
the red, green then blue 32x32 planes of each image), ``labels`` (CIFAR-10) or
``fine_labels``/``coarse_labels`` (CIFAR-100) as lists of ints, ``batch_label`` and
``filenames``; the meta file holds the class names. They are never given to ``pickle.load``:
:class:`CifarUnpickler` rebuilds only dicts, lists, tuples, strings, bytes, numbers and
NumPy arrays of plain numeric dtypes, from the globals that NumPy's pickles name
(``numpy.core.multiarray._reconstruct``, ``numpy.ndarray``, ``numpy.dtype``,
``numpy.core.numeric._frombuffer``, ``_codecs.encode`` with latin1). Its ``find_class``
hands out inert stand-ins, so any other global (``os.system``, ``builtins.eval`` ...) is an
:class:`UnsafePickleError` when the pickle names it, before anything runs. Python 2's
strings (the real files were written by Python 2) are read as latin1, as torchvision does;
``bytes`` keys (files written by Python 3) are read as the same names.

A sample is ``(PIL RGB image, int target)``; ``.data`` is a uint8 array ``(N, 32, 32, 3)``,
``.targets`` a list of ints, as torchvision's. ``download=True`` fetches the official archive
(MD5 checked) and extracts the batch files; missing files are otherwise a one-line
:class:`DatasetNotFoundError`.

Example:
    >>> import os, pickle, tempfile
    >>> import numpy as np
    >>> from convnet.vision.datasets import CIFAR10
    >>> root = tempfile.TemporaryDirectory()
    >>> folder = os.path.join(root.name, 'cifar-10-batches-py')
    >>> os.makedirs(folder)
    >>> batch = {b'batch_label': b'testing batch 1 of 1', b'labels': [3, 8],
    ...          b'data': np.zeros((2, 3072), np.uint8)}
    >>> names = 'airplane automobile bird cat deer dog frog horse ship truck'.split()
    >>> for name, content in [('test_batch', batch),
    ...                       ('batches.meta', {b'label_names': [n.encode() for n in names]})]:
    ...     with open(os.path.join(folder, name), 'wb') as f:
    ...         pickle.dump(content, f, protocol=2)
    >>> test = CIFAR10(root.name, train=False)
    >>> image, target = test[1]
    >>> len(test), test.data.shape, image.mode, image.size, test.classes[target]
    (2, (2, 32, 32, 3), 'RGB', (32, 32), 'ship')
    >>> root.cleanup()
"""

from __future__ import annotations

import io
import os
import pickle
from typing import Any, Callable, Optional

import numpy as np

from ...data.download import DatasetError
from ...io import limits
from ...io.restricted_pickle import Inert, RestrictedUnpickler, fail, latin1_encode, show
from .vision_base import DatasetNotFoundError, VisionDataset, fetch, missing_files_message

__all__ = ["CIFAR10", "CIFAR100", "CifarUnpickler", "UnsafePickleError", "parse_cifar_pickle",
           "read_cifar_pickle"]

_NUMERIC_TYPESTRS = {"b1", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8"}
_MAX_DEPTH = 64


class UnsafePickleError(DatasetError, pickle.UnpicklingError):
    """A pickle that names something other than data; refused before anything runs.

    Example:
        >>> [issubclass(UnsafePickleError, kind) for kind in (ValueError, pickle.UnpicklingError)]
        [True, True]
    """


# ----------------------------------------------------------------- inert stand-ins
class _DType(Inert):
    __slots__ = ("typestr", "order", "built")

    def __init__(self, typestr):
        self.typestr, self.order, self.built = typestr, "=", False

    def __setstate__(self, state):
        # numpy writes (3, byteorder, subarray, names, fields, elsize, alignment, flags)
        if (self.built or not isinstance(state, tuple) or len(state) != 8 or state[0] not in (3, 4)
                or state[1] not in ("<", ">", "|", "=") or state[2:5] != (None, None, None)):
            fail(f"unexpected dtype state {show(state)}")
        self.order, self.built = state[1], True

    def dtype(self) -> np.dtype:
        dtype = np.dtype(self.typestr)
        return dtype.newbyteorder(self.order) if self.order in "<>" else dtype

    def __str__(self):
        return f"dtype {self.typestr}"


class _Array(Inert):
    __slots__ = ("shape", "dtype", "fortran", "raw")

    def __init__(self):
        self.shape = None

    def fill(self, shape, dtype, fortran, raw):
        if self.shape is not None:
            fail("an array's state is set twice")
        if not (isinstance(shape, tuple) and len(shape) <= 32 and all(
                isinstance(size, int) and not isinstance(size, bool) and size >= 0
                for size in shape)):
            fail(f"an array's shape is {show(shape)}")
        if type(dtype) is not _DType:
            fail(f"an array's dtype is {show(dtype)}, not a numeric dtype")
        if fortran not in (0, 1) or not isinstance(raw, (bytes, bytearray, str)):
            fail(f"an array's state is {show((fortran, raw))}")
        if isinstance(raw, str):  # Python 2's str, read as latin1
            try:
                raw = raw.encode("latin1")
            except UnicodeEncodeError:
                fail("an array's data is text that is not latin1")
        self.shape, self.dtype, self.fortran, self.raw = shape, dtype, bool(fortran), bytes(raw)

    def __setstate__(self, state):
        if isinstance(state, tuple) and len(state) == 5 and state[0] == 1:
            state = state[1:]
        if not (isinstance(state, tuple) and len(state) == 4):
            fail(f"unexpected array state {show(state)}")
        self.fill(*state)

    def array(self) -> np.ndarray:
        if self.shape is None:
            fail("an array was created but never filled")
        dtype = self.dtype.dtype()
        expected = int(np.prod(self.shape, dtype=object)) * dtype.itemsize
        if len(self.raw) != expected:
            fail(f"an array of shape {self.shape} {dtype} needs {expected} bytes, the pickle "
                  f"holds {len(self.raw)}")
        array = np.frombuffer(self.raw, dtype).reshape(self.shape, order="F" if self.fortran
                                                       else "C")
        return np.array(array, dtype=dtype.newbyteorder("="), order="C")

    def __str__(self):
        return "an array"


_NDARRAY = Inert()


def _reconstruct(subtype, shape, typecode):
    if subtype is not _NDARRAY or not isinstance(shape, tuple) or typecode not in ("b", b"b"):
        fail(f"_reconstruct called with {show((subtype, shape, typecode))}")
    return _Array()


def _dtype(typestr, align=False, copy=True):
    if isinstance(typestr, bytes):
        typestr = typestr.decode("latin1")
    if typestr not in _NUMERIC_TYPESTRS or align not in (0, 1) or copy not in (0, 1):
        fail(f"numpy.dtype{show((typestr, align, copy))}: only plain numeric dtypes are read")
    return _DType(typestr)


def _frombuffer(buffer, dtype, shape, order):
    array = _Array()
    if order not in ("C", "F"):
        fail(f"_frombuffer called with order {show(order)}")
    array.fill(shape, dtype, order == "F", buffer)
    return array


_GLOBALS = {
    **{(module, "_reconstruct"): _reconstruct
       for module in ("numpy.core.multiarray", "numpy._core.multiarray")},
    **{(module, "_frombuffer"): _frombuffer
       for module in ("numpy.core.numeric", "numpy._core.numeric")},
    ("numpy", "dtype"): _dtype,
    ("_codecs", "encode"): latin1_encode,
}


class CifarUnpickler(RestrictedUnpickler):
    """An unpickler that rebuilds plain containers and NumPy arrays only (see the module doc);
    strings of Python 2 are read as latin1. :meth:`load` returns stand-ins: use
    :func:`parse_cifar_pickle`, which turns them into arrays and checks the result.

    Example:
        >>> CifarUnpickler(io.BytesIO(b'cos\\nsystem\\n(S"echo hi"\\ntR.')).load()
        Traceback (most recent call last):
        ...
        convnet.vision.datasets.cifar.UnsafePickleError: the pickle asks for os.system, which a CIFAR file never needs; refused (nothing was run)
    """

    purpose, error, GLOBALS = "a CIFAR file", UnsafePickleError, _GLOBALS

    def __init__(self, file):
        super().__init__(file, encoding="latin1")

    def extra_class(self, module, name):
        return _NDARRAY if (module, name) == ("numpy", "ndarray") else None


def _materialize(item, depth: int = 0):
    if depth > _MAX_DEPTH:
        fail("the object is nested too deeply")
    if isinstance(item, _Array):
        return item.array()
    if isinstance(item, Inert):
        fail(f"the object holds {item}, not data")
    if type(item) is dict:
        result = {}
        for key, value in item.items():
            key = _materialize(key, depth + 1)
            if isinstance(key, bytes):
                key = key.decode("latin1")
            if isinstance(key, np.ndarray):
                fail("a dict key is an array")
            result[key] = _materialize(value, depth + 1)
        return result
    if type(item) in (list, tuple):
        return type(item)(_materialize(value, depth + 1) for value in item)
    if type(item) in (str, bytes, int, float, bool, complex) or item is None:
        return item
    fail(f"the object holds a {type(item).__name__}, not data")


def parse_cifar_pickle(data: bytes, name: str = "<bytes>"):
    """The dict in the CIFAR pickle ``data``, arrays as NumPy arrays and ``bytes`` keys as
    ``str``. Every problem is one line naming ``name``: :class:`UnsafePickleError` for a
    global that is not NumPy's, :class:`~convnet.data.DatasetError` otherwise.

    Example:
        >>> import pickle
        >>> parse_cifar_pickle(pickle.dumps({b'labels': [1, 2]}, protocol=2), 'batch')
        {'labels': [1, 2]}
        >>> parse_cifar_pickle(b'c__builtin__\\neval\\n(S"1+1"\\ntR.', 'evil')
        Traceback (most recent call last):
        ...
        convnet.vision.datasets.cifar.UnsafePickleError: evil: the pickle asks for __builtin__.eval, which a CIFAR file never needs; refused (nothing was run)
    """
    try:
        tree = CifarUnpickler(io.BytesIO(data)).load()
        result = _materialize(tree)
    except UnsafePickleError as error:
        raise UnsafePickleError(f"{name}: {error}") from None
    except RecursionError:
        raise DatasetError(f"{name}: the pickle is nested too deeply") from None
    except Exception as error:  # a damaged or crafted pickle: whatever the pickle machine meets
        message = " ".join(str(error).split())
        raise DatasetError(f"{name}: not a readable CIFAR pickle: {message:.200} "
                           f"({type(error).__name__})") from None
    if not isinstance(result, dict):
        raise DatasetError(f"{name}: expected a dict, the pickle holds a {type(result).__name__}")
    return result


def read_cifar_pickle(path) -> dict:
    """:func:`parse_cifar_pickle` of the file at ``path`` (a regular file, read whole).

    Example:
        >>> import os, pickle, tempfile
        >>> folder = tempfile.TemporaryDirectory()
        >>> path = os.path.join(folder.name, 'meta')
        >>> with open(path, 'wb') as f:
        ...     pickle.dump({'label_names': ['cat', 'dog']}, f, protocol=2)
        >>> read_cifar_pickle(path)
        {'label_names': ['cat', 'dog']}
        >>> folder.cleanup()
    """
    path = os.fspath(path)
    try:
        data = limits.read_regular_file(path, "CIFAR file")
    except ValueError as error:
        raise DatasetError(str(error)) from None
    except OSError as error:
        raise DatasetError(f"{path}: cannot be read ({error.strerror or error})") from None
    return parse_cifar_pickle(data, path)


def _int_list(labels, path: str, key: str) -> list[int]:
    if isinstance(labels, np.ndarray) and labels.ndim == 1 and labels.dtype.kind in "iu":
        return [int(label) for label in labels]
    if isinstance(labels, (list, tuple)) and all(
            isinstance(label, int) and not isinstance(label, bool) for label in labels):
        return list(labels)
    raise DatasetError(f"{path}: {key!r} should be a list of ints, found {show(labels)}")


class CIFAR10(VisionDataset):
    """`CIFAR-10 <https://www.cs.toronto.edu/~kriz/cifar.html>`_: 32x32 colour images in 10
    classes (see the module doc for the files and how they are read).

    Args:
        root: the folder holding ``cifar-10-batches-py/``.
        train: the five ``data_batch_*`` files when True, else ``test_batch``.
        transform: applied to the PIL image; target_transform: applied to the int target.
        download: fetch and extract the official archive when files are missing (see
            :meth:`download`); files already there are used as they are.

    Example:
        >>> CIFAR10('/nonexistent', train=False)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        convnet.vision.datasets.vision_base.DatasetNotFoundError: CIFAR10: dataset not found: missing test_batch, batches.meta in /nonexistent/cifar-10-batches-py; download https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz and extract it into /nonexistent
    """

    base_folder = "cifar-10-batches-py"
    url = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    filename = "cifar-10-python.tar.gz"
    tgz_md5 = "c58f30108f718f92721af3b95e74349a"
    train_list = [["data_batch_1", "c99cafc152244af753f735de768cd75f"],
                  ["data_batch_2", "d4bba439e000b95fd0a9bffe97cbabec"],
                  ["data_batch_3", "54ebc095f3ab1f0389bbae665268c751"],
                  ["data_batch_4", "634d18415352ddfa80567beed471001a"],
                  ["data_batch_5", "482c414d41f54cd18b22e5b47cb7c3cb"]]
    test_list = [["test_batch", "40351d587109b95175f43aff81a1287e"]]
    meta = {"filename": "batches.meta", "key": "label_names",
            "md5": "5ff9c542aee3614f3951f8cda6e48888"}

    def __init__(self, root, train: bool = True, transform: Optional[Callable] = None,
                 target_transform: Optional[Callable] = None, download: bool = False) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.train = train
        if download:
            self.download()
        self._raise_if_missing("the downloaded archive did not hold them" if download else False)
        self._load_meta()
        parts, self.targets = [], []
        for file_name, _ in (self.train_list if self.train else self.test_list):
            path = os.path.join(self.root, self.base_folder, file_name)
            entry = read_cifar_pickle(path)
            key = "labels" if "labels" in entry else "fine_labels"
            if "data" not in entry or key not in entry:
                raise DatasetError(f"{path}: expected the keys 'data' and 'labels' (or "
                                   f"'fine_labels'), found {show(sorted(map(str, entry)))}")
            images, labels = entry["data"], _int_list(entry[key], path, key)
            if not (isinstance(images, np.ndarray) and images.dtype == np.uint8
                    and images.ndim == 2 and images.shape[1] == 3 * 32 * 32):
                found = (f"{'x'.join(map(str, images.shape))} {images.dtype}"
                         if isinstance(images, np.ndarray) else type(images).__name__)
                raise DatasetError(f"{path}: 'data' should be an (N, 3072) uint8 array, found "
                                   f"{found}")
            if len(images) != len(labels):
                raise DatasetError(f"{path}: {len(labels)} labels for {len(images)} images")
            bad = [label for label in labels if not 0 <= label < len(self.classes)]
            if bad:
                raise DatasetError(f"{path}: label {bad[0]} outside 0..{len(self.classes) - 1} "
                                   f"({len(self.classes)} classes in {self.meta['filename']})")
            parts.append(images)
            self.targets.extend(labels)
        self.data = np.ascontiguousarray(np.vstack(parts).reshape(-1, 3, 32, 32)
                                         .transpose(0, 2, 3, 1))

    def _needed_files(self) -> list[str]:
        split = self.train_list if self.train else self.test_list
        return [name for name, _ in split] + [self.meta["filename"]]

    def _raise_if_missing(self, download) -> None:
        folder = os.path.join(self.root, self.base_folder)
        missing = [name for name in self._needed_files()
                   if not os.path.isfile(os.path.join(folder, name))]
        if missing:
            raise DatasetNotFoundError(missing_files_message(
                type(self).__name__, folder, missing,
                f"download {self.url} and extract it into {os.fspath(self.root)}", download))

    def _check_integrity(self) -> bool:
        folder = os.path.join(self.root, self.base_folder)
        return all(os.path.isfile(os.path.join(folder, name)) for name in self._needed_files())

    def _load_meta(self) -> None:
        path = os.path.join(self.root, self.base_folder, self.meta["filename"])
        names = read_cifar_pickle(path).get(self.meta["key"])
        if isinstance(names, (list, tuple)) and all(isinstance(name, bytes) for name in names):
            names = [name.decode("latin1") for name in names]
        if not (isinstance(names, (list, tuple)) and names
                and all(isinstance(name, str) for name in names)):
            raise DatasetError(f"{path}: expected {self.meta['key']!r}, a list of class names, "
                               f"found {show(names)}")
        self.classes = list(names)
        self.class_to_idx = {name: index for index, name in enumerate(self.classes)}

    def download(self) -> None:
        """Fetch :attr:`url` (MD5 checked) into ``root`` and extract the batch files of
        :attr:`base_folder` from it (only those: no other path in the archive reaches the
        disk); nothing when the files are there. A failed download or a damaged archive is
        the one-line :class:`DatasetNotFoundError` / ``DatasetError``.

        Example:
            >>> import tempfile
            >>> dataset = CIFAR100.__new__(CIFAR100)
            >>> dataset.root, dataset.train = tempfile.mkdtemp(), True
            >>> dataset.url = 'http://127.0.0.1:9/cifar-100-python.tar.gz'    # refuses
            >>> dataset.download()  # doctest: +ELLIPSIS
            Traceback (most recent call last):
            ...
            convnet.vision.datasets.vision_base.DatasetNotFoundError: CIFAR100: dataset not found: (download=True: could not download cifar-100-python.tar.gz (...)) missing train, meta in .../cifar-100-python; ...
        """
        if self._check_integrity():
            return
        archive = os.path.join(self.root, self.filename)
        reason = fetch([self.url] if self.url else [], archive, self.tgz_md5)
        if reason is not None:
            self._raise_if_missing(reason)
        self._extract(archive)

    def _extract(self, archive: str) -> None:
        import tarfile

        from ...io.atomic import atomic_write
        wanted = {f"{self.base_folder}/{name}" for name, _ in
                  self.train_list + self.test_list} | {f"{self.base_folder}/"
                                                       f"{self.meta['filename']}"}
        os.makedirs(os.path.join(self.root, self.base_folder), exist_ok=True)
        try:
            with tarfile.open(archive, "r:gz") as tar:
                for member in tar.getmembers():
                    if member.name in wanted and member.isfile():
                        with atomic_write(os.path.join(self.root, member.name), "wb") as out:
                            out.write(tar.extractfile(member).read())
        except (tarfile.TarError, OSError, EOFError) as error:
            raise DatasetError(f"{archive}: cannot extract the {type(self).__name__} files "
                               f"({error})") from None

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        from PIL import Image
        image, target = Image.fromarray(self.data[index]), self.targets[index]
        return self._transformed(image, target)

    def __len__(self) -> int:
        return len(self.data)

    def extra_repr(self) -> str:
        """``Split: Train`` or ``Split: Test``.

        Example:
            >>> dataset = CIFAR10.__new__(CIFAR10)
            >>> dataset.train = True
            >>> dataset.extra_repr()
            'Split: Train'
        """
        return f"Split: {'Train' if self.train is True else 'Test'}"


class CIFAR100(CIFAR10):
    """`CIFAR-100 <https://www.cs.toronto.edu/~kriz/cifar.html>`_: as :class:`CIFAR10` with
    100 classes; ``root/cifar-100-python/{train, test, meta}``, targets are the fine labels.

    Example:
        >>> CIFAR100.base_folder, CIFAR100.meta['key']
        ('cifar-100-python', 'fine_label_names')
    """

    base_folder = "cifar-100-python"
    url = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
    filename = "cifar-100-python.tar.gz"
    tgz_md5 = "eb9058c3a382ffc7106e4002c42a8d85"
    train_list = [["train", "16019d7e3df5f24257cddd939b257f8d"]]
    test_list = [["test", "f0ef6b0ae62326f3e7ffdfab6717acfc"]]
    meta = {"filename": "meta", "key": "fine_label_names",
            "md5": "7973b15100ade9c7d40fb424638fde48"}
