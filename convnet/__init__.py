"""convnet: convolutional networks in NumPy, with the maths of the lecture notes made exact.

Example:
    >>> import convnet
    >>> import convnet.functional as F
    >>> x = convnet.tensor([[[0., 1., 2., 3., 2.]]], requires_grad=True)
    >>> y = F.conv1d(x, [[[-1., 2., -1.]]], padding='same')
    >>> y.sum().backward()
"""

from . import random
from .random import manual_seed
from .tensor import Tensor, is_grad_enabled, no_grad, tensor
from . import tensor_ops  # noqa: F401  (gives Tensor its operators and methods)
from . import filters, functional, io, nn, optim  # noqa: E402  (after tensor: they build on it)
from .io import load, load_state, load_weights, save, save_state, save_weights
from .summary import summary

__version__ = "0.1.0"

__all__ = ["Tensor", "tensor", "no_grad", "is_grad_enabled", "manual_seed", "random",
           "filters", "functional", "io", "nn", "optim", "summary", "save", "load",
           "save_weights", "load_weights", "save_state", "load_state",
           "__version__"]
