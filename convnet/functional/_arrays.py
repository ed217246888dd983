"""Turning the inputs of functional ops into arrays, with the errors the API promises."""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor, as_array


def array_of(value, name: str) -> np.ndarray:
    """The array inside a Tensor, or ``value`` as a floating array (lists become float32)."""
    if isinstance(value, Tensor):
        return value.data
    try:
        return as_array(value)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name}: expected a Tensor or array, got {type(value).__name__}") from error


def floating_input(value, name: str = "input") -> np.ndarray:
    """Like :func:`array_of`, but None and arrays that are not real floating point (integer,
    bool, complex) are a TypeError naming ``name``, as in torch."""
    if value is None:
        raise TypeError(f"{name}: expected a Tensor or a floating-point array, got None")
    array = value.data if isinstance(value, Tensor) else value
    if isinstance(array, np.ndarray) and not np.issubdtype(array.dtype, np.floating):
        raise TypeError(f"{name}: expected a floating-point array (float32 or float64), "
                        f"got dtype {array.dtype}; convert it with .astype(np.float32)")
    if isinstance(array, (list, tuple)) and np.iscomplexobj(np.asarray(array)):
        raise TypeError(f"{name}: expected real numbers, got complex values")
    return array_of(value, name)


def requires_grad(value) -> bool:
    """Whether ``value`` is a Tensor that wants a gradient."""
    return isinstance(value, Tensor) and value.requires_grad
