"""A pooling call's arguments, validated once: :class:`PoolSpec`.

Windows, sizes and padding forms are those of convolution (:mod:`convnet.ops.windows`),
``'same'`` included (``out = (in - 1) // stride + 1``), plus ``ceil_mode`` and padding modes.

Example:
    >>> spec = pool_spec((1, 1, 4, 4), 'float32', 3, stride=2, padding='same')
    >>> spec.padding, spec.out_sizes
    (((1, 0), (1, 0)), (2, 2))
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..padding import PADDING_MODES, Pairs
from ..windows import check_padding_fits, effective_kernel, output_size, resolve_padding, to_tuple


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
