"""Pictures of label maps: a fixed palette, colour overlays, image | truth | prediction
panels with a legend, and a bar chart of the IoU of each class.

:func:`colorize`, :func:`overlay` and :func:`save_mask` need no matplotlib; the two
``plot_*`` functions do. Class ``i`` has the same colour in every picture; the ignore
label is drawn black.

Example:
    >>> import numpy as np
    >>> mask = np.array([[0, 1], [2, 255]])
    >>> colorize(mask).shape, colorize(mask)[1, 1].tolist()
    ((2, 2, 3), [0, 0, 0])
    >>> overlay(np.zeros((1, 2, 2), np.float32), mask).dtype
    dtype('uint8')
"""

from __future__ import annotations

import numpy as np

from ..io.atomic import atomic_write
from ._figure import as_numpy, new_figure, save_figure

__all__ = ["PALETTE", "colorize", "overlay", "save_mask", "plot_segmentation",
           "plot_iou_per_class"]

# distinct colours first (background a dark grey-blue), then a seeded spread for the rest
_FIRST = [(40, 44, 62), (230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200),
          (245, 130, 48), (145, 30, 180), (70, 240, 240), (240, 50, 230), (210, 245, 60),
          (250, 190, 212), (0, 128, 128), (220, 190, 255), (170, 110, 40), (255, 250, 200),
          (128, 0, 0), (170, 255, 195), (128, 128, 0), (255, 215, 180), (0, 0, 128)]
PALETTE = np.concatenate([np.array(_FIRST, np.uint8),
                          np.random.default_rng(2015).integers(40, 256, (236, 3), dtype=np.uint8)])
PALETTE[255] = (0, 0, 0)  # the ignore label


def colorize(mask, ignore_index: int = 255) -> np.ndarray:
    """(H, W) class indices -> (H, W, 3) uint8 colours of :data:`PALETTE`."""
    mask = as_numpy(mask, "mask").astype(np.int64)
    if mask.ndim != 2:
        raise ValueError(f"mask: expected an (H, W) array of class indices, got shape {mask.shape}")
    index = np.where(mask == ignore_index, 255, np.mod(mask, 255))
    return PALETTE[index]


def _image_rgb(image) -> np.ndarray:
    """(C, H, W) or (H, W) floats in [0, 1] -> (H, W, 3) floats, stretched to [0, 1]."""
    image = as_numpy(image, "image").astype(np.float64)
    if image.ndim == 3:
        image = np.repeat(image, 3, axis=0) if image.shape[0] == 1 else image[:3]
        image = image.transpose(1, 2, 0)
    elif image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    else:
        raise ValueError(f"image: expected (C, H, W) or (H, W), got shape {image.shape}")
    low, high = image.min(initial=0.0), image.max(initial=1.0)
    return (image - low) / max(high - low, 1e-12)


def overlay(image, mask, alpha: float = 0.5, ignore_index: int = 255) -> np.ndarray:
    """The image with its label colours blended in (class 0 left unpainted): (H, W, 3) uint8."""
    rgb = _image_rgb(image) * 255
    mask = as_numpy(mask, "mask")
    if rgb.shape[:2] != mask.shape:
        raise ValueError(f"mask: shape {mask.shape} for an image of {rgb.shape[:2]}")
    colours = colorize(mask, ignore_index).astype(np.float64)
    painted = (mask != 0)[:, :, None]
    blended = np.where(painted, (1 - alpha) * rgb + alpha * colours, rgb)
    return np.clip(np.rint(blended), 0, 255).astype(np.uint8)


def save_mask(mask, path: str) -> str:
    """Write (H, W) class indices as a palette PNG: the pixel values are the classes, the
    palette shows them in :data:`PALETTE`'s colours. Returns ``path``."""
    from PIL import Image
    mask = as_numpy(mask, "mask")
    if mask.ndim != 2 or mask.size == 0 or mask.min() < 0 or mask.max() > 255:
        raise ValueError(f"mask: expected (H, W) class indices in [0, 255], got shape "
                         f"{mask.shape}")
    picture = Image.fromarray(mask.astype(np.uint8), mode="P")
    picture.putpalette(PALETTE.ravel().tolist())
    with atomic_write(path, "wb") as handle:
        picture.save(handle, format="PNG")
    return path


def _legend(figure, classes):
    from matplotlib.patches import Patch
    handles = [Patch(color=PALETTE[index % 255] / 255, label=str(name))
               for index, name in enumerate(classes)]
    figure.legend(handles=handles, loc="lower center", ncol=min(len(handles), 6),
                  fontsize=8, frameon=False)


def plot_segmentation(images, truths, predictions, classes, path, ignore_index: int = 255):
    """Rows of image | truth | prediction in the fixed palette, with a legend of the classes.

    Args:
        images: (N, C, H, W) in any range (each shown stretched); truths, predictions:
            (N, H, W) class indices; classes: names; path: the PNG file to write.

    Example:
        >>> import os, tempfile, numpy as np
        >>> folder = tempfile.TemporaryDirectory()
        >>> masks = np.zeros((2, 6, 6), np.int64); masks[:, 2:4, 2:4] = 1
        >>> path = plot_segmentation(np.random.rand(2, 1, 6, 6), masks, masks, ['bg', 'box'],
        ...                          os.path.join(folder.name, 'overlay.png'))
        >>> os.path.basename(path); folder.cleanup()
        'overlay.png'
    """
    images = as_numpy(images, "images")
    truths, predictions = as_numpy(truths, "truths"), as_numpy(predictions, "predictions")
    if images.ndim != 4 or truths.shape != predictions.shape or \
            truths.shape != (images.shape[0], *images.shape[2:]):
        raise ValueError(f"expected images (N, C, H, W) with truths and predictions (N, H, W); "
                         f"got {images.shape}, {truths.shape}, {predictions.shape}")
    count = len(images)
    figure = new_figure(7.5, 2.45 * count + 0.45)
    axes = figure.subplots(count, 3, squeeze=False)
    for row in range(count):
        panels = (_image_rgb(images[row]), overlay(images[row], truths[row], 0.6, ignore_index),
                  overlay(images[row], predictions[row], 0.6, ignore_index))
        for column, (panel, title) in enumerate(zip(panels, ("image", "truth", "prediction"))):
            axes[row, column].imshow(panel, interpolation="nearest")
            axes[row, column].set_axis_off()
            if row == 0:
                axes[row, column].set_title(title)
    figure.subplots_adjust(bottom=0.45 / (2.45 * count + 0.45), top=1 - 0.25 / (2.45 * count),
                           wspace=0.05, hspace=0.05)
    _legend(figure, classes)
    return save_figure(figure, path)


def plot_iou_per_class(iou, classes, path, mean_iou: float | None = None):
    """A bar per class of its IoU (a class absent from truth and prediction: no bar, 'n/a').

    Example:
        >>> import os, tempfile
        >>> folder = tempfile.TemporaryDirectory()
        >>> path = plot_iou_per_class([0.9, float('nan'), 0.5], ['bg', 'a', 'b'],
        ...                           os.path.join(folder.name, 'iou.png'))
        >>> os.path.basename(path); folder.cleanup()
        'iou.png'
    """
    values = np.array([np.nan if value is None else value for value in iou], np.float64)
    names = [str(name) for name in classes]
    if values.ndim != 1 or len(values) != len(names):
        raise ValueError(f"iou: expected one value per class ({len(names)}), got {values.shape}")
    figure = new_figure(max(4.0, 0.5 * len(names) + 1.5), 3.2)
    ax = figure.subplots()
    shown = np.nan_to_num(values, nan=0.0)
    ax.bar(range(len(names)), shown, color=PALETTE[np.arange(len(names)) % 255] / 255,
           edgecolor="black", linewidth=0.5)
    for index, value in enumerate(values):
        ax.text(index, (0 if np.isnan(value) else value) + 0.02,
                "n/a" if np.isnan(value) else f"{value:.2f}", ha="center", fontsize=7)
    ax.set_xticks(range(len(names)), names, rotation=45 if len(names) > 5 else 0,
                  ha="right" if len(names) > 5 else "center")
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("IoU")
    mean = np.nanmean(values) if mean_iou is None and np.isfinite(values).any() else mean_iou
    ax.set_title("IoU per class" + (f" (mean {mean:.3f})" if mean is not None else ""))
    return save_figure(figure, path)
