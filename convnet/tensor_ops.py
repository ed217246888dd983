"""Elementwise, reduction and shape operations on Tensors, each a forward/backward pair.

These are the methods and operators of :class:`convnet.Tensor`; each function
computes its result with NumPy and registers the local backward rule with
:func:`convnet.tensor.record`.

Example:
    >>> import convnet
    >>> a = convnet.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    >>> (a * a + 1).mean().backward()
    >>> a.grad
    array([[0.5, 1. ],
           [1.5, 2. ]], dtype=float32)
"""

from __future__ import annotations

import numpy as np

from .ops import activation as act
from .ops import elementwise_kernels
from . import dtypes
from .errors import DimensionError, ShapeError
from .tensor import Tensor, as_array, record


def _data(value) -> np.ndarray:
    return value.data if isinstance(value, Tensor) else as_array(value)


def _raw(value):
    return value.data if isinstance(value, Tensor) else value


def _operands(a, b) -> tuple[np.ndarray, np.ndarray]:
    """Both operands as arrays of the dtype torch gives their operation (see
    :func:`convnet.dtypes.result_type`): ``float64_tensor * 0.1`` computes with the double
    0.1, ``int_tensor * 0.5`` in float32, ``int_tensor + 1`` in int64."""
    x, y = _raw(a), _raw(b)
    if isinstance(x, np.ndarray) and isinstance(y, np.ndarray) and x.dtype == y.dtype:
        return x, y
    if _is_number(b) and isinstance(x, np.ndarray) and x.dtype.kind in "fc":
        return x, np.asarray(b, dtype=x.dtype)
    if _is_number(a) and isinstance(y, np.ndarray) and y.dtype.kind in "fc":
        return np.asarray(a, dtype=y.dtype), y
    if not isinstance(x, (np.ndarray, np.generic)) and not _is_scalar(x):
        x = as_array(x)
    if not isinstance(y, (np.ndarray, np.generic)) and not _is_scalar(y):
        y = as_array(y)
    dtype = dtypes.result_type(x, y)
    return np.asarray(x, dtype=dtype), np.asarray(y, dtype=dtype)


def _is_scalar(value) -> bool:
    return isinstance(value, (bool, int, float, complex, np.bool_))


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _cast_back(grad: np.ndarray, like) -> np.ndarray:
    """``grad`` in the dtype of the operand ``like`` it belongs to (mixed-dtype operations)."""
    if isinstance(like, Tensor) and grad.dtype != like.data.dtype:
        return grad.astype(like.data.dtype)
    return grad


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``grad`` over the axes that broadcasting added or stretched to reach it from ``shape``."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(i + extra for i, n in enumerate(shape)
                                       if n == 1 and grad.shape[i + extra] != 1)
    return grad.sum(axis=axes, keepdims=True).reshape(shape) if axes else grad.reshape(shape)


def _normalise_dims(dim, ndim: int) -> tuple[int, ...]:
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    span = max(ndim, 1)
    for d in dims:
        if not -span <= d < span:
            raise DimensionError(f"Dimension out of range (expected to be in range of "
                                 f"[{-span}, {span - 1}], but got {d})")
    return tuple(sorted(d % ndim if ndim else 0 for d in dims))


def _expand_reduced(grad: np.ndarray, dims: tuple[int, ...], keepdim: bool) -> np.ndarray:
    return grad if keepdim else np.expand_dims(grad, dims)


# ------------------------------------------------------------------ arithmetic
def add(a, b, alpha=1) -> Tensor:
    x, y = _operands(a, b)
    if alpha != 1:
        y = y * np.asarray(alpha, dtype=y.dtype)
    return record(elementwise_kernels.add(x, y), (a, b), lambda g: (
        _cast_back(unbroadcast(g, x.shape), a),
        _cast_back(unbroadcast(g if alpha == 1 else g * alpha, y.shape), b)), saved=())


def sub(a, b, alpha=1) -> Tensor:
    x, y = _operands(a, b)
    if x.dtype == np.bool_:
        raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not "
                           "supported. Use the `^` or `logical_xor()` operator instead.")
    if alpha != 1:
        y = y * np.asarray(alpha, dtype=y.dtype)
    return record(x - y, (a, b), lambda g: (
        _cast_back(unbroadcast(g, x.shape), a),
        _cast_back(unbroadcast(-g if alpha == 1 else -g * alpha, y.shape), b)), saved=())


def mul(a, b) -> Tensor:
    x, y = _operands(a, b)
    multiply = elementwise_kernels.multiply     # a channel gate on channels-last: compiled
    return record(multiply(x, y), (a, b), lambda g: (
        _cast_back(unbroadcast(multiply(g, y), x.shape), a),
        _cast_back(unbroadcast(multiply(g, x), y.shape), b)))


def div(a, b, rounding_mode=None) -> Tensor:
    x, y = _operands(a, b)
    if rounding_mode is not None:
        if rounding_mode not in ("floor", "trunc"):
            raise ValueError(f"div expected rounding_mode to be one of None, 'trunc', or "
                             f"'floor' but found {rounding_mode!r}")
        with np.errstate(divide="ignore", invalid="ignore"):
            if x.dtype.kind in "iu":
                if np.any(y == 0):
                    raise RuntimeError("ZeroDivisionError")
                out = np.floor_divide(x, y) if rounding_mode == "floor" else (
                    np.trunc(x / y).astype(x.dtype))
            else:
                out = np.floor(x / y) if rounding_mode == "floor" else np.trunc(x / y)
        return record(out, (a, b), lambda g: (np.zeros_like(x), np.zeros_like(y)), saved=())
    if x.dtype.kind not in "fc":
        x, y = x.astype(dtypes.get_default_dtype()), y.astype(dtypes.get_default_dtype())
    with np.errstate(divide="ignore", invalid="ignore"):
        out = x / y
    return record(out, (a, b), lambda g: (
        _cast_back(unbroadcast(g / y, x.shape), a),
        _cast_back(unbroadcast(-g * out / y, y.shape), b)), saves_output=True)


def neg(a) -> Tensor:
    x = _data(a)
    if x.dtype == np.bool_:
        raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If "
                           "you are trying to invert a mask, use the `~` or `logical_not()` "
                           "operator instead.")
    return record(-x, (a,), lambda g: (-g,), saved=())


def power(a, exponent) -> Tensor:
    """``a ** exponent`` with torch's dtypes; a Tensor exponent gets its gradient too."""
    if isinstance(exponent, (Tensor, np.ndarray)):
        x, y = _operands(a, exponent)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = x ** y

        def backward(g):
            with np.errstate(divide="ignore", invalid="ignore"):
                grad_x = g * y * x ** (y - 1)
                grad_y = g * out * np.log(x)
            return (_cast_back(unbroadcast(grad_x, x.shape), a),
                    _cast_back(unbroadcast(grad_y, y.shape), exponent))
        return record(out, (a, exponent), backward, saves_output=True)
    x = _data(a)
    if x.dtype.kind in "iub" and isinstance(exponent, float):
        x = x.astype(dtypes.get_default_dtype())
    if x.dtype.kind in "iu" and exponent < 0:
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    power_of = np.asarray(exponent, dtype=x.dtype)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = x ** power_of
    return record(out, (a,), lambda g: (
        (g * 0 if exponent == 0 else g * power_of * x ** (power_of - 1)).astype(x.dtype),))


def rpower(a, base) -> Tensor:
    """``base ** a`` for a number ``base``."""
    x = _data(a)
    if x.dtype.kind not in "fc" and isinstance(base, float):
        x = x.astype(dtypes.get_default_dtype())
    base_array = np.asarray(base, dtype=x.dtype)
    out = base_array ** x
    return record(out, (a,), lambda g: (g * out * np.log(base_array),), saves_output=True)


def matmul(a, b) -> Tensor:
    """``a @ b`` with NumPy's rules (1-D operands, batched stacks, broadcasting)."""
    x, y = _operands(a, b)
    try:
        out = np.asarray(x @ y)
    except ValueError as error:
        raise ShapeError(f"matmul: shapes {x.shape} and {y.shape} cannot be multiplied "
                         f"({error})") from None

    def backward(g):
        if x.ndim == 1 and y.ndim == 1:  # inner product: g is a scalar
            return g * y, g * x
        x2 = x[None, :] if x.ndim == 1 else x
        y2 = y[:, None] if y.ndim == 1 else y
        g2 = g
        if x.ndim == 1:
            g2 = np.expand_dims(g2, -2)
        if y.ndim == 1:
            g2 = np.expand_dims(g2, -1)
        grad_x = g2 @ np.swapaxes(y2, -1, -2)
        grad_y = np.swapaxes(x2, -1, -2) @ g2
        if x.ndim == 1:
            grad_x = grad_x.reshape(grad_x.shape[:-2] + grad_x.shape[-1:])
        if y.ndim == 1:
            grad_y = grad_y.reshape(grad_y.shape[:-1])
        return unbroadcast(grad_x, x.shape), unbroadcast(grad_y, y.shape)

    return record(out, (a, b), backward)


# ------------------------------------------------------------------ elementwise
def _floating(a) -> np.ndarray:
    """The data of ``a``, integers and bools promoted to the default float (as torch's
    ``exp``, ``log``, ``sqrt``, ``sigmoid`` ... do)."""
    x = _data(a)
    return x if x.dtype.kind in "fc" else x.astype(dtypes.get_default_dtype())


def exp(a) -> Tensor:
    out = np.exp(_floating(a))
    return record(out, (a,), lambda g: (g * out,), saves_output=True)


def log(a) -> Tensor:
    x = _floating(a)
    with np.errstate(divide="ignore", invalid="ignore"):
        return record(np.log(x), (a,), lambda g: (g / x,))


def sqrt(a) -> Tensor:
    with np.errstate(invalid="ignore"):
        out = np.sqrt(_floating(a))
    return record(out, (a,), lambda g: (g / (2 * out),), saves_output=True)


def abs(a) -> Tensor:  # noqa: A001 - mirrors torch.abs
    x = _data(a)
    return record(np.abs(x), (a,), lambda g: (g * np.sign(x),))


def unary_op(a, forward, backward, *args) -> Tensor:
    """An elementwise op from a NumPy pair: ``forward(x, *args) -> (y, saved)`` and
    ``backward(dy, saved) -> dx``; the one way activations are made differentiable (used by
    the Tensor methods below and by :mod:`convnet.functional`)."""
    y, saved = forward(_data(a), *args)
    return record(y, (a,), lambda dy: (backward(dy, saved),), saves_output=_aliases(saved, y))


def _aliases(saved, output: np.ndarray) -> bool:
    """Whether a backward's saved values include the output's memory."""
    if isinstance(saved, np.ndarray):
        return np.may_share_memory(saved, output)
    if isinstance(saved, (tuple, list)):
        return any(_aliases(item, output) for item in saved)
    return False


def relu(a) -> Tensor:
    return unary_op(a, act.relu_forward, act.relu_backward)


def tanh(a) -> Tensor:
    return unary_op(a, act.tanh_forward, act.tanh_backward)


def sigmoid(a) -> Tensor:
    return unary_op(a, act.sigmoid_forward, act.sigmoid_backward)


# ------------------------------------------------------------------ reductions
def sum(a, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:  # noqa: A001
    """Sum over ``dim`` (all dims if None); integers and bools sum to int64, as torch."""
    x = _data(a)
    dims = _normalise_dims(dim, x.ndim)
    dtype = dtypes.as_dtype(dtype) or (np.int64 if x.dtype.kind in "iub" else x.dtype)
    out = np.asarray(np.sum(x, axis=dims, keepdims=keepdim, dtype=dtype))
    return record(out, (a,), lambda g: (
        np.broadcast_to(_expand_reduced(g, dims, keepdim), x.shape).astype(x.dtype),), saved=())


def mean(a, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Mean over ``dim`` (all dims if None) of a floating tensor (integers raise, as torch)."""
    x = _data(a)
    if dtype is not None:
        x = x.astype(dtypes.as_dtype(dtype))
    if x.dtype.kind not in "fc":
        raise RuntimeError(f"mean(): could not infer output dtype. Input dtype must be either "
                           f"a floating point or complex dtype. Got: {x.dtype}")
    dims = _normalise_dims(dim, x.ndim)
    count = int(np.prod([x.shape[d] for d in dims])) if dims else 1
    if count == 0:                                   # the mean of nothing is NaN, as torch's
        shape = tuple(1 if d in dims else n for d, n in enumerate(x.shape)
                      if keepdim or d not in dims)
        return record(np.full(shape, np.nan, x.dtype), (a,), lambda g: (np.zeros_like(x),),
                      saved=())
    out = np.asarray(np.mean(x, axis=dims, keepdims=keepdim))
    return record(out, (a,), lambda g: (
        np.broadcast_to(_expand_reduced(g, dims, keepdim) / count, x.shape).astype(x.dtype),),
        saved=())


def amax(a, dim=None, keepdim: bool = False) -> Tensor:
    """Maximum over ``dim``; tied maxima share the gradient equally (as ``torch.amax``)."""
    x = _data(a)
    dims = _normalise_dims(dim, x.ndim)
    out = np.max(x, axis=dims, keepdims=True)

    def backward(g):
        winners = (x == out)
        share = winners / winners.sum(axis=dims, keepdims=True)
        return ((_expand_reduced(g, dims, keepdim) * share).astype(x.dtype),)

    return record(out if keepdim else np.squeeze(out, axis=dims), (a,), backward)


# ------------------------------------------------------------------ shapes
def reshape(a, shape) -> Tensor:
    x = _data(a)
    return record(x.reshape(shape), (a,), lambda g: (g.reshape(x.shape),), saved=())


def flatten(a, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    x = _data(a)
    if x.ndim == 0:
        return reshape(a, (1,))
    start, end = start_dim % x.ndim, end_dim % x.ndim
    shape = x.shape[:start] + (-1,) + x.shape[end + 1:]
    return reshape(a, shape)


def permute(a, dims) -> Tensor:
    x = _data(a)
    dims = tuple(d % x.ndim for d in dims)
    inverse = tuple(np.argsort(dims))
    if sorted(dims) != list(range(x.ndim)):
        raise RuntimeError(f"permute(): dims {tuple(dims)} is not a permutation of the "
                           f"{x.ndim} dims of the input")
    return record(x.transpose(dims), (a,), lambda g: (g.transpose(inverse),), saved=())


def getitem(a, index) -> Tensor:
    x = _data(a)
    if isinstance(index, Tensor):
        index = index.data
    if isinstance(index, tuple):
        index = tuple(i.data if isinstance(i, Tensor) else i for i in index)

    parts = index if isinstance(index, tuple) else (index,)
    basic = all(isinstance(i, (slice, int, np.integer)) or i is None or i is Ellipsis
                for i in parts)

    def backward(g):
        grad = np.zeros_like(x)
        if basic:       # slices and ints select each element once: a plain assignment
            grad[index] = g
        else:
            np.add.at(grad, index, g)  # repeated integer indices accumulate
        return (grad,)

    return record(x[index], (a,), backward, saved=())


# ------------------------------------------------------------------ Tensor's operators and methods
def _shape_argument(values):
    """``t.reshape(2, 3)`` and ``t.reshape((2, 3))`` alike."""
    return values[0] if len(values) == 1 and not isinstance(values[0], (int, np.integer)) else values


def _transpose(a, dim0: int, dim1: int) -> Tensor:
    dims = list(range(a.ndim))
    dims[dim0], dims[dim1] = dims[dim1], dims[dim0]
    return permute(a, dims)


_METHODS = {
    "__add__": add, "__radd__": lambda self, other: add(other, self),
    "__sub__": sub, "__rsub__": lambda self, other: sub(other, self),
    "__mul__": mul, "__rmul__": lambda self, other: mul(other, self),
    "__truediv__": div, "__rtruediv__": lambda self, other: div(other, self),
    "__neg__": neg, "__pow__": power,
    "__matmul__": matmul, "__rmatmul__": lambda self, other: matmul(other, self),
    "__getitem__": getitem,
    "sum": sum, "mean": mean, "max": amax,
    "reshape": lambda self, *shape: reshape(self, _shape_argument(shape)),
    "view": lambda self, *shape: reshape(self, _shape_argument(shape)),
    "flatten": flatten,
    "permute": lambda self, *dims: permute(self, _shape_argument(dims)),
    "transpose": _transpose,
    "T": property(lambda self: permute(self, tuple(reversed(range(self.ndim))))),
    "exp": exp, "log": log, "sqrt": sqrt, "abs": abs,
    "relu": relu, "tanh": tanh, "sigmoid": sigmoid,
}
for _name, _method in _METHODS.items():
    setattr(Tensor, _name, _method)
