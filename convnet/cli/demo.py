"""``convnet demo``: the notes' worked examples, computed by the library's own ops."""

from __future__ import annotations

import numpy as np


def demo() -> int:
    """Print the notes' worked examples, computed by convnet."""
    from .. import functional as F
    from ..ops.padding import pad
    from ..ops.windows import im2col

    np.set_printoptions(linewidth=110)
    m = np.array([[[0, 1, 2, 3, 2, 5, 6, 7, 8, 14, 10, 11, 12, 8, 14]]], dtype=np.float32)
    high_pass = np.array([[[-1, 2, -1]]], dtype=np.float32)
    print("1-D high-pass filter [-1, 2, -1] (seed 000):")
    print("  m       =", m.ravel().astype(int).tolist())
    print("  m * f   =", F.conv1d(m, high_pass).data.ravel().astype(int).tolist())
    print("\nPadding keeps the 15 samples ('same'); the border decides the ends:")
    for mode in ("zeros", "replicate", "circular", "reflect", "symmetric"):
        y = F.conv1d(m, high_pass, padding="same", padding_mode=mode).data.ravel()
        print(f"  {mode:<10}", y.astype(int).tolist())
    x = np.arange(1, 6, dtype=np.float32).reshape(1, 1, 5)
    f = np.ones((1, 1, 3), dtype=np.float32)
    print("\nStride 2 on 5 samples, filter [1, 1, 1]:")
    print("  padded  ('same')  ->", F.conv1d(x, f, stride=2, padding="same").data.ravel().tolist())
    print("  unpadded ('valid') ->", F.conv1d(x, f, stride=2).data.ravel().tolist())
    image = np.arange(12, dtype=np.float32).reshape(1, 1, 3, 4)
    print("\nim2col of a 3x4 channel, 2x2 windows, stride 2 (rows: filter elements, "
          "columns: output pixels):")
    print(im2col(pad(image, ((0, 1), (0, 0))), (2, 2), (2, 2), (1, 1), (2, 2)))
    print("\nA [16 | 4x4 s 2] layer on a 28x28 image:",
          F.conv2d(np.zeros((1, 1, 28, 28), np.float32), np.zeros((16, 1, 4, 4), np.float32),
                   stride=2).shape, "with", 16 * 4 * 4, "weights (seed 003)")
    return 0
