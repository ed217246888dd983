"""Schedules that decay the rate by a rule of the step: StepLR, MultiStepLR, ConstantLR,
LinearLR (and LinearWarmup), ExponentialLR, PolynomialLR, CosineAnnealingLR.

Part of :mod:`convnet.optim.lr_scheduler` (see there).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import Counter

from ..optimizer import Optimizer, check_factor, check_nonnegative, check_positive_int
from .base import LRScheduler


class StepLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every ``step_size`` steps.

    ``lr = initial_lr * gamma ** (last_epoch // step_size)`` (computed recursively,
    as PyTorch: the current rate times ``gamma`` at each multiple of ``step_size``).

    Example:
        >>> import numpy as np, convnet.nn as nn, convnet.optim as optim
        >>> opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=0.1)
        >>> scheduler = optim.StepLR(opt, step_size=3)
        >>> for _ in range(3):
        ...     scheduler.step()
        >>> scheduler.get_last_lr()
        [0.010000000000000002]
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1):
        check_positive_int("step_size", step_size)
        check_nonnegative("gamma", gamma)
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return [group["lr"] for group in self.optimizer.param_groups]
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list[float]:
        return [base_lr * self.gamma ** (self.last_epoch // self.step_size)
                for base_lr in self.base_lrs]


class MultiStepLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` at each step listed in ``milestones``.

    ``lr = initial_lr * gamma ** (number of milestones <= last_epoch)``; a milestone
    listed twice multiplies by ``gamma`` twice.

    Example:
        >>> import numpy as np, convnet.nn as nn, convnet.optim as optim
        >>> opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=1.0)
        >>> scheduler = optim.MultiStepLR(opt, milestones=[1, 3], gamma=0.5)
        >>> rates = []
        >>> for _ in range(5):
        ...     rates.append(scheduler.get_last_lr()[0])
        ...     scheduler.step()
        >>> rates
        [1.0, 0.5, 0.5, 0.25, 0.25]
    """

    def __init__(self, optimizer: Optimizer, milestones, gamma: float = 0.1,
                 last_epoch: int = -1):
        self.milestones = Counter(milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups = self.optimizer.param_groups
        if self.last_epoch not in self.milestones:
            return [group["lr"] for group in groups]
        return [group["lr"] * self.gamma ** self.milestones[self.last_epoch] for group in groups]

    def _get_closed_form_lr(self) -> list[float]:
        milestones = sorted(self.milestones.elements())
        return [base_lr * self.gamma ** bisect_right(milestones, self.last_epoch)
                for base_lr in self.base_lrs]


class ConstantLR(LRScheduler):
    """Multiply the learning rate by ``factor`` for the first ``total_iters`` steps.

    Example:
        >>> import numpy as np, convnet.nn as nn, convnet.optim as optim
        >>> opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=1.0)
        >>> scheduler = optim.ConstantLR(opt, factor=0.5, total_iters=2)
        >>> rates = []
        >>> for _ in range(4):
        ...     rates.append(scheduler.get_last_lr()[0])
        ...     scheduler.step()
        >>> rates
        [0.5, 0.5, 1.0, 1.0]
    """

    def __init__(self, optimizer: Optimizer, factor: float = 1.0 / 3, total_iters: int = 5,
                 last_epoch: int = -1):
        check_nonnegative("factor", factor)
        if factor > 1.0:
            raise ValueError(f"factor: expected a number in [0, 1], got {factor!r}")
        self.factor = factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups = self.optimizer.param_groups
        if self.last_epoch == 0:
            return [group["lr"] * self.factor for group in groups]
        if self.last_epoch != self.total_iters:
            return [group["lr"] for group in groups]
        return [group["lr"] * (1.0 / self.factor) for group in groups]

    def _get_closed_form_lr(self) -> list[float]:
        return [base_lr * (self.factor + (self.last_epoch >= self.total_iters)
                           * (1 - self.factor)) for base_lr in self.base_lrs]


class LinearLR(LRScheduler):
    """Change the learning-rate factor linearly from ``start_factor`` to ``end_factor``
    over ``total_iters`` steps, then keep it (computed recursively, as PyTorch)::

        lr = initial_lr * (start_factor + (end_factor - start_factor)
                           * min(last_epoch, total_iters) / total_iters)

    Example:
        >>> import numpy as np, convnet.nn as nn, convnet.optim as optim
        >>> opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=1.0)
        >>> scheduler = optim.LinearLR(opt, start_factor=0.5, total_iters=2)
        >>> rates = []
        >>> for _ in range(4):
        ...     rates.append(scheduler.get_last_lr()[0])
        ...     scheduler.step()
        >>> rates
        [0.5, 0.75, 1.0, 1.0]
    """

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3,
                 end_factor: float = 1.0, total_iters: int = 5, last_epoch: int = -1):
        check_factor("start_factor", start_factor)
        check_nonnegative("end_factor", end_factor)
        if end_factor > 1.0:
            raise ValueError(f"end_factor: expected a number in [0, 1], got {end_factor!r}")
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups = self.optimizer.param_groups
        if self.last_epoch == 0:
            return [group["lr"] * self.start_factor for group in groups]
        if self._is_initial or self.last_epoch > self.total_iters:
            return [group["lr"] for group in groups]
        change = self.end_factor - self.start_factor
        factor = 1.0 + change / (self.total_iters * self.start_factor
                                 + (self.last_epoch - 1) * change)
        return [group["lr"] * factor for group in groups]

    def _get_closed_form_lr(self) -> list[float]:
        return [base_lr * (self.start_factor + (self.end_factor - self.start_factor)
                           * min(self.total_iters, self.last_epoch) / self.total_iters)
                for base_lr in self.base_lrs]


class LinearWarmup(LinearLR):
    """Warm the learning rate up linearly from ``start_factor * lr`` to ``lr`` over
    ``warmup_steps`` steps, then keep it: PyTorch's ``LinearLR(optimizer, start_factor,
    end_factor=1.0, total_iters=warmup_steps)``::

        lr = initial_lr * (start_factor + (1 - start_factor) * min(last_epoch, warmup_steps)
                           / warmup_steps)

    Example:
        >>> import numpy as np, convnet.nn as nn, convnet.optim as optim
        >>> opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=0.4)
        >>> scheduler = optim.LinearWarmup(opt, warmup_steps=3, start_factor=0.25)
        >>> rates = []
        >>> for _ in range(5):
        ...     rates.append(round(scheduler.get_last_lr()[0], 12))
        ...     scheduler.step()
        >>> rates
        [0.1, 0.2, 0.3, 0.4, 0.4]
    """

    def __init__(self, optimizer: Optimizer, warmup_steps: int, start_factor: float = 1.0 / 3,
                 last_epoch: int = -1):
        check_positive_int("warmup_steps", warmup_steps)
        self.warmup_steps = warmup_steps
        super().__init__(optimizer, start_factor=start_factor, end_factor=1.0,
                         total_iters=warmup_steps, last_epoch=last_epoch)


class ExponentialLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` at every step: ``initial_lr * gamma**last_epoch``.

    Example:
        >>> import numpy as np, convnet.nn as nn, convnet.optim as optim
        >>> opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=1.0)
        >>> scheduler = optim.ExponentialLR(opt, gamma=0.5)
        >>> scheduler.step(); scheduler.step()
        >>> scheduler.get_last_lr()
        [0.25]
    """

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1):
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups = self.optimizer.param_groups
        if self._is_initial:
            return [group["lr"] for group in groups]
        return [group["lr"] * self.gamma for group in groups]

    def _get_closed_form_lr(self) -> list[float]:
        return [base_lr * self.gamma ** self.last_epoch for base_lr in self.base_lrs]


class PolynomialLR(LRScheduler):
    """Decay the learning rate to 0 over ``total_iters`` steps along a polynomial::

        lr = initial_lr * (1 - min(last_epoch, total_iters) / total_iters) ** power

    Example:
        >>> import numpy as np, convnet.nn as nn, convnet.optim as optim
        >>> opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=1.0)
        >>> scheduler = optim.PolynomialLR(opt, total_iters=4, power=2.0)
        >>> rates = []
        >>> for _ in range(5):
        ...     rates.append(scheduler.get_last_lr()[0])
        ...     scheduler.step()
        >>> rates
        [1.0, 0.5625, 0.25, 0.0625, 0.0]
    """

    def __init__(self, optimizer: Optimizer, total_iters: int = 5, power: float = 1.0,
                 last_epoch: int = -1):
        self.total_iters = total_iters
        self.power = power
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups = self.optimizer.param_groups
        if self._is_initial or self.last_epoch > self.total_iters:
            return [group["lr"] for group in groups]
        decay = ((1.0 - self.last_epoch / self.total_iters)
                 / (1.0 - (self.last_epoch - 1) / self.total_iters)) ** self.power
        return [group["lr"] * decay for group in groups]

    def _get_closed_form_lr(self) -> list[float]:
        return [base_lr * (1.0 - min(self.total_iters, self.last_epoch) / self.total_iters)
                ** self.power for base_lr in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    r"""Anneal the learning rate along a cosine from ``initial_lr`` to ``eta_min``
    over ``T_max`` steps (and back up over the next ``T_max``, periodically).

    ``lr = eta_min + (initial_lr - eta_min) * (1 + cos(pi * last_epoch / T_max)) / 2``,
    computed with PyTorch's recursive form so the values agree with PyTorch's.

    Example:
        >>> import numpy as np, convnet.nn as nn, convnet.optim as optim
        >>> opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=1.0)
        >>> scheduler = optim.CosineAnnealingLR(opt, T_max=2)
        >>> rates = []
        >>> for _ in range(5):
        ...     rates.append(round(scheduler.get_last_lr()[0], 12))
        ...     scheduler.step()
        >>> rates
        [1.0, 0.5, 0.0, 0.5, 1.0]
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0,
                 last_epoch: int = -1):
        check_positive_int("T_max", T_max)
        check_nonnegative("eta_min", eta_min)
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups = self.optimizer.param_groups
        if self._is_initial:
            return [group["lr"] for group in groups]
        if self._step_count == 1 and self.last_epoch > 0:
            return [self.eta_min + (base_lr - self.eta_min)
                    * (1 + math.cos(self.last_epoch * math.pi / self.T_max)) / 2
                    for base_lr in self.base_lrs]
        if (self.last_epoch - 1 - self.T_max) % (2 * self.T_max) == 0:
            return [group["lr"] + (base_lr - self.eta_min)
                    * (1 - math.cos(math.pi / self.T_max)) / 2
                    for base_lr, group in zip(self.base_lrs, groups)]
        return [(1 + math.cos(math.pi * self.last_epoch / self.T_max))
                / (1 + math.cos(math.pi * (self.last_epoch - 1) / self.T_max))
                * (group["lr"] - self.eta_min) + self.eta_min
                for group in groups]

    def _get_closed_form_lr(self) -> list[float]:
        return [self.eta_min + (base_lr - self.eta_min)
                * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for base_lr in self.base_lrs]
