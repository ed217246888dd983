"""Random augmentation of a batch of NCHW images, vectorised over the batch.

- :func:`random_crop`: pad each side by ``padding`` pixels, then cut a window of the
  original size at an independent random offset per image (offsets 0..2*padding in
  each direction; offset ``padding`` gives back the image unchanged).
- :func:`random_hflip`: mirror each image left-right with probability ``p``.
- :class:`Augment`: the two in that order, with a fixed configuration, for a DataLoader.

Example:
    >>> import numpy as np
    >>> images = np.arange(2 * 1 * 3 * 3, dtype=np.float32).reshape(2, 1, 3, 3)
    >>> random_hflip(images, np.random.default_rng(0), p=1.0)[0, 0, 0].tolist()
    [2.0, 1.0, 0.0]
"""

from __future__ import annotations

import numpy as np

__all__ = ["random_crop", "random_hflip", "Augment", "PADDING_MODES"]

# the padding modes of convnet's padding helpers, named as np.pad knows them
PADDING_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "edge",
                 "circular": "wrap", "symmetric": "symmetric"}


def random_crop(images: np.ndarray, padding: int, rng: np.random.Generator,
                padding_mode: str = "zeros") -> np.ndarray:
    """Pad by ``padding`` then crop back to (H, W) at a random offset per image.

    Shape: (N, C, H, W) -> (N, C, H, W). ``padding_mode`` is one of ``'zeros'``,
    ``'reflect'``, ``'replicate'``, ``'circular'``, ``'symmetric'``.

    Example:
        >>> import numpy as np
        >>> images = np.ones((5, 3, 8, 8), np.float32)
        >>> random_crop(images, 2, np.random.default_rng(0)).shape
        (5, 3, 8, 8)
    """
    if isinstance(padding, bool) or not isinstance(padding, (int, np.integer)) or padding < 0:
        raise ValueError(f"padding: expected a non-negative int, got {padding!r}")
    if padding_mode not in PADDING_MODES:
        raise ValueError(f"padding_mode: expected one of {tuple(PADDING_MODES)}, got {padding_mode!r}")
    if images.ndim != 4:
        raise ValueError(f"images: expected an (N, C, H, W) array, got shape {images.shape}")
    if padding == 0:
        return images
    return _crop_at(images, padding, _offsets(rng, padding, images.shape[0]), padding_mode)


def _offsets(rng: np.random.Generator, padding: int, count: int) -> np.ndarray:
    """(2, count) crop offsets: all the rows first, then all the columns."""
    return np.stack([rng.integers(0, 2 * padding + 1, size=count) for _ in range(2)])


def _crop_at(images: np.ndarray, padding: int, offsets: np.ndarray, padding_mode: str,
             fill=0) -> np.ndarray:
    """Pad (N, ..., H, W) by ``padding`` and cut each item's (H, W) window at its offsets
    ``offsets[:, i] = (dy, dx)``; ``fill`` is the constant of the 'zeros' mode."""
    height, width = images.shape[-2:]
    pad = [(0, 0)] * (images.ndim - 2) + [(padding, padding)] * 2
    mode = PADDING_MODES[padding_mode]
    extra = {"constant_values": fill} if mode == "constant" else {}
    padded = np.pad(images, pad, mode=mode, **extra)
    # every (H, W) window of every item, as a view: (N, ..., 2p+1, 2p+1, H, W)
    windows = np.lib.stride_tricks.sliding_window_view(padded, (height, width),
                                                       axis=(-2, -1))
    count = images.shape[0]
    # one window per item: move the item axis next to the offset axes, then index all three
    windows = np.moveaxis(windows, 0, -5)   # (..., N, 2p+1, 2p+1, H, W)
    picked = windows[..., np.arange(count), offsets[0], offsets[1], :, :]  # (..., N, H, W)
    return np.moveaxis(picked, -3, 0)


def random_hflip(images: np.ndarray, rng: np.random.Generator, p: float = 0.5) -> np.ndarray:
    """Mirror each image left-right (reverse W) with probability ``p``; shape unchanged.

    Example:
        >>> import numpy as np
        >>> images = np.arange(4.0).reshape(1, 1, 1, 4)
        >>> random_hflip(images, np.random.default_rng(0), p=0.0).ravel().tolist()
        [0.0, 1.0, 2.0, 3.0]
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p: expected a probability in [0, 1], got {p!r}")
    flip = rng.random(images.shape[0]) < p
    return np.where(flip[:, None, None, None], images[..., ::-1], images)


class Augment:
    """Random crop with padding, then horizontal flip, applied to a batch (and its masks).

    Called with ``masks`` (N, H, W) it returns ``(images, masks)`` with every mask cut and
    flipped exactly as its image; pixels that a 'zeros' crop brings in get ``ignore_index``.

    Args:
        crop_padding: pixels of padding for :func:`random_crop` (0: no crop).
        hflip: probability of a left-right flip (``True`` means 0.5, ``False`` 0).
        padding_mode: how the crop pads (see :func:`random_crop`).

    Example:
        >>> import numpy as np
        >>> augment = Augment(crop_padding=4, hflip=True)
        >>> augment
        Augment(crop_padding=4, hflip=0.5, padding_mode='zeros')
        >>> augment(np.zeros((8, 3, 32, 32), np.float32), np.random.default_rng(0)).shape
        (8, 3, 32, 32)
        >>> images, masks = augment(np.zeros((2, 1, 5, 5), np.float32), np.random.default_rng(0),
        ...                         masks=np.ones((2, 5, 5), np.int64))
        >>> sorted(np.unique(masks).tolist())     # 255: the border the crop padded in
        [1, 255]
    """

    def __init__(self, crop_padding: int = 0, hflip: float | bool = False, padding_mode: str = "zeros",
                 ignore_index: int = 255):
        if isinstance(crop_padding, bool) or not isinstance(crop_padding, (int, np.integer)) \
                or crop_padding < 0:
            raise ValueError(f"crop_padding: expected a non-negative int, got {crop_padding!r}")
        probability = 0.5 if hflip is True else float(hflip)
        if not 0.0 <= probability <= 1.0:
            raise ValueError(f"hflip: expected a bool or a probability in [0, 1], got {hflip!r}")
        if padding_mode not in PADDING_MODES:
            raise ValueError(f"padding_mode: expected one of {tuple(PADDING_MODES)}, got {padding_mode!r}")
        self.crop_padding, self.hflip, self.padding_mode = int(crop_padding), probability, padding_mode
        self.ignore_index = int(ignore_index)

    def __call__(self, images: np.ndarray, rng: np.random.Generator, masks=None):
        if masks is None:
            if self.crop_padding:
                images = random_crop(images, self.crop_padding, rng, self.padding_mode)
            if self.hflip:
                images = random_hflip(images, rng, self.hflip)
            return np.ascontiguousarray(images)
        if images.ndim != 4 or masks.shape != (images.shape[0], *images.shape[2:]):
            raise ValueError(f"masks: expected shape (N, H, W) matching images {images.shape}, "
                             f"got {masks.shape}")
        if self.crop_padding:
            offsets = _offsets(rng, self.crop_padding, images.shape[0])
            images = _crop_at(images, self.crop_padding, offsets, self.padding_mode)
            masks = _crop_at(masks, self.crop_padding, offsets, self.padding_mode,
                             fill=self.ignore_index)
        if self.hflip:
            flip = rng.random(images.shape[0]) < self.hflip
            images = np.where(flip[:, None, None, None], images[..., ::-1], images)
            masks = np.where(flip[:, None, None], masks[..., ::-1], masks)
        return np.ascontiguousarray(images), np.ascontiguousarray(masks)

    def __repr__(self) -> str:
        return (f"Augment(crop_padding={self.crop_padding}, hflip={self.hflip}, "
                f"padding_mode={self.padding_mode!r})")
