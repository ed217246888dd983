"""Which backend computes a max pooling: the compiled kernels where they apply, else the
reference. Both write the winner as the flat window offset, so either backward reads it.

Example:
    >>> import numpy as np
    >>> from convnet.ops.pool import pool_spec
    >>> x = np.arange(16.).reshape(1, 1, 4, 4)
    >>> spec = pool_spec(x.shape, x.dtype, 2)
    >>> max_forward(x, spec)[0][0, 0].tolist()
    [[5.0, 7.0], [13.0, 15.0]]
"""

from __future__ import annotations

import numpy as np

from ..padding import source_index
from . import compiled, reference
from .spec import PoolSpec

BACKENDS = {"reference": reference, "compiled": compiled}


def max_forward(x: np.ndarray, spec: PoolSpec) -> tuple[np.ndarray, np.ndarray]:
    """Window maxima (N, C, *out) and the winning window offset of each."""
    backend = compiled if compiled.supports(spec, x) else reference
    return backend.max_forward(x, spec)


def max_backward(dy: np.ndarray, winner: np.ndarray, spec: PoolSpec) -> np.ndarray:
    """Send each output's gradient to its window's maximum."""
    backend = compiled if compiled.supports(spec, dy) else reference
    return backend.max_backward(dy, winner, spec)


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
