"""Pictures of networks and training: curves, filters, feature maps, saliency, edge orientation.

Every ``plot_*`` function and :func:`save_image` writes one PNG atomically (to a
temporary name in the same folder, then renamed, so an error never leaves a broken
file where a good one was) and returns its path. Plots use matplotlib's Agg backend
without pyplot; matplotlib is imported only when a plot is drawn, so ``import
convnet.viz`` works without it (install it with ``pip install "convnet[viz]"``).
:func:`feature_maps`, :func:`saliency_map` and :func:`orientation_image` return
arrays and need no matplotlib.

- :func:`plot_training_curves` -- loss and accuracy per epoch, train vs validation
- :func:`plot_filters` -- a conv layer's filters (out, in, kh, kw) as a grid of tiles
- :func:`plot_confusion_matrix` -- true vs predicted counts, per-class accuracy
- :func:`feature_maps`, :func:`plot_feature_maps` -- one layer's output for an image
- :func:`saliency_map`, :func:`plot_saliency` -- |d class score / d pixel|
- :func:`orientation_image`, :func:`save_image` -- gradient angle as hue; arrays to PNG
- :func:`plot_segmentation`, :func:`plot_iou_per_class`, :func:`overlay`, :func:`save_mask`
  -- label maps: image | truth | prediction, IoU per class, colour overlays, palette PNGs

Example:
    >>> import numpy as np, convnet.nn as nn
    >>> from convnet import viz
    >>> model = nn.Sequential(nn.Conv2d(1, 6, 3, padding='same'), nn.ReLU(), nn.MaxPool2d(2),
    ...                       nn.Flatten(), nn.Linear(6 * 4 * 4, 10))
    >>> viz.feature_maps(model, np.random.rand(1, 8, 8), '0').shape
    (6, 8, 8)
    >>> viz.saliency_map(model, np.random.rand(1, 8, 8)).shape
    (8, 8)
"""

from .images import orientation_image, save_image
from .inspect import feature_maps, plot_feature_maps, plot_saliency, saliency_map
from .plots import plot_confusion_matrix, plot_filters, plot_training_curves
from .segmentation import colorize, overlay, plot_iou_per_class, plot_segmentation, save_mask

__all__ = ["plot_training_curves", "plot_filters", "plot_confusion_matrix", "feature_maps",
           "plot_feature_maps", "saliency_map", "plot_saliency", "orientation_image",
           "save_image", "plot_segmentation", "plot_iou_per_class", "overlay", "colorize",
           "save_mask"]
