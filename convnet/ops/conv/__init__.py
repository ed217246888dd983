"""Convolution, one family in one folder.

- :mod:`.spec`: the arguments validated once, padding resolved, output size (:class:`ConvSpec`)
- :mod:`.reference`: the notes' maths in plain NumPy, forward and backward side by side
- :mod:`.channels_last`, :mod:`.fft`: fast backends with the reference's signature
- :mod:`.dispatch`: which backend computes a call (FFT cost model, layouts)
- :mod:`.bias`: tied and untied bias; :mod:`.transpose`, :mod:`.local`: the relatives
  (transposed, locally connected and tiled convolution)

Example:
    >>> import numpy as np
    >>> from convnet.ops import conv
    >>> x, w = np.arange(5.).reshape(1, 1, 5), np.ones((1, 1, 3))
    >>> spec = conv.conv_spec(x.shape, x.dtype, w.shape, stride=2, padding='same')
    >>> conv.forward(x, w, None, spec)[0]
    array([[[1., 6., 7.]]])
"""

from .bias import add_bias, bias_gradient, bias_kind
from .dispatch import ALGORITHMS, backward, check_algorithm, choose_algorithm, forward
from .spec import ConvSpec, check_operands, conv_spec, multiply_adds

__all__ = ["ConvSpec", "conv_spec", "check_operands", "multiply_adds", "forward", "backward",
           "check_algorithm", "choose_algorithm", "ALGORITHMS", "add_bias", "bias_gradient",
           "bias_kind"]
