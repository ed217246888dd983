"""Losses as modules, named and constructed as ``torch.nn``'s: each holds its options and
calls one function of :mod:`convnet.functional`. The legacy ``size_average``/``reduce``
arguments still work, with torch's deprecation warning.

Example:
    >>> import convnet, convnet.nn as nn
    >>> criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
    >>> logits = convnet.zeros(2, 3, requires_grad=True)
    >>> loss = criterion(logits, convnet.tensor([0, 2]))
    >>> round(loss.item(), 4)
    1.0986
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from ..functional.pointwise_loss import legacy_reduction
from .module import Module

__all__ = ["CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss",
           "BCELoss", "BCEWithLogitsLoss", "KLDivLoss"]


class _Loss(Module):
    def __init__(self, size_average=None, reduce=None, reduction: str = "mean"):
        super().__init__()
        self.reduction = legacy_reduction(size_average, reduce, reduction)

    def extra_repr(self) -> str:
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"


class _WeightedLoss(_Loss):
    def __init__(self, weight=None, size_average=None, reduce=None, reduction: str = "mean"):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", None if weight is None else np.asarray(
            getattr(weight, "data", weight)))


class CrossEntropyLoss(_WeightedLoss):
    """Softmax cross-entropy of logits (N, C, ...) against class indices or probabilities.

    Example:
        >>> import convnet, convnet.nn as nn
        >>> nn.CrossEntropyLoss(ignore_index=1)(convnet.zeros(2, 3), convnet.tensor([0, 1])).item()
        1.0986123085021973
    """

    def __init__(self, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
                 reduction: str = "mean", label_smoothing: float = 0.0):
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, input, target):
        return F.cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of log-probabilities (N, C, ...) against class indices.

    Example:
        >>> import convnet, convnet.nn as nn
        >>> nn.NLLLoss()(convnet.tensor([[-1.0, -2.0]]), convnet.tensor([1])).item()
        2.0
    """

    def __init__(self, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
                 reduction: str = "mean"):
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)


def _simple(name: str, function, doc: str, **options):
    """A loss module whose forward is ``function(input, target, reduction=..., **options)``."""
    def __init__(self, size_average=None, reduce=None, reduction: str = "mean", **given):
        _Loss.__init__(self, size_average, reduce, reduction)
        unknown = set(given) - set(options)
        if unknown:
            raise TypeError(f"{name}.__init__() got unexpected keyword arguments {sorted(unknown)}")
        for key, default in options.items():
            setattr(self, key, given.get(key, default))

    def forward(self, input, target):
        return function(input, target, reduction=self.reduction,
                        **{key: getattr(self, key) for key in options})

    return type(name, (_Loss,), {"__init__": __init__, "forward": forward, "__doc__": doc,
                                 "__module__": __name__})


MSELoss = _simple("MSELoss", F.mse_loss, """Mean squared error.

    Example:
        >>> import convnet, convnet.nn as nn
        >>> nn.MSELoss()(convnet.tensor([1.0, 3.0]), convnet.tensor([0.0, 0.0])).item()
        5.0
    """)
L1Loss = _simple("L1Loss", F.l1_loss, """Mean absolute error.

    Example:
        >>> import convnet, convnet.nn as nn
        >>> nn.L1Loss(reduction='sum')(convnet.tensor([1.0, -3.0]), convnet.zeros(2)).item()
        4.0
    """)
SmoothL1Loss = _simple("SmoothL1Loss", F.smooth_l1_loss, """Quadratic below ``beta``, linear above.

    Example:
        >>> import convnet, convnet.nn as nn
        >>> nn.SmoothL1Loss(beta=1.0)(convnet.tensor([0.5, 3.0]), convnet.zeros(2)).item()
        1.3125
    """, beta=1.0)


class HuberLoss(_Loss):
    """Quadratic below ``delta``, linear (slope ``delta``) above.

    Example:
        >>> import convnet, convnet.nn as nn
        >>> nn.HuberLoss(delta=2.0)(convnet.tensor([1.0, 5.0]), convnet.zeros(2)).item()
        4.25
    """

    def __init__(self, reduction: str = "mean", delta: float = 1.0):
        super().__init__(reduction=reduction)
        self.delta = delta

    def forward(self, input, target):
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class BCELoss(_WeightedLoss):
    """Binary cross-entropy of probabilities.

    Example:
        >>> import convnet, convnet.nn as nn
        >>> round(nn.BCELoss()(convnet.tensor([0.5]), convnet.tensor([1.0])).item(), 4)
        0.6931
    """

    def forward(self, input, target):
        return F.binary_cross_entropy(input, target, weight=self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_WeightedLoss):
    """Binary cross-entropy of ``sigmoid(input)``, computed stably from the logits.

    Example:
        >>> import convnet, convnet.nn as nn
        >>> loss = nn.BCEWithLogitsLoss(pos_weight=convnet.tensor([2.0]))
        >>> round(loss(convnet.zeros(1), convnet.ones(1)).item(), 4)
        1.3863
    """

    def __init__(self, weight=None, size_average=None, reduce=None, reduction: str = "mean",
                 pos_weight=None):
        super().__init__(weight, size_average, reduce, reduction)
        self.register_buffer("pos_weight", None if pos_weight is None else np.asarray(
            getattr(pos_weight, "data", pos_weight)))

    def forward(self, input, target):
        return F.binary_cross_entropy_with_logits(input, target, weight=self.weight,
                                                  reduction=self.reduction,
                                                  pos_weight=self.pos_weight)


class KLDivLoss(_Loss):
    """KL divergence of ``target`` from log-probabilities ``input``.

    Example:
        >>> import convnet, convnet.nn as nn
        >>> nn.KLDivLoss(reduction='batchmean')(convnet.tensor([[0.0]]), convnet.tensor([[1.0]])).item()
        0.0
    """

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean",
                 log_target: bool = False):
        super().__init__(size_average, reduce, reduction)
        self.log_target = log_target

    def forward(self, input, target):
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)
