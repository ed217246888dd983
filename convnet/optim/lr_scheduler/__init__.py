"""Learning-rate schedules, computed as ``torch.optim.lr_scheduler`` computes them.

A scheduler rewrites ``group['lr']`` in its optimizer. Call ``scheduler.step()`` after
``optimizer.step()``. Construction records ``'initial_lr'`` in every group and takes the
initial step (``last_epoch`` becomes 0), as in PyTorch, so rates match it step for step.
``ReduceLROnPlateau`` is the exception: it steps on a metric, ``scheduler.step(val_loss)``,
and ``OneCycleLR`` also sets ``momentum`` (or ``betas[0]``) at every step.
"""

from __future__ import annotations

from .base import LambdaLR, LRScheduler, MultiplicativeLR
from .decay import (ConstantLR, CosineAnnealingLR, ExponentialLR, LinearLR, LinearWarmup,
                    MultiStepLR, PolynomialLR, StepLR)
from .cyclic import CosineAnnealingWarmRestarts, OneCycleLR, SequentialLR
from .plateau import ReduceLROnPlateau

__all__ = ["LRScheduler", "LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR",
           "LinearLR", "LinearWarmup", "ExponentialLR", "PolynomialLR", "CosineAnnealingLR",
           "SequentialLR", "CosineAnnealingWarmRestarts", "OneCycleLR", "ReduceLROnPlateau"]
