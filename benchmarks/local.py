"""Benchmark the locally connected layer: convnet vs torch unfold+einsum vs NumPy einsum.

Run from the repository root:

    python benchmarks/local.py                 # all shapes, median of 5 repeats
    python benchmarks/local.py --quick         # smoke test: 2 repeats
    python benchmarks/local.py --repeats 10 --shapes 0 2

For each shape (N, Cin, H, W, Cout, k, stride, pad) it times, in milliseconds,

* forward:  ``y = layer(x)`` with x, weight and bias requiring grad;
* fwd+bwd:  that forward then ``y.backward(g)`` with a fixed upstream gradient ``g``
            (gradients reset to ``None`` between repeats, outside the timed region);

for three implementations of the same layer (weight one (Cout, Cin, k, k) filter bank
per output position, bias one per output unit), all float32, in the same run:

* ``convnet``: ``convnet.nn.LocallyConnected2d`` (position-major im2col, one batched
  matmul over positions);
* ``torch``:   the way torch users write it, since torch has no such layer::

       cols = F.unfold(x, k, padding=p, stride=s)            # (N, Cin*k*k, L)
       y = torch.einsum('ncl,loc->nol', cols, w) + b         # w (L, Cout, Cin*k*k)

  on CPU with ``torch.set_num_threads(2)`` (``--torch-threads``), backward by autograd (skipped with a note
  if torch does not import);
* ``torch-bmm``: the same, with the einsum replaced by ``torch.bmm`` on a contiguous
  (L, Cin*k*k, N) copy of the columns (torch's einsum hands bmm strided operands here,
  which is much slower; this column shows what a tuned torch version costs);
* ``numpy``:   the plain-NumPy way: ``np.einsum(..., optimize=True)`` on
  ``sliding_window_view`` windows, backward by two more einsums and a k*k loop of
  strided adds for the input gradient.

Each timing is one warm-up run then the median of ``--repeats`` runs; the last columns
are convnet/torch and convnet/numpy for fwd+bwd (< 1: convnet faster) with their
geometric means. Before timing, all three are checked against each other on small
shapes (values and gradients), so that they compute the same thing.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _timing import (  # noqa: E402
    add_repo_to_path, geomean, import_torch, machine_note, print_table, shape_label, time_impl,
)

add_repo_to_path()

# (N, Cin, H, W, Cout, k, stride, pad)
SHAPES = [
    (32, 16, 16, 16, 32, 3, 1, 1),
    (64, 3, 32, 32, 16, 5, 1, 2),
    (16, 32, 8, 8, 64, 3, 1, 1),
    (32, 16, 16, 16, 32, 3, 2, 1),
]

DTYPE = np.float32


def output_hw(shape):
    n, c, h, wd, co, k, s, p = shape
    return (h + 2 * p - k) // s + 1, (wd + 2 * p - k) // s + 1


def make_inputs(shape, seed=0):
    """x (N,C,H,W), weight (OH,OW,Co,C,k,k) (convnet's layout), bias (Co,OH,OW), g like y."""
    n, c, h, wd, co, k, s, p = shape
    oh, ow = output_hw(shape)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, wd), dtype=DTYPE)
    w = (rng.standard_normal((oh, ow, co, c, k, k), dtype=DTYPE) / np.sqrt(c * k * k))
    b = rng.standard_normal((co, oh, ow), dtype=DTYPE)
    g = rng.standard_normal((n, co, oh, ow), dtype=DTYPE)
    return x, w.astype(DTYPE), b, g


class ConvnetImpl:
    name = "convnet"

    def __init__(self, x, w, b, g, shape):
        import convnet
        import convnet.nn as nn
        n, c, h, wd, co, k, s, p = shape
        self.layer = nn.LocallyConnected2d(c, co, k, input_size=(h, wd), stride=s, padding=p)
        self.layer.weight.data[...] = w
        self.layer.bias.data[...] = b
        self.x = convnet.tensor(x, requires_grad=True)
        self.g = g

    def reset(self):
        self.x.grad = self.layer.weight.grad = self.layer.bias.grad = None

    def forward(self):
        return self.layer(self.x)

    def fwd_bwd(self):
        y = self.layer(self.x)
        y.backward(self.g)
        return y, (self.x.grad, self.layer.weight.grad, self.layer.bias.grad)


class TorchImpl:
    name = "torch"

    def __init__(self, torch, x, w, b, g, shape):
        n, c, h, wd, co, k, s, p = shape
        self.torch, self.k, self.s, self.p = torch, k, s, p
        self.oh, self.ow = output_hw(shape)
        oh, ow = self.oh, self.ow
        self.x = torch.from_numpy(x.copy()).requires_grad_(True)
        self.w = torch.from_numpy(w.reshape(oh * ow, co, c * k * k).copy()).requires_grad_(True)
        self.b = torch.from_numpy(b.copy()).requires_grad_(True)
        self.g = torch.from_numpy(g.copy())
        self.weight_shape = w.shape

    def reset(self):
        self.x.grad = self.w.grad = self.b.grad = None

    def forward(self):
        torch = self.torch
        cols = torch.nn.functional.unfold(self.x, self.k, padding=self.p, stride=self.s)
        y = torch.einsum("ncl,loc->nol", cols, self.w)
        return y.reshape(y.shape[0], y.shape[1], self.oh, self.ow) + self.b

    def fwd_bwd(self):
        y = self.forward()
        y.backward(self.g)
        return y, (self.x.grad, self.w.grad.reshape(self.weight_shape), self.b.grad)


class TorchBmmImpl(TorchImpl):
    """The same with the einsum spelled as a contiguous batched matmul over positions."""

    name = "torch-bmm"

    def forward(self):
        torch = self.torch
        cols = torch.nn.functional.unfold(self.x, self.k, padding=self.p, stride=self.s)
        y = torch.bmm(self.w, cols.permute(2, 1, 0).contiguous())      # (L, Co, N)
        return y.permute(2, 1, 0).reshape(y.shape[2], y.shape[1], self.oh, self.ow) + self.b


class NumpyImpl:
    name = "numpy"

    def __init__(self, x, w, b, g, shape):
        self.x, self.w, self.b, self.g = x, w, b, g
        self.k, self.s, self.p = shape[5], shape[6], shape[7]

    def reset(self):
        pass

    def _windows(self):
        p, k, s = self.p, self.k, self.s
        xp = np.pad(self.x, ((0, 0), (0, 0), (p, p), (p, p)))
        win = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(2, 3))
        return xp, win[:, :, ::s, ::s]                       # (N, C, OH, OW, k, k)

    def forward(self):
        _, win = self._windows()
        return np.einsum("nchwij,hwocij->nohw", win, self.w, optimize=True) + self.b

    def fwd_bwd(self):
        xp, win = self._windows()
        y = np.einsum("nchwij,hwocij->nohw", win, self.w, optimize=True) + self.b
        g, k, s, p = self.g, self.k, self.s, self.p
        dw = np.einsum("nohw,nchwij->hwocij", g, win, optimize=True)
        db = g.sum(axis=0)
        dwin = np.einsum("nohw,hwocij->nchwij", g, self.w, optimize=True)
        dxp = np.zeros_like(xp)
        oh, ow = g.shape[2:]
        for i in range(k):
            for j in range(k):
                dxp[:, :, i:i + s * (oh - 1) + 1:s, j:j + s * (ow - 1) + 1:s] += dwin[..., i, j]
        dx = dxp[:, :, p:xp.shape[2] - p, p:xp.shape[3] - p]
        return y, (dx, dw, db)


def _np(a):
    if hasattr(a, "detach"):
        a = a.detach()
    if hasattr(a, "numpy"):
        a = a.numpy()
    return np.asarray(a)


def _close(a, ref, tol):
    a, ref = _np(a).astype(np.float64), _np(ref).astype(np.float64)
    if a.shape != ref.shape:
        return False, f"shape {a.shape} != {ref.shape}"
    err = np.max(np.abs(a - ref)) / max(1.0, np.max(np.abs(ref)))
    return err <= tol, f"max scaled error {err:.2e}"


def verify(torch):
    """All implementations agree (y, dx, dw, db) on small shapes before any timing."""
    checks = [(2, 3, 7, 6, 4, 3, 2, 1), (2, 2, 5, 5, 3, 5, 1, 2), (1, 4, 4, 4, 5, 1, 1, 0)]
    ok = True
    for shape in checks:
        x, w, b, g = make_inputs(shape, seed=1)
        y, grads = NumpyImpl(x, w, b, g, shape).fwd_bwd()
        others = [ConvnetImpl(x, w, b, g, shape)]
        if torch is not None:
            others += [TorchImpl(torch, x, w, b, g, shape), TorchBmmImpl(torch, x, w, b, g, shape)]
        for impl in others:
            oy, ograds = impl.fwd_bwd()
            for label, a, r in zip(("y", "dx", "dw", "db"), (oy,) + tuple(ograds), (y,) + grads):
                good, msg = _close(a, r, 1e-4)
                if not good:
                    print(f"FAIL {impl.name} {label} vs numpy {shape}: {msg}", file=sys.stderr)
                    ok = False
    if not ok:
        raise SystemExit("verification failed; timings would not be comparable")
    print("verified: convnet == numpy einsum" + (" == torch unfold+einsum/bmm" if torch else "")
          + " (y, dx, dw, db)", flush=True)


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=5,
                    help="timed repeats per measurement; the median is reported (default 5)")
    ap.add_argument("--quick", action="store_true", help="smoke test: 2 repeats")
    ap.add_argument("--torch-threads", type=int, default=2, metavar="T",
                    help="torch.set_num_threads(T) (default 2; 1 is steadier on a busy machine)")
    ap.add_argument("--shapes", nargs="+", type=int, default=None, metavar="I",
                    help="indices of shapes to run; default all: "
                         + "; ".join(f"{i}={s}" for i, s in enumerate(SHAPES)))
    args = ap.parse_args(argv)
    if args.quick:
        args.repeats = 2
    if args.repeats < 1:
        ap.error("--repeats must be >= 1")
    args.shapes = list(range(len(SHAPES))) if args.shapes is None else args.shapes
    for i in args.shapes:
        if not 0 <= i < len(SHAPES):
            ap.error(f"--shapes: index {i} out of range 0..{len(SHAPES) - 1}")
    return args


def main(argv=None):
    args = parse_args(argv)
    torch = import_torch(num_threads=args.torch_threads)
    print(f"numpy {np.__version__}" + (f", torch {torch.__version__} "
          f"({torch.get_num_threads()} threads)" if torch else "")
          + f", float32, median of {args.repeats} after 1 warm-up; times in ms", flush=True)
    print(f"machine: {machine_note()}", flush=True)
    verify(torch)

    headers = ["shape (N x Cin x H x W -> Cout)", "cn fwd", "th fwd", "bmm fwd", "np fwd",
               "cn f+b", "th f+b", "bmm f+b", "np f+b", "cn/th f+b", "cn/bmm f+b", "cn/np f+b"]
    rows, r_th, r_bmm, r_np = [], [], [], []
    for i in args.shapes:
        shape = SHAPES[i]
        x, w, b, g = make_inputs(shape)
        cn = time_impl(ConvnetImpl(x, w, b, g, shape), args.repeats)
        th = time_impl(TorchImpl(torch, x, w, b, g, shape), args.repeats) if torch else None
        bmm = time_impl(TorchBmmImpl(torch, x, w, b, g, shape), args.repeats) if torch else None
        npy = time_impl(NumpyImpl(x, w, b, g, shape), args.repeats)
        q_th = cn[1] / th[1] if th else None
        q_bmm = cn[1] / bmm[1] if bmm else None
        q_np = cn[1] / npy[1]
        r_th.append(q_th)
        r_bmm.append(q_bmm)
        r_np.append(q_np)
        rows.append([f"{i}: {shape_label(shape)}", cn[0], th and th[0], bmm and bmm[0], npy[0],
                     cn[1], th and th[1], bmm and bmm[1], npy[1], q_th, q_bmm, q_np])
        print(f"  done {i}: {shape_label(shape)}", file=sys.stderr, flush=True)
    rows.append(["geometric mean"] + [None] * 8 + [geomean(r_th), geomean(r_bmm),
                                                   geomean(r_np)])
    sys.stderr.flush()
    print()
    print_table(headers, rows)
    print(f"\nmachine after the run: {machine_note()}")
    print("ratios are convnet time / other time for forward+backward (< 1: convnet faster)",
          flush=True)
    return rows


if __name__ == "__main__":
    main()
