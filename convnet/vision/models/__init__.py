"""torchvision's classification models on convnet: the same builders, arguments, module names
and initialisation, so ``state_dict`` keys, order and shapes equal torchvision's and a file
written by ``torch.save(torchvision_model.state_dict(), path)`` loads.

- :mod:`.resnet`: resnet18/34/50/101/152, resnext50_32x4d, resnext101_32x8d,
  resnext101_64x4d, wide_resnet50_2, wide_resnet101_2
- :mod:`.vgg`: vgg11/13/16/19 and their ``_bn`` variants
- :mod:`.alexnet`, :mod:`.squeezenet` (squeezenet1_0, squeezenet1_1)
- :mod:`.mobilenetv2` (mobilenet_v2), :mod:`.mobilenetv3` (mobilenet_v3_small/large)
- :mod:`.densenet` (densenet121/161/169/201), :mod:`.shufflenetv2` (x0_5, x1_0, x1_5, x2_0)
- :mod:`.efficientnet` (efficientnet_b0/b1/b2/b3), :mod:`.mnasnet` (mnasnet0_5, 0_75, 1_0, 1_3)
- :mod:`.inception_v1` (googlenet: a module name apart from the function's), :mod:`.inception`
  (inception_v3)
- :mod:`.regnet` (regnet_x_400mf ... regnet_x_8gf, regnet_y_400mf ... regnet_y_8gf)
- :func:`list_models`, :func:`get_model`, :func:`get_model_builder` (:mod:`._registry`)

Every builder takes ``weights=None, progress=True, **kwargs`` (``num_classes``,
``dropout``, ``zero_init_residual``, ...). ``weights`` is a local file or a state_dict;
convnet downloads nothing, so torchvision's weight names (``'IMAGENET1K_V1'``,
``'DEFAULT'``) raise a ValueError that names the file to fetch once from
``https://download.pytorch.org/models/`` and pass as a path.

Example:
    >>> import convnet.vision as torchvision
    >>> model = torchvision.models.resnet18(num_classes=10)
    >>> list(model.state_dict())[-2:]
    ['fc.weight', 'fc.bias']
    >>> 'mobilenet_v3_small' in torchvision.models.list_models()
    True
"""

from ._registry import get_model, get_model_builder, list_models
from .alexnet import AlexNet, alexnet
from .densenet import DenseNet, densenet121, densenet161, densenet169, densenet201
from .efficientnet import (EfficientNet, efficientnet_b0, efficientnet_b1, efficientnet_b2,
                           efficientnet_b3)
from .inception_v1 import GoogLeNet, googlenet
from .inception import Inception3, inception_v3
from .mnasnet import MNASNet, mnasnet0_5, mnasnet0_75, mnasnet1_0, mnasnet1_3
from .mobilenetv2 import MobileNetV2, mobilenet_v2
from .mobilenetv3 import MobileNetV3, mobilenet_v3_large, mobilenet_v3_small
from .regnet import (RegNet, regnet_x_1_6gf, regnet_x_3_2gf, regnet_x_8gf, regnet_x_400mf,
                     regnet_x_800mf, regnet_y_1_6gf, regnet_y_3_2gf, regnet_y_8gf,
                     regnet_y_400mf, regnet_y_800mf)
from .resnet import (ResNet, resnet18, resnet34, resnet50, resnet101, resnet152,
                     resnext50_32x4d, resnext101_32x8d, resnext101_64x4d, wide_resnet50_2,
                     wide_resnet101_2)
from .shufflenetv2 import (ShuffleNetV2, shufflenet_v2_x0_5, shufflenet_v2_x1_0,
                           shufflenet_v2_x1_5, shufflenet_v2_x2_0)
from .squeezenet import SqueezeNet, squeezenet1_0, squeezenet1_1
from .vgg import (VGG, vgg11, vgg11_bn, vgg13, vgg13_bn, vgg16, vgg16_bn, vgg19, vgg19_bn)

__all__ = [
    "list_models", "get_model", "get_model_builder",
    "AlexNet", "alexnet", "DenseNet", "densenet121", "densenet161", "densenet169", "densenet201",
    "EfficientNet", "efficientnet_b0", "efficientnet_b1", "efficientnet_b2", "efficientnet_b3",
    "GoogLeNet", "googlenet", "Inception3", "inception_v3",
    "MNASNet", "mnasnet0_5", "mnasnet0_75", "mnasnet1_0", "mnasnet1_3",
    "MobileNetV2", "mobilenet_v2", "MobileNetV3", "mobilenet_v3_large", "mobilenet_v3_small",
    "RegNet", "regnet_x_400mf", "regnet_x_800mf", "regnet_x_1_6gf", "regnet_x_3_2gf",
    "regnet_x_8gf", "regnet_y_400mf", "regnet_y_800mf", "regnet_y_1_6gf", "regnet_y_3_2gf",
    "regnet_y_8gf",
    "ResNet", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnext50_32x4d",
    "resnext101_32x8d", "resnext101_64x4d", "wide_resnet50_2", "wide_resnet101_2",
    "ShuffleNetV2", "shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "shufflenet_v2_x1_5",
    "shufflenet_v2_x2_0", "SqueezeNet", "squeezenet1_0", "squeezenet1_1",
    "VGG", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn",
]
