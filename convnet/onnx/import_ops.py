"""ONNX operators of the CNN subset, computed with convnet's differentiable ops.

Each entry of :data:`OPS` is ``fn(inputs, attributes, node) -> list of outputs``: ``inputs``
are Tensors (or arrays for constants, None for an omitted optional input) and
``attributes`` a dict of plain values. What a supported operator cannot do here (an
attribute value, a second output) raises :class:`UnsupportedNode` naming it.
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from ..tensor import Tensor, record

__all__ = ["OPS", "UnsupportedNode"]


class UnsupportedNode(ValueError):
    """A node that convnet cannot compute exactly."""


def _data(value):
    return value.data if isinstance(value, Tensor) else np.asarray(value)


def _ints(value) -> list[int]:
    return [int(v) for v in np.asarray(_data(value)).ravel()]


def _pairs(attributes, dims: int, sizes=None, kernel=None):
    """(before, after) per spatial dim from ``pads`` or ``auto_pad`` (SAME_UPPER puts the odd
    pixel after, SAME_LOWER before: ``out = ceil(in / stride)``)."""
    auto = attributes.get("auto_pad", "NOTSET")
    if auto == "VALID":
        return ((0, 0),) * dims
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        strides = attributes.get("strides", [1] * dims)
        dilations = attributes.get("dilations", [1] * dims)
        pairs = []
        for size, k, s, d in zip(sizes, kernel, strides, dilations):
            total = max((-(-size // s) - 1) * s + (k - 1) * d + 1 - size, 0)
            small, large = total // 2, total - total // 2
            pairs.append((small, large) if auto == "SAME_UPPER" else (large, small))
        return tuple(pairs)
    if auto != "NOTSET":
        raise UnsupportedNode(f"auto_pad={auto!r}")
    pads = attributes.get("pads", [0] * 2 * dims)
    return tuple((int(pads[i]), int(pads[i + dims])) for i in range(dims))


def _spatial_fn(name: str, dims: int):
    if dims not in (1, 2, 3):
        raise UnsupportedNode(f"{dims} spatial dims")
    return getattr(F, f"{name}{dims}d")


def conv(inputs, a, node):
    x, weight, bias = (inputs + [None])[:3]
    dims = weight.ndim - 2
    pairs = _pairs(a, dims, x.shape[2:], weight.shape[2:])
    return [_spatial_fn("conv", dims)(x, weight, bias, tuple(a.get("strides", [1] * dims)),
                                      pairs, tuple(a.get("dilations", [1] * dims)),
                                      int(a.get("group", 1)))]


def conv_transpose(inputs, a, node):
    x, weight, bias = (inputs + [None])[:3]
    dims = weight.ndim - 2
    if "output_shape" in a:
        raise UnsupportedNode("the output_shape attribute (give pads and output_padding)")
    if a.get("auto_pad", "NOTSET") not in ("NOTSET", "VALID"):
        raise UnsupportedNode(f"auto_pad={a['auto_pad']!r} in a transposed convolution")
    pairs = _pairs(a, dims)
    if any(b != e for b, e in pairs):
        raise UnsupportedNode(f"unequal pads {pairs}")
    return [_spatial_fn("conv_transpose", dims)(
        x, weight, bias, tuple(a.get("strides", [1] * dims)), tuple(b for b, _ in pairs),
        tuple(a.get("output_padding", [0] * dims)), int(a.get("group", 1)),
        tuple(a.get("dilations", [1] * dims)))]


def _pool_arguments(x, a):
    dims = x.ndim - 2
    kernel = tuple(a["kernel_shape"])
    return (dims, kernel, tuple(a.get("strides", [1] * dims)), _pairs(a, dims, x.shape[2:], kernel),
            bool(a.get("ceil_mode", 0)))


def max_pool(inputs, a, node):
    if len(node.output) > 1 and node.output[1]:
        raise UnsupportedNode("the Indices output")
    if a.get("storage_order", 0):
        raise UnsupportedNode("storage_order=1")
    x = inputs[0]
    dims, kernel, stride, pairs, ceil = _pool_arguments(x, a)
    return [_spatial_fn("max_pool", dims)(x, kernel, stride, pairs,
                                          tuple(a.get("dilations", [1] * dims)), ceil)]


def average_pool(inputs, a, node):
    x = inputs[0]
    dims, kernel, stride, pairs, ceil = _pool_arguments(x, a)
    if any(d != 1 for d in a.get("dilations", [1] * dims)):
        raise UnsupportedNode("dilations in average pooling")
    return [_spatial_fn("avg_pool", dims)(x, kernel, stride, pairs, ceil,
                                          bool(a.get("count_include_pad", 0)))]


def lp_pool(inputs, a, node):
    """ONNX's LpPool: ``(sum |x| ** p) ** (1 / p)`` (convnet's lp_pool takes no absolute value)."""
    x = inputs[0]
    dims, kernel, stride, pairs, ceil = _pool_arguments(x, a)
    if any(d != 1 for d in a.get("dilations", [1] * dims)):
        raise UnsupportedNode("dilations in Lp pooling")
    absolute = x.abs() if isinstance(x, Tensor) else np.abs(x)
    return [_spatial_fn("lp_pool", dims)(absolute, float(a.get("p", 2)), kernel, stride, ceil,
                                         padding=pairs)]


def global_pool(kind):
    def fn(inputs, a, node):
        x = inputs[0]
        return [_spatial_fn(f"adaptive_{kind}_pool", x.ndim - 2)(x, 1)]
    return fn


PAD_MODES = {"constant": "constant", "reflect": "reflect", "edge": "replicate", "wrap": "circular"}


def pad(inputs, a, node):
    x = inputs[0]
    pads = _ints(inputs[1]) if len(inputs) > 1 and inputs[1] is not None else list(a["pads"])
    value = inputs[2] if len(inputs) > 2 and inputs[2] is not None else a.get("value", 0.0)
    axes = _ints(inputs[3]) if len(inputs) > 3 and inputs[3] is not None else list(range(x.ndim))
    axes = [axis % x.ndim for axis in axes]
    half = len(pads) // 2
    amounts = {axis: (pads[i], pads[i + half]) for i, axis in enumerate(axes)}
    first = min((axis for axis, pair in amounts.items() if pair != (0, 0)), default=x.ndim)
    flat = []   # torch's order: last dim first
    for axis in range(x.ndim - 1, first - 1, -1):
        flat += list(amounts.get(axis, (0, 0)))
    mode = a.get("mode", "constant")
    if mode not in PAD_MODES:
        raise UnsupportedNode(f"Pad mode {mode!r}")
    if not flat:
        return [x]
    fill = float(np.asarray(_data(value)).ravel()[0]) if np.size(_data(value)) else 0.0
    return [F.pad(x, tuple(flat), PAD_MODES[mode], fill if mode == "constant" else None)]


def resize(inputs, a, node):
    x = inputs[0]
    scales = inputs[2] if len(inputs) > 2 else None
    sizes = inputs[3] if len(inputs) > 3 else None
    mode = a.get("mode", "nearest")
    transform = a.get("coordinate_transformation_mode", "half_pixel")
    if mode == "nearest":
        if transform != "asymmetric" or a.get("nearest_mode", "round_prefer_floor") != "floor":
            raise UnsupportedNode(f"nearest Resize with {transform!r} and nearest_mode "
                                  f"{a.get('nearest_mode', 'round_prefer_floor')!r} (torch's "
                                  f"nearest is asymmetric + floor)")
        interpolation, corners = "nearest", None
    elif mode == "linear" and transform in ("half_pixel", "pytorch_half_pixel", "align_corners"):
        if a.get("antialias", 0):
            raise UnsupportedNode("antialias=1")
        interpolation = {3: "linear", 4: "bilinear", 5: "trilinear"}[x.ndim]
        corners = transform == "align_corners"
    else:
        raise UnsupportedNode(f"Resize mode {mode!r} with {transform!r}")
    if sizes is not None and np.size(_data(sizes)):
        size = tuple(_ints(sizes)[2:])
        if transform == "pytorch_half_pixel" and 1 in size:
            raise UnsupportedNode("pytorch_half_pixel to an output of size 1 (it samples at 0)")
        return [F.interpolate(x, size=size, mode=interpolation, align_corners=corners)]
    factors = [float(s) for s in np.asarray(_data(scales)).ravel()]
    if factors[:2] != [1.0, 1.0]:
        raise UnsupportedNode(f"scales {factors} resize the batch or channel dims")
    if mode == "linear" and any(not float(n * f).is_integer() for n, f in zip(x.shape[2:], factors[2:])):
        raise UnsupportedNode(f"linear Resize by {factors[2:]}, which does not give whole sizes "
                              f"(ONNX then uses the fractional size in its coordinates)")
    return [F.interpolate(x, scale_factor=tuple(factors[2:]), mode=interpolation,
                          align_corners=corners)]


def batch_norm(inputs, a, node):
    if len(node.output) > 1 and any(node.output[1:]):
        raise UnsupportedNode("training-mode outputs")
    x, scale, bias, mean, var = inputs[:5]
    return [F.batch_norm(x, _data(mean), _data(var), scale, bias, training=False,
                         eps=float(a.get("epsilon", 1e-5)))]


def gemm(inputs, a, node):
    x, weight = inputs[:2]
    bias = inputs[2] if len(inputs) > 2 else None
    alpha, beta = float(a.get("alpha", 1.0)), float(a.get("beta", 1.0))
    if a.get("transA", 0):
        x = x.T if isinstance(x, Tensor) else np.asarray(x).T
    if alpha == 1.0 and beta == 1.0 and a.get("transB", 0) and (bias is None or bias.ndim == 1):
        return [F.linear(x, weight, bias)]
    weight = weight.T if a.get("transB", 0) else weight
    out = (x @ weight) * alpha if alpha != 1.0 else x @ weight
    return [out if bias is None else out + (bias * beta if beta != 1.0 else bias)]


def reshape(inputs, a, node):
    x, shape = inputs[0], _ints(inputs[1])
    if a.get("allowzero", 0):
        raise UnsupportedNode("allowzero=1")
    shape = [x.shape[i] if value == 0 else value for i, value in enumerate(shape)]
    return [x.reshape(tuple(shape))]


def flatten(inputs, a, node):
    x = inputs[0]
    axis = int(a.get("axis", 1)) % max(x.ndim, 1)
    return [x.reshape((int(np.prod(x.shape[:axis])), -1))]


def softmax(fn):
    def op(inputs, a, node):
        x = inputs[0]
        axis = int(a.get("axis", -1 if node.opset >= 13 else 1))
        if node.opset < 13 and axis % x.ndim != x.ndim - 1:
            raise UnsupportedNode(f"opset {node.opset} {node.op_type} flattens from axis {axis}")
        return [fn(x, dim=axis)]
    return op


def slice_(inputs, a, node):
    x = inputs[0]
    starts, ends = _ints(inputs[1]), _ints(inputs[2])
    axes = _ints(inputs[3]) if len(inputs) > 3 and inputs[3] is not None else list(range(len(starts)))
    steps = _ints(inputs[4]) if len(inputs) > 4 and inputs[4] is not None else [1] * len(starts)
    index = [slice(None)] * x.ndim
    for start, end, axis, step in zip(starts, ends, axes, steps):
        size = x.shape[axis]
        # ONNX clamps to [0, size] going forward and [-1, size - 1] going back
        start = start + size if start < 0 else start
        end = end + size if end < 0 else end
        if step > 0:
            start, end = min(max(start, 0), size), min(max(end, 0), size)
        else:
            start, end = min(max(start, -1), size - 1), min(max(end, -1), size - 1)
        index[axis % x.ndim] = slice(start, None if end < 0 else end, step)
    return [x[tuple(index)]]


def unsqueeze(inputs, a, node):
    x = inputs[0]
    axes = _ints(inputs[1]) if len(inputs) > 1 else list(a["axes"])
    rank = x.ndim + len(axes)
    shape = list(x.shape)
    for axis in sorted(axis % rank for axis in axes):
        shape.insert(axis, 1)
    return [x.reshape(tuple(shape))]


def reduce_max(inputs, a, node):
    from ..tensor_ops import amax
    x = inputs[0]
    axes = _ints(inputs[1]) if len(inputs) > 1 and inputs[1] is not None else a.get("axes")
    if not np.issubdtype(x.dtype, np.floating) or x.size == 0:
        raise UnsupportedNode(f"ReduceMax of a {x.dtype} input of shape {x.shape}")
    dims = tuple(axes) if axes else None
    return [amax(x, dim=dims, keepdim=bool(a.get("keepdims", 1)))]


def power(inputs, a, node):
    """Elementwise ``x ** y`` (floating x) with the gradients of both operands."""
    x, y = inputs
    base, exponent = _data(x), _data(y)
    if not np.issubdtype(base.dtype, np.floating):
        raise UnsupportedNode(f"Pow of a {base.dtype} base (convnet computes in floating point)")
    out = np.power(base, exponent.astype(base.dtype)).astype(base.dtype)

    def backward(grad):
        from ..tensor_ops import unbroadcast
        dx = unbroadcast(grad * exponent * np.power(base, exponent - 1), base.shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            dy = unbroadcast(grad * out * np.log(base), exponent.shape)
        return dx.astype(base.dtype), dy.astype(exponent.dtype) if exponent.dtype.kind == "f" else None
    return [record(out, (x, y), backward)]


def einsum(inputs, a, node):
    """Two-operand Einsum with its gradient (each operand's by the other contraction)."""
    equation = a["equation"].replace(" ", "")
    operands, _, result = equation.partition("->")
    parts = operands.split(",")
    if len(parts) != 2 or not result or any(len(set(p)) != len(p) for p in parts) or \
            not set(parts[0]) <= set(parts[1]) | set(result) or \
            not set(parts[1]) <= set(parts[0]) | set(result):
        raise UnsupportedNode(f"Einsum {equation!r} (two operands, no traces, explicit output)")
    left, right = inputs
    out = np.einsum(equation, _data(left), _data(right))

    def backward(grad):
        return (np.einsum(f"{result},{parts[1]}->{parts[0]}", grad, _data(right)),
                np.einsum(f"{result},{parts[0]}->{parts[1]}", grad, _data(left)))
    return [record(out, (left, right), backward)]


def concat(inputs, a, node):
    if not any(isinstance(x, Tensor) for x in inputs):     # shape arithmetic
        return [np.concatenate([np.asarray(x) for x in inputs], axis=int(a["axis"]))]
    return [F.cat([_as_tensor(x) for x in inputs], dim=int(a["axis"]))]


def constant(inputs, a, node):
    for key in ("value", "value_float", "value_floats", "value_int", "value_ints"):
        if key in a:
            value = np.asarray(a[key])
            if key in ("value_float", "value_floats"):
                value = value.astype(np.float32)
            elif key in ("value_int", "value_ints"):
                value = value.astype(np.int64)
            return [value]
    raise UnsupportedNode(f"a Constant holding {sorted(a)}")


def divide(inputs, a, node):
    x, y = inputs
    if not isinstance(x, Tensor) and not isinstance(y, Tensor):    # shape arithmetic
        x, y = np.asarray(x), np.asarray(y)
        if np.issubdtype(x.dtype, np.integer) and x.dtype.kind == "i" and y.dtype.kind == "i":
            return [(np.trunc(x / y)).astype(x.dtype)]     # ONNX truncates toward zero
    if not np.issubdtype(_data(x).dtype, np.floating):
        raise UnsupportedNode(f"Div of {_data(x).dtype} values (integer division)")
    return [_as_tensor(x) / y]


# ---------------------------------------------------------------- shape arithmetic
# what PyTorch's exporter writes around a pad or a crop: small integer arrays, no gradient
def shape(inputs, a, node):
    dims = np.array(inputs[0].shape, np.int64)
    start, end = a.get("start", 0), a.get("end", None)
    return [dims[start:end]]


def gather(inputs, a, node):
    data, indices = inputs
    indices = np.asarray(_data(indices))
    if np.issubdtype(indices.dtype, np.integer) is False:
        raise UnsupportedNode("non-integer indices")
    axis = int(a.get("axis", 0))
    if isinstance(data, Tensor):
        index = [slice(None)] * data.ndim
        index[axis] = indices
        return [data[tuple(index)]]
    return [np.take(np.asarray(data), indices, axis=axis)]


def cast(inputs, a, node):
    from onnx import helper
    dtype = np.dtype(helper.tensor_dtype_to_np_dtype(int(a["to"])))
    x = inputs[0]
    if isinstance(x, Tensor):
        if dtype == x.dtype:
            return [x]
        if np.issubdtype(dtype, np.floating):
            raise UnsupportedNode(f"Cast of {x.dtype} values to {dtype} inside the graph")
        return [x.data.astype(dtype)]
    return [np.asarray(x).astype(dtype)]


def constant_of_shape(inputs, a, node):
    value = np.asarray(a.get("value", np.zeros(1, np.float32))).ravel()
    return [np.full(tuple(_ints(inputs[0])), value[0], dtype=value.dtype)]


def transpose(inputs, a, node):
    x = inputs[0]
    perm = a.get("perm", list(range(x.ndim))[::-1])
    return [x.permute(tuple(perm)) if isinstance(x, Tensor) else np.transpose(x, perm)]


def dropout(inputs, a, node):
    """Inference: the identity. A graph that asks for training mode is refused."""
    if len(inputs) > 2 and inputs[2] is not None and bool(np.asarray(_data(inputs[2])).ravel()[0]):
        raise UnsupportedNode("training_mode=True (convnet imports inference graphs)")
    if len(node.output) > 1 and node.output[1]:
        raise UnsupportedNode("the mask output")
    return [inputs[0]]


def clip(inputs, a, node):
    """Clip to ``[min, max]`` (inputs since opset 11, attributes before; either may be absent)."""
    x = inputs[0]
    low = inputs[1] if len(inputs) > 1 and inputs[1] is not None else a.get("min")
    high = inputs[2] if len(inputs) > 2 and inputs[2] is not None else a.get("max")
    if low is None and high is None:
        return [x]
    low = None if low is None else np.asarray(_data(low)).astype(_data(x).dtype)
    high = None if high is None else np.asarray(_data(high)).astype(_data(x).dtype)
    if low is not None and high is not None and low > high:      # ONNX: everything is max
        return [_as_tensor(x) * 0 + Tensor(high)]
    return [_as_tensor(x).clamp(low, high)]


def hard_sigmoid(inputs, a, node):
    """``max(0, min(1, alpha x + beta))`` (ONNX's defaults alpha 0.2, beta 0.5)."""
    alpha, beta = float(a.get("alpha", 0.2)), float(a.get("beta", 0.5))
    x = _as_tensor(inputs[0])
    return [(x * np.asarray(alpha, x.dtype) + np.asarray(beta, x.dtype)).clamp(0, 1)]


def _axes(inputs, a):
    if len(inputs) > 1 and inputs[1] is not None:
        return _ints(inputs[1])
    return a.get("axes")


def reduce(function_name: str):
    def op(inputs, a, node):
        x = _as_tensor(inputs[0])
        axes = _axes(inputs, a)
        keep = bool(a.get("keepdims", 1))
        if not axes:
            if a.get("noop_with_empty_axes", 0):
                return [x]
            axes = list(range(x.ndim))
        if x.data.dtype.kind not in "f" or (x.size == 0 and function_name != "sum"):
            raise UnsupportedNode(f"{node.op_type} of a {x.dtype} input of shape {x.shape}")
        return [getattr(x, function_name)(dim=tuple(axes), keepdim=keep)]
    return op


def squeeze(inputs, a, node):
    x = inputs[0]
    axes = _axes(inputs, a)
    shape = np.shape(_data(x))
    if axes is None:
        kept = [n for n in shape if n != 1]
    else:
        drop = {axis % len(shape) for axis in axes}
        kept = [n for i, n in enumerate(shape) if i not in drop]
    return [x.reshape(tuple(kept)) if isinstance(x, Tensor) else np.reshape(x, kept)]


def erf(inputs, a, node):
    from ..functional.smooth_activation import _erf
    x = _as_tensor(inputs[0])
    if x.data.dtype.kind != "f":
        raise UnsupportedNode(f"Erf of {x.dtype} values")
    data = x.data
    scale = np.asarray(2 / np.sqrt(np.pi), data.dtype)
    return [record(_erf(data), (x,), lambda g: (g * scale * np.exp(-data * data),))]


def _elementwise(function):
    def op(inputs, a, node):
        x = inputs[0]
        if not isinstance(x, Tensor):                            # shape arithmetic
            return [np.asarray(function(_as_tensor(x)).data)]
        if x.data.dtype.kind != "f":
            raise UnsupportedNode(f"{node.op_type} of {x.dtype} values")
        return [function(x)]
    return op


def _binary(fn):
    def op(inputs, a, node):
        x, y = inputs
        if not isinstance(x, Tensor) and not isinstance(y, Tensor):   # shape arithmetic
            return [np.asarray(fn(np.asarray(x), np.asarray(y)))]
        return [fn(x, y)]
    return op


def _unary(fn):
    return lambda inputs, a, node: [fn(inputs[0])]


def _as_tensor(value):
    return value if isinstance(value, Tensor) else Tensor(np.asarray(value))


OPS = {
    "Conv": conv, "ConvTranspose": conv_transpose, "MaxPool": max_pool,
    "AveragePool": average_pool, "LpPool": lp_pool, "GlobalAveragePool": global_pool("avg"),
    "GlobalMaxPool": global_pool("max"), "Pad": pad, "Resize": resize,
    "BatchNormalization": batch_norm, "Gemm": gemm,
    "MatMul": _binary(lambda x, w: x @ w),
    "Add": _binary(lambda x, y: x + y), "Sub": _binary(lambda x, y: x - y),
    "Mul": _binary(lambda x, y: x * y),
    "Shape": shape, "Gather": gather, "Cast": cast, "ConstantOfShape": constant_of_shape,
    "Transpose": transpose, "Div": divide,
    "Pow": power,
    "Relu": _unary(F.relu), "Sigmoid": _unary(F.sigmoid), "Tanh": _unary(F.tanh),
    "LeakyRelu": lambda inputs, a, node: [F.leaky_relu(inputs[0], float(a.get("alpha", 0.01)))],
    "Softmax": softmax(F.softmax), "LogSoftmax": softmax(F.log_softmax),
    "Flatten": flatten, "Reshape": reshape,
    "Concat": concat,
    "Dropout": dropout, "Identity": lambda inputs, a, node: [inputs[0]],
    "Constant": constant, "Slice": slice_, "Unsqueeze": unsqueeze, "ReduceMax": reduce_max, "Einsum": einsum,
    "Clip": clip, "HardSigmoid": hard_sigmoid, "HardSwish": _unary(F.hardswish),
    "ReduceMean": reduce("mean"), "ReduceSum": reduce("sum"), "Squeeze": squeeze, "Erf": erf,
    "Sqrt": _elementwise(lambda x: x.sqrt()), "Exp": _elementwise(lambda x: x.exp()),
    "Log": _elementwise(lambda x: x.log()), "Neg": _elementwise(lambda x: -x),
    "Abs": _elementwise(lambda x: x.abs()),
}
