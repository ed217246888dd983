"""Optimizers and learning-rate schedules, named and behaving like ``torch.optim``.

``SGD`` is the notes' update (seed 000): ``delta = dL/dw + weight_decay*w +
momentum*delta_prev; w -= lr*delta``. ``Adam``, ``AdamW``, ``RMSprop``, ``Adagrad``,
``Adadelta``, ``NAdam``, ``RAdam`` and ``Adamax`` compute exactly what PyTorch computes.
Every optimizer takes ``model.parameters()`` or parameter groups, and saves and restores
its state with ``state_dict()`` / ``load_state_dict()``. The schedules of
``torch.optim.lr_scheduler`` are here too (also as ``convnet.optim.lr_scheduler.X``).

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
from .adagrad import Adadelta, Adagrad
from .adam import Adam, AdamW
from .adam_variants import Adamax, NAdam, RAdam
from .lr_scheduler import (ConstantLR, CosineAnnealingLR, CosineAnnealingWarmRestarts,
                           ExponentialLR, LambdaLR, LinearLR, LinearWarmup, LRScheduler,
                           MultiplicativeLR, MultiStepLR, OneCycleLR, PolynomialLR,
                           ReduceLROnPlateau, SequentialLR, StepLR)
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "NAdam",
           "RAdam", "Adamax", "lr_scheduler", "LRScheduler", "LambdaLR", "MultiplicativeLR",
           "StepLR", "MultiStepLR", "ConstantLR", "LinearLR", "LinearWarmup", "ExponentialLR",
           "PolynomialLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts", "OneCycleLR",
           "ReduceLROnPlateau", "SequentialLR"]
