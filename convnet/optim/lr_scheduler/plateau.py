"""ReduceLROnPlateau: lower the rate when a metric stops improving.

Part of :mod:`convnet.optim.lr_scheduler` (see there).
"""

from __future__ import annotations

import math

from ...tensor import Tensor
from ..optimizer import Optimizer
from .base import LRScheduler, _per_group


class ReduceLROnPlateau(LRScheduler):
    """Multiply the learning rate by ``factor`` when a metric has stopped improving.

    ``step(metric)`` after each evaluation: a value better than the best so far (by
    ``threshold``, relative or absolute) resets the count of bad epochs; after more than
    ``patience`` bad epochs the rates become ``max(lr * factor, min_lr)`` (ignored when
    the change is at most ``eps``), and ``cooldown`` epochs pass before counting again.

    Args:
        optimizer: the optimizer whose rates it sets.
        mode: ``'min'`` (lower is better, e.g. a loss) or ``'max'`` (e.g. accuracy).
        factor: multiplier of the rates, below 1.
        patience: bad epochs tolerated before reducing.
        threshold: the improvement that counts, relative (``'rel'``) or absolute (``'abs'``).
        threshold_mode: ``'rel'`` or ``'abs'``.
        cooldown: epochs to wait after a reduction before counting bad epochs.
        min_lr: lower bound of the rates (a float, or one per group).
        eps: smallest change of a rate that is applied.

    Example:
        >>> import numpy as np, convnet.nn as nn, convnet.optim as optim
        >>> opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=1.0)
        >>> scheduler = optim.ReduceLROnPlateau(opt, factor=0.5, patience=1)
        >>> for loss in [3.0, 2.0, 2.5, 2.4, 2.1, 1.0]:
        ...     scheduler.step(loss)
        >>> scheduler.get_last_lr()
        [0.5]
    """

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1,
                 patience: int = 10, threshold: float = 1e-4, threshold_mode: str = "rel",
                 cooldown: int = 0, min_lr=0, eps: float = 1e-8):
        if not factor < 1.0:
            raise ValueError(f"factor: expected a number below 1.0, got {factor!r}")
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"optimizer: expected an Optimizer, got {type(optimizer).__name__}")
        self.factor = factor
        self.optimizer = optimizer
        if isinstance(min_lr, (list, tuple)):
            self.default_min_lr = None
            self.min_lrs = _per_group("min_lr", optimizer, min_lr)
        else:
            self.default_min_lr = min_lr
            self.min_lrs = [min_lr] * len(optimizer.param_groups)
        self.patience = patience
        self.cooldown = cooldown
        self.eps = eps
        self.last_epoch = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]
        self._init_is_better(mode, threshold, threshold_mode)
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    def _init_is_better(self, mode: str, threshold: float, threshold_mode: str) -> None:
        if mode not in ("min", "max"):
            raise ValueError(f"mode: expected 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"threshold_mode: expected 'rel' or 'abs', got {threshold_mode!r}")
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self.mode, self.threshold, self.threshold_mode = mode, threshold, threshold_mode

    @property
    def in_cooldown(self) -> bool:
        """Whether bad epochs are being ignored after a reduction."""
        return self.cooldown_counter > 0

    def _is_better(self, value: float, best: float) -> bool:
        if self.mode == "min":
            return (value < best * (1.0 - self.threshold) if self.threshold_mode == "rel"
                    else value < best - self.threshold)
        return (value > best * (self.threshold + 1.0) if self.threshold_mode == "rel"
                else value > best + self.threshold)

    def step(self, metrics, epoch: int | None = None) -> None:
        """Record one evaluation of the metric (a number, 0-d array or Tensor)."""
        current = float(metrics.data if isinstance(metrics, Tensor) else metrics)
        self.last_epoch = self.last_epoch + 1 if epoch is None else epoch
        if self._is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _reduce_lr(self) -> None:
        groups = self.optimizer.param_groups
        if len(groups) != len(self.min_lrs):
            if self.default_min_lr is None:
                raise RuntimeError(f"min_lr: the optimizer has {len(groups)} param groups, "
                                   f"but {len(self.min_lrs)} min_lrs were given")
            self.min_lrs = [self.default_min_lr] * len(groups)
        for group, min_lr in zip(groups, self.min_lrs):
            old_lr = float(group["lr"])
            new_lr = max(old_lr * self.factor, min_lr)
            if old_lr - new_lr > self.eps:
                group["lr"] = new_lr

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore :meth:`state_dict`'s attributes."""
        super().load_state_dict(state_dict)
        self._init_is_better(self.mode, self.threshold, self.threshold_mode)
