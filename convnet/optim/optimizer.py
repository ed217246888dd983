"""Optimizer: the base class of every optimizer, with PyTorch's parameter groups and state.

An optimizer holds ``param_groups`` (a list of dicts, each with ``'params'`` and that
group's options, missing options filled from ``defaults``) and ``state`` (a dict from
Parameter to that parameter's buffers, e.g. a momentum buffer). ``state_dict()`` turns
both into plain data (dicts, lists, numbers, NumPy arrays; parameters referred to by
their index in group order, as PyTorch does) so training can be saved and resumed.

Updates work in place on ``p.data``: layers, module state dicts and optimizers share
the same arrays, so the array object of a parameter never changes.
"""

from __future__ import annotations

import copy
from typing import Callable

import numpy as np

from ..tensor import Tensor


class Optimizer:
    """Base class of optimizers (``torch.optim.Optimizer``).

    Args:
        params: an iterable of Parameters (e.g. ``model.parameters()``) or of dicts,
            each with ``'params'`` and per-group options overriding ``defaults``.
        defaults: the options of a group that does not set them.

    Subclasses define ``step()`` and may override ``_check_options(options)``, which
    raises ``ValueError`` naming a bad option.

    Example:
        >>> import numpy as np
        >>> from convnet.nn import Parameter
        >>> from convnet.optim import SGD
        >>> w, b = Parameter(np.ones(2)), Parameter(np.zeros(1))
        >>> opt = SGD([{'params': [w]}, {'params': [b], 'weight_decay': 0}],
        ...           lr=0.1, weight_decay=1e-4)
        >>> [group['weight_decay'] for group in opt.param_groups]
        [0.0001, 0]
        >>> opt.state_dict()['param_groups'][1]['params']
        [1]
    """

    def __init__(self, params, defaults: dict):
        if isinstance(params, Tensor):
            raise TypeError("params: expected an iterable of Parameters or of dicts, got a "
                            f"single {type(params).__name__}; wrap it in a list")
        if isinstance(params, (dict, set)):
            raise TypeError(f"params: expected an ordered iterable (list, generator) of "
                            f"Parameters or of dicts, got a {type(params).__name__}")
        self._check_options(defaults)
        self.defaults = dict(defaults)
        self.param_groups: list[dict] = []
        self.state: dict = {}
        groups = list(params)
        if not groups:
            raise ValueError("params: the optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def _check_options(self, options: dict) -> None:
        """Raise ValueError naming any option of ``options`` that is out of range."""

    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters, with its own options, to the optimizer.

        Useful to train new layers added to a model (fine-tuning) with their own
        learning rate. Options the group does not set come from ``defaults``.
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group: expected a dict, got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError("param_group: a parameter group needs a 'params' entry")
        group = dict(param_group)
        params = group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, dict)):
            raise TypeError("params: the parameters of a group must be an ordered sequence, "
                            f"got a {type(params).__name__}")
        params = list(params)
        if not params:
            raise ValueError("params: the optimizer got an empty parameter list")
        for param in params:
            if not isinstance(param, Tensor):
                raise TypeError(f"params: can only optimize Tensors/Parameters, got "
                                f"{type(param).__name__}")
            if not param.is_leaf:
                raise ValueError("params: can't optimize a non-leaf Tensor (the result of an "
                                 "operation); optimize the Parameters it was computed from")
        if len({id(p) for p in params}) != len(params):
            raise ValueError("params: a parameter appears more than once in the same group")
        group["params"] = params
        for name, default in self.defaults.items():
            group.setdefault(name, default)
        self._check_options(group)
        existing = {id(p) for other in self.param_groups for p in other["params"]}
        if existing.intersection(id(p) for p in params):
            raise ValueError("params: some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradients of every optimized parameter (``None``, or zeros in place)."""
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is None:
                    continue
                if set_to_none:
                    param.grad = None
                else:
                    param.grad[...] = 0

    def step(self, closure: Callable | None = None):
        """Update every parameter that has a gradient; returns ``closure()`` if given."""
        raise NotImplementedError(f"{type(self).__name__} must define step()")

    def _gradients(self, group: dict):
        """(param, grad) for the parameters of ``group`` that have a gradient."""
        for param in group["params"]:
            grad = param.grad
            if grad is None:
                continue
            if grad.shape != param.data.shape:
                raise ValueError(f"grad: a parameter of shape {param.data.shape} has a "
                                 f"gradient of shape {grad.shape}")
            yield param, grad

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict:
        """The optimizer's state as plain data, for checkpoints.

        Returns ``{'state': {index: {name: array or number}}, 'param_groups': [options
        with 'params': [index, ...]]}``: parameters are numbered in group order, as in
        PyTorch. Arrays are copies, so the result does not change as training goes on.
        """
        index = {}
        groups = []
        for group in self.param_groups:
            packed = {name: _plain(value) for name, value in group.items() if name != "params"}
            for param in group["params"]:
                index.setdefault(id(param), len(index))
            packed["params"] = [index[id(param)] for param in group["params"]]
            groups.append(packed)
        state = {index[id(param)]: {name: _plain(value) for name, value in buffers.items()}
                 for param, buffers in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore state and group options saved by :meth:`state_dict` (copies them).

        The optimizer must have been built over parameters shaped like the saved
        ones, in the same groups and order.
        """
        if not isinstance(state_dict, dict) or set(state_dict) != {"state", "param_groups"}:
            raise ValueError("state_dict: expected a dict with keys 'state' and 'param_groups'")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"state_dict: has {len(saved_groups)} parameter groups, this "
                             f"optimizer has {len(self.param_groups)}")
        by_index = {}
        for number, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"state_dict: parameter group {number} has "
                                 f"{len(saved['params'])} parameters, this optimizer's has "
                                 f"{len(group['params'])}")
            by_index.update(zip(saved["params"], group["params"]))
        new_state = {}
        for key, buffers in state_dict["state"].items():
            if key not in by_index:
                raise ValueError(f"state_dict: state for parameter {key!r}, which no group has")
            param = by_index[key]
            new_state[param] = {}
            for name, value in buffers.items():
                if isinstance(value, np.ndarray):
                    if value.shape != param.data.shape:
                        raise ValueError(f"state_dict: state[{key}][{name!r}] has shape "
                                         f"{value.shape}, the parameter {param.data.shape}")
                    value = value.astype(param.data.dtype, copy=True)
                new_state[param][name] = value
        new_groups = []
        for group, saved in zip(self.param_groups, saved_groups):
            options = {name: _restore(name, value) for name, value in saved.items()
                       if name != "params"}
            self._check_options(options)
            new_groups.append({**options, "params": group["params"]})
        self.state = new_state
        self.param_groups = new_groups

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for number, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {number}")
            lines.extend(f"    {name}: {value}" for name, value in sorted(group.items())
                         if name != "params")
        return "\n".join(lines) + "\n)"


def _plain(value):
    """A copy of ``value`` made of dicts, lists, numbers and arrays only."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    return copy.deepcopy(value)


def _restore(name: str, value):
    # state_dict stores tuples (betas) as lists; give them back their tuple form
    if name == "betas":
        return tuple(value)
    return copy.deepcopy(value)



def check_nonnegative(name: str, value) -> None:
    """Raise ValueError naming ``name`` unless ``value`` is a real number >= 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name}: expected a number >= 0, got {value!r}")
    if not value >= 0:  # also rejects NaN
        raise ValueError(f"{name}: expected a number >= 0, got {value!r}")


def check_positive_int(name: str, value) -> None:
    """Raise ValueError naming ``name`` unless ``value`` is an integer >= 1."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name}: expected an integer >= 1, got {value!r}")


def check_factor(name: str, value) -> None:
    """Raise ValueError naming ``name`` unless ``value`` is in (0, 1]."""
    check_nonnegative(name, value)
    if not 0 < value <= 1:
        raise ValueError(f"{name}: expected a factor in (0, 1], got {value!r}")
