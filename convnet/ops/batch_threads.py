"""Split a batch between threads for compiled kernels that release the GIL.

Convnet's numba kernels run on the calling thread (numba's OpenMP threads spin after each
parallel loop and take the cores from the matrix products that follow; see
docs/performance.md). A kernel compiled with ``nogil=True`` can still use every core: this
module cuts the batch into one contiguous part per worker and runs the parts on a small
pool of Python threads, the caller doing the first part itself. The threads sleep on a
lock between calls, so they take nothing from OpenBLAS; and OpenBLAS's idle workers, which
spin for about 0.1 s after each product, are set to spin briefly the first time a batch is
split (:func:`convnet.process_settings.tune_blas_threads_once`).

The worker count is the number of CPUs this process may run on, at most
:data:`MAX_WORKERS`; ``CONVNET_NUM_THREADS=N`` sets it (``1``: everything on the calling
thread).

Example:
    >>> import numpy as np
    >>> out = np.zeros(10)
    >>> def kernel(lo, hi):            # any function of a half-open range of images
    ...     out[lo:hi] = np.arange(lo, hi)
    >>> run_parts(kernel, split(10))
    >>> out.tolist() == list(range(10))
    True
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager

MAX_WORKERS = 8


_CPUS: list[int] = []


def workers() -> int:
    """Threads a batch is split between (see the module docstring)."""
    chosen = os.environ.get("CONVNET_NUM_THREADS", "")
    if chosen.isdigit() and int(chosen) > 0:
        return min(int(chosen), MAX_WORKERS)
    if not _CPUS:                     # the process's CPUs, asked once (a system call)
        try:
            _CPUS.append(len(os.sched_getaffinity(0)))
        except (AttributeError, OSError):  # pragma: no cover - not Linux
            _CPUS.append(os.cpu_count() or 1)
    return max(1, min(_CPUS[0], MAX_WORKERS))


def bounds(batch: int, parts: int) -> list[tuple[int, int]]:
    """``parts`` (or fewer, never empty) contiguous ranges covering ``range(batch)``.

    Example:
        >>> bounds(5, 2)
        [(0, 2), (2, 5)]
    """
    parts = max(1, min(parts, batch))
    cuts = [batch * k // parts for k in range(parts + 1)]
    return [(lo, hi) for lo, hi in zip(cuts[:-1], cuts[1:]) if hi > lo]


# The hand-off to another thread costs tens of microseconds, so small work stays on the
# calling thread (thresholds measured in docs/performance.md):
MIN_PART_VALUES = 1 << 17   # a part touches at least this many values
ONE_PASS = 8                # a kernel that reads and writes each value once (ReLU, a select,
                            # batch norm's passes) counts its values / ONE_PASS


class _Worker(threading.Thread):
    """A daemon thread that runs one part at a time: the caller stores the task and
    releases ``start_lock``; the worker releases ``done`` when the part has run (two plain
    locks a hand-off, lighter than an executor's futures and queue)."""

    def __init__(self, index: int):
        super().__init__(name=f"convnet-batch-{index}", daemon=True)
        self.start_lock, self.done = threading.Lock(), threading.Lock()
        self.start_lock.acquire()
        self.done.acquire()
        self.task, self.error = None, None

    def run(self):
        while True:
            self.start_lock.acquire()
            kernel, lo, hi = self.task
            try:
                kernel(lo, hi)
            except BaseException as error:  # noqa: BLE001 - raised again on the caller's thread
                self.error = error
            self.task = None
            self.done.release()


_WORKERS: list[_Worker] = []
_IN_USE = threading.Lock()      # one caller at a time drives the workers


def _workers(count: int) -> list[_Worker]:
    """``count`` started workers (the first call also shortens OpenBLAS's idle spin)."""
    if not _WORKERS:
        from .. import process_settings      # spinning BLAS workers would take the cores
        process_settings.tune_blas_threads_once()
    while len(_WORKERS) < count:
        worker = _Worker(len(_WORKERS) + 1)
        worker.start()
        _WORKERS.append(worker)
    return _WORKERS[:count]


def _forget_workers_in_child() -> None:
    """After ``fork`` the child has the worker objects but none of their threads."""
    global _IN_USE, _blas_users, _blas_limiter
    _WORKERS.clear()
    _IN_USE = threading.Lock()
    _blas_users, _blas_limiter = 0, None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_workers_in_child)


def split(batch: int, values: int | None = None) -> list[tuple[int, int]]:
    """One range of images per worker (:func:`workers`), fewer for a small batch, or for
    small work: ``values`` (what the whole batch reads or writes) over
    :data:`MIN_PART_VALUES` a part.

    Example:
        >>> split(1), split(64, values=1000)
        ([(0, 1)], [(0, 64)])
    """
    parts = workers()
    if values is not None:
        parts = min(parts, max(1, values // MIN_PART_VALUES))
    return bounds(batch, parts)


def run_parts(kernel, ranges: list[tuple[int, int]]) -> None:
    """Call ``kernel(lo, hi)`` for every ``(lo, hi)`` of ``ranges`` (from :func:`split`),
    in parallel, the first on the calling thread. Exceptions of any part are raised here.
    While another thread of the program drives the workers, the parts run one after the
    other on the calling thread."""
    if not ranges:                              # an empty batch
        return
    if len(ranges) == 1 or not _IN_USE.acquire(blocking=False):
        for lo, hi in ranges:
            kernel(lo, hi)
        return
    try:
        helpers = _workers(len(ranges) - 1)
        for worker, (lo, hi) in zip(helpers, ranges[1:]):
            worker.error, worker.task = None, (kernel, lo, hi)
            worker.start_lock.release()
        try:
            kernel(*ranges[0])
        finally:
            _wait_for(helpers)
        for worker in helpers:
            if worker.error is not None:
                error, worker.error = worker.error, None
                raise error
    finally:
        _IN_USE.release()


def _wait_for(helpers: list[_Worker]) -> None:
    """Wait until every helper has finished its part, even through a KeyboardInterrupt (a
    part takes milliseconds; leaving one running would let the next call read its
    ``done`` too early), then raise the interrupt."""
    interrupted = None
    for worker in helpers:
        while True:
            try:
                worker.done.acquire()
                break
            except BaseException as error:  # noqa: BLE001 - re-raised below
                interrupted = interrupted or error
    if interrupted is not None:
        raise interrupted


_BLAS_LOCK = threading.Lock()
_blas_users = 0
_blas_limiter = None
_blas_controller = None


@contextmanager
def single_threaded_blas():
    """NumPy's BLAS on one thread inside the block, for products run side by side on
    :func:`run_parts`'s threads (threadpoolctl; nothing changes when it is missing). Nested
    and concurrent blocks share one limit, lifted when the last block ends.

    Example:
        >>> import numpy as np
        >>> a = np.ones((64, 8), np.float32)
        >>> out = np.empty((64, 64), np.float32)
        >>> with single_threaded_blas():
        ...     run_parts(lambda lo, hi: np.matmul(a[lo:hi], a.T, out=out[lo:hi]), split(64))
        >>> float(out[63, 0])
        8.0
    """
    global _blas_users, _blas_limiter, _blas_controller
    with _BLAS_LOCK:
        if _blas_users == 0:
            try:
                if _blas_controller is None:
                    from threadpoolctl import ThreadpoolController
                    _blas_controller = ThreadpoolController()
                _blas_limiter = _blas_controller.limit(limits=1, user_api="blas")
            except ImportError:  # pragma: no cover - threadpoolctl is a dependency
                _blas_limiter = None
        _blas_users += 1
    try:
        yield
    finally:
        with _BLAS_LOCK:
            _blas_users -= 1
            if _blas_users == 0 and _blas_limiter is not None:
                _blas_limiter.restore_original_limits()
                _blas_limiter = None
