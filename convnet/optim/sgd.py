"""Stochastic gradient descent with momentum, dampening, weight decay and Nesterov momentum."""

from __future__ import annotations

from typing import Callable

import numpy as np

from .optimizer import Optimizer, check_nonnegative


class SGD(Optimizer):
    r"""Stochastic gradient descent (``torch.optim.SGD``), the notes' update (seed 000).

    For each parameter ``w`` with gradient ``g = dL/dw``, at step ``t``::

        delta_t = g + weight_decay * w + momentum * delta_{t-1}
        w       = w - lr * delta_t

    with ``delta_0 = 0``, which is the notes' "SGD with momentum and decay"
    (:math:`\Delta_t = \frac{dL}{df} + \lambda f + m \Delta_{t-1},\ f = f - \eta \Delta_t`)
    and PyTorch's SGD with ``dampening=0``. In general, as PyTorch::

        d     = g + weight_decay * w
        buf   = d                                  (first step)
        buf   = momentum * buf + (1 - dampening) * d   (later steps)
        d     = d + momentum * buf  if nesterov else buf
        w     = w - lr * d

    Parameters whose ``.grad`` is None are skipped. Give biases their own group with
    ``weight_decay=0`` to exempt them from decay, as the notes' framework does.

    Args:
        params: Parameters (``model.parameters()``) or a list of parameter-group dicts.
        lr: learning rate ``eta`` (>= 0).
        momentum: ``m`` (>= 0); 0 means plain gradient descent.
        dampening: scales the new gradient in the momentum buffer by ``1 - dampening``.
        weight_decay: L2 penalty ``lambda`` (>= 0).
        nesterov: use Nesterov momentum (needs momentum > 0 and dampening 0).

    Example:
        >>> import numpy as np
        >>> from convnet.nn import Parameter
        >>> from convnet.optim import SGD
        >>> w = Parameter(np.array([1.0, -2.0]))
        >>> opt = SGD([w], lr=0.1, momentum=0.9)
        >>> for _ in range(2):
        ...     w.grad = np.array([1.0, 1.0])
        ...     opt.step()
        >>> w.data    # delta_1 = 1, delta_2 = 1 + 0.9 * 1: w - 0.1 * (1 + 1.9)
        array([ 0.71, -2.29])
    """

    def __init__(self, params, lr: float, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov)
        super().__init__(params, defaults)

    def _check_options(self, options: dict) -> None:
        for name in ("lr", "momentum", "dampening", "weight_decay"):
            if name in options:
                check_nonnegative(name, options[name])
        if options.get("nesterov") and (options.get("momentum", 0) <= 0
                                        or options.get("dampening", 0) != 0):
            raise ValueError(f"nesterov: Nesterov momentum requires momentum > 0 and "
                             f"dampening = 0, got momentum={options.get('momentum', 0)!r}, "
                             f"dampening={options.get('dampening', 0)!r}")

    def step(self, closure: Callable | None = None):
        """Perform one update of every parameter that has a gradient.

        Args:
            closure: optional callable that re-evaluates the model and returns the loss.

        Returns:
            The closure's loss, or None.
        """
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            lr, momentum = group["lr"], group["momentum"]
            dampening, weight_decay = group["dampening"], group["weight_decay"]
            for param, grad in self._gradients(group):
                weights = param.data
                if weight_decay != 0:
                    grad = grad + weight_decay * weights
                if momentum != 0:
                    state = self.state.setdefault(param, {})
                    buffer = state.get("momentum_buffer")
                    if buffer is None:
                        buffer = state["momentum_buffer"] = np.array(grad, copy=True)
                    else:
                        buffer *= momentum
                        buffer += (1 - dampening) * grad if dampening != 0 else grad
                    grad = grad + momentum * buffer if group["nesterov"] else buffer
                weights -= lr * grad
        return loss
