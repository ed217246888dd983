"""What runs inside a DataLoader worker process, and what crosses between the processes.

A worker gets its own copy of the dataset, seeds its random generators from the loader's
base seed and its id (``seed = base_seed + worker_id`` for Python's ``random`` and for
convnet's generator, :func:`convnet.manual_seed`; NumPy's global generator from a
``SeedSequence`` of both), runs ``worker_init_fn(worker_id)``, then answers every task
``(task_id, indices)`` that the main process sends through its pipe with
``(task_id, batch)``, until it receives ``None``. Inside it, :func:`get_worker_info` says
who it is.

A batch crosses as NumPy arrays: every Tensor in the usual containers (lists, tuples,
dicts, namedtuples) travels as :class:`TensorPayload` and becomes a Tensor again in the
main process. An exception raised while loading travels as :class:`ExceptionWrapper`, the
exception's type and its traceback text, and is raised again in the main process.

Example:
    >>> import convnet
    >>> print(get_worker_info())  # in the main process
    None
    >>> packed = to_transport({'x': convnet.tensor([1, 2]), 'name': 'a'})
    >>> packed['x'].array, from_transport(packed)
    (array([1, 2]), {'x': tensor([1, 2]), 'name': 'a'})
"""

from __future__ import annotations

import os
import pickle
import random
import sys
import traceback
from dataclasses import dataclass

import numpy as np

from ... import random as _convnet_random
from ...tensor import Tensor
from .fetch import make_fetcher

__all__ = ["WorkerInfo", "get_worker_info", "ExceptionWrapper", "TensorPayload",
           "to_transport", "from_transport", "worker_seeds"]

PARENT_CHECK_INTERVAL = 1.0  # seconds a waiting worker lets pass between checks of its parent

_worker_info: "WorkerInfo | None" = None


@dataclass(frozen=True)
class WorkerInfo:
    """Who the current worker is: ``id`` (``0 .. num_workers - 1``), ``num_workers``,
    ``seed`` (``base_seed + id``) and ``dataset`` (this process's copy).

    Example:
        >>> info = WorkerInfo(id=1, num_workers=2, seed=11, dataset=[])
        >>> info.id, info.num_workers
        (1, 2)
    """

    id: int
    num_workers: int
    seed: int
    dataset: object


def get_worker_info() -> WorkerInfo | None:
    """The :class:`WorkerInfo` of the DataLoader worker this runs in; None in the main
    process. An :class:`IterableDataset` calls it in ``__iter__`` to read only its share.

    Example:
        >>> get_worker_info() is None
        True
    """
    return _worker_info


class _KeyErrorMessage(str):
    """KeyError prints ``repr`` of its argument; this string's repr is itself, so the
    traceback text stays readable."""

    def __repr__(self):
        return self


class ExceptionWrapper:
    """An exception caught in a worker (by default the one being handled), kept as its type
    and formatted traceback so that it pickles; :meth:`reraise` raises the same type in the
    main process with a message that holds the worker's traceback.

    Example:
        >>> try:
        ...     {}['missing']
        ... except KeyError:
        ...     wrapper = ExceptionWrapper(where='in DataLoader worker process 0')
        >>> try:
        ...     wrapper.reraise()
        ... except KeyError as error:
        ...     print(str(error).splitlines()[0])
        Caught KeyError in DataLoader worker process 0.
    """

    def __init__(self, exc_info=None, where: str = "in background") -> None:
        exc_type, value, trace = exc_info or sys.exc_info()
        self.message = "".join(traceback.format_exception(exc_type, value, trace))
        try:
            pickle.dumps(exc_type)
            self.exc_type = exc_type
        except Exception:  # a class that cannot travel by name (local, dynamic)
            self.exc_type = RuntimeError
        self.type_name = exc_type.__name__
        self.where = where

    def reraise(self):
        """Raise the wrapped exception's type (RuntimeError when it cannot be made from a
        message) with the worker's traceback in its message."""
        message = f"Caught {self.type_name} {self.where}.\nOriginal {self.message}"
        if self.exc_type is KeyError:
            message = _KeyErrorMessage(message)
        try:
            error = self.exc_type(message)
        except Exception:
            raise RuntimeError(message) from None
        raise error


class TensorPayload:
    """A Tensor's array on its way between processes.

    Example:
        >>> TensorPayload(np.zeros(2)).array
        array([0., 0.])
    """

    __slots__ = ("array",)

    def __init__(self, array: np.ndarray) -> None:
        self.array = array

    def __reduce__(self):
        return TensorPayload, (self.array,)


def _map_leaves(function, data):
    if isinstance(data, (Tensor, TensorPayload)):
        return function(data)
    if isinstance(data, dict):
        rebuilt = {key: _map_leaves(function, value) for key, value in data.items()}
        if type(data) is dict:
            return rebuilt
        try:
            clone = data.copy()
            clone.update(rebuilt)
            return clone
        except Exception:
            return rebuilt
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(_map_leaves(function, item) for item in data))
    if type(data) in (list, tuple):
        return type(data)(_map_leaves(function, item) for item in data)
    return data


def to_transport(data):
    """``data`` with each Tensor (inside lists, tuples, dicts, namedtuples) replaced by a
    :class:`TensorPayload` of its array.

    Example:
        >>> import convnet
        >>> type(to_transport([convnet.zeros(1)])[0]).__name__
        'TensorPayload'
    """
    return _map_leaves(lambda leaf: TensorPayload(leaf.data) if isinstance(leaf, Tensor)
                       else leaf, data)


def from_transport(data):
    """The inverse of :func:`to_transport`: each :class:`TensorPayload` becomes a Tensor.

    Example:
        >>> from_transport((TensorPayload(np.arange(2)), 'kept'))
        (tensor([0, 1]), 'kept')
    """
    return _map_leaves(lambda leaf: Tensor(leaf.array) if isinstance(leaf, TensorPayload)
                       else leaf, data)


class _ResumeIteration:
    """Sent to a persistent worker at the start of an epoch; it answers with the same."""


@dataclass(frozen=True)
class _IterableEnd:
    """A worker's answer once its copy of an iterable dataset is exhausted."""

    worker_id: int


def worker_seeds(base_seed: int, worker_id: int) -> tuple[int, np.ndarray]:
    """The seed of worker ``worker_id`` (``base_seed + worker_id``: Python's ``random`` and
    convnet's generator) and the four 32-bit words that seed NumPy's global generator.

    Example:
        >>> seed, words = worker_seeds(100, 2)
        >>> seed, words.shape, bool((words != worker_seeds(100, 3)[1]).any())
        (102, (4,), True)
    """
    words = np.random.SeedSequence([worker_id, base_seed]).generate_state(4)
    return base_seed + worker_id, words


def _seed_this_process(base_seed: int, worker_id: int) -> int:
    seed, words = worker_seeds(base_seed, worker_id)
    random.seed(seed)
    _convnet_random.manual_seed(seed)
    np.random.seed(words)
    return seed


def _send(connection, task_id, data, worker_id: int) -> None:
    try:
        connection.send((task_id, data))
    except (BrokenPipeError, ConnectionResetError, EOFError):
        raise
    except Exception:  # the batch (or the exception) does not pickle: say so instead
        where = f"in DataLoader worker process {worker_id} (sending the batch)"
        connection.send((task_id, ExceptionWrapper(where=where)))


def _worker_loop(dataset_kind: str, dataset, index_connection, result_connection, done_event,
                auto_collation: bool, collate_fn, drop_last: bool, base_seed: int, init_fn,
                worker_id: int, num_workers: int) -> None:
    """The body of worker process ``worker_id`` (the DataLoader starts it; see the module
    docstring). It ends on ``None``, when its parent dies, or on KeyboardInterrupt."""
    global _worker_info
    parent = os.getppid()
    where = f"in DataLoader worker process {worker_id}"
    try:
        seed = _seed_this_process(base_seed, worker_id)
        _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed,
                                  dataset=dataset)
        setup_error = fetcher = None
        try:
            if init_fn is not None:
                init_fn(worker_id)
            fetcher = make_fetcher(dataset_kind, dataset, auto_collation, collate_fn, drop_last)
        except Exception:
            setup_error = ExceptionWrapper(where=where)
        ended = False
        while True:
            if not index_connection.poll(PARENT_CHECK_INTERVAL):
                if os.getppid() != parent:
                    return
                continue
            message = index_connection.recv()
            if message is None:
                return
            if isinstance(message, _ResumeIteration):
                ended = False
                if setup_error is None:
                    try:
                        fetcher = make_fetcher(dataset_kind, dataset, auto_collation,
                                               collate_fn, drop_last)
                    except Exception:
                        setup_error = ExceptionWrapper(where=where)
                result_connection.send((message, None))
                continue
            task_id, index = message
            if done_event.is_set():
                continue
            if setup_error is not None:
                data = setup_error
            elif ended:
                data = _IterableEnd(worker_id)
            else:
                try:
                    data = to_transport(fetcher.fetch(index))
                except StopIteration:
                    if dataset_kind != "iterable":
                        data = ExceptionWrapper(where=where)
                    else:
                        data, ended = _IterableEnd(worker_id), True
                except Exception:
                    data = ExceptionWrapper(where=where)
            _send(result_connection, task_id, data, worker_id)
            del data, index, message
    except (KeyboardInterrupt, BrokenPipeError, ConnectionResetError, EOFError):
        pass  # the main process is stopping (Ctrl-C) or gone: leave quietly
    finally:
        index_connection.close()
        result_connection.close()
