"""Weight initialisation, in place, with PyTorch's names, formulas and defaults.

Every function draws from ``rng`` (a NumPy Generator or an int seed) or, when it is
None, from the library generator that :func:`convnet.manual_seed` reseeds, so a run
repeats exactly.

Fans of a weight of shape (out, in, *kernel): ``fan_in = in * prod(kernel)``,
``fan_out = out * prod(kernel)``.

- ``kaiming_uniform_`` (He): U(-b, b), ``b = gain * sqrt(3 / fan)``, gain ``sqrt(2 / (1 + a^2))``
- ``kaiming_normal_``: N(0, (gain / sqrt(fan))^2)
- ``xavier_uniform_`` (Glorot): U(-b, b), ``b = gain * sqrt(6 / (fan_in + fan_out))``
- ``xavier_normal_``: N(0, gain^2 * 2 / (fan_in + fan_out))
- ``notes_uniform_``: U(-b, b), ``b = sqrt(2 / fan_in)``, the lecture homework's rule
- ``default_conv_linear_``: what ``Conv*d`` and ``Linear`` do on construction, as PyTorch
  (``kaiming_uniform_(a=sqrt(5))``, i.e. ``b = 1 / sqrt(fan_in)``, and the bias U(-b, b))

Example:
    >>> import numpy as np, convnet.nn as nn
    >>> w = nn.Parameter(np.empty((64, 3, 3, 3), dtype=np.float32))
    >>> _ = nn.init.kaiming_normal_(w, nonlinearity='relu', rng=0)
    >>> round(float(w.data.std()), 1)
    0.3
"""

from __future__ import annotations

import contextlib
import contextvars
import math

import numpy as np

from ..random import resolve_rng

__all__ = ["calculate_gain", "fan_in_and_fan_out", "uniform_", "normal_", "constant_", "zeros_",
           "ones_", "kaiming_uniform_", "kaiming_normal_", "xavier_uniform_", "xavier_normal_",
           "notes_uniform_", "default_conv_linear_", "skip_init"]

_SKIPPING = contextvars.ContextVar("convnet_skip_init", default=False)


@contextlib.contextmanager
def skip_init():
    """Build modules without drawing initial weights: every fill below leaves the array as it
    is (``np.empty`` memory stays untouched) and draws nothing from any generator.

    For weights that are about to be overwritten, as when a model is loaded from a file:
    building is then fast and touches no memory the file's weights do not need.

    Example:
        >>> import numpy as np, convnet.nn as nn
        >>> with skip_init():
        ...     layer = nn.Linear(3, 2)
        >>> layer.weight.shape
        (2, 3)
    """
    token = _SKIPPING.set(True)
    try:
        yield
    finally:
        _SKIPPING.reset(token)


def _array(tensor) -> np.ndarray:
    return tensor.data if hasattr(tensor, "data") and not isinstance(tensor, np.ndarray) else tensor


def calculate_gain(nonlinearity: str = "leaky_relu", param: float | None = None) -> float:
    """Recommended gain for a nonlinearity (PyTorch's table).

    Example:
        >>> calculate_gain('relu') == 2 ** 0.5
        True
    """
    if nonlinearity in ("linear", "conv1d", "conv2d", "conv3d", "sigmoid", "identity"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"nonlinearity: unknown {nonlinearity!r}; expected linear, sigmoid, tanh, "
                     f"relu, leaky_relu or selu")


def fan_in_and_fan_out(shape: tuple[int, ...]) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight shaped (out, in, *kernel) or (out, in)."""
    if len(shape) < 2:
        raise ValueError(f"tensor: fans need at least 2 dims, got shape {tuple(shape)}")
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _fill(tensor, values):
    if _SKIPPING.get():
        return tensor
    array = _array(tensor)
    array[...] = values.astype(array.dtype, copy=False)
    return tensor


def uniform_(tensor, a: float = 0.0, b: float = 1.0, rng=None):
    """Fill with U(a, b)."""
    if _SKIPPING.get():
        return tensor
    return _fill(tensor, resolve_rng(rng).uniform(a, b, size=_array(tensor).shape))


def normal_(tensor, mean: float = 0.0, std: float = 1.0, rng=None):
    """Fill with N(mean, std^2)."""
    if _SKIPPING.get():
        return tensor
    return _fill(tensor, resolve_rng(rng).normal(mean, std, size=_array(tensor).shape))


def constant_(tensor, value: float):
    """Fill with ``value``."""
    if not _SKIPPING.get():
        _array(tensor)[...] = value
    return tensor


def zeros_(tensor):
    return constant_(tensor, 0.0)


def ones_(tensor):
    return constant_(tensor, 1.0)


def _fan(shape, mode: str) -> int:
    fan_in, fan_out = fan_in_and_fan_out(shape)
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode: expected 'fan_in' or 'fan_out', got {mode!r}")
    return fan_in if mode == "fan_in" else fan_out


def kaiming_uniform_(tensor, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu", rng=None):
    """He uniform: U(-b, b) with ``b = gain * sqrt(3 / fan)``."""
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(_array(tensor).shape, mode))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, rng)


def kaiming_normal_(tensor, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu", rng=None):
    """He normal: N(0, (gain / sqrt(fan))^2)."""
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(_array(tensor).shape, mode))
    return normal_(tensor, 0.0, std, rng)


def xavier_uniform_(tensor, gain: float = 1.0, rng=None):
    """Glorot uniform: U(-b, b) with ``b = gain * sqrt(6 / (fan_in + fan_out))``."""
    fan_in, fan_out = fan_in_and_fan_out(_array(tensor).shape)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, rng)


def xavier_normal_(tensor, gain: float = 1.0, rng=None):
    """Glorot normal: N(0, gain^2 * 2 / (fan_in + fan_out))."""
    fan_in, fan_out = fan_in_and_fan_out(_array(tensor).shape)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), rng)


def notes_uniform_(tensor, rng=None):
    """The lecture homework's rule: U(-sqrt(2 / fan_in), sqrt(2 / fan_in))."""
    bound = math.sqrt(2.0 / fan_in_and_fan_out(_array(tensor).shape)[0])
    return uniform_(tensor, -bound, bound, rng)


def default_conv_linear_(weight, bias=None, rng=None):
    """PyTorch's construction-time init of Conv and Linear: U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    rng = resolve_rng(rng)
    kaiming_uniform_(weight, a=math.sqrt(5), rng=rng)
    if bias is not None:
        bound = 1 / math.sqrt(fan_in_and_fan_out(_array(weight).shape)[0])
        uniform_(bias, -bound, bound, rng)


_calculate_fan_in_and_fan_out = fan_in_and_fan_out   # torch's private name, used by model code


def orthogonal_(tensor, gain: float = 1.0, generator=None, rng=None):
    """Fill with a (semi-)orthogonal matrix: rows = dim 0, columns = the other dims flattened
    (Saxe et al.), from the QR decomposition of a normal draw, signs fixed so the draw is
    uniform, times ``gain``.

    Example:
        >>> import numpy as np, convnet.nn as nn
        >>> w = nn.Parameter(np.zeros((3, 5)))
        >>> _ = orthogonal_(w)
        >>> np.allclose(w.data @ w.data.T, np.eye(3))
        True
    """
    array = _array(tensor)
    if array.ndim < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if _SKIPPING.get() or array.size == 0:
        return tensor
    rows = array.shape[0]
    columns = array.size // rows
    draw = resolve_rng(rng if generator is None else getattr(generator, "numpy_generator",
                                                             generator)).standard_normal(
        (rows, columns))
    flat = draw.T if rows < columns else draw
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))
    if rows < columns:
        q = q.T
    return _fill(tensor, (gain * q).reshape(array.shape))


def trunc_normal_(tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0,
                  generator=None, rng=None):
    """Fill with N(mean, std^2) restricted to ``[a, b]`` (redrawing values outside).

    Example:
        >>> import numpy as np, convnet.nn as nn
        >>> w = nn.Parameter(np.zeros(1000))
        >>> bool(np.all(np.abs(trunc_normal_(w, std=1.0, a=-1, b=1).data) <= 1))
        True
    """
    if _SKIPPING.get():
        return tensor
    source = resolve_rng(rng if generator is None else getattr(generator, "numpy_generator",
                                                               generator))
    shape = _array(tensor).shape
    values = source.normal(mean, std, size=shape)
    outside = (values < a) | (values > b)
    while np.any(outside):
        values[outside] = source.normal(mean, std, size=int(outside.sum()))
        outside = (values < a) | (values > b)
    return _fill(tensor, values)


def eye_(tensor):
    """Fill a 2-D tensor with the identity (ones on the diagonal).

    Example:
        >>> import numpy as np, convnet.nn as nn
        >>> eye_(nn.Parameter(np.zeros((2, 3)))).data.tolist()
        [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    """
    array = _array(tensor)
    if array.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    return _fill(tensor, np.eye(*array.shape))


def dirac_(tensor, groups: int = 1):
    """Fill a convolution weight (out, in, *k) so that it passes channels through unchanged.

    Example:
        >>> import numpy as np, convnet.nn as nn
        >>> w = dirac_(nn.Parameter(np.zeros((2, 2, 3, 3))))
        >>> w.data[:, :, 1, 1].tolist()
        [[1.0, 0.0], [0.0, 1.0]]
    """
    array = _array(tensor)
    if array.ndim not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    out_per_group = array.shape[0] // groups
    values = np.zeros(array.shape)
    centre = tuple(k // 2 for k in array.shape[2:])
    for group in range(groups):
        for index in range(min(out_per_group, array.shape[1])):
            values[(group * out_per_group + index, index) + centre] = 1
    return _fill(tensor, values)
