"""The base of torchvision-style datasets: :class:`VisionDataset` (``root``, the transforms,
torchvision's ``repr``), :class:`StandardTransform`, and the errors and messages that every
dataset here shares.

Every problem a user's files can cause is a one-line :class:`~convnet.data.DatasetError` (a
ValueError) naming the file; files that are missing raise :class:`DatasetNotFoundError`, which
is also a RuntimeError, as torchvision raises for a dataset it cannot find.

Example:
    >>> from convnet.vision.datasets import VisionDataset
    >>> class Letters(VisionDataset):
    ...     def __len__(self):
    ...         return 2
    ...     def __getitem__(self, index):
    ...         return 'ab'[index], index
    >>> print(Letters('/data/letters', transform=str.upper))
    Dataset Letters
        Number of datapoints: 2
        Root location: /data/letters
        StandardTransform
    Transform: <method 'upper' of 'str' objects>
"""

from __future__ import annotations

import os
from typing import Any, Callable, Optional, Sequence

from ...data.download import DatasetError
from ...utils.data import Dataset

__all__ = ["VisionDataset", "StandardTransform", "DatasetNotFoundError", "missing_files_message",
           "as_numpy"]


class DatasetNotFoundError(DatasetError, RuntimeError):
    """Dataset files are missing: a DatasetError (ValueError) and a RuntimeError (torchvision's
    type for it); the message is one line saying which files to put where.

    Example:
        >>> [issubclass(DatasetNotFoundError, kind) for kind in (RuntimeError, ValueError)]
        [True, True]
    """


def missing_files_message(name: str, folder, missing: Sequence[str], source: str,
                          download) -> str:
    """The one-line message for ``missing`` files of dataset ``name`` expected in ``folder``.

    ``source`` says where the official files are and what to do with them; ``download``:
    False (not asked), True (asked, and this dataset is not downloaded by convnet) or the
    reason the download failed.

    Example:
        >>> missing_files_message('MNIST', '/data/MNIST/raw', ['a', 'b'], 'see http://x', False)
        'MNIST: dataset not found: missing a, b in /data/MNIST/raw; see http://x'
        >>> missing_files_message('MNIST', '/d', ['a'], 'see http://x', 'offline')
        'MNIST: dataset not found: (download=True: offline) missing a in /d; see http://x'
    """
    if isinstance(download, str):
        note = f"(download=True: {download}) "
    else:
        note = "(download=True: convnet does not download this dataset) " if download else ""
    return (f"{name}: dataset not found: {note}missing {', '.join(missing)} in "
            f"{os.fspath(folder)}; {source}")


def fetch(urls: Sequence[str], destination, md5: str, progress: bool = True) -> str | None:
    """Download the first of ``urls`` that answers to ``destination`` (MD5 checked, atomic:
    see :func:`convnet.data.download.download_file`); None, or why it failed in one line.

    Example:
        >>> fetch([], '/tmp/never-written', None)
        'no URL to download /tmp/never-written from'
    """
    from ...data.download import DatasetError, download_file
    try:
        download_file(list(urls), destination, md5, progress)
    except DatasetError as error:
        return str(error)
    return None


def as_numpy(array):
    """``array`` (a convnet Tensor or anything array-like) as a NumPy array, without a copy
    where possible.

    Example:
        >>> import convnet
        >>> as_numpy(convnet.tensor([1, 2])).tolist()
        [1, 2]
    """
    import numpy as np
    numpy = getattr(array, "numpy", None)
    return numpy() if callable(numpy) and not isinstance(array, np.ndarray) else np.asarray(array)


class VisionDataset(Dataset):
    """Base class of the datasets (torchvision's): ``root`` (``~`` expanded), ``transform``
    (applied to the sample), ``target_transform`` (to the target) or ``transforms`` (to
    both: not together with the other two). Subclasses define ``__getitem__`` and ``__len__``.

    Example:
        >>> VisionDataset('/data', transforms=print, transform=print)
        Traceback (most recent call last):
        ...
        ValueError: Only transforms or transform/target_transform can be passed as argument
    """

    _repr_indent = 4

    def __init__(self, root=None, transforms: Optional[Callable] = None,
                 transform: Optional[Callable] = None,
                 target_transform: Optional[Callable] = None) -> None:
        if isinstance(root, str):
            root = os.path.expanduser(root)
        self.root = root
        has_transforms = transforms is not None
        has_separate_transform = transform is not None or target_transform is not None
        if has_transforms and has_separate_transform:
            raise ValueError("Only transforms or transform/target_transform can be passed as "
                             "argument")
        self.transform = transform
        self.target_transform = target_transform
        if has_separate_transform:
            transforms = StandardTransform(transform, target_transform)
        self.transforms = transforms

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError

    def _transformed(self, sample: Any, target: Any) -> tuple[Any, Any]:
        """``(transform(sample), target_transform(target))``, each where set; what every
        dataset's ``__getitem__`` returns."""
        if self.transform is not None:
            sample = self.transform(sample)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return sample, target

    def __len__(self) -> int:
        raise NotImplementedError

    def __repr__(self) -> str:
        head = "Dataset " + self.__class__.__name__
        body = [f"Number of datapoints: {self.__len__()}"]
        if self.root is not None:
            body.append(f"Root location: {self.root}")
        body += self.extra_repr().splitlines()
        if getattr(self, "transforms", None) is not None:
            body += [repr(self.transforms)]
        return "\n".join([head] + [" " * self._repr_indent + line for line in body])

    def _format_transform_repr(self, transform: Callable, head: str) -> list[str]:
        lines = transform.__repr__().splitlines()
        return [f"{head}{lines[0]}"] + [" " * len(head) + line for line in lines[1:]]

    def extra_repr(self) -> str:
        """Lines a subclass adds to the ``repr`` (e.g. ``Split: Train``).

        Example:
            >>> VisionDataset().extra_repr()
            ''
        """
        return ""


class StandardTransform:
    """``(input, target) -> (transform(input), target_transform(target))``, either may be None.

    Example:
        >>> StandardTransform(str.upper, len)('ab', 'xyz')
        ('AB', 3)
    """

    def __init__(self, transform: Optional[Callable] = None,
                 target_transform: Optional[Callable] = None) -> None:
        self.transform = transform
        self.target_transform = target_transform

    def __call__(self, input: Any, target: Any) -> tuple[Any, Any]:
        if self.transform is not None:
            input = self.transform(input)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return input, target

    def _format_transform_repr(self, transform: Callable, head: str) -> list[str]:
        lines = transform.__repr__().splitlines()
        return [f"{head}{lines[0]}"] + [" " * len(head) + line for line in lines[1:]]

    def __repr__(self) -> str:
        body = [self.__class__.__name__]
        if self.transform is not None:
            body += self._format_transform_repr(self.transform, "Transform: ")
        if self.target_transform is not None:
            body += self._format_transform_repr(self.target_transform, "Target transform: ")
        return "\n".join(body)
