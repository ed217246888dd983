"""Losses on Tensors: cross_entropy, nll_loss, mse_loss, binary_cross_entropy_with_logits.

torch.nn.functional names, arguments and semantics (weighted means, ``ignore_index``,
label smoothing, per-pixel targets); the kernels are in :mod:`convnet.ops.loss`.
Class-index targets are integer arrays (or Tensors holding integer data) and get no
gradient; probability targets, ``mse_loss`` and ``binary_cross_entropy_with_logits``
targets that are Tensors with ``requires_grad`` do get one (as in torch).

Example:
    >>> import numpy as np, convnet
    >>> import convnet.functional as F
    >>> logits = convnet.tensor(np.zeros((2, 3)), requires_grad=True)
    >>> loss = F.cross_entropy(logits, np.array([0, 2]))
    >>> round(loss.item(), 4)
    1.0986
    >>> loss.backward()
    >>> logits.grad.round(4)
    array([[-0.3333,  0.1667,  0.1667],
           [ 0.1667,  0.1667, -0.3333]])
"""

from __future__ import annotations

import numbers

import numpy as np

from ..ops import loss as loss_ops
from ..tensor import Tensor, record
from ..tensor_ops import unbroadcast
from ._arrays import array_of, floating_input, requires_grad

__all__ = ["cross_entropy", "nll_loss", "mse_loss", "binary_cross_entropy_with_logits"]


def _check_reduction(reduction) -> str:
    if reduction not in loss_ops.REDUCTIONS:
        raise ValueError(f"reduction: expected one of 'mean', 'sum', 'none', got {reduction!r}")
    return reduction


def _batched_input(x: np.ndarray, name: str) -> tuple[np.ndarray, bool]:
    """(N, C, *d) view of ``x``; an unbatched (C,) input gains a batch axis (as torch)."""
    if x.ndim == 0:
        raise ValueError(f"{name}: expected (C,), (N, C) or (N, C, d1, ...) scores, got a scalar")
    return (x[None], True) if x.ndim == 1 else (x, False)


def _class_weight(weight, num_classes: int, dtype) -> np.ndarray | None:
    if weight is None:
        return None
    w = array_of(weight, "weight")
    if w.shape != (num_classes,):
        raise ValueError(f"weight: expected one weight per class, shape ({num_classes},), "
                         f"got shape {w.shape}")
    return w.astype(dtype, copy=False)


def _class_indices(target, batched_shape: tuple[int, ...], unbatched: bool,
                   ignore_index: int) -> np.ndarray:
    """Validated integer class indices shaped (N, *d) for an input shaped (N, C, *d)."""
    indices = np.asarray(target.data if isinstance(target, Tensor) else target)
    if not np.issubdtype(indices.dtype, np.integer):
        hint = (" (convnet.tensor turns integers into floats: pass class indices as an int64 "
                "NumPy array)" if isinstance(target, Tensor) else "")
        raise TypeError(f"target: class indices must be integers (int64), got dtype "
                        f"{indices.dtype} with shape {indices.shape}; class probabilities must "
                        f"have the input's shape{hint}")
    expected = batched_shape[:1] + batched_shape[2:]
    if unbatched:
        expected = ()
    if indices.shape != expected:
        raise ValueError(f"target: expected class indices of shape {expected} for input of shape "
                         f"{batched_shape[1:] if unbatched else batched_shape}, "
                         f"got shape {indices.shape}")
    num_classes = batched_shape[1]
    bad = (indices != ignore_index) & ((indices < 0) | (indices >= num_classes))
    if np.any(bad):
        raise ValueError(f"target: class index {indices[bad].flat[0]} is out of range; expected "
                         f"values in [0, {num_classes - 1}] or ignore_index={ignore_index}")
    return indices.reshape(batched_shape[:1] + batched_shape[2:])


def _check_options(ignore_index, label_smoothing) -> None:
    if not isinstance(ignore_index, numbers.Integral) or isinstance(ignore_index, bool):
        raise TypeError(f"ignore_index: expected an int, got {ignore_index!r}")
    if not isinstance(label_smoothing, numbers.Real) or not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing: expected a number in [0, 1], got {label_smoothing!r}")


def _is_probability_target(target, input_shape) -> bool:
    data = target.data if isinstance(target, Tensor) else np.asarray(target)
    return np.issubdtype(data.dtype, np.floating) and data.shape == input_shape


def cross_entropy(input, target, weight=None, ignore_index: int = -100, reduction: str = "mean",
                  label_smoothing: float = 0.0):
    """Cross-entropy between logits and targets (softmax and negative log-likelihood in one).

    Args:
        input: logits, (N, C), (N, C, d1, d2, ...) for per-pixel classification, or (C,).
        target: class indices, integer (N,), (N, d1, d2, ...) or () (values in [0, C) or
            ``ignore_index``); or class probabilities, floating, shaped like ``input``.
        weight: (C,) rescaling weight of each class, or None.
        ignore_index: class-index target value that contributes neither loss nor gradient,
            and is left out of the mean's denominator.
        reduction: 'none' (shape (N, d1, ...)), 'sum' or 'mean' (for class indices: divided
            by the summed weights ``w[target]`` of the elements not ignored; for
            probabilities: by N * d1 * ...).
        label_smoothing: eps in [0, 1]; the target becomes (1 - eps) * target + eps / C.

    Example (per-pixel segmentation, a 1x1 image of 3 classes):
        >>> import numpy as np, convnet.functional as F
        >>> logits = np.log(np.array([[[[1.0]], [[1.0]], [[2.0]]]]))   # (N, C, H, W)
        >>> round(F.cross_entropy(logits, np.array([[[2]]])).item(), 6)   # -log(2/4)
        0.693147
    """
    x, unbatched = _batched_input(floating_input(input), "input")
    _check_reduction(reduction)
    _check_options(ignore_index, label_smoothing)
    w = _class_weight(weight, x.shape[1], x.dtype)
    target_parent = None
    if _is_probability_target(target, x.shape[1:] if unbatched else x.shape):
        probabilities = array_of(target, "target").astype(x.dtype, copy=False).reshape(x.shape)
        coeff, denominator = loss_ops.probability_coefficients(probabilities, w, label_smoothing)
        target_parent = target
    else:
        indices = _class_indices(target, x.shape, unbatched, ignore_index)
        if not label_smoothing:       # the target's log-probability picked, no (N, C, ...) A
            return _class_cross_entropy(input, x, indices, w, ignore_index, reduction, unbatched)
        coeff, denominator = loss_ops.class_coefficients(indices, x.shape, x.dtype, w,
                                                         ignore_index, label_smoothing, like=x)
    loss, saved = loss_ops.cross_entropy_forward(x, coeff, reduction, denominator)
    if unbatched and reduction == "none":
        loss = loss[0]
    loss = np.asarray(loss, dtype=x.dtype)
    input_shape = np.shape(array_of(input, "input"))
    need_target_grad = requires_grad(target_parent)

    def backward(dy):
        if unbatched and reduction == "none":
            dy = dy[None]
        grads = loss_ops.cross_entropy_backward(dy, saved, need_coeff_grad=need_target_grad)
        if not need_target_grad:
            return grads.reshape(input_shape), None
        dx, dcoeff = grads
        dtarget = loss_ops.probability_target_gradient(dcoeff, w, label_smoothing)
        return dx.reshape(input_shape), dtarget.reshape(input_shape)

    return record(loss, (input, target_parent), backward)


def _class_cross_entropy(input, x, indices, w, ignore_index, reduction, unbatched):
    loss, saved = loss_ops.class_cross_entropy_forward(x, indices, w, ignore_index, reduction)
    return _input_only_loss(input, x, loss, unbatched, reduction,
                            lambda dy: loss_ops.class_cross_entropy_backward(dy, saved))


def _input_only_loss(input, x, loss, unbatched: bool, reduction: str, gradient):
    """``loss`` recorded with ``input`` its one parent; ``gradient(dy)`` gives the batched
    input's gradient (an unbatched input's loss and gradient lose and regain the batch)."""
    if unbatched and reduction == "none":
        loss = loss[0]
    input_shape = np.shape(array_of(input, "input"))

    def backward(dy):
        if unbatched and reduction == "none":
            dy = dy[None]
        return (gradient(dy).reshape(input_shape),)

    return record(np.asarray(loss, dtype=x.dtype), (input,), backward)


def nll_loss(input, target, weight=None, ignore_index: int = -100, reduction: str = "mean"):
    """Negative log-likelihood of log-probabilities: ``-weight[t] * input[n, t]`` per element.

    Args:
        input: log-probabilities (e.g. from :func:`log_softmax`), (N, C), (N, C, d1, ...) or (C,).
        target: integer class indices (N,), (N, d1, ...) or (), in [0, C) or ``ignore_index``.
        weight, ignore_index, reduction: as :func:`cross_entropy` (mean divides by the summed
            weights of the targets not ignored).

    Shape: 'none' gives (N, d1, ...); 'sum' and 'mean' give ().

    Example:
        >>> import numpy as np, convnet.functional as F
        >>> F.nll_loss(np.array([[-1.0, -2.0], [-3.0, -4.0]]), np.array([1, 0]), reduction='none').data
        array([2., 3.])
    """
    x, unbatched = _batched_input(floating_input(input), "input")
    _check_reduction(reduction)
    _check_options(ignore_index, 0.0)
    w = _class_weight(weight, x.shape[1], x.dtype)
    indices = _class_indices(target, x.shape, unbatched, ignore_index)
    coeff, denominator = loss_ops.class_coefficients(indices, x.shape, x.dtype, w, ignore_index)
    loss, saved = loss_ops.nll_forward(x, coeff, reduction, denominator)
    return _input_only_loss(input, x, loss, unbatched, reduction,
                            lambda dy: loss_ops.nll_backward(dy, saved))


def _elementwise_operand(value, name: str, dtype, reference_shape) -> np.ndarray:
    array = array_of(value, name).astype(dtype, copy=False)
    try:
        np.broadcast_shapes(array.shape, reference_shape)
    except ValueError:
        raise ValueError(f"{name}: shape {array.shape} does not broadcast with the input's shape "
                         f"{reference_shape}") from None
    return array


def mse_loss(input, target, reduction: str = "mean"):
    """Mean squared error ``(input - target)**2``, reduced by ``reduction``.

    Args:
        input: any shape.
        target: same shape as ``input`` (shapes that broadcast are accepted, as torch does).
        reduction: 'mean' (divide by the number of entries), 'sum' or 'none'.

    Example:
        >>> import convnet.functional as F
        >>> F.mse_loss([1.0, 2.0], [0.0, 0.0]).item()
        2.5
    """
    x = floating_input(input)
    _check_reduction(reduction)
    t = _elementwise_operand(target, "target", x.dtype, x.shape)
    loss, saved = loss_ops.mse_forward(x, t, reduction)

    def backward(dy):
        dx, dt = loss_ops.mse_backward(dy, saved)
        return unbroadcast(dx, x.shape), unbroadcast(dt, t.shape)

    return record(np.asarray(loss, dtype=x.dtype), (input, target), backward)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction: str = "mean",
                                     pos_weight=None):
    """Binary cross-entropy of ``sigmoid(input)`` against ``target``, computed from the logits.

    ``loss = -w * (pw * t * log(sigmoid(x)) + (1 - t) * log(1 - sigmoid(x)))``, evaluated
    stably as ``w * ((1 - t) x + (1 + (pw - 1) t) log(1 + exp(-x)))``.

    Args:
        input: logits, any shape.
        target: the input's shape, values in [0, 1] (gets a gradient when it requires one).
        weight: rescaling weight broadcast to the input's shape, or None.
        reduction: 'mean' (over all entries), 'sum' or 'none'.
        pos_weight: weight of positive examples, broadcast along the last (class) dim, or None.
            (Unlike torch, convnet also returns gradients for ``weight`` and ``pos_weight``.)

    Example:
        >>> import convnet.functional as F
        >>> round(F.binary_cross_entropy_with_logits([0.0], [1.0]).item(), 6)   # log 2
        0.693147
    """
    x = floating_input(input)
    _check_reduction(reduction)
    t = _elementwise_operand(target, "target", x.dtype, x.shape)
    if t.shape != x.shape:
        raise ValueError(f"target: expected the input's shape {x.shape}, got {t.shape}")
    w = None if weight is None else _elementwise_operand(weight, "weight", x.dtype, x.shape)
    pw = None if pos_weight is None else _elementwise_operand(pos_weight, "pos_weight", x.dtype,
                                                              x.shape)
    loss, saved = loss_ops.bce_with_logits_forward(x, t, w, pw, reduction)

    def backward(dy):
        grads = loss_ops.bce_with_logits_backward(dy, saved)
        shapes = (x.shape, t.shape, None if w is None else w.shape, None if pw is None else pw.shape)
        return tuple(None if g is None else unbroadcast(g, shape) for g, shape in zip(grads, shapes))

    return record(np.asarray(loss, dtype=x.dtype), (input, target, weight, pos_weight), backward)
