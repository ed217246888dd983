"""Process settings that make a NumPy training step fast: heap reuse and short thread spins.

All are applied once, at ``import convnet``, on Linux, and each can be turned off by an
environment variable set before the import. Measured on the 2-core benchmark machine
(benchmarks/train_step.py, LeNet on batch 128): 46 ms a step with none, 26 ms with the
first two, 15-17 ms with all three.

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
thread pool of NumPy's OpenBLAS). Nothing is changed when ``OPENBLAS_THREAD_TIMEOUT`` is
already set, or NumPy uses another BLAS; ``CONVNET_BLAS_THREAD_TIMEOUT=N`` picks 2**N
cycles (4 to 30), ``CONVNET_BLAS_THREAD_TIMEOUT=0`` leaves OpenBLAS alone.

OpenMP thread spins (numba's ``omp`` threading layer, GNU libgomp). The compiled kernels
(im2col, col2im, pooling) run on numba's OpenMP threads, which by default spin for
300,000 iterations (milliseconds) after each parallel loop, taking a core from the
matrix product that follows. convnet starts numba's thread pool at import with
``GOMP_SPINCOUNT=1000``, then removes the variable again, so that no other library's
OpenMP (PyTorch's bundled libgomp, say) sees it. Nothing is changed when
``GOMP_SPINCOUNT`` or ``OMP_WAIT_POLICY`` is already set; ``CONVNET_OMP_SPINCOUNT=N``
picks another count, ``CONVNET_OMP_SPINCOUNT=0`` leaves numba alone.

Example:
    >>> from convnet import _runtime
    >>> _runtime.MALLOC_TUNED in (True, False), isinstance(_runtime.BLAS_TUNED, list)
    (True, True)
    >>> _runtime.OMP_TUNED in (True, False)
    True
"""

from __future__ import annotations

import ctypes
import os
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
THRESHOLD_BYTES = 1 << 30          # allocations up to 1 GiB come from the heap
BLAS_THREAD_TIMEOUT = 12           # log2 of the cycles an idle OpenBLAS thread spins
OMP_SPINCOUNT = 1000               # spins of an idle numba OpenMP thread before it sleeps


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


def tune_omp_spin() -> bool:
    """Start numba's OpenMP thread pool with a short spin; True when it was applied."""
    choice = os.environ.get("CONVNET_OMP_SPINCOUNT", str(OMP_SPINCOUNT))
    if (choice == "0" or not choice.isdigit() or "GOMP_SPINCOUNT" in os.environ
            or "OMP_WAIT_POLICY" in os.environ):
        return False
    try:
        import numba
        from numba.np.ufunc import parallel
    except ImportError:  # pragma: no cover - exercised only without numba
        return False
    os.environ["GOMP_SPINCOUNT"] = choice      # read once, when libgomp is loaded
    try:
        parallel._launch_threads()
    except Exception:  # pragma: no cover - numba's pool failed to start: leave it lazy
        return False
    finally:
        del os.environ["GOMP_SPINCOUNT"]
    return numba.threading_layer() == "omp"


MALLOC_TUNED = tune_malloc()
BLAS_TUNED = tune_blas_threads()
OMP_TUNED = tune_omp_spin()
