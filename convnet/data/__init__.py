"""Datasets as float32 NCHW images in [0, 1] with int64 labels, and a resumable DataLoader.

=================  ===========================================================  ==============
name               what                                                         shape
=================  ===========================================================  ==============
``digits``         scikit-learn's 8x8 digits, bundled (1437 train / 360 test)   (1, 8, 8)
``shapes``         seed 001's squares vs diamonds, generated (see ``shapes``)   (1, 15, 15)
``mnist``          handwritten digits, IDX files                                (1, 28, 28)
``fashion-mnist``  Zalando's clothes, IDX files (Debian: dataset-fashion-mnist)  (1, 28, 28)
``kmnist``         Kuzushiji characters, IDX files                              (1, 28, 28)
``cifar10``        CIFAR-10 binary version                                      (3, 32, 32)
``folder:PATH``    PATH/<class>/<image>, read with Pillow                       any
``shapes-seg``     squares, diamonds, discs with a class per pixel (masks)      (1, 32, 32)
``fashion-seg``    scenes of Fashion-MNIST garments, a class per pixel (masks)  (1, 56, 56)
``folder:PATH``    segmentation: PATH/train/images + PATH/train/masks, or       any
                   PATH/train + PATH/trainannot (see ``segmentation_folder``)
=================  ===========================================================  ==============

A segmentation dataset's labels are masks (N, H, W) of class indices (255: unlabelled).

Files are looked for in ``data_dir``, ``$CONVNET_DATA``, ``~/.cache/convnet/NAME``, then
``/usr/share/datasets/NAME``; missing ones are downloaded (checksum checked, written
atomically to the cache) unless ``download=False``. Every failure a user can cause is a
:class:`DatasetError` (a ``ValueError``) with a one-line message.

Example:
    >>> from convnet.data import load_dataset, DataLoader
    >>> train = load_dataset('shapes', num_samples=100)
    >>> train
    Dataset('shapes', 100 images of 1x15x15, 2 classes)
    >>> loader = DataLoader(train, batch_size=32, shuffle=True, rng=0, normalize=True)
    >>> images, labels = next(iter(loader))
    >>> images.shape, images.dtype, labels.dtype
    ((32, 1, 15, 15), dtype('float32'), dtype('int64'))
"""

from __future__ import annotations

from .augment import Augment, random_crop, random_hflip
from .distributed_sampler import DistributedSampler
from .download import DatasetError, DatasetWarning
from .loader import DataLoader, Dataset, channel_stats, random_split

__all__ = ["load_dataset", "Dataset", "DataLoader", "random_split", "channel_stats", "Augment",
           "DistributedSampler",
           "random_crop", "random_hflip", "DatasetError", "DatasetWarning", "DATASETS"]

DATASETS = ("digits", "shapes", "mnist", "fashion-mnist", "kmnist", "cifar10", "shapes-seg",
            "fashion-seg", "folder:PATH")
SEGMENTATION_DATASETS = ("shapes-seg", "fashion-seg")
SPLITS = ("train", "test")

# options each dataset accepts, beyond name/split/data_dir/download
_OPTIONS = {"digits": (), "shapes": ("num_samples", "image_size", "classes", "seed"),
            "mnist": ("progress",), "fashion-mnist": ("progress",), "kmnist": ("progress",),
            "cifar10": ("progress",), "folder": ("mode", "size", "ignore_index"),
            "shapes-seg": ("num_samples", "image_size", "seed"),
            "fashion-seg": ("num_samples", "image_size", "seed", "progress")}
_ALIASES = {"fashion_mnist": "fashion-mnist", "fashionmnist": "fashion-mnist",
            "cifar-10": "cifar10", "cifar_10": "cifar10", "sklearn-digits": "digits",
            "shapes_seg": "shapes-seg", "fashion_seg": "fashion-seg"}


def _canonical(name: str) -> tuple[str, str | None]:
    if not isinstance(name, str) or not name:
        raise DatasetError(f"dataset name: expected one of {', '.join(DATASETS)}, got {name!r}")
    if name.startswith("folder:"):
        path = name[len("folder:"):]
        if not path:
            raise DatasetError("dataset name: 'folder:' needs a path, e.g. folder:./my_images")
        return "folder", path
    key = _ALIASES.get(name.lower(), name.lower())
    if key not in _OPTIONS or key == "folder":
        raise DatasetError(f"unknown dataset {name!r}; expected one of {', '.join(DATASETS)}")
    return key, None


def load_dataset(name: str, split: str = "train", data_dir=None, download: bool = True,
                 **options) -> Dataset:
    """Load dataset ``name`` (one of :data:`DATASETS`), split ``'train'`` or ``'test'``.

    Options: ``shapes`` takes ``num_samples`` (2000 train / 500 test), ``image_size`` (15),
    ``classes`` (2: squares vs diamonds; a number up to 7 or a list of names) and ``seed``
    (0); ``folder:PATH`` takes ``mode`` (``'L'``/``'RGB'``, default the majority) and
    ``size`` (default the most common); the downloadable sets take ``progress`` (True).

    Example:
        >>> load_dataset('digits', 'test')
        Dataset('digits', 360 images of 1x8x8, 10 classes)
        >>> load_dataset('imagenet')
        Traceback (most recent call last):
        ...
        convnet.data.download.DatasetError: unknown dataset 'imagenet'; expected one of digits, shapes, mnist, fashion-mnist, kmnist, cifar10, shapes-seg, fashion-seg, folder:PATH
    """
    key, path = _canonical(name)
    if split not in SPLITS and not (key == "folder" and split == "val"):
        raise DatasetError(f"split: expected 'train' or 'test' ('val' for a segmentation folder), "
                           f"got {split!r}")
    unknown = sorted(set(options) - set(_OPTIONS[key]))
    if unknown:
        allowed = ", ".join(_OPTIONS[key]) or "none"
        raise DatasetError(f"{name}: unknown option(s) {', '.join(unknown)} (accepted: {allowed})")
    if key == "digits":
        from .digits import load_digits
        images, labels, classes = load_digits(split)
    elif key == "shapes":
        from .shapes import load_shapes
        images, labels, classes = load_shapes(split, **options)
    elif key == "cifar10":
        from .cifar import load_cifar10
        images, labels, classes = load_cifar10(split, data_dir, download, **options)
    elif key == "shapes-seg":
        from .shapes_seg import make_shapes_seg
        count = options.get("num_samples", 2000 if split == "train" else 400)
        seed = options.get("seed", 0) + (0 if split == "train" else 10**6)
        images, labels, classes = make_shapes_seg(count, options.get("image_size", 32), seed)
    elif key == "fashion-seg":
        from .fashion_seg import load_fashion_seg
        images, labels, classes = load_fashion_seg(split, data_dir, download, **options)
    elif key == "folder":
        from .segmentation_folder import detect_layout, load_segmentation_folder
        if detect_layout(path) is not None:
            ignore_index = options.get("ignore_index", 255)
            images, labels, classes = load_segmentation_folder(
                path, split, options.get("size"), ignore_index)
            return Dataset(images, labels, classes, name=key, ignore_index=ignore_index)
        options.pop("ignore_index", None)
        from .folder import load_folder
        images, labels, classes = load_folder(path, split, **options)
    else:
        from .idx import load_idx_dataset
        images, labels, classes = load_idx_dataset(key, split, data_dir, download, **options)
    return Dataset(images, labels, classes, name=key)
