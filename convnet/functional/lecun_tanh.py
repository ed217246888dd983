"""LeCun's scaled hyperbolic tangent, the squashing function of the original LeNet.

``f(x) = 1.7159 * tanh(2/3 * x)``: the constants make ``f(1) = 1`` and ``f(-1) = -1`` and
keep the gain near 1 around the origin, so targets of +-1 sit where the curve still bends.

Example:
    >>> import convnet.functional as F
    >>> round(float(F.scaled_tanh([1.0]).data[0]), 4)
    1.0
"""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor, tensor
from ._arrays import floating_input
from .activation import tanh

__all__ = ["scaled_tanh", "LECUN_AMPLITUDE", "LECUN_SLOPE"]

LECUN_AMPLITUDE = 1.7159
LECUN_SLOPE = 2.0 / 3.0


def scaled_tanh(input, amplitude: float = LECUN_AMPLITUDE, slope: float = LECUN_SLOPE):
    """``amplitude * tanh(slope * input)`` elementwise, any shape.

    Example:
        >>> import numpy as np, convnet.functional as F
        >>> F.scaled_tanh(np.array([0.0, 100.0])).data
        array([0.    , 1.7159])
    """
    x = input if isinstance(input, Tensor) else tensor(floating_input(input))
    # constants in the input's dtype, so float64 stays exact (a Python float would become float32)
    return tanh(x * np.asarray(slope, x.dtype)) * np.asarray(amplitude, x.dtype)
