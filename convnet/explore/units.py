"""One unit of one layer, computed step by step from the layer's own input: the window it
reads, the weights, the products and their sum (convolution), the winner or the average
(pooling), the largest contributions (fully connected). Every function returns plain values
and the forward pass's own value of the unit beside the recomputed one.
"""

from __future__ import annotations

import numpy as np

from ..nn.conv import _ConvNd
from ..nn.linear import Linear
from ..nn.pool import _AvgPoolNd, _MaxPoolNd
from ..ops.windows import resolve_padding, to_tuple

NUMPY_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "edge",
               "circular": "wrap", "symmetric": "symmetric"}


def _pad(x: np.ndarray, pairs, mode: str, fill: float = 0.0) -> np.ndarray:
    pad = [(0, 0)] + [tuple(p) for p in pairs]
    if NUMPY_MODES.get(mode, "constant") == "constant":
        return np.pad(x, pad, mode="constant", constant_values=fill)
    return np.pad(x, pad, mode=NUMPY_MODES[mode])


def _window(padded, y, x, kernel, stride, dilation):
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    top, left = y * sh, x * sw
    rows = slice(top, top + (kh - 1) * dh + 1, dh)
    cols = slice(left, left + (kw - 1) * dw + 1, dw)
    return padded[:, rows, cols], (top, left)


def conv_unit(module: _ConvNd, layer_input, layer_output, channel, y, x) -> dict:
    """A 2-D convolution's unit: its input window (the layer's input, padded as the layer
    pads), the kernel of its output channel, the products, their sum plus the bias."""
    if module.spatial_dims != 2 or module.net_input != "sum":
        raise ValueError("the unit view shows 2-D convolutions with the sum net input")
    pairs = resolve_padding(module.padding, layer_input.shape[1:], module.kernel_size,
                            module.stride, module.dilation)
    padded = _pad(layer_input, pairs, module.padding_mode)
    window, (top, left) = _window(padded, y, x, module.kernel_size, module.stride, module.dilation)
    per_group = module.in_channels // module.groups
    group = channel // (module.out_channels // module.groups)
    window = window[group * per_group:(group + 1) * per_group]
    kernel = module.weight.data[channel]
    products = window * kernel
    bias = 0.0
    if module.bias is not None:
        bias = float(module.bias.data[channel] if module.bias.ndim == 1
                     else module.bias.data[channel, y, x])
    total = float(products.sum(dtype=np.float64) + bias)
    return {"kind": "conv", "window": window.tolist(), "kernel": kernel.tolist(),
            "products": products.tolist(), "bias": bias, "sum": total,
            "channel_sums": products.sum(axis=(1, 2), dtype=np.float64).tolist(),
            "forward_value": float(layer_output[channel, y, x]),
            "padded_at": [top - pairs[0][0], left - pairs[1][0]],
            "input_channels": [group * per_group, (group + 1) * per_group]}


def pool_unit(module, layer_input, layer_output, channel, y, x) -> dict:
    kernel = to_tuple(module.kernel_size, 2, "kernel_size")
    stride = kernel if module.stride is None else to_tuple(module.stride, 2, "stride")
    dilation = to_tuple(getattr(module, "dilation", 1), 2, "dilation")
    pairs = resolve_padding(module.padding, layer_input.shape[1:], kernel, stride, dilation)
    is_max = isinstance(module, _MaxPoolNd)
    mode = module.padding_mode or "zeros"
    fill = -np.inf if is_max and module.padding_mode is None else 0.0
    padded = _pad(layer_input[channel:channel + 1], pairs, mode, fill)
    window, (top, left) = _window(padded, y, x, kernel, stride, dilation)
    window = window[0]
    result = {"kind": "maxpool" if is_max else "avgpool",
              "window": np.where(np.isfinite(window), window, None).tolist(),
              "forward_value": float(layer_output[channel, y, x]),
              "padded_at": [top - pairs[0][0], left - pairs[1][0]]}
    if is_max:
        winner = np.unravel_index(int(np.argmax(window)), window.shape)
        result.update(winner=[int(winner[0]), int(winner[1])], sum=float(window[winner]))
    else:   # torch's divisor: the cells inside the input, or inside the padded input
        inside, _ = _window(_pad(np.ones_like(layer_input[channel:channel + 1]), pairs, "zeros"),
                            y, x, kernel, stride, dilation)
        counted = window.size if (module.count_include_pad or module.padding_mode is not None) \
            else int(inside.sum())
        result.update(sum=float(window.sum(dtype=np.float64) / counted), divisor=counted)
    return result


def linear_unit(module: Linear, layer_input, layer_output, index, top: int = 12) -> dict:
    """A fully connected unit: ``bias + sum_j w[index, j] x[j]`` and its largest terms."""
    flat = np.asarray(layer_input).ravel()
    contributions = module.weight.data[index] * flat
    bias = float(module.bias.data[index]) if module.bias is not None else 0.0
    order = np.argsort(-np.abs(contributions))[:top]
    return {"kind": "linear", "bias": bias,
            "sum": float(contributions.sum(dtype=np.float64) + bias),
            "forward_value": float(np.asarray(layer_output).ravel()[index]),
            "terms": len(flat),
            "top": [{"input": int(j), "weight": float(module.weight.data[index, j]),
                     "value": float(flat[j]), "product": float(contributions[j])} for j in order]}


def residual_unit(block, block_input, branch, layer_output, channel, y, x) -> dict:
    """A basic block's output unit: ``relu(branch + shortcut)``, the branch being the block's
    second batch norm and the shortcut the block's input at that unit (identity), the same
    subsampled and shifted into the wider block (He et al.'s option A: a zero where the unit
    is in a padded channel), or the 1x1 projection's output (option B)."""
    from ..tensor import Tensor, no_grad
    with no_grad():
        shortcut_map = block.shortcut(Tensor(block_input[None])).data[0]
    shortcut = float(shortcut_map[channel, y, x])
    branch_value = float(branch[channel, y, x])
    source = None
    if block.downsample is not None:
        kind = "projection (1x1 convolution and batch norm of the block's input)"
    else:
        before = block.extra_channels // 2
        inside = 0 <= channel - before < block_input.shape[0]
        kind = "identity" if block.stride == 1 and not block.extra_channels else (
            "option A (the block's input subsampled by the stride, zero channels either side)")
        if inside:
            source = [channel - before, y * block.stride, x * block.stride]
    pre_activation = branch_value + shortcut
    return {"kind": "residual", "branch": branch_value, "shortcut": shortcut,
            "shortcut_kind": kind, "shortcut_source": source,
            "pre_activation": pre_activation, "sum": max(pre_activation, 0.0),
            "forward_value": float(layer_output[channel, y, x])}


def unit(module, layer_input, layer_output, channel, y, x) -> dict:
    if isinstance(module, _ConvNd):
        return conv_unit(module, layer_input, layer_output, channel, y, x)
    if isinstance(module, (_MaxPoolNd, _AvgPoolNd)) and layer_input.ndim == 3:
        return pool_unit(module, layer_input, layer_output, channel, y, x)
    if isinstance(module, Linear):
        return linear_unit(module, layer_input, layer_output, channel)
    raise ValueError(f"the unit view shows convolution, pooling and fully connected layers, "
                     f"not {type(module).__name__}")
