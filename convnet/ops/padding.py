"""Padding the spatial dimensions of an NC... array, forward and backward.

Modes (the notes' names in brackets; seed 000 "Padding"):

==============  ================================  =========  ============  =============
convnet         what the border holds             NumPy      SciPy ndimage  OpenCV
==============  ================================  =========  ============  =============
``zeros``       zeros [zero-padding]              constant   constant      BORDER_CONSTANT
``replicate``   the edge sample repeated [clamp]  edge       nearest       BORDER_REPLICATE
``circular``    the other side [wrap]             wrap       grid-wrap     BORDER_WRAP
``reflect``     mirror, edge not repeated         reflect    mirror        BORDER_REFLECT_101
                [mirror]: ``d c b | a b c d``
``symmetric``   mirror, edge repeated [mirror]:   symmetric  reflect       BORDER_REFLECT
                ``c b a | a b c d``
==============  ================================  =========  ============  =============

The notes' "mirror" padding can mean either of the last two; ``reflect`` is
PyTorch's meaning, ``symmetric`` the one PyTorch lacks.

Example:
    >>> import numpy as np
    >>> from convnet.ops.padding import pad
    >>> pad(np.array([[[1., 2., 3.]]]), ((2, 2),), 'reflect')
    array([[[3., 2., 1., 2., 3., 2., 1.]]])
    >>> pad(np.array([[[1., 2., 3.]]]), ((2, 2),), 'symmetric')
    array([[[2., 1., 1., 2., 3., 3., 2.]]])
"""

from __future__ import annotations

import numpy as np

from .layout import aligned_empty_like

PADDING_MODES = ("zeros", "reflect", "replicate", "circular", "symmetric")
_NUMPY_MODE = {"reflect": "reflect", "replicate": "edge", "circular": "wrap",
               "symmetric": "symmetric"}

Pairs = tuple[tuple[int, int], ...]


def pad(x: np.ndarray, pairs: Pairs, mode: str = "zeros", value: float = 0.0) -> np.ndarray:
    """Pad the trailing ``len(pairs)`` dimensions of ``x``.

    Args:
        x: array of shape (N, C, *spatial) (any leading dims).
        pairs: one (before, after) pair per spatial dim, non-negative.
        mode: one of :data:`PADDING_MODES`.
        value: the fill for ``zeros`` mode (``-inf`` for max pooling).

    Returns:
        Array of shape (..., spatial[i] + before[i] + after[i], ...).
    """
    if not any(before or after for before, after in pairs):
        return x
    leading = x.ndim - len(pairs)
    if mode == "zeros":
        shape = x.shape[:leading] + tuple(n + b + a for n, (b, a) in zip(x.shape[leading:], pairs))
        out = aligned_empty_like(x, shape=shape)     # x's memory order (channels-last stays)
        fill_border(out, pairs, value)
        out[interior(x.shape, pairs)] = x
        return out
    return np.pad(x, ((0, 0),) * leading + tuple(pairs), mode=_NUMPY_MODE[mode])


def fill_border(out: np.ndarray, pairs: Pairs, value: float = 0.0) -> None:
    """Write ``value`` into the border that ``pairs`` add to the trailing dims of ``out`` (any
    memory layout): the constant padding, for a caller that fills the interior itself."""
    leading = out.ndim - len(pairs)
    for dim, (before, after) in enumerate(pairs):
        size = out.shape[leading + dim]
        edges = [slice(None)] * out.ndim
        edges[leading + dim] = slice(0, before)
        out[tuple(edges)] = value
        edges[leading + dim] = slice(size - after, size)
        out[tuple(edges)] = value


def interior(in_shape: tuple[int, ...], pairs: Pairs) -> tuple[slice, ...]:
    """Index of the unpadded input inside a padded array."""
    leading = len(in_shape) - len(pairs)
    return (slice(None),) * leading + tuple(
        slice(before, before + size) for (before, _), size in zip(pairs, in_shape[leading:]))


def source_index(size: int, before: int, after: int, mode: str) -> np.ndarray:
    """For each position of a padded axis, the input index whose value it holds.

    Example:
        >>> source_index(3, 2, 1, 'symmetric').tolist()
        [1, 0, 0, 1, 2, 2]
    """
    positions = np.arange(-before, size + after)
    if mode == "replicate":
        return np.clip(positions, 0, size - 1)
    if mode == "circular":
        return positions % size
    if mode == "reflect":
        period = 2 * (size - 1) if size > 1 else 1
        folded = positions % period
        return np.where(folded < size, folded, period - folded)
    if mode == "symmetric":
        folded = positions % (2 * size)
        return np.where(folded < size, folded, 2 * size - 1 - folded)
    raise ValueError(f"padding_mode: no source index for mode {mode!r}")


def pad_backward(grad: np.ndarray, in_shape: tuple[int, ...], pairs: Pairs,
                 mode: str = "zeros") -> np.ndarray:
    """Gradient of :func:`pad`: fold ``grad`` (padded shape) back onto ``in_shape``.

    For ``zeros`` the border is dropped; for the other modes each border cell
    adds its gradient to the input cell it copied, one spatial axis at a time.
    """
    if not any(before or after for before, after in pairs):
        return grad
    if mode == "zeros":
        return grad[interior(in_shape, pairs)]
    leading = len(in_shape) - len(pairs)
    for axis_offset, ((before, after), size) in enumerate(zip(pairs, in_shape[leading:])):
        axis = leading + axis_offset
        if not (before or after):
            continue
        moved = np.moveaxis(grad, axis, -1)
        folded = moved[..., before:before + size].copy()
        sources = source_index(size, before, after, mode)
        border = np.r_[0:before, before + size:before + size + after]
        np.add.at(folded, (..., sources[border]), moved[..., border])
        grad = np.moveaxis(folded, -1, axis)
    return grad
