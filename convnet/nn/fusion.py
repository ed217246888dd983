"""Layer fusion: a convolution, the eval-mode batch norm after it and a residual sum run as
one oneDNN primitive when no gradient is wanted; a training-mode batch norm and the ReLU
after it run as one primitive forward and one backward.

In PyTorch's eager mode each layer of ``relu(bn(conv(x)) + shortcut)`` reads and writes
the whole activation; oneDNN's post-ops (:mod:`convnet.ops.conv.onednn_fused`) apply the
batch norm's per-channel scale and shift and the sum while the convolution writes its
output, and the ReLU then runs in place on that fresh output: two passes over the output
instead of four. convnet does this by itself, with no change to a model:
:class:`~convnet.nn.Sequential` fuses the (convolution, batch norm[, ReLU or ReLU6]) runs it
holds, and the residual blocks (torchvision's ResNets, the CIFAR ResNets) fuse their own
layers. Inference fusion applies only where the result is the same computation:

- no gradient is wanted: under ``convnet.no_grad()`` / ``inference_mode()``, or nothing
  involved requires one (the input, the weights, the shortcut);
- the batch norm is in eval mode with running statistics (a batch norm in training mode
  normalises with the batch's own statistics and updates its running ones);
- no forward hook (or pre-hook) on any of the layers and no ``forward`` wrapped on one (a
  hook sees each layer's output, so every layer must produce one), each layer a plain
  Conv / BatchNorm module whose ``forward`` is the library's own;
- oneDNN is loaded and on, and has a JIT kernel for the fused primitive; float32.

The activation is not a oneDNN post-op: its fused ReLU turns NaN into 0 and its fused SiLU
gives NaN for +inf, where PyTorch keeps NaN and gives inf, and proving the input and the
weights finite first costs more than the pass it saves. ReLU and ReLU6 overwrite the fused
output (NumPy's maximum and clip keep NaN), other activations run as their modules.

In training, a batch norm with batch statistics followed by a ReLU (the same hook rules)
is oneDNN's batch normalisation with ``fuse_norm_relu``: one pass forward, one backward,
no ReLU mask array (:func:`fused_bn_relu`); a NaN or inf in the batch shows in its
statistics, and then the two layers run apart. oneDNN has no fused add-and-ReLU on CPUs,
so the residual sum and its ReLU stay separate layers in training.

Otherwise the layers run one by one, as written. The fused result differs from the unfused
one only by rounding: the batch norm becomes ``z * scale + shift`` with
``scale = weight / sqrt(var + eps)`` and ``shift = bias - mean * scale`` (both formed in
float64, then rounded), as ``torch.nn.utils.fusion.fuse_conv_bn_eval`` does with weights.

Example:
    >>> import convnet, convnet.nn as nn
    >>> net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, rng=0), nn.BatchNorm2d(8),
    ...                     nn.ReLU()).eval()
    >>> x = convnet.randn(2, 3, 16, 16)
    >>> with convnet.no_grad():
    ...     fused = net(x)                              # one primitive where oneDNN loads
    >>> with fusion_disabled():
    ...     unfused = net(x)
    >>> bool(abs(fused - unfused).max() < 1e-5)
    True
"""

from __future__ import annotations

import contextlib
import threading

import numpy as np

from ..grad_mode import is_grad_enabled
from ..ops import batch_norm_onednn
from ..ops.conv import onednn_fused
from ..ops.conv.spec import conv_spec
from ..ops.elementwise_kernels import clip_in_place, relu_in_place
from ..ops.onednn import library as L
from ..tensor import Tensor, record
from . import activation as act
from . import activation_more as more
from .conv import _ConvNd
from .regularization import _BatchNorm

__all__ = ["conv_bn_act", "fusion_disabled", "fused_bn_relu", "fused_conv", "run_sequence"]

_local = threading.local()


@contextlib.contextmanager
def fusion_disabled():
    """Run every layer on its own inside the block (to compare, or to time the difference).

    Example:
        >>> with fusion_disabled():
        ...     pass
    """
    before = getattr(_local, "disabled", False)
    _local.disabled = True
    try:
        yield
    finally:
        _local.disabled = before


def _activate_in_place(activation, out):
    """``activation(out)`` for a fused result ``out`` that nothing else holds: ReLU and ReLU6
    overwrite it (each as one compiled pass on both cores, keeping NaN as PyTorch does),
    other activations run as modules."""
    kind = type(activation)
    if kind is act.ReLU and _hookless(activation):
        relu_in_place(out.data)
        return out
    if kind is more.ReLU6 and _hookless(activation):
        clip_in_place(out.data, 0, 6)
        return out
    return activation(out)


def _hookless(module) -> bool:
    """No hooks, and no ``forward`` set on the instance (the summary, the explorer and
    ``plot_feature_maps`` wrap a layer's forward to see its output)."""
    own = module.__dict__
    return not (own.get("_forward_hooks") or own.get("_forward_pre_hooks")
                or own.get("_backward_hooks") or "forward" in own)


def _plain(module, base) -> bool:
    """An instance of ``base`` with the library's own forward and no hooks."""
    return isinstance(module, base) and type(module).forward is base.forward and \
        _hookless(module)


def _conv_ok(conv) -> bool:
    return (_plain(conv, _ConvNd) and conv.net_input == "sum" and conv.algorithm == "auto"
            and getattr(conv, "bias_kind", "tied") != "untied")


def _bn_ok(bn, channels: int) -> bool:
    return (bn is not None and _plain(bn, _BatchNorm) and not bn.training
            and bn.running_mean is not None and bn.num_features == channels)


def _array(value):
    return value.data if isinstance(value, Tensor) else value


def _wants_grad(*values) -> bool:
    return is_grad_enabled() and any(isinstance(v, Tensor) and v.requires_grad
                                     for v in values)


def _scale_shift(bn):
    variance = np.asarray(_array(bn.running_var), np.float64)
    scale = 1.0 / np.sqrt(variance + bn.eps)
    if bn.weight is not None:
        scale = scale * np.asarray(_array(bn.weight), np.float64)
    shift = -np.asarray(_array(bn.running_mean), np.float64) * scale
    if bn.bias is not None:
        shift = shift + np.asarray(_array(bn.bias), np.float64)
    return scale.astype(np.float32), shift.astype(np.float32)


def fused_conv(conv, bn, x, residual=None):
    """``bn(conv(x)) + residual`` as one oneDNN primitive (a Tensor), or None where it
    cannot be fused (see the module doc); ``bn`` or ``residual`` may be None, not both."""
    if getattr(_local, "disabled", False) or not L.preferred() or not _conv_ok(conv) or (
            bn is None and residual is None):
        return None
    if bn is not None and not _bn_ok(bn, conv.out_channels):
        return None
    if _wants_grad(x, conv.weight, conv.bias, residual, *(() if bn is None else
                                                          (bn.weight, bn.bias))):
        return None
    data, weight, bias = _array(x), _array(conv.weight), _array(conv.bias)
    if not (isinstance(data, np.ndarray) and data.dtype == np.float32
            and data.ndim == conv.spatial_dims + 2):
        return None
    spec = conv_spec(data.shape, data.dtype, weight.shape, None if bias is None else bias.shape,
                     conv.stride, conv.padding, conv.dilation, conv.groups, conv.padding_mode,
                     spatial_dims=conv.spatial_dims)
    residual_data = _array(residual)
    if residual_data is not None and (not isinstance(residual_data, np.ndarray)
                                      or residual_data.shape != spec.output_shape
                                      or residual_data.dtype != np.float32):
        return None
    if not onednn_fused.supports(spec, data, weight) or onednn_fused.plan(
            spec, bn is not None, residual is not None) is None:
        return None
    scale, shift = _scale_shift(bn) if bn is not None else (None, None)
    return Tensor(onednn_fused.forward(data, weight, bias, spec, scale, shift, residual_data))


def conv_bn_act(conv, bn, activation, x, residual=None):
    """``activation(bn(conv(x)) + residual)``: fused where :func:`fused_conv` can (the
    activation then applied in place), else the layers one by one (their hooks, training
    mode and gradients as usual); ``bn``, ``activation`` and ``residual`` may be None."""
    fused = fused_conv(conv, bn, x, residual)
    if fused is not None:
        return fused if activation is None else _activate_in_place(activation, fused)
    out = conv(x)
    if bn is not None and residual is None and activation is not None:
        fused = fused_bn_relu(bn, activation, out)
        if fused is not None:
            return fused
    if bn is not None:
        out = bn(out)
    if residual is not None:
        out = out + residual
    return out if activation is None else activation(out)


def fused_bn_relu(bn, relu, x):
    """``relu(bn(x))`` for a batch norm that normalises with the batch's statistics
    (training mode), as one oneDNN primitive forward and one backward, with bn's running
    statistics and batch count updated as ``bn(x)`` would; None where it cannot be fused
    (see the module doc), with nothing updated."""
    if getattr(_local, "disabled", False) or not L.preferred() or type(relu) is not act.ReLU \
            or not _hookless(relu) or not _plain(bn, _BatchNorm):
        return None
    if not (bn.training or bn.running_mean is None):
        return None
    data = _array(x)
    if not (isinstance(data, np.ndarray) and data.dtype == np.float32
            and data.ndim in bn.expected_dims and data.shape[1] == bn.num_features
            and data.size // data.shape[1] > 1):
        return None
    weight, bias = _array(bn.weight), _array(bn.bias)
    if not batch_norm_onednn.supports_relu(data, weight, bias):
        return None
    result = batch_norm_onednn.forward(
        data, _array(bn.running_mean), _array(bn.running_var), weight, bias, True,
        float(bn._momentum_counting_this_batch()), float(bn.eps), relu=True)
    if result is None:
        return None
    if bn.training and bn.track_running_stats:
        bn.num_batches_tracked += 1
    y, saved = result
    return record(y, (x, bn.weight, bn.bias),
                  lambda dy: batch_norm_onednn.backward(dy, saved))


def run_sequence(modules, x):
    """Apply ``modules`` in order, fusing each (convolution, [batch norm], [activation]) run
    that :func:`fused_conv` takes and each (batch norm, ReLU) pair that
    :func:`fused_bn_relu` takes (what :class:`~convnet.nn.Sequential` does)."""
    index, count = 0, len(modules)
    while index < count:
        module = modules[index]
        if isinstance(module, _ConvNd) and index + 1 < count and \
                isinstance(modules[index + 1], _BatchNorm):
            fused = fused_conv(module, modules[index + 1], x)
            if fused is not None:
                index += 2
                if index < count and type(modules[index]) in (act.ReLU, more.ReLU6):
                    fused = _activate_in_place(modules[index], fused)
                    index += 1
                x = fused
                continue
        elif isinstance(module, _BatchNorm) and index + 1 < count:
            fused = fused_bn_relu(module, modules[index + 1], x)
            if fused is not None:
                x = fused
                index += 2
                continue
        x = module(x)
        index += 1
    return x
