"""Embedding: a learnable table whose rows are looked up by integer indices (torch.nn's).

Example:
    >>> import convnet, convnet.nn as nn
    >>> table = nn.Embedding(10, 3, padding_idx=0)
    >>> table(convnet.tensor([[1, 0, 4]])).shape
    (1, 3, 3)
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from ..dtypes import parameter_dtype
from ..random import resolve_rng
from .module import Module, Parameter

__all__ = ["Embedding"]


class Embedding(Module):
    """``num_embeddings`` vectors of ``embedding_dim``, initialised N(0, 1) (the
    ``padding_idx`` row zero, and it gets no gradient)."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx=None,
                 max_norm=None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                 sparse: bool = False, _weight=None, _freeze: bool = False, device=None,
                 dtype=None):
        super().__init__()
        if padding_idx is not None and not -num_embeddings <= padding_idx < num_embeddings:
            raise AssertionError("Padding_idx must be within num_embeddings")
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = None if padding_idx is None else padding_idx % num_embeddings
        if _weight is None:
            table = resolve_rng(None).standard_normal((num_embeddings, embedding_dim))
            table = table.astype(parameter_dtype(dtype))
            if self.padding_idx is not None:
                table[self.padding_idx] = 0
        else:
            table = np.asarray(getattr(_weight, "data", _weight))
        self.weight = Parameter(table, requires_grad=not _freeze)

    @classmethod
    def from_pretrained(cls, embeddings, freeze: bool = True, padding_idx=None, **kwargs):
        table = np.asarray(getattr(embeddings, "data", embeddings))
        return cls(table.shape[0], table.shape[1], padding_idx, _weight=table.copy(),
                   _freeze=freeze)

    def forward(self, x):
        return F.embedding(x, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        padding = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}{padding}"
