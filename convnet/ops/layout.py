"""Memory for activations: views between their two memory orders, (N, C, *spatial) as the
user indexes it and (N, *spatial, C), the channels-last memory that convnet's oneDNN
convolutions read and write; and arrays that start on a 64-byte boundary.

Both views are ``transpose`` views (no copy); ``np.moveaxis`` gives the same views but
checks its arguments on every call, which costs more than the transpose itself in a layer
that runs thousands of times an epoch.

NumPy aligns its arrays to 16 bytes; oneDNN's AVX-512 kernels load and store 64 bytes at a
time, and an activation that starts between two cache lines splits every one of them
(a depthwise 3x3 convolution of 8x256x32x32 took 0.48 ms on a 16-byte-aligned input and
0.35 ms on a 64-byte-aligned one; docs/performance.md). So the outputs of convnet's layers,
which are the next layers' inputs, come from :func:`aligned_empty`.

Example:
    >>> import numpy as np
    >>> x = np.zeros((2, 3, 4, 5))
    >>> to_last(x).shape, to_first(to_last(x)).shape
    ((2, 4, 5, 3), (2, 3, 4, 5))
    >>> y = aligned_empty_like(to_first(np.zeros((2, 8, 8, 32), np.float32)))
    >>> y.ctypes.data % ALIGNMENT, y.shape, to_last(y).flags.c_contiguous
    (0, (2, 32, 8, 8), True)
"""

from __future__ import annotations

import numpy as np

_LAST = {ndim: (0,) + tuple(range(2, ndim)) + (1,) for ndim in range(2, 9)}
_FIRST = {ndim: (0, ndim - 1) + tuple(range(1, ndim - 1)) for ndim in range(2, 9)}


def to_last(x: np.ndarray) -> np.ndarray:
    """(N, C, *spatial) view -> (N, *spatial, C) view (``np.moveaxis(x, 1, -1)``)."""
    return x.transpose(_LAST[x.ndim])


def to_first(x: np.ndarray) -> np.ndarray:
    """(N, *spatial, C) view -> (N, C, *spatial) view (``np.moveaxis(x, -1, 1)``)."""
    return x.transpose(_FIRST[x.ndim])


def channels_last_rows(x: np.ndarray) -> np.ndarray | None:
    """``x`` (N, C, *spatial) in channels-last memory as an (N, positions, C) view: each
    image a matrix with one row per position; None when x is not channels-last memory."""
    moved = to_last(x)
    if not moved.flags.c_contiguous:
        return None
    return moved.reshape(x.shape[0], -1, x.shape[1])


ALIGNMENT = 64          # bytes: a cache line, one AVX-512 register
SMALL = 4096            # bytes below which NumPy's own allocation is used as it is


def aligned_bytes(nbytes: int) -> np.ndarray:
    """A uint8 array of ``nbytes`` starting on a :data:`ALIGNMENT`-byte boundary, whatever
    its size (oneDNN's own blocked layouts and scratchpads)."""
    raw = np.empty(nbytes + ALIGNMENT, np.uint8)
    offset = -raw.__array_interface__["data"][0] % ALIGNMENT
    return raw[offset:offset + nbytes]


def aligned_empty(shape, dtype=np.float32) -> np.ndarray:
    """An uninitialised C-contiguous array of ``shape`` whose data starts on a
    :data:`ALIGNMENT`-byte boundary (NumPy's own array below :data:`SMALL` bytes)."""
    dtype = np.dtype(dtype)
    shape = tuple(int(n) for n in shape) if np.iterable(shape) else (int(shape),)
    nbytes = dtype.itemsize
    for n in shape:
        nbytes *= n
    if nbytes < SMALL:
        return np.empty(shape, dtype)
    return aligned_bytes(nbytes).view(dtype).reshape(shape)


def aligned_empty_like(x: np.ndarray, dtype=None, shape=None) -> np.ndarray:
    """:func:`aligned_empty` with ``x``'s shape (or ``shape``, of as many dims) in ``x``'s
    memory order (as ``np.empty_like``: a channels-last ``x`` gives a channels-last
    array, so does a strided view of one)."""
    dtype = x.dtype if dtype is None else np.dtype(dtype)
    shape = x.shape if shape is None else tuple(shape)
    if x.flags.c_contiguous:
        return aligned_empty(shape, dtype)
    order = sorted(range(x.ndim), key=lambda axis: -abs(x.strides[axis]))
    buffer = aligned_empty(tuple(shape[axis] for axis in order), dtype)
    return buffer.transpose(np.argsort(order))


def aligned_contiguous(x: np.ndarray) -> np.ndarray:
    """``x`` itself when it is C-contiguous, else an aligned C-contiguous copy."""
    if x.flags.c_contiguous:
        return x
    copy = aligned_empty(x.shape, x.dtype)
    np.copyto(copy, x)
    return copy
