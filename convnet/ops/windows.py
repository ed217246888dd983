"""Sliding windows shared by convolution and pooling: sizes, padding rules, im2col, col2im.

Output size along one spatial dim, for an input of size ``in``, kernel ``k``,
stride ``s``, dilation ``d`` and padding ``before``/``after``::

    effective kernel  ke  = d * (k - 1) + 1
    out = floor((in + before + after - ke) / s) + 1        (ceil with ceil_mode)

Padding rules (``resolve_padding``):

- ``'valid'``: no padding, ``out = (in - ke) // s + 1``.
- ``'same'`` (the notes, seed 000 "For Your Homework"): ``out = (in - 1) // s + 1``
  for every stride, with the filter centred on the top-left pixel; the centre of
  an even filter is the top-left of its central square, so ``before = (ke - 1) // 2``
  and ``after`` is what the last window needs. At stride 1 this equals PyTorch's
  ``padding='same'``.
- ``'full'``: ``before = after = ke - 1``: every window that touches the input.

im2col uses the notes' matrix layout ("Convolutions as Matrix Operations"): one
row per filter element in CHW order (``C * k_h * k_w`` rows) and one column per
output position, batch items side by side (``N * out_h * out_w`` columns), so a
convolution is one matrix product ``W @ cols`` per group.

Example:
    >>> same_padding(5, 3, stride=2, dilation=1)
    (1, 1)
    >>> output_size(5, 3, stride=2, dilation=1, before=1, after=1)
    3
"""

from __future__ import annotations

import itertools
import math
from numbers import Integral

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .padding import Pairs

PADDING_STRINGS = ("valid", "same", "full")


def to_tuple(value, ndim: int, name: str, minimum: int = 1) -> tuple[int, ...]:
    """``value`` (int or sequence of ``ndim`` ints) as a tuple, each at least ``minimum``."""
    if isinstance(value, Integral) and not isinstance(value, bool):
        values = (int(value),) * ndim
    elif isinstance(value, (tuple, list)) and all(
            isinstance(v, Integral) and not isinstance(v, bool) for v in value):
        values = tuple(int(v) for v in value)
        if len(values) == 1 and ndim > 1:
            values = values * ndim
        if len(values) != ndim:
            raise ValueError(f"{name}: expected an int or {ndim} ints, got {value!r}")
    else:
        raise TypeError(f"{name}: expected an int or a tuple of {ndim} ints, got {value!r}")
    if any(v < minimum for v in values):
        raise ValueError(f"{name}: every value must be >= {minimum}, got {value!r}")
    return values


def effective_kernel(kernel_size: int, dilation: int) -> int:
    """Span of a dilated kernel: ``dilation * (kernel_size - 1) + 1``."""
    return dilation * (kernel_size - 1) + 1


def output_size(in_size: int, kernel_size: int, stride: int, dilation: int,
                before: int, after: int, ceil_mode: bool = False) -> int:
    """Number of window positions along one dim (see the module docstring)."""
    span = in_size + before + after - effective_kernel(kernel_size, dilation)
    if span < 0:
        return 0
    if not ceil_mode:
        return span // stride + 1
    out = -(-span // stride) + 1
    # as PyTorch: the last window must start inside the input or the left padding
    if (out - 1) * stride >= in_size + before:
        out -= 1
    return out


def same_padding(in_size: int, kernel_size: int, stride: int, dilation: int) -> tuple[int, int]:
    """(before, after) padding for the notes' 'same': ``out = (in - 1) // stride + 1``."""
    span = effective_kernel(kernel_size, dilation)
    out = (in_size - 1) // stride + 1
    before = (span - 1) // 2
    after = max(0, (out - 1) * stride + span - in_size - before)
    return before, after


def resolve_padding(padding, in_sizes: tuple[int, ...], kernel_size: tuple[int, ...],
                    stride: tuple[int, ...], dilation: tuple[int, ...]) -> Pairs:
    """Turn any accepted ``padding`` form into one (before, after) pair per spatial dim.

    Accepted: an int; a tuple of one int per spatial dim; a tuple of (before, after)
    pairs, one per spatial dim; ``'valid'``, ``'same'`` or ``'full'``.
    """
    ndim = len(in_sizes)
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * ndim
        if padding == "same":
            return tuple(same_padding(n, k, s, d)
                         for n, k, s, d in zip(in_sizes, kernel_size, stride, dilation))
        if padding == "full":
            return tuple((effective_kernel(k, d) - 1,) * 2 for k, d in zip(kernel_size, dilation))
        raise ValueError(f"padding: unknown padding string {padding!r}; expected an int, a "
                         f"tuple, or one of {', '.join(map(repr, PADDING_STRINGS))}")
    if isinstance(padding, (tuple, list)) and padding and all(
            isinstance(p, (tuple, list)) for p in padding):
        if len(padding) != ndim or any(len(p) != 2 for p in padding):
            raise ValueError(f"padding: expected {ndim} (before, after) pairs, got {padding!r}")
        pairs = tuple((p[0], p[1]) for p in padding)
        flat = [v for pair in pairs for v in pair]
    else:
        try:
            sizes = to_tuple(padding, ndim, "padding", minimum=-(1 << 62))
        except TypeError:
            raise TypeError(f"padding: expected an int, a tuple of {ndim} ints, {ndim} "
                            f"(before, after) pairs or a padding string, got {padding!r}") from None
        pairs = tuple((p, p) for p in sizes)
        flat = list(sizes)
    if not all(isinstance(v, Integral) and not isinstance(v, bool) for v in flat):
        raise TypeError(f"padding: expected integers, got {padding!r}")
    if any(v < 0 for v in flat):
        raise ValueError(f"padding: must be non-negative, got {padding!r}")
    return tuple((int(b), int(a)) for b, a in pairs)


def check_padding_fits(pairs, in_sizes: tuple[int, ...], mode: str) -> None:
    """Raise ValueError when ``mode`` cannot make ``pairs`` of padding from inputs of ``in_sizes``.

    ``reflect`` needs padding smaller than the input (the edge is not repeated),
    ``symmetric`` and ``circular`` at most the input size; ``replicate`` and
    ``zeros`` take any amount.
    """
    for dim, ((before, after), size) in enumerate(zip(pairs, in_sizes)):
        largest = max(before, after)
        if mode == "reflect" and largest >= size:
            raise ValueError(f"padding: 'reflect' padding must be smaller than the input, got "
                             f"{largest} for spatial dim {dim} of size {size}")
        if mode in ("symmetric", "circular") and largest > size:
            raise ValueError(f"padding: {mode!r} padding must be at most the input size, got "
                             f"{largest} for spatial dim {dim} of size {size}")


def window_view(x_padded: np.ndarray, kernel_size: tuple[int, ...], stride: tuple[int, ...],
                dilation: tuple[int, ...], out_sizes: tuple[int, ...]) -> np.ndarray:
    """Zero-copy view of every window: shape (N, C, *kernel_size, *out_sizes).

    ``view[n, c, i, j, y, x] == x_padded[n, c, y*stride + i*dilation, x*stride + j*dilation]``
    (2-D case; any number of spatial dims).
    """
    ndim = len(kernel_size)
    lead_strides = x_padded.strides[:-ndim]
    spatial_strides = x_padded.strides[-ndim:]
    shape = x_padded.shape[:-ndim] + tuple(kernel_size) + tuple(out_sizes)
    strides = (lead_strides + tuple(st * d for st, d in zip(spatial_strides, dilation))
               + tuple(st * s for st, s in zip(spatial_strides, stride)))
    return as_strided(x_padded, shape=shape, strides=strides, writeable=False)


def im2col(x_padded: np.ndarray, kernel_size: tuple[int, ...], stride: tuple[int, ...],
           dilation: tuple[int, ...], out_sizes: tuple[int, ...]) -> np.ndarray:
    """Column matrix of a padded batch, in the notes' layout.

    Args:
        x_padded: (N, C, *padded_spatial).

    Returns:
        cols of shape (C * prod(kernel_size), N * prod(out_sizes)); row
        ``(c, i, j)`` in CHW order, column ``(n, y, x)``.

    Example (seed 000's 2x2 stride-2 example on one 3x4 channel):
        >>> x = np.arange(12.).reshape(1, 1, 3, 4)
        >>> from convnet.ops.padding import pad
        >>> im2col(pad(x, ((0, 1), (0, 0))), (2, 2), (2, 2), (1, 1), (2, 2))
        array([[ 0.,  2.,  8., 10.],
               [ 1.,  3.,  9., 11.],
               [ 4.,  6.,  0.,  0.],
               [ 5.,  7.,  0.,  0.]])
    """
    n, c = x_padded.shape[:2]
    ndim = len(kernel_size)
    view = window_view(x_padded, kernel_size, stride, dilation, out_sizes)
    # (N, C, *k, *out) -> (C, *k, N, *out)
    order = (1,) + tuple(range(2, 2 + ndim)) + (0,) + tuple(range(2 + ndim, 2 + 2 * ndim))
    cols = np.empty((c,) + tuple(kernel_size) + (n,) + tuple(out_sizes), dtype=x_padded.dtype)
    np.copyto(cols, view.transpose(order))
    return cols.reshape(c * math.prod(kernel_size), n * math.prod(out_sizes))


def col2im(cols: np.ndarray, padded_shape: tuple[int, ...], kernel_size: tuple[int, ...],
           stride: tuple[int, ...], dilation: tuple[int, ...],
           out_sizes: tuple[int, ...]) -> np.ndarray:
    """Adjoint of :func:`im2col`: add every column back where its window came from.

    Args:
        cols: (C * prod(kernel_size), N * prod(out_sizes)), the layout of :func:`im2col`.
        padded_shape: (N, C, *padded_spatial).

    Returns:
        Array of ``padded_shape`` (a channel-major view: memory order C, N, ...).
        Overlapping windows accumulate. One strided add per kernel element, none
        per pixel or window.
    """
    n, c = padded_shape[:2]
    ndim = len(kernel_size)
    blocks = cols.reshape((c,) + tuple(kernel_size) + (n,) + tuple(out_sizes))
    image = np.zeros((c, n) + tuple(padded_shape[2:]), dtype=cols.dtype)
    for offset in itertools.product(*(range(k) for k in kernel_size)):
        target = tuple(slice(o * d, o * d + s * (size - 1) + 1, s)
                       for o, d, s, size in zip(offset, dilation, stride, out_sizes))
        image[(slice(None), slice(None)) + target] += blocks[(slice(None),) + offset]
    return image.transpose((1, 0) + tuple(range(2, 2 + ndim)))
