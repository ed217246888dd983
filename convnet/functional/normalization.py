"""Normalisations other than batch norm, composed from differentiable tensor operations
(so their gradients are autograd's): layer, group, instance and local response norm, and
``normalize`` (divide by the p-norm).

=====================  ===================================  ===========================
function               statistics over                      parameters
=====================  ===================================  ===========================
layer_norm             the last ``len(normalized_shape)``    weight, bias of that shape
group_norm             each group of C/G channels x space    weight, bias per channel
instance_norm          each channel of each sample (space)   weight, bias per channel
local_response_norm    ``size`` neighbouring channels        none
=====================  ===================================  ===========================

Example:
    >>> import convnet, convnet.functional as F
    >>> x = convnet.arange(8.0).view(2, 4)
    >>> [round(v, 3) for v in F.layer_norm(x, (4,))[0].tolist()]
    [-1.342, -0.447, 0.447, 1.342]
"""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from ..tensor_ops import _data, sqrt
from . import shape as _shape

__all__ = ["layer_norm", "group_norm", "instance_norm", "local_response_norm", "normalize",
           "rms_norm"]


def _as_tensor(value):
    return value if isinstance(value, Tensor) else Tensor(np.asarray(value))


def _standardise(x, dims, eps: float):
    mean = x.mean(dim=dims, keepdim=True)
    centred = x - mean
    variance = (centred * centred).mean(dim=dims, keepdim=True)
    return centred / sqrt(variance + eps)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps: float = 1e-5):
    """Normalise over the trailing ``normalized_shape`` dims, then scale and shift."""
    x = _as_tensor(input)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if x.shape[x.ndim - len(shape):] != shape:
        raise RuntimeError(f"Given normalized_shape={list(shape)}, expected input with shape "
                           f"[*, {', '.join(map(str, shape))}], but got input of size "
                           f"{list(x.shape)}")
    out = _standardise(x, tuple(range(x.ndim - len(shape), x.ndim)), eps)
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def _per_channel(value, ndim: int):
    return value.reshape((1, -1) + (1,) * (ndim - 2))


def group_norm(input, num_groups: int, weight=None, bias=None, eps: float = 1e-5):
    """Normalise each group of ``C / num_groups`` channels of each sample."""
    x = _as_tensor(input)
    n, c = x.shape[:2]
    if c % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by "
                           f"num_groups, but got input of shape {list(x.shape)} and "
                           f"num_groups={num_groups}")
    grouped = x.reshape((n, num_groups, -1))
    out = _standardise(grouped, (2,), eps).reshape(x.shape)
    if weight is not None:
        out = out * _per_channel(weight, x.ndim)
    if bias is not None:
        out = out + _per_channel(bias, x.ndim)
    return out


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats: bool = True, momentum: float = 0.1, eps: float = 1e-5):
    """Normalise each channel of each sample over its spatial dims; with running buffers
    and ``use_input_stats`` they are updated as batch norm's are (unbiased variance)."""
    x = _as_tensor(input)
    dims = tuple(range(2, x.ndim))
    if not use_input_stats:
        out = (x - _per_channel(Tensor(running_mean), x.ndim)) / sqrt(
            _per_channel(Tensor(running_var), x.ndim) + eps)
    else:
        if running_mean is not None and running_var is not None:
            data = _data(x)
            count = int(np.prod([data.shape[d] for d in dims]))
            mean = data.mean(axis=dims).mean(axis=0)
            variance = data.var(axis=dims, ddof=1 if count > 1 else 0).mean(axis=0)
            running_mean *= 1 - momentum
            running_mean += momentum * mean
            running_var *= 1 - momentum
            running_var += momentum * variance
        out = _standardise(x, dims, eps)
    if weight is not None:
        out = out * _per_channel(weight, x.ndim)
    if bias is not None:
        out = out + _per_channel(bias, x.ndim)
    return out


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """``x / sqrt(mean(x^2) + eps)`` over the trailing dims, times ``weight``."""
    x = _as_tensor(input)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    dims = tuple(range(x.ndim - len(shape), x.ndim))
    eps = float(np.finfo(x.dtype).eps) if eps is None else eps
    out = x / sqrt((x * x).mean(dim=dims, keepdim=True) + eps)
    return out * weight if weight is not None else out


def local_response_norm(input, size: int, alpha: float = 1e-4, beta: float = 0.75,
                        k: float = 1.0):
    """``x / (k + alpha / size * sum of x^2 over size neighbouring channels)^beta``
    (AlexNet's), the window centred on each channel and zero-padded."""
    x = _as_tensor(input)
    if x.ndim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality input (got {x.ndim} dimensions)")
    squares = (x * x).unsqueeze(1)                       # (N, 1, C, ...)
    flat = squares.reshape(squares.shape[:3] + (-1,))   # (N, 1, C, rest)
    padded = _shape.pad(flat, (0, 0, size // 2, (size - 1) // 2))
    summed = sum(padded[:, :, i:i + x.shape[1]] for i in range(size))
    average = summed.reshape(x.shape) * (alpha / size)
    return x / (average + k) ** beta


def normalize(input, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out=None):
    """``x / max(||x||_p, eps)`` along ``dim``."""
    x = _as_tensor(input)
    norm = x.norm(p, dim=dim, keepdim=True)
    return x / norm.clamp(min=eps).expand_as(x)
