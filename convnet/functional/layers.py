"""linear, flatten, dropout, batch_norm on Tensors (torch.nn.functional names and semantics).

The kernels are in :mod:`convnet.ops.layers`.

Example:
    >>> import numpy as np, convnet
    >>> import convnet.functional as F
    >>> x = convnet.tensor(np.ones((2, 3, 4, 4), dtype=np.float32), requires_grad=True)
    >>> F.linear(F.flatten(x), np.zeros((10, 48), dtype=np.float32)).shape
    (2, 10)
"""

from __future__ import annotations

import numbers

import numpy as np

from ..ops import layers as layer_ops
from ..random import resolve_rng
from ..tensor import Tensor, record
from ..tensor_ops import _aliases
from ._arrays import array_of, floating_input

__all__ = ["linear", "flatten", "dropout", "batch_norm"]


def linear(input, weight, bias=None):
    """Fully connected layer ``y = input @ weight.T + bias`` (the notes' ``W p + b`` per row).

    Args:
        input: (*, in_features), any number of leading dims (also just (in_features,)).
        weight: (out_features, in_features), as torch.
        bias: (out_features,) or None.

    Shape: (*, in_features) -> (*, out_features).

    Example:
        >>> import numpy as np, convnet.functional as F
        >>> F.linear(np.array([[1.0, 2.0]]), np.array([[1.0, 1.0], [0.0, 3.0]]), np.array([0.5, 0.0])).data
        array([[3.5, 6. ]])
    """
    x = floating_input(input)
    w = array_of(weight, "weight")
    if x.ndim < 1:
        raise ValueError("input: expected at least one dimension (*, in_features), got a scalar")
    if w.ndim != 2 or w.shape[1] != x.shape[-1]:
        raise ValueError(f"weight: expected shape (out_features, {x.shape[-1]}) for input of shape "
                         f"{x.shape}, got {w.shape}")
    b = None if bias is None else array_of(bias, "bias")
    if b is not None and b.shape != (w.shape[0],):
        raise ValueError(f"bias: expected shape ({w.shape[0]},), got {b.shape}")
    y, saved = layer_ops.linear_forward(x, w, b)
    return record(y, (input, weight, bias), lambda dy: layer_ops.linear_backward(dy, saved))


def _dim_index(dim, ndim: int, name: str) -> int:
    if not isinstance(dim, numbers.Integral) or isinstance(dim, bool):
        raise TypeError(f"{name}: expected an int, got {dim!r}")
    span = max(ndim, 1)
    if not -span <= dim < span:
        raise ValueError(f"{name}: expected a dimension in [{-span}, {span - 1}] for an input with "
                         f"{ndim} dims, got {dim}")
    return int(dim) % span


def flatten(input, start_dim: int = 1, end_dim: int = -1, order: str = "C"):
    """Merge dims ``start_dim`` to ``end_dim`` (inclusive) into one.

    ``order='C'`` (default) is torch's order: for (N, C, H, W) the feature value at
    channel c, row h, column w lands at ``c*H*W + h*W + w`` (rows stacked, column fastest).

    ``order='F'`` is the notes' conversion block, vec() of seed 001 eq. 8.26:
    ``vec(A) = [a_1^{m,1}; a_2^{m,1}; ...; a_{S_c}^{m,1}; a_1^{m,2}; ...; a_{S_c}^{m,H}]``,
    the columns of the first feature map stacked on top of each other, then those of the
    second, and so on: value (c, h, w) lands at ``c*H*W + w*H + h`` (row index fastest,
    feature maps still in order). In general 'F' stacks the columns of the matrix formed by
    the last two merged dims, keeping any earlier merged dims outermost; it is NOT NumPy's
    ``reshape(order='F')`` over all merged dims, which would interleave the feature maps.

    Shape: (*before, d_start, ..., d_end, *after) -> (*before, d_start * ... * d_end, *after).

    Example (one 2x2 feature map [[1, 2], [3, 4]]):
        >>> import numpy as np, convnet.functional as F
        >>> maps = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
        >>> F.flatten(maps).data, F.flatten(maps, order='F').data
        (array([[1., 2., 3., 4.]]), array([[1., 3., 2., 4.]]))
    """
    x = array_of(input, "input")
    if order not in ("C", "F"):
        raise ValueError(f"order: expected 'C' (torch) or 'F' (the notes' vec), got {order!r}")
    if x.ndim == 0:
        return record(x.reshape(1), (input,), lambda dy: (dy.reshape(()),))
    start = _dim_index(start_dim, x.ndim, "start_dim")
    end = _dim_index(end_dim, x.ndim, "end_dim")
    if start > end:
        raise ValueError(f"start_dim: must not come after end_dim, got start_dim={start_dim}, "
                         f"end_dim={end_dim} for an input with {x.ndim} dims")
    y, saved = layer_ops.flatten_forward(x, start, end, order)
    return record(y, (input,), lambda dy: (layer_ops.flatten_backward(dy, saved),))


def dropout(input, p: float = 0.5, training: bool = True, inplace: bool = False, *, rng=None):
    """Inverted dropout: zero each entry with probability ``p``, scale the rest by ``1 / (1 - p)``.

    Args:
        input: any shape.
        p: drop probability in [0, 1].
        training: when False the input is returned unchanged (no draw is made).
        inplace: accepted for torch compatibility; computed out of place (same values).
        rng: NumPy Generator, int seed or None (the library's generator,
            :func:`convnet.random.resolve_rng`).

    Shape: the output has the input's shape; the gradient is ``dy * mask / (1 - p)``.

    Example:
        >>> import numpy as np, convnet.functional as F
        >>> y = F.dropout(np.ones((2, 4)), p=0.5, rng=0).data
        >>> sorted(set(y.ravel().tolist())) in ([0.0, 2.0], [0.0], [2.0])
        True
        >>> F.dropout(np.ones(3), training=False).data
        array([1., 1., 1.])
    """
    x = floating_input(input)
    if not isinstance(p, numbers.Real) or isinstance(p, bool) or not 0.0 <= p <= 1.0:
        raise ValueError(f"p: dropout probability has to be between 0 and 1, but got {p!r}")
    if not training or p == 0:
        return record(x, (input,), lambda dy: (dy,))
    mask = layer_ops.dropout_mask(x.shape, float(p), x.dtype, resolve_rng(rng))
    y, saved = layer_ops.dropout_forward(x, mask)
    return record(y, (input,), lambda dy: (layer_ops.dropout_backward(dy, saved),))


def _running_buffer(value, name: str, num_channels: int):
    """The ndarray to update in place (a Tensor's .data or the array itself), or None."""
    if value is None:
        return None
    array = value.data if isinstance(value, Tensor) else value
    if not isinstance(array, np.ndarray) or not np.issubdtype(array.dtype, np.floating):
        raise TypeError(f"{name}: expected a floating ndarray or Tensor (updated in place), got "
                        f"{type(value).__name__}")
    if array.shape != (num_channels,):
        raise ValueError(f"{name}: expected shape ({num_channels},), got {array.shape}")
    return array


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5):
    """Batch normalisation over (N, C) or (N, C, *spatial) inputs, per channel (torch semantics).

    ``y = (x - mean) / sqrt(var + eps) * weight + bias``.

    training=True: mean and biased var of this batch over N and the spatial dims; the running
    statistics (ndarrays or Tensors, when not None) are updated IN PLACE:
    ``running = (1 - momentum) * running + momentum * batch_stat``, with the unbiased
    variance for ``running_var``. Gradients flow through the batch statistics.

    training=False: ``running_mean`` and ``running_var`` normalise (they are required).

    Args:
        input: (N, C) or (N, C, *spatial).
        running_mean, running_var: (C,) or None (training only).
        weight, bias: (C,) or None (1 and 0).

    Shape: the output has the input's shape.

    Example:
        >>> import numpy as np, convnet.functional as F
        >>> mean, var = np.zeros(1), np.ones(1)
        >>> F.batch_norm(np.array([[1.0], [3.0]]), mean, var, training=True).data.ravel()
        array([-0.999995,  0.999995])
        >>> mean, var
        (array([0.2]), array([1.1]))
    """
    x = floating_input(input)
    if x.ndim < 2:
        raise ValueError(f"input: expected (N, C) or (N, C, *spatial), got shape {x.shape}")
    channels = x.shape[1]
    mean_buffer = _running_buffer(running_mean, "running_mean", channels)
    var_buffer = _running_buffer(running_var, "running_var", channels)
    if not training and (mean_buffer is None or var_buffer is None):
        raise ValueError("running_mean: running_mean and running_var are required when "
                         "training=False (they normalise the input)")
    if training and x.size and x.size // channels <= 1:
        raise ValueError(f"input: expected more than 1 value per channel when training, got "
                         f"input of shape {x.shape}")
    for name, number in (("momentum", momentum), ("eps", eps)):
        if not isinstance(number, numbers.Real) or isinstance(number, bool) or number < 0:
            raise ValueError(f"{name}: expected a non-negative number, got {number!r}")
    w = None if weight is None else array_of(weight, "weight")
    b = None if bias is None else array_of(bias, "bias")
    for name, vector in (("weight", w), ("bias", b)):
        if vector is not None and vector.shape != (channels,):
            raise ValueError(f"{name}: expected shape ({channels},), got {vector.shape}")
    if training and x.size == 0:     # torch: nothing to normalise, running statistics kept
        return record(np.empty(x.shape, x.dtype), (input, weight, bias), lambda dy: (
            np.zeros(x.shape, x.dtype), None if w is None else np.zeros_like(w),
            None if b is None else np.zeros_like(b)))
    y, saved = layer_ops.batch_norm_forward(x, mean_buffer, var_buffer, w, b, bool(training),
                                            float(momentum), float(eps))
    return record(y, (input, weight, bias), lambda dy: layer_ops.batch_norm_backward(dy, saved),
                  saves_output=_aliases(saved, y))
