"""A convolution's arguments, validated once at the public boundary: :class:`ConvSpec`.

:func:`conv_spec` checks every argument (operand shapes and dtypes, groups, stride,
dilation, padding and padding mode) and resolves the padding into one ``(before, after)``
pair per spatial dim with the output size rule of :mod:`convnet.ops.windows` (the notes'
``'same'`` is ``out = (in - 1) // stride + 1`` at any stride). Every backend reads the spec
and never re-validates.

Example:
    >>> spec = conv_spec((1, 1, 5), 'float64', (1, 1, 3), stride=2, padding='same')
    >>> spec.padding, spec.out_sizes
    (((1, 1),), (3,))
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Integral

import numpy as np

from ..padding import PADDING_MODES, Pairs
from ..windows import check_padding_fits, output_size, resolve_padding, to_tuple
from .bias import bias_kind


@dataclass(frozen=True)
class ConvSpec:
    """Validated hyperparameters and shapes of one convolution call."""

    input_shape: tuple[int, ...]      # (N, C_in, *spatial)
    weight_shape: tuple[int, ...]     # (C_out, C_in / groups, *kernel_size)
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    padding: Pairs                    # one (before, after) pair per spatial dim
    padding_mode: str
    groups: int
    out_sizes: tuple[int, ...]
    bias: str                         # 'none', 'tied' or 'untied'

    @property
    def kernel_size(self) -> tuple[int, ...]:
        return self.weight_shape[2:]

    @property
    def padded_shape(self) -> tuple[int, ...]:
        return self.input_shape[:2] + tuple(
            n + b + a for n, (b, a) in zip(self.input_shape[2:], self.padding))

    @property
    def output_shape(self) -> tuple[int, ...]:
        return (self.input_shape[0], self.weight_shape[0]) + self.out_sizes


def check_operands(input_shape, input_dtype, weight_shape, groups, spatial_dims,
                   operation: str, weight_layout: str) -> tuple[int, int]:
    """Checks shared by every convolution-like op: floating input, dims, positive groups.

    Returns (number of spatial dims, groups as an int).
    """
    ndim = len(weight_shape) - 2 if spatial_dims is None else spatial_dims
    if not np.issubdtype(np.dtype(input_dtype), np.floating):
        raise TypeError(f"input: expected a floating-point array (float32 or float64), "
                        f"got dtype {np.dtype(input_dtype)}")
    if len(input_shape) != ndim + 2:
        raise ValueError(f"input: expected {ndim + 2} dims (N, C, {_spatial_names(ndim)}) for a "
                         f"{ndim}-d {operation}, got shape {input_shape}")
    if len(weight_shape) != ndim + 2:
        raise ValueError(f"weight: expected {ndim + 2} dims ({weight_layout}, *kernel_size), "
                         f"got shape {weight_shape}")
    if not isinstance(groups, Integral) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"groups: expected a positive int, got {groups!r}")
    return ndim, int(groups)


MAX_PADDING = 2**24  # per spatial dim: beyond it a padding is a mistake, not a request


def check_arguments(kernel_size, stride, padding, dilation, padding_mode):
    """Everything about a convolution that can be checked before its input is seen: kernel
    sizes, stride, dilation, the padding's form and amount, the padding mode. Returns
    ``(stride, dilation)`` as tuples. Layer constructors call it; :func:`conv_spec` too.

    Example:
        >>> check_arguments((3, 3), 2, 'same', 1, 'reflect')
        ((2, 2), (1, 1))
    """
    ndim = len(kernel_size)
    if padding_mode not in PADDING_MODES:
        raise ValueError(f"padding_mode: expected one of {', '.join(map(repr, PADDING_MODES))}, "
                         f"got {padding_mode!r}")
    if any(k < 1 for k in kernel_size):
        raise ValueError(f"kernel_size: every kernel dim must be >= 1, got {tuple(kernel_size)}")
    stride = to_tuple(stride, ndim, "stride")
    dilation = to_tuple(dilation, ndim, "dilation")
    if not (isinstance(padding, str) and padding == "same"):  # 'same' depends on the input size
        pairs = resolve_padding(padding, (0,) * ndim, kernel_size, stride, dilation)
        if any(before + after > MAX_PADDING for before, after in pairs):
            raise ValueError(f"padding: {padding!r:.40} adds {max(b + a for b, a in pairs):,} "
                             f"values to a spatial dim, more than the {MAX_PADDING:,} a "
                             f"convolution may add")
    return stride, dilation


_SPECS: dict[tuple, ConvSpec] = {}
SPEC_CACHE_SIZE = 1024


def conv_spec(input_shape, input_dtype, weight_shape, bias_shape=None, stride=1, padding=0,
              dilation=1, groups=1, padding_mode="zeros", spatial_dims=None) -> ConvSpec:
    """Validate a convolution's arguments and resolve its padding and output size.

    Raises ValueError/TypeError naming the argument, the value and what was expected.
    A training loop asks for the same few specs every step: they are kept, keyed by the
    ``repr`` of the arguments (which tells ``True`` from ``1`` and a list from a tuple, so
    a cached answer is the one validation would give) and the input's dtype.
    """
    args = (input_shape, input_dtype, weight_shape, bias_shape, stride, padding, dilation,
            groups, padding_mode, spatial_dims)
    # a dtype's repr costs more than the rest together: a NumPy dtype is its own key
    dtype_key = input_dtype if isinstance(input_dtype, np.dtype) else repr(input_dtype)
    key = (repr(args[:1] + args[2:]), type(input_dtype), dtype_key)
    spec = _SPECS.get(key)
    if spec is None:
        spec = _validated_spec(*args)
        if len(_SPECS) >= SPEC_CACHE_SIZE:
            _SPECS.clear()
        _SPECS[key] = spec
    return spec


def _validated_spec(input_shape, input_dtype, weight_shape, bias_shape, stride, padding,
                    dilation, groups, padding_mode, spatial_dims) -> ConvSpec:
    """:func:`conv_spec` without the cache."""
    input_shape, weight_shape = tuple(input_shape), tuple(weight_shape)
    ndim, groups = check_operands(input_shape, input_dtype, weight_shape, groups, spatial_dims,
                                  "convolution", "out_channels, in_channels/groups")
    in_channels, out_channels = input_shape[1], weight_shape[0]
    if in_channels % groups or out_channels % groups:
        raise ValueError(f"groups: must divide in_channels ({in_channels}) and out_channels "
                         f"({out_channels}), got groups={groups}")
    if weight_shape[1] * groups != in_channels:
        raise ValueError(f"in_channels: input has {in_channels} channels but weight expects "
                         f"{weight_shape[1] * groups} (weight.shape[1]={weight_shape[1]} x "
                         f"groups={groups})")
    kernel_size = weight_shape[2:]
    stride, dilation = check_arguments(kernel_size, stride, padding, dilation, padding_mode)
    in_sizes = input_shape[2:]
    pairs = resolve_padding(padding, in_sizes, kernel_size, stride, dilation)
    check_padding_fits(pairs, in_sizes, padding_mode)
    out_sizes = []
    for dim, (n, k, s, d, (b, a)) in enumerate(zip(in_sizes, kernel_size, stride, dilation, pairs)):
        size = output_size(n, k, s, d, b, a)
        if size < 1:
            raise ValueError(f"kernel_size: kernel {kernel_size} (dilation {dilation}) is larger "
                             f"than the padded input {tuple(i + p + q for i, (p, q) in zip(in_sizes, pairs))} "
                             f"in spatial dim {dim}")
        out_sizes.append(size)
    out_sizes = tuple(out_sizes)
    bias = bias_kind(bias_shape, out_channels, out_sizes)
    return ConvSpec(input_shape, weight_shape, stride, dilation, pairs, padding_mode, groups,
                    out_sizes, bias)


def _spatial_names(ndim: int) -> str:
    return {1: "L", 2: "H, W", 3: "D, H, W"}.get(ndim, "...")


def multiply_adds(spec: ConvSpec) -> int:
    """Multiply-accumulate count of the forward pass (for summaries and benchmarks)."""
    return (math.prod(spec.output_shape) * spec.weight_shape[1] * math.prod(spec.kernel_size))
