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
from .tensor import Tensor, as_array, record


def _data(value) -> np.ndarray:
    return value.data if isinstance(value, Tensor) else as_array(value)


def _operands(a, b) -> tuple[np.ndarray, np.ndarray]:
    """Both operands as arrays; a Python number takes the other operand's floating dtype,
    so ``float64_tensor * 0.1`` computes with the double 0.1, not its float32 rounding."""
    x, y = _data(a), _data(b)
    if _is_number(b) and np.issubdtype(x.dtype, np.floating):
        y = np.asarray(b, dtype=x.dtype)
    elif _is_number(a) and np.issubdtype(y.dtype, np.floating):
        x = np.asarray(a, dtype=y.dtype)
    return x, y


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


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
    return tuple(sorted(d % ndim if ndim else 0 for d in dims))


def _expand_reduced(grad: np.ndarray, dims: tuple[int, ...], keepdim: bool) -> np.ndarray:
    return grad if keepdim else np.expand_dims(grad, dims)


# ------------------------------------------------------------------ arithmetic
def add(a, b) -> Tensor:
    x, y = _operands(a, b)
    return record(x + y, (a, b), lambda g: (unbroadcast(g, x.shape), unbroadcast(g, y.shape)))


def sub(a, b) -> Tensor:
    x, y = _operands(a, b)
    return record(x - y, (a, b), lambda g: (unbroadcast(g, x.shape), unbroadcast(-g, y.shape)))


def mul(a, b) -> Tensor:
    x, y = _operands(a, b)
    return record(x * y, (a, b),
                  lambda g: (unbroadcast(g * y, x.shape), unbroadcast(g * x, y.shape)))


def div(a, b) -> Tensor:
    x, y = _operands(a, b)
    out = x / y
    return record(out, (a, b),
                  lambda g: (unbroadcast(g / y, x.shape), unbroadcast(-g * out / y, y.shape)))


def neg(a) -> Tensor:
    return record(-_data(a), (a,), lambda g: (-g,))


def power(a, exponent) -> Tensor:
    if isinstance(exponent, Tensor):
        raise TypeError("power: exponent must be a number, got a Tensor")
    x = _data(a)
    out = x ** exponent
    return record(out, (a,), lambda g: (g * exponent * x ** (exponent - 1),))


def matmul(a, b) -> Tensor:
    """``a @ b`` with NumPy's rules (1-D operands, batched stacks, broadcasting)."""
    x, y = _data(a), _data(b)
    out = x @ y

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
def exp(a) -> Tensor:
    out = np.exp(_data(a))
    return record(out, (a,), lambda g: (g * out,))


def log(a) -> Tensor:
    x = _data(a)
    return record(np.log(x), (a,), lambda g: (g / x,))


def sqrt(a) -> Tensor:
    out = np.sqrt(_data(a))
    return record(out, (a,), lambda g: (g / (2 * out),))


def abs(a) -> Tensor:  # noqa: A001 - mirrors torch.abs
    x = _data(a)
    return record(np.abs(x), (a,), lambda g: (g * np.sign(x),))


def unary_op(a, forward, backward, *args) -> Tensor:
    """An elementwise op from a NumPy pair: ``forward(x, *args) -> (y, saved)`` and
    ``backward(dy, saved) -> dx``; the one way activations are made differentiable (used by
    the Tensor methods below and by :mod:`convnet.functional`)."""
    y, saved = forward(_data(a), *args)
    return record(y, (a,), lambda dy: (backward(dy, saved),))


def relu(a) -> Tensor:
    return unary_op(a, act.relu_forward, act.relu_backward)


def tanh(a) -> Tensor:
    return unary_op(a, act.tanh_forward, act.tanh_backward)


def sigmoid(a) -> Tensor:
    return unary_op(a, act.sigmoid_forward, act.sigmoid_backward)


# ------------------------------------------------------------------ reductions
def sum(a, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A001 - mirrors torch.sum
    x = _data(a)
    dims = _normalise_dims(dim, x.ndim)
    out = np.sum(x, axis=dims, keepdims=keepdim)
    return record(out, (a,),
                  lambda g: (np.broadcast_to(_expand_reduced(g, dims, keepdim), x.shape).copy(),))


def mean(a, dim=None, keepdim: bool = False) -> Tensor:
    x = _data(a)
    dims = _normalise_dims(dim, x.ndim)
    count = int(np.prod([x.shape[d] for d in dims])) if dims else 1
    out = np.mean(x, axis=dims, keepdims=keepdim)
    return record(out, (a,), lambda g: (
        np.broadcast_to(_expand_reduced(g, dims, keepdim) / count, x.shape).astype(x.dtype),))


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
    return record(x.reshape(shape), (a,), lambda g: (g.reshape(x.shape),))


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
    return record(x.transpose(dims), (a,), lambda g: (g.transpose(inverse),))


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

    return record(x[index], (a,), backward)


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
