"""Benchmark max and average pooling: convnet vs a plain-NumPy baseline vs PyTorch CPU.

Run from the repository root:

    python benchmarks/pool.py            # median of 5 repeats
    python benchmarks/pool.py --quick    # smoke test

Cases, on a (64, 64, 32, 32) float32 input: 2x2 stride 2, and 3x3 stride 2 with the
notes' 'same' padding (out = (in - 1) // 2 + 1 = 16; padding 1 before, 0 after),
for max pooling (padding -inf) and average pooling (padding zeros, counted).
Forward+backward = forward then ``backward(g)`` with a fixed upstream gradient.

The NumPy baseline is what one writes without a library: np.pad, then
``sliding_window_view`` and a max/mean over the window axes; backward with
argmax over the copied windows and ``np.add.at``. PyTorch runs with 2 threads;
for 'same' it pads explicitly with F.pad (it has no asymmetric pooling padding).
Ratios are convnet time / other time (< 1: convnet faster), all from one run.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _timing import (  # noqa: E402
    add_repo_to_path, geomean, import_torch, machine_note, median_time, print_table, settle,
)

add_repo_to_path()
import convnet  # noqa: E402
import convnet.functional as F  # noqa: E402

SHAPE = (64, 64, 32, 32)
# (name, kind, kernel, stride, (before, after) padding per spatial dim)
CASES = [
    ("max 2x2 s2", "max", 2, 2, (0, 0)),
    ("max 3x3 s2 same", "max", 3, 2, (1, 0)),
    ("avg 2x2 s2", "avg", 2, 2, (0, 0)),
    ("avg 3x3 s2 same", "avg", 3, 2, (1, 0)),
]


def numpy_pool(x, kind, kernel, stride, pads):
    """Forward of the baseline; returns (y, backward) with backward(dy) -> dx."""
    fill = -np.inf if kind == "max" else 0.0
    padded = np.pad(x, ((0, 0), (0, 0), pads, pads), constant_values=fill)
    windows = np.lib.stride_tricks.sliding_window_view(padded, (kernel, kernel), axis=(2, 3))
    windows = windows[:, :, ::stride, ::stride]                 # (N, C, OH, OW, k, k)
    n, c, out_h, out_w = windows.shape[:4]
    if kind == "avg":
        y = windows.mean(axis=(4, 5))
    else:
        flat = windows.reshape(n, c, out_h, out_w, kernel * kernel)
        winner = flat.argmax(axis=-1)
        y = np.take_along_axis(flat, winner[..., None], -1)[..., 0]

    def backward(dy):
        grad = np.zeros_like(padded)
        rows = np.arange(out_h)[:, None] * stride
        cols = np.arange(out_w)[None, :] * stride
        nn = np.arange(n)[:, None, None, None]
        cc = np.arange(c)[None, :, None, None]
        if kind == "avg":
            share = dy / (kernel * kernel)
            for i in range(kernel):
                for j in range(kernel):
                    np.add.at(grad, (nn, cc, rows + i, cols + j), share)
        else:
            np.add.at(grad, (nn, cc, rows + winner // kernel, cols + winner % kernel), dy)
        return grad[:, :, pads[0]:pads[0] + x.shape[2], pads[0]:pads[0] + x.shape[3]]

    return y.astype(x.dtype), backward


def convnet_pool(x, kind, kernel, stride, pads):
    padding = "same" if pads != (0, 0) else 0
    if kind == "max":
        return F.max_pool2d(x, kernel, stride, padding)
    return F.avg_pool2d(x, kernel, stride, padding)


def torch_pool(torch, x, kind, kernel, stride, pads):
    tf = torch.nn.functional
    if pads != (0, 0):
        fill = float("-inf") if kind == "max" else 0.0
        x = tf.pad(x, (pads[0], pads[1], pads[0], pads[1]), value=fill)
    pool = tf.max_pool2d if kind == "max" else tf.avg_pool2d
    return pool(x, kernel, stride)


def check(torch, rng) -> None:
    """The three implementations agree on a small input before anything is timed."""
    x = rng.standard_normal((2, 3, 10, 12)).astype(np.float64)  # even, as 32
    dy_shape = None
    for _, kind, kernel, stride, pads in CASES:
        ours = convnet.tensor(x, requires_grad=True)
        y = convnet_pool(ours, kind, kernel, stride, pads)
        dy = rng.standard_normal(y.shape)
        y.backward(dy)
        base, base_backward = numpy_pool(x, kind, kernel, stride, pads)
        np.testing.assert_allclose(y.data, base, rtol=1e-12)
        np.testing.assert_allclose(ours.grad, base_backward(dy), rtol=1e-12, atol=1e-12)
        if torch is not None:
            tx = torch.tensor(x, requires_grad=True)
            ty = torch_pool(torch, tx, kind, kernel, stride, pads)
            ty.backward(torch.tensor(dy))
            np.testing.assert_allclose(ty.detach().numpy(), base, rtol=1e-12)
            np.testing.assert_allclose(tx.grad.numpy(), ours.grad, rtol=1e-12, atol=1e-12)
        dy_shape = y.shape
    assert dy_shape is not None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="2 repeats (smoke test)")
    args = parser.parse_args()
    repeats = 2 if args.quick else args.repeats
    torch = import_torch(2)
    rng = np.random.default_rng(0)
    check(torch, rng)
    print(f"numpy {np.__version__}" + (f", torch {torch.__version__} (2 threads)" if torch else "")
          + f", float32 {SHAPE}, median of {repeats}; times in ms")
    print(f"machine: {machine_note()}")
    print("verified: convnet == numpy baseline == torch (values and gradients, float64)")

    x = rng.standard_normal(SHAPE).astype(np.float32)
    rows, ratios_numpy, ratios_torch = [], [], []
    for name, kind, kernel, stride, pads in CASES:
        ours = convnet.tensor(x, requires_grad=True)
        dy = rng.standard_normal(convnet_pool(x, kind, kernel, stride, pads).shape).astype(np.float32)

        def run_convnet():
            ours.grad = None
            convnet_pool(ours, kind, kernel, stride, pads).backward(dy)

        def run_numpy():
            _, backward = numpy_pool(x, kind, kernel, stride, pads)
            backward(dy)

        settle()
        ours_fwd = median_time(lambda: convnet_pool(x, kind, kernel, stride, pads), repeats)
        settle()
        ours_both = median_time(run_convnet, repeats)
        settle()
        base_fwd = median_time(lambda: numpy_pool(x, kind, kernel, stride, pads), repeats)
        settle()
        base_both = median_time(run_numpy, repeats)
        torch_fwd = torch_both = None
        if torch is not None:
            tx = torch.tensor(x, requires_grad=True)
            tdy = torch.tensor(dy)

            def run_torch():
                tx.grad = None
                torch_pool(torch, tx, kind, kernel, stride, pads).backward(tdy)

            settle()
            with torch.no_grad():
                torch_fwd = median_time(lambda: torch_pool(torch, tx, kind, kernel, stride, pads),
                                        repeats)
            settle()
            torch_both = median_time(run_torch, repeats)
        ratio_numpy = ours_both / base_both
        ratio_torch = ours_both / torch_both if torch_both else None
        ratios_numpy.append(ratio_numpy)
        ratios_torch.append(ratio_torch)
        ms = lambda t: None if t is None else t * 1e3  # noqa: E731
        rows.append([name, ms(ours_fwd), ms(base_fwd), ms(torch_fwd), ms(ours_both),
                     ms(base_both), ms(torch_both), ratio_numpy, ratio_torch])
    rows.append(["geometric mean", None, None, None, None, None, None,
                 geomean(ratios_numpy), geomean(ratios_torch)])
    print_table(["case", "cn fwd", "np fwd", "th fwd", "cn f+b", "np f+b", "th f+b",
                 "cn/np f+b", "cn/th f+b"], rows)
    print("ratios are convnet time / other time for forward+backward (< 1: convnet faster)")


if __name__ == "__main__":
    main()
