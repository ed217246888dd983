"""Benchmark FFT convolution against im2col, ``algorithm='auto'`` and PyTorch CPU.

Run from the repository root:

    python benchmarks/fft.py                  # forward, the whole grid (a few minutes)
    python benchmarks/fft.py --backward       # forward + backward instead of forward
    python benchmarks/fft.py --quick          # smoke test: 128x128 only, 1 repeat
    python benchmarks/fft.py --sizes 128 --kernels 3 31 --channels 1:1

Grid: one image (batch 1), float32, ``padding='same'`` (k // 2 on each side, so torch
computes the same thing), stride 1, channels ``C_in -> C_out`` in ``--channels``
(default 1:1 and 8:8), kernels 3, 7, 15, 31, 63, images 128x128 and 512x512.

For each case it times, in milliseconds,

* ``im2col``: ``convnet.functional.conv2d(..., algorithm='im2col')``;
* ``fft``:    the same with ``algorithm='fft'``;
* ``auto``:   the same with ``algorithm='auto'`` (the default), and which one it chose;
* ``torch``:  ``torch.nn.functional.conv2d`` with ``torch.set_num_threads(2)``;

then ``auto/best`` (auto's time over the faster of im2col and fft; the goal is <= 1.10)
and ``auto/torch`` (< 1: convnet faster). Each timing is one warm-up run then the
minimum of ``--repeats`` runs (the minimum, not the median, because this machine may
be shared and the minimum is the least disturbed run); a case whose warm-up run takes
over a second is timed by that single run.

Skipped, and marked ``skip`` in the table: im2col when its column matrix would exceed
4.5 GB (it would also run > 10 s), and torch when its unfolded input (the same size)
would exceed 4.5 GB: on the development machine torch took 5-6 s per call at 4.2 GB
(1->1, 512x512, 63x63) and over 20 s at 8.4 GB (8->8, 512x512, 31x31).

Before a case is timed, fft and auto are checked against im2col (or torch where
im2col is skipped): max |difference| / max |reference| <= 1e-4.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _timing import import_torch, machine_note, print_table, settle  # noqa: E402
from _timing import add_repo_to_path  # noqa: E402

add_repo_to_path()

import convnet  # noqa: E402
import convnet.functional as F  # noqa: E402
from convnet.ops import conv as conv_ops  # noqa: E402
from convnet.ops.conv import dispatch as conv_algorithms  # noqa: E402

COLUMN_LIMIT_BYTES = 4.5e9
DTYPE = np.float32


def timed_round_robin(runners: dict, repeats: int) -> tuple[dict, dict]:
    """Seconds and last result per runner: one warm-up run each, then ``repeats`` rounds
    of one run of each runner in turn (so a burst of load hits all of them alike), the
    minimum per runner. A runner whose warm-up takes over a second keeps that time."""
    times, outputs = {}, {}
    for name, run in runners.items():
        settle(0.05)
        start = time.perf_counter()
        outputs[name] = run()
        times[name] = time.perf_counter() - start
    repeated = [name for name in runners if times[name] <= 1.0]
    best = {name: float("inf") for name in repeated}
    for _ in range(repeats):
        for name in repeated:
            start = time.perf_counter()
            outputs[name] = runners[name]()
            best[name] = min(best[name], time.perf_counter() - start)
    times.update(best)
    return times, outputs


def column_bytes(in_channels: int, size: int, kernel: int) -> float:
    return in_channels * kernel * kernel * size * size * np.dtype(DTYPE).itemsize


def convnet_runner(x, w, g, algorithm, backward):
    xt = convnet.tensor(x, requires_grad=backward)
    wt = convnet.tensor(w, requires_grad=backward)
    pad = w.shape[-1] // 2

    def run():
        if not backward:
            return F.conv2d(xt, wt, padding=pad, algorithm=algorithm).data
        xt.grad = wt.grad = None
        y = F.conv2d(xt, wt, padding=pad, algorithm=algorithm)
        y.backward(g)
        return y.data
    return run


def torch_runner(torch, x, w, g, backward):
    xt = torch.from_numpy(x.copy()).requires_grad_(backward)
    wt = torch.from_numpy(w.copy()).requires_grad_(backward)
    gt = torch.from_numpy(g.copy())
    pad = w.shape[-1] // 2

    def run():
        if not backward:
            with torch.no_grad():
                return torch.nn.functional.conv2d(xt, wt, padding=pad).numpy()
        xt.grad = wt.grad = None
        y = torch.nn.functional.conv2d(xt, wt, padding=pad)
        y.backward(gt)
        return y.detach().numpy()
    return run


def scaled_error(a, reference) -> float:
    return float(np.max(np.abs(a - reference)) / max(1e-30, np.max(np.abs(reference))))


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=5, help="timed runs per case (default 5)")
    ap.add_argument("--quick", action="store_true", help="128x128 only, 1 repeat")
    ap.add_argument("--backward", action="store_true", help="time forward + backward")
    ap.add_argument("--sizes", type=int, nargs="+", default=[128, 512])
    ap.add_argument("--kernels", type=int, nargs="+", default=[3, 7, 15, 31, 63])
    ap.add_argument("--channels", nargs="+", default=["1:1", "8:8"],
                    help="C_in:C_out pairs (default 1:1 8:8)")
    args = ap.parse_args(argv)
    if args.quick:
        args.sizes, args.repeats = [128], 1
    try:
        args.channels = [tuple(int(v) for v in pair.split(":")) for pair in args.channels]
    except ValueError:
        ap.error(f"--channels: expected pairs like 8:8, got {args.channels}")
    return args


def main(argv=None):
    args = parse_args(argv)
    torch = import_torch(num_threads=2)
    what = "forward + backward" if args.backward else "forward"
    print(f"numpy {np.__version__}" + (f", torch {torch.__version__} (2 threads)" if torch else "")
          + f"; float32, batch 1, padding k//2, {what}; min of {args.repeats} after 1 warm-up; ms",
          flush=True)
    print(f"machine: {machine_note()}", flush=True)
    rng = np.random.default_rng(0)
    headers = ["C_in->C_out  size  k", "auto picks", "im2col", "fft", "auto", "torch",
               "fft/im2col", "auto/best", "auto/torch"]
    rows = []
    for in_channels, out_channels in args.channels:
        for size in args.sizes:
            for kernel in args.kernels:
                x = rng.standard_normal((1, in_channels, size, size), dtype=DTYPE)
                w = (rng.standard_normal((out_channels, in_channels, kernel, kernel), dtype=DTYPE)
                     / (kernel * np.sqrt(in_channels))).astype(DTYPE)
                g = rng.standard_normal((1, out_channels, size, size), dtype=DTYPE)
                spec = conv_ops.conv_spec(x.shape, x.dtype, w.shape, padding=kernel // 2)
                chosen = conv_algorithms.choose_algorithm(spec)
                too_big = column_bytes(in_channels, size, kernel) > COLUMN_LIMIT_BYTES
                runners = {}
                for name in ("im2col", "fft", "auto", "torch"):
                    if name in ("im2col", "torch") and too_big:
                        continue
                    if name == "torch" and torch is None:
                        continue
                    runners[name] = (torch_runner(torch, x, w, g, args.backward) if name == "torch"
                                     else convnet_runner(x, w, g, name, args.backward))
                times, outputs = timed_round_robin(runners, args.repeats)
                reference = outputs.get("im2col", outputs.get("torch"))
                if reference is not None:
                    for name in ("fft", "auto"):
                        error = scaled_error(outputs[name], reference)
                        if error > 1e-4:
                            print(f"WARNING {name} differs from the reference on "
                                  f"{in_channels}->{out_channels} {size} k{kernel}: {error:.1e}",
                                  file=sys.stderr)
                ms = {name: seconds * 1e3 for name, seconds in times.items()}
                best = min(ms[name] for name in ("im2col", "fft") if name in ms)
                rows.append([
                    f"{in_channels}->{out_channels}  {size}  {kernel}", chosen,
                    ms.get("im2col", "skip"), ms["fft"], ms["auto"], ms.get("torch", "skip"),
                    ms["fft"] / ms["im2col"] if "im2col" in ms else None,
                    ms["auto"] / best, ms["auto"] / ms["torch"] if "torch" in ms else None])
                print(f"  done {rows[-1][0]}", file=sys.stderr, flush=True)
    print()
    print_table(headers, rows, floatfmt=".2f")
    print(f"\nmachine after the run: {machine_note()}")
    print("auto/best: auto's time over the faster of im2col and fft (goal <= 1.10); "
          "auto/torch < 1: convnet faster; skip: not run (see the module docstring)")
    return rows


if __name__ == "__main__":
    main()
