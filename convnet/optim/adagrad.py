"""Adagrad and Adadelta, computed in PyTorch's order of operations (its single-tensor path)."""

from __future__ import annotations

from typing import Callable

import numpy as np

from ._moments import check_options
from .optimizer import Optimizer


class Adagrad(Optimizer):
    """Adagrad (``torch.optim.Adagrad``): steps divided by the root of all past squared gradients.

    For each parameter ``w`` with gradient ``g``, at step ``t = 1, 2, ...``::

        g   = g + weight_decay * w
        lr  = lr / (1 + (t - 1) * lr_decay)
        sum = sum + g * g
        w   = w - lr * g / (sqrt(sum) + eps)

    with ``sum = initial_accumulator_value`` before the first step. As in PyTorch, the
    state of every parameter exists from construction, and ``initial_accumulator_value``
    is the constructor's (a parameter group's own value is not used).

    Args:
        params: Parameters (``model.parameters()``) or a list of parameter-group dicts.
        lr: learning rate (>= 0).
        lr_decay: learning-rate decay per step (>= 0).
        weight_decay: L2 penalty added to the gradient (>= 0).
        initial_accumulator_value: starting value of the sum of squares (>= 0).
        eps: added to the denominator for stability (>= 0).

    Example:
        >>> import numpy as np
        >>> from convnet.nn import Parameter
        >>> from convnet.optim import Adagrad
        >>> w = Parameter(np.array([1.0, -2.0]))
        >>> opt = Adagrad([w], lr=0.1)
        >>> w.grad = np.array([3.0, -0.5])
        >>> opt.step()
        >>> np.round(w.data, 6)     # the first step moves each weight by lr
        array([ 0.9, -1.9])
    """

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10):
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for param in group["params"]:
                self._init_state(param)

    def _check_options(self, options: dict) -> None:
        check_options(options, ("lr", "lr_decay", "weight_decay", "initial_accumulator_value",
                                "eps"))

    def _init_state(self, param) -> dict:
        state = self.state.setdefault(param, {})
        if not state:
            state["step"] = 0
            state["sum"] = np.full_like(param.data, self.defaults["initial_accumulator_value"])
        return state

    def step(self, closure: Callable | None = None):
        """Perform one update of every parameter that has a gradient.

        Args:
            closure: optional callable that re-evaluates the model and returns the loss.

        Returns:
            The closure's loss, or None.
        """
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            lr, lr_decay = group["lr"], group["lr_decay"]
            eps, weight_decay = group["eps"], group["weight_decay"]
            for param, grad in self._gradients(group):
                weights = param.data
                state = self._init_state(param)
                state["step"] += 1
                if weight_decay != 0:
                    grad = grad + weight_decay * weights
                step_lr = lr / (1 + (state["step"] - 1) * lr_decay)
                state["sum"] += grad * grad
                std = np.sqrt(state["sum"])
                std += eps
                weights += -step_lr * grad / std
        return loss


class Adadelta(Optimizer):
    """Adadelta (``torch.optim.Adadelta``): steps scaled by running RMS of past steps and gradients.

    For each parameter ``w`` with gradient ``g``::

        g     = g + weight_decay * w
        v     = rho * v + (1 - rho) * g * g
        delta = sqrt(u + eps) / sqrt(v + eps) * g
        u     = rho * u + (1 - rho) * delta * delta
        w     = w - lr * delta

    with ``v = u = 0`` before the first step. Parameters whose ``.grad`` is None are
    skipped.

    Args:
        params: Parameters (``model.parameters()``) or a list of parameter-group dicts.
        lr: scale of the step (>= 0), default 1.0.
        rho: decay rate of both running averages, in [0, 1].
        eps: added inside the square roots (>= 0).
        weight_decay: L2 penalty added to the gradient (>= 0).

    Example:
        >>> import numpy as np
        >>> from convnet.nn import Parameter
        >>> from convnet.optim import Adadelta
        >>> w = Parameter(np.array([1.0, -2.0]))
        >>> opt = Adadelta([w], eps=1e-2)
        >>> w.grad = np.array([0.0, 1.0])
        >>> opt.step()      # delta = sqrt(0.01) / sqrt(0.1 + 0.01) * g
        >>> np.round(w.data, 4)
        array([ 1.    , -2.3015])
    """

    def __init__(self, params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0):
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay)
        super().__init__(params, defaults)

    def _check_options(self, options: dict) -> None:
        check_options(options, ("lr", "rho", "eps", "weight_decay"))
        if "rho" in options and not options["rho"] <= 1:
            raise ValueError(f"rho: expected a number in [0, 1], got {options['rho']!r}")

    def step(self, closure: Callable | None = None):
        """Perform one update of every parameter that has a gradient.

        Args:
            closure: optional callable that re-evaluates the model and returns the loss.

        Returns:
            The closure's loss, or None.
        """
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            lr, rho = group["lr"], group["rho"]
            eps, weight_decay = group["eps"], group["weight_decay"]
            for param, grad in self._gradients(group):
                weights = param.data
                state = self.state.setdefault(param, {})
                if not state:
                    state["step"] = 0
                    state["square_avg"] = np.zeros_like(weights)
                    state["acc_delta"] = np.zeros_like(weights)
                state["step"] += 1
                if weight_decay != 0:
                    grad = grad + weight_decay * weights
                square_avg, acc_delta = state["square_avg"], state["acc_delta"]
                square_avg *= rho
                square_avg += (1 - rho) * grad * grad
                std = np.sqrt(square_avg + eps)
                delta = np.sqrt(acc_delta + eps)
                delta /= std
                delta *= grad
                acc_delta *= rho
                acc_delta += (1 - rho) * delta * delta
                weights += -lr * delta
        return loss
