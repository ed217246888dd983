"""Element-wise losses (torch's names): l1, smooth L1, Huber, binary cross-entropy on
probabilities (its own gradient, torch's, finite at 0 and 1), KL divergence, the rest
composed from differentiable tensor operations, and torch's handling of the legacy
``size_average``/``reduce`` arguments.

==================  ==============================================================
loss                per element
==================  ==============================================================
l1_loss             ``|x - y|``
smooth_l1_loss      ``0.5 d^2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta``
huber_loss          ``0.5 d^2`` where ``|d| < delta``, else ``delta (|d| - 0.5 delta)``
binary_cross_entropy  ``-w (y log x + (1 - y) log(1 - x))``, logs clamped at -100
kl_div              ``y (log y - x)`` (``x`` log-probabilities; ``log_target``: y too)
==================  ==============================================================

Example:
    >>> import convnet, convnet.functional as F
    >>> x = convnet.tensor([0.0, 2.0, 5.0]); y = convnet.tensor([0.5, 2.0, 1.0])
    >>> F.l1_loss(x, y).item(), F.huber_loss(x, y, delta=1.0).item()
    (1.5, 1.2083333730697632)
"""

from __future__ import annotations

import warnings

import numpy as np

from ..tensor import Tensor, record
from ..tensor_math import where

__all__ = ["l1_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy", "kl_div",
           "legacy_reduction"]

REDUCTIONS = ("none", "mean", "sum")
TORCH_EPSILON = float(np.float32(1e-12))   # torch's clamp of x (1 - x), a float constant


def legacy_reduction(size_average=None, reduce=None, reduction: str = "mean") -> str:
    """torch's rule for the deprecated ``size_average``/``reduce``: with either given, they
    decide (``reduce=False`` -> 'none', else ``size_average`` False -> 'sum', else 'mean'),
    with torch's warning."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    result = "none" if not reduce else "mean" if size_average else "sum"
    warnings.warn(f"size_average and reduce args will be deprecated, please use "
                  f"reduction='{result}' instead.", UserWarning, stacklevel=3)
    return result


def _check(input, target, reduction: str) -> tuple[Tensor, Tensor]:
    if reduction not in REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    x = input if isinstance(input, Tensor) else Tensor(np.asarray(input))
    y = target if isinstance(target, Tensor) else Tensor(np.asarray(target))
    if x.shape != y.shape:
        warnings.warn(f"Using a target size ({y.shape}) that is different to the input size "
                      f"({x.shape}). This will likely lead to incorrect results due to "
                      f"broadcasting. Please ensure they have the same size.", UserWarning,
                      stacklevel=3)
    return x, y


def _reduce(values: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return values.mean()
    return values.sum() if reduction == "sum" else values


def l1_loss(input, target, size_average=None, reduce=None, reduction: str = "mean",
            weight=None):
    reduction = legacy_reduction(size_average, reduce, reduction)
    x, y = _check(input, target, reduction)
    return _reduce((x - y).abs(), reduction)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction: str = "mean",
                   beta: float = 1.0):
    reduction = legacy_reduction(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    x, y = _check(input, target, reduction)
    difference = (x - y).abs()
    if beta == 0:
        return _reduce(difference, reduction)
    return _reduce(where(difference < beta, 0.5 * difference * difference / beta,
                         difference - 0.5 * beta), reduction)


def huber_loss(input, target, reduction: str = "mean", delta: float = 1.0, weight=None):
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    x, y = _check(input, target, reduction)
    difference = (x - y).abs()
    return _reduce(where(difference < delta, 0.5 * difference * difference,
                         delta * (difference - 0.5 * delta)), reduction)


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction: str = "mean"):
    """Binary cross-entropy of probabilities ``input`` in [0, 1] against ``target``."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    x, y = _check(input, target, reduction)
    if x.shape != y.shape:
        raise ValueError(f"Using a target size ({y.shape}) that is different to the input "
                         f"size ({x.shape}) is deprecated. Please ensure they have the same "
                         f"size.")
    if np.any((x.data < 0) | (x.data > 1)):
        raise RuntimeError("all elements of input should be between 0 and 1")
    losses = _binary_cross_entropy_elements(x, y)
    if weight is not None:
        losses = losses * weight
    return _reduce(losses, reduction)


def _binary_cross_entropy_elements(x: Tensor, y: Tensor) -> Tensor:
    """``-(y log x + (1 - y) log(1 - x))`` with both logs clamped at -100, and torch's
    gradient ``(x - y) / max(x (1 - x), 1e-12)``: finite where x is exactly 0 or 1 (a
    saturated sigmoid), where the chain rule through the clamped logs would give 0 * inf."""
    p, t = x.data, y.data
    with np.errstate(divide="ignore"):
        log_p, log_q = np.log(p), np.log1p(-p)
    losses = -(t * np.maximum(log_p, -100) + (1 - t) * np.maximum(log_q, -100))

    def backward(grad):
        grad_x = grad * (p - t) / np.maximum(p * (1 - p), TORCH_EPSILON)
        grad_y = grad * (log_q - log_p)    # torch's: the logs unclamped (infinite at 0 and 1)
        return grad_x.astype(p.dtype, copy=False), grad_y.astype(t.dtype, copy=False)
    return record(losses.astype(p.dtype, copy=False), (x, y), backward)


def kl_div(input, target, size_average=None, reduce=None, reduction: str = "mean",
           log_target: bool = False):
    """``target * (log(target) - input)`` with ``input`` log-probabilities; 'batchmean'
    divides the sum by the batch size (the mathematically right KL)."""
    if reduction not in REDUCTIONS + ("batchmean",):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    reduction = legacy_reduction(size_average, reduce, reduction)
    x = input if isinstance(input, Tensor) else Tensor(np.asarray(input))
    y = target if isinstance(target, Tensor) else Tensor(np.asarray(target))
    if log_target:
        losses = y.exp() * (y - x)
    else:
        safe = where(y > 0, y, 1.0)
        losses = where(y > 0, y * (safe.log() - x), 0.0 * x)
    if reduction == "batchmean":
        return losses.sum() / (x.shape[0] if x.ndim else 1)
    return _reduce(losses, reduction)
