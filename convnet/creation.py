"""Making tensors, under torch's names and arguments: ``zeros``, ``ones``, ``full``, ``arange``,
``linspace``, ``eye``, the ``*_like`` forms, ``from_numpy`` (shares memory), ``as_tensor`` and
the random ones (``rand``, ``randn``, ``randint``, ``randperm``, ``normal``) drawn from
convnet's seeded generator (:func:`convnet.manual_seed`) or a :class:`Generator`.

Example:
    >>> import numpy as np, convnet
    >>> convnet.zeros(2, 3).shape, convnet.arange(5).dtype, convnet.full((2,), 7).tolist()
    ((2, 3), dtype('int64'), [7, 7])
    >>> a = np.zeros(3); _ = convnet.from_numpy(a).add_(1); a
    array([1., 1., 1.])
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ._naming import name_made_functions
from . import dtypes
from . import random as _random
from .device import check_device
from .tensor import Tensor, to_array

__all__ = ["as_tensor", "from_numpy", "zeros", "ones", "full", "empty", "zeros_like",
           "ones_like", "full_like", "empty_like", "arange", "linspace", "logspace", "eye",
           "rand", "randn", "randint", "randperm", "normal", "rand_like", "randn_like",
           "randint_like", "Generator", "is_tensor", "is_floating_point", "numel", "scalar_tensor"]


class Generator:
    """A random generator to pass as ``generator=`` (as torch's), seeded with
    :meth:`manual_seed`.

    Example:
        >>> g = Generator().manual_seed(0)
        >>> rand(2, generator=g).shape
        (2,)
    """

    def __init__(self, device="cpu"):
        check_device(device)
        self._seed = int(np.random.SeedSequence().entropy % (2**63))
        self.numpy_generator = np.random.default_rng(self._seed)

    def manual_seed(self, seed: int) -> "Generator":
        self._seed = int(seed)
        self.numpy_generator = np.random.default_rng(self._seed)
        return self

    def seed(self) -> int:
        self.manual_seed(int(np.random.SeedSequence().entropy % (2**63)))
        return self._seed

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self):
        return self.numpy_generator.bit_generator.state

    def set_state(self, state) -> "Generator":
        self.numpy_generator.bit_generator.state = state
        return self


def rng_of(generator) -> np.random.Generator:
    """The NumPy generator behind ``generator`` (a :class:`Generator`, a NumPy Generator,
    an int seed or None for convnet's default)."""
    if isinstance(generator, Generator):
        return generator.numpy_generator
    return _random.resolve_rng(generator)


def _shape(size) -> tuple[int, ...]:
    if len(size) == 1 and not isinstance(size[0], numbers.Integral):
        size = tuple(size[0])
    shape = tuple(int(n) for n in size)
    if any(n < 0 for n in shape):
        raise RuntimeError(f"Trying to create tensor with negative dimension: {list(shape)}")
    return shape


def _finish(array: np.ndarray, requires_grad: bool, device) -> Tensor:
    check_device(device)
    return Tensor(array, requires_grad=requires_grad)


def _filled(fill_value, name: str):
    def make(*size, dtype=None, device=None, requires_grad: bool = False, out=None,
             layout=None, pin_memory=False, memory_format=None) -> Tensor:
        dtype = dtypes.as_dtype(dtype) or dtypes.get_default_dtype()
        return _finish(np.full(_shape(size), fill_value, dtype=dtype), requires_grad, device)
    make.__name__ = name
    make.__doc__ = f"A tensor of {fill_value}s of the given size (default dtype float32)."
    return make


zeros = _filled(0, "zeros")
ones = _filled(1, "ones")
empty = _filled(0, "empty")


def full(size, fill_value, *, dtype=None, device=None, requires_grad: bool = False,
         out=None, layout=None) -> Tensor:
    """``size`` filled with ``fill_value``; the dtype follows the value (int64, bool, float32)."""
    dtype = dtypes.as_dtype(dtype) or to_array(fill_value).dtype
    return _finish(np.full(_shape((size,)), fill_value, dtype=dtype), requires_grad, device)


def _like(maker):
    def make(input, *, dtype=None, device=None, requires_grad: bool = False,
             memory_format=None, layout=None) -> Tensor:
        return maker(getattr(input, "shape", np.shape(input)),
                     dtype=dtype or getattr(input, "dtype", None), device=device,
                     requires_grad=requires_grad)
    make.__name__ = maker.__name__ + "_like"
    return make


zeros_like, ones_like, empty_like = _like(zeros), _like(ones), _like(empty)


def full_like(input, fill_value, *, dtype=None, device=None, requires_grad=False,
              memory_format=None) -> Tensor:
    return full(input.shape, fill_value, dtype=dtype or input.dtype, device=device,
                requires_grad=requires_grad)


def arange(start=0, end=None, step=1, *, dtype=None, device=None, requires_grad=False,
           out=None, layout=None) -> Tensor:
    """``[start, end)`` by ``step``; int64 when all three are ints, else the default float."""
    if end is None:
        start, end = 0, start
    values = [getattr(v, "item", lambda v=v: v)() for v in (start, end, step)]
    if values[2] == 0:
        raise RuntimeError("step must be nonzero")
    count = math.ceil((values[1] - values[0]) / values[2])
    if count < 0:
        raise RuntimeError("upper bound and larger bound inconsistent with step sign")
    integral = all(isinstance(v, numbers.Integral) for v in values)
    dtype = dtypes.as_dtype(dtype) or (dtypes.int64 if integral else dtypes.get_default_dtype())
    array = values[0] + np.arange(count, dtype=np.float64 if not integral else np.int64) * values[2]
    return _finish(array.astype(dtype), requires_grad, device)


def linspace(start, end, steps: int, *, dtype=None, device=None, requires_grad=False,
             out=None) -> Tensor:
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    dtype = dtypes.as_dtype(dtype) or dtypes.get_default_dtype()
    return _finish(np.linspace(start, end, steps).astype(dtype), requires_grad, device)


def logspace(start, end, steps: int, base: float = 10.0, *, dtype=None, device=None,
             requires_grad=False) -> Tensor:
    dtype = dtypes.as_dtype(dtype) or dtypes.get_default_dtype()
    return _finish((base ** np.linspace(start, end, steps)).astype(dtype), requires_grad, device)


def eye(n: int, m: int | None = None, *, dtype=None, device=None, requires_grad=False,
        out=None) -> Tensor:
    dtype = dtypes.as_dtype(dtype) or dtypes.get_default_dtype()
    return _finish(np.eye(n, n if m is None else m, dtype=dtype), requires_grad, device)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing ``array``'s memory (changes to one show in the other)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    return Tensor(array)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """``data`` as a tensor, sharing memory with a NumPy array or tensor of the same dtype."""
    check_device(device)
    if isinstance(data, Tensor) and (dtype is None or data.dtype == dtypes.as_dtype(dtype)):
        return data
    if isinstance(data, Tensor):
        return data.to(dtype)
    return Tensor(to_array(data, dtype))


def scalar_tensor(value, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    dtype = dtypes.as_dtype(dtype) or dtypes.get_default_dtype()
    return _finish(np.asarray(value, dtype=dtype), requires_grad, device)


def _random_maker(draw, name: str, doc: str):
    def make(*size, generator=None, dtype=None, device=None, requires_grad: bool = False,
             out=None, layout=None, pin_memory=False) -> Tensor:
        dtype = dtypes.as_dtype(dtype) or dtypes.get_default_dtype()
        array = draw(rng_of(generator), _shape(size)).astype(dtype)
        return _finish(array, requires_grad, device)
    make.__name__, make.__doc__ = name, doc
    return make


rand = _random_maker(lambda rng, shape: rng.random(shape), "rand", "Uniform on [0, 1).")
randn = _random_maker(lambda rng, shape: rng.standard_normal(shape), "randn",
                      "Standard normal draws.")


def randint(low, high=None, size=None, *, generator=None, dtype=None, device=None,
            requires_grad=False) -> Tensor:
    """Integers in ``[low, high)``: ``randint(high, size)`` or ``randint(low, high, size)``."""
    if size is None:
        low, high, size = 0, low, high
    if size is None:
        raise TypeError("randint() missing required argument 'size'")
    if high <= low:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} "
                           f">= to={high}")
    dtype = dtypes.as_dtype(dtype) or dtypes.int64
    array = rng_of(generator).integers(low, high, _shape((size,)))
    return _finish(array.astype(dtype), requires_grad, device)


def randperm(n: int, *, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    dtype = dtypes.as_dtype(dtype) or dtypes.int64
    return _finish(rng_of(generator).permutation(n).astype(dtype), requires_grad, device)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, out=None, dtype=None,
           device=None, requires_grad=False) -> Tensor:
    """Normal draws; ``mean`` and ``std`` may be tensors (broadcast) or numbers with ``size``."""
    means = np.asarray(getattr(mean, "data", mean))
    stds = np.asarray(getattr(std, "data", std))
    if np.any(stds < 0):
        raise RuntimeError("normal expects std >= 0.0")
    shape = np.broadcast_shapes(means.shape, stds.shape) if size is None else _shape((size,))
    array = rng_of(generator).normal(means, stds, shape)
    kind = next((a.dtype for a in (means, stds) if a.dtype.kind == "f" and a.ndim), None)
    dtype = dtypes.as_dtype(dtype) or kind or dtypes.get_default_dtype()
    return _finish(array.astype(dtype), requires_grad, device)


def rand_like(input, *, dtype=None, generator=None, **kwargs) -> Tensor:
    return rand(input.shape, dtype=dtype or input.dtype, generator=generator)


def randn_like(input, *, dtype=None, generator=None, **kwargs) -> Tensor:
    return randn(input.shape, dtype=dtype or input.dtype, generator=generator)


def randint_like(input, low=0, high=None, *, dtype=None, **kwargs) -> Tensor:
    if high is None:
        low, high = 0, low
    return randint(low, high, input.shape, dtype=dtype or input.dtype)


def is_tensor(value) -> bool:
    return isinstance(value, Tensor)


def is_floating_point(value) -> bool:
    return value.data.dtype.kind == "f"


def numel(value) -> int:
    return value.data.size


name_made_functions(globals())
