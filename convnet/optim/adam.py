"""Adam and AdamW, computed in PyTorch's order of operations (its single-tensor path); one
compiled pass per parameter where the arrays allow (:mod:`.adam_kernel`)."""

from __future__ import annotations

from typing import Callable

import numpy as np

from . import adam_kernel
from ._moments import lerp_
from .optimizer import Optimizer, check_nonnegative


class Adam(Optimizer):
    """Adam (``torch.optim.Adam``): steps scaled by running moments of the gradient.

    For each parameter ``w`` with gradient ``g``, at step ``t = 1, 2, ...``::

        g     = g + weight_decay * w                  (L2 penalty; AdamW decays w instead)
        m     = m + (1 - beta1) * (g - m)             (= beta1 * m + (1 - beta1) * g)
        v     = beta2 * v + (1 - beta2) * g * g
        v_max = max(v_max, v)                         (amsgrad only; then v_max replaces v)
        denom = sqrt(v) / sqrt(1 - beta2**t) + eps
        w     = w - lr / (1 - beta1**t) * (m / denom)

    with ``m = v = v_max = 0`` before the first step. Parameters whose ``.grad`` is
    None are skipped (their step count does not advance).

    Args:
        params: Parameters (``model.parameters()``) or a list of parameter-group dicts.
        lr: learning rate (>= 0).
        betas: decay rates ``(beta1, beta2)`` of the moment averages, each in [0, 1).
        eps: added to the denominator for stability (>= 0).
        weight_decay: L2 penalty added to the gradient (>= 0).
        amsgrad: normalise by the largest second moment seen so far.

    Example:
        >>> import numpy as np
        >>> from convnet.nn import Parameter
        >>> from convnet.optim import Adam
        >>> w = Parameter(np.array([1.0, -2.0]))
        >>> opt = Adam([w], lr=0.1)
        >>> w.grad = np.array([3.0, -0.5])
        >>> opt.step()
        >>> np.round(w.data, 6)     # the first step moves each weight by about lr
        array([ 0.9, -1.9])
    """

    _decoupled = False

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, amsgrad: bool = False):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad)
        super().__init__(params, defaults)

    def _check_options(self, options: dict) -> None:
        for name in ("lr", "eps", "weight_decay"):
            if name in options:
                check_nonnegative(name, options[name])
        if "betas" in options:
            betas = options["betas"]
            if not isinstance(betas, (tuple, list)) or len(betas) != 2:
                raise ValueError(f"betas: expected a pair (beta1, beta2), got {betas!r}")
            for number, beta in enumerate(betas):
                check_nonnegative("betas", beta)
                if not beta < 1:
                    raise ValueError(f"betas: beta{number + 1} must be in [0, 1), got {beta!r}")

    def step(self, closure: Callable | None = None):
        """Perform one update of every parameter that has a gradient.

        Args:
            closure: optional callable that re-evaluates the model and returns the loss.

        Returns:
            The closure's loss, or None.
        """
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            lr, eps, weight_decay = group["lr"], group["eps"], group["weight_decay"]
            beta1, beta2 = group["betas"]
            for param, grad in self._gradients(group):
                weights = param.data
                state = self.state.setdefault(param, {})
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = np.zeros_like(weights)
                    state["exp_avg_sq"] = np.zeros_like(weights)
                state["step"] += 1
                step = state["step"]
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                if not group["amsgrad"] and adam_kernel.update(
                        weights, grad, exp_avg, exp_avg_sq, lr=lr, beta1=beta1, beta2=beta2,
                        eps=eps, step=step, weight_decay=weight_decay,
                        decoupled=self._decoupled):
                    continue             # one compiled pass, the same numbers as below
                if weight_decay != 0:
                    if self._decoupled:
                        weights *= 1 - lr * weight_decay
                    else:
                        grad = grad + weight_decay * weights
                lerp_(exp_avg, grad, 1 - beta1)
                exp_avg_sq *= beta2
                exp_avg_sq += (1 - beta2) * grad * grad
                bias_correction1 = 1 - beta1 ** step
                bias_correction2 = 1 - beta2 ** step
                step_size = lr / bias_correction1
                if group["amsgrad"]:
                    state.setdefault("max_exp_avg_sq", np.zeros_like(weights))
                    np.maximum(state["max_exp_avg_sq"], exp_avg_sq, out=state["max_exp_avg_sq"])
                    second_moment = state["max_exp_avg_sq"]
                else:
                    second_moment = exp_avg_sq
                denom = np.sqrt(second_moment) / bias_correction2 ** 0.5 + eps
                weights += -step_size * (exp_avg / denom)
        return loss


class AdamW(Adam):
    """AdamW (``torch.optim.AdamW``): Adam with decoupled weight decay.

    The same update as :class:`Adam`, except that instead of adding
    ``weight_decay * w`` to the gradient, each step first shrinks the weights::

        w = w * (1 - lr * weight_decay)

    and then applies Adam's step computed from the plain gradient.

    Args:
        params: Parameters (``model.parameters()``) or a list of parameter-group dicts.
        lr: learning rate (>= 0).
        betas: decay rates ``(beta1, beta2)`` of the moment averages, each in [0, 1).
        eps: added to the denominator for stability (>= 0).
        weight_decay: decoupled decay rate (>= 0), default 1e-2.
        amsgrad: normalise by the largest second moment seen so far.

    Example:
        >>> import numpy as np
        >>> from convnet.nn import Parameter
        >>> from convnet.optim import AdamW
        >>> w = Parameter(np.array([1.0, -2.0]))
        >>> opt = AdamW([w], lr=0.1, weight_decay=0.5)
        >>> w.grad = np.zeros(2)    # no gradient: only the decay acts
        >>> opt.step()
        >>> w.data
        array([ 0.95, -1.9 ])
    """

    _decoupled = True

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad)
