"""Split a batch between threads for compiled kernels that release the GIL.

Convnet's numba kernels run on the calling thread (numba's OpenMP threads spin after each
parallel loop and take the cores from the matrix products that follow; see
docs/performance.md). A kernel compiled with ``nogil=True`` can still use every core: this
module cuts the batch into one contiguous part per worker and runs the parts on a small
pool of Python threads, the caller doing the first part itself. The threads sleep on a
queue between calls, so they take nothing from OpenBLAS; and OpenBLAS's idle workers, which
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
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

MAX_WORKERS = 8
_POOL: ThreadPoolExecutor | None = None


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


MIN_PART_VALUES = 1 << 17   # a part touches at least this many values (else the thread
                            # hand-off, about 20 us, costs more than the part saves)


def _forget_pool_in_child() -> None:
    """After ``fork`` the child has the pool object but none of its threads: start anew."""
    global _POOL, _blas_users, _blas_limiter
    _POOL, _blas_users, _blas_limiter = None, 0, None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_in_child)


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
    in parallel, the first on the calling thread. Exceptions of any part are raised here."""
    global _POOL
    if not ranges:                              # an empty batch
        return
    if len(ranges) == 1:
        kernel(*ranges[0])
        return
    if _POOL is None:
        from .. import process_settings      # spinning BLAS workers would take the cores
        process_settings.tune_blas_threads_once()
        _POOL = ThreadPoolExecutor(max_workers=MAX_WORKERS - 1,
                                   thread_name_prefix="convnet-batch")
    futures = [_POOL.submit(kernel, lo, hi) for lo, hi in ranges[1:]]
    try:
        kernel(*ranges[0])
    finally:
        for future in futures:
            future.result()


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
