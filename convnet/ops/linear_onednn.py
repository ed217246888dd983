"""Fully connected layers by oneDNN's inner-product primitives (forward with the bias,
backward data, backward weights with the bias gradient), on row-major memory as convnet
holds it: ``y = x @ W.T + b`` for x (rows, in), W (out, in), b (out,).

With plain row-major layouts oneDNN runs its JIT matrix product (``gemm:jit``) and adds the
bias in the same pass; the three calls cost about 0.1 ms of overhead, and inside whole
training steps (LeNet's 400 -> 120 layer, fashion-cnn's 3136 -> 128) oneDNN showed no gain
over NumPy's matrix product (OpenBLAS) that the machine's noise did not cover, so layers of
fewer than :data:`MIN_WORK` multiply-adds (a classifier head of AlexNet's or VGG's size is
above it) stay with NumPy.

Functions: ``supports(x, weight, bias)``, ``forward(x, weight, bias) -> (y, saved)``,
``backward(dy, saved) -> (dx, dweight, dbias)``; x may have leading dims (*, in).

Example:
    >>> import numpy as np
    >>> x = np.ones((512, 1024), np.float32); w = np.ones((256, 1024), np.float32)
    >>> b = np.arange(256, dtype=np.float32)
    >>> if supports(x, w, b):
    ...     y, saved = forward(x, w, b)
    ...     assert y[3, 5] == 1024 + 5
    ...     dx, dw, db = backward(np.ones_like(y), saved)
    ...     assert dx.shape == x.shape and dw[0, 0] == 512 and db[7] == 512
"""

from __future__ import annotations

import ctypes
import functools
import math

import numpy as np

from .onednn import library as L
from .onednn.memory import Memory, plain_md
from .onednn.primitive import Primitive, user_scratchpad_attr

MIN_WORK = 1 << 26      # multiply-adds (rows * in * out) below which NumPy's matmul wins


def supports(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None) -> bool:
    """float32 input, weight and bias (or no bias), a non-empty input of at least
    :data:`MIN_WORK` multiply-adds, oneDNN loaded and on."""
    if not (L.available() and x.dtype == weight.dtype == np.float32 and x.ndim >= 1
            and weight.ndim == 2 and (bias is None or bias.dtype == np.float32)):
        return False
    rows = math.prod(x.shape[:-1])
    return rows > 0 and rows * weight.size >= MIN_WORK


@functools.lru_cache(maxsize=64)
def _plan(rows: int, features_in: int, features_out: int, has_bias: bool):
    return _Plan(rows, features_in, features_out, has_bias)


class _Plan:
    def __init__(self, rows, features_in, features_out, has_bias):
        lib, engine = L.lib(), L.engine()
        src, dst = plain_md((rows, features_in), np.float32), plain_md((rows, features_out),
                                                                        np.float32)
        weights = plain_md((features_out, features_in), np.float32)
        bias = plain_md((features_out,), np.float32) if has_bias else None
        what = f"inner product ({rows}, {features_in}) -> ({rows}, {features_out})"
        forward_pd = L.handle()
        L.check(lib.dnnl_inner_product_forward_primitive_desc_create(
            ctypes.byref(forward_pd), engine, L.FORWARD_TRAINING, src, weights, bias, dst,
            user_scratchpad_attr()), f"{what} forward")
        self.forward = Primitive(forward_pd, f"{what} forward")
        data_pd = L.handle()
        L.check(lib.dnnl_inner_product_backward_data_primitive_desc_create(
            ctypes.byref(data_pd), engine, src, weights, dst, forward_pd,
            user_scratchpad_attr()), f"{what} backward data")
        self.backward_data = Primitive(data_pd, f"{what} backward data")
        weights_pd = L.handle()
        L.check(lib.dnnl_inner_product_backward_weights_primitive_desc_create(
            ctypes.byref(weights_pd), engine, src, weights, bias, dst, forward_pd,
            user_scratchpad_attr()), f"{what} backward weights")
        self.backward_weights = Primitive(weights_pd, f"{what} backward weights")
        self.src, self.weights, self.dst = Memory(src), Memory(weights), Memory(dst)
        self.bias = Memory(bias) if has_bias else None
        self.threads = L.threads_for(rows * features_in * features_out)


def forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None):
    """``(y, saved)``: y (*, out) = x (*, in) @ weight.T + bias."""
    rows = math.prod(x.shape[:-1])
    plan = _plan(rows, x.shape[-1], weight.shape[0], bias is not None)
    src = np.ascontiguousarray(x).reshape(rows, x.shape[-1])
    weight = np.ascontiguousarray(weight)
    y = np.empty((rows, weight.shape[0]), np.float32)
    arguments = {L.ARG_SRC: plan.src.bind(src), L.ARG_WEIGHTS: plan.weights.bind(weight),
                 L.ARG_DST: plan.dst.bind(y)}
    if bias is not None:
        bias = np.ascontiguousarray(bias)
        arguments[L.ARG_BIAS] = plan.bias.bind(bias)
    with L.threads(plan.threads):
        plan.forward.execute(arguments)
    return y.reshape(x.shape[:-1] + (weight.shape[0],)), (src, weight, x.shape, plan)


def backward(dy: np.ndarray, saved):
    """``(dx, dweight, dbias)``; dbias None without a bias."""
    src, weight, x_shape, plan = saved
    diff_dst = np.ascontiguousarray(dy, np.float32).reshape(src.shape[0], weight.shape[0])
    dx, dw = np.empty_like(src), np.empty_like(weight)
    db = np.empty(weight.shape[0], np.float32) if plan.bias is not None else None
    with L.threads(plan.threads):
        plan.backward_data.execute({L.ARG_DIFF_DST: plan.dst.bind(diff_dst),
                                    L.ARG_WEIGHTS: plan.weights.bind(weight),
                                    L.ARG_DIFF_SRC: plan.src.bind(dx)})
        arguments = {L.ARG_SRC: plan.src.bind(src), L.ARG_DIFF_DST: plan.dst.bind(diff_dst),
                     L.ARG_DIFF_WEIGHTS: plan.weights.bind(dw)}
        if db is not None:
            arguments[L.ARG_DIFF_BIAS] = plan.bias.bind(db)
        plan.backward_weights.execute(arguments)
    return dx.reshape(x_shape), dw, db
