"""One function per kind of convnet layer, writing the ONNX nodes that compute it exactly.

Each handler is called as ``handler(graph, module, path, x_name, x)`` (children are written
through ``graph.recurse``, see :mod:`.handlers`) with the layer's
input value name and its input array (the model is run once on the example input, so every
size is known), and returns ``(output name, output array)``. Weights become initializers
named by their ``state_dict`` keys. A layer or setting that ONNX cannot hold exactly is an
:class:`~convnet.onnx.graph.ExportError` naming the layer.
"""

from __future__ import annotations

import math

import numpy as np

from .. import nn
from ..ops.windows import resolve_padding, to_tuple
from ..tensor import Tensor, no_grad
from .graph import ExportError, GraphBuilder

__all__ = ["conv", "conv_transpose", "unshared_conv", "max_pool", "avg_pool", "lp_pool",
           "adaptive_pool", "maxout", "weighted_sum_pool", "linear", "flatten", "batch_norm",
           "upsample", "activation", "softmax", "scaled_tanh", "passthrough", "sequential"]


def _run(module, x: np.ndarray) -> np.ndarray:
    with no_grad():
        return module(Tensor(x)).data


def _pads(pairs) -> list[int]:
    return [b for b, _ in pairs] + [a for _, a in pairs]


def _explicit_pad(graph, module, path, x_name, x, pairs, mode):
    """Pad with a padding mode as its own node; the layer then runs unpadded."""
    if mode == "symmetric" and any(b > n or a > n for (b, a), n in zip(pairs, x.shape[2:])):
        raise ExportError(f"{path} ({type(module).__name__}): 'symmetric' padding {pairs} "
                          f"deeper than the input {x.shape[2:]}")
    return graph.pad(x_name, pairs, mode, x.ndim), ((0, 0),) * len(pairs)


# ---------------------------------------------------------------- convolutions
def conv(graph: GraphBuilder, module, path, x_name, x):
    if module.net_input != "sum":
        raise ExportError(f"{path}: the product net input of the notes has no ONNX operator")
    pairs = resolve_padding(module.padding, x.shape[2:], module.kernel_size, module.stride,
                            module.dilation)
    if module.padding_mode != "zeros":
        x_name, pairs = _explicit_pad(graph, module, path, x_name, x, pairs, module.padding_mode)
    if any(b < 0 or a < 0 for b, a in pairs):
        raise ExportError(f"{path}: negative padding {pairs} (a crop) is not exported")
    inputs = [x_name, graph.initializer(module.weight.data, f"{path}.weight")]
    tied = module.bias is not None and module.bias.ndim == 1
    if tied:
        inputs.append(graph.initializer(module.bias.data, f"{path}.bias"))
    y = graph.node("Conv", inputs, kernel_shape=list(module.kernel_size),
                   strides=list(module.stride), dilations=list(module.dilation),
                   group=module.groups, pads=_pads(pairs))
    if module.bias is not None and not tied:  # untied: one bias per output unit
        y = graph.node("Add", [y, graph.initializer(module.bias.data, f"{path}.bias")])
    return y, _run(module, x)


def conv_transpose(graph, module, path, x_name, x):
    if module.padding_mode != "zeros":
        raise ExportError(f"{path}: a transposed convolution with padding_mode "
                          f"{module.padding_mode!r} is not exported")
    y = _run(module, x)
    if not isinstance(module.padding, (int, tuple, list)) or isinstance(module.padding, bool):
        raise ExportError(f"{path}: transposed-convolution padding {module.padding!r} is not "
                          f"exported (use ints)")
    crops = to_tuple(module.padding, module.spatial_dims, "padding", minimum=0)
    output_padding = [o - ((i - 1) * s - 2 * p + d * (k - 1) + 1) for o, i, s, p, d, k in zip(
        y.shape[2:], x.shape[2:], module.stride, crops, module.dilation, module.kernel_size)]
    inputs = [x_name, graph.initializer(module.weight.data, f"{path}.weight")]
    if module.bias is not None:
        if module.bias.ndim != 1:
            raise ExportError(f"{path}: an untied bias of a transposed convolution is not exported")
        inputs.append(graph.initializer(module.bias.data, f"{path}.bias"))
    name = graph.node("ConvTranspose", inputs, kernel_shape=list(module.kernel_size),
                      strides=list(module.stride), dilations=list(module.dilation),
                      group=module.groups, pads=list(crops) * 2, output_padding=output_padding)
    return name, y


def unshared_conv(graph, module, path, x_name, x):
    """Locally connected and tiled convolution: every window cut out by a Slice (one per
    kernel offset), stacked, and contracted with one weight per output position (Einsum)."""
    y = _run(module, x)
    if module.spatial_dims != 2:
        raise ExportError(f"{path}: only 2-D locally connected layers are exported")
    pairs = resolve_padding(module.padding, x.shape[2:], module.kernel_size, module.stride,
                            module.dilation)
    x_name, _ = _explicit_pad(graph, module, path, x_name, x, pairs,
                              "zeros" if module.padding_mode == "zeros" else module.padding_mode)
    (kh, kw), (sh, sw), (dh, dw) = module.kernel_size, module.stride, module.dilation
    ho, wo = y.shape[2:]
    windows = []
    for i in range(kh):
        for j in range(kw):
            starts, ends = [i * dh, j * dw], [i * dh + (ho - 1) * sh + 1, j * dw + (wo - 1) * sw + 1]
            windows.append(graph.node("Slice", [x_name, graph.ints(starts, "starts"),
                                                graph.ints(ends, "ends"), graph.ints([2, 3], "axes"),
                                                graph.ints([sh, sw], "steps")]))
    # (N, C, Ho, Wo) each -> (N, C, K, Ho, Wo): the window of every output position
    stacked = graph.node("Concat", [graph.node("Unsqueeze", [w, graph.ints([2], "axes")])
                                    for w in windows], axis=2)
    weight = module.weight.data
    if isinstance(module, nn.TiledConv2d):   # bank (y mod t_h, x mod t_w) at every position
        th, tw = module.tiles
        weight = np.tile(weight, (-(-ho // th), -(-wo // tw), 1, 1, 1, 1))[:ho, :wo]
        hint = f"{path}.weight_per_position"
    else:
        hint = f"{path}.weight"
    weight = weight.reshape(ho, wo, weight.shape[2], weight.shape[3], kh * kw)
    name = graph.node("Einsum", [stacked, graph.initializer(weight, hint)],
                      equation="nckhw,hwock->nohw")
    if module.bias is not None:
        bias = module.bias.data
        bias = bias.reshape(-1, 1, 1) if bias.ndim == 1 else bias
        name = graph.node("Add", [name, graph.initializer(bias, f"{path}.bias")])
    return name, y


# ---------------------------------------------------------------- pooling
def _pool_geometry(module, dims):
    kernel = to_tuple(module.kernel_size, dims, "kernel_size")
    stride = kernel if module.stride is None else to_tuple(module.stride, dims, "stride")
    return kernel, stride


def max_pool(graph, module, path, x_name, x):
    if module.return_indices:
        raise ExportError(f"{path}: max pooling with return_indices is not exported")
    dims = x.ndim - 2
    kernel, stride = _pool_geometry(module, dims)
    dilation = to_tuple(module.dilation, dims, "dilation")
    pairs = resolve_padding(module.padding, x.shape[2:], kernel, stride, dilation)
    if module.padding_mode is not None:   # padded values take part in the max
        x_name, pairs = _explicit_pad(graph, module, path, x_name, x, pairs, module.padding_mode)
    name = graph.node("MaxPool", [x_name], kernel_shape=list(kernel), strides=list(stride),
                      dilations=list(dilation), pads=_pads(pairs), ceil_mode=int(module.ceil_mode))
    return name, _run(module, x)


def avg_pool(graph, module, path, x_name, x):
    if module.divisor_override is not None:
        raise ExportError(f"{path}: average pooling with divisor_override is not exported")
    dims = x.ndim - 2
    kernel, stride = _pool_geometry(module, dims)
    pairs = resolve_padding(module.padding, x.shape[2:], kernel, stride, (1,) * dims)
    include = int(module.count_include_pad)
    if module.padding_mode is not None:
        x_name, pairs = _explicit_pad(graph, module, path, x_name, x, pairs, module.padding_mode)
        include = 1
    name = graph.node("AveragePool", [x_name], kernel_shape=list(kernel), strides=list(stride),
                      pads=_pads(pairs), ceil_mode=int(module.ceil_mode), count_include_pad=include)
    return name, _run(module, x)


def lp_pool(graph, module, path, x_name, x):
    """``(sum of x ** p over the window) ** (1 / p)``, as convnet and torch define it."""
    dims = x.ndim - 2
    kernel, stride = _pool_geometry(module, dims)
    pairs = resolve_padding(module.padding, x.shape[2:], kernel, stride, (1,) * dims)
    if module.padding_mode is not None:
        x_name, pairs = _explicit_pad(graph, module, path, x_name, x, pairs, module.padding_mode)
    p = float(module.norm_type)
    powered = graph.node("Pow", [x_name, graph.initializer(np.array(p, graph.dtype), "p")])
    mean = graph.node("AveragePool", [powered], kernel_shape=list(kernel), strides=list(stride),
                      pads=_pads(pairs), ceil_mode=int(module.ceil_mode), count_include_pad=1)
    total = graph.node("Mul", [mean, graph.initializer(np.array(math.prod(kernel), graph.dtype),
                                                       "window_area")])
    name = graph.node("Pow", [total, graph.initializer(np.array(1 / p, graph.dtype), "inverse_p")])
    return name, _run(module, x)


def adaptive_pool(graph, module, path, x_name, x):
    y = _run(module, x)
    kind = "Max" if "Max" in type(module).__name__ else "Average"
    if getattr(module, "return_indices", False):
        raise ExportError(f"{path}: adaptive max pooling with return_indices is not exported")
    if all(size == 1 for size in y.shape[2:]):
        return graph.node(f"Global{kind}Pool", [x_name]), y
    if any(i % o for i, o in zip(x.shape[2:], y.shape[2:])):
        raise ExportError(f"{path}: adaptive pooling from {x.shape[2:]} to {y.shape[2:]} has "
                          f"windows of unequal sizes; ONNX has no operator for it")
    kernel = [i // o for i, o in zip(x.shape[2:], y.shape[2:])]
    return graph.node(f"{kind}Pool", [x_name], kernel_shape=kernel, strides=kernel), y


def maxout(graph, module, path, x_name, x):
    k = int(module.pool_size)
    shape = graph.ints([0, x.shape[1] // k, k, *x.shape[2:]], "maxout_shape")
    grouped = graph.node("Reshape", [x_name, shape])
    if graph.opset >= 18:
        name = graph.node("ReduceMax", [grouped, graph.ints([2], "axes")], keepdims=0)
    else:
        name = graph.node("ReduceMax", [grouped], axes=[2], keepdims=0)
    return name, _run(module, x)


def weighted_sum_pool(graph, module, path, x_name, x):
    """Window sums (an average pool times the window's area) x weight + bias, per map."""
    kernel, stride = _pool_geometry(module, 2)
    pairs = resolve_padding(module.padding, x.shape[2:], kernel, stride, (1, 1))
    if module.padding_mode is not None:
        x_name, pairs = _explicit_pad(graph, module, path, x_name, x, pairs, module.padding_mode)
    mean = graph.node("AveragePool", [x_name], kernel_shape=list(kernel), strides=list(stride),
                      pads=_pads(pairs), ceil_mode=int(module.ceil_mode), count_include_pad=1)
    scale = module.weight.data.reshape(-1, 1, 1) * np.asarray(math.prod(kernel), module.weight.dtype)
    name = graph.node("Mul", [mean, graph.initializer(scale, f"{path}.weight_times_area")])
    if module.bias is not None:
        name = graph.node("Add", [name, graph.initializer(module.bias.data.reshape(-1, 1, 1),
                                                          f"{path}.bias")])
    return name, _run(module, x)


# ---------------------------------------------------------------- the rest
def linear(graph, module, path, x_name, x):
    weight = graph.initializer(module.weight.data, f"{path}.weight")
    bias = [graph.initializer(module.bias.data, f"{path}.bias")] if module.bias is not None else []
    if x.ndim == 2:
        return graph.node("Gemm", [x_name, weight, *bias], transB=1), _run(module, x)
    transposed = graph.initializer(module.weight.data.T.copy(), f"{path}.weight_t")
    name = graph.node("MatMul", [x_name, transposed])
    if bias:
        name = graph.node("Add", [name, bias[0]])
    return name, _run(module, x)


def flatten(graph, module, path, x_name, x):
    y = _run(module, x)
    if getattr(module, "order", "C") not in ("C", None):
        raise ExportError(f"{path}: Flatten(order={module.order!r}) is not exported")
    start = module.start_dim % x.ndim
    end = module.end_dim % x.ndim
    if start == 1 and end == x.ndim - 1:
        return graph.node("Flatten", [x_name], axis=1), y
    if start == 0:
        raise ExportError(f"{path}: a Flatten over the batch dim is not exported")
    return graph.node("Reshape", [x_name, graph.ints([0, *y.shape[1:]], "flatten_shape")]), y


def batch_norm(graph, module, path, x_name, x):
    if not module.track_running_stats or module.running_mean is None:
        raise ExportError(f"{path}: batch norm without running statistics uses the batch's own "
                          f"statistics at inference; ONNX's BatchNormalization cannot")
    channels = module.num_features
    dtype = module.running_mean.dtype
    scale = module.weight.data if module.affine else np.ones(channels, dtype)
    shift = module.bias.data if module.affine else np.zeros(channels, dtype)
    inputs = [x_name, graph.initializer(scale, f"{path}.weight"),
              graph.initializer(shift, f"{path}.bias"),
              graph.initializer(np.asarray(module.running_mean), f"{path}.running_mean"),
              graph.initializer(np.asarray(module.running_var), f"{path}.running_var")]
    return graph.node("BatchNormalization", inputs, epsilon=float(module.eps)), _run(module, x)


def upsample(graph, module, path, x_name, x):
    y = _run(module, x)
    scales = [1.0, 1.0] + [o / i for o, i in zip(y.shape[2:], x.shape[2:])]
    if module.mode == "nearest":
        if any(s != int(s) for s in scales):
            raise ExportError(f"{path}: nearest upsampling by a non-integer factor {scales[2:]} "
                              f"is not exported")
        attributes = dict(mode="nearest", coordinate_transformation_mode="asymmetric",
                          nearest_mode="floor")
    elif module.mode in ("bilinear", "linear", "trilinear"):
        attributes = dict(mode="linear", coordinate_transformation_mode="align_corners"
                          if module.align_corners else "half_pixel")
        if module.size is not None and not module.align_corners:
            raise ExportError(f"{path}: linear upsampling to a size (not a factor) is not exported")
    else:
        raise ExportError(f"{path}: upsampling mode {module.mode!r} is not exported")
    name = graph.node("Resize", [x_name, "", graph.initializer(np.array(scales, np.float32),
                                                               "scales")], **attributes)
    return name, y


def activation(op, **attributes):
    def handler(graph, module, path, x_name, x):
        values = {key: value(module) if callable(value) else value
                  for key, value in attributes.items()}
        return graph.node(op, [x_name], **values), _run(module, x)
    return handler


def softmax(op):
    def handler(graph, module, path, x_name, x):
        if module.dim is None:
            raise ExportError(f"{path}: {type(module).__name__}(dim=None) is not exported; give dim")
        return graph.node(op, [x_name], axis=int(module.dim)), _run(module, x)
    return handler


def scaled_tanh(graph, module, path, x_name, x):
    inner = graph.node("Mul", [x_name, graph.initializer(np.array(module.slope, graph.dtype), "slope")])
    name = graph.node("Mul", [graph.node("Tanh", [inner]),
                              graph.initializer(np.array(module.amplitude, graph.dtype), "amplitude")])
    return name, _run(module, x)


def passthrough(graph, module, path, x_name, x):
    return x_name, _run(module, x)


def sequential(graph, module, path, x_name, x):
    for name, child in module.named_children():
        x_name, x = graph.recurse(child, f"{path}.{name}" if path else name, x_name, x)
    return x_name, x
