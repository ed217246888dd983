"""Transposed convolution in 1, 2 or 3 dims: the adjoint of a convolution, on the same primitives.

A convolution with weight ``W`` (conv layout ``(C_in, C_out / groups, *k)`` read as
``(out, in / groups, *k)``) maps an image of size ``canvas`` to ``in`` window
positions: ``cols = im2col(image)``, ``x = W @ cols`` (one product per group).
Its transpose maps ``x`` back to an image, which is what a transposed convolution
computes (seed 000: the conv layer's backward pass, the "deconvolution")::

    cols   = W.T @ x                 (one BLAS product per group)
    canvas = col2im(cols)            (every input pixel spreads a k-sized patch,
                                      ``stride`` apart, ``dilation`` between taps)
    y      = canvas cropped by the padding, + bias

Backward, with ``dy`` shaped like ``y``, zero-padded back to the canvas::

    dcols = im2col(dy padded)        (windows of dy: a convolution of dy with W)
    dx    = W @ dcols
    dW    = x @ dcols.T
    db    = dy summed over batch and positions (tied) or over the batch (untied)

Sizes along one spatial dim, for input size ``in``, kernel ``k``, stride ``s``,
dilation ``d``, ``ke = d * (k - 1) + 1``::

    canvas = (in - 1) * s + ke + output_padding
    out    = canvas - before - after

PyTorch's ``padding=p`` crops ``p`` on both sides, so ``out = (in - 1) * s - 2p +
d * (k - 1) + output_padding + 1``; ``output_padding`` (zeros appended to the canvas
before cropping, so it picks among the input sizes a strided convolution maps to the
same ``in``) must be smaller than the stride or the dilation, as in PyTorch.
Extensions (:func:`resolve_transposed_padding`):

- (before, after) pairs per dim: crop that much on each side.
- ``'valid'``: no cropping (``out = (in - 1) * s + ke``).
- ``'full'``: crop ``ke - 1`` on both sides, the adjoint of a convolution with
  ``padding='full'`` (at stride 1, ``out = in - ke + 1``).
- ``'same'``: ``out = in * s`` for any stride: the exact adjoint of the notes'
  ``conv(padding='same', stride=s)`` applied to an input of size ``in * s`` (which
  gives ``in`` outputs); crop the 'same' padding of that convolution, and append
  zeros (an implied output padding) when its padded size exceeds the windows' span.

Example (a 1-D upsampling by 2 with a 2-tap kernel of ones: each sample repeated):
    >>> import numpy as np
    >>> x = np.array([[[1., 2., 3.]]])
    >>> w = np.ones((1, 1, 2))
    >>> spec = conv_transpose_spec(x.shape, x.dtype, w.shape, stride=2)
    >>> spec.out_sizes
    (6,)
    >>> forward(x, w, None, spec)[0]
    array([[[1., 1., 2., 2., 3., 3.]]])
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .bias import add_bias, bias_gradient, bias_kind
from .spec import check_operands
from ..padding import Pairs, pad, pad_backward
from ..windows import col2im, effective_kernel, im2col, resolve_padding, same_padding, to_tuple


@dataclass(frozen=True)
class ConvTransposeSpec:
    """Validated hyperparameters and shapes of one transposed-convolution call."""

    input_shape: tuple[int, ...]      # (N, C_in, *spatial)
    weight_shape: tuple[int, ...]     # (C_in, C_out / groups, *kernel_size)
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    padding: Pairs                    # (before, after) cropped from the canvas, per dim
    groups: int
    out_sizes: tuple[int, ...]
    bias: str                         # 'none', 'tied' or 'untied'

    @property
    def kernel_size(self) -> tuple[int, ...]:
        return self.weight_shape[2:]

    @property
    def out_channels(self) -> int:
        return self.weight_shape[1] * self.groups

    @property
    def in_sizes(self) -> tuple[int, ...]:
        return self.input_shape[2:]

    @property
    def canvas_shape(self) -> tuple[int, ...]:
        """(N, C_out, *canvas): the uncropped output, ``out + before + after`` per dim."""
        return (self.input_shape[0], self.out_channels) + tuple(
            n + b + a for n, (b, a) in zip(self.out_sizes, self.padding))

    @property
    def output_shape(self) -> tuple[int, ...]:
        return (self.input_shape[0], self.out_channels) + self.out_sizes


def resolve_transposed_padding(padding, output_padding, in_sizes, kernel_size, stride,
                               dilation) -> tuple[Pairs, tuple[int, ...]]:
    """The (before, after) crop of the canvas and the output size, per spatial dim.

    ``output_padding`` is a tuple of ints (already normalised); it must be 0 with
    ``'same'``, whose output size ``in * stride`` is fixed.
    """
    ndim = len(in_sizes)
    if isinstance(padding, str) and padding == "same":
        if any(output_padding):
            raise ValueError(f"output_padding: padding='same' fixes the output size to "
                             f"in * stride; expected output_padding=0, got {output_padding}")
        pairs = tuple(same_padding(n * s, k, s, d)
                      for n, k, s, d in zip(in_sizes, kernel_size, stride, dilation))
        return pairs, tuple(n * s for n, s in zip(in_sizes, stride))
    # every other form is independent of the input size; resolve it as conv does
    pairs = resolve_padding(padding, tuple(in_sizes), tuple(kernel_size), stride, dilation)
    for dim, (op, s, d) in enumerate(zip(output_padding, stride, dilation)):
        if op >= s and op >= d:
            raise ValueError(f"output_padding: must be smaller than the stride or the dilation, "
                             f"got output_padding={output_padding} with stride={stride} and "
                             f"dilation={dilation} (spatial dim {dim})")
    out_sizes = []
    for dim, (n, k, s, d, op, (b, a)) in enumerate(
            zip(in_sizes, kernel_size, stride, dilation, output_padding, pairs)):
        size = (n - 1) * s + effective_kernel(k, d) + op - b - a
        if size < 1:
            raise ValueError(f"padding: cropping {(b, a)} leaves no output in spatial dim {dim} "
                             f"(uncropped size {size + b + a}); expected a smaller padding")
        out_sizes.append(size)
    return pairs, tuple(out_sizes)


def conv_transpose_spec(input_shape, input_dtype, weight_shape, bias_shape=None, stride=1,
                        padding=0, output_padding=0, groups=1, dilation=1,
                        spatial_dims=None) -> ConvTransposeSpec:
    """Validate a transposed convolution's arguments and resolve its cropping and output size.

    Raises ValueError/TypeError naming the argument, the value and what was expected.
    """
    input_shape, weight_shape = tuple(input_shape), tuple(weight_shape)
    ndim, groups = check_operands(input_shape, input_dtype, weight_shape, groups, spatial_dims,
                                  "transposed convolution", "in_channels, out_channels/groups")
    in_channels = input_shape[1]
    if in_channels != weight_shape[0]:
        raise ValueError(f"in_channels: input has {in_channels} channels but the weight "
                         f"(in_channels, out_channels/groups, *k) expects {weight_shape[0]}")
    if weight_shape[0] % groups:
        raise ValueError(f"groups: must divide in_channels (weight.shape[0]={weight_shape[0]}), "
                         f"got groups={groups}")
    if weight_shape[1] < 1:
        raise ValueError(f"weight: out_channels/groups (weight.shape[1]) must be >= 1, got "
                         f"shape {weight_shape}")
    kernel_size = weight_shape[2:]
    if any(k < 1 for k in kernel_size):
        raise ValueError(f"kernel_size: every kernel dim must be >= 1, got {kernel_size}")
    stride = to_tuple(stride, ndim, "stride")
    dilation = to_tuple(dilation, ndim, "dilation")
    output_padding = to_tuple(output_padding, ndim, "output_padding", minimum=0)
    pairs, out_sizes = resolve_transposed_padding(padding, output_padding, input_shape[2:],
                                                  kernel_size, stride, dilation)
    out_channels = weight_shape[1] * groups
    bias = bias_kind(bias_shape, out_channels, out_sizes)
    return ConvTransposeSpec(input_shape, weight_shape, stride, dilation, pairs, groups,
                             out_sizes, bias)


def supports(spec: ConvTransposeSpec, x: np.ndarray, weight: np.ndarray) -> bool:
    """Always: the NumPy path computes every transposed convolution (the family's reference,
    :mod:`.transpose_dispatch`)."""
    return True


def _channel_matrix(a: np.ndarray, groups: int) -> np.ndarray:
    """(N, C, *spatial) -> (groups, C / groups, N * prod(spatial)), channel-major."""
    return np.moveaxis(a, 1, 0).reshape(groups, a.shape[1] // groups, -1)


def forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None,
            spec: ConvTransposeSpec) -> tuple[np.ndarray, tuple]:
    """Transposed convolution of ``x`` (N, C_in, *in) with ``weight`` (C_in, C_out/g, *k).

    Returns ``(y, saved)``: ``y`` of shape (N, C_out, *out_sizes), ``saved`` for
    :func:`backward`.
    """
    if x.size == 0:                                          # an empty batch: bias only
        dtype = np.result_type(x, weight)
        return add_bias(np.zeros(spec.output_shape, dtype), bias, spec), (x, weight)
    groups = spec.groups
    x_matrix = _channel_matrix(x, groups)                    # (G, C_in/G, N * L_in)
    weight_matrix = weight.reshape(groups, weight.shape[0] // groups, -1)
    cols = np.empty((groups, weight_matrix.shape[2], x_matrix.shape[2]),
                    dtype=np.result_type(weight_matrix, x_matrix))
    for group in range(groups):                              # one BLAS product per group
        np.matmul(weight_matrix[group].T, x_matrix[group], out=cols[group])
    canvas = col2im(cols.reshape(-1, cols.shape[2]), spec.canvas_shape, spec.kernel_size,
                    spec.stride, spec.dilation, spec.in_sizes)
    y = pad_backward(canvas, spec.output_shape, spec.padding, "zeros")
    y = add_bias(y, bias, spec)
    return y, (x_matrix, weight_matrix)


def backward(dy: np.ndarray, saved: tuple, spec: ConvTransposeSpec, need_input_grad: bool = True,
             need_weight_grad: bool = True):
    """Gradients (dx, dweight, dbias) of :func:`forward` for upstream ``dy`` (N, C_out, *out)."""
    x_matrix, weight_matrix = saved
    if x_matrix.size == 0:                                   # an empty batch
        dtype = np.result_type(x_matrix, weight_matrix, dy)
        return (np.zeros(spec.input_shape, dtype) if need_input_grad else None,
                np.zeros(spec.weight_shape, dtype) if need_weight_grad else None,
                bias_gradient(dy, spec))
    groups = spec.groups
    dy_canvas = pad(dy, spec.padding, "zeros")
    dcols = im2col(dy_canvas, spec.kernel_size, spec.stride, spec.dilation, spec.in_sizes)
    dcols = dcols.reshape(groups, -1, dcols.shape[1])        # (G, C_out/G * prod(k), N * L_in)

    dx = None
    if need_input_grad:
        dx = np.empty(x_matrix.shape, dtype=np.result_type(weight_matrix, dcols))
        for group in range(groups):
            np.matmul(weight_matrix[group], dcols[group], out=dx[group])
        in_channels, batch = spec.input_shape[1], spec.input_shape[0]
        dx = np.moveaxis(dx.reshape((in_channels, batch) + spec.in_sizes), 0, 1)

    dweight = None
    if need_weight_grad:
        # 2-D products with a transposed operand reach BLAS; stacked 3-D matmul does not
        dweight = np.stack([x_matrix[g] @ dcols[g].T for g in range(groups)])
        dweight = dweight.reshape(spec.weight_shape)

    return dx, dweight, bias_gradient(dy, spec)


def multiply_adds(spec: ConvTransposeSpec) -> int:
    """Multiply-accumulate count of the forward pass: each input value times a C_out/g x k patch."""
    return math.prod(spec.input_shape) * spec.weight_shape[1] * math.prod(spec.kernel_size)
