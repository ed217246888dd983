"""One-hot codes, embeddings and similarities (torch's names): ``one_hot``, ``embedding``,
``cosine_similarity``, ``pairwise_distance``.

Example:
    >>> import convnet, convnet.functional as F
    >>> F.one_hot(convnet.tensor([0, 2]), num_classes=3).tolist()
    [[1, 0, 0], [0, 0, 1]]
    >>> round(F.cosine_similarity(convnet.tensor([[1.0, 0.0]]), convnet.tensor([[1.0, 1.0]])).item(), 4)
    0.7071
"""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor, record
from ..tensor_ops import _data, sqrt

__all__ = ["one_hot", "embedding", "cosine_similarity", "pairwise_distance"]


def one_hot(tensor, num_classes: int = -1) -> Tensor:
    """int64 codes of shape ``tensor.shape + (num_classes,)`` (-1: ``max + 1`` classes)."""
    labels = _data(tensor)
    if labels.dtype.kind not in "iu":
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if labels.size and labels.min() < 0:
        raise RuntimeError("Class values must be non-negative.")
    count = (int(labels.max()) + 1 if labels.size else 0) if num_classes == -1 else num_classes
    if labels.size and labels.max() >= count:
        raise RuntimeError("Class values must be smaller than num_classes.")
    return Tensor((labels[..., None] == np.arange(count)).astype(np.int64))


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` picked by the integer ``input``; ``padding_idx`` gets no gradient."""
    indices = _data(input)
    table = _data(weight)
    if indices.dtype.kind not in "iu":
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the "
                           f"following scalar types: Long, Int; but got {indices.dtype} instead")
    if indices.size and (indices.max() >= table.shape[0] or indices.min() < -table.shape[0]):
        raise IndexError("index out of range in self")
    if padding_idx is not None and padding_idx < 0:
        padding_idx += table.shape[0]

    def backward(g):
        grad = np.zeros_like(table)
        np.add.at(grad, indices, g)
        if padding_idx is not None:
            grad[padding_idx] = 0
        return None, grad
    return record(table[indices], (input, weight), backward, saved=())


def cosine_similarity(x1, x2, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """``x1 . x2 / max(||x1|| ||x2||, eps)`` along ``dim`` (broadcast)."""
    a = x1 if isinstance(x1, Tensor) else Tensor(np.asarray(x1))
    b = x2 if isinstance(x2, Tensor) else Tensor(np.asarray(x2))
    dot = (a * b).sum(dim)
    norms = sqrt(((a * a).sum(dim) * (b * b).sum(dim)).clamp(min=eps * eps))
    return dot / norms


def pairwise_distance(x1, x2, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False):
    """``||x1 - x2 + eps||_p`` along the last dim."""
    a = x1 if isinstance(x1, Tensor) else Tensor(np.asarray(x1))
    return (a - x2 + eps).norm(p, dim=-1, keepdim=keepdim)
