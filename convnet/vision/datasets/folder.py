"""Samples in folders, one sub-folder per class, as torchvision's :class:`DatasetFolder` and
:class:`ImageFolder`.

Layout: ``root/<class>/**/<file>``; the classes are the names of ``root``'s sub-folders,
sorted (index 0 is the first), files are listed in sorted order, walking sub-folders too.
``samples`` (``imgs`` for ImageFolder) is the list of ``(path, class index)``, ``targets``
the class indices. The default loader reads an image through convnet's image reader (regular
files only, Pillow's decompression-bomb guard) and returns a PIL RGB image; an unreadable
image is a one-line :class:`~convnet.data.DatasetError` naming the file.

Example:
    >>> import os, tempfile
    >>> from PIL import Image
    >>> from convnet.vision.datasets import ImageFolder
    >>> root = tempfile.TemporaryDirectory()
    >>> for name in ('dog', 'cat'):
    ...     os.makedirs(os.path.join(root.name, name))
    ...     Image.new('L', (4, 3), 200).save(os.path.join(root.name, name, 'a.png'))
    >>> folder = ImageFolder(root.name)
    >>> folder.classes, folder.targets, folder[1][0].mode, folder[1][0].size
    (['cat', 'dog'], [0, 1], 'RGB', (4, 3))
    >>> root.cleanup()
"""

from __future__ import annotations

import os
from typing import Any, Callable, Optional, Union

from ...data.download import DatasetError
from .vision_base import VisionDataset

__all__ = ["DatasetFolder", "ImageFolder", "IMG_EXTENSIONS", "default_loader", "pil_loader",
           "find_classes", "make_dataset", "has_file_allowed_extension", "is_image_file"]

IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


def has_file_allowed_extension(filename: str, extensions: Union[str, tuple[str, ...]]) -> bool:
    """Whether ``filename`` ends with one of ``extensions`` (lowercase), ignoring case.

    Example:
        >>> has_file_allowed_extension('A.PNG', ('.png', '.jpg'))
        True
    """
    return filename.lower().endswith(extensions if isinstance(extensions, str)
                                     else tuple(extensions))


def is_image_file(filename: str) -> bool:
    """Whether ``filename`` has one of :data:`IMG_EXTENSIONS`.

    Example:
        >>> is_image_file('photo.jpeg'), is_image_file('notes.txt')
        (True, False)
    """
    return has_file_allowed_extension(filename, IMG_EXTENSIONS)


def find_classes(directory) -> tuple[list[str], dict[str, int]]:
    """``(classes, class_to_idx)``: the sorted names of ``directory``'s sub-folders.

    Raises FileNotFoundError when there is none (as torchvision).

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as root:
        ...     find_classes(root)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        FileNotFoundError: Couldn't find any class folder in ...
    """
    classes = sorted(entry.name for entry in os.scandir(directory) if entry.is_dir())
    if not classes:
        raise FileNotFoundError(f"Couldn't find any class folder in {directory}.")
    return classes, {name: index for index, name in enumerate(classes)}


def _walk(top: str):
    """``os.walk(top, followlinks=True)`` that enters each real folder once (no link loops)."""
    seen = set()
    for root, folders, files in os.walk(top, followlinks=True):
        real = os.path.realpath(root)
        if real in seen:
            folders[:] = []
            continue
        seen.add(real)
        yield root, folders, files


def make_dataset(directory, class_to_idx: Optional[dict[str, int]] = None,
                 extensions: Optional[Union[str, tuple[str, ...]]] = None,
                 is_valid_file: Optional[Callable[[str], bool]] = None,
                 allow_empty: bool = False) -> list[tuple[str, int]]:
    """The list of ``(path, class index)`` under ``directory``, in torchvision's order.

    Exactly one of ``extensions`` and ``is_valid_file`` selects the files. A class without
    any file raises FileNotFoundError unless ``allow_empty``.

    Example:
        >>> import os, tempfile
        >>> root = tempfile.TemporaryDirectory()
        >>> os.makedirs(os.path.join(root.name, 'a'))
        >>> open(os.path.join(root.name, 'a', 'x.txt'), 'w').close()
        >>> [(os.path.basename(p), c) for p, c in make_dataset(root.name, extensions='.txt')]
        [('x.txt', 0)]
        >>> root.cleanup()
    """
    directory = os.path.expanduser(directory)
    if class_to_idx is None:
        _, class_to_idx = find_classes(directory)
    elif not class_to_idx:
        raise ValueError("'class_to_index' must have at least one entry to collect any samples.")
    if (extensions is None) == (is_valid_file is None):
        raise ValueError("Both extensions and is_valid_file cannot be None or not None at the "
                         "same time")
    if extensions is not None:
        def is_valid_file(path: str) -> bool:
            return has_file_allowed_extension(path, extensions)
    instances, available = [], set()
    for target_class in sorted(class_to_idx):
        class_index = class_to_idx[target_class]
        target_dir = os.path.join(directory, target_class)
        if not os.path.isdir(target_dir):
            continue
        for root, _, names in sorted(_walk(target_dir)):
            for name in sorted(names):
                path = os.path.join(root, name)
                if is_valid_file(path):
                    instances.append((path, class_index))
                    available.add(target_class)
    empty = set(class_to_idx) - available
    if empty and not allow_empty:
        message = f"Found no valid file for the classes {', '.join(sorted(empty))}. "
        if extensions is not None:
            listed = extensions if isinstance(extensions, str) else ", ".join(extensions)
            message += f"Supported extensions are: {listed}"
        raise FileNotFoundError(message)
    return instances


def pil_loader(path) -> Any:
    """The image at ``path`` as a PIL RGB image, read through convnet's image reader
    (:func:`convnet.data.image_file.open_image`); a file that is not a readable image is a
    one-line :class:`~convnet.data.DatasetError` naming it.

    Example:
        >>> import os, tempfile
        >>> folder = tempfile.TemporaryDirectory()
        >>> path = os.path.join(folder.name, 'broken.png')
        >>> with open(path, 'wb') as f:
        ...     _ = f.write(b'not an image')
        >>> pil_loader(path)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        convnet.data.download.DatasetError: ...broken.png: not a readable image (...)
        >>> folder.cleanup()
    """
    from PIL import Image

    from ...data.image_file import open_image
    path = os.fspath(path)
    picture = open_image(path)
    try:
        with picture:
            return picture.convert("RGB")
    except Image.DecompressionBombError as error:
        raise DatasetError(f"{path}: refused, the image is too large to decode safely "
                           f"({error})") from None
    except (OSError, ValueError, SyntaxError) as error:  # truncated or corrupt pixel data
        message = " ".join(str(error).split())
        raise DatasetError(f"{path}: not a readable image ({message})") from None


def default_loader(path) -> Any:
    """The loader :class:`ImageFolder` uses: :func:`pil_loader`.

    Example:
        >>> import os, tempfile
        >>> from PIL import Image
        >>> folder = tempfile.TemporaryDirectory()
        >>> path = os.path.join(folder.name, 'grey.png')
        >>> Image.new('L', (2, 2), 7).save(path)
        >>> default_loader(path).getpixel((0, 0))
        (7, 7, 7)
        >>> folder.cleanup()
    """
    return pil_loader(path)


class DatasetFolder(VisionDataset):
    """Files in ``root/<class>/...`` read by ``loader(path)`` (torchvision's DatasetFolder).

    Args:
        root: the folder of class folders.
        loader: ``path -> sample``.
        extensions: the file endings to take (lowercase); or else ``is_valid_file``, a
            ``path -> bool`` (exactly one of the two).
        transform: applied to the sample; target_transform: applied to the class index.
        allow_empty: accept class folders without any file (an error otherwise).

    Attributes: ``classes`` (sorted), ``class_to_idx``, ``samples`` (``(path, index)``),
    ``targets``.

    Example:
        >>> import os, tempfile
        >>> root = tempfile.TemporaryDirectory()
        >>> for name in ('b', 'a'):
        ...     os.makedirs(os.path.join(root.name, name))
        ...     with open(os.path.join(root.name, name, 'note.txt'), 'w') as f:
        ...         _ = f.write(name * 3)
        >>> notes = DatasetFolder(root.name, loader=lambda p: open(p).read(), extensions=('.txt',))
        >>> len(notes), notes[1], notes.class_to_idx
        (2, ('bbb', 1), {'a': 0, 'b': 1})
        >>> root.cleanup()
    """

    def __init__(self, root, loader: Callable[[str], Any],
                 extensions: Optional[tuple[str, ...]] = None,
                 transform: Optional[Callable] = None,
                 target_transform: Optional[Callable] = None,
                 is_valid_file: Optional[Callable[[str], bool]] = None,
                 allow_empty: bool = False) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        classes, class_to_idx = self.find_classes(self.root)
        samples = self.make_dataset(self.root, class_to_idx=class_to_idx, extensions=extensions,
                                    is_valid_file=is_valid_file, allow_empty=allow_empty)
        self.loader = loader
        self.extensions = extensions
        self.classes = classes
        self.class_to_idx = class_to_idx
        self.samples = samples
        self.targets = [target for _, target in samples]

    @staticmethod
    def make_dataset(directory, class_to_idx: dict[str, int],
                     extensions: Optional[tuple[str, ...]] = None,
                     is_valid_file: Optional[Callable[[str], bool]] = None,
                     allow_empty: bool = False) -> list[tuple[str, int]]:
        """The ``(path, class index)`` list (override it to read another layout); see
        :func:`make_dataset`.

        Example:
            >>> DatasetFolder.make_dataset('/data', None, extensions='.png')
            Traceback (most recent call last):
            ...
            ValueError: The class_to_idx parameter cannot be None.
        """
        if class_to_idx is None:
            raise ValueError("The class_to_idx parameter cannot be None.")
        return make_dataset(directory, class_to_idx, extensions=extensions,
                            is_valid_file=is_valid_file, allow_empty=allow_empty)

    def find_classes(self, directory) -> tuple[list[str], dict[str, int]]:
        """``(classes, class_to_idx)`` of ``directory`` (override it to pick other classes);
        see :func:`find_classes`.

        Example:
            >>> import os, tempfile
            >>> with tempfile.TemporaryDirectory() as root:
            ...     for name in ('zebra', 'ant'):
            ...         os.makedirs(os.path.join(root, name))
            ...     DatasetFolder.find_classes(None, root)
            (['ant', 'zebra'], {'ant': 0, 'zebra': 1})
        """
        return find_classes(directory)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        path, target = self.samples[index]
        sample = self.loader(path)
        return self._transformed(sample, target)

    def __len__(self) -> int:
        return len(self.samples)


class ImageFolder(DatasetFolder):
    """Images in ``root/<class>/...`` with one of :data:`IMG_EXTENSIONS`, read as PIL RGB
    images by :func:`default_loader` (torchvision's ImageFolder); ``imgs`` is ``samples``.

    Example:
        >>> import os, tempfile
        >>> from PIL import Image
        >>> root = tempfile.TemporaryDirectory()
        >>> os.makedirs(os.path.join(root.name, 'red'))
        >>> Image.new('RGB', (2, 2), (255, 0, 0)).save(os.path.join(root.name, 'red', 'r.png'))
        >>> images = ImageFolder(root.name)
        >>> images.imgs == images.samples, images[0][0].getpixel((1, 1)), images[0][1]
        (True, (255, 0, 0), 0)
        >>> root.cleanup()
    """

    def __init__(self, root, transform: Optional[Callable] = None,
                 target_transform: Optional[Callable] = None,
                 loader: Callable[[str], Any] = default_loader,
                 is_valid_file: Optional[Callable[[str], bool]] = None,
                 allow_empty: bool = False) -> None:
        super().__init__(root, loader, IMG_EXTENSIONS if is_valid_file is None else None,
                         transform=transform, target_transform=target_transform,
                         is_valid_file=is_valid_file, allow_empty=allow_empty)
        self.imgs = self.samples
