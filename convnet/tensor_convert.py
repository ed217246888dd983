"""Conversions and facts about a tensor, under torch's names: ``to``, ``float``, ``long``,
``cpu``, ``clone``, ``tolist``, ``numel``, ``dim``, ``new_zeros`` ...

Casts between floating dtypes carry the gradient (cast back to the source dtype); a cast
to an integer or bool dtype gives a tensor without gradient, as in torch.

Example:
    >>> import convnet
    >>> x = convnet.tensor([1.5, -2.0], requires_grad=True)
    >>> x.double().dtype, x.long().tolist(), x.to('cpu', convnet.float16).dtype
    (dtype('float64'), [1, -2], dtype('float16'))
    >>> x.numel(), x.dim(), x.size(), x.size(0)
    (2, 1, (2,), 2)
"""

from __future__ import annotations

import numpy as np

from . import dtypes
from .device import CPU, check_device, is_device
from .tensor import Tensor, record


def cast(a: Tensor, dtype) -> Tensor:
    """``a`` as ``dtype`` (``a`` itself when it already is)."""
    dtype = dtypes.as_dtype(dtype)
    x = a.data
    if x.dtype == dtype:
        return a
    return record(x.astype(dtype), (a,), lambda g: (g.astype(x.dtype),), saved=())


def to(self: Tensor, *args, **kwargs) -> Tensor:
    """``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other)`` (its dtype), with
    ``non_blocking``/``copy``/``memory_format`` accepted; only the CPU exists."""
    dtype, copy = kwargs.pop("dtype", None), kwargs.pop("copy", False)
    check_device(kwargs.pop("device", None))
    kwargs.pop("non_blocking", None), kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
    for arg in args:
        if isinstance(arg, Tensor):
            dtype = arg.dtype
        elif is_device(arg) or isinstance(arg, int) and not isinstance(arg, bool):
            check_device(arg)
        elif isinstance(arg, bool):
            continue                                         # non_blocking, positionally
        else:
            dtype = dtypes.as_dtype(arg)
    out = self if dtype is None else cast(self, dtype)
    if copy and out is self:
        out = clone(self)
    return out


def clone(a: Tensor, *, memory_format=None) -> Tensor:
    """A copy of ``a`` with its own memory, on the graph (the gradient passes through)."""
    return record(a.data.copy(), (a,), lambda g: (g,), saved=())


def tolist(a: Tensor):
    return a.data.tolist()


def cpu(a: Tensor, memory_format=None) -> Tensor:
    return a


def cuda(a: Tensor, device=None, non_blocking: bool = False, memory_format=None) -> Tensor:
    check_device("cuda" if device is None else device)
    return a


def type_(a: Tensor, dtype=None, non_blocking: bool = False):
    """Without ``dtype``, torch's type name ('torch.FloatTensor'); with it, a cast."""
    if dtype is None:
        names = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
                 "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
                 "bool": "Bool"}
        return f"torch.{names.get(a.dtype.name, a.dtype.name)}Tensor"
    return cast(a, dtype)


def stride(a: Tensor, dim=None):
    strides = tuple(s // a.data.itemsize for s in a.data.strides)
    return strides if dim is None else strides[dim]


def _new(fill):
    def make(self, *size, dtype=None, device=None, requires_grad: bool = False, **unused):
        check_device(device)
        shape = size[0] if len(size) == 1 and not isinstance(size[0], (int, np.integer)) else size
        out = Tensor(fill(tuple(shape), dtypes.as_dtype(dtype) or self.dtype))
        return out.requires_grad_(requires_grad) if requires_grad else out
    return make


def _new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False):
    check_device(device)
    out = Tensor(np.full(tuple(size), fill_value, dtype=dtypes.as_dtype(dtype) or self.dtype))
    return out.requires_grad_(requires_grad) if requires_grad else out


def _new_tensor(self, data, dtype=None, device=None, requires_grad=False):
    check_device(device)
    array = np.array(getattr(data, "data", data), dtype=dtypes.as_dtype(dtype) or self.dtype)
    return Tensor(array, requires_grad=requires_grad)


def _caster(dtype):
    def method(self, memory_format=None):
        return cast(self, dtype)
    return method


METHODS = {
    "to": to, "clone": clone, "tolist": tolist, "cpu": cpu, "cuda": cuda, "type": type_,
    "float": _caster(dtypes.float32), "double": _caster(dtypes.float64),
    "half": _caster(dtypes.float16), "long": _caster(dtypes.int64),
    "int": _caster(dtypes.int32), "short": _caster(dtypes.int16),
    "char": _caster(dtypes.int8), "byte": _caster(dtypes.uint8), "bool": _caster(dtypes.bool),
    "type_as": lambda self, other: cast(self, other.dtype),
    "numel": lambda self: self.data.size, "nelement": lambda self: self.data.size,
    "dim": lambda self: self.data.ndim, "ndimension": lambda self: self.data.ndim,
    "element_size": lambda self: self.data.itemsize,
    "is_floating_point": lambda self: self.data.dtype.kind == "f",
    "is_complex": lambda self: self.data.dtype.kind == "c",
    "is_contiguous": lambda self, memory_format=None: bool(self.data.flags.c_contiguous),
    "stride": stride, "pin_memory": lambda self, device=None: self,
    "share_memory_": lambda self: self, "is_shared": lambda self: False,
    "is_pinned": lambda self, device=None: False,
    "data_ptr": lambda self: self.data.__array_interface__["data"][0],
    "device": property(lambda self: CPU), "is_cuda": property(lambda self: False),
    "is_xpu": property(lambda self: False), "is_mps": property(lambda self: False),
    "is_cpu": property(lambda self: True), "is_meta": property(lambda self: False),
    "layout": property(lambda self: "strided"),
    "grad_fn": property(lambda self: None if self.is_leaf else self._node),
    "new_zeros": _new(np.zeros), "new_ones": _new(np.ones), "new_empty": _new(np.zeros),
    "new_full": _new_full, "new_tensor": _new_tensor,
    "mT": property(lambda self: self.transpose(-2, -1)),
}
