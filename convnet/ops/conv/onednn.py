"""Convolution by oneDNN's primitives (forward, backward data, backward weights), the
kernels PyTorch itself runs on CPUs.

oneDNN picks its own blocked layouts (``format_tag_any``: e.g. ``nChw16c`` and
``OIhw16i16o`` with AVX-512); the backend reorders the NCHW/OIHW arrays it is given into
them and the results back, once per call. Plain NCHW or NHWC strides would send oneDNN to
its slow reference kernels, so the layout is chosen by the library, not by us.

One :class:`_Plan` per spec holds the three primitive descriptors, their primitives and the
reorders, built on first use; a spec oneDNN cannot do (an unusual padding, float64 on some
CPUs) is remembered as unsupported and goes to the NumPy backends.

Same signature as every backend: ``supports(spec, x, weight)``, ``forward(x, weight, bias,
spec) -> (y, saved)``, ``backward(dy, saved, spec, need_input_grad) -> (dx, dw, db)``.

Example:
    >>> import numpy as np
    >>> from convnet.ops.conv import conv_spec
    >>> x = np.ones((1, 2, 5, 5), np.float32); w = np.ones((3, 2, 3, 3), np.float32)
    >>> spec = conv_spec(x.shape, x.dtype, w.shape, padding=1)
    >>> if supports(spec, x, w):
    ...     y, saved = forward(x, w, None, spec)
    ...     assert y[0, 0, 2, 2] == 18 and y[0, 0, 0, 0] == 8
"""

from __future__ import annotations

import ctypes
import functools
import math

import numpy as np

from ..layout import aligned_contiguous, aligned_empty, to_first, to_last
from ..onednn import library as L
from ..onednn.memory import (CHANNELS_LAST_TAGS, Memory, activation_md, aligned_buffer, any_md,
                             is_channels_last, md_equal, md_size, plain_md, tagged_md)
from ..onednn.primitive import Primitive, Reorder, implementation_name, user_scratchpad_attr
from .spec import ConvSpec, conv_spec

SPATIAL_DIMS = (1, 2, 3)


def supports(spec: ConvSpec, x: np.ndarray, weight: np.ndarray) -> bool:
    """Zero padding, tied or no bias, float32, 1-3 spatial dims, a non-empty batch, and a
    spec oneDNN accepts."""
    if not (L.available() and x.dtype == weight.dtype == np.float32 and x.size > 0
            and weight.size > 0 and spec.padding_mode == "zeros"
            and spec.bias in ("none", "tied") and len(spec.kernel_size) in SPATIAL_DIMS):
        return False
    return _plan(spec) is not None


@functools.lru_cache(maxsize=256)
def _plan(spec: ConvSpec):
    """Channels-last activations where oneDNN has fast kernels for them in all three
    directions (no reorder of the activations at all: convnet's convolution outputs are
    channels-last memory), else oneDNN's own blocked layouts; None where it cannot."""
    if len(spec.input_shape) in CHANNELS_LAST_TAGS:
        try:
            plan = _Plan(spec, channels_last=True)
            if not any(name.startswith("ref") for name in plan.implementations):
                return plan
        except L.OneDNNError:
            pass
    try:
        return _Plan(spec, channels_last=False)
    except L.OneDNNError:
        return None


def _weight_shape(spec: ConvSpec) -> tuple[int, ...]:
    out_channels, in_per_group = spec.weight_shape[:2]
    if spec.groups == 1:
        return spec.weight_shape
    return (spec.groups, out_channels // spec.groups, in_per_group) + spec.kernel_size


class _Layout:
    """One tensor of a primitive: the descriptor the primitive chose, and the reorders from
    and to the two layouts convnet hands it (row-major NCHW, or channels-last memory, the
    layout of convnet's own convolution outputs), each made on first use; none where the
    primitive took that layout itself."""

    def __init__(self, shape, chosen_md, activation: bool = True):
        self.shape = tuple(shape)
        self.activation = activation          # weights are always row-major OIHW
        self.md = chosen_md
        self.nbytes = md_size(chosen_md)
        self.memory = Memory(chosen_md)
        self._user = {}

    def _variant(self, channels_last: bool):
        if channels_last not in self._user:
            user = (tagged_md(self.shape, np.float32, CHANNELS_LAST_TAGS[len(self.shape)])
                    if channels_last else plain_md(self.shape, np.float32))
            same = md_equal(user, self.md)
            self._user[channels_last] = (None, None) if same else (
                Reorder(user, self.md), Reorder(self.md, user))
        return self._user[channels_last]

    def into(self, array: np.ndarray) -> np.ndarray:
        """``array`` (N, C, ... in either layout) in the primitive's layout: itself, or a
        reordered copy."""
        channels_last = self.activation and is_channels_last(array)
        if not channels_last:
            array = aligned_contiguous(array)
        to_chosen, _ = self._variant(channels_last)
        source = to_last(array) if channels_last else array
        if to_chosen is None:
            return source
        target = aligned_buffer(self.nbytes)
        to_chosen(source, target)
        return target

    def output(self):
        """``(buffer for the primitive, the result array in channels-last memory)``."""
        _, from_chosen = self._variant(self.channels_last_ok)
        last = (self.shape[0],) + self.shape[2:] + (self.shape[1],)
        result = aligned_empty(last if self.channels_last_ok else self.shape)
        buffer = result if from_chosen is None else aligned_buffer(self.nbytes)
        return buffer, result

    def finish(self, buffer: np.ndarray, result: np.ndarray) -> np.ndarray:
        """The result as (N, C, *spatial), reordered from ``buffer`` where needed."""
        _, from_chosen = self._variant(self.channels_last_ok)
        if from_chosen is not None:
            from_chosen(buffer, result)
        return to_first(result) if self.channels_last_ok else result

    @property
    def channels_last_ok(self) -> bool:
        return self.activation and len(self.shape) in CHANNELS_LAST_TAGS


class _Plan:
    """The primitives and reorders of one convolution spec; activations in channels-last
    memory (``channels_last``) or in the layout oneDNN picks (``format_tag_any``)."""

    def __init__(self, spec: ConvSpec, channels_last: bool):
        lib, engine = L.lib(), L.engine()
        src, weights, dst = spec.input_shape, _weight_shape(spec), spec.output_shape
        strides = L.dims(spec.stride)
        dilates = L.dims(d - 1 for d in spec.dilation)
        left = L.dims(before for before, _ in spec.padding)
        right = L.dims(after for _, after in spec.padding)
        bias_md = plain_md((spec.weight_shape[0],), np.float32)
        self.has_bias = spec.bias == "tied"
        what = f"convolution {src} * {spec.weight_shape} -> {dst}"

        def activation(shape):
            return activation_md(shape, np.float32, True) if channels_last else \
                any_md(shape, np.float32)

        forward_pd = L.handle()
        L.check(lib.dnnl_convolution_forward_primitive_desc_create(
            ctypes.byref(forward_pd), engine, L.FORWARD_TRAINING, L.CONVOLUTION_DIRECT,
            activation(src), any_md(weights, np.float32),
            bias_md if self.has_bias else None, activation(dst), strides, dilates,
            left, right, user_scratchpad_attr()), f"{what} forward")
        self.forward = Primitive(forward_pd, f"{what} forward")
        data_pd = L.handle()
        L.check(lib.dnnl_convolution_backward_data_primitive_desc_create(
            ctypes.byref(data_pd), engine, L.CONVOLUTION_DIRECT, activation(src),
            any_md(weights, np.float32), activation(dst), strides, dilates, left, right,
            forward_pd, user_scratchpad_attr()), f"{what} backward data")
        self.backward_data = Primitive(data_pd, f"{what} backward data")
        weights_pd = L.handle()
        L.check(lib.dnnl_convolution_backward_weights_primitive_desc_create(
            ctypes.byref(weights_pd), engine, L.CONVOLUTION_DIRECT, activation(src),
            any_md(weights, np.float32), bias_md if self.has_bias else None,
            activation(dst), strides, dilates, left, right, forward_pd,
            user_scratchpad_attr()), f"{what} backward weights")
        self.backward_weights = Primitive(weights_pd, f"{what} backward weights")
        self.implementations = tuple(_implementation(primitive.pd) for primitive in (
            self.forward, self.backward_data, self.backward_weights))

        self.src = _Layout(src, self.forward.md("src"))
        self.weights = _Layout(weights, self.forward.md("weights"), activation=False)
        self.dst = _Layout(dst, self.forward.md("dst"))
        self.bias = Memory(bias_md)
        self.data_weights = _Layout(weights, self.backward_data.md("weights"), activation=False)
        self.data_diff_dst = _Layout(dst, self.backward_data.md("diff_dst"))
        self.diff_src = _Layout(src, self.backward_data.md("diff_src"))
        self.weights_src = _Layout(src, self.backward_weights.md("src"))
        self.weights_diff_dst = _Layout(dst, self.backward_weights.md("diff_dst"))
        self.diff_weights = _Layout(weights, self.backward_weights.md("diff_weights"),
                                    activation=False)
        self.diff_bias = Memory(bias_md)
        self.src_reused = md_equal(self.src.md, self.weights_src.md)
        work = math.prod(spec.output_shape) * math.prod(spec.weight_shape[1:])
        self.threads = L.threads_for(work)
        self.diff_dst_reused = md_equal(self.data_diff_dst.md, self.weights_diff_dst.md)


def forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, spec: ConvSpec):
    """``(y, saved)``: y in NCHW; ``saved`` keeps the input in oneDNN's layout for the
    weight gradient when both primitives chose the same one."""
    plan = _plan(spec)
    with L.threads(plan.threads):
        return _forward(plan, x, weight, bias)


def _forward(plan, x, weight, bias):
    # every buffer bound to a memory object is held in a local until the call returns
    src, weights = plan.src.into(x), plan.weights.into(weight)
    arguments = {L.ARG_SRC: plan.src.memory.bind(src),
                 L.ARG_WEIGHTS: plan.weights.memory.bind(weights)}
    bias = np.ascontiguousarray(bias, np.float32) if plan.has_bias else None
    if plan.has_bias:
        arguments[L.ARG_BIAS] = plan.bias.bind(bias)
    out, y = plan.dst.output()
    arguments[L.ARG_DST] = plan.dst.memory.bind(out)
    plan.forward.execute(arguments)
    return plan.dst.finish(out, y), (x, weight, src if plan.src_reused else None)


def backward(dy: np.ndarray, saved: tuple, spec: ConvSpec, need_input_grad: bool = True):
    """``(dx, dweight, dbias)``; dx is None when ``need_input_grad`` is False."""
    plan = _plan(spec)
    with L.threads(plan.threads):
        return _backward(plan, dy, saved, spec, need_input_grad)


def _backward(plan, dy, saved, spec, need_input_grad):
    x, weight, blocked_src = saved
    data_diff_dst = plan.data_diff_dst.into(dy)
    dx = data_gradient(plan, data_diff_dst, weight) if need_input_grad else None
    diff_dst = data_diff_dst if plan.diff_dst_reused else plan.weights_diff_dst.into(dy)
    src = blocked_src if blocked_src is not None else plan.weights_src.into(x)
    dw, db = weight_gradient(plan, src, diff_dst, spec)
    return dx, dw, db


def data_gradient(plan, data_diff_dst: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """The input gradient (N, C_in, *spatial) of ``plan``'s convolution for an output
    gradient already in the backward-data primitive's layout (``plan.data_diff_dst.into``);
    also a transposed convolution's forward pass (:mod:`.transpose_onednn`)."""
    (out, result), weights = plan.diff_src.output(), plan.data_weights.into(weight)
    plan.backward_data.execute({
        L.ARG_DIFF_DST: plan.data_diff_dst.memory.bind(data_diff_dst),
        L.ARG_WEIGHTS: plan.data_weights.memory.bind(weights),
        L.ARG_DIFF_SRC: plan.diff_src.memory.bind(out)})
    return plan.diff_src.finish(out, result)


def weight_gradient(plan, src: np.ndarray, diff_dst: np.ndarray, spec: ConvSpec):
    """``(dweight, dbias)`` of ``plan``'s convolution from its input and output gradient,
    each already in the backward-weights primitive's layout (``plan.weights_src.into``,
    ``plan.weights_diff_dst.into``); dbias None without a tied bias."""
    diff_weights, dw = plan.diff_weights.output()
    arguments = {L.ARG_SRC: plan.weights_src.memory.bind(src),
                 L.ARG_DIFF_DST: plan.weights_diff_dst.memory.bind(diff_dst),
                 L.ARG_DIFF_WEIGHTS: plan.diff_weights.memory.bind(diff_weights)}
    db = None
    if plan.has_bias:
        db = np.empty(spec.weight_shape[0], np.float32)
        arguments[L.ARG_DIFF_BIAS] = plan.diff_bias.bind(db)
    plan.backward_weights.execute(arguments)
    return plan.diff_weights.finish(diff_weights, dw).reshape(spec.weight_shape), db


def _implementation(pd) -> str:
    return implementation_name(pd)


def implementation(spec: ConvSpec) -> str | None:
    """oneDNN's name for the kernel it runs a spec's forward pass with (e.g.
    ``'jit:avx512_core'``: the instruction set it chose), or None when oneDNN cannot.

    Example:
        >>> spec = conv_spec((8, 16, 14, 14), np.float32, (16, 16, 3, 3), padding=1)
        >>> implementation(spec) is None or ':' in implementation(spec)
        True
    """
    plan = _plan(spec) if L.available() else None
    return None if plan is None else plan.implementations[0]
