"""RMSprop, computed in PyTorch's order of operations (its single-tensor path)."""

from __future__ import annotations

from typing import Callable

import numpy as np

from ._moments import check_options, lerp_
from .optimizer import Optimizer


class RMSprop(Optimizer):
    """RMSprop (``torch.optim.RMSprop``): steps divided by a running RMS of the gradient.

    For each parameter ``w`` with gradient ``g``::

        g     = g + weight_decay * w
        v     = alpha * v + (1 - alpha) * g * g
        avg   = sqrt(v) + eps                                (plain)
        m     = m + (1 - alpha) * (g - m)                    (centered only)
        avg   = sqrt(v - m * m) + eps                        (centered: a variance)
        buf   = momentum * buf + g / avg;  w = w - lr * buf  (momentum > 0)
        w     = w - lr * g / avg                             (momentum = 0)

    with ``v = m = buf = 0`` before the first step. Parameters whose ``.grad`` is
    None are skipped.

    Args:
        params: Parameters (``model.parameters()``) or a list of parameter-group dicts.
        lr: learning rate (>= 0).
        alpha: smoothing constant of the squared-gradient average (>= 0).
        eps: added to the denominator for stability (>= 0).
        weight_decay: L2 penalty added to the gradient (>= 0).
        momentum: momentum factor (>= 0).
        centered: normalise by an estimate of the gradient's variance instead.

    Example:
        >>> import numpy as np
        >>> from convnet.nn import Parameter
        >>> from convnet.optim import RMSprop
        >>> w = Parameter(np.array([1.0, -2.0]))
        >>> opt = RMSprop([w], lr=0.01)
        >>> w.grad = np.array([3.0, -0.5])
        >>> opt.step()
        >>> np.round(w.data, 6)     # the first step moves each weight by lr / sqrt(1 - alpha)
        array([ 0.9, -1.9])
    """

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False):
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                        momentum=momentum, centered=centered)
        super().__init__(params, defaults)

    def _check_options(self, options: dict) -> None:
        check_options(options, ("lr", "alpha", "eps", "weight_decay", "momentum"))

    def step(self, closure: Callable | None = None):
        """Perform one update of every parameter that has a gradient.

        Args:
            closure: optional callable that re-evaluates the model and returns the loss.

        Returns:
            The closure's loss, or None.
        """
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
            weight_decay, momentum = group["weight_decay"], group["momentum"]
            for param, grad in self._gradients(group):
                weights = param.data
                state = self.state.setdefault(param, {})
                if not state:
                    state["step"] = 0
                    state["square_avg"] = np.zeros_like(weights)
                    if momentum > 0:
                        state["momentum_buffer"] = np.zeros_like(weights)
                    if group["centered"]:
                        state["grad_avg"] = np.zeros_like(weights)
                state["step"] += 1
                if weight_decay != 0:
                    grad = grad + weight_decay * weights
                square_avg = state["square_avg"]
                square_avg *= alpha
                square_avg += (1 - alpha) * grad * grad
                if group["centered"]:
                    grad_avg = state.setdefault("grad_avg", np.zeros_like(weights))
                    lerp_(grad_avg, grad, 1 - alpha)
                    avg = np.sqrt(square_avg - grad_avg * grad_avg)
                else:
                    avg = np.sqrt(square_avg)
                avg += eps
                if momentum > 0:
                    buffer = state.setdefault("momentum_buffer", np.zeros_like(weights))
                    buffer *= momentum
                    buffer += grad / avg
                    weights += -lr * buffer
                else:
                    weights += -lr * grad / avg
        return loss
