"""Benchmark transposed convolution (DCGAN's and U-Net's up-convolutions): convnet vs PyTorch.

Run from the repository root:

    python benchmarks/conv_transpose.py           # 5 rounds per shape
    python benchmarks/conv_transpose.py --quick   # smoke test

For each shape it times ``conv_transpose2d(x, w, stride, padding)`` then ``backward(g)``,
float32, three ways in interleaved blocks (benchmarks/_timing.paired_times): convnet as
installed (oneDNN's backward-data primitive where the library loads,
:mod:`convnet.ops.conv.transpose_onednn`), convnet with ``CONVNET_BACKEND=numpy`` (a BLAS
product and col2im, :mod:`convnet.ops.conv.transpose`) and PyTorch (2 threads). Ratios are
convnet / PyTorch (< 1: convnet faster). Results are checked against PyTorch first.
"""

from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _timing import (  # noqa: E402
    add_repo_to_path, both_backends_table, import_torch, smoke_test_arguments,
)

add_repo_to_path()

# (N, C_in, H, W, C_out, kernel, stride, padding): DCGAN's generator (64x64 images), U-Net's
# 2x2 up-convolutions at 128x128
SHAPES = [(64, 512, 4, 4, 256, 4, 2, 1), (64, 256, 8, 8, 128, 4, 2, 1),
          (64, 128, 16, 16, 64, 4, 2, 1), (8, 64, 32, 32, 32, 2, 2, 0),
          (8, 32, 64, 64, 16, 2, 2, 0)]


def make(shape, seed=0):
    n, c, h, w, out, k, s, p = shape
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w), dtype=np.float32)
    weight = (rng.standard_normal((c, out, k, k), dtype=np.float32) / k).astype(np.float32)
    size = lambda d: (d - 1) * s - 2 * p + k  # noqa: E731
    g = rng.standard_normal((n, out, size(h), size(w)), dtype=np.float32)
    return x, weight, g


def convnet_call(x, weight, g, stride, padding):
    import convnet
    import convnet.functional as F
    xc = convnet.from_numpy(x).requires_grad_(True)
    wc = convnet.tensor(weight, requires_grad=True)

    def both():
        xc.grad = wc.grad = None
        y = F.conv_transpose2d(xc, wc, None, stride, padding)
        y.backward(g)
        return y.data, xc.grad, wc.grad
    return both


def torch_call(torch, x, weight, g, stride, padding):
    xt = torch.from_numpy(x.copy()).requires_grad_(True)
    wt = torch.from_numpy(weight.copy()).requires_grad_(True)
    gt = torch.from_numpy(g.copy())

    def both():
        xt.grad = wt.grad = None
        y = torch.nn.functional.conv_transpose2d(xt, wt, None, stride, padding)
        y.backward(gt)
        return y.detach().numpy(), xt.grad.numpy(), wt.grad.numpy()
    return both


def main() -> None:
    repeats, quick = smoke_test_arguments(__doc__)
    torch = import_torch()
    if torch is None:
        return

    def close(a, b):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-3 * np.abs(b).max())

    def prepared():
        for shape in SHAPES[:2] if quick else SHAPES:
            x, weight, g = make(shape)
            n, c, h, w, out, k, s, p = shape
            yield (f"{n}x{c}x{h}x{w}->{out} k{k} s{s} p{p}",
                   convnet_call(x, weight, g, s, p), torch_call(torch, x, weight, g, s, p), close)
    both_backends_table(prepared(), repeats, "shape", "fwd+bwd ms")


if __name__ == "__main__":
    main()
