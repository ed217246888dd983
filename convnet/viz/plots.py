"""Plots of a training run and of a trained model's weights: curves, filters, confusion matrix.

Each function draws with matplotlib's Agg backend, writes one PNG atomically (a
temporary file renamed over ``path``) and returns ``path``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ._figure import as_numpy, colormap, mosaic_figure, new_figure, save_figure

__all__ = ["plot_training_curves", "plot_filters", "plot_confusion_matrix"]

_PANELS = (("loss", ("train_loss", "val_loss")),
           ("accuracy", ("train_accuracy", "val_accuracy")))


def _series(history: Mapping, key: str) -> np.ndarray:
    try:
        values = np.array(history[key], dtype=float)  # None (an epoch with no value) -> nan
    except (TypeError, ValueError) as error:
        raise ValueError(f"history[{key!r}]: expected a list of numbers, one per epoch, "
                         f"got {history[key]!r:.80}") from error
    if values.ndim != 1:
        raise ValueError(f"history[{key!r}]: expected a flat list per epoch, got shape "
                         f"{values.shape}")
    return values


def plot_training_curves(history, path):
    """Loss and accuracy per epoch, train against validation, in two panels.

    Args:
        history: dict of per-epoch lists with any of ``'train_loss'``, ``'val_loss'``,
            ``'train_accuracy'``, ``'val_accuracy'``, and optionally ``'lr'`` (drawn
            dotted on a log-scale right axis of the loss panel). A panel with no series
            is left out; ``None`` marks an epoch without a value. Epochs count from 1.
        path: the PNG file to write.

    Returns:
        ``path``.

    Example:
        >>> import os, tempfile
        >>> folder = tempfile.TemporaryDirectory()
        >>> history = {'train_loss': [2.3, 1.1, 0.7], 'val_loss': [2.2, 1.3, 0.9],
        ...            'train_accuracy': [0.2, 0.6, 0.8], 'lr': [0.1, 0.1, 0.01]}
        >>> path = plot_training_curves(history, os.path.join(folder.name, 'curves.png'))
        >>> open(path, 'rb').read(4)
        b'\\x89PNG'
        >>> folder.cleanup()
    """
    if not isinstance(history, Mapping):
        raise TypeError(f"history: expected a dict of per-epoch lists, "
                        f"got {type(history).__name__}")
    panels = [(name, [key for key in keys if key in history]) for name, keys in _PANELS]
    panels = [(name, keys) for name, keys in panels if keys]
    if not panels:
        expected = [key for _, keys in _PANELS for key in keys]
        raise ValueError(f"history: expected at least one of {expected}, got keys {list(history)}")
    from matplotlib.ticker import MaxNLocator

    figure = new_figure(5.0 * len(panels), 3.8)
    axes = figure.subplots(1, len(panels), squeeze=False)[0]
    for ax, (name, keys) in zip(axes, panels):
        handles = []
        for key in keys:
            values = _series(history, key)
            epochs = np.arange(1, len(values) + 1)
            handles += ax.plot(epochs, values, marker="o", markersize=3,
                               label=key.replace("_", " "))
        if name == "loss" and "lr" in history:
            rates = _series(history, "lr")
            twin = ax.twinx()
            handles += twin.plot(np.arange(1, len(rates) + 1), rates, linestyle=":",
                                 color="gray", label="learning rate")
            if np.all(rates[np.isfinite(rates)] > 0):
                twin.set_yscale("log")
            twin.set_ylabel("learning rate")
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.set_title(name)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True, alpha=0.3)
        ax.legend(handles=handles, loc="best")
    figure.tight_layout()
    return save_figure(figure, path)


def plot_filters(weight, path, title=None):
    """A grid of a convolution layer's filters, one tile per output channel.

    With 3 input channels a filter is shown as an RGB picture, its three channels
    stretched together to [0, 1] (min -> 0, max -> 1). Otherwise a tile shows the
    filter's mean over its input channels in a diverging colormap centred at 0
    (red positive, blue negative, white zero, symmetric limits per filter). Pixels
    are drawn as blocks (nearest interpolation); with at most 64 filters each tile is
    labelled by its index.

    Args:
        weight: (out_channels, in_channels, kernel_height, kernel_width) array or
            Parameter, e.g. ``conv.weight``; a 1-d kernel (out, in, k) is drawn as a row.
        path: the PNG file to write.
        title: optional title above the grid.

    Returns:
        ``path``.

    Example:
        >>> import os, tempfile, convnet.nn as nn
        >>> folder = tempfile.TemporaryDirectory()
        >>> conv = nn.Conv2d(3, 16, 5)
        >>> path = plot_filters(conv.weight, os.path.join(folder.name, 'filters.png'), 'conv1')
        >>> os.path.exists(path)
        True
        >>> folder.cleanup()
    """
    filters = as_numpy(weight, "weight").astype(np.float64)
    if filters.ndim == 3:
        filters = filters[:, :, None, :]
    if filters.ndim != 4 or 0 in filters.shape:
        raise ValueError(f"weight: expected shape (out_channels, in_channels, kernel_height, "
                         f"kernel_width), got {filters.shape}")
    if filters.shape[1] == 3:
        low = filters.min(axis=(1, 2, 3), keepdims=True)
        spread = filters.max(axis=(1, 2, 3), keepdims=True) - low
        rgb = np.where(spread > 0, (filters - low) / np.where(spread > 0, spread, 1), 0.5)
        rgb = np.moveaxis(rgb, 1, -1)
        tiles = np.concatenate([rgb, np.ones(rgb.shape[:3] + (1,))], axis=-1)  # opaque
    else:
        mean = filters.mean(axis=1)
        limit = np.abs(mean).max(axis=(1, 2), keepdims=True)
        tiles = colormap("RdBu_r")(0.5 + 0.5 * mean / np.where(limit > 0, limit, 1))
    figure = mosaic_figure(tiles, title, labelled=len(filters) <= 64)
    return save_figure(figure, path)


def _format_count(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.3g}"


def plot_confusion_matrix(matrix, classes, path, normalize=True):
    """A confusion matrix: rows are the true class, columns the predicted class.

    Each cell is annotated with its count (and, when ``normalize``, its share of the
    row); the colour is the row share when ``normalize`` else the count. Each row
    label carries that class's accuracy (recall), ``matrix[i, i] / matrix[i].sum()``,
    and the title the overall accuracy. Cells are not annotated beyond 30 classes.

    Args:
        matrix: (num_classes, num_classes) counts, ``matrix[true, predicted]``.
        classes: num_classes names, or None for 0, 1, ...
        path: the PNG file to write.
        normalize: colour by the fraction of each true class (rows sum to 1).

    Returns:
        ``path``.

    Example:
        >>> import os, tempfile
        >>> folder = tempfile.TemporaryDirectory()
        >>> counts = [[8, 2], [1, 9]]
        >>> path = os.path.join(folder.name, 'cm.png')
        >>> path = plot_confusion_matrix(counts, ['cat', 'dog'], path)
        >>> os.path.basename(path)
        'cm.png'
        >>> folder.cleanup()
    """
    counts = as_numpy(matrix, "matrix").astype(np.float64)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1] or counts.shape[0] == 0:
        raise ValueError(f"matrix: expected a square (num_classes, num_classes) array, "
                         f"got shape {counts.shape}")
    if np.any(counts < 0) or not np.all(np.isfinite(counts)):
        raise ValueError("matrix: expected finite non-negative counts")
    size = counts.shape[0]
    names = [str(index) for index in range(size)] if classes is None else [str(c) for c in classes]
    if len(names) != size:
        raise ValueError(f"classes: expected {size} names for a {size}x{size} matrix, "
                         f"got {len(names)}")
    row_totals = counts.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = np.where(row_totals[:, None] > 0, counts / row_totals[:, None], 0.0)
    accuracy = [f"{shares[i, i]:.0%}" if row_totals[i] > 0 else "n/a" for i in range(size)]
    colours = shares if normalize else counts
    top = 1.0 if normalize else max(float(counts.max()), 1.0)

    side = min(max(4.0, 0.55 * size + 2.5), 24.0)
    figure = new_figure(side + 1.0, side)
    figure.set_layout_engine("constrained")
    ax = figure.subplots()
    image = ax.imshow(colours, cmap="Blues", vmin=0, vmax=top, interpolation="nearest")
    figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04,
                    label="fraction of true class" if normalize else "count")
    slanted = size > 5
    ax.set_xticks(range(size), names, rotation=45 if slanted else 0,
                  ha="right" if slanted else "center")
    ax.set_yticks(range(size), [f"{name} ({acc})" for name, acc in zip(names, accuracy)])
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class (accuracy)")
    total = counts.sum()
    overall = f"{np.trace(counts) / total:.1%}" if total > 0 else "n/a"
    ax.set_title(f"confusion matrix: accuracy {overall}")
    if size <= 30:
        for row in range(size):
            for column in range(size):
                text = _format_count(counts[row, column])
                if normalize and row_totals[row] > 0:
                    text += f"\n{shares[row, column]:.0%}"
                ax.text(column, row, text, ha="center", va="center", fontsize=8,
                        color="white" if colours[row, column] > 0.5 * top else "black")
    return save_figure(figure, path)
