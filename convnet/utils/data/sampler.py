"""Samplers under torch.utils.data's names: the order in which a :class:`DataLoader` reads a
map-style dataset (indices), and :class:`BatchSampler`, which groups them into batches.

Random samplers draw from their ``generator`` (a :class:`convnet.Generator`) or, without
one, from convnet's global generator (:func:`convnet.manual_seed`), so a seeded run repeats.

Example:
    >>> import convnet
    >>> from convnet.utils.data import BatchSampler, RandomSampler
    >>> order = RandomSampler(range(6), generator=convnet.Generator().manual_seed(0))
    >>> batches = list(BatchSampler(order, batch_size=4, drop_last=False))
    >>> [len(batch) for batch in batches], sorted(sum(batches, []))
    ([4, 2], [0, 1, 2, 3, 4, 5])
"""

from __future__ import annotations

import itertools
from typing import Generic, Iterator, Sequence, TypeVar

import numpy as np

from ...creation import rng_of

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "WeightedRandomSampler", "BatchSampler"]

T_co = TypeVar("T_co", covariant=True)


def _positive_int(value, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} should be a positive integer value, but got {name}={value}")
    return value


class Sampler(Generic[T_co]):
    """Base class of samplers: ``__iter__`` yields indices (or lists of indices, for a batch
    sampler); ``__len__`` gives how many, when known.

    Example:
        >>> class Backwards(Sampler):
        ...     def __init__(self, data):
        ...         self.data = data
        ...     def __iter__(self):
        ...         return iter(range(len(self.data) - 1, -1, -1))
        ...     def __len__(self):
        ...         return len(self.data)
        >>> list(Backwards('abc'))
        [2, 1, 0]
    """

    def __iter__(self) -> Iterator[T_co]:
        raise NotImplementedError


class SequentialSampler(Sampler[int]):
    """``0, 1, ..., len(data_source) - 1``, every epoch.

    Example:
        >>> list(SequentialSampler('abc')), len(SequentialSampler('abc'))
        ([0, 1, 2], 3)
    """

    def __init__(self, data_source) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler[int]):
    """A fresh random order each epoch. Without replacement: whole permutations of the
    dataset, ``num_samples`` (default ``len(data_source)``) indices in all; with
    replacement: ``num_samples`` independent uniform draws.

    Example:
        >>> import convnet
        >>> sampler = RandomSampler(range(5), generator=convnet.Generator().manual_seed(0))
        >>> sorted(sampler), len(RandomSampler(range(5), replacement=True, num_samples=12))
        ([0, 1, 2, 3, 4], 12)
    """

    def __init__(self, data_source, replacement: bool = False, num_samples: int | None = None,
                 generator=None) -> None:
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(replacement, bool):
            raise TypeError("replacement should be a boolean value, but got "
                            f"replacement={replacement}")
        _positive_int(self.num_samples, "num_samples")

    @property
    def num_samples(self) -> int:
        """How many indices an epoch yields."""
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def _epoch_rng(self) -> np.random.Generator:
        if self.generator is not None:
            return rng_of(self.generator)
        # as torch: one draw from the global generator seeds this epoch, so the global
        # stream advances by the same amount whatever the dataset's size
        return np.random.default_rng(int(rng_of(None).integers(0, 2**63, dtype=np.int64)))

    def __iter__(self) -> Iterator[int]:
        size, rng = len(self.data_source), self._epoch_rng()
        if self.replacement:
            for start in range(0, self.num_samples, 32):
                count = min(32, self.num_samples - start)
                yield from rng.integers(0, size, count, dtype=np.int64).tolist()
            return
        for _ in range(self.num_samples // size):
            yield from rng.permutation(size).tolist()
        yield from rng.permutation(size).tolist()[:self.num_samples % size]

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler[int]):
    """The given ``indices`` in a fresh random order each epoch.

    Example:
        >>> import convnet
        >>> sorted(SubsetRandomSampler([7, 3, 9], generator=convnet.Generator().manual_seed(0)))
        [3, 7, 9]
    """

    def __init__(self, indices: Sequence[int], generator=None) -> None:
        self.indices = indices
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        for position in rng_of(self.generator).permutation(len(self.indices)).tolist():
            yield self.indices[position]

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler[int]):
    """``num_samples`` indices of ``weights``, index ``i`` drawn with probability
    ``weights[i] / sum(weights)``; without replacement an index is drawn at most once, and
    (as torch's multinomial) zero-weight indices follow, in random order, once the positive
    ones are used up.

    Example:
        >>> import convnet
        >>> sampler = WeightedRandomSampler([0.0, 1.0, 0.0], 4,
        ...                                 generator=convnet.Generator().manual_seed(0))
        >>> list(sampler)
        [1, 1, 1, 1]
    """

    def __init__(self, weights: Sequence[float], num_samples: int, replacement: bool = True,
                 generator=None) -> None:
        _positive_int(num_samples, "num_samples")
        if not isinstance(replacement, bool):
            raise ValueError("replacement should be a boolean value, but got "
                             f"replacement={replacement}")
        weights = np.asarray(getattr(weights, "data", weights), dtype=np.float64)
        if weights.ndim != 1:
            raise ValueError("weights should be a 1d sequence but given weights have shape "
                             f"{tuple(weights.shape)}")
        self.weights = weights
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def _check(self) -> None:
        weights = self.weights
        if not np.all(np.isfinite(weights)) or np.any(weights < 0):
            raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
        if weights.sum() <= 0:
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        if not self.replacement and self.num_samples > len(weights):
            raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                               f"replacement (num_samples={self.num_samples}, "
                               f"{len(weights)} weights)")

    def __iter__(self) -> Iterator[int]:
        self._check()
        rng = rng_of(self.generator)
        if self.replacement:
            probabilities = self.weights / self.weights.sum()
            drawn = rng.choice(len(self.weights), self.num_samples, p=probabilities)
        else:
            # successive draws without replacement = the order in which exponential clocks of
            # rates `weights` ring; zero weights never ring, so (as torch) they come last
            with np.errstate(divide="ignore"):
                clocks = rng.standard_exponential(len(self.weights)) / self.weights
            drawn = np.lexsort((rng.random(len(self.weights)), clocks))[:self.num_samples]
        yield from drawn.tolist()

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler[list]):
    """Groups the indices of ``sampler`` (any iterable) into lists of ``batch_size``; the
    last, shorter one is kept unless ``drop_last``.

    Example:
        >>> list(BatchSampler(range(7), batch_size=3, drop_last=False))
        [[0, 1, 2], [3, 4, 5], [6]]
        >>> len(BatchSampler(range(7), batch_size=3, drop_last=True))
        2
    """

    def __init__(self, sampler, batch_size: int, drop_last: bool) -> None:
        _positive_int(batch_size, "batch_size")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list]:
        indices = iter(self.sampler)
        while True:
            batch = list(itertools.islice(indices, self.batch_size))
            if not batch or (self.drop_last and len(batch) < self.batch_size):
                return
            yield batch

    def __len__(self) -> int:
        if self.drop_last:
            return len(self.sampler) // self.batch_size
        return (len(self.sampler) + self.batch_size - 1) // self.batch_size
