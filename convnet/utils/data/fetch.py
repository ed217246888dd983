"""Reading one batch from a dataset, the same way in the main process and in a worker:
a map-style dataset is indexed (``__getitems__`` when it has one), an iterable one is
advanced; then ``collate_fn`` makes the batch.

Example:
    >>> fetcher = make_fetcher('map', ['a', 'b', 'c'], auto_collation=True,
    ...                        collate_fn=list, drop_last=False)
    >>> fetcher.fetch([2, 0])
    ['c', 'a']
"""

from __future__ import annotations

__all__ = ["make_fetcher", "MapFetcher", "IterableFetcher"]


class MapFetcher:
    """Batches of a map-style dataset: ``fetch(indices)`` collates ``dataset[i]`` for each
    index (or the whole list through ``dataset.__getitems__``); without auto-collation,
    ``fetch(index)`` converts the one sample ``dataset[index]``.

    Example:
        >>> MapFetcher([5, 6, 7], auto_collation=False, collate_fn=str, drop_last=False).fetch(1)
        '6'
    """

    def __init__(self, dataset, auto_collation: bool, collate_fn, drop_last: bool) -> None:
        self.dataset, self.auto_collation = dataset, auto_collation
        self.collate_fn, self.drop_last = collate_fn, drop_last

    def fetch(self, index):
        if not self.auto_collation:
            return self.collate_fn(self.dataset[index])
        if getattr(self.dataset, "__getitems__", None):
            samples = self.dataset.__getitems__(index)
        else:
            samples = [self.dataset[i] for i in index]
        return self.collate_fn(samples)


class IterableFetcher:
    """Batches of an iterable dataset: ``fetch(indices)`` takes the next ``len(indices)``
    samples of one iterator over it (the indices themselves mean nothing); StopIteration
    when it is exhausted, or when ``drop_last`` and only a short batch is left.

    Example:
        >>> fetcher = IterableFetcher(range(5), auto_collation=True, collate_fn=list,
        ...                           drop_last=True)
        >>> fetcher.fetch([None, None]), fetcher.fetch([None, None])
        ([0, 1], [2, 3])
    """

    def __init__(self, dataset, auto_collation: bool, collate_fn, drop_last: bool) -> None:
        self.auto_collation, self.collate_fn, self.drop_last = auto_collation, collate_fn, drop_last
        self.samples = iter(dataset)
        self.ended = False

    def fetch(self, index):
        if self.ended:
            raise StopIteration
        if not self.auto_collation:
            return self.collate_fn(next(self.samples))
        batch = []
        for _ in index:
            try:
                batch.append(next(self.samples))
            except StopIteration:
                self.ended = True
                break
        if not batch or (self.drop_last and len(batch) < len(index)):
            raise StopIteration
        return self.collate_fn(batch)


def make_fetcher(kind: str, dataset, auto_collation: bool, collate_fn, drop_last: bool):
    """The fetcher for a dataset of ``kind`` ``'map'`` or ``'iterable'``.

    Example:
        >>> type(make_fetcher('iterable', [1], True, list, False)).__name__
        'IterableFetcher'
    """
    fetcher = MapFetcher if kind == "map" else IterableFetcher
    return fetcher(dataset, auto_collation, collate_fn, drop_last)
