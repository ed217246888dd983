"""The scheduler base class and the schedules given by a function of the step: LambdaLR,
MultiplicativeLR.

Part of :mod:`convnet.optim.lr_scheduler` (see there).
"""

from __future__ import annotations

import copy
import types

from ..optimizer import Optimizer


class LRScheduler:
    """Base class of learning-rate schedulers (``torch.optim.lr_scheduler.LRScheduler``).

    Subclasses define ``get_lr()`` (the new rates, computed from the current ones
    and ``last_epoch``) and may define ``_get_closed_form_lr()`` (from ``base_lrs``).

    Args:
        optimizer: the :class:`~convnet.optim.Optimizer` whose rates it sets.
        last_epoch: index of the last step taken; -1 (default) starts afresh. Other
            values resume, and need ``'initial_lr'`` in every group.

    Example (the usual loop: the optimizer steps, then the scheduler):
        >>> import numpy as np, convnet.nn as nn, convnet.optim as optim
        >>> opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=1.0)
        >>> scheduler = optim.StepLR(opt, step_size=2, gamma=0.5)
        >>> rates = []
        >>> for epoch in range(5):
        ...     rates.append(scheduler.get_last_lr()[0])
        ...     opt.step()
        ...     scheduler.step()
        >>> rates
        [1.0, 1.0, 0.5, 0.5, 0.25]
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"optimizer: expected an Optimizer, got {type(optimizer).__name__}")
        if isinstance(last_epoch, bool) or not isinstance(last_epoch, int) or last_epoch < -1:
            raise ValueError(f"last_epoch: expected an integer >= -1, got {last_epoch!r}")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        elif any("initial_lr" not in group for group in optimizer.param_groups):
            raise ValueError(f"last_epoch: resuming at last_epoch={last_epoch} needs 'initial_lr' "
                             "in every param group; load the optimizer's state_dict first")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self) -> None:
        self._step_count = 0
        self._is_initial = True
        self.step()
        self._is_initial = False

    def get_lr(self) -> list[float]:
        """The rates for ``last_epoch``, from the current ones (called by ``step``)."""
        raise NotImplementedError(f"{type(self).__name__} must define get_lr()")

    def get_last_lr(self) -> list[float]:
        """The learning rate of every parameter group as last set by this scheduler."""
        return list(self._last_lr)

    def step(self) -> None:
        """Advance one step (``last_epoch += 1``) and set the groups' learning rates."""
        self._step_count += 1
        self._update_lr()

    def _update_lr(self, epoch: int | None = None) -> None:
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            self.last_epoch = epoch
            closed_form = getattr(self, "_get_closed_form_lr", None)
            values = closed_form() if closed_form is not None else self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, values, strict=True):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict:
        """Every attribute but the optimizer, as plain data (copied)."""
        return {key: copy.deepcopy(value) for key, value in self.__dict__.items()
                if key != "optimizer"}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore :meth:`state_dict`'s attributes (rates come with the optimizer's state)."""
        self.__dict__.update(copy.deepcopy(dict(state_dict)))


class _LambdaScheduler(LRScheduler):
    """Holds one factor function per group; saves only the state of callable objects."""

    def __init__(self, optimizer: Optimizer, lr_lambda, last_epoch: int = -1):
        groups = getattr(optimizer, "param_groups", [])
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != len(groups):
                raise ValueError(f"lr_lambda: expected {len(groups)} functions (one per "
                                 f"param group), got {len(lr_lambda)}")
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * len(groups)
        for function in self.lr_lambdas:
            if not callable(function):
                raise TypeError(f"lr_lambda: expected a function, got "
                                f"{type(function).__name__}")
        super().__init__(optimizer, last_epoch)

    def state_dict(self) -> dict:
        """Attributes as plain data; a function's entry in ``lr_lambdas`` is None, a
        callable object's is a copy of its ``__dict__`` (PyTorch's convention)."""
        state = {key: copy.deepcopy(value) for key, value in self.__dict__.items()
                 if key not in ("optimizer", "lr_lambdas")}
        state["lr_lambdas"] = [None if isinstance(function, types.FunctionType)
                               else copy.deepcopy(function.__dict__)
                               for function in self.lr_lambdas]
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore :meth:`state_dict`'s attributes and the callable objects' state."""
        state = copy.deepcopy(dict(state_dict))
        saved_lambdas = state.pop("lr_lambdas")
        self.__dict__.update(state)
        for function, saved in zip(self.lr_lambdas, saved_lambdas, strict=True):
            if saved is not None:
                function.__dict__.update(saved)


class LambdaLR(_LambdaScheduler):
    """Set the learning rate to ``initial_lr * lr_lambda(last_epoch)``.

    Args:
        optimizer: the optimizer whose rates it sets.
        lr_lambda: a function of the step index, or a list of them (one per group).
        last_epoch: index of the last step taken; -1 (default) starts afresh.

    Example:
        >>> import numpy as np, convnet.nn as nn, convnet.optim as optim
        >>> opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=1.0)
        >>> scheduler = optim.LambdaLR(opt, lambda epoch: 1 / (epoch + 1))
        >>> rates = []
        >>> for _ in range(4):
        ...     rates.append(scheduler.get_last_lr()[0])
        ...     scheduler.step()
        >>> rates
        [1.0, 0.5, 0.3333333333333333, 0.25]
    """

    def get_lr(self) -> list[float]:
        return [base_lr * function(self.last_epoch)
                for function, base_lr in zip(self.lr_lambdas, self.base_lrs, strict=True)]


class MultiplicativeLR(_LambdaScheduler):
    """Multiply the learning rate by ``lr_lambda(last_epoch)`` at every step.

    Args:
        optimizer: the optimizer whose rates it sets.
        lr_lambda: a function of the step index, or a list of them (one per group).
        last_epoch: index of the last step taken; -1 (default) starts afresh.

    Example:
        >>> import numpy as np, convnet.nn as nn, convnet.optim as optim
        >>> opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=1.0)
        >>> scheduler = optim.MultiplicativeLR(opt, lambda epoch: 0.5)
        >>> for _ in range(3):
        ...     scheduler.step()
        >>> scheduler.get_last_lr()
        [0.125]
    """

    def get_lr(self) -> list[float]:
        groups = self.optimizer.param_groups
        if self._is_initial:
            return [group["lr"] for group in groups]
        return [group["lr"] * function(self.last_epoch)
                for function, group in zip(self.lr_lambdas, groups, strict=True)]


def _per_group(name: str, optimizer: Optimizer, value) -> list:
    """``value`` for each param group: a list of one per group, or one value for all."""
    if isinstance(value, (list, tuple)):
        if len(value) != len(optimizer.param_groups):
            raise ValueError(f"{name}: expected {len(optimizer.param_groups)} values (one per "
                             f"param group), got {len(value)}")
        return list(value)
    return [value] * len(optimizer.param_groups)
