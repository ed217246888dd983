"""Schedules made of phases or cycles: SequentialLR, CosineAnnealingWarmRestarts, OneCycleLR.

Part of :mod:`convnet.optim.lr_scheduler` (see there).
"""

from __future__ import annotations

import copy
import math
from bisect import bisect_right

from ..optimizer import Optimizer, check_positive_int
from .base import LRScheduler, _per_group
from .decay import CosineAnnealingLR, LinearWarmup
from .plateau import ReduceLROnPlateau


class SequentialLR(LRScheduler):
    """Run ``schedulers`` one after another, switching at the steps in ``milestones``.

    At milestone ``i`` the next scheduler restarts from its step 0 (closed form).
    Build the inner schedulers on the same optimizer first, as in PyTorch.

    Example (2 warm-up steps, then a cosine over 2 steps):
        >>> import numpy as np, convnet.nn as nn, convnet.optim as optim
        >>> opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=1.0)
        >>> warmup = optim.LinearWarmup(opt, warmup_steps=2, start_factor=0.5)
        >>> cosine = optim.CosineAnnealingLR(opt, T_max=2)
        >>> scheduler = optim.SequentialLR(opt, [warmup, cosine], milestones=[2])
        >>> rates = []
        >>> for _ in range(5):
        ...     rates.append(round(scheduler.get_last_lr()[0], 12))
        ...     scheduler.step()
        >>> rates
        [0.5, 0.75, 1.0, 0.5, 0.0]
    """

    def __init__(self, optimizer: Optimizer, schedulers: list, milestones: list[int],
                 last_epoch: int = -1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"optimizer: expected an Optimizer, got {type(optimizer).__name__}")
        schedulers, milestones = list(schedulers), list(milestones)
        if not schedulers:
            raise ValueError("schedulers: SequentialLR needs at least one scheduler")
        if any(not hasattr(scheduler, "optimizer") for scheduler in schedulers):
            raise TypeError("schedulers: expected learning-rate schedulers (with an optimizer)")
        if any(isinstance(scheduler, ReduceLROnPlateau) for scheduler in schedulers):
            raise ValueError("schedulers: SequentialLR cannot run ReduceLROnPlateau, whose "
                             "step needs a metric")
        if any(getattr(scheduler, "optimizer", None) is not optimizer for scheduler in schedulers):
            raise ValueError("schedulers: every scheduler must be built on this optimizer")
        if len(milestones) != len(schedulers) - 1 or milestones != sorted(milestones):
            raise ValueError(f"milestones: expected {len(schedulers) - 1} increasing steps "
                             f"(one fewer than schedulers), got {milestones}")
        self._schedulers = schedulers
        self._milestones = milestones
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        self._undo_initial_steps(self)
        first = self._schedulers[bisect_right(self._milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    def _undo_initial_steps(self, scheduler) -> None:
        if hasattr(scheduler, "_schedulers"):
            for inner in scheduler._schedulers:
                self._undo_initial_steps(inner)
        elif hasattr(scheduler, "last_epoch"):
            scheduler.last_epoch -= 1

    def step(self) -> None:
        """Advance one step, in whichever scheduler the step falls to."""
        self.last_epoch += 1
        index = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[index]
        if index > 0 and self._milestones[index - 1] == self.last_epoch:
            scheduler._update_lr(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self) -> dict:
        """This scheduler's attributes, with each inner scheduler's state_dict."""
        state = {key: copy.deepcopy(value) for key, value in self.__dict__.items()
                 if key not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [scheduler.state_dict() for scheduler in self._schedulers]
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        self.__dict__.update(copy.deepcopy({key: value for key, value in state_dict.items()
                                            if key != "_schedulers"}))
        for scheduler, saved in zip(self._schedulers, state_dict["_schedulers"], strict=True):
            scheduler.load_state_dict(saved)


class CosineAnnealingWarmRestarts(LRScheduler):
    r"""Cosine annealing with warm restarts (SGDR): anneal from ``initial_lr`` to
    ``eta_min`` over ``T_i`` steps, then restart, with ``T_0`` steps in the first
    cycle and each cycle ``T_mult`` times longer than the one before::

        lr = eta_min + (initial_lr - eta_min) * (1 + cos(pi * T_cur / T_i)) / 2

    ``step(epoch)`` also accepts a fractional epoch (for steps within an epoch).

    Example:
        >>> import numpy as np, convnet.nn as nn, convnet.optim as optim
        >>> opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=1.0)
        >>> scheduler = optim.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=2)
        >>> rates = []
        >>> for _ in range(7):
        ...     rates.append(round(scheduler.get_last_lr()[0], 12))
        ...     scheduler.step()
        >>> rates
        [1.0, 0.5, 1.0, 0.853553390593, 0.5, 0.146446609407, 1.0]
    """

    def __init__(self, optimizer: Optimizer, T_0: int, T_mult: int = 1, eta_min: float = 0.0,
                 last_epoch: int = -1):
        check_positive_int("T_0", T_0)
        check_positive_int("T_mult", T_mult)
        if isinstance(eta_min, bool) or not isinstance(eta_min, (float, int)):
            raise ValueError(f"eta_min: expected a number, got {eta_min!r}")
        self.T_0 = T_0
        self.T_i = T_0
        self.T_mult = T_mult
        self.eta_min = eta_min
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [self.eta_min + (base_lr - self.eta_min)
                * (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
                for base_lr in self.base_lrs]

    def step(self, epoch: float | None = None) -> None:
        """Advance one step, or jump to ``epoch`` (may be fractional, e.g. ``3 + i / n``)."""
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur = self.T_cur + 1
            if self.T_cur >= self.T_i:
                self.T_cur = self.T_cur % self.T_i
                self.T_i = self.T_i * self.T_mult
        elif epoch < 0:
            raise ValueError(f"epoch: expected a number >= 0, got {epoch!r}")
        elif epoch >= self.T_0:
            if self.T_mult == 1:
                self.T_cur = epoch % self.T_0
            else:
                cycle = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
                self.T_cur = epoch - self.T_0 * (self.T_mult ** cycle - 1) / (self.T_mult - 1)
                self.T_i = self.T_0 * self.T_mult ** cycle
        else:
            self.T_i = self.T_0
            self.T_cur = epoch
        self.last_epoch = math.floor(epoch)
        for group, lr in zip(self.optimizer.param_groups, self.get_lr(), strict=True):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]



class OneCycleLR(LRScheduler):
    """The 1cycle policy: the learning rate rises from ``max_lr / div_factor`` to ``max_lr``
    over the first ``pct_start`` of ``total_steps`` steps, then falls to
    ``initial_lr / final_div_factor``; momentum (or Adam's ``beta1``) moves the other way,
    between ``max_momentum`` and ``base_momentum``. ``three_phase`` comes back down to
    ``initial_lr`` symmetrically first, then anneals to the minimum. Step it after
    every batch; stepping past ``total_steps`` is a ValueError.

    Args:
        optimizer: the optimizer whose rates (and momentum) it sets.
        max_lr: peak learning rate, or a list of one per group.
        total_steps: length of the cycle; or give ``epochs`` and ``steps_per_epoch``.
        pct_start: fraction of the cycle spent raising the rate.
        anneal_strategy: ``'cos'`` or ``'linear'``.
        cycle_momentum: also cycle ``momentum`` (SGD, RMSprop) or ``betas[0]`` (Adam-like).
        base_momentum, max_momentum: momentum bounds (floats or one per group).
        div_factor: ``initial_lr = max_lr / div_factor``.
        final_div_factor: ``min_lr = initial_lr / final_div_factor``.
        three_phase: use the paper's three phases instead of fastai's two.
        last_epoch: index of the last batch taken; -1 (default) starts afresh.

    Example:
        >>> import numpy as np, convnet.nn as nn, convnet.optim as optim
        >>> opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=0.1, momentum=0.9)
        >>> scheduler = optim.OneCycleLR(opt, max_lr=1.0, total_steps=5, pct_start=0.4,
        ...                              anneal_strategy='linear', div_factor=4.0)
        >>> rates = [scheduler.get_last_lr()[0]]
        >>> for _ in range(4):
        ...     scheduler.step()
        ...     rates.append(round(scheduler.get_last_lr()[0], 6))
        >>> rates
        [0.25, 1.0, 0.666675, 0.33335, 2.5e-05]
        >>> round(opt.param_groups[0]['momentum'], 6)     # back up, as the rate came down
        0.95
    """

    def __init__(self, optimizer: Optimizer, max_lr, total_steps: int | None = None,
                 epochs: int | None = None, steps_per_epoch: int | None = None,
                 pct_start: float = 0.3, anneal_strategy: str = "cos",
                 cycle_momentum: bool = True, base_momentum=0.85, max_momentum=0.95,
                 div_factor: float = 25.0, final_div_factor: float = 1e4,
                 three_phase: bool = False, last_epoch: int = -1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"optimizer: expected an Optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        if total_steps is not None:
            check_positive_int("total_steps", total_steps)
            self.total_steps = total_steps
        elif epochs is not None and steps_per_epoch is not None:
            check_positive_int("epochs", epochs)
            check_positive_int("steps_per_epoch", steps_per_epoch)
            self.total_steps = epochs * steps_per_epoch
        else:
            raise ValueError("total_steps: give total_steps, or both epochs and steps_per_epoch")
        if isinstance(pct_start, bool) or not isinstance(pct_start, float) \
                or not 0 <= pct_start <= 1:
            raise ValueError(f"pct_start: expected a float in [0, 1], got {pct_start!r}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"anneal_strategy: expected 'cos' or 'linear', got "
                             f"{anneal_strategy!r}")
        self._anneal_func_type = anneal_strategy
        rise_end = float(pct_start * self.total_steps) - 1
        if three_phase:  # (end_step, start_lr, end_lr, start_momentum, end_momentum)
            phases = [(rise_end, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                      (float(2 * pct_start * self.total_steps) - 2, "max_lr", "initial_lr",
                       "base_momentum", "max_momentum"),
                      (self.total_steps - 1, "initial_lr", "min_lr", "max_momentum",
                       "max_momentum")]
        else:
            phases = [(rise_end, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                      (self.total_steps - 1, "max_lr", "min_lr", "base_momentum",
                       "max_momentum")]
        keys = ("end_step", "start_lr", "end_lr", "start_momentum", "end_momentum")
        self._schedule_phases = [dict(zip(keys, phase)) for phase in phases]
        max_lrs = _per_group("max_lr", optimizer, max_lr)
        if last_epoch == -1:
            for group, peak in zip(optimizer.param_groups, max_lrs):
                group["initial_lr"] = peak / div_factor
                group["max_lr"] = peak
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError(f"cycle_momentum: {type(optimizer).__name__} has neither "
                                 "momentum nor betas; pass cycle_momentum=False")
            self.use_beta1 = "betas" in optimizer.defaults
            max_momentums = _per_group("max_momentum", optimizer, max_momentum)
            base_momentums = _per_group("base_momentum", optimizer, base_momentum)
            if last_epoch == -1:
                for group, top, bottom in zip(optimizer.param_groups, max_momentums,
                                              base_momentums):
                    self._set_momentum(group, top)
                    group["max_momentum"] = top
                    group["base_momentum"] = bottom
        super().__init__(optimizer, last_epoch)

    def _set_momentum(self, group: dict, value: float) -> None:
        if self.use_beta1:
            group["betas"] = (value, *group["betas"][1:])
        else:
            group["momentum"] = value

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self._anneal_func_type == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self) -> list[float]:
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"step: tried to step {step} times, but total_steps is "
                             f"{self.total_steps}")
        rates = []
        for group in self.optimizer.param_groups:
            phase_start = 0.0
            for number, phase in enumerate(self._schedule_phases):
                phase_end = phase["end_step"]
                if step <= phase_end or number == len(self._schedule_phases) - 1:
                    pct = (step - phase_start) / (phase_end - phase_start)
                    rates.append(self._anneal(group[phase["start_lr"]],
                                              group[phase["end_lr"]], pct))
                    if self.cycle_momentum:
                        self._set_momentum(group, self._anneal(
                            group[phase["start_momentum"]], group[phase["end_momentum"]], pct))
                    break
                phase_start = phase_end
        return rates
