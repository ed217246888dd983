"""``shapes-seg``: seeded images of the notes' squares, diamonds and discs on noisy
backgrounds, with a mask that gives every pixel its shape's class (0 is the background).

Each 1 x size x size image holds one to three filled shapes (the later drawn on top) of
random centre and radius, each of grey level 0.6-1.0, on Gaussian noise around 0.2; the
mask is the class of the shape drawn last at each pixel. Class names: ``background``,
``square``, ``diamond``, ``disc``.

Example:
    >>> images, masks, classes = make_shapes_seg(4, size=24, seed=0)
    >>> images.shape, masks.shape, masks.dtype.name, classes
    ((4, 1, 24, 24), (4, 24, 24), 'int64', ['background', 'square', 'diamond', 'disc'])
"""

from __future__ import annotations

import numpy as np

__all__ = ["make_shapes_seg", "CLASSES"]

CLASSES = ["background", "square", "diamond", "disc"]


def _inside(kind: int, dy: np.ndarray, dx: np.ndarray, radius: int) -> np.ndarray:
    if kind == 1:
        return np.maximum(np.abs(dy), np.abs(dx)) <= radius
    if kind == 2:
        return np.abs(dy) + np.abs(dx) <= radius
    return dy * dy + dx * dx <= radius * radius


def make_shapes_seg(count: int, size: int = 32, seed: int = 0):
    """``(images (N, 1, size, size) float32 in [0, 1], masks (N, size, size) int64, classes)``."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise ValueError(f"count: expected a non-negative int, got {count!r}")
    if isinstance(size, bool) or not isinstance(size, int) or size < 12:
        raise ValueError(f"size: expected an int of at least 12, got {size!r}")
    rng = np.random.default_rng(seed)
    images = np.clip(rng.normal(0.2, 0.08, (count, 1, size, size)), 0, 1).astype(np.float32)
    masks = np.zeros((count, size, size), dtype=np.int64)
    rows, columns = np.mgrid[:size, :size]
    for index in range(count):  # a few shapes per image: a loop over images, not pixels
        for _ in range(int(rng.integers(1, 4))):
            kind = int(rng.integers(1, 4))
            radius = int(rng.integers(3, size // 4 + 1))
            cy, cx = rng.integers(radius, size - radius, size=2)
            inside = _inside(kind, rows - cy, columns - cx, radius)
            images[index, 0][inside] = rng.uniform(0.6, 1.0)
            masks[index][inside] = kind
    return images, masks, list(CLASSES)
