"""Random images as PIL images, the same for the same index: torchvision's :class:`FakeData`.

Sample ``index`` is drawn from a NumPy generator seeded with ``index + random_offset``, so it
is the same on every call, in every process and whatever the global seed; the values are
uniform uint8 noise (torchvision's come from torch's generator: not the same values).

Example:
    >>> from convnet.vision.datasets import FakeData
    >>> fake = FakeData(size=3, image_size=(1, 4, 5), num_classes=2)
    >>> image, target = fake[0]
    >>> len(fake), image.mode, image.size, target in (0, 1), fake[0][0] == image
    (3, 'L', (5, 4), True, True)
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np

from .vision_base import VisionDataset

__all__ = ["FakeData"]

_MODES = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}


class FakeData(VisionDataset):
    """``size`` random images of ``image_size`` ``(C, H, W)`` (C = 1, 2, 3 or 4: modes L, LA,
    RGB, RGBA) with targets in ``0 .. num_classes - 1``; ``random_offset`` shifts the per-index
    seeds (another offset, other images).

    Example:
        >>> import convnet.vision.transforms as T
        >>> fake = FakeData(size=2, image_size=(3, 8, 8), transform=T.ToTensor())
        >>> fake[1][0].shape, fake[1][0].dtype
        ((3, 8, 8), dtype('float32'))
        >>> fake[2]
        Traceback (most recent call last):
        ...
        IndexError: FakeData index out of range
    """

    def __init__(self, size: int = 1000, image_size: tuple[int, int, int] = (3, 224, 224),
                 num_classes: int = 10, transform: Optional[Callable] = None,
                 target_transform: Optional[Callable] = None, random_offset: int = 0) -> None:
        super().__init__(transform=transform, target_transform=target_transform)
        if (not isinstance(image_size, (tuple, list)) or len(image_size) != 3
                or image_size[0] not in _MODES
                or not all(isinstance(side, int) and side > 0 for side in image_size[1:])):
            raise ValueError(f"image_size: expected (C, H, W) with C in 1..4 and positive H, W, "
                             f"got {image_size!r}")
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"num_classes: expected a positive int, got {num_classes!r}")
        self.size = size
        self.num_classes = num_classes
        self.image_size = image_size
        self.random_offset = random_offset

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        from PIL import Image
        if not 0 <= index < len(self):
            raise IndexError(f"{self.__class__.__name__} index out of range")
        rng = np.random.default_rng(abs(int(index) + int(self.random_offset)))
        channels, height, width = self.image_size
        pixels = rng.integers(0, 256, (height, width, channels), dtype=np.uint8)
        target = int(rng.integers(0, self.num_classes))
        image = Image.fromarray(pixels[:, :, 0] if channels == 1 else pixels)
        return self._transformed(image, target)

    def __len__(self) -> int:
        return self.size
