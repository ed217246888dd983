"""Benchmark depthwise 3x3 convolution (MobileNet's layer): convnet vs PyTorch CPU.

Run from the repository root:

    python benchmarks/depthwise.py            # 7 rounds per shape
    python benchmarks/depthwise.py --quick    # smoke test

For each shape (N, C, H, W, stride) it times forward and forward+backward of
``conv2d(x, w, padding=1, stride=s, groups=C)`` with ``w`` of shape (C, 1, 3, 3), float32,
against PyTorch (2 threads) twice: on its default NCHW tensors, and on channels-last tensors
(``memory_format=torch.channels_last``, where PyTorch runs oneDNN's depthwise kernel). The
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
    add_repo_to_path, geomean, import_torch, machine_note, paired_times, print_table,
)

add_repo_to_path()

# (N, C, H, W, stride): MobileNetV2 / EfficientNet-like depthwise layers at CIFAR and 64x64
SHAPES = [(8, 256, 32, 32, 1), (16, 144, 28, 28, 1), (32, 384, 14, 14, 1),
          (16, 96, 56, 56, 2), (64, 32, 32, 32, 1)]


def make(shape, seed=0):
    n, c, h, w, stride = shape
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w), dtype=np.float32)
    k = (rng.standard_normal((c, 1, 3, 3), dtype=np.float32) / 3).astype(np.float32)
    out = (h + 2 - 3) // stride + 1
    g = rng.standard_normal((n, c, out, (w + 2 - 3) // stride + 1), dtype=np.float32)
    return x, k, g


def convnet_calls(x, k, g, stride):
    import convnet
    import convnet.functional as F
    xc, kc = convnet.tensor(x, requires_grad=True), convnet.tensor(k, requires_grad=True)
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


def torch_calls(torch, x, k, g, stride, channels_last):
    layout = torch.channels_last if channels_last else torch.contiguous_format
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
    ours = convnet_calls(x, k, g, 2)[1]()
    for channels_last in (False, True):
        theirs = torch_calls(torch, x, k, g, 2, channels_last)[1]()
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(np.asarray(getattr(a, "data", a)), b.detach().numpy(),
                                       rtol=1e-4, atol=1e-5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="interleaved rounds per shape")
    parser.add_argument("--quick", action="store_true", help="2 rounds, 2 shapes (smoke test)")
    args = parser.parse_args()
    torch = import_torch()
    if torch is None:
        return
    check(torch)
    repeats = 2 if args.quick else args.repeats
    rows, ratios = [], {key: [] for key in ("fwd", "f+b", "fwd cl", "f+b cl")}
    for shape in SHAPES[:2] if args.quick else SHAPES:
        x, k, g = make(shape)
        ours = convnet_calls(x, k, g, shape[4])
        row = ["x".join(map(str, shape[:4])) + f" s{shape[4]}"]
        for channels_last, suffix in ((False, ""), (True, " cl")):
            theirs = torch_calls(torch, x, k, g, shape[4], channels_last)
            for index, name in ((0, "fwd"), (1, "f+b")):
                (mine, other), ratio = paired_times([ours[index], theirs[index]], repeats)
                ratios[name + suffix].append(ratio)
                row += [mine * 1e3, other * 1e3, ratio]
        rows.append(row)
    rows.append(["geomean"] + sum([[None, None, geomean(ratios[key])] for key in ratios], []))
    print(machine_note())
    print_table(["shape", "cn fwd", "th fwd", "ratio", "cn f+b", "th f+b", "ratio",
                 "cn fwd", "th cl fwd", "ratio", "cn f+b", "th cl f+b", "ratio"], rows)


if __name__ == "__main__":
    main()
