"""Layers with parameters and state, named and constructed like ``torch.nn``.

Example:
    >>> import convnet.nn as nn
    >>> nn.Sequential(nn.Conv2d(3, 8, 3, padding='same'), nn.ReLU(), nn.MaxPool2d(3, 2, padding='same'))
    Sequential(
      (0): Conv2d([8 | 3x3 s 1], in_channels=3, padding='same')
      (1): ReLU()
      (2): MaxPool2d([3x3 s 2], padding='same')
    )
"""

from . import conv_transpose, init, local
from .activation import LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .container import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from .conv import Conv1d, Conv2d, Conv3d
from .conv_transpose import *  # noqa: F401,F403
from .linear import Flatten, Identity, Linear
from .local import *  # noqa: F401,F403
from .module import Module, Parameter
from .pool import (AdaptiveAvgPool1d, AdaptiveAvgPool2d, AdaptiveAvgPool3d, AdaptiveMaxPool1d,
                   AdaptiveMaxPool2d, AdaptiveMaxPool3d, AvgPool1d, AvgPool2d, AvgPool3d,
                   LPPool1d, LPPool2d, LPPool3d, MaxPool1d, MaxPool2d, MaxPool3d, Maxout)
from .regularization import BatchNorm1d, BatchNorm2d, Dropout, Upsample
from .weighted_pool import ScaledTanh, WeightedSumPool2d
from . import parallel  # noqa: E402  (DistributedDataParallel; MPI is loaded only when used)
from .sync_batchnorm import SyncBatchNorm  # noqa: E402
from .unet import UNet  # noqa: E402
from . import activation_more, embedding, loss, normalization, padding_layers, rearrange  # noqa: E402
from . import utils  # noqa: E402,F401  (clip_grad_norm_, parameters_to_vector)
from .activation_more import *  # noqa: E402,F401,F403
from .embedding import *  # noqa: E402,F401,F403
from .loss import *  # noqa: E402,F401,F403
from .normalization import *  # noqa: E402,F401,F403
from .padding_layers import *  # noqa: E402,F401,F403
from .rearrange import *  # noqa: E402,F401,F403
from .. import functional  # noqa: E402  (torch.nn.functional's path: the same module)
import sys as _sys  # noqa: E402

_sys.modules[__name__ + ".functional"] = functional
from .segmentation_nets import FCN, RecurrentRefine  # noqa: E402
from .residual import BasicBlock, CifarResNet, Residual  # noqa: E402

__all__ = [
    "init", "Module", "Parameter", "Sequential", "ModuleList",
    "ModuleDict", "ParameterList", "ParameterDict",
    "Conv1d", "Conv2d", "Conv3d", "Linear", "Flatten", "Identity",
    "MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d",
    "LPPool1d", "LPPool2d", "LPPool3d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d",
    "AdaptiveMaxPool3d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d", "Maxout",
    "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax",
    "Dropout", "BatchNorm1d", "BatchNorm2d", "Upsample",
    "WeightedSumPool2d", "ScaledTanh", "SyncBatchNorm", "UNet",
    "FCN", "RecurrentRefine", "BasicBlock", "CifarResNet", "Residual",
] + conv_transpose.__all__ + local.__all__
__all__ += (activation_more.__all__ + embedding.__all__ + loss.__all__ + normalization.__all__
            + padding_layers.__all__ + rearrange.__all__)
