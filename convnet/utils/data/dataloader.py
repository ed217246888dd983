"""torch's DataLoader for convnet: batches of a dataset, in order or shuffled, read in the
main process or by worker processes.

The loader turns sampler indices into batches (``dataset[i]`` for each index of a
:class:`BatchSampler` batch, then ``collate_fn``, :func:`default_collate` by default). With
``batch_size=None`` there is no batching: each sample goes through :func:`default_convert`.

With ``num_workers > 0`` each epoch starts that many processes (``fork`` where the system has
it; ``multiprocessing_context`` picks another). Each holds a copy of the dataset, is seeded
from ``base_seed + worker_id`` (the base seed drawn from ``generator`` at each ``iter``),
runs ``worker_init_fn(worker_id)``, and answers the batches sent to it in turn; the loader
keeps ``prefetch_factor`` batches per worker in flight and hands them out in the sampler's
order. Tensors cross as NumPy arrays and come back as Tensors. An exception in a worker is
raised again in the main process, same type, with the worker's traceback in its message.
The workers stop at the end of the epoch (or, with ``persistent_workers``, when the loader
is garbage collected), when the iterator is deleted, and on KeyboardInterrupt; ``timeout``
seconds without a batch raise RuntimeError.

Example:
    >>> import convnet
    >>> from convnet.utils.data import DataLoader, TensorDataset
    >>> data = TensorDataset(convnet.arange(10).reshape(5, 2), convnet.arange(5))
    >>> loader = DataLoader(data, batch_size=2)
    >>> len(loader), [labels.tolist() for _, labels in loader]
    (3, [[0, 1], [2, 3], [4]])
"""

from __future__ import annotations

import itertools
import math
import multiprocessing
import multiprocessing.connection
import os
import time
import warnings
import weakref

import numpy as np

from ...creation import rng_of
from .collate import default_collate, default_convert
from .dataset import IterableDataset
from .fetch import make_fetcher
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler
from .worker import (ExceptionWrapper, _IterableEnd, _ResumeIteration, _worker_loop,
                     from_transport)

__all__ = ["DataLoader"]

SHUTDOWN_GRACE = 2.0  # seconds the workers get to stop by themselves before they are killed

_SKIPPED = object()  # a task whose worker had no more samples (iterable datasets)


class _InfiniteConstantSampler(Sampler):
    """The sampler of an iterable dataset: ``None`` forever (the dataset decides the end)."""

    def __iter__(self):
        while True:
            yield None


# The main process's ends of the workers' pipes. A child forked later (another worker, of
# this loader or another) must not keep copies of them: only then does a worker writing to a
# main process that stopped reading get BrokenPipeError, and a reader see EOF when the
# process at the other end is gone.
_parent_ends: "weakref.WeakSet" = weakref.WeakSet()
_fork_hook_registered = False


def _close_parent_ends_in_child() -> None:
    for connection in list(_parent_ends):
        try:
            connection.close()
        except OSError:
            pass
    _parent_ends.clear()


def _remember_parent_ends(*connections) -> None:
    global _fork_hook_registered
    if not _fork_hook_registered and hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_close_parent_ends_in_child)
        _fork_hook_registered = True
    _parent_ends.update(connections)


def _default_context():
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else None)


class DataLoader:
    """Iterate over ``dataset`` in batches, with torch's arguments and checks.

    Args:
        dataset: a map-style :class:`Dataset` (anything with ``__getitem__`` and
            ``__len__``) or an :class:`IterableDataset`.
        batch_size: samples per batch (default 1); None turns batching off.
        shuffle: a new random order every epoch (map-style only), drawn from ``generator``.
        sampler: the order of the indices (exclusive with ``shuffle``).
        batch_sampler: yields whole lists of indices (exclusive with ``batch_size``,
            ``shuffle``, ``sampler`` and ``drop_last``).
        num_workers: worker processes (0: load in the main process).
        collate_fn: list of samples -> batch (default :func:`default_collate`, or
            :func:`default_convert` without batching).
        pin_memory: accepted and ignored (no accelerator memory; torch warns the same).
        drop_last: drop the last batch when it is short.
        timeout: seconds to wait for a worker's batch before RuntimeError (0: forever).
        worker_init_fn: called as ``worker_init_fn(worker_id)`` in each worker, after seeding.
        multiprocessing_context: a start method name or context (default: fork if available).
        generator: a :class:`convnet.Generator` for shuffling and the workers' base seed
            (None: convnet's global generator).
        prefetch_factor: batches in flight per worker (default 2 with workers).
        persistent_workers: keep the workers (and their dataset copies) between epochs.
        pin_memory_device: accepted and ignored.

    ``len(loader)`` is the number of batches (for an iterable dataset, an estimate from
    ``len(dataset)``).

    Example:
        >>> loader = DataLoader([{'x': 1.0, 'name': 'a'}, {'x': 2.0, 'name': 'b'}], batch_size=2)
        >>> batch = next(iter(loader))
        >>> batch['x'].tolist(), batch['x'].dtype, batch['name']
        ([1.0, 2.0], dtype('float64'), ['a', 'b'])
        >>> DataLoader(range(4), batch_size=None).__iter__().__next__()
        0
    """

    _initialized = False

    def __init__(self, dataset, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler=None, batch_sampler=None, num_workers: int = 0, collate_fn=None,
                 pin_memory: bool = False, drop_last: bool = False, timeout: float = 0,
                 worker_init_fn=None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor: int | None = None, persistent_workers: bool = False,
                 pin_memory_device: str = "") -> None:
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to "
                             "disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in multiprocessing."
                             "let num_workers > 0 to enable multiprocessing, otherwise set "
                             "prefetch_factor to None.")
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        elif prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")

        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context

        if isinstance(dataset, IterableDataset):
            self._dataset_kind = "iterable"
            if shuffle not in (False, None):
                raise ValueError("DataLoader with IterableDataset: expected unspecified shuffle "
                                 f"option, but got shuffle={shuffle}")
            if sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified sampler "
                                 f"option, but got sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified "
                                 f"batch_sampler option, but got batch_sampler={batch_sampler}")
        else:
            shuffle = bool(shuffle)
            self._dataset_kind = "map"

        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")

        if sampler is None:
            if self._dataset_kind == "iterable":
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self.persistent_workers = persistent_workers
        self._length_reported = None  # len(dataset) once len(loader) was asked (iterable)
        self._iterator = None
        self._initialized = True
        self.check_worker_number_rationality()

    @property
    def multiprocessing_context(self):
        """The multiprocessing context of the workers (None: fork where available)."""
        return self._multiprocessing_context

    @multiprocessing_context.setter
    def multiprocessing_context(self, context) -> None:
        if context is not None:
            if self.num_workers <= 0:
                raise ValueError("multiprocessing_context can only be used with multi-process "
                                 "loading (num_workers > 0), but got "
                                 f"num_workers={self.num_workers}")
            if isinstance(context, str):
                methods = multiprocessing.get_all_start_methods()
                if context not in methods:
                    raise ValueError("multiprocessing_context option should specify a valid "
                                     f"start method in {methods!r}, but got "
                                     f"multiprocessing_context={context!r}")
                context = multiprocessing.get_context(context)
            if not isinstance(context, multiprocessing.context.BaseContext):
                raise TypeError("multiprocessing_context option should be a valid context "
                                "object or a string specifying the start method, but got "
                                f"multiprocessing_context={context}")
        self._multiprocessing_context = context

    def __setattr__(self, name, value) -> None:
        if self._initialized and name in ("batch_size", "batch_sampler", "sampler", "drop_last",
                                          "dataset", "persistent_workers"):
            raise ValueError(f"{name} attribute should not be set after "
                             f"{type(self).__name__} is initialized")
        super().__setattr__(name, value)

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def __iter__(self):
        if self.persistent_workers and self.num_workers > 0:
            if self._iterator is None or self._iterator._shutdown:
                self._iterator = _MultiProcessIterator(self)
            else:
                self._iterator._reset(self)
            return self._iterator
        if self.num_workers == 0:
            return _SingleProcessIterator(self)
        return _MultiProcessIterator(self)

    def __len__(self) -> int:
        if self._dataset_kind == "iterable":
            length = self._length_reported = len(self.dataset)
            if self.batch_size is not None:
                length = (length // self.batch_size if self.drop_last
                          else math.ceil(length / self.batch_size))
            return length
        return len(self._index_sampler)

    def check_worker_number_rationality(self) -> None:
        """Warn, as torch, when ``num_workers`` exceeds the CPUs this process may use.

        Example:
            >>> DataLoader(range(3)).check_worker_number_rationality()
        """
        if self.num_workers <= 0:
            return
        cpus = (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                else os.cpu_count())
        if cpus is None or self.num_workers > cpus:
            warnings.warn(f"This DataLoader will create {self.num_workers} worker processes in "
                          f"total. Our suggested max number of worker in current system is "
                          f"{cpus}, which is smaller than what this DataLoader is going to "
                          "create. Please be aware that excessive worker creation might get "
                          "DataLoader running slow or even freeze, lower the worker number to "
                          "avoid potential slowness/freeze if necessary.", stacklevel=2)


class _BaseIterator:
    """One pass over a DataLoader (torch's ``_BaseDataLoaderIter``)."""

    def __init__(self, loader: DataLoader) -> None:
        self._dataset = loader.dataset
        self._dataset_kind = loader._dataset_kind
        self._auto_collation = loader._auto_collation
        self._drop_last = loader.drop_last
        self._index_sampler = loader._index_sampler
        self._num_workers = loader.num_workers
        self._timeout = loader.timeout
        self._collate_fn = loader.collate_fn
        self._persistent_workers = loader.persistent_workers
        if loader.pin_memory:
            warnings.warn("'pin_memory' argument is set as true but no accelerator is found, "
                          "then device pinned memory won't be used.", stacklevel=3)
        self._sampler_iter = iter(self._index_sampler)
        # drawn at every iter(loader), workers or not, so that shuffled orders match
        self._base_seed = int(rng_of(loader.generator).integers(0, 2**63, dtype=np.int64))
        self._num_yielded = 0
        self._length_reported = loader._length_reported

    def __iter__(self):
        return self

    def _reset(self, loader: DataLoader) -> None:
        self._sampler_iter = iter(self._index_sampler)
        self._num_yielded = 0
        self._length_reported = loader._length_reported

    def _next_data(self):
        raise NotImplementedError

    def __next__(self):
        data = self._next_data()
        self._num_yielded += 1
        if (self._dataset_kind == "iterable" and self._length_reported is not None
                and self._num_yielded > self._length_reported):
            message = (f"Length of IterableDataset {self._dataset} was reported to be "
                       f"{self._length_reported} (when accessing len(dataloader)), but "
                       f"{self._num_yielded} samples have been fetched. ")
            if self._num_workers > 0:
                message += ("For multiprocessing data-loading, this could be caused by not "
                            "properly configuring the IterableDataset replica at each worker.")
            warnings.warn(message, stacklevel=2)
        return data

    def __len__(self) -> int:
        return len(self._index_sampler)

    def __getstate__(self):
        raise NotImplementedError(f"{type(self).__name__} cannot be pickled")


class _SingleProcessIterator(_BaseIterator):
    def __init__(self, loader: DataLoader) -> None:
        super().__init__(loader)
        if self._timeout != 0:
            raise AssertionError("_SingleProcessDataLoaderIter requires timeout == 0")
        self._fetcher = make_fetcher(self._dataset_kind, self._dataset, self._auto_collation,
                                     self._collate_fn, self._drop_last)

    def _next_data(self):
        return self._fetcher.fetch(next(self._sampler_iter))


class _MultiProcessIterator(_BaseIterator):
    """Worker processes, one pipe each way per worker; tasks are numbered in sampler order,
    sent round robin, and their answers handed out in that order."""

    _shutdown = True  # until workers exist, there is nothing to shut down

    def __init__(self, loader: DataLoader) -> None:
        super().__init__(loader)
        self._prefetch_factor = loader.prefetch_factor
        if self._prefetch_factor <= 0:
            raise AssertionError("prefetch_factor must be greater than 0 for "
                                 "MultiProcessingDataLoaderIter")
        context = loader.multiprocessing_context or _default_context()
        self._done_event = context.Event()
        self._workers, self._index_connections, self._result_connections = [], [], []
        self._shutdown = False
        try:
            for worker_id in range(self._num_workers):
                index_reader, index_writer = context.Pipe(duplex=False)
                result_reader, result_writer = context.Pipe(duplex=False)
                _remember_parent_ends(index_writer, result_reader)
                self._index_connections.append(index_writer)
                self._result_connections.append(result_reader)
                process = context.Process(
                    target=_worker_loop, daemon=True,
                    args=(self._dataset_kind, self._dataset, index_reader, result_writer,
                          self._done_event, self._auto_collation, self._collate_fn,
                          self._drop_last, self._base_seed, loader.worker_init_fn, worker_id,
                          self._num_workers))
                process.start()
                index_reader.close()
                result_writer.close()
                self._workers.append(process)
            self._reset(loader, first=True)
        except BaseException:
            self._shutdown_workers()
            raise

    def _reset(self, loader: DataLoader, first: bool = False) -> None:
        super()._reset(loader)
        self._send_index = 0       # number of the next task to send
        self._receive_index = 0    # number of the next task to hand out
        self._arrived = {}         # task number -> answer received ahead of its turn
        self._worker_tasks = [0] * self._num_workers    # tasks sent and not yet answered
        self._active = [True] * self._num_workers       # False once its iterable is exhausted
        self._next_worker = itertools.cycle(range(self._num_workers))
        if not first:  # persistent workers: start a new epoch, dropping the last one's answers
            for connection in self._index_connections:
                connection.send(_ResumeIteration())
            waiting = set(range(self._num_workers))
            while waiting:
                worker_id, (tag, _) = self._receive(sorted(waiting))
                if isinstance(tag, _ResumeIteration):
                    waiting.discard(worker_id)
        for _ in range(self._prefetch_factor * self._num_workers):
            self._try_put_index()

    def _try_put_index(self) -> None:
        if sum(self._worker_tasks) >= self._prefetch_factor * self._num_workers:
            return
        for _ in range(self._num_workers):
            worker_id = next(self._next_worker)
            if self._active[worker_id]:
                break
        else:
            return
        try:
            index = next(self._sampler_iter)
        except StopIteration:
            return
        try:
            self._index_connections[worker_id].send((self._send_index, index))
        except OSError:
            self._shutdown_workers()
            raise RuntimeError(f"DataLoader worker (pid(s) {self._workers[worker_id].pid}) "
                               "exited unexpectedly") from None
        self._worker_tasks[worker_id] += 1
        self._send_index += 1

    def _receive(self, candidates: list[int]):
        """The next message of any of the ``candidates`` workers, as ``(worker_id, message)``;
        RuntimeError when one of them died or nothing came within the timeout."""
        deadline = time.monotonic() + self._timeout if self._timeout > 0 else None
        while True:
            connections = [self._result_connections[w] for w in candidates]
            sentinels = [self._workers[w].sentinel for w in candidates]
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready = multiprocessing.connection.wait(connections + sentinels, left)
            for worker_id, connection in zip(candidates, connections):
                if connection in ready:
                    try:
                        return worker_id, connection.recv()
                    except (EOFError, OSError):  # its end is closed: it is exiting
                        self._workers[worker_id].join(SHUTDOWN_GRACE)
            dead = [self._workers[w] for w in candidates if not self._workers[w].is_alive()]
            if dead:
                self._shutdown_workers()
                pids = ", ".join(str(process.pid) for process in dead)
                raise RuntimeError(f"DataLoader worker (pid(s) {pids}) exited unexpectedly")
            if deadline is not None and time.monotonic() >= deadline:
                raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds")

    def _next_data(self):
        try:
            return self._next_batch()
        except KeyboardInterrupt:
            self._shutdown_workers()
            raise

    def _next_batch(self):
        while True:
            while self._arrived.get(self._receive_index, None) is _SKIPPED:
                del self._arrived[self._receive_index]
                self._receive_index += 1
            if self._receive_index >= self._send_index:
                if not self._persistent_workers:
                    self._shutdown_workers()
                raise StopIteration
            if self._receive_index in self._arrived:
                data = self._arrived.pop(self._receive_index)
                self._receive_index += 1
                return self._process(data)
            busy = [w for w in range(self._num_workers) if self._worker_tasks[w] > 0]
            worker_id, (task, data) = self._receive(busy)
            self._worker_tasks[worker_id] -= 1
            if isinstance(data, _IterableEnd):
                if self._active[worker_id] and not self._persistent_workers:
                    self._index_connections[worker_id].send(None)
                self._active[worker_id] = False
                self._arrived[task] = _SKIPPED
                self._try_put_index()
            elif task == self._receive_index:
                self._receive_index += 1
                return self._process(data)
            else:
                self._arrived[task] = data

    def _process(self, data):
        self._try_put_index()
        if isinstance(data, ExceptionWrapper):
            data.reraise()
        return from_transport(data)

    def _shutdown_workers(self) -> None:
        """Stop every worker: ask (``None``), stop reading (a worker blocked sending a batch
        gets BrokenPipeError and leaves), wait up to SHUTDOWN_GRACE, terminate the rest."""
        if self._shutdown:
            return
        self._shutdown = True
        try:
            self._done_event.set()
            for connection in self._index_connections:
                try:
                    connection.send(None)
                except OSError:
                    pass
            for connection in self._result_connections:
                connection.close()
            deadline = time.monotonic() + SHUTDOWN_GRACE
            for process in self._workers:
                process.join(max(0.0, deadline - time.monotonic()))
        finally:
            for process in self._workers:
                if process.is_alive():
                    process.terminate()
                    process.join(SHUTDOWN_GRACE)
            for connection in self._index_connections + self._result_connections:
                connection.close()

    def __del__(self) -> None:
        try:
            self._shutdown_workers()
        except Exception:  # at interpreter exit, modules may already be gone
            pass
