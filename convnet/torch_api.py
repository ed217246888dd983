"""torch's tensor vocabulary on convnet: the Tensor methods and the top-level functions
(``convnet.cat``, ``convnet.max``, ``convnet.where`` ...), each defined once in its family
module (:mod:`~convnet.tensor_ops`, :mod:`~convnet.tensor_math`,
:mod:`~convnet.tensor_reduce`, :mod:`~convnet.tensor_shape`, :mod:`~convnet.tensor_inplace`,
:mod:`~convnet.tensor_convert`, :mod:`~convnet.creation`) and attached here.

Example:
    >>> import convnet
    >>> x = convnet.tensor([[1.0, -2.0], [3.0, 0.5]], requires_grad=True)
    >>> loss = convnet.where(x > 0, x, x * 0.1).pow(2).sum()
    >>> loss.backward(); x.grad.tolist()
    [[2.0, -0.04000000283122063], [6.0, 1.0]]
    >>> convnet.cat([x, x], dim=0).shape, (x == 3).dtype
    ((4, 2), dtype('bool'))
"""

from __future__ import annotations

from . import creation, tensor_convert, tensor_inplace
from . import tensor_math as math_
from . import tensor_ops as ops
from . import tensor_reduce as reduce_
from . import tensor_shape as shape_
from .tensor import Tensor


def _softmax(self, dim=None, dtype=None):
    from .functional import softmax
    return softmax(self if dtype is None else self.to(dtype), dim)


def _log_softmax(self, dim=None, dtype=None):
    from .functional import log_softmax
    return log_softmax(self if dtype is None else self.to(dtype), dim)


def _flip_args(function):
    return lambda self, other: function(other, self)


def _invert(self):
    return math_.logical_not(self) if self.dtype.kind == "b" else math_.bitwise_not(self)


def _where_method(self, condition, other):
    return math_.where(condition, self, other)


def _mm(a, b):
    if a.ndim != 2 or b.ndim != 2:
        raise RuntimeError(f"mm: expected 2-D tensors, got {a.ndim}-D and {b.ndim}-D")
    return ops.matmul(a, b)


def _bmm(a, b):
    if a.ndim != 3 or b.ndim != 3:
        raise RuntimeError(f"bmm: expected 3-D tensors, got {a.ndim}-D and {b.ndim}-D")
    return ops.matmul(a, b)


def _dot(a, b):
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors")
    return ops.matmul(a, b)


def _pos(self):
    return self


_METHODS = {
    "__eq__": math_.eq, "__ne__": math_.ne, "__lt__": math_.lt, "__le__": math_.le,
    "__gt__": math_.gt, "__ge__": math_.ge,
    "eq": math_.eq, "ne": math_.ne, "lt": math_.lt, "le": math_.le, "gt": math_.gt,
    "ge": math_.ge, "greater": math_.gt, "less": math_.lt, "equal": math_.equal,
    "allclose": math_.allclose, "isclose": math_.isclose,
    "__and__": math_.bitwise_and, "__or__": math_.bitwise_or, "__xor__": math_.bitwise_xor,
    "__rand__": _flip_args(math_.bitwise_and), "__ror__": _flip_args(math_.bitwise_or),
    "__rxor__": _flip_args(math_.bitwise_xor), "__invert__": _invert,
    "logical_and": math_.logical_and, "logical_or": math_.logical_or,
    "logical_not": math_.logical_not,
    "__rpow__": ops.rpower, "__floordiv__": math_.floor_divide,
    "__rfloordiv__": _flip_args(math_.floor_divide), "__mod__": math_.remainder,
    "__abs__": ops.abs, "__pos__": _pos,
    "add": ops.add, "sub": ops.sub, "subtract": ops.sub, "mul": ops.mul, "multiply": ops.mul,
    "div": ops.div, "divide": ops.div, "true_divide": ops.div, "neg": ops.neg,
    "negative": ops.neg, "pow": ops.power, "matmul": ops.matmul, "mm": _mm, "bmm": _bmm,
    "dot": _dot, "floor_divide": math_.floor_divide, "remainder": math_.remainder,
    "clamp": math_.clamp, "clip": math_.clamp,
    "clamp_min": lambda self, min: math_.clamp(self, min=min),  # noqa: A002
    "clamp_max": lambda self, max: math_.clamp(self, max=max),  # noqa: A002
    "where": _where_method, "masked_fill": math_.masked_fill,
    "maximum": math_.maximum, "minimum": math_.minimum, "lerp": math_.lerp,
    "isnan": math_.isnan, "isinf": math_.isinf, "isfinite": math_.isfinite,
    "nan_to_num": math_.nan_to_num,
    "floor": math_.floor, "ceil": math_.ceil, "trunc": math_.trunc, "round": math_.round_,
    "sign": math_.sign, "log2": math_.log2, "log10": math_.log10, "log1p": math_.log1p,
    "expm1": math_.expm1, "exp2": math_.exp2, "sin": math_.sin, "cos": math_.cos,
    "reciprocal": math_.reciprocal, "rsqrt": math_.rsqrt, "square": math_.square,
    "max": reduce_.max_, "min": reduce_.min_, "amax": ops.amax, "amin": reduce_.amin,
    "argmax": reduce_.argmax, "argmin": reduce_.argmin, "std": reduce_.std,
    "var": reduce_.var, "norm": reduce_.norm, "prod": reduce_.prod,
    "logsumexp": reduce_.logsumexp, "cumsum": reduce_.cumsum, "sort": reduce_.sort,
    "argsort": reduce_.argsort, "topk": reduce_.topk, "any": reduce_.any_, "all": reduce_.all_,
    "count_nonzero": reduce_.count_nonzero,
    "view": shape_.view, "view_as": lambda self, other: shape_.view(self, other.shape),
    "reshape_as": lambda self, other: ops.reshape(self, other.shape),
    "unsqueeze": shape_.unsqueeze, "squeeze": shape_.squeeze, "transpose": shape_.transpose,
    "swapaxes": shape_.transpose, "swapdims": shape_.transpose, "t": shape_.t,
    "movedim": shape_.movedim, "expand": shape_.expand, "expand_as": shape_.expand_as,
    "repeat": shape_.repeat, "tile": shape_.repeat, "chunk": shape_.chunk,
    "split": shape_.split, "unbind": shape_.unbind, "narrow": shape_.narrow,
    "contiguous": shape_.contiguous, "flip": shape_.flip, "roll": shape_.roll,
    "gather": shape_.gather, "scatter": shape_.scatter, "scatter_add": shape_.scatter_add,
    "index_select": shape_.index_select, "masked_select": shape_.masked_select,
    "nonzero": shape_.nonzero,
    "softmax": _softmax, "log_softmax": _log_softmax,
}
_METHODS.update(tensor_convert.METHODS)
_METHODS.update(tensor_inplace.METHODS)
for _name, _method in _METHODS.items():
    setattr(Tensor, _name, _method)


def _softmax_function(input, dim=None, dtype=None):
    return _softmax(input, dim, dtype)


def _log_softmax_function(input, dim=None, dtype=None):
    return _log_softmax(input, dim, dtype)


def _cat(tensors, dim: int = 0, *, out=None):
    from .functional import cat
    return cat(tensors, dim)


def _stack(tensors, dim: int = 0, *, out=None):
    from .functional import stack
    return stack(tensors, dim)


FUNCTIONS = {
    "add": ops.add, "sub": ops.sub, "subtract": ops.sub, "mul": ops.mul, "multiply": ops.mul,
    "div": ops.div, "divide": ops.div, "true_divide": ops.div, "neg": ops.neg,
    "negative": ops.neg, "pow": ops.power, "matmul": ops.matmul, "mm": _mm, "bmm": _bmm,
    "dot": _dot, "exp": ops.exp, "log": ops.log, "sqrt": ops.sqrt, "abs": ops.abs,
    "relu": ops.relu, "sigmoid": ops.sigmoid, "tanh": ops.tanh,
    "softmax": _softmax_function, "log_softmax": _log_softmax_function,
    "sum": ops.sum, "mean": ops.mean, "amax": ops.amax, "flatten": ops.flatten,
    "reshape": ops.reshape, "permute": ops.permute,
    "cat": _cat, "concat": _cat, "concatenate": _cat, "stack": _stack,
    "einsum": shape_.einsum,
}
for _module, _names in (
        (math_, ("eq", "ne", "lt", "le", "gt", "ge", "equal", "allclose", "isclose",
                 "logical_and", "logical_or", "logical_not", "bitwise_and", "bitwise_or",
                 "bitwise_xor", "bitwise_not", "isnan", "isinf", "isfinite", "nan_to_num",
                 "clamp", "where", "masked_fill", "maximum", "minimum", "floor", "ceil",
                 "trunc", "sign", "log2", "log10", "log1p", "expm1", "exp2", "sin",
                 "cos", "reciprocal", "rsqrt", "square", "floor_divide", "remainder", "lerp")),
        (reduce_, ("amin", "argmax", "argmin", "std", "var", "norm", "prod",
                   "logsumexp", "cumsum", "sort", "argsort", "topk", "count_nonzero")),
        (shape_, ("unsqueeze", "squeeze", "transpose", "t", "movedim", "chunk", "split",
                  "unbind", "narrow", "flip", "roll", "gather", "scatter", "scatter_add",
                  "index_select", "masked_select", "nonzero")),
        (tensor_convert, ("clone",))):
    for _name in _names:
        FUNCTIONS[_name] = getattr(_module, _name)
FUNCTIONS.update(clip=math_.clamp, round=math_.round_, max=reduce_.max_, min=reduce_.min_,
                 any=reduce_.any_, all=reduce_.all_)
FUNCTIONS["swapaxes"] = FUNCTIONS["swapdims"] = shape_.transpose
for _name in creation.__all__:
    FUNCTIONS[_name] = getattr(creation, _name)
