"""Watching every leaf module call of one forward pass (what ``summary`` and the explorer
record), with the model in eval mode and every module restored afterwards, even on error.

Example:
    >>> import numpy as np, convnet.nn as nn
    >>> model = nn.Sequential(nn.Conv2d(1, 2, 3, rng=0), nn.ReLU())
    >>> seen = []
    >>> with watch_leaf_calls(model, lambda name, module, args, output: seen.append(name)):
    ...     _ = model(np.zeros((1, 1, 5, 5), np.float32))
    >>> seen, model.training
    (['0', '1'], True)
"""

from __future__ import annotations

from contextlib import contextmanager

__all__ = ["watch_leaf_calls", "evaluation_mode"]


@contextmanager
def evaluation_mode(model):
    """Within the block the model and every submodule are in eval mode; afterwards each is
    back in its own mode, even on error.

    Example:
        >>> import convnet.nn as nn
        >>> model = nn.Sequential(nn.Dropout(0.5))
        >>> with evaluation_mode(model):
        ...     inside = model[0].training
        >>> inside, model[0].training
        (False, True)
    """
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for module, mode in modes:
            object.__setattr__(module, "training", mode)


@contextmanager
def watch_leaf_calls(model, record):
    """Within the block, each call of a leaf module (one without children) of ``model`` calls
    ``record(name, module, args, output)`` after it; the model runs in eval mode."""
    leaves = [(name, m) for name, m in model.named_modules() if next(m.children(), None) is None]
    originals = [(m, m.__dict__.get("forward")) for _, m in leaves]

    def wrap(name, module, forward):
        def wrapped(*args, **kwargs):
            output = forward(*args, **kwargs)
            record(name, module, args, output)
            return output
        return wrapped

    try:
        for name, module in leaves:
            object.__setattr__(module, "forward", wrap(name, module, module.forward))
        with evaluation_mode(model):
            yield
    finally:
        for module, original in originals:
            if original is None:
                module.__dict__.pop("forward", None)
            else:
                object.__setattr__(module, "forward", original)
