"""NAdam, RAdam and Adamax, computed in PyTorch's order of operations (its single-tensor path).

Each keeps Adam's first moment ``m = beta1 * m + (1 - beta1) * g``; they differ in
the second moment and in how the step is formed from the two.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from ._moments import check_options, lerp_
from .optimizer import Optimizer


class _AdamVariant(Optimizer):
    """Adam-like optimizer: validates lr, eps, weight_decay and betas; keeps ``step``."""

    _nonnegative = ("lr", "eps", "weight_decay")

    def _check_options(self, options: dict) -> None:
        check_options(options, self._nonnegative)

    def step(self, closure: Callable | None = None):
        """Perform one update of every parameter that has a gradient.

        Args:
            closure: optional callable that re-evaluates the model and returns the loss.

        Returns:
            The closure's loss, or None.
        """
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            for param, grad in self._gradients(group):
                state = self.state.setdefault(param, {})
                if not state:
                    state.update(self._new_state(param.data))
                state["step"] += 1
                weight_decay = group["weight_decay"]
                if weight_decay != 0:
                    if group.get("decoupled_weight_decay", False):
                        param.data *= 1 - group["lr"] * weight_decay
                    else:
                        grad = grad + weight_decay * param.data
                beta1 = group["betas"][0]
                lerp_(state["exp_avg"], grad, 1 - beta1)
                self._update(param.data, grad, state, group)
        return loss

    def _new_state(self, weights: np.ndarray) -> dict:
        return {"step": 0, "exp_avg": np.zeros_like(weights),
                "exp_avg_sq": np.zeros_like(weights)}

    def _update(self, weights, grad, state, group) -> None:
        raise NotImplementedError


class NAdam(_AdamVariant):
    """NAdam (``torch.optim.NAdam``): Adam with Nesterov momentum and a momentum schedule.

    At step ``t``, with ``mu_t = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))``
    and ``prod_t = mu_1 * ... * mu_t``::

        m     = beta1 * m + (1 - beta1) * g
        v     = beta2 * v + (1 - beta2) * g * g
        denom = sqrt(v / (1 - beta2**t)) + eps
        w     = w - lr * (1 - mu_t) / (1 - prod_t) * g / denom
                  - lr * mu_{t+1} / (1 - prod_t * mu_{t+1}) * m / denom

    ``weight_decay`` is an L2 term added to ``g``, or with ``decoupled_weight_decay``
    a shrink ``w = w * (1 - lr * weight_decay)`` before the step (NAdamW). As in
    PyTorch (default dtype float32), ``prod_t`` is kept in float32.

    Args:
        params: Parameters (``model.parameters()``) or a list of parameter-group dicts.
        lr: learning rate (>= 0).
        betas: decay rates ``(beta1, beta2)`` of the moment averages, each in [0, 1).
        eps: added to the denominator for stability (>= 0).
        weight_decay: weight decay (>= 0).
        momentum_decay: rate of the momentum schedule (>= 0).
        decoupled_weight_decay: decay the weights directly, as AdamW does.

    Example:
        >>> import numpy as np
        >>> from convnet.nn import Parameter
        >>> from convnet.optim import NAdam
        >>> w = Parameter(np.array([1.0, -2.0]))
        >>> opt = NAdam([w], lr=0.1)
        >>> w.grad = np.array([3.0, -0.5])
        >>> opt.step()
        >>> np.round(w.data, 4)
        array([ 0.8944, -1.8944])
    """

    _nonnegative = ("lr", "eps", "weight_decay", "momentum_decay")

    def __init__(self, params, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _new_state(self, weights: np.ndarray) -> dict:
        return {"step": 0, "mu_product": 1.0, **super()._new_state(weights)}

    def _update(self, weights, grad, state, group) -> None:
        lr, eps, momentum_decay = group["lr"], group["eps"], group["momentum_decay"]
        beta1, beta2 = group["betas"]
        step = state["step"]
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * momentum_decay))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * momentum_decay))
        # torch holds the product in a float32 scalar tensor and multiplies in float32
        mu_product = float(np.float32(state["mu_product"]) * np.float32(mu))
        state["mu_product"] = mu_product
        exp_avg_sq = state["exp_avg_sq"]
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * grad * grad
        denom = np.sqrt(exp_avg_sq / (1 - beta2 ** step))
        denom += eps
        weights += (-lr * (1.0 - mu) / (1.0 - mu_product)) * grad / denom
        weights += ((-lr * mu_next) / (1.0 - mu_product * mu_next)) * state["exp_avg"] / denom


class RAdam(_AdamVariant):
    """RAdam (``torch.optim.RAdam``): Adam whose adaptive step is switched on as the
    variance of its second-moment estimate becomes tractable.

    At step ``t``, with ``rho_inf = 2 / (1 - beta2) - 1`` and
    ``rho_t = rho_inf - 2 t beta2**t / (1 - beta2**t)``::

        m     = beta1 * m + (1 - beta1) * g;   v = beta2 * v + (1 - beta2) * g * g
        m_hat = m / (1 - beta1**t)
        w     = w - lr * m_hat                                          (rho_t <= 5)
        r     = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
        w     = w - lr * m_hat * sqrt(1 - beta2**t) / (sqrt(v) + eps) * r   (rho_t > 5)

    ``weight_decay`` is an L2 term added to ``g``, or with ``decoupled_weight_decay``
    a shrink ``w = w * (1 - lr * weight_decay)`` before the step.

    Args:
        params: Parameters (``model.parameters()``) or a list of parameter-group dicts.
        lr: learning rate (>= 0).
        betas: decay rates ``(beta1, beta2)`` of the moment averages, each in [0, 1).
        eps: added to the denominator for stability (>= 0).
        weight_decay: weight decay (>= 0).
        decoupled_weight_decay: decay the weights directly, as AdamW does.

    Example:
        >>> import numpy as np
        >>> from convnet.nn import Parameter
        >>> from convnet.optim import RAdam
        >>> w = Parameter(np.array([1.0, -2.0]))
        >>> opt = RAdam([w], lr=0.1)
        >>> w.grad = np.array([3.0, -0.5])
        >>> opt.step()      # early steps are plain momentum: w - lr * g
        >>> np.round(w.data, 6)
        array([ 0.7 , -1.95])
    """

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, decoupled_weight_decay: bool = False):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _update(self, weights, grad, state, group) -> None:
        lr, eps = group["lr"], group["eps"]
        beta1, beta2 = group["betas"]
        step = state["step"]
        exp_avg_sq = state["exp_avg_sq"]
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * grad * grad
        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        corrected_exp_avg = state["exp_avg"] / bias_correction1
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
        if rho_t > 5.0:
            rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                             / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            adaptive_lr = np.sqrt(exp_avg_sq)
            adaptive_lr += eps
            adaptive_lr = bias_correction2 ** 0.5 / adaptive_lr
            weights -= corrected_exp_avg * lr * adaptive_lr * rect
        else:
            weights -= corrected_exp_avg * lr


class Adamax(_AdamVariant):
    """Adamax (``torch.optim.Adamax``): Adam with the infinity norm for the second moment.

    At step ``t``::

        g = g + weight_decay * w
        m = beta1 * m + (1 - beta1) * g
        u = max(beta2 * u, |g| + eps)
        w = w - lr / (1 - beta1**t) * m / u

    with ``m = u = 0`` before the first step.

    Args:
        params: Parameters (``model.parameters()``) or a list of parameter-group dicts.
        lr: learning rate (>= 0).
        betas: decay rates ``(beta1, beta2)``, each in [0, 1).
        eps: added to ``|g|`` for stability (>= 0).
        weight_decay: L2 penalty added to the gradient (>= 0).

    Example:
        >>> import numpy as np
        >>> from convnet.nn import Parameter
        >>> from convnet.optim import Adamax
        >>> w = Parameter(np.array([1.0, -2.0]))
        >>> opt = Adamax([w], lr=0.1)
        >>> w.grad = np.array([3.0, -0.5])
        >>> opt.step()
        >>> np.round(w.data, 6)     # the first step moves each weight by about lr
        array([ 0.9, -1.9])
    """

    def __init__(self, params, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
        super().__init__(params, defaults)

    def _new_state(self, weights: np.ndarray) -> dict:
        return {"step": 0, "exp_avg": np.zeros_like(weights), "exp_inf": np.zeros_like(weights)}

    def _update(self, weights, grad, state, group) -> None:
        beta2 = group["betas"][1]
        exp_inf = state["exp_inf"]
        exp_inf *= beta2
        np.maximum(exp_inf, np.abs(grad) + group["eps"], out=exp_inf)
        step_lr = group["lr"] / (1 - group["betas"][0] ** state["step"])
        weights += -step_lr * state["exp_avg"] / exp_inf
