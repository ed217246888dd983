"""Which backend computes a pooling: oneDNN's primitives where they are loaded and apply,
else the compiled kernels (max) or the reference. All write the winner of a max pooling as
the flat window offset, so any backward reads it.

Example:
    >>> import numpy as np
    >>> from convnet.ops.pool import pool_spec
    >>> x = np.arange(16.).reshape(1, 1, 4, 4)
    >>> spec = pool_spec(x.shape, x.dtype, 2)
    >>> max_forward(x, spec)[0][0, 0].tolist()
    [[5.0, 7.0], [13.0, 15.0]]
    >>> avg_forward(x, spec)[0][0, 0].tolist()
    [[2.5, 4.5], [10.5, 12.5]]
"""

from __future__ import annotations

import numpy as np

from ..onednn import library as onednn_library
from ..padding import source_index
from . import compiled, onednn, reference
from .spec import PoolSpec

BACKENDS = {"reference": reference, "compiled": compiled, "onednn": onednn}


def _max_backend(spec: PoolSpec, x: np.ndarray):
    if onednn_library.preferred() and onednn.supports(spec, x):
        return onednn
    return compiled if compiled.supports(spec, x) else reference


def max_forward(x: np.ndarray, spec: PoolSpec) -> tuple[np.ndarray, np.ndarray]:
    """Window maxima (N, C, *out) and the winning window offset of each."""
    return _max_backend(spec, x).max_forward(x, spec)


def max_backward(dy: np.ndarray, winner: np.ndarray, spec: PoolSpec) -> np.ndarray:
    """Send each output's gradient to its window's maximum."""
    return _max_backend(spec, dy).max_backward(dy, winner, spec)


def avg_forward(x: np.ndarray, spec: PoolSpec, count_include_pad: bool = True,
                divisor_override: int | None = None) -> tuple[np.ndarray, object]:
    """Window means (N, C, *out) and what :func:`avg_backward` needs: the divisor
    (``divisor_override``, or each window's cell count by PyTorch's rule), or None when
    oneDNN computed the means."""
    if onednn_library.preferred() and onednn.supports_average(spec, x, count_include_pad,
                                                              divisor_override):
        return onednn.avg_forward(x, spec, count_include_pad), None
    divisor = (divisor_override if divisor_override is not None
               else reference.window_counts(spec, count_include_pad))
    return reference.avg_forward(x, spec, divisor), divisor


def avg_backward(dy: np.ndarray, spec: PoolSpec, divisor, count_include_pad: bool = True
                 ) -> np.ndarray:
    """Spread each output's gradient evenly over its window (``divisor`` from
    :func:`avg_forward`)."""
    if divisor is None:
        return onednn.avg_backward(dy, spec, count_include_pad)
    return reference.avg_backward(dy, spec, divisor)


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
