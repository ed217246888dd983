"""Views between the two memory orders of an activation: (N, C, *spatial) as the user
indexes it, and (N, *spatial, C), the channels-last memory that convnet's oneDNN
convolutions read and write.

Both are ``transpose`` views (no copy); ``np.moveaxis`` gives the same views but checks its
arguments on every call, which costs more than the transpose itself in a layer that runs
thousands of times an epoch.

Example:
    >>> import numpy as np
    >>> x = np.zeros((2, 3, 4, 5))
    >>> to_last(x).shape, to_first(to_last(x)).shape
    ((2, 4, 5, 3), (2, 3, 4, 5))
"""

from __future__ import annotations

import numpy as np

_LAST = {ndim: (0,) + tuple(range(2, ndim)) + (1,) for ndim in range(2, 9)}
_FIRST = {ndim: (0, ndim - 1) + tuple(range(1, ndim - 1)) for ndim in range(2, 9)}


def to_last(x: np.ndarray) -> np.ndarray:
    """(N, C, *spatial) view -> (N, *spatial, C) view (``np.moveaxis(x, 1, -1)``)."""
    return x.transpose(_LAST[x.ndim])


def to_first(x: np.ndarray) -> np.ndarray:
    """(N, *spatial, C) view -> (N, C, *spatial) view (``np.moveaxis(x, -1, 1)``)."""
    return x.transpose(_FIRST[x.ndim])
