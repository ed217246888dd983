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
        figure.savefig(handle, format="png", bbox_inches="tight", pad_inches=0.08)
    return path


def colormap(name: str):
    """The matplotlib colormap called ``name`` (maps values in [0, 1] to RGBA)."""
    require_matplotlib()
    import matplotlib
    return matplotlib.colormaps[name]


def mosaic_figure(tiles: np.ndarray, title: str | None = None, labelled: bool = False):
    """A figure showing (N, h, w, 4) RGBA tiles in [0, 1] as one near-square grid.

    The grid is drawn as a single image (white gutters between tiles, nearest
    interpolation), which stays fast for hundreds of tiles; ``labelled`` writes each
    tile's index above it.
    """
    # blocks of repeated pixels (what nearest interpolation shows anyway) let the gutters
    # and labels be thinner than one kernel pixel
    repeat = math.ceil(40 / max(tiles.shape[1:3]))
    tiles = tiles.repeat(repeat, axis=1).repeat(repeat, axis=2)
    count, height, width = tiles.shape[:3]
    columns = math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    tile_inches = min(1.2, max(0.35, 10.0 / columns))
    inches_per_pixel = tile_inches / max(height, width)
    gutter = max(1, round(0.08 * max(height, width)))
    label_rows = math.ceil(0.15 / inches_per_pixel) if labelled else 0
    row_pitch, column_pitch = height + gutter + label_rows, width + gutter
    canvas = np.ones((rows * row_pitch + gutter, columns * column_pitch + gutter, 4))
    corners = []
    for index, tile in enumerate(tiles):
        top = (index // columns) * row_pitch + gutter + label_rows
        left = (index % columns) * column_pitch + gutter
        canvas[top:top + height, left:left + width] = tile
        corners.append((top, left))
    header = 0.35 if title else 0.0
    figure = new_figure(canvas.shape[1] * inches_per_pixel,
                        canvas.shape[0] * inches_per_pixel + header)
    ax = figure.add_axes((0, 0, 1, 1 - header / figure.get_figheight()))
    ax.imshow(canvas, interpolation="nearest")
    ax.set_axis_off()
    if labelled:
        for index, (top, left) in enumerate(corners):
            ax.text(left + width / 2 - 0.5, top - 1.5, str(index), ha="center", va="bottom",
                    fontsize=7)
    if title:
        figure.suptitle(title, y=1 - 0.08 / figure.get_figheight(), va="top")
    return figure


def as_numpy(value, name: str) -> np.ndarray:
    """``value`` (array, Tensor or Parameter, or nested lists) as an ndarray."""
    if isinstance(value, Tensor):
        return value.data
    try:
        return np.asarray(value)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name}: expected an array or Tensor, "
                        f"got {type(value).__name__}") from error


def show_image(ax, image: np.ndarray) -> None:
    """Draw a (C, H, W) image: RGB when C == 3, otherwise the channel mean in gray, each
    stretched to its own range."""
    picture = image.mean(axis=0) if image.shape[0] != 3 else np.moveaxis(image, 0, -1)
    low, high = float(picture.min()), float(picture.max())
    picture = (picture - low) / (high - low) if high > low else np.zeros_like(picture)
    ax.imshow(picture, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
