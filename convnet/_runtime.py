"""Process settings that make a NumPy training step fast: heap reuse and BLAS thread naps.

Both are applied once, at ``import convnet``, on Linux, and each can be turned off by an
environment variable set before the import. Measured on the 2-core benchmark machine
(benchmarks/train_step.py, LeNet on batch 128, before the later kernel work): 46 ms a step
with neither, 26 ms with both.

Heap reuse (glibc). A training step allocates and frees the same large arrays (column
matrices, gradients) every time. glibc serves allocations above ``M_MMAP_THRESHOLD``
(32 MiB at most by default) with a fresh ``mmap`` and returns them with ``munmap``, so
each step pays a page fault per 4 KiB page it writes. Raising the mmap and trim
thresholds keeps freed blocks in the heap for reuse: a 40 MB copy into a new array went
from 6.5 to 4.6 ms, a (16384, 128) @ (128, 576) float32 product from 16.7 to 13.7 ms.
Peak memory is unchanged. Off with ``CONVNET_MALLOC_TUNING=0``.

BLAS thread naps (OpenBLAS). After each matrix product, OpenBLAS's worker threads spin
for about 2**28 cycles (0.1 s) waiting for the next one. Between products a step runs
im2col, pooling and element-wise work, and the spinning threads take the cores that work
needs (on this machine: 2-3x slower copies). convnet sets the spin to 2**12 cycles
(OpenBLAS's own ``OPENBLAS_THREAD_TIMEOUT`` setting, re-read and applied by restarting the
thread pools of the OpenBLAS libraries loaded at import: NumPy's, and SciPy's when SciPy
was imported first). Nothing is changed when ``OPENBLAS_THREAD_TIMEOUT`` is
already set, or NumPy uses another BLAS; ``CONVNET_BLAS_THREAD_TIMEOUT=N`` picks 2**N
cycles (4 to 30), ``CONVNET_BLAS_THREAD_TIMEOUT=0`` leaves OpenBLAS alone.

Not changed: the spin of numba's OpenMP threads. libgomp reads ``GOMP_SPINCOUNT`` once,
when it is loaded, and on Linux PyTorch's wheels share the system's libgomp with numba, so
a shorter spin set for convnet's kernels would also apply to PyTorch's threads in the same
process (measured: LeNet steps in PyTorch 9-11 ms -> 15 ms). Setting ``GOMP_SPINCOUNT``
or ``OMP_WAIT_POLICY`` is left to the user.

Example:
    >>> from convnet import _runtime
    >>> _runtime.MALLOC_TUNED in (True, False), isinstance(_runtime.BLAS_TUNED, list)
    (True, True)
"""

from __future__ import annotations

import ctypes
import os
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
THRESHOLD_BYTES = 1 << 30          # allocations up to 1 GiB come from the heap
BLAS_THREAD_TIMEOUT = 12           # log2 of the cycles an idle OpenBLAS thread spins


def tune_malloc() -> bool:
    """Raise glibc's mmap and trim thresholds; True when both were set."""
    if os.environ.get("CONVNET_MALLOC_TUNING", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return bool(mallopt(M_MMAP_THRESHOLD, THRESHOLD_BYTES)) and bool(
        mallopt(M_TRIM_THRESHOLD, THRESHOLD_BYTES))


def loaded_openblas() -> list[str]:
    """Paths of the OpenBLAS libraries mapped into this process (Linux)."""
    paths = []
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                path = line.split()[-1]
                if "openblas" in os.path.basename(path) and path not in paths:
                    paths.append(path)
    except OSError:  # pragma: no cover - no procfs
        pass
    return paths


def tune_blas_threads() -> list[str]:
    """Shorten the spin of NumPy's OpenBLAS threads; returns the libraries changed."""
    choice = os.environ.get("CONVNET_BLAS_THREAD_TIMEOUT", str(BLAS_THREAD_TIMEOUT))
    if choice == "0" or "OPENBLAS_THREAD_TIMEOUT" in os.environ or not choice.isdigit():
        return []
    import numpy  # noqa: F401  (maps NumPy's OpenBLAS into the process)
    changed = []
    for path in loaded_openblas():
        try:
            lib = ctypes.CDLL(path)
            read_env, shutdown, init = (lib.openblas_read_env, lib.blas_thread_shutdown_,
                                        lib.blas_thread_init)
        except (OSError, AttributeError):
            continue                  # not a pthreads OpenBLAS with these entry points
        os.environ["OPENBLAS_THREAD_TIMEOUT"] = choice
        try:
            read_env()
            shutdown()                # the workers restart with the new timeout
            init()
        finally:
            del os.environ["OPENBLAS_THREAD_TIMEOUT"]
            read_env()                # libraries loaded later keep their default
        changed.append(path)
    return changed


MALLOC_TUNED = tune_malloc()
BLAS_TUNED = tune_blas_threads()
