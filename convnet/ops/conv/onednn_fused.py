"""Inference convolution with what follows it fused into one oneDNN primitive (post-ops):
a per-channel scale and shift (an eval-mode batch norm) and a residual sum.

``y = (conv(x, W) + b) * scale + shift + residual``, each part optional, computed in the
convolution's own pass over its output: the output is written once instead of once per
layer. oneDNN applies the post-ops in order (binary mul, binary add, sum), on the same
channels-last or blocked layouts as :mod:`.onednn`; a case whose fused primitive would run
oneDNN's reference kernel is refused (None from :func:`plan`) and runs unfused.

No activation post-op: oneDNN's fused ReLU turns NaN into 0 and its SiLU gives NaN for
+inf, where PyTorch keeps NaN and gives inf, and proving an input finite costs a pass over
it and the weights; the caller applies the activation to the fused result in place
(:mod:`convnet.nn.fusion`). Forward only, no gradient.

Example:
    >>> import numpy as np
    >>> from convnet.ops.conv import conv_spec
    >>> x = np.ones((1, 2, 5, 5), np.float32); w = np.ones((3, 2, 3, 3), np.float32)
    >>> spec = conv_spec(x.shape, x.dtype, w.shape, padding=1)
    >>> scale, shift = np.full(3, 0.5, np.float32), np.full(3, -6, np.float32)
    >>> if plan(spec, True, False) is not None:
    ...     y = forward(x, w, None, spec, scale, shift, None)
    ...     assert y[0, 0, 2, 2] == 3 and y[0, 0, 0, 0] == -2      # 18/2 - 6, 8/2 - 6
"""

from __future__ import annotations

import ctypes
import functools

import numpy as np

from ..layout import to_first, to_last
from ..onednn import library as L
from ..onednn.memory import (CHANNELS_LAST_TAGS, Memory, activation_md, any_md, plain_md)
from ..onednn.primitive import Primitive, implementation_name, user_scratchpad_attr
from .onednn import _Layout, _weight_shape, supports as conv_supports
from .spec import ConvSpec

BINARY_ADD, BINARY_MUL = 0x1FFF0, 0x1FFF1
ARG_SRC_1, ARG_POST_OP_BASE = 2, 32768      # DNNL_ARG_SRC_1, DNNL_ARG_ATTR_MULTIPLE_POST_OP_BASE


def post_op_argument(index: int) -> int:
    """The execute-argument key of post-op ``index``'s second input (DNNL_ARG_SRC_1)."""
    return ARG_POST_OP_BASE * (index + 1) + ARG_SRC_1


def supports(spec: ConvSpec, x: np.ndarray, weight: np.ndarray) -> bool:
    """The cases :mod:`.onednn` convolves (float32, zero padding, tied or no bias)."""
    return conv_supports(spec, x, weight)


def _per_channel_md(spec: ConvSpec):
    """(1, C, 1, ...): a vector broadcast over the batch and the positions."""
    return plain_md((1, spec.weight_shape[0]) + (1,) * len(spec.kernel_size), np.float32)


def _post_ops(spec: ConvSpec, affine: bool, residual: bool):
    lib = L.lib()
    post_ops = L.handle()
    L.check(lib.dnnl_post_ops_create(ctypes.byref(post_ops)), "post-ops")
    if affine:
        per_channel = _per_channel_md(spec)
        L.check(lib.dnnl_post_ops_append_binary(post_ops, BINARY_MUL, per_channel), "scale")
        L.check(lib.dnnl_post_ops_append_binary(post_ops, BINARY_ADD, per_channel), "shift")
    if residual:
        L.check(lib.dnnl_post_ops_append_sum(post_ops, 1.0, 0, 0), "residual sum")
    attr = user_scratchpad_attr()
    L.check(lib.dnnl_primitive_attr_set_post_ops(attr, post_ops), "post-ops attribute")
    lib.dnnl_post_ops_destroy(post_ops)
    return attr


@functools.lru_cache(maxsize=256)
def plan(spec: ConvSpec, affine: bool, residual: bool):
    """The fused primitive for this combination, or None where oneDNN has no JIT kernel."""
    for channels_last in ((True, False) if len(spec.input_shape) in CHANNELS_LAST_TAGS
                          else (False,)):
        try:
            fused = _FusedPlan(spec, channels_last, affine, residual)
        except L.OneDNNError:
            continue
        if not fused.implementation.startswith("ref"):
            return fused
    return None


class _FusedPlan:
    def __init__(self, spec, channels_last, affine, residual):
        lib = L.lib()
        src, weights, dst = spec.input_shape, _weight_shape(spec), spec.output_shape
        self.has_bias, self.affine, self.residual = spec.bias == "tied", affine, residual
        bias_md = plain_md((spec.weight_shape[0],), np.float32)

        def activation_layout(shape):
            return activation_md(shape, np.float32, True) if channels_last else \
                any_md(shape, np.float32)

        what = f"fused convolution {src} * {spec.weight_shape} -> {dst}"
        pd = L.handle()
        L.check(lib.dnnl_convolution_forward_primitive_desc_create(
            ctypes.byref(pd), L.engine(), L.FORWARD_INFERENCE, L.CONVOLUTION_DIRECT,
            activation_layout(src), any_md(weights, np.float32),
            bias_md if self.has_bias else None, activation_layout(dst), L.dims(spec.stride),
            L.dims(d - 1 for d in spec.dilation), L.dims(b for b, _ in spec.padding),
            L.dims(a for _, a in spec.padding),
            _post_ops(spec, affine, residual)), what)
        self.primitive = Primitive(pd, what)
        self.implementation = implementation_name(pd)
        self.src = _Layout(src, self.primitive.md("src"))
        self.weights = _Layout(weights, self.primitive.md("weights"), activation=False)
        self.dst = _Layout(dst, self.primitive.md("dst"))
        self.bias = Memory(bias_md)
        self.scale, self.shift = Memory(_per_channel_md(spec)), Memory(_per_channel_md(spec))
        self.threads = L.threads_for(int(np.prod(dst)) * int(np.prod(spec.weight_shape[1:])))


def forward(x, weight, bias, spec: ConvSpec, scale, shift, residual) -> np.ndarray:
    """``(conv(x, weight) + bias) * scale + shift + residual`` as (N, C, *spatial) in the
    convolution's output layout; scale and shift (C,) both or neither, residual of the
    output's shape (any layout) or None."""
    fused = plan(spec, scale is not None, residual is not None)
    src, weights = fused.src.into(x), fused.weights.into(weight)
    arguments = {L.ARG_SRC: fused.src.memory.bind(src),
                 L.ARG_WEIGHTS: fused.weights.memory.bind(weights)}
    if fused.has_bias:
        bias = np.ascontiguousarray(bias, np.float32)
        arguments[L.ARG_BIAS] = fused.bias.bind(bias)
    if fused.affine:
        scale = np.ascontiguousarray(scale, np.float32)
        shift = np.ascontiguousarray(shift, np.float32)
        arguments[post_op_argument(0)] = fused.scale.bind(scale)
        arguments[post_op_argument(1)] = fused.shift.bind(shift)
    out, y = fused.dst.output()
    if residual is not None:        # the sum post-op adds what the output buffer holds
        _fill(fused.dst, out, residual)
    arguments[L.ARG_DST] = fused.dst.memory.bind(out)
    with L.threads(fused.threads):
        fused.primitive.execute(arguments)
    return fused.dst.finish(out, y)


def _fill(layout: _Layout, out: np.ndarray, residual: np.ndarray) -> None:
    """Write ``residual`` (N, C, *spatial, any layout) into the primitive's output buffer."""
    channels_last = layout.channels_last_ok
    to_chosen, _ = layout._variant(channels_last)
    if to_chosen is None:           # the buffer is the user layout itself
        target = to_first(out) if channels_last else out
        np.copyto(target, residual)
        return
    user = np.ascontiguousarray(to_last(residual)) if channels_last else \
        np.ascontiguousarray(residual, np.float32)
    to_chosen(user, out)
