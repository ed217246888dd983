"""Benchmark depthwise 3x3 convolution (MobileNet's layer): convnet vs PyTorch CPU.

Run from the repository root:

    python benchmarks/depthwise.py            # 9 rounds per shape
    python benchmarks/depthwise.py --quick    # smoke test

For each shape (N, C, H, W, stride) it times forward and forward+backward of
``conv2d(x, w, padding=1, stride=s, groups=C)`` with ``w`` of shape (C, 1, 3, 3), float32,
as installed (oneDNN where it loads) and with ``CONVNET_BACKEND=numpy`` (the NumPy/numba
backends: :mod:`convnet.ops.conv.depthwise`), against PyTorch (2 threads), twice: on NCHW
arrays against PyTorch's default tensors, and on
channels-last arrays (NHWC memory, what convnet's oneDNN convolutions return) against
``memory_format=torch.channels_last`` tensors, where PyTorch runs oneDNN's depthwise kernel. The
libraries run in interleaved blocks (benchmarks/_timing.paired_times), so a machine whose
speed drifts affects both sides alike. Ratios are convnet / PyTorch (< 1: convnet faster).
Results are checked against PyTorch first.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _timing import (  # noqa: E402
    add_repo_to_path, both_backends_vs_torch, geomean, import_torch, machine_note, print_table,
)

add_repo_to_path()

# (N, C, H, W, stride): MobileNetV2 / EfficientNet-like depthwise layers at CIFAR and 64x64
SHAPES = [(8, 256, 32, 32, 1), (16, 144, 28, 28, 1), (32, 384, 14, 14, 1),
          (16, 96, 56, 56, 2), (64, 32, 32, 32, 1)]


# calls a block: untimed, then timed back to back. A block of 3 timed calls after the
# blocks' pause measured the second thread waking up more than the layer (the same forward
# read 0.4 ms in a loop and 1.1 ms in such blocks, for both libraries, and the ratios of one
# shape swung 0.7-2.0 between runs); a layer in a network runs back to back.
BLOCKS = dict(warmup=3, block=10)


def make(shape, seed=0):
    n, c, h, w, stride = shape
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w), dtype=np.float32)
    k = (rng.standard_normal((c, 1, 3, 3), dtype=np.float32) / 3).astype(np.float32)
    out = (h + 2 - 3) // stride + 1
    g = rng.standard_normal((n, c, out, (w + 2 - 3) // stride + 1), dtype=np.float32)
    return x, k, g


def channels_last(array):
    """The same (N, C, H, W) values in NHWC memory, as PyTorch's channels_last, starting on
    a 64-byte boundary as a convnet layer leaves its output (and PyTorch's allocator its
    tensors): the layer's input and upstream gradient come from the layers around it."""
    from convnet.ops.layout import aligned_empty
    memory = aligned_empty(array.transpose(0, 2, 3, 1).shape, array.dtype)
    memory[...] = array.transpose(0, 2, 3, 1)
    return memory.transpose(0, 3, 1, 2)


def aligned(array):
    """``array`` copied to a row-major buffer on a 64-byte boundary (see channels_last)."""
    from convnet.ops.layout import aligned_empty
    memory = aligned_empty(array.shape, array.dtype)
    memory[...] = array
    return memory


def convnet_calls(x, k, g, stride, nhwc=False):
    import convnet
    import convnet.functional as F
    x, g = (channels_last(x), channels_last(g)) if nhwc else (aligned(x), aligned(g))
    # from_numpy keeps the memory layout (convnet.tensor copies to C order, as torch.tensor)
    xc = convnet.from_numpy(x).requires_grad_(True)
    kc = convnet.tensor(k, requires_grad=True)
    groups = x.shape[1]

    def forward():
        with convnet.no_grad():
            return F.conv2d(xc, kc, None, stride, 1, 1, groups)

    def both():
        xc.grad = kc.grad = None
        y = F.conv2d(xc, kc, None, stride, 1, 1, groups)
        y.backward(g)
        return y, xc.grad, kc.grad
    return forward, both


def torch_calls(torch, x, k, g, stride, nhwc):
    layout = torch.channels_last if nhwc else torch.contiguous_format
    xt = torch.from_numpy(x.copy()).contiguous(memory_format=layout).requires_grad_(True)
    kt = torch.from_numpy(k.copy()).requires_grad_(True)
    gt = torch.from_numpy(g.copy()).contiguous(memory_format=layout)
    groups = x.shape[1]

    def forward():
        with torch.no_grad():
            return torch.nn.functional.conv2d(xt, kt, None, stride, 1, 1, groups)

    def both():
        xt.grad = kt.grad = None
        y = torch.nn.functional.conv2d(xt, kt, None, stride, 1, 1, groups)
        y.backward(gt)
        return y, xt.grad, kt.grad
    return forward, both


def check(torch) -> None:
    x, k, g = make((2, 8, 9, 9, 2), seed=1)
    for nhwc in (False, True):
        ours = convnet_calls(x, k, g, 2, nhwc)[1]()
        theirs = torch_calls(torch, x, k, g, 2, nhwc)[1]()
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(np.asarray(getattr(a, "data", a)), b.detach().numpy(),
                                       rtol=1e-4, atol=1e-5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9, help="interleaved rounds per shape")
    parser.add_argument("--quick", action="store_true", help="2 rounds, 2 shapes (smoke test)")
    args = parser.parse_args()
    torch = import_torch()
    if torch is None:
        return
    check(torch)
    repeats = 2 if args.quick else args.repeats
    rows, ratios = [], {}
    for nhwc, layout in ((False, "NCHW"), (True, "channels-last")):
        for shape in SHAPES[:2] if args.quick else SHAPES:
            x, k, g = make(shape)
            row = ["x".join(map(str, shape[:4])) + f" s{shape[4]}", layout]
            ours = convnet_calls(x, k, g, shape[4], nhwc)
            theirs = torch_calls(torch, x, k, g, shape[4], nhwc)
            for index, name in ((0, "fwd"), (1, "f+b")):
                default, numpy_only, other, ratio, numpy_ratio = both_backends_vs_torch(
                    ours[index], theirs[index], repeats, **BLOCKS)
                ratios.setdefault((layout, name, "default"), []).append(ratio)
                ratios.setdefault((layout, name, "numpy"), []).append(numpy_ratio)
                row += [default * 1e3, numpy_only * 1e3, other * 1e3, ratio, numpy_ratio]
            rows.append(row)
        rows.append(["geomean", layout] + sum(
            [[None, None, None, geomean(ratios[layout, name, "default"]),
              geomean(ratios[layout, name, "numpy"])] for name in ("fwd", "f+b")], []))
    print(machine_note())
    print("cn: convnet as installed (oneDNN where loaded); np: CONVNET_BACKEND=numpy (the "
          "depthwise backend); th: PyTorch; ratios are convnet / PyTorch")
    print_table(["shape", "layout", "cn fwd", "np fwd", "th fwd", "cn/th", "np/th",
                 "cn f+b", "np f+b", "th f+b", "cn/th", "np/th"], rows)


if __name__ == "__main__":
    main()
