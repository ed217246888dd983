"""Histogram of oriented gradients (seed 000: "36 numbers for each 8x8 patch").

The steps, exactly as ``skimage.feature.hog`` (0.26) computes them (the tests check
agreement to 1e-7):

1. Gradient by central differences ``[-1, 0, 1]`` (not Sobel, and not halved):
   ``g_row[r] = I[r+1] - I[r-1]``, ``g_col[c] = I[:, c+1] - I[:, c-1]``, 0 on the
   first and last row (column). For (C, H, W) images each pixel keeps the channel
   with the largest gradient magnitude (the first one on ties).
2. Unsigned orientation ``atan2(g_row, g_col)`` in degrees, modulo 180, in
   ``orientations`` equal bins ``[180 i / n, 180 (i+1) / n)`` (bin edges rounded to
   float32, as skimage stores them); each pixel votes its magnitude
   ``hypot(g_row, g_col)`` into its one bin (a *hard* vote: skimage, and therefore this
   module, does not interpolate between bins or cells as Dalal and Triggs do). An angle
   that rounds to exactly 180 degrees falls in no bin (skimage's behaviour).
3. Cells of ``pixels_per_cell`` pixels, ``H // c_h`` by ``W // c_w`` of them from the
   top-left corner (leftover rows/columns at the bottom/right are ignored); a cell's
   histogram is the *mean* vote, the sum divided by ``c_h * c_w``, as in skimage
   (which matters only through the ``eps`` of step 4). skimage adds the votes of a
   cell in float32; here they are summed in float64, the source of the ~1e-8
   differences.
4. Blocks of ``cells_per_block`` cells at every cell position (stride one cell),
   each normalised on its own (eps = 1e-5): ``L1``: ``v / (|v|_1 + eps)``;
   ``L1-sqrt``: its square root; ``L2``: ``v / sqrt(|v|_2**2 + eps**2)``; ``L2-Hys``:
   L2, clip at 0.2, L2 again.

With the defaults (9 bins, 8x8 cells, 2x2 cells per block) every block holds
2 * 2 * 9 = 36 numbers, seed 000's count.

Shape: (n_blocks_row, n_blocks_col, b_row, b_col, orientations), with
``n_blocks = H // c - b + 1`` per axis; flattened (row-major) when
``feature_vector=True``.

Example:
    >>> import numpy as np
    >>> image = np.random.default_rng(0).random((32, 48))
    >>> hog(image).shape, hog(image, feature_vector=False).shape
    ((540,), (3, 5, 2, 2, 9))
"""

from __future__ import annotations

import numpy as np

from .correlation import as_image
from .gradient import dominant_channel

__all__ = ["hog", "cell_histograms", "BLOCK_NORMS"]

BLOCK_NORMS = ("L1", "L1-sqrt", "L2", "L2-Hys")
_EPS = 1e-5


def hog(image, orientations: int = 9, pixels_per_cell=(8, 8), cells_per_block=(2, 2),
        block_norm: str = "L2-Hys", feature_vector: bool = True) -> np.ndarray:
    """HOG descriptor of an (H, W) or (C, H, W) image (or an image path), float64.

    Arguments as ``skimage.feature.hog`` (its ``channel_axis=0`` for colour), but
    ``cells_per_block`` defaults to the notes' (2, 2) rather than skimage's (3, 3).

    Example:
        >>> import numpy as np
        >>> features = hog(np.random.default_rng(1).random((16, 16)), feature_vector=False)
        >>> features.shape, float(np.linalg.norm(features[0, 0])) <= 1.0
        ((1, 1, 2, 2, 9), True)
    """
    if block_norm not in BLOCK_NORMS:
        raise ValueError(f"block_norm: expected one of {', '.join(map(repr, BLOCK_NORMS))}, "
                         f"got {block_norm!r}")
    block_rows, block_cols = _pair(cells_per_block, "cells_per_block")
    histograms = cell_histograms(image, orientations, pixels_per_cell)
    cells_row, cells_col = histograms.shape[:2]
    n_rows, n_cols = cells_row - block_rows + 1, cells_col - block_cols + 1
    if n_rows < 1 or n_cols < 1:
        cell_h, cell_w = _pair(pixels_per_cell, "pixels_per_cell")
        raise ValueError(f"image: too small for {block_rows}x{block_cols}-cell blocks of "
                         f"{cell_h}x{cell_w}-pixel cells; it needs at least "
                         f"{block_rows * cell_h} rows and {block_cols * cell_w} columns")
    window = np.lib.stride_tricks.sliding_window_view(histograms, (block_rows, block_cols),
                                                      axis=(0, 1))
    # (n_rows, n_cols, orientations, b_row, b_col) -> (n_rows, n_cols, b_row, b_col, orientations)
    blocks = np.moveaxis(window, 2, -1)
    blocks = _normalise(blocks, block_norm)
    return blocks.ravel() if feature_vector else blocks


def cell_histograms(image, orientations: int = 9, pixels_per_cell=(8, 8)) -> np.ndarray:
    """Orientation histograms of every cell, mean magnitude per bin: (H // c_h, W // c_w, n).

    Steps 1-3 of the module docstring, with one ``bincount`` for all cells and bins.

    Example:
        >>> import numpy as np
        >>> step = np.zeros((8, 8)); step[:, 4:] = 1   # an edge: columns 3 and 4 see it
        >>> (cell_histograms(step)[0, 0] * 64).tolist()
        [16.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    """
    if not isinstance(orientations, (int, np.integer)) or orientations < 1:
        raise ValueError(f"orientations: expected a positive int, got {orientations!r}")
    cell_h, cell_w = _pair(pixels_per_cell, "pixels_per_cell")
    g_row, g_col = _central_gradient(image)
    cells_row, cells_col = g_row.shape[0] // cell_h, g_row.shape[1] // cell_w
    used = (slice(0, cells_row * cell_h), slice(0, cells_col * cell_w))
    g_row, g_col = g_row[used], g_col[used]
    magnitude = np.hypot(g_col, g_row)
    angle = np.arctan2(g_row, g_col) * (180 / np.pi) % 180
    edges = (180.0 / orientations * np.arange(orientations + 1)).astype(np.float32)
    bins = np.searchsorted(edges.astype(np.float64), angle, side="right") - 1
    rows = np.arange(g_row.shape[0])[:, None] // cell_h
    cols = np.arange(g_row.shape[1])[None, :] // cell_w
    index = (rows * cells_col + cols) * orientations + bins
    counted = (bins >= 0) & (bins < orientations)
    totals = np.bincount(index[counted], weights=magnitude[counted],
                         minlength=cells_row * cells_col * orientations)
    return totals.reshape(cells_row, cells_col, orientations) / (cell_h * cell_w)


def _central_gradient(image):
    image = as_image(image).astype(np.float64)
    if image.ndim not in (2, 3):
        raise ValueError(f"image: expected (H, W) or (C, H, W), got shape {image.shape}")
    g_row = np.zeros_like(image)
    g_col = np.zeros_like(image)
    g_row[..., 1:-1, :] = image[..., 2:, :] - image[..., :-2, :]
    g_col[..., :, 1:-1] = image[..., :, 2:] - image[..., :, :-2]
    if image.ndim == 3:
        g_col, g_row = dominant_channel(g_col, g_row)
    return g_row, g_col


def _normalise(blocks: np.ndarray, method: str) -> np.ndarray:
    axes = (2, 3, 4)
    if method.startswith("L1"):
        out = blocks / (np.abs(blocks).sum(axis=axes, keepdims=True) + _EPS)
        return np.sqrt(out) if method == "L1-sqrt" else out
    out = blocks / np.sqrt((blocks * blocks).sum(axis=axes, keepdims=True) + _EPS ** 2)
    if method == "L2-Hys":
        out = np.minimum(out, 0.2)
        out = out / np.sqrt((out * out).sum(axis=axes, keepdims=True) + _EPS ** 2)
    return out


def _pair(value, name: str) -> tuple[int, int]:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (value, value)
    if (not isinstance(value, (tuple, list)) or len(value) != 2
            or not all(isinstance(v, (int, np.integer)) and v >= 1 for v in value)):
        raise ValueError(f"{name}: expected a positive int or two positive ints, got {value!r}")
    return int(value[0]), int(value[1])
