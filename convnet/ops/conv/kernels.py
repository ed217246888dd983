"""Compiled im2col and col2im (numba) for channels-last images: the copies behind
:mod:`convnet.ops.conv.channels_last`.

An image is held as ``(N, H, W * C)`` (channels-last, the channel axis merged into
the width), and the column matrix as ``(N * out_h * out_w, k_h * k_w * C)``: one row
per output position (batch-major), one column per filter element in (i, j, c)
order. Within a window row the ``k_w * C`` values are contiguous in the image when
the dilation along W is 1, so every copy is a run of ``k_w * C`` floats (``C``
floats otherwise), never a gather of single pixels.

Each kernel takes the geometry as plain ints: ``kh`` kernel rows, ``runs`` copies
per kernel row of ``run`` floats each, ``sh``/``dh`` stride and dilation along H in
rows, ``sw``/``dw`` stride and dilation along W in floats of the merged axis
(already multiplied by C).

Every kernel runs on the calling thread, so the cores go to the matrix products between
them (OpenBLAS's threads); why parallel kernels were dropped: docs/performance.md.

Example (2x2 windows, stride 2, on a 3x4 one-channel image: the first output row):
    >>> import numpy as np
    >>> image = np.arange(12, dtype=np.float32).reshape(1, 3, 4)   # (N, H, W * C), C = 1
    >>> cols = np.empty((2, 4), np.float32)
    >>> im2col(image, 2, 1, 2, 2, 2, 1, 1, 1, 2, cols)   # kh=2, one run of 2, out 1x2
    >>> cols.tolist()
    [[0.0, 1.0, 4.0, 5.0], [2.0, 3.0, 6.0, 7.0]]
"""

from __future__ import annotations

from numba import njit



def _im2col_py(image, kh, runs, run, sh, sw, dh, dw, out_h, out_w, cols):
    """``cols[(n, y, x), (i, j, c)] = image[n, y*sh + i*dh, x*sw + j*dw + c]``."""
    batch = image.shape[0]
    for row_block in range(batch * out_h):
        n = row_block // out_h
        y = row_block % out_h
        for x in range(out_w):
            r = row_block * out_w + x
            target = cols[r]
            col = 0
            for i in range(kh):
                source_row = image[n, y * sh + i * dh]
                for j in range(runs):
                    start = x * sw + j * dw
                    # 1-D slices with 0-based indices: numba drops the negative-index
                    # checks and vectorises the copy
                    source = source_row[start:start + run]
                    part = target[col:col + run]
                    for e in range(run):
                        part[e] = source[e]
                    col += run


def _col2im_py(cols, kh, runs, run, sh, sw, dh, dw, out_h, out_w, image):
    """Adjoint of :func:`im2col`: ``image`` is overwritten with the sum of every column
    entry at the place it was copied from (windows of one image overlap and add up)."""
    batch = image.shape[0]
    for n in range(batch):
        image[n] = 0
        for y in range(out_h):
            for x in range(out_w):
                source_row = cols[(n * out_h + y) * out_w + x]
                col = 0
                for i in range(kh):
                    target_row = image[n, y * sh + i * dh]
                    for j in range(runs):
                        start = x * sw + j * dw
                        target = target_row[start:start + run]
                        source = source_row[col:col + run]
                        for e in range(run):
                            target[e] += source[e]
                        col += run


SMALL_COLUMNS = 64         # column widths up to this get a kernel compiled for their geometry
SMALL_MIN_VALUES = 1 << 20  # ... when a call copies at least this many values (else the
                            # compile, about 0.5 s, would cost more than it saves)
_SMALL_KERNELS = {}


def _small_im2col(kh: int, runs: int, run: int):
    """:func:`im2col` compiled for one (kh, runs, run): for narrow column matrices (first
    layers: C = 1 or 3) the generic kernel spends its time setting up runs of 3-5 values;
    with the counts known to the compiler the copies unroll. Compiled on first use."""
    key = (kh, runs, run)
    if key not in _SMALL_KERNELS:
        def kernel(image, kh_, runs_, run_, sh, sw, dh, dw, out_h, out_w, cols):
            batch = image.shape[0]
            for row_block in range(batch * out_h):
                n = row_block // out_h
                y = row_block % out_h
                for x in range(out_w):
                    r = row_block * out_w + x
                    for i in range(kh):
                        source = image[n, y * sh + i * dh]
                        for j in range(runs):
                            start = x * sw + j * dw
                            for e in range(run):
                                cols[r, (i * runs + j) * run + e] = source[start + e]
        _SMALL_KERNELS[key] = njit(cache=True, nogil=True)(kernel)
    return _SMALL_KERNELS[key]


def im2col_for(kh: int, runs: int, run: int, values: int):
    """The im2col kernel for this geometry and a call copying ``values`` values: the
    specialised one for narrow (at most :data:`SMALL_COLUMNS` wide) and large
    (:data:`SMALL_MIN_VALUES`) column matrices, else the generic :func:`im2col`."""
    if kh * runs * run <= SMALL_COLUMNS and values >= SMALL_MIN_VALUES:
        return _small_im2col(kh, runs, run)
    return im2col


im2col = njit(cache=True, nogil=True)(_im2col_py)
col2im = njit(cache=True, nogil=True)(_col2im_py)
