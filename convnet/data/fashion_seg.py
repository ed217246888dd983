"""``fashion-seg``: scenes composed from Fashion-MNIST garments, labelled per pixel.

In the spirit of M2NIST: each image is a ``size x size`` canvas holding one to
``max_items`` garments of the installed Fashion-MNIST split, pasted at random positions
where they do not cover each other (a garment whose pixels would touch another's is
redrawn elsewhere, up to 20 times, then left out), so each garment is whole and its class
can be told. A pixel whose garment value is at least ``threshold`` (0.1) takes that
garment's class + 1; every other pixel is class 0, ``background``. The garments of the train scenes come from Fashion-MNIST's train split,
those of the test scenes from its test split, so no garment is seen in both.

Example (garments of our own in place of the dataset):
    >>> import numpy as np
    >>> garments = np.zeros((2, 28, 28), np.float32); garments[:, 4:20, 6:22] = 0.8
    >>> images, masks, classes = compose_scenes(garments, np.array([3, 7]), ['c%d' % i for i in
    ...                                         range(10)], 5, size=40, seed=0)
    >>> images.shape, masks.shape, classes[:2], sorted(set(np.unique(masks)) - {0}) <= [4, 8]
    ((5, 1, 40, 40), (5, 40, 40), ['background', 'c0'], True)
"""

from __future__ import annotations

import numpy as np

__all__ = ["compose_scenes", "load_fashion_seg"]


def compose_scenes(garments: np.ndarray, labels: np.ndarray, garment_classes, count: int,
                   size: int = 64, max_items: int = 3, threshold: float = 0.1, seed: int = 0):
    """``(images (count, 1, size, size) float32, masks (count, size, size) int64, classes)``.

    ``garments``: (M, h, w) float images in [0, 1] with their ``labels`` (M,).
    """
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise ValueError(f"count: expected a non-negative int, got {count!r}")
    height, width = garments.shape[1:]
    if isinstance(size, bool) or not isinstance(size, int) or size < max(height, width):
        raise ValueError(f"size: expected an int of at least {max(height, width)}, got {size!r}")
    if isinstance(max_items, bool) or not isinstance(max_items, int) or max_items < 1:
        raise ValueError(f"max_items: expected a positive int, got {max_items!r}")
    rng = np.random.default_rng(seed)
    images = np.zeros((count, 1, size, size), np.float32)
    masks = np.zeros((count, size, size), np.int64)
    for index in range(count):  # a few garments per scene: a loop over scenes, not pixels
        for _ in range(int(rng.integers(1, max_items + 1))):
            pick = int(rng.integers(len(garments)))
            garment = garments[pick]
            inside = garment >= threshold
            for _attempt in range(20):
                top, left = rng.integers(0, size - height + 1), rng.integers(0, size - width + 1)
                window = (slice(top, top + height), slice(left, left + width))
                if not (masks[index][window][inside] > 0).any():
                    images[index, 0][window][inside] = garment[inside]
                    masks[index][window][inside] = int(labels[pick]) + 1
                    break
    return images, masks, ["background", *garment_classes]


def load_fashion_seg(split: str = "train", data_dir=None, download: bool = True,
                     num_samples: int | None = None, image_size: int = 56, seed: int | None = None,
                     progress: bool = True):
    """Scenes of one split: 6,000 train / 1,000 test by default, seeded by the split."""
    from .idx import load_idx_dataset
    garments, labels, classes = load_idx_dataset("fashion-mnist", split, data_dir, download,
                                                 progress)
    count = num_samples if num_samples is not None else (6000 if split == "train" else 1000)
    seed = seed if seed is not None else (0 if split == "train" else 1)
    return compose_scenes(garments[:, 0], labels, classes, count, size=image_size, seed=seed)
