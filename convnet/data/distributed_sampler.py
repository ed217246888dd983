"""Shard a dataset over the processes of a data-parallel run: :class:`DistributedSampler`.

Named and argued as ``torch.utils.data.DistributedSampler``, with one difference on
purpose: when the dataset does not divide evenly, torch repeats samples so every rank has
as many, which makes evaluation count some images twice. Here the shards never overlap and
together hold every index exactly once: ranks get ``ceil`` or ``floor(len / replicas)``
indices (``drop_last=True`` leaves out the last ``len % replicas`` of the epoch's order
instead, so every rank has the same count).

Example:
    >>> sampler = DistributedSampler(range(10), num_replicas=3, rank=1, shuffle=False)
    >>> list(sampler), len(sampler)
    ([1, 4, 7], 3)
    >>> sorted(i for r in range(3) for i in DistributedSampler(range(10), 3, r, seed=5))
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
"""

from __future__ import annotations

import numpy as np

__all__ = ["DistributedSampler"]


class DistributedSampler:
    """The indices of one rank's shard of ``dataset`` for the current epoch.

    Args:
        dataset: anything with ``len()``.
        num_replicas, rank: the group's size and this process's rank (default: from
            :mod:`convnet.distributed`).
        shuffle: a new order every epoch, the same on every rank (seeded by
            ``seed + epoch``; call :meth:`set_epoch` before each epoch).
        seed: the shuffling seed, equal on every rank.
        drop_last: leave out the tail that does not divide evenly.
    """

    def __init__(self, dataset, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False):
        if num_replicas is None or rank is None:
            from .. import distributed as dist
            num_replicas = dist.get_world_size() if num_replicas is None else num_replicas
            rank = dist.get_rank() if rank is None else rank
        if not isinstance(num_replicas, int) or num_replicas < 1:
            raise ValueError(f"num_replicas: expected a positive int, got {num_replicas!r}")
        if not isinstance(rank, int) or not 0 <= rank < num_replicas:
            raise ValueError(f"rank: expected 0 <= rank < {num_replicas}, got {rank!r}")
        self.size, self.num_replicas, self.rank = len(dataset), num_replicas, rank
        self.shuffle, self.seed, self.drop_last, self.epoch = bool(shuffle), int(seed), drop_last, 0

    def set_epoch(self, epoch: int) -> None:
        """Use the order of ``epoch`` (every rank must set the same epoch)."""
        self.epoch = int(epoch)

    def _order(self) -> np.ndarray:
        if self.shuffle:
            return np.random.default_rng([self.seed, self.epoch]).permutation(self.size)
        return np.arange(self.size)

    def indices(self) -> np.ndarray:
        """This rank's indices for the current epoch, as an int64 array."""
        order = self._order()
        if self.drop_last:
            order = order[:self.size - self.size % self.num_replicas]
        return order[self.rank::self.num_replicas]

    def __iter__(self):
        return iter(self.indices().tolist())

    def __len__(self) -> int:
        total = self.size - self.size % self.num_replicas if self.drop_last else self.size
        return len(range(self.rank, total, self.num_replicas))
