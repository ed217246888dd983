"""Element-wise maths beyond arithmetic, comparisons and selection, as torch names them.

Comparisons (``==``, ``<``, ``eq``, ``isnan`` ...) give bool tensors without a gradient;
``clamp``, ``where``, ``masked_fill``, ``maximum`` and the unary functions carry their
gradients (torch's choices at ties: ``clamp`` passes the gradient at the bounds,
``maximum``/``minimum`` split it equally between equal operands).

Example:
    >>> import convnet
    >>> x = convnet.tensor([-2.0, 0.5, 3.0], requires_grad=True)
    >>> y = x.clamp(-1, 1).where(x > 0, convnet.tensor(0.0))
    >>> y.sum().backward()
    >>> y.tolist(), x.grad.tolist()
    ([0.0, 0.5, 1.0], [0.0, 1.0, 0.0])
"""

from __future__ import annotations

import numpy as np

from ._naming import name_made_functions
from .tensor import Tensor, record
from .tensor_ops import _cast_back, _data, _floating, _operands, unbroadcast


def _constant(out: np.ndarray) -> Tensor:
    """A result without gradient (comparisons, rounding)."""
    return Tensor(out)


# ------------------------------------------------------------------ comparisons
def _compare(ufunc):
    def compare(a, b) -> Tensor:
        x, y = _operands(a, b)
        with np.errstate(invalid="ignore"):
            return _constant(ufunc(x, y))
    compare.__name__ = ufunc.__name__
    return compare


eq, ne = _compare(np.equal), _compare(np.not_equal)
lt, le = _compare(np.less), _compare(np.less_equal)
gt, ge = _compare(np.greater), _compare(np.greater_equal)


def _bitwise(bitwise):
    def combine(a, b) -> Tensor:
        x, y = _operands(a, b)
        if x.dtype.kind not in "biu":
            raise TypeError(f"{bitwise.__name__}: operands must be integer or bool tensors, "
                            f"got {x.dtype}")
        return _constant(bitwise(x, y))
    return combine


bitwise_and = _bitwise(np.bitwise_and)
bitwise_or = _bitwise(np.bitwise_or)
bitwise_xor = _bitwise(np.bitwise_xor)


def logical_and(a, b) -> Tensor:
    return _constant(np.logical_and(_data(a) != 0, _data(b) != 0))


def logical_or(a, b) -> Tensor:
    return _constant(np.logical_or(_data(a) != 0, _data(b) != 0))


def logical_not(a) -> Tensor:
    return _constant(np.logical_not(_data(a)))


def bitwise_not(a) -> Tensor:
    x = _data(a)
    if x.dtype.kind not in "biu":
        raise TypeError(f"bitwise_not: only integer and bool tensors, got {x.dtype}")
    return _constant(np.invert(x))


def isnan(a) -> Tensor:
    return _constant(np.isnan(_data(a)))


def isinf(a) -> Tensor:
    return _constant(np.isinf(_data(a)))


def isfinite(a) -> Tensor:
    return _constant(np.isfinite(_data(a)))


def equal(a, b) -> bool:
    """True if both have the same shape and elements."""
    x, y = _data(a), _data(b)
    return x.shape == y.shape and bool(np.array_equal(x, y))


def allclose(a, b, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
    return bool(np.allclose(_data(a), _data(b), rtol=rtol, atol=atol, equal_nan=equal_nan))


def isclose(a, b, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Tensor:
    return _constant(np.isclose(_data(a), _data(b), rtol=rtol, atol=atol, equal_nan=equal_nan))


# ------------------------------------------------------------------ selection
def clamp(a, min=None, max=None) -> Tensor:  # noqa: A002 - torch's argument names
    """Limit to ``[min, max]`` (either may be None or a tensor); the gradient passes where
    the input lies within the bounds, bounds included."""
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    x = _data(a)
    low = None if min is None else _operands(a, min)[1]
    high = None if max is None else _operands(a, max)[1]
    if (low is not None and low.dtype != x.dtype) or (high is not None and high.dtype != x.dtype):
        x = x.astype(np.result_type(*(v for v in (low, high) if v is not None)))
    out = x
    if low is not None:
        out = np.maximum(out, low)
    if high is not None:
        out = np.minimum(out, high)
    out = np.asarray(out)

    def backward(g):
        keep = np.ones(out.shape, dtype=bool)
        if low is not None:
            keep &= x >= low
        if high is not None:
            keep &= x <= high
        return (unbroadcast(np.where(keep, g, 0), x.shape).astype(x.dtype),)

    return record(out, (a,), backward)


def where(condition, input=None, other=None) -> Tensor:  # noqa: A002
    """``input`` where ``condition`` holds, ``other`` elsewhere (broadcast); one argument:
    the indices of the non-zero elements (``nonzero(as_tuple=True)``)."""
    mask = _data(condition)
    if input is None and other is None:
        return tuple(Tensor(index) for index in np.nonzero(mask))
    if mask.dtype != np.bool_:
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor "
                           f"with dtype {mask.dtype}")
    x, y = _operands(input, other)
    out = np.where(mask, x, y)
    return record(out, (input, other), lambda g: (
        _cast_back(unbroadcast(np.where(mask, g, 0), x.shape), input),
        _cast_back(unbroadcast(np.where(mask, 0, g), y.shape), other)), saved=())


def masked_fill(a, mask, value) -> Tensor:
    """``a`` with ``value`` where the bool ``mask`` (broadcast to ``a``) holds."""
    x, m = _data(a), _data(mask)
    if m.dtype != np.bool_:
        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with "
                           f"dtype {m.dtype}")
    fill = _data(value)
    if fill.ndim:
        raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but got "
                           f"tensor with {fill.ndim} dimension(s).")
    out = np.where(m, fill.astype(x.dtype), x)
    if out.shape != x.shape:
        raise RuntimeError(f"masked_fill: mask of shape {m.shape} does not broadcast to the "
                           f"input's shape {x.shape}")
    return record(out, (a,), lambda g: (np.where(m, 0, g).astype(x.dtype),), saved=())


def _extremum(ufunc):
    def pick(a, b) -> Tensor:
        x, y = _operands(a, b)
        out = ufunc(x, y)

        def backward(g):
            tie = x == y
            grad_x = np.where(tie, g / 2, np.where(out == x, g, 0))
            grad_y = np.where(tie, g / 2, np.where(out == y, g, 0))
            return (_cast_back(unbroadcast(grad_x, x.shape), a),
                    _cast_back(unbroadcast(grad_y, y.shape), b))
        return record(out, (a, b), backward)
    pick.__name__ = ufunc.__name__
    return pick


maximum, minimum = _extremum(np.maximum), _extremum(np.minimum)


# ------------------------------------------------------------------ unary functions
def _unary(forward, derivative=None, saves_output=False, integers_stay=False, onednn=None):
    """An element-wise function ``forward(x)`` with ``derivative(x, y)`` (None: no gradient);
    ``onednn`` names the same function in :mod:`convnet.ops.eltwise_onednn`, which computes
    it instead where that backend takes the input."""
    def function(a) -> Tensor:
        x = _data(a) if integers_stay else _floating(a)
        if onednn is not None:
            from .ops import eltwise_onednn
            if eltwise_onednn.supports(x, onednn):
                return record(eltwise_onednn.forward(x, onednn), (a,),
                              lambda g: (eltwise_onednn.backward(g, x, onednn),))
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            out = np.asarray(forward(x))
        if derivative is None:
            return record(out, (a,), lambda g: (np.zeros_like(x),), saved=())

        def backward(g):
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                return ((g * derivative(x, out)).astype(x.dtype, copy=False),)
        return record(out, (a,), backward, saves_output=saves_output)
    function.__name__ = getattr(forward, "__name__", "unary")
    return function


floor = _unary(np.floor, integers_stay=True)
ceil = _unary(np.ceil, integers_stay=True)
trunc = _unary(np.trunc, integers_stay=True)
round_ = _unary(np.round, integers_stay=True)
sign = _unary(np.sign, integers_stay=True)
log2 = _unary(np.log2, lambda x, y: 1 / (x * np.log(2.0).astype(x.dtype)))
log10 = _unary(np.log10, lambda x, y: 1 / (x * np.log(10.0).astype(x.dtype)))
log1p = _unary(np.log1p, lambda x, y: 1 / (1 + x))
expm1 = _unary(np.expm1, lambda x, y: y + 1, saves_output=True)
exp2 = _unary(np.exp2, lambda x, y: y * np.log(2.0).astype(x.dtype), saves_output=True)
sin = _unary(np.sin, lambda x, y: np.cos(x))
cos = _unary(np.cos, lambda x, y: -np.sin(x))
reciprocal = _unary(np.reciprocal, lambda x, y: -y * y, saves_output=True)
rsqrt = _unary(lambda x: 1 / np.sqrt(x), lambda x, y: -0.5 * y * y * y, saves_output=True)
square = _unary(np.square, lambda x, y: 2 * x, integers_stay=True)


def nan_to_num(a, nan: float = 0.0, posinf=None, neginf=None) -> Tensor:
    x = _data(a)
    out = np.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)
    return record(out, (a,), lambda g: (np.where(np.isfinite(x), g, 0).astype(x.dtype),))


def floor_divide(a, b) -> Tensor:
    x, y = _operands(a, b)
    if x.dtype.kind in "iu" and np.any(y == 0):
        raise RuntimeError("ZeroDivisionError")
    with np.errstate(divide="ignore", invalid="ignore"):
        return _constant(np.floor_divide(x, y))


def remainder(a, b) -> Tensor:
    """Python's ``%`` (the sign of the divisor); the gradient is 1 for ``a``."""
    x, y = _operands(a, b)
    if x.dtype.kind in "iu" and np.any(y == 0):
        raise RuntimeError("ZeroDivisionError")
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.mod(x, y)
    return record(out, (a, b), lambda g: (
        _cast_back(unbroadcast(g, x.shape), a),
        _cast_back(unbroadcast(-g * np.floor_divide(x, y), y.shape), b)))


def lerp(a, end, weight) -> Tensor:
    """``a + weight * (end - a)``."""
    from .tensor_ops import add, mul, sub
    return add(a, mul(weight, sub(end, a)))



name_made_functions(globals())
