"""Every performance target of the project in one run: the table of measured ratios.

Run from the repository root:

    python benchmarks/run_all.py                 # median of 5 repeats (training: 10 steps)
    python benchmarks/run_all.py --quick         # 3 repeats, 6 training steps, 3 memory steps
    python benchmarks/run_all.py --repeats 9 --with-tests --with-epochs

Targets (issue 18), all measured in this run (float32; torch on the CPU with 2 threads;
NumPy's BLAS left as it is):

1. conv forward+backward over the 7 shapes of benchmarks/conv.py (``conv2d`` then
   ``backward(g)``): geometric mean of convnet time / torch time <= 1.2, worst shape <= 1.6.
2. GEMM efficiency on the GEMM-heavy shapes 1, 3, 4, 5 (0-based indices into conv.SHAPES):
   convnet's fwd+bwd throughput, 2*MACs*3 flops / time, as a fraction of NumPy's float32
   matmul throughput on the same three GEMMs an im2col convolution does (forward
   cols(M,K) @ W^T(K,Co), weight gradient dY^T(Co,M) @ cols(M,K), input gradient
   dY(M,Co) @ W(Co,K), with M = N*OH*OW, K = Cin*k*k), the conv and the three bare
   products timed in turns in this run; the fraction is 1 / the median of their time
   ratios. Every shape must reach >= 0.70.
3. max pooling 2x2 stride 2 forward+backward on (64, 64, 32, 32) (NCHW for both): convnet
   time / torch time < 1.
4. one training step (zero_grad, forward, cross-entropy, backward, SGD momentum 0.9 step,
   loss.item()) of 'lenet' (1x28x28) and 'uwnet-cifar' (3x32x32), batch 128, 10 classes:
   convnet / torch <= 1.0 (benchmarks/train_step.py; torch twin with copied weights, the
   losses of the first two steps checked to agree); the U-Net of the segmentation issue at
   128x128, batch 8: <= 1.2 (benchmarks/unet_step.py).
5. peak memory of those training steps, each library in its own process: convnet step
   memory / torch step memory <= 1.5, step memory = peak RSS over the steps (VmHWM, reset
   just before them; ru_maxrss would carry this parent's peak into the children) minus the
   RSS after imports, model, optimizer, batch and one warm-up step on a batch of 2 that
   loads each library's compiled code (benchmarks/memory.py; that one-time first-use
   growth and the raw peaks are shown beside it).
6. whole epochs (timed with ``--with-epochs``, about 10 minutes; else listed with the
   command that measures them): a Fashion-MNIST epoch of fashion-cnn <= 1.0x PyTorch's and
   the wall time to 91% test accuracy no more than PyTorch's (benchmarks/train_fashion.py,
   5 epochs: the training times of the same number of epochs, and both accuracies after
   them), and an epoch of the notes' CIFAR net on 50,000 CIFAR-shaped images, loader and
   random crops included, batch 32, Adam: <= 1.0x (benchmarks/cifar_epoch.py).
7. numerical tests: ``python -m pytest -q`` (run only with --with-tests).

Every time is a median of repeats after a warm-up (4 calls a block for the convolutions:
see CONV_WARMUP), each block preceded by a short sleep (``settle``). Each section prints
its detail table; the last table lists target, measured value, threshold and whether it is
met, then the machine (CPUs, load average, versions, BLAS as reported by threadpoolctl
when importable).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from _timing import (  # noqa: E402
    REPO_ROOT, add_repo_to_path, geomean, import_torch, machine_note,
    paired_times, print_table,
    settle, shape_label,
)

add_repo_to_path()
import conv  # noqa: E402
import memory  # noqa: E402
import pool  # noqa: E402
import train_step  # noqa: E402
import unet_step  # noqa: E402

THRESHOLDS = {"conv_geomean": 1.2, "conv_worst": 1.6, "gemm": 0.70, "pool": 1.0,
              "step": 1.0, "unet_step": 1.2, "memory": 1.5}

GEMM_SHAPES = (1, 3, 4, 5)
# untimed calls at the start of each block, both sides alike: after the block's pause the
# first few calls of a library that splits work between threads run at up to half speed
# (the idle second vCPU wakes slowly: a 1x1 convolution took 14, 14, 13, 14, then 8 ms),
# which a training loop, calling back to back, never sees
CONV_WARMUP = 4
POOL_SHAPE = (64, 64, 32, 32)
TEST_COMMAND = [sys.executable, "-m", "pytest", "-q"]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def conv_section(torch, repeats):
    """{index: (convnet fwd+bwd s, torch fwd+bwd s)} over every conv.SHAPES."""
    conv.verify(torch, True)
    times = {}
    for i, shape in enumerate(conv.SHAPES):
        n, c, h, w, co, k, s, p = shape
        x, wt, b, g = conv.make_inputs(shape)
        impls = (conv.ConvnetImpl(x, wt, b, g, s, p), conv.TorchImpl(torch, x, wt, b, g, s, p))
        settle()
        (t_cn, t_th), ratio = paired_times([impl.fwd_bwd for impl in impls], repeats,
                                           warmup=CONV_WARMUP,
                                           setups=[impl.reset for impl in impls])
        times[i] = (t_cn, t_th, ratio)
        log(f"  conv {i}: {shape_label(shape)}")
    rows = [[f"{i}: {shape_label(conv.SHAPES[i])}", cn * 1e3, th * 1e3, ratio]
            for i, (cn, th, ratio) in times.items()]
    print_table(["conv fwd+bwd (N x Cin x H x W -> Cout)", "convnet ms", "torch ms",
                 "convnet/torch"], rows)
    return times


def gemm_products(shape):
    """(a function running the three float32 GEMMs of an im2col conv fwd+bwd of ``shape``,
    their flop count)."""
    n, c, h, w, co, k, s, p = shape
    oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    m, kk = n * oh * ow, c * k * k
    rng = np.random.default_rng(0)
    cols = rng.standard_normal((m, kk), dtype=np.float32)
    wmat = rng.standard_normal((co, kk), dtype=np.float32)
    dy = rng.standard_normal((m, co), dtype=np.float32)

    def products():
        cols @ wmat.T
        dy.T @ cols
        dy @ wmat
    return products, 3 * 2 * m * kk * co


def gemm_section(conv_times, repeats):
    """{index: fraction of NumPy GEMM throughput reached by convnet fwd+bwd}: the conv and
    its three bare products timed in turns (``paired_times``), fraction = 1 / median ratio."""
    rows, fractions = [], {}
    for i in GEMM_SHAPES:
        shape = conv.SHAPES[i]
        x, wt, b, g = conv.make_inputs(shape)
        impl = conv.ConvnetImpl(x, wt, b, g, shape[6], shape[7])
        products, flops = gemm_products(shape)
        settle()
        (t_conv, t_gemm), ratio = paired_times([impl.fwd_bwd, products], max(repeats, 6),
                                               warmup=CONV_WARMUP, setups=[impl.reset, None])
        fractions[i] = 1 / ratio
        rows.append([f"{i}: {shape_label(shape)}", flops / t_conv / 1e9, flops / t_gemm / 1e9,
                     fractions[i]])
    print_table(["GEMM-heavy shape", "convnet GFLOP/s", "numpy matmul GFLOP/s", "fraction"], rows)
    return fractions


def pool_section(torch, repeats):
    """(convnet s, torch s) of max pool 2x2 s2 forward+backward on POOL_SHAPE."""
    pool.check(torch, np.random.default_rng(0))
    rng = np.random.default_rng(1)
    x = rng.standard_normal(POOL_SHAPE, dtype=np.float32)
    dy = rng.standard_normal(POOL_SHAPE[:2] + (POOL_SHAPE[2] // 2, POOL_SHAPE[3] // 2),
                             dtype=np.float32)
    ours = pool.convnet.tensor(x, requires_grad=True)
    tx, tdy = torch.tensor(x, requires_grad=True), torch.tensor(dy)

    def run_convnet():
        ours.grad = None
        pool.convnet_pool(ours, "max", 2, 2, (0, 0)).backward(dy)

    def run_torch():
        tx.grad = None
        pool.torch_pool(torch, tx, "max", 2, 2, (0, 0)).backward(tdy)

    settle()
    (t_cn, t_th), ratio = paired_times([run_convnet, run_torch], max(repeats, 9))
    print_table(["max pool 2x2 s2 fwd+bwd", "convnet ms", "torch ms", "convnet/torch"],
                [["x".join(map(str, POOL_SHAPE)), t_cn * 1e3, t_th * 1e3, ratio]])
    return t_cn, t_th, ratio


def _met(condition: bool) -> str:
    return "yes" if condition else "no"


def blas_note() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "BLAS: threadpoolctl not importable"
    parts = []
    for info in threadpool_info():
        if info.get("user_api") != "blas":
            continue
        path = info.get("filepath", "?")
        lib = os.path.join(os.path.basename(os.path.dirname(path)), os.path.basename(path))
        parts.append(f"{info.get('internal_api')} {info.get('version')} "
                     f"({info.get('num_threads')} threads, {info.get('architecture', '?')}, {lib})")
    return "BLAS: " + ("; ".join(parts) if parts else "none reported")


FASHION_EPOCHS = 5          # fashion-cnn passes 91% test accuracy in 4-5 epochs (90.3% after 3)


def run_script(script: str, *args: str) -> dict | None:
    """Run a benchmark of this folder in its own process; its --json result, or None."""
    import json
    import tempfile
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "result.json")
        log(f"running {script} {' '.join(args)} ...")
        done = subprocess.run([sys.executable, os.path.join(HERE, script), *args, "--json", path],
                              cwd=REPO_ROOT, capture_output=True, text=True)
        if done.returncode != 0 or not os.path.exists(path):
            log(f"{script} failed: {done.stderr.strip().splitlines()[-1:] or done.returncode}")
            return None
        with open(path) as f:
            return json.load(f)


def epoch_rows(timed: bool) -> list[list[str]]:
    """Target rows of the whole epochs: measured (``--with-epochs``) or the commands."""
    fashion_target = "fashion-cnn epoch, and time to 91% test accuracy: convnet/torch"
    cifar_target = "uwnet-cifar epoch, 50,000 CIFAR-shaped images, crops, Adam: convnet/torch"
    if not timed:
        return [[fashion_target, "not timed here (--with-epochs): python "
                 f"benchmarks/train_fashion.py --epochs {FASHION_EPOCHS}", "<= 1.0", "-"],
                [cifar_target, "not timed here (--with-epochs): python benchmarks/cifar_epoch.py",
                 "<= 1.0", "-"]]
    rows = []
    fashion = run_script("train_fashion.py", "--epochs", str(FASHION_EPOCHS))
    if fashion is None:
        rows.append([fashion_target, "not measured (Fashion-MNIST missing?)", "<= 1.0", "-"])
    else:
        seconds, accuracy = fashion["train_seconds"], fashion["accuracy"]
        ratio = seconds["convnet"] / seconds["torch"]
        rows.append([fashion_target, f"{ratio:.2f} ({seconds['convnet'] / FASHION_EPOCHS:.1f} vs "
                     f"{seconds['torch'] / FASHION_EPOCHS:.1f} s an epoch; after "
                     f"{FASHION_EPOCHS}: {accuracy['convnet']:.1%} vs {accuracy['torch']:.1%})",
                     "<= 1.0", _met(ratio <= 1.0 and accuracy["convnet"] >= 0.91)])
    cifar = run_script("cifar_epoch.py")
    if cifar is None:
        rows.append([cifar_target, "not measured", "<= 1.0", "-"])
    else:
        seconds = cifar["seconds"]
        rows.append([cifar_target, f"{cifar['ratio']:.2f} ({min(seconds['convnet']):.1f} vs "
                     f"{min(seconds['torch']):.1f} s)", "<= 1.0", _met(cifar["ratio"] <= 1.0)])
    return rows


def run_tests() -> tuple[str, bool]:
    log(f"running {' '.join(TEST_COMMAND)} ...")
    done = subprocess.run(TEST_COMMAND, cwd=REPO_ROOT, capture_output=True, text=True)
    lines = [line for line in done.stdout.strip().splitlines() if line.strip()]
    return (lines[-1] if lines else f"exit status {done.returncode}"), done.returncode == 0


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=None,
                    help="timed repeats per measurement (default 5, --quick 3); training "
                         "steps are timed over twice as many steps")
    ap.add_argument("--quick", action="store_true",
                    help="3 repeats, 6 timed training steps, 3 steps per memory child")
    ap.add_argument("--with-tests", action="store_true", help="also run python -m pytest -q")
    ap.add_argument("--with-epochs", action="store_true",
                    help="also time the whole epochs (about 10 minutes): train_fashion.py "
                         f"--epochs {FASHION_EPOCHS} and cifar_epoch.py, each in its own process")
    args = ap.parse_args(argv)
    if args.repeats is None:
        args.repeats = 3 if args.quick else 5
    if args.repeats < 1:
        ap.error("--repeats must be >= 1")
    args.memory_steps = 3 if args.quick else 5
    return args


def main(argv=None):
    args = parse_args(argv)
    started = time.perf_counter()
    torch = import_torch(2)
    if torch is None:
        raise SystemExit("run_all.py compares with PyTorch; install torch (CPU) first")
    machine_before = machine_note()
    print(f"float32; median of {args.repeats} repeats after a warm-up; torch "
          f"{torch.get_num_threads()} threads; machine at the start: {machine_before}\n", flush=True)

    conv_times = conv_section(torch, args.repeats)
    print()
    fractions = gemm_section(conv_times, args.repeats)
    print()
    t_pool = pool_section(torch, args.repeats)
    print()
    train = train_step.run(torch, list(train_step.CASES), 2 * args.repeats, log=log)
    log("U-Net step, 128x128, batch 8 ...")
    unet = unet_step.run(torch, args.repeats, log=log)
    print_table(["training step", "convnet ms", "torch ms", "convnet/torch"],
                [[f"{name}, batch 128", r["convnet"] * 1e3, r["torch"] * 1e3, r["ratio"]]
                 for name, r in train.items()]
                + [["U-Net 3x128x128, batch 8", unet["convnet"] * 1e3, unet["torch"] * 1e3,
                    unet["ratio"]]])
    print()
    log("memory: one child process per library and model ...")
    mem = memory.run(torch, list(train_step.CASES), args.memory_steps, log=log)
    print_table(memory.HEADERS, memory.table_rows(mem), ".1f")
    print(f"({args.memory_steps} steps; {memory.NOTE})\n")

    ratios = {i: ratio for i, (_, _, ratio) in conv_times.items()}
    worst = max(ratios, key=ratios.get)
    gm = geomean(ratios.values())
    low = min(fractions, key=fractions.get)
    pool_ratio = t_pool[2]
    t = THRESHOLDS
    rows = [
        ["conv fwd+bwd, 7 shapes: geomean convnet/torch", f"{gm:.2f}", f"<= {t['conv_geomean']}",
         _met(gm <= t["conv_geomean"])],
        ["conv fwd+bwd: worst shape convnet/torch", f"{ratios[worst]:.2f} (shape {worst})",
         f"<= {t['conv_worst']}", _met(ratios[worst] <= t["conv_worst"])],
        [f"conv GEMM efficiency, shapes {','.join(map(str, GEMM_SHAPES))}: worst",
         f"{fractions[low]:.0%} (shape {low}; geomean {geomean(fractions.values()):.0%})",
         f">= {t['gemm']:.0%}", _met(fractions[low] >= t["gemm"])],
        ["max pool 2x2 s2 fwd+bwd (64,64,32,32): convnet/torch", f"{pool_ratio:.2f}",
         f"< {t['pool']}", _met(pool_ratio < t["pool"])],
    ]
    for name, r in train.items():
        rows.append([f"train step {name} b128: convnet/torch",
                     f"{r['ratio']:.2f} ({r['convnet'] * 1e3:.1f} vs {r['torch'] * 1e3:.1f} ms)",
                     f"<= {t['step']}", _met(r["ratio"] <= t["step"])])
    rows.append(["train step U-Net 128x128 b8: convnet/torch",
                 f"{unet['ratio']:.2f} ({unet['convnet'] * 1e3:.0f} vs {unet['torch'] * 1e3:.0f} ms)",
                 f"<= {t['unet_step']}", _met(unet["ratio"] <= t["unet_step"])])
    for name, res in mem.items():
        cn, th = res["convnet"], res["torch"]
        q = cn["step_mb"] / th["step_mb"]
        rows.append([f"peak memory {name} b128: convnet/torch step memory",
                     f"{q:.2f} ({cn['step_mb']:.0f}/{th['step_mb']:.0f} MiB; raw peaks "
                     f"{cn['peak_mb']:.0f}/{th['peak_mb']:.0f})", f"<= {t['memory']}",
                     _met(q <= t["memory"])])
    unet_memory = unet["memory"]
    if unet_memory["convnet"]["step_mb"] and unet_memory["torch"]["step_mb"]:
        q = unet_memory["convnet"]["step_mb"] / unet_memory["torch"]["step_mb"]
        rows.append(["peak memory U-Net b8: convnet/torch step memory",
                     f"{q:.2f} ({unet_memory['convnet']['step_mb']:.0f}/"
                     f"{unet_memory['torch']['step_mb']:.0f} MiB)", f"<= {t['memory']}",
                     _met(q <= t["memory"])])
    rows += epoch_rows(args.with_epochs)
    if args.with_tests:
        summary, ok = run_tests()
        rows.append(["numerical tests: python -m pytest -q", summary, "all pass",
                     "yes" if ok else "no"])
    else:
        rows.append(["numerical tests", "not run (--with-tests, or: python -m pytest -q)",
                     "all pass", "-"])
    print_table(["target", "measured", "threshold", "met"], rows)
    print(f"\nmachine: start {machine_before}; end {machine_note()}")
    print(f"numpy {np.__version__}, torch {torch.__version__} ({torch.get_num_threads()} threads), "
          f"python {sys.version.split()[0]}; {blas_note()}")
    print(f"ratios are convnet / torch time (< 1: convnet faster); total {time.perf_counter() - started:.0f} s",
          flush=True)
    return rows


if __name__ == "__main__":
    main()
