"""Seeded binary images of simple outlines: the notes' squares and diamonds, and a few more.

Seed 001 (Figure 8.4, "Template Matching") separates 15x15 black-and-white images of a
square outline from a diamond outline with hand-made 3x3 kernels: squares are made of
horizontal and vertical lines, diamonds of slanted ones. ``shapes`` reproduces that task
at random sizes and positions, and adds more classes for harder exercises. Each shape is
one pixel wide, has a centre ``(cy, cx)`` and a size ``r`` (2 <= r <= (image_size-1)//2),
and fits in the ``(2r+1) x (2r+1)`` box around its centre; with ``dy = y - cy``,
``dx = x - cx``, its pixels are:

============  ==============================================================
``square``    ``max(|dy|, |dx|) == r`` (outline of a (2r+1)-pixel square)
``diamond``   ``|dy| + |dx| == r`` (a square turned 45 degrees)
``cross``     ``dy == 0 or dx == 0`` inside the box (a plus sign)
``x``         ``|dy| == |dx|`` inside the box (the two diagonals)
``triangle``  apex at the top: ``|dx| == (dy + r) // 2``, plus the base row ``dy == r``
``hbar``      ``dy == 0`` inside the box (a horizontal bar)
``vbar``      ``dx == 0`` inside the box (a vertical bar)
============  ==============================================================

Classes are balanced (``num_samples`` cycled over the classes, then shuffled).

Example:
    >>> images, labels, classes = make_shapes(4, seed=0)
    >>> images.shape, images.dtype, classes
    ((4, 1, 15, 15), dtype('float32'), ['square', 'diamond'])
"""

from __future__ import annotations

import numpy as np

from .download import DatasetError

__all__ = ["SHAPES", "make_shapes", "load_shapes"]

SHAPES = ("square", "diamond", "cross", "x", "triangle", "hbar", "vbar")
MIN_SIZE = 2


def _outline(kind: str, dy: np.ndarray, dx: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Boolean masks of one kind of shape; dy, dx broadcast over (N, H, W), r is (N, 1, 1)."""
    inside = (np.abs(dy) <= r) & (np.abs(dx) <= r)
    if kind == "square":
        return np.maximum(np.abs(dy), np.abs(dx)) == r
    if kind == "diamond":
        return np.abs(dy) + np.abs(dx) == r
    if kind == "cross":
        return inside & ((dy == 0) | (dx == 0))
    if kind == "x":
        return inside & (np.abs(dy) == np.abs(dx))
    if kind == "triangle":
        sides = (np.abs(dx) == (dy + r) // 2) & (np.abs(dy) <= r)
        return sides | ((dy == r) & (np.abs(dx) <= r))
    if kind == "hbar":
        return inside & (dy == 0)
    return inside & (dx == 0)  # vbar


def _resolve_classes(classes) -> list[str]:
    if isinstance(classes, (int, np.integer)) and not isinstance(classes, bool):
        if not 2 <= classes <= len(SHAPES):
            raise DatasetError(f"shapes: classes={classes}, expected 2..{len(SHAPES)} or a list "
                               f"of names from {', '.join(SHAPES)}")
        return list(SHAPES[:classes])
    names = [classes] if isinstance(classes, str) else list(classes)
    unknown = [name for name in names if name not in SHAPES]
    if unknown or len(set(names)) != len(names) or len(names) < 2:
        raise DatasetError(f"shapes: classes={names!r}, expected 2 or more distinct names from "
                           f"{', '.join(SHAPES)}")
    return names


def make_shapes(num_samples: int, image_size: int = 15, classes=2, seed=0, rng=None):
    """``(images (N, 1, S, S) float32 of 0/1, labels (N,) int64, class names)``.

    ``classes`` is a number (the first ones of :data:`SHAPES`: 2 = squares vs diamonds)
    or a list of names. ``rng`` (a NumPy Generator) overrides ``seed``.

    Example:
        >>> images, labels, names = make_shapes(2, image_size=7, classes=['square', 'x'])
        >>> names, sorted(labels.tolist())
        (['square', 'x'], [0, 1])
    """
    names = _resolve_classes(classes)
    if isinstance(image_size, bool) or not isinstance(image_size, (int, np.integer)) \
            or image_size < 2 * MIN_SIZE + 1:
        raise DatasetError(f"shapes: image_size={image_size!r}, expected an int >= {2 * MIN_SIZE + 1}")
    if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)) or num_samples < 1:
        raise DatasetError(f"shapes: num_samples={num_samples!r}, expected a positive int")
    rng = np.random.default_rng(seed) if rng is None else rng
    labels = rng.permutation(np.arange(num_samples) % len(names)).astype(np.int64)
    size = rng.integers(MIN_SIZE, (image_size - 1) // 2 + 1, size=num_samples)
    # each centre is uniform over the positions that keep the whole box inside the image
    centre_y = size + np.floor(rng.random(num_samples) * (image_size - 2 * size)).astype(np.int64)
    centre_x = size + np.floor(rng.random(num_samples) * (image_size - 2 * size)).astype(np.int64)
    coords = np.arange(image_size)
    dy = coords[None, :, None] - centre_y[:, None, None]
    dx = coords[None, None, :] - centre_x[:, None, None]
    r = size[:, None, None]
    masks = np.zeros((num_samples, image_size, image_size), dtype=bool)
    for label, kind in enumerate(names):  # one vectorised pass per class
        chosen = labels == label
        masks[chosen] = _outline(kind, dy[chosen], dx[chosen], r[chosen])
    return masks[:, None].astype(np.float32), labels, names


def load_shapes(split: str = "train", num_samples=None, image_size: int = 15, classes=2, seed: int = 0):
    """The ``shapes`` dataset: 2000 training / 500 test images by default.

    The two splits come from independent streams of the same ``seed``
    (``SeedSequence([seed, 0])`` and ``([seed, 1])``), so they never repeat each other's draws.

    Example:
        >>> load_shapes('test', num_samples=3)[0].shape
        (3, 1, 15, 15)
    """
    if num_samples is None:
        num_samples = 2000 if split == "train" else 500
    rng = np.random.default_rng([int(seed), 0 if split == "train" else 1])
    return make_shapes(num_samples, image_size, classes, rng=rng)
