"""Template matching (seed 001 "Template Matching - Matched Filter"), OpenCV's three scores.

For a template ``T`` (h x w, ``n = h * w`` pixels per channel) and the image window
``I_p`` whose top-left corner is at ``p`` (the 'valid' positions: ``H - h + 1`` by
``W - w + 1``), with sums over the window's pixels and channels:

================  ==========================================================  ==================
``method``        score                                                       OpenCV
================  ==========================================================  ==================
``'correlation'`` ``sum T * I_p`` (the matched filter: one correlation)       TM_CCORR
``'ssd'``         ``sum (T - I_p)**2 = sum T**2 - 2 sum T*I_p + sum I_p**2``  TM_SQDIFF
``'ncc'``         ``sum T' I_p' / sqrt(sum T'**2 * sum I_p'**2)``, where      TM_CCOEFF_NORMED
                  ``T' = T - mean(T)`` and ``I_p' = I_p - mean(I_p)`` (per
                  channel): the correlation coefficient, in [-1, 1]
================  ==========================================================  ==================

The best match is the largest score, except for ``'ssd'`` (the smallest). Vectorised:
one correlation of the image with the (centred) template, plus window sums of ``I``
and ``I**2`` from cumulative sums along each axis. Both the image and the template are
shifted by the image's mean first, which changes neither SSD nor NCC and keeps the
subtractions exact-ish. Conventions for degenerate windows, as OpenCV: a window with no
variation (``sum I_p'**2 <= 1e-12 * n * scale**2``, ``scale`` the largest ``|I - mean|``)
scores 0 under NCC, and a constant template scores 1 everywhere.

Images are (H, W) or (C, H, W) (or image paths); templates (h, w) or (C, h, w).

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> image = rng.random((20, 30))
    >>> best_match(image, image[5:11, 12:20])
    (5, 12)
    >>> best_match(image, image[5:11, 12:20], method='ssd')
    (5, 12)
"""

from __future__ import annotations

import numpy as np

from .correlation import as_image, correlate_valid

__all__ = ["match_template", "best_match", "METHODS"]

METHODS = ("ncc", "ssd", "correlation")
_FLAT_WINDOW = 1e-12


def match_template(image, template, method: str = "ncc") -> np.ndarray:
    """Score of ``template`` at every position where it fits inside ``image``.

    Args:
        image: (H, W) or (C, H, W), or an image path.
        template: (h, w) or (C, h, w) with h <= H, w <= W.
        method: ``'ncc'`` (TM_CCOEFF_NORMED), ``'ssd'`` (TM_SQDIFF) or
            ``'correlation'`` (TM_CCORR).

    Returns:
        (H - h + 1, W - w + 1) scores in the image's floating dtype; entry ``[r, c]``
        scores the window with top-left pixel ``(r, c)``.

    Example:
        >>> import numpy as np
        >>> match_template(np.eye(4), np.eye(2), method='correlation').tolist()
        [[2.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 2.0]]
    """
    if method not in METHODS:
        raise ValueError(f"method: expected one of {', '.join(map(repr, METHODS))}, got {method!r}")
    image, template = _channels_first(image, template)
    dtype = image.dtype
    image, template = image.astype(np.float64), template.astype(np.float64)
    if method == "correlation":
        return correlate_valid(image[None], template[None])[0, 0].astype(dtype)
    offset = image.mean()
    image, template = image - offset, template - offset
    pixels = template.shape[1] * template.shape[2]
    window_sum = _window_sums(image, template.shape[1:])
    if method == "ssd":
        window_squares = _window_sums(image * image, template.shape[1:]).sum(axis=0)
        cross = correlate_valid(image[None], template[None])[0, 0]
        scores = (template * template).sum() - 2.0 * cross + window_squares
        return np.maximum(scores, 0.0).astype(dtype)
    centred = template - template.mean(axis=(1, 2), keepdims=True)
    template_energy = (centred * centred).sum()
    out_shape = window_sum.shape[1:]
    if template_energy <= 0.0:
        return np.ones(out_shape, dtype=dtype)
    window_squares = _window_sums(image * image, template.shape[1:])
    window_energy = np.maximum((window_squares - window_sum * window_sum / pixels).sum(axis=0), 0.0)
    cross = correlate_valid(image[None], centred[None])[0, 0]
    scale = np.abs(image).max(initial=0.0)
    flat = window_energy <= _FLAT_WINDOW * pixels * image.shape[0] * scale * scale
    denominator = np.sqrt(window_energy * template_energy)
    scores = np.where(flat, 0.0, cross / np.where(flat, 1.0, denominator))
    return np.clip(scores, -1.0, 1.0).astype(dtype)


def best_match(image, template, method: str = "ncc") -> tuple[int, int]:
    """(row, col) of the top-left corner of the best window: max score, min for ``'ssd'``.

    Ties go to the first position in row-major order.

    Example:
        >>> import numpy as np
        >>> image = np.zeros((6, 6)); image[3:5, 1:3] = [[1, 2], [3, 4]]
        >>> best_match(image, [[1, 2], [3, 4]])
        (3, 1)
    """
    scores = match_template(image, template, method)
    flat_index = scores.argmin() if method == "ssd" else scores.argmax()
    row, col = np.unravel_index(flat_index, scores.shape)
    return int(row), int(col)


def _channels_first(image, template):
    image = as_image(image)
    template = as_image(template, "template")
    if image.ndim == 2:
        image = image[None]
    if template.ndim == 2:
        template = template[None]
    if image.ndim != 3 or template.ndim != 3 or image.shape[0] != template.shape[0]:
        raise ValueError(f"image, template: expected (H, W) and (h, w), or (C, H, W) and "
                         f"(C, h, w), got {image.shape} and {template.shape}")
    if not template.size or any(t > i for t, i in zip(template.shape[1:], image.shape[1:])):
        raise ValueError(f"template: a non-empty template no larger than the image "
                         f"{image.shape[1:]} is needed, got {template.shape[1:]}")
    return image, template


def _window_sums(values: np.ndarray, window) -> np.ndarray:
    """Sums of ``values`` (C, H, W) over every window of size ``window``: (C, H-h+1, W-w+1).

    Cumulative sums along one axis at a time (the rounding error grows with one row or
    column, not with the whole image as an integral image's would).
    """
    for axis, size in zip((1, 2), window):
        totals = np.cumsum(values, axis=axis)
        zero = np.zeros_like(np.take(totals, [0], axis=axis))
        totals = np.concatenate([zero, totals], axis=axis)
        upper = np.take(totals, np.arange(size, totals.shape[axis]), axis=axis)
        lower = np.take(totals, np.arange(0, totals.shape[axis] - size), axis=axis)
        values = upper - lower
    return values
