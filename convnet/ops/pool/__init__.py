"""Pooling, one family in one folder.

- :mod:`.spec`: the arguments validated once, padding resolved, output size (:class:`PoolSpec`)
- :mod:`.reference`: max and average pooling in plain NumPy, forward and backward side by side
- :mod:`.compiled`: the compiled max-pooling backend (:mod:`.kernels`, :mod:`.kernels2d`)
- :mod:`.onednn`: max and average pooling by oneDNN's primitives (float32, when loaded)
- :mod:`.dispatch`: which backend computes a call; ``return_indices`` in torch's form
- :mod:`.adaptive`: adaptive max/average pooling and max-out

Example:
    >>> import numpy as np
    >>> from convnet.ops import pool
    >>> x = -np.arange(16.).reshape(1, 1, 4, 4)
    >>> spec = pool.pool_spec(x.shape, x.dtype, 3, stride=2, padding='same')
    >>> pool.max_forward(x, spec)[0][0, 0]
    array([[-0., -1.],
           [-4., -5.]])
"""

from .dispatch import avg_backward, avg_forward, max_backward, max_forward, max_indices
from .reference import window_counts
from .spec import PoolSpec, pool_spec

__all__ = ["PoolSpec", "pool_spec", "max_forward", "max_backward", "max_indices",
           "window_counts", "avg_forward", "avg_backward"]
