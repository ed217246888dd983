"""Dropout of whole feature maps and self-normalising dropout (torch's names):
``dropout1d/2d/3d`` zero entire channels (one draw per sample and channel), ``alpha_dropout``
keeps SELU's mean and variance by dropping to ``-scale * alpha`` and applying an affine
correction, ``feature_alpha_dropout`` does so per channel.

Example:
    >>> import convnet, convnet.functional as F
    >>> y = F.dropout2d(convnet.ones(1, 4, 3, 3), p=0.5, training=True)
    >>> sorted({v for v in y.view(4, 9).max(dim=1).values.tolist()}) in ([0.0, 2.0], [0.0], [2.0])
    True
"""

from __future__ import annotations

import numpy as np

from ..creation import rng_of
from ..tensor import Tensor, record
from ..tensor_ops import _data

__all__ = ["dropout1d", "dropout2d", "dropout3d", "feature_dropout", "alpha_dropout",
           "feature_alpha_dropout"]

_SELU_SATURATION = 1.7580993408473766           # scale * alpha of SELU


def _check(p: float) -> None:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _masked(input, mask: np.ndarray, scale, shift=0.0) -> Tensor:
    x = _data(input)
    out = (x * mask * scale + shift).astype(x.dtype)
    return record(out, (input,), lambda g: ((g * mask * scale).astype(x.dtype),), saved=())


def feature_dropout(input, p: float = 0.5, training: bool = True, inplace: bool = False,
                    *, spatial_dims: int = 2, generator=None) -> Tensor:
    """Zero whole channels of a (N, C, *spatial) input with probability ``p``."""
    _check(p)
    x = _data(input)
    if not training or p == 0:
        return input if isinstance(input, Tensor) else Tensor(x)
    if x.ndim not in (spatial_dims + 1, spatial_dims + 2):
        raise RuntimeError(f"dropout{spatial_dims}d: Expected {spatial_dims + 1}D or "
                           f"{spatial_dims + 2}D input, but received a {x.ndim}D input.")
    batched = x.ndim == spatial_dims + 2
    channels = x.shape[:2] if batched else x.shape[:1]
    keep = rng_of(generator).random(channels) >= p
    mask = keep.reshape(channels + (1,) * spatial_dims).astype(x.dtype)
    scale = np.asarray(0.0 if p == 1 else 1.0 / (1.0 - p), x.dtype)
    return _masked(input, mask, scale)


def dropout1d(input, p: float = 0.5, training: bool = True, inplace: bool = False):
    return feature_dropout(input, p, training, spatial_dims=1)


def dropout2d(input, p: float = 0.5, training: bool = True, inplace: bool = False):
    return feature_dropout(input, p, training, spatial_dims=2)


def dropout3d(input, p: float = 0.5, training: bool = True, inplace: bool = False):
    return feature_dropout(input, p, training, spatial_dims=3)


def _alpha(input, p: float, training: bool, mask_shape, generator) -> Tensor:
    _check(p)
    x = _data(input)
    if not training or p == 0:
        return input if isinstance(input, Tensor) else Tensor(x)
    if p == 1:
        return _masked(input, np.zeros(x.shape, x.dtype), 0.0)
    keep = (rng_of(generator).random(mask_shape) >= p).astype(x.dtype)
    # y = a * (keep * x + (1 - keep) * (-saturation)) + a * saturation * p: dropped units sit
    # at SELU's negative saturation, and a, b restore zero mean and unit variance
    a = 1 / np.sqrt((_SELU_SATURATION ** 2 * p + 1) * (1 - p))
    shift = (a * _SELU_SATURATION * (keep - 1 + p)).astype(x.dtype)
    return _masked(input, keep, np.asarray(a, x.dtype), shift)


def alpha_dropout(input, p: float = 0.5, training: bool = False, inplace: bool = False,
                  *, generator=None):
    """Dropout that keeps zero mean and unit variance of SELU activations."""
    return _alpha(input, p, training, _data(input).shape, generator)


def feature_alpha_dropout(input, p: float = 0.5, training: bool = False, inplace: bool = False,
                          *, generator=None):
    x = _data(input)
    return _alpha(input, p, training, x.shape[:2] + (1,) * (x.ndim - 2), generator)
