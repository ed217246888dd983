"""torchvision.datasets on convnet: the same class names, arguments and on-disk layouts, so
``torchvision.datasets.MNIST(root, train=True, transform=..., download=False)`` reads
torchvision's files after ``import convnet.vision as torchvision``.

==================================  ==========================================================
``MNIST``, ``FashionMNIST``,        ``root/<ClassName>/raw/`` IDX files, as is or ``.gz``
``KMNIST``, ``EMNIST(split=...)``   (:mod:`.mnist`); samples are PIL 'L' images
``CIFAR10``, ``CIFAR100``           ``root/cifar-10-batches-py/``, ``root/cifar-100-python/``
                                    pickles, read by a restricted unpickler (:mod:`.cifar`)
``ImageFolder``, ``DatasetFolder``  ``root/<class>/<file>`` (:mod:`.folder`)
``SVHN(split=...)``                  ``root/{train,test,extra}_32x32.mat`` (:mod:`.svhn`)
``FakeData``                        random images, the same per index (:mod:`.fakedata`)
``VisionDataset``                   the base class (:mod:`.vision_base`)
==================================  ==========================================================

``download=True`` with the files present does nothing; with files missing, MNIST,
FashionMNIST, KMNIST, EMNIST, CIFAR10, CIFAR100 and SVHN fetch them from the official sources
through pooch (MD5 checked, nothing half-written left behind); files still missing are a
one-line :class:`DatasetNotFoundError` (a RuntimeError, as torchvision's, and a
:class:`~convnet.data.DatasetError`) saying which files to put where and the official source.
Files that cannot be read (truncated, mismatched counts, labels out of range, a pickle
asking for code) are one-line :class:`~convnet.data.DatasetError` naming the file.

Example:
    >>> import convnet
    >>> import convnet.vision as torchvision
    >>> fake = torchvision.datasets.FakeData(size=6, image_size=(1, 8, 8),
    ...                                      transform=torchvision.transforms.ToTensor())
    >>> images, targets = next(iter(convnet.utils.data.DataLoader(fake, batch_size=4)))
    >>> images.shape, targets.dtype
    ((4, 1, 8, 8), dtype('int64'))
"""

from .cifar import CIFAR10, CIFAR100, UnsafePickleError
from .fakedata import FakeData
from .folder import DatasetFolder, ImageFolder
from .mnist import EMNIST, KMNIST, MNIST, FashionMNIST
from .svhn import SVHN
from .vision_base import DatasetNotFoundError, StandardTransform, VisionDataset

__all__ = ["MNIST", "FashionMNIST", "KMNIST", "EMNIST", "CIFAR10", "CIFAR100", "SVHN",
           "DatasetFolder",
           "ImageFolder", "FakeData", "VisionDataset", "StandardTransform",
           "DatasetNotFoundError", "UnsafePickleError"]
