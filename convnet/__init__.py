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
from . import dtypes
from .dtypes import *  # noqa: F401,F403  (float32, int64, ...: torch's dtype names)
from .dtypes import get_default_dtype, set_default_dtype
from .device import device
from .tensor import (Tensor, enable_grad, inference_mode, is_grad_enabled, no_grad,
                     set_grad_enabled, tensor)
from . import tensor_ops  # noqa: F401  (gives Tensor its operators and methods)
from . import torch_api  # noqa: E402  (the rest of torch's tensor vocabulary)
globals().update(torch_api.FUNCTIONS)
from . import accelerator, backends, cuda, utils  # noqa: E402
from . import filters, functional, io, nn, optim  # noqa: E402  (after tensor: they build on it)
from .io import load, load_state, load_weights, save, save_state, save_weights
from .summary import summary

__version__ = "0.1.0"

__all__ = ["Tensor", "tensor", "no_grad", "is_grad_enabled", "manual_seed", "random",
           "filters", "functional", "io", "nn", "optim", "summary", "save", "load",
           "save_weights", "load_weights", "save_state", "load_state",
           "__version__"]
