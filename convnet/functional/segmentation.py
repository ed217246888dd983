"""Per-pixel losses and helpers for segmentation: soft Dice, and matching a skip's size.

Example:
    >>> import numpy as np, convnet.functional as F
    >>> logits = np.zeros((1, 2, 2, 2)); target = np.array([[[0, 1], [1, 255]]])
    >>> round(float(F.dice_loss(logits, target).data), 6)  # 1 - (2/3.5 + 3/4.5) / 2
    0.380952
"""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from .activation import softmax
from .shape import pad

__all__ = ["dice_loss", "match_size"]


def dice_loss(input, target, ignore_index: int = 255, smooth: float = 1.0):
    """Soft multiclass Dice loss from logits, ``1 - mean_c dice_c`` with
    ``dice_c = (2 sum p_c t_c + smooth) / (sum p_c + sum t_c + smooth)``.

    ``p`` is the softmax over classes, ``t`` the one-hot target; pixels whose target is
    ``ignore_index`` count for nothing. The sums run over the batch and every pixel.

    Args:
        input: logits (N, C, H, W) (any spatial dims).
        target: class indices (N, H, W), integer.

    Returns:
        A scalar Tensor.
    """
    logits = input if isinstance(input, Tensor) else Tensor(np.asarray(input))
    target = np.asarray(target)
    if logits.ndim < 3 or target.shape != logits.shape[:1] + logits.shape[2:]:
        raise ValueError(f"target: expected shape {logits.shape[:1] + logits.shape[2:]} (the "
                         f"input's without its class axis), got {target.shape}")
    if not np.issubdtype(target.dtype, np.integer):
        raise TypeError(f"target: expected class indices (integers), got dtype {target.dtype}")
    classes = logits.shape[1]
    valid = target != ignore_index
    if np.any((target[valid] < 0) | (target[valid] >= classes)):
        raise ValueError(f"target: values must be in [0, {classes}) or ignore_index "
                         f"{ignore_index}")
    dtype = logits.dtype
    one_hot = (np.where(valid, target, 0)[:, None] == np.arange(classes).reshape(
        (1, classes) + (1,) * (target.ndim - 1))) & valid[:, None]
    one_hot = one_hot.astype(dtype)
    mask = np.broadcast_to(valid[:, None], one_hot.shape).astype(dtype)
    probabilities = softmax(logits, dim=1) * mask
    axes = (0,) + tuple(range(2, logits.ndim))
    intersection = (probabilities * one_hot).sum(dim=axes)
    totals = probabilities.sum(dim=axes) + one_hot.sum(axis=axes)
    dice = (intersection * 2.0 + smooth) / (totals + smooth)
    return 1.0 - dice.mean()


def match_size(input, size):
    """Crop (centred) or zero-pad (centred) the last two dims of ``input`` to ``size`` (H, W):
    how a U-Net's skip joins an up-sampled map when an odd size was halved.

    Example:
        >>> import numpy as np
        >>> match_size(np.ones((1, 1, 5, 4)), (4, 6)).shape
        (1, 1, 4, 6)
    """
    x = input if isinstance(input, Tensor) else Tensor(np.asarray(input))
    height, width = x.shape[-2:]
    want_h, want_w = size
    crop_h, crop_w = max(height - want_h, 0), max(width - want_w, 0)
    x = x[..., crop_h // 2:crop_h // 2 + min(height, want_h), crop_w // 2:crop_w // 2 + min(width, want_w)]
    grow_h, grow_w = max(want_h - height, 0), max(want_w - width, 0)
    if grow_h or grow_w:
        x = pad(x, (grow_w // 2, grow_w - grow_w // 2, grow_h // 2, grow_h - grow_h // 2))
    return x
