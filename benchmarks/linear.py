"""Benchmark fully connected layers (forward + backward): convnet vs PyTorch.

Run from the repository root:

    python benchmarks/linear.py           # 5 rounds per shape
    python benchmarks/linear.py --quick   # smoke test

Each case is ``linear(x, W, b)`` and its backward (input, weight and bias gradients) on
float32, timed three ways in interleaved blocks (benchmarks/_timing.paired_times): convnet as
installed (oneDNN's inner product for layers of at least 2**26 multiply-adds,
:mod:`convnet.ops.linear_onednn`), convnet with ``CONVNET_BACKEND=numpy`` (NumPy's matmul,
i.e. OpenBLAS) and PyTorch (2 threads). Ratios are convnet / PyTorch (< 1: convnet faster).
Results are checked against PyTorch first.
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

SHAPES = [(128, 400, 120), (128, 800, 500), (32, 1024, 512), (128, 512, 256),
          (256, 4096, 1000), (128, 120, 84)]     # (batch, in, out): LeNet ... AlexNet's head


def calls(torch, batch, features_in, features_out):
    import convnet
    import convnet.functional as F
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, features_in)).astype(np.float32)
    w = (rng.standard_normal((features_out, features_in)) * 0.05).astype(np.float32)
    b = rng.standard_normal(features_out).astype(np.float32)
    g = rng.standard_normal((batch, features_out)).astype(np.float32)
    ours_args = [convnet.from_numpy(a).requires_grad_(True) for a in (x, w, b)]
    theirs_args = [torch.from_numpy(a).requires_grad_(True) for a in (x, w, b)]
    gt = torch.from_numpy(g)

    def ours():
        for a in ours_args:
            a.grad = None
        y = F.linear(*ours_args)
        y.backward(g)
        return [y.data] + [a.grad for a in ours_args]

    def theirs():
        for a in theirs_args:
            a.grad = None
        y = torch.nn.functional.linear(*theirs_args)
        y.backward(gt)
        return [y.detach().numpy()] + [a.grad.numpy() for a in theirs_args]
    return ours, theirs


def main() -> None:
    repeats, quick = smoke_test_arguments(__doc__)
    torch = import_torch()
    if torch is None:
        return

    def close(a, b):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4 * max(1, np.abs(b).max()))

    cases = ((("x".join(map(str, shape)),) + calls(torch, *shape) + (close,))
             for shape in (SHAPES[:2] if quick else SHAPES))
    both_backends_table(cases, repeats, "case", "fwd+bwd ms; batch x in x out",
                        floatfmt=".3f")


if __name__ == "__main__":
    main()
