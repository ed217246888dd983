"""Optimizers and learning-rate schedules, named and behaving like ``torch.optim``.

``SGD`` is the notes' update (seed 000): ``delta = dL/dw + weight_decay*w +
momentum*delta_prev; w -= lr*delta``. ``Adam`` and ``AdamW`` compute exactly what
PyTorch computes. Every optimizer takes ``model.parameters()`` or parameter groups,
and saves and restores its state with ``state_dict()`` / ``load_state_dict()``.

Example:
    >>> import numpy as np
    >>> import convnet.nn as nn
    >>> from convnet import optim
    >>> model = nn.Linear(3, 2)
    >>> decay = [p for name, p in model.named_parameters() if not name.endswith('bias')]
    >>> no_decay = [p for name, p in model.named_parameters() if name.endswith('bias')]
    >>> opt = optim.SGD([{'params': decay}, {'params': no_decay, 'weight_decay': 0}],
    ...                 lr=0.1, momentum=0.9, weight_decay=5e-3)
    >>> scheduler = optim.StepLR(opt, step_size=10)
    >>> loss = model(np.ones((4, 3))).sum()
    >>> loss.backward()
    >>> opt.step(); opt.zero_grad(); scheduler.step()
"""

from . import lr_scheduler
from .adam import Adam, AdamW
from .lr_scheduler import CosineAnnealingLR, LinearWarmup, LRScheduler, SequentialLR, StepLR
from .optimizer import Optimizer
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "lr_scheduler", "LRScheduler", "StepLR",
           "LinearWarmup", "CosineAnnealingLR", "SequentialLR"]
