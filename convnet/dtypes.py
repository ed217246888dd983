"""Data types under torch's names, and torch's rule for the type of a mixed operation.

A convnet dtype *is* a NumPy dtype (``convnet.float32 == np.dtype('float32')``), so a
tensor's ``dtype`` compares equal to both spellings. Python numbers and lists become
tensors as torch makes them: floats ``float32`` (the default dtype), ints ``int64``,
bools ``bool``; NumPy arrays keep their dtype.

Type promotion follows torch, not NumPy: operands fall in three priority groups
(tensors with dimensions, zero-dimensional tensors, Python numbers); the result has the
highest *category* (bool < integer < floating) among all operands, taken from the
highest-priority group that reaches it. So ``int64 tensor * 0.5`` is ``float32`` (NumPy
says float64), and ``float32 tensor + float64 0-d tensor`` stays ``float32``.

Example:
    >>> import convnet
    >>> convnet.tensor([1, 2]).dtype, convnet.tensor([1.0]).dtype, convnet.tensor([True]).dtype
    (dtype('int64'), dtype('float32'), dtype('bool'))
    >>> (convnet.tensor([1, 2]) * 0.5).dtype == convnet.float32
    True
"""

from __future__ import annotations

import numbers

import numpy as np

float16 = half = np.dtype(np.float16)
float32 = float = np.dtype(np.float32)  # noqa: A001 - torch.float
float64 = double = np.dtype(np.float64)
complex64 = cfloat = np.dtype(np.complex64)
complex128 = cdouble = np.dtype(np.complex128)
uint8 = np.dtype(np.uint8)
int8 = np.dtype(np.int8)
int16 = short = np.dtype(np.int16)
int32 = int = np.dtype(np.int32)  # noqa: A001 - torch.int
int64 = long = np.dtype(np.int64)
bool = np.dtype(np.bool_)  # noqa: A001 - torch.bool

__all__ = NAMES = ("float16", "half", "float32", "float", "float64", "double", "complex64", "cfloat",
         "complex128", "cdouble", "uint8", "int8", "int16", "short", "int32", "int", "int64",
         "long", "bool")

_default = float32


def get_default_dtype() -> np.dtype:
    """The floating dtype of tensors made from Python floats (``float32`` unless changed)."""
    return _default


def parameter_dtype(dtype=None) -> np.dtype:
    """The dtype a layer's parameters get: ``dtype`` if given, else the default dtype (as
    torch's layers take ``torch.get_default_dtype()``).

    Example:
        >>> parameter_dtype(None) == get_default_dtype(), parameter_dtype('float64')
        (True, dtype('float64'))
    """
    return get_default_dtype() if dtype is None else np.dtype(dtype)


def set_default_dtype(dtype) -> None:
    """Set the default floating dtype (``float32`` or ``float64``), as torch's.

    Example:
        >>> import convnet
        >>> convnet.set_default_dtype(convnet.float64); convnet.tensor([1.0]).dtype
        dtype('float64')
        >>> convnet.set_default_dtype(convnet.float32)
    """
    global _default
    dtype = np.dtype(dtype)
    if dtype not in (float16, float32, float64):
        raise TypeError(f"set_default_dtype: only floating dtypes are supported, got {dtype}")
    _default = dtype


def as_dtype(dtype, name: str = "dtype") -> np.dtype | None:
    """``dtype`` (a convnet/NumPy dtype, a type, or a name such as 'float32') as a NumPy dtype."""
    if dtype is None:
        return None
    try:
        return np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{name}: expected a dtype such as convnet.float32, got {dtype!r}") from None


def category(dtype: np.dtype) -> int:
    """0 bool, 1 integer, 2 floating, 3 complex."""
    kind = dtype.kind
    return 0 if kind == "b" else 1 if kind in "iu" else 3 if kind == "c" else 2


def is_floating(dtype: np.dtype) -> bool:
    return dtype.kind in "fc"


def _scalar_dtype(value) -> np.dtype:
    if isinstance(value, (np.bool_, type(True))):
        return bool
    if isinstance(value, numbers.Integral):
        return int64
    if isinstance(value, numbers.Complex) and not isinstance(value, numbers.Real):
        return complex64 if _default != float64 else complex128
    return _default


def result_type(*operands) -> np.dtype:
    """The dtype torch gives an operation on ``operands`` (Tensors, arrays, Python numbers).

    Example:
        >>> import numpy as np
        >>> result_type(np.zeros(2, np.int64), 0.5), result_type(np.zeros(2, np.uint8), 3)
        (dtype('float32'), dtype('uint8'))
    """
    groups: list[list[np.dtype]] = [[], [], []]     # dimensioned, zero-dim, Python numbers
    for operand in operands:
        array = operand.data if hasattr(operand, "_version_cell") else operand  # a Tensor
        if isinstance(array, np.ndarray):
            groups[0 if array.ndim else 1].append(array.dtype)
        elif isinstance(array, np.generic):
            groups[1].append(array.dtype)
        else:
            groups[2].append(_scalar_dtype(array))
    top = max(category(d) for group in groups for d in group)
    for index, group in enumerate(groups):
        reaching = [d for d in group if category(d) == top]
        if not reaching:
            continue
        if index == 2:
            return reaching[0] if top != 2 else _default
        return np.result_type(*reaching)
    raise ValueError("result_type: no operands")
