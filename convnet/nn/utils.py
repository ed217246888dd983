"""Gradient clipping and flat parameter vectors, named and computed as ``torch.nn.utils``.

Example (the usual place: between ``backward()`` and ``optimizer.step()``):
    >>> import numpy as np, convnet.nn as nn
    >>> from convnet.nn.utils import clip_grad_norm_
    >>> model = nn.Linear(3, 2)
    >>> model(np.ones((4, 3))).sum().backward()
    >>> total = clip_grad_norm_(model.parameters(), max_norm=1.0)
    >>> bool(total > 1.0), round(float(np.sqrt(sum((p.grad ** 2).sum()
    ...                                            for p in model.parameters()))), 4)
    (True, 1.0)
"""

from __future__ import annotations

import math
import types
import warnings

import numpy as np

from ..tensor import Tensor, tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector",
           "vector_to_parameters"]


def _as_list(parameters) -> list:
    if isinstance(parameters, Tensor):
        return [parameters]
    return list(parameters)


def _vector_norm(values: np.ndarray, norm_type: float) -> np.ndarray:
    """The ``norm_type``-norm of all entries of ``values`` (``torch.linalg.vector_norm``)."""
    magnitudes = np.abs(values.ravel())
    if norm_type == math.inf:
        return magnitudes.max(initial=0)
    if norm_type == -math.inf:
        return magnitudes.min()
    if norm_type == 0:
        return np.asarray(np.count_nonzero(magnitudes), dtype=values.dtype)
    if norm_type == 1:
        return magnitudes.sum()
    if norm_type == 2:
        return np.sqrt(np.dot(magnitudes, magnitudes))
    return (magnitudes ** norm_type).sum() ** (1.0 / norm_type)


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False):
    """Scale the gradients of ``parameters`` in place so their joint norm is at most ``max_norm``.

    The norm is that of all gradients concatenated into one vector (each parameter's
    gradient norm, then the norm of those norms, as PyTorch computes it); every
    gradient is multiplied by ``min(max_norm / (total_norm + 1e-6), 1)``. Parameters
    whose ``.grad`` is None are left out.

    Args:
        parameters: a Parameter or an iterable of them (e.g. ``model.parameters()``).
        max_norm: the largest norm allowed.
        norm_type: the p of the p-norm; ``math.inf`` for the largest magnitude.
        error_if_nonfinite: raise RuntimeError when the total norm is nan or inf
            (otherwise the gradients are scaled by it anyway, as in PyTorch).

    Returns:
        The total norm before clipping, a NumPy scalar of the gradients' dtype.

    Example:
        >>> import numpy as np
        >>> from convnet.nn import Parameter
        >>> from convnet.nn.utils import clip_grad_norm_
        >>> w = Parameter(np.zeros(2))
        >>> w.grad = np.array([3.0, 4.0])
        >>> float(clip_grad_norm_([w], max_norm=1.0))
        5.0
        >>> np.round(w.grad, 6)
        array([0.6, 0.8])
    """
    is_generator = isinstance(parameters, types.GeneratorType)
    parameters = _as_list(parameters)
    if is_generator and not parameters:
        warnings.warn("parameters: an empty generator, no gradient clipping will occur",
                      stacklevel=2)
    norm_type = float(norm_type)
    max_norm = float(max_norm)
    grads = [param.grad for param in parameters if param.grad is not None]
    if not grads:
        return np.float32(0.0)
    dtype = np.result_type(*grads)
    norms = np.array([_vector_norm(grad, norm_type) for grad in grads], dtype=dtype)
    total_norm = _vector_norm(norms, norm_type)[()]
    if error_if_nonfinite and not np.isfinite(total_norm):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from "
                           "`parameters` is non-finite, so it cannot be clipped. To disable "
                           "this error and scale the gradients by the non-finite norm "
                           "anyway, set `error_if_nonfinite=False`")
    scale = min(dtype.type(max_norm) / (total_norm + dtype.type(1e-6)), dtype.type(1.0))
    for grad in grads:
        grad *= scale
    return total_norm


def clip_grad_value_(parameters, clip_value: float) -> None:
    """Clip every gradient of ``parameters`` in place to ``[-clip_value, clip_value]``.

    Args:
        parameters: a Parameter or an iterable of them (e.g. ``model.parameters()``).
        clip_value: the largest magnitude allowed.

    Example:
        >>> import numpy as np
        >>> from convnet.nn import Parameter
        >>> from convnet.nn.utils import clip_grad_value_
        >>> w = Parameter(np.zeros(3))
        >>> w.grad = np.array([-2.0, 0.5, 3.0])
        >>> clip_grad_value_([w], clip_value=1.0)
        >>> w.grad
        array([-1. ,  0.5,  1. ])
    """
    clip_value = float(clip_value)
    for param in _as_list(parameters):
        if param.grad is not None:
            np.clip(param.grad, -clip_value, clip_value, out=param.grad)


def parameters_to_vector(parameters) -> Tensor:
    """All the parameters' values flattened into one vector, in order (a new Tensor).

    Example:
        >>> import numpy as np
        >>> from convnet.nn import Parameter
        >>> from convnet.nn.utils import parameters_to_vector
        >>> parameters_to_vector([Parameter(np.ones((2, 2))), Parameter(np.zeros(1))]).data
        array([1., 1., 1., 1., 0.])
    """
    return tensor(np.concatenate([param.data.ravel() for param in parameters]))


def vector_to_parameters(vec, parameters) -> None:
    """Copy consecutive slices of the vector ``vec`` into the parameters, in order.

    The values are written into each parameter's own array (its array object never
    changes, so module state dicts and optimizers keep seeing it). As in PyTorch,
    entries of ``vec`` beyond the parameters' total size are ignored.

    Args:
        vec: a 1-D Tensor or ndarray, e.g. from :func:`parameters_to_vector`.
        parameters: the Parameters to fill (e.g. ``model.parameters()``).

    Example:
        >>> import numpy as np
        >>> from convnet.nn import Parameter
        >>> from convnet.nn.utils import vector_to_parameters
        >>> w, b = Parameter(np.zeros((2, 2))), Parameter(np.zeros(1))
        >>> vector_to_parameters(np.arange(5.0), [w, b])
        >>> w.data, b.data
        (array([[0., 1.],
               [2., 3.]]), array([4.]))
    """
    if isinstance(vec, Tensor):
        vec = vec.data
    if not isinstance(vec, np.ndarray):
        raise TypeError(f"vec: expected a Tensor or ndarray, got {type(vec).__name__}")
    if vec.ndim != 1:
        raise RuntimeError(f"vec: expected a 1-D vector, got shape {vec.shape}")
    start = 0
    for param in parameters:
        size = param.data.size
        if start + size > vec.size:
            raise RuntimeError(f"vec: has {vec.size} entries, too few for the parameters "
                               f"(the next one needs entries {start} to {start + size - 1})")
        param.data[...] = vec[start:start + size].reshape(param.data.shape)
        start += size
