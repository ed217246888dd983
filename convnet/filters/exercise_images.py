"""The images of seed 001's exercises, with documented readings where a figure was lost.

Black squares are 1 and white squares 0, as the notes draw every image of the chapter.

==================  ==========================================================================
name                content (source)
==================  ==========================================================================
``E8_1_IMAGE``      8x8 image of E8.1. *Lost figure*; the reading used here: a letter X
                    (both diagonals, rows and columns 1-6) and a short horizontal bar, so
                    one kernel's preference shows against other orientations.
``E8_1_KERNEL``     3x3 kernel of E8.1. *Lost figure*; read as the diagonal line ``\\``
                    (Fig. 8.5's :data:`~convnet.filters.kernels.LINE_DIAGONAL`): it
                    detects lines running from top-left to bottom-right.
``E8_4_IMAGE``      5x5 image of E8.4, as printed.
``E8_6_KERNEL``     3x3 convolution kernel of E8.6. *Lost figure*; read as P8.1's kernel
                    ``w[i, j] = 3 j + i + 1`` drawn with the ``j`` axis upwards
                    (rows ``7 8 9 / 4 5 6 / 1 2 3``), asymmetric so that convolution and
                    correlation differ.
``E8_3_LETTERS``    7x7 glyphs of E8.3's font. *Lost typeface* (only the text
                    ``ABC...Z`` survived); read as a stroke font of straight horizontal,
                    vertical and 45-degree strokes: I, L, N, Z, X, K.
==================  ==========================================================================

Example:
    >>> from convnet.filters.exercise_images import E8_1_IMAGE, E8_1_KERNEL
    >>> E8_1_IMAGE.shape, E8_1_KERNEL.shape, int(E8_1_IMAGE.sum())
    ((8, 8), (3, 3), 15)
"""

from __future__ import annotations

import numpy as np

__all__ = ["E8_1_IMAGE", "E8_1_KERNEL", "E8_4_IMAGE", "E8_6_KERNEL", "E8_3_LETTERS"]


def _picture(rows: str) -> np.ndarray:
    """'#' = 1 (black), '.' = 0 (white), one text row per image row."""
    array = np.array([[1.0 if ch == "#" else 0.0 for ch in row.strip()]
                      for row in rows.strip().splitlines()])
    array.setflags(write=False)
    return array


E8_1_IMAGE = _picture("""
    ........
    .#....#.
    ..#..#..
    ...##...
    ...##...
    ..#..#..
    .#....#.
    ...###..
""")
E8_1_KERNEL = _picture("""
    #..
    .#.
    ..#
""")
E8_4_IMAGE = _picture("""
    .....
    .....
    ..#..
    .##..
    .....
""")
E8_6_KERNEL = np.array([[7.0, 8.0, 9.0], [4.0, 5.0, 6.0], [1.0, 2.0, 3.0]])
E8_6_KERNEL.setflags(write=False)

E8_3_LETTERS = {
    "I": _picture("...#...\n...#...\n...#...\n...#...\n...#...\n...#...\n...#..."),
    "L": _picture("#......\n#......\n#......\n#......\n#......\n#......\n#######"),
    "N": _picture("#.....#\n##....#\n#.#...#\n#..#..#\n#...#.#\n#....##\n#.....#"),
    "Z": _picture("#######\n.....#.\n....#..\n...#...\n..#....\n.#.....\n#######"),
    "X": _picture("#.....#\n.#...#.\n..#.#..\n...#...\n..#.#..\n.#...#.\n#.....#"),
    "K": _picture("#...#..\n#..#...\n#.#....\n##.....\n#.#....\n#..#...\n#...#.."),
}
