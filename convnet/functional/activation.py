"""Activations on Tensors: relu, leaky_relu, sigmoid, tanh, softmax, log_softmax.

torch.nn.functional names, arguments and semantics; the kernels are in
:mod:`convnet.ops.activation`. Inputs may be Tensors or arrays; float32 stays
float32 and float64 stays float64.

Example:
    >>> import convnet
    >>> import convnet.functional as F
    >>> x = convnet.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    >>> F.relu(x).sum().backward()
    >>> x.grad
    array([0., 0., 1.], dtype=float32)
"""

from __future__ import annotations

import numbers
import warnings

from ..ops import activation as act
from ..tensor_ops import unary_op
from ._arrays import floating_input

__all__ = ["relu", "leaky_relu", "sigmoid", "tanh", "softmax", "log_softmax"]


def _elementwise(input, forward, backward, *args):
    floating_input(input)  # an integer array is a TypeError, as in torch
    return unary_op(input, forward, backward, *args)


def _check_not_inplace(inplace) -> None:
    """``inplace=True`` is accepted (torch scripts pass it) and computes out of place: the
    values are the same, and no backward that saved the input can be corrupted."""


def relu(input, inplace: bool = False):
    """Rectified linear unit, ``max(x, 0)`` elementwise (gradient 0 at 0, as torch).

    ``inplace`` is accepted for torch compatibility; only False is supported.

    Shape: any; the output has the input's shape.

    Example:
        >>> import convnet.functional as F
        >>> F.relu([[-2.0, 3.0]]).data
        array([[0., 3.]], dtype=float32)
    """
    _check_not_inplace(inplace)
    return _elementwise(input, act.relu_forward, act.relu_backward)


def leaky_relu(input, negative_slope: float = 0.01, inplace: bool = False):
    """``x`` where ``x > 0``, else ``negative_slope * x``, elementwise.

    Shape: any; the output has the input's shape.

    Example:
        >>> import convnet.functional as F
        >>> F.leaky_relu([-2.0, 3.0], negative_slope=0.5).data
        array([-1.,  3.], dtype=float32)
    """
    if not isinstance(negative_slope, numbers.Real) or isinstance(negative_slope, bool):
        raise TypeError(f"negative_slope: expected a real number, got {negative_slope!r}")
    _check_not_inplace(inplace)
    return _elementwise(input, act.leaky_relu_forward, act.leaky_relu_backward,
                        float(negative_slope))


def sigmoid(input):
    """Logistic function ``1 / (1 + exp(-x))`` elementwise, stable for large ``|x|``.

    Shape: any; the output has the input's shape.

    Example:
        >>> import convnet.functional as F
        >>> F.sigmoid([0.0, -1000.0]).data
        array([0.5, 0. ], dtype=float32)
    """
    return _elementwise(input, act.sigmoid_forward, act.sigmoid_backward)


def tanh(input):
    """Hyperbolic tangent elementwise.

    Shape: any; the output has the input's shape.

    Example:
        >>> import convnet.functional as F
        >>> F.tanh([0.0]).data
        array([0.], dtype=float32)
    """
    return _elementwise(input, act.tanh_forward, act.tanh_backward)


def _softmax_dim(dim, ndim: int, name: str) -> int:
    if dim is None:
        # torch's legacy implicit choice, with its warning
        warnings.warn(f"Implicit dimension choice for {name} has been deprecated. "
                      "Change the call to include dim=X as an argument.", UserWarning,
                      stacklevel=3)
        return 0 if ndim in (0, 1, 3) else 1
    if not isinstance(dim, numbers.Integral) or isinstance(dim, bool):
        raise TypeError(f"dim: expected an int, got {dim!r}")
    span = max(ndim, 1)
    if not -span <= dim < span:
        raise ValueError(f"dim: expected a dimension in [{-span}, {span - 1}] for an input with "
                         f"{ndim} dims, got {dim}")
    return int(dim) % span


def softmax(input, dim=None):
    """Softmax along ``dim``: ``exp(x_i) / sum_j exp(x_j)`` (the maximum is subtracted first).

    Args:
        input: any shape.
        dim: the dimension that sums to one (as torch; ``None`` uses torch's
            deprecated implicit choice: 0 for 0-, 1- and 3-D inputs, else 1).

    Shape: the output has the input's shape.

    Example:
        >>> import convnet.functional as F
        >>> F.softmax([[0.0, 0.0], [1000.0, 1000.0]], dim=1).data
        array([[0.5, 0.5],
               [0.5, 0.5]], dtype=float32)
    """
    x = floating_input(input)
    return unary_op(input, act.softmax_forward, act.softmax_backward,
                    _softmax_dim(dim, x.ndim, "softmax"))


def log_softmax(input, dim=None):
    """``log(softmax(x))`` along ``dim``, computed stably as ``x - max - log(sum(exp(x - max)))``.

    Args:
        input: any shape.
        dim: the normalised dimension (``None``: torch's implicit choice, see :func:`softmax`).

    Shape: the output has the input's shape.

    Example:
        >>> import convnet.functional as F
        >>> F.log_softmax([[0.0, 0.0]], dim=1).data
        array([[-0.6931472, -0.6931472]], dtype=float32)
    """
    x = floating_input(input)
    return unary_op(input, act.log_softmax_forward, act.log_softmax_backward,
                    _softmax_dim(dim, x.ndim, "log_softmax"))
