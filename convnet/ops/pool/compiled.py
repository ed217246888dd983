"""Compiled max pooling (numba): the fast backend of the pooling family.

Same results as :mod:`.reference` (the shared backend test holds it to that), computed in one
pass over the input; window cells outside the input are skipped, which is padding with -inf.

Example:
    >>> import numpy as np
    >>> from convnet.ops.pool import pool_spec
    >>> x = np.arange(16.).reshape(1, 1, 4, 4)
    >>> max_forward(x, pool_spec(x.shape, x.dtype, 2))[0][0, 0].tolist()
    [[5.0, 7.0], [13.0, 15.0]]
"""

from __future__ import annotations

import numpy as np

from ..padding import pad, pad_backward
from . import kernels, kernels2d
from .spec import PoolSpec


def supports(spec: PoolSpec, x: np.ndarray) -> bool:
    """Every max pooling of floating-point data."""
    return x.dtype in (np.float32, np.float64)


def max_forward(x: np.ndarray, spec: PoolSpec) -> tuple[np.ndarray, np.ndarray]:
    """Window maxima and winners by :mod:`.kernels` (channel-major input, any dims) or
    :mod:`.kernels2d` (2-D; channels-last input stays channels-last)."""
    source, before = _kernel_input(x, spec)
    if len(spec.kernel_size) == 2:
        kernel = (kernels2d.max_forward if kernels2d.is_channels_last(source)
                  else kernels2d.max_forward_planes)
        return kernel(source, spec.kernel_size, spec.stride, spec.dilation, before,
                      spec.out_sizes)
    return kernels.max_forward(source, spec.kernel_size, spec.stride, spec.dilation,
                                    before, spec.out_sizes)


def _kernel_input(x: np.ndarray, spec: PoolSpec):
    """What the compiled kernel reads: ``x`` with implicit padding left to the kernel, or
    ``x`` padded with real values when a ``padding_mode`` was asked for."""
    if spec.padding_mode is None:
        return x, tuple(before for before, _ in spec.padding)
    return pad(x, spec.padding, spec.padding_mode), (0,) * len(spec.padding)


def max_backward(dy: np.ndarray, winner: np.ndarray, spec: PoolSpec) -> np.ndarray:
    """Each output's gradient to its window's winner; overlapping windows accumulate."""
    source_shape = spec.input_shape[:2] + tuple(
        n + ((b + a) if spec.padding_mode is not None else 0)
        for n, (b, a) in zip(spec.input_shape[2:], spec.padding))
    before = tuple(0 if spec.padding_mode is not None else b for b, _ in spec.padding)
    args = (spec.kernel_size, spec.stride, spec.dilation, before)
    if len(spec.kernel_size) != 2:
        grad = kernels.max_backward(dy, winner, source_shape, *args)
    elif kernels2d.is_channels_last(winner):
        grad = kernels2d.max_backward(dy, winner, source_shape, *args)
    else:
        grad = kernels2d.max_backward_planes(dy, winner, source_shape, *args)
    if spec.padding_mode is None:
        return grad
    return pad_backward(grad, spec.input_shape, spec.padding, spec.padding_mode)
