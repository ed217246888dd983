"""Max and average pooling over sliding windows, in 1, 2 or 3 dims (forward and backward).

Windows, sizes and padding forms are those of convolution (:mod:`convnet.ops.windows`),
``'same'`` included: ``out = (in - 1) // stride + 1``, the window centred on the
output pixel's input position (seed 000, "Maxpool Layer"). What fills the padding:

- max pooling: ``-inf`` (never zeros: a window of negative values keeps its maximum);
- average pooling: zeros, counted in the divisor or not (``count_include_pad``);
- with ``padding_mode`` (``'reflect'``, ``'replicate'``, ``'circular'``, ``'symmetric'``,
  or ``'zeros'`` on purpose) the input is padded with real values first, as
  :func:`convnet.ops.padding.pad` does, and every window cell counts.

The kernels loop over the ``prod(kernel_size)`` offsets of the window (a handful),
each step a strided NumPy operation over every output at once; never over pixels.
Max pooling keeps the first maximum in row-major window order, so ties send the
whole gradient to that element (as PyTorch's CPU kernel does).

Example:
    >>> import numpy as np
    >>> x = -np.arange(16.).reshape(1, 1, 4, 4)
    >>> spec = pool_spec(x.shape, x.dtype, 3, stride=2, padding='same')
    >>> max_forward(x, spec)[0][0, 0]
    array([[-0., -1.],
           [-4., -5.]])
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from . import pool2d_kernels, pool_kernels
from .padding import PADDING_MODES, Pairs, pad, pad_backward, source_index
from .windows import check_padding_fits, effective_kernel, output_size, resolve_padding, to_tuple


@dataclass(frozen=True)
class PoolSpec:
    """Validated hyperparameters and shapes of one pooling call."""

    input_shape: tuple[int, ...]     # (N, C, *spatial)
    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    padding: Pairs                   # (before, after) per spatial dim, from the user
    overhang: tuple[int, ...]        # extra cells past the end that ceil_mode windows reach
    padding_mode: str | None         # None: implicit padding (-inf for max, 0 for average)
    out_sizes: tuple[int, ...]

    @property
    def full_padding(self) -> Pairs:
        return tuple((b, a + extra) for (b, a), extra in zip(self.padding, self.overhang))

    @property
    def output_shape(self) -> tuple[int, ...]:
        return self.input_shape[:2] + self.out_sizes


def pool_spec(input_shape, input_dtype, kernel_size, stride=None, padding=0, dilation=1,
              ceil_mode=False, padding_mode=None, spatial_dims=None) -> PoolSpec:
    """Validate pooling arguments; resolve padding, ceil_mode overhang and output size."""
    input_shape = tuple(input_shape)
    ndim = len(input_shape) - 2 if spatial_dims is None else spatial_dims
    if not np.issubdtype(np.dtype(input_dtype), np.floating):
        raise TypeError(f"input: expected a floating-point array, got dtype {np.dtype(input_dtype)}")
    if len(input_shape) != ndim + 2:
        raise ValueError(f"input: expected {ndim + 2} dims (N, C and {ndim} spatial) for "
                         f"{ndim}-d pooling, got shape {input_shape}")
    kernel_size = to_tuple(kernel_size, ndim, "kernel_size")
    stride = kernel_size if stride is None else to_tuple(stride, ndim, "stride")
    dilation = to_tuple(dilation, ndim, "dilation")
    if padding_mode is not None and padding_mode not in PADDING_MODES:
        raise ValueError(f"padding_mode: expected None (implicit padding) or one of "
                         f"{', '.join(map(repr, PADDING_MODES))}, got {padding_mode!r}")
    in_sizes = input_shape[2:]
    pairs = resolve_padding(padding, in_sizes, kernel_size, stride, dilation)
    if padding_mode is not None:
        check_padding_fits(pairs, in_sizes, padding_mode)
    out_sizes, overhang = [], []
    for dim, (n, k, s, d, (b, a)) in enumerate(zip(in_sizes, kernel_size, stride, dilation, pairs)):
        size = output_size(n, k, s, d, b, a, ceil_mode)
        span = effective_kernel(k, d)
        if size < 1:
            raise ValueError(f"kernel_size: window {kernel_size} (dilation {dilation}) is larger "
                             f"than the padded input in spatial dim {dim} (size {n}, padding "
                             f"{(b, a)})")
        if padding_mode is None and (b >= span or (size - 1) * s - b >= n):
            raise ValueError(f"padding: {(b, a)} in spatial dim {dim} leaves a window of "
                             f"{kernel_size} entirely in the padding (input size {n}, stride {s})")
        out_sizes.append(size)
        overhang.append(max(0, (size - 1) * s + span - (n + b + a)))
    return PoolSpec(input_shape, kernel_size, stride, dilation, pairs, tuple(overhang),
                    padding_mode, tuple(out_sizes))


def _offsets(spec: PoolSpec):
    """Each window offset with the strided slice of the padded input it reads."""
    for offset in itertools.product(*(range(k) for k in spec.kernel_size)):
        window = tuple(slice(o * d, o * d + s * (size - 1) + 1, s) for o, d, s, size
                       in zip(offset, spec.dilation, spec.stride, spec.out_sizes))
        yield offset, (Ellipsis,) + window


def _padded(x: np.ndarray, spec: PoolSpec, fill: float) -> np.ndarray:
    if spec.padding_mode is None:
        return pad(x, spec.full_padding, "zeros", value=fill)
    x = pad(x, spec.padding, spec.padding_mode)
    overhang = tuple((0, extra) for extra in spec.overhang)
    return pad(x, overhang, "zeros", value=fill)


def _unpadded_gradient(grad_padded: np.ndarray, spec: PoolSpec) -> np.ndarray:
    if spec.padding_mode is None:
        return pad_backward(grad_padded, spec.input_shape, spec.full_padding, "zeros")
    mode_padded = spec.input_shape[:2] + tuple(
        n + b + a for n, (b, a) in zip(spec.input_shape[2:], spec.padding))
    grad = pad_backward(grad_padded, mode_padded, tuple((0, e) for e in spec.overhang), "zeros")
    return pad_backward(grad, spec.input_shape, spec.padding, spec.padding_mode)


# ---------------------------------------------------------------------------- max
def max_forward(x: np.ndarray, spec: PoolSpec) -> tuple[np.ndarray, np.ndarray]:
    """Window maxima (N, C, *out) and the winning window offset of each, as a flat index.

    Uses the compiled kernels of :mod:`convnet.ops.pool_kernels` (channel-major input) or
    :mod:`convnet.ops.pool2d_kernels` (2-D, channels-last input, kept channels-last) when
    numba is installed, else :func:`max_forward_numpy`; all give identical results.
    """
    if not pool_kernels.AVAILABLE:
        return max_forward_numpy(x, spec)
    source, before = _kernel_input(x, spec)
    if len(spec.kernel_size) == 2:
        kernel = (pool2d_kernels.max_forward if pool2d_kernels.is_channels_last(source)
                  else pool2d_kernels.max_forward_planes)
        return kernel(source, spec.kernel_size, spec.stride, spec.dilation, before,
                      spec.out_sizes)
    return pool_kernels.max_forward(source, spec.kernel_size, spec.stride, spec.dilation,
                                    before, spec.out_sizes)


def _kernel_input(x: np.ndarray, spec: PoolSpec):
    """What the compiled kernel reads: ``x`` with implicit padding left to the kernel, or
    ``x`` padded with real values when a ``padding_mode`` was asked for."""
    if spec.padding_mode is None:
        return x, tuple(before for before, _ in spec.padding)
    return pad(x, spec.padding, spec.padding_mode), (0,) * len(spec.padding)


def max_forward_numpy(x: np.ndarray, spec: PoolSpec) -> tuple[np.ndarray, np.ndarray]:
    """:func:`max_forward` in NumPy: one strided comparison per window offset."""
    x_padded = _padded(x, spec, -np.inf)
    offsets = _offsets(spec)
    _, first = next(offsets)
    best = x_padded[first].copy()
    winner = np.zeros(best.shape, dtype=np.int16 if math.prod(spec.kernel_size) < 32768
                      else np.int64)
    for flat, (_, window) in enumerate(offsets, start=1):
        candidate = x_padded[window]
        # strict: ties keep the first maximum in scan order; a NaN wins (the last one), as torch
        better = (candidate > best) | np.isnan(candidate)
        np.copyto(best, candidate, where=better)
        np.copyto(winner, flat, where=better)
    return best, winner


def max_backward(dy: np.ndarray, winner: np.ndarray, spec: PoolSpec) -> np.ndarray:
    """Send each output's gradient to its window's maximum; overlapping windows accumulate."""
    if not pool_kernels.AVAILABLE:
        return max_backward_numpy(dy, winner, spec)
    source_shape = spec.input_shape[:2] + tuple(
        n + ((b + a) if spec.padding_mode is not None else 0)
        for n, (b, a) in zip(spec.input_shape[2:], spec.padding))
    before = tuple(0 if spec.padding_mode is not None else b for b, _ in spec.padding)
    args = (spec.kernel_size, spec.stride, spec.dilation, before)
    if len(spec.kernel_size) != 2:
        grad = pool_kernels.max_backward(dy, winner, source_shape, *args)
    elif pool2d_kernels.is_channels_last(winner):
        grad = pool2d_kernels.max_backward(dy, winner, source_shape, *args)
    elif pool2d_kernels.tiles_exactly(source_shape, *args):
        grad = pool2d_kernels.max_backward_planes(dy, winner, source_shape, spec.kernel_size)
    else:
        grad = pool_kernels.max_backward(dy, winner, source_shape, *args)
    if spec.padding_mode is None:
        return grad
    return pad_backward(grad, spec.input_shape, spec.padding, spec.padding_mode)


def max_backward_numpy(dy: np.ndarray, winner: np.ndarray, spec: PoolSpec) -> np.ndarray:
    """:func:`max_backward` in NumPy: one strided masked add per window offset."""
    padded_shape = spec.input_shape[:2] + tuple(
        n + b + a for n, (b, a) in zip(spec.input_shape[2:], spec.full_padding))
    grad = np.zeros(padded_shape, dtype=dy.dtype)
    for flat, (_, window) in enumerate(_offsets(spec)):
        grad[window] += np.where(winner == flat, dy, 0)
    return _unpadded_gradient(grad, spec)


def max_indices(winner: np.ndarray, spec: PoolSpec) -> np.ndarray:
    """Flat index of each maximum inside its input plane (PyTorch's ``return_indices``)."""
    offsets = np.unravel_index(winner, spec.kernel_size)
    in_sizes = spec.input_shape[2:]
    flat = np.zeros(winner.shape, dtype=np.int64)
    ndim = len(in_sizes)
    for dim, (offset, n, s, d, (b, a), out) in enumerate(zip(
            offsets, in_sizes, spec.stride, spec.dilation, spec.padding, spec.out_sizes)):
        starts = (np.arange(out) * s - b).reshape((out,) + (1,) * (ndim - dim - 1))
        coordinate = starts + offset.astype(np.int64) * d
        if spec.padding_mode is not None:  # a border cell stands for the input cell it copies
            coordinate = source_index(n, b, a, spec.padding_mode)[coordinate + b]
        flat = flat * n + coordinate
    return flat


# ------------------------------------------------------------------------ average
def window_counts(spec: PoolSpec, count_include_pad: bool) -> np.ndarray:
    """Divisor of each output: window cells inside the input (or inside input + padding).

    Cells a ``ceil_mode`` window reaches past the padding never count (PyTorch's rule).
    Shape (*out_sizes), the outer product of one count per spatial dim.
    """
    counts = np.ones((), dtype=np.float64)
    include = count_include_pad or spec.padding_mode is not None
    for n, k, s, d, (b, a), out in zip(spec.input_shape[2:], spec.kernel_size, spec.stride,
                                       spec.dilation, spec.padding, spec.out_sizes):
        start = np.arange(out) * s - b
        cells = start[:, None] + np.arange(k) * d
        low, high = (-b, n + a) if include else (0, n)
        per_dim = ((cells >= low) & (cells < high)).sum(axis=1)
        counts = np.multiply.outer(counts, per_dim)
    return counts


def avg_forward(x: np.ndarray, spec: PoolSpec, divisor: np.ndarray | float) -> np.ndarray:
    """Window sums divided by ``divisor`` (a number or an array of shape (*out))."""
    x_padded = _padded(x, spec, 0.0)
    total = None
    for _, window in _offsets(spec):
        total = x_padded[window].copy() if total is None else np.add(total, x_padded[window],
                                                                       out=total)
    return (total / divisor).astype(x.dtype, copy=False)


def avg_backward(dy: np.ndarray, spec: PoolSpec, divisor: np.ndarray | float) -> np.ndarray:
    """Spread each output's gradient evenly over its window's cells."""
    padded_shape = spec.input_shape[:2] + tuple(
        n + b + a for n, (b, a) in zip(spec.input_shape[2:], spec.full_padding))
    grad = np.zeros(padded_shape, dtype=dy.dtype)
    share = (dy / divisor).astype(dy.dtype, copy=False)
    for _, window in _offsets(spec):
        grad[window] += share
    return _unpadded_gradient(grad, spec)
