"""Benchmark 2-D convolution: convnet vs a plain-NumPy im2col baseline vs PyTorch CPU.

Run from the repository root:

    python benchmarks/conv.py                 # all shapes, median of 5 repeats
    python benchmarks/conv.py --quick         # smoke test: 2 repeats
    python benchmarks/conv.py --repeats 10 --shapes 0 3 6

For each shape (N, Cin, H, W, Cout, k, stride, pad) it times, in milliseconds,

* forward:       ``y = conv2d(x, w, b, stride, padding)`` with x, w, b requiring grad;
* fwd+bwd:       that forward followed by ``y.backward(g)`` with a fixed upstream
                 gradient ``g`` (gradients are reset to ``None`` between repeats,
                 outside the timed region);

for three implementations, all float32, in the same run:

* ``convnet``: ``convnet.functional.conv2d`` on convnet Tensors;
* ``numpy``:   the im2col baseline below (np.pad + sliding_window_view + matmul; backward
               by matmuls and a col2im with ``np.add.at``);
* ``torch``:   ``torch.nn.functional.conv2d`` on CPU with ``torch.set_num_threads(2)``
               (skipped with a note if torch does not import).

Each timing is one warm-up run then the median of ``--repeats`` runs (time.perf_counter).
The last columns are convnet/numpy and convnet/torch for fwd+bwd (< 1 means convnet is
faster), with their geometric means on the final line.

Before timing, the baseline is checked once on small shapes against a direct (loop over
kernel offsets) float64 reference and against torch, and convnet is checked against the
baseline, so that the comparison is between implementations that compute the same thing.
The script does not change thread settings of NumPy's BLAS (nor OPENBLAS_CORETYPE).
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
    (64, 1, 28, 28, 32, 5, 1, 2),
    (64, 32, 14, 14, 64, 5, 1, 2),
    (64, 3, 32, 32, 64, 3, 1, 1),
    (64, 64, 16, 16, 128, 3, 1, 1),
    (32, 128, 16, 16, 128, 3, 1, 1),
    (64, 64, 32, 32, 128, 3, 2, 1),
    (64, 256, 8, 8, 256, 1, 1, 0),
]

DTYPE = np.float32


# --------------------------------------------------------------------------------------
# Plain-NumPy im2col baseline (float32 throughout)
# --------------------------------------------------------------------------------------

def np_conv2d_forward(x, w, b, stride, pad):
    """Return (y, cache). x (N,C,H,W), w (Co,C,k,k), b (Co,)."""
    n, c, h, wd = x.shape
    co, _, k, _ = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(2, 3))
    win = win[:, :, ::stride, ::stride]                      # (N, C, OH, OW, k, k)
    oh, ow = win.shape[2], win.shape[3]
    cols = win.transpose(0, 2, 3, 1, 4, 5).reshape(n * oh * ow, c * k * k)  # copies
    wmat = w.reshape(co, c * k * k)
    out = cols @ wmat.T                                       # (N*OH*OW, Co)
    out += b
    y = out.reshape(n, oh, ow, co).transpose(0, 3, 1, 2)      # (N, Co, OH, OW) view
    return y, (cols, wmat, xp.shape, x.shape, k, stride, pad, oh, ow)


def np_conv2d_backward(dy, cache):
    """Return (dx, dw, db) for upstream gradient dy (N, Co, OH, OW)."""
    cols, wmat, xp_shape, x_shape, k, stride, pad, oh, ow = cache
    n, c, h, wd = x_shape
    co = wmat.shape[0]
    dymat = dy.transpose(0, 2, 3, 1).reshape(n * oh * ow, co)
    dw = (dymat.T @ cols).reshape(co, c, k, k)
    db = dy.sum(axis=(0, 2, 3))
    dcols = dymat @ wmat                                      # = (W^T @ dy^T)^T
    dcols = dcols.reshape(n, oh, ow, c, k, k).transpose(0, 3, 1, 2, 4, 5)  # (N,C,OH,OW,k,k)
    rows = (np.arange(oh) * stride)[:, None] + np.arange(k)[None, :]  # (OH, k)
    colsi = (np.arange(ow) * stride)[:, None] + np.arange(k)[None, :]  # (OW, k)
    ri = rows[:, None, :, None]                               # (OH, 1, k, 1)
    ci = colsi[None, :, None, :]                              # (1, OW, 1, k)
    dxp = np.zeros(xp_shape, dtype=dy.dtype)
    np.add.at(dxp, (slice(None), slice(None), ri, ci), dcols)
    dx = dxp[:, :, pad:pad + h, pad:pad + wd]
    return dx, dw, db


def direct_conv2d(x, w, b, stride, pad):
    """Independent float64 reference: sum over kernel offsets of strided slices."""
    x = x.astype(np.float64)
    w = w.astype(np.float64)
    n, c, h, wd = x.shape
    co, _, k, _ = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh = (h + 2 * pad - k) // stride + 1
    ow = (wd + 2 * pad - k) // stride + 1
    y = np.zeros((n, co, oh, ow)) + b.astype(np.float64)[None, :, None, None]
    for i in range(k):
        for j in range(k):
            patch = xp[:, :, i:i + stride * (oh - 1) + 1:stride, j:j + stride * (ow - 1) + 1:stride]
            y += np.einsum("nchw,oc->nohw", patch, w[:, :, i, j])
    return y


# --------------------------------------------------------------------------------------
# Inputs and implementations
# --------------------------------------------------------------------------------------

def make_inputs(shape, seed=0):
    n, c, h, wd, co, k, s, p = shape
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, wd), dtype=DTYPE)
    w = (rng.standard_normal((co, c, k, k), dtype=DTYPE) / np.sqrt(c * k * k)).astype(DTYPE)
    b = rng.standard_normal(co, dtype=DTYPE)
    oh = (h + 2 * p - k) // s + 1
    ow = (wd + 2 * p - k) // s + 1
    g = rng.standard_normal((n, co, oh, ow), dtype=DTYPE)
    return x, w, b, g


class NumpyImpl:
    name = "numpy"

    def __init__(self, x, w, b, g, stride, pad):
        self.x, self.w, self.b, self.g, self.s, self.p = x, w, b, g, stride, pad

    def reset(self):
        pass

    def forward(self):
        return np_conv2d_forward(self.x, self.w, self.b, self.s, self.p)[0]

    def fwd_bwd(self):
        y, cache = np_conv2d_forward(self.x, self.w, self.b, self.s, self.p)
        return y, np_conv2d_backward(self.g, cache)


class ConvnetImpl:
    name = "convnet"

    def __init__(self, x, w, b, g, stride, pad):
        import convnet
        import convnet.functional as F
        self.F = F
        self.x = convnet.tensor(x, requires_grad=True)
        self.w = convnet.tensor(w, requires_grad=True)
        self.b = convnet.tensor(b, requires_grad=True)
        self.g, self.s, self.p = g, stride, pad

    def reset(self):
        self.x.grad = self.w.grad = self.b.grad = None

    def forward(self):
        return self.F.conv2d(self.x, self.w, self.b, self.s, self.p)

    def fwd_bwd(self):
        y = self.F.conv2d(self.x, self.w, self.b, self.s, self.p)
        y.backward(self.g)
        return y, (self.x.grad, self.w.grad, self.b.grad)


class TorchImpl:
    name = "torch"

    def __init__(self, torch, x, w, b, g, stride, pad):
        self.torch = torch
        self.x = torch.from_numpy(x.copy()).requires_grad_(True)
        self.w = torch.from_numpy(w.copy()).requires_grad_(True)
        self.b = torch.from_numpy(b.copy()).requires_grad_(True)
        self.g = torch.from_numpy(g.copy())
        self.s, self.p = stride, pad

    def reset(self):
        self.x.grad = self.w.grad = self.b.grad = None

    def forward(self):
        return self.torch.nn.functional.conv2d(self.x, self.w, self.b, self.s, self.p)

    def fwd_bwd(self):
        y = self.torch.nn.functional.conv2d(self.x, self.w, self.b, self.s, self.p)
        y.backward(self.g)
        return y, (self.x.grad, self.w.grad, self.b.grad)


def _np(a):
    if hasattr(a, "detach"):      # torch tensor
        a = a.detach()
    if hasattr(a, "numpy"):       # torch or convnet tensor
        a = a.numpy()
    return np.asarray(a)


def _close(a, ref, tol):
    a, ref = _np(a).astype(np.float64), _np(ref).astype(np.float64)
    if a.shape != ref.shape:
        return False, f"shape {a.shape} != {ref.shape}"
    err = np.max(np.abs(a - ref)) / max(1.0, np.max(np.abs(ref)))
    return err <= tol, f"max scaled error {err:.2e}"


def verify(torch, have_convnet):
    """Check the baseline (and convnet) on small shapes before timing anything."""
    checks = [(2, 3, 7, 6, 4, 3, 2, 1), (2, 2, 5, 5, 3, 5, 1, 2), (1, 4, 4, 4, 5, 1, 1, 0)]
    tol = 1e-4
    ok = True
    for shape in checks:
        n, c, h, wd, co, k, s, p = shape
        x, w, b, g = make_inputs(shape, seed=1)
        base = NumpyImpl(x, w, b, g, s, p)
        y, (dx, dw, db) = base.fwd_bwd()
        assert y.dtype == dx.dtype == dw.dtype == db.dtype == DTYPE, "baseline not float32"
        good, msg = _close(y, direct_conv2d(x, w, b, s, p), tol)
        if not good:
            print(f"FAIL baseline forward vs direct reference {shape}: {msg}", file=sys.stderr)
            ok = False
        if torch is not None:
            t = TorchImpl(torch, x, w, b, g, s, p)
            ty, tgrads = t.fwd_bwd()
            for label, a, r in zip(("y", "dx", "dw", "db"), (y, dx, dw, db), (ty,) + tgrads):
                good, msg = _close(a, r, tol)
                if not good:
                    print(f"FAIL baseline {label} vs torch {shape}: {msg}", file=sys.stderr)
                    ok = False
        if have_convnet:
            cn = ConvnetImpl(x, w, b, g, s, p)
            try:
                cy, cgrads = cn.fwd_bwd()
            except Exception as exc:
                print(f"WARNING convnet raised on {shape}: {exc!r}", file=sys.stderr)
                continue
            for label, a, r in zip(("y", "dx", "dw", "db"), (cy,) + cgrads, (y, dx, dw, db)):
                if a is None:
                    print(f"WARNING convnet {label} is None on {shape}", file=sys.stderr)
                    continue
                good, msg = _close(a, r, tol)
                if not good:
                    print(f"WARNING convnet {label} disagrees with baseline {shape}: {msg}",
                          file=sys.stderr)
                if _np(a).dtype != DTYPE:
                    print(f"WARNING convnet {label} dtype {_np(a).dtype}, expected float32",
                          file=sys.stderr)
    if not ok:
        raise SystemExit("baseline verification failed; timings would not be comparable")
    print("verified: numpy baseline == direct reference" + (" == torch" if torch else "")
          + (" (convnet checked against baseline)" if have_convnet else ""), flush=True)


# --------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------

def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=5,
                    help="timed repeats per measurement; the median is reported (default 5)")
    ap.add_argument("--quick", action="store_true",
                    help="smoke test: 2 repeats (overrides --repeats)")
    ap.add_argument("--shapes", nargs="+", default=None, metavar="I",
                    help="indices of shapes to run (0-based; space or comma separated); "
                         "default all: " + "; ".join(f"{i}={s}" for i, s in enumerate(SHAPES)))
    args = ap.parse_args(argv)
    if args.quick:
        args.repeats = 2
    if args.repeats < 1:
        ap.error("--repeats must be >= 1")
    if args.shapes is None:
        args.shapes = list(range(len(SHAPES)))
    else:
        idx = []
        for tok in args.shapes:
            for part in tok.split(","):
                if part.strip():
                    try:
                        i = int(part)
                    except ValueError:
                        ap.error(f"--shapes: not an integer: {part!r}")
                    if not 0 <= i < len(SHAPES):
                        ap.error(f"--shapes: index {i} out of range 0..{len(SHAPES) - 1}")
                    idx.append(i)
        args.shapes = idx
    return args


def main(argv=None):
    args = parse_args(argv)
    torch = import_torch(num_threads=2)
    try:
        import convnet.functional  # noqa: F401
        have_convnet = True
    except Exception as exc:
        have_convnet = False
        print(f"note: convnet.functional not importable ({exc.__class__.__name__}: {exc}); "
              "skipping the convnet column", file=sys.stderr)

    print(f"numpy {np.__version__}" + (f", torch {torch.__version__} "
          f"({torch.get_num_threads()} threads)" if torch else "")
          + f", float32, median of {args.repeats} after 1 warm-up; times in ms", flush=True)
    print(f"machine: {machine_note()}", flush=True)
    verify(torch, have_convnet)

    headers = ["shape (N x Cin x H x W -> Cout)", "cn fwd", "np fwd", "th fwd",
               "cn f+b", "np f+b", "th f+b", "cn/np f+b", "cn/th f+b"]
    rows, r_np, r_th = [], [], []
    for i in args.shapes:
        shape = SHAPES[i]
        n, c, h, wd, co, k, s, p = shape
        x, w, b, g = make_inputs(shape)
        res = {}
        if have_convnet:
            try:
                res["convnet"] = time_impl(ConvnetImpl(x, w, b, g, s, p), args.repeats)
            except Exception as exc:
                print(f"WARNING convnet failed on {shape}: {exc!r}", file=sys.stderr)
        res["numpy"] = time_impl(NumpyImpl(x, w, b, g, s, p), args.repeats)
        if torch is not None:
            res["torch"] = time_impl(TorchImpl(torch, x, w, b, g, s, p), args.repeats)
        cn, npy, th = res.get("convnet"), res.get("numpy"), res.get("torch")
        q_np = cn[1] / npy[1] if cn and npy else None
        q_th = cn[1] / th[1] if cn and th else None
        r_np.append(q_np)
        r_th.append(q_th)
        rows.append([f"{i}: {shape_label(shape)}",
                     cn and cn[0], npy[0], th and th[0],
                     cn and cn[1], npy[1], th and th[1], q_np, q_th])
        print(f"  done {i}: {shape_label(shape)}", file=sys.stderr, flush=True)
    gm_np, gm_th = geomean(r_np), geomean(r_th)
    sys.stderr.flush()
    rows.append(["geometric mean", None, None, None, None, None, None, gm_np, gm_th])
    print()
    print_table(headers, rows)
    print(f"\nmachine after the run: {machine_note()}")
    print("ratios are convnet time / other time for forward+backward (< 1: convnet faster)",
          flush=True)
    return rows


if __name__ == "__main__":
    main()
