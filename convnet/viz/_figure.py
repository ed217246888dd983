"""Matplotlib plumbing shared by the plots: lazy import, Agg figures, atomic PNG output.

Figures are built as ``matplotlib.figure.Figure`` objects on an Agg canvas and never
through ``pyplot``, so plotting neither needs a display nor changes the backend or
the open figures of a user's own pyplot session.
"""

from __future__ import annotations

import math

import numpy as np

from ..io.atomic import atomic_write
from ..tensor import Tensor

INSTALL_HINT = 'pip install "convnet[viz]"'


def require_matplotlib():
    """The ``matplotlib.figure`` module, or an ImportError that says how to install it."""
    try:
        import matplotlib.figure
        from matplotlib.backends import backend_agg  # noqa: F401  (the canvas new_figure uses)
    except ImportError as error:
        raise ImportError(f"convnet.viz needs matplotlib for plots: {INSTALL_HINT}") from error
    return matplotlib.figure


def new_figure(width: float, height: float):
    """An empty Figure of ``width`` x ``height`` inches drawn by the Agg backend."""
    figure_module = require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    figure = figure_module.Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(figure)
    return figure


def save_figure(figure, path):
    """Render ``figure`` as PNG into ``path`` atomically and return ``path``."""
    with atomic_write(path, "wb") as handle:
        figure.savefig(handle, format="png")
    return path


def tile_axes(count: int, title: str | None = None, labelled: bool = False):
    """A figure with a near-square grid of ``count`` bare axes (row-major), plus the figure."""
    columns = math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    tile = min(1.2, max(0.35, 10.0 / columns))
    header = 0.5 if title else 0.1
    figure = new_figure(columns * tile + 0.2, rows * tile * (1.2 if labelled else 1.0) + header)
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for ax in axes:
        ax.set_axis_off()
    figure.subplots_adjust(left=0.01, right=0.99, bottom=0.01,
                           top=1 - header / figure.get_figheight(),
                           wspace=0.08, hspace=0.35 if labelled else 0.08)
    if title:
        figure.suptitle(title)
    return figure, axes[:count]


def as_numpy(value, name: str) -> np.ndarray:
    """``value`` (array, Tensor or Parameter, or nested lists) as an ndarray."""
    if isinstance(value, Tensor):
        return value.data
    try:
        return np.asarray(value)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name}: expected an array or Tensor, got {type(value).__name__}") from error


def show_image(ax, image: np.ndarray) -> None:
    """Draw a (C, H, W) image: RGB when C == 3, otherwise the channel mean in gray, each
    stretched to its own range."""
    picture = image.mean(axis=0) if image.shape[0] != 3 else np.moveaxis(image, 0, -1)
    low, high = float(picture.min()), float(picture.max())
    picture = (picture - low) / (high - low) if high > low else np.zeros_like(picture)
    ax.imshow(picture, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
