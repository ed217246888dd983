"""In-place operations (``add_``, ``mul_``, ``zero_``, ``copy_``, ``t[i] = v``, ``+=`` ...) with
torch's version counter.

Each in-place operation is its out-of-place twin whose result is written back into the
tensor's memory; the tensor's version counter (shared with its views) then goes up. A
backward pass that needs a tensor changed since the forward pass raises ``RuntimeError``
instead of computing a wrong gradient. As in torch, a leaf that requires grad may be
changed in place only under ``no_grad()``; convnet also refuses (with a message) an
in-place change under autograd to a *view* of a tensor that requires grad.

Example:
    >>> import convnet
    >>> w = convnet.tensor([1.0, 2.0], requires_grad=True)
    >>> y = w.exp()
    >>> _ = y.add_(1)                  # exp's backward reads its output: now stale
    >>> y.sum().backward()
    Traceback (most recent call last):
    ...
    RuntimeError: one of the variables needed for gradient computation has been modified by an inplace operation: it is at version 1; expected version 0 instead
"""

from __future__ import annotations

import numpy as np

from . import random as _random
from .tensor import Tensor, _node_of, is_grad_enabled, no_grad, record
from .tensor_ops import _cast_back, _data, add, div, mul, sub, unbroadcast


def _snapshot(t: Tensor) -> Tensor:
    """A copy of ``t``'s data on ``t``'s graph node: what the out-of-place twin reads, so
    the write-back cannot change what its backward saved."""
    copy = Tensor.__new__(Tensor)
    copy.data, copy.grad, copy._node = t.data.copy(), None, t._node
    copy._requires_grad, copy._version_cell, copy._base = t._requires_grad, [0], None
    if t._requires_grad and t._node is None:
        copy._node = _node_of(t)
    return copy


def _recording(t: Tensor, others=()) -> bool:
    return is_grad_enabled() and (t._requires_grad or any(
        isinstance(o, Tensor) and o._requires_grad for o in others))


def _check_target(t: Tensor, others=()) -> None:
    if not isinstance(t, Tensor):
        raise TypeError(f"in-place operation on {type(t).__name__}: expected a Tensor")
    if not is_grad_enabled():
        return
    if t._requires_grad and t.is_leaf:
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place "
                           "operation.")
    base = t._base
    if base is not None and _recording(t, others) and (base._requires_grad or t._requires_grad):
        raise RuntimeError("in-place operation on a view of a tensor that requires grad: "
                           "convnet's autograd does not rewrite the base tensor's graph; use "
                           "the out-of-place operation (or torch.where / cat) instead")


def apply_inplace(t: Tensor, operation, *args, **kwargs) -> Tensor:
    """Run ``operation(t, *args, **kwargs)`` and write its result into ``t``."""
    _check_target(t, args)
    source = _snapshot(t) if _recording(t, args) else t
    result = operation(source, *args, **kwargs)
    return commit(t, result)


def commit(t: Tensor, result: Tensor) -> Tensor:
    """Write ``result`` into ``t``'s memory, bump its version and put it on the graph."""
    data = result.data
    if data.shape != t.data.shape:
        raise RuntimeError(f"output with shape {list(t.data.shape)} doesn't match the "
                           f"broadcast shape {list(data.shape)}")
    if data.dtype != t.data.dtype and not np.can_cast(data.dtype, t.data.dtype, "same_kind"):
        raise RuntimeError(f"result type {data.dtype} can't be cast to the desired output type "
                           f"{t.data.dtype}")
    np.copyto(t.data, data, casting="unsafe")
    t._version_cell[0] += 1
    if result._requires_grad:
        node = result._node
        if data.dtype != t.data.dtype:            # float64 written into float32, say
            node = record(t.data, (result,), lambda g: (g.astype(data.dtype),), saved=())._node
        t._node, t._requires_grad = node, True
    return t


def _index_put(a, index, value) -> Tensor:
    x = _data(a)
    if isinstance(index, Tensor):
        index = index.data
    elif isinstance(index, tuple):
        index = tuple(i.data if isinstance(i, Tensor) else i for i in index)
    v = _data(value) if isinstance(value, Tensor) else np.asarray(value)
    out = x.copy()
    out[index] = v
    selected_shape = x[index].shape

    def backward(g):
        grad_x = g.copy()
        grad_x[index] = 0
        grad_v = None
        if isinstance(value, Tensor):
            grad_v = _cast_back(unbroadcast(np.broadcast_to(g[index], selected_shape), v.shape),
                                value)
        return grad_x, grad_v
    return record(out, (a, value), backward, saved=())


def setitem(t: Tensor, index, value) -> None:
    """``t[index] = value`` (value broadcast), recorded on the graph like torch's."""
    apply_inplace(t, _index_put, index, value)


def _fill(a, value) -> Tensor:
    x = _data(a)
    fill = _data(value) if isinstance(value, Tensor) else np.asarray(value)
    if fill.ndim:
        raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with "
                           f"{fill.ndim} dimensions.")
    return record(np.full_like(x, fill), (a, value), lambda g: (
        np.zeros_like(x), _cast_back(np.asarray(g.sum()), value)), saved=())


def _copy_from(a, source) -> Tensor:
    x, s = _data(a), _data(source)
    try:
        out = np.broadcast_to(s, x.shape).astype(x.dtype)
    except ValueError:
        raise RuntimeError(f"copy_: the source of shape {s.shape} does not broadcast to the "
                           f"destination's shape {x.shape}") from None
    return record(out, (a, source), lambda g: (
        np.zeros_like(x), _cast_back(unbroadcast(g, s.shape), source)), saved=())


def _random_fill(draw):
    def fill(t: Tensor, *args, generator=None) -> Tensor:
        rng = generator.numpy_generator if hasattr(generator, "numpy_generator") else \
            _random.resolve_rng(generator)
        with no_grad():
            return commit(t, Tensor(np.asarray(draw(rng, t.data.shape, *args)).astype(t.data.dtype)))
    return fill


def _clamp(a, min=None, max=None):  # noqa: A002
    from .tensor_math import clamp
    return clamp(a, min, max)


def _in_place(operation):
    def method(self, *args, **kwargs):
        return apply_inplace(self, operation, *args, **kwargs)
    method.__name__ = operation.__name__ + "_"
    return method


def _requires_grad_(self, requires_grad: bool = True) -> Tensor:
    self.requires_grad = requires_grad
    return self


def _zero_(self) -> Tensor:
    return apply_inplace(self, _fill, 0)


METHODS = {
    "add_": _in_place(add), "sub_": _in_place(sub), "mul_": _in_place(mul),
    "div_": _in_place(div), "clamp_": _in_place(_clamp), "clip_": _in_place(_clamp),
    "fill_": _in_place(_fill), "zero_": _zero_, "copy_": _in_place(_copy_from),
    "requires_grad_": _requires_grad_,
    "__setitem__": setitem,
    "__iadd__": _in_place(add), "__isub__": _in_place(sub),
    "__imul__": _in_place(mul), "__itruediv__": _in_place(div),
    "normal_": _random_fill(lambda rng, shape, mean=0.0, std=1.0: rng.normal(mean, std, shape)),
    "uniform_": _random_fill(lambda rng, shape, low=0.0, high=1.0: rng.uniform(low, high, shape)),
    "bernoulli_": _random_fill(lambda rng, shape, p=0.5: rng.random(shape) < p),
}


def _unary_in_place(name: str):
    def method(self, *args, **kwargs):
        return apply_inplace(self, getattr(Tensor, name), *args, **kwargs)
    return method


for _name in ("relu", "sigmoid", "tanh", "exp", "log", "sqrt", "abs", "neg", "pow",
              "masked_fill", "floor", "ceil", "round", "sign", "square", "reciprocal",
              "scatter", "scatter_add", "clamp_min", "clamp_max", "lerp"):
    METHODS.setdefault(_name + "_", _unary_in_place(_name))
