"""In-memory datasets, seeded splits, and a resumable DataLoader.

Example:
    >>> import numpy as np
    >>> data = Dataset(np.zeros((10, 1, 4, 4), np.float32), np.arange(10) % 2, ['even', 'odd'])
    >>> train, valid = random_split(data, [8, 2], rng=0)
    >>> loader = DataLoader(train, batch_size=3, shuffle=True, rng=0)
    >>> len(loader), [labels.shape for _, labels in loader]
    (3, [(3,), (3,), (2,)])
"""

from __future__ import annotations

import copy

import numpy as np

from .. import random as _random

__all__ = ["Dataset", "random_split", "channel_stats", "normalize_images", "DataLoader"]


class Dataset:
    """Images ``(N, C, H, W)`` float32, labels ``(N,)`` int64, class names and a name.

    For segmentation the labels are masks ``(N, H, W)`` of class indices, one per pixel, where
    ``ignore_index`` (255) marks unlabelled pixels (:attr:`is_segmentation` is then True).
    ``len(dataset)`` is N; ``dataset[i]`` is ``(image, label)``, and a slice or an index
    array gives ``(images, labels)``; :meth:`subset` gives a new Dataset.

    Example:
        >>> import numpy as np
        >>> data = Dataset(np.zeros((3, 1, 2, 2)), [0, 1, 1], ['a', 'b'], name='toy')
        >>> data
        Dataset('toy', 3 images of 1x2x2, 2 classes)
        >>> int(data[1][1]), data.subset([0, 2]).labels.tolist()
        (1, [0, 1])
        >>> Dataset(np.zeros((2, 1, 3, 4)), np.zeros((2, 3, 4), int), ['bg', 'fg'], name='seg')
        Dataset('seg', 2 images of 1x3x4 with masks, 2 classes)
    """

    def __init__(self, images, labels, classes=None, name: str = "dataset",
                 ignore_index: int = 255):
        images = np.asarray(images)
        labels = np.asarray(labels)
        if images.ndim != 4:
            raise ValueError(f"images: expected an (N, C, H, W) array, got shape {images.shape}")
        masks = (images.shape[0], *images.shape[2:])
        if labels.shape not in ((images.shape[0],), masks):
            raise ValueError(f"labels: expected shape ({images.shape[0]},) (classes) or {masks} "
                             f"(masks) to match the images, got {labels.shape}")
        if labels.size and not np.issubdtype(labels.dtype, np.integer):
            raise TypeError(f"labels: expected integers, got dtype {labels.dtype}")
        self.images = images if images.dtype == np.float64 else images.astype(np.float32, copy=False)
        self.labels = labels.astype(np.int64, copy=False)
        self.ignore_index = int(ignore_index)
        if classes is None:
            labelled = self.labels[self.labels != ignore_index] if self.is_segmentation else self.labels
            classes = [str(label) for label in range(int(labelled.max(initial=-1)) + 1)]
        self.classes, self.name = list(classes), name

    @property
    def is_segmentation(self) -> bool:
        """True when the labels are per-pixel masks (N, H, W)."""
        return self.labels.ndim == 3

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index):
        return self.images[index], self.labels[index]

    def subset(self, indices) -> "Dataset":
        """The images at ``indices`` (any NumPy index), as a new Dataset with the same classes."""
        return Dataset(self.images[indices], self.labels[indices], self.classes, self.name,
                       self.ignore_index)

    @property
    def image_shape(self) -> tuple:
        """``(C, H, W)`` of one image."""
        return tuple(self.images.shape[1:])

    def __repr__(self) -> str:
        shape = "x".join(map(str, self.image_shape))
        masks = " with masks" if self.is_segmentation else ""
        return (f"Dataset({self.name!r}, {len(self)} images of {shape}{masks}, "
                f"{len(self.classes)} classes)")


def random_split(dataset: Dataset, lengths, rng=None) -> list[Dataset]:
    """Split ``dataset`` into random disjoint parts, as ``torch.utils.data.random_split``.

    ``lengths`` are counts summing to ``len(dataset)``, or fractions summing to 1 (the
    counts are floored and the remainder handed out one by one from the first part).
    ``rng``: a NumPy Generator, an int seed, or None for the library's generator.

    Example:
        >>> import numpy as np
        >>> data = Dataset(np.zeros((10, 1, 1, 1)), np.arange(10))
        >>> [len(part) for part in random_split(data, [0.75, 0.25], rng=0)]
        [8, 2]
    """
    total = len(dataset)
    lengths = list(lengths)
    if lengths and all(isinstance(x, float) for x in lengths) and abs(sum(lengths) - 1) < 1e-6:
        if any(x < 0 for x in lengths):
            raise ValueError(f"lengths: fractions must be non-negative, got {lengths}")
        counts = [int(np.floor(total * x)) for x in lengths]
        for index in range(total - sum(counts)):
            counts[index % len(counts)] += 1
        lengths = counts
    if (not lengths or any(isinstance(x, bool) or not isinstance(x, (int, np.integer)) or x < 0
                           for x in lengths) or sum(lengths) != total):
        raise ValueError(f"lengths: expected counts summing to {total} or fractions summing to 1, "
                         f"got {lengths}")
    order = _random.resolve_rng(rng).permutation(total)
    bounds = np.cumsum([0] + lengths)
    return [dataset.subset(np.sort(order[start:stop])) for start, stop in zip(bounds[:-1], bounds[1:])]


def normalize_images(images: np.ndarray, mean, std) -> np.ndarray:
    """``(images - mean) / std`` per channel, in the images' dtype; images (N, C, H, W) or
    (C, H, W), mean and std C values each.

    Example:
        >>> normalize_images(np.ones((1, 2, 1, 1), np.float32), [0.5, 1.0], [0.5, 2.0]).ravel()
        array([1., 0.], dtype=float32)
    """
    dtype = images.dtype
    mean = np.asarray(mean).astype(dtype, copy=False).reshape(-1, 1, 1)
    std = np.asarray(std).astype(dtype, copy=False).reshape(-1, 1, 1)
    return (images - mean) / std


def channel_stats(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation of ``(N, C, H, W)`` images, as float32 ``(C,)``.

    Example:
        >>> import numpy as np
        >>> mean, std = channel_stats(np.array([[[[0.0, 1.0]]], [[[1.0, 0.0]]]]))
        >>> mean.tolist(), std.tolist()
        ([0.5], [0.5])
    """
    images = np.asarray(images)
    mean = images.mean(axis=(0, 2, 3), dtype=np.float64)
    std = images.std(axis=(0, 2, 3), dtype=np.float64)
    return mean.astype(np.float32), std.astype(np.float32)


def _positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name}: expected a positive int, got {value!r}")
    return int(value)


class DataLoader:
    """Batches of ``(images, labels)`` with seeded shuffling, augmentation and normalisation.

    Args:
        dataset: a :class:`Dataset` or an ``(images, labels)`` pair of arrays.
        batch_size: images per batch; the last batch is smaller unless ``drop_last``.
        shuffle: a new random order every epoch.
        drop_last: leave out the last, incomplete batch.
        rng: a NumPy Generator (used, and advanced, as is), an int seed, or None for a
            generator seeded from the library's (see :func:`convnet.manual_seed`).
        normalize: None (none), True (per-channel mean/std of this loader's images: give it
            to the training loader) or a ``(mean, std)`` pair of per-channel values (give the
            training loader's ``(loader.mean, loader.std)`` to the validation loader).
            Channels with std 0 are divided by 1.
        augment: a callable ``(images, rng) -> images``, e.g. :class:`~convnet.data.Augment`;
            it sees images in [0, 1], before normalisation.
        shard: ``(rank, world_size)`` for data-parallel runs: every process walks the same
            order of (global) batches and yields its part ``batch[rank::world_size]``, so
            the processes together see each batch once and the whole epoch exactly once.

    Each epoch draws one key from ``rng``; the epoch's order and every batch's augmentation
    come from generators seeded with that key (and the batch number), so a batch does not
    depend on how many batches were taken before it. ``state_dict()`` (epoch, batches done,
    the epoch's key, the generator's state: plain ints and strings) restored with
    ``load_state_dict()`` makes the next iteration yield exactly the batches an
    uninterrupted run would. An iteration left unfinished (``break``) is continued, not
    restarted, by the next one; an epoch ends when its last batch has been yielded.

    Example:
        >>> import numpy as np
        >>> images, labels = np.random.default_rng(0).random((10, 1, 2, 2)), np.arange(10)
        >>> loader = DataLoader((images, labels), batch_size=4, shuffle=True, rng=0)
        >>> first = next(iter(loader))[1]
        >>> state = loader.state_dict()
        >>> rest = [y.tolist() for _, y in loader]
        >>> resumed = DataLoader((images, labels), batch_size=4, shuffle=True, rng=123)
        >>> resumed.load_state_dict(state)
        >>> [y.tolist() for _, y in resumed] == rest
        True
    """

    def __init__(self, dataset, batch_size: int = 32, shuffle: bool = False, drop_last: bool = False,
                 rng=None, normalize=None, augment=None, shard=None):
        if not isinstance(dataset, Dataset):
            if not (isinstance(dataset, (tuple, list)) and len(dataset) == 2):
                raise TypeError(f"dataset: expected a Dataset or an (images, labels) pair, got "
                                f"{type(dataset).__name__}")
            dataset = Dataset(*dataset)
        if augment is not None and not callable(augment):
            raise TypeError(f"augment: expected a callable (images, rng) -> images, got {augment!r}")
        self.dataset, self.batch_size = dataset, _positive_int("batch_size", batch_size)
        self.shuffle, self.drop_last, self.augment = bool(shuffle), bool(drop_last), augment
        if rng is None:
            rng = np.random.default_rng(int(_random.default_rng().integers(2**63 - 1)))
        self.rng = _random.resolve_rng(rng)
        self.mean, self.std = self._normalization(normalize)
        if shard is not None and not (isinstance(shard, tuple) and len(shard) == 2
                                      and 0 <= shard[0] < shard[1]):
            raise ValueError(f"shard: expected (rank, world_size) with 0 <= rank < world_size, "
                             f"got {shard!r}")
        self.shard = shard
        self._epoch, self._batch, self._epoch_key = 0, 0, None

    def _normalization(self, normalize):
        if normalize is None or normalize is False:
            return None, None
        channels = self.dataset.images.shape[1]
        if normalize is True:
            mean, std = channel_stats(self.dataset.images)
        else:
            try:
                mean, std = (np.broadcast_to(np.asarray(v, np.float32).ravel(), (channels,)).copy()
                             for v in normalize)
            except (TypeError, ValueError):
                raise ValueError(f"normalize: expected None, True or a (mean, std) pair with 1 or "
                                 f"{channels} values each, got {normalize!r}") from None
        if np.any(std < 0):
            raise ValueError(f"normalize: std must be non-negative, got {std.tolist()}")
        return mean, np.where(std == 0, np.float32(1), std)

    def __len__(self) -> int:
        full, rest = divmod(len(self.dataset), self.batch_size)
        return full if self.drop_last or rest == 0 else full + 1

    @property
    def epoch(self) -> int:
        """Number of epochs completed."""
        return self._epoch

    def __iter__(self):
        num_batches, count = len(self), len(self.dataset)
        random = self.shuffle or self.augment is not None
        if self._batch == 0:
            self._epoch_key = int(self.rng.integers(2**63 - 1)) if random else None
        key = self._epoch_key
        order = np.random.default_rng([key, 0]).permutation(count) if self.shuffle else np.arange(count)
        for batch in range(self._batch, num_batches):
            indices = order[batch * self.batch_size:(batch + 1) * self.batch_size]
            if self.shard is not None:
                indices = indices[self.shard[0]::self.shard[1]]
            images, labels = self.dataset.images[indices], self.dataset.labels[indices]
            if self.augment is not None:
                stream = [key, 1, batch] + ([self.shard[0]] if self.shard else [])  # per rank
                if labels.ndim > 1:  # masks move with their images
                    images, labels = self.augment(images, np.random.default_rng(stream),
                                                  masks=labels)
                else:
                    images = self.augment(images, np.random.default_rng(stream))
            if self.mean is not None:
                images = normalize_images(images, self.mean, self.std)
            self._batch = batch + 1
            if self._batch == num_batches:  # during the last batch the state is "epoch done"
                self._finish_epoch()
            yield images, labels
        if num_batches == 0:
            self._finish_epoch()

    def _finish_epoch(self) -> None:
        self._epoch, self._batch, self._epoch_key = self._epoch + 1, 0, None

    def state_dict(self) -> dict:
        """The loader's position as plain data (ints, strings, nested dicts)."""
        return {"epoch": self._epoch, "batch": self._batch, "epoch_key": self._epoch_key,
                "rng": copy.deepcopy(self.rng.bit_generator.state),
                "num_samples": len(self.dataset), "batch_size": self.batch_size}

    def load_state_dict(self, state: dict) -> None:
        """Restore a position from :meth:`state_dict` (same dataset size and batch size)."""
        expected = {"num_samples": len(self.dataset), "batch_size": self.batch_size}
        for name, value in expected.items():
            if state.get(name) != value:
                raise ValueError(f"state[{name!r}]: the state is for {state.get(name)!r}, this "
                                 f"loader has {value}; batches would differ")
        rng_state = state["rng"]
        if rng_state.get("bit_generator") != type(self.rng.bit_generator).__name__:
            raise ValueError(f"state['rng']: a {rng_state.get('bit_generator')} state, this loader's "
                             f"generator is {type(self.rng.bit_generator).__name__}")
        self.rng.bit_generator.state = copy.deepcopy(rng_state)
        self._epoch, self._batch = int(state["epoch"]), int(state["batch"])
        key = state["epoch_key"]
        self._epoch_key = None if key is None else int(key)

    def __repr__(self) -> str:
        return (f"DataLoader({self.dataset!r}, batch_size={self.batch_size}, shuffle={self.shuffle}, "
                f"drop_last={self.drop_last}, augment={self.augment!r}, "
                f"normalize={self.mean is not None})")
