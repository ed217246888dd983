"""Benchmark activations, softmax, segmentation cross-entropy and bilinear upsampling:
convnet vs PyTorch.

Run from the repository root:

    python benchmarks/activations.py           # 5 rounds per case
    python benchmarks/activations.py --quick   # smoke test

Each case is a forward and a backward pass on float32 (N, C, H, W) activations in
channels-last memory (what convnet's convolutions return; PyTorch's tensors in
``channels_last`` too), timed three ways in interleaved blocks (benchmarks/_timing.
paired_times): convnet as installed (oneDNN's eltwise and softmax primitives where the
library loads: :mod:`convnet.ops.eltwise_onednn`, :mod:`convnet.ops.softmax_onednn`,
:mod:`convnet.ops.resample_onednn`),
convnet with ``CONVNET_BACKEND=numpy`` (the NumPy formulas) and PyTorch (2 threads). Ratios
are convnet / PyTorch (< 1: convnet faster). Results are checked against PyTorch first.
"""

from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _timing import (  # noqa: E402
    add_repo_to_path, both_backends_table, import_torch, smoke_test_arguments,
)
from depthwise import channels_last  # noqa: E402

add_repo_to_path()

SHAPE = (32, 96, 28, 28)            # an EfficientNet/MobileNet stage at CIFAR-like sizes
SEGMENTATION = (8, 21, 128, 128)    # 21 classes (Pascal VOC) at 128x128
UPSAMPLE = (8, 64, 64, 64)          # a decoder stage going to 128x128


def cases(torch):
    """``(name, shape, convnet function, torch function)``; each maps a tensor to a scalar
    or a tensor whose backward the benchmark takes."""
    import convnet.functional as F
    TF = torch.nn.functional
    target = np.random.default_rng(1).integers(0, SEGMENTATION[1], (SEGMENTATION[0],)
                                               + SEGMENTATION[2:])
    import convnet
    target_c, target_t = convnet.tensor(target), torch.from_numpy(target)
    return [
        ("silu", SHAPE, F.silu, TF.silu),
        ("gelu", SHAPE, F.gelu, TF.gelu),
        ("hardswish", SHAPE, F.hardswish, TF.hardswish),
        ("softmax over channels", SEGMENTATION, lambda x: F.softmax(x, dim=1),
         lambda x: TF.softmax(x, dim=1)),
        ("cross-entropy, segmentation", SEGMENTATION,
         lambda x: F.cross_entropy(x, target_c), lambda x: TF.cross_entropy(x, target_t)),
        ("bilinear upsampling x2", UPSAMPLE,
         lambda x: F.interpolate(x, scale_factor=2, mode="bilinear"),
         lambda x: TF.interpolate(x, scale_factor=2, mode="bilinear")),
    ]


def convnet_call(function, x, g):
    import convnet
    xc = convnet.from_numpy(x).requires_grad_(True)

    def both():
        xc.grad = None
        y = function(xc)
        y.backward(g if y.ndim else None)
        return y.data, xc.grad
    return both


def torch_call(torch, function, x, g):
    xt = torch.from_numpy(np.ascontiguousarray(x)).contiguous(
        memory_format=torch.channels_last).requires_grad_(True)
    gt = torch.from_numpy(np.ascontiguousarray(g)).contiguous(memory_format=torch.channels_last)

    def both():
        xt.grad = None
        y = function(xt)
        y.backward(gt if y.ndim else None)
        return y.detach().numpy(), xt.grad.numpy()
    return both


def main() -> None:
    repeats, quick = smoke_test_arguments(__doc__)
    torch = import_torch()
    if torch is None:
        return

    def close(a, b):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5 * max(1, np.abs(b).max()))

    def prepared():
        for name, shape, ours_f, theirs_f in cases(torch)[:2] if quick else cases(torch):
            rng = np.random.default_rng(0)
            x = channels_last((rng.standard_normal(shape) * 3).astype(np.float32))
            out_shape = tuple(theirs_f(torch.from_numpy(x)).shape) or shape   # unused: scalar
            g = channels_last(rng.standard_normal(out_shape).astype(np.float32))
            yield (f"{name} {'x'.join(map(str, shape))}", convnet_call(ours_f, x, g),
                   torch_call(torch, theirs_f, x, g), close)
    both_backends_table(prepared(), repeats, "case", "fwd+bwd ms, channels-last")


if __name__ == "__main__":
    main()
