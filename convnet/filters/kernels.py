"""Named kernels from the notes: high/low-pass, Sobel, edges, lines, the shift kernel.

All are *correlation* kernels (apply them with :func:`~convnet.filters.correlate`, the
deep-learning "convolution"), except :data:`SHIFT_RIGHT_UP`, which seed 001 derives as a
*true convolution* kernel (an impulse response; apply it with
:func:`~convnet.filters.convolve`). Constants are read-only float64 arrays; the functions
return new arrays. :data:`KERNELS` maps every constant's name to it.

==========================  ===============================================================
name                        kernel (source)
==========================  ===============================================================
``HIGH_PASS_1D``            ``[-1, 2, -1]`` (seed 000, 1-D example)
``HIGH_PASS``               8-neighbour ``[[-1,-1,-1], [-1,8,-1], [-1,-1,-1]]`` (seed 000)
``box(size, ndim=2)``       ``1/n`` everywhere, the low-pass/blur filter (seed 000)
``gaussian(sigma, size)``   normalised Gaussian; default radius ``int(4 sigma + 0.5)``
                            (scipy.ndimage.gaussian_filter's truncate=4)
``SOBEL_X``, ``SOBEL_Y``    seed 000's G_x, G_y (x grows rightwards, y downwards)
``SHARPEN``                 ``[[0,-1,0], [-1,5,-1], [0,-1,0]]`` (identity + Laplacian edges)
``LAPLACIAN``               ``[[0,1,0], [1,-4,1], [0,1,0]]``
``SHIFT_RIGHT_UP``          P8.2's ``[[0, 1], [0, 0]]``, a true-convolution kernel whose
                            origin is the bottom-left element (:data:`SHIFT_RIGHT_UP_ANCHOR`)
``shift_kernel(right, up)`` the same shift as an odd, centred convolution kernel
``vertical_edge(h, w)``     seed 004: ``h`` rows of ``[-1, 1]`` (w=2) or ``[-1, 0, 1]`` (w=3)
``LINE_*``                  seed 001 Fig. 8.5 line templates (see below)
``SEED000_MULTICHANNEL``    (3, 3, 3): G_x on red, G_y on green, zeros on blue
==========================  ===============================================================

Figure 8.5 of seed 001 is a picture that did not survive into the text. Its kernels
are 3x3 templates for the segments squares and diamonds are made of (horizontal,
vertical, and the two slanted lines), drawn, like every image of that chapter (E8.1),
as black = 1 and white = 0; so they are the binary templates below, with the line
through the centre::

    LINE_HORIZONTAL  LINE_VERTICAL  LINE_DIAGONAL (\\)  LINE_ANTIDIAGONAL (/)
      0 0 0            0 1 0          1 0 0               0 0 1
      1 1 1            0 1 0          0 1 0               0 1 0
      0 0 0            0 1 0          0 0 1               1 0 0

Example:
    >>> from convnet.filters import kernels
    >>> kernels.vertical_edge(3, 3).tolist()
    [[-1.0, 0.0, 1.0], [-1.0, 0.0, 1.0], [-1.0, 0.0, 1.0]]
    >>> round(float(kernels.gaussian(1.0).sum()), 12), kernels.gaussian(1.0).shape
    (1.0, (9, 9))
"""

from __future__ import annotations

from numbers import Integral

import numpy as np

__all__ = ["HIGH_PASS_1D", "HIGH_PASS", "SOBEL_X", "SOBEL_Y", "SHARPEN", "LAPLACIAN",
           "SHIFT_RIGHT_UP", "SHIFT_RIGHT_UP_ANCHOR", "LINE_HORIZONTAL", "LINE_VERTICAL",
           "LINE_DIAGONAL", "LINE_ANTIDIAGONAL", "LINE_KERNELS", "SEED000_MULTICHANNEL",
           "KERNELS", "box", "gaussian", "shift_kernel", "vertical_edge"]


def _constant(rows) -> np.ndarray:
    array = np.array(rows, dtype=np.float64)
    array.setflags(write=False)
    return array


HIGH_PASS_1D = _constant([-1, 2, -1])
HIGH_PASS = _constant([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]])
SOBEL_X = _constant([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
SOBEL_Y = _constant([[-1, -2, -1], [0, 0, 0], [1, 2, 1]])
SHARPEN = _constant([[0, -1, 0], [-1, 5, -1], [0, -1, 0]])
LAPLACIAN = _constant([[0, 1, 0], [1, -4, 1], [0, 1, 0]])

#: P8.2: the impulse response of "shift one pixel right and one up", as printed in the
#: notes. Its origin w[0, 0] is the bottom-left element (the notes' j axis points up),
#: so pass ``anchor=SHIFT_RIGHT_UP_ANCHOR`` to :func:`convolve` with ``mode='same'``.
SHIFT_RIGHT_UP = _constant([[0, 1], [0, 0]])
SHIFT_RIGHT_UP_ANCHOR = (1, 0)

LINE_HORIZONTAL = _constant([[0, 0, 0], [1, 1, 1], [0, 0, 0]])
LINE_VERTICAL = _constant([[0, 1, 0], [0, 1, 0], [0, 1, 0]])
LINE_DIAGONAL = _constant(np.eye(3))
LINE_ANTIDIAGONAL = _constant(np.eye(3)[::-1])
LINE_KERNELS = {"horizontal": LINE_HORIZONTAL, "vertical": LINE_VERTICAL,
                "diagonal": LINE_DIAGONAL, "antidiagonal": LINE_ANTIDIAGONAL}

#: Seed 000 "Multi-Channel Convolutions": responds to vertical edges in red, horizontal
#: edges in green, and ignores blue. Shape (3, 3, 3) = (channel, row, col).
SEED000_MULTICHANNEL = _constant([SOBEL_X, SOBEL_Y, np.zeros((3, 3))])

KERNELS = {"high_pass_1d": HIGH_PASS_1D, "high_pass": HIGH_PASS, "sobel_x": SOBEL_X,
           "sobel_y": SOBEL_Y, "sharpen": SHARPEN, "laplacian": LAPLACIAN,
           "shift_right_up": SHIFT_RIGHT_UP, "line_horizontal": LINE_HORIZONTAL,
           "line_vertical": LINE_VERTICAL, "line_diagonal": LINE_DIAGONAL,
           "line_antidiagonal": LINE_ANTIDIAGONAL, "seed000_multichannel": SEED000_MULTICHANNEL}


def _sizes(size, ndim: int, name: str) -> tuple[int, ...]:
    if isinstance(size, Integral) and not isinstance(size, bool):
        size = (int(size),) * ndim
    if (not isinstance(size, (tuple, list)) or len(size) != ndim
            or not all(isinstance(s, Integral) and not isinstance(s, bool) and s >= 1
                       for s in size)):
        raise ValueError(f"{name}: expected a positive int or {ndim} positive ints, got {size!r}")
    return tuple(int(s) for s in size)


def box(size=3, ndim: int = 2) -> np.ndarray:
    """Low-pass "box" filter: every weight ``1 / (number of weights)``.

    Args:
        size: int or one int per dim (``(k_h, k_w)`` in 2-D).
        ndim: 1 for seed 000's ``[1/3, 1/3, 1/3]``-style filters, 2 for images.

    Example:
        >>> box(5, ndim=1).tolist()
        [0.2, 0.2, 0.2, 0.2, 0.2]
    """
    if ndim not in (1, 2):
        raise ValueError(f"ndim: expected 1 or 2, got {ndim!r}")
    shape = _sizes(size, ndim, "size")
    return np.full(shape, 1.0 / np.prod(shape))


def gaussian(sigma: float, size=None, ndim: int = 2) -> np.ndarray:
    """Normalised Gaussian ``exp(-r**2 / (2 sigma**2))``, summing to 1, centred.

    Args:
        sigma: standard deviation in pixels (> 0).
        size: odd int or per-dim odd ints; default ``2 * int(4 * sigma + 0.5) + 1``, the
            support of ``scipy.ndimage.gaussian_filter`` (truncate=4), which this kernel
            reproduces with a matching boundary.
        ndim: 1 or 2.

    Example:
        >>> gaussian(0.5, size=3, ndim=1).round(4).tolist()
        [0.1065, 0.787, 0.1065]
    """
    if not np.isfinite(sigma) or sigma <= 0:
        raise ValueError(f"sigma: expected a positive number, got {sigma!r}")
    if ndim not in (1, 2):
        raise ValueError(f"ndim: expected 1 or 2, got {ndim!r}")
    shape = _sizes(2 * int(4.0 * sigma + 0.5) + 1 if size is None else size, ndim, "size")
    if any(s % 2 == 0 for s in shape):
        raise ValueError(f"size: a Gaussian kernel needs odd sizes to be centred, got {size!r}")
    profiles = [np.exp(-0.5 * (np.arange(s) - s // 2) ** 2 / sigma ** 2) for s in shape]
    profiles = [p / p.sum() for p in profiles]
    return profiles[0] if ndim == 1 else np.outer(profiles[0], profiles[1])


def shift_kernel(right: int = 1, up: int = 1) -> np.ndarray:
    """True-convolution kernel (odd, centred) that moves an image ``right`` and ``up`` pixels.

    The impulse response of the shift (seed 001 P8.2): a single 1 at ``up`` rows above
    and ``right`` columns right of the centre. :func:`convolve` with the default anchor
    applies it; negative values shift left/down.

    Example:
        >>> shift_kernel(1, 1).tolist()
        [[0.0, 0.0, 1.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    """
    if not all(isinstance(v, Integral) and not isinstance(v, bool) for v in (right, up)):
        raise TypeError(f"right, up: expected ints, got {right!r}, {up!r}")
    radius = max(abs(right), abs(up))
    kernel = np.zeros((2 * radius + 1, 2 * radius + 1))
    kernel[radius - up, radius + right] = 1.0
    return kernel


def vertical_edge(height: int = 3, width: int = 2) -> np.ndarray:
    """Seed 004's vertical-edge detector: ``height`` rows of ``[-1, 1]`` or ``[-1, 0, 1]``.

    As a correlation kernel it gives a large positive value where dark (left) meets
    bright (right), a large negative one for bright-to-dark; the height sets the length
    of edge it integrates over.

    Example:
        >>> vertical_edge(2).tolist()
        [[-1.0, 1.0], [-1.0, 1.0]]
    """
    if not isinstance(height, Integral) or isinstance(height, bool) or height < 1:
        raise ValueError(f"height: expected a positive int, got {height!r}")
    rows = {2: [-1.0, 1.0], 3: [-1.0, 0.0, 1.0]}
    if width not in rows:
        raise ValueError(f"width: expected 2 ([-1, 1]) or 3 ([-1, 0, 1]), got {width!r}")
    return np.tile(rows[width], (int(height), 1))
