"""Process settings that make a NumPy training step fast, applied only when asked.

``import convnet`` changes nothing in the process. The ``convnet`` command and the
:class:`~convnet.train.Trainer` call :func:`apply` before they train, and so may a script
that runs its own training loop; a notebook or a server that merely imports convnet keeps
its allocator and BLAS threads as they were.

- Heap reuse (glibc): a training step allocates and frees the same large arrays every time;
  above glibc's mmap threshold each one is a fresh ``mmap`` whose pages fault in again.
  Raising the mmap and trim thresholds keeps freed blocks for reuse. Off with
  ``CONVNET_MALLOC_TUNING=0``.
- Short BLAS thread spin (OpenBLAS): after each product OpenBLAS's idle workers spin for
  about 0.1 s and take the cores that the im2col, pooling and element-wise work between
  products needs. The loaded OpenBLAS pools are restarted with a spin of 2**12 cycles
  (``CONVNET_BLAS_THREAD_TIMEOUT=N`` picks 2**N, ``0`` leaves OpenBLAS alone, and an
  ``OPENBLAS_THREAD_TIMEOUT`` of your own is respected). This one is also set, once, the
  first time convnet splits a kernel between its own threads
  (:mod:`convnet.ops.batch_threads`): two spinning BLAS workers would leave those threads
  no core, and the split would run at half speed.
- Short OpenMP spin (libgomp, which oneDNN runs its threads on): libgomp's idle threads
  spin for 300,000 iterations (about a millisecond) after each parallel primitive and take
  the core that the NumPy work between primitives needs. libgomp reads ``GOMP_SPINCOUNT``
  once, when it is loaded, so the setting can only be made before that:
  :func:`tune_openmp_spin` loads libgomp with a spin of 1,000 (``CONVNET_OPENMP_SPIN=N``
  picks N, ``0`` leaves libgomp alone; ``GOMP_SPINCOUNT`` or ``OMP_WAIT_POLICY`` of your own
  are respected, and a libgomp already loaded, say by PyTorch, is left as it is). Loading
  oneDNN does this too, since convnet is then the one that brings libgomp into the process.
  The environment is restored afterwards; only the loaded runtime keeps the setting.

Measurements are in docs/performance.md.

Example:
    >>> from convnet import process_settings
    >>> applied = process_settings.apply()
    >>> sorted(applied)
    ['blas_libraries', 'malloc', 'openmp_spin']
"""

from __future__ import annotations

import ctypes
import functools
import os
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
THRESHOLD_BYTES = 1 << 30          # allocations up to 1 GiB come from the heap
BLAS_THREAD_TIMEOUT = 12           # log2 of the cycles an idle OpenBLAS thread spins
OPENMP_SPIN = 1000                 # GOMP_SPINCOUNT: iterations an idle libgomp thread spins


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


def loaded_libraries(fragment: str) -> list[str]:
    """Paths of the mapped libraries whose file name contains ``fragment`` (Linux)."""
    paths = []
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                path = line.split()[-1]
                if fragment in os.path.basename(path) and path not in paths:
                    paths.append(path)
    except OSError:  # pragma: no cover - no procfs
        pass
    return paths


def loaded_openblas() -> list[str]:
    """Paths of the OpenBLAS libraries mapped into this process (Linux)."""
    return loaded_libraries("openblas")


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


@functools.cache
def tune_openmp_spin() -> int | None:
    """Load libgomp with a short spin (once per process); the spin set, or None when
    libgomp was left alone (turned off, the user's own setting, already loaded, absent)."""
    choice = os.environ.get("CONVNET_OPENMP_SPIN", str(OPENMP_SPIN))
    if (not choice.isdigit() or choice == "0" or "GOMP_SPINCOUNT" in os.environ
            or "OMP_WAIT_POLICY" in os.environ or loaded_libraries("libgomp")
            or not sys.platform.startswith("linux")):
        return None
    os.environ["GOMP_SPINCOUNT"] = choice
    try:
        ctypes.CDLL("libgomp.so.1")   # reads the variable now; later users share this copy
        return int(choice)
    except OSError:  # pragma: no cover - no libgomp on this system
        return None
    finally:
        del os.environ["GOMP_SPINCOUNT"]


_APPLIED: dict | None = None
_BLAS_TUNED: list[str] | None = None


def tune_blas_threads_once() -> list[str]:
    """:func:`tune_blas_threads` the first time it is called in the process; later calls
    return the first result."""
    global _BLAS_TUNED
    if _BLAS_TUNED is None:
        _BLAS_TUNED = tune_blas_threads()
    return list(_BLAS_TUNED)


def apply() -> dict:
    """Apply the settings once per process (later calls return the first result).

    Returns ``{'malloc': bool, 'blas_libraries': [paths of the OpenBLAS pools restarted],
    'openmp_spin': the libgomp spin set or None}``.
    """
    global _APPLIED
    if _APPLIED is None:
        _APPLIED = {"malloc": tune_malloc(), "blas_libraries": tune_blas_threads_once(),
                    "openmp_spin": tune_openmp_spin()}
    return dict(_APPLIED)
