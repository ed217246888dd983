"""Datasets under torch.utils.data's names: the map-style :class:`Dataset` (``dataset[i]``
and ``len``), the stream :class:`IterableDataset` (``iter``), and the ways to build one from
others (:class:`TensorDataset`, :class:`StackDataset`, :class:`ConcatDataset`,
:class:`ChainDataset`, :class:`Subset`, :func:`random_split`).

Example:
    >>> import convnet
    >>> from convnet.utils.data import TensorDataset, random_split
    >>> data = TensorDataset(convnet.arange(10), convnet.arange(10) * 2)
    >>> train, valid = random_split(data, [0.8, 0.2], generator=convnet.Generator().manual_seed(0))
    >>> len(train), len(valid), [int(v) for v in data[3]]
    (8, 2, [3, 6])
"""

from __future__ import annotations

import bisect
import itertools
import math
import warnings
from typing import Generic, Iterable, Sequence, TypeVar

from ...creation import rng_of

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "StackDataset", "ConcatDataset",
           "ChainDataset", "Subset", "random_split"]

T_co = TypeVar("T_co", covariant=True)


class Dataset(Generic[T_co]):
    """A map from keys (usually ``0 .. len - 1``) to samples: subclasses define
    ``__getitem__`` and, for the default samplers, ``__len__``; an optional
    ``__getitems__(indices)`` returns a whole batch's samples at once. ``a + b`` is
    ``ConcatDataset([a, b])``.

    Example:
        >>> class Squares(Dataset):
        ...     def __len__(self):
        ...         return 4
        ...     def __getitem__(self, index):
        ...         return index * index
        >>> both = Squares() + Squares()
        >>> len(both), both[5]
        (8, 1)
    """

    def __getitem__(self, index):
        raise NotImplementedError("Subclasses of Dataset should implement __getitem__.")

    def __add__(self, other: "Dataset") -> "ConcatDataset":
        return ConcatDataset([self, other])


class IterableDataset(Dataset[T_co]):
    """A stream of samples: subclasses define ``__iter__``. With ``num_workers > 0`` each
    worker iterates its own copy, so ``__iter__`` uses :func:`get_worker_info` to read only
    its share (otherwise every worker yields every sample). ``a + b`` chains them.

    Example:
        >>> class Count(IterableDataset):
        ...     def __init__(self, end):
        ...         self.end = end
        ...     def __iter__(self):
        ...         return iter(range(self.end))
        >>> list(Count(2) + Count(3))
        [0, 1, 0, 1, 2]
    """

    def __iter__(self):
        raise NotImplementedError("Subclasses of IterableDataset should implement __iter__.")

    def __add__(self, other: Dataset) -> "ChainDataset":
        return ChainDataset([self, other])


class TensorDataset(Dataset):
    """Sample ``i`` is ``tuple(tensor[i] for tensor in tensors)``; every tensor has the same
    first dimension (AssertionError otherwise, as torch).

    Example:
        >>> import convnet
        >>> data = TensorDataset(convnet.zeros(5, 3), convnet.arange(5))
        >>> len(data), data[2][0].shape, int(data[2][1])
        (5, (3,), 2)
    """

    def __init__(self, *tensors) -> None:
        if any(tensors[0].shape[0] != tensor.shape[0] for tensor in tensors):
            raise AssertionError("Size mismatch between tensors: first dimensions "
                                 f"{[tensor.shape[0] for tensor in tensors]}")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(tensor[index] for tensor in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]


class StackDataset(Dataset):
    """Datasets of one length side by side: sample ``i`` is the tuple (positional datasets)
    or dict (keyword datasets) of their samples ``i``.

    Example:
        >>> StackDataset(image=[10, 20], label=[0, 1])[1]
        {'image': 20, 'label': 1}
    """

    def __init__(self, *args, **kwargs) -> None:
        if args and kwargs:
            raise ValueError("Supported either ``tuple``- (via ``args``) or ``dict``- (via "
                             "``kwargs``) like input/output, but both types are given.")
        if not args and not kwargs:
            raise ValueError("At least one dataset should be passed")
        datasets = list(args or kwargs.values())
        self._length = len(datasets[0])
        if any(len(dataset) != self._length for dataset in datasets):
            raise ValueError("Size mismatch between datasets")
        self.datasets = args or kwargs

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {key: dataset[index] for key, dataset in self.datasets.items()}
        return tuple(dataset[index] for dataset in self.datasets)

    def __len__(self) -> int:
        return self._length


class ConcatDataset(Dataset):
    """Datasets one after the other; ``cumulative_sizes[k]`` is the total length of the
    first ``k + 1`` of them, and negative indices count from the end.

    Example:
        >>> joined = ConcatDataset([[0, 1, 2], [10, 11]])
        >>> len(joined), joined.cumulative_sizes, joined[3], joined[-1]
        (5, [3, 5], 10, 11)
    """

    @staticmethod
    def cumsum(sequence) -> list[int]:
        """Running totals of the lengths of ``sequence``'s datasets.

        Example:
            >>> ConcatDataset.cumsum([[1], [2, 3], []])
            [1, 3, 3]
        """
        return list(itertools.accumulate(len(dataset) for dataset in sequence))

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise AssertionError("datasets should not be an empty iterable")
        if any(isinstance(dataset, IterableDataset) for dataset in self.datasets):
            raise AssertionError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = self.cumsum(self.datasets)

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index):
        if index < 0:
            if -index > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            index += len(self)
        which = bisect.bisect_right(self.cumulative_sizes, index)
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][index - start]


class ChainDataset(IterableDataset):
    """Iterable datasets one after the other, chained while iterating.

    Example:
        >>> class Letters(IterableDataset):
        ...     def __iter__(self):
        ...         return iter('ab')
        >>> list(ChainDataset([Letters(), Letters()]))
        ['a', 'b', 'a', 'b']
    """

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = datasets

    def __iter__(self):
        for dataset in self.datasets:
            if not isinstance(dataset, IterableDataset):
                raise AssertionError("ChainDataset only supports IterableDataset")
            yield from dataset

    def __len__(self) -> int:
        if not all(isinstance(dataset, IterableDataset) for dataset in self.datasets):
            raise AssertionError("ChainDataset only supports IterableDataset")
        return sum(len(dataset) for dataset in self.datasets)


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order: ``subset[i]`` is
    ``dataset[indices[i]]``.

    Example:
        >>> part = Subset(['a', 'b', 'c', 'd'], [3, 0])
        >>> len(part), part[0], part.__getitems__([1, 0])
        (2, 'd', ['a', 'd'])
    """

    def __init__(self, dataset, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = indices
        if (type(self).__getitem__ is not Subset.__getitem__
                and type(self).__getitems__ is Subset.__getitems__):
            raise NotImplementedError(
                f"{type(self).__name__} overrides __getitem__ but not __getitems__; a subclass "
                "of Subset that changes __getitem__ must also define __getitems__(indices), "
                "e.g. [self[index] for index in indices]")

    def __getitem__(self, index):
        if isinstance(index, list):
            return self.dataset[[self.indices[i] for i in index]]
        return self.dataset[self.indices[index]]

    def __getitems__(self, indices: list[int]) -> list:
        inner = [self.indices[i] for i in indices]
        if callable(getattr(self.dataset, "__getitems__", None)):
            return self.dataset.__getitems__(inner)
        return [self.dataset[i] for i in inner]

    def __len__(self) -> int:
        return len(self.indices)


def _lengths_from_fractions(fractions: Sequence[float], total: int) -> list[int]:
    """floor(fraction * total) each, then the remainder handed out one by one from the first
    split on (torch's rule)."""
    lengths = []
    for position, fraction in enumerate(fractions):
        if fraction < 0 or fraction > 1:
            raise ValueError(f"Fraction at index {position} is not between 0 and 1")
        lengths.append(math.floor(total * fraction))
    for extra in range(total - sum(lengths)):
        lengths[extra % len(lengths)] += 1
    for position, length in enumerate(lengths):
        if length == 0:
            warnings.warn(f"Length of split at index {position} is 0. "
                          "This might result in an empty dataset.", stacklevel=3)
    return lengths


def random_split(dataset, lengths: Sequence[int | float], generator=None) -> list[Subset]:
    """Split ``dataset`` into disjoint random :class:`Subset` s of the given ``lengths``,
    or of the given fractions of ``len(dataset)`` when ``lengths`` sum to 1 (each gets
    ``floor(fraction * len)``, and what is left goes one sample at a time to the splits in
    turn, from the first). The permutation comes from ``generator`` (a
    :class:`convnet.Generator`; None: convnet's global generator, :func:`convnet.manual_seed`).

    Example:
        >>> import convnet
        >>> parts = random_split(range(10), [0.5, 0.3, 0.2],
        ...                      generator=convnet.Generator().manual_seed(1))
        >>> [len(part) for part in parts]
        [5, 3, 2]
        >>> sorted(i for part in parts for i in part.indices) == list(range(10))
        True
    """
    total = sum(lengths)
    if math.isclose(total, 1) and total <= 1:
        lengths = _lengths_from_fractions(lengths, len(dataset))
    if sum(lengths) != len(dataset):
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    order = rng_of(generator).permutation(len(dataset)).tolist()
    ends = itertools.accumulate(lengths)
    return [Subset(dataset, order[end - length:end]) for end, length in zip(ends, lengths)]
