"""Reductions under torch's names and overloads: ``max``/``min`` (whole, along a dim with
indices, or element-wise against another tensor), ``argmax``, ``std``/``var`` with
``correction``, ``norm``, ``prod``, ``logsumexp``, ``cumsum``, ``topk``, ``sort``, ``any``,
``all``.

Reductions along a dim return ``(values, indices)`` as a named tuple; the gradient reaches
the element each index names. A whole-tensor ``max()`` shares the gradient equally among
tied maxima, as torch's does.

Example:
    >>> import convnet
    >>> x = convnet.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 7.0]], requires_grad=True)
    >>> values, indices = x.max(dim=1)
    >>> values.tolist(), indices.tolist()
    ([5.0, 7.0], [1, 0])
    >>> x.std().item() > 0, x.argmax().item()
    (True, 3)
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from ._naming import name_made_functions
from . import dtypes
from .tensor import Tensor, record
from .tensor_ops import _data, _expand_reduced, _normalise_dims, amax, sqrt

values_indices = namedtuple("values_indices", ["values", "indices"])


def _axis(dim, ndim: int) -> int:
    if not -max(ndim, 1) <= dim < max(ndim, 1):
        raise IndexError(f"Dimension out of range (expected to be in range of "
                         f"[{-max(ndim, 1)}, {max(ndim, 1) - 1}], but got {dim})")
    return dim % max(ndim, 1)


def _pick(a, x: np.ndarray, indices: np.ndarray, axis: int, keepdim: bool) -> values_indices:
    """Values of ``x`` at ``indices`` (keepdim-shaped) along ``axis``, differentiable."""
    if x.ndim == 0:
        return values_indices(record(x.copy(), (a,), lambda g: (g,), saved=()),
                              Tensor(np.zeros((), np.int64)))
    values = np.take_along_axis(x, indices, axis)

    def backward(g):
        grad = np.zeros_like(x)
        np.put_along_axis(grad, indices, g if keepdim else np.expand_dims(g, axis), axis)
        return (grad,)
    found = indices if keepdim else np.squeeze(indices, axis)
    values = values if keepdim else np.squeeze(values, axis)
    return values_indices(record(values, (a,), backward, saved=()), Tensor(found.astype(np.int64)))


def _extreme(name: str, arg_function, elementwise):
    def reduce(a, dim=None, keepdim: bool = False, *, out=None):
        if isinstance(dim, (Tensor, np.ndarray)):
            return elementwise(a, dim)
        x = _data(a)
        if dim is None:
            if x.size == 0:
                raise RuntimeError(f"{name}(): Expected reduction dim to be specified for "
                                   f"input.numel() == 0. Specify the reduction dim with the "
                                   f"'dim' argument.")
            return amax(a) if name == "max" else _negated_amax(a)
        axis = _axis(dim, x.ndim)
        if x.ndim and x.shape[axis] == 0:
            raise IndexError(f"{name}(): Expected reduction dim {dim} to have non-zero size.")
        indices = np.expand_dims(arg_function(x, axis=axis), axis) if x.ndim else None
        return _pick(a, x, indices, axis, keepdim)
    reduce.__name__ = name
    reduce.__doc__ = (f"``{name}(input)``: the {name}imum as a 0-d tensor; ``{name}(input, dim, "
                      f"keepdim=False)``: ``(values, indices)`` along ``dim``; ``{name}(input, "
                      f"other)``: the element-wise {name}imum.")
    return reduce


def _negated_amax(a):
    from .tensor_ops import neg
    return neg(amax(neg(a)))


def _elementwise_max(a, b):
    from .tensor_math import maximum
    return maximum(a, b)


def _elementwise_min(a, b):
    from .tensor_math import minimum
    return minimum(a, b)


max_ = _extreme("max", np.argmax, _elementwise_max)
min_ = _extreme("min", np.argmin, _elementwise_min)


def amin(a, dim=None, keepdim: bool = False) -> Tensor:
    from .tensor_ops import neg
    return neg(amax(neg(a), dim, keepdim))


def _arg(function, name):
    def arg(a, dim=None, keepdim: bool = False) -> Tensor:
        x = _data(a)
        if x.size == 0:
            raise RuntimeError(f"{name}(): Expected reduction dim to be specified for "
                               f"input.numel() == 0.")
        if dim is None:
            index = np.asarray(function(x))
            return Tensor(index.reshape((1,) * x.ndim) if keepdim else index.astype(np.int64))
        axis = _axis(dim, x.ndim)
        return Tensor(function(x, axis=axis, keepdims=keepdim).astype(np.int64))
    arg.__name__ = name
    return arg


argmax = _arg(np.argmax, "argmax")
argmin = _arg(np.argmin, "argmin")


def _correction(unbiased, correction) -> float:
    if correction is not None:
        return float(correction)
    return 1.0 if unbiased is None or unbiased else 0.0


def var(a, dim=None, unbiased=None, keepdim: bool = False, *, correction=None) -> Tensor:
    """Variance over ``dim`` with ``correction`` (1: Bessel's, the default; ``unbiased=False``
    is correction 0)."""
    if isinstance(dim, bool):                       # var(unbiased) in the old signature
        dim, unbiased = None, dim
    x = _data(a)
    if x.dtype.kind not in "fc":
        raise RuntimeError(f"std and var only support floating point and complex dtypes, got "
                           f"{x.dtype}")
    dims = _normalise_dims(dim, x.ndim)
    count = int(np.prod([x.shape[d] for d in dims])) if dims else 1
    divisor = np.asarray(count - _correction(unbiased, correction), dtype=x.dtype)
    centred = x - x.mean(axis=dims, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.asarray((centred * centred).sum(axis=dims, keepdims=keepdim) / divisor)
    return record(out, (a,), lambda g: (
        (2 * _expand_reduced(g, dims, keepdim) * centred / divisor).astype(x.dtype),))


def std(a, dim=None, unbiased=None, keepdim: bool = False, *, correction=None) -> Tensor:
    """Standard deviation: the square root of :func:`var` with the same arguments."""
    return sqrt(var(a, dim, unbiased, keepdim, correction=correction))


def norm(a, p="fro", dim=None, keepdim: bool = False, dtype=None) -> Tensor:
    """The vector ``p``-norm over ``dim`` (all elements if None): 'fro' or 2, 1, inf, -inf,
    0 or any number; the gradient at a zero norm is 0 (as torch's)."""
    x = _data(a)
    if dtype is not None:
        x = x.astype(dtypes.as_dtype(dtype))
    if x.dtype.kind not in "fc":
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as "
                           f"input. Got {x.dtype}")
    order = 2.0 if p in ("fro", None) else float(p)
    dims = _normalise_dims(dim, x.ndim)
    magnitude = np.abs(x)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if order == np.inf:
            out = magnitude.max(axis=dims, keepdims=True) if x.size else np.zeros(())
        elif order == -np.inf:
            out = magnitude.min(axis=dims, keepdims=True)
        elif order == 0:
            out = (magnitude != 0).sum(axis=dims, keepdims=True).astype(x.dtype)
        else:
            out = (magnitude ** order).sum(axis=dims, keepdims=True) ** (1 / order)
    out = np.asarray(out, dtype=x.dtype)

    def backward(g):
        g = _expand_reduced(g, dims, keepdim) if not keepdim else g
        with np.errstate(divide="ignore", invalid="ignore"):
            if order in (np.inf, -np.inf):
                winners = magnitude == out
                grad = g * np.sign(x) * winners / winners.sum(axis=dims, keepdims=True)
            elif order == 0:
                grad = np.zeros_like(x)
            else:
                grad = g * np.sign(x) * magnitude ** (order - 1) / out ** (order - 1)
        return (np.nan_to_num(grad, nan=0.0, posinf=0.0, neginf=0.0).astype(x.dtype),)

    return record(out if keepdim else np.squeeze(out, axis=dims), (a,), backward)


def prod(a, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Product of all elements, or along one ``dim``; exact gradients with zeros present
    (each element's gradient is the product of the others)."""
    x = _data(a)
    if dtype is not None:
        x = x.astype(dtypes.as_dtype(dtype))
    elif x.dtype.kind in "iub":
        x = x.astype(np.int64)
    flat = dim is None
    work = x.reshape(-1) if flat else x
    axis = 0 if flat else _axis(dim, x.ndim)
    out = np.asarray(np.prod(work, axis=axis, keepdims=keepdim and not flat))

    def backward(g):
        ones = np.ones_like(np.take(work, [0], axis=axis))
        before = np.cumprod(np.concatenate([ones, np.delete(work, -1, axis)], axis), axis)
        reversed_ = np.flip(work, axis)
        after = np.flip(np.cumprod(np.concatenate([ones, np.delete(reversed_, -1, axis)], axis),
                                   axis), axis)
        upstream = g if (keepdim or flat) else np.expand_dims(g, axis)
        grad = (np.reshape(upstream, (1,)) if flat else upstream) * before * after
        return (grad.reshape(x.shape),)
    if flat and keepdim:
        out = out.reshape((1,) * x.ndim)
    return record(out, (a,), backward)


def logsumexp(a, dim, keepdim: bool = False) -> Tensor:
    """``log(sum(exp(a)))`` over ``dim``, computed without overflow."""
    x = _data(a)
    dims = _normalise_dims(dim, x.ndim)
    top = np.max(x, axis=dims, keepdims=True) if x.size else np.zeros((1,) * x.ndim, x.dtype)
    top = np.where(np.isfinite(top), top, 0)
    out = np.log(np.exp(x - top).sum(axis=dims, keepdims=True)) + top
    return record(out if keepdim else np.squeeze(out, axis=dims), (a,), lambda g: (
        ((g if keepdim else _expand_reduced(g, dims, keepdim)) * np.exp(x - out)).astype(x.dtype),))


def cumsum(a, dim, *, dtype=None) -> Tensor:
    x = _data(a)
    axis = _axis(dim, x.ndim)
    dtype = dtypes.as_dtype(dtype) or (np.int64 if x.dtype.kind in "iub" else x.dtype)
    out = np.cumsum(x, axis=axis, dtype=dtype) if x.ndim else x.astype(dtype)
    return record(out, (a,), lambda g: (
        np.flip(np.cumsum(np.flip(g, axis), axis=axis), axis).astype(x.dtype) if x.ndim else g,),
        saved=())


def _stable_argsort(x: np.ndarray, axis: int, descending: bool) -> np.ndarray:
    if not descending:
        return np.argsort(x, axis=axis, kind="stable")
    flipped = np.flip(x, axis)
    order = np.argsort(flipped, axis=axis, kind="stable")
    return np.flip(x.shape[axis] - 1 - order, axis)


def sort(a, dim: int = -1, descending: bool = False, stable: bool = False) -> values_indices:
    """Sorted values and their indices along ``dim`` (NaN counts as the largest value)."""
    x = _data(a)
    if x.ndim == 0:
        return _pick(a, x, None, 0, False)
    axis = _axis(dim, x.ndim)
    order = _stable_argsort(x, axis, descending)
    return _pick(a, x, order, axis, keepdim=True)


def argsort(a, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    return sort(a, dim, descending, stable).indices


def topk(a, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> values_indices:  # noqa: A002
    """The ``k`` largest (or smallest) values along ``dim`` and their indices."""
    x = _data(a)
    axis = _axis(dim, x.ndim)
    length = x.shape[axis] if x.ndim else 1
    if not 0 <= k <= length:
        raise RuntimeError(f"selected index k out of range (k={k}, size {length} along dim "
                           f"{dim})")
    if x.ndim == 0:
        return _pick(a, x, None, 0, False)
    order = _stable_argsort(x, axis, descending=largest)
    return _pick(a, x, np.take(order, np.arange(k), axis=axis), axis, keepdim=True)


def _boolean(function):
    def reduce(a, dim=None, keepdim: bool = False) -> Tensor:
        x = _data(a)
        dims = _normalise_dims(dim, x.ndim)
        return Tensor(np.asarray(function(x != 0, axis=dims, keepdims=keepdim)))
    reduce.__name__ = function.__name__
    return reduce


any_ = _boolean(np.any)
all_ = _boolean(np.all)


def count_nonzero(a, dim=None) -> Tensor:
    x = _data(a)
    return Tensor(np.asarray(np.count_nonzero(x, axis=None if dim is None else
                                              _normalise_dims(dim, x.ndim)), dtype=np.int64))


name_made_functions(globals())
