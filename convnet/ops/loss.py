"""Loss functions as NumPy forward/backward pairs (no Tensor, no state).

Cross-entropy and negative log-likelihood are written with one coefficient array
``A`` shaped like the input (N, C, *d): the loss of element ``i`` is

    loss_i = -sum_c A[i, c] * logp[i, c]

For class-index targets ``A[i, c] = (1 - eps) * w[t_i] * [c == t_i] + eps / C * w[c]``
(zero where ``t_i == ignore_index``); for probability targets
``A[i, c] = w[c] * ((1 - eps) * q[i, c] + eps / C)``. With ``logp = log_softmax(x)``
the gradient with respect to the logits is ``dL/dx[i, c] = p[i, c] * sum_c' A[i, c'] - A[i, c]``
(the notes' softmax-with-cross-entropy gradient ``p - t`` when ``A`` is one-hot).

Reductions follow torch: ``'none'`` keeps ``loss_i``; ``'sum'`` adds them; ``'mean'``
divides the sum by ``denominator``: the summed weights ``w[t_i]`` of the elements not
ignored for class indices, the number of elements (N * d1 * ...) for probabilities,
and the number of entries for the elementwise losses.

Example:
    >>> import numpy as np
    >>> x = np.zeros((1, 4))
    >>> coeff, denominator = class_coefficients(np.array([2]), x.shape, x.dtype)
    >>> loss, saved = cross_entropy_forward(x, coeff, 'mean', denominator)
    >>> float(loss), cross_entropy_backward(np.array(1.0), saved)
    (1.3862943611198906, array([[ 0.25,  0.25, -0.75,  0.25]]))
"""

from __future__ import annotations

import numpy as np

from . import softmax_onednn
from .activation import log_softmax_backward, log_softmax_forward, sigmoid_forward

REDUCTIONS = ("none", "mean", "sum")


def _class_shape(weight: np.ndarray, ndim: int) -> np.ndarray:
    """``weight`` (C,) shaped to broadcast along axis 1 of an ``ndim``-dim array."""
    return weight.reshape((1, -1) + (1,) * (ndim - 2))


def reduce(values: np.ndarray, reduction: str, denominator) -> np.ndarray:
    """``values`` reduced as ``reduction`` says (``denominator`` divides the sum for 'mean')."""
    if reduction == "none":
        return values
    total = np.sum(values)
    if reduction == "sum":
        return total
    with np.errstate(invalid="ignore", divide="ignore"):  # all ignored: nan, as torch
        return total / denominator


def expand(dy: np.ndarray, shape: tuple[int, ...], reduction: str, denominator) -> np.ndarray:
    """The upstream gradient of each unreduced element, from that of the reduced loss."""
    if reduction == "none":
        return dy
    if reduction == "mean":
        with np.errstate(invalid="ignore", divide="ignore"):
            dy = dy / denominator
    return np.broadcast_to(dy, shape)


# ------------------------------------------------------ cross-entropy family
def class_coefficients(target: np.ndarray, input_shape: tuple[int, ...], dtype,
                       weight: np.ndarray | None = None, ignore_index: int = -100,
                       label_smoothing: float = 0.0, like: np.ndarray | None = None):
    """``(A, denominator)`` for class-index targets (validated: in range or ``ignore_index``).

    Args:
        target: integer array (N, *d).
        input_shape: (N, C, *d).
        weight: (C,) class weights or None (all ones).
        like: the logits, whose memory order A takes (channels-last stays channels-last,
            so the backward pass combines arrays of one layout); None: row-major.
    """
    num_classes = input_shape[1]
    weight = np.ones(num_classes, dtype=dtype) if weight is None else weight.astype(dtype)
    kept = target != ignore_index
    safe_target = np.where(kept, target, 0)
    target_weight = weight[safe_target] * kept            # w[t_i], 0 where ignored
    coeff = np.zeros(input_shape, dtype=dtype) if like is None else np.zeros_like(like, dtype)
    np.put_along_axis(coeff, safe_target[:, None],
                      (target_weight * dtype.type(1 - label_smoothing))[:, None], axis=1)
    if label_smoothing:
        coeff += (_class_shape(weight, len(input_shape)) * dtype.type(label_smoothing / num_classes)
                  * kept[:, None])
    return coeff, np.sum(target_weight)


def probability_coefficients(target: np.ndarray, weight: np.ndarray | None = None,
                             label_smoothing: float = 0.0):
    """``(A, denominator)`` for class-probability targets shaped like the input (N, C, *d)."""
    dtype = target.dtype
    scale = np.ones((1,) * target.ndim, dtype=dtype) if weight is None else _class_shape(
        weight.astype(dtype), target.ndim)
    smoothed = target * dtype.type(1 - label_smoothing) + dtype.type(label_smoothing / target.shape[1])
    return smoothed * scale, target.size // target.shape[1]


def probability_target_gradient(dcoeff: np.ndarray, weight: np.ndarray | None,
                                label_smoothing: float) -> np.ndarray:
    """Gradient with respect to probability targets, from that of the coefficients."""
    scale = 1 - label_smoothing
    if weight is not None:
        return dcoeff * (_class_shape(weight.astype(dcoeff.dtype), dcoeff.ndim) * scale)
    return dcoeff * dcoeff.dtype.type(scale)


def class_cross_entropy_forward(x: np.ndarray, target: np.ndarray, weight, ignore_index: int,
                                reduction: str):
    """Cross-entropy of logits ``x`` (N, C, *d) with class indices ``target`` (N, *d) and no
    label smoothing: each element's ``-w[t] * log_softmax(x)[t]`` picked out, without the
    (N, C, *d) coefficient array of :func:`class_coefficients`. Returns ``(loss, saved)``."""
    weight = np.ones(x.shape[1], x.dtype) if weight is None else weight.astype(x.dtype)
    kept = target != ignore_index
    safe_target = np.where(kept, target, 0)[:, None]
    target_weight = weight[safe_target[:, 0]] * kept
    log_probs, _ = log_softmax_forward(x, 1)
    picked = np.take_along_axis(log_probs, safe_target, axis=1)[:, 0]
    denominator = np.sum(target_weight)
    loss = reduce(-(picked * target_weight), reduction, denominator)
    return loss, (log_probs, safe_target, target_weight, reduction, denominator)


def class_cross_entropy_backward(dy: np.ndarray, saved) -> np.ndarray:
    """The logits' gradient ``upstream * (softmax - w[t] onehot(t))`` (with sum(A) = w[t]):
    log-softmax's backward of the scattered ``-upstream * w[t]``."""
    log_probs, safe_target, target_weight, reduction, denominator = saved
    upstream = expand(dy, log_probs.shape[:1] + log_probs.shape[2:], reduction, denominator)
    scattered = np.zeros_like(log_probs)
    np.put_along_axis(scattered, safe_target,
                      (-(upstream * target_weight)).astype(log_probs.dtype)[:, None], axis=1)
    return log_softmax_backward(scattered, (log_probs, 1))


def cross_entropy_forward(x: np.ndarray, coeff: np.ndarray, reduction: str, denominator):
    """Cross-entropy of logits ``x`` (N, C, *d) with coefficients ``A``; returns ``(loss, saved)``.

    ``loss`` has shape (N, *d) for ``'none'``, else ().
    """
    log_probs, _ = log_softmax_forward(x, 1)
    per_element = -np.sum(coeff * log_probs, axis=1)
    return reduce(per_element, reduction, denominator), (log_probs, coeff, reduction, denominator)


def cross_entropy_backward(dy: np.ndarray, saved, need_coeff_grad: bool = False):
    """Gradient for the logits (and, when asked, for the coefficients: ``-g * logp``)."""
    log_probs, coeff, reduction, denominator = saved
    upstream = expand(dy, log_probs.shape[:1] + log_probs.shape[2:], reduction, denominator)
    upstream = upstream[:, None]
    if not need_coeff_grad and softmax_onednn.supports(log_probs, 1):
        # upstream * (softmax * sum(A) - A) is log-softmax's backward of -upstream * A
        return softmax_onednn.backward(-(upstream * coeff), log_probs, 1, log=True)
    dx = upstream * (np.exp(log_probs) * np.sum(coeff, axis=1, keepdims=True) - coeff)
    if need_coeff_grad:
        return dx, -upstream * log_probs
    return dx


def nll_forward(log_probs: np.ndarray, coeff: np.ndarray, reduction: str, denominator):
    """Negative log-likelihood of log-probabilities (N, C, *d): ``-sum_c A * x`` per element."""
    per_element = -np.sum(coeff * log_probs, axis=1)
    return reduce(per_element, reduction, denominator), (coeff, reduction, denominator)


def nll_backward(dy: np.ndarray, saved) -> np.ndarray:
    coeff, reduction, denominator = saved
    upstream = expand(dy, coeff.shape[:1] + coeff.shape[2:], reduction, denominator)
    return -upstream[:, None] * coeff


# -------------------------------------------------------- elementwise losses
def mse_forward(x: np.ndarray, target: np.ndarray, reduction: str):
    """``(x - target)**2`` (broadcast), reduced; mean divides by the number of entries."""
    difference = x - target
    return reduce(difference * difference, reduction, difference.size), (difference, reduction)


def mse_backward(dy: np.ndarray, saved):
    """Gradients ``(d input, d target)``, both shaped like the broadcast difference."""
    difference, reduction = saved
    dx = 2 * expand(dy, difference.shape, reduction, difference.size) * difference
    return dx, -dx


def _softplus_of_negative(x: np.ndarray) -> np.ndarray:
    """``log(1 + exp(-x))`` without overflow: ``log1p(exp(-|x|)) + max(-x, 0)``."""
    return np.log1p(np.exp(-np.abs(x))) + np.maximum(-x, x.dtype.type(0))


def bce_with_logits_forward(x, target, weight, pos_weight, reduction: str):
    """torch's stable ``(1 - t) x + (1 + (pw - 1) t) log(1 + exp(-x))``, times ``weight``.

    All arrays broadcast together (``pos_weight`` along the last, class, dimension).
    """
    softplus = _softplus_of_negative(x)
    log_weight = 1 if pos_weight is None else 1 + (pos_weight - 1) * target
    unweighted = (1 - target) * x + log_weight * softplus
    values = unweighted if weight is None else unweighted * weight
    saved = (x, target, weight, pos_weight, softplus, unweighted, reduction, values.shape)
    return reduce(values, reduction, values.size), saved


def bce_with_logits_backward(dy: np.ndarray, saved):
    """Gradients ``(d input, d target, d weight, d pos_weight)`` in the broadcast shape
    (None for an absent weight or pos_weight)."""
    x, target, weight, pos_weight, softplus, unweighted, reduction, shape = saved
    size = int(np.prod(shape))
    upstream = expand(dy, shape, reduction, size)
    scaled = upstream if weight is None else upstream * weight
    sigmoid_of_negative, _ = sigmoid_forward(-x)      # d/dx log(1 + exp(-x)) = -sigmoid(-x)
    log_weight = 1 if pos_weight is None else 1 + (pos_weight - 1) * target
    dx = scaled * ((1 - target) - log_weight * sigmoid_of_negative)
    dt_factor = -x if pos_weight is None else (pos_weight - 1) * softplus - x
    dtarget = scaled * dt_factor
    dweight = None if weight is None else upstream * unweighted
    dpos_weight = None if pos_weight is None else scaled * target * softplus
    return dx, dtarget, dweight, dpos_weight
